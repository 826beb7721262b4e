//! Reading a journal back at start: resolve and lock it (files.rs), verify
//! the active segment, cut a torn tail or what follows a damaged record,
//! and decode only the newest `--history` records, from the active segment
//! and then the sealed ones, newest first.
//!
//! ```text
//! PATH.lock  try_lock ─ held? exit 1
//! PATH       header ─ records, every checksum checked ─ torn tail / damage: cut, logged
//! PATH.3 PATH.2 …  walked by length, newest first, only until the history is full
//! ```
//!
//! No id is ever given twice. Every cut skips the sequence numbers the
//! cut bytes could have held, and a lost active segment skips all one
//! segment could have held (ids.rs); the skip is written into a new
//! active segment's header, so a restart before the next publish keeps it.
//! A torn tail is a record whose bytes are a prefix of what ssed writes
//! ([`torn_write`]); a length that runs past the end otherwise is damage.

use std::collections::VecDeque;
use std::fs::{self, OpenOptions};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::files;
use super::ids::{active_ids, lost_active_ids, segment_bytes};
use super::record::{decode_header, decode_record, record_len, torn_write, verify_record, Decoded, Header};
use super::record::{RecordError, HEADER_BYTES};
use super::{failed, new_segment, with_suffix, Journal, JournalError, Options, Sealed};
use crate::events::hub::{Entry, EventId, Restored};
use std::sync::Arc;

/// A journal opened at start: where to append, what to restore, and what
/// to tell the operator about what was found.
pub(crate) struct Opened {
    pub(crate) journal: Journal,
    pub(crate) restored: Restored,
    pub(crate) notes: Vec<String>,
}

/// What one segment holds: whole records (seq and where), and where the
/// trouble starts, if any.
pub(super) struct Scan {
    pub(super) header: Header,
    pub(super) records: Vec<(u64, usize, usize)>,
    pub(super) good_end: usize,
    pub(super) trouble: Option<(usize, Option<RecordError>)>,
}

/// Opens (or creates) the journal at `given`: resolves it to the file
/// really written, locks that, verifies it, cuts a torn tail or what
/// follows damage, and returns the newest `history` events to restore.
///
/// # Errors
///
/// A [`JournalError`] naming the path: in use by another server, not a
/// regular file, not a journal, an unknown format version, or an I/O error.
pub(crate) fn open(given: &Path, options: Options) -> Result<Opened, JournalError> {
    let real = files::real_path(given)?;
    let path = real.as_path();
    let lock = files::lock(path, given)?;
    let _ = fs::remove_file(with_suffix(path, "new"));
    let mut sealed = sealed_segments(path)?;
    let mut notes = Vec::new();
    let bytes =
        files::read_segment(path).map_err(|error| JournalError { path: given.to_owned(), ..error })?;
    let active_scan = bytes.as_deref().map(|bytes| scan(path, bytes, true)).transpose()?;
    let active_found = active_scan.as_ref().filter(|found| found.good_end >= HEADER_BYTES);
    let ids = match (active_found, bytes.as_deref()) {
        (Some(found), Some(bytes)) => active_ids(path, found, bytes.len(), &mut notes),
        _ => lost_active_ids(path, bytes.as_deref(), &sealed, options, &mut notes)?,
    };
    let run = ids.run.unwrap_or_else(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
    });
    let next_seq = ids.next_seq;
    let cut = active_found.is_some_and(|found| found.trouble.is_some());
    let (active, active_bytes, active_records) = match active_found {
        Some(found) if !(cut && found.records.is_empty()) => {
            let file = OpenOptions::new().read(true).append(true).open(path);
            let file =
                file.map_err(|error| failed(path, format_args!("cannot open for appending: {error}")))?;
            file.set_len(found.good_end as u64)
                .map_err(|error| failed(path, format_args!("cannot cut the tail: {error}")))?;
            (file, found.good_end as u64, found.records.len() as u64)
        }
        // A new header holds the next sequence number, skips included.
        _ => (new_segment(path, Header { run, first_seq: next_seq }, options.fsync)?, HEADER_BYTES as u64, 0),
    };
    // Records before damage at the end of the active segment (or before a
    // lost active segment) are not restored: what followed them is gone.
    let intact = active_found.filter(|found| !matches!(found.trouble, Some((_, Some(_)))));
    let restored =
        restore(run, next_seq, intact.zip(bytes.as_deref()), &mut sealed, options.history, &mut notes)?;
    let next_sealed_number =
        sealed.iter().filter_map(|segment| segment_number(path, &segment.path)).max().unwrap_or(0) + 1;
    let max_bytes = options.max_bytes;
    let mut journal = Journal {
        path: path.to_owned(),
        run,
        active,
        active_bytes,
        active_records,
        sealed,
        next_sealed_number,
        segment_bytes: segment_bytes(max_bytes),
        options,
        record: Vec::with_capacity(256),
        _lock: lock,
    };
    if cut && active_records > 0 {
        // What was kept is sealed, and the new active segment's header
        // holds the next sequence number: a restart before the next publish
        // skips the same numbers.
        journal.rotate(next_seq).map_err(|error| failed(path, format_args!("cannot write: {error}")))?;
    }
    Ok(Opened { journal, restored, notes })
}

