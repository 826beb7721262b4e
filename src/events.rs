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
//! plain ping loop lives in `stream.rs`; this one differs in where frames
//! come from and in how it waits (on the hub, not on the socket).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use crate::clock::http_date;
use crate::hub::Next;
use crate::request::Request;
use crate::response::event_stream_head;
use crate::server::Shared;
use crate::sse::{self, Event, SingleLine};
use crate::stream::{CloseReason, LiveStream};

/// The event that tells a client some events are gone for good.
pub const MISSED: SingleLine<'static> = match SingleLine::new("missed") {
    Ok(name) => name,
    Err(_) => panic!("\"missed\" is a valid event name"),
};

/// Serves `/events` until the client leaves, then logs how it ended.
pub(crate) fn serve_events(
    mut socket: &TcpStream,
    request: &Request,
    live: LiveStream<'_>,
    shared: &Shared,
    line: &str,
) {
    let config = &shared.config;
    let mut opening = event_stream_head(&config.cors_origin, &http_date(SystemTime::now()));
    // The header a reconnecting browser sends wins over the query of the
    // URL it reconnects to, which still carries the first connection's id.
    let query_id = request.query_param("lastEventId");
    let last_event_id = request.header_str("last-event-id").or(query_id.as_deref());
    let resume = shared.hub.resume(last_event_id);

    sse::encode_retry(config.retry, &mut opening);
    if resume.missed {
        let lost_after = last_event_id.unwrap_or_default();
        Event { retry: None, id: None, event: Some(MISSED), data: lost_after }.encode_into(&mut opening);
    }
    shared.log_connection(format_args!("{line} -> 200 streaming events ({} live)", live.now_live()));
    let (reason, events) = match socket.write_all(&opening) {
        Ok(()) => event_loop(socket, resume.cursor, shared),
        Err(error) => (CloseReason::from_write_error(&error), 0),
    };
    live.end(reason, events, line);
}

/// Writes frames from the hub as they come, a keep-alive comment when none
/// came for an interval.
fn event_loop(mut socket: &TcpStream, mut cursor: u64, shared: &Shared) -> (CloseReason, u64) {
    let interval = shared.config.interval;
    let mut sent = 0;
    let mut keep_alive_at = Instant::now() + interval;
    loop {
        if shared.shutting_down.load(Ordering::Acquire) {
            return (CloseReason::ServerShutdown, sent);
        }
        match shared.hub.next(cursor, keep_alive_at) {
            Next::Frame(seq, frame) => {
                if let Err(error) = socket.write_all(&frame) {
                    return (CloseReason::from_write_error(&error), sent);
                }
                shared.metrics.sent(frame.len(), true);
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
                const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";
                if let Err(error) = socket.write_all(KEEP_ALIVE) {
                    return (CloseReason::from_write_error(&error), sent);
                }
                shared.metrics.sent(KEEP_ALIVE.len(), false);
                keep_alive_at += interval;
            }
        }
    }
}

/// Looks, without waiting, whether the client has closed or reset.
fn check_peer(mut socket: &TcpStream) -> Result<(), CloseReason> {
    let mut scratch = [0u8; 256];
    socket.set_nonblocking(true).map_err(|error| CloseReason::ReadFailed(error.kind()))?;
    // Read until the socket is empty: ignored bytes, then would-block.
    let result = loop {
        let read = socket.read(&mut scratch);
        let drained = matches!(&read, Err(error) if error.kind() == io::ErrorKind::WouldBlock);
        match CloseReason::from_read(read) {
            Some(reason) => break Err(reason),
            None if drained => break Ok(()),
            None => continue,
        }
    };
    socket.set_nonblocking(false).map_err(|error| CloseReason::ReadFailed(error.kind()))?;
    result
}
