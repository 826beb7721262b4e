//! A real browser: headless Chromium's own `EventSource` against ssed.
//! Skipped with a note where Chromium is not installed; required in CI.

mod support;

use std::time::Duration;

use support::browser::Browser;
use support::{open_stream, start};

/// Milliseconds in a demo-page state such as `open (12 ms after page load)`.
fn opened_after_ms(state: &str) -> u64 {
    state
        .strip_prefix("open (")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("not an open state: {state:?}"))
}

fn numbers(json_array: &str) -> Vec<u64> {
    json_array
        .trim_matches(['[', ']'])
        .split(',')
        .filter(|n| !n.is_empty())
        .map(|n| n.parse().expect("number"))
        .collect()
}

#[test]
fn chromium_gets_named_pings_on_sse_and_unnamed_ones_on_messages() {
    let server = start(|_| {});
    let Some(mut browser) = Browser::open(&server.url("/")) else { return };

    // The demo page's own handlers report when onopen fired.
    let panes = ["sse", "messages", "room-a", "room-b", "events"];
    let all_open = panes
        .iter()
        .map(|pane| format!("document.getElementById('{pane}-state').textContent.startsWith('open')"))
        .collect::<Vec<_>>()
        .join(" && ");
    browser.wait_until(Duration::from_secs(10), "demo streams open", &all_open);
    for pane in panes {
        let state = browser.eval(&format!("document.getElementById('{pane}-state').textContent"));
        assert!(opened_after_ms(&state) <= 300, "{pane}: {state}");
    }
    // The demo page rendered both ping streams.
    browser.wait_until(
        Duration::from_secs(3),
        "three pings on the demo page",
        "Number(document.getElementById('sse-count').textContent) >= 3 && \
         Number(document.getElementById('messages-count').textContent) >= 3",
    );
    for stream in ["sse", "messages"] {
        let count: u64 = browser
            .eval(&format!("document.getElementById('{stream}-count').textContent"))
            .parse()
            .expect("count");
        let items = browser.eval(&format!("String(document.getElementById('{stream}-log').children.length)"));
        let last_id = browser.eval(&format!("document.getElementById('{stream}-last-id').textContent"));
        assert!(items == count.to_string() || count > 50, "{stream}: count {count}, items {items}");
        assert!(last_id.parse::<u64>().is_ok_and(|id| id >= 3), "{stream}: last id {last_id}");
    }

    // The page's five streams use five of the six connections a browser
    // opens to one server: close them before listening on two more.
    browser
        .eval("named.close(); unnamed.close(); Object.values(sources).forEach((s) => s.close()); 'closed'");
    support::eventually(Duration::from_secs(5), "demo streams closed", || server.handle.live_streams() == 0);
    browser.eval(
        "window.seen = { ping: [], message: [], pingOnMessages: 0 };
         {
             const named = new EventSource('/sse');
             named.addEventListener('ping', (event) => seen.ping.push(Number(event.lastEventId)));
             const unnamed = new EventSource('/messages');
             unnamed.onmessage = (event) => seen.message.push(Number(event.lastEventId));
             unnamed.addEventListener('ping', () => seen.pingOnMessages++);
         }
         'listening'",
    );
    browser.wait_until(
        Duration::from_secs(2),
        "three pings on each stream within 2 s",
        "seen.ping.length >= 3 && seen.message.length >= 3",
    );
    for list in ["seen.ping", "seen.message"] {
        let ids = numbers(&browser.eval(&format!("JSON.stringify({list})")));
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{list} ids not increasing: {ids:?}");
    }
    assert_eq!(browser.eval("String(seen.pingOnMessages)"), "0", "a ping listener on /messages fired");
}

