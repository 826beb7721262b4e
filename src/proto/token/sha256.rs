//! SHA-256 (FIPS 180-4 §6.2), streaming, for HMAC-SHA256.
//!
//! ```text
//! message  61 62 63                                   "abc"
//! padded   61 62 63 80 00 … 00 | 00 00 00 00 00 00 00 18   one 64-byte block
//!                                  length in bits, big-endian
//! digest   ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
//! ```
//!
//! The message is cut into 64-byte blocks; each block stirs the eight
//! 32-bit words of the state through 64 rounds. The last block carries a
//! `0x80` byte, zeros, and the message length in bits. Bytes may arrive in
//! pieces of any size ([`Sha256::update`]); only whole blocks are
//! compressed, the rest waits in a 64-byte buffer.
//!
//! Not constant-time with respect to the message *length* (nothing here
//! needs that), and no other hash: this module exists only for HS256.

use std::fmt;

/// Bytes in one block.
pub const BLOCK_BYTES: usize = 64;
/// Bytes in one digest.
pub const DIGEST_BYTES: usize = 32;

/// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the
/// cube roots of the first 64 primes.
const ROUND_CONSTANTS: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// FIPS 180-4 §5.3.3: the first 32 bits of the fractional parts of the
/// square roots of the first 8 primes.
const INITIAL_STATE: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// A hash in progress. Cloning it forks the computation, which HMAC uses
/// to absorb a key once and reuse the state for every message.
#[derive(Clone)]
pub struct Sha256 {
    state: [u32; 8],
    /// Bytes not yet compressed; only `buffer[..buffered]` is meaningful.
    buffer: [u8; BLOCK_BYTES],
    buffered: usize,
    /// Bytes absorbed so far, for the length in the last block.
    message_bytes: u64,
}

/// Shows no bytes: the buffer may hold key material.
impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sha256").field("message_bytes", &self.message_bytes).finish_non_exhaustive()
    }
}

impl Default for Sha256 {
    fn default() -> Sha256 {
        Sha256::new()
    }
}

impl Sha256 {
    /// An empty hash.
    pub fn new() -> Sha256 {
        Sha256 { state: INITIAL_STATE, buffer: [0; BLOCK_BYTES], buffered: 0, message_bytes: 0 }
    }

    /// Absorbs `bytes`; any split of a message gives the same digest.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.message_bytes = self.message_bytes.wrapping_add(bytes.len() as u64);
        if self.buffered > 0 {
            let taken = bytes.len().min(BLOCK_BYTES - self.buffered);
            self.buffer[self.buffered..self.buffered + taken].copy_from_slice(&bytes[..taken]);
            self.buffered += taken;
            bytes = &bytes[taken..];
            if self.buffered < BLOCK_BYTES {
                return;
            }
            let block = self.buffer;
            compress(&mut self.state, &block);
            self.buffered = 0;
        }
        let mut blocks = bytes.chunks_exact(BLOCK_BYTES);
        for block in &mut blocks {
            compress(&mut self.state, block);
        }
        let rest = blocks.remainder();
        self.buffer[..rest.len()].copy_from_slice(rest);
        self.buffered = rest.len();
    }

    /// Pads the message (§5.1.1) and returns the digest.
    pub fn finish(mut self) -> [u8; DIGEST_BYTES] {
        let length_in_bits = self.message_bytes.wrapping_mul(8);
        // 0x80, then zeros until 8 bytes are left in a block, then the length.
        let zeros = (BLOCK_BYTES + BLOCK_BYTES - 8 - 1 - self.buffered) % BLOCK_BYTES;
        let mut padding = [0u8; BLOCK_BYTES + 8];
        padding[0] = 0x80;
        padding[1 + zeros..1 + zeros + 8].copy_from_slice(&length_in_bits.to_be_bytes());
        self.update(&padding[..1 + zeros + 8]);
        debug_assert_eq!(self.buffered, 0, "padding ends on a block boundary");
        let mut digest = [0u8; DIGEST_BYTES];
        for (chunk, word) in digest.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        digest
    }
}

/// The digest of `message` in one call.
///
/// ```text
/// assert_eq!(sha256(b"abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
/// ```
pub fn sha256(message: &[u8]) -> [u8; DIGEST_BYTES] {
    let mut hash = Sha256::new();
    hash.update(message);
    hash.finish()
}

/// FIPS 180-4 §6.2.2: one block into the state.
fn compress(state: &mut [u32; 8], block: &[u8]) {
    let mut schedule = [0u32; 64];
    for (word, bytes) in schedule.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    for t in 16..64 {
        let s0 =
            schedule[t - 15].rotate_right(7) ^ schedule[t - 15].rotate_right(18) ^ (schedule[t - 15] >> 3);
        let s1 =
            schedule[t - 2].rotate_right(17) ^ schedule[t - 2].rotate_right(19) ^ (schedule[t - 2] >> 10);
        schedule[t] = schedule[t - 16].wrapping_add(s0).wrapping_add(schedule[t - 7]).wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for (&round_constant, &word) in ROUND_CONSTANTS.iter().zip(&schedule) {
        let sigma1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let choose = (e & f) ^ (!e & g);
        let temp1 =
            h.wrapping_add(sigma1).wrapping_add(choose).wrapping_add(round_constant).wrapping_add(word);
        let sigma0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let majority = (a & b) ^ (a & c) ^ (b & c);
        let temp2 = sigma0.wrapping_add(majority);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(temp1);
        d = c;
        c = b;
        b = a;
        a = temp1.wrapping_add(temp2);
    }
    for (word, added) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *word = word.wrapping_add(added);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// FIPS 180-4 examples (NIST "SHA256.pdf" and the short-message vectors).
    const VECTORS: &[(&str, &str)] = &[
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
    ];

    #[test]
    fn fips_180_4_examples() {
        for &(message, digest) in VECTORS {
            assert_eq!(hex(&sha256(message.as_bytes())), digest, "{message:?}");
        }
    }

    #[test]
    fn one_million_a_in_uneven_pieces() {
        let mut hash = Sha256::new();
        let piece = [b'a'; 1000];
        let sizes = [1, 63, 64, 65, 127, 0, 999, 7];
        let mut fed = 0;
        let mut turn = 0;
        while fed < 1_000_000 {
            let size = sizes[turn % sizes.len()].min(1_000_000 - fed);
            hash.update(&piece[..size]);
            fed += size;
            turn += 1;
        }
        assert_eq!(hex(&hash.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }

    #[test]
    fn every_length_around_the_padding_boundary_splits_alike() {
        let message: Vec<u8> = (0..200u8).collect();
        for length in 50..140 {
            let whole = sha256(&message[..length]);
            for split in [1, 55, 56, 63, 64, length / 2] {
                let split = split.min(length);
                let mut hash = Sha256::new();
                hash.update(&message[..split]);
                hash.update(&message[split..length]);
                assert_eq!(hash.finish(), whole, "length {length} split {split}");
            }
        }
    }

    #[test]
    fn debug_shows_no_bytes() {
        let mut hash = Sha256::new();
        hash.update(b"secret key");
        assert_eq!(format!("{hash:?}"), "Sha256 { message_bytes: 10, .. }");
    }
}
