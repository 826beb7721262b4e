//! Server-sent events framing: turning an event into the bytes of the
//! `text/event-stream` format.
//!
//! This module is pure: it appends bytes to a `Vec<u8>` and never touches a
//! socket or a clock. Every frame ssed sends is built here; nothing else in
//! the crate writes `data:` or `event:` by hand.
//!
//! # On the wire
//!
//! An event is a block of `field: value` lines ended by an empty line. The
//! first ping on `/sse` looks like this (`\n` shown as line breaks):
//!
//! ```text
//! retry: 3000
//! id: 1
//! event: ping
//! data: 2026-11-25T18:40:30.123Z
//!
//! ```
//!
//! A comment is a line that starts with a colon; clients ignore it:
//!
//! ```text
//! : keep-alive
//!
//! ```
//!
//! # The rules from the WHATWG standard this module relies on
//!
//! - "If value starts with a U+0020 SPACE character, remove it from value."
//!   Only one space is stripped, so we always write exactly one after the
//!   colon and the value arrives unchanged, leading spaces included.
//! - A line ends at CR, LF or CRLF. So data that contains any of them is
//!   split into several `data:` lines, which the client joins with LF.
//! - An `id` that contains NUL is ignored by the client, and an `id` or
//!   `event` value cannot span lines. [`SingleLine`] makes such values
//!   impossible to construct.
//! - The event type is the value exactly: `event: ping ` (trailing space) is
//!   the type `"ping "` and never reaches `addEventListener('ping')`.
//!
//! # Not here
//!
//! Deciding *when* to send a frame (that is the stream loop's job), and
//! parsing event streams (ssed only writes them).

use std::fmt;
use std::io;
use std::time::Duration;

/// Text that can stand on one `id:` or `event:` line: it holds no CR, LF or
/// NUL, so it can neither end the line early nor be ignored by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SingleLine<'a>(&'a str);

/// Why a value was refused as a [`SingleLine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    /// The value holds a CR or LF, which would end the field line early.
    LineBreak,
    /// The value holds a NUL, which makes a client ignore an `id` field.
    Nul,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldError::LineBreak => "field value contains a line break (CR or LF)",
            FieldError::Nul => "field value contains a NUL byte",
        })
    }
}

impl std::error::Error for FieldError {}

impl<'a> SingleLine<'a> {
    /// Checks that `text` fits on one field line.
    ///
    /// It is a `const fn`, so fixed names such as `"ping"` are checked at
    /// compile time (see [`PING`]).
    ///
    /// # Errors
    ///
    /// [`FieldError::LineBreak`] for a CR or LF, [`FieldError::Nul`] for NUL.
    pub const fn new(text: &'a str) -> Result<SingleLine<'a>, FieldError> {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\r' | b'\n' => return Err(FieldError::LineBreak),
                0 => return Err(FieldError::Nul),
                _ => i += 1,
            }
        }
        Ok(SingleLine(text))
    }

    /// The checked text.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

/// The event type of the pings on `/sse`: no trailing space, checked when
/// the crate compiles.
pub const PING: SingleLine<'static> = match SingleLine::new("ping") {
    Ok(name) => name,
    Err(_) => panic!("\"ping\" is a valid event name"),
};

/// One event, borrowed from the caller, ready to be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// `retry:` field: how long a client waits before reconnecting.
    pub retry: Option<Duration>,
    /// `id:` field: what the client sends back as `Last-Event-ID`.
    pub id: Option<SingleLine<'a>>,
    /// `event:` field: the type a client listens for with
    /// `addEventListener`. Without it the event goes to `onmessage`.
    pub event: Option<SingleLine<'a>>,
    /// The payload. Line breaks (CR, LF or CRLF) become separate `data:`
    /// lines; the client receives them joined by LF.
    pub data: &'a str,
}

impl Event<'_> {
    /// Appends the event's wire bytes to `out`, ending with the blank line
    /// that tells the client to dispatch it.
    ///
    /// It allocates nothing beyond growing `out`, so a caller that reuses
    /// one buffer encodes without allocating.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        // Writing to a Vec cannot fail.
        let _ = self.write_to(out);
    }

    /// Writes the event's wire bytes to `out`: a `Vec`, or a fixed buffer
    /// (`&mut [u8]`, which moves past what it took) for a caller that
    /// encodes on its stack.
    ///
    /// # Errors
    ///
    /// Only the writer's: a fixed buffer too small for the event.
    pub fn write_to(&self, out: &mut impl io::Write) -> io::Result<()> {
        if let Some(retry) = self.retry {
            write_retry_field(retry, out)?;
        }
        if let Some(id) = self.id {
            write_field(out, b"id", id.as_str())?;
        }
        if let Some(event) = self.event {
            write_field(out, b"event", event.as_str())?;
        }
        for line in split_lines(self.data) {
            write_field(out, b"data", line)?;
        }
        out.write_all(b"\n")
    }
}

/// What `data` costs on the wire inside an event: its bytes, with every
/// line break counted as the `\ndata: ` (7 bytes) it becomes. A body of
/// 64 KiB of `\n` is 458 KB as sent; this is the size a limit must bound.
/// Text without line breaks costs its length.
/// Bytes that are not UTF-8 yet (a line of stdin) cost the same: the one
/// rule for every limit on event data.
pub fn data_cost(data: &[u8]) -> usize {
    let mut cost = data.len();
    let mut bytes = data.iter().peekable();
    while let Some(&byte) = bytes.next() {
        match byte {
            // CRLF is one break: 2 bytes become 7.
            b'\r' if bytes.peek() == Some(&&b'\n') => {
                bytes.next();
                cost += 5;
            }
            b'\r' | b'\n' => cost += 6,
            _ => {}
        }
    }
    cost
}

