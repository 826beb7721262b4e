//! The demo page (`GET /`), in headless Chromium, as a new user meets it:
//! two tabs of it in one browser each receive and publish, it shows the
//! very code it runs, it says that a new stream gets live events only and
//! offers the history, its publish form reaches the topics ticked, and a
//! private topic reaches only the tab whose token may read it.
//! Skipped with a note where Chromium is not installed; required in CI.

mod support;

use std::time::Duration;

use support::browser::Browser;
use support::{exchange, get, start, TestServer};

const TOKEN: &str = "s3cret";

fn with_token() -> TestServer {
    start(|config| config.events.publish_token = Some(ssed::Secret(TOKEN.to_owned())))
}

/// A number shown on the page, by element id.
fn number(browser: &mut Browser, id: &str) -> u64 {
    let text = browser.eval(&format!("document.getElementById('{id}').textContent"));
    text.parse().unwrap_or_else(|_| panic!("{id}: not a number: {text:?}"))
}

/// Fills the page's publish form and sends it; the answer it shows.
fn publish_from_page(browser: &mut Browser, topic: &str, event: &str, data: &str, token: &str) -> String {
    publish_from_page_as(browser, topic, event, data, token, false)
}

/// [`publish_from_page`], with the form's "private" box ticked or not.
fn publish_from_page_as(
    browser: &mut Browser,
    topic: &str,
    event: &str,
    data: &str,
    token: &str,
    private: bool,
) -> String {
    browser.eval(&format!(
        "document.getElementById('publish-answer').textContent = 'pending';
         document.getElementById('publish-private').checked = {private};
         document.getElementById('publish-topic').value = '{topic}';
         document.getElementById('publish-event').value = '{event}';
         document.getElementById('publish-data').value = '{data}';
         document.getElementById('publish-token').value = '{token}';
         document.getElementById('publish-send').click();
         'sent'"
    ));
    browser.wait_until(
        Duration::from_secs(5),
        "the publish answer",
        "document.getElementById('publish-answer').textContent !== 'pending'",
    );
    browser.eval("document.getElementById('publish-answer').textContent")
}

/// Ticks exactly `topics` on the page and waits for its stream to follow them.
fn follow(browser: &mut Browser, topics: &[&str]) {
    follow_with_token(browser, topics, "");
}

/// [`follow`], with `token` in the page's token field ("": none).
fn follow_with_token(browser: &mut Browser, topics: &[&str], token: &str) {
    let wanted = topics.iter().map(|topic| format!("'{topic}'")).collect::<Vec<_>>().join(", ");
    // The state is reset first, so that "open" below is the new stream's.
    browser.eval(&format!(
        "document.getElementById('events-state').textContent = 'connecting';
         document.getElementById('events-token').value = '{token}';
         document.getElementById('events-token').dispatchEvent(new Event('change'));
         for (const box of document.querySelectorAll('.topic')) {{
             const tick = [{wanted}].includes(box.value);
             if (box.checked !== tick) box.click();
         }}
         'ticked'"
    ));
    let mut url = format!(
        "/events?{}",
        topics.iter().map(|topic| format!("topic={topic}")).collect::<Vec<_>>().join("&")
    );
    if !token.is_empty() {
        // The page shows the token as an ellipsis, never in full.
        url.push_str("&authorization=…");
    }
    browser.wait_until(
        Duration::from_secs(5),
        "the events stream follows the ticked topics",
        &format!(
            "document.getElementById('events-url').textContent === '{url}' && \
             document.getElementById('events-state').textContent.startsWith('open')"
        ),
    );
}

/// The texts of the events pane, newest first.
fn events_log(browser: &mut Browser) -> String {
    browser.eval(
        "JSON.stringify([...document.getElementById('events-log').children].map((item) => item.textContent))",
    )
}

