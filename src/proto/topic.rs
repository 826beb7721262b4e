//! Topic names, and which topics a request asks for.
//!
//! ```text
//! GET /events?topic=room/a&topic=sensors%2Fkitchen   ─► Topics::Some(["room/a", "sensors/kitchen"])
//! GET /events                                       ─► Topics::All
//! POST /publish?topic=room/a                        ─► TopicName("room/a")
//! POST /publish                                     ─► TopicName("default")
//! ```
//!
//! A name is 1 to 128 bytes of `A-Z a-z 0-9 - . _ ~ / :`: safe in a URL
//! path or query, a log line and a metric, with nothing to escape. Query
//! values are percent-decoded strictly: a `%` not followed by two hex
//! digits is an error, not a literal. A publish names one topic and one
//! event: `?topic=a&topic=b` is an error, not the first of two
//! ([`value_given_once`], for `?event=` too).
//!
//! Pure: text in, a name, a set of names, or a named error out.

use std::fmt;
use std::sync::Arc;

/// The topic of an event published without one.
pub const DEFAULT_TOPIC: &str = "default";
/// Longest topic name, in bytes.
pub const MAX_TOPIC_BYTES: usize = 128;

/// A checked topic name. Cheap to clone: the text is shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName(Arc<str>);

/// Why a topic name or a topic query was refused (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicError {
    /// `topic=` with nothing after it.
    Empty,
    /// Over 128 bytes (`MAX_TOPIC_BYTES`).
    TooLong,
    /// A byte outside `A-Z a-z 0-9 - . _ ~ / :`.
    BadByte(u8),
    /// A `%` not followed by two hex digits.
    BadPercentEncoding,
    /// More topics on one request than `--max-topics`.
    TooMany {
        /// `--max-topics`.
        limit: usize,
    },
    /// `?topic=` more than once on a publish, which goes to one topic.
    Repeated,
}

/// Why a query value that may be given only once was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryValueError {
    /// The key is in the query more than once.
    Repeated,
    /// A `%` not followed by two hex digits.
    BadPercentEncoding,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const RULE: &str = "a topic is 1 to 128 bytes of A-Z a-z 0-9 - . _ ~ / :";
        match self {
            TopicError::Empty => write!(f, "empty topic name; {RULE}"),
            TopicError::TooLong => write!(f, "topic name over 128 bytes; {RULE}"),
            TopicError::BadByte(byte) => write!(f, "byte 0x{byte:02x} in a topic name; {RULE}"),
            TopicError::BadPercentEncoding => {
                f.write_str("bad percent-encoding in the query (% needs two hex digits)")
            }
            TopicError::TooMany { limit } => {
                write!(f, "more than {limit} topics on one request (--max-topics)")
            }
            TopicError::Repeated => f.write_str("?topic= given more than once; an event goes to one topic"),
        }
    }
}

impl std::error::Error for TopicError {}

/// So that `publisher.on_topic(name)?` works in a function that returns
/// `io::Result`, as a program's `main` often does: a bad name is input the
/// program was given, so its kind is `InvalidInput`, and its message is the
/// rule it broke.
impl From<TopicError> for std::io::Error {
    fn from(error: TopicError) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, error)
    }
}

impl TopicName {
    /// Checks `name` against the rule.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`], [`TopicError::TooLong`] or [`TopicError::BadByte`].
    pub fn new(name: &str) -> Result<TopicName, TopicError> {
        check_name(name.as_bytes())?;
        Ok(TopicName(Arc::from(name)))
    }

