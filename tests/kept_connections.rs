//! Publishers keep their connections open (issue 20, item 5; Mercure rule
//! 2): a connection whose requests publish serves one after another on its
//! thread, until the client closes, `--publish-idle-timeout` passes,
//! `--max-requests-per-connection` is reached, or the client says
//! `Connection: close` (or speaks HTTP/1.0 without `keep-alive`). Every
//! later request keeps every limit of a first one.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ssed::{Config, Secret};
use support::{eventually, metric, read_to_close, start, status_of, subscribe, TestServer};

const TOKEN: &str = "test-token-0123456789";

fn with_token(config: &mut Config) {
    config.events.publish_token = Some(Secret(TOKEN.to_owned()));
}

/// A publish of `data` to `/publish{query}`, with `extra` header lines.
fn publish_request(query: &str, extra: &str, data: &str) -> Vec<u8> {
    format!(
        "POST /publish{query} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {TOKEN}\r\n{extra}Content-Length: {}\r\n\r\n{data}",
        data.len()
    )
    .into_bytes()
}

/// Reads whole answers (head and `Content-Length` body) one at a time from
/// a connection that may stay open, keeping what arrives after one answer
/// for the next.
struct Answers {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Answers {
    fn new(stream: TcpStream) -> Answers {
        Answers { stream, buffer: Vec::new() }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// The next whole answer, head and body.
    fn next(&mut self) -> String {
        let started = Instant::now();
        loop {
            if let Some(end) = self.buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buffer[..end + 4]).into_owned();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("Content-Length: "))
                    .map_or(0, |value| value.parse::<usize>().expect("a length"));
                if self.buffer.len() >= end + 4 + length {
                    let answer: Vec<u8> = self.buffer.drain(..end + 4 + length).collect();
                    return String::from_utf8_lossy(&answer).into_owned();
                }
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no whole answer: {:?}", self.buffer);
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("closed before a whole answer: {:?}", String::from_utf8_lossy(&self.buffer)),
                Ok(read) => self.buffer.extend_from_slice(&chunk[..read]),
                Err(error) => {
                    panic!("{error} before a whole answer: {:?}", String::from_utf8_lossy(&self.buffer))
                }
            }
        }
    }

    /// Waits for the server to close; fails on any further byte.
    fn closed(&mut self) {
        assert!(self.buffer.is_empty(), "bytes after the last answer: {:?}", self.buffer);
        let rest = read_to_close(&mut self.stream);
        assert_eq!(rest, "", "bytes after the last answer");
    }
}

/// Waits until `count` connections have ended for `reason`: a connection
/// is counted once it is fully closed, after the gentle close's linger.
fn counted(server: &TestServer, reason: &str, count: u64) {
    let sample = format!("ssed_disconnects_total{{reason=\"{reason}\"}}");
    eventually(Duration::from_secs(3), &sample, || metric(server, &sample) == count);
}

/// A connection to `server`, read through [`Answers`].
fn open(server: &TestServer) -> Answers {
    Answers::new(server.connect())
}

fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").expect("a body").1
}

fn says_keep_alive(answer: &str) -> bool {
    assert!(!answer.contains("Connection: close") || !answer.contains("Connection: keep-alive"), "{answer}");
    answer.contains("\r\nConnection: keep-alive\r\n")
}

/// One publish answered 200 on a connection that stays open.
fn publish_kept(connection: &mut Answers, data: &str) -> String {
    connection.send(&publish_request("", "", data));
    let answer = connection.next();
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(says_keep_alive(&answer), "{answer}");
    body_of(&answer).trim_end().to_owned()
}

#[test]
fn a_hundred_publishes_on_one_connection_are_answered_in_order_and_delivered() {
    let server = start(with_token);
    let mut subscriber = subscribe(&server, "/events", "");
    eventually(Duration::from_secs(2), "subscribed", || server.handle.live_streams() == 1);
    let mut connection = open(&server);
    let mut ids = Vec::new();
    for n in 0..100 {
        ids.push(publish_kept(&mut connection, &format!("n{n}")));
        // The subscriber's place and this connection's one: never more.
        assert_eq!(server.handle.live_connections(), 2, "after publish {n}");
    }
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 100, "{ids:?}");
    // Each delivered once, in order, under the id its publish was answered with.
    let received = subscriber.events(100);
    let expected: String =
        ids.iter().enumerate().map(|(n, id)| format!("id: {id}\ndata: n{n}\n\n")).collect();
    assert_eq!(received, expected);
    // Closing it ends it once, as the client's close.
    drop(connection);
    eventually(Duration::from_secs(3), "the connection ended", || server.handle.live_connections() == 1);
    counted(&server, "client_closed", 1);
}

