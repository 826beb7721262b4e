//! The journal's bytes: a segment header, then self-checking records.
//! Pure: bytes in, a record or a named error out.
//!
//! ```text
//! segment header (28 bytes)
//!   "SSEDJRNL"  magic, so a file another program wrote is never read as events
//!   u32 LE      format version (3; a version 2 segment, written before
//!               extras, and a version 1 segment, written before private
//!               events, read the same: their bits 30 and 31 are never set)
//!   u64 LE      run: the RUN part of every id in this journal, fixed at its creation
//!   u64 LE      the sequence number of the segment's first record
//! record (16 bytes + fields)
//!   u32 LE      length of the body
//!   u32 LE      CRC-32 (IEEE) of the body
//!   body:  u64 LE seq | u32 LE topic length, bit 31 set for a private event,
//!          bit 30 for extras | u32 LE event length (0xFFFF_FFFF: no event name)
//!          | u32 LE data length | topic | event | data
//!          [| u32 LE extras length | extras: (u8 kind, u32 LE length, bytes)…]
//!          kinds: 1 an alternate topic (repeats), 2 the publisher's id, 3 retry (u64 LE ms)
//! ```
//!
//! A record is whole, incomplete (the file ends inside it: a torn write),
//! or corrupt (its checksum or its fields do not hold). Lengths are checked
//! against [`MAX_BODY_BYTES`] before anything is allocated.

use std::fmt;

use crate::events::hub::NewEvent;

/// The first bytes of every segment.
pub const MAGIC: &[u8; 8] = b"SSEDJRNL";
/// The format this ssed writes and reads.
pub const VERSION: u32 = 3;
/// The earlier formats, read as well: the same without extras (2), and
/// without private events either (1). Their bits 30 and 31 are never set.
pub const VERSION_WITHOUT_EXTRAS: u32 = 2;
/// See [`VERSION_WITHOUT_EXTRAS`].
pub const VERSION_WITHOUT_PRIVATE: u32 = 1;
/// Bytes of a segment header.
pub const HEADER_BYTES: usize = 28;
/// Bytes before a record's body: its length and its checksum.
pub const RECORD_PREFIX_BYTES: usize = 8;
/// The smallest record: prefix, seq, three lengths, a one-byte topic.
pub const MIN_RECORD_BYTES: usize = RECORD_PREFIX_BYTES + 8 + 12 + 1;
/// The largest body a reader accepts: data, topic and name well past any
/// limit ssed allows, small enough that a corrupt length cannot make it
/// allocate gigabytes.
pub const MAX_BODY_BYTES: usize = 64 << 20;
const NO_EVENT: u32 = u32::MAX;
/// The bit of the topic length that marks a private event; topic names are
/// far shorter than 2^31 bytes.
const PRIVATE_BIT: u32 = 1 << 31;
/// The bit of the topic length that says an extras block follows the data.
const EXTRAS_BIT: u32 = 1 << 30;
/// Both flag bits.
const FLAG_BITS: u32 = PRIVATE_BIT | EXTRAS_BIT;
const EXTRA_ALTERNATE: u8 = 1;
const EXTRA_LABEL: u8 = 2;
const EXTRA_RETRY: u8 = 3;

/// A segment's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The RUN part of the ids in this journal.
    pub run: u64,
    /// The sequence number of the segment's first record.
    pub first_seq: u64,
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its sequence number: the SEQ of its id.
    pub seq: u64,
    /// Its topic (the canonical one).
    pub topic: String,
    /// Its alternate topics.
    pub alternates: Vec<String>,
    /// The id its publisher gave, if any.
    pub label: Option<String>,
    /// Its own `retry:`, in milliseconds.
    pub retry: Option<u64>,
    /// Its event name, if any.
    pub event: Option<String>,
    /// Its data.
    pub data: String,
    /// Only streams whose token may read its topic get it.
    pub private: bool,
}

/// What the bytes at the start of a buffer are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<T> {
    /// A whole item, and how many bytes it took.
    Whole(T, usize),
    /// The buffer ends inside the item: a torn write, or read more.
    Incomplete,
}

