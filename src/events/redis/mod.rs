//! `--redis URL`: several servers share one stream of events on a Redis
//! stream, so a client may reconnect to any of them and miss nothing.
//!
//! ```text
//! publish (any server) ─► XADD ssed MAXLEN ~ 1024 * topic T [event E] data D ─► id "1795633887897-0"
//! every server: one reader ─► XREAD BLOCK 1000 STREAMS ssed <last id> ─► Hub::deliver ─► its streams
//! Last-Event-ID older than memory ─► XRANGE ssed (ID <newest delivered> COUNT --history
//! ```
//!
//! A publish is acknowledged only after Redis answered `XADD`; Redis gives
//! the id and the order, and every server (the publishing one included)
//! delivers in that order from its reader. When Redis goes away, streams
//! stay up; publishes are refused (503); the reader reconnects with capped
//! backoff and resumes after the last id it delivered, so nothing is lost
//! or sent twice. Logged once when Redis goes and once when it is back.

mod link;
pub(crate) mod resp;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread;
use std::time::Duration;

use link::{Link, LinkError, COMMAND_TIMEOUT};

use resp::Reply;

use crate::config::{RedisOptions, RedisUrl};
use crate::events::hub::{Entry, EventId, Hub, Upstream, UpstreamHealth};
use crate::ops::log::log;
use crate::proto::topic::TopicName;

/// How long one `XREAD` blocks in Redis before it asks again.
const BLOCK_MS: &str = "1000";
/// The longest pause between two attempts to reach Redis.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The shared stream, as the hub's [`Upstream`].
pub(crate) struct RedisStream {
    url: RedisUrl,
    key: String,
    max_len: String,
    publishing: Mutex<Option<Link>>,
    status: RedisStatus,
}

/// How the link to Redis is doing, for `/metrics` and `/healthz`.
#[derive(Default)]
struct RedisStatus {
    /// The reader is connected.
    up: AtomicBool,
    /// Times the reader lost Redis and tried again.
    reconnects: AtomicU64,
}

/// A hub fed by the Redis stream of `options`, its reader started.
///
/// # Errors
///
/// Redis refusing the URL's password (see [`check_auth`]).
pub(crate) fn open_hub(
    options: &RedisOptions,
    history: usize,
    max_event_bytes: usize,
) -> io::Result<Arc<Hub>> {
    check_auth(&options.url).map_err(io::Error::other)?;
    let stream = Arc::new(RedisStream::new(options.url.clone(), options.stream.clone(), history));
    let upstream: Arc<dyn Upstream> = Arc::clone(&stream) as Arc<dyn Upstream>;
    let hub = Arc::new(Hub::with_upstream(history, max_event_bytes, upstream));
    stream.start_reader(&hub, history);
    Ok(hub)
}

/// Checks that Redis takes the URL's password, once, at start. Redis not
/// reachable yet is fine (the reader keeps trying); a refused `AUTH` is
/// not, since no retry mends it.
///
/// # Errors
///
/// The refusal, as a one-line message without the password.
pub(crate) fn check_auth(url: &RedisUrl) -> Result<(), String> {
    match Link::connect(url) {
        Err(error) if error.is_auth() => Err(format!("redis {url}: AUTH refused ({error})")),
        Err(error) => {
            log(format_args!("redis {url} unreachable at start ({error}); starting anyway, retrying"));
            Ok(())
        }
        Ok(_) => Ok(()),
    }
}

impl RedisStream {
    /// The stream `key` at `url`, trimmed to about `history` entries.
    pub(crate) fn new(url: RedisUrl, key: String, history: usize) -> RedisStream {
        RedisStream {
            url,
            key,
            max_len: history.to_string(),
            publishing: Mutex::new(None),
            status: RedisStatus::default(),
        }
    }

