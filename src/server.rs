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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::clock::http_date;
use crate::config::Config;
use crate::connection;
use crate::hub::{Hub, Publisher};
use crate::metrics::{Gauges, Metrics, Refusal};
use crate::response;

/// A bound listener, ready to [`run`](Server::run).
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// A cheap, cloneable view of a running server: its address, its counters,
/// and the way to stop it. Safe to use from any thread.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

/// State every connection thread shares with the accept loop.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) local_addr: SocketAddr,
    live_connections: AtomicUsize,
    pub(crate) live_streams: AtomicUsize,
    pub(crate) shutting_down: AtomicBool,
    pub(crate) hub: Arc<Hub>,
    pub(crate) metrics: Metrics,
}

impl Shared {
    /// The `/metrics` text, counters and gauges as of now.
    pub(crate) fn metrics_text(&self) -> String {
        self.metrics.render(&Gauges {
            live_streams: self.live_streams.load(Ordering::Acquire),
            live_connections: self.live_connections.load(Ordering::Acquire),
            max_clients: self.config.max_clients,
            events_published: self.hub.published_count(),
        })
    }

    /// One stderr line about one connection, unless `--quiet`.
    pub(crate) fn log_connection(&self, line: std::fmt::Arguments<'_>) {
        if !self.config.quiet {
            log(line);
        }
    }
}

/// Writes one line to stderr. A closed stderr must not panic the server, so
/// the write error is ignored (`eprintln!` would panic).
pub(crate) fn log(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "ssed: {line}");
}

impl Server {
    /// Binds the listening socket. Nothing is accepted until [`Server::run`].
    ///
    /// # Errors
    ///
    /// The `io::Error` of `bind`, e.g. the address is in use.
    pub fn bind(config: Config) -> io::Result<Server> {
        let listener = TcpListener::bind(config.addr)?;
        let local_addr = listener.local_addr()?;
        let hub = Arc::new(Hub::new(config.history, config.max_event_bytes));
        let shared = Arc::new(Shared {
            hub,
            metrics: Metrics::default(),
            config,
            local_addr,
            live_connections: AtomicUsize::new(0),
            live_streams: AtomicUsize::new(0),
            shutting_down: AtomicBool::new(false),
        });
        Ok(Server { listener, shared })
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
        for incoming in self.listener.incoming() {
            if self.shared.shutting_down.load(Ordering::Acquire) {
                break;
            }
            match incoming {
                Ok(stream) => admit(&self.shared, stream),
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
        self.shared.hub.wake_all();
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

/// A claim on one of the `--max-clients` + `--max-pending` connection
/// places; the place frees itself when the slot drops, however the
/// connection thread ends.
pub(crate) struct ConnectionSlot {
    pub(crate) shared: Arc<Shared>,
}

impl ConnectionSlot {
    fn claim(shared: &Arc<Shared>) -> Option<ConnectionSlot> {
        let max = shared.config.max_clients + shared.config.max_pending;
        shared
            .live_connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| (live < max).then_some(live + 1))
            .ok()?;
        Some(ConnectionSlot { shared: Arc::clone(shared) })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.shared.live_connections.fetch_sub(1, Ordering::AcqRel);
    }
}

fn admit(shared: &Arc<Shared>, stream: TcpStream) {
    // A client that already left has no address; there is no one to serve.
    let Ok(peer) = stream.peer_addr() else { return };
    let Some(slot) = ConnectionSlot::claim(shared) else {
        let max = shared.config.max_clients + shared.config.max_pending;
        let why = format!("server full, {max} of {max} connections in use");
        return refuse(shared, &stream, peer, Refusal::Full, &why);
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
        refuse(shared, &stream, peer, Refusal::NoThread, &format!("could not start a thread: {error}"));
    }
}

/// Answers a connection ssed cannot serve now, without blocking the accept
/// loop: the socket is non-blocking and the answer (see
/// [`response::busy_stream`]) fits its empty send buffer.
fn refuse(shared: &Shared, mut stream: &TcpStream, peer: SocketAddr, refusal: Refusal, why: &str) {
    shared.metrics.refused(refusal);
    let _ = stream.set_nonblocking(true);
    // Read what has arrived of the request: closing a socket with unread
    // input makes the kernel send RST, which can destroy our answer.
    let mut scratch = [0u8; 1024];
    while let Ok(1..) = stream.read(&mut scratch) {}
    let config = &shared.config;
    let _ = stream.write(&response::busy_stream(
        &config.cors_origin,
        config.retry,
        why,
        &http_date(SystemTime::now()),
    ));
    let _ = stream.shutdown(Shutdown::Write);
    shared.log_connection(format_args!("{peer} refused: {why}"));
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
