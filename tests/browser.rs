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
    let state = "document.getElementById('messages-state').textContent.startsWith('open') && \
                 document.getElementById('sse-state').textContent.startsWith('open')";
    browser.wait_until(Duration::from_secs(10), "demo streams open", state);
    for stream in ["sse", "messages", "events"] {
        let state = browser.eval(&format!("document.getElementById('{stream}-state').textContent"));
        assert!(opened_after_ms(&state) <= 300, "{stream}: {state}");
    }

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

    // The demo page rendered both streams.
    for stream in ["sse", "messages"] {
        let count: u64 = browser
            .eval(&format!("document.getElementById('{stream}-count').textContent"))
            .parse()
            .expect("count");
        let items = browser.eval(&format!("String(document.getElementById('{stream}-log').children.length)"));
        let last_id = browser.eval(&format!("document.getElementById('{stream}-last-id').textContent"));
        assert!(count >= 3 && items == count.to_string(), "{stream}: count {count}, items {items}");
        assert!(last_id.parse::<u64>().is_ok_and(|id| id >= 3), "{stream}: last id {last_id}");
    }
}

#[test]
fn chromium_reconnects_after_a_restart_and_replays_what_it_missed() {
    let fast = |config: &mut ssed::Config| {
        config.interval = Duration::from_millis(100);
        config.retry = Duration::from_millis(300);
    };
    let first = start(fast);
    let addr = first.addr;
    let Some(mut browser) = Browser::open(&first.url("/")) else { return };
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
    // The demo's three streams and these two.
    support::eventually(Duration::from_secs(10), "five streams", || first.handle.live_streams() == 5);
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
    support::eventually(Duration::from_secs(10), "browser back", || second.handle.live_streams() == 5);
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
        config.max_clients = 1;
        config.retry = Duration::from_millis(300);
    });
    let holder = open_stream(&full, "/sse");
    let Some(mut browser) = Browser::open(&host.url("/")) else { return };
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
fn demo_page_screenshot() {
    // SSED_SCREENSHOT=$PWD/docs/demo.png cargo test --test browser demo_page_screenshot
    // retakes the README's picture on the README's own address, 127.0.0.1:8080.
    let screenshot = std::env::var("SSED_SCREENSHOT").ok();
    let server = start(|config| {
        config.publish_token = Some(ssed::Secret("s3cret".to_owned()));
        if screenshot.is_some() {
            config.addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
        }
    });
    let Some(mut browser) = Browser::open(&server.url("/")) else { return };
    support::eventually(Duration::from_secs(10), "demo streams", || server.handle.live_streams() == 3);
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
         Number(document.getElementById('events-count').textContent) >= 1",
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
