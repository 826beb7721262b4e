//! Mercure's JWT: compact JWS signed with HS256 (RFC 7515, 7518, 7519),
//! verified into [`Claims`] (Mercure rules 13–16).
//!
//! ```text
//! eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtZXJjdXJlIjp7InN1YnNjcmliZSI6WyIqIl19fQ.<43 characters>
//! └──── base64url(header) ───────────┘ └──── base64url(payload) ───────────────┘ └ base64url(MAC)
//!
//! header   {"alg":"HS256","typ":"JWT"}             alg must be HS256; typ absent or JWT; kid ignored
//! payload  {"mercure":{"subscribe":["*"]}}         plus exp, nbf; anything else ignored
//! MAC      HMAC-SHA256(key, header_b64 "." payload_b64), 32 bytes
//! ```
//!
//! The checks run in this order, each with its own [`TokenError`]: size,
//! three base64url parts, the header (a JSON object whose `alg` is exactly
//! `HS256`: `none`, `HS384`, `HS512`, `RS256` are refused even when
//! correctly signed, so an attacker cannot choose the algorithm), the MAC
//! against each key in turn (the current key and a previous one during a
//! rotation), compared in constant time; only then the payload, its times
//! and its claims. Nothing of the token or the key reaches an error
//! message.
//!
//! Times are whole seconds since the epoch, given by the caller (`now`):
//! this module reads no clock. A fractional `exp` counts from its whole
//! second (`exp` 100.5 expires at 100), so a stream closed at
//! [`Claims::exp`] never outlives its token; a fractional `nbf` waits for
//! the next whole second.

use std::fmt;

use super::base64url;
use super::hmac::{constant_time_eq, HmacKey, MAC_BYTES};
use super::json::{self, Value};
use crate::proto::selector::Selector;

/// Most selectors in `mercure.publish` or `mercure.subscribe`.
pub const MAX_SELECTORS: usize = 64;

/// Longest token, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Latest `exp` or `nbf` accepted: 9999-12-31T23:59:59Z. Anything later is
/// refused as a bad claim rather than read as "never".
pub const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// The header [`mint`] writes, as PyJWT and the `mercure` crate write it.
const MINTED_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// What a verified token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `exp`, in whole seconds since the epoch, rounded down; `None`: the
    /// token is valid until its key changes.
    pub exp: Option<u64>,
    /// `mercure.publish`, compiled; empty when absent (allows nothing).
    pub publish: Vec<Selector>,
    /// `mercure.subscribe`, compiled; empty when absent (allows nothing).
    pub subscribe: Vec<Selector>,
}

impl Claims {
    /// Whether some `mercure.publish` selector matches `topic`.
    pub fn may_publish(&self, topic: &str) -> bool {
        self.publish.iter().any(|selector| selector.matches(topic))
    }

    /// Whether some `mercure.subscribe` selector matches `topic`.
    #[cfg(test)]
    pub fn may_subscribe(&self, topic: &str) -> bool {
        self.subscribe.iter().any(|selector| selector.matches(topic))
    }
}

/// Why a token was refused (every one answers 401 `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Over [`MAX_TOKEN_BYTES`].
    TooLarge,
    /// Not three parts of base64url without padding.
    Malformed,
    /// The header is not a JSON object with `typ` absent or `JWT`, or it
    /// names extensions that must be understood (`crit`).
    Header,
    /// The header's `alg` is not `HS256`.
    Algorithm,
    /// No key gives this MAC.
    Signature,
    /// The payload is not a JSON object.
    Payload,
    /// `exp` is now or past.
    Expired,
    /// `nbf` is still to come.
    NotYetValid,
    /// `exp`, `nbf`, `mercure`, `mercure.publish` or `mercure.subscribe`
    /// has the wrong type, is negative, or is past [`MAX_NUMERIC_DATE`].
    BadClaims,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::TooLarge => "token over 8192 bytes",
            TokenError::Malformed => "token is not three base64url parts without padding",
            TokenError::Header => "token header is not a json object with typ jwt",
            TokenError::Algorithm => "token algorithm is not hs256",
            TokenError::Signature => "token signature does not match",
            TokenError::Payload => "token payload is not a json object",
            TokenError::Expired => "token expired",
            TokenError::NotYetValid => "token not valid yet",
            TokenError::BadClaims => "token claims have the wrong type",
        })
    }
}

impl std::error::Error for TokenError {}

