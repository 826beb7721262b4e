//! What a producer holds: a [`Publisher`] for one topic, the [`EventId`]
//! a publish returns, and the [`PublishError`] it may return instead.
//!
//! ```text
//! let kitchen = server.publisher().on_topic("sensors/kitchen")?;
//! kitchen.publish(Some("reading"), "21.5")?   ─►  Ok(1795633887897-42)
//! ```

use std::fmt;
use std::io;
use std::sync::Arc;

use super::{Hub, NewEvent};
use crate::proto::sse::FieldError;
use crate::proto::topic::{TopicError, TopicName};

/// The id the hub gave a published event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    /// When the server started (with a journal: when the journal was
    /// created), in ms since the Unix epoch.
    pub run: u64,
    /// Position in this run, from 1; strictly increasing, not always
    /// consecutive.
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
    /// The event could not be stored (the journal's disk is full, say):
    /// nothing was published; try again later.
    Unavailable(io::ErrorKind),
    /// The event went to the shared stream (`--redis`) and no answer came
    /// in time: it may be published or not, and a retry may publish it
    /// twice.
    OutcomeUnknown(io::ErrorKind),
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
            PublishError::Unavailable(kind) => write!(f, "could not store the event: {kind}"),
            PublishError::OutcomeUnknown(kind) => {
                write!(f, "no answer from the shared stream ({kind}): outcome unknown, a retry may duplicate")
            }
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
    pub(super) hub: Arc<Hub>,
    pub(super) topic: TopicName,
    /// Its events reach only the streams whose token may read the topic.
    pub(super) private: bool,
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
    /// `--max-event-bytes` as sent, or an event that could not be stored;
    /// nothing is published then. With `--redis`, also
    /// [`PublishError::OutcomeUnknown`]: the event may have been published.
    pub fn publish(&self, event: Option<&str>, data: &str) -> Result<EventId, PublishError> {
        self.hub.publish(&self.topic, event, data, self.private)
    }

    /// A publisher for the same topic whose events are private: only the
    /// `/events` streams whose token's `mercure.subscribe` selectors match
    /// the topic get them, live and in replay, here and (kept by the
    /// journal or Redis) after a restart or on another instance.
    ///
    /// ```text
    /// let inbox = server.publisher().on_topic("users/42")?.private();
    /// inbox.publish(None, "your order shipped")?;
    /// ```
    pub fn private(&self) -> Publisher {
        Publisher { hub: Arc::clone(&self.hub), topic: self.topic.clone(), private: true }
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
        Ok(Publisher { hub: Arc::clone(&self.hub), topic: TopicName::new(topic)?, private: self.private })
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
        let limit = self.hub.max_event_bytes().saturating_mul(3);
        let topics = [self.topic.as_str()];
        self.hub.publish_new(&NewEvent::on(&topics, event, data, self.private), limit)
    }
}
