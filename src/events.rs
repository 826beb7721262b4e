//! The `/events` stream: every published event, in order, to every client,
//! with a replay of what a reconnecting client missed.
//!
//! ```text
//! HTTP/1.1 200 OK … \r\n\r\n                   ┐ one write, at once
//! retry: 3000\n\n                              │
//! event: missed\ndata: 1764…-3\n\n             │ only if events were lost
//! id: 1764096030123-4\ndata: replayed\n\n      ┘ retained events after Last-Event-ID
//! id: 1764096030123-5\ndata: live\n\n            then live ones, as published
//! : keep-alive\n\n                               after --interval without an event
//! ```
//!
//! The frames come encoded from the hub; this loop only writes them. The
//! plain ping loop lives in `pings.rs`; this one differs in where frames
//! come from and in how it waits (on the hub, not on the socket).

use std::io::Write;
use std::net::TcpStream;
use std::time::Instant;

use crate::clock::next_tick;
use crate::close::CloseReason;
use crate::hub::Next;
use crate::socket::check_peer;
use crate::sse::{self, Event, SingleLine};
use crate::state::Shared;

/// The event that tells a client some events are gone for good.
pub const MISSED: SingleLine<'static> = match SingleLine::new("missed") {
    Ok(name) => name,
    Err(_) => panic!("\"missed\" is a valid event name"),
};

/// Serves `/events` until the client leaves; returns why, and how many
/// events were sent. `last_event_id` is what a reconnecting client sent.
pub(crate) fn serve_events(
    mut socket: &TcpStream,
    last_event_id: Option<&str>,
    shared: &Shared,
) -> (CloseReason, u64) {
    let mut opening = shared.stream_head();
    let resume = shared.hub.resume(last_event_id);
    sse::encode_retry(shared.config.retry, &mut opening);
    let mut sent = 0;
    if resume.missed {
        let lost_after = last_event_id.unwrap_or_default();
        Event { retry: None, id: None, event: Some(MISSED), data: lost_after }.encode_into(&mut opening);
        sent += 1;
    }
    if let Err(error) = socket.write_all(&opening) {
        return (CloseReason::from_write_error(&error), 0);
    }
    shared.metrics.sent_bytes(opening.len());
    shared.metrics.sent_events(sent);
    drop(opening);
    let (reason, live_events) = event_loop(socket, resume.cursor, shared);
    (reason, sent + live_events)
}

/// Writes frames from the hub as they come, a keep-alive comment when none
/// came for an interval.
fn event_loop(mut socket: &TcpStream, mut cursor: u64, shared: &Shared) -> (CloseReason, u64) {
    let interval = shared.config.interval;
    let mut keep_alive = Vec::with_capacity(16);
    sse::encode_comment("keep-alive", &mut keep_alive);
    let mut sent = 0;
    let mut keep_alive_at = Instant::now() + interval;
    loop {
        if shared.is_shutting_down() {
            return (CloseReason::ServerShutdown, sent);
        }
        match shared.hub.next(cursor, keep_alive_at) {
            Next::Frame(seq, frame) => {
                if let Err(error) = socket.write_all(&frame) {
                    return (CloseReason::from_write_error(&error), sent);
                }
                shared.metrics.sent_bytes(frame.len());
                shared.metrics.sent_events(1);
                cursor = seq + 1;
                sent += 1;
                keep_alive_at = Instant::now() + interval;
            }
            Next::FellBehind => return (CloseReason::FellBehind, sent),
            Next::TimedOut => {
                // Waiting on the hub, not the socket, so look for a departed
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
