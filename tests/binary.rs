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
