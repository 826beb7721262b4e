//! `--journal PATH`: every published event appended to a file before it is
//! acknowledged, and read back at start, so a restart loses nothing.
//!
//! ```text
//! PATH        the active segment: header, then records (record.rs), appended to
//! PATH.1 …    sealed segments, oldest first; the oldest is deleted while the
//!             total is over --journal-max-bytes and the rest still hold --history
//! PATH.lock   held (flock) while a server uses the journal: a second one refuses;
//!             PATH is the real path (symlinks resolved), so no alias gets past it
//! ```
//!
//! Only a regular file (or a path to create) is a journal: a FIFO, a
//! device, a directory or a symlink to one stop the start (files.rs).
//!
//! At start the active segment is verified record by record (checksums, no
//! allocation); a torn tail is cut off, a corrupt record (or a length that
//! runs past the end and is not a torn write) ends what is kept of its
//! segment, both logged with their byte counts, and ids skip every number
//! the cut bytes could have held. Only the newest
//! `--history` records are decoded into the hub. Ids carry on: the RUN is
//! the journal's, fixed when it was created, and SEQ continues.
//!
//! A write error (a full disk) refuses that one publish and leaves no part
//! of its record behind; the next publish tries again. The hub calls
//! [`Journal`] through its `Store` trait and learns nothing about files.

mod files;
mod ids;
mod load;
mod record;

pub(crate) use load::open;

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use record::{encode_header, encode_record, Header, HEADER_BYTES};

use crate::events::hub::{NewEvent, Store};

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
    fn append(&mut self, seq: u64, event: &NewEvent<'_>) -> io::Result<()> {
        let mut record = std::mem::take(&mut self.record);
        record.clear();
        encode_record(seq, event, &mut record);
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
