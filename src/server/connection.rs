//! One connection, start to end: read the request head within its limits,
//! route it, answer it, and log one line with how it ended.
//!
//! ```text
//! read head (--head-timeout, --max-head-bytes) ─┬─ error ──► 400/408/414/431/505, close
//!                                              └─ request ──► route
//!   /sse, /messages ──► a stream place? ──► pings::serve_pings (src/pings.rs)
//!   /events[?topic=T…] ──► topics valid (else 400)? a stream place? ──► events::serve_events
//!                          └ none left ──► the busy answer (retry later)
//!   POST /publish, POST /.well-known/mercure ──► publish::serve_publish (src/events/publish.rs):
//!                   may keep the connection
//!   GET /.well-known/mercure ──► selectors valid? token valid? a stream place? ──► events::serve_events
//!   / /metrics /healthz ──► a whole answer
//!   OPTIONS         ──► 204 preflight
//!   otherwise       ──► 404 / 405 / 501
//! ```
//!
//! Every response ends the connection but one: a publish read whole, whose
//! client keeps the connection (HTTP/1.1 without `Connection: close`, or
//! HTTP/1.0 with `keep-alive`), is answered `Connection: keep-alive`, and
//! the loop reads the next request on the same thread:
//!
//! ```text
//! answer ─► kept? ─no─► close, count the reason once, log
//!             └ yes ─► log "(request n on this connection)" ─► next head: carried bytes first,
//!                      then ≤ --publish-idle-timeout for a first byte (shutdown looked at every
//!                      500 ms), then --head-timeout ─► route as above
//! ```
//!
//! The only state carried from one request to the next is the count and
//! the bytes read past the last body; every limit is counted afresh. A
//! request that is not a publish is answered as on a connection of its
//! own and ends the connection.

use std::borrow::Cow;
use std::fmt;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use super::kept_open::{keeps_connection_open, why_no_next_request, RequestNumber};
use super::short_answers::answer;
use super::stream_start::{serve_stream, Stream};
use super::subscriptions::prepare_stream;
use crate::auth::Auth;
use crate::conn::read_head::{
    read_next_request_head, read_request_head, HeadError, NextHeadError, NextHeadWaits,
};
use crate::conn::short_answer::{self, Ended};
use crate::events::hub::Hub;
use crate::events::publish::{serve_publish, PublishEndpoint};
use crate::ops::places::ConnectionPlace;
use crate::ops::shared::Shared;
use crate::proto::close::CloseReason;
use crate::proto::request::{ParseError, Request, MAX_HEADERS};
use crate::proto::routes::{route, Resource, Route};

/// Serves one accepted connection on the current thread, then counts and
/// logs how it ended. Holding `place` is what counts this connection
/// against `--max-clients` + `--max-pending`, for its whole life however
/// many requests it carries; `hub` and `auth` are for the requests that
/// publish or subscribe.
pub(crate) fn serve(
    socket: &Arc<TcpStream>,
    peer: SocketAddr,
    place: ConnectionPlace,
    hub: &Hub,
    auth: &Auth,
) {
    let shared = &place.shared;
    // A client that stops reading must not pin this thread forever.
    let _ = socket.set_write_timeout(Some(shared.config.timeouts.write_timeout));
    // Frames are small and must leave at once, not wait for an ACK.
    let _ = socket.set_nodelay(true);
    // A stream runs once the requests before it are done with: the frames
    // of reading, routing and answering them are gone from the stack, so a
    // stream thread's resident stack is only what the stream itself uses
    // (BENCHMARKS.md, memory per stream).
    if let Some((stream, who)) = serve_requests(socket, peer, shared, (hub, auth)) {
        let ended = serve_stream(socket, shared, hub, stream, &who);
        shared.connection_ended(ended.reason, format_args!("{who} {}", ended.outcome));
    }
}

/// Reads and answers requests until the connection ends, counted and
/// logged, or a request is a stream: then returns it to be run.
#[inline(never)]
fn serve_requests<'a>(
    socket: &TcpStream,
    peer: SocketAddr,
    shared: &'a Shared,
    (hub, auth): (&Hub, &Auth),
) -> Option<(Stream<'a>, Who)> {
    let accepted = Instant::now();
    let config = &shared.config;
    let waits =
        NextHeadWaits { idle: config.timeouts.publish_idle_timeout, head: config.timeouts.head_timeout };
    let deadline = accepted + config.timeouts.head_timeout;
    let mut next = read_request_head(socket, config.head_limits(), deadline).map_err(NextHeadError::Head);
    let mut served = 0usize;
    loop {
        let (request, after_head) = match next {
            Ok(read) => read,
            Err(error) => {
                no_next_request(socket, shared, peer, served, error);
                return None;
            }
        };
        served += 1;
        let who = Who::of(peer, &request);
        let publishing = keeps_connection_open(routed(&request, shared, auth), request.method());
        let client_keeps = publishing && request.keeps_connection();
        let at_limit = served >= config.limits.max_requests_per_connection;
        let may_keep_open = client_keeps && !at_limit && !shared.is_shutting_down();
        let (mut ended, carried) =
            match respond(socket, shared, (hub, auth), request, after_head, may_keep_open) {
                Answer::Ended(ended, carried) => (ended, carried),
                Answer::Stream(stream) => return Some((stream, who)),
            };
        let nth = RequestNumber { served, kept: carried.is_some() };
        let Some(carried) = carried else {
            // The client would have gone on; the limit is why it did not.
            if client_keeps && at_limit && ended.reason == CloseReason::Answered(200) {
                ended.reason = CloseReason::RequestLimit;
            }
            shared.connection_ended(ended.reason, format_args!("{who} {}{nth}", ended.outcome));
            return None;
        };
        shared.log_connection(format_args!("{who} {}{nth}", ended.outcome));
        let limits = config.head_limits();
        next = read_next_request_head(socket, limits, carried, &waits, || shared.is_shutting_down());
    }
}

