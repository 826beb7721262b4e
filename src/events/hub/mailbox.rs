//! One `/events` stream's inbox: where the hub hands over the frames of the
//! stream's topics, and where the stream's thread, and only it, waits.
//!
//! ```text
//! publish to "room/a" ─► hub: for each inbox subscribed to room/a (or to all)
//!   live and idle:    write(frame) on the stream's socket, non-blocking   one send, nobody wakes
//!   would block,      queue the rest ─► notify_one ─► the thread wakes and
//!   or busy:                                          writes it, blocking (--write-timeout)
//!                        inboxes of other topics: untouched, their threads sleep on
//! ```
//!
//! Each inbox has its own lock and condition variable. Once the stream's
//! thread has written its opening and replay, it lends its socket to the
//! inbox ([`Mailbox::attach`]): while nothing is queued and the thread
//! waits, the socket is non-blocking and a publisher writes each frame
//! straight to it, under this lock, and nobody wakes. A write that would
//! block, or is partial, leaves the rest (and every later frame) queued
//! and wakes the thread, which writes in blocking mode with no lock held:
//! the publisher never waits for a client. The socket's mode is switched
//! only under the lock, and it is non-blocking exactly while publishers may
//! write ("direct"), so the thread's own writes are always blocking.
//!
//! An inbox only ever holds frames that are still in the history: when the
//! frame at its front is `--history` events older than the one being
//! pushed, the history has let it go, the stream is further behind than a
//! replay could cover, and it is told so and ended. So a slow client never
//! holds memory of its own: every queued frame is shared with the history.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::TcpStream;
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

/// Where frames written by a publisher are counted, as if the stream's
/// thread had written them (the server's metrics).
pub(crate) trait Tally: Send + Sync {
    /// `bytes` written to a client, completing `events` events.
    fn written(&self, bytes: usize, events: u64);
}

/// The stream's socket, lent to its inbox while the stream is live.
pub(crate) struct Sink {
    /// The same socket the stream's thread writes to (no second fd).
    pub(crate) socket: Arc<TcpStream>,
    pub(crate) tally: Arc<dyn Tally>,
}

struct Inbox {
    frames: VecDeque<Queued>,
    /// Bytes of the front frame a publisher already wrote.
    front_written: usize,
    overflowed: bool,
    closed: bool,
    /// A publisher's write failed: the client has gone.
    failed: Option<io::ErrorKind>,
    sink: Option<Sink>,
    /// The socket is non-blocking and publishers write to it: nothing is
    /// queued and the stream's thread is not writing.
    direct: bool,
    /// The stream's thread sleeps on `ready`.
    waiting: bool,
    /// When a publisher last wrote a whole frame (keep-alives count from it).
    last_written: Option<Instant>,
    /// Frames publishers wrote whole (a frame they began and the thread
    /// finished is counted by the thread).
    written_directly: u64,
}

/// What a stream finds when it looks in its inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Frames were moved out; `woken` when the thread slept for them;
    /// the first one's first `front_written` bytes were written already.
    Frames {
        /// The thread waited and a publish woke it.
        woken: bool,
        /// Bytes of the first frame a publisher wrote.
        front_written: usize,
    },
    /// Nothing before the deadline.
    TimedOut,
    /// A queued frame left the history: the stream is too slow.
    FellBehind,
    /// A publisher's write to the socket failed this way.
    WriteFailed(io::ErrorKind),
    /// The server is shutting down.
    ShuttingDown,
}

impl Mailbox {
    /// An empty inbox for a history of `capacity` events.
    pub(crate) fn new(capacity: usize, skip_through: Option<EventId>) -> Arc<Mailbox> {
        let inbox = Inbox {
            frames: VecDeque::with_capacity(4),
            front_written: 0,
            overflowed: false,
            closed: false,
            failed: None,
            sink: None,
            direct: false,
            waiting: false,
            last_written: None,
            written_directly: 0,
        };
        Arc::new(Mailbox { skip_through, inbox: Mutex::new(inbox), ready: Condvar::new(), capacity })
    }

