//! One connection to Redis: connect within a deadline, `AUTH` and `SELECT`
//! from the URL, then commands and their replies, each read by a
//! [`ReplyReader`] as the bytes arrive, within the caller's deadline and
//! the reply [`Limits`] the link was opened with.
//!
//! ```text
//! connect ─► AUTH [user] password ─► SELECT db ─► send(XADD …) ─► receive ─► "1795633887897-0"
//! ```
//!
//! Sending and receiving are apart because their failures mean different
//! things for a write: a command not wholly sent was not run (Redis runs
//! only whole commands, and the connection is dropped); a command sent
//! whose reply did not come may have been run.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::resp::{encode_command, Limits, Reply, ReplyReader, RespError};
use crate::config::RedisUrl;

/// How long connecting, and a reply to an ordinary command, may take.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes asked of the socket per read.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Why a command got no usable reply.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// The connection failed, timed out or closed.
    Io(io::Error),
    /// The bytes were not RESP within the limits: not a Redis server, a
    /// broken one, or a reply larger than the link takes.
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

    /// An `AUTH` refusal (a wrong password) or a password missing
    /// (`NOAUTH`): retrying cannot mend either.
    pub(crate) fn is_auth(&self) -> bool {
        matches!(self, LinkError::Refused(text) if text.starts_with("WRONGPASS") || text.contains("AUTH") || text.starts_with("NOAUTH"))
    }

    /// Redis wants a password the URL does not give.
    pub(crate) fn is_password_missing(&self) -> bool {
        matches!(self, LinkError::Refused(text) if text.starts_with("NOAUTH"))
    }
}

fn timed_out(what: &str) -> LinkError {
    LinkError::Io(io::Error::new(io::ErrorKind::TimedOut, what.to_owned()))
}

/// An open, authenticated connection.
pub(crate) struct Link {
    socket: TcpStream,
    reader: ReplyReader,
    /// Bytes read after the last reply, not looked at yet.
    unread: Vec<u8>,
    chunk: Vec<u8>,
    command: Vec<u8>,
}

impl Link {
    /// Connects to `url`'s host, authenticates and selects its database,
    /// all within `timeout`; replies are read within `limits`.
    pub(crate) fn connect(url: &RedisUrl, limits: Limits, timeout: Duration) -> Result<Link, LinkError> {
        let deadline = Instant::now() + timeout;
        let addrs = (url.host.as_str(), url.port).to_socket_addrs().map_err(LinkError::Io)?;
        let mut last_error = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
        for addr in addrs {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(timed_out("no connection in time"));
            }
            match TcpStream::connect_timeout(&addr, remaining) {
                Ok(socket) => {
                    let _ = socket.set_nodelay(true);
                    let mut link = Link {
                        socket,
                        reader: ReplyReader::new(limits),
                        unread: Vec::new(),
                        chunk: vec![0; READ_CHUNK_BYTES],
                        command: Vec::new(),
                    };
                    if let Some(password) = &url.password {
                        let mut auth: Vec<&[u8]> = vec![b"AUTH"];
                        if let Some(user) = &url.user {
                            auth.push(user.as_bytes());
                        }
                        auth.push(password.0.as_bytes());
                        link.call_until(&auth, deadline)?;
                    }
                    if url.db != 0 {
                        link.call_until(&[b"SELECT", url.db.to_string().as_bytes()], deadline)?;
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
        self.call_until(arguments, Instant::now() + timeout)
    }

    /// Sends one command and waits until `deadline` for its reply.
    pub(crate) fn call_until(&mut self, arguments: &[&[u8]], deadline: Instant) -> Result<Reply, LinkError> {
        self.send(arguments, deadline)?;
        self.receive(deadline)
    }

    /// Writes one command, wholly, before `deadline`.
    ///
    /// # Errors
    ///
    /// The write failed or did not finish in time: Redis has not the whole
    /// command, and the link must be dropped (so it never runs it).
    pub(crate) fn send(&mut self, arguments: &[&[u8]], deadline: Instant) -> Result<(), LinkError> {
        self.command.clear();
        encode_command(arguments, &mut self.command);
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(timed_out("no time left to send"));
        }
        self.socket.set_write_timeout(Some(remaining)).map_err(LinkError::Io)?;
        self.socket.write_all(&self.command).map_err(LinkError::Io)
    }

    /// Reads the reply to the command sent last, until `deadline`.
    pub(crate) fn receive(&mut self, deadline: Instant) -> Result<Reply, LinkError> {
        let reply = match self.reader.read(&self.unread).map_err(LinkError::Protocol)? {
            (used, Some(reply)) => {
                self.unread.drain(..used);
                Some(reply)
            }
            (_, None) => {
                self.unread.clear();
                None
            }
        };
        let reply = match reply {
            Some(reply) => reply,
            None => self.read_reply(deadline)?,
        };
        match reply {
            Reply::Error(text) => Err(LinkError::Refused(text)),
            reply => Ok(reply),
        }
    }

    /// Reads from the socket until the reader has a whole reply.
    fn read_reply(&mut self, deadline: Instant) -> Result<Reply, LinkError> {
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(timed_out("no reply in time"));
            }
            self.socket.set_read_timeout(Some(remaining)).map_err(LinkError::Io)?;
            let read = match self.socket.read(&mut self.chunk) {
                Ok(0) => return Err(LinkError::Io(io::ErrorKind::UnexpectedEof.into())),
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    return Err(timed_out("no reply in time"))
                }
                Err(error) => return Err(LinkError::Io(error)),
            };
            let (used, reply) = self.reader.read(&self.chunk[..read]).map_err(LinkError::Protocol)?;
            if let Some(reply) = reply {
                self.unread.extend_from_slice(&self.chunk[used..read]);
                return Ok(reply);
            }
        }
    }

    /// Whether the connection still looks open: Redis has not closed it
    /// (it restarted, or dropped an idle client) and sent nothing unasked.
    /// A command on a link Redis closed would fail after it was sent, and
    /// its outcome would look unknown when it is not.
    pub(crate) fn is_open(&self) -> bool {
        if !self.unread.is_empty() || self.socket.set_nonblocking(true).is_err() {
            return false;
        }
        let mut byte = [0u8; 1];
        let open =
            matches!(self.socket.peek(&mut byte), Err(error) if error.kind() == io::ErrorKind::WouldBlock);
        self.socket.set_nonblocking(false).is_ok() && open
    }
}
