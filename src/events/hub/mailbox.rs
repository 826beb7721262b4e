//! One `/events` stream's inbox: where the hub puts the frames of the
//! stream's topics, and where the stream's thread, and only it, waits.
//!
//! ```text
//! publish to "room/a" ─► hub: for each inbox subscribed to room/a (or to all)
//!                              push(frame) ─► notify_one ─► that thread wakes
//!                        inboxes of other topics: untouched, their threads sleep on
//! ```
//!
//! Each inbox has its own lock and condition variable, so a publish wakes
//! exactly the streams it is for, and a woken thread takes only its own
//! lock: it swaps the queued frames out and writes them with no lock held.
//! An inbox only ever holds frames that are still in the history: when the
//! frame at its front is `--history` events older than the one being
//! pushed, the history has let it go, the stream is further behind than a
//! replay could cover, and it is told so and ended. So a slow client never
//! holds memory of its own: every queued frame is shared with the history.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::EventId;

/// Frames waiting for one stream.
pub(crate) struct Mailbox {
    inbox: Mutex<Inbox>,
    ready: Condvar,
    capacity: usize,
    /// Events up to this id are not for this stream: its client has them
    /// (it reconnected with an id this server had not read from the shared
    /// stream yet).
    skip_through: Option<EventId>,
}

/// A queued frame and its sequence number.
pub(crate) type Queued = (u64, Arc<[u8]>);

struct Inbox {
    frames: VecDeque<Queued>,
    overflowed: bool,
    closed: bool,
}

/// What a stream finds when it looks in its inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Frames were moved out; `woken` when the thread slept for them.
    Frames {
        /// The thread waited and a publish woke it.
        woken: bool,
    },
    /// Nothing before the deadline.
    TimedOut,
    /// A queued frame left the history: the stream is too slow.
    FellBehind,
    /// The server is shutting down.
    ShuttingDown,
}

impl Mailbox {
    /// An empty inbox for a history of `capacity` events.
    pub(crate) fn new(capacity: usize, skip_through: Option<EventId>) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            skip_through,
            inbox: Mutex::new(Inbox { frames: VecDeque::with_capacity(4), overflowed: false, closed: false }),
            ready: Condvar::new(),
            capacity,
        })
    }

    /// No code panics while holding the lock, so a poisoned lock still
    /// holds a consistent inbox.
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues frame `seq` (of event `id`) and wakes the stream's thread if
    /// it waits.
    pub(crate) fn push(&self, seq: u64, id: EventId, frame: Arc<[u8]>) {
        if self.skip_through.is_some_and(|skip| id <= skip) {
            return;
        }
        let mut inbox = self.lock();
        if inbox.overflowed || inbox.closed {
            return;
        }
        let oldest_kept = inbox.frames.front().map_or(seq, |&(front, _)| front);
        if seq - oldest_kept >= self.capacity as u64 {
            // The stream will end; the frames are of no use to it.
            inbox.overflowed = true;
            inbox.frames = VecDeque::new();
        } else {
            inbox.frames.push_back((seq, frame));
        }
        drop(inbox);
        self.ready.notify_one();
    }

    /// Ends the stream at its next look (shutdown).
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// Waits until frames are queued or `deadline` passes; queued frames
    /// are swapped into `out` (which must be empty), so neither side
    /// allocates once both queues have grown to their usual size.
    pub(crate) fn take(&self, out: &mut VecDeque<Queued>, deadline: Instant) -> Delivery {
        let mut inbox = self.lock();
        let mut woken = false;
        loop {
            if inbox.closed {
                return Delivery::ShuttingDown;
            }
            if inbox.overflowed {
                return Delivery::FellBehind;
            }
            if !inbox.frames.is_empty() {
                std::mem::swap(&mut inbox.frames, out);
                return Delivery::Frames { woken };
            }
            let timeout = deadline.saturating_duration_since(Instant::now());
            if timeout.is_zero() {
                return Delivery::TimedOut;
            }
            inbox = self.ready.wait_timeout(inbox, timeout).unwrap_or_else(PoisonError::into_inner).0;
            woken = true;
        }
    }
}