#[test]
fn two_tabs_of_the_demo_each_receive_and_publish() {
    let server = with_token();
    let Some(mut browser) = Browser::open(&server.url("/")) else { return };
    // One tab holds two streams, never more: pings, and the ticked topics.
    support::eventually(Duration::from_secs(10), "the first tab's streams", || {
        server.handle.live_streams() == 2
    });
    follow(&mut browser, &["room/a"]);

    let second = browser.open_tab(&server.url("/"));
    support::eventually(Duration::from_secs(10), "both tabs' streams", || server.handle.live_streams() == 4);
    follow(&mut browser, &["room/b"]);
    browser.wait_until(
        Duration::from_secs(5),
        "pings in the second tab",
        "Number(document.getElementById('pings-count').textContent) >= 2",
    );

    // The second tab publishes to room/a, for the first tab.
    let answer = publish_from_page(&mut browser, "room/a", "", "from the second tab", TOKEN);
    assert!(answer.starts_with("200 "), "{answer}");
    // The first tab, still receiving pings, publishes a named event to room/b.
    browser.use_tab(0);
    browser.wait_until(
        Duration::from_secs(5),
        "pings in the first tab",
        "Number(document.getElementById('pings-count').textContent) >= 2",
    );
    let answer = publish_from_page(&mut browser, "room/b", "reading", "21.5", TOKEN);
    assert!(answer.starts_with("200 "), "{answer}");
    browser.wait_until(
        Duration::from_secs(5),
        "the second tab's event in the first",
        "document.getElementById('events-log').textContent.includes('from the second tab')",
    );

    browser.use_tab(second);
    browser.wait_until(
        Duration::from_secs(5),
        "the first tab's event in the second",
        "Number(document.getElementById('events-count').textContent) === 1",
    );
    let log = events_log(&mut browser);
    assert!(log.contains("(reading): 21.5") && !log.contains("from the second tab"), "{log}");
    browser.use_tab(0);
    assert_eq!(number(&mut browser, "events-count"), 1, "{}", events_log(&mut browser));

    // A wrong token is refused and publishes nothing; the token is sent, never stored.
    let answer = publish_from_page(&mut browser, "room/a", "", "nope", "wrong");
    assert!(answer.starts_with("401 "), "{answer}");
    assert_eq!(browser.eval("String(localStorage.length + sessionStorage.length)"), "0");
    assert_eq!(server.handle.live_streams(), 4, "two streams per tab");
}

/// A key of 48 bytes, as `openssl rand -base64 36` gives.
const KEY: &str = "demo-page-key-of-forty-eight-bytes-0123456789ab";

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

#[test]
fn a_private_event_reaches_only_the_tab_whose_token_reads_it() {
    let server = start(|config| {
        config.events.publish_token = Some(ssed::Secret(TOKEN.to_owned()));
        config.auth = Some(key_options());
    });
    let reader = subscriber_token("users/42");
    let Some(mut browser) = Browser::open(&server.url("/")) else { return };
    support::eventually(Duration::from_secs(10), "the first tab's streams", || {
        server.handle.live_streams() == 2
    });
    follow_with_token(&mut browser, &["users/42"], &reader);
    let second = browser.open_tab(&server.url("/"));
    support::eventually(Duration::from_secs(10), "both tabs' streams", || server.handle.live_streams() == 4);
    follow(&mut browser, &["users/42"]);

    // From the tab without a token: one private event, then a public one.
    let answer = publish_from_page_as(&mut browser, "users/42", "", "for user 42 only", TOKEN, true);
    assert!(answer.starts_with("200 "), "{answer}");
    let answer = publish_from_page_as(&mut browser, "users/42", "", "for everyone", TOKEN, false);
    assert!(answer.starts_with("200 "), "{answer}");
    browser.wait_until(
        Duration::from_secs(5),
        "the public event in the tab without a token",
        "document.getElementById('events-log').textContent.includes('for everyone')",
    );
    let log = events_log(&mut browser);
    assert!(!log.contains("for user 42 only"), "a private event reached a stream without a token: {log}");
    assert_eq!(number(&mut browser, "events-count"), 1, "{log}");

    browser.use_tab(0);
    browser.wait_until(
        Duration::from_secs(5),
        "both events in the tab with the token",
        "Number(document.getElementById('events-count').textContent) === 2",
    );
    let log = events_log(&mut browser);
    assert!(log.contains(": for user 42 only") && log.contains(": for everyone"), "{log}");

    // The token went with the request only: it is in no storage, no
    // cookie, and nowhere on the page but its (password) field.
    for tab in [0, second] {
        browser.use_tab(tab);
        let stored = browser.eval(
            "String(localStorage.length + sessionStorage.length) + ' ' + JSON.stringify(document.cookie)",
        );
        assert_eq!(stored, "0 \"\"", "tab {tab}");
        let shown = browser.eval("document.body.innerText");
        assert!(!shown.contains(&reader), "tab {tab} shows the token");
    }
    // Each change of topics or token replaced the tab's stream; the
    // replaced ones are gone once the server read their FIN.
    support::eventually(Duration::from_secs(5), "two streams per tab", || server.handle.live_streams() == 4);

    // A token that does not verify is refused (401): the page says so and
    // holds one stream fewer, instead of silently reading public events.
    browser.use_tab(0);
    browser.eval(
        "document.getElementById('events-token').value = 'not.a.token';
         document.getElementById('events-token').dispatchEvent(new Event('change'));
         'changed'",
    );
    browser.wait_until(
        Duration::from_secs(5),
        "the refused token shown",
        "document.getElementById('events-state').textContent === 'error: refused'",
    );
    support::eventually(Duration::from_secs(5), "three streams", || server.handle.live_streams() == 3);
}

/// [`KEY`], for the server and for minting.
fn key_options() -> ssed::AuthOptions {
    ssed::AuthOptions {
        key: Some(ssed::KeySource::Environment(ssed::Secret(KEY.to_owned()))),
        publisher_key: None,
        subscriber_key: None,
        previous_key: None,
        anonymous: true,
    }
}

