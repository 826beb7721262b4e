//! A Mercure subscription's query (rules 12, 17, 24): the `topic`
//! selectors, the last event id and a token.
//!
//! ```text
//! GET /.well-known/mercure?topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D&topic=*
//!     &lastEventID=urn%3Auuid%3A919108f7-52d1-4320-9bac-f847db4148a8&authorization=eyJhbGciOi…
//! ─► SubscribeQuery { topics: ["https://example.com/books/{id}", "*"],
//!                     last_event_id: Some("urn:uuid:919108f7-52d1-4320-9bac-f847db4148a8"),
//!                     authorization: Some("eyJhbGciOi…") }
//! ```
//!
//! - `topic` repeats; each value is percent-decoded as a form value (so a
//!   `{+path}` template must arrive as `%7B%2Bpath%7D`, as
//!   `URLSearchParams` sends it: a raw `+` is a space, as in the
//!   Mercure.rocks hub) and checked by [`check_topic`]. Each distinct
//!   selector is kept once, in order; none at all is a 400, as the
//!   Mercure.rocks hub answers ("Missing topic parameter").
//! - `lastEventID` (that spelling): the first one; empty is none, as in
//!   the Mercure.rocks hub. The `Last-Event-ID` header beats it (rule 24),
//!   but headers are the caller's: see
//!   [`super::last_event_id::chosen_last_event_id`].
//! - `authorization`: the token's second source (rule 17), the first one
//!   as sent, even empty: a token that is present but invalid is a 401,
//!   never a silent downgrade to anonymous (rule 20).
//! - Anything else is ignored.

use std::fmt;

use super::form::{decode_form, FormError};
use super::iri::{check_topic, IriError};

/// What a subscriber's query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeQuery {
    /// The `topic` selectors, decoded; never empty, each distinct.
    pub topics: Vec<String>,
    /// `lastEventID`, when present and not empty.
    pub last_event_id: Option<String>,
    /// `authorization`, when present (even empty).
    pub authorization: Option<String>,
}

/// Why a subscription's query was refused: always 400
/// ([`QueryError::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    /// The query is not a valid form.
    Form(FormError),
    /// No `topic` parameter.
    MissingTopic,
    /// A `topic` breaks [`check_topic`].
    Topic(IriError),
    /// More distinct selectors than the caller's limit.
    TooManyTopics {
        /// The caller's limit.
        limit: usize,
    },
}

impl QueryError {
    /// The status that answers this error: 400 for every one.
    pub fn status(self) -> u16 {
        match self {
            QueryError::Form(_)
            | QueryError::MissingTopic
            | QueryError::Topic(_)
            | QueryError::TooManyTopics { .. } => 400,
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Form(error) => error.fmt(f),
            QueryError::MissingTopic => f.write_str("missing topic parameter"),
            QueryError::Topic(error) => error.fmt(f),
            QueryError::TooManyTopics { limit } => write!(f, "more than {limit} topics on one request"),
        }
    }
}

impl std::error::Error for QueryError {}

