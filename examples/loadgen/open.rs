//! Opening streams one after another, as fast as the server answers: the
//! time and the server CPU each open costs, with a token or without.
//!
//! ```text
//! loadgen --open 5000 --url http://127.0.0.1:PORT/events?topic=users/42 \
//!     [--bearer TOKEN] --pid PID
//! ```
//!
//! Each stream counts as open once its head and its first frame (`retry:`)
//! arrived; all stay open until the last one is, then all close. One
//! client thread, so the server sees one open at a time and its CPU per
//! open is not blurred by contention.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::measure::{load_average, percentile, sample_process};
use crate::options::loopback_or_exit;

/// Most streams one run opens (each holds a file descriptor here too).
const MAX_OPENS: usize = 15_000;

/// `loadgen --open N --url URL [--bearer TOKEN] [--pid PID]`.
pub(crate) fn measure_opening() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|arg| arg == flag).and_then(|at| args.get(at + 1)).cloned();
    let count: usize = value("--open").and_then(|text| text.parse().ok()).unwrap_or(1000).clamp(1, MAX_OPENS);
    let url = value("--url").unwrap_or_default();
    let bearer = value("--bearer");
    let pid: Option<u32> = value("--pid").and_then(|text| text.parse().ok());
    let Some((authority, path)) =
        url.strip_prefix("http://").and_then(|rest| rest.find('/').map(|at| rest.split_at(at)))
    else {
        eprintln!("loadgen: --open needs --url http://127.0.0.1:PORT/PATH");
        std::process::exit(2);
    };
    let addr = loopback_or_exit(authority);
    let authorization = bearer.map(|token| format!("Authorization: Bearer {token}\r\n")).unwrap_or_default();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{authorization}\r\n");

    let before = pid.and_then(sample_process);
    let started = Instant::now();
    let mut open = Vec::with_capacity(count);
    let (mut times_us, mut refused) = (Vec::with_capacity(count), 0usize);
    while open.len() + refused < count && started.elapsed() < Duration::from_secs(120) {
        let opening = Instant::now();
        match open_one(addr, request.as_bytes()) {
            Some(socket) => {
                times_us.push(opening.elapsed().as_secs_f64() * 1e6);
                open.push(socket);
            }
            None => refused += 1,
        }
    }
    let wall = started.elapsed();
    let after = pid.and_then(sample_process);
    drop(open);

    times_us.sort_by(f64::total_cmp);
    println!(
        "target            {addr}{path}{}",
        if authorization.is_empty() { "" } else { " (Bearer token)" }
    );
    println!("machine load      {} (1, 5, 15 min)", load_average());
    println!(
        "opened            {} of {count} in {:.3} s ({refused} refused): {:.1} µs per open",
        times_us.len(),
        wall.as_secs_f64(),
        wall.as_secs_f64() * 1e6 / count as f64
    );
    println!(
        "one open µs       p50 {:.1}  p99 {:.1}  max {:.1}",
        percentile(&times_us, 0.5),
        percentile(&times_us, 0.99),
        times_us.last().copied().unwrap_or(f64::NAN)
    );
    if let (Some(before), Some(after)) = (before, after) {
        // /proc counts CPU in ticks of 10 ms, exited threads included.
        let cpu_ms = (after.cpu_ticks - before.cpu_ticks) as f64 * 10.0;
        println!(
            "server CPU        {cpu_ms:.0} ms: {:.1} µs per open ({} threads at the end)",
            cpu_ms * 1e3 / count as f64,
            after.threads
        );
    }
}

/// One stream, open once its head and first frame arrived; `None` when
/// the answer is not a 200 or does not come within 5 s.
fn open_one(addr: SocketAddr, request: &[u8]) -> Option<TcpStream> {
    let mut socket = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    socket.write_all(request).ok()?;
    let mut seen = Vec::with_capacity(512);
    let mut buffer = [0u8; 1024];
    // The head, then the first frame: its blank line is the second "\n\n"
    // counting the head's "\r\n\r\n" as none.
    while !(seen.starts_with(b"HTTP/1.1 200") && seen.windows(2).any(|pair| pair == b"\n\n")) {
        let read = socket.read(&mut buffer).ok().filter(|&read| read > 0)?;
        seen.extend_from_slice(&buffer[..read]);
        if seen.len() >= 12 && !seen.starts_with(b"HTTP/1.1 200") || seen.len() > 8192 {
            return None;
        }
    }
    Some(socket)
}
