//! µs per token verification: the pure token modules (`src/proto/token/`,
//! with the selectors they compile), built here on their own, since pure
//! code needs nothing else of the server, and timed on one core.
//!
//! ```text
//! cargo run --release --example verify_bench
//! taskset -c 0 target/release/examples/verify_bench
//! ```
//!
//! Not a test: it prints figures, it asserts nothing.

#![allow(dead_code)] // only `verify` and `mint` are timed here

use std::hint::black_box;
use std::time::Instant;

/// ssed's own `src/proto/`, the two pure modules a token needs.
#[path = "../src/proto"]
mod proto {
    pub(crate) mod selector;
    pub(crate) mod token;
}

use proto::token::hmac::HmacKey;
use proto::token::jwt;

/// Verifications per round; five rounds, the median reported.
const VERIFICATIONS: u32 = 200_000;

fn main() {
    let key = HmacKey::new(b"a key of forty-eight bytes, as openssl rand gives");
    let now = 1_795_633_887;
    let tokens = [
        ("a subscriber, one exact selector", r#"{"mercure":{"publish":[],"subscribe":["users/42"]}}"#),
        (
            "a subscriber, a template and exp",
            r#"{"mercure":{"subscribe":["https://example.com/users/{id}/{+rest}"]},"exp":1895633887}"#,
        ),
        ("a publisher, *", r#"{"mercure":{"publish":["*"]}}"#),
    ];
    for (what, claims) in tokens {
        let token = jwt::mint(&key, claims);
        assert!(jwt::verify(token.as_bytes(), std::slice::from_ref(&key), now).is_ok(), "{what}");
        let mut rounds = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            for _ in 0..VERIFICATIONS {
                let claims = jwt::verify(black_box(token.as_bytes()), std::slice::from_ref(&key), now);
                black_box(claims.is_ok());
            }
            rounds.push(started.elapsed().as_secs_f64() * 1e6 / f64::from(VERIFICATIONS));
        }
        rounds.sort_by(f64::total_cmp);
        println!(
            "{:.2} µs per verify (min {:.2}, max {:.2}; {} bytes): {what}",
            rounds[2],
            rounds[0],
            rounds[4],
            token.len()
        );
    }
}
