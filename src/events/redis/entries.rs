//! Reading stream entries and stream facts out of Redis replies: pure,
//! replies in, entries out.
//!
//! ```text
//! XRANGE/XREVRANGE  *N  [ [id, [field, value, …]], … ]
//! XREAD             *1  [ [key, [ [id, [field, value, …]], … ]] ]   (nil: nothing new)
//! XINFO STREAM      [ "length", 1024, …, "last-generated-id", "…-0", "entries-added", 4096, …,
//!                     "first-entry", [id, [field, value, …]], … ]
//! ```
//!
//! An entry becomes an event when it has a valid id, `topic` and `data`,
//! and its data as sent is within `--max-event-bytes`; any other entry
//! (another program may write to the same key) is skipped, with the reason.

use super::resp::Reply;
use crate::events::hub::{Entry, EventId};
use crate::proto::sse::data_cost;
use std::sync::Arc;

use crate::proto::mercure::iri::check_topic;
use crate::proto::sse::SingleLine;

/// Entries of one reply, oldest or newest first as the command gave them.
#[derive(Default)]
pub(super) struct Page {
    /// The entries that are events.
    pub(super) entries: Vec<Entry>,
    /// Entries read in all, skipped ones included.
    pub(super) read: usize,
    /// The id of the first entry read, skipped or not.
    pub(super) first_read: Option<EventId>,
    /// The id of the last entry read, skipped or not: where the next read
    /// starts, so a skipped entry is not read again.
    pub(super) last_read: Option<EventId>,
    /// The entries skipped, and why.
    pub(super) skipped: Vec<(EventId, Skipped)>,
}

/// Why an entry is not an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Skipped {
    /// Its data as sent is over `--max-event-bytes` (this many bytes, or
    /// more when it was too long to be kept at all).
    TooLarge(usize),
    /// No `topic` or `data` field, or a topic name ssed does not take.
    NotAnEvent,
}

/// The entries of an `XRANGE`/`XREVRANGE` reply.
pub(super) fn page_of(reply: Reply, max_event_bytes: usize) -> Page {
    let mut page = Page::default();
    let Reply::Array(Some(items)) = reply else { return page };
    for item in items {
        let Some((id, fields)) = id_and_fields(item) else { continue };
        page.read += 1;
        page.first_read = page.first_read.or(Some(id));
        page.last_read = Some(id);
        match entry_of(id, fields, max_event_bytes) {
            Ok(entry) => page.entries.push(entry),
            Err(why) => page.skipped.push((id, why)),
        }
    }
    page
}

/// The entries of an `XREAD` reply of one stream.
pub(super) fn xread_page(reply: Reply, max_event_bytes: usize) -> Page {
    let Reply::Array(Some(streams)) = reply else { return Page::default() };
    for stream in streams {
        if let Reply::Array(Some(mut parts)) = stream {
            if parts.len() == 2 {
                return page_of(parts.remove(1), max_event_bytes);
            }
        }
    }
    Page::default()
}

fn id_and_fields(item: Reply) -> Option<(EventId, Reply)> {
    let Reply::Array(Some(mut parts)) = item else { return None };
    if parts.len() != 2 {
        return None;
    }
    let fields = parts.pop()?;
    let Reply::Bulk(Some(id)) = parts.pop()? else { return None };
    Some((EventId::parse(std::str::from_utf8(&id).ok()?)?, fields))
}

fn entry_of(id: EventId, fields: Reply, max_event_bytes: usize) -> Result<Entry, Skipped> {
    let Reply::Array(Some(fields)) = fields else { return Err(Skipped::NotAnEvent) };
    let (mut topic, mut event, mut data, mut private) = (None, None, None, false);
    let (mut alternates, mut label, mut retry) = (Vec::new(), None, None);
    for pair in fields.chunks(2) {
        let [Reply::Bulk(Some(name)), value] = pair else { continue };
        let value = match value {
            Reply::Bulk(Some(value)) => match std::str::from_utf8(value) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(value).into_owned(),
            },
            // Too long to be kept: only its length came through.
            Reply::Oversized(length) if name == b"data" => return Err(Skipped::TooLarge(*length)),
            Reply::Oversized(_) => return Err(Skipped::NotAnEvent),
            _ => continue,
        };
        match name.as_slice() {
            b"topic" => topic = Some(value),
            b"event" => event = Some(value),
            b"data" => data = Some(value),
            // Present is private, whatever its value: an entry another
            // program marked in any way is never sent to every stream.
            b"private" => private = true,
            b"alternate" => alternates.push(value),
            b"id" => label = Some(value),
            b"retry" => retry = value.parse().ok(),
            _ => {}
        }
    }
    let data = data.ok_or(Skipped::NotAnEvent)?;
    let cost = data_cost(data.as_bytes());
    if cost > max_event_bytes {
        return Err(Skipped::TooLarge(cost));
    }
    let topic = topic.ok_or(Skipped::NotAnEvent)?;
    // Topics are IRIs (an `/events` name is one too): printable, bounded.
    if std::iter::once(&topic).chain(&alternates).any(|topic| check_topic(topic).is_err()) {
        return Err(Skipped::NotAnEvent);
    }
    // What a reader may put on an `id:` or `event:` line is checked again
    // here: another program may have written the entry.
    let single_line =
        |text: &Option<String>| text.as_deref().is_none_or(|text| SingleLine::new(text).is_ok());
    if !single_line(&event) || !single_line(&label) {
        return Err(Skipped::NotAnEvent);
    }
    let topics = std::iter::once(topic).chain(alternates).map(|topic| Arc::from(topic.as_str())).collect();
    Ok(Entry { id, topics, event, data, private, label, retry })
}

