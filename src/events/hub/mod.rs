//! The hub: where published events meet the `/events` streams of their
//! topic, and the bounded history that lets a reconnecting client catch up.
//!
//! ```text
//! Publisher::publish ─► encode once ─► History (last --history frames, any topic)
//!   (Rust, stdin,          │              seq 38  room/a  Arc<[u8]> "id: …-38\ndata: …\n\n"
//!    POST /publish)        │              seq 39  room/b  …
//!                          └─► the inboxes subscribed to the event's topic, and
//!                              those subscribed to every topic: push the Arc, wake
//!                              that one thread (hub/mailbox.rs). No one else wakes.
//! ```
//!
//! Ids are `RUN-SEQ`: `RUN` is the server's start time in milliseconds since
//! the Unix epoch, `SEQ` counts from 1 across every topic. Within a run ids
//! strictly increase; an id from an earlier run is recognised by its `RUN`.
//!
//! A publisher never waits for a client: under the hub's lock it appends one
//! frame and pushes it into the inboxes of its subscribers, each behind its
//! own short lock; streams write outside every lock. Subscribing takes the
//! same lock, so a new stream's replay and its live frames meet with no gap
//! and no duplicate.

mod gap;
mod mailbox;
mod publisher;
mod subscribe;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) use mailbox::{Delivery, Mailbox, Queued};
pub use publisher::{EventId, PublishError, Publisher};

use crate::auth::Reader;
use crate::proto::sse::{data_cost, Event, SingleLine};
use crate::proto::topic::TopicName;

/// Where events are kept beyond memory (the journal). The hub calls it
/// under its lock, before an event is delivered or acknowledged, and knows
/// nothing else about it: not files, not disks.
pub(crate) trait Store: Send {
    /// Keeps one event, or says why it could not: then the event is not
    /// published, and nothing of it may remain stored.
    fn append(&mut self, seq: u64, event: &NewEvent<'_>) -> io::Result<()>;
}

/// A shared stream that several servers publish to and read from (Redis):
/// it gives the ids and the order; events come back to every server,
/// the one that published included, through [`Hub::deliver`].
pub(crate) trait Upstream: Send + Sync {
    /// Appends one event to the shared stream; its id once it is there.
    /// [`PublishError::Unavailable`] when it surely is not there,
    /// [`PublishError::OutcomeUnknown`] when it may be.
    fn publish(&self, event: &NewEvent<'_>) -> Result<EventId, PublishError>;
    /// The newest entries after `after` up to `through`, at most `count`,
    /// oldest first; and whether some after `after` are gone (trimmed from
    /// the stream, or more than `count`).
    fn replay(&self, after: EventId, through: EventId, count: usize) -> io::Result<(Vec<Entry>, bool)>;
    /// Whether `id` (newer than any this server delivered) was never given
    /// by the shared stream: a client's guess, or an id from elsewhere.
    /// `false` when the stream cannot say.
    fn never_given(&self, id: EventId) -> bool;
    /// Whether the link is up, and how often it was lost, for `/metrics`
    /// and `/healthz`.
    fn health(&self) -> UpstreamHealth;
}

/// How the link to a shared stream is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UpstreamHealth {
    /// The link answers.
    pub(crate) up: bool,
    /// Times it was lost and tried again.
    pub(crate) reconnects: u64,
    /// Entries skipped: over `--max-event-bytes`, or not events.
    pub(crate) entries_skipped: u64,
}

/// One event being published, as a store or a shared stream keeps it.
pub(crate) struct NewEvent<'a> {
    pub(crate) topic: &'a str,
    /// Its `event:` name.
    pub(crate) event: Option<&'a str>,
    pub(crate) data: &'a str,
    /// Only streams whose token may read its topic get it.
    pub(crate) private: bool,
}

/// One event as a store or a shared stream hands it back.
pub(crate) struct Entry {
    pub(crate) id: EventId,
    pub(crate) topic: TopicName,
    pub(crate) event: Option<String>,
    pub(crate) data: String,
    pub(crate) private: bool,
}

/// Events a store kept from earlier runs, to start the hub with.
pub(crate) struct Restored {
    /// The RUN part of the stored ids.
    pub(crate) run: u64,
    /// The next sequence number to give out.
    pub(crate) next_seq: u64,
    /// The newest events, oldest first (their ids' RUN is `run`).
    pub(crate) events: Vec<Entry>,
}

pub(crate) struct Hub {
    run: u64,
    max_event_bytes: usize,
    inner: Mutex<Inner>,
    /// The shared stream, when events go through one (`--redis`).
    upstream: Option<Arc<dyn Upstream>>,
}

