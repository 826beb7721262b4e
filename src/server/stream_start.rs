//! Readying and running a stream: what it keeps of its request (its
//! topics or Mercure selectors, its token's reader, its last event id, its
//! CORS lines, the buffer its head is written into), a stream place, and
//! the loop of `ping.rs` or `events/stream.rs`.
//!
//! ```text
//! GET /events?topic=room/a            ─► topics valid? token valid? ─► Stream ─► a place? ─► serve_events
//! GET /.well-known/mercure?topic=…    ─► selectors valid? token valid? ─┘             └ none: busy stream
//! GET /sse, /messages                 ─► Stream ─► a place? ─► serve_pings
//! ```

use std::net::TcpStream;
use std::time::SystemTime;

use super::connection::Who;
use crate::auth::{now_seconds, Auth, Denied, Reader};
use crate::conn::short_answer::{self, Ended};
use crate::conn::socket::close_gently;
use crate::events::hub::{Hub, Interest};
use crate::events::stream::{serve_events, Endpoint, Subscription};
use crate::ops::metrics::TurnedAway;
use crate::ops::places::StreamPlace;
use crate::ops::shared::Shared;
use crate::ping::serve_pings;
use crate::proto::mercure::last_event_id::chosen_last_event_id;
use crate::proto::mercure::query::parse_subscribe_query;
use crate::proto::request::Request;
use crate::proto::response::{busy_stream, Cors};
use crate::proto::routes::Resource;
use crate::proto::selector::Selector;
use crate::proto::time::http_date;
use crate::proto::topic::{topics_in_query, Topics};

/// What a stream keeps of its request, or the answer that refused it
/// (a bad query, a bad token).
pub(super) fn prepare_stream<'a>(
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

/// What a stream keeps of its request.
pub(super) struct Stream<'a> {
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
// Never inlined: a caller that took this loop into its own frame would
// make every connection thread, streams or not, reserve (and touch) the
// stack of both stream loops (BENCHMARKS.md, memory per stream).
#[inline(never)]
pub(super) fn serve_stream(
    socket: &TcpStream,
    shared: &Shared,
    hub: &Hub,
    stream: Stream<'_>,
    who: &Who,
) -> Ended {
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
pub(super) fn refuse_token(socket: &TcpStream, shared: &Shared, cors: Cors<'_>, denied: Denied) -> Ended {
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
