//! The hub: where published events meet the `/events` streams of their
//! topic, and the bounded history that lets a reconnecting client catch up.
//!
//! ```text
//! Publisher::publish ─► encode once ─► History (last --history frames, any topic)
//!   (Rust, stdin,          │              seq 38  room/a  Arc<[u8]> "id: …-38\ndata: …\n\n"
//!    POST /publish)        │              seq 39  room/b  …
//!                          └─► the inboxes subscribed to the event's topic, and
//!                              those subscribed to every topic: a non-blocking write
//!                              to that stream's socket, or, when it would block,
//!                              queue the Arc and wake that one thread (hub/mailbox.rs).
//! ```
//!
//! Ids are `RUN-SEQ`: `RUN` is the server's start time in milliseconds since
//! the Unix epoch, `SEQ` counts from 1 across every topic. Within a run ids
//! strictly increase; an id from an earlier run is recognised by its `RUN`.
//! An event may also carry the id its publisher gave (Mercure's `id`, or a
//! `urn:uuid:`): it goes out with that one, is found by it on replay, and
//! keeps its `RUN-SEQ` as its place in the order.
//!
//! A publisher never waits for a client: under the hub's lock it appends one
//! frame and hands it to the inboxes of its subscribers, each behind its
//! own short lock, writing only to sockets that are non-blocking (a write
//! takes what the socket's buffer has room for and returns); a stream's
//! thread writes what would have blocked, outside every lock. The hub's
//! lock is held for the whole fan-out, as one event loop would be busy
//! for it: that is what keeps one order on every stream. Subscribing
//! takes the same lock, so a new stream's replay and its live frames meet
//! with no gap and no duplicate.

mod followers;
mod gap;
mod mailbox;
mod publisher;
mod store;
mod subscribe;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub(crate) use followers::Interest;
pub(crate) use mailbox::{Delivery, Mailbox, Queued, Sink, Tally};
pub use publisher::{EventId, PublishError, Publisher};
pub(crate) use store::{Entry, NewEvent, Restored, Store, Upstream, UpstreamHealth};
pub(crate) use subscribe::Found;

use crate::proto::sse::{data_cost, Event, SingleLine};
use crate::proto::topic::TopicName;
use followers::Followers;

pub(crate) struct Hub {
    run: u64,
    max_event_bytes: usize,
    inner: Mutex<Inner>,
    /// The shared stream, when events go through one (`--redis`).
    upstream: Option<Arc<dyn Upstream>>,
}

/// One retained event: its place in this server's order (for inbox
/// accounting), its ids, its topics, whether it is private, and its frame.
struct Retained {
    position: u64,
    id: EventId,
    /// The id it goes out with, when its publisher gave one.
    label: Option<Arc<str>>,
    topics: Arc<[Arc<str>]>,
    private: bool,
    frame: Arc<[u8]>,
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
    /// Every stream's inbox, by what it follows.
    followers: Followers,
    next_subscriber: u64,
    /// Frames pushed into inboxes, in all.
    deliveries: u64,
}

impl Inner {
    /// Retains an event and hands it to the inboxes of its topics, of
    /// every topic and of matching selectors, a private one only to those
    /// whose token may read it: each push writes to that stream's socket
    /// (or, when it would block, queues and wakes that one thread), and
    /// nobody else's wakes.
    fn deliver(&mut self, id: EventId, event: &NewEvent<'_>, frame: Arc<[u8]>) {
        let position = self.next_position;
        self.next_position += 1;
        if self.history.len() == self.capacity {
            if let Some(evicted) = self.history.pop_front() {
                self.evicted_through = Some(evicted.id);
            }
        }
        let topics: Arc<[Arc<str>]> = event.topics.iter().map(|&topic| Arc::from(topic)).collect();
        let mut pushed = 0;
        let now = Instant::now();
        self.followers.for_each_target(&topics, event.private, |mailbox| {
            mailbox.push(position, id, &frame, now);
            pushed += 1;
        });
        self.deliveries += pushed;
        self.last_id = Some(id);
        let label = event.label.map(Arc::from);
        self.history.push_back(Retained { position, id, label, topics, private: event.private, frame });
    }
}

/// One event as it goes out: `id:` (its label, else `RUN-SEQ`), `event:`,
/// `retry:` when it has one of its own, `data:` lines.
fn encode(id: EventId, event: &NewEvent<'_>) -> Arc<[u8]> {
    let id_text = match event.label {
        Some(label) => std::borrow::Cow::Borrowed(label),
        None => std::borrow::Cow::Owned(id.to_string()),
    };
    // Names and labels were checked when they were published (or stored).
    let name = event.event.and_then(|name| SingleLine::new(name).ok());
    let mut frame = Vec::with_capacity(event.data.len() + id_text.len() + 32);
    let retry = event.retry.map(std::time::Duration::from_millis);
    Event { retry, id: SingleLine::new(&id_text).ok(), event: name, data: event.data }
        .encode_into(&mut frame);
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
            followers: Followers::default(),
            next_subscriber: 0,
            deliveries: 0,
        };
        let first = restored.events.first().map_or(restored.next_seq, |entry| entry.id.seq);
        for entry in restored.events {
            entry.with_view(|event| {
                let frame = encode(entry.id, event);
                inner.deliver(entry.id, event, frame);
            });
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
        self.publish_new(&NewEvent::on(&[topic.as_str()], event, data, private), self.max_event_bytes)
    }

    /// `--max-event-bytes`.
    pub(crate) fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    /// Publishes `new` if its data costs at most `limit` as sent: kept by
    /// the store first (or appended to the shared stream, which delivers
    /// it back), then retained and handed to its followers.
    ///
    /// # Errors
    ///
    /// A bad event name or id, data over `limit`, or a store or shared
    /// stream that could not take it; then it was not published (or, for
    /// [`PublishError::OutcomeUnknown`], may have been).
    pub(crate) fn publish_new(&self, new: &NewEvent<'_>, limit: usize) -> Result<EventId, PublishError> {
        if let Some(event) = new.event {
            SingleLine::new(event).map_err(PublishError::BadEventName)?;
        }
        if let Some(label) = new.label {
            SingleLine::new(label).map_err(PublishError::BadEventName)?;
        }
        let cost = data_cost(new.data.as_bytes());
        if cost > limit {
            return Err(PublishError::TooLarge { bytes: cost, limit });
        }
        if let Some(upstream) = &self.upstream {
            // The shared stream orders events; delivery comes back from it.
            let id = upstream.publish(new)?;
            self.lock().published += 1;
            return Ok(id);
        }
        let mut inner = self.lock();
        let seq = inner.next_seq;
        let id = EventId { run: self.run, seq };
        // Stored first: an event that cannot be kept is not published, and
        // its sequence number is given to the next one.
        if let Some(store) = &mut inner.store {
            store.append(seq, new).map_err(|error| PublishError::Unavailable(error.kind()))?;
        }
        inner.next_seq += 1;
        inner.published += 1;
        // Encoded from the publisher's own bytes: the data is copied once,
        // into the frame.
        let frame = encode(id, new);
        inner.deliver(id, new, frame);
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
        entry.with_view(|event| {
            let frame = encode(entry.id, event);
            inner.deliver(entry.id, event, frame);
        });
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
        (inner.followers.topics_followed(), inner.deliveries)
    }

    /// Ends every stream at its next look, e.g. at shutdown.
    pub(crate) fn close_all(&self) {
        let mailboxes = self.lock().followers.all_mailboxes();
        for mailbox in mailboxes {
            mailbox.close();
        }
    }
}

#[cfg(test)]
mod tests;
