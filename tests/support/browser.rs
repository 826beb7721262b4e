//! Headless Chromium, driven over the DevTools protocol on a pipe: with
//! `--remote-debugging-pipe` Chromium reads requests on fd 3 and writes
//! answers on fd 4, each a JSON text ended by NUL. A shell maps those to
//! the child's stdin and stdout, so no WebSocket and no Node are needed.
//!
//! The whole process group is killed when the `Browser` drops, pass or fail,
//! and its profile directory removed.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// The flags the workplace documents for headless Chromium as root.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
    "--window-size=1100,1100",
];

/// A headless Chromium with one page open.
pub struct Browser {
    child: Child,
    requests: ChildStdin,
    answers: Receiver<String>,
    /// One DevTools session per tab; `eval` talks to `sessions[current]`.
    sessions: Vec<String>,
    current: usize,
    next_id: u64,
    profile: PathBuf,
}

impl Browser {
    /// Opens `url` in a fresh headless Chromium; `None` (after saying so)
    /// when Chromium is not installed outside CI.
    pub fn open(url: &str) -> Option<Browser> {
        Browser::open_with_flags(url, &[])
    }

    /// [`Browser::open`] with more command-line flags (to trust one
    /// certificate, say).
    pub fn open_with_flags(url: &str, extra_flags: &[String]) -> Option<Browser> {
        if !super::have_program("chromium", "--version") {
            return None;
        }
        static PROFILES: AtomicUsize = AtomicUsize::new(0);
        let profile = std::env::temp_dir().join(format!(
            "ssed-chromium-{}-{}",
            std::process::id(),
            PROFILES.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null"#)
            .arg("chromium")
            .args(FLAGS)
            .args(extra_flags)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromium");
        let requests = child.stdin.take().expect("piped stdin");
        let answers = read_messages(child.stdout.take().expect("piped stdout"));
        let mut browser =
            Browser { child, requests, answers, sessions: Vec::new(), current: 0, next_id: 0, profile };

        let targets = browser.call("Target.getTargets", "{}", false);
        let page = targets.split("\"targetId\":\"").skip(1).find(|entry| entry.contains("\"type\":\"page\""));
        let target_id = page.and_then(|entry| entry.split('"').next()).expect("a page target").to_owned();
        browser.attach(&target_id, url);
        Some(browser)
    }

    /// Opens `url` in a new tab of the same browser (one profile, so one
    /// pool of connections per server, as a person's tabs share), and makes
    /// it the tab that [`Browser::eval`] talks to. Returns its index.
    pub fn open_tab(&mut self, url: &str) -> usize {
        let created = self.call("Target.createTarget", &format!(r#"{{"url":{}}}"#, json_string(url)), false);
        let target_id = string_field(&created, "targetId").expect("a new tab's target id");
        self.attach(&target_id, url);
        self.current
    }

    /// Makes tab `index` (0: the first, then in the order opened) the one
    /// that [`Browser::eval`] talks to.
    pub fn use_tab(&mut self, index: usize) {
        assert!(index < self.sessions.len(), "no tab {index}");
        self.current = index;
    }

    /// Attaches to the page `target_id`, makes it current, and waits until
    /// `url` has loaded in it.
    fn attach(&mut self, target_id: &str, url: &str) {
        let attached = self.call(
            "Target.attachToTarget",
            &format!(r#"{{"targetId":"{target_id}","flatten":true}}"#),
            false,
        );
        self.sessions.push(string_field(&attached, "sessionId").expect("session id"));
        self.current = self.sessions.len() - 1;
        // The page starts as about:blank; wait for ours to have loaded.
        let loaded = format!("location.href === {} && document.readyState === 'complete'", json_string(url));
        self.wait_until(Duration::from_secs(15), "page loaded", &loaded);
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns
    /// its value as text: strings as they are, anything else as JSON.
    pub fn eval(&mut self, expression: &str) -> String {
        let params = format!(
            r#"{{"expression":{},"returnByValue":true,"awaitPromise":true}}"#,
            json_string(expression)
        );
        let answer = self.call("Runtime.evaluate", &params, true);
        assert!(!answer.contains("\"exceptionDetails\""), "script failed: {expression}\n{answer}");
        let value = answer.split_once("\"value\":").map(|(_, rest)| rest).unwrap_or("null");
        if value.starts_with('"') {
            parse_json_string(value)
        } else {
            value.split(['}', ',']).next().unwrap_or_default().to_owned()
        }
    }

    /// Polls `condition` (JavaScript that yields true or false) every 50 ms.
    pub fn wait_until(&mut self, within: Duration, what: &str, condition: &str) {
        let started = Instant::now();
        while self.eval(condition) != "true" {
            assert!(started.elapsed() < within, "not within {within:?}: {what}");
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The page as a PNG.
    pub fn screenshot_png(&mut self) -> Vec<u8> {
        let answer = self.call("Page.captureScreenshot", r#"{"format":"png"}"#, true);
        decode_base64(&string_field(&answer, "data").expect("screenshot data"))
    }

    /// Sends one request and waits for its answer, skipping events.
    fn call(&mut self, method: &str, params: &str, in_page: bool) -> String {
        self.next_id += 1;
        let id = self.next_id;
        let session = if in_page {
            format!(r#","sessionId":"{}""#, self.sessions[self.current])
        } else {
            String::new()
        };
        let request = format!(r#"{{"id":{id},"method":"{method}","params":{params}{session}}}"#);
        self.requests.write_all(request.as_bytes()).expect("send to chromium");
        self.requests.write_all(b"\0").expect("send to chromium");
        let deadline = Instant::now() + Duration::from_secs(15);
        let prefix = format!("{{\"id\":{id},");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = self
                .answers
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("chromium did not answer {method}"));
            if answer.starts_with(&prefix) {
                assert!(!answer.contains("\"error\":{"), "{method} failed: {answer}");
                return answer;
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The browser, its renderers and helpers share one process group.
        super::kill_process_group(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn read_messages(output: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(output);
        let mut message = Vec::new();
        while reader.read_until(0, &mut message).is_ok_and(|read| read > 0) {
            if message.last() == Some(&0) {
                message.pop();
            }
            if sender.send(String::from_utf8_lossy(&message).into_owned()).is_err() {
                break;
            }
            message.clear();
        }
    });
    receiver
}

/// The first `"name":"value"` string in `json`.
fn string_field(json: &str, name: &str) -> Option<String> {
    // The value's opening quote follows `"name":`.
    let quote = json.find(&format!("\"{name}\":\""))? + name.len() + 3;
    Some(parse_json_string(&json[quote..]))
}

/// Reads the JSON string that `text` starts with.
fn parse_json_string(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().skip(1);
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(
                        u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).unwrap_or('\u{fffd}'),
                    );
                }
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    out
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |byte: u8| match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let sextets: Vec<u8> = text.bytes().filter_map(value).collect();
    sextets
        .chunks(4)
        .flat_map(|chunk| {
            let bits = chunk.iter().fold(0u32, |bits, &sextet| bits << 6 | u32::from(sextet))
                << (6 * (4 - chunk.len()));
            let bytes = bits.to_be_bytes();
            bytes[1..chunk.len()].to_vec()
        })
        .collect()
}