    /// Starts the one reader that feeds `hub` from the stream.
    pub(crate) fn start_reader(self: &Arc<RedisStream>, hub: &Arc<Hub>, history: usize) {
        let (stream, hub) = (Arc::clone(self), Arc::downgrade(hub));
        let spawned = thread::Builder::new()
            .name("ssed-redis".to_owned())
            .stack_size(256 * 1024)
            .spawn(move || stream.read_forever(&hub, history));
        if let Err(error) = spawned {
            log(format_args!("redis: could not start the reader thread: {error}"));
        }
    }

    /// Reads the stream into the hub until the hub is gone, reconnecting
    /// with capped backoff.
    fn read_forever(&self, hub: &Weak<Hub>, history: usize) {
        let status = &self.status;
        let mut backoff = Duration::from_millis(100);
        let mut down_since_logged = false;
        while hub.strong_count() > 0 {
            let error = match Link::connect(&self.url) {
                Ok(mut link) => {
                    status.up.store(true, Ordering::Relaxed);
                    if down_since_logged {
                        log(format_args!(
                            "redis {} reachable again; resuming after the last event delivered",
                            self.url
                        ));
                        down_since_logged = false;
                    }
                    backoff = Duration::from_millis(100);
                    self.read_until_error(&mut link, hub, history)
                }
                Err(error) => error,
            };
            status.up.store(false, Ordering::Relaxed);
            if hub.strong_count() == 0 {
                return;
            }
            if !down_since_logged {
                log(format_args!(
                    "redis {} unreachable ({error}); streams stay up, publishes are refused; retrying",
                    self.url
                ));
                down_since_logged = true;
            }
            status.reconnects.fetch_add(1, Ordering::Relaxed);
            thread::sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Fills an empty hub with the newest entries, then follows the stream.
    fn read_until_error(&self, link: &mut Link, hub: &Weak<Hub>, history: usize) -> LinkError {
        let key = self.key.as_bytes();
        let Some(first_hub) = hub.upgrade() else { return LinkError::Unexpected("server gone") };
        let mut last = first_hub.last_id();
        drop(first_hub);
        if last.is_none() {
            let count = history.to_string();
            match link.call(&[b"XREVRANGE", key, b"+", b"-", b"COUNT", count.as_bytes()], COMMAND_TIMEOUT) {
                Ok(reply) => {
                    let mut entries = entries_of(reply);
                    entries.reverse();
                    last = Some(entries.last().map_or(EventId { run: 0, seq: 0 }, |entry| entry.id));
                    if let Some(hub) = hub.upgrade() {
                        entries.into_iter().for_each(|entry| hub.deliver(entry));
                    }
                }
                Err(error) => return error,
            }
        }
        let wait = COMMAND_TIMEOUT + Duration::from_millis(1000);
        loop {
            let after = last.map_or_else(|| "0-0".to_owned(), |id| id.to_string());
            let reply = link.call(
                &[
                    b"XREAD",
                    b"COUNT",
                    b"256",
                    b"BLOCK",
                    BLOCK_MS.as_bytes(),
                    b"STREAMS",
                    key,
                    after.as_bytes(),
                ],
                wait,
            );
            let reply = match reply {
                Ok(reply) => reply,
                Err(error) => return error,
            };
            let Some(hub) = hub.upgrade() else { return LinkError::Unexpected("server gone") };
            // [[key, [entries…]]], or null when BLOCK passed without one.
            if let Reply::Array(Some(streams)) = reply {
                for stream in streams {
                    if let Reply::Array(Some(mut parts)) = stream {
                        if parts.len() == 2 {
                            for entry in entries_of(parts.remove(1)) {
                                last = Some(entry.id);
                                hub.deliver(entry);
                            }
                        }
                    }
                }
            }
        }
    }
}

impl Upstream for RedisStream {
    fn publish(&self, topic: &str, event: Option<&str>, data: &str) -> io::Result<EventId> {
        let mut publishing = self.publishing.lock().unwrap_or_else(PoisonError::into_inner);
        if publishing.is_none() {
            *publishing = Some(Link::connect(&self.url).map_err(as_io)?);
        }
        let Some(link) = publishing.as_mut() else { return Err(io::ErrorKind::NotConnected.into()) };
        let mut arguments: Vec<&[u8]> = vec![
            b"XADD",
            self.key.as_bytes(),
            b"MAXLEN",
            b"~",
            self.max_len.as_bytes(),
            b"*",
            b"topic",
            topic.as_bytes(),
        ];
        if let Some(event) = event {
            arguments.extend_from_slice(&[b"event", event.as_bytes()]);
        }
        arguments.extend_from_slice(&[b"data", data.as_bytes()]);
        // No retry on failure: a command whose reply was lost may have been
        // done, and a second XADD would publish the event twice. The
        // publish is refused; the next one connects again.
        let reply = link.call(&arguments, COMMAND_TIMEOUT);
        let id = match &reply {
            Ok(Reply::Bulk(Some(id))) => std::str::from_utf8(id).ok().and_then(EventId::parse),
            _ => None,
        };
        match (reply, id) {
            (_, Some(id)) => Ok(id),
            (Err(error), _) => {
                *publishing = None;
                Err(as_io(error))
            }
            (Ok(_), None) => {
                *publishing = None;
                Err(io::Error::new(io::ErrorKind::InvalidData, "XADD answered without an id"))
            }
        }
    }

    fn health(&self) -> UpstreamHealth {
        UpstreamHealth {
            up: self.status.up.load(Ordering::Relaxed),
            reconnects: self.status.reconnects.load(Ordering::Relaxed),
        }
    }

    fn replay(&self, after: EventId, through: EventId, count: usize) -> io::Result<(Vec<Entry>, bool)> {
        let mut link = Link::connect(&self.url).map_err(as_io)?;
        let key = self.key.as_bytes();
        let newest = through.to_string();
        let oldest = format!("({after}");
        // The newest `count` after the id, newest first; one more tells
        // whether there were more than a replay may carry.
        let one_more = (count + 1).to_string();
        let reply = link
            .call(
                &[b"XREVRANGE", key, newest.as_bytes(), oldest.as_bytes(), b"COUNT", one_more.as_bytes()],
                COMMAND_TIMEOUT,
            )
            .map_err(as_io)?;
        let mut entries = entries_of(reply);
        let too_many = entries.len() > count;
        entries.truncate(count);
        entries.reverse();
        // The id is older than the stream's first entry: what came right
        // after it may have been trimmed away.
        let first =
            link.call(&[b"XRANGE", key, b"-", b"+", b"COUNT", b"1"], COMMAND_TIMEOUT).map_err(as_io)?;
        let trimmed = entries_of(first).first().is_some_and(|oldest| after < oldest.id);
        Ok((entries, trimmed || too_many))
    }
}

fn as_io(error: LinkError) -> io::Error {
    io::Error::new(error.kind(), error.to_string())
}

/// The entries of an `XRANGE`/`XREAD` reply: `[[id, [field, value, …]], …]`.
/// Entries without a valid id, topic or data are skipped (another program
/// may write to the same key).
fn entries_of(reply: Reply) -> Vec<Entry> {
    let Reply::Array(Some(items)) = reply else { return Vec::new() };
    items.into_iter().filter_map(entry_of).collect()
}

fn entry_of(item: Reply) -> Option<Entry> {
    let Reply::Array(Some(mut parts)) = item else { return None };
    if parts.len() != 2 {
        return None;
    }
    let fields = parts.pop()?;
    let Reply::Bulk(Some(id)) = parts.pop()? else { return None };
    let id = EventId::parse(std::str::from_utf8(&id).ok()?)?;
    let Reply::Array(Some(fields)) = fields else { return None };
    let (mut topic, mut event, mut data) = (None, None, None);
    for pair in fields.chunks(2) {
        let [Reply::Bulk(Some(name)), Reply::Bulk(Some(value))] = pair else { continue };
        let value = String::from_utf8_lossy(value).into_owned();
        match name.as_slice() {
            b"topic" => topic = Some(value),
            b"event" => event = Some(value),
            b"data" => data = Some(value),
            _ => {}
        }
    }
    Some(Entry { id, topic: TopicName::new(&topic?).ok()?, event, data: data? })
}
