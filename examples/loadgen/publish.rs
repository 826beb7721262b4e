//! Publishing load (a rate, or one after another) and the startup timing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::measure::percentile;
use crate::options::Options;
use crate::stream::micros_since_epoch;

/// POSTs `rate` events a second to /publish until `stop`.
pub(crate) fn publish_loop(options: &Options, rate: usize, stop: &AtomicBool) -> usize {
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
            "POST /publish{query} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
            options.addr,
            body.len()
        );
        if let Ok(mut socket) = TcpStream::connect_timeout(&options.addr, Duration::from_secs(2)) {
            let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = socket.write_all(request.as_bytes());
            let mut answer = Vec::new();
            let _ = socket.read_to_end(&mut answer);
            published += usize::from(accepted(&answer));
        }
        let due = started + Duration::from_secs_f64(f64::from(attempts) / rate as f64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    published
}

/// A publish the server took: any 2xx, since nchan answers 201 (delivered)
/// or 202 (queued, no subscriber) where ssed and the Go peer answer 200.
fn accepted(answer: &[u8]) -> bool {
    answer.starts_with(b"HTTP/1.1 2")
}

/// Publishes one event after another, each acknowledged before the next,
/// for the given seconds; prints events/s. Each on its own connection, or
/// with `--publish-keep-alive` all on one kept-open connection (a new one
/// only when the server closes it, e.g. at `--max-requests-per-connection`).
pub(crate) fn measure_publishing() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|arg| arg == flag).and_then(|at| args.get(at + 1)).cloned();
    let seconds: u64 = value("--publish-for").and_then(|text| text.parse().ok()).unwrap_or(5).clamp(1, 60);
    let keep_alive = args.iter().any(|arg| arg == "--publish-keep-alive");
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
    let connection = if keep_alive { "" } else { "Connection: close\r\n" };
    let request = format!(
        "POST /publish HTTP/1.1\r\nHost: {addr}\r\n{connection}Authorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let started = Instant::now();
    let (mut acknowledged, mut refused, mut connections) = (0u64, 0u64, 0u64);
    let mut kept: Option<TcpStream> = None;
    while started.elapsed() < Duration::from_secs(seconds) && acknowledged + refused < 10_000_000 {
        let mut socket = match kept.take() {
            Some(socket) => socket,
            None => {
                let Ok(socket) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else { continue };
                let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = socket.set_nodelay(true);
                connections += 1;
                socket
            }
        };
        if socket.write_all(request.as_bytes()).is_err() {
            continue;
        }
        let answer = if keep_alive { read_one_answer(&mut socket) } else { read_to_close(&mut socket) };
        if accepted(&answer) {
            acknowledged += 1;
        } else {
            refused += 1;
        }
        let server_closes =
            answer.windows(19).any(|window| window.eq_ignore_ascii_case(b"connection: close\r\n"));
        if keep_alive && !answer.is_empty() && !server_closes {
            kept = Some(socket);
        }
    }
    let rate = acknowledged as f64 / started.elapsed().as_secs_f64();
    let how = if keep_alive {
        format!("kept-open connections: {connections}")
    } else {
        "one connection each".to_owned()
    };
    println!("publishing        {rate:.0} events/s acknowledged ({acknowledged} in {seconds} s, {refused} refused; 100-byte events, {how})");
}

/// Everything until the server closes.
fn read_to_close(socket: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    answer
}

/// One answer on a kept-open connection: its head, then `Content-Length`
/// bytes of body. Empty when the connection failed before a whole head.
fn read_one_answer(socket: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = answer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            if answer.len() >= end + 4 + length {
                return answer;
            }
        }
        match socket.read(&mut chunk) {
            Ok(0) | Err(_) => return Vec::new(),
            Ok(read) => answer.extend_from_slice(&chunk[..read]),
        }
    }
}

/// Starts the server binary 20 times on a fixed loopback port and times
/// how long after exec it accepts its first connection.
pub(crate) fn measure_startup(binary: &str, port: u16) {
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
