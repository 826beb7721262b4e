//! Generated and mutated request heads, and a slowloris crowd: the server
//! answers every one with a valid status or a clean close, never a panic,
//! a hang or a stream it should not start.
//!
//! `SSED_FUZZ_HEADS=100000 SSED_FUZZ_SEED=7 cargo test --release --test
//! robustness` runs the long version against the server; by default the
//! parser takes 100,000 heads in-process and the server 3,000.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use ssed::request::{parse_request_head, HeadReader, Limits, ParseError, Parsed, Progress};
use support::{connect, eventually, start};

/// xorshift64*: small, seeded, reproducible; std has no random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE", "BREW", "get", "PRI", ""];
const TARGETS: &[&str] = &[
    "/",
    "/sse",
    "/messages",
    "/events",
    "/publish",
    "/metrics",
    "/healthz",
    "/nope",
    "*",
    "http://h/sse",
    "/sse?lastEventId=1",
    "/events?lastEventId=17-3",
    "/%00",
    "sse",
    "",
];
const VERSIONS: &[&str] =
    &["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "http/1.1", "HTTP/1", "HTTP/11.1"];
const HEADERS: &[&str] = &[
    "Host: test",
    "Host: test",
    "Host:",
    "Accept: text/event-stream",
    "Last-Event-ID: 5",
    "Content-Length: 0",
    "Content-Length: 3",
    "Transfer-Encoding: chunked",
    "Authorization: Bearer x",
    "X-Long: aaaaaaaaaaaaaaaa",
    "Cache-Control: no-cache",
    "Connection: keep-alive",
];
const SPECIAL_BYTES: &[u8] = b"\r\n\0 \t:?/%\x7f\xff\x16";

/// A request head: mostly well-formed pieces, then a few mutations.
fn generate(rng: &mut Rng) -> Vec<u8> {
    let mut head = format!("{} {} {}\r\n", rng.pick(METHODS), rng.pick(TARGETS), rng.pick(VERSIONS));
    for _ in 0..rng.below(5) {
        let header: &&str = rng.pick(HEADERS);
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    for _ in 0..rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(7) {
            0 if at < bytes.len() => bytes[at] = rng.next() as u8,
            1 => bytes.insert(at, *rng.pick(SPECIAL_BYTES)),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            3 => bytes.truncate(at),
            4 => {
                let filler = vec![b'a'; rng.below(12_000)];
                bytes.splice(at..at, filler);
            }
            5 => {
                // Around the cap of 100 header lines, on both sides of it.
                let line = b"X-Repeated: value\r\n".repeat(rng.below(200));
                let end = bytes.iter().position(|&b| b == b'\n').map_or(0, |n| n + 1);
                bytes.splice(end..end, line);
            }
            _ => bytes.extend_from_slice(b"trailing body bytes"),
        }
    }
    bytes
}

fn seed() -> u64 {
    std::env::var("SSED_FUZZ_SEED").ok().and_then(|seed| seed.parse().ok()).unwrap_or(0x5eed_55ed)
}

#[test]
fn the_parser_takes_100_000_generated_heads_without_panicking() {
    let limits = Limits { max_head_bytes: 8192, max_target_bytes: 2048 };
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
fn dribble(head: &[u8], limits: Limits, rng: &mut Rng) -> (Result<Progress, ParseError>, usize) {
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
    let limits = Limits { max_head_bytes: 8192, max_target_bytes: 2048 };
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
    let limits = Limits { max_head_bytes: 1 << 20, max_target_bytes: 2048 };
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

/// Sends `head`, then FIN, and reads the whole answer. `Ok(None)` is a
/// clean close without an answer; `Ok(Some(status))` an answer.
fn exchange_raw(addr: SocketAddr, head: &[u8]) -> Result<Option<u16>, String> {
    let mut stream = connect(addr);
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(head);
    let _ = stream.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset && !answer.is_empty() => {}
        Err(error) => return Err(format!("{error} after {} bytes", answer.len())),
    }
    if answer.is_empty() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {text:.80}"))?;
    Ok(Some(status))
}

#[test]
fn the_server_answers_every_generated_head_with_a_status_or_a_clean_close() {
    let heads: usize = std::env::var("SSED_FUZZ_HEADS").ok().and_then(|n| n.parse().ok()).unwrap_or(3_000);
    // Several servers on several loopback addresses, so that a long run
    // does not run out of ports to TIME_WAIT.
    let servers: Vec<_> = (1..=4u8)
        .map(|last| {
            start(move |config| {
                config.addr = SocketAddr::from(([127, 0, 0, last], 0));
                config.head_timeout = Duration::from_millis(500);
                config.publish_token = Some(ssed::Secret("x".to_owned()));
            })
        })
        .collect();
    let addrs: Vec<_> = servers.iter().map(|server| server.addr).collect();
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let addrs = addrs.clone();
            thread::spawn(move || {
                let mut rng = Rng(seed() ^ (worker as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                for n in 0..heads / 4 {
                    let head = generate(&mut rng);
                    let addr = addrs[n % addrs.len()];
                    match exchange_raw(addr, &head) {
                        Ok(None) => {}
                        Ok(Some(status)) => assert!(
                            matches!(
                                status,
                                200 | 204 | 400 | 401 | 404 | 405 | 408 | 411 | 413 | 414 | 431 | 501 | 505
                            ),
                            "status {status} for {:?}",
                            String::from_utf8_lossy(&head)
                        ),
                        Err(problem) => panic!("{problem} for {:?}", String::from_utf8_lossy(&head)),
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker found a bad answer");
    }
    for server in &servers {
        eventually(Duration::from_secs(5), "every connection closed", || {
            server.handle.live_connections() == 0
        });
    }
}

#[test]
fn a_normal_client_gets_its_stream_at_once_during_a_slowloris_crowd() {
    let server = start(|config| config.head_timeout = Duration::from_secs(3));
    let crowd: Vec<_> = (0..300)
        .map(|_| {
            let mut stream = server.connect();
            stream.write_all(b"GET /sse HTTP/1.1\r\nHost: test\r\nX-Slow: ").expect("start dribbling");
            stream
        })
        .collect();
    eventually(Duration::from_secs(5), "crowd connected", || server.handle.live_connections() == 300);
    let dribbler = {
        let mut crowd = crowd;
        thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(4) {
                for stream in &mut crowd {
                    let _ = stream.write_all(b"a");
                }
                thread::sleep(Duration::from_millis(100));
            }
            crowd
        })
    };
    thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let mut stream = server.connect();
    stream.write_all(&support::get("/sse")).expect("send");
    let first = support::read_until(&mut stream, "data: ", 1);
    let waited = started.elapsed();
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert!(waited < Duration::from_millis(500), "a normal client waited {waited:?}");

    // The crowd, never finishing its heads, is answered 408 and closed.
    let mut crowd = dribbler.join().expect("dribbler");
    for slow in crowd.iter_mut().take(20) {
        let answer = support::read_to_close(slow);
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:.80}");
    }
    drop(crowd);
    drop(stream);
    eventually(Duration::from_secs(5), "all reclaimed", || server.handle.live_connections() == 0);
}
