//! HMAC-SHA256 (RFC 2104) and a constant-time comparison.
//!
//! ```text
//! key'  = key, or SHA-256(key) when longer than 64 bytes, zero-padded to 64
//! HMAC  = SHA-256( key' ^ 0x5c… || SHA-256( key' ^ 0x36… || message ) )
//!                  outer pad                   inner pad
//! ```
//!
//! A server verifies many tokens with few keys, so [`HmacKey::new`] absorbs
//! the two padded keys once and each [`HmacKey::mac`] starts from copies of
//! those states: two of the four compressions of a short message are saved.
//!
//! [`constant_time_eq`] compares a received MAC with the expected one so
//! that the time taken tells nothing about where they first differ (RFC
//! 2104 §5 leaves this to the caller; Mercure's draft-08 asks for it).

use std::fmt;

use super::sha256::{Sha256, BLOCK_BYTES, DIGEST_BYTES};

/// Bytes in one MAC.
pub const MAC_BYTES: usize = DIGEST_BYTES;

const INNER_PAD: u8 = 0x36;
const OUTER_PAD: u8 = 0x5c;

/// A key made ready for HMAC-SHA256: its padded halves already absorbed.
#[derive(Clone)]
pub struct HmacKey {
    inner: Sha256,
    outer: Sha256,
}

/// Shows nothing of the key.
impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(..)")
    }
}

impl HmacKey {
    /// Prepares `key` (any length; RFC 2104 §2 hashes keys longer than a
    /// block, and zero-pads shorter ones).
    pub fn new(key: &[u8]) -> HmacKey {
        let mut block = [0u8; BLOCK_BYTES];
        if key.len() > BLOCK_BYTES {
            block[..DIGEST_BYTES].copy_from_slice(&super::sha256::sha256(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut inner = Sha256::new();
        let mut outer = Sha256::new();
        inner.update(&block.map(|byte| byte ^ INNER_PAD));
        outer.update(&block.map(|byte| byte ^ OUTER_PAD));
        HmacKey { inner, outer }
    }

    /// HMAC-SHA256 of `message` under this key.
    #[cfg(test)]
    pub fn mac(&self, message: &[u8]) -> [u8; MAC_BYTES] {
        self.mac_of_parts(&[message])
    }

    /// HMAC-SHA256 of the concatenation of `parts`, without building it
    /// (JWS signs `header "." payload`).
    pub fn mac_of_parts(&self, parts: &[&[u8]]) -> [u8; MAC_BYTES] {
        let mut inner = self.inner.clone();
        for part in parts {
            inner.update(part);
        }
        let mut outer = self.outer.clone();
        outer.update(&inner.finish());
        outer.finish()
    }
}

/// HMAC-SHA256 of `message` under `key`, in one call.
///
/// ```text
/// let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
/// assert_eq!(mac[..4], [0x5b, 0xdc, 0xc1, 0x46]);
/// ```
#[cfg(test)]
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; MAC_BYTES] {
    HmacKey::new(key).mac(message)
}

/// Whether `a` and `b` are equal, taking a time that depends on their
/// lengths only, never on their contents.
///
/// Different lengths answer `false` at once: a MAC's length is public.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the compiler from turning the fold into an early exit.
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// RFC 4231 §4.2–4.8, HMAC-SHA-256 only. Case 5 is checked on its first
    /// 128 bits, as the RFC gives it.
    #[test]
    fn rfc_4231_test_cases_1_to_7() {
        let key_25: Vec<u8> = (1..=25).collect();
        let cases: &[(&str, &[u8], &[u8], &str)] = &[
            (
                "1",
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                "2",
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                "3",
                &[0xaa; 20],
                &[0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            ("4", &key_25, &[0xcd; 50], "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            ("5", &[0x0c; 20], b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
            (
                "6",
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                "7",
                &[0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than \
                  block-size data. The key needs to be hashed before being used by the \
                  HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for &(case, key, data, expected) in cases {
            let mac = hex(&hmac_sha256(key, data));
            assert_eq!(&mac[..expected.len()], expected, "RFC 4231 test case {case}");
        }
    }

    #[test]
    fn a_key_of_exactly_one_block_is_not_hashed() {
        let key = [0x42u8; BLOCK_BYTES];
        let hashed = super::super::sha256::sha256(&key);
        assert_ne!(hmac_sha256(&key, b"m"), hmac_sha256(&hashed, b"m"));
        let longer = [0x42u8; BLOCK_BYTES + 1];
        let longer_hashed = super::super::sha256::sha256(&longer);
        assert_eq!(hmac_sha256(&longer, b"m"), hmac_sha256(&longer_hashed, b"m"));
    }

    #[test]
    fn parts_are_macced_as_their_concatenation() {
        let key = HmacKey::new(b"key");
        assert_eq!(key.mac_of_parts(&[b"head", b".", b"body"]), key.mac(b"head.body"));
        assert_eq!(key.mac_of_parts(&[]), key.mac(b""));
    }

    #[test]
    fn constant_time_eq_answers_like_eq() {
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"", b"", true),
            (b"abc", b"abc", true),
            (b"abc", b"abd", false),
            (b"abc", b"bbc", false),
            (b"abc", b"ab", false),
            (b"", b"a", false),
            (&[0x80], &[0x00], false),
        ];
        for &(a, b, equal) in cases {
            assert_eq!(constant_time_eq(a, b), equal, "{a:?} {b:?}");
        }
    }

    #[test]
    fn debug_shows_nothing_of_the_key() {
        assert_eq!(format!("{:?}", HmacKey::new(b"hunter2")), "HmacKey(..)");
    }
}
