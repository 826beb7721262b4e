//! Generated request heads: mostly well-formed pieces, then a few
//! mutations, from a seeded generator. Shared by the parser's own tests
//! (`src/proto/request/generated_tests.rs` includes this file) and the
//! server-level ones (`tests/hostile_clients.rs`); it uses nothing of ssed.
//!
//! `SSED_FUZZ_SEED=7` picks another seed; the seed in use is printed.

/// xorshift64*: small, seeded, reproducible; std has no random numbers.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE", "BREW", "get", "PRI", ""];
const TARGETS: &[&str] = &[
    "/",
    "/sse",
    "/messages",
    "/events",
    "/publish",
    "/metrics",
    "/healthz",
    "/nope",
    "*",
    "http://h/sse",
    "/sse?lastEventId=1",
    "/events?lastEventId=17-3",
    "/%00",
    "sse",
    "",
];
const VERSIONS: &[&str] =
    &["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "http/1.1", "HTTP/1", "HTTP/11.1"];
const HEADERS: &[&str] = &[
    "Host: test",
    "Host: test",
    "Host:",
    "Accept: text/event-stream",
    "Last-Event-ID: 5",
    "Content-Length: 0",
    "Content-Length: 3",
    "Transfer-Encoding: chunked",
    "Authorization: Bearer x",
    "X-Long: aaaaaaaaaaaaaaaa",
    "Cache-Control: no-cache",
    "Connection: keep-alive",
];
const SPECIAL_BYTES: &[u8] = b"\r\n\0 \t:?/%\x7f\xff\x16";

/// A request head: mostly well-formed pieces, then a few mutations.
pub fn generate(rng: &mut Rng) -> Vec<u8> {
    let mut head = format!("{} {} {}\r\n", rng.pick(METHODS), rng.pick(TARGETS), rng.pick(VERSIONS));
    for _ in 0..rng.below(5) {
        let header: &&str = rng.pick(HEADERS);
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    for _ in 0..rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(7) {
            0 if at < bytes.len() => bytes[at] = rng.next() as u8,
            1 => bytes.insert(at, *rng.pick(SPECIAL_BYTES)),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            3 => bytes.truncate(at),
            4 => {
                let filler = vec![b'a'; rng.below(12_000)];
                bytes.splice(at..at, filler);
            }
            5 => {
                // Around the cap of 100 header lines, on both sides of it.
                let line = b"X-Repeated: value\r\n".repeat(rng.below(200));
                let end = bytes.iter().position(|&b| b == b'\n').map_or(0, |n| n + 1);
                bytes.splice(end..end, line);
            }
            _ => bytes.extend_from_slice(b"trailing body bytes"),
        }
    }
    bytes
}

/// The seed: `SSED_FUZZ_SEED`, or a fixed one; printed, so a failure can
/// be run again.
pub fn seed() -> u64 {
    let seed = std::env::var("SSED_FUZZ_SEED").ok().and_then(|seed| seed.parse().ok()).unwrap_or(0x5eed_55ed);
    println!("generated heads: seed {seed} (set SSED_FUZZ_SEED to change it)");
    seed
}
