//! The two ping streams, read the way clients read them.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use support::{exchange, get, read_until, start, status_of, SSED};

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
    let server = start(|config| config.timeouts.interval = INTERVAL);
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
    let server = start(|config| config.timeouts.interval = Duration::from_millis(50));
    let mut reader = ureq_stream(&server.url("/messages?from=test"), None);
    for (index, frame) in read_frames(&mut reader, 3).iter().enumerate() {
        assert_eq!(frame.get("event"), None, "{:?}", frame.fields);
        assert_eq!(frame.get("id"), Some((index + 1).to_string().as_str()));
        assert!(frame.get("data").is_some());
    }
}

#[test]
fn ids_carry_on_after_last_event_id() {
    let server = start(|config| config.timeouts.interval = Duration::from_millis(50));
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
    let server = start(|config| config.cors_origins = vec!["https://app.test".to_owned()]);
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
    let on =
        exchange(&start(|config| config.events.publish_token = Some(ssed::Secret("t".to_owned()))), request);
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

/// Stops the server right after a frame arrived on `path`, for 3.5
/// intervals, and counts the frames that arrive within 300 ms of resuming.
fn frames_right_after_a_stall(path: &str, frame: &str) -> usize {
    let mut server = support::run_binary(&["--interval", "1000"]);
    let mut stream = support::connect(server.addr);
    stream.write_all(&get(path)).expect("send");
    read_until(&mut stream, "\n\n", 1);
    // Right after a frame the next is a whole interval away.
    read_until(&mut stream, frame, 1);
    support::signal(&server.child, "STOP");
    thread::sleep(Duration::from_millis(3_500));
    support::signal(&server.child, "CONT");
    let started = Instant::now();
    let mut seen = String::new();
    let mut chunk = [0u8; 4096];
    while started.elapsed() < Duration::from_millis(300) {
        stream.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
        if let Ok(read @ 1..) = stream.read(&mut chunk) {
            seen.push_str(&String::from_utf8_lossy(&chunk[..read]));
        }
    }
    support::end_child(&mut server.child);
    seen.matches(frame).count()
}

#[test]
fn pings_resume_with_one_frame_after_the_process_was_stopped() {
    assert_eq!(frames_right_after_a_stall("/sse", "event: ping"), 1);
}

#[test]
fn keep_alives_resume_with_one_frame_after_the_process_was_stopped() {
    assert_eq!(frames_right_after_a_stall("/events", ": keep-alive"), 1);
}

/// Resident memory of a process, from `/proc/PID/status`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {status}"))
}

#[test]
fn a_stream_keeps_none_of_its_request_headers() {
    // Without glibc's per-thread cache, memory a thread freed is free for
    // the next one, so what stays resident is what streams keep.
    let mut command = Command::new(SSED);
    command.args(["--addr", "127.0.0.1:0", "--interval", "60000", "--quiet"]);
    command.env("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0");
    let server = support::run_command(command);
    let open = |headers: &str, count: usize| -> Vec<TcpStream> {
        (0..count)
            .map(|_| {
                let mut stream = support::connect(server.addr);
                let request = format!("GET /sse HTTP/1.1\r\nHost: t\r\n{headers}\r\n");
                stream.write_all(request.as_bytes()).expect("send");
                read_until(&mut stream, "event: ping", 1);
                stream
            })
            .collect()
    };
    // Warm up with 400 plain streams, so that the 400 measured below run on
    // thread stacks the C library has cached and touched already; then
    // measure 200 streams with plain heads against 200 with 99 headers of
    // 70 bytes (7 KiB each).
    drop(open("", 400));
    support::eventually(Duration::from_secs(10), "the warm-up streams to end", || {
        let metrics = support::exchange_addr(server.addr, &get("/metrics"));
        metrics.contains("\nssed_streams_live 0\n")
    });
    let before = rss_kib(server.child.id());
    let plain = open("", 200);
    let with_plain = rss_kib(server.child.id());
    let fat_headers: String = (0..99).map(|n| format!("X-Header-{n:02}: {}\r\n", "v".repeat(56))).collect();
    let fat = open(&fat_headers, 200);
    let with_fat = rss_kib(server.child.id());
    let plain_per_stream = (with_plain.saturating_sub(before)) * 1024 / 200;
    let fat_per_stream = (with_fat.saturating_sub(with_plain)) * 1024 / 200;
    // A stream that kept its 99 headers would cost 7 KiB and more on top.
    assert!(
        fat_per_stream < plain_per_stream + 4 * 1024,
        "plain {plain_per_stream} B, with 7 KiB of headers {fat_per_stream} B per stream"
    );
    eprintln!("per stream: plain {plain_per_stream} B, with 7 KiB of headers {fat_per_stream} B");
    drop((plain, fat));
}
