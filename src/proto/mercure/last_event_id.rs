//! Where a subscription resumes (rule 24) and the `Last-Event-ID` header
//! its answer carries (rule 26).
//!
//! ```text
//! GET /.well-known/mercure?topic=*&lastEventID=5      Last-Event-ID: 7
//! ─► chosen_last_event_id(Some("7"), Some("5")) = Some("7")       (the header wins)
//!
//! HTTP/1.1 200 OK
//! Last-Event-ID: 7                                     ◄─ last_event_id_header(Some("7"), true, …)
//! ```
//!
//! | asked           | history                          | header                    |
//! |-----------------|----------------------------------|---------------------------|
//! | none (or empty) | any                              | none                      |
//! | `earliest`      | any                              | `earliest`                |
//! | an id           | found                            | that id                   |
//! | an id           | not found, empty                 | `earliest`                |
//! | an id           | not found, `latest` the newest   | `latest`                  |
//!
//! The last line is rule 26's silence, as the Mercure.rocks hub fills it
//! (draft-07: the header names "the event preceding the first sent to the
//! subscriber"): there an unknown id replays nothing, so what precedes is
//! the newest event. ssed replays the whole history for an unknown id (as
//! `/events` does, with `missed`), so nothing precedes, and it passes no
//! `latest`: the header says `earliest`. `earliest` is compared exactly.

/// The reserved id that asks for the whole history (rule 25).
pub const EARLIEST: &str = "earliest";

/// Rule 24: the `Last-Event-ID` header wins over the `lastEventID` query
/// parameter; an empty value counts as absent (as in the Mercure.rocks hub).
pub fn chosen_last_event_id<'a>(header: Option<&'a str>, query: Option<&'a str>) -> Option<&'a str> {
    header.filter(|id| !id.is_empty()).or(query.filter(|id| !id.is_empty()))
}

/// Rule 26: the `Last-Event-ID` response header, or `None` for no header.
///
/// `asked` is the id chosen by [`chosen_last_event_id`]; `found` whether
/// the history holds it; `latest` the newest id in the history when the
/// stream joins (`None`: the history is empty, nothing precedes).
///
/// ```text
/// assert_eq!(last_event_id_header(Some("7"), true, Some("9")), Some("7"));
/// assert_eq!(last_event_id_header(Some("gone"), false, None), Some("earliest"));
/// assert_eq!(last_event_id_header(None, false, Some("9")), None);
/// ```
pub fn last_event_id_header<'a>(
    asked: Option<&'a str>,
    found: bool,
    latest: Option<&'a str>,
) -> Option<&'a str> {
    let asked = asked.filter(|id| !id.is_empty())?;
    if asked == EARLIEST {
        return Some(EARLIEST);
    }
    if found {
        return Some(asked);
    }
    Some(latest.unwrap_or(EARLIEST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_24_the_header_beats_the_query() {
        // rule 24
        let cases = [
            ((Some("7"), Some("5")), Some("7")),
            ((None, Some("5")), Some("5")),
            ((Some("7"), None), Some("7")),
            ((Some(""), Some("5")), Some("5")),
            ((Some(""), Some("")), None),
            ((None, None), None),
        ];
        for ((header, query), expected) in cases {
            assert_eq!(chosen_last_event_id(header, query), expected, "{header:?} {query:?}");
        }
    }

    #[test]
    fn rule_26_the_last_event_id_response_header() {
        // rule 26
        let cases = [
            ((None, false, Some("9")), None),
            ((Some(""), false, None), None),
            ((Some("earliest"), false, Some("9")), Some("earliest")),
            ((Some("earliest"), false, None), Some("earliest")),
            ((Some("7"), true, Some("9")), Some("7")),
            ((Some("9"), true, Some("9")), Some("9")),
            ((Some("gone"), false, None), Some("earliest")),
            ((Some("gone"), false, Some("9")), Some("9")),
            // Only the exact spelling is reserved; any other is an id.
            ((Some("Earliest"), false, None), Some("earliest")),
            ((Some("Earliest"), true, None), Some("Earliest")),
        ];
        for ((asked, found, latest), expected) in cases {
            assert_eq!(last_event_id_header(asked, found, latest), expected, "{asked:?} {found} {latest:?}");
        }
    }
}
