//! The `ssed` binary itself: its flags, its exit codes, its log lines.

mod support;

use std::io::Write;
use std::net::Shutdown;
use std::process::Command;

use support::{connect, get, read_to_close, read_until, run_binary as run, wait_for_line};

const SSED: &str = env!("CARGO_BIN_EXE_ssed");

#[test]
fn help_lists_every_flag_and_exits_0() {
    let output = Command::new(SSED).arg("--help").output().expect("run ssed --help");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--addr",
        "--interval",
        "--retry",
        "--max-clients",
        "--stack-size",
        "--head-timeout",
        "--write-timeout",
        "--max-head-bytes",
        "--max-target-bytes",
        "--cors-origin",
        "--quiet",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn bad_flags_print_one_line_and_a_hint_and_exit_2() {
    for (flags, message) in [
        (&["--bogus"][..], "unknown flag \"--bogus\""),
        (&["--interval", "0"][..], "--interval: \"0\""),
        (&["--max-clients"][..], "--max-clients needs a value"),
        (&["--addr", "nowhere"][..], "--addr: \"nowhere\""),
    ] {
        let output = Command::new(SSED).args(flags).output().expect("run ssed");
        assert_eq!(output.status.code(), Some(2), "{flags:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with(&format!("ssed: {message}")), "{flags:?}: {stderr}");
        // The reason, then the GNU hint: not the whole usage burying it.
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{flags:?}: {stderr}");
        assert_eq!(lines[1], "Try 'ssed --help' for the flags.", "{flags:?}");
    }
}

/// Issue 18, item 15: `--publish-token --quiet` started with the token
/// "--quiet" (a publish with `Bearer --quiet` got 200) and without quiet
/// mode; now it is refused like any missing value, with the way to give a
/// value that starts with `--`.
#[test]
fn a_flag_after_a_flag_that_takes_a_value_is_refused_with_the_equals_hint() {
    for flag in ["--publish-token", "--cors-origin"] {
        let (code, stderr) = support::run_to_exit(&[flag, "--quiet"]);
        assert_eq!(code, Some(2), "{flag}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(
            lines,
            [
                &format!(
                    "ssed: {flag} needs a value, not the flag \"--quiet\" (for a value that starts with --, write {flag}=VALUE)"
                ),
                "Try 'ssed --help' for the flags."
            ],
            "{flag}"
        );
    }
}

#[test]
fn logs_one_line_per_connect_and_one_per_departure() {
    let mut server = run(&["--interval", "100"]);
    let mut stream = connect(server.addr);
    stream.write_all(&get("/sse")).expect("send");
    read_until(&mut stream, "id: 2\n", 1);
    let local = stream.local_addr().expect("local addr");
    let connected = wait_for_line(&server.stderr, &local.to_string());
    assert!(connected.ends_with("GET /sse -> 200 streaming (1 live)"), "{connected}");

    stream.shutdown(Shutdown::Write).expect("FIN");
    read_to_close(&mut stream);
    let left = wait_for_line(&server.stderr, "left after");
    assert!(left.contains(&local.to_string()), "{left}");
    assert!(left.ends_with("events: client closed the connection (FIN)"), "{left}");

    let answer = support::exchange_addr(server.addr, &get("/nope"));
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    let refused = wait_for_line(&server.stderr, "-> 404");
    assert!(refused.ends_with("-> 404 not found"), "{refused}");
    server.child.kill().expect("kill ssed");
}

#[test]
fn quiet_silences_connection_lines() {
    let server = run(&["--quiet", "--interval", "50"]);
    let mut stream = connect(server.addr);
    stream.write_all(&get("/sse")).expect("send");
    read_until(&mut stream, "id: 2\n", 1);
    stream.shutdown(Shutdown::Write).expect("FIN");
    read_to_close(&mut stream);
    support::exchange_addr(server.addr, &get("/nope"));
    // Nothing more is written: within a short wait no line arrives.
    let line = server.stderr.recv_timeout(std::time::Duration::from_millis(300));
    assert!(line.is_err(), "quiet server logged {line:?}");
}

#[cfg(not(feature = "redis"))]
#[test]
fn redis_flags_in_a_build_without_the_redis_link_say_how_to_get_it() {
    let output = Command::new(SSED).args(["--redis", "redis://127.0.0.1:6379"]).output().expect("run ssed");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("built without the Redis link") && stderr.contains("--features redis"),
        "{stderr}"
    );
}

/// Where the process `pid` listens on IPv4, read from `/proc` (for a server
/// whose stderr, and so its banner, the test cannot read).
fn listening_addr(pid: u32) -> Option<std::net::SocketAddr> {
    let sockets: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| Some(target.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned()))
        .collect();
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).ok()?;
    // "sl local_address rem_address st … inode": 0100007F:A1B2, state 0A is LISTEN.
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(3) != Some(&"0A") || !sockets.iter().any(|inode| Some(&inode.as_str()) == fields.get(9))
        {
            return None;
        }
        let (ip, port) = fields.get(1)?.split_once(':')?;
        let ip = u32::from_str_radix(ip, 16).ok()?.to_le_bytes();
        Some(std::net::SocketAddr::from((ip, u16::from_str_radix(port, 16).ok()?)))
    })
}

