//! Subscribing: registering a stream's inbox for its topics, and finding
//! what it missed after its `Last-Event-ID`, with no gap and no duplicate.
//!
//! ```text
//! under the hub's lock:  register the inbox ─┬─ the id is in memory: the retained frames after it
//!                                           └─ older (a shared stream): remember the newest id L
//! outside the lock:      ask the shared stream for (id, L]; live frames after L are in the inbox
//! ```

use std::sync::Arc;

use super::{encode, EventId, Follower, FollowerOfAll, Hub, Mailbox, Queued};
use crate::auth::Reader;
use crate::proto::sse::SingleLine;
use crate::proto::topic::Topics;

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

/// Where a replay comes from.
enum Source {
    /// The retained frames from this index of the history on.
    Memory { from: usize, missed: bool },
    /// The shared stream, after this id up to the newest delivered one.
    Upstream { after: EventId, through: EventId },
}

impl Hub {
    /// Registers a stream for `topics` and returns what it missed after
    /// `last_event_id`.
    ///
    /// No id: live events only. An id this server can place (of this run
    /// without a shared stream; any id with one): the events after it,
    /// from memory or from the shared stream, with `missed` if some are
    /// gone. Anything else (an earlier run, an id never given out, not an
    /// id at all): everything retained, with `missed`, since what came
    /// after that id cannot be known.
    pub(crate) fn subscribe(
        &self,
        topics: Topics,
        last_event_id: Option<&str>,
        reader: Reader,
    ) -> (Subscription<'_>, Replay) {
        let parsed = last_event_id.map(EventId::parse);
        // An id newer than any this server delivered: another server may
        // have given it (its reader is ahead of this one's), or none did (a
        // guess, an id of another stream). The shared stream tells, asked
        // outside the lock; one never given is answered like an unknown id
        // without a shared stream: `missed`, the history, then live events.
        let never_given = match (&self.upstream, parsed) {
            (Some(upstream), Some(Some(id))) if self.last_id().is_none_or(|last| id > last) => {
                upstream.never_given(id)
            }
            _ => false,
        };
        let mut inner = self.lock();
        // Memory answers "what came after this id" when no event after it has
        // left the history; with a shared stream, memory only holds what
        // this server delivered, so the id must be within what it retains.
        let covered = |id: EventId| match &self.upstream {
            None => inner.evicted_through.is_none_or(|evicted| id >= evicted),
            Some(_) => inner.history.front().is_some_and(|oldest| id >= oldest.id),
        };
        let source = match parsed {
            None => Source::Memory { from: inner.history.len(), missed: false },
            Some(Some(_)) if never_given => Source::Memory { from: 0, missed: true },
            Some(Some(id)) if self.upstream.is_some() && !covered(id) => match inner.last_id {
                Some(through) => Source::Upstream { after: id, through },
                None => Source::Memory { from: 0, missed: true },
            },
            Some(Some(id)) if self.upstream.is_some() || (id.run == self.run && id.seq < inner.next_seq) => {
                let from = inner.history.partition_point(|retained| retained.id <= id);
                Source::Memory { from, missed: !covered(id) }
            }
            Some(_) => Source::Memory { from: 0, missed: true },
        };
        let (frames, missed) = match source {
            Source::Memory { from, missed } => {
                let frames = inner
                    .history
                    .iter()
                    .skip(from)
                    .filter(|retained| topics.includes(&retained.topic))
                    .filter(|retained| !retained.private || reader.reads_private(retained.topic.as_str()))
                    .map(|retained| (retained.position, Arc::clone(&retained.frame)))
                    .collect();
                (frames, missed)
            }
            Source::Upstream { .. } => (Vec::new(), false),
        };
        let id = inner.next_subscriber;
        inner.next_subscriber += 1;
        // With a shared stream, a client may come back with an id this
        // server's reader has not delivered yet: what arrives up to it, the
        // client has already.
        let skip_through = match parsed {
            Some(Some(id))
                if self.upstream.is_some() && !never_given && inner.last_id.is_none_or(|last| id > last) =>
            {
                Some(id)
            }
            _ => None,
        };
        let mailbox = Mailbox::new(inner.capacity, skip_through);
        let reader = Arc::new(reader);
        match &topics {
            Topics::All => {
                let follower = FollowerOfAll { mailbox: Arc::clone(&mailbox), reader: Arc::clone(&reader) };
                inner.everything.insert(id, follower);
            }
            Topics::Some(names) => {
                for name in names {
                    // Decided once here, so a private publish asks no selector.
                    let reads_private = reader.reads_private(name.as_str());
                    let follower = Follower { mailbox: Arc::clone(&mailbox), reads_private };
                    inner.by_topic.entry(name.clone()).or_default().insert(id, follower);
                }
            }
        }
        let capacity = inner.capacity;
        drop(inner);
        let replay = match source {
            Source::Upstream { after, through } => {
                self.replay_upstream(&topics, &reader, after, through, capacity)
            }
            Source::Memory { .. } => Replay { frames, missed },
        };
        (Subscription { hub: self, id, topics, mailbox }, replay)
    }

    /// The events after `after` up to `through` from the shared stream,
    /// filtered to `topics`; `missed` when some are gone or the stream
    /// cannot be asked.
    fn replay_upstream(
        &self,
        topics: &Topics,
        reader: &Reader,
        after: EventId,
        through: EventId,
        count: usize,
    ) -> Replay {
        let Some(upstream) = &self.upstream else { return Replay { frames: Vec::new(), missed: true } };
        match upstream.replay(after, through, count) {
            Ok((entries, trimmed)) => {
                let frames = entries
                    .into_iter()
                    .filter(|entry| topics.includes(&entry.topic))
                    .filter(|entry| !entry.private || reader.reads_private(entry.topic.as_str()))
                    .map(|entry| {
                        let event = entry.event.as_deref().and_then(|name| SingleLine::new(name).ok());
                        // Not from this server's order: position 0 never
                        // makes an inbox look behind.
                        (0, encode(entry.id, event, &entry.data))
                    })
                    .collect();
                Replay { frames, missed: trimmed }
            }
            Err(_) => Replay { frames: Vec::new(), missed: true },
        }
    }
}
