//! Counters for `GET /metrics`, in the Prometheus text exposition format.
//!
//! ```text
//! # HELP ssed_streams_live Streams being served now.
//! # TYPE ssed_streams_live gauge
//! ssed_streams_live 3
//! # HELP ssed_disconnects_total Streams ended, by reason.
//! # TYPE ssed_disconnects_total counter
//! ssed_disconnects_total{reason="client_closed"} 12
//! …
//! ```
//!
//! Every counter is a relaxed atomic add where the thing happens; a scrape
//! reads them all and formats a few hundred bytes, cheap enough to do every
//! second under full load. Not here: histograms, per-client labels.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ops::log::dropped_lines;
use crate::proto::close::CloseReason;

/// Why a connection was turned away before it was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TurnedAway {
    /// `--max-clients` connections were already being served.
    Full,
    /// The OS refused a new thread.
    NoThread,
}

/// The statuses ssed answers bad or unserved requests with.
const ERROR_STATUSES: [u16; 14] = [400, 401, 403, 404, 405, 408, 411, 413, 414, 431, 501, 503, 504, 505];

/// All counters of one server.
#[derive(Default)]
pub(crate) struct Metrics {
    streams_started: AtomicU64,
    tokens_refused: AtomicU64,
    refused_full: AtomicU64,
    refused_no_thread: AtomicU64,
    disconnects: [AtomicU64; CloseReason::LABELS.len()],
    events_sent: AtomicU64,
    woken_by_publish: AtomicU64,
    bytes_sent: AtomicU64,
    error_answers: [AtomicU64; ERROR_STATUSES.len()],
}

/// Gauges read at scrape time, not counted here.
pub(crate) struct Gauges {
    pub(crate) live_streams: usize,
    pub(crate) live_connections: usize,
    pub(crate) max_clients: usize,
    pub(crate) os_ceiling: Option<usize>,
    /// With `--redis`: the reader's commands succeed, its reconnects, and
    /// the entries it skipped.
    pub(crate) redis: Option<(bool, u64, u64)>,
    pub(crate) events_published: u64,
    pub(crate) topics_followed: usize,
    pub(crate) deliveries: u64,
}

fn add(counter: &AtomicU64, amount: u64) {
    counter.fetch_add(amount, Ordering::Relaxed);
}

impl Metrics {
    pub(crate) fn stream_started(&self) {
        add(&self.streams_started, 1);
    }

    /// A request whose token did not let it in (401 or 403).
    pub(crate) fn token_refused(&self) {
        add(&self.tokens_refused, 1);
    }

    pub(crate) fn turned_away(&self, why: TurnedAway) {
        add(
            match why {
                TurnedAway::Full => &self.refused_full,
                TurnedAway::NoThread => &self.refused_no_thread,
            },
            1,
        );
    }

    pub(crate) fn disconnected(&self, reason: CloseReason) {
        add(&self.disconnects[reason.label_index()], 1);
    }

    /// Bytes written to a client: heads, frames, keep-alives, answers.
    pub(crate) fn sent_bytes(&self, bytes: usize) {
        add(&self.bytes_sent, bytes as u64);
    }

    /// An `/events` thread that slept was woken by a publish for it.
    pub(crate) fn woken_by_publish(&self) {
        add(&self.woken_by_publish, 1);
    }

    /// Events (frames with `data:`) written to a client; comments and
    /// `retry:`-only blocks are not events.
    pub(crate) fn sent_events(&self, events: u64) {
        add(&self.events_sent, events);
    }

    pub(crate) fn answered_error(&self, status: u16) {
        if let Some(index) = ERROR_STATUSES.iter().position(|&known| known == status) {
            add(&self.error_answers[index], 1);
        }
    }

