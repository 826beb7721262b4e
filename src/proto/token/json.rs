//! A strict, bounded JSON reader (RFC 8259) for token headers and payloads.
//!
//! ```text
//! {"alg":"HS256","typ":"JWT"}
//! {"exp":1700000000.5,"mercure":{"subscribe":["https://example.com/books/{id}"],"payload":null}}
//! ```
//!
//! It takes what PyJWT, the `mercure` crate and Symfony emit (nesting,
//! `\uXXXX` and `\/` escapes, integers, fractions, booleans, null) and
//! nothing looser: no trailing commas, comments, single quotes, `NaN`,
//! leading `+` or zeros, raw control characters in strings, lone
//! surrogates, invalid UTF-8 or bytes after the value. A key that appears
//! twice in one object is refused rather than resolved, because two
//! readers that resolve it differently (first wins, last wins) would grant
//! different rights from the same token.
//!
//! Bounded: at most [`MAX_JSON_BYTES`] of input and [`MAX_JSON_DEPTH`]
//! nested arrays and objects, so recursion and allocation stay small
//! whatever arrives. Errors name what is wrong and never quote the input.
//!
//! Numbers keep their text; [`Number::as_numeric_date`] reads one as whole
//! seconds without going through floating point.

use std::fmt;

use reader::Reader;

/// Longest input, in bytes.
pub const MAX_JSON_BYTES: usize = 8 * 1024;
/// Most arrays and objects nested inside one another (the outermost counts).
pub const MAX_JSON_DEPTH: usize = 16;

/// One JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as written.
    Number(Number),
    /// A string, escapes decoded.
    String(String),
    /// `[…]`
    Array(Vec<Value>),
    /// `{…}` in the order written; keys are unique.
    Object(Vec<(String, Value)>),
}

/// A number exactly as written (it matched RFC 8259's `number` grammar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

/// A time in whole seconds since the epoch, as JWT's NumericDate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumericDate {
    /// The whole seconds, rounded down.
    pub seconds: u64,
    /// Whether a non-zero fraction of a second was dropped.
    pub fractional: bool,
}

/// Why a text is not accepted JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonError {
    /// Over [`MAX_JSON_BYTES`].
    TooLarge,
    /// Over [`MAX_JSON_DEPTH`] nested arrays and objects.
    TooDeep,
    /// The bytes are not UTF-8.
    NotUtf8,
    /// The text ends inside a value.
    UnexpectedEnd,
    /// A byte that the grammar does not allow where it stands.
    UnexpectedByte,
    /// A `\` not followed by one of `" \ / b f n r t u` and four hex digits.
    BadEscape,
    /// A `\uD800`–`\uDFFF` escape that is not half of a surrogate pair.
    LoneSurrogate,
    /// A raw byte below 0x20 inside a string.
    ControlInString,
    /// A number outside the grammar (leading zero, `+`, `1.`, `.5`, `1e`).
    BadNumber,
    /// The same key twice in one object.
    DuplicateKey,
    /// Bytes other than whitespace after the value.
    TrailingData,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonError::TooLarge => "json over 8192 bytes",
            JsonError::TooDeep => "json nested over 16 levels",
            JsonError::NotUtf8 => "json is not utf-8",
            JsonError::UnexpectedEnd => "json ends too early",
            JsonError::UnexpectedByte => "unexpected byte in json",
            JsonError::BadEscape => "bad escape in a json string",
            JsonError::LoneSurrogate => "lone surrogate in a json string",
            JsonError::ControlInString => "control character in a json string",
            JsonError::BadNumber => "bad json number",
            JsonError::DuplicateKey => "duplicate key in a json object",
            JsonError::TrailingData => "data after the json value",
        })
    }
}

impl std::error::Error for JsonError {}

/// Reads one JSON value that fills `bytes` (whitespace around it allowed).
///
/// # Errors
///
/// A [`JsonError`] naming the first thing wrong.
///
/// ```text
/// let value = parse(br#"{"typ":"JWT"}"#)?;
/// assert_eq!(value.get("typ"), Some(&Value::String("JWT".into())));
/// assert!(parse(br#"{"typ":"JWT","typ":"JWS"}"#).is_err());
/// # Ok::<(), ssed::proto::token::json::JsonError>(())
/// ```
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    if bytes.len() > MAX_JSON_BYTES {
        return Err(JsonError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| JsonError::NotUtf8)?;
    let mut reader = Reader { text, at: 0 };
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.at < text.len() {
        return Err(JsonError::TrailingData);
    }
    Ok(value)
}

impl Value {
    /// The member `key` of an object; `None` for a missing key or a non-object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(name, _)| name == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl Number {
    /// The number as written.
    #[cfg(test)]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as a NumericDate (RFC 7519 §2): seconds, possibly with a
    /// fraction, possibly with an exponent (`1.7e9`).
    ///
    /// `None` for a negative number (any `-`, even `-0`) and for a number
    /// whose whole part does not fit a `u64`.
    pub fn as_numeric_date(&self) -> Option<NumericDate> {
        let text = self.0.as_bytes();
        if text.first() == Some(&b'-') {
            return None;
        }
        let (mantissa, exponent) = match text.iter().position(|&b| b == b'e' || b == b'E') {
            Some(at) => (&text[..at], exponent_value(&text[at + 1..])),
            None => (text, 0),
        };
        let (whole, fraction) = match mantissa.iter().position(|&b| b == b'.') {
            Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
            None => (mantissa, &[][..]),
        };
        // The digits of `whole` then `fraction`, with the decimal point
        // moved `exponent` places to the right of where it was written.
        let point = whole.len() as i64 + exponent;
        let mut seconds: u64 = 0;
        let mut fractional = false;
        for (index, &digit) in whole.iter().chain(fraction).enumerate() {
            let digit = u64::from(digit.wrapping_sub(b'0'));
            if (index as i64) < point {
                seconds = seconds.checked_mul(10)?.checked_add(digit)?;
            } else if digit != 0 {
                fractional = true;
            }
        }
        // Zeros the exponent appends after the last written digit; 20 of
        // them overflow a u64 unless the digits were all zero.
        let appended_zeros = point - (whole.len() + fraction.len()) as i64;
        for _ in 0..appended_zeros.clamp(0, 20) {
            seconds = seconds.checked_mul(10)?;
        }
        Some(NumericDate { seconds, fractional })
    }
}

/// The exponent after `e`, saturated far beyond any date (`1e99999999999`
/// must not overflow).
fn exponent_value(text: &[u8]) -> i64 {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude =
        digits.iter().fold(0i64, |acc, &digit| (acc * 10 + i64::from(digit.wrapping_sub(b'0'))).min(1 << 20));
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

mod reader;

/// `text` as a JSON string, quotes included: `"`, `\` and control
/// characters escaped (RFC 8259 §7), for the claims `ssed token` writes.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            control if u32::from(control) < 0x20 => {
                quoted.push_str(&format!("\\u{:04x}", u32::from(control)));
            }
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests;
