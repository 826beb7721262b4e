//! What every integration test needs: a real server on 127.0.0.1:0 in this
//! process, raw clients with timeouts, and polling instead of sleeping.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ssed::{Config, Server, ServerHandle};

/// The `ssed` binary this test run built.
pub const SSED: &str = env!("CARGO_BIN_EXE_ssed");

/// No single socket operation in a test may take longer than this.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A server running on its own thread; shut down and joined on drop.
pub struct TestServer {
    pub handle: ServerHandle,
    pub addr: SocketAddr,
    accept_thread: Option<JoinHandle<()>>,
}

/// Starts a quiet server on an ephemeral port, with `adjust` applied to
/// the defaults.
pub fn start(adjust: impl FnOnce(&mut Config)) -> TestServer {
    let mut config = Config { addr: SocketAddr::from(([127, 0, 0, 1], 0)), quiet: true, ..Config::default() };
    adjust(&mut config);
    serve(Server::bind(config).expect("bind 127.0.0.1:0"))
}

/// Runs a bound server on its own thread.
pub fn serve(server: Server) -> TestServer {
    let handle = server.handle();
    let addr = server.local_addr();
    let accept_thread = Some(thread::spawn(move || server.run()));
    TestServer { handle, addr, accept_thread }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A raw connection with read and write timeouts.
    pub fn connect(&self) -> TcpStream {
        connect(self.addr)
    }
}

impl Drop for TestServer {
    /// Stops the server and waits (5 s at most) until its connection
    /// threads are gone: they hold the hub, and with it the journal's lock,
    /// which a test that starts the next server on the same journal needs.
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
        let started = Instant::now();
        while self.handle.live_connections() > 0 && started.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(5));
        }
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect to the test server");
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("set read timeout");
    stream.set_write_timeout(Some(IO_TIMEOUT)).expect("set write timeout");
    stream
}

/// Sends `request` and reads the whole answer until the server closes.
/// Panics if the server does not close within [`IO_TIMEOUT`]: an answer
/// that never ends is a failure for every caller of this function.
pub fn exchange(server: &TestServer, request: &[u8]) -> String {
    exchange_addr(server.addr, request)
}

/// [`exchange`] with a server at `addr`.
pub fn exchange_addr(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = connect(addr);
    stream.write_all(request).expect("send request");
    read_to_close(&mut stream)
}

