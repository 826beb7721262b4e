//! Every parser of this module against random input: no panic, and an
//! answer that keeps its promises, whatever the bytes.

use super::form::decode_form;
use super::id::{urn_uuid_v4, URN_UUID_BYTES};
use super::iri::{check_topic, MAX_IRI_BYTES};
use super::last_event_id::last_event_id_header;
use super::query::parse_subscribe_query;
use super::update::parse_update;

/// xorshift64 (Marsaglia 2003): a fixed seed gives the same inputs on
/// every run, so a failure replays.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// Names that mean something somewhere, and one that means nothing.
const NAMES: &[&[u8]] = &[
    b"topic",
    b"topic",
    b"data",
    b"id",
    b"type",
    b"retry",
    b"private",
    b"lastEventID",
    b"authorization",
    b"target",
];

/// Value pieces that decode (the first 14), then pieces that must be
/// refused somewhere (bad escapes, cut or invalid UTF-8, CR, LF, NUL, C1).
const PIECES: &[&[u8]] = &[
    b"https://example.com/",
    b"{id}",
    b"*",
    b"1",
    b"99999999999999999999",
    b"-",
    b"a",
    b"+",
    b"%41",
    b"%C3%A9",
    b"%7B",
    b"%7D",
    "\u{e9}".as_bytes(),
    b"=",
    b"%0A",
    b"%0D",
    b"%00",
    b"%C2%85",
    b"%",
    b"%2",
    b"%zz",
    b"%C3",
    b"%FF",
    b"\xff",
    b"\x00",
    b"\n",
    b"&",
];

/// A form of up to 6 pairs, each a known name and up to 4 random pieces;
/// some pairs lack `=`.
fn random_input(rng: &mut Xorshift) -> Vec<u8> {
    let mut input = Vec::new();
    for _ in 0..rng.below(7) {
        input.extend_from_slice(NAMES[rng.below(NAMES.len())]);
        if rng.below(8) != 0 {
            input.push(b'=');
        }
        for _ in 0..rng.below(5) {
            // Half the time from the pieces that always decode.
            let bound = if rng.below(2) == 0 { 14 } else { PIECES.len() };
            input.extend_from_slice(PIECES[rng.below(bound)]);
        }
        input.push(b'&');
    }
    input
}

#[test]
fn random_forms_queries_and_topics_never_panic() {
    let mut rng = Xorshift(0x5eed_0f0e_0c0d_0b0a);
    let (mut updates, mut queries, mut refused) = (0, 0, 0);
    for _ in 0..20_000 {
        let input = random_input(&mut rng);
        let _ = decode_form(&input);
        let parsed = parse_update(&input, 3);
        if let Err(error) = &parsed {
            assert_eq!(error.status(), 400);
            refused += 1;
        }
        if let Ok(update) = parsed {
            assert!((1..=3).contains(&update.topics.len()));
            assert!(update.topics.iter().all(|topic| check_topic(topic).is_ok()));
            assert!(update
                .id
                .iter()
                .chain(&update.event_type)
                .all(|text| !text.is_empty() && !text.contains(['\r', '\n', '\0'])));
            updates += 1;
        }
        let text = String::from_utf8_lossy(&input);
        if let Ok(query) = parse_subscribe_query(&text, 3) {
            assert!((1..=3).contains(&query.topics.len()));
            queries += 1;
        }
        if let Ok(()) = check_topic(&text) {
            assert!(!text.is_empty() && text.len() <= MAX_IRI_BYTES);
        }
        let random = std::array::from_fn(|_| rng.next() as u8);
        assert_eq!(urn_uuid_v4(random).len(), URN_UUID_BYTES);
        let asked = Some(text.as_ref()).filter(|_| rng.below(4) != 0);
        let _ = last_event_id_header(asked, rng.below(2) == 0, Some("9").filter(|_| rng.below(2) == 0));
    }
    // The generator reaches both outcomes, not only one.
    assert!(
        updates > 500 && queries > 500 && refused > 5_000,
        "{updates} updates, {queries} queries, {refused} refused"
    );
}

#[test]
fn a_large_form_decodes_in_one_pass() {
    // 64 KiB of escapes and empty pairs: linear work, no quadratic rescans.
    let body = format!("topic=t&data={}{}", "%41".repeat(16 * 1024), "&".repeat(16 * 1024));
    let update = parse_update(body.as_bytes(), 32).map(|update| update.data.len());
    assert_eq!(update, Ok(16 * 1024));
}
