//! Parsing an HTTP/1.1 request head by hand: the subset of RFC 9112 that an
//! event-stream server needs.
//!
//! Pure: bytes in, a [`Parsed`] or a [`ParseError`] out. The connection
//! module reads the socket and calls [`parse_request_head`] again after every
//! read, so a request that arrives one byte at a time is normal.
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

use std::fmt;

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

/// One header line, name as sent, value with surrounding whitespace removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The field name; compare it case-insensitively.
    pub name: String,
    /// The field value: visible ASCII, spaces, tabs or obs-text bytes.
    pub value: Vec<u8>,
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
    pub headers: Vec<Header>,
    /// The `Content-Length`, when one was sent.
    pub content_length: Option<u64>,
}

impl Request {
    /// The value of the first header called `name` (any letter case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value.as_slice())
    }
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

/// Why a request head was refused. Each maps to one status in [`Self::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The request line is not `method SP target SP HTTP/x.y`.
    BadRequestLine,
    /// A header line has no colon.
    HeaderWithoutColon,
    /// Whitespace between the field name and the colon (RFC 9112 §5.1: MUST 400).
    SpaceBeforeColon,
    /// A line that starts with whitespace: obs-fold, which RFC 9112 §5.2 lets us reject.
    ObsoleteLineFolding,
    /// The field name is empty or holds a byte outside the token set.
    BadHeaderName,
    /// The field value holds a control byte such as NUL or a bare CR.
    BadHeaderValue,
    /// An HTTP/1.1 request without `Host` (RFC 9112 §3.2: MUST 400).
    MissingHost,
    /// More than one `Host` line (RFC 9112 §3.2: MUST 400).
    DuplicateHost,
    /// `Content-Length` is not digits, or two of them disagree.
    BadContentLength,
    /// Both `Content-Length` and `Transfer-Encoding`: a smuggling attempt
    /// (RFC 9112 §6.1), refused.
    ContentLengthWithTransferEncoding,
    /// The request-target is over [`Limits::max_target_bytes`].
    TargetTooLong,
    /// The head is over [`Limits::max_head_bytes`].
    HeadTooLarge,
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1, e.g. HTTP/2.0.
    UnsupportedVersion,
}

impl ParseError {
    /// The status code that answers this error.
    pub fn status(self) -> u16 {
        match self {
            ParseError::TargetTooLong => 414,
            ParseError::HeadTooLarge => 431,
            ParseError::UnsupportedVersion => 505,
            ParseError::BadRequestLine
            | ParseError::HeaderWithoutColon
            | ParseError::SpaceBeforeColon
            | ParseError::ObsoleteLineFolding
            | ParseError::BadHeaderName
            | ParseError::BadHeaderValue
            | ParseError::MissingHost
            | ParseError::DuplicateHost
            | ParseError::BadContentLength
            | ParseError::ContentLengthWithTransferEncoding => 400,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::BadRequestLine => "malformed request line",
            ParseError::HeaderWithoutColon => "header line without a colon",
            ParseError::SpaceBeforeColon => "whitespace between header name and colon",
            ParseError::ObsoleteLineFolding => "header line starts with whitespace (obs-fold)",
            ParseError::BadHeaderName => "invalid header name",
            ParseError::BadHeaderValue => "control byte in header value",
            ParseError::MissingHost => "HTTP/1.1 request without Host",
            ParseError::DuplicateHost => "more than one Host header",
            ParseError::BadContentLength => "invalid Content-Length",
            ParseError::ContentLengthWithTransferEncoding => {
                "both Content-Length and Transfer-Encoding"
            }
            ParseError::TargetTooLong => "request target too long",
            ParseError::HeadTooLarge => "request head too large",
            ParseError::UnsupportedVersion => "HTTP version not supported",
        })
    }
}

