//! `examples/minimal.rs`, the smallest correct server README's design
//! section opens with, really does what it says: first frame at once,
//! `event: ping` exactly, ids that never repeat, one frame per 500 ms.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `cargo test` builds the examples next to the test binaries:
/// target/<profile>/examples/minimal, beside target/<profile>/deps/.
fn minimal_binary() -> PathBuf {
    let test_binary = std::env::current_exe().expect("test binary path");
    let profile_dir = test_binary.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    profile_dir.join("examples").join("minimal")
}

/// The ids of the frames in `text`, in order.
fn ids(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .map(|id| id.parse().expect("numeric id"))
        .collect()
}

#[test]
fn the_minimal_server_sends_pings_at_once_then_every_500_ms_with_ids_that_never_repeat() {
    let binary = minimal_binary();
    assert!(
        binary.exists(),
        "{} is not built: the whole `cargo test` builds it, or `cargo build --example minimal`",
        binary.display()
    );
    let mut child = Command::new(&binary)
        .arg("127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the minimal example");
    let lines = support::lines_of(child.stderr.take().expect("piped stderr"));
    let banner = support::wait_for_line(&lines, "listening on http://");
    let addr: std::net::SocketAddr = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.strip_suffix("/sse"))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));

    let interval = Duration::from_millis(500);
    let mut first = support::connect(addr);
    let started = Instant::now();
    first.write_all(&support::get("/sse")).expect("send");
    // The head ends in "\r\n\r\n", so each "\n\n" ends a frame.
    let (seen, arrivals) = support::frame_arrivals(&mut first, "\n\n", 3, started);
    assert!(seen.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"), "{seen}");
    assert!(seen.contains("\nevent: ping\n"), "{seen}");
    assert!(!seen.contains("event: ping "), "no trailing space: {seen}");
    assert!(arrivals[0] < interval, "first frame after {:?}", arrivals[0]);
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap > interval / 2 && gap < interval * 2, "gap {gap:?} in {arrivals:?}");
    }
    // A second client's ids carry on from the first's: none repeats.
    let mut second = support::connect(addr);
    second.write_all(&support::get("/sse")).expect("send");
    let second_seen = support::read_until(&mut second, "\n\n", 3);
    let mut all = ids(&seen);
    all.extend(ids(&second_seen));
    let mut unique = all.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "ids repeat: {all:?}");
    assert!(ids(&seen).windows(2).all(|pair| pair[1] > pair[0]), "{seen}");

    let not_found = support::exchange_addr(addr, &support::get("/nope"));
    assert!(not_found.starts_with("HTTP/1.1 404 Not Found\r\n"), "{not_found}");
    // This process is the one the test started and has not reaped, so its
    // PID cannot belong to anyone else yet.
    if support::is_ours(&child, &binary.to_string_lossy()) {
        let _ = child.kill();
    }
    let _ = child.wait();
}
