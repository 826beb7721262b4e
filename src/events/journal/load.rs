//! Reading a journal back at start: lock it, verify the active segment,
//! cut a torn tail or what follows a damaged record, and decode only the
//! newest `--history` records, from the active segment and then the sealed
//! ones, newest first.
//!
//! ```text
//! PATH.lock  try_lock ─ held? exit 1
//! PATH       header ─ records, every checksum checked ─ torn tail / damage: cut, logged
//! PATH.3 PATH.2 …  walked by length, newest first, only until the history is full
//! ```

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::record::{decode_header, decode_record, record_len, verify_record, Decoded, Header};
use super::record::{RecordError, HEADER_BYTES, MIN_RECORD_BYTES};
use super::{failed, new_segment, with_suffix, Journal, JournalError, Options, Sealed};
use crate::events::hub::Restored;
use crate::proto::topic::TopicName;

/// A journal opened at start: where to append, what to restore, and what
/// to tell the operator about what was found.
pub(crate) struct Opened {
    pub(crate) journal: Journal,
    pub(crate) restored: Restored,
    pub(crate) notes: Vec<String>,
}

/// What one segment holds: whole records (seq and where), and where the
/// trouble starts, if any.
struct Scan {
    header: Header,
    records: Vec<(u64, usize, usize)>,
    good_end: usize,
    trouble: Option<(usize, Option<RecordError>)>,
}

/// Opens (or creates) the journal at `path`: locks it, verifies it, cuts a
/// torn tail, and returns the newest `history` events to restore.
///
/// # Errors
///
/// A [`JournalError`] naming the path: in use by another server, a
/// directory, not a journal, an unknown format version, or an I/O error.
pub(crate) fn open(path: &Path, options: Options) -> Result<Opened, JournalError> {
    if path.is_dir() {
        return Err(failed(path, "is a directory; give a file path"));
    }
    let lock_path = with_suffix(path, "lock");
    let lock = OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path);
    let lock =
        lock.map_err(|error| failed(path, format_args!("cannot create {}: {error}", lock_path.display())))?;
    if lock.try_lock().is_err() {
        return Err(failed(path, "in use by another ssed (its lock file is held)"));
    }
    let _ = fs::remove_file(with_suffix(path, "new"));
    let mut sealed = sealed_segments(path)?;
    let mut notes = Vec::new();
    let bytes = match fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(failed(path, format_args!("cannot read: {error}"))),
    };
    let active_scan = bytes.as_deref().map(|bytes| scan(path, bytes, true)).transpose()?;
    let mut next_seq = 1;
    let mut run = None;
    let active_usable = active_scan.as_ref().is_some_and(|found| found.good_end >= HEADER_BYTES);
    // The active segment's header says where ids stand even when it holds no
    // record yet; only when it is gone or torn does the newest sealed one.
    if let (false, Some(newest)) = (active_usable, sealed.back()) {
        let bytes = read_segment(&newest.path)?;
        let found = scan(&newest.path, &bytes, false)?;
        run = Some(found.header.run);
        next_seq = found.header.first_seq;
        if let Some(&(_, at, _)) = found.records.last() {
            if let Ok(Decoded::Whole(record, _)) = decode_record(&bytes[at..]) {
                next_seq = record.seq + 1;
            }
        }
    }
    if let Some(found) = active_scan.as_ref().filter(|found| found.good_end >= HEADER_BYTES) {
        run = Some(found.header.run);
        next_seq = next_seq.max(found.records.last().map_or(found.header.first_seq, |&(seq, _, _)| seq + 1));
        if let Some((at, problem)) = found.trouble {
            let total = bytes.as_deref().map_or(0, <[u8]>::len);
            let dropped = total - at;
            match problem {
                None => notes.push(format!(
                    "journal {}: torn tail: cut {dropped} bytes at offset {at}",
                    path.display()
                )),
                Some(error) => {
                    notes.push(format!(
                        "journal {}: CORRUPT record at offset {at} ({error}): dropped it and the {dropped} bytes from there to the end of the segment",
                        path.display()
                    ));
                    // Ids must never be given out twice: step over every
                    // sequence number the dropped bytes could have held.
                    next_seq += (dropped / MIN_RECORD_BYTES) as u64 + 1;
                }
            }
        }
    }
    let run = run.unwrap_or_else(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
    });
    let (active, active_bytes, active_records) = match (&active_scan, bytes.as_deref()) {
        (Some(found), Some(_)) if found.good_end >= HEADER_BYTES => {
            let file = OpenOptions::new().read(true).append(true).open(path);
            let file =
                file.map_err(|error| failed(path, format_args!("cannot open for appending: {error}")))?;
            file.set_len(found.good_end as u64)
                .map_err(|error| failed(path, format_args!("cannot cut the tail: {error}")))?;
            (file, found.good_end as u64, found.records.len() as u64)
        }
        _ => {
            if bytes.as_deref().is_some_and(|bytes| !bytes.is_empty()) {
                notes.push(format!("journal {}: torn header: starting the segment again", path.display()));
            }
            (new_segment(path, Header { run, first_seq: next_seq }, options.fsync)?, HEADER_BYTES as u64, 0)
        }
    };
    let restored = restore(
        run,
        next_seq,
        active_scan.as_ref(),
        bytes.as_deref(),
        &mut sealed,
        options.history,
        &mut notes,
    )?;
    let next_sealed_number =
        sealed.iter().filter_map(|segment| segment_number(path, &segment.path)).max().unwrap_or(0) + 1;
    let max_bytes = options.max_bytes;
    let journal = Journal {
        path: path.to_owned(),
        run,
        active,
        active_bytes,
        active_records,
        sealed,
        next_sealed_number,
        segment_bytes: (max_bytes / 4).max(4096),
        options,
        record: Vec::with_capacity(256),
        _lock: lock,
    };
    Ok(Opened { journal, restored, notes })
}

