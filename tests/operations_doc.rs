//! docs/operations.md says what the server does; these tests hold the page
//! to what the real binary does, so that it cannot drift from the code.
//!
//! The metric table: every name (and every label value) `/metrics` emits
//! has its row, and every row is emitted, in the default build and, with
//! the `redis` feature, by a server started with `--redis`.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use support::{exchange_addr, get, run_binary, status_of};

const OPERATIONS: &str = include_str!("../docs/operations.md");

/// A row of the metric table: its metric names and its whole text.
struct Row {
    names: Vec<String>,
    text: String,
}

impl Row {
    fn redis_only(&self) -> bool {
        self.text.contains("(`--redis` only)")
    }
}

/// The rows of the table under "## Metrics".
fn metric_table() -> Vec<Row> {
    let section = OPERATIONS.split("\n## Metrics\n").nth(1).expect("a Metrics section");
    let section = section.split("\n## ").next().expect("section text");
    let rows: Vec<Row> = section
        .lines()
        .filter(|line| line.starts_with("| `ssed_"))
        .map(|line| {
            let first_cell = line.split('|').nth(1).expect("first cell");
            let names = first_cell
                .split('`')
                .skip(1)
                .step_by(2)
                .map(|name| name.split('{').next().expect("name").to_owned())
                .collect();
            Row { names, text: line.to_owned() }
        })
        .collect();
    assert!(rows.len() >= 10, "metric table rows: {}", rows.len());
    rows
}

/// What `/metrics` emits: each family's name, with the label values of its
/// samples (`reason="full"` gives `full`).
fn emitted(addr: std::net::SocketAddr) -> BTreeMap<String, BTreeSet<String>> {
    let answer = exchange_addr(addr, &get("/metrics"));
    assert_eq!(status_of(&answer), 200, "{answer}");
    let body = answer.split_once("\r\n\r\n").expect("a body").1;
    let mut families: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().expect("a name");
            families.entry(name.to_owned()).or_default();
        } else if !line.starts_with('#') && !line.is_empty() {
            let sample = line.split(' ').next().expect("a sample");
            let (name, labels) = sample.split_once('{').unwrap_or((sample, ""));
            let values = families.get_mut(name).unwrap_or_else(|| panic!("sample without # TYPE: {line}"));
            for label in labels.trim_end_matches('}').split(',').filter(|label| !label.is_empty()) {
                let value = label.split_once('=').expect("label=value").1.trim_matches('"');
                values.insert(value.to_owned());
            }
        }
    }
    families
}

/// Every emitted family has a row that lists its label values; every row
/// that should be emitted (`redis_rows`: also those marked `--redis` only)
/// is.
fn check_table_against(families: &BTreeMap<String, BTreeSet<String>>, redis_rows: bool) {
    let rows = metric_table();
    let row_of = |name: &str| rows.iter().find(|row| row.names.iter().any(|named| named == name));
    for (name, values) in families {
        let row =
            row_of(name).unwrap_or_else(|| panic!("/metrics emits {name}; docs/operations.md has no row"));
        for value in values {
            assert!(
                row.text.contains(&format!("`{value}`")),
                "{name} emits {value:?}; its row does not name it"
            );
        }
        assert!(redis_rows || !row.redis_only(), "{name} is emitted without --redis but marked --redis only");
    }
    for row in &rows {
        for name in &row.names {
            // The ceiling is left out only where no OS limit could be read
            // (no /proc): not on Linux.
            if name == "ssed_os_connection_ceiling" && std::fs::metadata("/proc/self/limits").is_err() {
                continue;
            }
            let expected = redis_rows || !row.redis_only();
            assert_eq!(
                families.contains_key(name),
                expected,
                "docs/operations.md lists {name}; emitted by this server: expected {expected}"
            );
        }
    }
}

#[test]
fn the_metric_table_lists_exactly_what_metrics_emits() {
    let server = run_binary(&[]);
    check_table_against(&emitted(server.addr), false);
}

/// With `--redis`, the two Redis rows are emitted too. Nothing listens on
/// port 1, so the Redis reader is down (`ssed_redis_up 0`) and keeps
/// trying; the names are what this test compares.
#[cfg(feature = "redis")]
#[test]
fn with_redis_the_metric_table_lists_exactly_what_metrics_emits() {
    let server = run_binary(&["--redis", "redis://127.0.0.1:1"]);
    let families = emitted(server.addr);
    assert!(families.contains_key("ssed_redis_up"), "{families:?}");
    check_table_against(&families, true);
}

