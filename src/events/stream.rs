//! The `/events` stream: the events of the topics a client follows (every
//! topic without `?topic=`), in publish order, with a replay of what a
//! reconnecting client missed.
//!
//! ```text
//! GET /events?topic=room/a&topic=room/b
//! HTTP/1.1 200 OK … \r\n\r\n                   ┐ at once
//! retry: 3000\n\n                              │
//! event: missed\ndata: 1764…-3\n\n             │ only if events were lost
//! id: 1764096030123-4\ndata: replayed\n\n      ┘ retained events of room/a or room/b after Last-Event-ID
//! id: 1764096030123-5\ndata: live\n\n            then live ones, as published to room/a or room/b
//! : keep-alive\n\n                               after --keep-alive (--interval) without an event
//! ```
//!
//! The frames come encoded from the hub. Once the opening and the replay
//! are out, this stream lends its socket to its inbox: while it waits, a
//! publisher writes each live frame straight to the socket (non-blocking)
//! and this thread sleeps on; it wakes only for what would have blocked,
//! for a keep-alive, or for the end (hub/mailbox.rs). The plain ping loop
//! lives in `pings.rs`; this one differs in where frames come from and in
//! how it waits (on its inbox, not on the socket).

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::VecDeque;

use crate::auth::{now_seconds, Reader};
use crate::conn::socket::check_peer;
use crate::conn::stream_head::stream_head_of_kind;
use crate::events::hub::{Delivery, Found, Hub, Interest, Mailbox, Queued, Sink, Tally};
use crate::ops::shared::Shared;
use crate::proto::close::CloseReason;
use crate::proto::mercure::last_event_id::last_event_id_header;
use crate::proto::response::{Cors, StreamKind};
use crate::proto::sse::{self, Event, SingleLine};
use crate::proto::time::next_tick;

/// The event that tells a client some events are gone for good.
pub const MISSED: SingleLine<'static> = match SingleLine::new("missed") {
    Ok(name) => name,
    Err(_) => panic!("\"missed\" is a valid event name"),
};

/// Which endpoint a stream answers for: `/events`, or Mercure's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `/events`: `missed` when events are gone, keep-alives after
    /// `--keep-alive`.
    Events,
    /// `/.well-known/mercure`: `Last-Event-ID` in the head (rule 26), a
    /// heartbeat after `--mercure-heartbeat`.
    Mercure,
}

/// What one stream asked for, and may read.
pub(crate) struct Subscription<'a> {
    /// What it follows: named topics, or Mercure selectors.
    pub(crate) interest: Interest,
    /// Which endpoint it came to.
    pub(crate) endpoint: Endpoint,
    /// What its token lets it read beyond public events, and until when.
    pub(crate) reader: Reader,
    /// What a reconnecting client last saw.
    pub(crate) last_event_id: Option<&'a str>,
}

/// Serves `/events` until the client leaves or its token expires; returns
/// why, and how many events were sent. `buffer`, the one the request was
/// read into, carries the opening.
// Never inlined: a caller that took this loop into its own frame would
// make every connection thread, streams or not, reserve (and touch) the
// stack of both stream loops (BENCHMARKS.md, memory per stream).
#[inline(never)]
pub(crate) fn serve_events(
    socket: &Arc<TcpStream>,
    subscription: Subscription<'_>,
    shared: &Arc<Shared>,
    hub: &Hub,
    cors: Cors<'_>,
    buffer: Vec<u8>,
) -> (CloseReason, u64) {
    let Subscription { interest, endpoint, reader, last_event_id } = subscription;
    // The token's `exp` in whole seconds, rounded down: the stream ends at
    // or before it, never after (Mercure rule 22).
    let ends_at =
        reader.expires.map(|exp| Instant::now() + Duration::from_secs(exp.saturating_sub(now_seconds())));
    let (subscription, replay) = hub.subscribe(interest, last_event_id, reader);
    let kind = match endpoint {
        Endpoint::Events => StreamKind::Events,
        // Rule 26. For an unknown id the hub replays all it holds: nothing
        // precedes what the stream gets, so the header says `earliest`.
        Endpoint::Mercure => StreamKind::Mercure {
            last_event_id: last_event_id_header(last_event_id, replay.found == Found::Known, None),
        },
    };
    let mut opening = stream_head_of_kind(buffer, kind, cors);
    sse::encode_retry(shared.config.timeouts.retry, &mut opening);
    let mut sent = 0;
    // Mercure has no `missed` event: its head says what became of the id.
    if replay.missed && endpoint == Endpoint::Events {
        let lost_after = last_event_id.unwrap_or_default();
        Event { retry: None, id: None, event: Some(MISSED), data: lost_after }.encode_into(&mut opening);
        sent += 1;
    }
    if let Err(error) = (&**socket).write_all(&opening) {
        return (CloseReason::from_write_error(&error), 0);
    }
    shared.metrics.sent_bytes(opening.len());
    shared.metrics.sent_events(sent);
    drop(opening);
    let mut frames: VecDeque<Queued> = replay.frames.into();
    let replayed = match write_frames(socket, &mut frames, 0, shared) {
        Ok(written) => written,
        Err((reason, written)) => return (reason, sent + written),
    };
    let keep_alive = match endpoint {
        Endpoint::Events => shared.config.timeouts.keep_alive_after(),
        Endpoint::Mercure => shared.config.timeouts.mercure_heartbeat,
    };
    let waits = Waits { keep_alive, ends_at };
    // From here on, publishers may write to the socket while this thread
    // waits; it is taken back before the stream ends.
    let mailbox = &subscription.mailbox;
    mailbox.attach(Sink { socket: Arc::clone(socket), tally: Arc::clone(shared) as Arc<dyn Tally> });
    let (reason, live_events) = event_loop(socket, mailbox, frames, shared, waits);
    let written_by_publishers = mailbox.detach();
    (reason, sent + replayed + live_events + written_by_publishers)
}

