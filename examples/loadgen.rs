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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "\
usage: loadgen --url http://127.0.0.1:PORT/PATH [flags]
       loadgen --startup PATH-TO-SSED [--port N]   (time from exec to accepting, 20 runs)
       loadgen --publish-for SECONDS --url http://127.0.0.1:PORT/publish --token T
                                                    (one publish after another: events/s)
  --streams N        streams to hold [1000]
  --ramp N           new connections per second [2000]
  --hold SECONDS     how long to hold them all, after the ramp [20]
  --interval MS      the server's ping interval, to count missed frames [500]
  --pid PID          the server's process: report RSS, threads, CPU, reclaim
  --close fin|rst    how the clients leave at the end [fin]
  --topics N         spread the streams over N topics t0…t(N-1) (/events?topic=tK);
                     each publish then goes to a random one of them [0: no topics]
  --publish-rate N   events per second to POST to /publish (with --token) [0]
  --token TOKEN      bearer token for /publish
  --scrape           also GET /metrics once a second during the hold";

struct Options {
    addr: SocketAddr,
    path: String,
    streams: usize,
    ramp: usize,
    hold: Duration,
    interval: Duration,
    pid: Option<u32>,
    close_with_rst: bool,
    publish_rate: usize,
    topics: usize,
    token: Option<String>,
    scrape: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut options = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        path: String::new(),
        streams: 1000,
        ramp: 2000,
        hold: Duration::from_secs(20),
        interval: Duration::from_millis(500),
        pid: None,
        close_with_rst: false,
        publish_rate: 0,
        topics: 0,
        token: None,
        scrape: false,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number =
            |text: String| text.parse::<u64>().map_err(|_| format!("{flag}: {text:?} is not a number"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--streams" => options.streams = number(value()?)?.clamp(1, 30_000) as usize,
            "--ramp" => options.ramp = number(value()?)?.clamp(1, 20_000) as usize,
            "--hold" => options.hold = Duration::from_secs(number(value()?)?.clamp(1, 600)),
            "--interval" => options.interval = Duration::from_millis(number(value()?)?.max(1)),
            "--pid" => options.pid = Some(number(value()?)? as u32),
            "--close" => options.close_with_rst = value()? == "rst",
            "--publish-rate" => options.publish_rate = number(value()?)?.clamp(0, 1000) as usize,
            "--topics" => options.topics = number(value()?)?.clamp(0, 100_000) as usize,
            "--token" => options.token = Some(value()?),
            "--scrape" => options.scrape = true,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    let url = url.ok_or(format!("--url is required\n{USAGE}"))?;
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    options.addr = authority.parse().map_err(|_| format!("{authority:?} is not an IP:port"))?;
    // Load goes to this machine only.
    if !options.addr.ip().is_loopback() {
        return Err(format!("{} is not a loopback address", options.addr.ip()));
    }
    options.path = if path.is_empty() { "/".to_owned() } else { path.to_owned() };
    Ok(options)
}

/// What one stream saw.
#[derive(Default)]
struct StreamReport {
    connected: bool,
    first_frame: Option<Duration>,
    gaps_ms: Vec<f64>,
    /// Gaps between the send times the frames carry (the server's clock,
    /// whole milliseconds): the server's schedule without this client's
    /// own scheduling delays, for servers whose pings carry a time.
    sent_gaps_ms: Vec<f64>,
    latencies_ms: Vec<f64>,
}

/// The send time a ping carries, in milliseconds of the day: ssed's
/// `2026-11-25T18:40:30.123Z`, or milliseconds since the epoch as the
/// comparison servers write.
fn sent_millis(data: &str) -> Option<u64> {
    const DAY: u64 = 86_400_000;
    if data.len() >= 12 && data.bytes().all(|byte| byte.is_ascii_digit()) {
        return data.parse::<u64>().ok().map(|millis| millis % DAY);
    }
    let time = data.strip_suffix('Z')?.split_once('T')?.1;
    let (hours, rest) = time.split_once(':')?;
    let (minutes, rest) = rest.split_once(':')?;
    let (seconds, millis) = rest.split_once('.')?;
    let field = |text: &str| text.parse::<u64>().ok();
    Some(((field(hours)? * 60 + field(minutes)?) * 60 + field(seconds)?) * 1000 + field(millis)?)
}

fn micros_since_epoch() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// When the clients stop reading, and when they leave. Leaving is one
/// broadcast, so that all of them vanish within a few milliseconds.
#[derive(Default)]
struct Phase {
    stop_reading: AtomicBool,
    leave: Mutex<bool>,
    leaving: Condvar,
}

/// Holds one stream: reads frames until told to stop reading, waits, then
/// leaves by FIN (`shutdown`, then reading to the end) or by RST (closing
/// with frames still unread).
fn hold_stream(
    options: &Options,
    number: usize,
    hold_from: Instant,
    phase: &Phase,
    report: &mut StreamReport,
) {
    let started = Instant::now();
    let Ok(socket) = TcpStream::connect_timeout(&options.addr, Duration::from_secs(10)) else { return };
    let _ = socket.set_read_timeout(Some(Duration::from_millis(250)));
    let path = match options.topics {
        0 => options.path.clone(),
        topics => {
            let join = if options.path.contains('?') { '&' } else { '?' };
            format!("{}{join}topic=t{}", options.path, number % topics)
        }
    };
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", options.addr);
    if (&socket).write_all(request.as_bytes()).is_err() {
        return;
    }
    report.connected = true;
    let mut reader = BufReader::with_capacity(4096, &socket);
    let mut line = String::new();
    let mut last_frame: Option<Instant> = None;
    let mut last_sent: Option<u64> = None;
    while !phase.stop_reading.load(Ordering::Relaxed) {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(_) => continue, // read timeout: look at the phase again
        }
        let Some(data) = line.strip_prefix("data: ") else { continue };
        let now = Instant::now();
        report.first_frame.get_or_insert(now - started);
        if let Some(previous) = last_frame.filter(|_| now > hold_from) {
            report.gaps_ms.push((now - previous).as_secs_f64() * 1e3);
        }
        last_frame = Some(now);
        let sent = sent_millis(data.trim_end());
        if let (Some(sent), Some(previous)) = (sent, last_sent.filter(|_| now > hold_from)) {
            // Across midnight the time of day starts again.
            report.sent_gaps_ms.push(((sent + 86_400_000 - previous) % 86_400_000) as f64);
        }
        last_sent = sent;
        // Published load events carry their send time in microseconds.
        if let Some(sent) = data.trim_end().strip_prefix("t=").and_then(|t| t.parse::<u64>().ok()) {
            report.latencies_ms.push(micros_since_epoch().saturating_sub(sent) as f64 / 1e3);
        }
    }
    let mut leave = phase.leave.lock().unwrap_or_else(PoisonError::into_inner);
    while !*leave {
        leave = phase.leaving.wait(leave).unwrap_or_else(PoisonError::into_inner);
    }
    drop(leave);
    if !options.close_with_rst {
        let _ = socket.shutdown(Shutdown::Write);
        let _ = socket.set_read_timeout(Some(Duration::from_secs(5)));
        let mut rest = Vec::new();
        let _ = (&socket).read_to_end(&mut rest);
    }
}

/// `p50 … p99 … max …` of sorted figures, with `decimals` after the point.
fn spread(sorted: &[f64], decimals: usize) -> String {
    let max = sorted.last().copied().unwrap_or(f64::NAN);
    format!(
        "p50 {:.*}  p99 {:.*}  max {:.*}",
        decimals,
        percentile(sorted, 0.5),
        decimals,
        percentile(sorted, 0.99),
        decimals,
        max
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Fields of /proc/PID/status and /proc/PID/stat that the report uses.
struct ProcessSample {
    rss_kib: u64,
    threads: u64,
    cpu_ticks: u64,
    fds: usize,
}

fn sample_process(pid: u32) -> Option<ProcessSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let after_name: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let cpu_ticks = after_name.get(11)?.parse::<u64>().ok()? + after_name.get(12)?.parse::<u64>().ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|dir| dir.count()).unwrap_or(0);
    Some(ProcessSample { rss_kib: field("VmRSS:")?, threads: field("Threads:")?, cpu_ticks, fds })
}

fn meminfo_kib(name: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| text.lines().find_map(|line| line.strip_prefix(name)).map(str::to_owned))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// POSTs `rate` events a second to /publish until `stop`.
fn publish_loop(options: &Options, rate: usize, stop: &AtomicBool) -> usize {
    let token = options.token.clone().unwrap_or_default();
    // Publish n is due at n / rate after the start, whatever the server's
    // answer time, so that servers compared get the same number of events.
    let started = Instant::now();
    let (mut attempts, mut published) = (0u32, 0);
    // xorshift64: a random topic per publish, reproducibly.
    let mut random = 0x9e37_79b9_7f4a_7c15_u64;
    while !stop.load(Ordering::Relaxed) && attempts < 1_000_000 {
        attempts += 1;
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let query = match options.topics {
            0 => String::new(),
            topics => format!("?topic=t{}", random % topics as u64),
        };
        let body = format!("t={}", micros_since_epoch());
        let request = format!(
            "POST /publish{query} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
            options.addr,
            body.len()
        );
        if let Ok(mut socket) = TcpStream::connect_timeout(&options.addr, Duration::from_secs(2)) {
            let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = socket.write_all(request.as_bytes());
            let mut answer = Vec::new();
            let _ = socket.read_to_end(&mut answer);
            published += usize::from(answer.starts_with(b"HTTP/1.1 200"));
        }
        let due = started + Duration::from_secs_f64(f64::from(attempts) / rate as f64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    published
}

/// ssed's `ssed_events_published_total`, `ssed_deliveries_total` and
/// `ssed_publish_wakeups_total`, when the server has them.
fn fan_out_counters(addr: SocketAddr) -> Option<[u64; 3]> {
    let mut socket = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
    socket.write_all(b"GET /metrics HTTP/1.1\r\nHost: loadgen\r\nConnection: close\r\n\r\n").ok()?;
    let mut answer = String::new();
    let _ = socket.read_to_string(&mut answer);
    let sample = |name: &str| {
        answer.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse::<u64>().ok())
    };
    Some([
        sample("ssed_events_published_total")?,
        sample("ssed_deliveries_total")?,
        sample("ssed_publish_wakeups_total")?,
    ])
}

/// Publishes one event after another, each on its own connection and
/// acknowledged before the next, for the given seconds; prints events/s.
fn measure_publishing() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|arg| arg == flag).and_then(|at| args.get(at + 1)).cloned();
    let seconds: u64 = value("--publish-for").and_then(|text| text.parse().ok()).unwrap_or(5).clamp(1, 60);
    let url = value("--url").unwrap_or_default();
    let token = value("--token").unwrap_or_default();
    let Some(authority) = url.strip_prefix("http://").and_then(|rest| rest.split('/').next()) else {
        eprintln!("loadgen: --publish-for needs --url http://127.0.0.1:PORT/publish");
        std::process::exit(2);
    };
    let addr: SocketAddr = match authority.parse() {
        Ok(addr) if SocketAddr::ip(&addr).is_loopback() => addr,
        _ => {
            eprintln!("loadgen: {authority:?} is not a loopback IP:port");
            std::process::exit(2);
        }
    };
    let body = "x".repeat(100);
    let request = format!(
        "POST /publish HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let started = Instant::now();
    let (mut acknowledged, mut refused) = (0u64, 0u64);
    while started.elapsed() < Duration::from_secs(seconds) && acknowledged + refused < 10_000_000 {
        let Ok(mut socket) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else { continue };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = socket.write_all(request.as_bytes());
        let mut answer = Vec::new();
        let _ = socket.read_to_end(&mut answer);
        if answer.starts_with(b"HTTP/1.1 200") {
            acknowledged += 1;
        } else {
            refused += 1;
        }
    }
    let rate = acknowledged as f64 / started.elapsed().as_secs_f64();
    println!("publishing        {rate:.0} events/s acknowledged ({acknowledged} in {seconds} s, {refused} refused; 100-byte events, one connection each)");
}

/// Starts the server binary 20 times on a fixed loopback port and times
/// how long after exec it accepts its first connection.
fn measure_startup(binary: &str, port: u16) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let Ok(mut child) = std::process::Command::new(binary)
            .args(["--quiet", "--addr", &addr.to_string()])
            .stderr(std::process::Stdio::null())
            .spawn()
        else {
            eprintln!("loadgen: cannot run {binary}");
            std::process::exit(1);
        };
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err()
            && started.elapsed() < Duration::from_secs(5)
        {
            thread::sleep(Duration::from_micros(100));
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
        let _ = child.kill();
        let _ = child.wait();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "ready to accept   p50 {:.2} ms  p90 {:.2} ms  max {:.2} ms after exec (20 runs)",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        times[19]
    );
}

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

    // The clients stop reading, frames pile up unread for two intervals,
    // then they all leave at once.
    phase.stop_reading.store(true, Ordering::Relaxed);
    let published = publisher.map(|publisher| {
        stop.store(true, Ordering::Relaxed);
        publisher.join().unwrap_or(0)
    });
    thread::sleep(Duration::from_millis(300).max(options.interval * 2));
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
    println!("missed frames     {missed} (gaps of two or more intervals, counted in intervals)");
    println!("gap ms            {}  ({} gaps)", spread(&gaps, 1), gaps.len());
    if !sent_gaps.is_empty() {
        println!("gap as sent ms    {}  (the times the frames carry)", spread(&sent_gaps, 1));
    }
    println!("first frame ms    {}", spread(&first, 1));
    // Events published elsewhere (another instance) are timed too.
    if published.is_some() || !latencies.is_empty() {
        println!(
            "publish→receive   {} ms  ({} published here, {} deliveries)",
            spread(&latencies, 2),
            published.unwrap_or(0),
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
