//! The reader: one thread per server that feeds the hub from the stream,
//! in pages, and says so when entries went past it unread.
//!
//! ```text
//! connect ─► (empty hub) XREVRANGE ssed + - COUNT page, … until --history entries ─► deliver, oldest first
//!         └► loop: XREAD COUNT page BLOCK 1000 STREAMS ssed <last read>
//!                  after a reconnect or a non-empty page: XINFO STREAM ssed
//!                    first entry newer than <last read> ─► Hub::entries_gone ─► `missed` to every stream
//!                  deliver the page
//! any error ─► up = 0, one log line per outage ─► sleep (100 ms, doubling to 5 s) ─► connect
//! ```
//!
//! "Up", and the end of an outage (its log line, the backoff back to its
//! first step), come with the first command that succeeds, not with the
//! connection: a Redis that accepts and never answers, that wants a
//! password, or whose key holds no stream, is down.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

use super::entries::{facts_of, gone_after, page_of, xread_page, Page, Skipped, StreamFacts};
use super::link::{Link, LinkError, COMMAND_TIMEOUT};
use super::RedisStatus;
use super::RedisStream;
use crate::events::hub::{EventId, Hub};
use crate::ops::log::log;

/// How long one `XREAD` blocks in Redis before it asks again.
const BLOCK_MS: &str = "1000";
/// The first pause after Redis failed.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between two attempts to reach Redis.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How the link is doing: what `/healthz` and `/metrics` show, whether
/// this outage was logged, and the next pause.
struct Health<'a> {
    stream: &'a RedisStream,
    status: &'a RedisStatus,
    /// The kind of error this outage was logged with, while it lasts.
    outage_logged: Option<String>,
    backoff: Duration,
}

/// The kind of a link error, for telling whether an outage changed cause:
/// the I/O error kind, or Redis's error code (`WRONGPASS`, `NOAUTH`).
fn cause_kind(error: &LinkError) -> String {
    match error {
        LinkError::Io(error) => format!("{:?}", error.kind()),
        LinkError::Refused(text) => text.split(' ').next().unwrap_or_default().to_owned(),
        LinkError::Protocol(_) => "protocol".to_owned(),
        LinkError::Unexpected(what) => (*what).to_owned(),
    }
}

impl Health<'_> {
    /// A command succeeded: Redis is up, and an outage is over.
    fn command_succeeded(&mut self) {
        if !self.status.up.swap(true, Ordering::Relaxed) && self.outage_logged.take().is_some() {
            log(format_args!(
                "redis {} reachable again; resuming after the last event delivered",
                self.stream.url
            ));
        }
        self.backoff = FIRST_BACKOFF;
    }

    /// The link failed: one line per outage, naming its cause (and one
    /// more if the cause changes, say from a closed connection to a
    /// refused password); then the pause before the next attempt.
    fn failed(&mut self, error: &LinkError) {
        self.status.up.store(false, Ordering::Relaxed);
        let kind = cause_kind(error);
        if self.outage_logged.as_ref() != Some(&kind) {
            let state = match (&self.outage_logged, error) {
                (Some(_), _) => "still failing, now",
                (None, LinkError::Io(_)) => "unreachable",
                (None, _) => "failing",
            };
            log(format_args!(
                "redis {} {state} ({error}); streams stay up, publishes are refused; retrying",
                self.stream.url
            ));
            self.outage_logged = Some(kind);
        }
        self.status.reconnects.fetch_add(1, Ordering::Relaxed);
        thread::sleep(self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }
}

/// Where the reader is in the stream, kept across reconnects.
struct Position {
    /// The id of the last entry read (`0-0`: the stream was empty at start).
    last: Option<EventId>,
    /// The `last` for which a gap was already told, so one gap is told once.
    gap_told_after: Option<EventId>,
}

