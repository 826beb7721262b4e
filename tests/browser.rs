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
    // "open" must come with the head, not with the first tick: on a server
    // whose interval is 20 s, half of it is a bound no loaded machine
    // reaches, while a head held back to the first tick would.
    let slow = start(|config| config.timeouts.interval = Duration::from_secs(20));
    let Some(mut browser) = Browser::open(&slow.url("/")) else { return };
    let panes = ["pings", "events"];
    browser.wait_until(
        Duration::from_secs(10),
        "demo streams open",
        "['pings', 'events'].every((pane) => document.getElementById(pane + '-state').textContent.startsWith('open'))",
    );
    for pane in panes {
        let state = browser.eval(&format!("document.getElementById('{pane}-state').textContent"));
        assert!(opened_after_ms(&state) <= 10_000, "{pane}: {state}");
    }
    drop(browser);

    let server = start(|config| config.timeouts.interval = Duration::from_millis(200));
    let Some(mut browser) = Browser::open(&server.url("/")) else { return };
    browser.wait_until(
        Duration::from_secs(10),
        "demo streams open",
        "['pings', 'events'].every((pane) => document.getElementById(pane + '-state').textContent.startsWith('open'))",
    );
    // The demo page renders named pings, then, switched, unnamed ones.
    browser.wait_until(
        Duration::from_secs(10),
        "three named pings on the demo page",
        "Number(document.getElementById('pings-count').textContent) >= 3",
    );
    let newest = browser.eval("document.getElementById('pings-log').firstChild.textContent");
    assert!(newest.contains(" (ping): "), "a named ping: {newest}");
    let last_id = browser.eval("document.getElementById('pings-last-id').textContent");
    assert!(last_id.parse::<u64>().is_ok_and(|id| id >= 3), "last id {last_id}");
    browser.eval("document.getElementById('pings-unnamed').click(); 'clicked'");
    browser.wait_until(
        Duration::from_secs(10),
        "unnamed pings on the demo page",
        "document.getElementById('pings-url').textContent === '/messages' && \
         /^id \\d+: /.test(document.getElementById('pings-log').firstChild.textContent)",
    );
    assert_eq!(server.handle.live_streams(), 2, "the page holds two streams");

    // Without the page's streams, the browser's own EventSource on each path.
    browser.eval("pings.close(); events.close(); 'closed'");
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
        Duration::from_secs(10),
        "three pings on each stream",
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
