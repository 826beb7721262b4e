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
//! delivers in that order from its reader. A publish whose `XADD` was sent
//! but got no answer in time is answered `504` (its outcome is unknown: a
//! retry may publish it twice), never "nothing was published". When Redis
//! goes away, streams stay up; publishes are refused (503); the reader
//! reconnects with capped backoff and resumes after the last id it read,
//! so nothing is sent twice, and if entries after that id were trimmed
//! meanwhile every stream is told `missed`. Logged once when Redis goes and
//! once when it is back.
//!
//! Replies are read in pages sized by `--max-event-bytes` (see
//! [`reply_limits`]), so one reply is bounded; an entry over the limit is
//! skipped, logged once and counted (`ssed_redis_entries_skipped_total`).

mod entries;
mod link;
mod publishing;
mod reader;
pub(crate) mod resp;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use entries::{facts_of, page_of};
use link::{Link, LinkError, COMMAND_TIMEOUT};
use publishing::PublishLinks;

use crate::config::{RedisOptions, RedisUrl};
use crate::events::hub::{Entry, EventId, Hub, NewEvent, PublishError, Upstream, UpstreamHealth};
use crate::ops::log::log;
use resp::{Limits, REPLY_ELEMENT_BYTES};

/// What one entry may take in a reply besides its data: its id, topic and
/// event name, field names and RESP framing.
const ENTRY_OVERHEAD_BYTES: usize = 16 * 1024;
/// What one page of entries is sized to hold.
const PAGE_BYTES: usize = 8 << 20;
/// Most entries asked for at once.
const MAX_PAGE_ENTRIES: usize = 256;
/// An id whose time is this far ahead of the clock was never given.
const FUTURE_SLACK_MS: u64 = 60_000;

/// The shared stream, as the hub's [`Upstream`].
pub(crate) struct RedisStream {
    url: RedisUrl,
    key: String,
    max_len: String,
    max_event_bytes: usize,
    /// Entries asked for by one `XREAD` or `XRANGE`.
    page_entries: usize,
    limits: Limits,
    publishing: PublishLinks,
    status: Arc<RedisStatus>,
}

/// How the link to Redis is doing, for `/metrics` and `/healthz`.
#[derive(Default)]
pub(crate) struct RedisStatus {
    /// The reader's last command succeeded (not merely its connection).
    pub(crate) up: AtomicBool,
    /// Times the reader lost Redis and tried again.
    pub(crate) reconnects: AtomicU64,
    /// Entries the reader skipped (over `--max-event-bytes`, or not events).
    pub(crate) entries_skipped: AtomicU64,
}

/// A hub fed by the Redis stream of `options`, its reader started.
///
/// # Errors
///
/// Redis refusing the URL's password, or requiring one the URL lacks (see
/// [`check_auth`]).
pub(crate) fn open_hub(
    options: &RedisOptions,
    history: usize,
    max_event_bytes: usize,
) -> io::Result<Arc<Hub>> {
    check_auth(&options.url).map_err(io::Error::other)?;
    let stream =
        Arc::new(RedisStream::new(options.url.clone(), options.stream.clone(), history, max_event_bytes));
    let upstream: Arc<dyn Upstream> = Arc::clone(&stream) as Arc<dyn Upstream>;
    let hub = Arc::new(Hub::with_upstream(history, max_event_bytes, upstream));
    stream.start_reader(&hub, history);
    Ok(hub)
}

/// Entries per page, and the limits of one reply, for events of up to
/// `max_event_bytes`: a page of entries of that size fits twice over, and
/// a longer string (another program's entry) is read past, not kept.
pub(crate) fn reply_limits(max_event_bytes: usize) -> (usize, Limits) {
    let entry_bytes = max_event_bytes.saturating_add(ENTRY_OVERHEAD_BYTES);
    let page_entries = (PAGE_BYTES / entry_bytes).clamp(1, MAX_PAGE_ENTRIES);
    let limits = Limits {
        // Redis's own bound on a bulk string (proto-max-bulk-len).
        max_bulk_bytes: 512 << 20,
        max_array_len: 1 << 20,
        max_depth: 8,
        max_line_bytes: 16 * 1024,
        keep_bulk_bytes: max_event_bytes.max(4096),
        max_reply_bytes: page_entries
            .saturating_mul(entry_bytes)
            .saturating_mul(2)
            .saturating_add(64 * REPLY_ELEMENT_BYTES * page_entries)
            .saturating_add(1 << 20),
    };
    (page_entries, limits)
}

/// Checks, once, at start, that Redis takes the URL's password, or that
/// it needs none. Redis not reachable yet is fine (the reader keeps
/// trying); a refused or missing password is not, since no retry mends it.
///
/// # Errors
///
/// The refusal, as a one-line message without the password.
pub(crate) fn check_auth(url: &RedisUrl) -> Result<(), String> {
    let checked = Link::connect(url, Limits::default(), COMMAND_TIMEOUT)
        .and_then(|mut link| link.call(&[b"PING"], COMMAND_TIMEOUT));
    match checked {
        Err(error) if error.is_password_missing() => Err(format!(
            "redis {url}: Redis requires a password and the URL has none ({error}); \
             give it as redis://:PASSWORD@host:port or redis://USER:PASSWORD@host:port"
        )),
        Err(error) if error.is_auth() => Err(format!("redis {url}: AUTH refused ({error})")),
        Err(error) => {
            log(format_args!("redis {url} unreachable at start ({error}); starting anyway, retrying"));
            Ok(())
        }
        Ok(_) => Ok(()),
    }
}