    /// No code panics while holding the lock, so a poisoned lock still
    /// holds a consistent inbox.
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands frame `seq` (of event `id`, published at `now`) to the stream:
    /// written straight to its socket when it is direct, else queued, and
    /// the stream's thread woken if it waits. The frame is borrowed: one that
    /// is written at once is never shared (no reference-count traffic).
    pub(crate) fn push(&self, seq: u64, id: EventId, frame: &Arc<[u8]>, now: Instant) {
        if self.skip_through.is_some_and(|skip| id <= skip) {
            return;
        }
        let mut inbox = self.lock();
        if inbox.overflowed || inbox.closed || inbox.failed.is_some() {
            return;
        }
        if inbox.direct {
            match inbox.write_directly(frame) {
                Ok(written) if written == frame.len() => {
                    inbox.written_directly += 1;
                    inbox.last_written = Some(now);
                    return;
                }
                Ok(written) => {
                    inbox.front_written = written;
                    inbox.frames.push_back((seq, Arc::clone(frame)));
                }
                Err(error)
                    if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) =>
                {
                    inbox.frames.push_back((seq, Arc::clone(frame)));
                }
                Err(error) => inbox.failed = Some(error.kind()),
            }
            // The thread takes over: the socket goes back to blocking.
            inbox.end_direct();
        } else {
            let oldest_kept = inbox.frames.front().map_or(seq, |&(front, _)| front);
            if seq - oldest_kept >= self.capacity as u64 {
                // The stream will end; the frames are of no use to it.
                inbox.overflowed = true;
                inbox.frames = VecDeque::new();
                inbox.front_written = 0;
            } else {
                inbox.frames.push_back((seq, Arc::clone(frame)));
            }
        }
        let waiting = inbox.waiting;
        drop(inbox);
        if waiting {
            self.ready.notify_one();
        }
    }

    /// Ends the stream at its next look (shutdown).
    pub(crate) fn close(&self) {
        let mut inbox = self.lock();
        inbox.closed = true;
        inbox.end_direct();
        drop(inbox);
        self.ready.notify_one();
    }

    /// Lends the stream's socket to its inbox: from the thread's next wait
    /// on, publishers write to it while nothing is queued. Called once the
    /// opening and the replay are written, so those come first.
    pub(crate) fn attach(&self, sink: Sink) {
        self.lock().sink = Some(sink);
    }

    /// Takes the socket back for good (the stream ends): no publisher
    /// writes to it after this returns, and it is blocking again. Returns
    /// how many frames publishers wrote whole.
    pub(crate) fn detach(&self) -> u64 {
        let mut inbox = self.lock();
        inbox.end_direct();
        inbox.sink = None;
        inbox.written_directly
    }

    /// Takes the socket for a write of the thread's own (a keep-alive):
    /// `false` when frames are queued or the stream is ending, which the
    /// next [`Mailbox::take`] tells.
    pub(crate) fn claim(&self) -> bool {
        let mut inbox = self.lock();
        let free = inbox.frames.is_empty() && !inbox.overflowed && !inbox.closed && inbox.failed.is_none();
        if free {
            inbox.end_direct();
        }
        free
    }

    /// When a publisher last wrote a whole frame to the socket.
    pub(crate) fn last_written(&self) -> Option<Instant> {
        self.lock().last_written
    }

    /// Waits until frames are queued or `deadline` passes; queued frames
    /// are swapped into `out` (which must be empty), so neither side
    /// allocates once both queues have grown to their usual size. While it
    /// waits with nothing queued, publishers write to the socket (once
    /// [`Mailbox::attach`] lent it); when it returns frames, the thread has
    /// the socket, blocking, to itself.
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
            if let Some(kind) = inbox.failed {
                return Delivery::WriteFailed(kind);
            }
            if !inbox.frames.is_empty() {
                inbox.end_direct();
                if let Some(kind) = inbox.failed {
                    return Delivery::WriteFailed(kind);
                }
                std::mem::swap(&mut inbox.frames, out);
                let front_written = std::mem::take(&mut inbox.front_written);
                return Delivery::Frames { woken, front_written };
            }
            let timeout = deadline.saturating_duration_since(Instant::now());
            if timeout.is_zero() {
                return Delivery::TimedOut;
            }
            inbox.begin_direct();
            inbox.waiting = true;
            inbox = self.ready.wait_timeout(inbox, timeout).unwrap_or_else(PoisonError::into_inner).0;
            inbox.waiting = false;
            woken = true;
        }
    }
}

impl Inbox {
    /// Makes the socket non-blocking and open to publishers, if one is
    /// lent; if the mode cannot be set, frames queue as without a socket.
    fn begin_direct(&mut self) {
        if self.direct {
            return;
        }
        if let Some(sink) = &self.sink {
            self.direct = sink.socket.set_nonblocking(true).is_ok();
        }
    }

    /// Closes the socket to publishers and makes it blocking again.
    fn end_direct(&mut self) {
        if !self.direct {
            return;
        }
        self.direct = false;
        if let Some(sink) = &self.sink {
            if let Err(error) = sink.socket.set_nonblocking(false) {
                // The thread's writes would not wait: the stream cannot go on.
                self.failed = Some(error.kind());
            }
        }
    }

    /// One non-blocking write of `frame`; what it wrote is counted.
    fn write_directly(&self, frame: &[u8]) -> io::Result<usize> {
        let Some(sink) = &self.sink else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let written = (&*sink.socket).write(frame)?;
        sink.tally.written(written, u64::from(written == frame.len()));
        Ok(written)
    }
}
