//! Where ids carry on after a restart, so that none is ever given twice.
//!
//! ```text
//! PATH     … seq 10 │ 4,020 bytes cut           next: 11 + 4020/29 + 1 = 150
//! PATH.4   … seq 10 │ damaged,  PATH lost       next: 11 + what the cut and one whole segment could hold
//! ```
//!
//! Records are consecutive and at least [`MIN_RECORD_BYTES`] long, so
//! bytes cut off a segment held at most `bytes / MIN_RECORD_BYTES` whole
//! records (and one being written); a lost active segment held at most one
//! segment's bytes and one record of the largest size a reader accepts.
//! Ids skip all of those: strictly increasing, not always consecutive.

use std::collections::VecDeque;
use std::path::Path;

use super::files;
use super::load::{scan, Scan};
use super::record::{RecordError, MAX_BODY_BYTES, MIN_RECORD_BYTES, RECORD_PREFIX_BYTES};
use super::{JournalError, Options, Sealed};

/// Where ids stand after reading the segments: the run (none: a new
/// journal) and the next sequence number.
pub(super) struct Ids {
    pub(super) run: Option<u64>,
    pub(super) next_seq: u64,
}

/// How many sequence numbers `dropped` bytes could have held: records are
/// consecutive and at least [`MIN_RECORD_BYTES`] long, so at most
/// `dropped / MIN_RECORD_BYTES` whole ones, and one more that was being
/// written. Skipping them all means no id is ever given twice.
fn could_hold(dropped: usize) -> u64 {
    (dropped / MIN_RECORD_BYTES) as u64 + 1
}

/// The size at which the active segment is sealed, for `--journal-max-bytes`.
pub(super) fn segment_bytes(max_bytes: u64) -> u64 {
    (max_bytes / 4).max(4096)
}

/// Where ids stand from a verified active segment, and a note on what is
/// cut off its end.
pub(super) fn active_ids(path: &Path, found: &Scan, total: usize, notes: &mut Vec<String>) -> Ids {
    let mut ids = Ids {
        run: Some(found.header.run),
        next_seq: found.records.last().map_or(found.header.first_seq, |&(seq, _, _)| seq.saturating_add(1)),
    };
    if let Some((at, problem)) = found.trouble {
        let dropped = total - at;
        let skip = could_hold(dropped);
        ids.next_seq = ids.next_seq.saturating_add(skip);
        let path = path.display();
        notes.push(match problem {
            // A record being written when ssed stopped: never acknowledged.
            None => format!("journal {path}: torn tail: cut {dropped} bytes at offset {at}; ids skip the {skip} numbers they could have held"),
            Some(error) => {
                format!(
                    "journal {path}: CORRUPT record at offset {at} ({error}): dropped it and the {dropped} bytes from there to the end of the segment; ids skip the {skip} numbers they could have held"
                )
            }
        });
    }
    ids
}

/// Where ids stand when the active segment is missing (or torn inside its
/// header): after the newest sealed segment's last whole record, past
/// anything cut off it, and past all that a lost active segment could have
/// held: one segment's worth of bytes and one record of the largest size
/// a reader accepts. Without sealed segments this is a new journal.
pub(super) fn lost_active_ids(
    path: &Path,
    active_bytes: Option<&[u8]>,
    sealed: &VecDeque<Sealed>,
    options: Options,
    notes: &mut Vec<String>,
) -> Result<Ids, JournalError> {
    let state = match active_bytes {
        None => "missing",
        Some([]) => "empty",
        Some(_) => "torn inside its header",
    };
    let Some(newest) = sealed.back() else {
        if state == "torn inside its header" {
            notes.push(format!("journal {}: torn header: starting the segment again", path.display()));
        }
        return Ok(Ids { run: None, next_seq: 1 });
    };
    let bytes = files::read_segment(&newest.path)?.unwrap_or_default();
    let found = scan(&newest.path, &bytes, true)?;
    let mut next_seq =
        found.records.last().map_or(found.header.first_seq, |&(seq, _, _)| seq.saturating_add(1));
    if let Some((at, error)) = found.trouble {
        let dropped = bytes.len() - at;
        let error = error.unwrap_or(RecordError::PastTheEnd(dropped));
        notes.push(format!(
            "journal {}: CORRUPT record at offset {at} ({error}): the {dropped} bytes from there on are lost",
            newest.path.display()
        ));
        next_seq = next_seq.saturating_add(could_hold(dropped));
    }
    let largest = sealed.iter().map(|segment| segment.bytes).max().unwrap_or(0);
    let segment = largest.max(segment_bytes(options.max_bytes)) as usize;
    let skip = could_hold(segment + RECORD_PREFIX_BYTES + MAX_BODY_BYTES);
    notes.push(format!(
        "journal {}: the active segment is {state}; ids skip the {skip} numbers it could have held, from {next_seq}",
        path.display(),
    ));
    Ok(Ids { run: Some(found.header.run), next_seq: next_seq.saturating_add(skip) })
}