/// Where a request goes, with publishing on or off as configured.
fn routed(request: &Request, shared: &Shared, auth: &Auth) -> Route {
    route(request.method(), request.path(), publishing_on(shared, auth))
}

/// Whether `POST /publish` exists: a shared token or signing keys.
pub(super) fn publishing_on(shared: &Shared, auth: &Auth) -> bool {
    shared.config.events.publish_token.is_some() || auth.has_keys()
}

/// Ends a connection that has no (next) request: the first head could not
/// be read, or a kept-open connection went idle, was closed by its client,
/// or the server is stopping. `served` requests were answered before.
#[inline(never)]
fn no_next_request(
    socket: &TcpStream,
    shared: &Shared,
    peer: SocketAddr,
    served: usize,
    error: NextHeadError,
) {
    let (reason, outcome) = match why_no_next_request(shared, served, error) {
        Ok(ended) => ended,
        Err(error) => {
            let ended = answer_head_error(socket, shared, error);
            let nth = RequestNumber { served: served + 1, kept: false };
            (ended.reason, format!("{}{nth}", ended.outcome))
        }
    };
    shared.connection_ended(reason, format_args!("{peer} {outcome}"));
}

/// Answers a head that could not be read, when there is anyone to answer.
fn answer_head_error(socket: &TcpStream, shared: &Shared, error: HeadError) -> Ended {
    let config = &shared.config;
    let cors = config.cors_for(None);
    match error {
        HeadError::Parse(error) => {
            let detail = match error {
                ParseError::HeadTooLarge => format!("{error} (limit {} bytes)", config.limits.max_head_bytes),
                ParseError::TargetTooLong => {
                    format!("{error} (limit {} bytes)", config.limits.max_target_bytes)
                }
                ParseError::TooManyHeaders => format!("{error} (limit {MAX_HEADERS})"),
                _ => error.to_string(),
            };
            short_answer::error(socket, shared, cors, error.status(), &detail, &[])
        }
        HeadError::TimedOut => {
            let limit = config.timeouts.head_timeout.as_millis() as u64;
            let mut ended = short_answer::error(
                socket,
                shared,
                cors,
                408,
                &format!("request head not received within {limit} ms"),
                &[],
            );
            if ended.reason == CloseReason::Answered(408) {
                ended.reason = CloseReason::HeadTimedOut;
            }
            ended
        }
        HeadError::Closed => Ended {
            reason: CloseReason::LeftMidRequest,
            outcome: "left before sending a whole request".to_owned(),
        },
        HeadError::Io(error) => {
            Ended { reason: CloseReason::ReadFailed(error.kind()), outcome: format!("read failed: {error}") }
        }
    }
}

/// Who a log line is about: the peer, and the request's method and path.
/// The request lines of streams, the connections that live long, are
/// named by a constant, so a stream keeps no copy of its request.
pub(super) struct Who {
    peer: SocketAddr,
    request_line: Cow<'static, str>,
}

impl Who {
    fn of(peer: SocketAddr, request: &Request) -> Who {
        const STREAMS: [&str; 3] = ["GET /sse", "GET /messages", "GET /events"];
        let line =
            STREAMS.iter().find(|line| line.split_once(' ') == Some((request.method(), request.path())));
        let request_line = match line {
            Some(&line) => Cow::Borrowed(line),
            None => Cow::Owned(format!("{} {}", request.method(), request.path())),
        };
        Who { peer, request_line }
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.peer, self.request_line)
    }
}

/// What answering a request came to: an answer already sent (with, when
/// the connection stays open, the bytes read past it), or a stream to run.
enum Answer<'a> {
    Ended(Ended, Option<Vec<u8>>),
    Stream(Stream<'a>),
}

/// Routes a whole request head and answers it, or readies its stream.
///
/// Never inlined, and a stream runs after it returns: the frames of every
/// other answer (publishing, tokens, `/metrics`) are gone from the stack
/// by then, so a stream thread's resident stack is only what the stream
/// itself uses (BENCHMARKS.md, memory per stream).
#[inline(never)]
fn respond<'a>(
    socket: &TcpStream,
    shared: &'a Shared,
    (hub, auth): (&Hub, &Auth),
    request: Request,
    after_head: Vec<u8>,
    may_keep_open: bool,
) -> Answer<'a> {
    let cors = shared.config.cors_for(request.header("origin"));
    let route = routed(&request, shared, auth);
    if let Route::Serve {
        resource: resource @ (Resource::Pings(_) | Resource::Events | Resource::Mercure),
        head_only: false,
    } = route
    {
        if !(resource == Resource::Mercure && request.method() == "POST") {
            // A stream keeps only what it needs from its request: the buffer
            // it was read into carries the stream's head, and is freed once
            // that is written.
            drop(after_head);
            return match prepare_stream(socket, shared, auth, request, resource, cors) {
                Ok(stream) => Answer::Stream(stream),
                Err(ended) => Answer::Ended(ended, None),
            };
        }
    }
    let publish = match route {
        Route::Serve { resource: Resource::Publish, .. } => Some(PublishEndpoint::Ssed),
        Route::Serve { resource: Resource::Mercure, head_only: false } => Some(PublishEndpoint::Mercure),
        _ => None,
    };
    if let Some(endpoint) = publish {
        let (ended, carried) =
            serve_publish(socket, &request, &after_head, shared, (hub, auth, endpoint), may_keep_open);
        return Answer::Ended(ended, carried);
    }
    Answer::Ended(answer(socket, shared, (hub, auth), &request, route, cors), None)
}
