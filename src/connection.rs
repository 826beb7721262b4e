//! One connection, start to end: read the request head within its limits,
//! route it, answer it, log how it ended.
//!
//! ```text
//! read head (--head-timeout, --max-head-bytes) ─┬─ error ──► 400/408/414/431/505, close
//!                                              └─ request ──► route
//!   /sse, /messages ──► a stream place? ──► stream::serve_pings (src/stream.rs)
//!   /events         ──► a stream place? ──► events::serve_events (src/events.rs)
//!                          └ none left ──► the busy answer (retry later)
//!   POST /publish   ──► publish::publish_request (src/publish.rs)
//!   / /metrics /healthz ──► a whole answer
//!   OPTIONS         ──► 204 preflight
//!   otherwise       ──► 404 / 405 / 501
//! ```
//!
//! Every response ends the connection: ssed answers one request per
//! connection, so there is no keep-alive or pipelining state to get wrong.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime};

use crate::clock::http_date;
use crate::metrics::Refusal;
use crate::request::{parse_request_head, ParseError, Parsed, Request};
use crate::response::{busy_stream, error_body, event_stream_head, Head, Whole};
use crate::routes::{route, Resource, Route};
use crate::server::{ConnectionSlot, Shared};
use crate::stream::{self, LiveStream};
use crate::{events, publish};

/// The demo page, compiled into the binary.
const DEMO_PAGE: &str = include_str!("demo.html");

/// How long, at most, we keep reading (and discarding) after an answer
/// before closing. See [`close_gently`].
const LINGER: Duration = Duration::from_millis(500);

/// Serves one accepted connection on the current thread. Holding `slot`
/// is what counts this connection against `--max-clients`.
pub(crate) fn serve(socket: &TcpStream, peer: SocketAddr, slot: ConnectionSlot) {
    let shared = &*slot.shared;
    let accepted = Instant::now();
    // A client that stops reading must not pin this thread forever.
    let _ = socket.set_write_timeout(Some(shared.config.write_timeout));
    // Frames are small and must leave at once, not wait for an ACK.
    let _ = socket.set_nodelay(true);

    let who = peer.to_string();
    let (request, after_head) = match read_request_head(socket, shared, accepted) {
        Ok(read) => read,
        Err(HeadError::Parse(error)) => {
            let detail = match error {
                ParseError::HeadTooLarge => format!("{error} (limit {} bytes)", shared.config.max_head_bytes),
                ParseError::TargetTooLong => {
                    format!("{error} (limit {} bytes)", shared.config.max_target_bytes)
                }
                _ => error.to_string(),
            };
            return answer_error(socket, shared, &who, error.status(), &detail, &[]);
        }
        Err(HeadError::TimedOut) => {
            let limit = shared.config.head_timeout.as_millis();
            return answer_error(
                socket,
                shared,
                &who,
                408,
                &format!("request head not received within {limit} ms"),
                &[],
            );
        }
        Err(HeadError::Closed) => {
            return shared.log_connection(format_args!("{who} left before sending a whole request"));
        }
        Err(HeadError::Io(error)) => {
            return shared.log_connection(format_args!("{who} read failed: {error}"))
        }
    };

    let who = format!("{peer} {} {}", request.method, request.path);
    let publish_enabled = shared.config.publish_token.is_some();
    match route(&request.method, &request.path, publish_enabled) {
        Route::Serve { resource: Resource::Pings(_) | Resource::Events, head_only: true } => {
            send_and_close(socket, &event_stream_head(&shared.config.cors_origin, &now()));
            shared.log_connection(format_args!("{who} -> 200 (head only)"));
        }
        Route::Serve { resource: resource @ (Resource::Pings(_) | Resource::Events), head_only: false } => {
            let Some(live) = LiveStream::start(shared) else {
                let max = shared.config.max_clients;
                let why = format!("server full, {max} of {max} streams in use");
                shared.metrics.refused(Refusal::Full);
                send_and_close(
                    socket,
                    &busy_stream(&shared.config.cors_origin, shared.config.retry, &why, &now()),
                );
                return shared.log_connection(format_args!("{who} refused: {why}"));
            };
            match resource {
                Resource::Pings(style) => stream::serve_pings(socket, &request, style, live, shared, &who),
                _ => events::serve_events(socket, &request, live, shared, &who),
            }
            close_gently(socket);
        }
        Route::Serve { resource: Resource::Publish, .. } => {
            match publish::publish_request(socket, &request, &after_head, shared) {
                Ok(id) => {
                    let body = format!("{id}\n");
                    answer(socket, shared, &who, 200, "text/plain; charset=utf-8", body.as_bytes(), false);
                }
                Err(Some(refusal)) => {
                    let header: &[(&str, &str)] = match &refusal.header {
                        Some(header) => std::slice::from_ref(header),
                        None => &[],
                    };
                    answer_error(socket, shared, &who, refusal.status, &refusal.detail, header);
                }
                Err(None) => shared.log_connection(format_args!("{who} left before sending the whole body")),
            }
        }
        Route::Serve { resource: Resource::Metrics, head_only } => {
            let text = shared.metrics_text();
            answer(
                socket,
                shared,
                &who,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                text.as_bytes(),
                head_only,
            );
        }
        Route::Serve { resource: Resource::Health, head_only } => {
            answer(socket, shared, &who, 200, "text/plain; charset=utf-8", b"ok\n", head_only);
        }
        Route::Serve { resource: Resource::DemoPage, head_only } => {
            let page = DEMO_PAGE.as_bytes();
            answer(socket, shared, &who, 200, "text/html; charset=utf-8", page, head_only);
        }
        Route::Preflight(resource) => {
            let allowed = resource.map_or("GET, HEAD, POST, OPTIONS", Resource::allowed_methods);
            // 204 carries no Content-Length (RFC 9110 §8.6).
            let answer = Head::new(204, &now())
                .header("Allow", allowed)
                .header("Access-Control-Allow-Origin", &shared.config.cors_origin)
                .header("Access-Control-Allow-Methods", allowed)
                .header(
                    "Access-Control-Allow-Headers",
                    "Last-Event-ID, Cache-Control, Authorization, Content-Type",
                )
                .header("Access-Control-Max-Age", "86400")
                .header("Connection", "close")
                .finish();
            send_and_close(socket, &answer);
            shared.log_connection(format_args!("{who} -> 204"));
        }
        Route::NotFound => answer_error(socket, shared, &who, 404, "not found", &[]),
        Route::MethodNotAllowed(resource) => {
            let allowed = resource.allowed_methods();
            let detail = format!("method {} not allowed; allowed: {allowed}", request.method);
            answer_error(socket, shared, &who, 405, &detail, &[("Allow", allowed)]);
        }
        Route::NotImplemented => {
            let detail = format!("method {} not implemented", request.method);
            answer_error(socket, shared, &who, 501, &detail, &[]);
        }
    }
}

