//! The smallest correct SSE server: the whole idea of ssed in 70 lines.
//!
//! `cargo run --example minimal`, then `curl -N http://127.0.0.1:8081/sse`:
//!
//! ```text
//! id: 1795633887897
//! event: ping
//! data: 1795633887897
//!
//! ```
//!
//! every 500 ms. One thread per connection, a bounded request read, the
//! event-stream head, a ping at once and then on a timer, and the thread
//! ends when a write fails because the client left. What it leaves out is
//! what the rest of ssed is for: parsing the request properly, limits on
//! clients, noticing a departed client before the next write, `/events`,
//! metrics, logs.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Ids never repeat: one counter for every stream, started at the start
/// time in milliseconds, so they keep increasing across restarts too.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let listener = TcpListener::bind(addr)?;
    NEXT_ID.store(now_millis(), Ordering::Relaxed);
    eprintln!("minimal: listening on http://{}/sse", listener.local_addr()?);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // A small explicit stack: a stream needs a few KiB of it.
        let spawned = thread::Builder::new().stack_size(64 * 1024).spawn(move || serve(stream));
        if let Err(error) = spawned {
            eprintln!("minimal: no thread for a client: {error}");
        }
    }
    Ok(())
}

fn serve(mut stream: TcpStream) {
    // Read the request head, at most 4 KiB and 5 s of it.
    let mut head = [0u8; 4096];
    let mut len = 0;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    while !head[..len].windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut head[len..]) {
            Ok(0) | Err(_) => return,
            Ok(read) => len += read,
        }
        if len == head.len() {
            let _ = stream
                .write_all(b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
            return;
        }
    }
    if !(head.starts_with(b"GET /sse ") || head.starts_with(b"GET /sse?")) {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
        Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
        .to_vec();
    loop {
        // `event: ping` with no trailing space: `event: ping ` is the type "ping ".
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        out.extend_from_slice(format!("id: {id}\nevent: ping\ndata: {}\n\n", now_millis()).as_bytes());
        if stream.write_all(&out).is_err() {
            return; // the client left: its thread ends here
        }
        out.clear();
        thread::sleep(Duration::from_millis(500));
    }
}

fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}
