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

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::ceiling::{self, Ceiling};
use crate::config::Config;
use crate::connection;
#[cfg(feature = "redis")]
use crate::hub::Upstream;
use crate::hub::{Hub, Publisher};
use crate::journal;
use crate::log::log;
use crate::metrics::TurnedAway;
#[cfg(feature = "redis")]
use crate::redis::{self, RedisStream};
use crate::refuse::{hand_over, start_refusal_thread, Refusal, Refusals, StopRefusals};
#[cfg(not(feature = "redis"))]
use crate::state::RedisStatus;
use crate::state::{ConnectionSlot, Shared};

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
                let stream = Arc::new(RedisStream::new(
                    url,
                    config.redis_stream.clone(),
                    config.history,
                    config.max_event_bytes,
                ));
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
        let redis_status = redis.as_ref().map(|stream| stream.status());
        #[cfg(feature = "redis")]
        if let Some(stream) = &redis {
            stream.start_reader(&hub, config.history);
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
        loop {
            // `accept` hands over the peer's address with the socket: no
            // second system call to ask for it.
            let accepted = self.listener.accept();
            if self.shared.is_shutting_down() {
                break;
            }
            match accepted {
                Ok((stream, peer)) => admit(&self.shared, stream, peer, refusals.0.as_ref()),
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

fn admit(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr, refusals: Option<&Refusals>) {
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