/// Why bytes are not a journal, or not a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// The file does not start with [`MAGIC`]: another program wrote it.
    NotAJournal,
    /// A format version this ssed does not read.
    UnknownVersion(u32),
    /// A body length of 0 or over [`MAX_BODY_BYTES`].
    BadLength(u32),
    /// The body's CRC-32 does not match: flipped bits.
    BadChecksum,
    /// The checksum holds but the fields do not fit the body, or are not UTF-8.
    BadFields,
    /// The file ends inside a record that cannot be a torn write (see
    /// [`torn_write`]): its length field is damaged. How many bytes were left.
    PastTheEnd(usize),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::NotAJournal => {
                f.write_str("not an ssed journal (no SSEDJRNL header; written by another program?)")
            }
            RecordError::UnknownVersion(version) => {
                write!(f, "journal format version {version}; this ssed reads versions {VERSION_WITHOUT_PRIVATE} to {VERSION}")
            }
            RecordError::BadLength(length) => write!(f, "record length {length} is out of range"),
            RecordError::BadChecksum => f.write_str("record checksum does not match"),
            RecordError::BadFields => f.write_str("record fields do not fit its length or are not UTF-8"),
            RecordError::PastTheEnd(left) => write!(
                f,
                "record length runs past the end of the file ({left} bytes left) and is not a torn write"
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib and
/// Ethernet compute it, from a table built at compile time.
pub fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut crc = n as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
                bit += 1;
            }
            table[n] = crc;
            n += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |crc, &byte| TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8))
}

/// Appends a segment header to `out`.
pub fn encode_header(header: Header, out: &mut Vec<u8>) {
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&header.run.to_le_bytes());
    out.extend_from_slice(&header.first_seq.to_le_bytes());
}

/// Reads a segment header.
///
/// # Errors
///
/// [`RecordError::NotAJournal`] as soon as the bytes differ from the
/// magic; [`RecordError::UnknownVersion`].
pub fn decode_header(bytes: &[u8]) -> Result<Decoded<Header>, RecordError> {
    let magic_seen = bytes.len().min(MAGIC.len());
    if bytes[..magic_seen] != MAGIC[..magic_seen] {
        return Err(RecordError::NotAJournal);
    }
    if bytes.len() < HEADER_BYTES {
        return Ok(Decoded::Incomplete);
    }
    let version = u32_at(bytes, 8);
    if ![VERSION, VERSION_WITHOUT_EXTRAS, VERSION_WITHOUT_PRIVATE].contains(&version) {
        return Err(RecordError::UnknownVersion(version));
    }
    Ok(Decoded::Whole(Header { run: u64_at(bytes, 12), first_seq: u64_at(bytes, 20) }, HEADER_BYTES))
}

