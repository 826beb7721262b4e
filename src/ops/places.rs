//! The two RAII places that bound how much runs at once.
//!
//! ```text
//! ConnectionPlace  one of --max-clients + --max-pending, held by a connection
//!                  thread from spawn to return
//! StreamPlace      one of --max-clients, held while a /sse, /messages or
//!                  /events stream runs
//! ```
//!
//! Both give themselves back when dropped, however the thread ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::shared::Shared;

/// Takes one of `max` places counted by `live`; `false` when all are taken.
fn take_place(live: &AtomicUsize, max: usize) -> bool {
    live.fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| (now < max).then_some(now + 1)).is_ok()
}

/// A claim on one of the `--max-clients` + `--max-pending` connection
/// places; the place frees itself when dropped, however the connection
/// thread ends.
pub(crate) struct ConnectionPlace {
    pub(crate) shared: Arc<Shared>,
}

impl ConnectionPlace {
    /// Takes a place; `None` when all are taken.
    pub(crate) fn claim(shared: &Arc<Shared>) -> Option<ConnectionPlace> {
        let max = shared.config.limits.max_clients + shared.config.limits.max_pending;
        take_place(&shared.live_connections, max).then(|| ConnectionPlace { shared: Arc::clone(shared) })
    }
}

impl Drop for ConnectionPlace {
    fn drop(&mut self) {
        self.shared.live_connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One of the `--max-clients` stream places, held from a stream's first
/// byte to its end.
pub(crate) struct StreamPlace<'a> {
    shared: &'a Shared,
    claimed: Instant,
}

impl<'a> StreamPlace<'a> {
    /// Takes a stream place; `None` when all `--max-clients` are taken.
    pub(crate) fn claim(shared: &'a Shared) -> Option<StreamPlace<'a>> {
        if !take_place(&shared.live_streams, shared.config.limits.max_clients) {
            return None;
        }
        shared.metrics.stream_started();
        Some(StreamPlace { shared, claimed: Instant::now() })
    }

    /// Streams live now, this one included.
    pub(crate) fn now_live(&self) -> usize {
        self.shared.live_streams.load(Ordering::Acquire)
    }

    /// Time since the place was claimed, as seconds with one decimal, e.g.
    /// `2.0`. In whole tenths, without floating point: float formatting
    /// would cost the binary 12 KB.
    pub(crate) fn seconds(&self) -> impl std::fmt::Display {
        let tenths = self.claimed.elapsed().as_millis() as u64 / 100;
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

impl Drop for StreamPlace<'_> {
    fn drop(&mut self) {
        self.shared.live_streams.fetch_sub(1, Ordering::AcqRel);
    }
}
