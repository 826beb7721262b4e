//! Parsing an HTTP/1.1 request head by hand: the subset of RFC 9112 that an
//! event-stream server needs.
//!
//! Pure: bytes in, a [`Parsed`] or a [`ParseError`] out. A [`HeadReader`]
//! collects the bytes a socket delivers, looks at each byte once for the end
//! of the head, and parses the head once it is whole, so a request that
//! arrives one byte at a time is normal and costs no more than one that
//! arrives at once.
//!
//! ```text
//! GET /sse?x=1 HTTP/1.1\r\n        request-line = method SP request-target SP HTTP-version
//! Host: 127.0.0.1:8080\r\n         field-line   = field-name ":" OWS field-value OWS
//! Accept: text/event-stream\r\n
//! \r\n                             the empty line ends the head
//! ```
//!
//! Three outcomes, as in httparse: complete, needs more bytes
//! ([`Parsed::Incomplete`]), or a named error. Every proper prefix of a valid
//! head is `Incomplete`; a byte that can never start a valid head (a TLS
//! handshake, say) is an error at once, without waiting for the line to end.
//!
//! Not here: reading bodies (none of ssed's endpoints take one), chunked
//! decoding, persistent connections, percent-decoding of paths.

mod error;
mod meaning;
mod parsed;
mod reader;

pub use error::ParseError;
pub use parsed::Request;
pub use reader::{HeadReader, Progress};

use std::ops::Range;

use parsed::Parts;

/// Header lines a request may carry; one more is 431. Browsers send about
/// 15, curl 3; the cap keeps a head of 8 KiB from becoming thousands of
/// separately kept headers.
pub const MAX_HEADERS: usize = 100;
use meaning::{check_framing_and_host, split_target};

/// Size limits for a request head, from [`crate::Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// The whole head, request line to the final empty line, in bytes.
    pub max_head_bytes: usize,
    /// The request-target (path and query), in bytes.
    pub max_target_bytes: usize,
}

/// The HTTP versions ssed speaks; any other well-formed version is a 505.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`: no `Host` required.
    Http10,
    /// `HTTP/1.1`: exactly one `Host` required (RFC 9112 §3.2).
    Http11,
}

/// What one call to [`parse_request_head`] found.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// The head is complete; `head_len` bytes of the buffer belong to it.
    Complete {
        /// The parsed head.
        request: Request,
        /// Bytes from the start of the buffer to the end of the empty line.
        head_len: usize,
    },
    /// Everything so far is a valid start: read more and call again.
    Incomplete,
}

/// Parses the request head at the start of `buf`; a complete request gets
/// a copy of the head's bytes. The server reads through a [`HeadReader`];
/// this whole-buffer parse is what the tests hold it to.
#[cfg(test)]
///
/// # Errors
///
/// A [`ParseError`] as soon as the bytes can no longer become a valid head,
/// or when they outgrow `limits`.
pub fn parse_request_head(buf: &[u8], limits: &HeadLimits) -> Result<Parsed, ParseError> {
    Ok(match find_parts(buf, limits)? {
        Some((parts, head_len)) => {
            Parsed::Complete { request: Request::new(buf[..head_len].to_vec(), parts), head_len }
        }
        None => Parsed::Incomplete,
    })
}

/// [`parse_request_head`] without the copy: where the parts of a complete
/// head are, and its length; `None` while it is incomplete.
fn find_parts(buf: &[u8], limits: &HeadLimits) -> Result<Option<(Parts, usize)>, ParseError> {
    let mut lines = Lines { buf, pos: 0 };
    // RFC 9112 §2.2: "SHOULD ignore at least one empty line (CRLF) received
    // prior to the request-line".
    let (line_start, request_line) = loop {
        let start = lines.pos;
        match lines.next_line() {
            Some([]) => continue,
            Some(line) => break (start, line),
            None => {
                scan_request_line(lines.partial_line(), false, limits)?;
                return incomplete(buf, limits);
            }
        }
    };
    let line = scan_request_line(request_line, true, limits)?;

    let fields_start = lines.pos;
    let mut count = 0;
    let fields_end = loop {
        let start = lines.pos;
        match lines.next_line() {
            None => return incomplete(buf, limits),
            Some([]) => break start,
            Some(_) if count == MAX_HEADERS => return Err(ParseError::TooManyHeaders),
            Some(field_line) => {
                parse_header_line(field_line)?;
                count += 1;
            }
        }
    };
    let head_len = lines.pos;
    if head_len > limits.max_head_bytes {
        return Err(ParseError::HeadTooLarge);
    }

    let version = match line.version {
        b"HTTP/1.1" => Version::Http11,
        b"HTTP/1.0" => Version::Http10,
        _ => return Err(ParseError::UnsupportedVersion),
    };
    // Both were checked to be visible ASCII.
    let method_text = std::str::from_utf8(line.method).map_err(|_| ParseError::BadRequestLine)?;
    let target = std::str::from_utf8(line.target).map_err(|_| ParseError::BadRequestLine)?;
    let (path, query) = split_target(method_text, target)?;
    let method = line_start..line_start + line.method.len();
    let target_start = method.end + 1;
    let in_head = |range: Range<usize>| range.start + target_start..range.end + target_start;
    let field_lines = fields_start..fields_end;
    let content_length = check_framing_and_host(&buf[field_lines.clone()], version)?;
    let parts = Parts {
        method,
        path: path.map(in_head),
        query: in_head(query),
        field_lines,
        version,
        content_length,
    };
    Ok(Some((parts, head_len)))
}

