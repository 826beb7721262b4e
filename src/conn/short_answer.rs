//! Short answers: write one whole response, close gently (or, for a
//! publish on a connection its client keeps, leave it open), and say how
//! the connection ended, for the connection's one last log line.
//!
//! ```text
//! HTTP/1.1 404 Not Found\r\n … Content-Length: 14\r\n … \r\n
//! 404 not found\n
//! ```
//!
//! is logged as `127.0.0.1:41690 GET /nope -> 404 not found` and counted
//! under `ssed_error_answers_total{status="404"}` and
//! `ssed_disconnects_total{reason="answered"}`.

use std::io::Write;
use std::net::TcpStream;
use std::time::SystemTime;

use crate::conn::socket::close_gently;
use crate::ops::shared::Shared;
use crate::proto::close::CloseReason;
use crate::proto::response::{error_body, Cors, Whole};
use crate::proto::time::http_date;

/// How one connection ended: the reason it is counted under, and the words
/// after the client's address in its last log line.
pub(crate) struct Ended {
    /// Why it ended.
    pub(crate) reason: CloseReason,
    /// E.g. `-> 404 not found`, or `left after 2.0 s, 4 events: …`.
    pub(crate) outcome: String,
}

/// What becomes of the connection once an answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterAnswer {
    /// `Connection: close`, then close gently: every answer but one.
    Close,
    /// `Connection: keep-alive`, and the connection stays open for the
    /// client's next request: a publish whose request was read whole, on a
    /// connection its client keeps and ssed may keep.
    KeepOpen,
}

/// A plain-text error answer such as `404 not found`, with any extra
/// headers (`Allow`, `WWW-Authenticate`, `Retry-After`).
pub(crate) fn error(
    socket: &TcpStream,
    shared: &Shared,
    cors: Cors<'_>,
    status: u16,
    detail: &str,
    extra_headers: &[(&str, &str)],
) -> Ended {
    error_then(socket, shared, cors, (status, detail), extra_headers, AfterAnswer::Close)
}

/// [`error`], then `after`. On [`AfterAnswer::KeepOpen`] the reason is
/// `Answered(status)` when the answer went out and the connection is open.
pub(crate) fn error_then(
    socket: &TcpStream,
    shared: &Shared,
    cors: Cors<'_>,
    (status, detail): (u16, &str),
    extra_headers: &[(&str, &str)],
    after: AfterAnswer,
) -> Ended {
    shared.metrics.answered_error(status);
    let body = error_body(status, detail);
    let whole = Whole {
        status,
        content_type: "text/plain; charset=utf-8",
        extra_headers,
        body: &body,
        head_only: false,
    };
    let reason = send(socket, shared, cors, &whole, after);
    Ended { reason, outcome: format!("-> {status} {detail}") }
}

/// A successful whole answer (`200` with a body, or only its head for `HEAD`).
pub(crate) fn ok(
    socket: &TcpStream,
    shared: &Shared,
    cors: Cors<'_>,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> Ended {
    ok_then(socket, shared, cors, (content_type, body), head_only, AfterAnswer::Close)
}

/// [`ok`], then `after` (see [`error_then`]).
pub(crate) fn ok_then(
    socket: &TcpStream,
    shared: &Shared,
    cors: Cors<'_>,
    (content_type, body): (&str, &[u8]),
    head_only: bool,
    after: AfterAnswer,
) -> Ended {
    let whole =
        Whole { status: 200, content_type, extra_headers: &[("Cache-Control", "no-cache")], body, head_only };
    let reason = send(socket, shared, cors, &whole, after);
    Ended { reason, outcome: "-> 200".to_owned() }
}

/// Writes bytes that make up a whole answer, then closes gently.
pub(crate) fn raw(mut socket: &TcpStream, shared: &Shared, status: u16, bytes: &[u8]) -> CloseReason {
    match socket.write_all(bytes) {
        Ok(()) => {
            shared.metrics.sent_bytes(bytes.len());
            close_gently(socket);
            CloseReason::Answered(status)
        }
        Err(error) => CloseReason::from_write_error(&error),
    }
}

fn send(
    mut socket: &TcpStream,
    shared: &Shared,
    cors: Cors<'_>,
    whole: &Whole<'_>,
    after: AfterAnswer,
) -> CloseReason {
    let date = http_date(SystemTime::now());
    match after {
        AfterAnswer::Close => raw(socket, shared, whole.status, &whole.to_bytes(cors, &date)),
        AfterAnswer::KeepOpen => {
            let bytes = whole.to_bytes_kept_open(cors, &date);
            match socket.write_all(&bytes) {
                Ok(()) => {
                    shared.metrics.sent_bytes(bytes.len());
                    CloseReason::Answered(whole.status)
                }
                Err(error) => CloseReason::from_write_error(&error),
            }
        }
    }
}