/// Walks a segment: its header, then each record, without decoding. With
/// `verify`, every record's checksum and fields are checked (the active
/// segment, where a crash leaves its marks); without, only lengths are
/// followed (sealed segments, whose records are checked when decoded) and
/// the sequence numbers are left 0.
fn scan(path: &Path, bytes: &[u8], verify: bool) -> Result<Scan, JournalError> {
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
            Ok(Decoded::Incomplete) => break Some((at, None)),
            Err(error) => break Some((at, Some(error))),
        }
    };
    Ok(Scan { header, records, good_end: at, trouble })
}

/// The newest `history` records, from the active segment and then the
/// sealed ones, newest first, decoded oldest first.
fn restore(
    run: u64,
    next_seq: u64,
    active: Option<&Scan>,
    active_bytes: Option<&[u8]>,
    sealed: &mut VecDeque<Sealed>,
    history: usize,
    notes: &mut Vec<String>,
) -> Result<Restored, JournalError> {
    let mut events = Vec::new();
    // Decodes (and so checks) the newest records of a segment, newest
    // first; a damaged one ends what is taken from that segment.
    let take = |bytes: &[u8], found: &Scan, events: &mut Vec<_>| -> Option<(usize, RecordError)> {
        for &(_, at, _) in found.records.iter().rev() {
            if events.len() == history {
                break;
            }
            match decode_record(&bytes[at..]) {
                Ok(Decoded::Whole(record, _)) => {
                    if let Ok(topic) = TopicName::new(&record.topic) {
                        events.push((record.seq, topic, record.event, record.data));
                    }
                }
                Ok(Decoded::Incomplete) => break,
                Err(error) => return Some((at, error)),
            }
        }
        None
    };
    if let (Some(found), Some(bytes)) = (active, active_bytes) {
        // Verified already by the scan.
        let _ = take(bytes, found, &mut events);
    }
    // Sealed segments, newest first, only as far back as the history
    // reaches: older ones are never read (their record counts stay 0, which
    // only means they are not needed for the history).
    for segment in sealed.iter_mut().rev() {
        if events.len() == history {
            break;
        }
        let bytes = read_segment(&segment.path)?;
        let found = scan(&segment.path, &bytes, false)?;
        segment.records = found.records.len() as u64;
        if found.header.run != run {
            notes.push(format!(
                "journal {}: from another journal (run {}); not read",
                segment.path.display(),
                found.header.run
            ));
            continue;
        }
        let damage = found.trouble.and_then(|(at, error)| error.map(|error| (at, error)));
        if let Some((at, error)) = take(&bytes, &found, &mut events).or(damage) {
            notes.push(format!(
                "journal {}: CORRUPT record at offset {at} ({error}); what lies before it in that segment is not restored",
                segment.path.display()
            ));
            break;
        }
    }
    events.reverse();
    Ok(Restored { run, next_seq, events })
}

fn read_segment(path: &Path) -> Result<Vec<u8>, JournalError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(|error| failed(path, format_args!("cannot read: {error}")))?;
    Ok(bytes)
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
