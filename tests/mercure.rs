//! Mercure draft-07 on `/.well-known/mercure`, one test per rule of
//! `mercure.md` (the shared list, rules 1–29), each named `rule_N_…`,
//! against a real server over raw sockets. Tokens are signed by Python's
//! standard library (tests/support/jwt.rs), never by ssed's own code.
//!
//! Where an update must NOT arrive, the test publishes a marker after it
//! and checks that the marker is the next event: no sleeping, no waiting
//! for a silence.
//!
//! Beyond the rules: one hub behind `/events` and the Mercure endpoint,
//! and a restart with `--journal` that replays Mercure updates exactly.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use support::jwt::{now, sign, sign_with, signer_available};
use support::mercure::{
    encode, form, header_of, post, post_request, post_with_token, publish, publisher, refused_get,
    subscriber, target, with_key, Block, Stream, HUB, KEY,
};
use support::{exchange, get, read_until, start, status_of, TestServer};

/// The page origin `--cors-origin` lists.
const PAGE: &str = "http://page.test";

/// A hub with [`KEY`] and [`PAGE`] as the one credentialed origin; `None`
/// (after a SKIPPED line) without Python to sign tokens.
fn hub() -> Option<TestServer> {
    hub_with(|_| {})
}

fn hub_with(adjust: impl FnOnce(&mut ssed::Config)) -> Option<TestServer> {
    if !signer_available() {
        return None;
    }
    Some(start(|config| {
        with_key(config);
        config.cors_origins = vec![PAGE.to_owned()];
        adjust(config);
    }))
}

/// A stream on every topic, anonymous: sees public updates only.
fn watch_all(server: &TestServer) -> Stream {
    Stream::open(server.addr, &target(&["*"], ""), "")
}

/// Publishes a public marker on `urn:marker` and reads `stream` up to it:
/// the data of everything it got in between, marker last.
fn up_to_marker(server: &TestServer, stream: &mut Stream, marker: &str) -> Vec<String> {
    publish(server.addr, &form(&[("topic", "urn:marker"), ("data", marker)]));
    stream.data_until(marker)
}

/// Which of `topics` reach a subscription to `selector` (each published
/// with its topic as data), in order.
fn matched(server: &TestServer, selector: &str, topics: &[&str]) -> Vec<String> {
    let mut stream = Stream::open(server.addr, &target(&[selector, "urn:marker"], ""), "");
    for topic in topics {
        publish(server.addr, &form(&[("topic", topic), ("data", topic)]));
    }
    let mut seen = up_to_marker(server, &mut stream, "end");
    seen.pop();
    seen
}

// ---- Endpoints and connections ------------------------------------------

#[test]
fn rule_1_get_subscribes_post_publishes_and_no_subscriptions_api_is_served() {
    let Some(server) = hub() else { return };
    let mut stream = Stream::open(server.addr, &target(&["https://example.com/books/1"], ""), "");
    let id = publish(server.addr, &form(&[("topic", "https://example.com/books/1"), ("data", "first")]));
    let block = stream.next();
    assert_eq!((block.id(), block.data().as_str()), (id.as_str(), "first"));
    let put =
        exchange(&server, format!("PUT {HUB} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n").as_bytes());
    assert_eq!(status_of(&put), 405, "{put}");
    assert_eq!(header_of(&put, "allow"), Some("GET, POST, OPTIONS"), "{put}");
    // The subscriptions API is optional in draft-07; ssed does not serve it.
    let subscriptions = exchange(&server, &get(&format!("{HUB}/subscriptions")));
    assert_eq!(status_of(&subscriptions), 404, "{subscriptions}");
}

/// Reads one answer on `socket` by its `Content-Length`, never waiting
/// for the connection to end: the head and the body.
fn read_one_answer(socket: &mut std::net::TcpStream) -> (String, String) {
    let head = read_until(socket, "\r\n\r\n", 1);
    let (head, mut body) =
        head.split_once("\r\n\r\n").map(|(h, b)| (h.to_owned(), b.to_owned())).expect("a head");
    let length: usize = header_of(&format!("{head}\r\n\r\n"), "content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no Content-Length: {head}"));
    let mut chunk = [0u8; 1024];
    while body.len() < length {
        let read = socket.read(&mut chunk).expect("read the body");
        assert!(read > 0, "closed inside the body: {head}\r\n\r\n{body}");
        body.push_str(&String::from_utf8_lossy(&chunk[..read]));
    }
    assert_eq!(body.len(), length, "nothing after the body");
    (head, body)
}

