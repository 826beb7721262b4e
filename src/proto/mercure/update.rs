//! A Mercure publish (rules 3–8): the form a publisher POSTs, read into
//! an [`Update`].
//!
//! ```text
//! POST /.well-known/mercure HTTP/1.1
//! Content-Type: application/x-www-form-urlencoded
//!
//! topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&topic=https%3A%2F%2Fexample.com%2Fauthors%2F7
//!   &data=%7B%22title%22%3A%22Dune%22%7D&id=urn%3Auuid%3A1&type=book&retry=5000&private=on
//! ─► Update { topics: ["https://example.com/books/1", "https://example.com/authors/7"],
//!             data: "{\"title\":\"Dune\"}", id: Some("urn:uuid:1"), event_type: Some("book"),
//!             retry: Some(5000), private: true }
//! ```
//!
//! | field     | rule | read as                                                             |
//! |-----------|------|---------------------------------------------------------------------|
//! | `topic`   | 4    | repeatable; the first is canonical, the others alternates; ≥ 1      |
//! | `data`    | 5    | any text, default empty; line breaks are `sse`'s to split           |
//! | `id`      | 6, 8 | verbatim; no control character; absent or empty: the hub makes one  |
//! | `type`    | 7, 8 | the `event:` line; no CR, LF or NUL; absent or empty: none          |
//! | `retry`   | 7    | ASCII digits only, fits in a u64 (milliseconds); empty: none        |
//! | `private` | 7    | present, with any value or none, makes the update private           |
//! | other     | 3    | ignored (pymercure still sends `target`)                            |
//!
//! Repeated `data`, `id`, `type` or `retry`: the first wins and the others
//! are ignored, unchecked, as the Mercure.rocks hub does (Go's
//! `url.Values.Get` takes the first value). Refusing them would turn a
//! form the reference hub accepts into a 400. An empty `id`, `type` or
//! `retry` is the same as none, as there too: an empty `id:` line would
//! reset a browser's last event id.
//!
//! Topics are checked by [`check_topic`], each distinct topic is kept once
//! (in the order first sent, so the canonical stays first), and more
//! distinct topics than the caller's limit are refused: every topic is
//! matched against every subscriber's selectors.
//!
//! An `id` is refused for any control character (C0, DEL, C1), not only
//! the CR, LF and NUL that would break its `id:` line: a found id goes
//! back to the subscriber in the `Last-Event-ID` response header (rule
//! 26), where RFC 9110 §5.5 allows none but HTAB, and topics keep the
//! same rule ([`check_topic`]). A `type` only ever reaches an `event:`
//! line, so it keeps rule 8.

use std::fmt;

use super::form::{decode_form, FormError};
use super::iri::{check_topic, IriError};
use crate::proto::sse::{FieldError, SingleLine};

/// One update, as the publisher sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The canonical topic first, then the alternates; never empty, each
    /// distinct.
    pub topics: Vec<String>,
    /// The payload, empty when `data` was absent.
    pub data: String,
    /// The publisher's id; `None`: the hub makes one (see `super::id`).
    pub id: Option<String>,
    /// The `event:` type; `None`: the event goes to `onmessage`.
    pub event_type: Option<String>,
    /// The `retry:` of this event, in milliseconds.
    pub retry: Option<u64>,
    /// Whether only subscribers authorized for one of the topics see it.
    pub private: bool,
}

/// Why a publish was refused: always 400 ([`UpdateError::status`]), and
/// nothing is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateError {
    /// The body is not a valid form.
    Form(FormError),
    /// No `topic` field.
    MissingTopic,
    /// A `topic` breaks [`check_topic`].
    Topic(IriError),
    /// More distinct topics than the caller's limit.
    TooManyTopics {
        /// The caller's limit.
        limit: usize,
    },
    /// The `id` holds CR, LF or NUL.
    Id(FieldError),
    /// The `id` holds another control character (a tab, ESC, DEL, C1).
    IdControlCharacter(char),
    /// The `type` holds CR, LF or NUL.
    EventType(FieldError),
    /// The `retry` is not ASCII digits that fit in a u64.
    Retry,
}

