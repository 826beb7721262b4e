//! Publishing: a few links to Redis shared by the publishing threads, so
//! that each publish waits for its own `XADD` only, and is answered within
//! [`COMMAND_TIMEOUT`] of its arrival however many publish at once.
//!
//! ```text
//! publish ─► take a link (an idle one, a new one that answered PING while fewer than 8
//!             are out, else wait)
//!         ─► send XADD ──────── failed: not run ─────────────────► Unavailable (503)
//!         ─► receive ── "…-0" ─► Ok(id), the link goes back to the idle ones
//!                    ├─ -ERR … (Redis refused: not run) ─────────► Unavailable (503)
//!                    └─ no reply in time, or a broken one ───────► OutcomeUnknown (504)
//! ```
//!
//! No retry on failure: a command whose reply was lost may have been run,
//! and a second `XADD` would publish the event twice.

use std::io;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::link::{Link, LinkError, COMMAND_TIMEOUT};
use super::resp::{Limits, Reply};
use crate::config::RedisUrl;
use crate::events::hub::{EventId, PublishError};

/// Links publishing at once, at most: more publishes wait for one.
const MAX_PUBLISH_LINKS: usize = 8;

/// The publishing links: idle ones, and how many are in use.
pub(super) struct PublishLinks {
    places: Mutex<Places>,
    freed: Condvar,
}

struct Places {
    idle: Vec<Link>,
    in_use: usize,
}

impl PublishLinks {
    pub(super) fn new() -> PublishLinks {
        PublishLinks { places: Mutex::new(Places { idle: Vec::new(), in_use: 0 }), freed: Condvar::new() }
    }

    /// No code panics while holding the lock, so a poisoned lock still
    /// holds consistent counts.
    fn lock(&self) -> MutexGuard<'_, Places> {
        self.places.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `XADD` with `arguments` on a link, all before [`COMMAND_TIMEOUT`]
    /// from now; the id Redis gave.
    ///
    /// # Errors
    ///
    /// [`PublishError::Unavailable`] when the command was surely not run
    /// (no link, not wholly sent, refused by Redis);
    /// [`PublishError::OutcomeUnknown`] when it was sent and no usable
    /// reply came.
    pub(super) fn xadd(
        &self,
        url: &RedisUrl,
        limits: Limits,
        arguments: &[&[u8]],
    ) -> Result<EventId, PublishError> {
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let mut link =
            self.take(url, limits, deadline).map_err(|error| PublishError::Unavailable(error.kind()))?;
        let outcome = xadd_on(&mut link, arguments, deadline);
        let mut places = self.lock();
        places.in_use -= 1;
        if outcome.is_ok() {
            places.idle.push(link);
        }
        drop(places);
        self.freed.notify_one();
        outcome
    }

    /// An open link: an idle one, a new one while there is room, else the
    /// first one given back before `deadline`.
    fn take(&self, url: &RedisUrl, limits: Limits, deadline: Instant) -> Result<Link, LinkError> {
        let mut places = self.lock();
        loop {
            while let Some(link) = places.idle.pop() {
                if link.is_open() {
                    places.in_use += 1;
                    return Ok(link);
                }
            }
            if places.in_use < MAX_PUBLISH_LINKS {
                places.in_use += 1;
                drop(places);
                let remaining = deadline.saturating_duration_since(Instant::now());
                // A new link proves it reaches Redis before an XADD goes
                // over it: a peer that is not Redis, or does not answer,
                // fails here, where nothing was sent yet.
                let connected = Link::connect(url, limits, remaining).and_then(|mut link| {
                    link.call_until(&[b"PING"], deadline)?;
                    Ok(link)
                });
                if connected.is_err() {
                    self.lock().in_use -= 1;
                    self.freed.notify_one();
                }
                return connected;
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                let busy = format!("all {MAX_PUBLISH_LINKS} links to Redis stayed busy");
                return Err(LinkError::Io(io::Error::new(io::ErrorKind::TimedOut, busy)));
            }
            places = self.freed.wait_timeout(places, remaining).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

fn xadd_on(link: &mut Link, arguments: &[&[u8]], deadline: Instant) -> Result<EventId, PublishError> {
    link.send(arguments, deadline).map_err(|error| PublishError::Unavailable(error.kind()))?;
    match link.receive(deadline) {
        Ok(Reply::Bulk(Some(id))) => std::str::from_utf8(&id)
            .ok()
            .and_then(EventId::parse)
            .ok_or(PublishError::OutcomeUnknown(io::ErrorKind::InvalidData)),
        Ok(_) => Err(PublishError::OutcomeUnknown(io::ErrorKind::InvalidData)),
        // Redis answered with an error: it did not run the command.
        Err(error @ LinkError::Refused(_)) => Err(PublishError::Unavailable(error.kind())),
        Err(error) => Err(PublishError::OutcomeUnknown(error.kind())),
    }
}
