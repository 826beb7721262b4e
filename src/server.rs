//! The accept loop: one thread per connection, a counted cap, and a refusal
//! that never blocks the loop.
//!
//! ```text
//! accept() ──► slot free? ──no──► refuse: retry: + comment, close   (never blocks)
//!                 │ yes
//!                 ▼
//!          spawn thread "ssed-conn" (--stack-size) ──fails──► refuse
//!                 │
//!                 ▼
//!          connection::serve(…)   (src/connection.rs)
//! ```
//!
//! Not here: anything about HTTP or SSE beyond the fixed refusal bytes.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::ceiling::{self, Ceiling};
use crate::clock::http_date;
use crate::close::CloseReason;
use crate::config::Config;
use crate::connection;
#[cfg(feature = "redis")]
use crate::hub::Upstream;
use crate::hub::{Hub, Publisher};
use crate::journal;
use crate::log::log;
use crate::metrics::TurnedAway;
use crate::queue::Bounded;
#[cfg(feature = "redis")]
use crate::redis::{self, RedisStream};
use crate::response::{busy_stream, error_body, Whole};
use crate::routes::{route, Resource, Route};
use crate::state::{ConnectionSlot, RedisStatus, Shared};

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

/// A bound listener, ready to [`run`](Server::run).
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    clamped: Option<Clamped>,
}

/// `--max-clients` (and `--max-pending`) lowered at start to fit an OS limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clamped {
    /// `--max-clients` as asked for.
    pub asked: usize,
    /// The limit that lowered it.
    pub ceiling: Ceiling,
}

impl std::fmt::Display for Clamped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--max-clients {} lowered: {}", self.asked, self.ceiling)
    }
}