/// Walks a segment: its header, then each record, without decoding. With
/// `verify`, every record's checksum and fields are checked (the active
/// segment, where a crash leaves its marks); without, only lengths are
/// followed (sealed segments, whose records are checked when decoded) and
/// the sequence numbers are left 0.
pub(super) fn scan(path: &Path, bytes: &[u8], verify: bool) -> Result<Scan, JournalError> {
    let header = match decode_header(bytes).map_err(|error| failed(path, error))? {
        Decoded::Whole(header, _) => header,
        // Empty, or torn inside the header: nothing in it was acknowledged.
        Decoded::Incomplete => {
            return Ok(Scan {
                header: Header { run: 0, first_seq: 1 },
                records: Vec::new(),
                good_end: 0,
                trouble: None,
            });
        }
    };
    let mut records = Vec::new();
    let mut at = HEADER_BYTES;
    let trouble = loop {
        if at == bytes.len() {
            break None;
        }
        let step = if verify {
            verify_record(&bytes[at..])
        } else {
            record_len(&bytes[at..]).map(|found| match found {
                Decoded::Whole((), len) => Decoded::Whole(0, len),
                Decoded::Incomplete => Decoded::Incomplete,
            })
        };
        match step {
            Ok(Decoded::Whole(seq, len)) => {
                records.push((seq, at, len));
                at += len;
            }
            Ok(Decoded::Incomplete) => {
                let min_seq = records.last().map_or(header.first_seq, |&(seq, _, _)| seq + 1);
                // A sealed segment was whole when it was sealed: never torn.
                let torn = if verify {
                    torn_write(&bytes[at..], min_seq)
                } else {
                    Err(RecordError::PastTheEnd(bytes.len() - at))
                };
                break Some((at, torn.err()));
            }
            Err(error) => break Some((at, Some(error))),
        }
    };
    Ok(Scan { header, records, good_end: at, trouble })
}

/// The newest `history` records, decoded oldest first: from `newest` (the
/// active segment, when nothing of it was lost) and then the sealed
/// segments, newest first, for as long as the sequence numbers carry on.
/// Only what comes after a loss is restored: the hub then tells a client
/// whose id is older `missed`, rather than skip the lost events in silence.
fn restore(
    run: u64,
    next_seq: u64,
    newest: Option<(&Scan, &[u8])>,
    sealed: &mut VecDeque<Sealed>,
    history: usize,
    notes: &mut Vec<String>,
) -> Result<Restored, JournalError> {
    let mut events = Vec::new();
    let Some((active, active_bytes)) = newest else {
        return Ok(Restored { run, next_seq, events });
    };
    // Decodes (and so checks) the newest records of a segment, newest
    // first; the newest should be `last_seq`, where the newer segment
    // carries on. A gap, or a damaged record, ends what is taken.
    let take = |bytes: &[u8], found: &Scan, last_seq: Option<u64>, events: &mut Vec<_>| {
        for (n, &(_, at, _)) in found.records.iter().rev().enumerate() {
            if events.len() == history {
                break;
            }
            match decode_record(&bytes[at..]) {
                Ok(Decoded::Whole(record, _))
                    if n == 0 && last_seq.is_some_and(|last| record.seq != last) =>
                {
                    return Err(format!(
                        "ends at record {} but the newer segment starts at {}: what lies between is lost; this segment and older ones are not restored",
                        record.seq,
                        last_seq.map_or(0, |last| last + 1)
                    ));
                }
                Ok(Decoded::Whole(record, _)) => {
                    let id = EventId { run, seq: record.seq };
                    let topics = std::iter::once(record.topic).chain(record.alternates);
                    events.push(Entry {
                        id,
                        topics: topics.map(|topic| Arc::from(topic.as_str())).collect(),
                        event: record.event,
                        data: record.data,
                        private: record.private,
                        label: record.label,
                        retry: record.retry,
                    });
                }
                Ok(Decoded::Incomplete) => break,
                Err(error) => {
                    return Err(format!(
                    "CORRUPT record at offset {at} ({error}); it and what lies before it are not restored"
                ))
                }
            }
        }
        Ok(())
    };
    // Verified already by the scan.
    let _ = take(active_bytes, active, None, &mut events);
    let mut last_seq = active.header.first_seq.saturating_sub(1);
    // Sealed segments, newest first, only as far back as the history
    // reaches: older ones are never read (their record counts stay 0, which
    // only means they are not needed for the history).
    for segment in sealed.iter_mut().rev() {
        if events.len() == history {
            break;
        }
        let bytes = files::read_segment(&segment.path)?.unwrap_or_default();
        let found = scan(&segment.path, &bytes, false)?;
        segment.records = found.records.len() as u64;
        let path = segment.path.display();
        if found.header.run != run {
            notes.push(format!("journal {path}: from another journal (run {}); not read", found.header.run));
            continue;
        }
        if let Some((at, error)) = found.trouble {
            let error = error.unwrap_or(RecordError::PastTheEnd(bytes.len() - at));
            notes.push(format!(
                "journal {path}: CORRUPT record at offset {at} ({error}): the {} bytes from there on are lost; this segment and older ones are not restored",
                bytes.len() - at
            ));
            break;
        }
        if let Err(trouble) = take(&bytes, &found, Some(last_seq), &mut events) {
            notes.push(format!("journal {path}: {trouble}"));
            break;
        }
        last_seq = found.header.first_seq.saturating_sub(1);
    }
    events.reverse();
    Ok(Restored { run, next_seq, events })
}

