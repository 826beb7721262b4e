//! What a build without the `redis` feature has in place of the Redis
//! link: one answer, for a library user who sets `Config::redis` anyway
//! (the command line refuses `--redis` before this is reached).

use std::io;
use std::sync::Arc;

use crate::config::RedisOptions;
use crate::events::hub::Hub;

/// Always refuses: this build has no Redis link.
///
/// # Errors
///
/// Always, naming the build that has it.
pub(crate) fn open_hub(_: &RedisOptions, _history: usize, _max_event_bytes: usize) -> io::Result<Arc<Hub>> {
    Err(io::Error::other(
        "this ssed was built without the Redis link; build it with: cargo build --release --features redis",
    ))
}