impl RedisStream {
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
        let status = Arc::clone(&self.status);
        let mut health =
            Health { stream: self, status: &status, outage_logged: None, backoff: FIRST_BACKOFF };
        let mut position = Position { last: None, gap_told_after: None };
        while hub.strong_count() > 0 {
            let error = match Link::connect(&self.url, self.limits, COMMAND_TIMEOUT) {
                Ok(mut link) => self.read_until_error(&mut link, hub, history, &mut health, &mut position),
                Err(error) => error,
            };
            if hub.strong_count() == 0 {
                return;
            }
            health.failed(&error);
        }
    }

    /// Fills an empty hub with the newest entries, then follows the stream.
    fn read_until_error(
        &self,
        link: &mut Link,
        hub: &Weak<Hub>,
        history: usize,
        health: &mut Health<'_>,
        position: &mut Position,
    ) -> LinkError {
        let key = self.key.as_bytes();
        let mut resumed = position.last.is_some();
        let mut last = match position.last {
            Some(last) => last,
            None => match self.fill(link, hub, history, health) {
                Ok(last) => last,
                Err(error) => return error,
            },
        };
        position.last = Some(last);
        let wait = COMMAND_TIMEOUT + Duration::from_millis(1000);
        let count = self.page_entries.to_string();
        loop {
            let after = last.to_string();
            let reply = link.call(
                &[
                    b"XREAD",
                    b"COUNT",
                    count.as_bytes(),
                    b"BLOCK",
                    BLOCK_MS.as_bytes(),
                    b"STREAMS",
                    key,
                    after.as_bytes(),
                ],
                wait,
            );
            let page = match reply {
                Ok(reply) => xread_page(reply, self.max_event_bytes),
                Err(error) => return error,
            };
            health.command_succeeded();
            if resumed || page.read > 0 {
                // Before the page is delivered, so `missed` comes before
                // the events that followed the gap.
                let facts = match self.facts(link) {
                    Ok(facts) => facts,
                    Err(error) => return error,
                };
                if gone_after(last, facts.as_ref()) && position.gap_told_after != Some(last) {
                    self.tell_gap(hub, last, facts.as_ref().and_then(|facts| facts.first));
                    position.gap_told_after = Some(last);
                }
                resumed = false;
            }
            let Some(hub) = hub.upgrade() else { return LinkError::Unexpected("server gone") };
            self.count_skipped(&page);
            if let Some(read) = page.last_read {
                last = read;
                position.last = Some(read);
            }
            page.entries.into_iter().for_each(|entry| hub.deliver(entry));
        }
    }

    /// Delivers the newest `history` entries, oldest first, read newest
    /// first in pages; the id to follow the stream from.
    fn fill(
        &self,
        link: &mut Link,
        hub: &Weak<Hub>,
        history: usize,
        health: &mut Health<'_>,
    ) -> Result<EventId, LinkError> {
        let key = self.key.as_bytes();
        // Asked first: an entry added after this answer has a newer id, and
        // is read by the first XREAD even if the pages below miss it.
        let newest_given = self.facts(link)?.and_then(|facts| facts.last_generated);
        health.command_succeeded();
        let mut newest: Option<EventId> = None;
        let mut pages: Vec<Page> = Vec::new();
        let mut events = 0;
        let mut before = "+".to_owned();
        while events < history {
            let count = self.page_entries.min(history - events).to_string();
            let reply = link.call(
                &[b"XREVRANGE", key, before.as_bytes(), b"-", b"COUNT", count.as_bytes()],
                COMMAND_TIMEOUT,
            )?;
            health.command_succeeded();
            let page = page_of(reply, self.max_event_bytes);
            let Some(oldest) = page.last_read else { break };
            newest = newest.or(page.first_read);
            events += page.entries.len();
            before = format!("({oldest}");
            pages.push(page);
        }
        // Empty: follow from the newest id the stream had given, so what
        // was added since counts as new.
        let last = newest.or(newest_given).unwrap_or(EventId { run: 0, seq: 0 });
        let hub = hub.upgrade().ok_or(LinkError::Unexpected("server gone"))?;
        for mut page in pages.into_iter().rev() {
            self.count_skipped(&page);
            page.entries.reverse();
            page.entries.into_iter().for_each(|entry| hub.deliver(entry));
        }
        Ok(last)
    }

    /// `XINFO STREAM`; `None` when the key does not exist.
    fn facts(&self, link: &mut Link) -> Result<Option<StreamFacts>, LinkError> {
        match link.call(&[b"XINFO", b"STREAM", self.key.as_bytes()], COMMAND_TIMEOUT) {
            Ok(reply) => {
                facts_of(reply).map(Some).ok_or(LinkError::Unexpected("XINFO STREAM without its fields"))
            }
            Err(LinkError::Refused(text)) if text.contains("no such key") => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Entries after `last` are gone unread: every stream is told.
    fn tell_gap(&self, hub: &Weak<Hub>, last: EventId, first: Option<EventId>) {
        log(format_args!(
            "redis {}: entries after {last} were trimmed from {} before this server read them; \
             every stream is told `missed`",
            self.url, self.key
        ));
        if let Some(hub) = hub.upgrade() {
            hub.entries_gone(last, first);
        }
    }

    /// Counts the entries a page skipped; the first one is logged.
    fn count_skipped(&self, page: &Page) {
        for (id, why) in &page.skipped {
            let before = self.status.entries_skipped.fetch_add(1, Ordering::Relaxed);
            if before == 0 {
                let why = match why {
                    Skipped::TooLarge(bytes) => {
                        format!(
                            "its data is {bytes} bytes as sent, over --max-event-bytes {}",
                            self.max_event_bytes
                        )
                    }
                    Skipped::NotAnEvent => "it has no valid topic and data fields".to_owned(),
                };
                log(format_args!(
                    "redis {}: entry {id} skipped: {why} (further skipped entries are counted in \
                     ssed_redis_entries_skipped_total, not logged)",
                    self.url
                ));
            }
        }
    }
}