/// `PATH.1`, `PATH.2`, …: the sealed segments, oldest first.
fn sealed_segments(path: &Path) -> Result<VecDeque<Sealed>, JournalError> {
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let entries = fs::read_dir(dir)
        .map_err(|error| failed(path, format_args!("cannot list {}: {error}", dir.display())))?;
    let mut found: Vec<(u64, Sealed)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let number = segment_number(path, &entry.path())?;
            let bytes = entry.metadata().ok()?.len();
            Some((number, Sealed { path: entry.path(), bytes, records: 0 }))
        })
        .collect();
    for (_, segment) in &found {
        files::check_segment(&segment.path)?;
    }
    found.sort_unstable_by_key(|(number, _)| *number);
    Ok(found.into_iter().map(|(_, segment)| segment).collect())
}

/// The number of a sealed segment `PATH.N`.
fn segment_number(path: &Path, candidate: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let candidate_name = candidate.file_name()?.to_str()?;
    let suffix = candidate_name.strip_prefix(name)?.strip_prefix('.')?;
    suffix.bytes().all(|byte| byte.is_ascii_digit()).then(|| suffix.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::hub::NewEvent;
    use crate::events::journal::record::{
        encode_header, encode_record, VERSION_WITHOUT_EXTRAS, VERSION_WITHOUT_PRIVATE,
    };

    /// A journal as ssed wrote it before private events and extras
    /// (format 1): the same header but for its version, records without
    /// flag bits. It opens, and its events come back as they were.
    #[test]
    fn a_journal_of_format_1_opens_and_replays() {
        let dir = std::env::temp_dir().join(format!("ssed-v1-journal-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("events.journal");
        let mut bytes = Vec::new();
        encode_header(Header { run: 1_700_000_000_000, first_seq: 1 }, &mut bytes);
        bytes[8..12].copy_from_slice(&VERSION_WITHOUT_PRIVATE.to_le_bytes());
        for (seq, data) in [(1, "one"), (2, "two")] {
            encode_record(seq, &NewEvent::on(&["room/a"], Some("reading"), data, false), &mut bytes);
        }
        fs::write(&path, &bytes).expect("write a format 1 journal");
        let options = Options { max_bytes: 1 << 20, fsync: false, history: 16 };
        let opened = open(&path, options).expect("a format 1 journal opens");
        let events = &opened.restored.events;
        assert_eq!(events.iter().map(|entry| entry.data.as_str()).collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(opened.restored.next_seq, 3);
        assert!(events.iter().all(|entry| !entry.private && entry.event.as_deref() == Some("reading")));
        drop(opened);
        let _ = fs::remove_dir_all(&dir);
    }

    /// A journal as ssed wrote it with private events and before extras
    /// (format 2): records with bit 31, never bit 30. It opens, and its
    /// private events stay private.
    #[test]
    fn a_journal_of_format_2_opens_and_keeps_its_private_events() {
        let dir = std::env::temp_dir().join(format!("ssed-v2-journal-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("events.journal");
        let mut bytes = Vec::new();
        encode_header(Header { run: 1_700_000_000_000, first_seq: 1 }, &mut bytes);
        bytes[8..12].copy_from_slice(&VERSION_WITHOUT_EXTRAS.to_le_bytes());
        for (seq, data, private) in [(1, "public", false), (2, "secret", true)] {
            encode_record(seq, &NewEvent::on(&["users/42"], None, data, private), &mut bytes);
        }
        fs::write(&path, &bytes).expect("write a format 2 journal");
        let options = Options { max_bytes: 1 << 20, fsync: false, history: 16 };
        let opened = open(&path, options).expect("a format 2 journal opens");
        let events = &opened.restored.events;
        let kept: Vec<(&str, bool)> =
            events.iter().map(|entry| (entry.data.as_str(), entry.private)).collect();
        assert_eq!(kept, [("public", false), ("secret", true)]);
        assert_eq!(opened.restored.next_seq, 3);
        drop(opened);
        let _ = fs::remove_dir_all(&dir);
    }
}
