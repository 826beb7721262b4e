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
//! named error; every proper prefix of a valid reply is incomplete.
//!
//! A [`ReplyReader`] takes the bytes as they arrive and looks at each one
//! once: a reply of many reads costs what its bytes cost, not the square of
//! them (re-parsing from the start after every 4 KiB read cost 13 s of CPU
//! for 60 MB of stream entries). It keeps only what the reply holds, within
//! [`Limits`]: a line longer than [`Limits::max_line_bytes`] (a server that
//! never ends one) is an error at that byte; a bulk string over
//! [`Limits::keep_bulk_bytes`] is read past and only its length kept
//! ([`Reply::Oversized`]); a reply that would keep more than
//! [`Limits::max_reply_bytes`] is an error. Announced lengths are checked
//! before anything is allocated, so a broken or hostile server cannot make
//! ssed allocate gigabytes, recurse without end, or spin on one line.
//!
//! ```text
//! read "*2\r\n$5\r\nhel"  ─► 12 bytes looked at: array of 2 open, bulk of 5 has 3 ─► None
//! read "lo\r\n:7\r\n"     ─►  9 bytes looked at: bulk done, integer done, array done ─► Some(reply)
//! ```

use std::fmt;

/// Bounds on what a reply may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk string announced, in bytes: longer is an error.
    pub max_bulk_bytes: usize,
    /// Most elements of one array.
    pub max_array_len: usize,
    /// Deepest nesting of arrays.
    pub max_depth: usize,
    /// Longest line (a simple string, an error, a length), CRLF not counted.
    pub max_line_bytes: usize,
    /// Longest bulk string kept: a longer one (up to `max_bulk_bytes`) is
    /// read past, and only its length kept.
    pub keep_bulk_bytes: usize,
    /// Most bytes one reply may keep, counting [`REPLY_ELEMENT_BYTES`] for
    /// each element besides the bytes of its strings.
    pub max_reply_bytes: usize,
}

/// What one element of a reply costs besides its bytes, for
/// [`Limits::max_reply_bytes`] (about the size of a [`Reply`]).
pub const REPLY_ELEMENT_BYTES: usize = 32;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bulk_bytes: 32 << 20,
            max_array_len: 1 << 20,
            max_depth: 8,
            max_line_bytes: 64 << 10,
            keep_bulk_bytes: 32 << 20,
            max_reply_bytes: 256 << 20,
        }
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
    /// A bulk string over [`Limits::keep_bulk_bytes`]: its length; its
    /// bytes were read and let go.
    Oversized(usize),
}

#[cfg(test)]
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
    /// A line over [`Limits::max_line_bytes`] with no end yet.
    LineTooLong,
    /// A reply that would keep more than [`Limits::max_reply_bytes`].
    ReplyTooLarge,
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
            RespError::LineTooLong => f.write_str("reply line over the limit"),
            RespError::ReplyTooLarge => f.write_str("reply over the limit"),
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

#[cfg(test)]
/// Parses the reply at the start of `buf` (all of it at once; a
/// [`ReplyReader`] takes it as it arrives).
///
/// # Errors
///
/// A [`RespError`] as soon as the bytes can no longer become a valid reply.
pub fn parse_reply(buf: &[u8], limits: &Limits) -> Result<Parsed, RespError> {
    let mut reader = ReplyReader::new(*limits);
    Ok(match reader.read(buf)? {
        (used, Some(reply)) => Parsed::Whole(reply, used),
        (_, None) => Parsed::Incomplete,
    })
}

/// One reply being read from bytes as they arrive.
#[derive(Debug)]
pub struct ReplyReader {
    limits: Limits,
    /// What the next byte belongs to.
    state: State,
    /// The line being read (after its type byte).
    line: Vec<u8>,
    /// Arrays being filled, outermost first.
    open: Vec<OpenArray>,
    /// Bytes the reply keeps so far, for [`Limits::max_reply_bytes`].
    kept: usize,
}

#[derive(Debug)]
enum State {
    /// Before a type byte.
    Start,
    /// In the line after the type byte `kind`; `cr` once its CR came.
    Line { kind: u8, cr: bool },
    /// In a bulk string's bytes: those kept (`None` when over
    /// [`Limits::keep_bulk_bytes`]), its length and how many are to come.
    Bulk { kept: Option<Vec<u8>>, length: usize, remaining: usize },
    /// After a bulk string's bytes, before (`cr` false) or in its CRLF.
    BulkEnd { kept: Option<Vec<u8>>, length: usize, cr: bool },
}

/// An array whose elements are still coming.
#[derive(Debug)]
struct OpenArray {
    items: Vec<Reply>,
    remaining: usize,
}

impl ReplyReader {
    /// A reader for replies within `limits`.
    pub fn new(limits: Limits) -> ReplyReader {
        ReplyReader { limits, state: State::Start, line: Vec::new(), open: Vec::new(), kept: 0 }
    }