/// Verifies `token` against `keys` (any one may have signed it) at `now`,
/// in seconds since the epoch.
///
/// # Errors
///
/// The first [`TokenError`] found, in the order of the module docs. An
/// empty `keys` verifies nothing ([`TokenError::Signature`]).
///
/// ```text
/// let key = HmacKey::new(b"a key of at least thirty-two bytes!");
/// let token = jwt::mint(&key, r#"{"exp":2000,"mercure":{"subscribe":["*"]}}"#);
/// let claims = jwt::verify(token.as_bytes(), &[key.clone()], 1000)?;
/// assert_eq!(claims.exp, Some(2000));
/// assert!(claims.may_subscribe("https://example.com/books/1"));
/// assert_eq!(jwt::verify(token.as_bytes(), &[key], 2000), Err(jwt::TokenError::Expired));
/// # Ok::<(), jwt::TokenError>(())
/// ```
pub fn verify(token: &[u8], keys: &[HmacKey], now: u64) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let mut parts = token.split(|&byte| byte == b'.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let decode = |part: &[u8]| base64url::decode(part).map_err(|_| TokenError::Malformed);
    let (header, payload, signature) = (decode(header_b64)?, decode(payload_b64)?, decode(signature_b64)?);

    check_header(&header)?;
    let signed = |key: &HmacKey| {
        let expected: [u8; MAC_BYTES] = key.mac_of_parts(&[header_b64, b".", payload_b64]);
        constant_time_eq(&expected, &signature)
    };
    if !keys.iter().any(signed) {
        return Err(TokenError::Signature);
    }

    let payload = json::parse(&payload).map_err(|_| TokenError::Payload)?;
    if !matches!(payload, Value::Object(_)) {
        return Err(TokenError::Payload);
    }
    let exp = payload.get("exp").map(numeric_date).transpose()?;
    let nbf = payload.get("nbf").map(numeric_date).transpose()?;
    let (publish, subscribe) = match payload.get("mercure") {
        None => (Vec::new(), Vec::new()),
        Some(mercure @ Value::Object(_)) => {
            (selectors(mercure.get("publish"))?, selectors(mercure.get("subscribe"))?)
        }
        Some(_) => return Err(TokenError::BadClaims),
    };
    // RFC 7519 §4.1.4: valid only while now is before exp.
    if exp.is_some_and(|exp| exp.seconds <= now) {
        return Err(TokenError::Expired);
    }
    // RFC 7519 §4.1.5: valid once now is at or after nbf.
    if nbf.is_some_and(|nbf| now < nbf.seconds || (now == nbf.seconds && nbf.fractional)) {
        return Err(TokenError::NotYetValid);
    }
    Ok(Claims { exp: exp.map(|exp| exp.seconds), publish, subscribe })
}

/// Signs `claims_json` with HS256 under the header `{"alg":"HS256","typ":"JWT"}`.
///
/// `claims_json` is taken as written (the caller builds it, and it is not
/// parsed here); [`verify`] will refuse it later if it is not a JSON object.
pub fn mint(key: &HmacKey, claims_json: &str) -> String {
    let header_b64 = base64url::encode(MINTED_HEADER.as_bytes());
    let payload_b64 = base64url::encode(claims_json.as_bytes());
    let mac = key.mac_of_parts(&[header_b64.as_bytes(), b".", payload_b64.as_bytes()]);
    format!("{header_b64}.{payload_b64}.{}", base64url::encode(&mac))
}

/// Rule 13: a JSON object, `alg` exactly `HS256` (RFC 7518 §3.1 names are
/// case-sensitive), `typ` absent or `JWT` in any case (RFC 7519 §5.1), no
/// `crit` (RFC 7515 §4.1.11: extensions we do not know must be refused).
fn check_header(header: &[u8]) -> Result<(), TokenError> {
    let header = json::parse(header).map_err(|_| TokenError::Header)?;
    if !matches!(header, Value::Object(_)) {
        return Err(TokenError::Header);
    }
    if !matches!(header.get("alg"), Some(Value::String(alg)) if alg == "HS256") {
        return Err(TokenError::Algorithm);
    }
    let typ_accepted = match header.get("typ") {
        None => true,
        Some(Value::String(typ)) => typ.eq_ignore_ascii_case("JWT"),
        Some(_) => false,
    };
    if !typ_accepted || header.get("crit").is_some() {
        return Err(TokenError::Header);
    }
    Ok(())
}

/// `exp` or `nbf`: a non-negative number no later than [`MAX_NUMERIC_DATE`].
fn numeric_date(value: &Value) -> Result<json::NumericDate, TokenError> {
    match value {
        Value::Number(number) => number
            .as_numeric_date()
            .filter(|date| date.seconds <= MAX_NUMERIC_DATE)
            .ok_or(TokenError::BadClaims),
        _ => Err(TokenError::BadClaims),
    }
}

/// `mercure.publish` or `mercure.subscribe`: absent, or an array of
/// strings, each compiled once here.
fn selectors(claim: Option<&Value>) -> Result<Vec<Selector>, TokenError> {
    match claim {
        None => Ok(Vec::new()),
        // Every selector is matched for each private event a stream may
        // read: a bound keeps one token from slowing every publish.
        Some(Value::Array(items)) if items.len() > MAX_SELECTORS => Err(TokenError::BadClaims),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(Selector::compile(text)),
                _ => Err(TokenError::BadClaims),
            })
            .collect(),
        Some(_) => Err(TokenError::BadClaims),
    }
}

#[cfg(test)]
mod tests;
