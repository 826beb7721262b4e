//! `/metrics` and `/healthz` tell what the server is doing.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{
    eventually, exchange, get, metric, open_stream, read_to_close, read_until, start, status_of, SSED,
};

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