/// Reads until EOF (a reset after the answer counts as the end too).
pub fn read_to_close(stream: &mut TcpStream) -> String {
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => answer.extend_from_slice(&chunk[..read]),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(error) => panic!(
                "no end of answer after {:?} ({error}); got {:?}",
                started.elapsed(),
                String::from_utf8_lossy(&answer)
            ),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Reads from `stream` until the bytes read so far contain `needle`
/// `count` times; returns everything read. Panics after 10 s in all, so a
/// stream that keeps sending other frames cannot make a test hang.
pub fn read_until(stream: &mut TcpStream, needle: &str, count: usize) -> String {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    while String::from_utf8_lossy(&seen).matches(needle).count() < count {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no {count} × {needle:?} within 10 s: {:?}",
            String::from_utf8_lossy(&seen)
        );
        match stream.read(&mut chunk) {
            Ok(0) => panic!("closed before {count} × {needle:?}: {:?}", String::from_utf8_lossy(&seen)),
            Ok(read) => seen.extend_from_slice(&chunk[..read]),
            Err(error) => panic!("{error} before {count} × {needle:?}: {:?}", String::from_utf8_lossy(&seen)),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// An `/events` client: its socket and what it has read but not yet used.
pub struct Subscriber {
    pub stream: TcpStream,
    pub unread: String,
}

/// Opens `target` (an `/events` path with its query, plus extra request
/// headers) and reads past the head and the opening `retry:` block.
pub fn subscribe(server: &TestServer, target: &str, headers: &str) -> Subscriber {
    let mut stream = server.connect();
    let request = format!("GET {target} HTTP/1.1\r\nHost: test\r\n{headers}\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let opening = read_until(&mut stream, "retry: 3000\n\n", 1);
    assert_eq!(status_of(&opening), 200, "{opening}");
    let unread = opening.split_once("retry: 3000\n\n").expect("retry block").1.to_owned();
    Subscriber { stream, unread }
}

impl Subscriber {
    /// The next `count` blocks (events or signals), keep-alive comments
    /// skipped, exactly as they came.
    pub fn events(&mut self, count: usize) -> String {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            self.unread = self.unread.replace(": keep-alive\n\n", "");
            if let Some((end, _)) = self.unread.match_indices("\n\n").nth(count - 1) {
                let rest = self.unread.split_off(end + 2);
                return std::mem::replace(&mut self.unread, rest);
            }
            let read = self.stream.read(&mut chunk).expect("read events");
            assert!(read > 0, "stream ended: {}", self.unread);
            self.unread.push_str(&String::from_utf8_lossy(&chunk[..read]));
        }
    }

    /// The `data:` of the next `count` blocks, keep-alives skipped.
    pub fn data(&mut self, count: usize) -> Vec<String> {
        self.events(count)
            .split("\n\n")
            .filter(|block| !block.is_empty())
            .map(|block| block.lines().filter_map(|line| line.strip_prefix("data: ")).collect())
            .collect()
    }
}

/// Polls `condition` every 5 ms until it holds or `within` passes.
pub fn eventually(within: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < within, "not within {within:?}: {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// The status code of a raw HTTP answer.
pub fn status_of(answer: &str) -> u16 {
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

/// A GET request for `path` with a Host header.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

/// Opens a stream on `path` and reads its head, checking the status.
pub fn open_stream(server: &TestServer, path: &str) -> TcpStream {
    let mut stream = server.connect();
    stream.write_all(&get(path)).expect("send request");
    let head = read_until(&mut stream, "\r\n\r\n", 1);
    assert_eq!(status_of(&head), 200, "{head}");
    stream
}

/// Whether the real program `name` can be run; see [`find_program`].
pub fn have_program(name: &str, version_flag: &str) -> bool {
    find_program(name, version_flag).is_some()
}

/// The real program `name`, found on `PATH` or, since Debian installs
/// servers such as nginx there and a non-root user's `PATH` lacks them, in
/// `/usr/sbin` and `/sbin`. On a developer machine without it the test
/// says plainly that it is skipped and how to install it; in CI (`CI` set)
/// a missing program is a failure, since `.ci/run` installs it.
pub fn find_program(name: &str, version_flag: &str) -> Option<String> {
    let runs = |program: &str| {
        std::process::Command::new(program)
            .arg(version_flag)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok()
    };
    let found = [name.to_owned(), format!("/usr/sbin/{name}"), format!("/sbin/{name}")]
        .into_iter()
        .find(|program| runs(program));
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is missing in CI; .ci/run should have installed it"
        );
        // Straight to stderr, not eprintln!: the test harness hides what a
        // passing test prints, and a skip must be seen.
        // The harness names each test's thread after the test.
        let test = thread::current().name().unwrap_or("a real-client test").to_owned();
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: {name} is not installed (looked on PATH, in /usr/sbin and /sbin). \
             Install what the real-client tests use with: sudo apt-get install curl chromium nginx-light redis-server openssl python3"
        );
    }
    found
}

/// Lines a child process writes, delivered through a channel so that a
/// test can wait for them with a timeout.
pub fn lines_of(reader: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Waits for the next line that contains `needle`; returns it.
pub fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(error) => panic!("no line with {needle:?}: {error}"),
        }
    }
}

/// A running `ssed` process, killed by its PID when dropped.
pub struct Running {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    /// The line `ssed: listening on http://…`.
    pub banner: String,
    /// What the server said before it.
    pub before_banner: Vec<String>,
    pub stderr: std::sync::mpsc::Receiver<String>,
}

impl Running {
    /// The first line with `needle`, said before the banner or after it.
    pub fn line_with(&self, needle: &str) -> String {
        match self.before_banner.iter().find(|line| line.contains(needle)) {
            Some(line) => line.clone(),
            None => wait_for_line(&self.stderr, needle),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        end_child(&mut self.child);
    }
}

/// POSTs one event to `/publish{query}` with `token`: the id when it was
/// acknowledged, the whole answer otherwise.
pub fn publish(addr: SocketAddr, token: &str, query: &str, data: &str) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|error| error.to_string())?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(|error| error.to_string())?;
    let request = format!(
        "POST /publish{query} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{data}",
        data.len()
    );
    stream.write_all(request.as_bytes()).map_err(|error| error.to_string())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|error| error.to_string())?;
    match answer.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.trim().to_owned()),
        _ => Err(answer),
    }
}

