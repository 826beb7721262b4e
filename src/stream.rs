//! The ping stream: the loop that every `/sse` and `/messages` client gets.
//!
//! ```text
//! HTTP/1.1 200 OK\r\n … \r\n\r\n    ┐
//! retry: 3000\n                    │ one write, at once: the head and the
//! id: 1\n                          │ first frame, so `onopen` fires and the
//! event: ping\n                    │ first event arrives without waiting
//! data: 2026-11-25T18:40:30.123Z\n │
//! \n                               ┘
//! id: 2\n event: ping\n …          500 ms later (--interval), and so on
//! ```
//!
//! Between pings the thread does not sleep: it waits in `read()` with a
//! timeout that ends at the next ping. A departing client ends that read at
//! once (0 bytes for FIN, an error for RST), so its thread and socket go
//! away without waiting for the next write. A client that stays but stops
//! reading is caught by the write timeout.

use std::fmt::{self, Write as _};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use crate::clock::{http_date, write_rfc3339_millis};
use crate::connection::is_timeout;
use crate::request::Request;
use crate::response::event_stream_head;
use crate::routes::PingStyle;
use crate::server::Shared;
use crate::sse::{Event, SingleLine, PING};

/// Why a stream ended. Logged once, in the connection's last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed its side (FIN): a read returned 0 bytes.
    ClientClosed,
    /// The client reset the connection (RST).
    ClientReset,
    /// A write blocked for `--write-timeout`: the client stopped reading.
    StoppedReading,
    /// A write failed for another reason, e.g. broken pipe.
    WriteFailed(io::ErrorKind),
    /// A read failed for a reason other than the two above.
    ReadFailed(io::ErrorKind),
    /// The server is shutting down.
    ServerShutdown,
    /// On `/events`: the client fell further behind than `--history`, so
    /// the next event it needs is gone.
    FellBehind,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::ClientClosed => f.write_str("client closed the connection (FIN)"),
            CloseReason::ClientReset => f.write_str("client reset the connection (RST)"),
            CloseReason::StoppedReading => f.write_str("client stopped reading (write timed out)"),
            CloseReason::WriteFailed(kind) => write!(f, "write failed: {kind}"),
            CloseReason::ReadFailed(kind) => write!(f, "read failed: {kind}"),
            CloseReason::ServerShutdown => f.write_str("server shutting down"),
            CloseReason::FellBehind => f.write_str("client fell further behind than --history events"),
        }
    }
}

impl CloseReason {
    /// The `reason` label of each kind in `/metrics`, in [`Self::label_index`] order.
    pub(crate) const LABELS: [&'static str; 7] = [
        "client_closed",
        "client_reset",
        "stopped_reading",
        "write_failed",
        "read_failed",
        "server_shutdown",
        "fell_behind",
    ];

    pub(crate) fn label_index(self) -> usize {
        match self {
            CloseReason::ClientClosed => 0,
            CloseReason::ClientReset => 1,
            CloseReason::StoppedReading => 2,
            CloseReason::WriteFailed(_) => 3,
            CloseReason::ReadFailed(_) => 4,
            CloseReason::ServerShutdown => 5,
            CloseReason::FellBehind => 6,
        }
    }

    /// What a read on a live stream says: `Some(reason)` when the client
    /// left or the socket failed; `None` when the stream goes on (bytes the
    /// client sent after its request are ignored, and a timeout or
    /// would-block only means nothing arrived).
    pub(crate) fn from_read(result: io::Result<usize>) -> Option<CloseReason> {
        match result {
            Ok(0) => Some(CloseReason::ClientClosed),
            Ok(_) => None,
            Err(error) if is_timeout(&error) || error.kind() == io::ErrorKind::Interrupted => None,
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => Some(CloseReason::ClientReset),
            Err(error) => Some(CloseReason::ReadFailed(error.kind())),
        }
    }

    pub(crate) fn from_write_error(error: &io::Error) -> CloseReason {
        match error.kind() {
            _ if is_timeout(error) => CloseReason::StoppedReading,
            io::ErrorKind::ConnectionReset => CloseReason::ClientReset,
            kind => CloseReason::WriteFailed(kind),
        }
    }
}

/// Serves a ping stream until the client leaves, then logs how it ended.
pub(crate) fn serve_pings(
    socket: &TcpStream,
    request: &Request,
    style: PingStyle,
    live: LiveStream<'_>,
    shared: &Shared,
    log_prefix: &str,
) {
    shared.log_connection(format_args!("{log_prefix} -> 200 streaming ({} live)", live.now_live()));
    let (reason, events) = ping_loop(socket, style, first_id(request), shared);
    live.end(reason, events, log_prefix);
}

