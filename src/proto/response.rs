//! Response heads and small whole responses, as bytes.
//!
//! Pure, like [`crate::proto::request`]: the connection module decides what to send
//! and writes these bytes to the socket.
//!
//! The head of every event stream (RFC 9112 §6.3 rule 8: no length and no
//! chunking, so the body runs until the server closes):
//!
//! ```text
//! HTTP/1.1 200 OK\r\n
//! Date: Wed, 25 Nov 2026 18:40:30 GMT\r\n
//! Content-Type: text/event-stream\r\n
//! Cache-Control: no-cache\r\n
//! Access-Control-Allow-Origin: *\r\n
//! X-Accel-Buffering: no\r\n
//! Connection: close\r\n
//! \r\n
//! ```
//!
//! Every other response carries a `Content-Length` and closes too, except
//! the answer to a publish on a connection its client keeps open, which
//! says `Connection: keep-alive` instead ([`Whole::to_bytes_kept_open`]).

use std::io::Write;
use std::time::Duration;

use crate::proto::sse;

/// The reason phrase for the statuses ssed sends (RFC 9110 §15).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Which CORS headers an answer carries, decided from the request's
/// `Origin` and `--cors-origin` (see `Config::cors_for`).
///
/// ```text
/// AnyOrigin              Access-Control-Allow-Origin: *
/// Credentialed("https://app.example")
///                        Access-Control-Allow-Origin: https://app.example
///                        Access-Control-Allow-Credentials: true
///                        Vary: Origin
/// NotListed              Vary: Origin      (a browser keeps the answer from the page)
/// ```
///
/// A listed origin is echoed from the configuration, never from the
/// request, and never as `*` with credentials (the Fetch standard forbids
/// the pair; Mercure rule 27).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cors<'a> {
    /// Any page may read the answer, without cookies.
    AnyOrigin,
    /// Pages of this (listed) origin may read it, cookies included.
    Credentialed(&'a str),
    /// The request came from an origin that is not listed.
    NotListed,
}

/// A response head being built: status line first, then header lines.
///
/// Names and values come from ssed's own code and from checked [`crate::Config`]
/// values, never from a request, so no line break can be injected here.
pub struct Head {
    bytes: Vec<u8>,
}

impl Head {
    /// Starts a head with the status line and the `Date` header, which RFC
    /// 9110 §6.6.1 asks of every origin server that has a clock.
    pub fn new(status: u16, date: &str) -> Head {
        Head::in_buffer(Vec::with_capacity(512), status, date)
    }

    /// [`Head::new`] written into `buffer`, emptied first: a buffer the
    /// connection already has (the one its request was read into).
    pub fn in_buffer(mut buffer: Vec<u8>, status: u16, date: &str) -> Head {
        buffer.clear();
        let mut head = Head { bytes: buffer };
        // Writing to a Vec cannot fail.
        let _ = write!(head.bytes, "HTTP/1.1 {status} {}\r\n", reason_phrase(status));
        head.header("Date", date)
    }

    /// Adds one `name: value` line.
    pub fn header(mut self, name: &str, value: &str) -> Head {
        self.push_line(&[name, ": ", value]);
        self
    }

    /// Adds the CORS lines of `cors`.
    pub fn cors(self, cors: Cors<'_>) -> Head {
        match cors {
            Cors::AnyOrigin => self.header("Access-Control-Allow-Origin", "*"),
            Cors::Credentialed(origin) => self
                .header("Access-Control-Allow-Origin", origin)
                .header("Access-Control-Allow-Credentials", "true")
                .header("Vary", "Origin"),
            Cors::NotListed => self.header("Vary", "Origin"),
        }
    }

    /// Ends the head with the empty line and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(b"\r\n");
        self.bytes
    }

    fn push_line(&mut self, parts: &[&str]) {
        for part in parts {
            self.bytes.extend_from_slice(part.as_bytes());
        }
        self.bytes.extend_from_slice(b"\r\n");
    }
}

