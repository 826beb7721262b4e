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

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) use mailbox::{Delivery, Mailbox, Queued};

use crate::sse::{data_cost, Event, FieldError, SingleLine};
use crate::topic::{TopicError, TopicName, Topics};

/// The id the hub gave a published event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    /// When the server started, in ms since the Unix epoch.
    pub run: u64,
    /// Position in this run, from 1.
    pub seq: u64,
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.run, self.seq)
    }
}

impl EventId {
    /// Reads an id in the `RUN-SEQ` form; `None` for anything else.
    pub fn parse(text: &str) -> Option<EventId> {
        let (run, seq) = text.split_once('-')?;
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
        if !digits(run) || !digits(seq) {
            return None;
        }
        Some(EventId { run: run.parse().ok()?, seq: seq.parse().ok()? })
    }
}

/// Why an event was not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishError {
    /// The event name holds CR, LF or NUL.
    BadEventName(FieldError),
    /// The data, as sent (every line break counted as the 7 bytes of the
    /// `\ndata: ` it becomes), is over `--max-event-bytes`.
    TooLarge {
        /// Size of the refused data as sent.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::BadEventName(error) => write!(f, "bad event name: {error}"),
            PublishError::TooLarge { bytes, limit } => {
                write!(f, "event data is {bytes} bytes as sent, over the limit of {limit}")
            }
        }
    }
}

impl std::error::Error for PublishError {}

/// Publishes events to the `/events` clients of one topic. Cheap to
/// clone, and `Send`: hand one to each thread that produces events.
///
/// A publisher from [`crate::Server::publisher`] publishes to the default
/// topic (`default`); [`Publisher::on_topic`] gives one for another topic.
#[derive(Clone)]
pub struct Publisher {
    hub: Arc<Hub>,
    topic: TopicName,
}

impl Publisher {
    /// Publishes one event on this publisher's topic: `event` names it
    /// (clients listen with `addEventListener(name)`; `None` goes to
    /// `onmessage`), `data` may hold several lines. Returns the id it was
    /// given. Never waits for clients.
    ///
    /// # Errors
    ///
    /// [`PublishError`] for a name with a line break or NUL, or data over
    /// `--max-event-bytes` as sent; nothing is published then.
    pub fn publish(&self, event: Option<&str>, data: &str) -> Result<EventId, PublishError> {
        self.hub.publish(&self.topic, event, data)
    }

    /// A publisher for `topic` on the same server.
    ///
    /// ```no_run
    /// # let server = ssed::Server::bind(ssed::Config::default())?;
    /// let kitchen = server.publisher().on_topic("sensors/kitchen").expect("a valid topic name");
    /// kitchen.publish(Some("reading"), "21.5").expect("published");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`TopicError`] when `topic` breaks the name rule (1 to 128 bytes
    /// of `A-Z a-z 0-9 - . _ ~ / :`).
    pub fn on_topic(&self, topic: &str) -> Result<Publisher, TopicError> {
        Ok(Publisher { hub: Arc::clone(&self.hub), topic: TopicName::new(topic)? })
    }

    /// The topic this publisher publishes to.
    pub fn topic(&self) -> &str {
        self.topic.as_str()
    }

    /// Publishes a `--stdin` line that was measured against
    /// `--max-event-bytes` as it was read, before its invalid UTF-8 was
    /// replaced: each replaced byte becomes the 3 bytes of U+FFFD, so such a
    /// line may cost up to three times the limit as kept.
    pub(crate) fn publish_measured_line(
        &self,
        event: Option<&str>,
        data: &str,
    ) -> Result<EventId, PublishError> {
        self.hub.publish_within(&self.topic, event, data, self.hub.max_event_bytes.saturating_mul(3))
    }
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
    /// The last `capacity` events of every topic, oldest first.
    history: VecDeque<(TopicName, Arc<[u8]>)>,
    /// The sequence number of `history[0]`.
    oldest_seq: u64,
    capacity: usize,
    /// Inboxes by topic; a topic is here only while someone follows it.
    by_topic: HashMap<TopicName, HashMap<u64, Arc<Mailbox>>>,
    /// Inboxes of streams that follow every topic.
    everything: HashMap<u64, Arc<Mailbox>>,
    next_subscriber: u64,
    /// Frames pushed into inboxes, in all.
    deliveries: u64,
}

impl Inner {
    fn next_seq(&self) -> u64 {
        self.oldest_seq + self.history.len() as u64
    }
}

impl Hub {
    pub(crate) fn new(capacity: usize, max_event_bytes: usize) -> Hub {
        let run = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        Hub {
            run,
            max_event_bytes,
            inner: Mutex::new(Inner {
                history: VecDeque::with_capacity(capacity),
                oldest_seq: 1,
                capacity,
                by_topic: HashMap::new(),
                everything: HashMap::new(),
                next_subscriber: 0,
                deliveries: 0,
            }),
        }
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

    fn publish_within(
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
        let id = EventId { run: self.run, seq: inner.next_seq() };
        let id_text = id.to_string();
        let mut frame = Vec::with_capacity(data.len() + id_text.len() + 32);
        Event { retry: None, id: SingleLine::new(&id_text).ok(), event, data }.encode_into(&mut frame);
        let frame: Arc<[u8]> = frame.into();
        if inner.history.len() == inner.capacity {
            inner.history.pop_front();
            inner.oldest_seq += 1;
        }
        inner.history.push_back((topic.clone(), Arc::clone(&frame)));
        let seq = id.seq;
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
        let (cursor, missed) = match last_event_id.map(EventId::parse) {
            None => (inner.next_seq(), false),
            Some(Some(id)) if id.run == self.run && id.seq < inner.next_seq() => {
                let wanted = id.seq + 1;
                (wanted.max(inner.oldest_seq), wanted < inner.oldest_seq)
            }
            Some(_) => (inner.oldest_seq, true),
        };
        let skip = (cursor - inner.oldest_seq) as usize;
        let frames = (cursor..)
            .zip(inner.history.iter().skip(skip))
            .filter(|(_, (topic, _))| topics.includes(topic))
            .map(|(seq, (_, frame))| (seq, Arc::clone(frame)))
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
        self.lock().next_seq() - 1
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
