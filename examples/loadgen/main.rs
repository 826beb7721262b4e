//! loadgen: holds N event streams against an SSE server on loopback and
//! reports what a client sees (missed frames, gaps, time to first frame,
//! publish-to-receive latency) and, given the server's PID, what the server
//! costs (RSS, threads, CPU, memory, time to reclaim after clients vanish).
//!
//! ```text
//! cargo run --release --example loadgen -- --url http://127.0.0.1:8080/sse \
//!     --streams 10000 --ramp 2000 --hold 60 --pid $(pgrep -n ssed) --close rst
//! ```
//!
//! Std only, one thread per stream. Every loop is bounded in count and
//! time, and only loopback addresses are accepted as targets.

mod measure;
mod open;
mod options;
mod publish;
mod stream;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use measure::{fan_out_counters, load_average, meminfo_kib, percentile, sample_process, spread};
use options::parse_options;
use publish::{measure_publishing, measure_startup, publish_loop};
use stream::{hold_stream, Phase, StreamReport};

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--startup") {
        let binary = args.next().unwrap_or_else(|| "target/release/ssed".to_owned());
        let port = match (args.next().as_deref(), args.next()) {
            (Some("--port"), Some(port)) => port.parse().unwrap_or(18_099),
            _ => 18_099,
        };
        return measure_startup(&binary, port);
    }
    if std::env::args().nth(1).as_deref() == Some("--publish-for") {
        return measure_publishing();
    }
    if std::env::args().nth(1).as_deref() == Some("--open") {
        return open::measure_opening();
    }
    let options = match parse_options() {
        Ok(options) => Arc::new(options),
        Err(message) => {
            eprintln!("loadgen: {message}");
            std::process::exit(2);
        }
    };
    let idle = options.pid.and_then(sample_process);
    let mem_available_before = meminfo_kib("MemAvailable:");
    let kernel_stack_before = meminfo_kib("KernelStack:");
    let slab_before = meminfo_kib("Slab:");

    let stop = Arc::new(AtomicBool::new(false));
    let phase = Arc::new(Phase::default());
    let connected = Arc::new(AtomicUsize::new(0));
    let (reports, collected) = mpsc::channel::<StreamReport>();
    let ramp_time = Duration::from_secs_f64(options.streams as f64 / options.ramp as f64);
    let settle = Duration::from_secs(2);
    let started = Instant::now();
    let hold_from = started + ramp_time + settle;
    let mut spawn_failures = 0;
    for n in 0..options.streams {
        // A bounded ramp: connection n starts at n / ramp seconds.
        let due = started + Duration::from_secs_f64(n as f64 / options.ramp as f64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        let (options, phase, connected, reports) =
            (Arc::clone(&options), Arc::clone(&phase), Arc::clone(&connected), reports.clone());
        let spawned = thread::Builder::new().stack_size(64 * 1024).spawn(move || {
            let mut report = StreamReport::default();
            hold_stream(&options, n, hold_from, &phase, &mut report);
            connected.fetch_add(usize::from(report.connected), Ordering::Relaxed);
            let _ = reports.send(report);
        });
        spawn_failures += usize::from(spawned.is_err());
    }
    drop(reports);
    thread::sleep(hold_from.saturating_duration_since(Instant::now()));

    // The hold: sample the server at its start and end.
    let publisher = (options.publish_rate > 0).then(|| {
        let (options, stop) = (Arc::clone(&options), Arc::clone(&stop));
        thread::spawn(move || publish_loop(&options, options.publish_rate, &stop))
    });
    let at_hold_start = options.pid.and_then(sample_process);
    let fan_out_before = fan_out_counters(options.addr);
    let hold_started = Instant::now();
    let mut scrapes = Vec::new();
    while hold_started.elapsed() < options.hold {
        thread::sleep(Duration::from_millis(1000).min(options.hold.saturating_sub(hold_started.elapsed())));
        if options.scrape {
            let scrape_start = Instant::now();
            if let Ok(mut socket) = TcpStream::connect_timeout(&options.addr, Duration::from_secs(2)) {
                let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = socket.write_all(b"GET /metrics HTTP/1.1\r\nHost: loadgen\r\n\r\n");
                let mut answer = Vec::new();
                let _ = socket.read_to_end(&mut answer);
                if answer.starts_with(b"HTTP/1.1 200") {
                    scrapes.push(scrape_start.elapsed().as_secs_f64() * 1e3);
                }
            }
        }
    }
    let at_hold_end = options.pid.and_then(sample_process);
    let fan_out_after = fan_out_counters(options.addr);
    let hold_wall = hold_started.elapsed();
    let mem_available_during = meminfo_kib("MemAvailable:");
    let kernel_stack_during = meminfo_kib("KernelStack:");
    let slab_during = meminfo_kib("Slab:");
    let own_rss = sample_process(std::process::id()).map_or(0, |own| own.rss_kib);

    // Publishing stops first, and the last publish gets a moment to reach
    // every stream (a fan-out to 5,000 takes tens of ms), so that each
    // stream reads the same publishes. Then the clients stop reading,
    // frames pile up unread for two intervals, and they all leave at once.
    let publishing = publisher.map(|publisher| {
        stop.store(true, Ordering::Relaxed);
        publisher.join().unwrap_or_default()
    });
    if publishing.is_some() {
        thread::sleep(Duration::from_millis(500));
    }
    phase.stop_reading.store(true, Ordering::Relaxed);
    // Every reader has looked at the phase by then (it wakes at least
    // every --reader-wake), so that all leave together.
    thread::sleep(
        Duration::from_millis(300)
            .max(options.interval * 2)
            .max(options.reader_wake + options.reader_wake / 4),
    );
    let left_at = Instant::now();
    *phase.leave.lock().unwrap_or_else(PoisonError::into_inner) = true;
    phase.leaving.notify_all();
    let mut all: Vec<StreamReport> = Vec::with_capacity(options.streams);
    // Sockets and threads are timed apart: a server with a thread pool
    // (Go, tokio) keeps its threads after its sockets are gone.
    let (mut sockets_gone, mut threads_gone) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        while let Ok(report) = collected.try_recv() {
            all.push(report);
        }
        if let (Some(pid), Some(idle)) = (options.pid, &idle) {
            if let Some(now) = sample_process(pid) {
                if sockets_gone.is_none() && now.fds <= idle.fds {
                    sockets_gone = Some(left_at.elapsed());
                }
                if threads_gone.is_none() && now.threads <= idle.threads {
                    threads_gone = Some(left_at.elapsed());
                }
            }
        }
        let measured = options.pid.is_none() || (sockets_gone.is_some() && threads_gone.is_some());
        if all.len() + spawn_failures >= options.streams && measured {
            break;
        }
        thread::sleep(Duration::from_millis(1));
    }

    // The report.
    let streams = options.streams;
    let connected = connected.load(Ordering::Relaxed);
    // A gap of k intervals (k ≥ 2, rounded) means k - 1 frames never came.
    let interval_ms = options.interval.as_secs_f64() * 1e3;
    let missed: u64 = all
        .iter()
        .flat_map(|r| r.gaps_ms.iter())
        .map(|gap| ((gap / interval_ms).round() as u64).saturating_sub(1))
        .sum();
    let mut gaps: Vec<f64> = all.iter().flat_map(|r| r.gaps_ms.iter().copied()).collect();
    let mut sent_gaps: Vec<f64> = all.iter().flat_map(|r| r.sent_gaps_ms.iter().copied()).collect();
    let mut first: Vec<f64> =
        all.iter().filter_map(|r| r.first_frame).map(|d| d.as_secs_f64() * 1e3).collect();
    let mut latencies: Vec<f64> = all.iter().flat_map(|r| r.latencies_ms.iter().copied()).collect();
    for list in [&mut gaps, &mut sent_gaps, &mut first, &mut latencies, &mut scrapes] {
        list.sort_by(f64::total_cmp);
    }
    println!("target            {}{}", options.addr, options.path);
    println!("machine load      {} (1, 5, 15 min, at the end of the hold)", load_average());
    println!("streams           {streams} asked, {connected} connected, {} got a first frame", first.len());
    println!(
        "hold              {:.1} s after a {:.1} s ramp",
        hold_wall.as_secs_f64(),
        ramp_time.as_secs_f64()
    );
    if let Some(publishing) = &publishing {
        // Not "publish…": benches/fanout.sh reads the one line that starts so.
        let how = if options.publish_keep_alive {
            "kept-alive connections (--publish-keep-alive)"
        } else {
            "one connection each (Connection: close)"
        };
        println!(
            "posts             {} to /publish at {}/s over {how}: {} connections opened, {} not acknowledged",
            publishing.attempts,
            options.publish_rate,
            publishing.connections,
            publishing.attempts - publishing.published
        );
    }
    println!("missed frames     {missed} (gaps of two or more intervals, counted in intervals)");
    println!("gap ms            {}  ({} gaps)", spread(&gaps, 1), gaps.len());
    if !sent_gaps.is_empty() {
        println!("gap as sent ms    {}  (the times the frames carry)", spread(&sent_gaps, 1));
    }
    println!("first frame ms    {}", spread(&first, 1));
    // Events published elsewhere (another instance) are timed too.
    if publishing.is_some() || !latencies.is_empty() {
        println!(
            "publish→receive   {} ms  ({} published here, {} deliveries)",
            spread(&latencies, 2),
            publishing.as_ref().map_or(0, |publishing| publishing.published),
            latencies.len()
        );
    }
    if let (Some(before), Some(after)) = (fan_out_before, fan_out_after) {
        let [published, deliveries, wakeups] = [0, 1, 2].map(|at| after[at].saturating_sub(before[at]));
        let per = |count: u64| count as f64 / published.max(1) as f64;
        println!(
            "fan-out (server)  {published} published in the hold: {:.2} deliveries and {:.2} thread wake-ups per publish",
            per(deliveries),
            per(wakeups)
        );
    }
    if options.scrape {
        println!(
            "/metrics ms       p50 {:.2}  max {:.2}  ({} scrapes)",
            percentile(&scrapes, 0.5),
            scrapes.last().copied().unwrap_or(f64::NAN),
            scrapes.len()
        );
    }
    if let (Some(idle), Some(start), Some(end)) = (&idle, &at_hold_start, &at_hold_end) {
        let cpu_percent = (end.cpu_ticks - start.cpu_ticks) as f64 / 100.0 / hold_wall.as_secs_f64() * 100.0;
        let per_stream_kb =
            (end.rss_kib.saturating_sub(idle.rss_kib)) as f64 * 1.024 / connected.max(1) as f64;
        println!("server idle RSS   {} KiB, {} threads, {} fds", idle.rss_kib, idle.threads, idle.fds);
        println!("server at load    {} KiB RSS, {} threads, {} fds", end.rss_kib, end.threads, end.fds);
        println!("server RSS/stream {per_stream_kb:.1} KB");
        println!("server CPU        {cpu_percent:.1} % of one core over the hold");
    }
    let machine_kib = mem_available_before.saturating_sub(mem_available_during);
    println!(
        "machine memory    {:.1} KB/stream MemAvailable drop (client included: its RSS {} KiB); KernelStack +{} KiB, Slab +{} KiB",
        machine_kib as f64 * 1.024 / connected.max(1) as f64,
        own_rss,
        kernel_stack_during.saturating_sub(kernel_stack_before),
        slab_during.saturating_sub(slab_before)
    );
    if options.pid.is_some() {
        let shown = |took: Option<Duration>| {
            took.map_or("not within 30 s".to_owned(), |took| format!("{:.0} ms", took.as_secs_f64() * 1e3))
        };
        let how = if options.close_with_rst { "RST" } else { "FIN" };
        println!(
            "reclaim           sockets {}, threads {} after the clients left by {how} (back to idle)",
            shown(sockets_gone),
            shown(threads_gone)
        );
    }
    if spawn_failures > 0 {
        println!("client threads    {spawn_failures} could not start");
    }
}
