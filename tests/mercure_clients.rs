//! Mercure clients nobody here wrote, against the real `ssed` binary:
//! Symfony's Mercure component (Debian `php-symfony-mercure`, with PHP's
//! CLI) and PyPI's `mercure-publisher` (in a venv under `target/`) publish;
//! curl and real Chromium `EventSource` subscribe, same-origin with the
//! `mercureAuthorization` cookie and cross-origin with `withCredentials`
//! (rule 29). The client programs are in `tests/clients/`.
//!
//! `.ci/run` installs them all; on a developer machine a missing one makes
//! its test print one SKIPPED line naming what to install.

mod support;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::browser::Browser;
use support::jwt::signer_available;
use support::mercure::{form, publish, publisher, subscriber, target, Block, Stream, HUB, KEY};
use support::{run_command, wait_for_line, Running};

/// Starts the `ssed` binary with [`KEY`] in `SSED_JWT_KEY` and `flags`.
fn hub(flags: &[&str]) -> Running {
    let mut command = Command::new(support::SSED);
    command.args(["--addr", "127.0.0.1:0"]).args(flags).env("SSED_JWT_KEY", key_text());
    run_command(command)
}

fn key_text() -> &'static str {
    std::str::from_utf8(KEY).expect("a text key")
}

/// Says SKIPPED (one line, naming what to install) or, in CI, fails.
fn skipped(what: &str, install: &str) {
    assert!(std::env::var_os("CI").is_none(), "{what} is missing in CI; .ci/run should have installed it");
    let test = std::thread::current().name().unwrap_or("a Mercure client test").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {what} is not installed (install {install})");
}

/// Runs a client program to its end, 60 s at most; its stdout lines.
/// Panics when it fails, with what it wrote to stderr.
fn run_client(mut command: Command) -> Vec<String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start client");
    let started = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            // Our own child, not yet reaped: its PID is still its own.
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let _ = child.stdout.take().expect("piped").read_to_string(&mut stdout);
    let _ = child.stderr.take().expect("piped").read_to_string(&mut stderr);
    assert!(status.success(), "{command:?}: {status}\n{stdout}\n{stderr}");
    stdout.lines().map(str::to_owned).collect()
}

/// The hub's URL for a client on this machine.
fn hub_url(server: &Running) -> String {
    format!("http://127.0.0.1:{}{HUB}", server.addr.port())
}

/// Waits for `count` log lines of ssed that contain `needle`.
fn logged(server: &Running, needle: &str, count: usize) {
    for _ in 0..count {
        wait_for_line(&server.stderr, needle);
    }
}

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Where `.ci/run` makes the venv with `mercure-publisher`.
fn venv_python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/mercure-venv/bin/python")
}

