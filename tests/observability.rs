//! `/metrics` and `/healthz` tell what the server is doing.

mod support;

use std::net::Shutdown;
use std::time::Duration;

use support::{eventually, exchange, get, metric, open_stream, read_to_close, read_until, start, status_of};

#[test]
fn healthz_answers_ok() {
    let server = start(|_| {});
    let answer = exchange(&server, &get("/healthz"));
    assert_eq!(status_of(&answer), 200);
    assert!(answer.ends_with("\r\n\r\nok\nevents: memory\n"), "{answer}");
}

#[test]
fn metrics_count_streams_disconnects_refusals_and_errors() {
    let server = start(|config| {
        config.limits.max_clients = 2;
        config.timeouts.interval = Duration::from_millis(20);
    });
    let answer = exchange(&server, &get("/metrics"));
    assert!(answer.contains("Content-Type: text/plain; version=0.0.4"), "{answer}");

    // One stream that ends by FIN after three pings.
    let mut stream = open_stream(&server, "/sse");
    read_until(&mut stream, "id: 3\n", 1);
    stream.shutdown(Shutdown::Write).expect("FIN");
    read_to_close(&mut stream);
    eventually(Duration::from_secs(2), "stream ended", || server.handle.live_streams() == 0);
    assert_eq!(metric(&server, "ssed_streams_total"), 1);
    assert_eq!(metric(&server, "ssed_disconnects_total{reason=\"client_closed\"}"), 1);
    let events = metric(&server, "ssed_events_sent_total");
    assert!(events >= 3, "{events} events");
    assert!(metric(&server, "ssed_bytes_sent_total") > events * 40);

    // Errors by status.
    exchange(&server, b"GET / HTTP/1.1\r\n\r\n");
    exchange(&server, &get("/nope"));
    exchange(&server, &get("/nope"));
    assert_eq!(metric(&server, "ssed_error_answers_total{status=\"400\"}"), 1);
    assert_eq!(metric(&server, "ssed_error_answers_total{status=\"404\"}"), 2);

    // A refusal when full. Each scrape needs a place too, so scrape only
    // after the two held streams are gone.
    let held = [open_stream(&server, "/sse"), open_stream(&server, "/sse")];
    let refused = exchange(&server, &get("/sse"));
    assert!(refused.contains("ssed is busy"), "{refused}");
    drop(held);
    eventually(Duration::from_secs(2), "places free", || server.handle.live_connections() == 0);
    assert_eq!(metric(&server, "ssed_refused_total{reason=\"full\"}"), 1);
    assert_eq!(metric(&server, "ssed_streams_live"), 0);

    let publisher = server.handle.publisher();
    publisher.publish(None, "x").expect("publish");
    assert_eq!(metric(&server, "ssed_events_published_total"), 1);
}