/// One retained event: its place in this server's order (for inbox
/// accounting), its id, its topic, whether it is private, and its frame.
struct Retained {
    position: u64,
    id: EventId,
    topic: TopicName,
    private: bool,
    frame: Arc<[u8]>,
}

/// A stream's inbox, as the hub keeps it for one of its topics.
struct Follower {
    mailbox: Arc<Mailbox>,
    /// Whether the stream's token may read this topic's private events:
    /// decided once, when it subscribed.
    reads_private: bool,
}

/// A stream's inbox, as the hub keeps it when the stream follows every
/// topic.
struct FollowerOfAll {
    mailbox: Arc<Mailbox>,
    /// What the stream's token may read beyond public events: matched
    /// against a private event's topic when it is published, never in the
    /// stream's own thread.
    reader: Arc<Reader>,
}

struct Inner {
    /// The last `capacity` events of every topic, oldest first.
    history: VecDeque<Retained>,
    /// The position the next delivered event gets.
    next_position: u64,
    /// The sequence number the next locally published event gets.
    next_seq: u64,
    /// The newest id that has left the history (or was never in it).
    evicted_through: Option<EventId>,
    /// The newest id delivered.
    last_id: Option<EventId>,
    capacity: usize,
    /// Events published since the server started.
    published: u64,
    /// Where events are kept beyond memory, if anywhere.
    store: Option<Box<dyn Store>>,
    /// Inboxes by topic; a topic is here only while someone follows it.
    by_topic: HashMap<TopicName, HashMap<u64, Follower>>,
    /// Inboxes of streams that follow every topic.
    everything: HashMap<u64, FollowerOfAll>,
    next_subscriber: u64,
    /// Frames pushed into inboxes, in all.
    deliveries: u64,
}

impl Inner {
    /// Retains an event and hands it to the inboxes of its topic and of
    /// every topic, a private one only to those whose token may read it:
    /// each push wakes that one thread, and nobody else's wakes.
    fn deliver(&mut self, id: EventId, topic: TopicName, private: bool, frame: Arc<[u8]>) {
        let position = self.next_position;
        self.next_position += 1;
        if self.history.len() == self.capacity {
            if let Some(evicted) = self.history.pop_front() {
                self.evicted_through = Some(evicted.id);
            }
        }
        let mut pushed = 0;
        let followers = self.by_topic.get(&topic).into_iter().flat_map(HashMap::values);
        let of_topic = followers.filter(|follower| !private || follower.reads_private).map(|f| &f.mailbox);
        let of_all = self.everything.values();
        let of_all = of_all.filter(|follower| !private || follower.reader.reads_private(topic.as_str()));
        for mailbox in of_topic.chain(of_all.map(|follower| &follower.mailbox)) {
            mailbox.push(position, id, Arc::clone(&frame));
            pushed += 1;
        }
        self.deliveries += pushed;
        self.last_id = Some(id);
        self.history.push_back(Retained { position, id, topic, private, frame });
    }
}

/// One event as it goes out: `id: RUN-SEQ`, `event:`, `data:` lines.
fn encode(id: EventId, event: Option<SingleLine<'_>>, data: &str) -> Arc<[u8]> {
    let id_text = id.to_string();
    let mut frame = Vec::with_capacity(data.len() + id_text.len() + 32);
    Event { retry: None, id: SingleLine::new(&id_text).ok(), event, data }.encode_into(&mut frame);
    frame.into()
}

impl Hub {
    /// An empty hub whose ids start a new run now.
    pub(crate) fn new(capacity: usize, max_event_bytes: usize) -> Hub {
        let run = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        Hub::with_store(capacity, max_event_bytes, Restored { run, next_seq: 1, events: Vec::new() }, None)
    }

    /// A hub that carries on from `restored` and keeps every event in
    /// `store` before it is delivered or acknowledged.
    pub(crate) fn with_store(
        capacity: usize,
        max_event_bytes: usize,
        restored: Restored,
        store: Option<Box<dyn Store>>,
    ) -> Hub {
        let run = restored.run;
        let mut inner = Inner {
            history: VecDeque::with_capacity(capacity),
            next_position: 0,
            next_seq: restored.next_seq,
            evicted_through: None,
            last_id: None,
            capacity,
            published: 0,
            store,
            by_topic: HashMap::new(),
            everything: HashMap::new(),
            next_subscriber: 0,
            deliveries: 0,
        };
        let first = restored.events.first().map_or(restored.next_seq, |entry| entry.id.seq);
        for entry in restored.events {
            // Stored names were checked when they were published.
            let event = entry.event.as_deref().and_then(|name| SingleLine::new(name).ok());
            let frame = encode(entry.id, event, &entry.data);
            inner.deliver(entry.id, entry.topic, entry.private, frame);
        }
        // Events before what was restored are gone, as far as replay goes.
        inner.evicted_through = first.checked_sub(1).filter(|&seq| seq > 0).map(|seq| EventId { run, seq });
        Hub { run, max_event_bytes, inner: Mutex::new(inner), upstream: None }
    }

