//! What a publishing connection kept open needs beyond one request: which
//! routes may keep it, how its requests are numbered in the log, and how
//! it ends between two requests.
//!
//! ```text
//! 127.0.0.1:41690 POST /publish -> 200 (request 1 on this connection)
//! 127.0.0.1:41690 POST /publish -> 200 (request 2 on this connection)
//! 127.0.0.1:41690 closed after 2 requests: idle for 5000 ms       ─► reason idle_timeout
//! ```
//!
//! Not here: the loop itself (`connection.rs`), reading the next head
//! (`conn/read_head.rs`), the answer's `Connection` header
//! (`conn/short_answer.rs`).

use std::fmt;

use crate::conn::read_head::{HeadError, NextHeadError};
use crate::ops::shared::Shared;
use crate::proto::close::CloseReason;
use crate::proto::routes::{Resource, Route};

/// The routes whose answer may leave the connection open for another
/// request: publishing, whose clients (reqwest, httpx, Symfony's
/// HttpClient) pool their connections. Streams hold their connection to
/// the end; every other answer is short and closes, as it always did.
/// `POST /publish` and Mercure's `POST /.well-known/mercure` (rule 2).
pub(super) fn keeps_connection_open(route: Route, method: &str) -> bool {
    match route {
        Route::Serve { resource: Resource::Publish, .. } => true,
        Route::Serve { resource: Resource::Mercure, .. } => method == "POST",
        _ => false,
    }
}

/// Which request of its connection a log line is about: nothing for a
/// connection of one request (the usual case, logged as it always was),
/// ` (request 3 on this connection)` otherwise.
pub(super) struct RequestNumber {
    /// Requests read on this connection, this one included.
    pub(super) served: usize,
    /// Whether the connection stays open after this one.
    pub(super) kept: bool,
}

impl fmt::Display for RequestNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.served > 1 || self.kept {
            write!(f, " (request {} on this connection)", self.served)?;
        }
        Ok(())
    }
}

/// Why a connection that answered `served` requests has no next one, and
/// the words of its last log line; a next head that began and went wrong
/// is given back, to be answered as a first one would be.
///
/// # Errors
///
/// The [`HeadError`] of a next request that began.
pub(super) fn why_no_next_request(
    shared: &Shared,
    served: usize,
    error: NextHeadError,
) -> Result<(CloseReason, String), HeadError> {
    Ok(match error {
        NextHeadError::Head(error) => return Err(error),
        NextHeadError::Idle => {
            // RFC 9112 §9.5: a server may close an idle connection; no
            // answer is owed, and a 408 could be taken for the answer to a
            // request the client is sending at this moment.
            let idle = shared.config.timeouts.publish_idle_timeout.as_millis();
            (CloseReason::IdleTimeout, format!("closed after {served} requests: idle for {idle} ms"))
        }
        NextHeadError::ClientLeft(outcome) => {
            let reason = outcome.close_reason().unwrap_or(CloseReason::ClientClosed);
            (reason, format!("left after {served} requests: {reason}"))
        }
        NextHeadError::ShuttingDown => {
            (CloseReason::ServerShutdown, format!("closed after {served} requests: server shutting down"))
        }
    })
}
