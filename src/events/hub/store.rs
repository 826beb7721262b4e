//! What the hub asks of where events are kept beyond memory: a [`Store`]
//! (the journal: one file, this server's order) or an [`Upstream`] (Redis:
//! a stream several servers share, which gives the order), and the event
//! as both keep it.
//!
//! ```text
//! NewEvent { topics: ["https://example.com/books/1", "books"], event: Some("update"),
//!            data: "{…}", private: true, label: Some("urn:uuid:…"), retry: None }
//! ```

use std::io;
use std::sync::Arc;

use super::{EventId, PublishError};

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
/// the one that published included, through `Hub::deliver`.
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
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewEvent<'a> {
    /// Its topics: the first is canonical, the others alternates; it
    /// reaches the followers of any of them.
    pub(crate) topics: &'a [&'a str],
    /// Its `event:` name (Mercure's `type`).
    pub(crate) event: Option<&'a str>,
    pub(crate) data: &'a str,
    /// Only streams whose token may read one of its topics get it.
    pub(crate) private: bool,
    /// The id its publisher gave (Mercure's `id`, or a `urn:uuid:` the hub
    /// made): the `id:` it goes out with. `None`: its `RUN-SEQ` id.
    pub(crate) label: Option<&'a str>,
    /// A `retry:` line of its own, in milliseconds.
    pub(crate) retry: Option<u64>,
}

impl<'a> NewEvent<'a> {
    /// A plain event of one topic, as `/publish`, stdin and `Publisher` make.
    pub(crate) fn on(
        topics: &'a [&'a str],
        event: Option<&'a str>,
        data: &'a str,
        private: bool,
    ) -> NewEvent<'a> {
        NewEvent { topics, event, data, private, label: None, retry: None }
    }
}

/// One event as a store or a shared stream hands it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: EventId,
    /// Canonical first; never empty.
    pub(crate) topics: Vec<Arc<str>>,
    pub(crate) event: Option<String>,
    pub(crate) data: String,
    pub(crate) private: bool,
    pub(crate) label: Option<String>,
    pub(crate) retry: Option<u64>,
}

impl Entry {
    /// Calls `f` with this entry as the event the hub publishes and
    /// encodes, borrowed.
    pub(crate) fn with_view<R>(&self, f: impl FnOnce(&NewEvent<'_>) -> R) -> R {
        let topics: Vec<&str> = self.topics.iter().map(|topic| &**topic).collect();
        f(&NewEvent {
            topics: &topics,
            event: self.event.as_deref(),
            data: &self.data,
            private: self.private,
            label: self.label.as_deref(),
            retry: self.retry,
        })
    }

    /// A plain event of one topic.
    #[cfg(test)]
    pub(crate) fn plain(
        id: EventId,
        topic: &str,
        event: Option<String>,
        data: String,
        private: bool,
    ) -> Entry {
        Entry { id, topics: vec![Arc::from(topic)], event, data, private, label: None, retry: None }
    }
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
