//! Publishing your own events: from Rust, over HTTP and from stdin, to every
//! `/events` client, with replay after a reconnect.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use ssed::{Config, Secret};
use support::{exchange, get, metric, read_to_close, read_until, start, status_of, subscribe, TestServer};

const TOKEN: &str = "test-token-0123456789";

fn with_token(config: &mut Config) {
    config.events.publish_token = Some(Secret(TOKEN.to_owned()));
}

fn post(server: &TestServer, target: &str, headers: &str, body: &[u8]) -> String {
    let mut request =
        format!("POST {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{headers}\r\n").into_bytes();
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
        let mut request =
            format!("{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{headers}\r\n")
                .into_bytes();
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

fn publish_request(target: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

#[test]
fn stdin_lines_within_the_limit_are_published_even_when_repaired() {
    let mut server = support::run_binary(&["--stdin", "--max-event-bytes", "100"]);
    let mut events = support::connect(server.addr);
    events.write_all(&get("/events")).expect("subscribe");
    read_until(&mut events, "retry: 3000\n\n", 1);
    let mut stdin = server.child.stdin.take().expect("piped stdin");
    // 40 bytes of 0xFF: 40 input bytes, 120 once each becomes U+FFFD.
    let mut input = vec![0xFF; 40];
    input.push(b'\n');
    // 100 bare CRs cost 700 bytes as sent: over the limit, skipped.
    input.extend_from_slice(&[b'\r'; 100]);
    input.push(b'\n');
    // A last line without a newline loses its CR like any other line.
    input.extend_from_slice(b"last\r");
    stdin.write_all(&input).expect("write stdin");
    drop(stdin);

    let received = read_until(&mut events, "data: last\n", 1);
    let received = received + &read_until(&mut events, "\n", 1);
    assert!(received.contains(&format!("data: {}\n\n", "\u{FFFD}".repeat(40))), "{received}");
    assert!(!received.contains("data: last\ndata: \n"), "{received}");
    let summary = support::wait_for_line(&server.stderr, "end of input");
    assert!(summary.contains("after 2 events (1 repaired, 1 skipped, 0 failed)"), "{summary}");
}

#[test]
fn max_event_bytes_bounds_the_event_as_sent_newlines_and_bare_crs_included() {
    // 700 bytes as sent is 100 line breaks: each becomes "\ndata: ".
    let server = start(|config| {
        with_token(config);
        config.events.max_event_bytes = 700;
    });
    for (body, status) in [
        (vec![b'\n'; 100], 200),
        (vec![b'\n'; 101], 413),
        (vec![b'\r'; 100], 200),
        (vec![b'\r'; 101], 413),
        (vec![b'x'; 700], 200),
        (vec![b'x'; 701], 413),
    ] {
        let answer = exchange(&server, &publish_request("/publish", "", &body));
        assert_eq!(status_of(&answer), status, "{} bytes of {:?}: {answer}", body.len(), body[0] as char);
    }
    // The default limit refuses 64 KiB of newlines (458 KB as sent).
    let default = start(with_token);
    let answer = exchange(&default, &publish_request("/publish", "", &vec![b'\n'; 65_536]));
    assert_eq!(status_of(&answer), 413, "{answer}");
    let publisher = default.handle.publisher();
    assert!(publisher.publish(None, &"\n".repeat(65_536)).is_err());
}

#[test]
fn expect_100_continue_gets_continue_before_the_body_or_the_refusal_at_once() {
    let server = start(with_token);
    let mut stream = server.connect();
    let head = format!(
        "POST /publish HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("send head");
    let interim = read_until(&mut stream, "\r\n\r\n", 1);
    assert_eq!(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"hello").expect("send body");
    let answer = read_to_close(&mut stream);
    assert_eq!(status_of(&answer), 200, "{answer}");

    // A request that will be refused gets its refusal, not 100 Continue.
    let mut stream = server.connect();
    stream
        .write_all(b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .expect("send head");
    let answer = read_to_close(&mut stream);
    assert_eq!(status_of(&answer), 401, "{answer}");
}

#[test]
fn empty_and_non_utf8_event_names_are_refused() {
    let server = start(with_token);
    for target in ["/publish?event=", "/publish?event=%FF", "/publish?event=a%0Ab", "/publish?event=a%00"] {
        let answer = exchange(&server, &publish_request(target, "", b"x"));
        assert_eq!(status_of(&answer), 400, "{target}: {answer}");
        assert!(answer.contains("bad event name"), "{target}: {answer}");
    }
    assert_eq!(metric(&server, "ssed_events_published_total"), 0);
}

/// Issue 18, item 14: a publish names one topic and one event, decoded by
/// the topic's strict rule; the old server took the first of two values
/// and kept a bad `%` escape as a literal event name.
#[test]
fn repeated_or_badly_escaped_publish_query_values_are_refused_with_the_rule() {
    let server = start(with_token);
    let mut client = subscribe(&server, "/events", "");
    support::eventually(Duration::from_secs(2), "subscribed", || server.handle.live_streams() == 1);
    let cases = [
        ("/publish?topic=a&topic=b", "bad topic: ?topic= given more than once; an event goes to one topic"),
        ("/publish?topic=a&event=x&topic=a", "bad topic: ?topic= given more than once"),
        ("/publish?event=%zz", "bad event name: bad percent-encoding in the query (% needs two hex digits)"),
        ("/publish?event=a%", "bad event name: bad percent-encoding"),
        ("/publish?event=%4", "bad event name: bad percent-encoding"),
        ("/publish?event=a&event=b", "bad event name: ?event= given more than once; an event has one name"),
        ("/publish?event=a&event=a", "bad event name: ?event= given more than once"),
    ];
    for (target, rule) in cases {
        let answer = exchange(&server, &publish_request(target, "", b"x"));
        assert_eq!(status_of(&answer), 400, "{target}: {answer}");
        assert!(answer.contains(&format!("\r\n\r\n400 {rule}")), "{target}: {answer}");
    }
    // Nothing reached the client: the first event it sees is the next good one.
    let answer = authorized_post(&server, "/publish?event=a%25&topic=a", "good");
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert_eq!(metric(&server, "ssed_events_published_total"), 1);
    let received = client.events(1);
    assert!(received.ends_with("\nevent: a%\ndata: good\n\n"), "{received}");
}