    /// The exposition text.
    pub(crate) fn render(&self, gauges: &Gauges) -> String {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut text = String::with_capacity(2048);
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(text, "{name}{labels} {value}");
            }
        };
        let one = |value: u64| [(String::new(), value)];
        family("ssed_streams_live", "gauge", "Streams being served now.", &one(gauges.live_streams as u64));
        family(
            "ssed_connections_live",
            "gauge",
            "Connections holding a place, streaming or not yet.",
            &one(gauges.live_connections as u64),
        );
        family(
            "ssed_max_clients",
            "gauge",
            "The --max-clients cap in force, after fitting it under the OS limits.",
            &one(gauges.max_clients as u64),
        );
        if let Some(ceiling) = gauges.os_ceiling {
            family(
                "ssed_os_connection_ceiling",
                "gauge",
                "Connections the OS limits leave this process, read at start.",
                &one(ceiling as u64),
            );
        }
        family("ssed_streams_total", "counter", "Streams started.", &one(read(&self.streams_started)));
        family(
            "ssed_tokens_refused_total",
            "counter",
            "Requests refused for their token (401 or 403).",
            &one(read(&self.tokens_refused)),
        );
        let refused = [("full", read(&self.refused_full)), ("no_thread", read(&self.refused_no_thread))];
        let refused: Vec<_> =
            refused.iter().map(|(reason, value)| (format!("{{reason=\"{reason}\"}}"), *value)).collect();
        family("ssed_refused_total", "counter", "Connections refused, by reason.", &refused);
        let disconnects: Vec<_> = CloseReason::LABELS
            .iter()
            .zip(&self.disconnects)
            .map(|(reason, counter)| (format!("{{reason=\"{reason}\"}}"), read(counter)))
            .collect();
        family("ssed_disconnects_total", "counter", "Connections ended, by reason.", &disconnects);
        family(
            "ssed_events_sent_total",
            "counter",
            "Events written to streams.",
            &one(read(&self.events_sent)),
        );
        family(
            "ssed_bytes_sent_total",
            "counter",
            "Bytes written to clients: heads, frames, keep-alives, answers.",
            &one(read(&self.bytes_sent)),
        );
        family("ssed_events_published_total", "counter", "Events published.", &one(gauges.events_published));
        family(
            "ssed_topics_followed",
            "gauge",
            "Topics that at least one /events stream follows by name.",
            &one(gauges.topics_followed as u64),
        );
        family(
            "ssed_deliveries_total",
            "counter",
            "Published frames handed to /events streams, one per stream the event is for.",
            &one(gauges.deliveries),
        );
        family(
            "ssed_publish_wakeups_total",
            "counter",
            "Sleeping /events threads woken by a publish for their topics (a frame their socket could not take at once).",
            &one(read(&self.woken_by_publish)),
        );
        let errors: Vec<_> = ERROR_STATUSES
            .iter()
            .zip(&self.error_answers)
            .map(|(status, counter)| (format!("{{status=\"{status}\"}}"), read(counter)))
            .collect();
        if let Some((up, reconnects, skipped)) = gauges.redis {
            family(
                "ssed_redis_up",
                "gauge",
                "1 while the Redis reader's commands succeed.",
                &one(u64::from(up)),
            );
            family(
                "ssed_redis_reconnects_total",
                "counter",
                "Times the Redis reader lost Redis and tried again.",
                &one(reconnects),
            );
            family(
                "ssed_redis_entries_skipped_total",
                "counter",
                "Redis stream entries the reader skipped: over --max-event-bytes, or not events.",
                &one(skipped),
            );
        }
        family(
            "ssed_log_lines_dropped_total",
            "counter",
            "Log lines dropped because stderr was not keeping up.",
            &one(dropped_lines()),
        );
        family("ssed_error_answers_total", "counter", "Requests answered with an error, by status.", &errors);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_text() {
        let metrics = Metrics::default();
        metrics.stream_started();
        metrics.disconnected(CloseReason::ClientReset);
        metrics.sent_bytes(60);
        metrics.sent_events(1);
        metrics.sent_bytes(14);
        metrics.answered_error(431);
        metrics.turned_away(TurnedAway::Full);
        let text = metrics.render(&Gauges {
            live_streams: 2,
            live_connections: 3,
            max_clients: 512,
            os_ceiling: Some(960),
            redis: Some((true, 2, 0)),
            events_published: 9,
            topics_followed: 2,
            deliveries: 7,
        });
        for line in [
            "# TYPE ssed_streams_live gauge\nssed_streams_live 2\n",
            "ssed_connections_live 3\n",
            "ssed_streams_total 1\n",
            "ssed_refused_total{reason=\"full\"} 1\n",
            "ssed_disconnects_total{reason=\"client_reset\"} 1\n",
            "ssed_disconnects_total{reason=\"client_closed\"} 0\n",
            "ssed_events_sent_total 1\n",
            "ssed_bytes_sent_total 74\n",
            "ssed_error_answers_total{status=\"431\"} 1\n",
            "ssed_events_published_total 9\n",
            "ssed_os_connection_ceiling 960\n",
            "ssed_redis_up 1\n",
            "ssed_redis_reconnects_total 2\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(text.lines().all(|line| line.starts_with('#') || line.starts_with("ssed_")));
    }
}
