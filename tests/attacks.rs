//! A hostile tester's findings in code another engineer is changing
//! (`src/events/redis/`): each test here states a promise that the code
//! at the time of writing breaks, and FAILS until it is fixed there.
//!
//! Run with `cargo test --features redis --test attacks` (redis-server
//! needed; without it a test says SKIPPED, and fails in CI).

#![cfg(feature = "redis")]

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::redis_client::{self, Reply};

const KEY: &str = "0123456789abcdef0123456789abcdef-attack-key";

/// A redis-server on a free loopback port, ended (by PID) on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Option<Redis> {
        let program = support::find_program("redis-server", "--version")?;
        let port =
            TcpListener::bind("127.0.0.1:0").and_then(|probe| probe.local_addr()).expect("free port").port();
        let child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        support::eventually(Duration::from_secs(10), "redis-server answering", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(Redis { child, port })
    }

    /// Runs one command and returns its reply.
    fn command(&self, arguments: &[&str]) -> Reply {
        let socket = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        let command: Vec<Vec<u8>> = arguments.iter().map(|argument| argument.as_bytes().to_vec()).collect();
        redis_client::call(socket, &[command]).remove(0)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private event written into the stream by another writer (a newer
/// ssed, a script, another tool) must never reach a stream without a
/// token. Today only the exact value `1` of the `private` field makes an
/// entry private: `private true`, `private on` (what Mercure clients send
/// for `private`), `private yes`, or a second `private` field after the
/// first, all come out public, so the event is read by every stream of
/// its topic. Fail closed: the field present with any value means private
/// (as `?private` does on a publish), and never read a later field as
/// taking it back.
///
/// Fix (src/events/redis/entries.rs, `entry_of`): `b"private" => private = true`
/// (or `private |= true`), whatever the value.
#[test]
fn an_entry_marked_private_in_any_way_never_reaches_a_stream_without_a_token() {
    let Some(redis) = Redis::start() else {
        assert!(std::env::var_os("CI").is_none(), "redis-server is missing");
        println!("SKIPPED: redis-server not found (install redis-server)");
        return;
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_ssed"));
    command
        .args(["--addr", "127.0.0.1:0", "--quiet", "--redis", &format!("redis://127.0.0.1:{}", redis.port)])
        .env("SSED_JWT_KEY", KEY);
    let mut server = support::run_command(command);
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    stream.write_all(b"GET /events?topic=inbox HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
    let head = support::read_until(&mut stream, "retry: ", 1);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    support::eventually(Duration::from_secs(10), "the stream is live", || {
        let metrics = support::exchange_addr(server.addr, &support::get("/metrics"));
        metrics.lines().any(|line| line == "ssed_streams_live 1")
    });
    let marked: [&[&str]; 5] = [
        &["private", "true"],
        &["private", "on"],
        &["private", ""],
        &["private", "1", "private", "0"],
        &["private", "yes"],
    ];
    for (n, private) in marked.iter().enumerate() {
        let data = format!("leak-{n}");
        let mut arguments = vec!["XADD", "ssed", "*", "topic", "inbox"];
        arguments.extend_from_slice(private);
        arguments.extend_from_slice(&["data", &data]);
        assert!(matches!(redis.command(&arguments), Reply::Bulk(Some(_))), "XADD {arguments:?}");
    }
    redis.command(&["XADD", "ssed", "*", "topic", "inbox", "data", "public-marker"]);
    let mut seen = String::new();
    let started = Instant::now();
    let mut chunk = [0u8; 4096];
    while !seen.contains("public-marker") && started.elapsed() < Duration::from_secs(10) {
        if let Ok(read) = stream.read(&mut chunk) {
            seen.push_str(&String::from_utf8_lossy(&chunk[..read]));
        }
    }
    support::end_child(&mut server.child);
    assert!(seen.contains("public-marker"), "the public event arrived: {seen}");
    assert!(!seen.contains("leak-"), "a private entry reached a stream without a token: {seen}");
}
