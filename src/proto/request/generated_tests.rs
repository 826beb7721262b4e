//! The parser against generated heads (`tests/support/heads.rs`): whole,
//! dribbled in random segments, and with thousands of header lines.

#[path = "../../../tests/support/heads.rs"]
mod heads;

use super::*;
use heads::{generate, seed, Rng};

#[test]
fn the_parser_takes_100_000_generated_heads_without_panicking() {
    let limits = HeadLimits { max_head_bytes: 8192, max_target_bytes: 2048 };
    let mut rng = Rng(seed());
    let (mut complete, mut incomplete, mut refused) = (0, 0, 0);
    for _ in 0..100_000 {
        let head = generate(&mut rng);
        match parse_request_head(&head, &limits) {
            Ok(Parsed::Complete { head_len, .. }) => {
                assert!(head_len <= head.len() && head_len <= limits.max_head_bytes);
                complete += 1;
            }
            Ok(Parsed::Incomplete) => {
                assert!(head.len() < limits.max_head_bytes);
                incomplete += 1;
            }
            Err(error) => {
                assert!(matches!(error.status(), 400 | 414 | 431 | 505));
                refused += 1;
            }
        }
    }
    // The generator reaches all three outcomes, not only one.
    assert!(complete > 5_000 && incomplete > 5_000 && refused > 5_000, "{complete} {incomplete} {refused}");
}

/// Feeds `head` to a [`HeadReader`] in random segments, as a network would.
fn dribble(head: &[u8], limits: HeadLimits, rng: &mut Rng) -> (Result<Progress, ParseError>, usize) {
    let mut reader = HeadReader::new(limits);
    let mut sent = 0;
    loop {
        let spare = reader.spare();
        let segment = (1 + rng.below(40)).min(spare.len()).min(head.len() - sent);
        spare[..segment].copy_from_slice(&head[sent..sent + segment]);
        sent += segment;
        match reader.filled(segment) {
            Ok(Progress::NeedMore) if sent < head.len() => continue,
            outcome => return (outcome, reader.work()),
        }
    }
}

#[test]
fn heads_dribbled_in_random_segments_parse_as_they_would_whole_with_linear_work() {
    let limits = HeadLimits { max_head_bytes: 8192, max_target_bytes: 2048 };
    let mut rng = Rng(seed() ^ 0xd1bb1e);
    let (mut complete, mut too_many_headers) = (0, 0);
    for _ in 0..20_000 {
        let head = generate(&mut rng);
        let whole = parse_request_head(&head, &limits);
        let (dribbled, work) = dribble(&head, limits, &mut rng);
        // Each byte is looked at once, plus at most 64 per read while the
        // request line is short: linear in the head, however it was split.
        assert!(work <= head.len() * 66, "{work} units of work for {} bytes", head.len());
        match (whole, dribbled) {
            (
                Ok(Parsed::Complete { request, head_len }),
                Ok(Progress::Complete { request: got, after_head }),
            ) => {
                assert_eq!(got, request);
                // What came after the head in the same read: the start of the rest.
                assert!(head[head_len..].starts_with(&after_head));
                complete += 1;
            }
            (Ok(Parsed::Incomplete), Ok(Progress::NeedMore)) => {}
            // A bad header line shows when the head is whole (or at a limit).
            (Err(_), Ok(Progress::NeedMore)) => {}
            (Err(expected), Err(got)) => {
                // The dribbled reader may see a limit before the whole
                // parser sees a grammar error further on, never the other way.
                // Byte by byte, the request line's checks run in another
                // order: either of its errors may come first.
                let limit = matches!(
                    got,
                    ParseError::TooManyHeaders | ParseError::TargetTooLong | ParseError::HeadTooLarge
                );
                let line_error =
                    |error| matches!(error, ParseError::BadRequestLine | ParseError::TargetTooLong);
                let same_kind = line_error(expected) && line_error(got);
                assert!(
                    expected == got || limit || same_kind,
                    "{expected:?} vs {got:?} for {:?}",
                    String::from_utf8_lossy(&head)
                );
                too_many_headers += usize::from(got == ParseError::TooManyHeaders);
            }
            (whole, dribbled) => {
                panic!("whole {whole:?}, dribbled {dribbled:?} for {:?}", String::from_utf8_lossy(&head))
            }
        }
    }
    assert!(
        complete > 1_000 && too_many_headers > 100,
        "{complete} complete, {too_many_headers} over the cap"
    );
}

#[test]
fn a_head_of_2700_headers_sent_byte_by_byte_costs_linear_work() {
    let limits = HeadLimits { max_head_bytes: 1 << 20, max_target_bytes: 2048 };
    let mut head = b"GET /sse HTTP/1.1\r\nHost: t\r\n".to_vec();
    for n in 0..2_700 {
        head.extend_from_slice(format!("X-{n}: a\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    let mut reader = HeadReader::new(limits);
    let mut outcome = None;
    for &byte in &head {
        reader.spare()[0] = byte;
        match reader.filled(1) {
            Ok(Progress::NeedMore) => {}
            other => {
                outcome = Some(other);
                break;
            }
        }
    }
    // Refused at the 101st header line, having looked at each byte once
    // (plus the short request line's early checks).
    assert_eq!(outcome, Some(Err(ParseError::TooManyHeaders)));
    assert!(reader.work() < 2 * 1024 + 20 * 64, "work {}", reader.work());
}