    /// The topic of events published without one.
    pub fn default_topic() -> TopicName {
        TopicName(Arc::from(DEFAULT_TOPIC))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_name(name: &[u8]) -> Result<(), TopicError> {
    if name.is_empty() {
        return Err(TopicError::Empty);
    }
    if name.len() > MAX_TOPIC_BYTES {
        return Err(TopicError::TooLong);
    }
    match name.iter().find(|&&byte| !(byte.is_ascii_alphanumeric() || b"-._~/:".contains(&byte))) {
        Some(&byte) => Err(TopicError::BadByte(byte)),
        None => Ok(()),
    }
}

/// Which topics a stream receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topics {
    /// No `topic` in the query: every topic.
    All,
    /// These topics, each once, in the order first asked for.
    Some(Vec<TopicName>),
}

/// The topics a query (`a=1&topic=x&topic=y`) asks for: every `topic`
/// value, percent-decoded, checked, duplicates counted once.
///
/// # Errors
///
/// A [`TopicError`] for a bad name, bad percent-encoding, or more than
/// `max_topics` distinct names.
pub fn topics_in_query(query: &str, max_topics: usize) -> Result<Topics, TopicError> {
    let mut names: Vec<TopicName> = Vec::new();
    for value in query_values(query, "topic") {
        let decoded = decode_strict(value)?;
        check_name(&decoded)?;
        // check_name allows ASCII only, so this is UTF-8.
        let name = TopicName(Arc::from(String::from_utf8_lossy(&decoded).as_ref()));
        if !names.contains(&name) {
            if names.len() == max_topics {
                return Err(TopicError::TooMany { limit: max_topics });
            }
            names.push(name);
        }
    }
    Ok(if names.is_empty() { Topics::All } else { Topics::Some(names) })
}

/// The topic a publish names (`?topic=`), or the default topic.
///
/// # Errors
///
/// A [`TopicError`] for a bad name, bad percent-encoding, or more than
/// one `?topic=`.
pub fn publish_topic(query: &str) -> Result<TopicName, TopicError> {
    let decoded = match value_given_once(query, "topic") {
        Ok(None) => return Ok(TopicName::default_topic()),
        Ok(Some(decoded)) => decoded,
        Err(QueryValueError::Repeated) => return Err(TopicError::Repeated),
        Err(QueryValueError::BadPercentEncoding) => return Err(TopicError::BadPercentEncoding),
    };
    check_name(&decoded)?;
    Ok(TopicName(Arc::from(String::from_utf8_lossy(&decoded).as_ref())))
}

/// The value of `key` for a key a request may give only once (a
/// publish's `topic` and `event`), decoded by [`decode_strict`]; `None`
/// when the key is absent. Taking the first of two would publish
/// somewhere, or under a name, that the sender may not have meant.
///
/// # Errors
///
/// [`QueryValueError::Repeated`] when `key` is there twice or more;
/// [`QueryValueError::BadPercentEncoding`] for a `%` without two hex digits.
pub fn value_given_once(query: &str, key: &str) -> Result<Option<Vec<u8>>, QueryValueError> {
    let mut values = query_values(query, key);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(QueryValueError::Repeated);
    }
    // decode_strict fails only on a bad escape.
    decode_strict(value).map(Some).map_err(|_| QueryValueError::BadPercentEncoding)
}

/// The raw values of `key` in a query, in order (keys are compared as
/// sent; ssed's keys need no encoding).
fn query_values<'a>(query: &'a str, key: &'a str) -> impl Iterator<Item = &'a str> {
    query.split('&').filter_map(move |pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name == key).then_some(value)
    })
}

