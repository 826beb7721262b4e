//! The accept loop: one thread per connection, a counted cap, and a
//! refusal that never blocks the loop.
//!
//! ```text
//! accept() ──► place free? ──no──► the refusal thread: busy stream or 503   (never blocks)
//!                 │ yes
//!                 ▼
//!          spawn thread "ssed-conn" (--stack-size) ──fails──► the refusal thread
//!                 │
//!                 ▼
//!          connection::serve(…)   (src/server/connection.rs)
//! ```
//!
//! The loop never reads or writes a client socket: a slow or hostile
//! client can hold only its own thread.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::connection;
use super::refuse::{hand_over, start_refusal_thread, Refusals, StopRefusals, TurnedAwayConnection};
use crate::auth::Auth;
use crate::events::hub::Hub;
use crate::ops::log::log;
use crate::ops::metrics::TurnedAway;
use crate::ops::places::ConnectionPlace;
use crate::ops::shared::Shared;

/// Accepts connections until the server shuts down.
pub(crate) fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, hub: &Arc<Hub>, auth: &Arc<Auth>) {
    let mut accept_errors = RateLimitedLog::default();
    let refusals = StopRefusals(start_refusal_thread(shared));
    loop {
        // `accept` hands over the peer's address with the socket: no
        // second system call to ask for it.
        let accepted = listener.accept();
        if shared.is_shutting_down() {
            break;
        }
        match accepted {
            Ok((socket, peer)) => admit(shared, (hub, auth), socket, peer, refusals.0.as_ref()),
            Err(error) => {
                accept_errors.log(format_args!("accept failed: {error}"));
                // Out of file descriptors or memory: the pending connection
                // stays queued, so pause instead of spinning on the error.
                if !matches!(error.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted) {
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
}

fn admit(
    shared: &Arc<Shared>,
    (hub, auth): (&Arc<Hub>, &Arc<Auth>),
    socket: TcpStream,
    peer: SocketAddr,
    refusals: Option<&Refusals>,
) {
    let Some(place) = ConnectionPlace::claim(shared) else {
        let max = shared.config.limits.max_clients + shared.config.limits.max_pending;
        let detail = format!("server full, {max} of {max} connections in use");
        let turned_away = TurnedAwayConnection { socket, peer, why: TurnedAway::Full, detail };
        return hand_over(shared, refusals, turned_away);
    };
    // The thread gets one reference; we keep one so that, if the spawn
    // fails and drops the thread's closure, we can still answer.
    let socket = Arc::new(socket);
    let for_thread = Arc::clone(&socket);
    let (hub, auth) = (Arc::clone(hub), Arc::clone(auth));
    let spawned = thread::Builder::new()
        .name("ssed-conn".to_owned())
        .stack_size(shared.config.limits.stack_size)
        .spawn(move || connection::serve(&for_thread, peer, place, &hub, &auth));
    if let Err(error) = spawned {
        let detail = format!("could not start a thread: {error}");
        if let Ok(socket) = Arc::try_unwrap(socket) {
            let turned_away = TurnedAwayConnection { socket, peer, why: TurnedAway::NoThread, detail };
            hand_over(shared, refusals, turned_away);
        }
    }
}

/// Logs the first of a burst of identical failures, then at most one a second.
#[derive(Default)]
struct RateLimitedLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    fn log(&mut self, line: std::fmt::Arguments<'_>) {
        if self.last.is_some_and(|last| last.elapsed() < Duration::from_secs(1)) {
            self.suppressed += 1;
            return;
        }
        log(format_args!("{line} ({} more since the last report)", self.suppressed));
        self.last = Some(Instant::now());
        self.suppressed = 0;
    }
}
