//! A gap in the shared stream: entries after the newest one this server
//! delivered were trimmed before its reader got to them (Redis was away,
//! or the reader behind, while more than `--history` events were added).
//!
//! ```text
//! reader: XINFO says the first entry is newer than the last one read
//!   ─► Hub::entries_gone ─► every inbox: event: missed\ndata: <last delivered id>\n\n
//!                        └► the history forgets what it holds
//! ```
//!
//! Every stream is told in place rather than ended: ending them would send
//! every client back at once, each asking Redis for a replay, just as Redis
//! came back; told in place, a client learns the same (some events are
//! gone; fetch the state another way) and keeps its stream. The history is
//! emptied so that a client that comes back with an id from before the gap
//! is not answered from memory as if nothing were missing: it is answered
//! from the shared stream, which says `missed` too.

use std::sync::Arc;
use std::time::Instant;

use super::{EventId, Hub};
use crate::proto::sse::{Event, SingleLine};

impl Hub {
    /// Entries after `after` (the newest this server delivered) are gone,
    /// the first one that is left being `first_left` when known. A stream
    /// whose client already had every event before `first_left` (it came
    /// with a newer id from another server) is not told.
    #[allow(dead_code, reason = "only the Redis link (feature \"redis\") calls it")]
    pub(crate) fn entries_gone(&self, after: EventId, first_left: Option<EventId>) {
        let lost_after = after.to_string();
        let mut frame = Vec::with_capacity(40);
        let missed = SingleLine::new("missed").ok();
        Event { retry: None, id: None, event: missed, data: &lost_after }.encode_into(&mut frame);
        let frame: Arc<[u8]> = frame.into();
        let told_unless_had = first_left.unwrap_or(EventId { run: u64::MAX, seq: u64::MAX });
        let mut inner = self.lock();
        let position = inner.next_position;
        inner.next_position += 1;
        // Each inbox once, however many topics its stream follows.
        let now = Instant::now();
        for mailbox in inner.followers.all_mailboxes() {
            mailbox.push(position, told_unless_had, &frame, now);
        }
        inner.history.clear();
    }
}
