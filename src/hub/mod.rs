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

mod mailbox;
mod publisher;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) use mailbox::{Delivery, Mailbox, Queued};
pub use publisher::{EventId, PublishError, Publisher};

use crate::sse::{data_cost, Event, SingleLine};
use crate::topic::{TopicName, Topics};

/// Where events are kept beyond memory (the journal). The hub calls it
/// under its lock, before an event is delivered or acknowledged, and knows
/// nothing else about it: not files, not disks.
pub(crate) trait Store: Send {
    /// Keeps one event, or says why it could not: then the event is not
    /// published, and nothing of it may remain stored.
    fn append(&mut self, seq: u64, topic: &str, event: Option<&str>, data: &str) -> io::Result<()>;
}

/// Events a store kept from earlier runs, to start the hub with.
pub(crate) struct Restored {
    /// The RUN part of the stored ids.
    pub(crate) run: u64,
    /// The next sequence number to give out.
    pub(crate) next_seq: u64,
    /// The newest events, oldest first: seq, topic, event name, data.
    pub(crate) events: Vec<(u64, TopicName, Option<String>, String)>,
}

/// What a new stream gets: the retained frames it missed, and whether some
/// it asked for are gone.
pub(crate) struct Replay {
    pub(crate) frames: Vec<Queued>,
    pub(crate) missed: bool,
}

/// A stream's registration with the hub; dropping it unsubscribes.
pub(crate) struct Subscription<'a> {
    hub: &'a Hub,
    id: u64,
    topics: Topics,
    /// Where the hub puts this stream's frames.
    pub(crate) mailbox: Arc<Mailbox>,
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        let mut inner = self.hub.lock();
        match &self.topics {
            Topics::All => {
                inner.everything.remove(&self.id);
            }
            Topics::Some(names) => {
                for name in names {
                    if let Some(inboxes) = inner.by_topic.get_mut(name) {
                        inboxes.remove(&self.id);
                        // A topic nobody follows costs nothing.
                        if inboxes.is_empty() {
                            inner.by_topic.remove(name);
                        }
                    }
                }
            }
        }
    }
}

pub(crate) struct Hub {
    run: u64,
    max_event_bytes: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    /// The last `capacity` events of every topic, oldest first, each with
    /// its sequence number.
    history: VecDeque<(u64, TopicName, Arc<[u8]>)>,
    /// The sequence number the next event gets.
    next_seq: u64,
    /// The highest sequence number that has left the history (0: none).
    evicted_through: u64,
    capacity: usize,
    /// Events published since the server started.
    published: u64,
    /// Where events are kept beyond memory, if anywhere.
    store: Option<Box<dyn Store>>,
    /// Inboxes by topic; a topic is here only while someone follows it.
    by_topic: HashMap<TopicName, HashMap<u64, Arc<Mailbox>>>,
    /// Inboxes of streams that follow every topic.
    everything: HashMap<u64, Arc<Mailbox>>,
    next_subscriber: u64,
    /// Frames pushed into inboxes, in all.
    deliveries: u64,
}

