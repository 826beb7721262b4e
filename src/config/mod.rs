//! Every limit and timing of the server, and the command line that sets them.
//!
//! [`Config`] is plain data with documented defaults; [`parse_args`] turns
//! `--flag value` (or `--flag=value`) words into one, refusing anything out
//! of range with a message that names the flag. `--help` prints [`USAGE`].

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::proto::request::HeadLimits;
use crate::proto::response::Cors;

mod flags;
mod redis_url;
mod token_flags;
pub use flags::{parse_args, Environment, USAGE};
pub use redis_url::RedisUrl;
pub use token_flags::TokenRequest;

/// The whole configuration of a server, grouped by concern. Build it with
/// `Config::default()` and change the fields you need;
/// [`crate::Server::bind`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Address to listen on (`--addr`). Default `127.0.0.1:8080`; port 0
    /// picks a free port, which [`crate::Server::local_addr`] reports.
    pub addr: SocketAddr,
    /// How much runs at once and how large a request may be.
    pub limits: Limits,
    /// Every timing: pings, keep-alives, reconnects, reads and writes.
    pub timeouts: Timeouts,
    /// Published events: history, sizes, topics and where they come from.
    pub events: EventOptions,
    /// Keep events in an append-only file (`--journal`). Default none:
    /// the history lives in memory only.
    pub journal: Option<JournalOptions>,
    /// Share events through a Redis stream (`--redis`). Default none.
    pub redis: Option<RedisOptions>,
    /// Signed tokens: who may read private events and who may publish
    /// what (`SSED_JWT_KEY`, `--jwt-key-file`, …). Default none: every
    /// stream reads public events only, and `POST /publish` takes
    /// `--publish-token` alone.
    pub auth: Option<AuthOptions>,
    /// The origins whose pages may read answers (`--cors-origin`, a comma
    /// list). Default `*`: any page, without cookies. Listed origins get
    /// their own name back, with credentials.
    pub cors_origins: Vec<String>,
    /// No per-connection log lines (`--quiet`). Default off.
    pub quiet: bool,
}

/// How much runs at once, and how large a request may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Streams served at once (`--max-clients`). One more is told to retry
    /// later (see README). Default 512.
    pub max_clients: usize,
    /// Connections beyond `max_clients` that may be sending their request or
    /// getting a short answer (`/metrics`, an error) at once
    /// (`--max-pending`). Beyond both, the accept loop refuses. Default 64.
    pub max_pending: usize,
    /// Stack reserved for each connection thread (`--stack-size`, bytes).
    /// Default 64 KiB; the pages actually touched are far fewer.
    pub stack_size: usize,
    /// Longest request head, request line to the empty line
    /// (`--max-head-bytes`); one byte more is 431. Default 8192.
    pub max_head_bytes: usize,
    /// Longest request target (`--max-target-bytes`); one byte more is
    /// 414. Default 2048.
    pub max_target_bytes: usize,
    /// Requests one publishing connection may send before its answer says
    /// `Connection: close` (`--max-requests-per-connection`). 1 closes
    /// after every request, as ssed did before it kept connections open.
    /// Default 1000.
    pub max_requests_per_connection: usize,
}

/// Every timing of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Time between pings on a stream (`--interval`, ms). Default 500 ms.
    pub interval: Duration,
    /// Time without an event after which an `/events` stream gets a
    /// `: keep-alive` comment (`--keep-alive`, ms); `None` is `interval`.
    /// Idle streams cost a wake-up each per keep-alive, and a client that
    /// left is noticed at the next one.
    pub keep_alive: Option<Duration>,
    /// Reconnection time sent to clients in the first frame's `retry:`
    /// field (`--retry`, ms), and the `Retry-After` of a refusal. Default
    /// 3000 ms, the usual browser default.
    pub retry: Duration,
    /// Time a client has to send its whole request head from accept
    /// (`--head-timeout`, ms); then 408. Default 5000 ms.
    pub head_timeout: Duration,
    /// Time one write may block before the client is dropped as not
    /// reading (`--write-timeout`, ms). Default 10000 ms.
    pub write_timeout: Duration,
    /// Time without an update after which a Mercure stream
    /// (`/.well-known/mercure`) gets a `:` comment
    /// (`--mercure-heartbeat`, ms). Default 40000 ms, the Mercure hub's.
    pub mercure_heartbeat: Duration,
    /// Time a publishing connection kept open may wait for the first byte
    /// of its next request (`--publish-idle-timeout`, ms); then it is
    /// closed without an answer. The head that follows has its own
    /// `--head-timeout`. Default 5000 ms. Not `--keep-alive`, which is the
    /// comment interval of `/events` streams.
    pub publish_idle_timeout: Duration,
}

/// Published events: how many are kept, how large they may be, who may
/// publish, and the topics a stream may follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOptions {
    /// Published events kept for replay to reconnecting `/events` clients
    /// (`--history`). Default 1024.
    pub history: usize,
    /// Largest event data accepted from any publisher (`--max-event-bytes`),
    /// counted as sent; over it `POST /publish` answers 413. Default 65536.
    pub max_event_bytes: usize,
    /// Most topics one `/events` request may follow (`--max-topics`); more
    /// is 400. Default 32.
    pub max_topics: usize,
    /// Enables `POST /publish` with this bearer token (`--publish-token`, or
    /// the `SSED_PUBLISH_TOKEN` environment variable). Default none: no
    /// `/publish` endpoint at all.
    pub publish_token: Option<Secret>,
    /// Publish each line of standard input as an event (`--stdin`).
    pub stdin: bool,
    /// Event name for the lines of `--stdin` (`--stdin-event`). Default
    /// none: unnamed events, for `onmessage`.
    pub stdin_event: Option<String>,
    /// Topic for the lines of `--stdin` (`--stdin-topic`). Default
    /// [`crate::DEFAULT_TOPIC`].
    pub stdin_topic: Option<String>,
    /// The lines of `--stdin` are private events (`--stdin-private`): only
    /// streams whose token may read their topic get them.
    pub stdin_private: bool,
}