/// Reads the query of `GET /.well-known/mercure` (without the `?`), with
/// at most `max_topics` distinct selectors.
///
/// # Errors
///
/// The first [`QueryError`] found, in the order of the query.
///
/// ```text
/// let query = parse_subscribe_query("topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D&lastEventID=7", 32)?;
/// assert_eq!(query.topics, ["https://example.com/books/{id}"]);
/// assert_eq!((query.last_event_id.as_deref(), query.authorization), (Some("7"), None));
/// ```
pub fn parse_subscribe_query(query: &str, max_topics: usize) -> Result<SubscribeQuery, QueryError> {
    let pairs = decode_form(query.as_bytes()).map_err(QueryError::Form)?;
    let mut topics: Vec<String> = Vec::new();
    let mut last_event_id = None;
    let mut authorization = None;
    for (name, value) in pairs {
        match name.as_str() {
            "topic" => {
                check_topic(&value).map_err(QueryError::Topic)?;
                if !topics.contains(&value) {
                    if topics.len() == max_topics {
                        return Err(QueryError::TooManyTopics { limit: max_topics });
                    }
                    topics.push(value);
                }
            }
            "lastEventID" => {
                last_event_id.get_or_insert(value);
            }
            "authorization" => {
                authorization.get_or_insert(value);
            }
            _ => {}
        }
    }
    if topics.is_empty() {
        return Err(QueryError::MissingTopic);
    }
    let last_event_id = last_event_id.filter(|id: &String| !id.is_empty());
    Ok(SubscribeQuery { topics, last_event_id, authorization })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(topics: &[&str], last_event_id: Option<&str>, authorization: Option<&str>) -> SubscribeQuery {
        SubscribeQuery {
            topics: topics.iter().map(|&topic| topic.to_owned()).collect(),
            last_event_id: last_event_id.map(str::to_owned),
            authorization: authorization.map(str::to_owned),
        }
    }

    #[test]
    fn rule_12_selectors_are_percent_decoded_query_values() {
        // rule 12
        let cases = [
            (
                "topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D",
                Ok(query(&["https://example.com/books/{id}"], None, None)),
            ),
            ("topic=https://example.com/{%2Bpath}", Ok(query(&["https://example.com/{+path}"], None, None))),
            ("topic=https://example.com/{+path}", Ok(query(&["https://example.com/{ path}"], None, None))),
            ("topic=*&topic=a&topic=*", Ok(query(&["*", "a"], None, None))),
            ("topic=%C3%A9t%C3%A9", Ok(query(&["été"], None, None))),
            ("topic=a&topic=b&topic=c&topic=d&topic=e", Err(QueryError::TooManyTopics { limit: 4 })),
            ("topic=", Err(QueryError::Topic(IriError::Empty))),
            ("topic=a%0Ab", Err(QueryError::Topic(IriError::ControlCharacter('\n')))),
            ("topic=%zz", Err(QueryError::Form(FormError::BadPercentEncoding))),
            ("topic=%FF", Err(QueryError::Form(FormError::NotUtf8))),
            ("", Err(QueryError::MissingTopic)),
            ("lastEventID=1&authorization=x", Err(QueryError::MissingTopic)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_subscribe_query(text, 4), expected, "{text:?}");
        }
        assert_eq!(QueryError::MissingTopic.to_string(), "missing topic parameter");
        assert_eq!(QueryError::MissingTopic.status(), 400);
    }

    #[test]
    fn rule_17_the_authorization_parameter_is_exposed_even_empty() {
        // rule 17 (its second source), rule 20 (present but empty is still present)
        let cases = [
            ("topic=a&authorization=eyJ.eyJ.sig", query(&["a"], None, Some("eyJ.eyJ.sig"))),
            ("topic=a&authorization=", query(&["a"], None, Some(""))),
            ("topic=a&authorization", query(&["a"], None, Some(""))),
            ("topic=a&authorization=first&authorization=second", query(&["a"], None, Some("first"))),
            ("topic=a&Authorization=x", query(&["a"], None, None)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_subscribe_query(text, 4), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn rule_24_the_last_event_id_parameter() {
        // rule 24 (the query's half; the header is the caller's)
        let cases = [
            ("topic=a&lastEventID=urn%3Auuid%3A1", query(&["a"], Some("urn:uuid:1"), None)),
            ("topic=a&lastEventID=earliest", query(&["a"], Some("earliest"), None)),
            ("topic=a&lastEventID=", query(&["a"], None, None)),
            ("topic=a&lastEventID=&lastEventID=5", query(&["a"], None, None)),
            ("topic=a&lastEventID=4&lastEventID=5", query(&["a"], Some("4"), None)),
            ("topic=a&lasteventid=4&Last-Event-ID=5", query(&["a"], None, None)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_subscribe_query(text, 4), Ok(expected), "{text:?}");
        }
    }
}
