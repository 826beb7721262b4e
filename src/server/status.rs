//! The two answers about the server itself: `/metrics` (counters and
//! gauges in the Prometheus text format) and `/healthz`.
//!
//! ```text
//! GET /healthz            GET /healthz (--redis, Redis not answering)
//! ok\n                    ok\n
//! events: memory\n        events: redis redis://10.0.0.5:6379/0 stream ssed\n
//!                         redis: unreachable\n
//! ```
//!
//! `/healthz` stays `200` while Redis is away: streams and replay from
//! memory go on, and a load balancer that drained every instance at once
//! would serve nobody. It says where events are kept, so an instance
//! started without its `--journal` or `--redis` is seen at once.

use std::sync::atomic::Ordering;

use crate::config::Config;
use crate::events::hub::Hub;
use crate::ops::metrics::Gauges;
use crate::ops::shared::Shared;

/// The `/metrics` text, counters and gauges as of now.
pub(crate) fn metrics_text(shared: &Shared, hub: &Hub) -> String {
    let (topics_followed, deliveries) = hub.fan_out_counts();
    shared.metrics.render(&Gauges {
        topics_followed,
        deliveries,
        live_streams: shared.live_streams.load(Ordering::Acquire),
        live_connections: shared.live_connections.load(Ordering::Acquire),
        max_clients: shared.config.limits.max_clients,
        os_ceiling: shared.os_ceiling,
        redis: hub.upstream_health().map(|health| (health.up, health.reconnects, health.entries_skipped)),
        events_published: hub.published_count(),
    })
}

/// The `/healthz` body: `ok`, where events are kept, and with `--redis`
/// whether Redis answers.
pub(crate) fn health_text(config: &Config, hub: &Hub) -> String {
    let mut text = format!("ok\nevents: {}\n", where_events_are_kept(config));
    if let Some(health) = hub.upstream_health() {
        text.push_str(if health.up { "redis: reachable\n" } else { "redis: unreachable\n" });
    }
    text
}

/// `memory`, `journal PATH`, or `redis URL stream KEY` (the URL without
/// its password): for the start line and `/healthz`.
pub(crate) fn where_events_are_kept(config: &Config) -> String {
    match (&config.journal, &config.redis) {
        (_, Some(redis)) => format!("redis {} stream {}", redis.url, redis.stream),
        (Some(journal), None) => format!("journal {}", journal.path.display()),
        (None, None) => "memory".to_owned(),
    }
}