/// The head that opens every event stream, written into `buffer`
/// (emptied first), so a stream can reuse the buffer its request came in.
///
/// `X-Accel-Buffering: no` asks nginx-style proxies not to buffer the body;
/// `Cache-Control: no-cache` keeps caches from replaying a stream.
#[cfg(test)]
pub fn event_stream_head_in(buffer: Vec<u8>, cors: Cors<'_>, date: &str) -> Vec<u8> {
    stream_head_of(buffer, StreamKind::Events, cors, date)
}

/// Which endpoint a stream's head answers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind<'a> {
    /// `/sse`, `/messages`, `/events`.
    Events,
    /// `/.well-known/mercure`: the `Cache-Control` the Mercure hub sends,
    /// and, when the client sent a last event id, `Last-Event-ID` with what
    /// it resolved to (Mercure rule 26).
    Mercure {
        /// The `Last-Event-ID` response header, if any.
        last_event_id: Option<&'a str>,
    },
}

/// The head that opens a stream of `kind`, written into `buffer`.
///
/// ```text
/// HTTP/1.1 200 OK\r\n
/// Date: …\r\n
/// Content-Type: text/event-stream\r\n
/// Cache-Control: private, no-cache, no-store, must-revalidate, max-age=0\r\n   (Mercure)
/// Last-Event-ID: urn:uuid:…\r\n                                               (Mercure, when asked)
/// …
/// ```
pub fn stream_head_of(buffer: Vec<u8>, kind: StreamKind<'_>, cors: Cors<'_>, date: &str) -> Vec<u8> {
    let head = Head::in_buffer(buffer, 200, date).header("Content-Type", "text/event-stream");
    let head = match kind {
        StreamKind::Events => head.header("Cache-Control", "no-cache"),
        StreamKind::Mercure { last_event_id } => {
            let head =
                head.header("Cache-Control", "private, no-cache, no-store, must-revalidate, max-age=0");
            match last_event_id {
                Some(id) => head.header("Last-Event-ID", id),
                None => head,
            }
        }
    };
    head.cors(cors).header("X-Accel-Buffering", "no").header("Connection", "close").finish()
}

/// The answer to a stream request when ssed is full: a 200 event stream
/// that holds no event, only `retry:` and a comment that says why, and ends.
///
/// A browser's `EventSource` gives up for good on any status but 200 (503
/// included), so this makes it wait `retry` and reconnect; `curl -N` shows
/// the comment; `Retry-After` tells other clients the same.
pub fn busy_stream(cors: Cors<'_>, retry: Duration, why: &str, date: &str) -> Vec<u8> {
    let mut answer = Head::new(200, date)
        .header("Content-Type", "text/event-stream")
        .header("Cache-Control", "no-cache")
        .cors(cors)
        .header("Retry-After", &retry.as_secs().max(1).to_string())
        .header("Connection", "close")
        .finish();
    sse::encode_retry(retry, &mut answer);
    sse::encode_comment(
        &format!("ssed is busy ({why}); retry in {} ms", retry.as_millis() as u64),
        &mut answer,
    );
    answer
}

/// The answer to a CORS preflight (`OPTIONS`): which methods the resource
/// takes, and that a page may send `Last-Event-ID`, `Cache-Control` and a
/// token (Mercure rule 28). A 204 carries no `Content-Length` (RFC 9110
/// §8.6).
pub fn preflight(allowed_methods: &str, cors: Cors<'_>, date: &str) -> Vec<u8> {
    Head::new(204, date)
        .header("Allow", allowed_methods)
        .cors(cors)
        .header("Access-Control-Allow-Methods", allowed_methods)
        .header("Access-Control-Allow-Headers", "Last-Event-ID, Cache-Control, Authorization, Content-Type")
        .header("Access-Control-Max-Age", "86400")
        .header("Connection", "close")
        .finish()
}

/// A whole response with a body and a `Content-Length`. For `HEAD` pass
/// `head_only`: the length is still that of the body a `GET` would get.
pub struct Whole<'a> {
    /// The status code.
    pub status: u16,
    /// `Content-Type` of `body`.
    pub content_type: &'a str,
    /// Further header lines, e.g. `Allow` on a 405.
    pub extra_headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
    /// Send the head without the body (a `HEAD` request).
    pub head_only: bool,
}

