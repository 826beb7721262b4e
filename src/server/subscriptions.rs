//! What a stream request asks for, checked before it gets a place: its
//! topics (`/events`) or selectors (Mercure), its token, its last event id.
//!
//! ```text
//! GET /events?topic=room/a            ─► topics valid? (400) token valid? (401) ─► Stream
//! GET /.well-known/mercure?topic=…    ─► selectors valid? (400) token valid? (401) ─┘
//! GET /sse, /messages                 ─► Stream (no topics, no token)
//! ```

use std::net::TcpStream;

use super::stream_start::Stream;
use crate::auth::{now_seconds, Auth, Denied, Reader};
use crate::conn::short_answer::{self, Ended};
use crate::events::hub::Interest;
use crate::ops::shared::Shared;
use crate::proto::mercure::last_event_id::chosen_last_event_id;
use crate::proto::mercure::query::parse_subscribe_query;
use crate::proto::request::Request;
use crate::proto::response::Cors;
use crate::proto::routes::Resource;
use crate::proto::selector::Selector;
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