#[test]
fn pipelined_requests_in_one_write_are_all_answered_in_order() {
    let server = start(with_token);
    let mut subscriber = subscribe(&server, "/events", "");
    eventually(Duration::from_secs(2), "subscribed", || server.handle.live_streams() == 1);
    let mut connection = open(&server);
    // Each body runs straight into the next head; blank lines between
    // requests are allowed (RFC 9112 §2.2) and the last one closes.
    let mut bytes = publish_request("", "", "first");
    bytes.extend(publish_request("?event=second", "", "2"));
    bytes.extend_from_slice(b"\r\n");
    bytes.extend(publish_request("", "Connection: close\r\n", "third"));
    connection.send(&bytes);
    let answers = [connection.next(), connection.next(), connection.next()];
    for answer in &answers[..2] {
        assert_eq!(status_of(answer), 200, "{answer}");
        assert!(says_keep_alive(answer), "{answer}");
    }
    assert_eq!(status_of(&answers[2]), 200, "{}", answers[2]);
    assert!(answers[2].contains("\r\nConnection: close\r\n"), "{}", answers[2]);
    connection.closed();
    assert_eq!(subscriber.data(3), ["first", "2", "third"]);
}

#[test]
fn connection_close_and_http_1_0_close_after_the_answer() {
    let server = start(with_token);
    let mut connection = open(&server);
    publish_kept(&mut connection, "a");
    connection.send(&publish_request("", "Connection: close\r\n", "b"));
    let answer = connection.next();
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    connection.closed();

    let http_1_0 = |extra: &str| {
        format!(
            "POST /publish HTTP/1.0\r\nAuthorization: Bearer {TOKEN}\r\n{extra}Content-Length: 1\r\n\r\nx"
        )
        .into_bytes()
    };
    let mut connection = open(&server);
    connection.send(&http_1_0(""));
    let answer = connection.next();
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    connection.closed();
    // HTTP/1.0 with `Connection: keep-alive` keeps it (RFC 9112 §C.2.2).
    let mut connection = open(&server);
    connection.send(&http_1_0("Connection: keep-alive\r\n"));
    assert!(says_keep_alive(&connection.next()));
    connection.send(&http_1_0(""));
    assert!(connection.next().contains("\r\nConnection: close\r\n"));
    connection.closed();
}

#[test]
fn an_idle_kept_connection_is_closed_after_the_publish_idle_timeout() {
    let server = start(|config| {
        with_token(config);
        config.timeouts.publish_idle_timeout = Duration::from_millis(300);
    });
    let mut connection = open(&server);
    publish_kept(&mut connection, "a");
    let answered = Instant::now();
    connection.closed();
    let idle = answered.elapsed();
    assert!(idle >= Duration::from_millis(250) && idle < Duration::from_secs(3), "closed after {idle:?}");
    counted(&server, "idle_timeout", 1);
}

#[test]
fn the_request_limit_closes_after_that_many_requests() {
    let server = start(|config| {
        with_token(config);
        config.limits.max_requests_per_connection = 3;
    });
    let mut connection = open(&server);
    publish_kept(&mut connection, "1");
    publish_kept(&mut connection, "2");
    connection.send(&publish_request("", "", "3"));
    let third = connection.next();
    assert_eq!(status_of(&third), 200, "{third}");
    assert!(third.contains("\r\nConnection: close\r\n"), "{third}");
    connection.closed();
    counted(&server, "request_limit", 1);
    assert_eq!(metric(&server, "ssed_events_published_total"), 3);
}

