//! A publisher writes straight to an idle stream's socket (hub/mailbox.rs):
//! what a hostile pass threw at that, with real clients over loopback.
//! Readers of every pace (fast, a byte at a time, in bursts, stopped then
//! resumed) against several publishers of two kinds and keep-alives racing
//! the publishers' partial writes; a departed client's file descriptor
//! taken over by a new stream; metrics, shutdown, reconnection with
//! `Last-Event-ID` and `exp` while frames flow. Each holds on the code
//! before direct writes too: they guard what it promised.

mod support;

use std::io::Read;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ssed::Secret;
use support::{eventually, metric, publish, start, subscribe, Subscriber};

const TOKEN: &str = "test-token-0123456789";

/// The payload of event `n` of publisher `p`: its length is a function of
/// (p, n), so a cut or a foreign byte inside it shows.
fn payload(p: usize, n: usize) -> String {
    let len = (n * 7919 + p * 104_729) % 60_000;
    format!("{p}-{n}-{}", "x".repeat(len))
}

fn payload_ok(data: &str) -> bool {
    let mut parts = data.splitn(3, '-');
    let (Some(p), Some(n), Some(x)) = (parts.next(), parts.next(), parts.next()) else { return false };
    let (Ok(p), Ok(n)) = (p.parse::<usize>(), n.parse::<usize>()) else { return false };
    payload(p, n) == data && x.bytes().all(|b| b == b'x')
}

/// How a client reads.
#[derive(Clone, Copy, Debug)]
enum Style {
    Fast,
    /// One byte a read (for its first 2,000,000 reads).
    Tiny,
    /// 64 KiB, then a pause.
    Bursty,
    /// Reads nothing for a while, then all.
    StopResume,
}

/// Reads blocks until one whose data is "END"; every block must be a
/// keep-alive comment or a whole well-formed event. Returns the data.
fn read_all(mut stream: TcpStream, unread: String, style: Style, within: Duration) -> (Vec<String>, usize) {
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let started = Instant::now();
    let mut buf: Vec<u8> = unread.into_bytes();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    let mut keep_alives = 0;
    let mut round = 0usize;
    let mut scanned = 0usize;
    if let Style::StopResume = style {
        thread::sleep(Duration::from_millis(1500));
    }
    loop {
        assert!(started.elapsed() < within, "{style:?}: {} events within {within:?}", out.len());
        while let Some(end) = buf[scanned.saturating_sub(1)..]
            .windows(2)
            .position(|w| w == b"\n\n")
            .map(|at| at + scanned.saturating_sub(1))
        {
            scanned = 0;
            let block = String::from_utf8(buf[..end].to_vec()).expect("utf-8 block");
            buf.drain(..end + 2);
            if block == ": keep-alive" {
                keep_alives += 1;
                continue;
            }
            let mut lines = block.lines();
            let id = lines.next().unwrap_or_default();
            assert!(id.starts_with("id: "), "{style:?}: block without id: {:.120?}", block);
            let data: Vec<&str> = lines.map(|l| l.strip_prefix("data: ").expect("data line")).collect();
            assert_eq!(data.len(), 1, "{style:?}: block {:.200?}", block);
            if data[0] == "END" {
                return (out, keep_alives);
            }
            assert!(payload_ok(data[0]), "{style:?}: torn or foreign data {:.120?}", data[0]);
            out.push(data[0].to_owned());
        }
        scanned = buf.len();
        round += 1;
        let want = match style {
            // A byte a read for the first 2,000,000 reads, then all there is.
            Style::Tiny if round < 2_000_000 => 1,
            Style::Tiny => chunk.len(),
            _ => chunk.len(),
        };
        let read = stream.read(&mut chunk[..want]).expect("read");
        assert!(read > 0, "{style:?}: ended after {} events", out.len());
        buf.extend_from_slice(&chunk[..read]);
        if let Style::Bursty = style {
            thread::sleep(Duration::from_millis(30));
        }
    }
}

