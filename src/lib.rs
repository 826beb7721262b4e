//! ssed: a Server-Sent Events server on nothing but the standard library.
//!
//! One `TcpListener`, one thread per connection, one ping every 500 ms.
//! This is what `curl -N http://127.0.0.1:8080/sse` receives, byte for byte
//! except the times (`\r\n` in the head, `\n` in the body):
//!
//! ```text
//! HTTP/1.1 200 OK
//! Date: Wed, 25 Nov 2026 18:40:30 GMT
//! Content-Type: text/event-stream
//! Cache-Control: no-cache
//! Access-Control-Allow-Origin: *
//! X-Accel-Buffering: no
//! Connection: close
//!
//! retry: 3000
//! id: 1
//! event: ping
//! data: 2026-11-25T18:40:30.123Z
//!
//! id: 2
//! event: ping
//! data: 2026-11-25T18:40:30.623Z
//!
//! ```
//!
//! # Using it in-process
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use ssed::{Config, Server};
//!
//! let addr = SocketAddr::from(([127, 0, 0, 1], 0)); // port 0: any free port
//! let config = Config { addr, ..Config::default() };
//! let server = Server::bind(config)?;
//! let handle = server.handle();
//! println!("serving on {}", handle.local_addr());
//! std::thread::spawn(move || server.run());
//! // … later, from any thread:
//! println!("{} live streams", handle.live_streams());
//! handle.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Map
//!
//! Floors, each importing only from the ones below (ARCHITECTURE.md):
//! pure modules first ([`request`] parses request heads, [`response`]
//! builds response heads, [`sse`] encodes frames, [`routes`] maps paths to
//! resources, [`clock`] formats times, [`config`] holds every limit); then
//! shared state ([`close`] names how a connection ended, [`hub`] keeps the
//! history, [`ceiling`] reads the OS limits, and the private `state`,
//! `metrics`, `log`, `socket`, `answer`); then one connection or one source
//! (`connection`, `head`, `pings`, `events`, `publish`, [`stdin`]); then
//! the accept loop (`server`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Floor 0, pure: bytes in, bytes or a named error out.
pub mod clock;
pub mod config;
pub mod proto;
pub mod request;
pub mod resp;
pub mod response;
pub mod routes;
pub mod sse;
pub mod stack_text;
pub mod topic;
// Floor 1: shared state, the closing vocabulary, small I/O helpers.
mod answer;
pub mod ceiling;
pub mod close;
pub mod hub;
mod log;
mod metrics;
mod queue;
mod socket;
mod state;
// Floor 2: one connection, or one source of events.
mod connection;
mod events;
mod head;
mod journal;
mod pings;
mod publish;
#[cfg(feature = "redis")]
mod redis;
pub mod stdin;
// Floor 3: the accept loop, and what it turns away.
mod refuse;
mod server;

pub use close::CloseReason;
pub use config::{parse_args, ArgError, Command, Config, Secret, USAGE};
pub use hub::{EventId, PublishError, Publisher};
pub use server::{Clamped, Server, ServerHandle};
pub use topic::{TopicError, TopicName, DEFAULT_TOPIC};

/// The Rust examples in README.md compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