/// Appends one record to `out`: `event`'s canonical topic, name and data
/// in the fixed fields, the rest (alternate topics, the publisher's id, a
/// retry) in the extras block, written only when there is any.
pub fn encode_record(seq: u64, event: &NewEvent<'_>, out: &mut Vec<u8>) {
    let topic = event.topics.first().copied().unwrap_or_default();
    let mut extras = Vec::new();
    for alternate in event.topics.iter().skip(1) {
        push_extra(&mut extras, EXTRA_ALTERNATE, alternate.as_bytes());
    }
    if let Some(label) = event.label {
        push_extra(&mut extras, EXTRA_LABEL, label.as_bytes());
    }
    if let Some(retry) = event.retry {
        push_extra(&mut extras, EXTRA_RETRY, &retry.to_le_bytes());
    }
    let start = out.len();
    out.extend_from_slice(&[0; RECORD_PREFIX_BYTES]);
    out.extend_from_slice(&seq.to_le_bytes());
    let private_bit = if event.private { PRIVATE_BIT } else { 0 };
    let extras_bit = if extras.is_empty() { 0 } else { EXTRAS_BIT };
    out.extend_from_slice(&(topic.len() as u32 | private_bit | extras_bit).to_le_bytes());
    out.extend_from_slice(&event.event.map_or(NO_EVENT, |name| name.len() as u32).to_le_bytes());
    out.extend_from_slice(&(event.data.len() as u32).to_le_bytes());
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(event.event.unwrap_or_default().as_bytes());
    out.extend_from_slice(event.data.as_bytes());
    if !extras.is_empty() {
        out.extend_from_slice(&(extras.len() as u32).to_le_bytes());
        out.extend_from_slice(&extras);
    }
    let body_start = start + RECORD_PREFIX_BYTES;
    let body_len = (out.len() - body_start) as u32;
    let crc = crc32(&out[body_start..]);
    out[start..start + 4].copy_from_slice(&body_len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn push_extra(extras: &mut Vec<u8>, kind: u8, bytes: &[u8]) {
    extras.push(kind);
    extras.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    extras.extend_from_slice(bytes);
}

/// The length of the record at the start of `bytes`, from its prefix
/// alone: how to step over records without decoding them.
///
/// # Errors
///
/// [`RecordError::BadLength`].
pub fn record_len(bytes: &[u8]) -> Result<Decoded<()>, RecordError> {
    if bytes.len() < RECORD_PREFIX_BYTES {
        return Ok(Decoded::Incomplete);
    }
    let body_len = u32_at(bytes, 0);
    if body_len == 0 || body_len as usize > MAX_BODY_BYTES {
        return Err(RecordError::BadLength(body_len));
    }
    let total = RECORD_PREFIX_BYTES + body_len as usize;
    Ok(if bytes.len() < total { Decoded::Incomplete } else { Decoded::Whole((), total) })
}

/// Whether `bytes`, which [`record_len`] found [`Decoded::Incomplete`],
/// can be a record cut short by a crash (a torn write) whose sequence
/// number is at least `min_seq`: a prefix of what [`encode_record`] writes.
/// A whole record is at least [`MIN_RECORD_BYTES`] long, so when its length
/// field is damaged to run past the end, its field lengths are there to
/// contradict it; fewer bytes than a prefix and the fields cannot be told
/// apart from a torn write, and are taken as one.
///
/// # Errors
///
/// [`RecordError::PastTheEnd`]: the fields do not add up to the length,
/// or the sequence number goes backwards; the length field is damaged.
pub fn torn_write(bytes: &[u8], min_seq: u64) -> Result<(), RecordError> {
    let Some(fields) = bytes.get(RECORD_PREFIX_BYTES..RECORD_PREFIX_BYTES + 20) else {
        return Ok(());
    };
    let event_len = u32_at(fields, 12);
    if u32_at(fields, 8) & EXTRAS_BIT != 0 {
        // Where the extras begin may lie past what was written: nothing
        // there can contradict the length, so it is taken as torn.
        return if u64_at(fields, 0) < min_seq { Err(RecordError::PastTheEnd(bytes.len())) } else { Ok(()) };
    }
    let needed = 20
        + u64::from(u32_at(fields, 8) & !FLAG_BITS)
        + u64::from(if event_len == NO_EVENT { 0 } else { event_len })
        + u64::from(u32_at(fields, 16));
    if needed != u64::from(u32_at(bytes, 0)) || u64_at(fields, 0) < min_seq {
        return Err(RecordError::PastTheEnd(bytes.len()));
    }
    Ok(())
}

/// Where the fields of a checked record's body lie.
struct Layout {
    seq: u64,
    private: bool,
    /// Where the extras block lies in the body, if there is one.
    extras: Option<std::ops::Range<usize>>,
    topic_len: usize,
    event_len: Option<usize>,
    data_len: usize,
}

/// The record at the start of `bytes`, checked (length, checksum, field
/// lengths, UTF-8) without allocating: its layout and body, and its length.
fn check(bytes: &[u8]) -> Result<Decoded<(Layout, &[u8])>, RecordError> {
    let total = match record_len(bytes)? {
        Decoded::Whole((), total) => total,
        Decoded::Incomplete => return Ok(Decoded::Incomplete),
    };
    let body = &bytes[RECORD_PREFIX_BYTES..total];
    if crc32(body) != u32_at(bytes, 4) {
        return Err(RecordError::BadChecksum);
    }
    let fields = body.get(..20).ok_or(RecordError::BadFields)?;
    let event_len = u32_at(fields, 12);
    let layout = Layout {
        seq: u64_at(fields, 0),
        private: u32_at(fields, 8) & PRIVATE_BIT != 0,
        extras: None,
        topic_len: (u32_at(fields, 8) & !FLAG_BITS) as usize,
        event_len: (event_len != NO_EVENT).then_some(event_len as usize),
        data_len: u32_at(fields, 16) as usize,
    };
    let mut layout = layout;
    let texts_end =
        20u64 + layout.topic_len as u64 + layout.event_len.unwrap_or(0) as u64 + layout.data_len as u64;
    let needed = if u32_at(fields, 8) & EXTRAS_BIT != 0 {
        let at = usize::try_from(texts_end).map_err(|_| RecordError::BadFields)?;
        let extras_len = body.get(at..at + 4).map(|bytes| u32_at(bytes, 0)).ok_or(RecordError::BadFields)?;
        layout.extras = Some(at + 4..at + 4 + extras_len as usize);
        texts_end + 4 + u64::from(extras_len)
    } else {
        texts_end
    };
    if needed != body.len() as u64 || std::str::from_utf8(&body[20..texts_end as usize]).is_err() {
        return Err(RecordError::BadFields);
    }
    Ok(Decoded::Whole((layout, body), total))
}

/// Checks the record at the start of `bytes` as [`decode_record`] does,
/// without allocating: its sequence number and length. How a whole
/// segment is verified before only its newest records are decoded.
///
/// # Errors
///
/// As [`decode_record`].
pub fn verify_record(bytes: &[u8]) -> Result<Decoded<u64>, RecordError> {
    Ok(match check(bytes)? {
        Decoded::Whole((layout, _), total) => Decoded::Whole(layout.seq, total),
        Decoded::Incomplete => Decoded::Incomplete,
    })
}

/// Reads and checks the record at the start of `bytes`.
///
/// # Errors
///
/// [`RecordError::BadLength`], [`RecordError::BadChecksum`] or
/// [`RecordError::BadFields`].
pub fn decode_record(bytes: &[u8]) -> Result<Decoded<Record>, RecordError> {
    let ((layout, body), total) = match check(bytes)? {
        Decoded::Whole(checked, total) => (checked, total),
        Decoded::Incomplete => return Ok(Decoded::Incomplete),
    };
    // `check` found the fields in place and the body UTF-8 from byte 20 on;
    // each field may still split a character, so each is checked again.
    let text = |from: usize, len: usize| {
        String::from_utf8(body[from..from + len].to_vec()).map_err(|_| RecordError::BadFields)
    };
    let topic = text(20, layout.topic_len)?;
    let event_at = 20 + layout.topic_len;
    let event = layout.event_len.map(|len| text(event_at, len)).transpose()?;
    let data = text(event_at + layout.event_len.unwrap_or(0), layout.data_len)?;
    let mut record = Record {
        seq: layout.seq,
        topic,
        alternates: Vec::new(),
        label: None,
        retry: None,
        event,
        data,
        private: layout.private,
    };
    if let Some(extras) = layout.extras {
        read_extras(&body[extras], &mut record)?;
    }
    Ok(Decoded::Whole(record, total))
}

/// Reads an extras block into `record`; an unknown kind is skipped, so a
/// later version may add kinds that this one ignores.
fn read_extras(mut extras: &[u8], record: &mut Record) -> Result<(), RecordError> {
    while let [kind, rest @ ..] = extras {
        let length = rest.get(..4).map(|bytes| u32_at(bytes, 0) as usize).ok_or(RecordError::BadFields)?;
        let value = rest.get(4..4 + length).ok_or(RecordError::BadFields)?;
        let text = || String::from_utf8(value.to_vec()).map_err(|_| RecordError::BadFields);
        match *kind {
            EXTRA_ALTERNATE => record.alternates.push(text()?),
            EXTRA_LABEL => record.label = Some(text()?),
            EXTRA_RETRY => {
                let bytes: [u8; 8] = value.try_into().map_err(|_| RecordError::BadFields)?;
                record.retry = Some(u64::from_le_bytes(bytes));
            }
            _ => {}
        }
        extras = &rest[4 + length..];
    }
    Ok(())
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests;
