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
mod reader;

pub use error::ParseError;
pub use reader::{HeadReader, Progress};

/// Header lines a request may carry; one more is 431. Browsers send about
/// 15, curl 3; the cap keeps a head of 8 KiB from becoming thousands of
/// separately kept headers.
pub const MAX_HEADERS: usize = 100;
use meaning::{check_framing_and_host, split_target};

/// Size limits for a request head, from [`crate::Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
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

/// Every header line of a request, in one buffer: `name:value\n` each,
/// the value without its surrounding whitespace. One allocation however
/// many headers came, rather than two per header: a stream's thread frees
/// its request before it starts, and glibc keeps small freed blocks in
/// that thread's own cache for as long as the thread lives (BENCHMARKS.md,
/// memory per stream).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    /// Names are tchars and values exclude CR and LF (both checked by the
    /// parser), so `:` and `\n` split them unambiguously.
    text: Vec<u8>,
}

impl Fields {
    /// Appends one checked field.
    fn push(&mut self, name: &[u8], value: &[u8]) {
        self.text.extend_from_slice(name);
        self.text.push(b':');
        self.text.extend_from_slice(value);
        self.text.push(b'\n');
    }

    /// `(name, value)` for every header line, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.text.split(|&byte| byte == b'\n').filter(|line| !line.is_empty()).map(|line| {
            let colon = line.iter().position(|&byte| byte == b':').unwrap_or(line.len());
            (&line[..colon], line.get(colon + 1..).unwrap_or_default())
        })
    }

    /// The values of the header lines called `name` (any letter case).
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |(field, _)| field.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| value)
    }

    /// How many header lines there are.
    pub fn len(&self) -> usize {
        self.text.iter().filter(|&&byte| byte == b'\n').count()
    }

    /// True when the request had no header lines.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// A request head that passed every check below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method token, e.g. `GET`; case-sensitive (RFC 9110 §9.1).
    pub method: String,
    /// The path: `/sse` for both `/sse?x=1` and `http://host/sse?x=1`.
    pub path: String,
    /// What followed the first `?`, without it; empty when there was none.
    pub query: String,
    /// The request's HTTP version.
    pub version: Version,
    /// Every header line in order.
    pub headers: Fields,
    /// The `Content-Length`, when one was sent.
    pub content_length: Option<u64>,
}

impl Request {
    /// The value of the first header called `name` (any letter case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| value)
    }

    /// [`Request::header`] as text, when it is UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|value| std::str::from_utf8(value).ok())
    }

    /// The first value of `key` in the query, percent-decoded the way
    /// `URLSearchParams` does (`+` is a space); invalid UTF-8 becomes U+FFFD.
    pub fn query_param(&self, key: &str) -> Option<String> {
        self.query_bytes(key).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The first value of `key` in the query as the bytes it decodes to,
    /// for callers that refuse what is not UTF-8 rather than repair it.
    pub fn query_bytes(&self, key: &str) -> Option<Vec<u8>> {
        self.query.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name) == key.as_bytes()).then(|| percent_decode(value))
        })
    }
}

/// Decodes `%XX` escapes and `+`; a `%` not followed by two hex digits stays.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|&byte| (byte as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                decoded.push(b' ');
                i += 1;
            }
            (byte, _, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    decoded
}

/// What one call to [`parse_request_head`] found.
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

/// Parses the request head at the start of `buf`.
///
/// # Errors
///
/// A [`ParseError`] as soon as the bytes can no longer become a valid head,
/// or when they outgrow `limits`.
pub fn parse_request_head(buf: &[u8], limits: &Limits) -> Result<Parsed, ParseError> {
    let mut lines = Lines { buf, pos: 0 };
    // RFC 9112 §2.2: "SHOULD ignore at least one empty line (CRLF) received
    // prior to the request-line".
    let request_line = loop {
        match lines.next_line() {
            Some([]) => continue,
            Some(line) => break line,
            None => {
                scan_request_line(lines.partial_line(), false, limits)?;
                return incomplete(buf, limits);
            }
        }
    };
    let parts = scan_request_line(request_line, true, limits)?;

    // Sized once: the header lines are at most what is left of the buffer.
    let mut headers = Fields { text: Vec::with_capacity(buf.len() - lines.pos) };
    let mut count = 0;
    loop {
        match lines.next_line() {
            None => return incomplete(buf, limits),
            Some([]) => break,
            Some(_) if count == MAX_HEADERS => return Err(ParseError::TooManyHeaders),
            Some(line) => {
                let (name, value) = parse_header_line(line)?;
                headers.push(name, value);
                count += 1;
            }
        }
    }
    let head_len = lines.pos;
    if head_len > limits.max_head_bytes {
        return Err(ParseError::HeadTooLarge);
    }

    let version = match parts.version {
        b"HTTP/1.1" => Version::Http11,
        b"HTTP/1.0" => Version::Http10,
        _ => return Err(ParseError::UnsupportedVersion),
    };
    let method = ascii_string(parts.method)?;
    let (path, query) = split_target(&method, &ascii_string(parts.target)?)?;
    let content_length = check_framing_and_host(&headers, version)?;
    let request = Request { method, path, query, version, headers, content_length };
    Ok(Parsed::Complete { request, head_len })
}

fn incomplete(buf: &[u8], limits: &Limits) -> Result<Parsed, ParseError> {
    if buf.len() >= limits.max_head_bytes {
        Err(ParseError::HeadTooLarge)
    } else {
        Ok(Parsed::Incomplete)
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
    limits: &Limits,
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

fn parse_header_line(line: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
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
    Ok((name, value))
}

fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

fn ascii_string(bytes: &[u8]) -> Result<String, ParseError> {
    // Callers pass bytes already checked to be visible ASCII.
    String::from_utf8(bytes.to_vec()).map_err(|_| ParseError::BadRequestLine)
}

/// tchar from RFC 9110 §5.6.2: the characters of methods and field names.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests;
