//! A parsed request head: the bytes as they came, and where each part is.
//!
//! ```text
//! GET /sse?topic=a HTTP/1.1\r\nHost: x\r\n\r\n
//! ├─┘ ├──┘ ├─────┘          ├───────────┘
//! method path query          header lines
//! ```
//!
//! The request keeps the buffer it was read into and nothing else: no
//! string per part, none per header. A stream's thread frees its request
//! before it starts streaming, and glibc keeps small freed blocks in the
//! freeing thread's own cache for as long as the thread lives; a request
//! made of one buffer leaves nothing there (BENCHMARKS.md, memory per
//! stream).

use std::ops::Range;

use super::Version;

/// A request head that passed every check of the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The head as received, from the request line to the empty line.
    head: Vec<u8>,
    parts: Parts,
}

/// Where the parts of a checked head are, in its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Parts {
    pub(super) method: Range<usize>,
    /// `None` when the target names no path (`http://host`, `http://host?q`),
    /// which means `/`.
    pub(super) path: Option<Range<usize>>,
    pub(super) query: Range<usize>,
    /// The header lines, each ending in LF or CRLF.
    pub(super) field_lines: Range<usize>,
    pub(super) version: Version,
    pub(super) content_length: Option<u64>,
}

impl Request {
    /// The request made of `head`, whose parts the parser found at `parts`.
    pub(super) fn new(head: Vec<u8>, parts: Parts) -> Request {
        Request { head, parts }
    }

    /// The method token, e.g. `GET`; case-sensitive (RFC 9110 §9.1).
    pub fn method(&self) -> &str {
        self.text(self.parts.method.clone())
    }

    /// The path: `/sse` for both `/sse?x=1` and `http://host/sse?x=1`.
    pub fn path(&self) -> &str {
        self.parts.path.clone().map_or("/", |path| self.text(path))
    }

    /// What followed the first `?`, without it; empty when there was none.
    pub fn query(&self) -> &str {
        self.text(self.parts.query.clone())
    }

    /// The request's HTTP version.
    pub fn version(&self) -> Version {
        self.parts.version
    }

    /// The `Content-Length`, when one was sent.
    pub fn content_length(&self) -> Option<u64> {
        self.parts.content_length
    }

    /// Whether the client lets the connection stay open after the answer:
    /// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with
    /// `Connection: keep-alive` (RFC 9112 §9.3). The server may still close.
    pub fn keeps_connection(&self) -> bool {
        super::meaning::client_keeps_connection(
            &self.head[self.parts.field_lines.clone()],
            self.parts.version,
        )
    }

    /// `(name, value)` of every header line in order, the value without
    /// its surrounding whitespace.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        field_lines(&self.head[self.parts.field_lines.clone()])
    }

    /// The value of the first header called `name` (any letter case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers().find(|(field, _)| field.eq_ignore_ascii_case(name.as_bytes())).map(|(_, value)| value)
    }

    /// The first value of `key` in the query, percent-decoded the way
    /// `URLSearchParams` does (`+` is a space); invalid UTF-8 becomes U+FFFD.
    pub fn query_param(&self, key: &str) -> Option<String> {
        self.query_bytes(key).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The first value of `key` in the query as the bytes it decodes to,
    /// for callers that refuse what is not UTF-8 rather than repair it.
    pub fn query_bytes(&self, key: &str) -> Option<Vec<u8>> {
        self.query().split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name) == key.as_bytes()).then(|| percent_decode(value))
        })
    }

    /// The buffer the head was read into, to write an answer into: a
    /// stream's head goes out from it, and no other buffer is needed.
    pub fn into_buffer(self) -> Vec<u8> {
        self.head
    }

    /// The method and the target are visible ASCII (checked by the parser),
    /// so they are always UTF-8.
    fn text(&self, range: Range<usize>) -> &str {
        std::str::from_utf8(&self.head[range]).unwrap_or_default()
    }
}

/// `(name, value)` of checked header lines: the name up to the first colon
/// (names are tchars, so it has none), the value after it without its
/// surrounding whitespace.
pub(super) fn field_lines(lines: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    lines.split(|&byte| byte == b'\n').filter(|line| !line.is_empty()).map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|&byte| byte == b':').unwrap_or(line.len());
        (&line[..colon], super::trim_ows(line.get(colon + 1..).unwrap_or_default()))
    })
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