/// Frames a publisher wrote count where the thread's own do.
impl Tally for Shared {
    fn written(&self, bytes: usize, events: u64) {
        self.metrics.sent_bytes(bytes);
        self.metrics.sent_events(events);
    }
}

/// How long a stream waits: a keep-alive after this long without an
/// event, and its end when its token expires.
struct Waits {
    keep_alive: Duration,
    ends_at: Option<Instant>,
}

/// Writes and empties `frames`, the first from byte `front_written` on (a
/// publisher wrote the bytes before); returns how many were written, or
/// why the stream ended and how many had been written by then.
fn write_frames(
    mut socket: &TcpStream,
    frames: &mut VecDeque<Queued>,
    mut front_written: usize,
    shared: &Shared,
) -> Result<u64, (CloseReason, u64)> {
    let mut written = 0;
    while let Some((_, frame)) = frames.pop_front() {
        let rest = frame.get(front_written..).unwrap_or_default();
        front_written = 0;
        if let Err(error) = socket.write_all(rest) {
            frames.clear();
            return Err((CloseReason::from_write_error(&error), written));
        }
        shared.metrics.sent_bytes(rest.len());
        shared.metrics.sent_events(1);
        written += 1;
    }
    Ok(written)
}

/// Writes what publishers could not write without waiting, as it comes,
/// and a keep-alive comment when no frame went out for an interval.
/// `frames` is an empty queue to swap with the inbox's.
fn event_loop(
    mut socket: &TcpStream,
    mailbox: &Mailbox,
    mut frames: VecDeque<Queued>,
    shared: &Shared,
    waits: Waits,
) -> (CloseReason, u64) {
    let Waits { keep_alive: interval, ends_at } = waits;
    let mut keep_alive = Vec::with_capacity(16);
    sse::encode_comment("keep-alive", &mut keep_alive);
    let mut sent = 0;
    let mut keep_alive_at = Instant::now() + interval;
    loop {
        if shared.is_shutting_down() {
            return (CloseReason::ServerShutdown, sent);
        }
        if ends_at.is_some_and(|end| Instant::now() >= end) {
            return (CloseReason::TokenExpired, sent);
        }
        let wake_at = ends_at.map_or(keep_alive_at, |end| end.min(keep_alive_at));
        match mailbox.take(&mut frames, wake_at) {
            Delivery::Frames { woken, front_written } => {
                if woken {
                    shared.metrics.woken_by_publish();
                }
                match write_frames(socket, &mut frames, front_written, shared) {
                    Ok(written) => sent += written,
                    Err((reason, written)) => return (reason, sent + written),
                }
                keep_alive_at = Instant::now() + interval;
            }
            Delivery::FellBehind => return (CloseReason::FellBehind, sent),
            Delivery::WriteFailed(kind) => return (CloseReason::from_write_error(&kind.into()), sent),
            Delivery::ShuttingDown => return (CloseReason::ServerShutdown, sent),
            Delivery::TimedOut if Instant::now() < keep_alive_at => {}
            Delivery::TimedOut => {
                // A publisher wrote a frame since: the keep-alive counts from it.
                let due_after_write = mailbox.last_written().map(|last| last + interval);
                if let Some(due) = due_after_write.filter(|&due| due > keep_alive_at) {
                    keep_alive_at = due;
                    continue;
                }
                // Frames are queued (or the stream ends): the next look tells.
                if !mailbox.claim() {
                    continue;
                }
                // Waiting on the inbox, not the socket, so look for a departed
                // client here; the write below would notice only the second time.
                if let Err(reason) = check_peer(socket) {
                    return (reason, sent);
                }
                if let Err(error) = socket.write_all(&keep_alive) {
                    return (CloseReason::from_write_error(&error), sent);
                }
                shared.metrics.sent_bytes(keep_alive.len());
                keep_alive_at = next_tick(keep_alive_at, interval, Instant::now());
            }
        }
    }
}
