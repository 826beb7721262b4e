//! The keys that verify tokens, read once at start from the environment or
//! from files, never from a flag's value (which `ps` would show).
//!
//! ```text
//! SSED_JWT_KEY=…  or  --jwt-key-file /etc/ssed/jwt.key       both roles
//! SSED_JWT_PUBLISHER_KEY, SSED_JWT_SUBSCRIBER_KEY             one role each
//! SSED_JWT_PREVIOUS_KEY                                       verifies, never signs
//! ```
//!
//! The previous key is the shared key's predecessor: it verifies only the
//! roles the shared key serves. Were it to verify a role with its own key
//! too, rotating the subscriber key would let the old subscriber key
//! (held by whoever mints subscriber tokens) sign publishers.
//!
//! A key shorter than 32 bytes is refused at start: RFC 7518 §3.2 asks an
//! HS256 key to be at least as long as the hash.

use std::fs;
use std::io::Read;

use crate::config::{AuthOptions, KeySource};
use crate::proto::token::hmac::HmacKey;

/// Shortest key accepted, in bytes (RFC 7518 §3.2).
pub(crate) const MIN_KEY_BYTES: usize = 32;
/// Why a previous key is refused without a shared key.
const ROLE_KEYS_AND_PREVIOUS: &str = "a previous key (SSED_JWT_PREVIOUS_KEY or --jwt-previous-key-file) \
     rotates SSED_JWT_KEY (--jwt-key-file), which is not set; a role with its own key has no previous key";
/// Longest key file read, in bytes: a key is short, a mistaken path need not be.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// The keys of each role, the signing key first.
pub(crate) struct Keys {
    publisher: Vec<HmacKey>,
    subscriber: Vec<HmacKey>,
}

impl Keys {
    /// Reads the keys `options` names.
    ///
    /// # Errors
    ///
    /// One line naming the variable or file (never the key): unreadable,
    /// empty, or shorter than [`MIN_KEY_BYTES`].
    pub(crate) fn load(options: &AuthOptions) -> Result<Keys, String> {
        let shared = options.key.as_ref().map(read_key).transpose()?;
        let previous = options.previous_key.as_ref().map(read_key).transpose()?;
        if previous.is_some() && shared.is_none() {
            return Err(ROLE_KEYS_AND_PREVIOUS.to_owned());
        }
        // The previous key is the shared key's predecessor: it verifies
        // the roles the shared key serves, never a role with its own key
        // (else the old subscriber key would mint publishers).
        let role = |own: &Option<KeySource>| -> Result<Vec<HmacKey>, String> {
            let keys = match own.as_ref().map(read_key).transpose()? {
                Some(own) => vec![own],
                None => shared.clone().into_iter().chain(previous.clone()).collect(),
            };
            Ok(keys.iter().map(|bytes| HmacKey::new(bytes)).collect())
        };
        Ok(Keys { publisher: role(&options.publisher_key)?, subscriber: role(&options.subscriber_key)? })
    }

    /// The keys that verify a publisher's token.
    pub(crate) fn publisher(&self) -> &[HmacKey] {
        &self.publisher
    }

    /// The keys that verify a subscriber's token.
    pub(crate) fn subscriber(&self) -> &[HmacKey] {
        &self.subscriber
    }

    /// The key that signs a publisher's token (`ssed token`).
    pub(crate) fn publisher_signing(&self) -> Option<&HmacKey> {
        self.publisher.first()
    }

    /// The key that signs a subscriber's token.
    pub(crate) fn subscriber_signing(&self) -> Option<&HmacKey> {
        self.subscriber.first()
    }
}

/// A key's bytes, checked for length.
fn read_key(source: &KeySource) -> Result<Vec<u8>, String> {
    let (bytes, named) = match source {
        KeySource::Environment(secret) => {
            (secret.0.as_bytes().to_vec(), "the key from the environment".to_owned())
        }
        KeySource::File(path) => {
            let named = format!("key file {}", path.display());
            // Opening a FIFO waits for a writer, so the start would hang
            // before it listens; a device never ends. Asked before opening.
            let metadata = fs::metadata(path).map_err(|error| format!("{named}: {error}"))?;
            if !metadata.is_file() {
                return Err(format!("{named} is not a regular file"));
            }
            let file = fs::File::open(path).map_err(|error| format!("{named}: {error}"))?;
            let mut bytes = Vec::new();
            file.take(MAX_KEY_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|error| format!("{named}: {error}"))?;
            if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
                return Err(format!("{named}: over {MAX_KEY_FILE_BYTES} bytes; is it a key?"));
            }
            // `echo … > file` and editors end a file with a newline.
            if bytes.ends_with(b"\n") {
                bytes.pop();
                if bytes.ends_with(b"\r") {
                    bytes.pop();
                }
            }
            (bytes, named)
        }
    };
    if bytes.len() < MIN_KEY_BYTES {
        return Err(format!(
            "{named} is {} bytes; an HS256 key needs at least {MIN_KEY_BYTES} (e.g. openssl rand -base64 48)",
            bytes.len()
        ));
    }
    Ok(bytes)
}
