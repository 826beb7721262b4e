//! Subscribing: registering a stream's inbox for its topics, and finding
//! what it missed after its `Last-Event-ID`, with no gap and no duplicate.
//!
//! ```text
//! under the hub's lock:  register the inbox ─┬─ the id is in memory: the retained frames after it
//!                                           └─ older (a shared stream): remember the newest id L
//! outside the lock:      ask the shared stream for (id, L]; live frames after L are in the inbox
//! ```

use std::sync::Arc;

use super::{encode, EventId, Hub, Interest, Mailbox, Queued};
use crate::auth::Reader;

/// What a new stream gets: the retained frames it missed, whether some it
/// asked for are gone, and what became of the id it came with.
pub(crate) struct Replay {
    pub(crate) frames: Vec<Queued>,
    pub(crate) missed: bool,
    pub(crate) found: Found,
}

/// What became of a stream's last event id (Mercure rule 26).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// It came with none.
    NoId,
    /// Found: the replay starts after it.
    Known,
    /// Not found: the replay is all the history holds.
    Unknown,
}

/// A stream's registration with the hub; dropping it unsubscribes.
pub(crate) struct Subscription<'a> {
    hub: &'a Hub,
    id: u64,
    interest: Interest,
    /// Where the hub puts this stream's frames.
    pub(crate) mailbox: Arc<Mailbox>,
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        self.hub.lock().followers.remove(self.id, &self.interest);
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
        interest: Interest,
        last_event_id: Option<&str>,
        reader: Reader,
    ) -> (Subscription<'_>, Replay) {
        let parsed = last_event_id.map(EventId::parse);
        let mut found = match last_event_id {
            None => Found::NoId,
            Some(_) => Found::Known,
        };
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
        // An id its publisher gave (Mercure's `id`, a `urn:uuid:`) is found
        // by looking, newest first: publishers may reuse ids.
        let labelled = match (last_event_id, parsed) {
            (Some(label), Some(None)) => {
                inner.history.iter().rposition(|retained| retained.label.as_deref() == Some(label))
            }
            _ => None,
        };
        let source = match parsed {
            None => Source::Memory { from: inner.history.len(), missed: false },
            Some(None) if labelled.is_some() => {
                Source::Memory { from: labelled.map_or(0, |at| at + 1), missed: false }
            }
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
        if let Source::Memory { from: 0, missed: true } = source {
            found = Found::Unknown;
        }
        let (frames, missed) = match source {
            Source::Memory { from, missed } => {
                let frames = inner
                    .history
                    .iter()
                    .skip(from)
                    .filter(|retained| interest.includes(&retained.topics))
                    .filter(|retained| {
                        !retained.private || retained.topics.iter().any(|topic| reader.reads_private(topic))
                    })
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
        inner.followers.add(id, &interest, &mailbox, &reader);
        let capacity = inner.capacity;
        drop(inner);
        let replay = match source {
            Source::Upstream { after, through } => {
                self.replay_upstream(&interest, &reader, after, through, capacity, found)
            }
            Source::Memory { .. } => Replay { frames, missed, found },
        };
        (Subscription { hub: self, id, interest, mailbox }, replay)
    }

    /// The events after `after` up to `through` from the shared stream,
    /// filtered to `topics`; `missed` when some are gone or the stream
    /// cannot be asked.
    fn replay_upstream(
        &self,
        interest: &Interest,
        reader: &Reader,
        after: EventId,
        through: EventId,
        count: usize,
        found: Found,
    ) -> Replay {
        let Some(upstream) = &self.upstream else {
            return Replay { frames: Vec::new(), missed: true, found };
        };
        match upstream.replay(after, through, count) {
            Ok((entries, trimmed)) => {
                let frames = entries
                    .into_iter()
                    .filter(|entry| interest.includes(&entry.topics))
                    .filter(|entry| {
                        !entry.private || entry.topics.iter().any(|topic| reader.reads_private(topic))
                    })
                    // Not from this server's order: position 0 never makes
                    // an inbox look behind.
                    .map(|entry| (0, entry.with_view(|event| encode(entry.id, event))))
                    .collect();
                Replay { frames, missed: trimmed, found }
            }
            Err(_) => Replay { frames: Vec::new(), missed: true, found },
        }
    }
}
