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
//! Folders are floors, each importing only from the ones below it
//! (ARCHITECTURE.md; a test reads the `use` lines to keep it so):
//!
//! ```text
//! server/   accept loop, one connection's dispatch, refusals, /metrics and /healthz
//! events/   hub, /events streams, publishing, stdin; journal/ and redis/ behind the hub
//! ping.rs   the seed's stream: /sse and /messages
//! conn/     one socket: the deadline read, the request head, short answers
//! ops/      counters, the log thread, OS ceilings, connection and stream places
//! auth/     keys, and what one request's signed token allows
//! config/   Config grouped by concern, the command line
//! proto/    pure: request parsing, response heads, SSE framing, routes, topics
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Pure: bytes in, bytes or a named error out.
mod proto;
// What a server is told.
mod config;
// Who may read and publish what: keys and the token of one request.
mod auth;
// Counters, the log, the OS's limits, the places that bound what runs.
mod ops;
// One socket.
mod conn;
// The seed's ping stream.
mod ping;
// Published events, and where they are kept.
mod events;
// The accept loop and the dispatch of one connection.
mod server;

pub use auth::mint_token;
pub use config::{
    parse_args, ArgError, AuthOptions, Command, Config, Environment, EventOptions, JournalOptions, KeySource,
    Limits, RedisOptions, RedisUrl, Secret, Timeouts, TokenRequest, USAGE,
};
pub use events::hub::{EventId, PublishError, Publisher};
pub use ops::ceiling::Ceiling;
pub use proto::topic::{TopicError, TopicName, DEFAULT_TOPIC, MAX_TOPIC_BYTES};
pub use server::{Clamped, Server, ServerHandle};

/// What `ssed --version` prints.
pub const VERSION_LINE: &str = concat!("ssed ", env!("CARGO_PKG_VERSION"), "\n");

/// The Rust examples in README.md compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
