//! Publishing your own events: from Rust, over HTTP and from stdin, to every
//! `/events` client, with replay after a reconnect.

mod support;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use ssed::{Config, Secret};
use support::{exchange, read_to_close, read_until, start, status_of, subscribe, TestServer};

const TOKEN: &str = "test-token-0123456789";

fn with_token(config: &mut Config) {
    config.events.publish_token = Some(Secret(TOKEN.to_owned()));
}

fn post(server: &TestServer, target: &str, headers: &str, body: &[u8]) -> String {
    let mut request = format!("POST {target} HTTP/1.1\r\nHost: test\r\n{headers}\r\n").into_bytes();
    request.extend_from_slice(body);
    exchange(server, &request)
}

fn authorized_post(server: &TestServer, target: &str, body: &str) -> String {
    let headers = format!("Authorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n", body.len());
    post(server, target, &headers, body.as_bytes())
}

#[test]
fn events_published_from_rust_reach_every_client_in_order() {
    let server = start(|_| {});
    let mut clients: Vec<_> = (0..3).map(|_| subscribe(&server, "/events", "")).collect();
    support::eventually(Duration::from_secs(2), "three subscribers", || server.handle.live_streams() == 3);
    let publisher = server.handle.publisher();
    let first = publisher.publish(None, "first").expect("publish");
    let second = publisher.publish(Some("reading"), "line one\nline two").expect("publish");
    assert!(second > first);
    let expected = format!(
        "id: {first}\ndata: first\n\nid: {second}\nevent: reading\ndata: line one\ndata: line two\n\n"
    );
    for client in &mut clients {
        assert_eq!(client.events(2), expected);
    }
}

#[test]
fn publishing_over_http_with_the_token() {
    let server = start(with_token);
    let mut client = subscribe(&server, "/events", "");
    support::eventually(Duration::from_secs(2), "subscribed", || server.handle.live_streams() == 1);
    let answer = authorized_post(&server, "/publish?event=build%20status", "green");
    assert_eq!(status_of(&answer), 200, "{answer}");
    let id = answer.split_once("\r\n\r\n").expect("body").1.trim_end().to_owned();
    assert_eq!(client.events(1), format!("id: {id}\nevent: build status\ndata: green\n\n"));
}

#[test]
fn every_publish_refusal_has_its_status_and_publishes_nothing() {
    let server = start(|config| {
        with_token(config);
        config.events.max_event_bytes = 16;
        config.timeouts.head_timeout = Duration::from_millis(300);
    });
    let mut client = subscribe(&server, "/events", "");
    support::eventually(Duration::from_secs(2), "subscribed", || server.handle.live_streams() == 1);
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    let cases: Vec<(&str, String, String, Vec<u8>, u16)> = vec![
        ("no token", "/publish".into(), "Content-Length: 1\r\n".into(), b"x".to_vec(), 401),
        (
            "wrong token",
            "/publish".into(),
            "Authorization: Bearer nope\r\nContent-Length: 1\r\n".into(),
            b"x".to_vec(),
            401,
        ),
        (
            "basic auth",
            "/publish".into(),
            "Authorization: Basic dXNlcjpwYXNz\r\nContent-Length: 1\r\n".into(),
            b"x".to_vec(),
            401,
        ),
        ("no length", "/publish".into(), auth.clone(), Vec::new(), 411),
        (
            "chunked",
            "/publish".into(),
            format!("{auth}Transfer-Encoding: chunked\r\n"),
            b"1\r\nx\r\n0\r\n\r\n".to_vec(),
            411,
        ),
        ("too large", "/publish".into(), format!("{auth}Content-Length: 17\r\n"), vec![b'x'; 17], 413),
        ("not utf-8", "/publish".into(), format!("{auth}Content-Length: 2\r\n"), vec![0xff, 0xfe], 400),
        (
            "lf in name",
            "/publish?event=a%0Ab".into(),
            format!("{auth}Content-Length: 1\r\n"),
            b"x".to_vec(),
            400,
        ),
        (
            "cr in name",
            "/publish?event=a%0Db".into(),
            format!("{auth}Content-Length: 1\r\n"),
            b"x".to_vec(),
            400,
        ),
        ("short body", "/publish".into(), format!("{auth}Content-Length: 5\r\n"), b"ab".to_vec(), 408),
        ("get", "/publish".into(), auth.clone(), Vec::new(), 405),
    ];
    for (name, target, headers, body, status) in cases {
        let method = if name == "get" { "GET" } else { "POST" };
        let mut request = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n{headers}\r\n").into_bytes();
        request.extend_from_slice(&body);
        let answer = exchange(&server, &request);
        assert_eq!(status_of(&answer), status, "{name}: {answer}");
        if status == 401 {
            assert!(answer.contains("\r\nWWW-Authenticate: Bearer realm=\"ssed\"\r\n"), "{name}: {answer}");
        }
    }
    // Nothing reached the client: the first event it sees is the next good one.
    let answer = authorized_post(&server, "/publish", "at limit 16 byte");
    assert_eq!(status_of(&answer), 200, "{answer}");
    let received = client.events(1);
    assert!(
        received.ends_with("\ndata: at limit 16 byte\n\n") && received.matches("id: ").count() == 1,
        "{received}"
    );
}

#[test]
fn without_a_token_there_is_no_publish_endpoint() {
    let server = start(|_| {});
    let answer = post(&server, "/publish", "Authorization: Bearer x\r\nContent-Length: 1\r\n", b"x");
    assert_eq!(status_of(&answer), 404, "{answer}");
}

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
fn events_streams_send_keep_alive_comments() {
    let server = start(|config| config.timeouts.interval = Duration::from_millis(50));
    let mut client = subscribe(&server, "/events", "");
    let text = client.unread.clone() + &read_until(&mut client.stream, ": keep-alive\n\n", 2);
    assert!(!text.contains("data:"), "{text}");
}

#[test]
fn keep_alive_comments_follow_their_own_flag_when_it_is_given() {
    // Pings would come every 50 ms; keep-alives on /events every 400 ms.
    let server = start(|config| {
        config.timeouts.interval = Duration::from_millis(50);
        config.timeouts.keep_alive = Some(Duration::from_millis(400));
    });
    let started = Instant::now();
    let mut client = subscribe(&server, "/events", "");
    read_until(&mut client.stream, ": keep-alive\n\n", 2);
    // Two keep-alives take two of their periods (800 ms), never two pings' (100 ms).
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(600), "two keep-alives within {took:?}");
}

#[test]
fn stdin_lines_become_events() {
    let mut server = support::run_binary(&["--stdin", "--stdin-event", "log", "--quiet"]);
    let addr = server.addr;
    let mut stream = support::connect(addr);
    stream.write_all(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n").expect("send");
    read_until(&mut stream, "retry: 3000\n\n", 1);
    let mut stdin = server.child.stdin.take().expect("stdin");
    stdin.write_all(b"first line\r\nbad \xff byte\n").expect("write stdin");
    drop(stdin); // end of input: the server keeps serving
    let text = read_until(&mut stream, "\n\n", 2);
    let body = &text[text.find("id: ").expect("an event")..];
    let lines: Vec<_> = body.lines().filter(|line| !line.starts_with("id: ")).collect();
    assert_eq!(lines, ["event: log", "data: first line", "", "event: log", "data: bad \u{fffd} byte", ""]);
    support::wait_for_line(&server.stderr, "line 2 was not UTF-8");
    support::wait_for_line(&server.stderr, "stdin: end of input after 2 events");
    let page = support::exchange_addr(addr, &support::get("/"));
    assert_eq!(status_of(&page), 200);
}