impl RedisStream {
    /// The stream `key` at `url`, trimmed to about `history` entries, with
    /// events of up to `max_event_bytes`.
    pub(crate) fn new(url: RedisUrl, key: String, history: usize, max_event_bytes: usize) -> RedisStream {
        let (page_entries, limits) = reply_limits(max_event_bytes);
        RedisStream {
            url,
            key,
            max_len: history.to_string(),
            max_event_bytes,
            page_entries,
            limits,
            publishing: PublishLinks::new(),
            status: Arc::new(RedisStatus::default()),
        }
    }
}

impl Upstream for RedisStream {
    fn publish(&self, new: &NewEvent<'_>) -> Result<EventId, PublishError> {
        let mut arguments: Vec<&[u8]> = vec![
            b"XADD",
            self.key.as_bytes(),
            b"MAXLEN",
            b"~",
            self.max_len.as_bytes(),
            b"*",
            b"topic",
            new.topics.first().copied().unwrap_or_default().as_bytes(),
        ];
        // Alternate topics, one field each (a stream entry keeps repeated
        // field names in order), the publisher's id and a retry: kept with
        // the entry, so another instance replays the event exactly.
        for alternate in new.topics.iter().skip(1) {
            arguments.extend_from_slice(&[b"alternate", alternate.as_bytes()]);
        }
        if let Some(event) = new.event {
            arguments.extend_from_slice(&[b"event", event.as_bytes()]);
        }
        if let Some(label) = new.label {
            arguments.extend_from_slice(&[b"id", label.as_bytes()]);
        }
        let retry = new.retry.map(|retry| retry.to_string());
        if let Some(retry) = &retry {
            arguments.extend_from_slice(&[b"retry", retry.as_bytes()]);
        }
        // Kept with the entry, so another instance's streams obey it too.
        if new.private {
            arguments.extend_from_slice(&[b"private", b"1"]);
        }
        arguments.extend_from_slice(&[b"data", new.data.as_bytes()]);
        self.publishing.xadd(&self.url, self.limits, &arguments)
    }

    fn replay(&self, after: EventId, through: EventId, count: usize) -> io::Result<(Vec<Entry>, bool)> {
        let mut link = Link::connect(&self.url, self.limits, COMMAND_TIMEOUT).map_err(as_io)?;
        let key = self.key.as_bytes();
        let oldest = format!("({after}");
        // The newest `count` after the id, newest first, in pages; one more
        // tells whether there were more than a replay may carry.
        let mut entries = Vec::new();
        let mut newest = through.to_string();
        while entries.len() <= count {
            let page_count = self.page_entries.min(count + 1 - entries.len()).to_string();
            let reply = link
                .call(
                    &[
                        b"XREVRANGE",
                        key,
                        newest.as_bytes(),
                        oldest.as_bytes(),
                        b"COUNT",
                        page_count.as_bytes(),
                    ],
                    COMMAND_TIMEOUT,
                )
                .map_err(as_io)?;
            let page = page_of(reply, self.max_event_bytes);
            let Some(last_read) = page.last_read else { break };
            entries.extend(page.entries);
            newest = format!("({last_read}");
        }
        let too_many = entries.len() > count;
        entries.truncate(count);
        entries.reverse();
        // The id is older than the stream's first entry: what came right
        // after it may have been trimmed away.
        let first =
            link.call(&[b"XRANGE", key, b"-", b"+", b"COUNT", b"1"], COMMAND_TIMEOUT).map_err(as_io)?;
        let trimmed = page_of(first, usize::MAX).first_read.is_some_and(|oldest| after < oldest);
        Ok((entries, trimmed || too_many))
    }

    fn health(&self) -> UpstreamHealth {
        UpstreamHealth {
            up: self.status.up.load(Ordering::Relaxed),
            reconnects: self.status.reconnects.load(Ordering::Relaxed),
            entries_skipped: self.status.entries_skipped.load(Ordering::Relaxed),
        }
    }

    fn never_given(&self, id: EventId) -> bool {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        if id.run > now_ms.saturating_add(FUTURE_SLACK_MS) {
            return true;
        }
        let asked = Link::connect(&self.url, self.limits, COMMAND_TIMEOUT)
            .and_then(|mut link| link.call(&[b"XINFO", b"STREAM", self.key.as_bytes()], COMMAND_TIMEOUT));
        match asked {
            Ok(reply) => {
                facts_of(reply).is_some_and(|facts| facts.last_generated.is_none_or(|newest| id > newest))
            }
            // No stream: no id was given.
            Err(LinkError::Refused(text)) if text.contains("no such key") => true,
            // Redis cannot say: take the id as given by another server.
            Err(_) => false,
        }
    }
}

fn as_io(error: LinkError) -> io::Error {
    io::Error::new(error.kind(), error.to_string())
}