    /// Takes bytes from the start of `bytes` until a reply is whole: how
    /// many it took, and the reply once whole (the reader then starts on
    /// the next one). Bytes after a whole reply are not looked at.
    ///
    /// # Errors
    ///
    /// A [`RespError`] at the first byte that cannot belong to a reply
    /// within the limits; the reader is of no further use then.
    pub fn read(&mut self, bytes: &[u8]) -> Result<(usize, Option<Reply>), RespError> {
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            let (used, value) = match &mut self.state {
                State::Start => {
                    let kind = rest[0];
                    if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
                        return Err(RespError::UnknownType(kind));
                    }
                    self.line.clear();
                    self.state = State::Line { kind, cr: false };
                    (1, None)
                }
                State::Line { kind, cr: true } => {
                    if rest[0] != b'\n' {
                        return Err(RespError::BadLineEnd);
                    }
                    let kind = *kind;
                    (1, self.line_ended(kind)?)
                }
                State::Line { cr, .. } => {
                    match rest.iter().position(|&byte| byte == b'\r' || byte == b'\n') {
                        Some(end) if rest[end] == b'\n' => return Err(RespError::BadLineEnd),
                        found => {
                            let text = &rest[..found.unwrap_or(rest.len())];
                            if self.line.len() + text.len() > self.limits.max_line_bytes {
                                return Err(RespError::LineTooLong);
                            }
                            self.line.extend_from_slice(text);
                            *cr = found.is_some();
                            (text.len() + usize::from(found.is_some()), None)
                        }
                    }
                }
                State::Bulk { kept, length, remaining } => {
                    let taken = (*remaining).min(rest.len());
                    if let Some(kept) = kept {
                        kept.extend_from_slice(&rest[..taken]);
                    }
                    *remaining -= taken;
                    if *remaining == 0 {
                        self.state = State::BulkEnd { kept: kept.take(), length: *length, cr: false };
                    }
                    (taken, None)
                }
                State::BulkEnd { cr: false, .. } if rest[0] != b'\r' => return Err(RespError::BadLineEnd),
                State::BulkEnd { cr: cr @ false, .. } => {
                    *cr = true;
                    (1, None)
                }
                State::BulkEnd { kept, length, cr: true } => {
                    if rest[0] != b'\n' {
                        return Err(RespError::BadLineEnd);
                    }
                    let value = match kept.take() {
                        Some(bytes) => Reply::Bulk(Some(bytes)),
                        None => Reply::Oversized(*length),
                    };
                    (1, Some(value))
                }
            };
            at += used;
            if let Some(value) = value {
                self.state = State::Start;
                if let Some(reply) = self.completed(value) {
                    self.kept = 0;
                    return Ok((at, Some(reply)));
                }
            }
        }
        Ok((at, None))
    }

    /// What a whole line after type byte `kind` gives: a value, or the
    /// start of a bulk string or array (then `None`).
    fn line_ended(&mut self, kind: u8) -> Result<Option<Reply>, RespError> {
        let value = match kind {
            b'+' | b'-' => {
                self.keep(self.line.len())?;
                let text = std::str::from_utf8(&self.line).map_err(|_| RespError::NotUtf8)?.to_owned();
                if kind == b'+' {
                    Reply::Simple(text)
                } else {
                    Reply::Error(text)
                }
            }
            b':' => Reply::Integer(number(&self.line)?),
            b'$' => match number(&self.line)? {
                -1 => Reply::Bulk(None),
                length => {
                    let length = usize::try_from(length).map_err(|_| RespError::BadNumber)?;
                    if length > self.limits.max_bulk_bytes {
                        return Err(RespError::BulkTooLong);
                    }
                    self.keep(if length > self.limits.keep_bulk_bytes { 0 } else { length })?;
                    // Capacity grows with what arrives, not with what is announced.
                    let kept = (length <= self.limits.keep_bulk_bytes)
                        .then(|| Vec::with_capacity(length.min(64 << 10)));
                    self.state = if length == 0 {
                        State::BulkEnd { kept, length, cr: false }
                    } else {
                        State::Bulk { kept, length, remaining: length }
                    };
                    return Ok(None);
                }
            },
            _ => match number(&self.line)? {
                -1 => Reply::Array(None),
                length => {
                    let length = usize::try_from(length).map_err(|_| RespError::BadNumber)?;
                    if length > self.limits.max_array_len {
                        return Err(RespError::ArrayTooLong);
                    }
                    if self.open.len() >= self.limits.max_depth {
                        return Err(RespError::TooDeep);
                    }
                    if length > 0 {
                        self.keep(0)?;
                        self.open
                            .push(OpenArray { items: Vec::with_capacity(length.min(64)), remaining: length });
                        self.state = State::Start;
                        return Ok(None);
                    }
                    Reply::Array(Some(Vec::new()))
                }
            },
        };
        if !matches!(value, Reply::Simple(_) | Reply::Error(_)) {
            self.keep(0)?;
        }
        Ok(Some(value))
    }

    /// Counts `bytes` and one element against [`Limits::max_reply_bytes`].
    fn keep(&mut self, bytes: usize) -> Result<(), RespError> {
        self.kept = self.kept.saturating_add(bytes + REPLY_ELEMENT_BYTES);
        if self.kept > self.limits.max_reply_bytes {
            return Err(RespError::ReplyTooLarge);
        }
        Ok(())
    }

    /// Puts a whole value into the array it belongs to, closing every
    /// array it completes; the reply, when nothing is left open.
    fn completed(&mut self, mut value: Reply) -> Option<Reply> {
        loop {
            let Some(innermost) = self.open.last_mut() else { return Some(value) };
            innermost.items.push(value);
            innermost.remaining -= 1;
            if innermost.remaining > 0 {
                return None;
            }
            let done = self.open.pop()?;
            value = Reply::Array(Some(done.items));
        }
    }
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
mod tests;
