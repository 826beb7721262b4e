//! Every bad input gets a clear status and a closed connection: never a
//! stream, never a hang, never a crash.

mod support;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use support::{exchange, get, read_to_close, read_until, start, status_of};

/// The one check every row goes through: the status, a plain-text reason,
/// a `Content-Length` that matches, and the connection closed after it.
fn check(server: &support::TestServer, name: &str, request: &[u8], status: u16, reason: &str) {
    let answer = exchange(server, request);
    assert_eq!(status_of(&answer), status, "{name}: {answer}");
    assert!(!answer.contains("text/event-stream"), "{name} must not stream: {answer}");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{name}: no head end"));
    assert!(head.contains("\r\nConnection: close"), "{name}: {head}");
    assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())), "{name}: {answer}");
    assert!(body.starts_with(&format!("{status} {reason}")), "{name}: body {body:?}");
}

#[test]
fn malformed_requests_get_400() {
    let server = start(|_| {});
    let cases: &[(&str, &[u8], &str)] = &[
        ("no version", b"GET /sse\r\n\r\n", "malformed request line"),
        ("two spaces", b"GET  /sse HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
        ("lowercase version", b"GET /sse http/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
        ("relative target", b"GET sse HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
        ("tls handshake", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", "malformed request line"),
        ("nul in request line", b"GET /s\0e HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"),
        (
            "space before colon",
            b"GET /sse HTTP/1.1\r\nHost : a\r\n\r\n",
            "whitespace between header name and colon",
        ),
        ("header without colon", b"GET /sse HTTP/1.1\r\nHost a\r\n\r\n", "header line without a colon"),
        (
            "obs-fold",
            b"GET /sse HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
            "header line starts with whitespace",
        ),
        ("nul in header value", b"GET /sse HTTP/1.1\r\nHost: a\0b\r\n\r\n", "control byte in header value"),
        ("nul in header name", b"GET /sse HTTP/1.1\r\nHo\0st: a\r\n\r\n", "invalid header name"),
        ("bare cr", b"GET /sse HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", "control byte in header value"),
        ("no host", b"GET /sse HTTP/1.1\r\n\r\n", "HTTP/1.1 request without Host"),
        ("two hosts", b"GET /sse HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "more than one Host header"),
        (
            "length and chunked",
            b"GET /sse HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "both Content-Length and Transfer-Encoding",
        ),
        (
            "bad length",
            b"GET /sse HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
            "invalid Content-Length",
        ),
    ];
    for &(name, request, reason) in cases {
        check(&server, name, request, 400, reason);
    }
}

#[test]
fn unknown_paths_methods_and_versions() {
    let server = start(|_| {});
    check(&server, "unknown path", &get("/nope"), 404, "not found");
    check(&server, "trailing slash", &get("/sse/"), 404, "not found");
    check(&server, "post", b"POST /sse HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 405, "method POST");
    check(
        &server,
        "unknown method",
        b"BREW /sse HTTP/1.1\r\nHost: a\r\n\r\n",
        501,
        "method BREW not implemented",
    );
    check(&server, "http/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP version not supported");
    check(&server, "http/1.2", b"GET /sse HTTP/1.2\r\nHost: a\r\n\r\n", 505, "HTTP version not supported");
    check(&server, "http/0.9 style", b"GET /sse HTTP/0.9\r\n\r\n", 505, "HTTP version not supported");

    let answer = exchange(&server, b"DELETE / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(answer.contains("\r\nAllow: GET, HEAD, OPTIONS\r\n"), "{answer}");
}

#[test]
fn limits_are_inclusive_and_one_past_is_refused() {
    let server = start(|config| {
        config.limits.max_head_bytes = 1024;
        config.limits.max_target_bytes = 100;
    });
    // Target: 100 bytes is served (404 for an unknown path), 101 is 414.
    let target = |length: usize| format!("/{}", "a".repeat(length - 1));
    check(&server, "target at limit", &get(&target(100)), 404, "not found");
    check(&server, "target over limit", &get(&target(101)), 414, "request target too long (limit 100 bytes)");

    // Head: exactly 1024 bytes is served, 1025 is 431.
    let head = |length: usize| {
        let bare = "GET /sse HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n".len();
        format!("GET /sse HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n", "v".repeat(length - bare)).into_bytes()
    };
    let mut at_limit = server.connect();
    at_limit.write_all(&head(1024)).expect("send");
    let first = support::read_until(&mut at_limit, "data: ", 1);
    assert_eq!(status_of(&first), 200, "{first}");
    check(&server, "head over limit", &head(1025), 431, "request head too large (limit 1024 bytes)");
    // A head that never ends is refused at the limit, not read forever.
    let mut endless = b"GET /sse HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
    endless.extend(std::iter::repeat_n(b'v', 4096));
    check(&server, "endless header", &endless, 431, "request head too large");
}

#[test]
fn slow_head_gets_408_and_the_connection_closes() {
    let server = start(|config| config.timeouts.head_timeout = Duration::from_millis(300));
    let mut stream = server.connect();
    stream.write_all(b"GET /sse HTTP/1.1\r\nHost: a\r\n").expect("send half a head");
    let started = Instant::now();
    let answer = read_to_close(&mut stream);
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert!(answer.contains("request head not received within 300 ms"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());

    // A silent client is timed out the same way.
    let answer = read_to_close(&mut server.connect());
    assert_eq!(status_of(&answer), 408, "{answer}");
}

#[test]
fn a_request_that_arrives_one_byte_at_a_time_is_served() {
    let server = start(|config| config.timeouts.head_timeout = Duration::from_secs(3));
    let mut stream = server.connect();
    for byte in get("/sse") {
        stream.write_all(&[byte]).expect("send one byte");
        thread::sleep(Duration::from_millis(2));
    }
    let answer = support::read_until(&mut stream, "data: ", 1);
    assert_eq!(status_of(&answer), 200, "{answer}");
}

#[test]
fn client_that_leaves_mid_head_frees_its_slot() {
    let server = start(|_| {});
    {
        let mut stream = server.connect();
        stream.write_all(b"GET /sse HTTP/1.1\r\nHo").expect("send part");
    }
    support::eventually(Duration::from_secs(2), "slot freed", || server.handle.live_connections() == 0);
}

#[test]
fn a_stream_request_with_more_than_100_header_lines_is_431() {
    let server = start(|_| {});
    let mut head = String::from("GET /sse HTTP/1.1\r\nHost: t\r\n");
    for n in 0..99 {
        head.push_str(&format!("X-{n}: a\r\n"));
    }
    let at_the_cap = format!("{head}\r\n");
    let mut stream = server.connect();
    stream.write_all(at_the_cap.as_bytes()).expect("send");
    let answer = read_until(&mut stream, "event: ping", 1);
    assert_eq!(status_of(&answer), 200, "{answer}");
    let one_past = format!("{head}X-last: a\r\n\r\n");
    let mut stream = server.connect();
    stream.write_all(one_past.as_bytes()).expect("send");
    let answer = read_until(&mut stream, "\n", 2);
    assert_eq!(status_of(&answer), 431, "{answer}");
    let answer = answer + &read_to_close(&mut stream);
    assert!(answer.contains("431 too many header lines (limit 100)"), "{answer}");
}

#[test]
fn optional_whitespace_is_space_and_tab_only_and_host_must_be_a_host() {
    let server = start(|_| {});
    for (name, request, status) in [
        (
            "form feed around a length",
            &b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: \x0c0\x0c\r\n\r\n"[..],
            400,
        ),
        ("bare CR after a host", b"GET /healthz HTTP/1.1\r\nHost: x\r\r\n\r\n", 400),
        ("space in host", b"GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        ("non-ASCII host", b"GET /healthz HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", 400),
        ("unclosed IPv6 literal", b"GET /healthz HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
        ("port that is not digits", b"GET /healthz HTTP/1.1\r\nHost: a:b\r\n\r\n", 400),
        ("tab around a host", b"GET /healthz HTTP/1.1\r\nHost:\ta\t\r\n\r\n", 200),
        ("IPv6 literal with port", b"GET /healthz HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 200),
        ("empty host", b"GET /healthz HTTP/1.1\r\nHost:\r\n\r\n", 200),
    ] {
        let answer = exchange(&server, request);
        assert_eq!(status_of(&answer), status, "{name}: {answer}");
    }
}
