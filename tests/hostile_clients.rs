//! Generated and mutated request heads, and a slowloris crowd: the server
//! answers every one with a valid status or a clean close, never a panic,
//! a hang or a stream it should not start.
//!
//! `SSED_FUZZ_HEADS=100000 SSED_FUZZ_SEED=7 cargo test --release --test
//! hostile_clients` runs the long version against the server; by default the
//! parser takes 100,000 heads in-process and the server 3,000.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use support::heads::{generate, seed, Rng};
use support::{connect, eventually, start};

/// Sends `head`, then FIN, and reads the whole answer. `Ok(None)` is a
/// clean close without an answer; `Ok(Some(status))` an answer.
fn exchange_raw(addr: SocketAddr, head: &[u8]) -> Result<Option<u16>, String> {
    let mut stream = connect(addr);
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(head);
    let _ = stream.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset && !answer.is_empty() => {}
        Err(error) => return Err(format!("{error} after {} bytes", answer.len())),
    }
    if answer.is_empty() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {text:.80}"))?;
    Ok(Some(status))
}

#[test]
fn the_server_answers_every_generated_head_with_a_status_or_a_clean_close() {
    let heads: usize = std::env::var("SSED_FUZZ_HEADS").ok().and_then(|n| n.parse().ok()).unwrap_or(3_000);
    // Several servers on several loopback addresses, so that a long run
    // does not run out of ports to TIME_WAIT.
    let servers: Vec<_> = (1..=4u8)
        .map(|last| {
            start(move |config| {
                config.addr = SocketAddr::from(([127, 0, 0, last], 0));
                config.timeouts.head_timeout = Duration::from_millis(500);
                config.events.publish_token = Some(ssed::Secret("x".to_owned()));
            })
        })
        .collect();
    let addrs: Vec<_> = servers.iter().map(|server| server.addr).collect();
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let addrs = addrs.clone();
            thread::spawn(move || {
                let mut rng = Rng(seed() ^ (worker as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                for n in 0..heads / 4 {
                    let head = generate(&mut rng);
                    let addr = addrs[n % addrs.len()];
                    match exchange_raw(addr, &head) {
                        Ok(None) => {}
                        Ok(Some(status)) => assert!(
                            matches!(
                                status,
                                200 | 204 | 400 | 401 | 404 | 405 | 408 | 411 | 413 | 414 | 431 | 501 | 505
                            ),
                            "status {status} for {:?}",
                            String::from_utf8_lossy(&head)
                        ),
                        Err(problem) => panic!("{problem} for {:?}", String::from_utf8_lossy(&head)),
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker found a bad answer");
    }
    for server in &servers {
        eventually(Duration::from_secs(5), "every connection closed", || {
            server.handle.live_connections() == 0
        });
    }
}

#[test]
fn a_normal_client_gets_its_stream_at_once_during_a_slowloris_crowd() {
    let server = start(|config| config.timeouts.head_timeout = Duration::from_secs(3));
    let crowd: Vec<_> = (0..300)
        .map(|_| {
            let mut stream = server.connect();
            stream.write_all(b"GET /sse HTTP/1.1\r\nHost: test\r\nX-Slow: ").expect("start dribbling");
            stream
        })
        .collect();
    eventually(Duration::from_secs(5), "crowd connected", || server.handle.live_connections() == 300);
    let dribbler = {
        let mut crowd = crowd;
        let (dribbling, started_dribbling) = std::sync::mpsc::channel();
        let dribbler = thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(4) {
                for stream in &mut crowd {
                    let _ = stream.write_all(b"a");
                }
                let _ = dribbling.send(());
                thread::sleep(Duration::from_millis(100));
            }
            crowd
        });
        // The measured client comes in once the whole crowd has dribbled a round.
        started_dribbling.recv_timeout(Duration::from_secs(5)).expect("the crowd dribbles");
        dribbler
    };
    let started = Instant::now();
    let mut stream = server.connect();
    stream.write_all(&support::get("/sse")).expect("send");
    let first = support::read_until(&mut stream, "data: ", 1);
    let waited = started.elapsed();
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert!(waited < Duration::from_millis(500), "a normal client waited {waited:?}");

    // The crowd, never finishing its heads, is answered 408 and closed.
    let mut crowd = dribbler.join().expect("dribbler");
    for slow in crowd.iter_mut().take(20) {
        let answer = support::read_to_close(slow);
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:.80}");
    }
    drop(crowd);
    drop(stream);
    eventually(Duration::from_secs(5), "all reclaimed", || server.handle.live_connections() == 0);
}

/// A `/proc/PID/status` figure in KiB, e.g. `VmRSS` (now) or `VmHWM` (the
/// most the process has held at once).
fn memory_kib(child: &std::process::Child, field: &str) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().strip_suffix(" kB"))
        .and_then(|kib| kib.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}

/// Issue 18, item 12: a publisher with a valid token that announces the
/// largest body allowed and sends one byte holds what it sent, not what it
/// announced. On the old server these 40 connections took 640 MiB.
#[test]
fn token_holders_announcing_huge_bodies_hold_only_what_they_send() {
    const TOKEN: &str = "hostile-but-valid";
    const PUBLISHERS: usize = 40;
    let server = support::run_binary(&[
        "--quiet",
        "--publish-token",
        TOKEN,
        "--max-event-bytes",
        "16777216",
        "--head-timeout",
        "2000",
    ]);
    let before = memory_kib(&server.child, "VmRSS");
    let head = format!(
        "POST /publish HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 16777216\r\n\r\nx"
    );
    let mut publishers: Vec<_> = (0..PUBLISHERS)
        .map(|_| {
            let mut publisher = connect(server.addr);
            publisher.write_all(head.as_bytes()).expect("send head and one byte");
            publisher
        })
        .collect();
    // Each waits out its body's time and is answered 408, having published nothing.
    for publisher in &mut publishers {
        let answer = support::read_to_close(publisher);
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:.80}");
    }
    // VmHWM is the peak: however briefly the bodies were held, it shows.
    let grown_mib = memory_kib(&server.child, "VmHWM").saturating_sub(before) / 1024;
    assert!(grown_mib < 40, "{PUBLISHERS} one-byte bodies grew the server by {grown_mib} MiB");
    let answer = support::exchange_addr(server.addr, &support::get("/metrics"));
    assert!(answer.contains("\nssed_events_published_total 0\n"), "{answer}");
}