/// Runs the `ssed` binary with `args` (on 127.0.0.1:0) until it exits, 5 s
/// at most: its exit code and what it wrote to stderr.
pub fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssed"))
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ssed");
    let started = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status.code();
        }
        if started.elapsed() > Duration::from_secs(5) {
            end_child(&mut child);
            panic!("ssed {args:?} did not exit");
        }
        thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    let _ = child.stderr.take().expect("stderr").read_to_string(&mut stderr);
    (status, stderr)
}

/// Whether `child` (not yet reaped, so its PID cannot have been reused) is
/// still the program this test started: `/proc/PID/exe` says which.
pub fn is_ours(child: &std::process::Child, program: &str) -> bool {
    let exe = std::fs::read_link(format!("/proc/{}/exe", child.id()));
    let wanted = std::fs::canonicalize(program);
    matches!((exe, wanted), (Ok(exe), Ok(wanted)) if exe == wanted)
}

/// Sends `signal` (e.g. `STOP`) to the `ssed` child this test started,
/// after checking that its PID is still that program's.
pub fn signal(child: &std::process::Child, signal: &str) {
    assert!(is_ours(child, env!("CARGO_BIN_EXE_ssed")), "PID {} is not our ssed any more", child.id());
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {}", child.id());
}

/// Ends the `ssed` child this test started (only if its PID is still that
/// program's) and reaps it.
pub fn end_child(child: &mut std::process::Child) {
    if matches!(child.try_wait(), Ok(None)) && is_ours(child, env!("CARGO_BIN_EXE_ssed")) {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// Starts the `ssed` binary on 127.0.0.1:0 with `flags` and a piped stdin,
/// and reads the address from its banner.
pub fn run_binary(flags: &[&str]) -> Running {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ssed"));
    command.args(["--addr", "127.0.0.1:0"]).args(flags);
    run_command(command)
}

/// Runs `command`, which must start `ssed` (perhaps through `sh -c 'exec …'`),
/// and reads the address from its banner.
pub fn run_command(mut command: std::process::Command) -> Running {
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ssed");
    let stderr = lines_of(child.stderr.take().expect("piped stderr"));
    // Lines before the banner (notes about a journal, say) are kept.
    let mut before_banner = Vec::new();
    let banner = loop {
        let line = stderr
            .recv_timeout(IO_TIMEOUT)
            .unwrap_or_else(|error| panic!("no banner: {error}; {before_banner:?}"));
        if line.contains("listening on") {
            break line;
        }
        before_banner.push(line);
    };
    // "ssed: listening on http://127.0.0.1:PORT: /sse (named pings), …"
    let addr = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split(": ").next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));
    for path in ["/sse", "/messages", "/events", "/ "] {
        assert!(banner.contains(path), "banner names {path}: {banner}");
    }
    Running { child, addr, banner, before_banner, stderr }
}
pub mod browser;
pub mod heads;
pub mod jwt;
pub mod mercure;
pub mod nginx;
pub mod redis_client;

/// One sample of the server's `/metrics`, e.g.
/// `metric(&server, "ssed_disconnects_total{reason=\"client_closed\"}")`.
pub fn metric(server: &TestServer, sample: &str) -> u64 {
    let text = exchange(server, &get("/metrics"));
    let prefix = format!("{sample} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no sample {sample} in {text}"))
}

/// Ends a child started with `process_group(0)` and everything it started
/// (nginx workers, Chromium renderers), by the group's id, then reaps it.
pub fn kill_process_group(child: &mut std::process::Child) {
    let group = format!("-{}", child.id());
    let _ = std::process::Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads `reader` until `count` frames have arrived (a frame is counted
/// when `frame_marker` appears); returns the text and each frame's arrival
/// time since `started`.
pub fn frame_arrivals(
    reader: &mut impl Read,
    frame_marker: &str,
    count: usize,
    started: Instant,
) -> (String, Vec<Duration>) {
    let mut seen = String::new();
    let mut arrivals = Vec::new();
    let mut chunk = [0u8; 4096];
    while arrivals.len() < count {
        let read = reader.read(&mut chunk).expect("read frames");
        assert!(read > 0, "ended after {} frames: {seen}", arrivals.len());
        seen.push_str(&String::from_utf8_lossy(&chunk[..read]));
        while arrivals.len() < seen.matches(frame_marker).count() {
            arrivals.push(started.elapsed());
        }
    }
    (seen, arrivals)
}
