//! What running a server needs besides the protocol: the counters behind
//! `/metrics`, the log thread and its bounded queue, the limits the OS
//! sets, and the places (connections, streams) that bound how much runs.
//!
//! ```text
//! Shared ── config, local address, metrics, shutting_down
//!   ├─ ConnectionPlace  one of --max-clients + --max-pending, held from spawn to return
//!   └─ StreamPlace      one of --max-clients, held while a stream runs
//! ```
//!
//! Not here: sockets (`conn/`), events (`events/`).

pub mod ceiling;
pub(crate) mod log;
pub(crate) mod metrics;
pub(crate) mod places;
pub(crate) mod queue;
pub(crate) mod shared;
