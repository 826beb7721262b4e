//! Topics: many streams on one server and on one connection, each publish
//! reaching (and waking) only the streams that follow its topic.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use ssed::{Config, Secret};
use support::{
    eventually, exchange, metric, read_until, start, status_of, subscribe, Subscriber, TestServer,
};

const TOKEN: &str = "topics-token";

fn with_token(config: &mut Config) {
    config.events.publish_token = Some(Secret(TOKEN.to_owned()));
}

fn publish(server: &TestServer, query: &str, body: &str) -> String {
    let request = format!(
        "POST /publish{query} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(server, request.as_bytes())
}

#[test]
fn each_stream_gets_its_topics_in_publish_order_each_once() {
    let server = start(with_token);
    let mut on_a = subscribe(&server, "/events?topic=room/a", "");
    let mut on_b = subscribe(&server, "/events?topic=room%2Fb", "");
    let mut on_both = subscribe(&server, "/events?topic=room/a&topic=room/b&topic=room/a", "");
    let mut on_all = subscribe(&server, "/events", "");
    eventually(Duration::from_secs(2), "four streams", || server.handle.live_streams() == 4);
    for (topic, data) in
        [("room/a", "a1"), ("room/b", "b1"), ("room/c", "c1"), ("room/a", "a2"), ("room/b", "b2")]
    {
        let answer = publish(&server, &format!("?topic={topic}"), data);
        assert_eq!(status_of(&answer), 200, "{answer}");
    }
    // The default topic: a publish without ?topic=.
    server.handle.publisher().publish(None, "d1").expect("publish");
    assert_eq!(on_a.data(2), ["a1", "a2"]);
    assert_eq!(on_b.data(2), ["b1", "b2"]);
    assert_eq!(on_both.data(4), ["a1", "b1", "a2", "b2"]);
    assert_eq!(on_all.data(6), ["a1", "b1", "c1", "a2", "b2", "d1"]);
    let mut on_default = subscribe(&server, "/events?topic=default&lastEventId=1-1", "");
    // An id from another run: everything retained of its topic, after `missed`.
    assert_eq!(on_default.data(2), ["1-1", "d1"]);
}

#[test]
fn last_event_id_replays_exactly_the_followed_topics_after_it() {
    let server = start(|_| {});
    let publisher = server.handle.publisher();
    let to_a = publisher.on_topic("a").expect("topic");
    let to_b = publisher.on_topic("b").expect("topic");
    assert_eq!(to_a.topic(), "a");
    let first = to_a.publish(None, "a1").expect("publish");
    to_b.publish(None, "b1").expect("publish");
    to_a.publish(None, "a2").expect("publish");
    publisher.publish(None, "d1").expect("publish");
    to_b.publish(None, "b2").expect("publish");
    let header = format!("Last-Event-ID: {first}\r\n");
    let mut replayed = subscribe(&server, "/events?topic=b&topic=a", &header);
    assert_eq!(replayed.data(3), ["b1", "a2", "b2"]);
    to_a.publish(None, "a3").expect("publish");
    assert_eq!(replayed.data(1), ["a3"], "then live ones, no duplicate");
    let mut by_query = subscribe(&server, &format!("/events?topic=b&lastEventId={first}"), "");
    assert_eq!(by_query.data(2), ["b1", "b2"]);
}

#[test]
fn a_publish_wakes_only_the_streams_of_its_topic() {
    let server = start(|config| config.timeouts.interval = Duration::from_secs(30));
    let streams: Vec<Subscriber> =
        (0..200).map(|n| subscribe(&server, &format!("/events?topic=t{n}"), "")).collect();
    eventually(Duration::from_secs(5), "200 streams", || server.handle.live_streams() == 200);
    assert_eq!(metric(&server, "ssed_topics_followed"), 200);
    let to_one = server.handle.publisher().on_topic("t7").expect("topic");
    let mut target = streams.into_iter().nth(7).expect("stream 7");
    for n in 0..50 {
        to_one.publish(None, &n.to_string()).expect("publish");
        // One at a time, so each publish finds the thread asleep again.
        assert_eq!(target.data(1), [n.to_string()]);
    }
    // 50 deliveries, to the one stream of t7: not 50 × 200. And the
    // publisher wrote each to that idle stream's socket itself, so its
    // thread slept on (one wake-up a publish before direct writes).
    assert_eq!(metric(&server, "ssed_deliveries_total"), 50);
    let wakeups = metric(&server, "ssed_publish_wakeups_total");
    assert!(wakeups <= 5, "{wakeups} wake-ups for 50 publishes to one stream's topic");
}

#[test]
fn bad_topics_are_refused_with_the_rule_never_a_stream() {
    let server = start(|config| {
        with_token(config);
        config.events.max_topics = 3;
    });
    for target in [
        "/events?topic=",
        "/events?topic=a%zz",
        "/events?topic=a%",
        "/events?topic=a%00",
        "/events?topic=a%0Ab",
        "/events?topic=a+b",
        "/events?topic=caf%C3%A9",
        "/events?topic=a&topic=b&topic=c&topic=d",
    ] {
        let answer = exchange(&server, format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        assert_eq!(status_of(&answer), 400, "{target}: {answer}");
        assert!(!answer.contains("text/event-stream"), "{target}: {answer}");
        let rule = answer.contains("a topic is 1 to 128 bytes of A-Z a-z 0-9 - . _ ~ / :")
            || answer.contains("percent-encoding")
            || answer.contains("more than 3 topics");
        assert!(rule, "{target}: {answer}");
    }
    let long = "x".repeat(129);
    for query in [format!("?topic={long}"), "?topic=%zz".to_owned(), "?topic=".to_owned()] {
        let answer = publish(&server, &query, "x");
        assert_eq!(status_of(&answer), 400, "{query}: {answer}");
    }
    // Three distinct topics, sent with duplicates, are within the limit.
    subscribe(&server, "/events?topic=a&topic=b&topic=a&topic=c&topic=b", "");
    assert_eq!(metric(&server, "ssed_events_published_total"), 0);
}

#[test]
fn stdin_lines_go_to_the_stdin_topic() {
    let mut server = support::run_binary(&["--stdin", "--stdin-topic", "logs/app"]);
    let mut on_logs = support::connect(server.addr);
    on_logs.write_all(b"GET /events?topic=logs/app HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
    read_until(&mut on_logs, "retry: 3000\n\n", 1);
    let mut on_default = support::connect(server.addr);
    on_default.write_all(b"GET /events?topic=default HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
    read_until(&mut on_default, "retry: 3000\n\n", 1);
    let mut stdin = server.child.stdin.take().expect("stdin");
    stdin.write_all(b"GET /health 200\n").expect("write");
    stdin.flush().expect("flush");
    read_until(&mut on_logs, "data: GET /health 200\n\n", 1);
    on_default.set_read_timeout(Some(Duration::from_millis(1500))).expect("timeout");
    let mut chunk = [0u8; 256];
    // The default topic's stream gets keep-alives only.
    let seen = on_default.read(&mut chunk).map(|read| String::from_utf8_lossy(&chunk[..read]).into_owned());
    assert!(seen.as_deref().map_or(true, |text| !text.contains("data:")), "{seen:?}");
}