impl std::error::Error for ParseError {}

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

    let mut headers = Vec::new();
    loop {
        match lines.next_line() {
            None => return incomplete(buf, limits),
            Some([]) => break,
            Some(line) => headers.push(parse_header_line(line)?),
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
    let request = Request {
        method,
        path,
        query,
        version,
        headers,
        content_length,
    };
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
            && version.iter().zip(shape).all(|(&byte, &expected)| {
                byte == expected || (expected == b'9' && byte.is_ascii_digit())
            });
        if !fits {
            return Err(ParseError::BadRequestLine);
        }
    }
    match (target, version) {
        (Some(target), Some(version)) if complete && version.len() == 8 => Ok(RequestLine {
            method,
            target,
            version,
        }),
        _ if complete => Err(ParseError::BadRequestLine),
        (target, version) => Ok(RequestLine {
            method,
            target: target.unwrap_or_default(),
            version: version.unwrap_or_default(),
        }),
    }
}

fn parse_header_line(line: &[u8]) -> Result<Header, ParseError> {
    if line.starts_with(b" ") || line.starts_with(b"\t") {
        return Err(ParseError::ObsoleteLineFolding);
    }
    let colon = line
        .iter()
        .position(|&byte| byte == b':')
        .ok_or(ParseError::HeaderWithoutColon)?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.ends_with(b" ") || name.ends_with(b"\t") {
        return Err(ParseError::SpaceBeforeColon);
    }
    if name.is_empty() || !name.iter().all(|&byte| is_tchar(byte)) {
        return Err(ParseError::BadHeaderName);
    }
    let value = value.trim_ascii();
    // field-vchar = VCHAR / obs-text, with SP and HTAB between them.
    let allowed =
        |&byte: &u8| byte == b'\t' || byte == b' ' || (0x21..=0x7e).contains(&byte) || byte >= 0x80;
    if !value.iter().all(allowed) {
        return Err(ParseError::BadHeaderValue);
    }
    Ok(Header {
        name: ascii_string(name)?,
        value: value.to_vec(),
    })
}

/// Host and body-framing rules of RFC 9112 §3.2 and §6; returns the
/// Content-Length.
fn check_framing_and_host(headers: &[Header], version: Version) -> Result<Option<u64>, ParseError> {
    let named = |name: &'static str| {
        headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
    };
    match (named("host").count(), version) {
        (0, Version::Http11) => return Err(ParseError::MissingHost),
        (0 | 1, _) => {}
        _ => return Err(ParseError::DuplicateHost),
    }
    let mut content_length = None;
    for header in named("content-length") {
        let digits = !header.value.is_empty() && header.value.iter().all(u8::is_ascii_digit);
        let length = std::str::from_utf8(&header.value)
            .ok()
            .filter(|_| digits)
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or(ParseError::BadContentLength)?;
        if content_length.is_some_and(|earlier| earlier != length) {
            return Err(ParseError::BadContentLength);
        }
        content_length = Some(length);
    }
    if content_length.is_some() && named("transfer-encoding").next().is_some() {
        return Err(ParseError::ContentLengthWithTransferEncoding);
    }
    Ok(content_length)
}

/// Reduces the four request-target forms (RFC 9112 §3.2) to path and query.
fn split_target(method: &str, target: &str) -> Result<(String, String), ParseError> {
    let origin_form = if target.starts_with('/') {
        target
    } else if target == "*" && method == "OPTIONS" {
        return Ok(("*".to_owned(), String::new()));
    } else if let Some(after_scheme) = strip_prefix_ignore_case(target, "http://")
        .or_else(|| strip_prefix_ignore_case(target, "https://"))
    {
        // "A server MUST accept the absolute-form in requests" (§3.2.2).
        match after_scheme.find(['/', '?']) {
            Some(start) if after_scheme[start..].starts_with('/') => &after_scheme[start..],
            Some(start) => return Ok(("/".to_owned(), after_scheme[start + 1..].to_owned())),
            None => "/",
        }
    } else {
        return Err(ParseError::BadRequestLine);
    };
    Ok(match origin_form.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (origin_form.to_owned(), String::new()),
    })
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
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
#[path = "request_tests.rs"]
mod tests;