/// Why no request came out of the socket.
enum HeadError {
    /// The bytes broke a rule of the request grammar or a limit.
    Parse(ParseError),
    /// `--head-timeout` passed before the empty line arrived (slowloris).
    TimedOut,
    /// The client closed before finishing its request.
    Closed,
    /// The socket failed.
    Io(io::Error),
}

/// Reads until the parser sees a whole head; returns it with the bytes that
/// came after it (the start of a body). The timeout counts from
/// accept, not per read, so a client dribbling one byte a second cannot
/// stretch it.
fn read_request_head(
    mut socket: &TcpStream,
    shared: &Shared,
    accepted: Instant,
) -> Result<(Request, Vec<u8>), HeadError> {
    let limits = shared.config.head_limits();
    let deadline = accepted + shared.config.head_timeout;
    // Read straight into the heap buffer: a stack array here would stay
    // in every stream thread's resident stack for the life of the stream.
    let mut buf = Vec::with_capacity(1024);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(HeadError::TimedOut);
        }
        socket.set_read_timeout(Some(remaining)).map_err(HeadError::Io)?;
        // Never read past the limit: the parser decides at exactly the limit.
        let filled = buf.len();
        let room = limits.max_head_bytes.saturating_sub(filled).min(1024);
        buf.resize(filled + room, 0);
        let read = socket.read(&mut buf[filled..]);
        buf.truncate(filled + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => return Err(HeadError::Closed),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if is_timeout(&error) => return Err(HeadError::TimedOut),
            Err(error) => return Err(HeadError::Io(error)),
        }
        match parse_request_head(&buf, &limits) {
            Ok(Parsed::Complete { request, head_len }) => return Ok((request, buf.split_off(head_len))),
            Ok(Parsed::Incomplete) => {}
            Err(error) => return Err(HeadError::Parse(error)),
        }
    }
}

/// A short plain-text answer such as `404 not found`, logged and closed.
fn answer_error(
    socket: &TcpStream,
    shared: &Shared,
    who: &str,
    status: u16,
    detail: &str,
    extra_headers: &[(&str, &str)],
) {
    shared.metrics.answered_error(status);
    let body = error_body(status, detail);
    let whole = Whole {
        status,
        content_type: "text/plain; charset=utf-8",
        extra_headers,
        body: &body,
        head_only: false,
    };
    send_and_close(socket, &whole.to_bytes(&shared.config.cors_origin, &now()));
    shared.log_connection(format_args!("{who} -> {status} {detail}"));
}

/// A whole answer with a body, logged and closed.
fn answer(
    socket: &TcpStream,
    shared: &Shared,
    who: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) {
    let extra_headers = &[("Cache-Control", "no-cache")];
    let whole = Whole { status, content_type, extra_headers, body, head_only };
    send_and_close(socket, &whole.to_bytes(&shared.config.cors_origin, &now()));
    shared.log_connection(format_args!("{who} -> {status}"));
}

fn send_and_close(mut socket: &TcpStream, bytes: &[u8]) {
    if socket.write_all(bytes).is_ok() {
        close_gently(socket);
    }
}

/// Sends FIN, then reads and discards what the client still sends, for at
/// most [`LINGER`], before the socket is dropped. Dropping a socket with
/// unread input makes the kernel answer with RST, and a client that gets RST
/// may throw away the response it has not read yet.
pub(crate) fn close_gently(mut socket: &TcpStream) {
    if socket.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let until = Instant::now() + LINGER;
    let mut scratch = [0u8; 512];
    let mut discarded = 0usize;
    while discarded < 64 * 1024 {
        let remaining = until.saturating_duration_since(Instant::now());
        if remaining.is_zero() || socket.set_read_timeout(Some(remaining)).is_err() {
            return;
        }
        match socket.read(&mut scratch) {
            Ok(0) | Err(_) => return,
            Ok(read) => discarded += read,
        }
    }
}

/// `set_read_timeout` expiry shows up as `WouldBlock` on Unix and
/// `TimedOut` on Windows.
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

fn now() -> String {
    http_date(SystemTime::now())
}
