//! Turning away what the server cannot serve now, without the accept
//! loop ever reading from or writing to a client.
//!
//! ```text
//! accept loop ──try_push──► [ 32 refusals ] ──► "ssed-refuse" thread
//!    └ queue full: close unanswered            read the request line (≤ 2 KiB, ≤ 100 ms)
//!                                              GET of a stream ─► 200 busy stream (retry:)
//!                                              anything else   ─► 503 + Retry-After
//! ```
//!
//! A browser's `EventSource` gives up for good on any status but 200, so a
//! stream request gets the 200 busy stream; anything else gets 503, so a
//! full server never acknowledges a publish it did not publish.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::conn::socket::{close_gently_within, read_within, ReadOutcome};
use crate::ops::log::log;
use crate::ops::metrics::TurnedAway;
use crate::ops::queue::Bounded;
use crate::ops::shared::Shared;
use crate::proto::close::CloseReason;
use crate::proto::request::{method_and_path, HeadLimits};
use crate::proto::response::{busy_stream, error_body, Whole};
use crate::proto::routes::{route, Resource, Route};
use crate::proto::time::http_date;

/// Connections waiting for the refusal thread; past this many, the accept
/// loop closes a connection it cannot serve without a word (a browser
/// retries after a network error; nothing is acknowledged). Each holds a
/// file descriptor, within the margin `ceiling.rs` keeps.
const REFUSAL_QUEUE: usize = 32;
/// How long the refusal thread waits for a turned-away client's request
/// line, and how much of it it reads: enough to tell a stream request from
/// anything else, never enough for one client to hold it up.
const REFUSAL_READ_TIME: Duration = Duration::from_millis(100);
const REFUSAL_READ_BYTES: usize = 2048;
/// How long the refusal thread reads and discards after its answer, so
/// the client gets the answer and not a reset (see `close_gently`).
const REFUSAL_LINGER: Duration = Duration::from_millis(100);

/// A connection the server has no room for now, and why.
pub(crate) struct TurnedAwayConnection {
    pub(crate) socket: TcpStream,
    pub(crate) peer: SocketAddr,
    pub(crate) why: TurnedAway,
    pub(crate) detail: String,
}

/// Gives a refusal to the refusal thread without waiting. With its queue
/// full (or no such thread) the connection is closed unanswered: a browser
/// reconnects after a network error, and no publish is acknowledged.
pub(crate) fn hand_over(shared: &Shared, refusals: Option<&Refusals>, turned_away: TurnedAwayConnection) {
    shared.metrics.turned_away(turned_away.why);
    let peer = turned_away.peer;
    if let Some(Err(_)) | None = refusals.map(|queue| queue.try_push(Some(turned_away))) {
        shared.connection_ended(
            CloseReason::ClosedUnanswered,
            format_args!("{peer} closed unanswered: the server is full and its refusal queue too"),
        );
    }
}

/// The queue into the refusal thread; `None` in it tells the thread to end.
pub(crate) type Refusals = Arc<Bounded<Option<TurnedAwayConnection>>>;

/// Ends the refusal thread when the accept loop returns.
pub(crate) struct StopRefusals(pub(crate) Option<Refusals>);

impl Drop for StopRefusals {
    fn drop(&mut self) {
        if let Some(queue) = &self.0 {
            // Full: the thread is busy; it ends at the next `None` it finds
            // or with the process. Retry briefly so it ends with the server.
            for _ in 0..100 {
                if queue.try_push(None).is_ok() {
                    return;
                }
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Starts the thread that answers connections the server cannot serve, so
/// the accept loop never waits for a client.
pub(crate) fn start_refusal_thread(shared: &Arc<Shared>) -> Option<Refusals> {
    let queue: Refusals = Arc::new(Bounded::new(REFUSAL_QUEUE));
    let refusals = Arc::clone(&queue);
    let shared = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name("ssed-refuse".to_owned())
        .stack_size(64 * 1024)
        .spawn(move || refuse_all(&shared, &refusals));
    match spawned {
        Ok(_) => Some(queue),
        Err(error) => {
            log(format_args!("could not start the refusal thread ({error}); a full server will close connections unanswered"));
            None
        }
    }
}

fn refuse_all(shared: &Shared, refusals: &Bounded<Option<TurnedAwayConnection>>) {
    while let Some(turned_away) = refusals.pop() {
        refuse(shared, turned_away);
    }
}

/// Answers a connection ssed cannot serve now. Only a request for a
/// stream gets the 200 busy stream (see [`busy_stream`]): a browser gives
/// up on any other status. Everything else, and a request that did not
/// show its request line within [`REFUSAL_READ_TIME`], gets `503` with
/// `Retry-After`, so a publish is never acknowledged unless it was published.
fn refuse(shared: &Shared, turned_away: TurnedAwayConnection) {
    let TurnedAwayConnection { socket, peer, detail, .. } = turned_away;
    let request_line = read_request_line(&socket, shared.config.head_limits());
    let config = &shared.config;
    let date = http_date(SystemTime::now());
    let is_stream_request = request_line.as_ref().is_some_and(|(method, path)| {
        let publish = config.events.publish_token.is_some();
        matches!(
            route(method, path, publish),
            Route::Serve { resource: Resource::Pings(_) | Resource::Events, head_only: false }
        )
    });
    let (status, answer) = if is_stream_request {
        (200, busy_stream(config.cors_for(None), config.timeouts.retry, &detail, &date))
    } else {
        let retry_after = config.timeouts.retry_after_secs().to_string();
        let body = error_body(503, &format!("ssed is busy ({detail}); retry in {retry_after} s"));
        let whole = Whole {
            status: 503,
            content_type: "text/plain; charset=utf-8",
            extra_headers: &[("Retry-After", &retry_after)],
            body: &body,
            head_only: false,
        };
        shared.metrics.answered_error(503);
        (503, whole.to_bytes(config.cors_for(None), &date))
    };
    let mut writer = &socket;
    let _ = socket.set_write_timeout(Some(REFUSAL_READ_TIME));
    let reason = match writer.write_all(&answer) {
        Ok(()) => {
            shared.metrics.sent_bytes(answer.len());
            CloseReason::Answered(status)
        }
        Err(error) => CloseReason::from_write_error(&error),
    };
    // The lingering close every answer gets, shorter here: this thread
    // answers one turned-away client after another.
    close_gently_within(&socket, REFUSAL_LINGER);
    let what = request_line.map(|(method, path)| format!(" {method} {path}")).unwrap_or_default();
    shared.connection_ended(reason, format_args!("{peer}{what} refused ({status}): {detail}"));
}

/// The method and path of a turned-away request, read within a bound of
/// time and bytes; `None` when they did not arrive, or break the grammar.
fn read_request_line(socket: &TcpStream, limits: HeadLimits) -> Option<(String, String)> {
    let deadline = Instant::now() + REFUSAL_READ_TIME;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    while buf.len() < REFUSAL_READ_BYTES && !buf.contains(&b'\n') {
        match read_within(socket, &mut chunk, deadline) {
            ReadOutcome::Bytes(read) => buf.extend_from_slice(&chunk[..read]),
            ReadOutcome::Closed | ReadOutcome::TimedOut | ReadOutcome::Failed(_) => break,
        }
    }
    let (method, path) = method_and_path(&buf, &limits)?;
    Some((method.to_owned(), path.to_owned()))
}
