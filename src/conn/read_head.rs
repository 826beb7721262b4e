//! Reading a request head from the socket, within `--head-timeout` counted
//! from accept: the I/O half of [`crate::proto::request::HeadReader`].
//!
//! ```text
//! accept ──► read ──► HeadReader::filled ──NeedMore──► read … ──Complete──► (Request, body start)
//!   └──────────── --head-timeout, not per read: a client dribbling one byte a second cannot stretch it
//! ```

use std::io;
use std::net::TcpStream;
use std::time::Instant;

use super::socket::{read_within, ReadOutcome};
use crate::proto::request::{HeadLimits, HeadReader, ParseError, Progress, Request};

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

/// Reads until the head is whole or `deadline` passes; returns it with the
/// bytes that came after it (the start of a body).
pub(crate) fn read_request_head(
    socket: &TcpStream,
    limits: HeadLimits,
    deadline: Instant,
) -> Result<(Request, Vec<u8>), HeadError> {
    // Reads go straight into the reader's heap buffer: a stack array here
    // would stay in every stream thread's resident stack.
    let mut reader = HeadReader::new(limits);
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