/// Writes pings until something ends the stream; returns why, and how many
/// events were sent.
fn ping_loop(mut socket: &TcpStream, style: PingStyle, first_id: u64, shared: &Shared) -> (CloseReason, u64) {
    let config = &shared.config;
    // Buffers reused for every frame: after the first, no allocation.
    let mut frame = event_stream_head(&config.cors_origin, &http_date(SystemTime::now()));
    let mut id = String::with_capacity(20);
    let mut timestamp = String::with_capacity(24);
    let mut retry = Some(config.retry);
    let mut next_ping = Instant::now();
    let mut sent = 0;
    loop {
        id.clear();
        let _ = write!(id, "{}", first_id + sent);
        timestamp.clear();
        write_rfc3339_millis(SystemTime::now(), &mut timestamp);
        let ping = Event {
            retry: retry.take(),
            id: SingleLine::new(&id).ok(), // digits only: always a single line
            event: match style {
                PingStyle::Named => Some(PING),
                PingStyle::Unnamed => None,
            },
            data: &timestamp,
        };
        ping.encode_into(&mut frame);
        if let Err(error) = socket.write_all(&frame) {
            return (CloseReason::from_write_error(&error), sent);
        }
        shared.metrics.sent(frame.len(), true);
        frame.clear();
        sent += 1;

        next_ping += config.interval;
        // After a stall (a suspended VM, an overloaded machine), send the
        // missed ping now and go on from here rather than in a burst.
        next_ping = next_ping.max(Instant::now());
        if let Err(reason) = wait_until(socket, next_ping, shared) {
            return (reason, sent);
        }
    }
}

/// Waits for the moment of the next ping, watching the socket meanwhile.
///
/// A read timeout runs on the kernel's timer wheel: cheap, since timers
/// that end in the same tick share one interrupt, but coarse, since a
/// timeout of `t` may fire up to `t / 8` (and a tick) late. So a long wait
/// aims early enough never to overshoot, and a short last wait, which the
/// wheel keeps to within a tick, lands on the ping. (A `sleep` for the last
/// stretch is exact too, but each sleep is its own high-resolution timer
/// interrupt: it cost 35 % more CPU at 3,000 streams in BENCHMARKS.md.)
///
/// # Errors
///
/// The [`CloseReason`] when the client leaves or the server shuts down first.
fn wait_until(mut socket: &TcpStream, deadline: Instant, shared: &Shared) -> Result<(), CloseReason> {
    /// Waits this short are kept to within a tick by the wheel.
    const PRECISE_WAIT: Duration = Duration::from_millis(60);
    const TICK: Duration = Duration::from_millis(4);
    let mut scratch = [0u8; 256];
    loop {
        if shared.shutting_down.load(Ordering::Acquire) {
            return Err(CloseReason::ServerShutdown);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining < Duration::from_millis(1) {
            return Ok(());
        }
        let wait = if remaining > PRECISE_WAIT { remaining - remaining / 8 - TICK } else { remaining };
        socket.set_read_timeout(Some(wait)).map_err(|error| CloseReason::ReadFailed(error.kind()))?;
        if let Some(reason) = CloseReason::from_read(socket.read(&mut scratch)) {
            return Err(reason);
        }
    }
}

/// The id of the first ping. A reconnecting browser sends the last id it
/// saw as `Last-Event-ID`; carrying on from it keeps ids increasing across
/// reconnects. Anything that is not a plain number up to 2^53 (the largest
/// integer JavaScript holds exactly) starts again at 1.
fn first_id(request: &Request) -> u64 {
    const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
    request
        .header("last-event-id")
        .and_then(|value| std::str::from_utf8(value).ok())
        .filter(|text| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()))
        .and_then(|text| text.parse::<u64>().ok())
        .filter(|&last| last < MAX_SAFE_INTEGER)
        .map_or(1, |last| last + 1)
}

/// One of the `--max-clients` stream places, held from start to end; the
/// stream is logged and counted, with its reason, when it ends.
pub(crate) struct LiveStream<'a> {
    shared: &'a Shared,
    started: Instant,
}

impl<'a> LiveStream<'a> {
    /// Takes a stream place; `None` when all `--max-clients` are taken.
    pub(crate) fn start(shared: &'a Shared) -> Option<LiveStream<'a>> {
        let max = shared.config.max_clients;
        shared
            .live_streams
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| (live < max).then_some(live + 1))
            .ok()?;
        shared.metrics.stream_started();
        Some(LiveStream { shared, started: Instant::now() })
    }

    pub(crate) fn now_live(&self) -> usize {
        self.shared.live_streams.load(Ordering::Acquire)
    }

    /// Ends the stream: counts it out, then logs its one last line.
    pub(crate) fn end(self, reason: CloseReason, events: u64, log_prefix: &str) {
        let shared = self.shared;
        let seconds = self.started.elapsed().as_secs_f64();
        shared.metrics.disconnected(reason);
        drop(self);
        shared.log_connection(format_args!(
            "{log_prefix} left after {seconds:.1} s, {events} events: {reason}"
        ));
    }
}

impl Drop for LiveStream<'_> {
    fn drop(&mut self) {
        self.shared.live_streams.fetch_sub(1, Ordering::AcqRel);
    }
}