/// Each limit of a first request holds for a later one: the same status,
/// then the connection closes, and nothing more is published.
#[test]
fn every_limit_of_a_first_request_holds_for_a_later_one() {
    let server = start(|config| {
        with_token(config);
        config.limits.max_head_bytes = 1024;
        config.limits.max_target_bytes = 100;
        config.events.max_event_bytes = 16;
    });
    let many_headers: String = (0..100).map(|n| format!("X-{n}: y\r\n")).collect();
    let cases: [(&str, Vec<u8>, u16); 6] = [
        (
            "head over --max-head-bytes",
            publish_request("", &format!("X-Big: {}\r\n", "a".repeat(1100)), "x"),
            431,
        ),
        (
            "target over --max-target-bytes",
            publish_request(&format!("?topic={}", "t".repeat(100)), "", "x"),
            414,
        ),
        ("over 100 header lines", publish_request("", &many_headers, "x"), 431),
        ("body over --max-event-bytes", publish_request("", "", &"x".repeat(17)), 413),
        (
            "no Content-Length",
            format!("POST /publish HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes(),
            411,
        ),
        ("not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(), 400),
    ];
    for (name, second, status) in cases {
        let mut connection = open(&server);
        publish_kept(&mut connection, "first");
        connection.send(&second);
        let answer = connection.next();
        assert_eq!(status_of(&answer), status, "{name}: {answer}");
        assert!(answer.contains("\r\nConnection: close\r\n"), "{name}: {answer}");
        connection.closed();
    }
    assert_eq!(metric(&server, "ssed_events_published_total"), 6);
}

#[test]
fn a_slow_second_head_or_body_gets_408_within_the_head_timeout() {
    let server = start(|config| {
        with_token(config);
        config.timeouts.head_timeout = Duration::from_millis(400);
    });
    // A slowloris: the second head starts and never ends.
    let mut connection = open(&server);
    publish_kept(&mut connection, "first");
    connection.send(b"POST /publish HTTP/1.1\r\nHost: t\r\n");
    let started = Instant::now();
    let answer = connection.next();
    assert_eq!(status_of(&answer), 408, "{answer}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(3), "408 after {waited:?}");
    connection.closed();
    // A second body that never comes whole.
    let mut connection = open(&server);
    publish_kept(&mut connection, "first");
    let head = format!(
        "POST /publish HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 12\r\n\r\n"
    );
    connection.send(format!("{head}twelve").as_bytes());
    let answer = connection.next();
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert!(answer.contains("body not received within 400 ms"), "{answer}");
    connection.closed();
    counted(&server, "head_timeout", 1);
}

/// Each head gets the whole `--head-timeout` from when it may start: a
/// second request sent after the first connection's head timeout (counted
/// from accept) has passed is still served.
#[test]
fn each_request_gets_a_fresh_head_timeout() {
    let server = start(|config| {
        with_token(config);
        config.timeouts.head_timeout = Duration::from_millis(1000);
    });
    let accepted = Instant::now();
    let mut connection = open(&server);
    let first = publish_request("", "", "first");
    connection.send(&first[..10]);
    std::thread::sleep(Duration::from_millis(600));
    connection.send(&first[10..]);
    assert_eq!(status_of(&connection.next()), 200);
    std::thread::sleep(Duration::from_millis(600));
    assert!(accepted.elapsed() > Duration::from_millis(1000));
    let second = publish_kept(&mut connection, "second");
    assert!(!second.is_empty());
}

/// Only publishes keep a connection: anything else on a kept connection is
/// answered as on a connection of its own, and the connection ends with it
/// (a short answer closes; a stream runs until it ends).
#[test]
fn a_request_other_than_a_publish_is_answered_and_ends_the_connection() {
    let server = start(with_token);
    let mut connection = open(&server);
    publish_kept(&mut connection, "first");
    connection.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    let answer = connection.next();
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    connection.closed();

    let mut connection = open(&server);
    publish_kept(&mut connection, "first");
    connection.send(b"GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    eventually(Duration::from_secs(2), "a stream", || server.handle.live_streams() == 1);
    let publisher = server.handle.publisher();
    publisher.publish(None, "live").expect("publish");
    let seen = support::read_until(&mut connection.stream, "data: live\n\n", 1);
    assert!(seen.starts_with("HTTP/1.1 200 OK\r\n"), "{seen}");
    assert!(seen.contains("Content-Type: text/event-stream"), "{seen}");
}

#[test]
fn shutdown_ends_an_idle_kept_connection_promptly() {
    let server = start(|config| {
        with_token(config);
        config.timeouts.publish_idle_timeout = Duration::from_secs(60);
    });
    let mut connection = open(&server);
    publish_kept(&mut connection, "first");
    eventually(Duration::from_secs(2), "one connection", || server.handle.live_connections() == 1);
    let asked = Instant::now();
    server.handle.shutdown();
    connection.closed();
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(3), "closed {took:?} after shutdown");
    eventually(Duration::from_secs(2), "no connection left", || server.handle.live_connections() == 0);
}

/// A refusal that leaves the body unread closes: where the next request
/// would start is not known.
#[test]
fn a_refusal_on_a_kept_connection_closes_it() {
    let server = start(with_token);
    let mut connection = open(&server);
    publish_kept(&mut connection, "first");
    connection.send(
        b"POST /publish HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer nope\r\nContent-Length: 1\r\n\r\nx",
    );
    let answer = connection.next();
    assert_eq!(status_of(&answer), 401, "{answer}");
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    connection.closed();
}

/// One log line per request, numbered; one close reason per connection.
#[test]
fn each_request_on_a_kept_connection_is_logged_with_its_number() {
    let server = support::run_binary(&["--publish-token", TOKEN, "--publish-idle-timeout", "200"]);
    let mut connection = Answers::new(support::connect(server.addr));
    publish_kept(&mut connection, "a");
    publish_kept(&mut connection, "b");
    let first = server.line_with("POST /publish -> 200 (request 1 on this connection)");
    assert!(first.contains("127.0.0.1:"), "{first}");
    server.line_with("POST /publish -> 200 (request 2 on this connection)");
    let ended = server.line_with("closed after 2 requests: idle for 200 ms");
    assert!(ended.contains("127.0.0.1:"), "{ended}");
    connection.closed();
}
