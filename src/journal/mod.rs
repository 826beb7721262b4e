//! `--journal PATH`: every published event appended to a file before it is
//! acknowledged, and read back at start, so a restart loses nothing.
//!
//! ```text
//! PATH        the active segment: header, then records (record.rs), appended to
//! PATH.1 …    sealed segments, oldest first; the oldest is deleted while the
//!             total is over --journal-max-bytes and the rest still hold --history
//! PATH.lock   held (flock) while a server uses the journal: a second one refuses
//! ```
//!
//! At start the active segment is verified record by record (checksums, no
//! allocation); a torn tail is cut off, a corrupt record ends what is kept
//! of its segment, both logged with their byte counts. Only the newest
//! `--history` records are decoded into the hub. Ids carry on: the RUN is
//! the journal's, fixed when it was created, and SEQ continues.
//!
//! A write error (a full disk) refuses that one publish and leaves no part
//! of its record behind; the next publish tries again. The hub calls
//! [`Journal`] through its `Store` trait and learns nothing about files.

mod record;

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use record::{
    decode_header, decode_record, encode_header, encode_record, record_len, verify_record, Decoded, Header,
};
use record::{RecordError, HEADER_BYTES, MIN_RECORD_BYTES};

use crate::hub::{Restored, Store};
use crate::topic::TopicName;

/// How the journal is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// `--journal-max-bytes`: disk use, all segments together.
    pub(crate) max_bytes: u64,
    /// `--fsync`: `fdatasync` before a publish is acknowledged.
    pub(crate) fsync: bool,
    /// `--history`: events to restore, and to keep on disk at least.
    pub(crate) history: usize,
}

/// Why the journal cannot be used: ssed exits 1 with this one line.
#[derive(Debug)]
pub struct JournalError {
    path: PathBuf,
    reason: String,
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "journal {}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for JournalError {}

fn failed(path: &Path, reason: impl fmt::Display) -> JournalError {
    JournalError { path: path.to_owned(), reason: reason.to_string() }
}

/// A sealed segment on disk.
struct Sealed {
    path: PathBuf,
    bytes: u64,
    records: u64,
}

/// An open journal, appended to under the hub's lock.
pub(crate) struct Journal {
    path: PathBuf,
    run: u64,
    active: File,
    active_bytes: u64,
    active_records: u64,
    sealed: VecDeque<Sealed>,
    next_sealed_number: u64,
    segment_bytes: u64,
    options: Options,
    record: Vec<u8>,
    /// Held for as long as the journal is open: the exclusive lock.
    _lock: File,
}

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

fn with_suffix(path: &Path, suffix: impl fmt::Display) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{suffix}"));
    PathBuf::from(name)
}

/// Creates a segment that holds only its header.
fn new_segment(path: &Path, header: Header, fsync: bool) -> Result<File, JournalError> {
    let create = || -> io::Result<File> {
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        let mut bytes = Vec::with_capacity(HEADER_BYTES);
        encode_header(header, &mut bytes);
        file.write_all(&bytes)?;
        if fsync {
            file.sync_data()?;
        }
        drop(file);
        OpenOptions::new().read(true).append(true).open(path)
    };
    create().map_err(|error| failed(path, format_args!("cannot write: {error}")))
}

impl Journal {
    /// Seals the active segment and starts a new one whose first record is `first_seq`.
    fn rotate(&mut self, first_seq: u64) -> io::Result<()> {
        let staged = with_suffix(&self.path, "new");
        new_segment(&staged, Header { run: self.run, first_seq }, self.options.fsync)
            .map_err(|error| io::Error::other(error.to_string()))?;
        let sealed_path = with_suffix(&self.path, self.next_sealed_number);
        if let Err(error) = fs::rename(&self.path, &sealed_path) {
            let _ = fs::remove_file(&staged);
            return Err(error);
        }
        if let Err(error) = fs::rename(&staged, &self.path) {
            let _ = fs::rename(&sealed_path, &self.path);
            return Err(error);
        }
        self.active = OpenOptions::new().read(true).append(true).open(&self.path)?;
        self.sealed.push_back(Sealed {
            path: sealed_path,
            bytes: self.active_bytes,
            records: self.active_records,
        });
        self.next_sealed_number += 1;
        self.active_bytes = HEADER_BYTES as u64;
        self.active_records = 0;
        Ok(())
    }

    /// Deletes the oldest sealed segments while the journal is over its
    /// bound, as long as the rest still hold `--history` events.
    fn keep_within_bound(&mut self) {
        let mut total = self.active_bytes + self.sealed.iter().map(|segment| segment.bytes).sum::<u64>();
        let mut held = self.active_records + self.sealed.iter().map(|segment| segment.records).sum::<u64>();
        while let Some(oldest) = self.sealed.front() {
            let still_held = held - oldest.records;
            if total <= self.options.max_bytes || still_held < self.options.history as u64 {
                break;
            }
            if fs::remove_file(&oldest.path).is_err() {
                break;
            }
            total -= oldest.bytes;
            held = still_held;
            self.sealed.pop_front();
        }
    }
}

impl Store for Journal {
    fn append(&mut self, seq: u64, topic: &str, event: Option<&str>, data: &str) -> io::Result<()> {
        let mut record = std::mem::take(&mut self.record);
        record.clear();
        encode_record(seq, topic, event, data, &mut record);
        let result = self.append_bytes(seq, &record);
        self.record = record;
        result
    }
}

impl Journal {
    fn append_bytes(&mut self, seq: u64, record: &[u8]) -> io::Result<()> {
        if self.active_records > 0 && self.active_bytes + record.len() as u64 > self.segment_bytes {
            self.rotate(seq)?;
        }
        let written = self.active.write_all(record).and_then(|()| {
            if self.options.fsync {
                self.active.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(error) = written {
            // Leave no part of the record behind: the next append starts
            // where this one did.
            let _ = self.active.set_len(self.active_bytes);
            return Err(error);
        }
        self.active_bytes += record.len() as u64;
        self.active_records += 1;
        self.keep_within_bound();
        Ok(())
    }
}
