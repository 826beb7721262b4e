//! Who may read what: signed tokens on `/events` and `POST /publish`, and
//! private events (issue "Who may read what"; Mercure rules 10–11, 13–22).
//! Tokens are signed by Python's standard library (tests/support/jwt.rs),
//! never by ssed's own code.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use ssed::{AuthOptions, Config, KeySource, Secret};
use support::jwt::{now, sign, sign_with, signer_available};
use support::{exchange, metric, read_until, start, status_of, subscribe, TestServer};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-test-key";
const OTHER_KEY: &[u8] = b"fedcba9876543210fedcba9876543210-other-key";

fn keys(key: &[u8]) -> AuthOptions {
    AuthOptions {
        key: Some(KeySource::Environment(Secret(String::from_utf8(key.to_vec()).expect("text key")))),
        publisher_key: None,
        subscriber_key: None,
        previous_key: None,
        anonymous: true,
    }
}

fn with_key(config: &mut Config) {
    config.auth = Some(keys(KEY));
}

/// A subscriber's token for `selectors` (a JSON array's insides).
fn subscriber(selectors: &str) -> String {
    sign(&format!(r#"{{"mercure":{{"subscribe":[{selectors}]}}}}"#), KEY)
}

/// A publisher's token for `selectors`.
fn publisher(selectors: &str) -> String {
    sign(&format!(r#"{{"mercure":{{"publish":[{selectors}]}}}}"#), KEY)
}

fn get_with(target: &str, headers: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: t\r\n{headers}\r\n").into_bytes()
}

fn post_with(target: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Publishes `body` to `target` with a publisher token for every topic.
fn publish(server: &TestServer, target: &str, body: &str) -> String {
    let answer = exchange(
        server,
        &post_with(target, &format!("Authorization: Bearer {}\r\n", publisher(r#""*""#)), body),
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
    answer
}

/// Replaces one character of `token` at `at` (counted from its start).
fn flipped(token: &str, at: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

#[test]
fn every_bad_token_is_401_on_streams_and_publishes_and_nothing_is_published() {
    if !signer_available() {
        return;
    }
    let server = start(|config| {
        with_key(config);
        // Room for the token that is over the token limit but within a head.
        config.limits.max_head_bytes = 64 * 1024;
    });
    let good = subscriber(r#""*""#);
    let header_end = good.find('.').expect("a dot");
    let payload_end = good.rfind('.').expect("a dot");
    let hs256 = r#"{"alg":"HS256","typ":"JWT"}"#;
    let claims = r#"{"mercure":{"publish":["*"],"subscribe":["*"]}}"#;
    let deep = format!("{}1{}", r#"{"a":"#.repeat(40), "}".repeat(40));
    let huge = "x".repeat(9 * 1024);
    let not_utf8 = {
        // A payload whose bytes are not UTF-8 can only be built by hand.
        let b64 = |bytes: &[u8]| -> String {
            const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut text = String::new();
            for chunk in bytes.chunks(3) {
                let word =
                    chunk.iter().enumerate().fold(0u32, |word, (i, &b)| word | u32::from(b) << (16 - 8 * i));
                for i in 0..=chunk.len() {
                    text.push(ALPHABET[(word >> (18 - 6 * i) & 63) as usize] as char);
                }
            }
            text
        };
        let head = b64(hs256.as_bytes());
        format!("{head}.{}.{}", b64(b"{\"a\":\"\xff\xfe\"}"), &good[payload_end + 1..])
    };
    let table: Vec<(&str, String)> = vec![
        ("alg none, unsigned", sign_with(r#"{"alg":"none"}"#, claims, KEY, "none")),
        ("HS512 signed with the right key", sign_with(r#"{"alg":"HS512"}"#, claims, KEY, "HS512")),
        ("HS384 signed with the right key", sign_with(r#"{"alg":"HS384"}"#, claims, KEY, "HS384")),
        ("an RS256 header", sign_with(r#"{"alg":"RS256"}"#, claims, KEY, "HS256")),
        ("a flipped byte in the header", flipped(&good, 5)),
        ("a flipped byte in the payload", flipped(&good, header_end + 5)),
        ("a flipped byte in the signature", flipped(&good, payload_end + 5)),
        ("padding", format!("{good}=")),
        ("+ and / in the signature", format!("{}+/{}", &good[..good.len() - 2], "")),
        ("two parts", good[..payload_end].to_owned()),
        ("four parts", format!("{good}.{}", &good[payload_end + 1..])),
        ("a payload that is not JSON", sign_with(hs256, "not json", KEY, "HS256")),
        ("a payload that is not UTF-8", not_utf8),
        ("nested past the limit", sign_with(hs256, &deep, KEY, "HS256")),
        ("duplicate keys", sign_with(hs256, r#"{"exp":1,"exp":99999999999}"#, KEY, "HS256")),
        ("exp as a string", sign_with(hs256, &format!(r#"{{"exp":"{}"}}"#, now() + 60), KEY, "HS256")),
        ("exp negative", sign_with(hs256, r#"{"exp":-5}"#, KEY, "HS256")),
        (
            "exp fractional in the past",
            sign_with(hs256, &format!(r#"{{"exp":{}.5}}"#, now() - 10), KEY, "HS256"),
        ),
        ("exp huge", sign_with(hs256, r#"{"exp":1e400}"#, KEY, "HS256")),
        ("nbf in the future", sign_with(hs256, &format!(r#"{{"nbf":{}}}"#, now() + 3600), KEY, "HS256")),
        ("claims of the wrong type", sign_with(hs256, r#"{"mercure":{"subscribe":"*"}}"#, KEY, "HS256")),
        ("signed with another key", sign(claims, OTHER_KEY)),
        ("over the token limit", sign_with(hs256, &format!(r#"{{"pad":"{huge}"}}"#), KEY, "HS256")),
    ];
    for (what, token) in &table {
        let answer = exchange(
            &server,
            &get_with("/events?topic=users/42", &format!("Authorization: Bearer {token}\r\n")),
        );
        assert_eq!(status_of(&answer), 401, "{what}: {answer}");
        assert!(
            answer.contains("WWW-Authenticate: Bearer realm=\"ssed\", error=\"invalid_token\""),
            "{what}: {answer}"
        );
        assert!(!answer.contains(token.as_str()), "{what}: the answer echoes the token");
        let answer = exchange(
            &server,
            &post_with("/publish?topic=users/42", &format!("Authorization: Bearer {token}\r\n"), "x"),
        );
        assert_eq!(status_of(&answer), 401, "{what} publishing: {answer}");
    }
    assert_eq!(metric(&server, "ssed_events_published_total"), 0);
    assert_eq!(metric(&server, "ssed_streams_total"), 0);
    // The good token, for contrast, opens a stream.
    let answer_head = {
        let mut stream = server.connect();
        stream.write_all(&get_with("/events", &format!("Authorization: Bearer {good}\r\n"))).expect("send");
        read_until(&mut stream, "retry: ", 1)
    };
    assert_eq!(status_of(&answer_head), 200, "{answer_head}");
}

#[test]
fn a_token_longer_than_the_head_allows_is_431() {
    if !signer_available() {
        return;
    }
    let server = start(with_key);
    let token = sign(&format!(r#"{{"pad":"{}"}}"#, "x".repeat(9 * 1024)), KEY);
    let answer = exchange(&server, &get_with("/events", &format!("Authorization: Bearer {token}\r\n")));
    assert_eq!(status_of(&answer), 431, "{answer}");
}

#[test]
fn private_events_reach_exactly_the_streams_whose_selectors_match_live_and_in_replay() {
    if !signer_available() {
        return;
    }
    let server = start(with_key);
    let bearer = |token: String| format!("Authorization: Bearer {token}\r\n");
    // Who follows users/42, and whether each may read its private events.
    let mut streams = vec![
        ("anonymous", subscribe(&server, "/events?topic=users/42", ""), false),
        ("exact", subscribe(&server, "/events?topic=users/42", &bearer(subscriber(r#""users/42""#))), true),
        (
            "template",
            subscribe(&server, "/events?topic=users/42", &bearer(subscriber(r#""users/{id}""#))),
            true,
        ),
        (
            "another user",
            subscribe(&server, "/events?topic=users/42", &bearer(subscriber(r#""users/7""#))),
            false,
        ),
        ("every topic, anonymous", subscribe(&server, "/events", ""), false),
        ("every topic, *", subscribe(&server, "/events", &bearer(subscriber(r#""*""#))), true),
        (
            "every topic, template",
            subscribe(&server, "/events", &bearer(subscriber(r#""users/{id}""#))),
            true,
        ),
        ("every topic, +path", subscribe(&server, "/events", &bearer(subscriber(r#""{+any}""#))), true),
    ];
    let before = metric(&server, "ssed_deliveries_total");
    publish(&server, "/publish?topic=users/42&private", "secret");
    publish(&server, "/publish?topic=users/42", "public");
    for (who, stream, reads_private) in &mut streams {
        let expected: Vec<&str> = if *reads_private { vec!["secret", "public"] } else { vec!["public"] };
        assert_eq!(stream.data(expected.len()), expected, "{who}");
    }
    // The private publish reached the five streams that may read it: no more.
    assert_eq!(metric(&server, "ssed_deliveries_total") - before, 5 + 8);

    // Replay after Last-Event-ID keeps the same rule.
    let first = {
        let mut probe = subscribe(&server, "/events?topic=users/42&lastEventId=0", "");
        probe.events(2)
    };
    assert!(first.contains("event: missed"), "{first}");
    let replay =
        |headers: &str| subscribe(&server, "/events?topic=users/42&lastEventId=0", headers).events(3);
    let allowed = replay(&bearer(subscriber(r#""users/{id}""#)));
    assert!(allowed.contains("data: secret") && allowed.contains("data: public"), "{allowed}");
    let other =
        subscribe(&server, "/events?topic=users/42&lastEventId=0", &bearer(subscriber(r#""users/7""#)))
            .events(2);
    assert!(!other.contains("secret") && other.contains("data: public"), "{other}");
}

#[test]
fn a_private_publish_wakes_only_the_streams_that_may_read_it() {
    if !signer_available() {
        return;
    }
    let server = start(with_key);
    let allowed = format!("Authorization: Bearer {}\r\n", subscriber(r#""room/{name}""#));
    let mut streams: Vec<_> = (0..20)
        .map(|n| subscribe(&server, "/events?topic=room/a", if n % 2 == 0 { &allowed } else { "" }))
        .collect();
    let (deliveries, wakeups) =
        (metric(&server, "ssed_deliveries_total"), metric(&server, "ssed_publish_wakeups_total"));
    publish(&server, "/publish?topic=room/a&private", "for ten");
    for stream in streams.iter_mut().step_by(2) {
        assert_eq!(stream.data(1), ["for ten"]);
    }
    assert_eq!(metric(&server, "ssed_deliveries_total") - deliveries, 10);
    assert!(metric(&server, "ssed_publish_wakeups_total") - wakeups <= 10);
}

#[test]
fn private_events_stay_private_after_a_restart_with_the_journal() {
    if !signer_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ssed-tokens-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let journal = dir.join("events.journal");
    let with_journal = |config: &mut Config| {
        with_key(config);
        config.journal = Some(ssed::JournalOptions::at(&journal));
    };
    let first = start(with_journal);
    publish(&first, "/publish?topic=users/42&private", "secret");
    publish(&first, "/publish?topic=users/42", "public");
    drop(first);
    // The last connection thread lets go of the journal just after its place.
    let mut second = None;
    support::eventually(Duration::from_secs(5), "the journal free again", || {
        let mut config =
            Config { addr: "127.0.0.1:0".parse().expect("address"), quiet: true, ..Config::default() };
        with_journal(&mut config);
        second = ssed::Server::bind(config).ok();
        second.is_some()
    });
    let second = support::serve(second.expect("bound"));
    let bearer = format!("Authorization: Bearer {}\r\n", subscriber(r#""users/42""#));
    let allowed = subscribe(&second, "/events?topic=users/42&lastEventId=0", &bearer).events(3);
    assert!(allowed.contains("data: secret") && allowed.contains("data: public"), "{allowed}");
    let anonymous = subscribe(&second, "/events?topic=users/42&lastEventId=0", "").events(2);
    assert!(!anonymous.contains("secret") && anonymous.contains("data: public"), "{anonymous}");
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stream_ends_at_its_tokens_exp_and_the_token_is_then_refused() {
    if !signer_available() {
        return;
    }
    let server = start(with_key);
    let exp = now() + 2;
    let token = sign(&format!(r#"{{"exp":{exp},"mercure":{{"subscribe":["*"]}}}}"#), KEY);
    let header = format!("Authorization: Bearer {token}\r\n");
    let mut stream = server.connect();
    stream.write_all(&get_with("/events", &header)).expect("send");
    let opened = Instant::now();
    let all = support::read_to_close(&mut stream);
    assert_eq!(status_of(&all), 200, "{all}");
    // Closed at exp, counted in whole seconds: no later than a second past it.
    assert!(now() <= exp + 1, "closed at {}, exp {exp}", now());
    assert!(opened.elapsed() < Duration::from_secs(4), "{:?}", opened.elapsed());
    support::eventually(Duration::from_secs(2), "the close counted", || {
        metric(&server, "ssed_disconnects_total{reason=\"token_expired\"}") == 1
    });
    let again = exchange(&server, &get_with("/events", &header));
    assert_eq!(status_of(&again), 401, "{again}");
}

#[test]
fn a_rotated_key_keeps_old_tokens_until_the_previous_key_is_removed() {
    if !signer_available() {
        return;
    }
    let old_token = subscriber(r#""*""#);
    let new_token = sign(r#"{"mercure":{"subscribe":["*"]}}"#, OTHER_KEY);
    let status = |server: &TestServer, token: &str| {
        let mut stream = server.connect();
        stream.write_all(&get_with("/events", &format!("Authorization: Bearer {token}\r\n"))).expect("send");
        status_of(&read_until(&mut stream, "\r\n\r\n", 1))
    };
    let rotating = start(|config| {
        let mut options = keys(OTHER_KEY);
        options.previous_key =
            Some(KeySource::Environment(Secret(String::from_utf8(KEY.to_vec()).expect("text"))));
        config.auth = Some(options);
    });
    assert_eq!(status(&rotating, &old_token), 200);
    assert_eq!(status(&rotating, &new_token), 200);
    let rotated = start(|config| config.auth = Some(keys(OTHER_KEY)));
    assert_eq!(status(&rotated, &old_token), 401);
    assert_eq!(status(&rotated, &new_token), 200);
}

#[test]
fn the_header_beats_the_query_which_beats_the_cookie() {
    if !signer_available() {
        return;
    }
    let server = start(with_key);
    let good = subscriber(r#""*""#);
    let bad = flipped(&good, good.len() - 3);
    let status = |target: String, headers: String| {
        let mut stream = server.connect();
        stream.write_all(&get_with(&target, &headers)).expect("send");
        status_of(&read_until(&mut stream, "\r\n\r\n", 1))
    };
    let cookie = |token: &str| format!("Cookie: theme=dark; mercureAuthorization={token}; x=1\r\n");
    let bearer = |token: &str| format!("Authorization: Bearer {token}\r\n");
    let cases = [
        ("the query alone", format!("/events?authorization={good}"), String::new(), 200),
        ("the cookie alone", "/events".to_owned(), cookie(&good), 200),
        ("a bad query alone", format!("/events?authorization={bad}"), String::new(), 401),
        ("a bad cookie alone", "/events".to_owned(), cookie(&bad), 401),
        ("a good header over a bad query", format!("/events?authorization={bad}"), bearer(&good), 200),
        ("a bad header over a good query", format!("/events?authorization={good}"), bearer(&bad), 401),
        ("a good query over a bad cookie", format!("/events?authorization={good}"), cookie(&bad), 200),
        ("a bad query over a good cookie", format!("/events?authorization={bad}"), cookie(&good), 401),
        ("no token at all", "/events".to_owned(), String::new(), 200),
    ];
    for (what, target, headers, expected) in cases {
        assert_eq!(status(target, headers), expected, "{what}");
    }
}

#[test]
fn without_anonymous_a_stream_needs_a_token() {
    if !signer_available() {
        return;
    }
    let server = start(|config| {
        let mut options = keys(KEY);
        options.anonymous = false;
        config.auth = Some(options);
    });
    let answer = exchange(&server, &get_with("/events", ""));
    assert_eq!(status_of(&answer), 401, "{answer}");
    assert!(answer.contains("WWW-Authenticate: Bearer realm=\"ssed\"\r\n"), "{answer}");
    subscribe(&server, "/events", &format!("Authorization: Bearer {}\r\n", subscriber(r#""*""#)));
}

#[test]
fn a_publisher_token_publishes_only_to_the_topics_it_names() {
    if !signer_available() {
        return;
    }
    let server = start(with_key);
    let token = publisher(r#""users/{id}""#);
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let allowed = exchange(&server, &post_with("/publish?topic=users/42", &bearer, "ok"));
    assert_eq!(status_of(&allowed), 200, "{allowed}");
    let refused = exchange(&server, &post_with("/publish?topic=rooms/1", &bearer, "no"));
    assert_eq!(status_of(&refused), 403, "{refused}");
    assert!(refused.contains("error=\"insufficient_scope\""), "{refused}");
    // A subscriber's token publishes nothing, and an empty list allows nothing.
    for token in [subscriber(r#""*""#), publisher("")] {
        let answer = exchange(
            &server,
            &post_with("/publish?topic=users/42", &format!("Authorization: Bearer {token}\r\n"), "no"),
        );
        assert_eq!(status_of(&answer), 403, "{answer}");
    }
    assert_eq!(metric(&server, "ssed_events_published_total"), 1);
}

#[test]
fn a_publish_authenticated_by_cookie_alone_needs_an_origin_or_referer() {
    if !signer_available() {
        return;
    }
    let server = start(with_key);
    let cookie = format!("Cookie: mercureAuthorization={}\r\n", publisher(r#""*""#));
    let answer = exchange(&server, &post_with("/publish?topic=a", &cookie, "csrf"));
    assert_eq!(status_of(&answer), 403, "{answer}");
    // Pages of the server itself (its Host); other sites: tests/token_attacks.rs.
    for page in ["Origin: http://t\r\n", "Referer: http://t/\r\n"] {
        let answer = exchange(&server, &post_with("/publish?topic=a", &format!("{cookie}{page}"), "ok"));
        assert_eq!(status_of(&answer), 200, "{page}: {answer}");
    }
    assert_eq!(metric(&server, "ssed_events_published_total"), 2);
}

#[test]
fn the_shared_publish_token_keeps_working_beside_signed_tokens() {
    if !signer_available() {
        return;
    }
    let server = start(|config| {
        with_key(config);
        config.events.publish_token = Some(Secret("shared-token".to_owned()));
    });
    let answer =
        exchange(&server, &post_with("/publish?topic=a", "Authorization: Bearer shared-token\r\n", "x"));
    assert_eq!(status_of(&answer), 200, "{answer}");
    let answer = exchange(&server, &post_with("/publish?topic=a", "Authorization: Bearer wrong\r\n", "x"));
    assert_eq!(status_of(&answer), 401, "{answer}");
}

#[test]
fn a_short_key_stops_the_start_with_one_line_that_never_shows_it() {
    let short = "too-short-a-key";
    let output = std::process::Command::new(support::SSED)
        .args(["--addr", "127.0.0.1:0"])
        .env("SSED_JWT_KEY", short)
        .output()
        .expect("run ssed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is 15 bytes; an HS256 key needs at least 32"), "{stderr}");
    assert!(!stderr.contains(short), "the key is in the message: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn ssed_token_mints_what_the_server_accepts() {
    let output = std::process::Command::new(support::SSED)
        .args(["token", "--subscribe", "users/{id}", "--publish", "users/42", "--ttl", "1h"])
        .env("SSED_JWT_KEY", String::from_utf8(KEY.to_vec()).expect("text"))
        .output()
        .expect("run ssed token");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).expect("text").trim().to_owned();
    let server = start(with_key);
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let mut stream = subscribe(&server, "/events?topic=users/42", &bearer);
    let answer = exchange(&server, &post_with("/publish?topic=users/42&private", &bearer, "mine"));
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert_eq!(stream.data(1), ["mine"]);
    let refused = exchange(&server, &post_with("/publish?topic=users/7", &bearer, "not mine"));
    assert_eq!(status_of(&refused), 403, "{refused}");
    // Without a key there is nothing to sign with.
    let output = std::process::Command::new(support::SSED)
        .args(["token", "--subscribe", "*"])
        .env_remove("SSED_JWT_KEY")
        .output()
        .expect("run ssed token");
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
}