#[test]
fn the_demo_shows_the_client_code_it_runs() {
    let server = start(|_| {});
    let html = exchange(&server, &get("/"));
    let script = html
        .split("<script id=\"client\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("a <script id=\"client\"> element");
    // Every EventSource the page opens is in that script: there is no
    // second copy of the code to drift from it.
    assert!(script.contains("new EventSource("), "{script}");
    assert_eq!(html.matches("new EventSource(").count(), script.matches("new EventSource(").count());
    assert_eq!(html.matches("addEventListener('ping'").count(), 1);

    let Some(mut browser) = Browser::open(&server.url("/")) else { return };
    let shown = browser.eval("document.getElementById('client-code').textContent");
    assert_eq!(shown, script.trim(), "the code shown is not the code that runs");
}

#[test]
fn a_new_demo_page_says_it_gets_live_events_only_and_replays_on_request() {
    let server = with_token();
    let publisher = server.handle.publisher();
    let room_a = publisher.on_topic("room/a").expect("topic");
    room_a.publish(None, "before the page 1").expect("publish");
    room_a.publish(Some("reading"), "before the page 2").expect("publish");
    publisher.on_topic("room/c").expect("topic").publish(None, "not followed").expect("publish");

    let Some(mut browser) = Browser::open(&server.url("/")) else { return };
    browser.wait_until(
        Duration::from_secs(10),
        "the events stream open",
        "document.getElementById('events-state').textContent.startsWith('open')",
    );
    let said = browser.eval("document.getElementById('events-history').textContent");
    assert!(said.contains("receives live events only"), "{said}");
    // Live only: an event published now arrives, the earlier ones do not.
    room_a.publish(None, "live").expect("publish");
    browser.wait_until(
        Duration::from_secs(5),
        "the live event",
        "Number(document.getElementById('events-count').textContent) >= 1",
    );
    let log = events_log(&mut browser);
    assert!(log.contains(": live") && !log.contains("before the page"), "{log}");

    browser.eval("document.getElementById('events-replay').click(); 'clicked'");
    browser.wait_until(
        Duration::from_secs(5),
        "the replay",
        "document.getElementById('events-log').textContent.includes('before the page 2')",
    );
    let url = browser.eval("document.getElementById('events-url').textContent");
    assert_eq!(url, "/events?topic=room/a&topic=room/b&lastEventId=0");
    let log = events_log(&mut browser);
    assert!(log.contains("replay: all the server holds"), "{log}");
    assert!(log.contains(": before the page 1") && log.contains("(reading): before the page 2"), "{log}");
    assert!(!log.contains("not followed"), "{log}");
    // The replay replaced the stream; it did not add one.
    support::eventually(Duration::from_secs(5), "two streams", || server.handle.live_streams() == 2);
}

#[test]
fn demo_page_screenshot() {
    // SSED_SCREENSHOT=$PWD/docs/demo.png cargo test --test demo_page demo_page_screenshot
    // retakes the README's picture on the README's own address, 127.0.0.1:8080.
    let screenshot = std::env::var("SSED_SCREENSHOT").ok();
    let server = start(|config| {
        config.events.publish_token = Some(ssed::Secret(TOKEN.to_owned()));
        if screenshot.is_some() {
            config.addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
        }
    });
    let Some(mut browser) = Browser::open(&server.url("/")) else { return };
    support::eventually(Duration::from_secs(10), "demo streams", || server.handle.live_streams() == 2);
    // The README's own publish commands, run by bash with the real curl.
    if !support::have_program("curl", "--version") {
        return;
    }
    let readme = include_str!("../README.md");
    // Those with the publish token; the tokens section's need its key.
    let commands: Vec<&str> = readme
        .lines()
        .filter(|line| line.contains("Bearer s3cret"))
        .filter_map(|line| line.strip_prefix("$ curl -X POST"))
        .collect();
    assert!(commands.len() >= 2, "README's publish commands");
    for command in commands {
        let command = format!("curl -sS --max-time 5 -X POST{command}")
            .replace("127.0.0.1:8080", &server.addr.to_string());
        let output = std::process::Command::new("bash").args(["-c", &command]).output().expect("run bash");
        let id = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success() && id.contains('-'), "{command}: {id} {:?}", output.status);
    }
    browser.wait_until(
        Duration::from_secs(5),
        "demo page filled",
        "Number(document.getElementById('pings-count').textContent) >= 4 && \
         Number(document.getElementById('events-count').textContent) >= 2",
    );
    let png = browser.screenshot_png();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "not a PNG: {} bytes", png.len());
    let path = screenshot.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("ssed-demo-{}.png", std::process::id())).display().to_string()
    });
    std::fs::write(&path, &png).expect("write screenshot");
    if screenshot.is_none() {
        let _ = std::fs::remove_file(&path);
    }
}