impl Inner {
    /// Appends an encoded event, letting the oldest go when full.
    fn retain(&mut self, seq: u64, topic: TopicName, frame: Arc<[u8]>) {
        if self.history.len() == self.capacity {
            if let Some((evicted, _, _)) = self.history.pop_front() {
                self.evicted_through = evicted;
            }
        }
        self.history.push_back((seq, topic, frame));
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
            next_seq: restored.next_seq,
            evicted_through: 0,
            capacity,
            published: 0,
            store,
            by_topic: HashMap::new(),
            everything: HashMap::new(),
            next_subscriber: 0,
            deliveries: 0,
        };
        for (seq, topic, event, data) in restored.events {
            // Stored names were checked when they were published.
            let event = event.as_deref().and_then(|name| SingleLine::new(name).ok());
            inner.retain(seq, topic, encode(EventId { run, seq }, event, &data));
        }
        // Events before what was restored are gone, as far as replay goes.
        inner.evicted_through = inner.history.front().map_or(restored.next_seq - 1, |(seq, _, _)| seq - 1);
        Hub { run, max_event_bytes, inner: Mutex::new(inner) }
    }

    pub(crate) fn publisher(self: &Arc<Hub>) -> Publisher {
        Publisher { hub: Arc::clone(self), topic: TopicName::default_topic() }
    }

    /// No code panics while holding the lock, so a poisoned lock still
    /// holds a consistent history.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn publish(
        &self,
        topic: &TopicName,
        event: Option<&str>,
        data: &str,
    ) -> Result<EventId, PublishError> {
        self.publish_within(topic, event, data, self.max_event_bytes)
    }

    /// `--max-event-bytes`.
    pub(crate) fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    pub(crate) fn publish_within(
        &self,
        topic: &TopicName,
        event: Option<&str>,
        data: &str,
        limit: usize,
    ) -> Result<EventId, PublishError> {
        let event = event.map(SingleLine::new).transpose().map_err(PublishError::BadEventName)?;
        let cost = data_cost(data);
        if cost > limit {
            return Err(PublishError::TooLarge { bytes: cost, limit });
        }
        let mut inner = self.lock();
        let seq = inner.next_seq;
        let id = EventId { run: self.run, seq };
        // Stored first: an event that cannot be kept is not published, and
        // its sequence number is given to the next one.
        if let Some(store) = &mut inner.store {
            store
                .append(seq, topic.as_str(), event.map(|name| name.as_str()), data)
                .map_err(|error| PublishError::Unavailable(error.kind()))?;
        }
        inner.next_seq += 1;
        inner.published += 1;
        let frame = encode(id, event, data);
        inner.retain(seq, topic.clone(), Arc::clone(&frame));
        let mut pushed = 0;
        let followers = inner.by_topic.get(topic).into_iter().flat_map(HashMap::values);
        for mailbox in followers.chain(inner.everything.values()) {
            mailbox.push(seq, Arc::clone(&frame));
            pushed += 1;
        }
        inner.deliveries += pushed;
        Ok(id)
    }

    /// Registers a stream for `topics` and returns what it missed after
    /// `last_event_id`, atomically: nothing published in between is lost
    /// or sent twice.
    ///
    /// No id: live events only. An id of this run: the retained events
    /// after it, with `missed` if some after it have left the history.
    /// Anything else (an earlier run, an id never given out, not an id at
    /// all): everything retained, with `missed`, since what came after that
    /// id cannot be known.
    pub(crate) fn subscribe(
        &self,
        topics: Topics,
        last_event_id: Option<&str>,
    ) -> (Subscription<'_>, Replay) {
        let mut inner = self.lock();
        let (skip, missed) = match last_event_id.map(EventId::parse) {
            None => (inner.history.len(), false),
            Some(Some(id)) if id.run == self.run && id.seq < inner.next_seq => {
                let after = inner.history.partition_point(|(seq, _, _)| *seq <= id.seq);
                (after, inner.evicted_through > id.seq)
            }
            Some(_) => (0, true),
        };
        let frames = inner
            .history
            .iter()
            .skip(skip)
            .filter(|(_, topic, _)| topics.includes(topic))
            .map(|(seq, _, frame)| (*seq, Arc::clone(frame)))
            .collect();
        let id = inner.next_subscriber;
        inner.next_subscriber += 1;
        let mailbox = Mailbox::new(inner.capacity);
        match &topics {
            Topics::All => {
                inner.everything.insert(id, Arc::clone(&mailbox));
            }
            Topics::Some(names) => {
                for name in names {
                    inner.by_topic.entry(name.clone()).or_default().insert(id, Arc::clone(&mailbox));
                }
            }
        }
        (Subscription { hub: self, id, topics, mailbox }, Replay { frames, missed })
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
        for mailbox in inner.by_topic.values().flat_map(HashMap::values).chain(inner.everything.values()) {
            mailbox.close();
        }
    }
}

#[cfg(test)]
mod tests;
