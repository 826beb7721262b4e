//! Publishing load (a rate, or one after another) and the startup timing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::measure::percentile;
use crate::options::{loopback_or_exit, Options};
use crate::stream::micros_since_epoch;

/// What [`publish_loop`] did: publishes sent, those the server took (a
/// failed one, unanswered or refused, is not published), and the
/// connections it opened for them.
#[derive(Default)]
pub(crate) struct Publishing {
    pub(crate) attempts: usize,
    pub(crate) published: usize,
    pub(crate) connections: usize,
}

/// POSTs `rate` events a second to /publish until `stop`: each on its own
/// connection (`Connection: close`, the answer read to the close), or with
/// `--publish-keep-alive` all on one kept-alive connection, each answer
/// read by its framing, and a new connection only when the server closed
/// the last one (or said it would) or an answer failed.
pub(crate) fn publish_loop(options: &Options, rate: usize, stop: &AtomicBool) -> Publishing {
    let token = options.token.clone().unwrap_or_default();
    let connection = if options.publish_keep_alive { "" } else { "Connection: close\r\n" };
    // Publish n is due at n / rate after the start, whatever the server's
    // answer time, so that servers compared get the same number of events.
    let started = Instant::now();
    let mut done = Publishing::default();
    let mut kept: Option<TcpStream> = None;
    // xorshift64: a random topic per publish, reproducibly.
    let mut random = 0x9e37_79b9_7f4a_7c15_u64;
    while !stop.load(Ordering::Relaxed) && done.attempts < 1_000_000 {
        done.attempts += 1;
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let query = match options.topics {
            0 => String::new(),
            topics => format!("?topic=t{}", random % topics as u64),
        };
        let body = format!("t={}", micros_since_epoch());
        let request = format!(
            "POST /publish{query} HTTP/1.1\r\nHost: {}\r\n{connection}Authorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
            options.addr,
            body.len()
        );
        // A kept connection the server has closed meanwhile (its idle
        // timeout) is not sent on: a new one is opened instead.
        let socket = kept.take().filter(still_open).or_else(|| {
            let socket = TcpStream::connect_timeout(&options.addr, Duration::from_secs(2)).ok()?;
            let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = socket.set_write_timeout(Some(Duration::from_secs(2)));
            let _ = socket.set_nodelay(true);
            done.connections += 1;
            Some(socket)
        });
        if let Some(mut socket) = socket {
            if socket.write_all(request.as_bytes()).is_ok() {
                let answer = if options.publish_keep_alive {
                    read_one_answer(&mut socket)
                } else {
                    read_to_close(&mut socket)
                };
                done.published += usize::from(accepted(&answer));
                if options.publish_keep_alive && !answer.is_empty() && !server_closes(&answer) {
                    kept = Some(socket);
                }
            }
        }
        let due = started + Duration::from_secs_f64(done.attempts as f64 / rate as f64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    done
}

/// Whether a kept connection is still open: the server has not closed it
/// (a read would find its FIN) nor sent anything unasked.
fn still_open(socket: &TcpStream) -> bool {
    if socket.set_nonblocking(true).is_err() {
        return false;
    }
    let open =
        matches!(socket.peek(&mut [0u8; 1]), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock);
    socket.set_nonblocking(false).is_ok() && open
}

/// Whether the server said it closes the connection after this answer.
fn server_closes(answer: &[u8]) -> bool {
    answer.windows(19).any(|window| window.eq_ignore_ascii_case(b"connection: close\r\n"))
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
    let addr = loopback_or_exit(authority);
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
        if keep_alive && !answer.is_empty() && !server_closes(&answer) {
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
/// bytes of body, or a `Transfer-Encoding: chunked` body to its last
/// chunk. Empty when the connection failed (or the 2 s read timeout ran
/// out) before the whole answer.
fn read_one_answer(socket: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = answer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
            let body = &answer[end + 4..];
            let field = |name: &str| head.lines().find_map(|line| line.strip_prefix(name)).map(str::trim);
            let whole = if field("transfer-encoding:").is_some_and(|coding| coding.ends_with("chunked")) {
                chunked_whole(body)
            } else {
                body.len() >= field("content-length:").and_then(|value| value.parse().ok()).unwrap_or(0)
            };
            if whole {
                return answer;
            }
        }
        match socket.read(&mut chunk) {
            Ok(0) | Err(_) => return Vec::new(),
            Ok(read) => answer.extend_from_slice(&chunk[..read]),
        }
    }
}

/// Whether a chunked body has come to its end: its chunks, the `0` chunk
/// and the (usually empty) trailer section.
fn chunked_whole(body: &[u8]) -> bool {
    let mut at = 0;
    while let Some(line) = body[at..].windows(2).position(|window| window == b"\r\n") {
        let size_line = String::from_utf8_lossy(&body[at..at + line]);
        let size_text = size_line.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else { return false };
        if size == 0 {
            // From the `\r\n` after `0`: `\r\n\r\n`, or trailers then `\r\n\r\n`.
            return body[at + line..].windows(4).any(|window| window == b"\r\n\r\n");
        }
        at += line + 2 + size + 2;
        if at > body.len() {
            return false;
        }
    }
    false
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
