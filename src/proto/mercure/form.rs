//! `application/x-www-form-urlencoded` (WHATWG URL §5.1), strictly
//! (Mercure rule 3): the publisher's body, and the subscriber's query,
//! which is the same grammar.
//!
//! ```text
//! topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=a+b%C3%A9&&private
//! ─► ("topic", "https://example.com/books/1"), ("data", "a bé"), ("private", "")
//! ```
//!
//! - Pairs are split at `&`; an empty pair (`&&`, a leading or trailing
//!   `&`) is skipped.
//! - A pair is split at its first `=`; a pair without one is a name with
//!   an empty value (`private` is `("private", "")`).
//! - Names and values are decoded alike: `+` is a space, `%XX` is one
//!   byte, and the bytes must be UTF-8.
//!
//! Stricter than the WHATWG parser, which keeps a bad escape as it is: a
//! `%` not followed by two hex digits (`%zz`, `%4`, a trailing `%`) is
//! refused, so a publisher's mistake is a 400 rather than an update with
//! other bytes than were meant. The decoding is
//! [`crate::proto::topic::decode_strict`], the one `/events` uses for its
//! query; the work is linear in the input, whose size the caller bounds.

use std::fmt;

use crate::proto::topic::decode_strict;

/// One decoded `name=value` pair.
pub type FormPair = (String, String);

/// Why a form (or a query) was refused (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// A `%` not followed by two hex digits.
    BadPercentEncoding,
    /// The body, or a decoded name or value, is not UTF-8.
    NotUtf8,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FormError::BadPercentEncoding => "bad percent-encoding in the form (% needs two hex digits)",
            FormError::NotUtf8 => "form is not utf-8 once decoded",
        })
    }
}

impl std::error::Error for FormError {}

/// Decodes every pair of `form`, in order, repeated names kept.
///
/// # Errors
///
/// [`FormError::BadPercentEncoding`] or [`FormError::NotUtf8`], for the
/// first pair that has either.
///
/// ```text
/// let pairs = decode_form(b"topic=a%2Fb&data=x+y&private")?;
/// assert_eq!(pairs[0], ("topic".to_owned(), "a/b".to_owned()));
/// assert_eq!(pairs[1], ("data".to_owned(), "x y".to_owned()));
/// assert_eq!(pairs[2], ("private".to_owned(), String::new()));
/// ```
pub fn decode_form(form: &[u8]) -> Result<Vec<FormPair>, FormError> {
    // Escaped text is ASCII; raw UTF-8 is taken as it is, as browsers do.
    let form = std::str::from_utf8(form).map_err(|_| FormError::NotUtf8)?;
    let mut pairs = Vec::new();
    for pair in form.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        pairs.push((decode_component(name)?, decode_component(value)?));
    }
    Ok(pairs)
}

/// One name or value: `+` a space, `%XX` a byte, UTF-8 at the end.
fn decode_component(text: &str) -> Result<String, FormError> {
    let bytes = decode_strict(text).map_err(|_| FormError::BadPercentEncoding)?;
    String::from_utf8(bytes).map_err(|_| FormError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(form: &str) -> Result<Vec<FormPair>, FormError> {
        decode_form(form.as_bytes())
    }

    fn ok(expected: &[(&str, &str)]) -> Result<Vec<FormPair>, FormError> {
        Ok(expected.iter().map(|&(name, value)| (name.to_owned(), value.to_owned())).collect())
    }

    #[test]
    fn rule_3_decodes_plus_percent_and_utf8() {
        // rule 3
        let cases = [
            ("topic=https%3A%2F%2Fexample.com%2Fbooks%2F1", ok(&[("topic", "https://example.com/books/1")])),
            ("data=a+b", ok(&[("data", "a b")])),
            ("data=a%2Bb", ok(&[("data", "a+b")])),
            ("data=caf%C3%A9", ok(&[("data", "café")])),
            ("data=café", ok(&[("data", "café")])),
            ("data=%7B%22a%22%3A1%7D", ok(&[("data", "{\"a\":1}")])),
            ("data=a%0D%0Ab", ok(&[("data", "a\r\nb")])),
            ("data=x=y", ok(&[("data", "x=y")])),
            ("%74opic=a", ok(&[("topic", "a")])),
            ("private", ok(&[("private", "")])),
            ("private=", ok(&[("private", "")])),
            ("=v", ok(&[("", "v")])),
            ("a=1&&b=2&", ok(&[("a", "1"), ("b", "2")])),
            ("&&&", ok(&[])),
            ("", ok(&[])),
            ("topic=a&topic=b", ok(&[("topic", "a"), ("topic", "b")])),
        ];
        for (form, expected) in cases {
            assert_eq!(pairs(form), expected, "{form:?}");
        }
    }

    #[test]
    fn rule_3_refuses_bad_escapes_and_non_utf8() {
        // rule 3
        let refused = [
            ("data=%zz", FormError::BadPercentEncoding),
            ("data=%4", FormError::BadPercentEncoding),
            ("data=%", FormError::BadPercentEncoding),
            ("data=a%4g", FormError::BadPercentEncoding),
            ("da%ta=1", FormError::BadPercentEncoding),
            ("ok=1&data=%zz", FormError::BadPercentEncoding),
            ("data=%FF", FormError::NotUtf8),
            ("data=%C3", FormError::NotUtf8),
            ("data=%ED%A0%80", FormError::NotUtf8),
        ];
        for (form, expected) in refused {
            assert_eq!(pairs(form), Err(expected), "{form:?}");
        }
        assert_eq!(decode_form(b"data=\xff"), Err(FormError::NotUtf8));
    }
}
