//! RESP2, the Redis protocol, by hand: commands out, replies in. Pure:
//! bytes in, a reply or a named error out; it never touches a socket.
//!
//! ```text
//! command  *3\r\n$4\r\nXADD\r\n$4\r\nssed\r\n$1\r\n*\r\n        an array of bulk strings
//! replies  +OK\r\n                       simple string
//!          -ERR wrong number of args\r\n  error
//!          :42\r\n                       integer
//!          $5\r\nhello\r\n               bulk string ($-1\r\n: null)
//!          *2\r\n:1\r\n:2\r\n            array (*-1\r\n: null)
//! ```
//!
//! As with HTTP heads, a reply is whole, incomplete (read more), or a
//! named error; every proper prefix of a valid reply is incomplete. Lengths
//! and nesting are checked against [`Limits`] before anything is
//! allocated, so a broken or hostile server cannot make ssed allocate
//! gigabytes or recurse without end.

use std::fmt;

/// Bounds on what a reply may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk string, in bytes.
    pub max_bulk_bytes: usize,
    /// Most elements of one array.
    pub max_array_len: usize,
    /// Deepest nesting of arrays.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_bulk_bytes: 32 << 20, max_array_len: 1 << 20, max_depth: 8 }
    }
}

/// One reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`
    Simple(String),
    /// `-ERR …`: Redis refused the command; the text says why.
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$5\r\nhello`; `None` for `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*2 …`; `None` for `*-1`.
    Array(Option<Vec<Reply>>),
}

/// What the bytes at the start of a buffer are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A whole reply and how many bytes it took.
    Whole(Reply, usize),
    /// Everything so far is a valid start: read more.
    Incomplete,
}

/// Why bytes are not a RESP2 reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespError {
    /// The first byte is not one of `+ - : $ *`.
    UnknownType(u8),
    /// A length or integer that is not a number.
    BadNumber,
    /// A line with a bare CR or LF, or a bulk string not ended by CRLF.
    BadLineEnd,
    /// A bulk string over [`Limits::max_bulk_bytes`].
    BulkTooLong,
    /// An array over [`Limits::max_array_len`].
    ArrayTooLong,
    /// Arrays nested deeper than [`Limits::max_depth`].
    TooDeep,
    /// A simple string or error that is not UTF-8.
    NotUtf8,
}

impl fmt::Display for RespError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RespError::UnknownType(byte) => write!(f, "reply starts with byte 0x{byte:02x}, not + - : $ *"),
            RespError::BadNumber => f.write_str("reply length or integer is not a number"),
            RespError::BadLineEnd => f.write_str("reply line not ended by CRLF"),
            RespError::BulkTooLong => f.write_str("bulk string over the limit"),
            RespError::ArrayTooLong => f.write_str("array over the limit"),
            RespError::TooDeep => f.write_str("arrays nested too deep"),
            RespError::NotUtf8 => f.write_str("simple string is not UTF-8"),
        }
    }
}

impl std::error::Error for RespError {}

/// Appends a command (an array of bulk strings) to `out`.
pub fn encode_command(arguments: &[&[u8]], out: &mut Vec<u8>) {
    out.push(b'*');
    out.extend_from_slice(arguments.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for argument in arguments {
        out.push(b'$');
        out.extend_from_slice(argument.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(argument);
        out.extend_from_slice(b"\r\n");
    }
}

/// Parses the reply at the start of `buf`.
///
/// # Errors
///
/// A [`RespError`] as soon as the bytes can no longer become a valid reply.
pub fn parse_reply(buf: &[u8], limits: &Limits) -> Result<Parsed, RespError> {
    Ok(match parse_at(buf, 0, limits, 0)? {
        Some((reply, end)) => Parsed::Whole(reply, end),
        None => Parsed::Incomplete,
    })
}

/// The reply starting at `at`, and where it ends; `None` when incomplete.
fn parse_at(
    buf: &[u8],
    at: usize,
    limits: &Limits,
    depth: usize,
) -> Result<Option<(Reply, usize)>, RespError> {
    let Some(&kind) = buf.get(at) else { return Ok(None) };
    if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
        return Err(RespError::UnknownType(kind));
    }
    let Some((line, after_line)) = line_at(buf, at + 1)? else { return Ok(None) };
    match kind {
        b'+' | b'-' => {
            let text = std::str::from_utf8(line).map_err(|_| RespError::NotUtf8)?.to_owned();
            let reply = if kind == b'+' { Reply::Simple(text) } else { Reply::Error(text) };
            Ok(Some((reply, after_line)))
        }
        b':' => Ok(Some((Reply::Integer(number(line)?), after_line))),
        b'$' => {
            let length = number(line)?;
            if length == -1 {
                return Ok(Some((Reply::Bulk(None), after_line)));
            }
            let length = usize::try_from(length).map_err(|_| RespError::BadNumber)?;
            if length > limits.max_bulk_bytes {
                return Err(RespError::BulkTooLong);
            }
            let end = after_line + length;
            match buf.get(end..end + 2) {
                None if buf.len() < end + 2 => {
                    // A CR or LF where the CRLF must start is wrong already.
                    match buf.get(end) {
                        Some(&byte) if byte != b'\r' => Err(RespError::BadLineEnd),
                        _ => Ok(None),
                    }
                }
                Some(b"\r\n") => Ok(Some((Reply::Bulk(Some(buf[after_line..end].to_vec())), end + 2))),
                _ => Err(RespError::BadLineEnd),
            }
        }
        _ => {
            let length = number(line)?;
            if length == -1 {
                return Ok(Some((Reply::Array(None), after_line)));
            }
            let length = usize::try_from(length).map_err(|_| RespError::BadNumber)?;
            if length > limits.max_array_len {
                return Err(RespError::ArrayTooLong);
            }
            if depth >= limits.max_depth {
                return Err(RespError::TooDeep);
            }
            // Capacity grows with what arrives, not with what is announced.
            let mut items = Vec::with_capacity(length.min(64));
            let mut next = after_line;
            for _ in 0..length {
                match parse_at(buf, next, limits, depth + 1)? {
                    Some((item, end)) => {
                        items.push(item);
                        next = end;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Reply::Array(Some(items)), next)))
        }
    }
}

/// The line starting at `at` up to CRLF, and where the next begins.
fn line_at(buf: &[u8], at: usize) -> Result<Option<(&[u8], usize)>, RespError> {
    let rest = buf.get(at..).unwrap_or_default();
    for (offset, &byte) in rest.iter().enumerate() {
        match byte {
            b'\r' => {
                return match rest.get(offset + 1) {
                    Some(b'\n') => Ok(Some((&rest[..offset], at + offset + 2))),
                    Some(_) => Err(RespError::BadLineEnd),
                    None => Ok(None),
                }
            }
            b'\n' => return Err(RespError::BadLineEnd),
            _ => {}
        }
    }
    Ok(None)
}

fn number(line: &[u8]) -> Result<i64, RespError> {
    let text = std::str::from_utf8(line).map_err(|_| RespError::BadNumber)?;
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(RespError::BadNumber);
    }
    text.parse().map_err(|_| RespError::BadNumber)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Parsed, RespError> {
        parse_reply(bytes, &Limits::default())
    }

    fn bulk(text: &str) -> Reply {
        Reply::Bulk(Some(text.as_bytes().to_vec()))
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        encode_command(&[b"XADD", b"ssed", b"*", b"data", b"a\r\nb"], &mut out);
        assert_eq!(out, b"*5\r\n$4\r\nXADD\r\n$4\r\nssed\r\n$1\r\n*\r\n$4\r\ndata\r\n$4\r\na\r\nb\r\n");
    }

    #[test]
    fn valid_replies_parse_and_every_proper_prefix_is_incomplete() {
        let cases: [(&[u8], Reply); 9] = [
            (b"+OK\r\n", Reply::Simple("OK".to_owned())),
            (b"-ERR unknown command\r\n", Reply::Error("ERR unknown command".to_owned())),
            (b":42\r\n", Reply::Integer(42)),
            (b":-7\r\n", Reply::Integer(-7)),
            (b"$5\r\nhello\r\n", bulk("hello")),
            (b"$0\r\n\r\n", bulk("")),
            (b"$-1\r\n", Reply::Bulk(None)),
            (b"*-1\r\n", Reply::Array(None)),
            (
                b"*2\r\n*2\r\n$15\r\n1795633887897-0\r\n*2\r\n$5\r\ntopic\r\n$1\r\na\r\n$3\r\nend\r\n",
                Reply::Array(Some(vec![
                    Reply::Array(Some(vec![
                        bulk("1795633887897-0"),
                        Reply::Array(Some(vec![bulk("topic"), bulk("a")])),
                    ])),
                    bulk("end"),
                ])),
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                parse(bytes),
                Ok(Parsed::Whole(expected, bytes.len())),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
            for end in 0..bytes.len() {
                assert_eq!(
                    parse(&bytes[..end]),
                    Ok(Parsed::Incomplete),
                    "{end} of {:?}",
                    String::from_utf8_lossy(bytes)
                );
            }
        }
        // What follows a reply is not part of it.
        assert_eq!(parse(b"+OK\r\n:1\r\n"), Ok(Parsed::Whole(Reply::Simple("OK".to_owned()), 5)));
    }

    #[test]
    fn malformed_replies_are_named_errors() {
        let cases: [(&[u8], RespError); 11] = [
            (b"!oops\r\n", RespError::UnknownType(b'!')),
            (b"HTTP/1.1 200 OK\r\n", RespError::UnknownType(b'H')),
            (b":4x\r\n", RespError::BadNumber),
            (b":\r\n", RespError::BadNumber),
            (b"$abc\r\n", RespError::BadNumber),
            (b"$-2\r\n", RespError::BadNumber),
            (b"+OK\n", RespError::BadLineEnd),
            (b"+OK\rX", RespError::BadLineEnd),
            (b"$3\r\nabcd\r\n", RespError::BadLineEnd),
            (b"$99999999999\r\n", RespError::BulkTooLong),
            (b"*99999999999\r\n", RespError::ArrayTooLong),
        ];
        for (bytes, expected) in cases {
            assert_eq!(parse(bytes), Err(expected), "{:?}", String::from_utf8_lossy(bytes));
        }
        let deep = b"*1\r\n".repeat(9);
        assert_eq!(parse(&deep), Err(RespError::TooDeep));
        assert_eq!(parse(b"+\xff\r\n"), Err(RespError::NotUtf8));
    }

    #[test]
    fn announced_sizes_allocate_nothing_before_the_bytes_arrive() {
        // A million elements announced, none sent: incomplete, and cheap.
        assert_eq!(parse(b"*1000000\r\n"), Ok(Parsed::Incomplete));
        let small = Limits { max_bulk_bytes: 4, max_array_len: 2, max_depth: 2 };
        assert_eq!(parse_reply(b"$5\r\nhello\r\n", &small), Err(RespError::BulkTooLong));
        assert_eq!(parse_reply(b"*3\r\n", &small), Err(RespError::ArrayTooLong));
    }
}
