//! The topic rule of the Mercure endpoint (rule 12): topics are IRIs,
//! taken as text.
//!
//! ```text
//! https://example.com/books/1                      yes
//! https://example.com/search?q=a&b=c%20d#top       yes  (? = & % # are ordinary characters here)
//! https://exemple.fr/livres/été                    yes  (Unicode)
//! https://example.com/books/{id}                   yes  (a selector is checked by the same rule)
//! urn:isbn:0-486-27557-4                           yes
//! ""                                               no   (empty)
//! https://example.com/a<LF>b                       no   (a control character)
//! ```
//!
//! A topic is 1 to [`MAX_IRI_BYTES`] bytes of UTF-8 without a control
//! character: no C0 (U+0000–U+001F), no DEL (U+007F), no C1
//! (U+0080–U+009F). Those could break a log line, a journal record or a
//! header, and draft-08 of Mercure refuses them with a 400 too. Nothing
//! else is checked: the hub compares topics byte for byte and never
//! resolves them, so it has no reason to refuse an IRI that RFC 3987
//! would call malformed, and a template selector (`{id}`) must pass.
//!
//! The same rule holds for published topics (canonical and alternates)
//! and for the subscriber's `topic` selectors, after percent-decoding.
//! `/events` keeps its own, narrower topic names (`crate::proto::topic`).

use std::fmt;

/// Longest topic or selector, in bytes of UTF-8: 2 KiB, more than the
/// 2,000 characters browsers and proxies have long accepted in a whole URL.
pub const MAX_IRI_BYTES: usize = 2048;

/// Why a topic or selector was refused (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IriError {
    /// The empty string.
    Empty,
    /// Over [`MAX_IRI_BYTES`].
    TooLong,
    /// A control character (C0, DEL or C1).
    ControlCharacter(char),
}

impl fmt::Display for IriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IriError::Empty => f.write_str("empty topic"),
            IriError::TooLong => write!(f, "topic over {MAX_IRI_BYTES} bytes"),
            IriError::ControlCharacter(control) => {
                write!(f, "control character u+{:04x} in a topic", u32::from(*control))
            }
        }
    }
}

impl std::error::Error for IriError {}

/// Checks `topic` against the rule: non-empty, at most [`MAX_IRI_BYTES`],
/// no control character.
///
/// # Errors
///
/// [`IriError::Empty`], [`IriError::TooLong`], or
/// [`IriError::ControlCharacter`] with the first one found.
///
/// ```text
/// assert_eq!(check_topic("https://example.com/books/1?lang=fr#p2"), Ok(()));
/// assert_eq!(check_topic("a\u{7f}"), Err(IriError::ControlCharacter('\u{7f}')));
/// ```
pub fn check_topic(topic: &str) -> Result<(), IriError> {
    if topic.is_empty() {
        return Err(IriError::Empty);
    }
    if topic.len() > MAX_IRI_BYTES {
        return Err(IriError::TooLong);
    }
    // `char::is_control` is Unicode's Cc category: exactly C0, DEL and C1.
    match topic.chars().find(|character| character.is_control()) {
        Some(control) => Err(IriError::ControlCharacter(control)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_12_topics_are_printable_iris_up_to_the_limit() {
        // rule 12
        let longest = format!("https://example.com/{}", "a".repeat(MAX_IRI_BYTES - 20));
        let one_more = format!("{longest}a");
        // A multi-byte character counts its bytes, not one.
        let longest_in_e_acute = "é".repeat(MAX_IRI_BYTES / 2);
        let cases: [(&str, Result<(), IriError>); 19] = [
            ("https://example.com/books/1", Ok(())),
            ("https://example.com/search?q=a&b=c%20d#top", Ok(())),
            ("https://exemple.fr/livres/été", Ok(())),
            ("https://example.com/books/{id}", Ok(())),
            ("urn:isbn:0-486-27557-4", Ok(())),
            ("*", Ok(())),
            ("a b", Ok(())),
            ("\u{a0}\u{2028}\u{fffd}😀", Ok(())),
            (&longest, Ok(())),
            (&longest_in_e_acute, Ok(())),
            (&one_more, Err(IriError::TooLong)),
            ("", Err(IriError::Empty)),
            ("a\0b", Err(IriError::ControlCharacter('\0'))),
            ("a\nb", Err(IriError::ControlCharacter('\n'))),
            ("a\rb", Err(IriError::ControlCharacter('\r'))),
            ("a\tb", Err(IriError::ControlCharacter('\t'))),
            ("a\u{1f}", Err(IriError::ControlCharacter('\u{1f}'))),
            ("a\u{7f}", Err(IriError::ControlCharacter('\u{7f}'))),
            ("a\u{85}\u{9f}", Err(IriError::ControlCharacter('\u{85}'))),
        ];
        for (topic, expected) in cases {
            assert_eq!(check_topic(topic), expected, "{topic:?}");
        }
        assert_eq!(longest.len(), MAX_IRI_BYTES);
        assert_eq!(check_topic(&format!("{longest_in_e_acute}a")), Err(IriError::TooLong));
    }

    #[test]
    fn rule_12_errors_name_the_character_never_the_topic() {
        // rule 12
        let huge = format!("{}\n", "x".repeat(1000));
        assert_eq!(
            check_topic(&huge).map_err(|error| error.to_string()),
            Err("control character u+000a in a topic".to_owned())
        );
        assert_eq!(IriError::TooLong.to_string(), "topic over 2048 bytes");
    }
}
