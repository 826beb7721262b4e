//! A hostile tester's findings on tokens (issue "Who may read what"):
//! tokens that were silently ignored instead of refused, a key file that
//! hung the start, and a cookie publish that any other site could send.
//! Each test failed on the code before its fix.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ssed::{AuthOptions, Config, KeySource, Secret};
use support::jwt::{sign, signer_available};
use support::{exchange, metric, start, status_of, TestServer};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-test-key";
const WRONG_KEY: &[u8] = b"fedcba9876543210fedcba9876543210-wrong-key";

fn with_key(config: &mut Config) {
    config.auth = Some(AuthOptions {
        key: Some(KeySource::Environment(Secret(String::from_utf8(KEY.to_vec()).expect("text key")))),
        publisher_key: None,
        subscriber_key: None,
        previous_key: None,
        anonymous: true,
    });
}

fn get_with(target: &str, headers: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}\r\n").into_bytes()
}

fn post_with(target: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The status of a GET of `/events`, whose head arrives at once; the
/// stream itself is not read.
fn stream_status(server: &TestServer, target: &str, headers: &str) -> u16 {
    use std::io::Read;
    let mut stream = server.connect();
    stream.write_all(&get_with(target, headers)).expect("send");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("a status line");
    status_of(&String::from_utf8_lossy(&head))
}

/// Mercure rule 20: a token that is present but invalid is refused, in
/// whatever form it came; these were read as "no token" (anonymous, 200)
/// or let a valid token hide a forged one beside it.
#[test]
fn every_offered_token_counts_a_forged_one_is_never_ignored() {
    if !signer_available() {
        return;
    }
    let server = start(with_key);
    let good = sign(r#"{"mercure":{"subscribe":["*"]}}"#, KEY);
    let forged = sign(r#"{"mercure":{"subscribe":["*"]}}"#, WRONG_KEY);
    let header = |value: &str| format!("Authorization: {value}\r\n");
    let cases: Vec<(&str, String, String)> = vec![
        ("a tab after Bearer", "/events".into(), header(&format!("Bearer\t{forged}"))),
        ("Bearer and nothing", "/events".into(), header("Bearer")),
        ("Bearer and spaces", "/events".into(), header("Bearer   ")),
        (
            "a forged Bearer in a second Authorization header",
            "/events".into(),
            format!("{}{}", header("Basic dXNlcjpwYXNz"), header(&format!("Bearer {forged}"))),
        ),
        (
            "a good and a forged Bearer header",
            "/events".into(),
            format!("{}{}", header(&format!("Bearer {good}")), header(&format!("Bearer {forged}"))),
        ),
        (
            "a good and a forged ?authorization=",
            format!("/events?authorization={good}&authorization={forged}"),
            String::new(),
        ),
        (
            "spaces around the cookie's =",
            "/events".into(),
            format!("Cookie: mercureAuthorization = {forged}\r\n"),
        ),
    ];
    for (what, target, headers) in &cases {
        assert_eq!(stream_status(&server, target, headers), 401, "{what}");
    }
    // The same on a publish: refused, nothing published.
    for (what, target, headers) in &cases {
        let target = target.replacen("/events", "/publish", 1);
        let joiner = if target.contains('?') { '&' } else { '?' };
        let answer = exchange(&server, &post_with(&format!("{target}{joiner}topic=a"), headers, "x"));
        assert_eq!(status_of(&answer), 401, "{what}: {answer}");
    }
    assert_eq!(metric(&server, "ssed_events_published_total"), 0);
    // What stays accepted: one good token, another scheme beside it.
    let fine = [
        header(&format!("Bearer {good}")),
        header(&format!("bearer  {good} ")),
        format!("{}{}", header("Basic dXNlcjpwYXNz"), header(&format!("Bearer {good}"))),
    ];
    for headers in &fine {
        assert_eq!(stream_status(&server, "/events", headers), 200, "{headers}");
    }
}

/// A key file that is a FIFO hung the start before it listened; a device
/// or anything else but a regular file is no key either.
#[test]
fn a_key_file_that_is_not_a_regular_file_is_refused_at_once() {
    let dir = std::env::temp_dir().join(format!("ssed-key-fifo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let fifo = dir.join("key.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().is_ok_and(|status| status.success());
    if !made {
        assert!(std::env::var_os("CI").is_none(), "mkfifo failed");
        println!("SKIPPED: mkfifo failed (install coreutils)");
        return;
    }
    for path in [fifo.to_str().expect("utf-8 path"), "/dev/zero"] {
        for first in
            [&["--jwt-key-file", path][..], &["token", "--subscribe", "a", "--jwt-key-file", path][..]]
        {
            let mut child = Command::new(env!("CARGO_BIN_EXE_ssed"))
                .args(if first[0] == "token" { &[][..] } else { &["--addr", "127.0.0.1:0"][..] })
                .args(first)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start ssed");
            let started = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait().expect("wait") {
                    break Some(status);
                }
                if started.elapsed() > Duration::from_secs(10) {
                    support::end_child(&mut child);
                    break None;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                use std::io::Read;
                let _ = pipe.read_to_string(&mut stderr);
            }
            let status = status.unwrap_or_else(|| panic!("{first:?}: still running after 10 s"));
            assert!(!status.success(), "{first:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{first:?}: one line: {stderr}");
            assert!(stderr.contains("not a regular file"), "{first:?}: {stderr}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Mercure rule 19 and the hub's own check: a cookie-only publish comes
/// from a page, and that page must be one the server trusts (a listed
/// `--cors-origin`, or the server's own origin); any other site's form
/// carries the cookie and an `Origin` too.
#[test]
fn a_cookie_publish_from_a_site_not_listed_is_refused() {
    if !signer_available() {
        return;
    }
    let publisher = sign(r#"{"mercure":{"publish":["*"]}}"#, KEY);
    let cookie = format!("Cookie: mercureAuthorization={publisher}\r\n");
    let listed = start(|config| {
        with_key(config);
        config.cors_origins = vec!["https://app.example".to_owned()];
    });
    let anyone = start(with_key);
    for (server, page, expected) in [
        (&listed, "Origin: https://evil.example\r\n", 403),
        (&listed, "Referer: https://evil.example/page\r\n", 403),
        (&listed, "Origin: https://app.example.evil\r\n", 403),
        (&listed, "Origin: null\r\n", 403),
        (&listed, "Origin: https://app.example\r\n", 200),
        (&listed, "Referer: https://app.example/chat?x=1\r\n", 200),
        (&listed, "Origin: http://t\r\n", 200),
        (&anyone, "Origin: https://evil.example\r\n", 403),
        (&anyone, "Referer: https://evil.example/\r\n", 403),
        (&anyone, "Origin: http://t\r\n", 200),
        (&anyone, "Referer: http://t/demo\r\n", 200),
    ] {
        let answer = exchange(server, &post_with("/publish?topic=a", &format!("{cookie}{page}"), "x"));
        assert_eq!(status_of(&answer), expected, "{page}: {answer}");
    }
    assert_eq!(metric(&listed, "ssed_events_published_total"), 3);
    assert_eq!(metric(&anyone, "ssed_events_published_total"), 2);
}

/// Keys per role keep a subscriber's key from minting publishers. The
/// previous key verified tokens of both roles, so rotating the subscriber
/// key (`SSED_JWT_PREVIOUS_KEY` = the old subscriber key) let whoever holds
/// that old key publish anywhere. The previous key now rotates the shared
/// key only: it verifies the roles that key serves, and a server whose
/// every role has its own key refuses it at start.
#[test]
fn the_previous_key_never_lets_a_subscriber_key_publish() {
    if !signer_available() {
        return;
    }
    let publisher_key = "P".repeat(40);
    let old_key = "O".repeat(40);
    let environment = |config: &mut Config, shared: Option<&str>| {
        let from = |key: &str| Some(KeySource::Environment(Secret(key.to_owned())));
        config.auth = Some(AuthOptions {
            key: shared.and_then(from),
            publisher_key: from(&publisher_key),
            subscriber_key: if shared.is_some() { None } else { from(&"S".repeat(40)) },
            previous_key: from(&old_key),
            anonymous: true,
        });
    };
    // Every role with its own key: which one the previous key replaces is
    // unknown, so it is refused rather than given to both.
    let mut config = Config { addr: ([127, 0, 0, 1], 0).into(), quiet: true, ..Config::default() };
    environment(&mut config, None);
    let refused = ssed::Server::bind(config).err().map(|error| error.to_string()).unwrap_or_default();
    assert!(refused.contains("previous key"), "started, or another error: {refused:?}");
    // The shared key serves subscribers only: the previous key verifies
    // their tokens, never a publisher's.
    let server = start(|config| environment(config, Some(&"K".repeat(40))));
    let subscriber = sign(r#"{"mercure":{"subscribe":["*"]}}"#, old_key.as_bytes());
    let publisher = sign(r#"{"mercure":{"publish":["*"]}}"#, old_key.as_bytes());
    let bearer = |token: &str| format!("Authorization: Bearer {token}\r\n");
    assert_eq!(stream_status(&server, "/events", &bearer(&subscriber)), 200);
    let answer = exchange(&server, &post_with("/publish?topic=a", &bearer(&publisher), "x"));
    assert_eq!(status_of(&answer), 401, "{answer}");
    assert_eq!(metric(&server, "ssed_events_published_total"), 0);
}
