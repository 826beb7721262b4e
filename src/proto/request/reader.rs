//! Collecting a request head from reads of any size, with work linear in
//! the head's size.
//!
//! ```text
//! read: "GET /sse HT"   ─► look at 11 new bytes: request line so far valid ─► NeedMore
//! read: "TP/1.1\r\nHo"  ─► look at 10 new bytes                           ─► NeedMore
//! read: "st: a\r\n\r\n" ─► look at 9 new bytes: "\n\r\n" ends the head    ─► parse once ─► Complete
//! ```
//!
//! Re-parsing the whole buffer after every read costs the square of the
//! head's size when a client sends one byte per segment (2,700 headers
//! cost 0.8 CPU-seconds that way). Here every byte is looked at once on its
//! way in, for the end of the head, the header count and the request
//! line's early errors; the request line is checked once when it ends, and
//! the head is parsed once, when it is whole. (So an error in a header line
//! shows when the head is whole, or at a limit, not at once.)

use super::{find_parts, scan_request_line, HeadLimits, ParseError, Request, MAX_HEADERS};

/// The request line is re-checked whole (for errors that show before it
/// ends, such as a TLS handshake) while it is at most this long; past it,
/// byte by byte only.
const EARLY_CHECK_BYTES: usize = 64;

/// The head buffer's first size: room for a browser's head, and more than
/// glibc keeps in a thread's own cache of freed blocks (1,032 bytes). A
/// smaller block, freed when the stream starts, would stay in that cache
/// for the whole life of the stream's thread (1 KB per stream, measured
/// in BENCHMARKS.md); this one goes back to the heap every thread shares.
const FIRST_BUFFER_BYTES: usize = 2048;

/// A request head being collected: read into [`HeadReader::spare`], then
/// report the count to [`HeadReader::filled`].
#[derive(Debug)]
pub struct HeadReader {
    buf: Vec<u8>,
    filled: usize,
    limits: HeadLimits,
    /// Bytes before this one have been looked at.
    looked_at: usize,
    /// Still in the empty lines a client may send before the request line.
    in_leading_blank_lines: bool,
    /// Where the request line starts, once it has.
    line_start: Option<usize>,
    /// The position of the last LF seen after the request line started.
    last_lf: Option<usize>,
    /// LFs seen after the request line started: the request line's, then
    /// one for each header line.
    line_ends: usize,
    /// Spaces seen in the request line so far.
    request_line_spaces: usize,
    /// Bytes of the request target seen so far.
    target_len: usize,
    /// Bytes looked at in all, the early check of the request line included.
    work: usize,
}

/// What [`HeadReader::filled`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// The head is not whole yet: read more.
    NeedMore,
    /// The head, and the bytes that came after it (the start of a body).
    Complete {
        /// The parsed head.
        request: Request,
        /// Bytes read past the head's empty line.
        after_head: Vec<u8>,
    },
}

impl HeadReader {
    /// An empty reader for heads within `limits`.
    pub fn new(limits: HeadLimits) -> HeadReader {
        HeadReader {
            buf: Vec::with_capacity(FIRST_BUFFER_BYTES.min(limits.max_head_bytes)),
            filled: 0,
            limits,
            looked_at: 0,
            in_leading_blank_lines: true,
            line_start: None,
            last_lf: None,
            line_ends: 0,
            request_line_spaces: 0,
            target_len: 0,
            work: 0,
        }
    }

    /// Room for the next read: at most 1 KiB, and never past
    /// `max_head_bytes`, so the parser decides at exactly the limit.
    /// Empty when the limit is reached.
    pub fn spare(&mut self) -> &mut [u8] {
        let room = self.limits.max_head_bytes.saturating_sub(self.filled).min(1024);
        self.buf.resize(self.filled + room, 0);
        &mut self.buf[self.filled..]
    }

