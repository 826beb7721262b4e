//! Running a stream: one of the `--max-clients` places, then the loop of
//! `ping.rs` or `events/stream.rs`; no place left, the busy stream.
//!
//! ```text
//! Stream { resource, interest, reader, last_event_id, cors, buffer }
//!   ─► a place? ─yes─► serve_pings (/sse, /messages) or serve_events (/events, Mercure) ─► close gently
//!              └ no ─► 200 busy stream: retry: and a comment
//! ```

use std::net::TcpStream;
use std::sync::Arc;
use std::time::SystemTime;

use super::connection::Who;
use crate::auth::Reader;
use crate::conn::short_answer::{self, Ended};
use crate::conn::socket::close_gently;
use crate::events::hub::{Hub, Interest};
use crate::events::stream::{serve_events, Endpoint, Subscription};
use crate::ops::metrics::TurnedAway;
use crate::ops::places::StreamPlace;
use crate::ops::shared::Shared;
use crate::ping::serve_pings;
use crate::proto::response::{busy_stream, Cors};
use crate::proto::routes::Resource;
use crate::proto::time::http_date;

/// What a stream keeps of its request.
pub(super) struct Stream<'a> {
    pub(super) resource: Resource,
    /// What it follows: named topics, or Mercure selectors.
    pub(super) interest: Interest,
    /// What its token lets it read beyond public events.
    pub(super) reader: Reader,
    pub(super) last_event_id: Option<String>,
    /// The CORS lines of its head, decided from its `Origin`.
    pub(super) cors: Cors<'a>,
    /// The buffer the request was read into: the stream's head is written
    /// into it, then it is freed.
    pub(super) buffer: Vec<u8>,
}

/// Runs a stream in one of the `--max-clients` places, or tells the client
/// to retry later when none is free.
// Never inlined: a caller that took this loop into its own frame would
// make every connection thread, streams or not, reserve (and touch) the
// stack of both stream loops (BENCHMARKS.md, memory per stream).
#[inline(never)]
pub(super) fn serve_stream(
    socket: &Arc<TcpStream>,
    shared: &Arc<Shared>,
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
