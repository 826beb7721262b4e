//! Published events: the hub that meets publishers with the `/events`
//! streams of their topics, the streams themselves, and every way an event
//! comes in (`POST /publish`, stdin, the Rust [`Publisher`](hub::Publisher)).
//!
//! ```text
//! POST /publish ─┐                                   ┌─► /events stream (stream.rs)
//! stdin line    ─┼─► Hub::publish ─► store? ─► history ─┼─► /events stream
//! Publisher     ─┘       │                            └─► …  (only the topic's streams wake)
//!                        ├─ journal/  an append-only file behind the hub's Store trait
//!                        └─ redis/    a Redis stream behind the hub's Upstream trait
//! ```
//!
//! Each store is its own door: `journal/` is one `mod` line, `redis/` one
//! `mod` line with the build's one `cfg` (a build without the `redis`
//! feature compiles `redis/absent.rs` in its place). Not here: sockets of
//! anything but the stream or publish being served, routing (`server/`).

pub(crate) mod hub;
pub(crate) mod journal;
pub(crate) mod publish;
#[cfg_attr(not(feature = "redis"), path = "redis/absent.rs")]
pub(crate) mod redis;
pub(crate) mod stdin;
pub(crate) mod stream;

use std::io;
use std::sync::Arc;

use crate::config::Config;
use crate::ops::log::log;
use hub::Hub;

/// The hub a server with `config` publishes into: in memory, carried on
/// from the journal, or fed by Redis.
///
/// # Errors
///
/// The journal's one-line refusal (in use, not a journal, unwritable), or
/// Redis refusing the URL's password: both before anything listens.
pub(crate) fn open_hub(config: &Config) -> io::Result<Arc<Hub>> {
    let events = &config.events;
    if let Some(redis) = &config.redis {
        return redis::open_hub(redis, events.history, events.max_event_bytes);
    }
    let Some(options) = &config.journal else {
        return Ok(Arc::new(Hub::new(events.history, events.max_event_bytes)));
    };
    let journal_options =
        journal::Options { max_bytes: options.max_bytes, fsync: options.fsync, history: events.history };
    let opened =
        journal::open(&options.path, journal_options).map_err(|error| io::Error::other(error.to_string()))?;
    for note in &opened.notes {
        log(format_args!("{note}"));
    }
    let store = Some(Box::new(opened.journal) as Box<dyn hub::Store>);
    Ok(Arc::new(Hub::with_store(events.history, events.max_event_bytes, opened.restored, store)))
}
