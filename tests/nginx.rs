//! Behind Debian's nginx, with exactly the blocks docs/operations.md shows.
//! One instance, with nginx's defaults (proxy buffering on, an HTTP/1.0
//! upstream): frames must arrive on time, not in bursts. Two instances, with
//! the page's `upstream` settings: a recovered instance gets new clients
//! again, and a publish finds whichever instance is up.

mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use support::nginx::start_nginx;
use support::{find_program, start, Running};

/// The first nginx block under `heading` in docs/operations.md.
fn operations_nginx_block(heading: &str) -> String {
    let page = include_str!("../docs/operations.md");
    let section = page.split(heading).nth(1).unwrap_or_else(|| panic!("no section {heading}"));
    let block = section.split("```nginx\n").nth(1).expect("nginx block");
    block.split("```").next().expect("block end").to_owned()
}

/// The nginx block of docs/operations.md's "Running behind nginx".
fn readme_location_block() -> String {
    operations_nginx_block("## Running behind nginx")
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

const TOKEN: &str = "nginx-token";

/// `ssed_streams_live` of the instance at `addr`, asked directly.
fn streams_live(addr: SocketAddr) -> u64 {
    let text = support::exchange_addr(addr, &support::get("/metrics"));
    text.lines()
        .find_map(|line| line.strip_prefix("ssed_streams_live "))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no ssed_streams_live in {text}"))
}

/// A stream through the proxy, read past its opening `retry:`. With
/// `Connection: close`, nginx closes it when the instance behind it ends
/// the stream (else it would end only the response, and keep the
/// connection for another).
fn open_events(proxy: SocketAddr) -> TcpStream {
    let mut stream = support::connect(proxy);
    stream.write_all(b"GET /events HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").expect("send");
    let opening = support::read_until(&mut stream, "retry: ", 1);
    assert!(opening.starts_with("HTTP/1.1 200 OK\r\n"), "{opening}");
    stream
}

/// POSTs one event through the proxy (which keeps an HTTP/1.1 client's
/// connection open unless told not to): the answer's status and body.
fn publish_through(proxy: SocketAddr, data: &str) -> (u16, String) {
    let request = format!(
        "POST /publish HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: {}\r\n\r\n{data}",
        data.len()
    );
    let answer = support::exchange_addr(proxy, request.as_bytes());
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body).trim().to_owned();
    (support::status_of(&answer), body)
}

/// Reads `stream` until the event with `data` arrives (`Some`) or the
/// stream ends (`None`); 5 s at most.
fn delivered_or_ended(mut stream: TcpStream, data: &str) -> Option<()> {
    let needle = format!("\ndata: {data}\n");
    let started = std::time::Instant::now();
    let mut seen = String::new();
    let mut chunk = [0u8; 4096];
    while !seen.contains(&needle) {
        assert!(started.elapsed() < Duration::from_secs(5), "neither {data:?} nor the end: {seen}");
        match std::io::Read::read(&mut stream, &mut chunk) {
            Ok(0) => return None,
            Ok(read) => seen.push_str(&String::from_utf8_lossy(&chunk[..read])),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return None,
            Err(error) => panic!("{error} before {data:?} or the end: {seen}"),
        }
    }
    Some(())
}

fn instance(extra: &[&str]) -> Running {
    let mut flags = vec!["--quiet", "--interval", "200", "--publish-token", TOKEN];
    flags.extend_from_slice(extra);
    support::run_binary(&flags)
}

fn kill(running: &mut Running) {
    support::signal(&running.child, "KILL");
    let _ = running.child.wait();
}

#[test]
fn a_recovered_instance_gets_new_clients_and_publishes_through_nginx() {
    let Some(nginx) = find_program("nginx", "-v") else {
        return;
    };
    let mut a = instance(&[]);
    let mut b = instance(&[]);
    // docs/operations.md's block, on these two instances: the upstream goes
    // in nginx's http block, the location in its server.
    let block = operations_nginx_block("## Several instances behind a load balancer")
        .replace("10.0.0.11:8080", &a.addr.to_string())
        .replace("10.0.0.12:8080", &b.addr.to_string());
    let (upstream, server) = block.split_once("server {\n    listen").expect("an upstream, then a server");
    let location = server.split_once(";\n").expect("the listen line").1;
    let location = location.trim_end().strip_suffix('}').expect("the server block's end");
    let (_nginx, proxy) = start_nginx(&nginx, upstream, location);

    // A dies. Publishes and new streams through nginx find B.
    let a_addr = a.addr.to_string();
    kill(&mut a);
    for n in 0..3 {
        let (status, body) = publish_through(proxy, &format!("while A is down {n}"));
        assert_eq!(status, 200, "publish {n} through nginx with A down: {body}");
    }
    let on_b: Vec<TcpStream> = (0..3).map(|_| open_events(proxy)).collect();
    assert_eq!(streams_live(b.addr), 3);

    // A comes back on its port. While B's streams live, new clients reach A
    // again: with nginx's defaults it would get none for 10 s.
    let restarted = instance(&["--addr", &a_addr]);
    assert_eq!(restarted.addr.to_string(), a_addr);
    let on_either: Vec<TcpStream> = (0..5).map(|_| open_events(proxy)).collect();
    support::eventually(Duration::from_secs(5), "eight streams", || {
        streams_live(restarted.addr) + streams_live(b.addr) == 8
    });
    let on_a = streams_live(restarted.addr);
    assert!(on_a >= 3, "the recovered instance got {on_a} of 5 new streams");

    // Now B dies: a publish through nginx finds A, never a 502.
    kill(&mut b);
    let (status, body) = publish_through(proxy, "after B died");
    assert_eq!(status, 200, "publish through nginx with only A up: {body}");
    // A's streams receive it; B's were ended by nginx when B died.
    let received =
        on_either.into_iter().filter_map(|stream| delivered_or_ended(stream, "after B died")).count();
    assert_eq!(received as u64, on_a, "A's streams that received the event");
    drop(on_b);
    drop(restarted);
}