#[test]
fn rule_2_publish_answers_are_whole_with_content_length_for_every_client_style() {
    // rule 2. Persistent publishing connections are the `keepalive`
    // branch's; its tests cover request after request on one connection.
    // Here: whichever ssed does, the answer is complete by its
    // Content-Length, and either `Connection: close` is said and the
    // connection ends, or the connection serves a second request.
    let Some(server) = hub() else { return };
    let token = publisher(r#""*""#);
    let body = form(&[("topic", "https://example.com/r2"), ("data", "x")]);
    let styles = [
        // reqwest: lower-case names, no Connection header.
        format!(
            "POST {HUB} HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {token}\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
        // Python's httpx: Connection: keep-alive.
        String::from_utf8(post_request(
            &format!("Authorization: Bearer {token}\r\nConnection: keep-alive\r\n"),
            &body,
        ))
        .expect("text"),
    ];
    for request in styles {
        let mut socket = server.connect();
        socket.write_all(request.as_bytes()).expect("send");
        let (head, id) = read_one_answer(&mut socket);
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert!(id.starts_with("urn:uuid:"), "{id}");
        let closes = header_of(&format!("{head}\r\n\r\n"), "connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"));
        if closes {
            let mut rest = Vec::new();
            let _ = socket.read_to_end(&mut rest);
            assert!(rest.is_empty(), "bytes after a closing answer: {rest:?}");
        } else {
            socket.write_all(request.as_bytes()).expect("send a second request");
            let (head, _) = read_one_answer(&mut socket);
            assert!(head.starts_with("HTTP/1.1 200 "), "a kept connection answers again: {head}");
        }
    }
}

// ---- Publishing -----------------------------------------------------------

#[test]
fn rule_3_form_decoding_plus_percent_utf8_unknown_fields_and_type_parameters() {
    let Some(server) = hub() else { return };
    let mut stream = Stream::open(server.addr, &target(&["https://example.com/r3"], ""), "");
    // pymercure still sends `target`; unknown fields are ignored.
    let body = "topic=https%3A%2F%2Fexample.com%2Fr3&data=a+b%20c%C3%A9+%2B%26&target=old&unknown=1";
    let request = format!(
        "POST {HUB} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
        publisher(r#""*""#),
        body.len()
    );
    let answer = exchange(&server, request.as_bytes());
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert_eq!(stream.next().data(), "a b cé +&");
    // A % without two hex digits is refused, not guessed at.
    let (status, _) = post_with_token(server.addr, &publisher(r#""*""#), "topic=urn%3Ar3&data=%zz");
    assert_eq!(status, 400);
}

#[test]
fn rule_4_the_first_topic_is_canonical_the_others_alternates_and_no_topic_is_400() {
    let Some(server) = hub() else { return };
    let (canonical, first, second) = ("https://example.com/r4", "urn:alt:1", "urn:alt:2");
    let mut streams: Vec<Stream> = [canonical, first, second]
        .iter()
        .map(|topic| Stream::open(server.addr, &target(&[topic, "urn:marker"], ""), ""))
        .collect();
    // Following two topics of one update: told once.
    let mut both = Stream::open(server.addr, &target(&[canonical, first, "urn:marker"], ""), "");
    let id = publish(
        server.addr,
        &form(&[("topic", canonical), ("topic", first), ("topic", second), ("data", "u")]),
    );
    for stream in &mut streams {
        let block = stream.next();
        assert_eq!((block.id(), block.data().as_str()), (id.as_str(), "u"));
    }
    assert_eq!(up_to_marker(&server, &mut both, "m"), ["u", "m"]);
    let mut all = watch_all(&server);
    let (status, body) = post_with_token(server.addr, &publisher(r#""*""#), "data=no-topic");
    assert_eq!(status, 400, "{body}");
    assert_eq!(up_to_marker(&server, &mut all, "m2"), ["m2"], "nothing published without a topic");
}

#[test]
fn rule_5_data_is_byte_exact_and_each_line_break_starts_a_data_line() {
    let Some(server) = hub() else { return };
    let mut stream = watch_all(&server);
    let cases = [
        ("one\r\ntwo\rthree\nfour", "data: one\ndata: two\ndata: three\ndata: four"),
        ("  spaces  :colon é😀 \t", "data:   spaces  :colon é😀 \t"),
        ("trailing\n", "data: trailing\ndata: "),
        ("{\"json\":[1,2]}", "data: {\"json\":[1,2]}"),
    ];
    for (data, lines) in cases {
        let id = publish(server.addr, &form(&[("topic", "urn:r5"), ("data", data)]));
        assert_eq!(stream.next().0, format!("id: {id}\n{lines}"), "{data:?}");
    }
    // No data at all: an event with empty data.
    let id = publish(server.addr, "topic=urn%3Ar5");
    let block = stream.next();
    assert_eq!((block.id(), block.data().as_str()), (id.as_str(), ""));
}

/// Whether `id` is a `urn:uuid:` of version 4, variant 10 (RFC 9562).
fn is_urn_uuid_v4(id: &str) -> bool {
    let Some(uuid) = id.strip_prefix("urn:uuid:") else { return false };
    let bytes = uuid.as_bytes();
    bytes.len() == 36
        && [8, 13, 18, 23].iter().all(|&at| bytes[at] == b'-')
        && bytes
            .iter()
            .enumerate()
            .all(|(at, byte)| [8, 13, 18, 23].contains(&at) || matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
        && bytes[14] == b'4'
        && matches!(bytes[19], b'8' | b'9' | b'a' | b'b')
}

#[test]
fn rule_6_ids_verbatim_or_made_by_the_hub_and_every_event_carries_one() {
    let Some(server) = hub() else { return };
    let mut stream = watch_all(&server);
    let given = "https://example.com/ids/1?x=y#z é";
    let id = publish(server.addr, &form(&[("topic", "urn:r6"), ("id", given), ("data", "a")]));
    assert_eq!(id, given);
    assert_eq!(stream.next().id(), given);
    let made: Vec<String> = (0..2).map(|_| publish(server.addr, &form(&[("topic", "urn:r6")]))).collect();
    assert!(made.iter().all(|id| is_urn_uuid_v4(id)), "{made:?}");
    assert_ne!(made[0], made[1]);
    assert_eq!([stream.next().id(), stream.next().id()], [made[0].as_str(), made[1].as_str()]);
    // An update published on /publish reaches this stream with an id too.
    let answer = exchange(
        &server,
        format!(
            "POST /publish?topic=plain HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Length: 2\r\n\r\nhi",
            publisher(r#""*""#)
        )
        .as_bytes(),
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
    let block = stream.next();
    assert_eq!(block.data(), "hi");
    assert!(!block.id().is_empty());
}

#[test]
fn rule_6_duplicate_publisher_ids_break_nothing_live_or_on_replay() {
    let Some(server) = hub() else { return };
    let mut stream = watch_all(&server);
    for data in ["one", "two", "three", "four"] {
        let id = if data == "two" { "between" } else { "dup" };
        assert_eq!(publish(server.addr, &form(&[("topic", "urn:dup"), ("id", id), ("data", data)])), id);
    }
    let live: Vec<(String, String)> =
        (0..4).map(|_| stream.next()).map(|b| (b.id().to_owned(), b.data())).collect();
    let expected = [("dup", "one"), ("between", "two"), ("dup", "three"), ("dup", "four")];
    assert_eq!(live, expected.map(|(id, data)| (id.to_owned(), data.to_owned())));
    // A reconnect after the id `dup` resumes after its newest use.
    let mut replay = Stream::open(server.addr, &target(&["*"], ""), "Last-Event-ID: dup\r\n");
    assert_eq!(replay.header("last-event-id"), Some("dup"));
    assert_eq!(up_to_marker(&server, &mut replay, "after"), ["after"]);
    let mut replay = Stream::open(server.addr, &target(&["*"], ""), "Last-Event-ID: between\r\n");
    assert_eq!(up_to_marker(&server, &mut replay, "after2"), ["three", "four", "after", "after2"]);
}

#[test]
fn rule_7_type_and_retry_lines_digits_only_and_private_with_any_value() {
    let Some(server) = hub() else { return };
    let mut stream = watch_all(&server);
    let id = publish(
        server.addr,
        &form(&[("topic", "urn:r7"), ("type", "book.updated"), ("retry", "5000"), ("data", "d")]),
    );
    assert_eq!(stream.next().0, format!("retry: 5000\nid: {id}\nevent: book.updated\ndata: d"));
    for retry in ["-1", "1.5", "abc", "5s", "+5", "0x10", "99999999999999999999999", "٣"] {
        let (status, body) = post_with_token(
            server.addr,
            &publisher(r#""*""#),
            &format!("topic=urn%3Ar7&retry={}", encode(retry)),
        );
        assert_eq!(status, 400, "retry {retry:?}: {body}");
    }
    assert_eq!(up_to_marker(&server, &mut stream, "m"), ["m"], "nothing published with a bad retry");
    // `private` with any value, or none, makes the update private.
    let mut reader = Stream::open(
        server.addr,
        &target(&["*"], ""),
        &format!("Authorization: Bearer {}\r\n", subscriber(r#""*""#)),
    );
    for (at, private) in ["private=on", "private=", "private", "private=false"].iter().enumerate() {
        publish(server.addr, &format!("topic=urn%3Ar7&data=secret{at}&{private}"));
    }
    assert_eq!(up_to_marker(&server, &mut stream, "m2"), ["m2"], "the anonymous stream got a private update");
    assert_eq!(reader.data_until("m2"), ["secret0", "secret1", "secret2", "secret3", "m2"]);
}

#[test]
fn rule_8_cr_lf_or_nul_in_id_or_type_is_400_and_nothing_is_published() {
    let Some(server) = hub() else { return };
    let mut stream = watch_all(&server);
    for field in ["id", "type"] {
        for bad in ["a\rb", "a\nb", "a\r\nb", "a\0b", "\n"] {
            let (status, body) = post_with_token(
                server.addr,
                &publisher(r#""*""#),
                &form(&[("topic", "urn:r8"), (field, bad), ("data", "x")]),
            );
            assert_eq!(status, 400, "{field} {bad:?}: {body}");
        }
    }
    assert_eq!(up_to_marker(&server, &mut stream, "m"), ["m"]);
}

#[test]
fn rule_8_an_id_with_any_control_character_is_400_as_the_head_would_echo_it() {
    // rule 8, and rule 26's header: a found id goes back in the
    // `Last-Event-ID` response header, where RFC 9110 §5.5 allows no
    // control character but HTAB. So an id with one is refused at once
    // (as draft-08 refuses control characters), never stored.
    let Some(server) = hub() else { return };
    let mut stream = watch_all(&server);
    for bad in ["a\u{1}b", "a\tb", "a\u{1b}[31m", "a\u{7f}", "a\u{85}"] {
        let (status, body) =
            post_with_token(server.addr, &publisher(r#""*""#), &form(&[("topic", "urn:r8"), ("id", bad)]));
        assert_eq!(status, 400, "{bad:?}: {body}");
        let resumed =
            Stream::open(server.addr, &target(&["*"], &format!("&lastEventID={}", encode(bad))), "");
        assert_eq!(resumed.header("last-event-id"), Some("earliest"), "{bad:?}: {}", resumed.head);
    }
    assert_eq!(up_to_marker(&server, &mut stream, "m"), ["m"]);
    // Printable Unicode and spaces are ids like any other.
    let id = publish(server.addr, &form(&[("topic", "urn:r8"), ("id", "livre été 1"), ("data", "ok")]));
    assert_eq!(stream.next().id(), id);
}

#[test]
fn rule_9_success_is_200_text_plain_with_the_id_alone_and_errors_never_200() {
    let Some(server) = hub_with(|config| config.events.max_event_bytes = 1024) else { return };
    let answer = post(
        server.addr,
        &format!("Authorization: Bearer {}\r\n", publisher(r#""*""#)),
        "topic=urn%3Ar9&id=the-id",
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(
        header_of(&answer, "content-type").is_some_and(|value| value.starts_with("text/plain")),
        "{answer}"
    );
    assert_eq!(header_of(&answer, "content-length"), Some("6"));
    assert!(answer.ends_with("\r\n\r\nthe-id"), "the id and nothing else: {answer:?}");
    let token = format!("Authorization: Bearer {}\r\n", publisher(r#""*""#));
    let narrow = format!("Authorization: Bearer {}\r\n", publisher(r#""urn:other""#));
    let too_big = format!("topic=urn%3Ar9&data={}", "x".repeat(4 * 1024 + 16 * 1024));
    let no_length = format!("POST {HUB} HTTP/1.1\r\nHost: t\r\n{token}\r\ntopic=urn%3Ar9");
    let errors: [(&str, String, u16); 7] = [
        ("no token", String::from_utf8(post_request("", "topic=urn%3Ar9&id=x")).expect("text"), 401),
        (
            "a bad token",
            String::from_utf8(post_request("Authorization: Bearer a.b.c\r\n", "topic=urn%3Ar9&id=x"))
                .expect("text"),
            401,
        ),
        (
            "a topic not allowed",
            String::from_utf8(post_request(&narrow, "topic=urn%3Ar9&id=x")).expect("text"),
            403,
        ),
        ("no topic", String::from_utf8(post_request(&token, "id=x")).expect("text"), 400),
        (
            "a bad retry",
            String::from_utf8(post_request(&token, "topic=urn%3Ar9&id=x&retry=x")).expect("text"),
            400,
        ),
        ("no Content-Length", no_length, 411),
        ("too large", String::from_utf8(post_request(&token, &too_big)).expect("text"), 413),
    ];
    for (what, request, status) in errors {
        let answer = exchange(&server, request.as_bytes());
        assert_eq!(status_of(&answer), status, "{what}: {answer}");
    }
}

// ---- Topic selectors --------------------------------------------------------

#[test]
fn rule_10_star_exact_templates_and_a_broken_template_matches_only_itself() {
    let Some(server) = hub() else { return };
    let topics =
        ["https://example.com/books/1", "https://example.com/{", "https://example.com/x", "urn:other"];
    assert_eq!(matched(&server, "*", &topics), topics);
    assert_eq!(matched(&server, "https://example.com/books/1", &topics), ["https://example.com/books/1"]);
    assert_eq!(matched(&server, "https://example.com/books/{id}", &topics), ["https://example.com/books/1"]);
    assert_eq!(matched(&server, "https://example.com/{", &topics), ["https://example.com/{"]);
}

#[test]
fn rule_11_template_expressions_match_what_rfc_6570_expands_to() {
    let Some(server) = hub() else { return };
    let books = "https://example.com/books/";
    let candidates: Vec<String> = ["1", "a-b.c_d~e", "%C3%A9", "a,b", "", "1/2", "a:b", "a%2", "é"]
        .iter()
        .map(|id| format!("{books}{id}"))
        .chain(["https://example.com/Books/1".to_owned()])
        .collect();
    let candidates: Vec<&str> = candidates.iter().map(String::as_str).collect();
    let expected: Vec<String> =
        ["1", "a-b.c_d~e", "%C3%A9", "a,b", ""].iter().map(|id| format!("{books}{id}")).collect();
    assert_eq!(matched(&server, "https://example.com/books/{id}", &candidates), expected, "{{id}}");
    let paths = [
        "https://example.com/a/b?c=d&e=f#g",
        "https://example.com/",
        "https://other.com/a",
        "https://example.com/a b",
    ];
    assert_eq!(matched(&server, "https://example.com/{+path}", &paths), &paths[..2], "{{+path}}");
    let docs =
        ["https://example.com/doc#intro", "https://example.com/doc#a/b", "https://example.com/docintro"];
    assert_eq!(matched(&server, "https://example.com/doc{#part}", &docs), &docs[..2], "{{#part}}");
    let searches = [
        "https://example.com/search",
        "https://example.com/search?q=rust",
        "https://example.com/search?x=1",
        "https://example.com/search?q=a/b",
    ];
    assert_eq!(matched(&server, "https://example.com/search{?q}", &searches), &searches[..2], "{{?q}}");
}

#[test]
fn rule_12_topics_are_iris_up_to_2048_bytes_and_queries_are_percent_decoded() {
    let Some(server) = hub_with(|config| {
        config.limits.max_target_bytes = 16 * 1024;
        config.limits.max_head_bytes = 32 * 1024;
    }) else {
        return;
    };
    // src/proto/mercure/iri.rs: MAX_IRI_BYTES = 2048.
    let longest = format!("https://example.com/{}", "é".repeat((2048 - 20) / 2));
    assert_eq!(longest.len(), 2048);
    let one_more = format!("{longest}a");
    let iris = [
        "https://example.com/search?q=a&b=c%20d#top",
        "https://exemple.fr/livres/été",
        "urn:isbn:0-486-27557-4",
        &longest,
    ];
    for iri in iris {
        let mut stream = Stream::open(server.addr, &target(&[iri], ""), "");
        let id = publish(server.addr, &form(&[("topic", iri), ("data", "found")]));
        let block = stream.next();
        assert_eq!((block.id(), block.data().as_str()), (id.as_str(), "found"), "{iri}");
    }
    let (status, body) = post_with_token(server.addr, &publisher(r#""*""#), &form(&[("topic", &one_more)]));
    assert_eq!(status, 400, "{body}");
    assert_eq!(status_of(&refused_get(server.addr, &target(&[&one_more], ""), "")), 400);
    for control in ["a\u{1}b", "a\tb", "a\u{7f}", "a\u{85}"] {
        let (status, body) = post_with_token(server.addr, &publisher(r#""*""#), &form(&[("topic", control)]));
        assert_eq!(status, 400, "{control:?}: {body}");
        assert_eq!(status_of(&refused_get(server.addr, &target(&[control], ""), "")), 400, "{control:?}");
    }
    // `+` in a subscriber's topic is a space, as in a form.
    let mut stream = Stream::open(server.addr, &format!("{HUB}?topic=urn%3Aa+b"), "");
    publish(server.addr, &form(&[("topic", "urn:a b"), ("data", "spaced")]));
    assert_eq!(stream.next().data(), "spaced");
}

// ---- JWT ------------------------------------------------------------------

/// The status of a publish and of a subscription with `token` (Bearer).
fn statuses(server: &TestServer, token: &str) -> (u16, u16) {
    let (publish_status, _) = post_with_token(server.addr, token, "topic=urn%3Ajwt&data=x");
    let header = format!("Authorization: Bearer {token}\r\n");
    let mut socket = server.connect();
    socket
        .write_all(format!("GET {HUB}?topic=*& HTTP/1.1\r\nHost: t\r\n{header}\r\n").as_bytes())
        .expect("send");
    let head = read_until(&mut socket, "\r\n\r\n", 1);
    (publish_status, status_of(&head))
}

#[test]
fn rule_13_only_hs256_with_typ_absent_or_jwt_and_kid_ignored() {
    let Some(server) = hub() else { return };
    let claims = r#"{"mercure":{"publish":["*"],"subscribe":["*"]}}"#;
    let refused = [
        sign_with(r#"{"alg":"none","typ":"JWT"}"#, claims, KEY, "none"),
        sign_with(r#"{"alg":"HS384","typ":"JWT"}"#, claims, KEY, "HS384"),
        sign_with(r#"{"alg":"HS512","typ":"JWT"}"#, claims, KEY, "HS512"),
        sign_with(r#"{"alg":"RS256","typ":"JWT"}"#, claims, KEY, "HS256"),
        sign_with(r#"{"typ":"JWT"}"#, claims, KEY, "HS256"),
        format!("{}=", sign(claims, KEY)),
    ];
    for token in &refused {
        assert_eq!(statuses(&server, token), (401, 401), "{token}");
    }
    for header in
        [r#"{"alg":"HS256"}"#, r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"alg":"HS256","typ":"JWT","kid":"any"}"#]
    {
        assert_eq!(statuses(&server, &sign_with(header, claims, KEY, "HS256")), (200, 200), "{header}");
    }
}

#[test]
fn rule_14_a_signature_by_another_key_or_with_a_changed_byte_is_401() {
    // rule 14. The comparison's constant time is a unit test's
    // (src/proto/token/hmac.rs); here the outcome on the wire.
    let Some(server) = hub() else { return };
    let claims = r#"{"mercure":{"publish":["*"],"subscribe":["*"]}}"#;
    let good = sign(claims, KEY);
    let other = sign(claims, b"another-key-of-32-bytes-or-more-000000");
    let mut flipped = good.clone().into_bytes();
    let last = flipped.len() - 3;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    assert_eq!(statuses(&server, &good), (200, 200));
    assert_eq!(statuses(&server, &other), (401, 401));
    assert_eq!(statuses(&server, &flipped), (401, 401));
}

#[test]
fn rule_15_exp_and_nbf_are_checked_and_other_registered_claims_are_not() {
    let Some(server) = hub() else { return };
    let mercure = r#""mercure":{"publish":["*"],"subscribe":["*"]}"#;
    let now = now();
    let with = |claims: String| sign(&format!("{{{mercure}{claims}}}"), KEY);
    let refused = [
        format!(r#","exp":{}"#, now - 10),
        format!(r#","nbf":{}"#, now + 600),
        format!(r#","exp":{}.5"#, now - 10),
    ];
    for claims in refused {
        assert_eq!(statuses(&server, &with(claims.clone())), (401, 401), "{claims}");
    }
    let accepted = [
        String::new(),
        format!(r#","exp":{}"#, now + 600),
        format!(r#","exp":{}.25"#, now + 600),
        format!(r#","nbf":{}"#, now - 10),
        r#","iat":"not checked","iss":1,"aud":["x"],"sub":null"#.to_owned(),
    ];
    for claims in accepted {
        assert_eq!(statuses(&server, &with(claims.clone())), (200, 200), "{claims}");
    }
}

#[test]
fn rule_16_claims_as_pyjwt_and_the_rust_crate_write_them() {
    let Some(server) = hub() else { return };
    let escaped = r#"{"mercure":{"publish":["https:\/\/example.com\/books\/{id}"],"subscribe":["\u0068ttps://example.com/books/{id}"],"payload":{"user":{"id":7,"admin":false,"tags":[null,true,1.5e3]}}},"extra":{"nested":[[{}]]}}"#;
    let token = sign(escaped, KEY);
    let mut reader =
        Stream::open(server.addr, &target(&["*"], ""), &format!("Authorization: Bearer {token}\r\n"));
    let (status, id) =
        post_with_token(server.addr, &token, "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&private=on&data=p");
    assert_eq!(status, 200, "{id}");
    let (status, _) = post_with_token(server.addr, &token, "topic=https%3A%2F%2Fexample.com%2Fother");
    assert_eq!(status, 403, "the unescaped selector does not grant other topics");
    assert_eq!(reader.next().id(), id);
    // Looser than JSON (a single-quoted string, a trailing comma) is refused.
    for loose in [r#"{"mercure":{"publish":['*']}}"#, r#"{"mercure":{"publish":["*"],}}"#] {
        assert_eq!(statuses(&server, &sign(loose, KEY)).0, 401, "{loose}");
    }
}

#[test]
fn rule_17_the_first_token_source_present_is_the_only_one_used() {
    let Some(server) = hub() else { return };
    let good = subscriber(r#""urn:r17""#);
    let bad = "e30.e30.bad";
    let cookie = |token: &str| format!("Cookie: theme=dark; mercureAuthorization={token}; x=1\r\n");
    let bearer = |token: &str| format!("Authorization: Bearer {token}\r\n");
    let cases = [
        ("header beats query", format!("&authorization={bad}"), bearer(&good), true),
        ("a bad header is not saved by the query", format!("&authorization={good}"), bearer(bad), false),
        ("query beats cookie", format!("&authorization={good}"), cookie(bad), true),
        ("a bad query is not saved by the cookie", format!("&authorization={bad}"), cookie(&good), false),
        ("the cookie among others", String::new(), cookie(&good), true),
    ];
    let mut readers = Vec::new();
    for (what, query, headers, allowed) in cases {
        let target = target(&["urn:r17", "urn:marker"], &query);
        if allowed {
            readers.push((what, Stream::open(server.addr, &target, &headers)));
        } else {
            assert_eq!(status_of(&refused_get(server.addr, &target, &headers)), 401, "{what}");
        }
    }
    publish(server.addr, "topic=urn%3Ar17&data=private&private=on");
    publish(server.addr, "topic=urn%3Amarker&data=m");
    for (what, mut reader) in readers {
        assert_eq!(reader.data_until("m"), ["private", "m"], "{what}");
    }
}

// ---- Who may publish and read what ------------------------------------------

#[test]
fn rule_18_every_topic_must_be_allowed_else_401_or_403_and_nothing_is_published() {
    let Some(server) = hub() else { return };
    let mut all = watch_all(&server);
    let body = form(&[("topic", "https://example.com/books/1"), ("topic", "urn:alt"), ("data", "x")]);
    let cases = [
        ("no token", String::new(), 401),
        ("a bad token", "Authorization: Bearer x.y.z\r\n".to_owned(), 401),
        (
            "the canonical topic only",
            format!("Authorization: Bearer {}\r\n", publisher(r#""https://example.com/books/{id}""#)),
            403,
        ),
        ("the alternate only", format!("Authorization: Bearer {}\r\n", publisher(r#""urn:alt""#)), 403),
        ("an empty array", format!("Authorization: Bearer {}\r\n", publisher("")), 403),
        ("a subscriber's token", format!("Authorization: Bearer {}\r\n", subscriber(r#""*""#)), 403),
    ];
    for (what, headers, status) in cases {
        let answer = post(server.addr, &headers, &body);
        assert_eq!(status_of(&answer), status, "{what}: {answer}");
    }
    assert_eq!(up_to_marker(&server, &mut all, "m"), ["m"], "nothing published");
    let both = publisher(r#""https://example.com/books/{id}","urn:alt""#);
    let (status, _) = post_with_token(server.addr, &both, &body);
    assert_eq!(status, 200);
    assert_eq!(all.next().data(), "x");
}

#[test]
fn rule_19_a_post_by_cookie_alone_needs_origin_or_referer() {
    let Some(server) = hub() else { return };
    let mut all = watch_all(&server);
    let cookie = format!("Cookie: mercureAuthorization={}\r\n", publisher(r#""*""#));
    let body = "topic=urn%3Ar19&data=csrf";
    let refused = post(server.addr, &cookie, body);
    assert!(matches!(status_of(&refused), 401 | 403), "{refused}");
    assert_eq!(up_to_marker(&server, &mut all, "m"), ["m"], "nothing published");
    for extra in [format!("Origin: {PAGE}\r\n"), format!("Referer: {PAGE}/page?x=1\r\n")] {
        let answer = post(server.addr, &format!("{cookie}{extra}"), "topic=urn%3Ar19&data=ok");
        assert_eq!(status_of(&answer), 200, "{extra}: {answer}");
        assert_eq!(all.next().data(), "ok");
    }
    // An Origin or Referer says which page sent the form: with
    // `--cors-origin` listing origins, a page of another one is refused
    // (as the Mercure.rocks hub checks its publish origins).
    for extra in [
        "Origin: http://evil.test\r\n".to_owned(),
        "Referer: http://evil.test/page\r\n".to_owned(),
        format!("Referer: {PAGE}.evil.test/\r\n"),
        format!("Origin: http://evil.test\r\nReferer: {PAGE}/\r\n"),
        "Origin: null\r\n".to_owned(),
    ] {
        let answer = post(server.addr, &format!("{cookie}{extra}"), "topic=urn%3Ar19&data=csrf");
        assert_eq!(status_of(&answer), 403, "{extra}: {answer}");
    }
    assert_eq!(up_to_marker(&server, &mut all, "m2"), ["m2"], "nothing published");
    // A bearer token is no cookie: any page may publish with it.
    let bearer = format!("Authorization: Bearer {}\r\nOrigin: http://evil.test\r\n", publisher(r#""*""#));
    assert_eq!(status_of(&post(server.addr, &bearer, "topic=urn%3Ar19&data=bearer")), 200);
}

#[test]
fn rule_20_no_token_reads_public_updates_and_an_invalid_token_is_401_from_any_source() {
    let Some(server) = hub() else { return };
    let mut anonymous = Stream::open(server.addr, &target(&["urn:r20", "urn:marker"], ""), "");
    publish(server.addr, "topic=urn%3Ar20&data=secret&private=on");
    publish(server.addr, "topic=urn%3Ar20&data=public");
    assert_eq!(anonymous.data(1), ["public"]);
    let expired = sign(&format!(r#"{{"exp":{},"mercure":{{"subscribe":["*"]}}}}"#, now() - 5), KEY);
    for (query, headers) in [
        (format!("&authorization={expired}"), String::new()),
        (String::new(), format!("Authorization: Bearer {expired}\r\n")),
        (String::new(), format!("Cookie: mercureAuthorization={expired}\r\n")),
        (String::new(), "Authorization: Bearer not-a-jws\r\n".to_owned()),
    ] {
        let answer = refused_get(server.addr, &target(&["urn:r20"], &query), &headers);
        assert_eq!(status_of(&answer), 401, "{query} {headers}: {answer}");
        assert!(header_of(&answer, "www-authenticate").is_some(), "{answer}");
    }
}

#[test]
fn rule_21_private_updates_reach_a_token_for_any_of_their_topics_live_and_on_replay() {
    let Some(server) = hub() else { return };
    let (canonical, alternate) = ("https://example.com/books/1", "https://example.com/users/7/books");
    let bearer = |selectors: &str| format!("Authorization: Bearer {}\r\n", subscriber(selectors));
    // (what, topic selectors of the subscription, its token, gets it)
    let cases = [
        (
            "canonical followed, alternate in the token",
            canonical,
            bearer(r#""https://example.com/users/{id}/books""#),
            true,
        ),
        (
            "alternate followed, canonical in the token",
            alternate,
            bearer(r#""https://example.com/books/{id}""#),
            true,
        ),
        (
            "followed by template, token for the canonical",
            "https://example.com/{+any}",
            bearer(r#""https://example.com/books/1""#),
            true,
        ),
        ("token for another topic", canonical, bearer(r#""https://example.com/books/2""#), false),
        ("a token that reads everything, topic not followed", "urn:elsewhere", bearer(r#""*""#), false),
        ("no token", canonical, String::new(), false),
    ];
    let mut streams: Vec<(&str, Stream, bool)> = cases
        .iter()
        .map(|(what, selector, headers, gets)| {
            (*what, Stream::open(server.addr, &target(&[selector, "urn:marker"], ""), headers), *gets)
        })
        .collect();
    let first = publish(server.addr, &form(&[("topic", "urn:before"), ("data", "before")]));
    publish(
        server.addr,
        &form(&[("topic", canonical), ("topic", alternate), ("data", "secret"), ("private", "on")]),
    );
    publish(server.addr, &form(&[("topic", "urn:marker"), ("data", "m")]));
    for (what, stream, gets) in &mut streams {
        let expected: &[&str] = if *gets { &["secret", "m"] } else { &["m"] };
        assert_eq!(stream.data_until("m"), expected, "live: {what}");
    }
    // The same rule on replay.
    for (what, selector, headers, gets) in &cases {
        let headers = format!("{headers}Last-Event-ID: {first}\r\n");
        let mut stream = Stream::open(server.addr, &target(&[selector, "urn:marker"], ""), &headers);
        let expected: &[&str] = if *gets { &["secret", "m"] } else { &["m"] };
        assert_eq!(stream.data_until("m"), expected, "replay: {what}");
    }
}

#[test]
fn rule_22_a_stream_ends_by_its_token_exp_and_the_token_is_then_refused() {
    let Some(server) = hub() else { return };
    let exp = now() + 2;
    let token = sign(&format!(r#"{{"exp":{exp},"mercure":{{"subscribe":["*"]}}}}"#), KEY);
    let mut stream =
        Stream::open(server.addr, &target(&["*"], ""), &format!("Authorization: Bearer {token}\r\n"));
    let opened = Instant::now();
    let mut rest = Vec::new();
    stream.socket.read_to_end(&mut rest).expect("the hub closes the stream");
    assert!(opened.elapsed() <= Duration::from_millis(2500), "closed after {:?}", opened.elapsed());
    assert!(now() <= exp, "closed no later than exp");
    support::eventually(Duration::from_secs(3), "exp passed", || now() > exp);
    let answer = refused_get(server.addr, &target(&["*"], ""), &format!("Authorization: Bearer {token}\r\n"));
    assert_eq!(status_of(&answer), 401, "{answer}");
}

#[test]
fn rule_23_heartbeat_comments_keep_a_silent_stream_open_after_mercure_heartbeat() {
    // rule 23's stream, kept through proxies: `--mercure-heartbeat`.
    let Some(server) = hub_with(|config| config.timeouts.mercure_heartbeat = Duration::from_millis(100))
    else {
        return;
    };
    let mut stream = Stream::open(server.addr, &target(&["urn:quiet"], ""), "");
    let started = Instant::now();
    read_until(&mut stream.socket, ": keep-alive\n\n", 2);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn rule_23_a_subscription_sends_its_head_at_once_before_any_event() {
    let Some(server) = hub() else { return };
    let started = Instant::now();
    let stream = Stream::open(server.addr, &target(&["urn:quiet"], ""), "");
    assert!(started.elapsed() < Duration::from_secs(2), "head after {:?}", started.elapsed());
    assert!(stream.head.starts_with("HTTP/1.1 200 OK\r\n"), "{}", stream.head);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        stream.header("cache-control"),
        Some("private, no-cache, no-store, must-revalidate, max-age=0")
    );
}

// ---- History and reconnection -----------------------------------------------

/// Publishes `count` updates on `topic` (data `prefix0`, `prefix1`, …); their ids.
fn publish_many(server: &TestServer, topic: &str, prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|at| publish(server.addr, &form(&[("topic", topic), ("data", &format!("{prefix}{at}"))])))
        .collect()
}

#[test]
fn rule_24_the_last_event_id_header_beats_the_last_event_id_query() {
    let Some(server) = hub() else { return };
    let ids = publish_many(&server, "urn:r24", "e", 4);
    let target = target(&["urn:r24", "urn:marker"], &format!("&lastEventID={}", encode(&ids[0])));
    let mut by_query = Stream::open(server.addr, &target, "");
    assert_eq!(by_query.data(3), ["e1", "e2", "e3"]);
    let mut both = Stream::open(server.addr, &target, &format!("Last-Event-ID: {}\r\n", ids[2]));
    assert_eq!(both.header("last-event-id"), Some(ids[2].as_str()));
    assert_eq!(up_to_marker(&server, &mut both, "m"), ["e3", "m"]);
}

#[test]
fn rule_25_a_known_id_replays_what_followed_in_order_then_live_and_earliest_replays_all() {
    let Some(server) = hub() else { return };
    let ids = publish_many(&server, "urn:r25", "old", 3);
    publish(server.addr, "topic=urn%3Aunfollowed&data=not-mine");
    publish(server.addr, "topic=urn%3Ar25&data=hidden&private=on");
    publish(server.addr, "topic=urn%3Ar25&data=old3");
    let mut stream = Stream::open(
        server.addr,
        &target(&["urn:r25", "urn:marker"], ""),
        &format!("Last-Event-ID: {}\r\n", ids[0]),
    );
    publish(server.addr, "topic=urn%3Ar25&data=live");
    assert_eq!(up_to_marker(&server, &mut stream, "m"), ["old1", "old2", "old3", "live", "m"]);
    let mut earliest = Stream::open(server.addr, &target(&["urn:r25"], "&lastEventID=earliest"), "");
    assert_eq!(earliest.data(5), ["old0", "old1", "old2", "old3", "live"]);
}

#[test]
fn rule_26_the_response_says_which_last_event_id_it_resumed_from() {
    let Some(server) = hub() else { return };
    let ids = publish_many(&server, "urn:r26", "e", 2);
    let head = |headers: &str, query: &str| {
        Stream::open(server.addr, &target(&["urn:r26"], query), headers)
            .header("last-event-id")
            .map(str::to_owned)
    };
    assert_eq!(head("", ""), None, "no id asked, no header");
    assert_eq!(head(&format!("Last-Event-ID: {}\r\n", ids[0]), ""), Some(ids[0].clone()));
    assert_eq!(head("", &format!("&lastEventID={}", encode(&ids[1]))), Some(ids[1].clone()));
    assert_eq!(head("", "&lastEventID=earliest"), Some("earliest".to_owned()));
    // Unknown: ssed replays what it holds, so nothing precedes it.
    let mut unknown =
        Stream::open(server.addr, &target(&["urn:r26"], ""), "Last-Event-ID: never-published\r\n");
    assert_eq!(unknown.header("last-event-id"), Some("earliest"));
    assert_eq!(unknown.data(2), ["e0", "e1"]);
}

// ---- Browsers (CORS with credentials) ---------------------------------------

#[test]
fn rule_27_a_listed_origin_gets_itself_and_credentials_on_streams_and_publishes() {
    let Some(server) = hub() else { return };
    let origin = format!("Origin: {PAGE}\r\n");
    let stream = Stream::open(server.addr, &target(&["*"], ""), &origin);
    let publish_answer = post(
        server.addr,
        &format!("{origin}Authorization: Bearer {}\r\n", publisher(r#""*""#)),
        "topic=urn%3Ar27",
    );
    let refused_answer = post(server.addr, &origin, "topic=urn%3Ar27");
    for (what, head) in
        [("stream", stream.head.clone()), ("publish", publish_answer), ("refusal", refused_answer)]
    {
        assert_eq!(header_of(&head, "access-control-allow-origin"), Some(PAGE), "{what}: {head}");
        assert_eq!(header_of(&head, "access-control-allow-credentials"), Some("true"), "{what}: {head}");
    }
    let elsewhere = Stream::open(server.addr, &target(&["*"], ""), "Origin: http://evil.test\r\n");
    assert_eq!(elsewhere.header("access-control-allow-origin"), None, "{}", elsewhere.head);
}

#[test]
fn rule_28_a_preflight_allows_post_and_the_mercure_headers_with_credentials() {
    let Some(server) = hub() else { return };
    let answer = exchange(
        &server,
        format!(
            "OPTIONS {HUB} HTTP/1.1\r\nHost: t\r\nOrigin: {PAGE}\r\nAccess-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: authorization\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(status_of(&answer), 204, "{answer}");
    assert_eq!(header_of(&answer, "access-control-allow-origin"), Some(PAGE));
    assert_eq!(header_of(&answer, "access-control-allow-credentials"), Some("true"));
    let methods = header_of(&answer, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.split(", ").any(|method| method == "POST"), "{answer}");
    let allowed = header_of(&answer, "access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    for header in ["authorization", "cache-control", "last-event-id"] {
        assert!(allowed.split(", ").any(|name| name == header), "{header}: {answer}");
    }
}

#[test]
fn rule_29_a_cross_origin_stream_with_the_cookie_gets_the_private_updates_it_may_read() {
    // rule 29 as the bytes a browser sends; tests/mercure_clients.rs
    // has real Chromium's `EventSource` with `withCredentials`.
    let Some(server) = hub() else { return };
    let headers = format!(
        "Origin: {PAGE}\r\nCookie: mercureAuthorization={}\r\nAccept: text/event-stream\r\n",
        subscriber(r#""https://example.com/books/{id}""#)
    );
    let mut stream =
        Stream::open(server.addr, &target(&["https://example.com/books/1", "urn:marker"], ""), &headers);
    assert_eq!(stream.header("access-control-allow-origin"), Some(PAGE));
    assert_eq!(stream.header("access-control-allow-credentials"), Some("true"));
    publish(server.addr, "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=mine&private=on");
    assert_eq!(up_to_marker(&server, &mut stream, "m"), ["mine", "m"]);
}

// ---- Beyond the rules ------------------------------------------------------

#[test]
fn one_hub_behind_events_and_the_mercure_endpoint() {
    let Some(server) = hub() else { return };
    let token = publisher(r#""*""#);
    let mut mercure = Stream::open(server.addr, &target(&["rooms/{name}"], ""), "");
    let mut events = support::subscribe(&server, "/events?topic=rooms/a", "");
    let answer = exchange(
        &server,
        format!("POST /publish?topic=rooms/a HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: 9\r\n\r\nfrom-ssed").as_bytes(),
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
    let id = answer.split_once("\r\n\r\n").map(|(_, body)| body.trim().to_owned()).expect("an id");
    let block = mercure.next();
    assert_eq!((block.id(), block.data().as_str()), (id.as_str(), "from-ssed"));
    assert_eq!(events.data(1), ["from-ssed"]);
    let id = publish(server.addr, "topic=rooms%2Fa&data=from-mercure");
    let block = mercure.next();
    assert_eq!((block.id(), block.data().as_str()), (id.as_str(), "from-mercure"));
    let seen = events.events(1);
    assert!(seen.contains(&format!("id: {id}\n")) && seen.contains("data: from-mercure\n"), "{seen}");
}

#[test]
fn a_restart_with_the_journal_replays_mercure_updates_exactly() {
    if !signer_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ssed-mercure-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let journal = dir.join("events.journal");
    let run = || {
        let mut command = std::process::Command::new(support::SSED);
        command
            .args(["--addr", "127.0.0.1:0", "--journal"])
            .arg(&journal)
            .env("SSED_JWT_KEY", std::str::from_utf8(KEY).expect("text key"));
        support::run_command(command)
    };
    let reader = format!("Authorization: Bearer {}\r\n", subscriber(r#""*""#));
    let updates = [
        form(&[("topic", "urn:first"), ("data", "start")]),
        form(&[
            ("topic", "https://example.com/books/1"),
            ("topic", "urn:alt:a"),
            ("topic", "urn:alt:b"),
            ("id", "book-1"),
            ("type", "book.updated"),
            ("retry", "7000"),
            ("data", "two\nlines"),
            ("private", "on"),
        ]),
        form(&[("topic", "urn:alt:a"), ("data", "made id")]),
        form(&[("topic", "urn:other"), ("id", "book-1"), ("data", "duplicate id")]),
    ];
    let (first_id, before) = {
        let server = run();
        let mut stream = Stream::open(server.addr, &target(&["*"], ""), &reader);
        let ids: Vec<String> = updates.iter().map(|body| publish(server.addr, body)).collect();
        let blocks: Vec<Block> = (0..updates.len()).map(|_| stream.next()).collect();
        (ids[0].clone(), blocks)
    };
    assert_eq!(before[1].0, "retry: 7000\nid: book-1\nevent: book.updated\ndata: two\ndata: lines");
    let server = run();
    // Exactly the same blocks after the restart, to a reader of everything,
    // and a follower of an alternate gets the update filed under it.
    let mut replay =
        Stream::open(server.addr, &target(&["*"], ""), &format!("{reader}Last-Event-ID: {first_id}\r\n"));
    assert_eq!(replay.header("last-event-id"), Some(first_id.as_str()));
    let after: Vec<Block> = (1..updates.len()).map(|_| replay.next()).collect();
    assert_eq!(after, before[1..]);
    let mut alternate = Stream::open(server.addr, &target(&["urn:alt:b"], "&lastEventID=earliest"), &reader);
    assert_eq!(alternate.next(), before[1]);
    // Private stays private; the anonymous reader gets the public ones.
    let mut anonymous = Stream::open(server.addr, &target(&["*"], "&lastEventID=earliest"), "");
    let public: Vec<Block> = (0..3).map(|_| anonymous.next()).collect();
    assert_eq!(public, [before[0].clone(), before[2].clone(), before[3].clone()]);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The two fences between README.md's Mercure transcript markers: each
/// one's command (with its `\`-continued lines, for `sh`) and output lines.
fn readme_mercure_transcript() -> Vec<(String, Vec<String>)> {
    let readme = include_str!("../README.md");
    let start = readme.find("<!-- mercure-transcript:start -->").expect("start marker");
    let end = readme.find("<!-- mercure-transcript:end -->").expect("end marker");
    readme[start..end]
        .split("```text\n")
        .skip(1)
        .map(|fence| {
            let body = fence.split_once("```").expect("closing fence").0;
            let mut lines = body.lines();
            let mut command = Vec::new();
            for line in lines.by_ref() {
                command.push(line.strip_prefix("$ ").unwrap_or(line));
                if !line.ends_with('\\') {
                    break;
                }
            }
            (command.join("\n"), lines.map(str::to_owned).collect())
        })
        .collect()
}

#[test]
fn readme_mercure_transcript_is_what_curl_shows() {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    if !support::have_program("curl", "--version") {
        return;
    }
    let server = start(with_key);
    let fences = readme_mercure_transcript();
    let [(subscribe, expected_stream), (publish, expected_answer)] = &fences[..] else {
        panic!("two fences: {fences:?}")
    };
    let here = |command: &str| command.replace("127.0.0.1:8080", &server.addr.to_string());
    let ssed_dir = std::path::Path::new(support::SSED).parent().expect("the binary's folder");
    let path = format!("{}:{}", ssed_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut subscriber = Command::new("sh")
        .args(["-c", &format!("exec {}", here(subscribe))])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start curl");
    let lines = support::lines_of(subscriber.stdout.take().expect("piped"));
    let mut seen = Vec::new();
    let next_line = |seen: &mut Vec<String>| {
        let line = lines.recv_timeout(Duration::from_secs(10)).expect("curl prints the next line");
        seen.push(if line.starts_with("Date: ") { "Date: <date>".to_owned() } else { line });
    };
    while seen.last().map(String::as_str) != Some("retry: 3000") {
        next_line(&mut seen);
    }
    let answer = Command::new("timeout")
        .args(["20", "sh", "-c", &here(publish)])
        .env("SSED_JWT_KEY", std::str::from_utf8(KEY).expect("text key"))
        .env("PATH", path)
        .output()
        .expect("run the publish command");
    assert!(answer.status.success(), "{}", String::from_utf8_lossy(&answer.stderr));
    assert_eq!(String::from_utf8_lossy(&answer.stdout), expected_answer.join("\n"));
    while seen.len() < expected_stream.len() {
        next_line(&mut seen);
    }
    support::kill_process_group(&mut subscriber);
    let expected: Vec<String> = expected_stream
        .iter()
        .map(|line| if line.starts_with("Date: ") { "Date: <date>".to_owned() } else { line.clone() })
        .collect();
    assert_eq!(seen, expected);
}
