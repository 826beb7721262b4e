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
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use super::kept_open::{keeps_connection_open, why_no_next_request, RequestNumber};
use super::status::{health_text, metrics_text};
use crate::auth::{now_seconds, Auth, Denied, Reader};
use crate::conn::read_head::{
    read_next_request_head, read_request_head, HeadError, NextHeadError, NextHeadWaits,
};
use crate::conn::short_answer::{self, Ended};
use crate::conn::socket::close_gently;
use crate::conn::stream_head::stream_head;
use crate::events::hub::Hub;
use crate::events::hub::Interest;
use crate::events::publish::serve_publish;
use crate::events::publish::PublishEndpoint;
use crate::events::stream::{serve_events, Endpoint, Subscription};
use crate::ops::log::log;
use crate::ops::metrics::TurnedAway;
use crate::ops::places::{ConnectionPlace, StreamPlace};
use crate::ops::shared::Shared;
use crate::ping::serve_pings;
use crate::proto::close::CloseReason;
use crate::proto::mercure::last_event_id::chosen_last_event_id;
use crate::proto::mercure::query::parse_subscribe_query;
use crate::proto::request::{ParseError, Request, MAX_HEADERS};
use crate::proto::response::{busy_stream, preflight, Cors};
use crate::proto::routes::{route, server_methods, Resource, Route};
use crate::proto::selector::Selector;
use crate::proto::time::http_date;
use crate::proto::topic::{topics_in_query, Topics};

/// The demo page, compiled into the binary.
const DEMO_PAGE: &str = include_str!("demo.html");