#[test]
fn chromium_reconnects_after_a_restart_and_replays_what_it_missed() {
    let fast = |config: &mut ssed::Config| {
        config.timeouts.interval = Duration::from_millis(100);
        config.timeouts.retry = Duration::from_millis(300);
    };
    let first = start(fast);
    let addr = first.addr;
    let Some(mut browser) = Browser::open(&first.url("/healthz")) else { return };
    browser.eval(
        "window.seen = { events: [], missed: [], sse: [] };
         {
             const events = new EventSource('/events');
             events.onmessage = (event) => seen.events.push(event.data);
             events.addEventListener('missed', (event) => seen.missed.push(event.data));
             const pings = new EventSource('/sse');
             pings.addEventListener('ping', (event) => seen.sse.push(Number(event.lastEventId)));
         }
         'listening'",
    );
    support::eventually(Duration::from_secs(10), "two streams", || first.handle.live_streams() == 2);
    let publisher = first.handle.publisher();
    publisher.publish(None, "before 1").expect("publish");
    let last_seen = publisher.publish(None, "before 2").expect("publish");
    browser.wait_until(Duration::from_secs(5), "events before the restart", "seen.events.length === 2");
    let pings_before = numbers(&browser.eval("JSON.stringify(seen.sse)"));

    drop(first); // the server goes away: every stream closes
    let second = start(|config| {
        fast(config);
        config.addr = addr;
    });
    let publisher = second.handle.publisher();
    publisher.publish(None, "while away 1").expect("publish");
    publisher.publish(None, "while away 2").expect("publish");
    support::eventually(Duration::from_secs(10), "browser back", || second.handle.live_streams() == 2);
    publisher.publish(None, "after").expect("publish");
    browser.wait_until(Duration::from_secs(5), "all five events", "seen.events.length >= 5");

    let events = browser.eval("JSON.stringify(seen.events)");
    assert_eq!(events, r#"["before 1","before 2","while away 1","while away 2","after"]"#);
    // The missed event carries the Last-Event-ID the browser sent.
    assert_eq!(browser.eval("JSON.stringify(seen.missed)"), format!(r#"["{last_seen}"]"#));
    let pings = numbers(&browser.eval("JSON.stringify(seen.sse)"));
    assert!(pings.len() > pings_before.len(), "no pings after the restart: {pings:?}");
    assert!(
        pings.windows(2).all(|pair| pair[0] < pair[1]),
        "ids restarted instead of carrying on: {pings:?}"
    );
}

#[test]
fn chromium_keeps_retrying_a_full_server_and_gets_in_when_a_place_frees() {
    let host = start(|_| {});
    let full = start(|config| {
        config.limits.max_clients = 1;
        config.timeouts.retry = Duration::from_millis(300);
    });
    let holder = open_stream(&full, "/sse");
    let Some(mut browser) = Browser::open(&host.url("/healthz")) else { return };
    browser.eval(&format!(
        "window.seen = {{ errors: 0, pings: 0 }};
         {{
             const source = new EventSource('{}');
             source.onerror = () => seen.errors++;
             source.addEventListener('ping', () => seen.pings++);
         }}
         'listening'",
        full.url("/sse")
    ));
    browser.wait_until(
        Duration::from_secs(5),
        "two refusals, retried",
        "seen.errors >= 2 && seen.pings === 0",
    );
    drop(holder);
    browser.wait_until(Duration::from_secs(5), "in once a place freed", "seen.pings >= 1");
}

#[test]
fn the_demo_publish_form_reaches_only_the_panes_of_its_topic() {
    let server = start(|config| config.events.publish_token = Some(ssed::Secret("s3cret".to_owned())));
    let Some(mut browser) = Browser::open(&server.url("/")) else { return };
    support::eventually(Duration::from_secs(10), "demo streams", || server.handle.live_streams() == 5);
    let count = |browser: &mut Browser, pane: &str| -> u64 {
        browser.eval(&format!("document.getElementById('{pane}-count').textContent")).parse().expect("count")
    };
    let publish = |browser: &mut Browser, topic: &str, event: &str, data: &str, token: &str| {
        browser.eval(&format!(
            "document.getElementById('publish-answer').textContent = 'pending';
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
    };

    let answer = publish(&mut browser, "room/a", "", "hello a", "s3cret");
    assert!(answer.starts_with("200 "), "{answer}");
    browser.wait_until(
        Duration::from_secs(5),
        "room/a and both panes",
        "Number(document.getElementById('room-a-count').textContent) === 1 && \
         Number(document.getElementById('events-count').textContent) === 1",
    );
    let answer = publish(&mut browser, "room/b", "reading", "21.5", "s3cret");
    assert!(answer.starts_with("200 "), "{answer}");
    browser.wait_until(
        Duration::from_secs(5),
        "room/b and both panes",
        "Number(document.getElementById('room-b-count').textContent) === 1 && \
         Number(document.getElementById('events-count').textContent) === 2",
    );
    assert_eq!(count(&mut browser, "room-a"), 1, "room/a got room/b's event");
    let newest_b = browser.eval("document.getElementById('room-b-log').firstChild.textContent");
    assert!(newest_b.ends_with("(reading): 21.5"), "{newest_b}");
    // A wrong token is refused and publishes nothing.
    let answer = publish(&mut browser, "room/a", "", "nope", "wrong");
    assert!(answer.starts_with("401 "), "{answer}");
    // The token is sent, never stored.
    assert_eq!(browser.eval("String(localStorage.length + sessionStorage.length)"), "0");
    assert_eq!(count(&mut browser, "room-a"), 1);
}

#[test]
fn demo_page_screenshot() {
    // SSED_SCREENSHOT=$PWD/docs/demo.png cargo test --test browser demo_page_screenshot
    // retakes the README's picture on the README's own address, 127.0.0.1:8080.
    let screenshot = std::env::var("SSED_SCREENSHOT").ok();
    let server = start(|config| {
        config.events.publish_token = Some(ssed::Secret("s3cret".to_owned()));
        if screenshot.is_some() {
            config.addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
        }
    });
    let Some(mut browser) = Browser::open(&server.url("/")) else { return };
    support::eventually(Duration::from_secs(10), "demo streams", || server.handle.live_streams() == 5);
    // The README's own publish commands, run by bash with the real curl.
    if !support::have_program("curl", "--version") {
        return;
    }
    let readme = include_str!("../README.md");
    let commands: Vec<&str> = readme.lines().filter_map(|line| line.strip_prefix("$ curl -X POST")).collect();
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
        "Number(document.getElementById('sse-count').textContent) >= 4 && \
         Number(document.getElementById('room-a-count').textContent) >= 1 && \
         Number(document.getElementById('room-b-count').textContent) >= 1",
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
