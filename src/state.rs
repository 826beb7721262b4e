//! What every connection thread shares with the accept loop, and the two
//! RAII places that bound how many there are.
//!
//! ```text
//! Shared ── config, local address, hub, metrics, shutting_down
//!   ├─ ConnectionSlot  one of --max-clients + --max-pending places,
//!   │                  held by a connection thread from spawn to return
//!   └─ LiveStream      one of --max-clients stream places, held while
//!                      a /sse, /messages or /events stream runs
//! ```
//!
//! Both places give themselves back when dropped, however the thread ends.
//! Not here: sockets (see `connection.rs`) and the accept loop (`server.rs`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::clock::HttpDate;
use crate::close::CloseReason;
use crate::config::Config;
use crate::hub::Hub;
use crate::log::log;
use crate::metrics::{Gauges, Metrics};
use crate::response::event_stream_head_in;
use crate::stack_text::StackText;

/// How the link to Redis is doing (`--redis`), for `/metrics` and `/healthz`.
#[derive(Default)]
pub(crate) struct RedisStatus {
    /// The reader's last command succeeded (not merely its connection).
    pub(crate) up: AtomicBool,
    /// Times the reader lost Redis and tried again.
    pub(crate) reconnects: AtomicU64,
    /// Entries the reader skipped (over `--max-event-bytes`, or not events).
    pub(crate) entries_skipped: AtomicU64,
}

/// State every connection thread shares with the accept loop.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) local_addr: SocketAddr,
    pub(crate) live_connections: AtomicUsize,
    pub(crate) live_streams: AtomicUsize,
    pub(crate) shutting_down: AtomicBool,
    pub(crate) hub: Arc<Hub>,
    pub(crate) metrics: Metrics,
    /// Connections the OS allows this process, when it could be read.
    pub(crate) os_ceiling: Option<usize>,
    /// Whether the operator was told, once, why `/publish` answers 404.
    pub(crate) told_publishing_off: AtomicBool,
    /// The Redis link, with `--redis`.
    pub(crate) redis: Option<Arc<RedisStatus>>,
}

impl Shared {
    /// State for a server that listens on `local_addr`.
    pub(crate) fn new(
        config: Config,
        local_addr: SocketAddr,
        hub: Arc<Hub>,
        os_ceiling: Option<usize>,
        redis: Option<Arc<RedisStatus>>,
    ) -> Shared {
        Shared {
            hub,
            metrics: Metrics::default(),
            config,
            local_addr,
            live_connections: AtomicUsize::new(0),
            live_streams: AtomicUsize::new(0),
            shutting_down: AtomicBool::new(false),
            os_ceiling,
            told_publishing_off: AtomicBool::new(false),
            redis,
        }
    }

    /// The `/metrics` text, counters and gauges as of now.
    pub(crate) fn metrics_text(&self) -> String {
        let (topics_followed, deliveries) = self.hub.fan_out_counts();
        self.metrics.render(&Gauges {
            topics_followed,
            deliveries,
            live_streams: self.live_streams.load(Ordering::Acquire),
            live_connections: self.live_connections.load(Ordering::Acquire),
            max_clients: self.config.max_clients,
            os_ceiling: self.os_ceiling,
            redis: self.redis.as_ref().map(|redis| {
                (
                    redis.up.load(Ordering::Relaxed),
                    redis.reconnects.load(Ordering::Relaxed),
                    redis.entries_skipped.load(Ordering::Relaxed),
                )
            }),
            events_published: self.hub.published_count(),
        })
    }

    /// One stderr line about one connection, unless `--quiet`.
    pub(crate) fn log_connection(&self, line: std::fmt::Arguments<'_>) {
        if !self.config.quiet {
            log(line);
        }
    }

    /// The head that opens every event stream (`/sse`, `/messages`,
    /// `/events`, and `HEAD` of each), dated now.
    pub(crate) fn stream_head(&self) -> Vec<u8> {
        self.stream_head_in(Vec::with_capacity(256))
    }

    /// [`Shared::stream_head`] written into `buffer` (emptied first), the
    /// date formatted on the stack: a stream allocates nothing for it.
    pub(crate) fn stream_head_in(&self, buffer: Vec<u8>) -> Vec<u8> {
        // 40 bytes hold any date SystemTime can hold.
        let date = StackText::<40>::format(format_args!("{}", HttpDate(SystemTime::now())));
        let date = date.as_ref().map_or("", StackText::as_str);
        event_stream_head_in(buffer, &self.config.cors_origin, date)
    }

    /// Counts and logs how a connection ended: the one place that does, so
    /// every connection is counted once under its reason.
    pub(crate) fn connection_ended(&self, reason: CloseReason, line: std::fmt::Arguments<'_>) {
        self.metrics.disconnected(reason);
        self.log_connection(line);
    }

    /// The `/healthz` body: `ok`, and with `--redis` whether Redis is reachable.
    pub(crate) fn health_text(&self) -> &'static str {
        match &self.redis {
            None => "ok\n",
            Some(redis) if redis.up.load(Ordering::Relaxed) => "ok\nredis: reachable\n",
            Some(_) => "ok\nredis: unreachable\n",
        }
    }

    /// Whether `ServerHandle::shutdown` was called.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }
}

/// A claim on one of the `--max-clients` + `--max-pending` connection
/// places; the place frees itself when the slot drops, however the
/// connection thread ends.
pub(crate) struct ConnectionSlot {
    pub(crate) shared: Arc<Shared>,
}

impl ConnectionSlot {
    /// Takes a place; `None` when all are taken.
    pub(crate) fn claim(shared: &Arc<Shared>) -> Option<ConnectionSlot> {
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

/// One of the `--max-clients` stream places, held from start to end.
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

    /// Streams live now, this one included.
    pub(crate) fn now_live(&self) -> usize {
        self.shared.live_streams.load(Ordering::Acquire)
    }

    /// Time since the stream started, as seconds with one decimal, e.g.
    /// `2.0`. In whole tenths, without floating point: float formatting
    /// would cost the binary 12 KB.
    pub(crate) fn seconds(&self) -> impl std::fmt::Display {
        let tenths = self.started.elapsed().as_millis() as u64 / 100;
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

impl Drop for LiveStream<'_> {
    fn drop(&mut self) {
        self.shared.live_streams.fetch_sub(1, Ordering::AcqRel);
    }
}
