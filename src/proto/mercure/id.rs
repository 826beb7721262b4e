//! The id the hub gives an update published without one (Mercure rule 6):
//! a version 4 UUID as a URN, an absolute IRI as draft-07 asks.
//!
//! ```text
//! 91 91 08 f7 52 d1 03 20 1b ac f8 47 db 41 48 a8   16 bytes from /dev/urandom
//!                   ^^       ^^
//!                   |        variant: top two bits 10  (1b ─► 9b)
//!                   version: top four bits 0100        (03 ─► 43)
//! urn:uuid:919108f7-52d1-4320-9bac-f847db4148a8       45 bytes
//! ```
//!
//! RFC 9562 §5.4: a UUIDv4 is 122 random bits, the 4-bit version field
//! (octet 6, high nibble) set to `0100` and the 2-bit variant field
//! (octet 8, high bits) set to `10`. The text is the 8-4-4-4-12 lowercase
//! hex form (RFC 9562 §4) after `urn:uuid:` (RFC 9562 §4, RFC 8141).
//!
//! The caller reads the 16 bytes (from `/dev/urandom`); this module only
//! formats them, so a fixed input gives a fixed, testable id.

/// Length of every id [`urn_uuid_v4`] makes: `urn:uuid:` and 36 characters.
pub const URN_UUID_BYTES: usize = 45;

/// Formats 16 random bytes as `urn:uuid:xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx`,
/// `V` one of `8 9 a b`, with the version and variant bits set.
///
/// ```text
/// assert_eq!(urn_uuid_v4([0; 16]), "urn:uuid:00000000-0000-4000-8000-000000000000");
/// ```
pub fn urn_uuid_v4(random: [u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut octets = random;
    octets[6] = (octets[6] & 0x0f) | 0x40;
    octets[8] = (octets[8] & 0x3f) | 0x80;
    let mut text = String::with_capacity(URN_UUID_BYTES);
    text.push_str("urn:uuid:");
    for (index, octet) in octets.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(octet >> 4)]));
        text.push(char::from(HEX[usize::from(octet & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_6_ids_are_urn_uuid_v4_with_version_and_variant_set() {
        // rule 6
        let cases: [([u8; 16], &str); 4] = [
            // RFC 9562 Appendix A.4's example, with the version and variant
            // bits cleared in the input: the function sets them back.
            (
                [
                    0x91, 0x91, 0x08, 0xf7, 0x52, 0xd1, 0x03, 0x20, 0x1b, 0xac, 0xf8, 0x47, 0xdb, 0x41, 0x48,
                    0xa8,
                ],
                "urn:uuid:919108f7-52d1-4320-9bac-f847db4148a8",
            ),
            ([0; 16], "urn:uuid:00000000-0000-4000-8000-000000000000"),
            ([0xff; 16], "urn:uuid:ffffffff-ffff-4fff-bfff-ffffffffffff"),
            (
                [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
                "urn:uuid:00010203-0405-4607-8809-0a0b0c0d0e0f",
            ),
        ];
        for (random, expected) in cases {
            assert_eq!(urn_uuid_v4(random), expected);
            assert_eq!(urn_uuid_v4(random).len(), URN_UUID_BYTES);
        }
    }
}
