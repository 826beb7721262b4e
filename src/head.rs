//! Reading a request head from the socket, within `--head-timeout` counted
//! from accept: the I/O half of [`crate::request::HeadReader`].
//!
//! ```text
//! accept ──► read ──► HeadReader::filled ──NeedMore──► read … ──Complete──► (Request, body start)
//!   └──────────── --head-timeout, not per read: a client dribbling one byte a second cannot stretch it
//! ```

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Instant;

use crate::close::is_timeout;
use crate::request::{HeadReader, ParseError, Progress, Request};
use crate::state::Shared;

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

/// Reads until the head is whole; returns it with the bytes that came
/// after it (the start of a body).
pub(crate) fn read_request_head(
    mut socket: &TcpStream,
    shared: &Shared,
    accepted: Instant,
) -> Result<(Request, Vec<u8>), HeadError> {
    let deadline = accepted + shared.config.head_timeout;
    // Reads go straight into the reader's heap buffer: a stack array here
    // would stay in every stream thread's resident stack.
    let mut reader = HeadReader::new(shared.config.head_limits());
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(HeadError::TimedOut);
        }
        socket.set_read_timeout(Some(remaining)).map_err(HeadError::Io)?;
        let count = match socket.read(reader.spare()) {
            Ok(0) => return Err(HeadError::Closed),
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => 0,
            Err(error) if is_timeout(&error) => return Err(HeadError::TimedOut),
            Err(error) => return Err(HeadError::Io(error)),
        };
        match reader.filled(count).map_err(HeadError::Parse)? {
            Progress::Complete { request, after_head } => return Ok((request, after_head)),
            Progress::NeedMore => {}
        }
    }
}
