//! The real `curl`, as people poke a server from a terminal.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{have_program, start};

#[test]
fn curl_n_prints_the_first_frame_at_once_and_then_one_per_interval() {
    if !have_program("curl", "--version") {
        return;
    }
    const INTERVAL: Duration = Duration::from_millis(1000);
    let server = start(|config| config.timeouts.interval = INTERVAL);
    let started = Instant::now();
    let mut curl = Command::new("curl")
        .args(["-sN", "--max-time", "5", &server.url("/sse")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start curl");
    let mut output = curl.stdout.take().expect("piped stdout");
    let (seen, arrivals) = support::frame_arrivals(&mut output, "\n\n", 4, started);
    let _ = curl.kill();
    let _ = curl.wait();

    assert!(seen.starts_with("retry: 3000\nid: 1\nevent: ping\ndata: "), "{seen}");
    // Starting curl included, the first frame comes before an interval
    // would have passed: it does not wait for one.
    assert!(arrivals[0] < INTERVAL, "first frame after {:?}", arrivals[0]);
    // Then one per interval: not in a burst, not late by much.
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap > INTERVAL / 2 && gap < INTERVAL * 2, "gap {gap:?} in {arrivals:?}");
    }
}

#[test]
fn curl_head_shows_the_stream_head_without_hanging() {
    if !have_program("curl", "--version") {
        return;
    }
    let server = start(|_| {});
    let output = Command::new("curl")
        .args(["-sI", "--max-time", "5", &server.url("/sse")])
        .output()
        .expect("run curl -I");
    assert!(output.status.success(), "curl -I exit {:?}", output.status);
    let head = String::from_utf8_lossy(&output.stdout);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Type: text/event-stream\r\n"), "{head}");
}