/// The requests of the table in "What a full server answers", but streams.
fn short_requests() -> [(&'static str, Vec<u8>); 6] {
    let publish =
        "POST /publish HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer t0ken\r\nContent-Length: 2\r\n\r\nhi";
    [
        ("POST /publish", publish.as_bytes().to_vec()),
        ("GET /metrics", get("/metrics")),
        ("GET /healthz", get("/healthz")),
        ("GET /", get("/")),
        ("HEAD /sse", b"HEAD /sse HTTP/1.1\r\nHost: t\r\n\r\n".to_vec()),
        ("OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n".to_vec()),
    ]
}

/// `request`'s answer, asked again while the answer is the other row's
/// (every connection place in use): the connections of the requests
/// before it hold their places through their lingering close, which on a
/// loaded machine can outlast the client's read of the answer. A refusal
/// published nothing, so asking again is safe; bounded by 5 s.
fn answer_once_a_connection_place_is_free(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let started = std::time::Instant::now();
    loop {
        let answer = exchange_addr(addr, request);
        let connections_full = status_of(&answer) == 503 && answer.contains("connections in use");
        if !connections_full || started.elapsed() > std::time::Duration::from_secs(5) {
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A connection that has sent part of a request head: it holds a
/// connection place until `--head-timeout`.
fn half_request(addr: std::net::SocketAddr) -> std::net::TcpStream {
    use std::io::Write;
    let mut socket = support::connect(addr);
    socket.write_all(b"GET /healthz HTTP/1.1\r\n").expect("send a part of a head");
    socket
}

#[test]
fn a_full_server_answers_as_operations_md_says() {
    let section = OPERATIONS.split("## What a full server answers").nth(1).expect("the section");
    for row in ["| the stream places |", "| the connection places too |", "`503` with `Retry-After`"] {
        assert!(section.contains(row), "the table has no {row:?}");
    }
    let server = run_binary(&[
        "--quiet",
        "--max-clients",
        "1",
        "--max-pending",
        "4",
        "--publish-token",
        "t0ken",
        "--head-timeout",
        "30000",
    ]);
    let addr = server.addr;
    let mut stream = support::connect(addr);
    std::io::Write::write_all(&mut stream, &get("/sse")).expect("send");
    support::read_until(&mut stream, "event: ping", 1);

    // Row "the stream places": a stream request gets the busy stream...
    let busy = exchange_addr(addr, &get("/events"));
    assert_eq!(status_of(&busy), 200, "{busy}");
    assert!(
        busy.ends_with(": ssed is busy (server full, 1 of 1 streams in use); retry in 3000 ms\n\n"),
        "{busy}"
    );
    // ...and everything else its answer: the publish is published.
    for (what, request) in short_requests() {
        let answer = answer_once_a_connection_place_is_free(addr, &request);
        let expected = if what.starts_with("OPTIONS") { 204 } else { 200 };
        assert_eq!(status_of(&answer), expected, "{what} with the stream places full: {answer}");
    }

    // Row "the connection places too": requests that never finish their
    // head take the --max-pending places, one more until a short request
    // is refused (a place an earlier request held frees within moments).
    let mut holders = Vec::new();
    support::eventually(std::time::Duration::from_secs(10), "the connection places full", || {
        holders.push(half_request(addr));
        status_of(&exchange_addr(addr, &get("/healthz"))) == 503
    });
    let busy = exchange_addr(addr, &get("/sse"));
    assert_eq!(status_of(&busy), 200, "{busy}");
    assert!(
        busy.ends_with(": ssed is busy (server full, 5 of 5 connections in use); retry in 3000 ms\n\n"),
        "{busy}"
    );
    for (what, request) in short_requests() {
        let answer = exchange_addr(addr, &request);
        assert_eq!(status_of(&answer), 503, "{what} with the connection places full: {answer}");
        assert!(answer.contains("\r\nRetry-After: 3\r\n"), "{what}: {answer}");
    }

    // Only the publish made while the pending places were free was published.
    drop(holders);
    let mut metrics = String::new();
    support::eventually(std::time::Duration::from_secs(10), "places free again", || {
        metrics = exchange_addr(addr, &get("/metrics"));
        status_of(&metrics) == 200
    });
    assert!(metrics.contains("\nssed_events_published_total 1\n"), "{metrics}");
}

#[test]
fn sigterm_ends_the_process_at_once_and_logs_nothing() {
    use std::os::unix::process::ExitStatusExt;
    let section = OPERATIONS.split("## Stopping and restarting").nth(1).expect("the section");
    assert!(section.contains("ends the process at once"), "the section says what SIGTERM does");

    let mut server = run_binary(&["--interval", "100"]);
    let mut stream = support::connect(server.addr);
    std::io::Write::write_all(&mut stream, &get("/sse")).expect("send");
    support::read_until(&mut stream, "event: ping", 1);
    server.line_with("-> 200 streaming");

    support::signal(&server.child, "TERM");
    let started = std::time::Instant::now();
    let status = loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "ssed still running 2 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert_eq!(status.signal(), Some(15), "ended by SIGTERM itself: {status:?}");
    // Nothing logged: stderr ends with no line after the stream's start.
    let after: Vec<String> = server.stderr.iter().collect();
    assert!(after.is_empty(), "logged after SIGTERM: {after:?}");
    // The client's stream ends (a browser then reconnects by itself).
    support::read_to_close(&mut stream);
}

/// A token signed with `key`, with these claims, valid for an hour.
fn token(key: &str, subscribe: &[&str], publish: &[&str]) -> String {
    let request = ssed::TokenRequest {
        subscribe: subscribe.iter().map(|selector| (*selector).to_owned()).collect(),
        publish: publish.iter().map(|selector| (*selector).to_owned()).collect(),
        ttl: Some(std::time::Duration::from_secs(3600)),
        auth: ssed::AuthOptions {
            key: Some(ssed::KeySource::Environment(ssed::Secret(key.to_owned()))),
            publisher_key: None,
            subscriber_key: None,
            previous_key: None,
            anonymous: true,
        },
    };
    ssed::mint_token(&request).expect("mint a token")
}

#[test]
fn the_log_never_holds_a_token_or_the_key() {
    let section = OPERATIONS.split("## Who may read what: the threat model").nth(1).expect("the section");
    assert!(section.contains("Never a token or a key"), "the section says what is logged");
    let key = "the-log-test-key-of-forty-eight-bytes-0123456789";
    let reader = token(key, &["users/42"], &[]);
    let publisher = token(key, &[], &["users/{id}"]);
    // The same token with its signature's last character changed.
    let forged = format!("{}{}", &reader[..reader.len() - 1], if reader.ends_with('A') { 'B' } else { 'A' });
    let mut command = std::process::Command::new(support::SSED);
    command.args(["--addr", "127.0.0.1:0"]).env("SSED_JWT_KEY", key);
    let server = support::run_command(command);
    let mut printed = vec![server.banner.clone()];
    printed.extend(server.before_banner.iter().cloned());

    let mut streams = Vec::new();
    for token in [&reader, &forged] {
        for (query, header) in [
            (String::new(), format!("Authorization: Bearer {token}\r\n")),
            (format!("&authorization={token}"), String::new()),
            (String::new(), format!("Cookie: theme=dark; mercureAuthorization={token}\r\n")),
        ] {
            let mut stream = support::connect(server.addr);
            let request = format!("GET /events?topic=users/42{query} HTTP/1.1\r\nHost: t\r\n{header}\r\n");
            std::io::Write::write_all(&mut stream, request.as_bytes()).expect("send");
            let answer = support::read_until(&mut stream, "\n", 1);
            let wanted = if token == &reader { "HTTP/1.1 200" } else { "HTTP/1.1 401" };
            assert!(answer.starts_with(wanted), "{query}{header}: {answer}");
            streams.push(stream);
        }
    }
    for topic in ["users/42&private", "admin/log"] {
        let answer = support::publish(server.addr, &publisher, &format!("?topic={topic}"), "hello");
        assert_eq!(answer.is_ok(), topic.starts_with("users/"), "{topic}: {answer:?}");
    }
    drop(streams);
    // Every request has its line once the publishes' and the streams' are there.
    let mut ends = 0;
    while ends < 3 + 2 {
        let line = server.stderr.recv_timeout(support::IO_TIMEOUT).expect("a log line");
        ends += usize::from(line.contains(" left after ") || line.contains("POST /publish ->"));
        printed.push(line);
    }
    let refusals = printed.iter().filter(|line| line.contains("-> 401 invalid token")).count();
    assert_eq!(refusals, 3, "{printed:#?}");
    for line in &printed {
        for secret in [key, &reader, &forged, &publisher] {
            // Any of a token's three parts, the signature above all.
            for part in secret.split('.') {
                assert!(!line.contains(part), "logged a secret: {line}");
            }
        }
    }

    // A key refused at start is named, never shown.
    let short_key = "a-key-of-twenty-six-bytes!";
    let refused = std::process::Command::new(support::SSED)
        .args(["--addr", "127.0.0.1:0"])
        .env("SSED_JWT_KEY", short_key)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ssed");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains("26 bytes") && !said.contains(short_key), "{said}");
}
