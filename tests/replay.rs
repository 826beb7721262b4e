//! A client that reconnects with `Last-Event-ID` (the header or the
//! `lastEventId` query) gets what it missed, once and in order, or the
//! `missed` event when it is gone; a client too slow for the history is
//! dropped without holding anyone up.

mod support;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use support::{read_to_close, read_until, start, subscribe};

#[test]
fn reconnecting_with_last_event_id_replays_what_was_missed_once() {
    let server = start(|_| {});
    let publisher = server.handle.publisher();
    let ids: Vec<_> =
        (1..=5).map(|n| publisher.publish(None, &format!("event {n}")).expect("publish")).collect();

    // By header, as a browser reconnects.
    let mut by_header = subscribe(&server, "/events", &format!("Last-Event-ID: {}\r\n", ids[2]));
    // By query, for a first connection; a header, when present, wins.
    let mut by_query = subscribe(&server, &format!("/events?lastEventId={}", ids[2]), "");
    let mut both = subscribe(
        &server,
        &format!("/events?lastEventId={}", ids[0]),
        &format!("Last-Event-ID: {}\r\n", ids[2]),
    );
    support::eventually(Duration::from_secs(2), "three subscribers", || server.handle.live_streams() == 3);
    let live = publisher.publish(None, "event 6").expect("publish");

    let expected = format!(
        "id: {}\ndata: event 4\n\nid: {}\ndata: event 5\n\nid: {live}\ndata: event 6\n\n",
        ids[3], ids[4]
    );
    for client in [&mut by_header, &mut by_query, &mut both] {
        assert_eq!(client.events(3), expected);
    }
}

#[test]
fn an_id_older_than_the_history_gets_the_missed_signal() {
    let server = start(|config| config.events.history = 3);
    let publisher = server.handle.publisher();
    let ids: Vec<_> = (1..=6).map(|n| publisher.publish(None, &n.to_string()).expect("publish")).collect();
    let mut client = subscribe(&server, "/events", &format!("Last-Event-ID: {}\r\n", ids[0]));
    let text = client.events(4);
    let expected = format!(
        "event: missed\ndata: {}\n\nid: {}\ndata: 4\n\nid: {}\ndata: 5\n\nid: {}\ndata: 6\n\n",
        ids[0], ids[3], ids[4], ids[5]
    );
    assert_eq!(text, expected);
}

#[test]
fn an_id_from_an_earlier_run_gets_everything_retained_and_the_signal() {
    let earlier_id = {
        let earlier = start(|_| {});
        earlier.handle.publisher().publish(None, "before the restart").expect("publish")
    };
    thread::sleep(Duration::from_millis(2)); // a new run is a new millisecond
    let server = start(|_| {});
    let kept = server.handle.publisher().publish(None, "after the restart").expect("publish");
    assert_ne!(kept.run, earlier_id.run);
    let mut client = subscribe(&server, "/events", &format!("Last-Event-ID: {earlier_id}\r\n"));
    let expected = format!("event: missed\ndata: {earlier_id}\n\nid: {kept}\ndata: after the restart\n\n");
    assert_eq!(client.events(2), expected);
}

#[test]
fn a_client_that_falls_behind_the_history_is_dropped_and_blocks_no_one() {
    let server = start(|config| config.events.history = 64);
    let mut stalled = subscribe(&server, "/events", "");
    let mut reader = subscribe(&server, "/events", "");
    support::eventually(Duration::from_secs(2), "two subscribers", || server.handle.live_streams() == 2);

    let publisher = server.handle.publisher();
    let big = "x".repeat(60 * 1024);
    let mut slowest_publish = Duration::ZERO;
    for n in 0..400 {
        let started = Instant::now();
        let id = publisher.publish(None, &big).expect("publish");
        slowest_publish = slowest_publish.max(started.elapsed());
        // The reading client gets every event as it is published.
        let text = reader.events(1);
        assert!(text.starts_with(&format!("id: {id}\n")), "event {n} late or lost: {:.40}", text);
    }
    // 400 × 60 KiB is far more than socket buffers hold: the stalled
    // client's thread waits in a write while the publisher goes on.
    assert!(slowest_publish < Duration::from_millis(500), "a publish waited {slowest_publish:?}");

    // Once it reads again, its next event has left the 64-event history:
    // the server ends its stream instead of skipping events silently.
    let received = stalled.unread.clone() + &read_to_close(&mut stalled.stream);
    let count = received.matches("\nid: ").count();
    assert!(count < 400, "a client that fell behind got all {count} events");
    support::eventually(Duration::from_secs(2), "only the reader left", || server.handle.live_streams() == 1);
    assert_eq!(support::metric(&server, "ssed_disconnects_total{reason=\"fell_behind\"}"), 1);
}

#[test]
fn an_empty_last_event_id_means_live_only_in_either_form() {
    let server = start(|config| config.timeouts.interval = Duration::from_secs(30));
    let publisher = server.handle.publisher();
    publisher.publish(None, "before").expect("publish");
    let mut streams = Vec::new();
    for (n, (target, header)) in
        [("/events", "Last-Event-ID:\r\n"), ("/events?lastEventId=", "")].iter().enumerate()
    {
        let mut stream = server.connect();
        let request = format!("GET {target} HTTP/1.1\r\nHost: t\r\n{header}\r\n");
        stream.write_all(request.as_bytes()).expect("send");
        read_until(&mut stream, "retry: 3000\n\n", 1);
        support::eventually(Duration::from_secs(2), "subscribed", || server.handle.live_streams() == n + 1);
        let live = format!("live {n}");
        publisher.publish(None, &live).expect("publish");
        let seen = read_until(&mut stream, &format!("data: {live}\n\n"), 1);
        assert!(!seen.contains("missed") && !seen.contains("before"), "{target}: {seen}");
        streams.push(stream);
    }
    // A header that is not UTF-8 is an unknown id, like any other: the
    // same answer as a query value that is not an id.
    let unknown = |request: &[u8]| {
        let mut stream = server.connect();
        stream.write_all(request).expect("send");
        let seen = read_until(&mut stream, "data: live 1\n\n", 1);
        seen.split_once("retry: 3000\n\n").map(|(_, rest)| rest.to_owned()).unwrap_or_default()
    };
    let by_header = unknown(b"GET /events HTTP/1.1\r\nHost: t\r\nLast-Event-ID: \xff\r\n\r\n");
    let by_query = unknown(b"GET /events?lastEventId=%FF HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(by_header.starts_with("event: missed\ndata: \u{FFFD}\n\n"), "{by_header}");
    assert_eq!(by_header, by_query);
}