/// Starts `ssed` on 127.0.0.1:0 with `stderr` as its standard error, and
/// waits (5 s at most) until it listens; `None` when it exits or never does.
fn serve_with_stderr(stderr: std::io::PipeWriter) -> (std::process::Child, Option<std::net::SocketAddr>) {
    let mut child = Command::new(SSED)
        .args(["--addr", "127.0.0.1:0", "--interval", "50"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start ssed");
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(5) {
        if let Some(addr) = listening_addr(child.id()) {
            return (child, Some(addr));
        }
        if !matches!(child.try_wait(), Ok(None)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    (child, None)
}

/// What a server whose stderr is broken or stuck must still do: answer
/// `/healthz`, stream pings, and log (or drop) a line per connection
/// without waiting for stderr.
fn serves_anyway(child: &mut std::process::Child, addr: Option<std::net::SocketAddr>) {
    let Some(addr) = addr else {
        support::end_child(child);
        panic!("ssed never listened; it exited with {:?}", child.try_wait());
    };
    for _ in 0..20 {
        let answer = support::exchange_addr(addr, &get("/healthz"));
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.contains("\r\n\r\nok\n"), "{answer}");
    }
    let mut stream = connect(addr);
    stream.write_all(&get("/sse")).expect("send");
    read_until(&mut stream, "id: 3\n", 1);
    assert!(matches!(child.try_wait(), Ok(None)), "ssed ended: {:?}", child.try_wait());
    support::end_child(child);
}

/// Issue 18, item 13: with stderr a pipe whose reader is gone, the start
/// banner and every log line fail with EPIPE; the old server panicked in
/// `eprintln!` and exited 101 before serving.
#[test]
fn a_broken_stderr_never_stops_the_server() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let (mut child, addr) = serve_with_stderr(writer);
    serves_anyway(&mut child, addr);
}

/// Issue 18, item 13: with stderr a pipe that is full before the server
/// starts and never read, the old server blocked in writing its banner and
/// never served.
#[test]
fn a_full_stderr_never_delays_the_server() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    // Fill the pipe (64 KiB on Linux) and keep the filler blocked on it.
    let mut filler = writer.try_clone().expect("clone the pipe's writer");
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&written);
    std::thread::spawn(move || {
        while filler.write_all(&[b'#'; 4096]).is_ok() {
            counter.fetch_add(4096, std::sync::atomic::Ordering::Relaxed);
        }
    });
    // A pipe made smaller by the user's pipe quota is full sooner: after
    // 2 s the filler has long been blocked on it.
    let filling = std::time::Instant::now();
    while written.load(std::sync::atomic::Ordering::Relaxed) < 64 * 1024
        && filling.elapsed() < std::time::Duration::from_secs(2)
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let (mut child, addr) = serve_with_stderr(writer);
    let started = std::time::Instant::now();
    serves_anyway(&mut child, addr);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "served in {:?}", started.elapsed());
    // Dropping the reader lets the filler's write fail, so it ends.
    drop(reader);
}

/// Issue 18, item 13: `ssed --help | head -0`: a closed stdout is no reason
/// to panic.
#[test]
fn help_and_version_on_a_closed_stdout_exit_without_a_panic() {
    for flag in ["--help", "--version"] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let output = Command::new(SSED)
            .arg(flag)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run ssed");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{flag}: {stderr}");
        assert!(stderr.is_empty(), "{flag}: {stderr}");
    }
}

/// Issue 18, item 16: an instance started without its `--journal` (or
/// `--redis`, checked in `tests/redis.rs`) joined a pool silently. The
/// start line and `/healthz` say where events are kept.
#[test]
fn the_start_line_and_healthz_say_where_events_are_kept() {
    let dir = std::env::temp_dir().join(format!("ssed-binary-kept-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let journal = dir.join("events.journal").display().to_string();
    for (flags, kept_in) in [
        (vec!["--quiet"], "memory".to_owned()),
        (vec!["--quiet", "--journal", &journal], format!("journal {journal}")),
    ] {
        let server = run(&flags);
        assert!(server.banner.ends_with(&format!("; events kept in {kept_in}")), "{}", server.banner);
        let health = support::exchange_addr(server.addr, &get("/healthz"));
        assert!(health.ends_with(&format!("\r\n\r\nok\nevents: {kept_in}\n")), "{health}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
