//! `POST /publish`: one event per request, from anywhere that can reach the
//! server, when a token is configured.
//!
//! ```text
//! POST /publish?event=reading HTTP/1.1\r\n
//! Host: 127.0.0.1:8080\r\n
//! Authorization: Bearer s3cret\r\n
//! Content-Length: 4\r\n
//! \r\n
//! 21.5
//! ```
//!
//! is answered `200` with the event's id as the body (`1764096030123-7`),
//! and every `/events` client receives
//! `id: 1764096030123-7\nevent: reading\ndata: 21.5\n\n`.
//!
//! Refusals, checked in this order, publish nothing: 401 (no or wrong
//! token, with `WWW-Authenticate`), 411 (no `Content-Length`), 413 (over
//! `--max-event-bytes`), 400 (an event name with CR, LF or NUL; a body that
//! is not UTF-8), 408 (the body did not arrive in `--head-timeout`).

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Instant;

use crate::connection::is_timeout;
use crate::hub::{EventId, PublishError};
use crate::request::Request;
use crate::server::Shared;
use crate::sse::SingleLine;

/// Why a publish request was refused: the status, the reason for the body
/// and log, and an extra header to send.
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) detail: String,
    pub(crate) header: Option<(&'static str, &'static str)>,
}

fn refusal(status: u16, detail: impl Into<String>) -> Refusal {
    Refusal { status, detail: detail.into(), header: None }
}

/// Checks the request, reads its body and publishes it. `already_read` is
/// what arrived after the head in the same reads.
///
/// # Errors
///
/// A [`Refusal`] to answer with; `None` when the client left mid-body and
/// there is no one to answer.
pub(crate) fn publish_request(
    socket: &TcpStream,
    request: &Request,
    already_read: &[u8],
    shared: &Shared,
) -> Result<EventId, Option<Refusal>> {
    let config = &shared.config;
    let token = config.publish_token.as_ref().map(|secret| secret.0.as_bytes()).unwrap_or_default();
    let offered = request.header("authorization").and_then(bearer_token);
    if !offered.is_some_and(|offered| constant_time_eq(offered, token)) {
        let mut answer = refusal(401, "a valid Authorization: Bearer token is required");
        answer.header = Some(("WWW-Authenticate", "Bearer realm=\"ssed\""));
        return Err(Some(answer));
    }
    let Some(length) = request.content_length else {
        return Err(Some(refusal(411, "Content-Length required")));
    };
    if length > config.max_event_bytes as u64 {
        let detail = format!("event of {length} bytes is over the limit of {}", config.max_event_bytes);
        return Err(Some(refusal(413, detail)));
    }
    let event = request.query_param("event");
    if let Some(Err(error)) = event.as_deref().map(SingleLine::new) {
        return Err(Some(refusal(400, format!("bad event name: {error}"))));
    }

    let body = read_body(socket, already_read, length as usize, shared)?;
    let data = String::from_utf8(body).map_err(|_| Some(refusal(400, "event data is not UTF-8")))?;
    shared.hub.publish(event.as_deref(), &data).map_err(|error| match error {
        PublishError::TooLarge { .. } => Some(refusal(413, error.to_string())),
        PublishError::BadEventName(_) => Some(refusal(400, error.to_string())),
    })
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 9110 §11.1).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then(|| token.trim_ascii())
}

/// Compares in time that depends on the length only, not on where the
/// first difference is, so a wrong guess tells nothing about the token.
fn constant_time_eq(offered: &[u8], expected: &[u8]) -> bool {
    offered.len() == expected.len()
        && offered.iter().zip(expected).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

/// Reads exactly `length` body bytes within `--head-timeout`.
fn read_body(
    mut socket: &TcpStream,
    already_read: &[u8],
    length: usize,
    shared: &Shared,
) -> Result<Vec<u8>, Option<Refusal>> {
    let timeout = shared.config.head_timeout;
    let deadline = Instant::now() + timeout;
    let mut body = already_read[..already_read.len().min(length)].to_vec();
    body.resize(length, 0);
    let mut filled = already_read.len().min(length);
    while filled < length {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let timed_out = || Some(refusal(408, format!("body not received within {} ms", timeout.as_millis())));
        if remaining.is_zero() || socket.set_read_timeout(Some(remaining)).is_err() {
            return Err(timed_out());
        }
        match socket.read(&mut body[filled..]) {
            Ok(0) => return Err(None),
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) if is_timeout(&error) => return Err(timed_out()),
            Err(_) => return Err(None),
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let cases: [(&[u8], Option<&[u8]>); 6] = [
            (b"Bearer abc", Some(b"abc")),
            (b"bearer abc", Some(b"abc")),
            (b"BEARER  abc ", Some(b"abc")),
            (b"Basic abc", None),
            (b"Bearer", None),
            (b"Bearerabc", None),
        ];
        for (header, token) in cases {
            assert_eq!(bearer_token(header), token, "{}", String::from_utf8_lossy(header));
        }
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3creT", b"s3cret"));
        assert!(!constant_time_eq(b"s3cre", b"s3cret"));
        assert!(!constant_time_eq(b"", b"s3cret"));
    }
}
