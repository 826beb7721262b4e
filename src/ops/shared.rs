//! What every connection thread shares with the accept loop: the
//! configuration, the counters, and whether the server is stopping.
//!
//! ```text
//! Shared ── config, local address, metrics, live connections and streams, shutting_down
//! ```
//!
//! Deliberately not here: the hub (a ping stream never sees it; the server
//! hands `&Hub` to what publishes or subscribes) and anything of Redis.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::config::Config;
use crate::ops::log::log;
use crate::ops::metrics::Metrics;
use crate::proto::close::CloseReason;

/// State every connection thread shares with the accept loop.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) local_addr: SocketAddr,
    /// Connections holding a [`ConnectionPlace`](super::places::ConnectionPlace).
    pub(crate) live_connections: AtomicUsize,
    /// Streams holding a [`StreamPlace`](super::places::StreamPlace).
    pub(crate) live_streams: AtomicUsize,
    pub(crate) shutting_down: AtomicBool,
    pub(crate) metrics: Metrics,
    /// Connections the OS allows this process, when it could be read.
    pub(crate) os_ceiling: Option<usize>,
    /// Whether the operator was told, once, why `/publish` answers 404.
    pub(crate) told_publishing_off: AtomicBool,
}

impl Shared {
    /// State for a server that listens on `local_addr`.
    pub(crate) fn new(config: Config, local_addr: SocketAddr, os_ceiling: Option<usize>) -> Shared {
        Shared {
            metrics: Metrics::default(),
            config,
            local_addr,
            live_connections: AtomicUsize::new(0),
            live_streams: AtomicUsize::new(0),
            shutting_down: AtomicBool::new(false),
            os_ceiling,
            told_publishing_off: AtomicBool::new(false),
        }
    }

    /// One stderr line about one connection, unless `--quiet`.
    pub(crate) fn log_connection(&self, line: std::fmt::Arguments<'_>) {
        if !self.config.quiet {
            log(line);
        }
    }

    /// Counts and logs how a connection ended: the one place that does, so
    /// every connection is counted once under its reason.
    pub(crate) fn connection_ended(&self, reason: CloseReason, line: std::fmt::Arguments<'_>) {
        self.metrics.disconnected(reason);
        self.log_connection(line);
    }

    /// Whether `ServerHandle::shutdown` was called.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }
}