/// Several publishers of several kinds, readers of every style, a
/// keep-alive every 3 ms racing the publishers' partial writes: every
/// reader gets every event once, whole, in one order.
#[test]
fn every_reader_gets_every_event_whole_and_in_one_order_with_keep_alives_racing() {
    const RUST_PUBLISHERS: usize = 3;
    const EACH: usize = 400;
    const HTTP_EACH: usize = 60;
    let server = start(|config| {
        config.events.history = 10_000;
        config.events.publish_token = Some(Secret(TOKEN.to_owned()));
        config.timeouts.keep_alive = Some(Duration::from_millis(3));
        config.timeouts.write_timeout = Duration::from_secs(30);
    });
    let styles = [Style::Fast, Style::Fast, Style::Tiny, Style::Bursty, Style::StopResume, Style::Bursty];
    let readers: Vec<_> = styles
        .iter()
        .map(|&style| {
            let Subscriber { stream, unread } = subscribe(&server, "/events?topic=t", "");
            thread::spawn(move || read_all(stream, unread, style, Duration::from_secs(90)))
        })
        .collect();
    eventually(Duration::from_secs(5), "streams", || server.handle.live_streams() == styles.len());
    let mut publishers: Vec<_> = (0..RUST_PUBLISHERS)
        .map(|p| {
            let publisher = server.handle.publisher().on_topic("t").expect("topic");
            thread::spawn(move || {
                for n in 0..EACH {
                    publisher.publish(None, &payload(p, n)).expect("publish");
                    if n % 50 == 0 {
                        thread::sleep(Duration::from_millis(5));
                    }
                }
            })
        })
        .collect();
    let addr = server.addr;
    publishers.push(thread::spawn(move || {
        for n in 0..HTTP_EACH {
            publish(addr, TOKEN, "?topic=t", &payload(9, n)).expect("POST /publish");
        }
    }));
    for publisher in publishers {
        publisher.join().expect("publisher");
    }
    server.handle.publisher().on_topic("t").expect("topic").publish(None, "END").expect("end");
    let results: Vec<(Vec<String>, usize)> =
        readers.into_iter().map(|reader| reader.join().expect("reader")).collect();
    let first = &results[0].0;
    assert_eq!(first.len(), RUST_PUBLISHERS * EACH + HTTP_EACH);
    for p in (0..RUST_PUBLISHERS).chain([9]) {
        let own: Vec<&String> = first.iter().filter(|d| d.starts_with(&format!("{p}-"))).collect();
        let count = if p == 9 { HTTP_EACH } else { EACH };
        assert_eq!(own.len(), count, "publisher {p}");
        for (n, data) in own.iter().enumerate() {
            assert!(**data == payload(p, n), "publisher {p} event {n} out of order");
        }
    }
    for (index, (other, _)) in results.iter().enumerate() {
        assert!(other == first, "reader {index} ({:?}) got another sequence", styles[index]);
    }
}

/// Keep-alives: none while frames flow (each written by a publisher), and
/// they come back once frames stop.
#[test]
fn no_keep_alive_while_frames_flow_and_keep_alives_after() {
    let server = start(|config| config.timeouts.keep_alive = Some(Duration::from_millis(300)));
    let mut client = subscribe(&server, "/events", "");
    let publisher = server.handle.publisher();
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(3) {
        publisher.publish(None, &format!("e{n}")).expect("publish");
        n += 1;
        thread::sleep(Duration::from_millis(60));
    }
    publisher.publish(None, "END").expect("publish");
    let text = support::read_until(&mut client.stream, "data: END\n\n", 1);
    let text = client.unread.clone() + &text;
    assert_eq!(text.matches(": keep-alive").count(), 0, "keep-alives while frames flowed: {text}");
    assert_eq!(text.matches("data: e").count(), n);
    // Idle now: keep-alives at 300 ms.
    let idle = support::read_until(&mut client.stream, ": keep-alive\n\n", 3);
    assert!(idle.starts_with(": keep-alive\n\n"), "{idle}");
}