impl Whole<'_> {
    /// The response bytes, head and (unless `head_only`) body, saying
    /// `Connection: close`.
    pub fn to_bytes(&self, cors: Cors<'_>, date: &str) -> Vec<u8> {
        self.to_bytes_saying(cors, date, "close")
    }

    /// [`Whole::to_bytes`] on a connection that stays open for the
    /// client's next request: `Connection: keep-alive`, which an HTTP/1.0
    /// client needs to hear and an HTTP/1.1 client may (RFC 9112 §9.3).
    pub fn to_bytes_kept_open(&self, cors: Cors<'_>, date: &str) -> Vec<u8> {
        self.to_bytes_saying(cors, date, "keep-alive")
    }

    fn to_bytes_saying(&self, cors: Cors<'_>, date: &str, connection: &str) -> Vec<u8> {
        let mut head = Head::new(self.status, date)
            .header("Content-Type", self.content_type)
            .header("Content-Length", &self.body.len().to_string())
            .cors(cors);
        for (name, value) in self.extra_headers {
            head = head.header(name, value);
        }
        let mut bytes = head.header("Connection", connection).finish();
        if !self.head_only {
            bytes.extend_from_slice(self.body);
        }
        bytes
    }
}

/// The body of an error response: status, then the reason in plain words,
/// e.g. `431 request head too large (limit 8192 bytes)`.
pub fn error_body(status: u16, detail: &str) -> Vec<u8> {
    format!("{status} {detail}\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "Wed, 25 Nov 2026 18:40:30 GMT";

    #[test]
    fn event_stream_head_bytes() {
        let head = event_stream_head_in(Vec::new(), Cors::AnyOrigin, DATE);
        assert_eq!(
            String::from_utf8_lossy(&head),
            "HTTP/1.1 200 OK\r\nDate: Wed, 25 Nov 2026 18:40:30 GMT\r\n\
             Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
             Access-Control-Allow-Origin: *\r\nX-Accel-Buffering: no\r\n\
             Connection: close\r\n\r\n"
        );
    }

    #[test]
    fn a_head_written_into_a_used_buffer_is_the_same_head_in_that_buffer() {
        let mut used = b"GET /sse HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
        used.reserve(2048);
        let (address, capacity) = (used.as_ptr(), used.capacity());
        let head = event_stream_head_in(used, Cors::AnyOrigin, DATE);
        assert_eq!(head, event_stream_head_in(Vec::new(), Cors::AnyOrigin, DATE));
        assert_eq!((head.as_ptr(), head.capacity()), (address, capacity), "no new allocation");
    }

    #[test]
    fn whole_response_with_and_without_body() {
        let response = Whole {
            status: 405,
            content_type: "text/plain; charset=utf-8",
            extra_headers: &[("Allow", "GET, HEAD, OPTIONS")],
            body: b"405 method not allowed\n",
            head_only: false,
        };
        let expected_head = "HTTP/1.1 405 Method Not Allowed\r\nDate: Wed, 25 Nov 2026 18:40:30 GMT\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Length: 23\r\n\
             Access-Control-Allow-Origin: https://a.test\r\nAccess-Control-Allow-Credentials: true\r\n\
             Vary: Origin\r\nAllow: GET, HEAD, OPTIONS\r\n\
             Connection: close\r\n\r\n";
        let bytes = response.to_bytes(Cors::Credentialed("https://a.test"), DATE);
        assert_eq!(String::from_utf8_lossy(&bytes), format!("{expected_head}405 method not allowed\n"));
        let head_only =
            Whole { head_only: true, ..response }.to_bytes(Cors::Credentialed("https://a.test"), DATE);
        assert_eq!(String::from_utf8_lossy(&head_only), expected_head);
        let kept_open = response.to_bytes_kept_open(Cors::Credentialed("https://a.test"), DATE);
        let kept_head = expected_head.replace("Connection: close", "Connection: keep-alive");
        assert_eq!(String::from_utf8_lossy(&kept_open), format!("{kept_head}405 method not allowed\n"));
    }

    #[test]
    fn every_status_sent_has_a_reason_phrase() {
        for status in [100, 200, 204, 400, 401, 403, 404, 405, 408, 411, 413, 414, 431, 501, 503, 504, 505] {
            assert_ne!(reason_phrase(status), "Unknown", "{status}");
        }
    }
}
