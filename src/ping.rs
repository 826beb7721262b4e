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
//! After the head, a ping stream allocates nothing: each frame is encoded
//! in a buffer on the thread's stack.
//!
//! Between pings the thread does not sleep: it waits in `read()` with a
//! timeout that ends at the next ping. A departing client ends that read at
//! once (0 bytes for FIN, an error for RST), so its thread and socket go
//! away without waiting for the next write. A client that stays but stops
//! reading is caught by the write timeout.

use std::io::{self, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

use crate::conn::socket::read_within;
use crate::conn::stream_head::stream_head_in;
use crate::ops::shared::Shared;
use crate::proto::close::CloseReason;
use crate::proto::response::Cors;
use crate::proto::routes::PingStyle;
use crate::proto::sse::{Event, SingleLine, PING};
use crate::proto::stack_text::StackText;
use crate::proto::time::{next_tick, Rfc3339Millis};

/// Room for the largest ping: `retry:` and `id:` of 20 digits each (a
/// `u64`), `event: ping`, and a timestamp of at most 32 bytes (a year of
/// 12 digits, as far as `SystemTime` goes): 105 bytes.
const PING_BYTES: usize = 160;

/// Writes pings until something ends the stream; returns why, and how many
/// events were sent. `last_event_id` is what a reconnecting client sent;
/// `buffer` is the one the request was read into.
// Never inlined: a caller that took this loop into its own frame would
// make every connection thread, streams or not, reserve (and touch) the
// stack of both stream loops (BENCHMARKS.md, memory per stream).
#[inline(never)]
pub(crate) fn serve_pings(
    mut socket: &TcpStream,
    style: PingStyle,
    last_event_id: Option<&str>,
    shared: &Shared,
    cors: Cors<'_>,
    buffer: Vec<u8>,
) -> (CloseReason, u64) {
    let config = &shared.config;
    let first_id = first_id(last_event_id);
    // The head and the first ping leave in one write, from the buffer the
    // request came in; then that buffer goes back to the heap. Every ping is
    // encoded on this thread's stack, so a ping stream holds no heap memory
    // of its own (BENCHMARKS.md, memory per stream).
    let mut head = Some(stream_head_in(buffer, cors));
    let mut next_ping = Instant::now();
    let mut sent = 0;
    loop {
        let mut frame = [0u8; PING_BYTES];
        let retry = head.is_some().then_some(config.timeouts.retry);
        let ping = match encode_ping(&mut frame, first_id + sent, style, retry, SystemTime::now()) {
            Ok(len) => &frame[..len],
            Err(error) => return (CloseReason::from_write_error(&error), sent),
        };
        let written = match head.take() {
            Some(mut head) => {
                head.extend_from_slice(ping);
                socket.write_all(&head).map(|()| head.len())
            }
            None => socket.write_all(ping).map(|()| ping.len()),
        };
        match written {
            Ok(bytes) => shared.metrics.sent_bytes(bytes),
            Err(error) => return (CloseReason::from_write_error(&error), sent),
        }
        shared.metrics.sent_events(1);
        sent += 1;

        next_ping = next_tick(next_ping, config.timeouts.interval, Instant::now());
        if let Err(reason) = wait_until(socket, next_ping, shared) {
            return (reason, sent);
        }
    }
}

/// Encodes ping `id`, sent at `now`, into `frame`; returns its length.
///
/// # Errors
///
/// `WriteZero` if the ping did not fit, which [`PING_BYTES`] rules out: the
/// stream then ends rather than send a cut frame.
fn encode_ping(
    frame: &mut [u8; PING_BYTES],
    id: u64,
    style: PingStyle,
    retry: Option<Duration>,
    now: SystemTime,
) -> io::Result<usize> {
    let id_text = StackText::<20>::format(format_args!("{id}"))?;
    let time_text = StackText::<32>::format(format_args!("{}", Rfc3339Millis(now)))?;
    let ping = Event {
        retry,
        id: SingleLine::new(id_text.as_str()).ok(), // digits only: always a single line
        event: match style {
            PingStyle::Named => Some(PING),
            PingStyle::Unnamed => None,
        },
        data: time_text.as_str(),
    };
    let mut rest = &mut frame[..];
    ping.write_to(&mut rest)?;
    let left = rest.len();
    Ok(PING_BYTES - left)
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
fn wait_until(socket: &TcpStream, deadline: Instant, shared: &Shared) -> Result<(), CloseReason> {
    /// Waits this short are kept to within a tick by the wheel.
    const PRECISE_WAIT: Duration = Duration::from_millis(60);
    const TICK: Duration = Duration::from_millis(4);
    let mut scratch = [0u8; 256];
    loop {
        if shared.is_shutting_down() {
            return Err(CloseReason::ServerShutdown);
        }
        let now = Instant::now();
        let remaining = deadline.saturating_duration_since(now);
        if remaining < Duration::from_millis(1) {
            return Ok(());
        }
        let wait = if remaining > PRECISE_WAIT { remaining - remaining / 8 - TICK } else { remaining };
        // Bytes a client sends after its request are read and ignored.
        let read = read_within(socket, &mut scratch, now + wait);
        if let Some(reason) = read.close_reason() {
            return Err(reason);
        }
    }
}

/// The id of the first ping. A reconnecting browser sends the last id it
/// saw as `Last-Event-ID`; carrying on from it keeps ids increasing across
/// reconnects. Anything that is not a plain number up to 2^53 (the largest
/// integer JavaScript holds exactly) starts again at 1.
fn first_id(last_event_id: Option<&str>) -> u64 {
    const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
    last_event_id
        .filter(|text| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()))
        .and_then(|text| text.parse::<u64>().ok())
        .filter(|&last| last < MAX_SAFE_INTEGER)
        .map_or(1, |last| last + 1)
}