/// A client that resets (drops with unread bytes) while idle, and one
/// that resets while frames flow: both streams end, and a connection that
/// takes over the fd gets nothing of theirs.
#[test]
fn departed_clients_end_and_their_fds_get_nothing_of_theirs() {
    let server = start(|config| {
        config.timeouts.keep_alive = Some(Duration::from_millis(400));
        config.events.history = 100_000;
    });
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = server.handle.publisher().on_topic("gone").expect("topic");
    let flowing = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let data = "g".repeat(3000);
            while !stop.load(Ordering::Relaxed) {
                publisher.publish(None, &data).expect("publish");
                thread::sleep(Duration::from_micros(200));
            }
        })
    };
    for round in 0..40 {
        let leaving = subscribe(&server, "/events?topic=gone", "");
        thread::sleep(Duration::from_millis(5));
        // Unread bytes: the close is a reset.
        drop(leaving);
        // Likely the same fd on the server: a stream of another topic.
        let mut other = subscribe(&server, "/events?topic=other", "");
        other.stream.set_read_timeout(Some(Duration::from_millis(30))).expect("timeout");
        let mut chunk = [0u8; 4096];
        match other.stream.read(&mut chunk) {
            Ok(0) => panic!("round {round}: other ended"),
            Ok(read) => panic!("round {round}: other got {:?}", String::from_utf8_lossy(&chunk[..read])),
            Err(_) => {}
        }
        assert!(other.unread.is_empty(), "round {round}: {:?}", other.unread);
    }
    eventually(Duration::from_secs(5), "every departed stream ended", || server.handle.live_streams() <= 1);
    stop.store(true, Ordering::Relaxed);
    flowing.join().expect("publisher");
    eventually(Duration::from_secs(5), "all ended", || server.handle.live_streams() == 0);
}

/// events_sent_total and bytes_sent count what clients got, once.
#[test]
fn metrics_count_every_event_once_direct_or_not() {
    let server = start(|config| {
        config.events.history = 10_000;
        config.timeouts.keep_alive = Some(Duration::from_secs(60));
    });
    let events0 = metric(&server, "ssed_events_sent_total");
    let styles = [Style::Fast, Style::Bursty, Style::StopResume];
    let readers: Vec<_> = styles
        .iter()
        .map(|&style| {
            let Subscriber { stream, unread } = subscribe(&server, "/events", "");
            thread::spawn(move || read_all(stream, unread, style, Duration::from_secs(60)))
        })
        .collect();
    let publisher = server.handle.publisher();
    for n in 0..1000 {
        publisher.publish(None, &payload(0, n)).expect("publish");
    }
    publisher.publish(None, "END").expect("publish");
    for reader in readers {
        assert_eq!(reader.join().expect("reader").0.len(), 1000);
    }
    let events = metric(&server, "ssed_events_sent_total") - events0;
    assert_eq!(events, 3 * 1001);
}

/// Shutdown ends idle direct streams at once.
#[test]
fn shutdown_ends_direct_streams_promptly() {
    let server = start(|config| config.timeouts.keep_alive = Some(Duration::from_secs(60)));
    let mut clients: Vec<Subscriber> = (0..20).map(|_| subscribe(&server, "/events", "")).collect();
    let publisher = server.handle.publisher();
    for n in 0..20 {
        publisher.publish(None, &format!("{n}")).expect("publish");
    }
    for client in &mut clients {
        assert_eq!(client.data(20).len(), 20);
    }
    let started = Instant::now();
    server.handle.shutdown();
    for client in &mut clients {
        let rest = support::read_to_close(&mut client.stream);
        assert!(!rest.contains("data:"), "{rest}");
    }
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

/// Replay + Last-Event-ID across the live boundary while publishing goes
/// on: a client that keeps reconnecting gets the same as one that stays.
#[test]
fn reconnecting_clients_see_no_gap_and_no_duplicate() {
    const EVENTS: usize = 3000;
    let server = start(|config| {
        config.events.history = EVENTS + 10;
        config.timeouts.keep_alive = Some(Duration::from_secs(60));
    });
    let staying = subscribe(&server, "/events", "");
    let staying =
        thread::spawn(move || read_all(staying.stream, staying.unread, Style::Fast, Duration::from_secs(60)));
    let mut first = Some(subscribe(&server, "/events", ""));
    let publisher = server.handle.publisher();
    let publishing = thread::spawn(move || {
        for n in 0..EVENTS {
            publisher.publish(None, &payload(1, n % 50)).expect("publish");
            if n % 20 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
        publisher.publish(None, "END").expect("publish");
    });
    let mut got: Vec<String> = Vec::new();
    let mut last: Option<String> = None;
    let mut reconnects = Vec::new();
    'outer: loop {
        reconnects.push(got.len());
        let headers = last.as_ref().map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        let mut client = first.take().unwrap_or_else(|| subscribe(&server, "/events", &headers));
        for _ in 0..(7 + got.len() % 13) {
            let block = client.events(1);
            let mut id = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.to_owned());
                }
                if let Some(v) = line.strip_prefix("data: ") {
                    data = Some(v.to_owned());
                }
            }
            let data = data.expect("data");
            if data == "END" {
                break 'outer;
            }
            got.push(data);
            last = id;
        }
        assert!(got.len() <= EVENTS, "more than published");
    }
    publishing.join().expect("publisher");
    let (all, _) = staying.join().expect("staying");
    if got != all {
        let at = got.iter().zip(&all).position(|(a, b)| a != b).unwrap_or(got.len().min(all.len()));
        let short = |v: &[String]| v.iter().map(|d| d[..d.len().min(8)].to_owned()).collect::<Vec<_>>();
        panic!(
            "reconnecting client: {} events, staying: {}; first difference at {at}: got {:?} want {:?}; reconnects at {:?}",
            got.len(),
            all.len(),
            short(&got[at.saturating_sub(3)..(at + 3).min(got.len())]),
            short(&all[at.saturating_sub(3)..(at + 3).min(all.len())]),
            reconnects.iter().filter(|&&r| r + 20 > at && r < at + 20).collect::<Vec<_>>()
        );
    }
}

