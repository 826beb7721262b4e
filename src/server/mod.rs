//! The server: binding, the public handles, and the parts that serve.
//!
//! ```text
//! Server::bind ─► open the hub (memory, --journal or --redis) ─► listen ─► fit --max-clients under the OS
//! Server::run  ─► accept.rs: accept() ─► a place? ─► a thread ─► connection.rs: read, route, answer
//!                                                               └ a publish kept open: kept_open.rs
//!                                   └─ no place or no thread ─► refuse.rs: busy stream or 503
//! /metrics, /healthz ─► status.rs
//! ```
//!
//! Not here: anything about HTTP or SSE beyond routing (`proto/`, `conn/`).

mod accept;
mod connection;
mod kept_open;
mod refuse;
mod short_answers;
mod status;
mod stream_start;
mod subscriptions;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Auth, Keys};
use crate::config::Config;
use crate::events::hub::{Hub, Publisher};
use crate::events::{open_hub, stdin};
use crate::ops::ceiling::{self, Ceiling};
use crate::ops::log::log;
use crate::ops::shared::Shared;
use status::where_events_are_kept;

/// A bound listener, ready to [`run`](Server::run).
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    hub: Arc<Hub>,
    auth: Arc<Auth>,
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
    hub: Arc<Hub>,
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
        let auth = Arc::new(match &config.auth {
            Some(options) => {
                Auth::with_keys(Keys::load(options).map_err(io::Error::other)?, options.anonymous)
            }
            None => Auth::without_keys(),
        });
        let hub = open_hub(&config)?;
        let listener = TcpListener::bind(config.addr).map_err(|error| {
            io::Error::new(error.kind(), format!("cannot listen on {}: {error}", config.addr))
        })?;
        let local_addr = listener.local_addr()?;
        let ceiling = ceiling::read_ceiling();
        let mut clamped = None;
        if let Some(ceiling) = ceiling.clone() {
            let limits = &mut config.limits;
            let (max_clients, max_pending) =
                ceiling::clamp(limits.max_clients, limits.max_pending, ceiling.connections);
            if max_clients < limits.max_clients {
                clamped = Some(Clamped { asked: limits.max_clients, ceiling });
            }
            (limits.max_clients, limits.max_pending) = (max_clients, max_pending);
        }
        let connections = ceiling.map(|found| found.connections);
        let shared = Arc::new(Shared::new(config, local_addr, connections));
        Ok(Server { listener, shared, hub, auth, clamped })
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
        ServerHandle { shared: Arc::clone(&self.shared), hub: Arc::clone(&self.hub) }
    }

    /// A publisher for this server's `/events` stream.
    pub fn publisher(&self) -> Publisher {
        self.hub.publisher()
    }

    /// What the `ssed` command does once the flags are read: logs where it
    /// listens and keeps its events, starts `--stdin`, and serves until
    /// [`ServerHandle::shutdown`]. Every line goes through the log thread,
    /// so a closed or full stderr never stops or delays serving.
    pub fn serve_command_line(self) {
        let config = &self.shared.config;
        let publish = if config.events.publish_token.is_some() { ", POST /publish" } else { "" };
        log(format_args!(
            "listening on http://{}: /sse (named pings), /messages (unnamed pings), \
             /events (published events{publish}), / (demo page); events kept in {}",
            self.local_addr(),
            where_events_are_kept(config),
        ));
        if let Some(clamped) = &self.clamped {
            log(format_args!("{clamped}"));
        }
        if config.events.stdin {
            let publisher = self.publisher();
            // The topic was checked with the flags.
            let publisher = match &config.events.stdin_topic {
                Some(topic) => publisher.on_topic(topic).unwrap_or(publisher),
                None => publisher,
            };
            let publisher = if config.events.stdin_private { publisher.private() } else { publisher };
            stdin::spawn_reader(publisher, config.events.stdin_event.clone(), config.events.max_event_bytes);
        }
        self.run();
    }

    /// Accepts connections until [`ServerHandle::shutdown`] (see
    /// `accept.rs`). Every failure (of `accept`, of a thread spawn) is
    /// logged and the loop goes on.
    pub fn run(self) {
        accept::accept_loop(&self.listener, &self.shared, &self.hub, &self.auth);
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
        self.hub.publisher()
    }

    /// Stops accepting; [`Server::run`] returns soon after, every stream
    /// ends at its next tick, and a publishing connection kept open ends
    /// within 500 ms when idle, or after the answer it is giving. Returns
    /// at once. Logs one line, the first time.
    pub fn shutdown(&self) {
        if !self.shared.shutting_down.swap(true, Ordering::AcqRel) {
            log(format_args!(
                "shutting down (asked through ServerHandle::shutdown); streams end at their next tick"
            ));
        }
        self.hub.close_all();
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
