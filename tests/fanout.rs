//! Fan-out by direct writes: a publisher writes a live frame straight to
//! an idle stream's socket, and wakes the stream's thread only for what
//! would block. These tests hold it to what the wake-up design promised:
//! one order for every stream, a slow client ended without holding anyone
//! up, a departed client noticed, and few wake-ups.

mod support;

use std::io::Read;
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{eventually, metric, read_to_close, start, subscribe};

/// Reads `count` blocks from `stream` within `within`; returns the `data:`
/// of each, keep-alives skipped. Counts block ends as bytes arrive, so a
/// long stream costs no more than its length.
fn read_data(mut stream: TcpStream, count: usize, within: Duration) -> Vec<String> {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut blocks = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    while blocks < count {
        assert!(started.elapsed() < within, "{blocks} of {count} blocks within {within:?}");
        let read = stream.read(&mut chunk).expect("read events");
        assert!(read > 0, "stream ended after {blocks} of {count} blocks");
        // A block end may straddle two reads: look from one byte back.
        let from = seen.len().saturating_sub(1);
        seen.extend_from_slice(&chunk[..read]);
        blocks += seen[from..].windows(2).filter(|pair| pair == b"\n\n").count();
    }
    String::from_utf8_lossy(&seen)
        .split("\n\n")
        .filter(|block| !block.is_empty() && !block.starts_with(": keep-alive"))
        .map(|block| block.lines().filter_map(|line| line.strip_prefix("data: ")).collect())
        .collect()
}

/// Events read so far by some clients, and a way to wait for a count.
#[derive(Default)]
struct Counter {
    count: Mutex<u64>,
    changed: Condvar,
}

impl Counter {
    fn add(&self, events: u64) {
        *self.count.lock().expect("count") += events;
        self.changed.notify_all();
    }

    /// Waits until `target` events were read; fails after 20 s.
    fn wait_for(&self, target: u64) {
        let count = self.count.lock().expect("count");
        let (count, waited) = self
            .changed
            .wait_timeout_while(count, Duration::from_secs(20), |count| *count < target)
            .expect("count");
        assert!(!waited.timed_out(), "{} of {target} events read", *count);
    }
}

/// A thread that reads `events` blocks from `stream`, adding each to
/// `received` as it comes.
fn read_counting(mut stream: TcpStream, events: u64, received: &Arc<Counter>) -> thread::JoinHandle<()> {
    let received = Arc::clone(received);
    thread::spawn(move || {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut blocks = 0;
        let mut last = 0u8;
        while blocks < events {
            let read = stream.read(&mut chunk).expect("read events");
            assert!(read > 0, "stream ended after {blocks} of {events} events");
            let mut now = 0;
            for &byte in &chunk[..read] {
                now += u64::from(last == b'\n' && byte == b'\n');
                last = byte;
            }
            blocks += now;
            received.add(now);
        }
    })
}

