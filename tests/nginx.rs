//! Behind Debian's nginx, with nginx's defaults (proxy buffering on, an
//! HTTP/1.0 upstream) and exactly the `location` block README.md shows:
//! frames must arrive on time, not in bursts.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use support::nginx::start_nginx;
use support::{find_program, start};

/// The nginx block of docs/operations.md's "Running behind nginx".
fn readme_location_block() -> String {
    let readme = include_str!("../docs/operations.md");
    let section = readme.split("## Running behind nginx").nth(1).expect("nginx section");
    let block = section.split("```nginx\n").nth(1).expect("nginx block");
    block.split("```").next().expect("block end").to_owned()
}

#[test]
fn frames_pass_through_nginx_on_time_not_in_bursts() {
    let Some(nginx) = find_program("nginx", "-v") else {
        return;
    };
    let server = start(|_| {});
    let location = readme_location_block().replace("127.0.0.1:8080", &server.addr.to_string());
    let (_nginx, proxy) = start_nginx(&nginx, "", &location);

    let mut stream = support::connect(proxy);
    let started = Instant::now();
    stream.write_all(b"GET /sse HTTP/1.1\r\nHost: test\r\n\r\n").expect("send");
    let (seen, arrivals) = support::frame_arrivals(&mut stream, "\ndata: ", 5, started);
    assert!(seen.starts_with("HTTP/1.1 200 OK\r\n"), "{seen}");
    assert!(seen.contains("Content-Type: text/event-stream"), "{seen}");
    // The default interval is 500 ms. Through nginx the first frame still
    // comes before an interval, and then one per interval: a buffering
    // proxy would hold them back and deliver them in bursts (gaps near 0).
    let interval = Duration::from_millis(500);
    assert!(arrivals[0] < interval, "first frame after {:?}", arrivals[0]);
    for pair in arrivals.windows(2) {
        let gap = pair[1].saturating_sub(pair[0]);
        assert!(gap.abs_diff(interval) <= interval / 2, "gap {gap:?} in {arrivals:?}");
    }
}