impl UpdateError {
    /// The status that answers this error: 400 for every one. Several
    /// clients take the body of any answer as the id (rule 9), so it must
    /// never be 200.
    pub fn status(self) -> u16 {
        match self {
            UpdateError::Form(_)
            | UpdateError::MissingTopic
            | UpdateError::Topic(_)
            | UpdateError::TooManyTopics { .. }
            | UpdateError::Id(_)
            | UpdateError::IdControlCharacter(_)
            | UpdateError::EventType(_)
            | UpdateError::Retry => 400,
        }
    }
}

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateError::Form(error) => error.fmt(f),
            UpdateError::MissingTopic => f.write_str("missing topic parameter"),
            UpdateError::Topic(error) => error.fmt(f),
            UpdateError::TooManyTopics { limit } => write!(f, "more than {limit} topics in one update"),
            UpdateError::Id(_) => f.write_str("id contains a line break or nul"),
            UpdateError::IdControlCharacter(control) => {
                write!(f, "control character u+{:04x} in the id", u32::from(*control))
            }
            UpdateError::EventType(_) => f.write_str("type contains a line break or nul"),
            UpdateError::Retry => f.write_str("retry is not a number of milliseconds"),
        }
    }
}

impl std::error::Error for UpdateError {}

/// Reads a publish form into an [`Update`], with at most `max_topics`
/// distinct topics.
///
/// # Errors
///
/// The first [`UpdateError`] found: the form, then each topic in order,
/// then `id`, `type` and `retry`.
///
/// ```text
/// let update = parse_update(b"topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=%7B%7D&private=on", 32)?;
/// assert_eq!(update.topics, ["https://example.com/books/1"]);
/// assert_eq!((update.data.as_str(), update.private, update.id), ("{}", true, None));
/// ```
pub fn parse_update(body: &[u8], max_topics: usize) -> Result<Update, UpdateError> {
    let pairs = decode_form(body).map_err(UpdateError::Form)?;
    let mut topics: Vec<String> = Vec::new();
    let mut update_fields = UpdateFields::default();
    for (name, value) in pairs {
        match name.as_str() {
            "topic" => {
                check_topic(&value).map_err(UpdateError::Topic)?;
                if !topics.contains(&value) {
                    if topics.len() == max_topics {
                        return Err(UpdateError::TooManyTopics { limit: max_topics });
                    }
                    topics.push(value);
                }
            }
            "data" => first_wins(&mut update_fields.data, value),
            "id" => first_wins(&mut update_fields.id, value),
            "type" => first_wins(&mut update_fields.event_type, value),
            "retry" => first_wins(&mut update_fields.retry, value),
            "private" => update_fields.private = true,
            _ => {}
        }
    }
    if topics.is_empty() {
        return Err(UpdateError::MissingTopic);
    }
    let id = non_empty(update_fields.id);
    if let Some(id) = &id {
        SingleLine::new(id).map_err(UpdateError::Id)?;
        if let Some(control) = id.chars().find(|character| character.is_control()) {
            return Err(UpdateError::IdControlCharacter(control));
        }
    }
    let event_type = non_empty(update_fields.event_type);
    if let Some(event_type) = &event_type {
        SingleLine::new(event_type).map_err(UpdateError::EventType)?;
    }
    let retry = non_empty(update_fields.retry).map(|retry| parse_retry(&retry)).transpose()?;
    Ok(Update {
        topics,
        data: update_fields.data.unwrap_or_default(),
        id,
        event_type,
        retry,
        private: update_fields.private,
    })
}

/// The single-valued fields as first sent, before they are checked.
#[derive(Default)]
struct UpdateFields {
    data: Option<String>,
    id: Option<String>,
    event_type: Option<String>,
    retry: Option<String>,
    private: bool,
}

fn first_wins(field: &mut Option<String>, value: String) {
    field.get_or_insert(value);
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.is_empty())
}

/// Rule 7: ASCII digits only (no sign, no space, no `_`), within a u64.
fn parse_retry(retry: &str) -> Result<u64, UpdateError> {
    if !retry.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(UpdateError::Retry);
    }
    retry.parse().map_err(|_| UpdateError::Retry)
}

#[cfg(test)]
mod tests;