/// The method and path of the request line at the start of `buf`, once
/// that line has arrived whole and keeps the grammar; `None` before that,
/// or when it breaks it. What a server too busy to read a whole head needs
/// to choose its refusal: the same grammar as [`parse_request_head`],
/// applied to the first line only.
pub fn method_and_path<'a>(buf: &'a [u8], limits: &HeadLimits) -> Option<(&'a str, &'a str)> {
    let mut lines = Lines { buf, pos: 0 };
    let request_line = loop {
        match lines.next_line()? {
            [] => continue,
            line => break line,
        }
    };
    let line = scan_request_line(request_line, true, limits).ok()?;
    let method = std::str::from_utf8(line.method).ok()?;
    let target = std::str::from_utf8(line.target).ok()?;
    let (path, _) = split_target(method, target).ok()?;
    Some((method, path.map_or("", |path| &target[path])))
}

fn incomplete<T>(buf: &[u8], limits: &HeadLimits) -> Result<Option<T>, ParseError> {
    if buf.len() >= limits.max_head_bytes {
        Err(ParseError::HeadTooLarge)
    } else {
        Ok(None)
    }
}

/// Splits a buffer at LF, dropping one CR before it. RFC 9112 §2.2 lets a
/// server accept a lone LF as a line end; a CR anywhere else fails the
/// character checks below ("bare CR ... MUST be considered invalid").
struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Option<&'a [u8]> {
        let rest = &self.buf[self.pos..];
        let end = rest.iter().position(|&byte| byte == b'\n')?;
        self.pos += end + 1;
        Some(rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]))
    }

    /// The unfinished last line, without a CR that may be half of a CRLF.
    fn partial_line(&self) -> &'a [u8] {
        let rest = &self.buf[self.pos..];
        rest.strip_suffix(b"\r").unwrap_or(rest)
    }
}

struct RequestLine<'a> {
    method: &'a [u8],
    target: &'a [u8],
    version: &'a [u8],
}

/// Checks a request line, or the part of one that has arrived so far
/// (`complete == false`), so garbage is refused before its line ends.
fn scan_request_line<'a>(
    line: &'a [u8],
    complete: bool,
    limits: &HeadLimits,
) -> Result<RequestLine<'a>, ParseError> {
    let mut parts = line.splitn(3, |&byte| byte == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next();
    let version = parts.next();

    if !method.iter().all(|&byte| is_tchar(byte)) || (method.is_empty() && target.is_some()) {
        return Err(ParseError::BadRequestLine);
    }
    if let Some(target) = target {
        if target.len() > limits.max_target_bytes {
            return Err(ParseError::TargetTooLong);
        }
        // request-target characters are all visible ASCII (RFC 3986).
        let visible = target.iter().all(|byte| (0x21..=0x7e).contains(byte));
        if !visible || (target.is_empty() && version.is_some()) {
            return Err(ParseError::BadRequestLine);
        }
    }
    if let Some(version) = version {
        // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
        let shape = b"HTTP/9.9";
        let fits = version.len() <= shape.len()
            && version
                .iter()
                .zip(shape)
                .all(|(&byte, &expected)| byte == expected || (expected == b'9' && byte.is_ascii_digit()));
        if !fits {
            return Err(ParseError::BadRequestLine);
        }
    }
    match (target, version) {
        (Some(target), Some(version)) if complete && version.len() == 8 => {
            Ok(RequestLine { method, target, version })
        }
        _ if complete => Err(ParseError::BadRequestLine),
        (target, version) => Ok(RequestLine {
            method,
            target: target.unwrap_or_default(),
            version: version.unwrap_or_default(),
        }),
    }
}

/// Checks one header line.
fn parse_header_line(line: &[u8]) -> Result<(), ParseError> {
    if line.starts_with(b" ") || line.starts_with(b"\t") {
        return Err(ParseError::ObsoleteLineFolding);
    }
    let colon = line.iter().position(|&byte| byte == b':').ok_or(ParseError::HeaderWithoutColon)?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.ends_with(b" ") || name.ends_with(b"\t") {
        return Err(ParseError::SpaceBeforeColon);
    }
    if name.is_empty() || !name.iter().all(|&byte| is_tchar(byte)) {
        return Err(ParseError::BadHeaderName);
    }
    // OWS is SP and HTAB only (RFC 9110 §5.6.3); a form feed or a bare CR
    // at either end stays in the value and fails the check below.
    let value = trim_ows(value);
    // field-vchar = VCHAR / obs-text, with SP and HTAB between them.
    let allowed = |&byte: &u8| byte == b'\t' || byte == b' ' || (0x21..=0x7e).contains(&byte) || byte >= 0x80;
    if !value.iter().all(allowed) {
        return Err(ParseError::BadHeaderValue);
    }
    Ok(())
}

/// Without the spaces and tabs around it (OWS, RFC 9110 §5.6.3).
fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// tchar from RFC 9110 §5.6.2: the characters of methods and field names.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod generated_tests;
#[cfg(test)]
mod tests;
