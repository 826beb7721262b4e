//! Why a connection ended: the one vocabulary the log line and the
//! `ssed_disconnects_total{reason=…}` counter are both written from.
//!
//! ```text
//! ssed: 127.0.0.1:41690 GET /sse left after 2.0 s, 4 events: client closed the connection (FIN)
//!                                                           └── CloseReason::ClientClosed
//! ssed_disconnects_total{reason="client_closed"} 1
//! ```
//!
//! Every connection ends with exactly one reason, whether it streamed for
//! an hour or was answered `400` after one read. Pure: it only sorts
//! `io::Error`s and names things; nothing here touches a socket.

use std::fmt;
use std::io;

/// Why a connection ended. Logged once, in the connection's last line, and
/// counted once under its label in `ssed_disconnects_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// A whole answer (not a stream) was written; the status it had.
    Answered(u16),
    /// The request head (or a publish body) did not arrive within
    /// `--head-timeout`; answered 408.
    HeadTimedOut,
    /// The client left before sending a whole request (or body).
    LeftMidRequest,
    /// The server was full and so was its queue of refusals: closed
    /// without an answer (a browser reconnects; nothing is acknowledged).
    ClosedUnanswered,
    /// The client closed its side of a stream (FIN): a read returned 0 bytes.
    ClientClosed,
    /// The client reset the connection (RST).
    ClientReset,
    /// A write blocked for `--write-timeout`: the client stopped reading.
    StoppedReading,
    /// A write failed for another reason, e.g. broken pipe.
    WriteFailed(io::ErrorKind),
    /// A read failed for a reason other than the ones above.
    ReadFailed(io::ErrorKind),
    /// The server is shutting down.
    ServerShutdown,
    /// On `/events`: the client fell further behind than `--history`, so
    /// the next event it needs is gone.
    FellBehind,
    /// The stream's token expired (its `exp`): a reconnect with the same
    /// token gets 401.
    TokenExpired,
    /// A kept-open publishing connection sent no new request within
    /// `--publish-idle-timeout`.
    IdleTimeout,
    /// A kept-open publishing connection reached
    /// `--max-requests-per-connection`: its last answer said
    /// `Connection: close`.
    RequestLimit,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Answered(status) => write!(f, "answered {status}"),
            CloseReason::HeadTimedOut => f.write_str("request not received within --head-timeout"),
            CloseReason::LeftMidRequest => f.write_str("client left before sending a whole request"),
            CloseReason::ClosedUnanswered => f.write_str("closed unanswered: server and refusal queue full"),
            CloseReason::ClientClosed => f.write_str("client closed the connection (FIN)"),
            CloseReason::ClientReset => f.write_str("client reset the connection (RST)"),
            CloseReason::StoppedReading => f.write_str("client stopped reading (write timed out)"),
            CloseReason::WriteFailed(kind) => write!(f, "write failed: {kind}"),
            CloseReason::ReadFailed(kind) => write!(f, "read failed: {kind}"),
            CloseReason::ServerShutdown => f.write_str("server shutting down"),
            CloseReason::FellBehind => f.write_str("client fell further behind than --history events"),
            CloseReason::TokenExpired => f.write_str("the stream's token expired"),
            CloseReason::IdleTimeout => f.write_str("no new request within --publish-idle-timeout"),
            CloseReason::RequestLimit => f.write_str("--max-requests-per-connection answered"),
        }
    }
}

impl CloseReason {
    /// Every `reason` label of `/metrics`, in [`Self::label_index`] order.
    pub(crate) const LABELS: [&'static str; 14] = [
        "answered",
        "head_timeout",
        "left_mid_request",
        "closed_unanswered",
        "client_closed",
        "client_reset",
        "stopped_reading",
        "write_failed",
        "read_failed",
        "server_shutdown",
        "fell_behind",
        "token_expired",
        "idle_timeout",
        "request_limit",
    ];

