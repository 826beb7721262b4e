//! One connection to Redis: connect with a timeout, `AUTH` and `SELECT`
//! from the URL, then commands and their replies, each read within a
//! timeout (the blocking `XREAD` brings its own).
//!
//! ```text
//! connect (1 s) ─► AUTH [user] password ─► SELECT db ─► call(XADD …) ─► "1795633887897-0"
//! ```

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::resp::{encode_command, parse_reply, Limits, Parsed, Reply, RespError};
use crate::config::RedisUrl;

/// How long connecting, and a reply to an ordinary command, may take.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a command got no usable reply.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// The connection failed, timed out or closed.
    Io(io::Error),
    /// The bytes were not RESP: not a Redis server, or a broken one.
    Protocol(RespError),
    /// Redis answered with an error (`-WRONGPASS …`, `-ERR …`).
    Refused(String),
    /// A reply of a shape the command does not have.
    Unexpected(&'static str),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Io(error) => write!(f, "{error}"),
            LinkError::Protocol(error) => write!(f, "not a Redis reply: {error}"),
            LinkError::Refused(text) => write!(f, "Redis said: {text}"),
            LinkError::Unexpected(what) => write!(f, "unexpected reply: {what}"),
        }
    }
}

impl LinkError {
    /// The `io::ErrorKind` a publish that failed this way reports.
    pub(crate) fn kind(&self) -> io::ErrorKind {
        match self {
            LinkError::Io(error) => error.kind(),
            LinkError::Protocol(_) | LinkError::Unexpected(_) => io::ErrorKind::InvalidData,
            LinkError::Refused(_) => io::ErrorKind::Other,
        }
    }

    /// An `AUTH` refusal: a wrong password, which retrying cannot mend.
    pub(crate) fn is_auth(&self) -> bool {
        matches!(self, LinkError::Refused(text) if text.starts_with("WRONGPASS") || text.contains("AUTH") || text.starts_with("NOAUTH"))
    }
}

/// An open, authenticated connection.
pub(crate) struct Link {
    socket: TcpStream,
    buffer: Vec<u8>,
    command: Vec<u8>,
}

impl Link {
    /// Connects to `url`'s host, authenticates and selects its database.
    pub(crate) fn connect(url: &RedisUrl) -> Result<Link, LinkError> {
        let addrs = (url.host.as_str(), url.port).to_socket_addrs().map_err(LinkError::Io)?;
        let mut last_error = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, COMMAND_TIMEOUT) {
                Ok(socket) => {
                    let _ = socket.set_nodelay(true);
                    socket.set_write_timeout(Some(COMMAND_TIMEOUT)).map_err(LinkError::Io)?;
                    let mut link = Link { socket, buffer: Vec::with_capacity(4096), command: Vec::new() };
                    if let Some(password) = &url.password {
                        let mut auth: Vec<&[u8]> = vec![b"AUTH"];
                        if let Some(user) = &url.user {
                            auth.push(user.as_bytes());
                        }
                        auth.push(password.0.as_bytes());
                        link.call(&auth, COMMAND_TIMEOUT)?;
                    }
                    if url.db != 0 {
                        link.call(&[b"SELECT", url.db.to_string().as_bytes()], COMMAND_TIMEOUT)?;
                    }
                    return Ok(link);
                }
                Err(error) => last_error = error,
            }
        }
        Err(LinkError::Io(last_error))
    }

    /// Sends one command and waits up to `timeout` for its reply.
    pub(crate) fn call(&mut self, arguments: &[&[u8]], timeout: Duration) -> Result<Reply, LinkError> {
        self.command.clear();
        encode_command(arguments, &mut self.command);
        self.socket.write_all(&self.command).map_err(LinkError::Io)?;
        let deadline = Instant::now() + timeout;
        let mut chunk = [0u8; 4096];
        loop {
            match parse_reply(&self.buffer, &Limits::default()).map_err(LinkError::Protocol)? {
                Parsed::Whole(reply, used) => {
                    self.buffer.drain(..used);
                    return match reply {
                        Reply::Error(text) => Err(LinkError::Refused(text)),
                        reply => Ok(reply),
                    };
                }
                Parsed::Incomplete => {}
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(LinkError::Io(io::Error::new(io::ErrorKind::TimedOut, "no reply in time")));
            }
            self.socket.set_read_timeout(Some(remaining)).map_err(LinkError::Io)?;
            match self.socket.read(&mut chunk) {
                Ok(0) => return Err(LinkError::Io(io::ErrorKind::UnexpectedEof.into())),
                Ok(read) => self.buffer.extend_from_slice(&chunk[..read]),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(LinkError::Io(error)),
            }
        }
    }
}
