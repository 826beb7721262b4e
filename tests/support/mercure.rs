//! A raw Mercure client for tests: forms posted to `/.well-known/mercure`,
//! streams read block by block, tokens signed by Python (see `jwt.rs`).
//!
//! The rules named by number are those of `mercure.md`, the shared list of
//! draft-07 rules.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use ssed::{AuthOptions, Config, KeySource, Secret};

use super::jwt::sign;
use super::{connect, exchange_addr, read_until, status_of};

/// The hub's path.
pub const HUB: &str = "/.well-known/mercure";

/// The key every Mercure test signs with (32 bytes at least).
pub const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-mercure-key";

/// Keys for signed tokens: [`KEY`] for both roles, anonymous readers let in.
pub fn with_key(config: &mut Config) {
    config.auth = Some(AuthOptions {
        key: Some(KeySource::Environment(Secret(String::from_utf8(KEY.to_vec()).expect("text key")))),
        publisher_key: None,
        subscriber_key: None,
        previous_key: None,
        anonymous: true,
    });
}

/// A token whose `mercure.publish` is `[selectors]` (a JSON array's insides).
pub fn publisher(selectors: &str) -> String {
    sign(&format!(r#"{{"mercure":{{"publish":[{selectors}]}}}}"#), KEY)
}

/// A token whose `mercure.subscribe` is `[selectors]`.
pub fn subscriber(selectors: &str) -> String {
    sign(&format!(r#"{{"mercure":{{"subscribe":[{selectors}]}}}}"#), KEY)
}

/// `text` percent-encoded for a form or a query: everything but the
/// unreserved characters as `%XX`.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// `pairs` as an `application/x-www-form-urlencoded` body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(name, value)| format!("{name}={}", encode(value))).collect::<Vec<_>>().join("&")
}

/// A POST of `body` to the hub with `headers` (each ending in CRLF).
pub fn post_request(headers: &str, body: &str) -> Vec<u8> {
    // `Connection: close`: a publish is otherwise kept open for the next
    // request (rule 2), and these helpers read an answer to its end.
    let close =
        if headers.to_ascii_lowercase().contains("connection:") { "" } else { "Connection: close\r\n" };
    format!(
        "POST {HUB} HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n{close}{headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// POSTs `body` to the hub at `addr`; the whole answer.
pub fn post(addr: SocketAddr, headers: &str, body: &str) -> String {
    exchange_addr(addr, &post_request(headers, body))
}

/// POSTs `body` with `token` as a Bearer token; the answer's status and body.
pub fn post_with_token(addr: SocketAddr, token: &str, body: &str) -> (u16, String) {
    let answer = post(addr, &format!("Authorization: Bearer {token}\r\n"), body);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned();
    (status_of(&answer), body)
}

/// Publishes `body` with a token for every topic; the id the hub answered.
pub fn publish(addr: SocketAddr, body: &str) -> String {
    let (status, id) = post_with_token(addr, &publisher(r#""*""#), body);
    assert_eq!(status, 200, "{body} -> {id}");
    id
}

/// The target of a subscription to `selectors`, with `extra` query
/// parameters (`&…`) after them.
pub fn target(selectors: &[&str], extra: &str) -> String {
    let topics: Vec<String> =
        selectors.iter().map(|selector| format!("topic={}", encode(selector))).collect();
    format!("{HUB}?{}{extra}", topics.join("&"))
}

/// One event of a stream, as its lines came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block(pub String);

impl Block {
    /// The value of the first `name:` line.
    pub fn field(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}: ");
        self.0.lines().find_map(|line| line.strip_prefix(prefix.as_str()))
    }

    /// The `id:` line's value; panics when there is none (rule 6).
    pub fn id(&self) -> &str {
        self.field("id").unwrap_or_else(|| panic!("an event without an id: {:?}", self.0))
    }

    /// The `data:` lines, joined by LF as a browser joins them.
    pub fn data(&self) -> String {
        self.0.lines().filter_map(|line| line.strip_prefix("data: ")).collect::<Vec<_>>().join("\n")
    }
}

/// An open subscription: its head, and what was read but not yet taken.
pub struct Stream {
    pub socket: TcpStream,
    pub head: String,
    unread: String,
}

impl Stream {
    /// Opens `target` with `headers` and reads its head and the opening
    /// `retry:`; panics on anything but 200.
    pub fn open(addr: SocketAddr, target: &str, headers: &str) -> Stream {
        let mut socket = connect(addr);
        let request = format!("GET {target} HTTP/1.1\r\nHost: t\r\n{headers}\r\n");
        socket.write_all(request.as_bytes()).expect("send");
        let opening = read_until(&mut socket, "retry: 3000\n\n", 1);
        assert_eq!(status_of(&opening), 200, "{opening}");
        let (head, rest) = opening.split_once("\r\n\r\n").expect("a head");
        let unread = rest.split_once("retry: 3000\n\n").expect("the retry block").1.to_owned();
        Stream { socket, head: format!("{head}\r\n"), unread }
    }

    /// The value of the head's header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_of(&self.head, name)
    }

    /// The next event; heartbeat comments skipped. Panics after 10 s.
    pub fn next(&mut self) -> Block {
        let started = Instant::now();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            self.unread = self.unread.replace(": keep-alive\n\n", "");
            if let Some(end) = self.unread.find("\n\n") {
                let rest = self.unread.split_off(end + 2);
                let block = std::mem::replace(&mut self.unread, rest);
                return Block(block.trim_end_matches('\n').to_owned());
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no event within 10 s: {:?}", self.unread);
            let read = self.socket.read(&mut chunk).expect("read events");
            assert!(read > 0, "stream ended: {:?}", self.unread);
            self.unread.push_str(&String::from_utf8_lossy(&chunk[..read]));
        }
    }

    /// The next `count` events' data.
    pub fn data(&mut self, count: usize) -> Vec<String> {
        (0..count).map(|_| self.next().data()).collect()
    }

    /// The data of every event up to and including the one whose data is
    /// `marker`: what this stream got of what was published before it.
    pub fn data_until(&mut self, marker: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let data = self.next().data();
            let done = data == marker;
            seen.push(data);
            if done {
                return seen;
            }
        }
    }
}

/// The value of header `name` in a raw answer's head (case-insensitive).
pub fn header_of<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n").skip(1).find_map(|line| {
        let (field, value) = line.split_once(':')?;
        field.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A GET of `target` with `headers`, answered and closed: the whole answer
/// (for refusals, which end at once).
pub fn refused_get(addr: SocketAddr, target: &str, headers: &str) -> String {
    exchange_addr(addr, format!("GET {target} HTTP/1.1\r\nHost: t\r\n{headers}\r\n").as_bytes())
}