    /// Takes the `count` bytes just read into [`HeadReader::spare`].
    ///
    /// # Errors
    ///
    /// A [`ParseError`] as soon as the bytes can no longer become a valid
    /// head, or outgrow the limits.
    pub fn filled(&mut self, count: usize) -> Result<Progress, ParseError> {
        self.filled = (self.filled + count).min(self.buf.len());
        self.buf.truncate(self.filled);
        if let Some(head_len) = self.look_at_new_bytes()? {
            return match find_parts(&self.buf[..head_len], &self.limits)? {
                Some((parts, _)) => {
                    // The request keeps this buffer: no copy of the head.
                    let after_head = self.buf.split_off(head_len);
                    let head = std::mem::take(&mut self.buf);
                    Ok(Progress::Complete { request: Request::new(head, parts), after_head })
                }
                // The empty line was found, so the parser sees a whole head.
                None => Err(ParseError::BadRequestLine),
            };
        }
        if self.filled >= self.limits.max_head_bytes {
            return Err(ParseError::HeadTooLarge);
        }
        Ok(Progress::NeedMore)
    }

    /// Whether a request has begun: a byte other than the CR and LF a
    /// client may send before its request line (RFC 9112 §2.2) has come.
    /// A kept-open connection is idle until one does.
    pub fn request_started(&self) -> bool {
        !self.in_leading_blank_lines
    }

    /// Bytes looked at so far, in all: at most a small constant times the
    /// bytes received, however they were split into reads.
    #[cfg(test)]
    pub fn work(&self) -> usize {
        self.work
    }

    /// Looks at each new byte once; returns the head's length when its
    /// empty line has arrived.
    fn look_at_new_bytes(&mut self) -> Result<Option<usize>, ParseError> {
        let start = self.looked_at;
        self.looked_at = self.filled;
        for at in start..self.filled {
            self.work += 1;
            let byte = self.buf[at];
            if self.in_leading_blank_lines {
                if byte == b'\r' || byte == b'\n' {
                    continue;
                }
                self.in_leading_blank_lines = false;
                self.line_start = Some(at);
            }
            if byte != b'\n' {
                if self.last_lf.is_none() {
                    self.request_line_byte(byte)?;
                }
                continue;
            }
            // An LF right after the previous one (or after it and a CR)
            // ends an empty line: the end of the head.
            if let Some(previous) = self.last_lf {
                let between = &self.buf[previous + 1..at];
                if between.is_empty() || between == b"\r" {
                    return Ok(Some(at + 1));
                }
            }
            if self.last_lf.is_none() {
                // The request line just ended: check it whole, once.
                let start = self.line_start.unwrap_or(0);
                let line = &self.buf[start..at];
                self.work += line.len();
                scan_request_line(line.strip_suffix(b"\r").unwrap_or(line), true, &self.limits)?;
            }
            self.last_lf = Some(at);
            self.line_ends += 1;
            // The request line's LF, then one per header line.
            if self.line_ends > MAX_HEADERS + 1 {
                return Err(ParseError::TooManyHeaders);
            }
        }
        self.check_request_line_so_far()?;
        Ok(None)
    }

    /// What one byte of the request line can break on its own: the
    /// character set, and the target's length limit.
    fn request_line_byte(&mut self, byte: u8) -> Result<(), ParseError> {
        match byte {
            b' ' => self.request_line_spaces += 1,
            // A CR is only allowed before the LF; the parser decides.
            b'\r' => {}
            0x21..=0x7e if self.request_line_spaces == 1 => {
                self.target_len += 1;
                if self.target_len > self.limits.max_target_bytes {
                    return Err(ParseError::TargetTooLong);
                }
            }
            0x21..=0x7e => {}
            _ => return Err(ParseError::BadRequestLine),
        }
        Ok(())
    }

    /// Refuses a request line that can never become valid before it ends,
    /// so garbage (a TLS handshake) is answered at once. The whole line so
    /// far is checked while it is short; past that, byte by byte only.
    fn check_request_line_so_far(&mut self) -> Result<(), ParseError> {
        let (Some(line_start), None) = (self.line_start, self.last_lf) else {
            return Ok(());
        };
        let partial = &self.buf[line_start..self.filled];
        let partial = partial.strip_suffix(b"\r").unwrap_or(partial);
        if partial.len() <= EARLY_CHECK_BYTES {
            self.work += partial.len();
            scan_request_line(partial, false, &self.limits)?;
        }
        Ok(())
    }
}
