//! The README's ten wire rules, held to a real browser: a hand-written
//! event stream, one byte sequence per rule, sent from a bare socket to
//! headless Chromium's own `EventSource`, and what the page received.
//! Skipped with a note where Chromium is not installed; required in CI.

mod support;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use support::browser::Browser;
use support::start;

/// The stream: each part, and the rule of README.md's list it shows.
const STREAM: &[(u8, &str)] = &[
    (7, "retry: 300\n"),
    (8, ": a comment, ignored\n"),
    (2, "data:no space\n\n"),
    (2, "data:  two spaces\n\n"),
    (1, "data: caf\u{e9}, in UTF-8\n\n"),
    (4, "data: a\ndata: b\n\n"),
    (5, "event: ping\ndata: named\n\n"),
    (6, "id: 7\n"),
    (9, "colour: ignored\n"),
    (4, "\n"), // an event with an id and no data: not delivered
    (1, "data: crlf\r\n\r\n"),
    (1, "data: cr\r\r"),
    (3, "data: the stream ends in the middle of this one\n"),
];

/// The next connection to `listener`, within 5 s.
fn accept_within_5_s(listener: &TcpListener, what: &str) -> TcpStream {
    listener.set_nonblocking(true).expect("nonblocking");
    let started = Instant::now();
    loop {
        match listener.accept() {
            Ok((socket, _)) => {
                socket.set_nonblocking(false).expect("blocking");
                socket.set_read_timeout(Some(support::IO_TIMEOUT)).expect("timeout");
                return socket;
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(started.elapsed() < Duration::from_secs(5), "no {what} within 5 s");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(error) => panic!("accept: {error}"),
        }
    }
}

#[test]
fn the_readme_wire_rules_hold_in_chromium() {
    let readme = include_str!("../README.md");
    let rules = readme.split("The wire rules in ten lines").nth(1).expect("the wire rules in README.md");
    assert!(rules.contains("\n10. "), "ten rules");
    for (rule, _) in STREAM {
        assert!(rules.contains(&format!("\n{rule}. ")), "rule {rule} in README.md");
    }

    // The page comes from ssed; the stream from a bare socket beside it.
    let server = start(|_| {});
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let stream_url = format!("http://{}/stream", listener.local_addr().expect("address"));
    let Some(mut browser) = Browser::open(&server.url("/healthz")) else { return };
    browser.eval(&format!(
        "window.got = {{ messages: [], pings: [], errors: 0 }};
         window.source = new EventSource('{stream_url}');
         source.onmessage = (event) => got.messages.push([event.data, event.lastEventId]);
         source.addEventListener('ping', (event) => got.pings.push(event.data));
         source.onerror = () => got.errors++;
         'listening'"
    ));

    let mut first = accept_within_5_s(&listener, "first connection");
    let head = support::read_until(&mut first, "\r\n\r\n", 1);
    assert!(head.starts_with("GET /stream HTTP/1.1\r\n"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("last-event-id"), "{head}");
    let mut bytes = String::from(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nAccess-Control-Allow-Origin: *\r\n\
         Connection: close\r\n\r\n",
    );
    bytes.extend(STREAM.iter().map(|(_, part)| *part));
    first.write_all(bytes.as_bytes()).expect("send the stream");
    drop(first); // rule 10: the stream ends, and the browser comes back.
    let ended = Instant::now();

    let mut second = accept_within_5_s(&listener, "reconnect");
    // Rule 7: after `retry: 300`, not the browser's default of 3 s.
    let waited = ended.elapsed();
    assert!(waited >= Duration::from_millis(250) && waited < Duration::from_millis(2500), "{waited:?}");
    let head = support::read_until(&mut second, "\r\n\r\n", 1);
    // Rule 6: the last id comes back.
    assert!(head.to_ascii_lowercase().contains("\r\nlast-event-id: 7\r\n"), "{head}");
    // Rule 10: any answer but a 200 event stream ends the EventSource.
    second.write_all(b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\n\r\n").expect("send 204");
    drop(second);
    browser.wait_until(Duration::from_secs(5), "the EventSource closed for good", "source.readyState === 2");

    assert_eq!(
        browser.eval("JSON.stringify(got.messages)"),
        concat!(
            r#"[["no space",""],[" two spaces",""],["café, in UTF-8",""],["a\nb",""],"#,
            r#"["crlf","7"],["cr","7"]]"#
        ),
        "rules 1 to 4, 6, 8 and 9"
    );
    assert_eq!(browser.eval("JSON.stringify(got.pings)"), r#"["named"]"#, "rule 5");
}