    /// A hub whose events go through a shared stream: `upstream` gives the
    /// ids, and every event comes back through [`Hub::deliver`].
    #[allow(dead_code, reason = "only the Redis link (feature \"redis\") calls it")]
    pub(crate) fn with_upstream(capacity: usize, max_event_bytes: usize, upstream: Arc<dyn Upstream>) -> Hub {
        let mut hub = Hub::new(capacity, max_event_bytes);
        hub.upstream = Some(upstream);
        hub
    }

    pub(crate) fn publisher(self: &Arc<Hub>) -> Publisher {
        Publisher { hub: Arc::clone(self), topic: TopicName::default_topic(), private: false }
    }

    /// No code panics while holding the lock, so a poisoned lock still
    /// holds a consistent history.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes one event to `topic`; a `private` one reaches only the
    /// streams whose token may read the topic.
    pub(crate) fn publish(
        &self,
        topic: &TopicName,
        event: Option<&str>,
        data: &str,
        private: bool,
    ) -> Result<EventId, PublishError> {
        self.publish_within(topic, event, data, private, self.max_event_bytes)
    }

    /// `--max-event-bytes`.
    pub(crate) fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    /// [`Hub::publish`] with `limit` in place of `--max-event-bytes`.
    pub(crate) fn publish_within(
        &self,
        topic: &TopicName,
        event: Option<&str>,
        data: &str,
        private: bool,
        limit: usize,
    ) -> Result<EventId, PublishError> {
        let event = event.map(SingleLine::new).transpose().map_err(PublishError::BadEventName)?;
        let cost = data_cost(data.as_bytes());
        if cost > limit {
            return Err(PublishError::TooLarge { bytes: cost, limit });
        }
        if let Some(upstream) = &self.upstream {
            // The shared stream orders events; delivery comes back from it.
            let new =
                NewEvent { topic: topic.as_str(), event: event.map(|name| name.as_str()), data, private };
            let id = upstream.publish(&new)?;
            self.lock().published += 1;
            return Ok(id);
        }
        let mut inner = self.lock();
        let seq = inner.next_seq;
        let id = EventId { run: self.run, seq };
        // Stored first: an event that cannot be kept is not published, and
        // its sequence number is given to the next one.
        if let Some(store) = &mut inner.store {
            let new =
                NewEvent { topic: topic.as_str(), event: event.map(|name| name.as_str()), data, private };
            store.append(seq, &new).map_err(|error| PublishError::Unavailable(error.kind()))?;
        }
        inner.next_seq += 1;
        inner.published += 1;
        inner.deliver(id, topic.clone(), private, encode(id, event, data));
        Ok(id)
    }

    /// Delivers an event that came back from the shared stream; one this
    /// hub has delivered already (after a reconnect) is skipped.
    #[allow(dead_code, reason = "only the Redis link (feature \"redis\") calls it")]
    pub(crate) fn deliver(&self, entry: Entry) {
        let mut inner = self.lock();
        if inner.last_id.is_some_and(|last| entry.id <= last) {
            return;
        }
        let event = entry.event.as_deref().and_then(|name| SingleLine::new(name).ok());
        let frame = encode(entry.id, event, &entry.data);
        inner.deliver(entry.id, entry.topic, entry.private, frame);
    }

    /// The newest id delivered, if any.
    #[allow(dead_code, reason = "only the Redis link (feature \"redis\") calls it")]
    pub(crate) fn last_id(&self) -> Option<EventId> {
        self.lock().last_id
    }

    /// How the shared stream's link is doing; `None` without one.
    pub(crate) fn upstream_health(&self) -> Option<UpstreamHealth> {
        self.upstream.as_ref().map(|upstream| upstream.health())
    }

    /// How many events were published since the server started.
    pub(crate) fn published_count(&self) -> u64 {
        self.lock().published
    }

    /// Topics that at least one stream follows (streams that follow every
    /// topic not counted), and frames delivered into inboxes in all.
    pub(crate) fn fan_out_counts(&self) -> (usize, u64) {
        let inner = self.lock();
        (inner.by_topic.len(), inner.deliveries)
    }

    /// Ends every stream at its next look, e.g. at shutdown.
    pub(crate) fn close_all(&self) {
        let inner = self.lock();
        let of_topics = inner.by_topic.values().flat_map(HashMap::values).map(|follower| &follower.mailbox);
        for mailbox in of_topics.chain(inner.everything.values().map(|follower| &follower.mailbox)) {
            mailbox.close();
        }
    }
}

#[cfg(test)]
mod tests;
