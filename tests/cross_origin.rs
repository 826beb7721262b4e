//! A page of another origin reads ssed with credentials (Mercure rules
//! 27–29): real Chromium, one ssed serving the page, another the events.
//!
//! ```text
//! page  http://127.0.0.1:Q/   sets  mercureAuthorization=<token>  (cookies ignore the port)
//!   new EventSource('http://127.0.0.1:P/events?topic=users/42', { withCredentials: true })
//!     GET /events?topic=users/42      Origin: http://127.0.0.1:Q   Cookie: mercureAuthorization=…
//!     200  Access-Control-Allow-Origin: http://127.0.0.1:Q
//!          Access-Control-Allow-Credentials: true   Vary: Origin
//! ```
//!
//! Skipped with a note where Chromium is not installed; required in CI.

mod support;

use std::time::Duration;

use support::browser::Browser;
use support::{exchange, start, TestServer};

/// A key of 48 bytes.
const KEY: &str = "cross-origin-key-of-forty-eight-bytes-0123456789";
const PUBLISH_TOKEN: &str = "s3cret";

fn key_options() -> ssed::AuthOptions {
    ssed::AuthOptions {
        key: Some(ssed::KeySource::Environment(ssed::Secret(KEY.to_owned()))),
        publisher_key: None,
        subscriber_key: None,
        previous_key: None,
        anonymous: true,
    }
}

/// A token signed with [`KEY`] that reads the private events of `topic`.
fn subscriber_token(topic: &str) -> String {
    let request = ssed::TokenRequest {
        subscribe: vec![topic.to_owned()],
        publish: Vec::new(),
        ttl: None,
        auth: key_options(),
    };
    ssed::mint_token(&request).expect("mint a token")
}

/// The server whose events a page of `page_origin` reads.
fn events_server(page_origin: &str) -> TestServer {
    let page_origin = page_origin.to_owned();
    start(move |config| {
        config.auth = Some(key_options());
        config.cors_origins = vec![page_origin];
        config.events.publish_token = Some(ssed::Secret(PUBLISH_TOKEN.to_owned()));
    })
}

#[test]
fn a_cross_origin_event_source_with_credentials_sends_the_cookie_and_reads_private_events() {
    let pages = start(|_| {});
    let page_origin = format!("http://{}", pages.addr);
    let hub = events_server(&page_origin);
    let Some(mut browser) = Browser::open(&pages.url("/")) else { return };
    let token = subscriber_token("users/42");
    let stream_url = hub.url("/events?topic=users/42");

    // The page's own site sets the cookie; the hub is another origin of it.
    browser.eval(&format!(
        "document.cookie = 'mercureAuthorization={token}; path=/; SameSite=Strict';
         window.got = {{ credentialed: [], plain: [] }};
         window.credentialed = new EventSource('{stream_url}', {{ withCredentials: true }});
         credentialed.onmessage = (event) => got.credentialed.push(event.data);
         window.plain = new EventSource('{stream_url}');
         plain.onmessage = (event) => got.plain.push(event.data);
         'opened'"
    ));
    support::eventually(Duration::from_secs(10), "both streams on the hub", || {
        hub.handle.live_streams() == 2
    });
    browser.wait_until(
        Duration::from_secs(5),
        "both streams open",
        "credentialed.readyState === EventSource.OPEN && plain.readyState === EventSource.OPEN",
    );

    let users_42 = hub.handle.publisher().on_topic("users/42").expect("topic");
    users_42.private().publish(None, "for user 42 only").expect("publish");
    users_42.publish(None, "for everyone").expect("publish");
    browser.wait_until(
        Duration::from_secs(5),
        "the public event on both streams",
        "got.credentialed.includes('for everyone') && got.plain.includes('for everyone')",
    );
    // The cookie went with the credentialed stream only: it alone reads
    // the private event, and before the public one, in publish order.
    assert_eq!(browser.eval("JSON.stringify(got.credentialed)"), r#"["for user 42 only","for everyone"]"#);
    assert_eq!(browser.eval("JSON.stringify(got.plain)"), r#"["for everyone"]"#);

    // A publish from the page with `Authorization` is preflighted (rule
    // 28); the browser lets the page read the answer, the event's id.
    let answer = browser.eval(&format!(
        "fetch('{}', {{ method: 'POST', headers: {{ Authorization: 'Bearer {PUBLISH_TOKEN}' }}, body: 'from the page' }})
             .then(async (response) => response.status + ' ' + (await response.text()).trim())",
        hub.url("/publish?topic=users/42")
    ));
    assert!(answer.starts_with("200 ") && answer.contains('-'), "{answer}");
    browser.wait_until(
        Duration::from_secs(5),
        "the page's own event",
        "got.credentialed.includes('from the page') && got.plain.includes('from the page')",
    );
}

#[test]
fn a_page_of_an_origin_not_listed_cannot_read_the_stream() {
    let pages = start(|_| {});
    // Listed: http://127.0.0.1:Q. The page is at http://localhost:Q: the
    // same server, another origin.
    let hub = events_server(&format!("http://{}", pages.addr));
    let page_url = format!("http://localhost:{}/", pages.addr.port());
    let Some(mut browser) = Browser::open(&page_url) else { return };
    browser.eval(&format!(
        "window.refused = new EventSource('{}', {{ withCredentials: true }});
         window.errors = 0;
         refused.onerror = () => errors += 1;
         'opened'",
        hub.url("/events?topic=users/42")
    ));
    // No Access-Control-Allow-Origin for it: the browser fails the
    // EventSource for good, it does not retry.
    browser.wait_until(
        Duration::from_secs(10),
        "the EventSource failed",
        "errors > 0 && refused.readyState === EventSource.CLOSED",
    );
}

#[test]
fn a_preflight_from_a_listed_origin_allows_post_and_the_token_headers() {
    let origin = "http://127.0.0.1:9";
    let hub = events_server(origin);
    for path in ["/publish", "/events"] {
        let answer = exchange(
            &hub,
            format!(
                "OPTIONS {path} HTTP/1.1\r\nHost: t\r\nOrigin: {origin}\r\n\
                 Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization\r\n\r\n"
            )
            .as_bytes(),
        );
        let head = answer.split("\r\n\r\n").next().unwrap_or_default();
        let header = |name: &str| {
            head.lines()
                .find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
                })
                .unwrap_or_else(|| panic!("{path}: no {name} in {head}"))
        };
        assert!(head.starts_with("HTTP/1.1 204 "), "{path}: {head}");
        assert_eq!(header("Access-Control-Allow-Origin"), origin, "{path}");
        assert_eq!(header("Access-Control-Allow-Credentials"), "true", "{path}");
        assert_eq!(header("Vary"), "Origin", "{path}");
        let allowed_headers = header("Access-Control-Allow-Headers").to_ascii_lowercase();
        for needed in ["authorization", "cache-control", "last-event-id"] {
            assert!(
                allowed_headers.split(',').any(|name| name.trim() == needed),
                "{path}: {allowed_headers}"
            );
        }
        if path == "/publish" {
            let methods = header("Access-Control-Allow-Methods");
            assert!(methods.split(',').any(|method| method.trim() == "POST"), "{path}: {methods}");
        }
    }
    // Another origin is told nothing that would let its page read or send.
    let answer = exchange(
        &hub,
        b"OPTIONS /publish HTTP/1.1\r\nHost: t\r\nOrigin: http://evil.example\r\n\
          Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization\r\n\r\n",
    );
    let head = answer.split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase();
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    assert!(!head.contains("access-control-allow-credentials"), "{head}");
}
