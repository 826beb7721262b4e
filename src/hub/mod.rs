//! The hub: where published events wait for the `/events` streams, in a
//! bounded history that lets a reconnecting client catch up.
//!
//! ```text
//! Publisher::publish ─► encode once ─► History (last --history frames)
//!   (Rust, stdin,                      │  seq 38   Arc<[u8]> "id: …-38\ndata: …\n\n"
//!    POST /publish)                    │  seq 39   …
//!                                      └► every /events thread clones the Arc
//!                                         of the frame at its own cursor and
//!                                         writes it: no copy, no re-encoding
//! ```
//!
//! Ids are `RUN-SEQ`: `RUN` is the server's start time in milliseconds since
//! the Unix epoch, `SEQ` counts from 1. Within a run ids strictly increase;
//! an id from an earlier run is recognised by its `RUN`.
//!
//! A publisher never waits for a client: it takes the lock for as long as it
//! takes to push one frame, wakes the streams, and returns. A stream that
//! falls so far behind that its next frame has left the history is told so
//! and disconnected.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::sse::{data_cost, Event, FieldError, SingleLine};

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

/// Publishes events to every `/events` client of one server. Cheap to
/// clone, and `Send`: hand one to each thread that produces events.
#[derive(Clone)]
pub struct Publisher {
    hub: Arc<Hub>,
}

impl Publisher {
    /// Publishes one event: `event` names it (clients listen with
    /// `addEventListener(name)`; `None` goes to `onmessage`), `data` may hold
    /// several lines. Returns the id it was given. Never waits for clients.
    ///
    /// # Errors
    ///
    /// [`PublishError`] for a name with a line break or NUL, or data over
    /// `--max-event-bytes`; nothing is published then.
    pub fn publish(&self, event: Option<&str>, data: &str) -> Result<EventId, PublishError> {
        self.hub.publish(event, data)
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
        self.hub.publish_within(event, data, self.hub.max_event_bytes.saturating_mul(3))
    }
}

/// What a stream finds at its cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// The frame with this sequence number.
    Frame(u64, Arc<[u8]>),
    /// The frame at the cursor has left the history.
    FellBehind,
    /// Nothing new before the deadline.
    TimedOut,
}

/// Where a new stream starts reading, and whether it missed events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resume {
    pub(crate) cursor: u64,
    pub(crate) missed: bool,
}

pub(crate) struct Hub {
    run: u64,
    max_event_bytes: usize,
    history: Mutex<History>,
    published: Condvar,
}

/// The last `capacity` frames; `oldest_seq` is the sequence of the first.
struct History {
    frames: VecDeque<Arc<[u8]>>,
    oldest_seq: u64,
    capacity: usize,
}

impl History {
    fn next_seq(&self) -> u64 {
        self.oldest_seq + self.frames.len() as u64
    }
}

impl Hub {
    pub(crate) fn new(capacity: usize, max_event_bytes: usize) -> Hub {
        let run = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        Hub {
            run,
            max_event_bytes,
            history: Mutex::new(History {
                frames: VecDeque::with_capacity(capacity),
                oldest_seq: 1,
                capacity,
            }),
            published: Condvar::new(),
        }
    }

    pub(crate) fn publisher(self: &Arc<Hub>) -> Publisher {
        Publisher { hub: Arc::clone(self) }
    }

    /// No code panics while holding the lock, so a poisoned lock still
    /// holds a consistent history.
    fn lock(&self) -> MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn publish(&self, event: Option<&str>, data: &str) -> Result<EventId, PublishError> {
        self.publish_within(event, data, self.max_event_bytes)
    }

    fn publish_within(&self, event: Option<&str>, data: &str, limit: usize) -> Result<EventId, PublishError> {
        let event = event.map(SingleLine::new).transpose().map_err(PublishError::BadEventName)?;
        let cost = data_cost(data);
        if cost > limit {
            return Err(PublishError::TooLarge { bytes: cost, limit });
        }
        let mut history = self.lock();
        let id = EventId { run: self.run, seq: history.next_seq() };
        let id_text = id.to_string();
        let mut frame = Vec::with_capacity(data.len() + id_text.len() + 32);
        Event { retry: None, id: SingleLine::new(&id_text).ok(), event, data }.encode_into(&mut frame);
        if history.frames.len() == history.capacity {
            history.frames.pop_front();
            history.oldest_seq += 1;
        }
        history.frames.push_back(frame.into());
        drop(history);
        self.published.notify_all();
        Ok(id)
    }

    /// Where a client that sent `last_event_id` (or none) starts.
    ///
    /// No id: live events only. An id of this run: the event after it, with
    /// `missed` if that one has left the history. Anything else (an earlier
    /// run, an id never given out, not an id at all): everything retained,
    /// with `missed`, since what came after that id cannot be known.
    pub(crate) fn resume(&self, last_event_id: Option<&str>) -> Resume {
        let history = self.lock();
        let Some(text) = last_event_id else {
            return Resume { cursor: history.next_seq(), missed: false };
        };
        match EventId::parse(text) {
            Some(id) if id.run == self.run && id.seq < history.next_seq() => {
                let wanted = id.seq + 1;
                Resume { cursor: wanted.max(history.oldest_seq), missed: wanted < history.oldest_seq }
            }
            _ => Resume { cursor: history.oldest_seq, missed: true },
        }
    }

    /// The frame at `cursor`, waiting for it until `deadline`.
    pub(crate) fn next(&self, cursor: u64, deadline: Instant) -> Next {
        let mut history = self.lock();
        loop {
            if cursor < history.oldest_seq {
                return Next::FellBehind;
            }
            if let Some(frame) = history.frames.get((cursor - history.oldest_seq) as usize) {
                return Next::Frame(cursor, Arc::clone(frame));
            }
            let timeout = deadline.saturating_duration_since(Instant::now());
            if timeout.is_zero() {
                return Next::TimedOut;
            }
            history = self.published.wait_timeout(history, timeout).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// How many events were published since the server started.
    pub(crate) fn published_count(&self) -> u64 {
        self.lock().next_seq() - 1
    }

    /// Wakes every waiting stream, e.g. to notice a shutdown.
    pub(crate) fn wake_all(&self) {
        self.published.notify_all();
    }
}

#[cfg(test)]
mod tests;