/// A stalled client with keep-alives racing: once it reads again, it gets
/// only whole events (at most one torn one last), then the close, counted
/// as fell_behind; publishes never wait.
#[test]
fn a_stalled_client_gets_whole_frames_then_at_most_a_torn_one_then_the_close() {
    let server = start(|config| {
        config.events.history = 32;
        config.timeouts.keep_alive = Some(Duration::from_millis(2));
        config.timeouts.write_timeout = Duration::from_secs(30);
    });
    let mut stalled = subscribe(&server, "/events", "");
    let publisher = server.handle.publisher();
    let mut slowest = Duration::ZERO;
    for n in 0..2000 {
        let one = Instant::now();
        publisher.publish(None, &payload(0, n)).expect("publish");
        slowest = slowest.max(one.elapsed());
    }
    assert!(slowest < Duration::from_millis(500), "a publish waited {slowest:?}");
    let text = stalled.unread.clone() + &support::read_to_close(&mut stalled.stream);
    let mut blocks: Vec<&str> = text.split("\n\n").collect();
    let tail = blocks.pop().unwrap_or_default();
    for block in &blocks {
        if *block == ": keep-alive" {
            continue;
        }
        let data = block.lines().find_map(|l| l.strip_prefix("data: ")).expect("data");
        assert!(block.starts_with("id: ") && payload_ok(data), "torn block mid-stream: {:.100?}", block);
    }
    assert!(!tail.contains(": keep-alive"), "keep-alive in the torn tail");
    eventually(Duration::from_secs(5), "fell_behind", || {
        metric(&server, "ssed_disconnects_total{reason=\"fell_behind\"}") == 1
    });
}

/// `exp` ends a stream on time while a publisher writes to it directly.
#[test]
fn exp_ends_a_stream_on_time_while_frames_flow() {
    if !support::jwt::signer_available() {
        return;
    }
    let server = start(|config| {
        support::mercure::with_key(config);
        config.timeouts.keep_alive = Some(Duration::from_secs(60));
    });
    let exp = support::jwt::now() + 2;
    let token = support::jwt::sign(
        &format!(r#"{{"exp":{exp},"mercure":{{"subscribe":["*"]}}}}"#),
        support::mercure::KEY,
    );
    let mut client = subscribe(&server, "/events", &format!("Authorization: Bearer {token}\r\n"));
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = server.handle.publisher();
    let flowing = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                publisher.publish(None, "tick").expect("publish");
                thread::sleep(Duration::from_millis(5));
            }
        })
    };
    client.stream.set_read_timeout(Some(Duration::from_secs(6))).expect("timeout");
    let _ = support::read_to_close(&mut client.stream);
    let closed = support::jwt::now();
    stop.store(true, Ordering::Relaxed);
    flowing.join().expect("publisher");
    assert!(closed <= exp + 1, "closed at {closed}, exp {exp}");
    eventually(Duration::from_secs(2), "token_expired counted", || {
        metric(&server, "ssed_disconnects_total{reason=\"token_expired\"}") == 1
    });
}