/// A cheap, cloneable view of a running server: its address, its counters,
/// and the way to stop it. Safe to use from any thread.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl Server {
    /// Binds the listening socket. Nothing is accepted until [`Server::run`].
    ///
    /// # Errors
    ///
    /// The `io::Error` of `bind`, e.g. the address is in use.
    ///
    /// `--max-clients` and `--max-pending` are first fitted under the
    /// connections the OS allows this process (see [`Server::clamped`]).
    ///
    /// With `--journal`, the journal is opened and read first: its errors
    /// (in use, not a journal, unwritable) come before anything listens.
    pub fn bind(mut config: Config) -> io::Result<Server> {
        #[cfg(feature = "redis")]
        let mut redis = None;
        let hub = Arc::new(match &config.journal {
            #[cfg(feature = "redis")]
            None if config.redis.is_some() => {
                let url = config.redis.clone().ok_or_else(|| io::Error::other("no Redis URL"))?;
                redis::check_auth(&url).map_err(io::Error::other)?;
                let stream = Arc::new(RedisStream::new(url, config.redis_stream.clone(), config.history));
                redis = Some(stream);
                let upstream: Arc<dyn Upstream> =
                    redis.clone().ok_or_else(|| io::Error::other("no Redis"))?;
                Hub::with_upstream(config.history, config.max_event_bytes, upstream)
            }
            None => Hub::new(config.history, config.max_event_bytes),
            Some(path) => {
                let options = journal::Options {
                    max_bytes: config.journal_max_bytes,
                    fsync: config.fsync,
                    history: config.history,
                };
                let opened =
                    journal::open(path, options).map_err(|error| io::Error::other(error.to_string()))?;
                for note in &opened.notes {
                    log(format_args!("{note}"));
                }
                Hub::with_store(
                    config.history,
                    config.max_event_bytes,
                    opened.restored,
                    Some(Box::new(opened.journal)),
                )
            }
        });
        let listener = TcpListener::bind(config.addr).map_err(|error| {
            io::Error::new(error.kind(), format!("cannot listen on {}: {error}", config.addr))
        })?;
        let local_addr = listener.local_addr()?;
        let ceiling = ceiling::read_ceiling();
        let mut clamped = None;
        if let Some(ceiling) = ceiling.clone() {
            let (max_clients, max_pending) =
                ceiling::clamp(config.max_clients, config.max_pending, ceiling.connections);
            if max_clients < config.max_clients {
                clamped = Some(Clamped { asked: config.max_clients, ceiling });
            }
            (config.max_clients, config.max_pending) = (max_clients, max_pending);
        }
        #[cfg(feature = "redis")]
        let redis_status = redis.as_ref().map(|_| Arc::new(RedisStatus::default()));
        #[cfg(feature = "redis")]
        if let (Some(stream), Some(status)) = (&redis, &redis_status) {
            stream.start_reader(&hub, Arc::clone(status), config.history);
        }
        #[cfg(not(feature = "redis"))]
        let redis_status: Option<Arc<RedisStatus>> = None;
        let connections = ceiling.map(|found| found.connections);
        let shared = Arc::new(Shared::new(config, local_addr, hub, connections, redis_status));
        Ok(Server { listener, shared, clamped })
    }

    /// Whether `--max-clients` was lowered to fit an OS limit, and which.
    pub fn clamped(&self) -> Option<&Clamped> {
        self.clamped.as_ref()
    }

    /// The address actually bound: with port 0, the port the OS chose.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// A handle for reading counters and shutting down from other threads.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle { shared: Arc::clone(&self.shared) }
    }

    /// A publisher for this server's `/events` stream.
    pub fn publisher(&self) -> Publisher {
        self.shared.hub.publisher()
    }

    /// Accepts connections until [`ServerHandle::shutdown`]. Every failure
    /// (of `accept`, of a thread spawn) is logged and the loop goes on.
    pub fn run(self) {
        let mut accept_errors = RateLimitedLog::default();
        let refusals = StopRefusals(start_refusal_thread(&self.shared));
        for incoming in self.listener.incoming() {
            if self.shared.is_shutting_down() {
                break;
            }
            match incoming {
                Ok(stream) => admit(&self.shared, stream, refusals.0.as_ref()),
                Err(error) => {
                    accept_errors.log(format_args!("accept failed: {error}"));
                    // Out of file descriptors or memory: the pending connection
                    // stays queued, so pause instead of spinning on the error.
                    if !matches!(error.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted)
                    {
                        thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        }
    }
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Streams being served right now (`/sse`, `/messages`, `/events`).
    pub fn live_streams(&self) -> usize {
        self.shared.live_streams.load(Ordering::Acquire)
    }

    /// Connections holding a slot: streams plus requests still being read
    /// or answered. `--max-clients` caps this number.
    pub fn live_connections(&self) -> usize {
        self.shared.live_connections.load(Ordering::Acquire)
    }

    /// A publisher for this server's `/events` stream.
    pub fn publisher(&self) -> Publisher {
        self.shared.hub.publisher()
    }

    /// Stops accepting; [`Server::run`] returns soon after, and every stream
    /// ends at its next tick. Returns at once.
    pub fn shutdown(&self) {
        self.shared.shutting_down.store(true, Ordering::Release);
        self.shared.hub.close_all();
        // accept() only returns when a connection arrives, so make one.
        let mut wake = self.shared.local_addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => [127, 0, 0, 1].into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
    }
}

/// A connection the server cannot serve now, and why.
struct Refusal {
    socket: TcpStream,
    peer: SocketAddr,
    why: TurnedAway,
    detail: String,
}

fn admit(shared: &Arc<Shared>, stream: TcpStream, refusals: Option<&Refusals>) {
    // A client that already left has no address; there is no one to serve.
    let Ok(peer) = stream.peer_addr() else { return };
    let Some(slot) = ConnectionSlot::claim(shared) else {
        let max = shared.config.max_clients + shared.config.max_pending;
        let detail = format!("server full, {max} of {max} connections in use");
        return hand_over(shared, refusals, Refusal { socket: stream, peer, why: TurnedAway::Full, detail });
    };
    // The thread gets one reference; we keep one so that, if the spawn
    // fails and drops the thread's closure, we can still answer.
    let stream = Arc::new(stream);
    let for_thread = Arc::clone(&stream);
    let spawned = thread::Builder::new()
        .name("ssed-conn".to_owned())
        .stack_size(shared.config.stack_size)
        .spawn(move || connection::serve(&for_thread, peer, slot));
    if let Err(error) = spawned {
        let detail = format!("could not start a thread: {error}");
        if let Ok(socket) = Arc::try_unwrap(stream) {
            hand_over(shared, refusals, Refusal { socket, peer, why: TurnedAway::NoThread, detail });
        }
    }
}

/// Gives a refusal to the refusal thread without waiting. With its queue
/// full (or no such thread) the connection is closed unanswered: a browser
/// reconnects after a network error, and no publish is acknowledged.
fn hand_over(shared: &Shared, refusals: Option<&Refusals>, refusal: Refusal) {
    shared.metrics.turned_away(refusal.why);
    let peer = refusal.peer;
    if let Some(Err(_)) | None = refusals.map(|queue| queue.try_push(Some(refusal))) {
        shared.connection_ended(
            CloseReason::ClosedUnanswered,
            format_args!("{peer} closed unanswered: the server is full and its refusal queue too"),
        );
    }
}

/// The queue into the refusal thread; `None` in it tells the thread to end.
type Refusals = Arc<Bounded<Option<Refusal>>>;

/// Ends the refusal thread when the accept loop returns.
struct StopRefusals(Option<Refusals>);

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
fn start_refusal_thread(shared: &Arc<Shared>) -> Option<Refusals> {
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

fn refuse_all(shared: &Shared, refusals: &Bounded<Option<Refusal>>) {
    while let Some(refusal) = refusals.pop() {
        refuse(shared, refusal);
    }
}

/// Answers a connection ssed cannot serve now. Only a request for a
/// stream gets the 200 busy stream (see [`busy_stream`]): a browser gives
/// up on any other status. Everything else, and a request that did not
/// show its request line within [`REFUSAL_READ_TIME`], gets `503` with
/// `Retry-After`, so a publish is never acknowledged unless it was published.
fn refuse(shared: &Shared, refusal: Refusal) {
    let Refusal { socket, peer, detail, .. } = refusal;
    let request_line = read_request_line(&socket);
    let config = &shared.config;
    let date = http_date(SystemTime::now());
    let is_stream_request = request_line.as_ref().is_some_and(|(method, path)| {
        let publish = config.publish_token.is_some();
        matches!(
            route(method, path, publish),
            Route::Serve { resource: Resource::Pings(_) | Resource::Events, head_only: false }
        )
    });
    let (status, answer) = if is_stream_request {
        (200, busy_stream(&config.cors_origin, config.retry, &detail, &date))
    } else {
        let retry_after = config.retry.as_secs().max(1).to_string();
        let body = error_body(503, &format!("ssed is busy ({detail}); retry in {retry_after} s"));
        let whole = Whole {
            status: 503,
            content_type: "text/plain; charset=utf-8",
            extra_headers: &[("Retry-After", &retry_after)],
            body: &body,
            head_only: false,
        };
        shared.metrics.answered_error(503);
        (503, whole.to_bytes(&config.cors_origin, &date))
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
    let _ = socket.shutdown(Shutdown::Write);
    // Read what else has arrived: closing a socket with unread input makes
    // the kernel send RST, which can destroy the answer. Bounded: no wait.
    let _ = socket.set_nonblocking(true);
    let mut scratch = [0u8; 1024];
    let mut reader = &socket;
    for _ in 0..8 {
        if !matches!(reader.read(&mut scratch), Ok(1..)) {
            break;
        }
    }
    let what = request_line.map(|(method, path)| format!(" {method} {path}")).unwrap_or_default();
    shared.connection_ended(reason, format_args!("{peer}{what} refused ({status}): {detail}"));
}

/// The method and path of a turned-away request, read within a bound of
/// time and bytes; `None` when they did not arrive.
fn read_request_line(mut socket: &TcpStream) -> Option<(String, String)> {
    let deadline = Instant::now() + REFUSAL_READ_TIME;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    while buf.len() < REFUSAL_READ_BYTES && !buf.contains(&b'\n') {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() || socket.set_read_timeout(Some(remaining)).is_err() {
            break;
        }
        match socket.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(read) => buf.extend_from_slice(&chunk[..read]),
        }
    }
    let line = buf.split(|&byte| byte == b'\n').find(|line| !line.is_empty() && *line != b"\r")?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let path = target.split('?').next().unwrap_or(target);
    Some((method.to_owned(), path.to_owned()))
}

/// Logs the first of a burst of identical failures, then at most one a second.
#[derive(Default)]
struct RateLimitedLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    fn log(&mut self, line: std::fmt::Arguments<'_>) {
        if self.last.is_some_and(|last| last.elapsed() < Duration::from_secs(1)) {
            self.suppressed += 1;
            return;
        }
        log(format_args!("{line} ({} more since the last report)", self.suppressed));
        self.last = Some(Instant::now());
        self.suppressed = 0;
    }
}