    /// Where this reason's label stands in [`Self::LABELS`].
    pub(crate) fn label_index(self) -> usize {
        match self {
            CloseReason::Answered(_) => 0,
            CloseReason::HeadTimedOut => 1,
            CloseReason::LeftMidRequest => 2,
            CloseReason::ClosedUnanswered => 3,
            CloseReason::ClientClosed => 4,
            CloseReason::ClientReset => 5,
            CloseReason::StoppedReading => 6,
            CloseReason::WriteFailed(_) => 7,
            CloseReason::ReadFailed(_) => 8,
            CloseReason::ServerShutdown => 9,
            CloseReason::FellBehind => 10,
            CloseReason::TokenExpired => 11,
            CloseReason::IdleTimeout => 12,
            CloseReason::RequestLimit => 13,
        }
    }

    /// What a read on a live stream says: `Some(reason)` when the client
    /// left or the socket failed; `None` when the stream goes on (bytes the
    /// client sent after its request are ignored, and a timeout or
    /// would-block only means nothing arrived).
    pub(crate) fn from_read(result: io::Result<usize>) -> Option<CloseReason> {
        match result {
            Ok(0) => Some(CloseReason::ClientClosed),
            Ok(_) => None,
            Err(error) if is_timeout(&error) || error.kind() == io::ErrorKind::Interrupted => None,
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => Some(CloseReason::ClientReset),
            Err(error) => Some(CloseReason::ReadFailed(error.kind())),
        }
    }

    /// What a failed write says about the client.
    pub(crate) fn from_write_error(error: &io::Error) -> CloseReason {
        match error.kind() {
            _ if is_timeout(error) => CloseReason::StoppedReading,
            io::ErrorKind::ConnectionReset => CloseReason::ClientReset,
            kind => CloseReason::WriteFailed(kind),
        }
    }
}

/// `set_read_timeout` expiry shows up as `WouldBlock` on Unix and
/// `TimedOut` on Windows.
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kind after `reason`, in label order. The match has no
    /// wildcard: a new kind of reason does not compile until it is given
    /// its place in this walk, so the test below cannot miss it.
    fn next_kind(reason: CloseReason) -> Option<CloseReason> {
        match reason {
            CloseReason::Answered(_) => Some(CloseReason::HeadTimedOut),
            CloseReason::HeadTimedOut => Some(CloseReason::LeftMidRequest),
            CloseReason::LeftMidRequest => Some(CloseReason::ClosedUnanswered),
            CloseReason::ClosedUnanswered => Some(CloseReason::ClientClosed),
            CloseReason::ClientClosed => Some(CloseReason::ClientReset),
            CloseReason::ClientReset => Some(CloseReason::StoppedReading),
            CloseReason::StoppedReading => Some(CloseReason::WriteFailed(io::ErrorKind::BrokenPipe)),
            CloseReason::WriteFailed(_) => Some(CloseReason::ReadFailed(io::ErrorKind::Other)),
            CloseReason::ReadFailed(_) => Some(CloseReason::ServerShutdown),
            CloseReason::ServerShutdown => Some(CloseReason::FellBehind),
            CloseReason::FellBehind => Some(CloseReason::TokenExpired),
            CloseReason::TokenExpired => Some(CloseReason::IdleTimeout),
            CloseReason::IdleTimeout => Some(CloseReason::RequestLimit),
            CloseReason::RequestLimit => None,
        }
    }

    #[test]
    fn every_reason_has_its_own_label() {
        let reasons: Vec<CloseReason> =
            std::iter::successors(Some(CloseReason::Answered(200)), |&reason| next_kind(reason)).collect();
        let indexes: Vec<usize> = reasons.iter().map(|reason| reason.label_index()).collect();
        assert_eq!(indexes, (0..CloseReason::LABELS.len()).collect::<Vec<_>>());
    }

    #[test]
    fn reads_sorted_into_reasons() {
        let error = |kind| Err(io::Error::from(kind));
        assert_eq!(CloseReason::from_read(Ok(0)), Some(CloseReason::ClientClosed));
        assert_eq!(CloseReason::from_read(Ok(3)), None);
        assert_eq!(CloseReason::from_read(error(io::ErrorKind::WouldBlock)), None);
        assert_eq!(CloseReason::from_read(error(io::ErrorKind::Interrupted)), None);
        assert_eq!(
            CloseReason::from_read(error(io::ErrorKind::ConnectionReset)),
            Some(CloseReason::ClientReset)
        );
        let timed_out = io::Error::from(io::ErrorKind::WouldBlock);
        assert_eq!(CloseReason::from_write_error(&timed_out), CloseReason::StoppedReading);
    }
}
