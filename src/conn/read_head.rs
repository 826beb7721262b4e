//! Reading a request head from the socket, within `--head-timeout`: the I/O
//! half of [`crate::proto::request::HeadReader`].
//!
//! ```text
//! accept ──► read ──► HeadReader::filled ──NeedMore──► read … ──Complete──► (Request, body start)
//!   └──────────── --head-timeout, not per read: a client dribbling one byte a second cannot stretch it
//! ```
//!
//! A publishing connection kept open reads its next head the same way, with
//! the bytes that came after the last body first, and one wait before:
//!
//! ```text
//! answer sent ─► carried bytes? ─yes─► head deadline = now + --head-timeout ─► read as above
//!                    └ no ─► wait for a first byte, ≤ --publish-idle-timeout, in slices of
//!                            ≤ 500 ms that look at shutdown ─► first byte: deadline = now + --head-timeout
//! ```
//!
//! So every head, the first or the hundredth, has the whole of
//! `--head-timeout`, `--max-head-bytes`, `--max-target-bytes` and the
//! 100 header lines, counted afresh; none inherits what an earlier one used.

use std::io;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::socket::{read_within, ReadOutcome};
use crate::proto::request::{HeadLimits, HeadReader, ParseError, Progress, Request};

/// How long an idle wait sleeps, at most, before it looks whether the
/// server is shutting down: what an idle kept connection can delay a
/// shutdown by.
const IDLE_WAIT_SLICE: Duration = Duration::from_millis(500);

/// Why no request came out of the socket.
pub(crate) enum HeadError {
    /// The bytes broke a rule of the request grammar or a limit.
    Parse(ParseError),
    /// `--head-timeout` passed before the empty line arrived (slowloris).
    TimedOut,
    /// The client closed before finishing its request.
    Closed,
    /// The socket failed.
    Io(io::Error),
}

/// Why a kept-open connection has no next request.
pub(crate) enum NextHeadError {
    /// No byte of a next request within the idle timeout.
    Idle,
    /// The client closed (or reset) between requests: the usual end of a
    /// kept connection, which is not a request left half-sent.
    ClientLeft(ReadOutcome),
    /// The server is shutting down, and no byte had arrived.
    ShuttingDown,
    /// A next request began and went wrong, as a first one can.
    Head(HeadError),
}

/// The waits of a next request on a kept-open connection.
pub(crate) struct NextHeadWaits {
    /// `--publish-idle-timeout`: until the first byte.
    pub(crate) idle: Duration,
    /// `--head-timeout`: from the first byte to the empty line.
    pub(crate) head: Duration,
}

/// Reads until the head is whole or `deadline` passes; returns it with the
/// bytes that came after it (the start of a body).
pub(crate) fn read_request_head(
    socket: &TcpStream,
    limits: HeadLimits,
    deadline: Instant,
) -> Result<(Request, Vec<u8>), HeadError> {
    // Reads go straight into the reader's heap buffer: a stack array here
    // would stay in every stream thread's resident stack.
    read_rest_of_head(socket, HeadReader::new(limits), deadline)
}

/// Reads the next request of a kept-open connection: first from `carried`
/// (what the client sent after the previous request, pipelined), then from
/// the socket. `shutting_down` is asked between idle wait slices.
#[inline(never)]
pub(crate) fn read_next_request_head(
    socket: &TcpStream,
    limits: HeadLimits,
    carried: Vec<u8>,
    waits: &NextHeadWaits,
    shutting_down: impl Fn() -> bool,
) -> Result<(Request, Vec<u8>), NextHeadError> {
    let mut reader = HeadReader::new(limits);
    let mut unread = carried.as_slice();
    while !unread.is_empty() {
        // The reader offers at most 1 KiB at a time, and nothing past
        // `--max-head-bytes`: it decides at the limit as with a socket.
        let room = reader.spare();
        let count = room.len().min(unread.len());
        room[..count].copy_from_slice(&unread[..count]);
        unread = &unread[count..];
        match reader.filled(count) {
            Ok(Progress::Complete { request, mut after_head }) => {
                after_head.extend_from_slice(unread);
                return Ok((request, after_head));
            }
            Ok(Progress::NeedMore) => {}
            Err(error) => return Err(NextHeadError::Head(HeadError::Parse(error))),
        }
    }
    // Blank lines after a body (some clients send CRLF there) do not begin
    // a request: the connection is still idle.
    if !reader.request_started() {
        let idle_until = Instant::now() + waits.idle;
        loop {
            if shutting_down() {
                return Err(NextHeadError::ShuttingDown);
            }
            let now = Instant::now();
            if now >= idle_until {
                return Err(NextHeadError::Idle);
            }
            let slice_end = idle_until.min(now + IDLE_WAIT_SLICE);
            match read_within(socket, reader.spare(), slice_end) {
                ReadOutcome::Bytes(count) => {
                    let deadline = Instant::now() + waits.head;
                    return match reader.filled(count) {
                        Ok(Progress::Complete { request, after_head }) => Ok((request, after_head)),
                        Ok(Progress::NeedMore) if !reader.request_started() => continue,
                        Ok(Progress::NeedMore) => {
                            read_rest_of_head(socket, reader, deadline).map_err(NextHeadError::Head)
                        }
                        Err(error) => Err(NextHeadError::Head(HeadError::Parse(error))),
                    };
                }
                ReadOutcome::TimedOut => {}
                left => return Err(NextHeadError::ClientLeft(left)),
            }
        }
    }
    let deadline = Instant::now() + waits.head;
    read_rest_of_head(socket, reader, deadline).map_err(NextHeadError::Head)
}

/// Feeds `reader` from the socket until the head is whole or `deadline`.
fn read_rest_of_head(
    socket: &TcpStream,
    mut reader: HeadReader,
    deadline: Instant,
) -> Result<(Request, Vec<u8>), HeadError> {
    loop {
        let count = match read_within(socket, reader.spare(), deadline) {
            ReadOutcome::Bytes(count) => count,
            ReadOutcome::Closed => return Err(HeadError::Closed),
            ReadOutcome::TimedOut => return Err(HeadError::TimedOut),
            ReadOutcome::Failed(error) => return Err(HeadError::Io(error)),
        };
        match reader.filled(count).map_err(HeadError::Parse)? {
            Progress::Complete { request, after_head } => return Ok((request, after_head)),
            Progress::NeedMore => {}
        }
    }
}