/// A subscriber for all of example.com whose token reads `books/{id}`
/// (so the private updates), and an anonymous one for the public
/// topics and the marker.
fn two_readers(server: &Running) -> (Stream, Stream) {
    let token = subscriber(r#""https://example.com/books/{id}""#);
    let reader = Stream::open(
        server.addr,
        &target(&["https://example.com/{+any}"], ""),
        &format!("Authorization: Bearer {token}\r\n"),
    );
    let anonymous = Stream::open(server.addr, &target(&["https://example.com/{+any}", "urn:marker"], ""), "");
    (reader, anonymous)
}

fn is_urn_uuid(id: &str) -> bool {
    id.strip_prefix("urn:uuid:").is_some_and(|uuid| uuid.len() == 36)
}

#[test]
fn symfony_mercure_publishes_public_private_and_alternate_updates() {
    let php_has_mercure = Command::new("php")
        .args(["-r", r#"require "Symfony/Component/Mercure/autoload.php"; exit(class_exists("Symfony\\Component\\Mercure\\Hub") ? 0 : 1);"#])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !php_has_mercure {
        return skipped("PHP with Symfony's Mercure component", "php-cli php-symfony-mercure");
    }
    if !signer_available() {
        return;
    }
    let server = hub(&[]);
    let (mut reader, mut anonymous) = two_readers(&server);
    let mut command = Command::new("php");
    command
        .arg(clients_dir().join("symfony_publish.php"))
        .env("MERCURE_URL", hub_url(&server))
        .env("MERCURE_JWT", publisher(r#""https://example.com/{+any}""#));
    let ids = run_client(command);
    logged(&server, "POST /.well-known/mercure -> 200", 3);
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(is_urn_uuid(&ids[0]) && is_urn_uuid(&ids[1]), "{ids:?}");
    assert_eq!(ids[2], "symfony-id-3");
    let got: Vec<Block> = (0..3).map(|_| reader.next()).collect();
    assert_eq!(got[0].0, format!("id: {}\ndata: {{\"title\":\"public, from Symfony\"}}", ids[0]));
    assert_eq!(got[1].0, format!("id: {}\ndata: private, from Symfony\ndata: second line", ids[1]));
    assert_eq!(
        got[2].0,
        "retry: 2500\nid: symfony-id-3\nevent: book.updated\ndata: alternates, from Symfony"
    );
    // The anonymous reader: public ones only (the third through its
    // alternate as well as its canonical topic, once).
    publish(server.addr, &form(&[("topic", "urn:marker"), ("data", "m")]));
    assert_eq!(
        anonymous.data_until("m"),
        ["{\"title\":\"public, from Symfony\"}", "alternates, from Symfony", "m"]
    );
}

#[test]
fn pypi_mercure_publisher_publishes_with_id_type_retry_and_private() {
    let python = venv_python();
    let has_library = Command::new(&python)
        .args(["-c", "import mercure_publisher"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !has_library {
        return skipped(
            "PyPI's mercure-publisher in target/mercure-venv",
            "python3-venv, then: python3 -m venv target/mercure-venv && target/mercure-venv/bin/pip install mercure-publisher",
        );
    }
    if !signer_available() {
        return;
    }
    let server = hub(&[]);
    let (mut reader, mut anonymous) = two_readers(&server);
    let mut command = Command::new(&python);
    command
        .arg(clients_dir().join("mercure_publisher_publish.py"))
        .env("MERCURE_URL", hub_url(&server))
        .env("MERCURE_JWT_SECRET", key_text());
    let ids = run_client(command);
    logged(&server, "POST /.well-known/mercure -> 200", 4);
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_eq!(ids[0], "python-id-1");
    assert!(ids[1..].iter().all(|id| is_urn_uuid(id)), "{ids:?}");
    let got: Vec<Block> = (0..4).map(|_| reader.next()).collect();
    assert_eq!(
        got[0].0,
        "retry: 4000\nid: python-id-1\nevent: book.updated\ndata: {\"title\": \"public, from Python\"}"
    );
    assert_eq!(got[1].0, format!("id: {}\ndata: private, from Python", ids[1]));
    assert_eq!(got[2].0, format!("id: {}\ndata: alternates, from Python", ids[2]));
    assert_eq!(got[3].0, format!("id: {}\ndata: a b+c&d\ndata: e", ids[3]));
    publish(server.addr, &form(&[("topic", "urn:marker"), ("data", "m")]));
    assert_eq!(
        anonymous.data_until("m"),
        ["{\"title\": \"public, from Python\"}", "alternates, from Python", "a b+c&d\ne", "m"]
    );
}

#[test]
fn curl_n_subscribes_with_the_cookie_and_gets_private_and_public_updates() {
    if !support::have_program("curl", "--version") || !signer_available() {
        return;
    }
    let server = hub(&[]);
    let token = subscriber(r#""https://example.com/books/{id}""#);
    let url = format!("{}?topic={}", hub_url(&server), "https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D");
    let mut curl = Command::new("curl")
        .args([
            "-sN",
            "-i",
            "--max-time",
            "30",
            "--cookie",
            &format!("lang=fr; mercureAuthorization={token}"),
            &url,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start curl");
    let lines = support::lines_of(curl.stdout.take().expect("piped"));
    wait_for_line(&lines, "retry: 3000");
    logged(&server, "GET /.well-known/mercure -> 200 streaming", 1);
    let private = publish(server.addr, "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=private&private=on");
    let public = publish(server.addr, "topic=https%3A%2F%2Fexample.com%2Fbooks%2F2&data=public");
    let mut seen = Vec::new();
    while !seen.iter().any(|line| line == "data: public") {
        let line = lines.recv_timeout(Duration::from_secs(10)).expect("curl prints the next line");
        seen.push(line);
    }
    let events: Vec<&String> = seen.iter().filter(|line| !line.is_empty()).collect();
    let expected = [
        format!("id: {private}"),
        "data: private".to_owned(),
        format!("id: {public}"),
        "data: public".to_owned(),
    ];
    assert_eq!(events, expected.iter().collect::<Vec<_>>());
    // Our own child, not yet reaped: its PID is still curl's.
    let _ = curl.kill();
    let _ = curl.wait();
}

/// JavaScript that opens an `EventSource` on `url` (with `options`) and
/// keeps each message as `id data` in `window[name]`, typed ones as
/// `id type data`.
fn listen(name: &str, url: &str, options: &str) -> String {
    format!(
        r#"(() => {{
            const got = window.{name} = [];
            const source = new EventSource({url:?}, {options});
            source.onopen = () => {{ got.opened = true; }};
            source.onmessage = (e) => got.push(e.lastEventId + " " + e.data);
            source.addEventListener("book.updated", (e) => got.push(e.lastEventId + " book.updated " + e.data));
            return true;
        }})()"#
    )
}

#[test]
fn chromium_event_source_same_origin_reads_private_updates_with_the_cookie() {
    if !signer_available() {
        return;
    }
    let server = hub(&[]);
    let page = format!("http://localhost:{}/", server.addr.port());
    let Some(mut browser) = Browser::open(&page) else { return };
    let token = subscriber(r#""https://example.com/books/{id}""#);
    // As flask-mercure-sse sets it (HttpOnly aside, which a page cannot set).
    browser.eval(&format!(
        "document.cookie = 'mercureAuthorization={token}; Path=/.well-known/mercure; SameSite=Strict'; true"
    ));
    let url = format!("{HUB}?topic={}", "https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D");
    browser.eval(&listen("got", &url, "{}"));
    browser.wait_until(Duration::from_secs(10), "the EventSource opens", "window.got.opened === true");
    logged(&server, "GET /.well-known/mercure -> 200 streaming", 1);
    let private = publish(server.addr, "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=private&private=on");
    let typed =
        publish(server.addr, "topic=https%3A%2F%2Fexample.com%2Fbooks%2F2&data=typed&type=book.updated");
    browser.wait_until(Duration::from_secs(10), "two messages", "window.got.length === 2");
    assert_eq!(
        browser.eval("JSON.stringify(window.got)"),
        format!(r#"["{private} private","{typed} book.updated typed"]"#)
    );
}

#[test]
fn rule_29_chromium_cross_origin_event_source_with_credentials_reads_private_updates() {
    if !signer_available() {
        return;
    }
    // The page comes from another ssed (another port: another origin, the
    // same site, so the page's cookie for localhost goes to the hub too).
    let page_server = support::run_binary(&[]);
    let page_origin = format!("http://localhost:{}", page_server.addr.port());
    let server = hub(&["--cors-origin", &page_origin]);
    let Some(mut browser) = Browser::open(&format!("{page_origin}/")) else { return };
    let token = subscriber(r#""https://example.com/books/{id}""#);
    browser.eval(&format!("document.cookie = 'mercureAuthorization={token}; Path=/'; true"));
    let url = format!(
        "http://localhost:{}{HUB}?topic={}",
        server.addr.port(),
        "https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D"
    );
    browser.eval(&listen("withCookie", &url, "{ withCredentials: true }"));
    browser.eval(&listen("withoutCookie", &url, "{}"));
    browser.wait_until(
        Duration::from_secs(10),
        "both EventSources open",
        "window.withCookie.opened === true && window.withoutCookie.opened === true",
    );
    logged(&server, "GET /.well-known/mercure -> 200 streaming", 2);
    let private = publish(server.addr, "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=private&private=on");
    let public = publish(server.addr, "topic=https%3A%2F%2Fexample.com%2Fbooks%2F2&data=public");
    browser.wait_until(
        Duration::from_secs(10),
        "the messages",
        "window.withCookie.length === 2 && window.withoutCookie.length === 1",
    );
    assert_eq!(
        browser.eval("JSON.stringify(window.withCookie)"),
        format!(r#"["{private} private","{public} public"]"#)
    );
    assert_eq!(browser.eval("JSON.stringify(window.withoutCookie)"), format!(r#"["{public} public"]"#));
}