/// Appends a comment block: every line of `text` prefixed with `": "`, then
/// the blank line. Clients ignore comments; proxies see traffic.
pub fn encode_comment(text: &str, out: &mut Vec<u8>) {
    for line in split_lines(text) {
        out.extend_from_slice(b": ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// Appends a block that only sets the client's reconnection time.
pub fn encode_retry(retry: Duration, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    let _ = write_retry_field(retry, out);
    out.push(b'\n');
}

/// `retry:` takes "ASCII digits" only: whole milliseconds.
fn write_retry_field(retry: Duration, out: &mut impl io::Write) -> io::Result<()> {
    writeln!(out, "retry: {}", retry.as_millis() as u64)
}

fn write_field(out: &mut impl io::Write, name: &[u8], value: &str) -> io::Result<()> {
    out.write_all(name)?;
    out.write_all(b": ")?;
    out.write_all(value.as_bytes())?;
    out.write_all(b"\n")
}

/// Splits on CRLF, LF and CR, the three line endings of the event-stream
/// grammar. Empty text is one empty line, so an empty payload still sends a
/// `data:` line and the client still dispatches the event.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        // A byte search: CR and LF are ASCII, so every place found is a
        // char boundary, and it is many times faster than a char search
        // where the code is not optimised (tests, debug builds).
        match current.as_bytes().iter().position(|&byte| byte == b'\r' || byte == b'\n') {
            None => {
                rest = None;
                Some(current)
            }
            Some(end) => {
                let after = if current[end..].starts_with("\r\n") { end + 2 } else { end + 1 };
                rest = Some(&current[after..]);
                Some(&current[..end])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(event: Event<'_>) -> String {
        let mut out = Vec::new();
        event.encode_into(&mut out);
        String::from_utf8(out).expect("the encoder writes UTF-8 for UTF-8 input")
    }

    fn data(data: &str) -> Event<'_> {
        Event { retry: None, id: None, event: None, data }
    }

    #[test]
    fn data_is_split_on_every_line_ending() {
        let cases = [
            ("", "data: \n\n"),
            ("plain", "data: plain\n\n"),
            ("a\nb", "data: a\ndata: b\n\n"),
            ("a\r\nb", "data: a\ndata: b\n\n"),
            ("a\rb", "data: a\ndata: b\n\n"),
            ("a\n\nb", "data: a\ndata: \ndata: b\n\n"),
            ("a\r\n", "data: a\ndata: \n\n"),
            ("\r\r\n\n", "data: \ndata: \ndata: \ndata: \n\n"),
            (" leading space", "data:  leading space\n\n"),
            ("trailing space ", "data: trailing space \n\n"),
            ("ünïcode", "data: ünïcode\n\n"),
        ];
        for (input, wire) in cases {
            assert_eq!(encoded(data(input)), wire, "data {input:?}");
        }
    }

    #[test]
    fn data_cost_is_the_encoded_data_lines() {
        for input in ["", "plain", "a\nb", "a\r\nb", "a\rb", "\n\n\n", "\r\r", "x\r\n"] {
            // The data lines of the encoded event, less the first `data: ` and
            // the final blank line, which every event has.
            let wire = encoded(data(input)).len() - "data: ".len() - 1 - 1;
            assert_eq!(data_cost(input.as_bytes()), wire, "{input:?}");
        }
        assert_eq!(data_cost("\n".repeat(65_536).as_bytes()), 65_536 * 7);
    }

    #[test]
    fn full_event_has_fields_in_a_fixed_order() {
        let event = Event {
            retry: Some(Duration::from_millis(3000)),
            id: Some(SingleLine::new("7").expect("no line break")),
            event: Some(PING),
            data: "2026-11-25T18:40:30.123Z",
        };
        assert_eq!(encoded(event), "retry: 3000\nid: 7\nevent: ping\ndata: 2026-11-25T18:40:30.123Z\n\n");
    }

    #[test]
    fn ping_has_no_trailing_space() {
        assert_eq!(PING.as_str(), "ping");
    }

    #[test]
    fn single_line_refuses_line_breaks_and_nul() {
        let cases = [
            ("ok", Ok(())),
            ("", Ok(())),
            ("ping ", Ok(())),
            ("a\nb", Err(FieldError::LineBreak)),
            ("a\rb", Err(FieldError::LineBreak)),
            ("a\r\n", Err(FieldError::LineBreak)),
            ("a\0b", Err(FieldError::Nul)),
        ];
        for (input, expected) in cases {
            assert_eq!(SingleLine::new(input).map(|_| ()), expected, "{input:?}");
        }
    }

    #[test]
    fn comments_and_retry_blocks() {
        let mut out = Vec::new();
        encode_comment("keep-alive", &mut out);
        encode_comment("two\nlines", &mut out);
        encode_retry(Duration::from_millis(1500), &mut out);
        assert_eq!(out, b": keep-alive\n\n: two\n: lines\n\nretry: 1500\n\n");
    }
}
