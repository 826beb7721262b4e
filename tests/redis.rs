//! `--redis`: several ssed instances on one Redis stream, with a real
//! redis-server (and nginx as the load balancer) started by the tests on
//! free loopback ports. The link is the `redis` feature:
//! `cargo test --features redis` runs these (CI does).

#![cfg(feature = "redis")]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::redis_client::{self, Reply};
use support::{read_until, Running};

const TOKEN: &str = "redis-token";

/// A redis-server this test started, on a free port, in its own directory.
struct Redis {
    child: Child,
    program: String,
    port: u16,
    dir: PathBuf,
    args: Vec<String>,
}

impl Redis {
    /// `None` (after a SKIPPED line) where redis-server is not installed.
    fn start(name: &str, extra: &[&str]) -> Option<Redis> {
        let found = support::find_program("redis-server", "--version")?;
        // The full path, so that /proc/PID/exe can be compared with it.
        let program = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
            .map(|dir| dir.join(&found))
            .find(|candidate| candidate.is_file())
            .map_or(found, |path| path.to_string_lossy().into_owned());
        let dir = std::env::temp_dir().join(format!("ssed-redis-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("redis dir");
        let args: Vec<String> = extra.iter().map(|arg| (*arg).to_owned()).collect();
        // A port below the kernel's ephemeral range, which no outgoing
        // connection takes while we start redis-server; if another program
        // holds it, redis-server exits and the next port is tried.
        for attempt in 0..20u16 {
            let seed =
                name.bytes().fold(std::process::id(), |hash, byte| hash.wrapping_mul(31) ^ u32::from(byte));
            let port = 20_000 + ((seed as u16 % 5_000) * 2 + attempt * 997) % 12_000;
            let mut child = Redis::spawn(&program, port, &dir, &args);
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if !matches!(child.try_wait(), Ok(None)) {
                    break; // it could not bind: another port
                }
                let ours = match Redis::is_process(port, child.id()) {
                    Some(ours) => ours,
                    // A password hides INFO: ours if it still runs once
                    // another's would have made it give up the port.
                    None => {
                        std::thread::sleep(Duration::from_millis(100));
                        matches!(child.try_wait(), Ok(None))
                    }
                };
                if ours {
                    return Some(Redis { child, program, port, dir, args });
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            if matches!(child.try_wait(), Ok(None)) && support::is_ours(&child, &program) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        panic!("redis-server did not start on any of 20 ports");
    }

    /// Whether the Redis on `port` is process `pid` (`INFO server` says),
    /// not another test's that took the port first.
    /// `None`: it answers, but wants a password first.
    fn is_process(port: u16, pid: u32) -> Option<bool> {
        let Ok(mut socket) = TcpStream::connect(("127.0.0.1", port)) else { return Some(false) };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(1)));
        if socket.write_all(b"INFO server\r\n").is_err() {
            return Some(false);
        }
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        let needle = format!("process_id:{pid}\r\n");
        while let Ok(read @ 1..) = socket.read(&mut chunk) {
            answer.extend_from_slice(&chunk[..read]);
            let text = String::from_utf8_lossy(&answer);
            if text.starts_with("-NOAUTH") {
                return None;
            }
            if text.contains(&needle) {
                return Some(true);
            }
            if text.contains("process_id:") && text.contains("\r\n\r\n") {
                return Some(false);
            }
        }
        Some(false)
    }

    /// Whether a Redis answers PING on `port`.
    fn answers(port: u16) -> bool {
        TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut socket| {
            let _ = socket.set_read_timeout(Some(Duration::from_secs(1)));
            let mut answer = [0u8; 16];
            socket.write_all(b"PING\r\n").is_ok()
                && socket.read(&mut answer).is_ok_and(|read| read > 0 && matches!(answer[0], b'+' | b'-'))
        })
    }

    fn spawn(program: &str, port: u16, dir: &PathBuf, args: &[String]) -> Child {
        Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .arg("--dir")
            .arg(dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server")
    }

    fn wait_ready(&self) {
        support::eventually(Duration::from_secs(10), "redis-server answering", || Redis::answers(self.port));
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// kill -9, checking first that the PID is still our redis-server.
    fn kill(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) && support::is_ours(&self.child, &self.program) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and directory (its append-only file).
    fn restart(&mut self) {
        self.child = Redis::spawn(&self.program, self.port, &self.dir, &self.args);
        self.wait_ready();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ssed(redis_url: &str, extra: &[&str]) -> Running {
    let mut flags = vec!["--redis", redis_url, "--publish-token", TOKEN, "--interval", "200"];
    flags.extend_from_slice(extra);
    support::run_binary(&flags)
}

/// POSTs one event with this file's token (see [`support::publish`]).
fn publish(addr: SocketAddr, query: &str, data: &str) -> Result<String, String> {
    support::publish(addr, TOKEN, query, data)
}

/// A stream client: the `(id, data)` of each event, and `missed` seen.
struct Client {
    stream: TcpStream,
    text: String,
}

impl Client {
    fn open(addr: SocketAddr, target: &str, last_event_id: Option<&str>) -> Client {
        let mut stream = support::connect(addr);
        let header = last_event_id.map(|id| format!("Last-Event-ID: {id}\r\n")).unwrap_or_default();
        stream
            .write_all(format!("GET {target} HTTP/1.1\r\nHost: t\r\n{header}\r\n").as_bytes())
            .expect("send");
        let text = read_until(&mut stream, "retry: 3000\n\n", 1);
        Client { stream, text }
    }

    /// Reads until the event with `data` arrived; every event so far.
    fn until(&mut self, data: &str) -> Vec<(String, String)> {
        let needle = format!("data: {data}\n\n");
        if !self.text.contains(&needle) {
            self.text.push_str(&read_until(&mut self.stream, &needle, 1));
        }
        self.events()
    }

    fn events(&self) -> Vec<(String, String)> {
        self.text
            .split("\n\n")
            .filter_map(|block| {
                let id = block.lines().find_map(|line| line.strip_prefix("id: "))?;
                let data = block.lines().find_map(|line| line.strip_prefix("data: "))?;
                Some((id.to_owned(), data.to_owned()))
            })
            .collect()
    }

    fn missed(&self) -> bool {
        self.text.contains("event: missed")
    }
}

#[test]
fn two_instances_deliver_one_stream_with_the_same_ids_and_replay_from_redis() {
    let Some(redis) = Redis::start("two", &[]) else { return };
    let a = ssed(&redis.url(), &[]);
    // B keeps 3 events in memory: older ones come from Redis.
    let b = ssed(&redis.url(), &["--history", "3"]);
    let mut on_a = Client::open(a.addr, "/events?topic=room/a", None);
    let mut on_b = Client::open(b.addr, "/events?topic=room/a", None);
    wait_for_streams(&[a.addr, b.addr], 2);
    let ids: Vec<String> =
        (1..=5).map(|n| publish(a.addr, "?topic=room/a", &format!("e{n}")).expect("publish on A")).collect();
    let expected: Vec<(String, String)> =
        ids.iter().enumerate().map(|(n, id)| (id.clone(), format!("e{}", n + 1))).collect();
    assert_eq!(on_a.until("e5"), expected, "A's client");
    assert_eq!(on_b.until("e5"), expected, "B's client, same ids");
    // Replay on B from an id published on A that B's memory (e3, e4, e5)
    // does not reach back to: the events after it come from Redis.
    let replayed = Client::open(b.addr, "/events?topic=room/a", Some(&ids[1])).until_owned("e5");
    assert_eq!(replayed.0, expected[2..]);
    assert!(!replayed.1, "missed");
    // An id older than the stream's first entry gets the missed signal.
    let ancient = Client::open(b.addr, "/events?topic=room/a", Some("1-0")).until_owned("e5");
    assert!(ancient.1, "no missed for an id before the stream");
    let health = support::exchange_addr(b.addr, &support::get("/healthz"));
    assert!(health.ends_with("\nredis: reachable\n"), "{health}");
}

impl Client {
    fn until_owned(mut self, data: &str) -> (Vec<(String, String)>, bool) {
        let events = self.until(data);
        (events, self.missed())
    }
}

#[test]
fn a_redis_restart_loses_and_duplicates_nothing_acknowledged() {
    let Some(mut redis) = Redis::start("restart", &["--appendonly", "yes", "--appendfsync", "always"]) else {
        return;
    };
    let a = ssed(&redis.url(), &["--history", "5000"]);
    let b = ssed(&redis.url(), &["--history", "5000"]);
    let mut on_a = Client::open(a.addr, "/events", None);
    let mut on_b = Client::open(b.addr, "/events", None);
    wait_for_streams(&[a.addr, b.addr], 2);
    let addr = a.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let publisher = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let (mut acked, mut refused) = (Vec::new(), 0);
            for n in 0..100_000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                match publish(addr, "", &format!("p{n}")) {
                    Ok(id) => acked.push((id, format!("p{n}"))),
                    Err(answer) => {
                        // 504: the kill cut off the reply to an XADD sent.
                        assert!(
                            answer.starts_with("HTTP/1.1 503") || answer.starts_with("HTTP/1.1 504"),
                            "{answer}"
                        );
                        refused += 1;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
            (acked, refused)
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    redis.kill();
    std::thread::sleep(Duration::from_millis(700));
    redis.restart();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (acked, refused) = publisher.join().expect("publisher");
    assert!(refused > 0, "no publish was refused during the outage");
    let (_, last) = acked.last().expect("acknowledged events").clone();
    for (name, client) in [("A", &mut on_a), ("B", &mut on_b)] {
        let received = client.until(&last);
        // Every acknowledged event, in order, once. (An event Redis took
        // whose answer the kill cut off may be there too, unacknowledged.)
        let mut unique = received.clone();
        unique.dedup();
        assert_eq!(unique.len(), received.len(), "{name}: duplicates");
        let mut remaining = received.iter();
        for event in &acked {
            assert!(remaining.any(|seen| seen == event), "{name}: {event:?} missing or out of order");
        }
    }
    let metrics = support::exchange_addr(a.addr, &support::get("/metrics"));
    assert!(metrics.contains("\nssed_redis_up 1\n"), "{metrics}");
    assert!(!metrics.contains("\nssed_redis_reconnects_total 0\n"), "{metrics}");
    let logged = a.line_with("reachable again");
    assert!(logged.contains("resuming after the last event delivered"), "{logged}");
}

#[test]
fn a_client_of_a_killed_instance_gets_what_it_missed_from_the_other_through_nginx() {
    let Some(redis) = Redis::start("balanced", &[]) else { return };
    let Some(nginx_program) = support::find_program("nginx", "-v") else { return };
    let mut a = ssed(&redis.url(), &[]);
    let b = ssed(&redis.url(), &[]);
    let upstream = format!("upstream ssed {{ server {}; server {}; }}", a.addr, b.addr);
    let location = "location / {\n    proxy_pass http://ssed;\n}\n";
    let (_nginx, proxy) = support::nginx::start_nginx(&nginx_program, &upstream, location);
    // Find which instance the balancer sends this client to, and publish there.
    // Open means registered: the opening comes after the hub took the stream.
    let mut client = Client::open(proxy, "/events?topic=lb", None);
    let first = publish(a.addr, "?topic=lb", "before").expect("publish");
    assert_eq!(client.until("before"), [(first.clone(), "before".to_owned())]);
    // Kill A: whichever instance the client was on, A is gone; the next
    // connection through nginx can only land on B.
    support::signal(&a.child, "KILL");
    let _ = a.child.wait();
    let missed_1 = publish(b.addr, "?topic=lb", "while away 1").expect("publish on B");
    let missed_2 = publish(b.addr, "?topic=lb", "while away 2").expect("publish on B");
    let (events, missed) = Client::open(proxy, "/events?topic=lb", Some(&first)).until_owned("while away 2");
    assert!(!missed, "a missed signal");
    assert_eq!(events, [(missed_1, "while away 1".to_owned()), (missed_2, "while away 2".to_owned())]);
}

#[test]
fn bad_urls_wrong_passwords_dead_and_garbage_servers() {
    // A bad URL, or Redis and a journal: exit 2 with one line.
    let (status, stderr) = support::run_to_exit(&["--redis", "localhost:6379"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.starts_with("ssed: --redis: a Redis URL starts with redis://"), "{stderr}");
    let (status, stderr) = support::run_to_exit(&["--redis", "redis://127.0.0.1:1", "--journal", "/tmp/x"]);
    assert_eq!(status, Some(2), "{stderr}");

    // Nobody listening: ssed starts, says Redis is unreachable, refuses publishes.
    let dead = TcpListener::bind("127.0.0.1:0").expect("port");
    let dead_port = dead.local_addr().expect("addr").port();
    drop(dead);
    let server = ssed(&format!("redis://127.0.0.1:{dead_port}"), &[]);
    let answer = publish(server.addr, "", "x").expect_err("refused");
    assert!(answer.starts_with("HTTP/1.1 503 ") && answer.contains("Retry-After"), "{answer}");
    support::eventually(Duration::from_secs(5), "healthz says unreachable", || {
        support::exchange_addr(server.addr, &support::get("/healthz")).ends_with("\nredis: unreachable\n")
    });

    // A server that answers garbage: refused publishes, nothing else breaks.
    let garbage = TcpListener::bind("127.0.0.1:0").expect("port");
    let garbage_addr = garbage.local_addr().expect("addr");
    std::thread::spawn(move || {
        for socket in garbage.incoming().take(50) {
            let Ok(mut socket) = socket else { continue };
            let _ = socket.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\n\r\n$99999999999\r\n");
        }
    });
    let confused = ssed(&format!("redis://{garbage_addr}"), &[]);
    let answer = publish(confused.addr, "", "x").expect_err("refused");
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    let health = support::exchange_addr(confused.addr, &support::get("/healthz"));
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    // A wrong password: exit 1 at start, and the password is never printed.
    let Some(redis) = Redis::start("auth", &["--requirepass", "right-one"]) else { return };
    let url = format!("redis://:wrong-one@127.0.0.1:{}", redis.port);
    let (status, stderr) = support::run_to_exit(&["--redis", &url]);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains("AUTH refused"), "{stderr}");
    assert!(!stderr.contains("wrong-one"), "the password was printed: {stderr}");
    let url = format!("redis://:right-one@127.0.0.1:{}", redis.port);
    let server = ssed(&url, &[]);
    publish(server.addr, "", "with the right password").expect("publish");
}

// ---------------------------------------------------------------------------
// Issue 18: the Redis link under outages, large and foreign entries, slow
// and hostile servers. Each test fails on a226c5a.
// ---------------------------------------------------------------------------

impl Redis {
    /// Sends `signal` (`STOP`, `CONT`) to this redis-server, checking first
    /// that its PID is still ours.
    fn signal(&mut self, signal: &str) {
        assert!(matches!(self.child.try_wait(), Ok(None)), "redis-server exited");
        assert!(
            support::is_ours(&self.child, &self.program),
            "PID {} is not our redis-server",
            self.child.id()
        );
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal}");
    }

    /// Runs commands straight on Redis, pipelined; their replies.
    fn commands(&self, commands: &[Vec<Vec<u8>>]) -> Vec<Reply> {
        let socket = support::connect(SocketAddr::from(([127, 0, 0, 1], self.port)));
        socket.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        redis_client::call(socket, commands)
    }

    fn command(&self, arguments: &[&[u8]]) -> Reply {
        let command = arguments.iter().map(|argument| argument.to_vec()).collect();
        self.commands(&[command]).remove(0)
    }

    /// Every `data` field in the stream `ssed`, oldest first.
    fn stream_data(&self) -> Vec<String> {
        let Reply::Array(Some(entries)) = self.command(&[b"XRANGE", b"ssed", b"-", b"+"]) else {
            return Vec::new();
        };
        let mut data = Vec::new();
        for entry in entries {
            let Reply::Array(Some(parts)) = entry else { continue };
            let Some(Reply::Array(Some(fields))) = parts.get(1) else { continue };
            for pair in fields.chunks(2) {
                if let [Reply::Bulk(Some(name)), Reply::Bulk(Some(value))] = pair {
                    if name == b"data" {
                        data.push(String::from_utf8_lossy(value).into_owned());
                    }
                }
            }
        }
        data
    }
}

/// One sample of a running binary's `/metrics`.
/// Polls until the servers at `addrs` hold `count` streams between them.
fn wait_for_streams(addrs: &[SocketAddr], count: u64) {
    support::eventually(Duration::from_secs(5), "the streams registered", || {
        addrs.iter().map(|&addr| metric_of(addr, "ssed_streams_live")).sum::<u64>() == count
    });
}

fn metric_of(addr: SocketAddr, sample: &str) -> u64 {
    let text = support::exchange_addr(addr, &support::get("/metrics"));
    let prefix = format!("{sample} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no sample {sample} in {text}"))
}

fn health_of(addr: SocketAddr) -> String {
    support::exchange_addr(addr, &support::get("/healthz"))
}

/// What a stream said, in order: events and `missed` signals.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Said {
    Event(String, String),
    Missed,
}

fn said(text: &str) -> Vec<Said> {
    text.split("\n\n")
        .filter_map(|block| {
            if block.lines().any(|line| line == "event: missed") {
                return Some(Said::Missed);
            }
            let id = block.lines().find_map(|line| line.strip_prefix("id: "))?;
            let data = block.lines().find_map(|line| line.strip_prefix("data: "))?;
            Some(Said::Event(id.to_owned(), data.to_owned()))
        })
        .collect()
}

/// Every acknowledged `(id, data)` was received, or a `missed` came in its
/// place: between the events received before and after it.
fn assert_each_received_or_missed(acked: &[(String, String)], received: &[Said]) {
    let id_of = |text: &str| ssed::EventId::parse(text).unwrap_or_else(|| panic!("an id: {text}"));
    for (id, data) in acked {
        let wanted = id_of(id);
        if received.contains(&Said::Event(id.clone(), data.clone())) {
            continue;
        }
        // Where it would have been: after every received event older than it.
        let place = received
            .iter()
            .rposition(|item| matches!(item, Said::Event(other, _) if id_of(other) < wanted))
            .map_or(0, |at| at + 1);
        let next_event = received[place..]
            .iter()
            .position(|item| matches!(item, Said::Event(..)))
            .map_or(received.len(), |offset| place + offset);
        assert!(
            received[place..next_event].contains(&Said::Missed),
            "{id} {data:?} neither received nor told missed; received around it: {:?}",
            &received[place.saturating_sub(2)..(next_event + 2).min(received.len())]
        );
    }
}

/// Publishes `data`, again after a 503 (nothing was published) up to 20
/// times, as a careful publisher does; its id.
fn publish_retrying_refusals(addr: SocketAddr, data: &str) -> String {
    for _ in 0..20 {
        match publish(addr, "", data) {
            Ok(id) => return id,
            Err(answer) if answer.starts_with("HTTP/1.1 503") => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(answer) => panic!("{answer}"),
        }
    }
    panic!("{data:?} refused 20 times")
}

#[test]
fn entries_trimmed_while_the_reader_backs_off_are_told_missed_never_silently_lost() {
    let Some(mut redis) = Redis::start("trimmed", &["--appendonly", "yes", "--appendfsync", "always"]) else {
        return;
    };
    // A publishes and trims the stream to about 50 entries; B's client
    // watches, with room in memory for everything.
    let a = ssed(&redis.url(), &["--history", "50"]);
    let b = ssed(&redis.url(), &["--history", "5000"]);
    let mut client = Client::open(b.addr, "/events", None);
    let mut acked = Vec::new();
    for n in 0..20 {
        acked.push((publish(a.addr, "", &format!("before {n}")).expect("publish"), format!("before {n}")));
    }
    client.until("before 19");
    // Killed while publishing: some publishes fail, none is lied about.
    let addr = a.addr;
    let publishing = std::thread::spawn(move || {
        let mut acked = Vec::new();
        for n in 0..400 {
            if let Ok(id) = publish(addr, "", &format!("during {n}")) {
                acked.push((id, format!("during {n}")));
            }
        }
        acked
    });
    std::thread::sleep(Duration::from_millis(30));
    redis.kill();
    acked.extend(publishing.join().expect("publisher"));
    // B's reader fails at 0, 0.1, 0.3, 0.7, 1.5 and 3.1 s, then sleeps 3.2 s.
    support::eventually(Duration::from_secs(15), "B's reader backing off", || {
        metric_of(b.addr, "ssed_redis_reconnects_total") >= 6
    });
    redis.restart();
    for n in 0..400 {
        let data = format!("after {n}");
        acked.push((publish_retrying_refusals(a.addr, &data), data));
    }
    assert_eq!(metric_of(b.addr, "ssed_redis_up"), 0, "B's reader came back before the publishes ended");
    let (last_id, last) = acked.last().expect("acked").clone();
    let text = {
        client.until(&last);
        client.text.clone()
    };
    let received = said(&text);
    assert!(received.contains(&Said::Event(last_id, last)));
    assert!(received.contains(&Said::Missed), "the trim went unsaid");
    assert_each_received_or_missed(&acked, &received);
    let logged = b.line_with("were trimmed from ssed before this server read them");
    assert!(logged.contains("every stream is told `missed`"), "{logged}");
    // A client that comes back with an id from before the gap is told too.
    let before_gap = &acked[19].0;
    let (_, missed) = Client::open(b.addr, "/events", Some(before_gap)).until_owned("after 399");
    assert!(missed, "a replay across the gap without missed");
}

/// CPU seconds (user + system) a process has used, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command's closing parenthesis; utime and stime are
    // the 14th and 15th fields of the line.
    let after = stat.rsplit_once(')').expect("stat line").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

/// Resident memory of a process in KiB, from /proc/PID/status.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_new_instance_on_a_stream_of_large_events_delivers_in_bounded_time() {
    let Some(redis) = Redis::start("large", &[]) else { return };
    // 1,024 entries of 60 KB, under the default --max-event-bytes of 64 KiB.
    let big = "x".repeat(60_000);
    let commands: Vec<Vec<Vec<u8>>> = (0..1024)
        .map(|n| {
            let data = format!("{n:04}{big}");
            [
                b"XADD".to_vec(),
                b"ssed".to_vec(),
                b"*".to_vec(),
                b"topic".to_vec(),
                b"default".to_vec(),
                b"data".to_vec(),
                data.into_bytes(),
            ]
            .to_vec()
        })
        .collect();
    for chunk in commands.chunks(128) {
        redis.commands(chunk);
    }
    let started = std::time::Instant::now();
    let server = ssed(&redis.url(), &[]);
    let mut client = Client::open(server.addr, "/events", None);
    publish(server.addr, "", "small").expect("publish");
    // The stream gets what the reader delivers (the 1,024 entries as it
    // fills its history, then the small one): read it all, keep the tail.
    let (mut tail, mut chunk, mut bytes) = (Vec::new(), vec![0u8; 64 * 1024], 0);
    while !String::from_utf8_lossy(&tail).contains("data: small\n\n") {
        assert!(started.elapsed() < Duration::from_secs(15), "not delivered in 15 s; {bytes} bytes read");
        let read = client.stream.read(&mut chunk).expect("the stream goes on");
        assert!(read > 0, "the stream ended after {bytes} bytes");
        bytes += read;
        tail.extend_from_slice(&chunk[..read]);
        tail.drain(..tail.len().saturating_sub(64));
    }
    let cpu = cpu_seconds(server.child.id());
    assert!(cpu < 8.0, "{cpu} s of CPU to read 60 MB");
    let health = health_of(server.addr);
    assert!(health.ends_with("redis: reachable\n"), "{health}");
    eprintln!("caught up in {:?} with {cpu} s of CPU", started.elapsed());
}

/// A fake Redis on a free port: `answer` runs on a thread of its own for
/// each connection (at most 200).
fn fake_redis(answer: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("port");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for socket in listener.incoming().take(200) {
            let Ok(socket) = socket else { continue };
            std::thread::spawn(move || answer(socket));
        }
    });
    addr
}

#[test]
fn a_redis_that_sends_an_endless_line_costs_bounded_memory_and_cpu() {
    // Each connection: "+" and then "a" without end, for 8 s at most.
    let addr = fake_redis(|mut socket| {
        let _ = socket.set_write_timeout(Some(Duration::from_secs(2)));
        let started = std::time::Instant::now();
        let chunk = [b'a'; 64 * 1024];
        let mut sent = socket.write_all(b"+");
        while sent.is_ok() && started.elapsed() < Duration::from_secs(8) {
            sent = socket.write_all(&chunk);
        }
    });
    let server = ssed(&format!("redis://{addr}"), &[]);
    let cpu_at_start = cpu_seconds(server.child.id());
    let answer = publish(server.addr, "", "x").expect_err("refused");
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    std::thread::sleep(Duration::from_secs(4));
    let cpu = cpu_seconds(server.child.id()) - cpu_at_start;
    let rss = rss_kib(server.child.id());
    assert!(cpu < 1.0, "{cpu} s of CPU in 4 s on an endless line");
    assert!(rss < 48 * 1024, "{rss} KiB resident");
    let logged = server.line_with("redis");
    assert!(logged.contains("reply line over the limit"), "{logged}");
    let health = health_of(server.addr);
    assert!(health.ends_with("redis: unreachable\n"), "{health}");
}

#[test]
fn publishes_while_redis_is_stopped_are_answered_in_time_and_never_falsely_refused() {
    let Some(mut redis) = Redis::start("stopped", &[]) else { return };
    let server = ssed(&redis.url(), &[]);
    publish(server.addr, "", "warm").expect("publish");
    redis.signal("STOP");
    let started = std::time::Instant::now();
    let addr = server.addr;
    let publishers: Vec<_> = (0..8)
        .map(|n| {
            std::thread::spawn(move || {
                let data = format!("stopped {n}");
                let answer = publish(addr, "", &data);
                (data, answer, started.elapsed())
            })
        })
        .collect();
    let answers: Vec<_> =
        publishers.into_iter().map(|publisher| publisher.join().expect("publisher")).collect();
    redis.signal("CONT");
    for (data, answer, took) in &answers {
        // One link timeout (2 s) from arrival, and a margin for a loaded machine.
        assert!(*took < Duration::from_millis(4500), "{data}: answered after {took:?}");
        let answer = answer.as_ref().expect_err("Redis is stopped");
        assert!(
            answer.starts_with("HTTP/1.1 503 ")
                || (answer.starts_with("HTTP/1.1 504 ")
                    && answer.contains("outcome unknown, a retry may duplicate")),
            "{answer}"
        );
    }
    assert!(
        answers
            .iter()
            .any(|(_, answer, _)| answer.as_ref().is_err_and(|text| text.starts_with("HTTP/1.1 504 "))),
        "no XADD was sent while Redis was stopped"
    );
    // What Redis runs once it goes on: never an event answered 503.
    std::thread::sleep(Duration::from_millis(500));
    let in_stream = redis.stream_data();
    for (data, answer, _) in &answers {
        if answer.as_ref().is_err_and(|text| text.starts_with("HTTP/1.1 503 ")) {
            assert!(!in_stream.contains(data), "{data} was answered 503 and published: {in_stream:?}");
        }
    }
    let metrics = support::exchange_addr(server.addr, &support::get("/metrics"));
    assert!(!metrics.contains("ssed_error_answers_total{status=\"504\"} 0\n"), "{metrics}");
}

#[test]
fn entries_over_max_event_bytes_are_skipped_logged_once_and_counted() {
    let Some(redis) = Redis::start("oversized", &[]) else { return };
    let server = ssed(&redis.url(), &["--max-event-bytes", "65536"]);
    let mut client = Client::open(server.addr, "/events", None);
    support::eventually(Duration::from_secs(5), "the reader up", || {
        metric_of(server.addr, "ssed_redis_up") == 1
    });
    // Another program writes two entries of 2 MiB, then a small one.
    let big = "y".repeat(2 << 20);
    let xadd = |data: &str| -> Vec<Vec<u8>> {
        [&b"XADD"[..], b"ssed", b"*", b"topic", b"default", b"data", data.as_bytes()]
            .iter()
            .map(|part| part.to_vec())
            .collect()
    };
    redis.commands(&[xadd(&big), xadd(&big), xadd("small")]);
    let events = client.until("small");
    assert_eq!(events.iter().map(|(_, data)| data.as_str()).collect::<Vec<_>>(), ["small"]);
    assert_eq!(metric_of(server.addr, "ssed_redis_entries_skipped_total"), 2);
    let logged = server.line_with("skipped");
    assert!(logged.contains("over --max-event-bytes 65536"), "{logged}");
    // A new instance skips them as it fills its history, and says so once.
    let fresh = ssed(&redis.url(), &["--max-event-bytes", "65536"]);
    support::eventually(Duration::from_secs(5), "the fill done", || {
        metric_of(fresh.addr, "ssed_redis_entries_skipped_total") == 2
    });
    let (events, _) = Client::open(fresh.addr, "/events", Some("0-1")).until_owned("small");
    assert_eq!(events.iter().map(|(_, data)| data.as_str()).collect::<Vec<_>>(), ["small"]);
    assert!(rss_kib(fresh.child.id()) < 32 * 1024, "the skipped entries were kept");
    std::thread::sleep(Duration::from_millis(300));
    let more: Vec<String> = server.stderr.try_iter().filter(|line| line.contains("skipped")).collect();
    assert!(more.is_empty(), "logged more than once: {more:?}");
}

#[test]
fn a_last_event_id_from_the_future_gets_the_same_answer_with_and_without_redis() {
    let Some(redis) = Redis::start("future", &[]) else { return };
    let with_redis = ssed(&redis.url(), &[]);
    let alone = support::run_binary(&["--publish-token", TOKEN, "--interval", "200"]);
    for server in [&with_redis, &alone] {
        let first = publish(server.addr, "", "e1").expect("publish");
        let mut client = Client::open(server.addr, "/events", Some("99999999999999-0"));
        let replayed = client.until("e1");
        assert_eq!(replayed, [(first, "e1".to_owned())]);
        let live = publish(server.addr, "", "e2").expect("publish");
        let events = client.until("e2");
        assert_eq!(events.last(), Some(&(live, "e2".to_owned())));
        assert!(client.missed(), "no missed for an id never given: {}", client.text);
    }
}

#[test]
fn healthz_says_unreachable_while_redis_accepts_and_never_answers() {
    // Each connection is held open and never answered.
    let addr = fake_redis(|socket| {
        std::thread::sleep(Duration::from_secs(20));
        drop(socket);
    });
    let server = ssed(&format!("redis://{addr}"), &[]);
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        let health = health_of(server.addr);
        assert!(health.ends_with("redis: unreachable\n"), "{health}");
        assert_eq!(metric_of(server.addr, "ssed_redis_up"), 0);
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_key_that_is_not_a_stream_costs_few_reconnects_and_one_log_line() {
    let Some(redis) = Redis::start("wrongtype", &[]) else { return };
    redis.command(&[b"SET", b"ssed", b"a string"]);
    let server = ssed(&redis.url(), &[]);
    let answer = publish(server.addr, "", "x").expect_err("refused");
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    std::thread::sleep(Duration::from_secs(6));
    let reconnects = metric_of(server.addr, "ssed_redis_reconnects_total");
    assert!(reconnects <= 8, "{reconnects} reconnects in 6 s");
    // The reader may log before the start line does: both count.
    let lines: Vec<String> = (server.before_banner.iter().cloned())
        .chain(server.stderr.try_iter())
        .filter(|line| line.contains("redis") && !line.contains("listening on"))
        .collect();
    assert!(lines.len() <= 2, "{} lines: {lines:?}", lines.len());
    assert!(lines.iter().any(|line| line.contains("WRONGTYPE")), "the cause unnamed: {lines:?}");
    let health = health_of(server.addr);
    assert!(health.ends_with("redis: unreachable\n"), "{health}");
}

#[test]
fn a_url_without_the_password_redis_requires_stops_the_start_with_one_line() {
    let Some(redis) = Redis::start("noauth", &["--requirepass", "s3cret"]) else { return };
    let (status, stderr) = support::run_to_exit(&["--redis", &redis.url()]);
    assert_eq!(status, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("requires a password and the URL has none"), "{stderr}");
    // Later, a password that stops working: one line for the outage, naming it.
    let url = format!("redis://:s3cret@127.0.0.1:{}", redis.port);
    let server = ssed(&url, &[]);
    support::eventually(Duration::from_secs(5), "the reader up", || {
        metric_of(server.addr, "ssed_redis_up") == 1
    });
    let auth: [&[u8]; 2] = [b"AUTH", b"s3cret"];
    let mut socket = support::connect(SocketAddr::from(([127, 0, 0, 1], redis.port)));
    let mut commands = Vec::new();
    for command in [
        &auth[..],
        &[b"CONFIG", b"SET", b"requirepass", b"changed"],
        &[b"CLIENT", b"KILL", b"TYPE", b"normal", b"SKIPME", b"yes"],
    ] {
        redis_client::encode_command(command, &mut commands);
    }
    socket.write_all(&commands).expect("send");
    let logged = server.line_with("WRONGPASS");
    assert!(logged.contains("failing"), "{logged}");
    std::thread::sleep(Duration::from_secs(3));
    let more: Vec<String> = server.stderr.try_iter().filter(|line| line.contains("redis")).collect();
    assert!(more.is_empty(), "more lines for one outage: {more:?}");
}

#[test]
fn private_events_through_redis_reach_only_the_streams_that_may_read_them_on_every_instance() {
    if !support::jwt::signer_available() {
        return;
    }
    let Some(redis) = Redis::start("private", &[]) else { return };
    let key = b"0123456789abcdef0123456789abcdef-redis-key";
    let key_file = std::env::temp_dir().join(format!("ssed-redis-key-{}", std::process::id()));
    std::fs::write(&key_file, key).expect("write the key file");
    let key_flag = format!("--jwt-key-file={}", key_file.display());
    let a = ssed(&redis.url(), &[&key_flag]);
    let b = ssed(&redis.url(), &[&key_flag]);
    let token = support::jwt::sign(r#"{"mercure":{"subscribe":["users/{id}"]}}"#, key);
    let mut allowed = Client::open(b.addr, &format!("/events?topic=users/42&authorization={token}"), None);
    let mut anonymous = Client::open(b.addr, "/events?topic=users/42", None);
    support::eventually(Duration::from_secs(5), "both streams on B", || {
        metric_of(b.addr, "ssed_streams_live") == 2
    });
    let secret = publish(a.addr, "?topic=users/42&private", "secret").expect("publish on A");
    publish(a.addr, "?topic=users/42", "public").expect("publish on A");
    let seen = allowed.until("public");
    assert_eq!(seen.iter().map(|(_, data)| data.as_str()).collect::<Vec<_>>(), ["secret", "public"]);
    let seen = anonymous.until("public");
    assert_eq!(seen.iter().map(|(_, data)| data.as_str()).collect::<Vec<_>>(), ["public"]);
    // A third instance, started after: its replay comes from Redis and
    // keeps the private rule.
    let c = ssed(&redis.url(), &[&key_flag]);
    // An id just before the secret's: its time less one millisecond.
    let secret_ms: u64 = secret.split('-').next().and_then(|ms| ms.parse().ok()).expect("a Redis id");
    let before = secret_ms - 1;
    let replayed = Client::open(
        c.addr,
        &format!("/events?topic=users/42&authorization={token}"),
        Some(&format!("{before}-0")),
    )
    .until_owned("public");
    assert_eq!(replayed.0.iter().map(|(_, data)| data.as_str()).collect::<Vec<_>>(), ["secret", "public"]);
    let replayed =
        Client::open(c.addr, "/events?topic=users/42", Some(&format!("{before}-0"))).until_owned("public");
    assert_eq!(replayed.0.iter().map(|(_, data)| data.as_str()).collect::<Vec<_>>(), ["public"]);
    let _ = std::fs::remove_file(&key_file);
}

#[test]
fn mercure_updates_published_on_one_instance_replay_exactly_on_another() {
    use support::mercure::{form, publish, subscriber, target, Block, Stream, KEY};
    if !support::jwt::signer_available() {
        return;
    }
    let Some(redis) = Redis::start("mercure", &[]) else { return };
    let key_file = std::env::temp_dir().join(format!("ssed-redis-mercure-key-{}", std::process::id()));
    std::fs::write(&key_file, KEY).expect("write the key file");
    let key_flag = format!("--jwt-key-file={}", key_file.display());
    let a = ssed(&redis.url(), &[&key_flag]);
    let b = ssed(&redis.url(), &[&key_flag]);
    let reader = format!("Authorization: Bearer {}\r\n", subscriber(r#""*""#));
    let mut on_a = Stream::open(a.addr, &target(&["*"], ""), &reader);
    let mut on_b = Stream::open(b.addr, &target(&["*"], ""), &reader);
    wait_for_streams(&[a.addr, b.addr], 2);
    let updates = [
        form(&[("topic", "urn:first"), ("id", "first"), ("data", "start")]),
        form(&[
            ("topic", "https://example.com/books/1"),
            ("topic", "urn:alt:a"),
            ("id", "book-1"),
            ("type", "book.updated"),
            ("retry", "7000"),
            ("data", "two\r\nlines"),
            ("private", "on"),
        ]),
        form(&[("topic", "urn:alt:a"), ("data", "made id")]),
        form(&[("topic", "urn:other"), ("id", "book-1"), ("data", "duplicate id")]),
    ];
    for body in &updates {
        publish(a.addr, body);
    }
    let seen_on_a: Vec<Block> = (0..updates.len()).map(|_| on_a.next()).collect();
    let seen_on_b: Vec<Block> = (0..updates.len()).map(|_| on_b.next()).collect();
    assert_eq!(seen_on_a[1].0, "retry: 7000\nid: book-1\nevent: book.updated\ndata: two\ndata: lines");
    assert!(seen_on_a[2].id().starts_with("urn:uuid:"), "{:?}", seen_on_a[2]);
    assert_eq!(seen_on_b, seen_on_a, "live on the other instance");
    // A third instance, started after, replays from Redis by the publisher's id.
    let c = ssed(&redis.url(), &[&key_flag]);
    // Its reader fills its memory from Redis just after it starts.
    support::eventually(Duration::from_secs(5), "C's memory filled from Redis", || {
        let probe = Stream::open(c.addr, &target(&["*"], ""), &format!("{reader}Last-Event-ID: first\r\n"));
        probe.header("last-event-id") == Some("first")
    });
    let mut replay = Stream::open(c.addr, &target(&["*"], ""), &format!("{reader}Last-Event-ID: first\r\n"));
    assert_eq!(replay.header("last-event-id"), Some("first"));
    let replayed: Vec<Block> = (1..updates.len()).map(|_| replay.next()).collect();
    assert_eq!(replayed, seen_on_a[1..]);
    let mut alternate = Stream::open(c.addr, &target(&["urn:alt:a"], "&lastEventID=earliest"), &reader);
    assert_eq!([alternate.next(), alternate.next()], [seen_on_a[1].clone(), seen_on_a[2].clone()]);
    let mut anonymous = Stream::open(c.addr, &target(&["*"], "&lastEventID=earliest"), "");
    let public: Vec<Block> = (0..3).map(|_| anonymous.next()).collect();
    assert_eq!(public, [seen_on_a[0].clone(), seen_on_a[2].clone(), seen_on_a[3].clone()]);
    let _ = std::fs::remove_file(&key_file);
}