/// What `XINFO STREAM` says about a stream, as far as ssed needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StreamFacts {
    /// Entries in the stream now.
    pub(super) length: u64,
    /// The id of its oldest entry, if it has one.
    pub(super) first: Option<EventId>,
    /// The newest id it ever gave.
    pub(super) last_generated: Option<EventId>,
    /// Entries ever added (Redis 7 and later).
    pub(super) entries_added: Option<u64>,
}

/// The facts of an `XINFO STREAM` reply.
pub(super) fn facts_of(reply: Reply) -> Option<StreamFacts> {
    let Reply::Array(Some(items)) = reply else { return None };
    let mut facts = StreamFacts { length: 0, first: None, last_generated: None, entries_added: None };
    for pair in items.chunks(2) {
        let [Reply::Bulk(Some(name)), value] = pair else { continue };
        match (name.as_slice(), value) {
            (b"length", Reply::Integer(length)) => facts.length = u64::try_from(*length).ok()?,
            (b"entries-added", Reply::Integer(added)) => facts.entries_added = u64::try_from(*added).ok(),
            (b"last-generated-id", Reply::Bulk(Some(id))) => {
                facts.last_generated = std::str::from_utf8(id).ok().and_then(EventId::parse);
            }
            (b"first-entry", entry) => facts.first = id_and_fields(entry.clone()).map(|(id, _)| id),
            _ => {}
        }
    }
    Some(facts)
}

/// Whether entries after `last` (the newest id this server read) are gone
/// from the stream before it read them.
///
/// Trimming (`XADD MAXLEN ~`) removes the oldest entries; Redis keeps no
/// record of what it trimmed (`max-deleted-entry-id` counts only `XDEL`).
/// So: the stream's first entry newer than `last` means `last` itself was
/// trimmed, which takes more than `--history` newer entries, and those
/// trimmed with it may have followed it: said gone. This may say gone when
/// the trim happened to stop right after `last`; it never says kept when
/// an entry after `last` was trimmed. `last` of `0-0` (the stream held
/// nothing when this server started): gone when Redis counts more entries
/// added than the stream holds.
pub(super) fn gone_after(last: EventId, facts: Option<&StreamFacts>) -> bool {
    let nothing_read = last == EventId { run: 0, seq: 0 };
    match facts {
        // The key is gone (Redis lost it, or it was deleted): whatever came
        // after `last` went with it.
        None => !nothing_read,
        Some(facts) if nothing_read => facts.entries_added.is_some_and(|added| added > facts.length),
        Some(facts) => facts.first.is_some_and(|first| first > last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Reply {
        Reply::Bulk(Some(text.as_bytes().to_vec()))
    }

    fn entry(id: &str, fields: Vec<Reply>) -> Reply {
        Reply::Array(Some(vec![bulk(id), Reply::Array(Some(fields))]))
    }

    #[test]
    fn entries_over_the_limit_or_without_topic_and_data_are_skipped_and_named() {
        let reply = Reply::Array(Some(vec![
            entry("5-1", vec![bulk("topic"), bulk("a"), bulk("data"), bulk("fits")]),
            entry("5-2", vec![bulk("topic"), bulk("a"), bulk("data"), bulk("too long")]),
            entry("5-3", vec![bulk("topic"), bulk("a"), bulk("data"), Reply::Oversized(2 << 20)]),
            entry("5-4", vec![bulk("data"), bulk("x")]),
            // Four bytes, but a line break costs 7 as sent.
            entry("5-5", vec![bulk("topic"), bulk("a"), bulk("data"), bulk("a\nb")]),
        ]));
        let page = page_of(reply, 4);
        let ids: Vec<String> = page.entries.iter().map(|entry| entry.id.to_string()).collect();
        assert_eq!(ids, ["5-1"]);
        assert_eq!((page.read, page.last_read), (5, EventId::parse("5-5")));
        let skipped: Vec<(String, Skipped)> =
            page.skipped.iter().map(|(id, why)| (id.to_string(), *why)).collect();
        assert_eq!(
            skipped,
            [
                ("5-2".to_owned(), Skipped::TooLarge(8)),
                ("5-3".to_owned(), Skipped::TooLarge(2 << 20)),
                ("5-4".to_owned(), Skipped::NotAnEvent),
                ("5-5".to_owned(), Skipped::TooLarge(9)),
            ]
        );
    }

    #[test]
    fn entries_are_gone_when_the_first_is_newer_than_the_last_read() {
        let id = |text: &str| EventId::parse(text).expect("an id");
        let facts = |first: Option<&str>, length, added| StreamFacts {
            length,
            first: first.map(id),
            last_generated: None,
            entries_added: added,
        };
        let zero = id("0-0");
        let cases = [
            (id("7-5"), Some(facts(Some("7-3"), 10, Some(20))), false),
            (id("7-5"), Some(facts(Some("7-5"), 10, Some(20))), false),
            (id("7-5"), Some(facts(Some("7-6"), 10, Some(20))), true),
            (id("7-5"), Some(facts(None, 0, Some(20))), false),
            (id("7-5"), None, true),
            (zero, None, false),
            (zero, Some(facts(Some("7-1"), 10, Some(10))), false),
            (zero, Some(facts(Some("7-9"), 10, Some(30))), true),
            (zero, Some(facts(Some("7-9"), 10, None)), false),
        ];
        for (last, facts, gone) in cases {
            assert_eq!(gone_after(last, facts.as_ref()), gone, "{last} {facts:?}");
        }
    }
}
