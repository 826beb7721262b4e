//! The two ping streams, read the way clients read them.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use support::{exchange, read_until, start, status_of};

/// One event as a client sees it: its fields in order.
#[derive(Debug, Default)]
struct Frame {
    fields: Vec<(String, String)>,
    arrived: Option<Instant>,
}

impl Frame {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(field, _)| field == name).map(|(_, value)| value.as_str())
    }
}

/// Reads `count` events from an event-stream body with the WHATWG rule:
/// one space after the colon is stripped, nothing else.
fn read_frames(reader: &mut impl BufRead, count: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut current = Frame::default();
    let mut line = String::new();
    while frames.len() < count {
        line.clear();
        let read = reader.read_line(&mut line).expect("read an event-stream line");
        assert!(read > 0, "stream ended after {} frames", frames.len());
        let line = line.strip_suffix('\n').expect("lines end in LF");
        if line.is_empty() {
            current.arrived = Some(Instant::now());
            frames.push(std::mem::take(&mut current));
            continue;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        current.fields.push((name.to_owned(), value.to_owned()));
    }
    frames
}

fn ureq_stream(url: &str, last_event_id: Option<&str>) -> impl BufRead {
    let mut request = ureq::get(url).header("Accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.call().expect("stream request");
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert_eq!(headers["connection"], "close");
    assert!(headers.get("content-length").is_none() && headers.get("transfer-encoding").is_none());
    BufReader::new(response.into_body().into_reader())
}

#[test]
fn sse_sends_named_pings_at_once_and_then_every_interval() {
    const INTERVAL: Duration = Duration::from_millis(500);
    let server = start(|config| config.interval = INTERVAL);
    let started = Instant::now();
    let mut reader = ureq_stream(&server.url("/sse"), None);
    let frames = read_frames(&mut reader, 4);

    // The first frame does not wait for an interval (a loaded machine may
    // take a while to start the thread, never a whole interval).
    let first_after = frames[0].arrived.expect("arrival time") - started;
    assert!(first_after < INTERVAL, "first frame after {first_after:?}");
    assert_eq!(frames[0].fields[0], ("retry".to_owned(), "3000".to_owned()));
    for (index, frame) in frames.iter().enumerate() {
        assert_eq!(frame.get("event"), Some("ping"), "exactly 'ping', no trailing space");
        assert_eq!(frame.get("id"), Some((index + 1).to_string().as_str()));
        let data = frame.get("data").expect("data field");
        assert!(data.len() == 24 && data.ends_with('Z') && data.as_bytes()[10] == b'T', "timestamp {data}");
        assert_eq!(frame.get("retry").is_some(), index == 0, "retry only in the first frame");
    }
    // Frames 2..4 came one interval apart: not all at once, not after seconds.
    // The schedule is fixed, so three intervals take at least three
    // intervals less the 50 ms a reader may have been late for the first.
    let total = frames[3].arrived.expect("arrival") - frames[0].arrived.expect("arrival");
    assert!(total >= 3 * INTERVAL - Duration::from_millis(50), "three intervals took only {total:?}");
    assert!(total < 6 * INTERVAL, "three intervals took {total:?}");
}

#[test]
fn messages_sends_pings_without_an_event_field() {
    let server = start(|config| config.interval = Duration::from_millis(50));
    let mut reader = ureq_stream(&server.url("/messages?from=test"), None);
    for (index, frame) in read_frames(&mut reader, 3).iter().enumerate() {
        assert_eq!(frame.get("event"), None, "{:?}", frame.fields);
        assert_eq!(frame.get("id"), Some((index + 1).to_string().as_str()));
        assert!(frame.get("data").is_some());
    }
}

#[test]
fn ids_carry_on_after_last_event_id() {
    let server = start(|config| config.interval = Duration::from_millis(50));
    let cases =
        [(Some("41"), 42), (Some("junk"), 1), (Some("-3"), 1), (Some("9007199254740991"), 1), (None, 1)];
    for (last_event_id, first) in cases {
        let mut reader = ureq_stream(&server.url("/sse"), last_event_id);
        let frames = read_frames(&mut reader, 2);
        assert_eq!(frames[0].get("id"), Some(first.to_string().as_str()), "{last_event_id:?}");
        assert_eq!(frames[1].get("id"), Some((first + 1).to_string().as_str()), "{last_event_id:?}");
    }
}

#[test]
fn http_1_0_clients_get_a_close_delimited_stream() {
    let server = start(|_| {});
    let mut stream = server.connect();
    stream.write_all(b"GET /sse HTTP/1.0\r\n\r\n").expect("send");
    let answer = read_until(&mut stream, "data: ", 1);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    assert!(!answer.to_ascii_lowercase().contains("transfer-encoding"), "{answer}");
}

#[test]
fn head_answers_the_stream_head_and_closes() {
    let server = start(|_| {});
    let answer = exchange(&server, b"HEAD /sse HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(status_of(&answer), 200);
    assert!(answer.contains("\r\nContent-Type: text/event-stream\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n"), "head only: {answer:?}");

    let page = exchange(&server, b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(page.contains("Content-Type: text/html"), "{page}");
    assert!(page.ends_with("\r\n\r\n"), "head only: {page:?}");
}

#[test]
fn options_is_a_cors_preflight() {
    let server = start(|config| config.cors_origin = "https://app.test".to_owned());
    let answer = exchange(
        &server,
        b"OPTIONS /sse HTTP/1.1\r\nHost: a\r\nOrigin: https://app.test\r\nAccess-Control-Request-Method: GET\r\n\r\n",
    );
    assert_eq!(status_of(&answer), 204, "{answer}");
    for line in [
        "Access-Control-Allow-Origin: https://app.test",
        "Access-Control-Allow-Methods: GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers: Last-Event-ID, Cache-Control, Authorization, Content-Type",
        "Allow: GET, HEAD, OPTIONS",
    ] {
        assert!(answer.contains(&format!("\r\n{line}\r\n")), "{line} missing: {answer}");
    }
    assert!(!answer.contains("Content-Length"), "204 has no length: {answer}");

    let stream = ureq::get(&server.url("/sse")).call().expect("stream");
    assert_eq!(stream.headers()["access-control-allow-origin"], "https://app.test");
}

#[test]
fn options_star_lists_post_only_when_publishing_is_on() {
    let request = b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
    let off = exchange(&start(|_| {}), request);
    assert!(off.contains("\r\nAllow: GET, HEAD, OPTIONS\r\n"), "{off}");
    let on = exchange(&start(|config| config.publish_token = Some(ssed::Secret("t".to_owned()))), request);
    assert!(on.contains("\r\nAllow: GET, HEAD, POST, OPTIONS\r\n"), "{on}");
}

#[test]
fn demo_page_uses_both_streams() {
    let server = start(|_| {});
    let mut response = ureq::get(&server.url("/")).call().expect("demo page");
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let page = response.body_mut().read_to_string().expect("page text");
    for needle in [
        "new EventSource(path)",
        "followPings('/sse')",
        "addEventListener('ping'",
        "value=\"/messages\"",
        ".onmessage = ",
        ".onopen = ",
        ".onerror = ",
    ] {
        assert!(page.contains(needle), "demo page lacks {needle}");
    }
}