#[test]
fn concurrent_publishers_reach_every_stream_whole_and_in_one_order() {
    const PUBLISHERS: usize = 5;
    const EACH: usize = 2_000;
    let server = start(|config| {
        config.events.history = PUBLISHERS * EACH;
        config.timeouts.keep_alive = Some(Duration::from_secs(60));
        config.timeouts.write_timeout = Duration::from_secs(60);
    });
    // One client reads only once all is published: its socket fills, so
    // publishers' writes to it would block or are partial, and its thread
    // writes the rest. It must get the same bytes as the others.
    let late = subscribe(&server, "/events?topic=t", "").stream;
    let mut readers: Vec<_> = (0..19)
        .map(|_| {
            let stream = subscribe(&server, "/events?topic=t", "").stream;
            thread::spawn(move || read_data(stream, PUBLISHERS * EACH, Duration::from_secs(60)))
        })
        .collect();
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let publisher = server.handle.publisher().on_topic("t").expect("topic");
            thread::spawn(move || {
                for n in 0..EACH {
                    // Frames of 0 to 1,800 bytes of padding: 9 MB in all,
                    // more than the late client's socket buffers hold.
                    let data = format!("{p}-{n}-{}", "x".repeat(n % 4 * 600));
                    publisher.publish(None, &data).expect("publish");
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.join().expect("publisher");
    }
    readers.push(thread::spawn(move || read_data(late, PUBLISHERS * EACH, Duration::from_secs(60))));
    let received: Vec<Vec<String>> =
        readers.into_iter().map(|reader| reader.join().expect("reader")).collect();
    let first = &received[0];
    assert_eq!(first.len(), PUBLISHERS * EACH);
    // Each publisher's events in the order it published them, whole.
    for p in 0..PUBLISHERS {
        let own: Vec<String> =
            first.iter().filter(|data| data.starts_with(&format!("{p}-"))).cloned().collect();
        let expected: Vec<String> =
            (0..EACH).map(|n| format!("{p}-{n}-{}", "x".repeat(n % 4 * 600))).collect();
        let wrong = own.iter().zip(&expected).position(|(got, want)| got != want);
        assert!(
            own.len() == expected.len() && wrong.is_none(),
            "publisher {p}: {} events, first wrong at {wrong:?}: {:.80?}",
            own.len(),
            wrong.map(|at| &own[at])
        );
    }
    for (index, other) in received.iter().enumerate() {
        assert!(other == first, "stream {index} got another order than stream 0");
    }
}

#[test]
fn a_stalled_client_falls_behind_and_is_ended_while_publishes_stay_quick() {
    const EVENTS: u64 = 10_000;
    let server = start(|config| {
        config.events.history = 64;
        config.timeouts.keep_alive = Some(Duration::from_secs(60));
        config.timeouts.write_timeout = Duration::from_secs(60);
    });
    let mut stalled = subscribe(&server, "/events", "");
    let received = Arc::new(Counter::default());
    let reading = read_counting(subscribe(&server, "/events", "").stream, EVENTS, &received);
    let publisher = server.handle.publisher();
    let data = "y".repeat(1024);
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for n in 1..=EVENTS {
        let one = Instant::now();
        publisher.publish(None, &data).expect("publish");
        slowest = slowest.max(one.elapsed());
        // The reading client stays within the history: it has every batch
        // of 32 before the next begins (the wait is not a publish's).
        if n % 32 == 0 {
            received.wait_for(n);
        }
    }
    let all = started.elapsed();
    // 10 MB for a client that reads nothing: far beyond its socket's
    // buffers, so its thread waits in a write, and nobody waits for it.
    assert!(all < Duration::from_secs(30), "10,000 publishes took {all:?}");
    assert!(slowest < Duration::from_millis(500), "a publish waited {slowest:?}");
    reading.join().expect("the reading client got every event");
    // Once it reads again, its next frame has left the 64-event history.
    let text = stalled.unread.clone() + &read_to_close(&mut stalled.stream);
    assert!(text.matches("\nid: ").count() < EVENTS as usize);
    eventually(Duration::from_secs(5), "the stalled stream ended as fell_behind", || {
        metric(&server, "ssed_disconnects_total{reason=\"fell_behind\"}") == 1
    });
}

#[test]
fn a_client_that_leaves_is_noticed_by_the_next_publishes_not_the_next_keep_alive() {
    let server = start(|config| config.timeouts.keep_alive = Some(Duration::from_secs(60)));
    let leaving = subscribe(&server, "/events", "");
    let mut staying = subscribe(&server, "/events", "");
    eventually(Duration::from_secs(5), "two streams", || server.handle.live_streams() == 2);
    let publisher = server.handle.publisher();
    publisher.publish(None, "before").expect("publish");
    assert_eq!(staying.data(1), ["before"]);
    drop(leaving);
    // The first write after the client's FIN is answered by a reset; a
    // later one fails, and the stream's thread, asleep until the
    // keep-alive a minute away, must be told.
    let started = Instant::now();
    let mut published = 0;
    while server.handle.live_streams() > 1 {
        assert!(started.elapsed() < Duration::from_secs(5), "the departed stream lives on");
        publisher.publish(None, "after").expect("publish");
        published += 1;
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(staying.data(published), vec!["after"; published]);
    let gone = metric(&server, "ssed_disconnects_total{reason=\"client_reset\"}")
        + metric(&server, "ssed_disconnects_total{reason=\"write_failed\"}");
    assert_eq!(gone, 1);
}

#[test]
fn streams_that_keep_up_are_written_to_without_waking_their_threads() {
    const STREAMS: u64 = 100;
    const PUBLISHES: u64 = 1_000;
    let server = start(|config| config.timeouts.keep_alive = Some(Duration::from_secs(60)));
    let received = Arc::new(Counter::default());
    let readers: Vec<_> = (0..STREAMS)
        .map(|_| read_counting(subscribe(&server, "/events", "").stream, PUBLISHES, &received))
        .collect();
    let (deliveries, wakeups) =
        (metric(&server, "ssed_deliveries_total"), metric(&server, "ssed_publish_wakeups_total"));
    let publisher = server.handle.publisher();
    for n in 1..=PUBLISHES {
        publisher.publish(None, "x").expect("publish");
        // Every stream has it before the next: each publish finds every
        // thread idle, which the wake-up design paid a wake-up for.
        received.wait_for(n * STREAMS);
    }
    for reader in readers {
        reader.join().expect("reader");
    }
    let deliveries = metric(&server, "ssed_deliveries_total") - deliveries;
    let wakeups = metric(&server, "ssed_publish_wakeups_total") - wakeups;
    assert_eq!(deliveries, STREAMS * PUBLISHES);
    // A thread wakes for a publish only when a write to its socket would
    // block (never here: each client has read all before the next), or
    // when the frame came before the thread first waited (once a stream
    // at most): at most 100 of 100,000, so a tenth leaves a wide margin.
    assert!(wakeups <= deliveries / 10, "{wakeups} wake-ups for {deliveries} deliveries");
}