/// Decodes `%XX` and `+` (a space); a `%` without two hex digits after it
/// is an error.
pub fn decode_strict(value: &str) -> Result<Vec<u8>, TopicError> {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'%' => {
                let hex =
                    |offset: usize| bytes.get(at + offset).and_then(|&byte| (byte as char).to_digit(16));
                let (Some(high), Some(low)) = (hex(1), hex(2)) else {
                    return Err(TopicError::BadPercentEncoding);
                };
                decoded.push((high * 16 + low) as u8);
                at += 3;
            }
            b'+' => {
                decoded.push(b' ');
                at += 1;
            }
            byte => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(topics: &Topics) -> Vec<&str> {
        match topics {
            Topics::All => vec!["<all>"],
            Topics::Some(names) => names.iter().map(TopicName::as_str).collect(),
        }
    }

    #[test]
    fn the_name_rule() {
        let long = "a".repeat(128);
        let too_long = "a".repeat(129);
        let cases: [(&str, Result<(), TopicError>); 10] = [
            ("room/a", Ok(())),
            ("sensors/kitchen:temp-1.v2~x_y", Ok(())),
            ("A", Ok(())),
            (&long, Ok(())),
            (&too_long, Err(TopicError::TooLong)),
            ("", Err(TopicError::Empty)),
            ("a b", Err(TopicError::BadByte(b' '))),
            ("a%b", Err(TopicError::BadByte(b'%'))),
            ("café", Err(TopicError::BadByte(0xc3))),
            ("a\nb", Err(TopicError::BadByte(b'\n'))),
        ];
        for (name, expected) in cases {
            assert_eq!(TopicName::new(name).map(|_| ()), expected, "{name:?}");
        }
    }

    #[test]
    fn a_bad_name_is_an_invalid_input_io_error_with_the_rule() {
        fn kitchen(name: &str) -> std::io::Result<TopicName> {
            Ok(TopicName::new(name)?)
        }
        assert_eq!(
            kitchen("sensors/kitchen").map(|name| name.as_str().to_owned()).ok().as_deref(),
            Some("sensors/kitchen")
        );
        let error = kitchen("a b").map(|_| ()).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(
            error.to_string(),
            "byte 0x20 in a topic name; a topic is 1 to 128 bytes of A-Z a-z 0-9 - . _ ~ / :"
        );
    }

    #[test]
    fn queries_to_topics() {
        let cases: [(&str, Result<Vec<&str>, TopicError>); 13] = [
            ("", Ok(vec!["<all>"])),
            ("lastEventId=5", Ok(vec!["<all>"])),
            ("topic=a&topic=b", Ok(vec!["a", "b"])),
            ("topic=b&topic=a&topic=b", Ok(vec!["b", "a"])),
            ("topic=sensors%2Fkitchen", Ok(vec!["sensors/kitchen"])),
            ("topic=%72oom", Ok(vec!["room"])),
            ("topic=", Err(TopicError::Empty)),
            ("topic", Err(TopicError::Empty)),
            ("topic=%zz", Err(TopicError::BadPercentEncoding)),
            ("topic=a%", Err(TopicError::BadPercentEncoding)),
            ("topic=a%0", Err(TopicError::BadPercentEncoding)),
            ("topic=a%00", Err(TopicError::BadByte(0))),
            ("topic=a%0D%0A", Err(TopicError::BadByte(b'\r'))),
        ];
        for (query, expected) in cases {
            let found = topics_in_query(query, 32);
            assert_eq!(found.as_ref().map(names).map_err(|error| *error), expected, "{query:?}");
        }
    }

    #[test]
    fn more_topics_than_the_limit_are_refused_duplicates_counted_once() {
        let three = "topic=a&topic=b&topic=c";
        assert_eq!(topics_in_query(three, 2), Err(TopicError::TooMany { limit: 2 }));
        assert!(topics_in_query("topic=a&topic=b&topic=a&topic=b", 2).is_ok());
    }

    #[test]
    fn a_publish_names_one_topic_or_the_default() {
        assert_eq!(publish_topic("event=x").map(|topic| topic.to_string()), Ok("default".to_owned()));
        assert_eq!(publish_topic("topic=room%2Fa").map(|topic| topic.to_string()), Ok("room/a".to_owned()));
        assert_eq!(publish_topic("topic=a+b"), Err(TopicError::BadByte(b' ')));
        assert_eq!(publish_topic("topic=%"), Err(TopicError::BadPercentEncoding));
        assert_eq!(publish_topic("topic=a&topic=b"), Err(TopicError::Repeated));
        assert_eq!(publish_topic("topic=a&event=x&topic=a"), Err(TopicError::Repeated));
    }

    #[test]
    fn values_given_once() {
        type Value<'a> = Result<Option<&'a [u8]>, QueryValueError>;
        let cases: [(&str, Value); 10] = [
            ("", Ok(None)),
            ("events=a", Ok(None)),
            ("event=a", Ok(Some(b"a"))),
            ("topic=t&event=a%20b+c", Ok(Some(b"a b c"))),
            ("event=%FF", Ok(Some(b"\xff"))),
            ("event=a&event=b", Err(QueryValueError::Repeated)),
            ("event=a&event=a", Err(QueryValueError::Repeated)),
            ("event=%zz", Err(QueryValueError::BadPercentEncoding)),
            ("event=a%", Err(QueryValueError::BadPercentEncoding)),
            ("event=%4", Err(QueryValueError::BadPercentEncoding)),
        ];
        for (query, expected) in cases {
            let found = value_given_once(query, "event");
            assert_eq!(
                found.as_ref().map(|value| value.as_deref()).map_err(|error| *error),
                expected,
                "{query:?}"
            );
        }
    }
}
