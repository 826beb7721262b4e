//! base64url without padding (RFC 4648 §5), the way JWS writes its parts.
//!
//! ```text
//! bytes   0x66 0x6f 0x6f 0x62          "foob"
//! groups  011001 100110 111101 101111 011000 10(0000)
//! text    Z      m      9      v      Y      g        "Zm9vYg"  (no "==")
//! ```
//!
//! Three bytes become four characters of `A-Z a-z 0-9 - _`; a last group
//! of one or two bytes becomes two or three characters, and the unused low
//! bits of the last character must be zero. Decoding is strict: `=`, `+`,
//! `/`, whitespace, a length that leaves one character over (`len % 4 ==
//! 1`, which no byte string encodes to) and non-zero unused bits are all
//! refused, so every byte string has exactly one accepted text. A signature
//! therefore cannot be re-spelled into a second valid token.

use std::fmt;

/// The 64 characters, in the order of their 6-bit values.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Why a text is not base64url without padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base64Error {
    /// A byte outside `A-Z a-z 0-9 - _` (including `=`, `+`, `/`, spaces).
    BadByte,
    /// A length no byte string encodes to: one character left over.
    BadLength,
    /// The unused low bits of the last character are not zero.
    NonCanonical,
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Base64Error::BadByte => "byte outside the base64url alphabet",
            Base64Error::BadLength => "impossible base64url length",
            Base64Error::NonCanonical => "non-zero unused bits at the end of base64url",
        })
    }
}

impl std::error::Error for Base64Error {}

/// Encodes `bytes` as base64url without padding.
///
/// ```text
/// assert_eq!(base64url::encode(b"foob"), "Zm9vYg");
/// ```
pub fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b0 = group[0];
        let b1 = group.get(1).copied().unwrap_or(0);
        let b2 = group.get(2).copied().unwrap_or(0);
        let sextets = [b0 >> 2, (b0 & 0x03) << 4 | b1 >> 4, (b1 & 0x0f) << 2 | b2 >> 6, b2 & 0x3f];
        // One byte needs 2 characters, two bytes 3, three bytes 4.
        for &sextet in &sextets[..group.len() + 1] {
            text.push(char::from(ALPHABET[usize::from(sextet)]));
        }
    }
    text
}

/// Decodes base64url without padding, strictly.
///
/// # Errors
///
/// [`Base64Error::BadByte`] for any byte outside the alphabet,
/// [`Base64Error::BadLength`] when `text.len() % 4 == 1`,
/// [`Base64Error::NonCanonical`] when the last character carries bits
/// that belong to no byte.
///
/// ```text
/// assert_eq!(base64url::decode(b"Zm9vYg"), Ok(b"foob".to_vec()));
/// assert!(base64url::decode(b"Zm9vYg==").is_err());
/// ```
pub fn decode(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
    if text.len() % 4 == 1 {
        return Err(Base64Error::BadLength);
    }
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3 + 2);
    // Sextets shift in on the right; each time 8 bits are waiting, the
    // oldest 8 leave as a byte. Older bits fall off the left of the u32.
    let mut waiting: u32 = 0;
    let mut waiting_bits = 0;
    for &character in text {
        let sextet = sextet_of(character).ok_or(Base64Error::BadByte)?;
        waiting = waiting << 6 | u32::from(sextet);
        waiting_bits += 6;
        if waiting_bits >= 8 {
            waiting_bits -= 8;
            bytes.push((waiting >> waiting_bits) as u8);
        }
    }
    // Two characters left over carry 4 spare bits, three carry 2; they
    // belong to no byte and must be zero.
    if waiting & ((1 << waiting_bits) - 1) != 0 {
        return Err(Base64Error::NonCanonical);
    }
    Ok(bytes)
}

/// The 6-bit value of one alphabet character, or `None`.
fn sextet_of(character: u8) -> Option<u8> {
    match character {
        b'A'..=b'Z' => Some(character - b'A'),
        b'a'..=b'z' => Some(character - b'a' + 26),
        b'0'..=b'9' => Some(character - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10, with the padding removed (the alphabet is the same for
    /// these inputs; the url-only characters are checked below).
    const RFC_4648_VECTORS: &[(&str, &str)] = &[
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn rfc_4648_vectors_encode_and_decode() {
        for &(plain, encoded) in RFC_4648_VECTORS {
            assert_eq!(encode(plain.as_bytes()), encoded, "encode {plain:?}");
            assert_eq!(decode(encoded.as_bytes()), Ok(plain.as_bytes().to_vec()), "{encoded}");
        }
    }

    #[test]
    fn url_alphabet_uses_dash_and_underscore() {
        // 0xfb 0xff 0xbf is "+/+/" in the standard alphabet.
        assert_eq!(encode(&[0xfb, 0xff, 0xbf]), "-_-_");
        assert_eq!(decode(b"-_-_"), Ok(vec![0xfb, 0xff, 0xbf]));
    }

    #[test]
    fn every_byte_string_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        for length in 0..all.len() {
            let text = encode(&all[..length]);
            assert_eq!(decode(text.as_bytes()), Ok(all[..length].to_vec()));
        }
    }

    #[test]
    fn loose_spellings_are_refused() {
        let cases: &[(&[u8], Base64Error)] = &[
            (b"Zg==", Base64Error::BadByte),
            (b"Zm8=", Base64Error::BadByte),
            (b"+/+/", Base64Error::BadByte),
            (b"Zm9v Yg", Base64Error::BadByte),
            (b"Zm9v\nYg", Base64Error::BadByte),
            (b"Zm9v.g", Base64Error::BadByte),
            (b"Z", Base64Error::BadLength),
            (b"Zm9vY", Base64Error::BadLength),
            (b"Zh", Base64Error::NonCanonical),
            (b"Zm9", Base64Error::NonCanonical),
            (b"Zm9vYh", Base64Error::NonCanonical),
        ];
        for &(text, expected) in cases {
            assert_eq!(decode(text), Err(expected), "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn errors_read_as_short_lowercase_phrases() {
        for error in [Base64Error::BadByte, Base64Error::BadLength, Base64Error::NonCanonical] {
            let message = error.to_string();
            assert!(message.chars().next().is_some_and(|c| c.is_ascii_lowercase()));
            assert!(!message.ends_with('.'));
        }
    }
}