/// Serves one accepted connection on the current thread, then counts and
/// logs how it ended. Holding `place` is what counts this connection
/// against `--max-clients` + `--max-pending`, for its whole life however
/// many requests it carries; `hub` and `auth` are for the requests that
/// publish or subscribe.
pub(crate) fn serve(socket: &TcpStream, peer: SocketAddr, place: ConnectionPlace, hub: &Hub, auth: &Auth) {
    let shared = &*place.shared;
    let accepted = Instant::now();
    // A client that stops reading must not pin this thread forever.
    let _ = socket.set_write_timeout(Some(shared.config.timeouts.write_timeout));
    // Frames are small and must leave at once, not wait for an ACK.
    let _ = socket.set_nodelay(true);

    let config = &shared.config;
    let waits =
        NextHeadWaits { idle: config.timeouts.publish_idle_timeout, head: config.timeouts.head_timeout };
    let deadline = accepted + config.timeouts.head_timeout;
    let mut next = read_request_head(socket, config.head_limits(), deadline).map_err(NextHeadError::Head);
    let mut served = 0usize;
    loop {
        let (request, after_head) = match next {
            Ok(read) => read,
            Err(error) => return no_next_request(socket, shared, peer, served, error),
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
                // A stream runs once `respond` has returned (see there).
                Answer::Stream(stream) => (serve_stream(socket, shared, hub, stream, &who), None),
            };
        let nth = RequestNumber { served, kept: carried.is_some() };
        let Some(carried) = carried else {
            // The client would have gone on; the limit is why it did not.
            if client_keeps && at_limit && ended.reason == CloseReason::Answered(200) {
                ended.reason = CloseReason::RequestLimit;
            }
            shared.connection_ended(ended.reason, format_args!("{who} {}{nth}", ended.outcome));
            return;
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
fn publishing_on(shared: &Shared, auth: &Auth) -> bool {
    shared.config.events.publish_token.is_some() || auth.has_keys()
}

/// Ends a connection that has no (next) request: the first head could not
/// be read, or a kept-open connection went idle, was closed by its client,
/// or the server is stopping. `served` requests were answered before.
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
struct Who {
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

/// What a stream keeps of its request, or the answer that refused it
/// (a bad query, a bad token).
fn prepare_stream<'a>(
    socket: &TcpStream,
    shared: &'a Shared,
    auth: &Auth,
    request: Request,
    resource: Resource,
    cors: Cors<'a>,
) -> Result<Stream<'a>, Ended> {
    // A stream keeps only what it needs from its request: the buffer
    // it was read into carries the stream's head, and is freed once
    // that is written.
    let max_topics = shared.config.events.max_topics;
    let (interest, last_event_id) = match resource {
        Resource::Events => match topics_in_query(request.query(), max_topics) {
            Ok(topics) => (Interest::Topics(topics), last_event_id(&request)),
            Err(error) => {
                return Err(short_answer::error(socket, shared, cors, 400, &error.to_string(), &[]))
            }
        },
        Resource::Mercure => match parse_subscribe_query(request.query(), max_topics) {
            Ok(query) => {
                let selectors = query.topics.iter().map(|topic| Selector::compile(topic)).collect();
                (Interest::Selectors(selectors), mercure_last_event_id(&request, query.last_event_id))
            }
            Err(error) => {
                let status = error.status();
                return Err(short_answer::error(socket, shared, cors, status, &error.to_string(), &[]));
            }
        },
        _ => (Interest::Topics(Topics::All), last_event_id(&request)),
    };
    // Mercure rule 20: a token present but invalid is refused from
    // whichever source it came, never read as no token at all.
    let reader = match resource {
        Resource::Events | Resource::Mercure => match auth.reader(&request, now_seconds()) {
            Ok(reader) => reader,
            Err(denied) => return Err(refuse_token(socket, shared, cors, denied)),
        },
        _ => Reader::default(),
    };
    let buffer = request.into_buffer();
    Ok(Stream { resource, interest, reader, last_event_id, cors, buffer })
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

/// Answers a request that is not a stream.
#[inline(never)]
fn answer(
    socket: &TcpStream,
    shared: &Shared,
    (hub, auth): (&Hub, &Auth),
    request: &Request,
    route: Route,
    cors: Cors<'_>,
) -> Ended {
    let publish_enabled = publishing_on(shared, auth);
    match route {
        // `HEAD` of a stream: its head alone. (A `GET` was readied as a
        // stream by `respond` and never comes here.)
        Route::Serve { resource: Resource::Pings(_) | Resource::Events | Resource::Mercure, .. } => {
            let reason = short_answer::raw(socket, shared, 200, &stream_head(cors));
            Ended { reason, outcome: "-> 200 (head only)".to_owned() }
        }
        // Publishes were served by `respond`.
        Route::Serve { resource: Resource::Publish, .. } => {
            short_answer::error(socket, shared, cors, 404, "not found", &[])
        }
        Route::Serve { resource: Resource::Metrics, head_only } => {
            let text = metrics_text(shared, hub);
            short_answer::ok(
                socket,
                shared,
                cors,
                "text/plain; version=0.0.4; charset=utf-8",
                text.as_bytes(),
                head_only,
            )
        }
        Route::Serve { resource: Resource::Health, head_only } => short_answer::ok(
            socket,
            shared,
            cors,
            "text/plain; charset=utf-8",
            health_text(&shared.config, hub).as_bytes(),
            head_only,
        ),
        Route::Serve { resource: Resource::DemoPage, head_only } => short_answer::ok(
            socket,
            shared,
            cors,
            "text/html; charset=utf-8",
            DEMO_PAGE.as_bytes(),
            head_only,
        ),
        Route::Preflight(resource) => {
            let allowed = resource.map_or(server_methods(publish_enabled), Resource::allowed_methods);
            let bytes = preflight(allowed, cors, &http_date(SystemTime::now()));
            Ended { reason: short_answer::raw(socket, shared, 204, &bytes), outcome: "-> 204".to_owned() }
        }
        Route::NotFound => short_answer::error(socket, shared, cors, 404, "not found", &[]),
        Route::PublishingOff => {
            if !shared.told_publishing_off.swap(true, Ordering::Relaxed) {
                log(format_args!(
                    "POST /publish answered 404: publishing is off: start with SSED_PUBLISH_TOKEN or --publish-token"
                ));
            }
            short_answer::error(socket, shared, cors, 404, "not found", &[])
        }
        Route::MethodNotAllowed(resource) => {
            let allowed = resource.allowed_methods();
            let detail = format!("method {} not allowed; allowed: {allowed}", request.method());
            short_answer::error(socket, shared, cors, 405, &detail, &[("Allow", allowed)])
        }
        Route::NotImplemented => short_answer::error(
            socket,
            shared,
            cors,
            501,
            &format!("method {} not implemented", request.method()),
            &[],
        ),
    }
}

/// What a stream keeps of its request.
struct Stream<'a> {
    resource: Resource,
    /// What it follows: named topics, or Mercure selectors.
    interest: Interest,
    /// What its token lets it read beyond public events.
    reader: Reader,
    last_event_id: Option<String>,
    /// The CORS lines of its head, decided from its `Origin`.
    cors: Cors<'a>,
    /// The buffer the request was read into: the stream's head is written
    /// into it, then it is freed.
    buffer: Vec<u8>,
}

/// Runs a stream in one of the `--max-clients` places, or tells the client
/// to retry later when none is free.
fn serve_stream(socket: &TcpStream, shared: &Shared, hub: &Hub, stream: Stream<'_>, who: &Who) -> Ended {
    let Some(place) = StreamPlace::claim(shared) else {
        let max = shared.config.limits.max_clients;
        let why = format!("server full, {max} of {max} streams in use");
        shared.metrics.turned_away(TurnedAway::Full);
        let config = &shared.config;
        let bytes = busy_stream(stream.cors, config.timeouts.retry, &why, &http_date(SystemTime::now()));
        return Ended {
            reason: short_answer::raw(socket, shared, 200, &bytes),
            outcome: format!("refused: {why}"),
        };
    };
    shared.log_connection(format_args!("{who} -> 200 streaming ({} live)", place.now_live()));
    let Stream { resource, interest, reader, last_event_id, cors, buffer } = stream;
    let (reason, events) = match resource {
        Resource::Pings(style) => serve_pings(socket, style, last_event_id.as_deref(), shared, cors, buffer),
        _ => {
            let endpoint = if resource == Resource::Mercure { Endpoint::Mercure } else { Endpoint::Events };
            let subscription =
                Subscription { interest, endpoint, reader, last_event_id: last_event_id.as_deref() };
            serve_events(socket, subscription, shared, hub, cors, buffer)
        }
    };
    close_gently(socket);
    let seconds = place.seconds();
    drop(place);
    Ended { reason, outcome: format!("left after {seconds} s, {events} events: {reason}") }
}

/// Answers a request whose token does not let it in: 401 or 403, with the
/// `WWW-Authenticate` challenge (RFC 6750 §3) and one line that names what
/// is wrong, never the token.
fn refuse_token(socket: &TcpStream, shared: &Shared, cors: Cors<'_>, denied: Denied) -> Ended {
    shared.metrics.token_refused();
    short_answer::error(
        socket,
        shared,
        cors,
        denied.status(),
        &denied.to_string(),
        &[("WWW-Authenticate", denied.challenge())],
    )
}

/// Mercure rule 24: the `Last-Event-ID` header, else the `lastEventID`
/// query parameter; an empty value means none.
fn mercure_last_event_id(request: &Request, from_query: Option<String>) -> Option<String> {
    let header = request.header("last-event-id").map(String::from_utf8_lossy);
    chosen_last_event_id(header.as_deref(), from_query.as_deref()).map(str::to_owned)
}

/// The id a reconnecting client last saw: the `Last-Event-ID` header, or
/// when there is none the `lastEventId` query parameter (the header a
/// browser sends wins over the query of the URL it reconnects to, which
/// still carries the first connection's id). An empty value means no id,
/// as the standard's reset of the last event ID does; a value that is not
/// UTF-8 is kept (repaired) and so treated as any unknown id.
fn last_event_id(request: &Request) -> Option<String> {
    let id = match request.header("last-event-id") {
        Some(value) => String::from_utf8_lossy(value).into_owned(),
        None => request.query_param("lastEventId")?,
    };
    (!id.is_empty()).then_some(id)
}
