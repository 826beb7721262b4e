//! Small things done to a connected socket, the same way everywhere: close
//! it without losing the answer, and look whether the client has gone.
//!
//! ```text
//! answer written ─► shutdown(Write) = FIN ─► read and discard ≤ 64 KiB, ≤ 500 ms ─► drop
//! ```
//!
//! Not here: what is written (the connection and stream modules decide).

use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::close::CloseReason;

/// How long, at most, we keep reading (and discarding) after an answer
/// before closing. See [`close_gently`].
const LINGER: Duration = Duration::from_millis(500);

/// Sends FIN, then reads and discards what the client still sends, for at
/// most [`LINGER`], before the socket is dropped. Dropping a socket with
/// unread input makes the kernel answer with RST, and a client that gets RST
/// may throw away the response it has not read yet.
pub(crate) fn close_gently(mut socket: &TcpStream) {
    if socket.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let until = Instant::now() + LINGER;
    let mut scratch = [0u8; 512];
    let mut discarded = 0usize;
    while discarded < 64 * 1024 {
        let remaining = until.saturating_duration_since(Instant::now());
        if remaining.is_zero() || socket.set_read_timeout(Some(remaining)).is_err() {
            return;
        }
        match socket.read(&mut scratch) {
            Ok(0) | Err(_) => return,
            Ok(read) => discarded += read,
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
