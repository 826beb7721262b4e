//! `--stdin`: each line of standard input becomes one event on `/events`.
//!
//! ```text
//! $ tail -f app.log | ssed --stdin --stdin-event log
//!   "GET /health 200\n"  ──►  id: 1764096030123-1\nevent: log\ndata: GET /health 200\n\n
//! ```
//!
//! Lines are read with a bound: `--max-event-bytes` applies to the line as
//! read, without its `\n` or `\r\n`, and a bare CR inside it counts as the
//! 7 bytes of the `\ndata: ` it becomes. A longer line is skipped (and
//! logged), so no input can grow memory without limit. Bytes that are not
//! UTF-8 are then replaced with U+FFFD (and logged), so the stream stays
//! valid text; a line within the limit is published even when the
//! replacement makes it longer. At end of input the server keeps serving.

use std::io::{self, BufRead};

use crate::events::hub::Publisher;
use crate::ops::log::log;
use crate::proto::sse::data_cost;

/// Counts of what [`publish_lines`] did with its input.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineCounts {
    /// Lines published as events.
    pub published: u64,
    /// Of those, lines whose invalid UTF-8 was replaced.
    pub repaired: u64,
    /// Lines skipped for being over the size limit.
    pub skipped: u64,
    /// Lines the hub refused for another reason (logged each).
    pub failed: u64,
}

/// Publishes every line of `input` until its end, as events named `event`.
///
/// # Errors
///
/// The first read error of `input`; what was read before it is published.
pub fn publish_lines(
    mut input: impl BufRead,
    publisher: &Publisher,
    event: Option<&str>,
    max_bytes: usize,
) -> io::Result<LineCounts> {
    let mut counts = LineCounts::default();
    let mut line = Vec::with_capacity(256);
    let mut line_number = 0u64;
    loop {
        line.clear();
        let (ended, too_long) = read_bounded_line(&mut input, &mut line, max_bytes)?;
        if !ended && line.is_empty() && !too_long {
            return Ok(counts);
        }
        line_number += 1;
        if too_long || data_cost(&line) > max_bytes {
            counts.skipped += 1;
            log(format_args!("stdin: line {line_number} skipped: over {max_bytes} bytes"));
        } else {
            let text = String::from_utf8_lossy(&line);
            let repaired = matches!(text, std::borrow::Cow::Owned(_));
            match publisher.publish_measured_line(event, &text) {
                Ok(_) if repaired => {
                    counts.published += 1;
                    counts.repaired += 1;
                    log(format_args!(
                        "stdin: line {line_number} was not UTF-8; bad bytes replaced with U+FFFD"
                    ));
                }
                Ok(_) => counts.published += 1,
                Err(error) => {
                    counts.failed += 1;
                    log(format_args!("stdin: line {line_number} not published: {error}"));
                }
            }
        }
        if !ended {
            return Ok(counts);
        }
    }
}

/// Publishes standard input on a thread of its own; logs when it ends.
/// `publisher` decides the topic (see [`Publisher::on_topic`]).
pub fn spawn_reader(publisher: Publisher, event: Option<String>, max_bytes: usize) {
    let spawned = std::thread::Builder::new().name("ssed-stdin".to_owned()).spawn(move || {
        let stdin = io::stdin().lock();
        match publish_lines(stdin, &publisher, event.as_deref(), max_bytes) {
            Ok(counts) => log(format_args!(
                "stdin: end of input after {} events ({} repaired, {} skipped, {} failed); still serving",
                counts.published, counts.repaired, counts.skipped, counts.failed
            )),
            Err(error) => log(format_args!("stdin: read failed: {error}; still serving")),
        }
    });
    if let Err(error) = spawned {
        log(format_args!("stdin: could not start the reader thread: {error}"));
    }
}

/// Reads one line into `line` without its `\n` or `\r\n`, keeping at most
/// `max_bytes`. Returns (a newline ended it, it was longer than `max_bytes`).
fn read_bounded_line(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    max_bytes: usize,
) -> io::Result<(bool, bool)> {
    let mut too_long = false;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            // The last line, without a newline: the same rules as the others.
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            too_long |= line.len() > max_bytes;
            if too_long {
                line.clear();
            }
            return Ok((false, too_long));
        }
        let (chunk, ended) = match available.iter().position(|&byte| byte == b'\n') {
            Some(newline) => (&available[..newline], true),
            None => (available, false),
        };
        if line.len() + chunk.len() > max_bytes + 1 {
            too_long = true;
            line.clear();
        } else {
            line.extend_from_slice(chunk);
        }
        let used = chunk.len() + usize::from(ended);
        input.consume(used);
        if ended {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            too_long |= line.len() > max_bytes;
            if too_long {
                line.clear();
            }
            return Ok((true, too_long));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn lines(input: &[u8], max_bytes: usize) -> Vec<(Vec<u8>, bool, bool)> {
        let mut reader = Cursor::new(input.to_vec());
        let mut found = Vec::new();
        loop {
            let mut line = Vec::new();
            let (ended, too_long) = read_bounded_line(&mut reader, &mut line, max_bytes).expect("in memory");
            if !ended && line.is_empty() && !too_long {
                return found;
            }
            found.push((line, ended, too_long));
            if !ended {
                return found;
            }
        }
    }

    #[test]
    fn lines_are_split_and_bounded() {
        let found = lines(b"one\r\ntwo\n\nfour!\nlast\r", 4);
        let expected: Vec<(Vec<u8>, bool, bool)> = vec![
            (b"one".to_vec(), true, false),
            (b"two".to_vec(), true, false),
            (b"".to_vec(), true, false),
            (b"".to_vec(), true, true),
            (b"last".to_vec(), false, false),
        ];
        assert_eq!(found, expected);
        // A CRLF line of exactly the limit fits; the CR does not count.
        assert_eq!(lines(b"abcd\r\n", 4), vec![(b"abcd".to_vec(), true, false)]);
    }
}
