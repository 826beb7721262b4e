//! The defects hostile testing found (issue "Hardening"), one scenario
//! each, over the real socket or the real binary. Each failed on the code
//! before the fix.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use ssed::Secret;
use support::{exchange, get, metric, read_to_close, read_until, start, status_of};

const SSED: &str = env!("CARGO_BIN_EXE_ssed");
const TOKEN: &str = "hardening-token";

fn with_token(config: &mut ssed::Config) {
    config.events.publish_token = Some(Secret(TOKEN.to_owned()));
}

fn publish_request(target: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {target} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

#[test]
fn a_stderr_nobody_reads_never_holds_up_serving() {
    // stderr is a pipe that this test never reads: 64 KiB fill it.
    let mut child = Command::new(SSED)
        .args(["--addr", "127.0.0.1:0", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ssed");
    let mut stderr = child.stderr.take().expect("piped stderr");
    // The banner is the first line; read it alone, then stop reading.
    let mut banner = Vec::new();
    let mut byte = [0u8; 1];
    while !banner.ends_with(b"\n") {
        assert_eq!(stderr.read(&mut byte).expect("read banner"), 1, "stderr closed");
        banner.push(byte[0]);
    }
    let banner = String::from_utf8_lossy(&banner);
    let addr: std::net::SocketAddr = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split(": ").next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));

    // 3,000 answers log ~200 KB, three times what the pipe holds. Each must
    // still come back (every socket operation has a 5 s timeout).
    for _ in 0..3_000 {
        let answer = support::exchange_addr(addr, &get("/healthz"));
        assert!(answer.ends_with("\r\n\r\nok\nevents: memory\n"), "{answer}");
    }
    let mut stream = support::connect(addr);
    stream.write_all(&get("/sse")).expect("send");
    read_until(&mut stream, "event: ping", 1);
    let metrics = support::exchange_addr(addr, &get("/metrics"));
    let dropped: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("ssed_log_lines_dropped_total "))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no dropped-lines counter in {metrics}"));
    assert!(dropped > 0, "{metrics}");

    // Once stderr flows again, one line says how many were dropped.
    let lines = support::lines_of(stderr);
    support::wait_for_line(&lines, "log lines dropped: stderr was not keeping up");
    drop(stream);
    support::end_child(&mut child);
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
fn a_flooding_client_never_holds_the_accept_loop_of_a_full_server() {
    let server = start(|config| {
        config.limits.max_clients = 1;
        config.limits.max_pending = 1;
    });
    let _stream = support::open_stream(&server, "/sse");
    let _silent = server.connect();
    support::eventually(Duration::from_secs(1), "places taken", || server.handle.live_connections() == 2);
    // A turned-away client that never stops sending.
    let addr = server.addr;
    let flooder = thread::spawn(move || {
        let mut flood = support::connect(addr);
        let _ = flood.set_write_timeout(Some(Duration::from_millis(200)));
        let chunk = vec![b'a'; 64 * 1024];
        let started = Instant::now();
        let _ = flood.write_all(b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999\r\n\r\n");
        while started.elapsed() < Duration::from_secs(3) {
            if flood.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let answer = exchange(&server, &get("/events"));
    assert!(answer.contains("ssed is busy"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2), "waited {:?}", started.elapsed());
    flooder.join().expect("flooder");
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

#[test]
fn expect_100_continue_gets_continue_before_the_body_or_the_refusal_at_once() {
    let server = start(with_token);
    let mut stream = server.connect();
    let head = format!(
        "POST /publish HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {TOKEN}\r\n\
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

/// Reads everything `stream` sends until `needle` has come `count` times;
/// returns the bytes, counted exactly.
fn read_bytes_until(stream: &mut TcpStream, needle: &str, count: usize) -> usize {
    read_until(stream, needle, count).len()
}

#[test]
fn metrics_count_every_byte_and_event_written_the_same_way_on_every_path() {
    // A long interval: no keep-alive or ping slips in while counting.
    let server = start(|config| config.timeouts.interval = Duration::from_secs(30));
    let mut pings = support::connect(server.addr);
    pings.write_all(&get("/sse")).expect("send");
    let mut received = read_bytes_until(&mut pings, "Z\n\n", 1); // the head and the first ping
    let mut events = support::connect(server.addr);
    events.write_all(b"GET /events HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 1-1\r\n\r\n").expect("send");
    // The head, the retry block and a missed event.
    received += read_bytes_until(&mut events, "event: missed\ndata: 1-1\n\n", 1);
    support::eventually(Duration::from_secs(2), "both streaming", || server.handle.live_streams() == 2);
    server.handle.publisher().publish(None, "one").expect("publish");
    server.handle.publisher().publish(None, "two").expect("publish");
    received += read_bytes_until(&mut events, "data: two\n\n", 1);
    assert_eq!(metric(&server, "ssed_bytes_sent_total"), received as u64);
    // One ping, the missed signal, two published events.
    assert_eq!(metric(&server, "ssed_events_sent_total"), 4);
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

#[test]
fn max_clients_is_fitted_under_the_open_file_limit_and_beyond_it_clients_are_refused() {
    // 150 files less the 64 ssed keeps: 86 connections, of which a quarter
    // (21) stay for pending requests and 65 are stream places.
    let mut command = Command::new("sh");
    command.args([
        "-c",
        &format!("ulimit -n 150 && exec {SSED} --addr 127.0.0.1:0 --max-clients 1000 --interval 200"),
    ]);
    let server = support::run_command(command);
    let lowered = support::wait_for_line(&server.stderr, "lowered");
    assert!(
        lowered.contains(
            "--max-clients 1000 lowered: 86 connections at most, by the open-file limit (ulimit -n 150)"
        ),
        "{lowered}"
    );
    assert!(lowered.contains("to raise it: ulimit -n"), "{lowered}");
    let metrics = support::exchange_addr(server.addr, &get("/metrics"));
    assert!(metrics.contains("\nssed_max_clients 65\n"), "{metrics}");
    assert!(metrics.contains("\nssed_os_connection_ceiling 86\n"), "{metrics}");

    let mut streams = Vec::new();
    for _ in 0..65 {
        let mut stream = support::connect(server.addr);
        stream.write_all(&get("/sse")).expect("send");
        read_until(&mut stream, "event: ping", 1);
        streams.push(stream);
    }
    // One more is told to retry; short requests still get through.
    let busy = support::exchange_addr(server.addr, &get("/sse"));
    assert!(busy.contains("ssed is busy (server full, 65 of 65 streams in use)"), "{busy}");
    let health = support::exchange_addr(server.addr, &get("/healthz"));
    assert!(health.ends_with("\r\n\r\nok\nevents: memory\n"), "{health}");
    // Every stream is still served.
    for stream in &mut streams {
        read_until(stream, "event: ping", 1);
    }
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
    thread::sleep(Duration::from_millis(300));
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