/// `--journal`: where and how events are kept on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalOptions {
    /// The journal's file (`--journal PATH`); sealed segments are
    /// `PATH.1`, `PATH.2`, ….
    pub path: PathBuf,
    /// Disk use of the journal, all segments together
    /// (`--journal-max-bytes`); never less than what `--history` needs.
    /// Default 64 MiB.
    pub max_bytes: u64,
    /// `fdatasync` each journal write before acknowledging (`--fsync`):
    /// survives a power loss, not only a crash. Default off.
    pub fsync: bool,
}

impl JournalOptions {
    /// A journal at `path` with the default bound and no `fsync`.
    pub fn at(path: impl Into<PathBuf>) -> JournalOptions {
        JournalOptions { path: path.into(), max_bytes: 64 << 20, fsync: false }
    }
}

/// `--redis`: the Redis stream shared by several servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// Where Redis is (`--redis`, or `SSED_REDIS_URL`).
    pub url: RedisUrl,
    /// The key of the stream (`--redis-stream`). Default `ssed`.
    pub stream: String,
}

/// A value that `Debug` never prints, so a token cannot leak into a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Timeouts {
    /// How long an `/events` stream goes without an event before a
    /// keep-alive comment: `--keep-alive`, or else `--interval`.
    pub fn keep_alive_after(&self) -> Duration {
        self.keep_alive.unwrap_or(self.interval)
    }

    /// `Retry-After` in whole seconds: `--retry`, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry.as_secs().max(1)
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            limits: Limits {
                max_clients: 512,
                max_pending: 64,
                stack_size: 64 * 1024,
                max_head_bytes: 8192,
                max_target_bytes: 2048,
                max_requests_per_connection: 1000,
            },
            timeouts: Timeouts {
                interval: Duration::from_millis(500),
                keep_alive: None,
                retry: Duration::from_millis(3000),
                head_timeout: Duration::from_millis(5000),
                write_timeout: Duration::from_millis(10_000),
                mercure_heartbeat: Duration::from_millis(40_000),
                publish_idle_timeout: Duration::from_millis(5000),
            },
            events: EventOptions {
                history: 1024,
                max_event_bytes: 64 * 1024,
                max_topics: 32,
                publish_token: None,
                stdin: false,
                stdin_event: None,
                stdin_topic: None,
                stdin_private: false,
            },
            journal: None,
            redis: None,
            auth: None,
            cors_origins: vec!["*".to_owned()],
            quiet: false,
        }
    }
}

/// `SSED_JWT_KEY` and its kin: the keys that sign tokens, and whether a
/// stream may come without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOptions {
    /// The key for both roles (`SSED_JWT_KEY` or `--jwt-key-file`).
    pub key: Option<KeySource>,
    /// A key for publishers only (`SSED_JWT_PUBLISHER_KEY` or
    /// `--jwt-publisher-key-file`); else `key`.
    pub publisher_key: Option<KeySource>,
    /// A key for subscribers only (`SSED_JWT_SUBSCRIBER_KEY` or
    /// `--jwt-subscriber-key-file`); else `key`.
    pub subscriber_key: Option<KeySource>,
    /// The key being rotated out (`SSED_JWT_PREVIOUS_KEY` or
    /// `--jwt-previous-key-file`): the predecessor of `key`, it verifies
    /// tokens of the roles `key` serves (never a role with its own key)
    /// and signs nothing, so tokens handed out before a rotation keep
    /// working until it is removed. Refused at start without `key`.
    pub previous_key: Option<KeySource>,
    /// Streams without a token read public events (default); with
    /// `--no-anonymous` they get 401.
    pub anonymous: bool,
}

/// Where a key comes from: never a plain flag, which `ps` would show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable's value.
    Environment(Secret),
    /// A file's bytes (one trailing newline dropped), read at start.
    File(PathBuf),
}

impl Config {
    /// Which CORS headers answer a request from `origin` (its `Origin`
    /// header): any page with `*`; a listed origin by its name, with
    /// credentials; an origin not listed, none. A request without `Origin`
    /// (curl, a server) gets the first listed origin, as one listed origin
    /// always did.
    pub fn cors_for(&self, origin: Option<&[u8]>) -> Cors<'_> {
        let listed = |name: &[u8]| self.cors_origins.iter().find(|allowed| allowed.as_bytes() == name);
        match (self.cors_origins.first().map(String::as_str), origin) {
            (Some("*") | None, _) => Cors::AnyOrigin,
            (Some(first), None) => Cors::Credentialed(first),
            (Some(_), Some(origin)) => {
                listed(origin).map_or(Cors::NotListed, |name| Cors::Credentialed(name))
            }
        }
    }

    /// The request-head limits the parser enforces.
    pub fn head_limits(&self) -> HeadLimits {
        HeadLimits {
            max_head_bytes: self.limits.max_head_bytes,
            max_target_bytes: self.limits.max_target_bytes,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run a server with this configuration.
    Run(Box<Config>),
    /// Print [`USAGE`] and exit successfully.
    Help,
    /// Print the version and exit successfully.
    Version,
    /// `ssed token …`: print a token signed with the configured key.
    Token(TokenRequest),
}

/// A command line that cannot be run, with a message naming the flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(pub String);

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgError {}

#[cfg(test)]
mod tests;
