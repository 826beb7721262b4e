//! Small things done to a connected socket, the same way everywhere: the
//! one read that ends at a deadline, closing without losing the answer,
//! and looking whether the client has gone.
//!
//! ```text
//! read_within(deadline)  ─► Bytes(n) | Closed (FIN) | TimedOut | Failed(error)
//! close_gently           ─► shutdown(Write) = FIN ─► read and discard ≤ 64 KiB, ≤ 500 ms ─► drop
//! ```
//!
//! Every reader of a client (the request head, a publish body, the refusal
//! thread, the lingering close, the ping stream's wait) goes through
//! [`read_within`], so a deadline means the same thing everywhere: counted
//! once, from a fixed instant, not renewed by each byte that arrives.
//!
//! Not here: what is written (the connection and stream modules decide).

use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::proto::close::{is_timeout, CloseReason};

/// How long, at most, we keep reading (and discarding) after an answer
/// before closing. See [`close_gently`].
const LINGER: Duration = Duration::from_millis(500);
/// How much, at most, we read and discard after an answer.
const LINGER_BYTES: usize = 64 * 1024;

/// What one [`read_within`] gave.
#[derive(Debug)]
pub(crate) enum ReadOutcome {
    /// This many bytes (at least one) are in the buffer.
    Bytes(usize),
    /// The client closed its side (FIN): no more bytes will come.
    Closed,
    /// The deadline passed first.
    TimedOut,
    /// The socket failed (a reset, among others).
    Failed(io::Error),
}

impl ReadOutcome {
    /// How the connection ends when this read ends it: `None` for bytes
    /// and for a deadline, which are the caller's to judge.
    pub(crate) fn close_reason(&self) -> Option<CloseReason> {
        match self {
            ReadOutcome::Bytes(_) | ReadOutcome::TimedOut => None,
            ReadOutcome::Closed => Some(CloseReason::ClientClosed),
            ReadOutcome::Failed(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                Some(CloseReason::ClientReset)
            }
            ReadOutcome::Failed(error) => Some(CloseReason::ReadFailed(error.kind())),
        }
    }
}

/// Reads once into `buffer`, waiting at most until `deadline`. The one
/// deadline read of the server: an interrupted read is retried, a read
/// timeout is [`ReadOutcome::TimedOut`], and a deadline already past reads
/// nothing.
pub(crate) fn read_within(mut socket: &TcpStream, buffer: &mut [u8], deadline: Instant) -> ReadOutcome {
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return ReadOutcome::TimedOut;
        }
        if let Err(error) = socket.set_read_timeout(Some(remaining)) {
            return ReadOutcome::Failed(error);
        }
        return match socket.read(buffer) {
            Ok(0) => ReadOutcome::Closed,
            Ok(count) => ReadOutcome::Bytes(count),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if is_timeout(&error) => ReadOutcome::TimedOut,
            Err(error) => ReadOutcome::Failed(error),
        };
    }
}

/// Sends FIN, then reads and discards what the client still sends, for at
/// most [`LINGER`] and [`LINGER_BYTES`], before the socket is dropped.
/// Dropping a socket with unread input makes the kernel answer with RST,
/// and a client that gets RST may throw away the response it has not read
/// yet. Every answer that ends a connection ends through here.
pub(crate) fn close_gently(socket: &TcpStream) {
    close_gently_within(socket, LINGER);
}

/// [`close_gently`], lingering at most `linger`: the refusal thread, which
/// answers one turned-away client after another, lingers less.
pub(crate) fn close_gently_within(socket: &TcpStream, linger: Duration) {
    if socket.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let until = Instant::now() + linger;
    let mut scratch = [0u8; 512];
    let mut discarded = 0usize;
    while discarded < LINGER_BYTES {
        match read_within(socket, &mut scratch, until) {
            ReadOutcome::Bytes(read) => discarded += read,
            ReadOutcome::Closed | ReadOutcome::TimedOut | ReadOutcome::Failed(_) => return,
        }
    }
}

/// Looks, without waiting, whether the client has closed or reset; bytes
/// it sent after its request are read and ignored.
///
/// # Errors
///
/// The [`CloseReason`] when the client has gone.
pub(crate) fn check_peer(mut socket: &TcpStream) -> Result<(), CloseReason> {
    let mut scratch = [0u8; 256];
    socket.set_nonblocking(true).map_err(|error| CloseReason::ReadFailed(error.kind()))?;
    // Read until the socket is empty: ignored bytes, then would-block.
    let result = loop {
        let read = socket.read(&mut scratch);
        let drained = matches!(&read, Err(error) if error.kind() == io::ErrorKind::WouldBlock);
        match CloseReason::from_read(read) {
            Some(reason) => break Err(reason),
            None if drained => break Ok(()),
            None => continue,
        }
    };
    socket.set_nonblocking(false).map_err(|error| CloseReason::ReadFailed(error.kind()))?;
    result
}
