//! The head that opens every event stream (`/sse`, `/messages`, `/events`,
//! and `HEAD` of each), dated now:
//!
//! ```text
//! HTTP/1.1 200 OK\r\n
//! Date: Wed, 25 Nov 2026 18:40:30 GMT\r\n
//! Content-Type: text/event-stream\r\n
//! Cache-Control: no-cache\r\n
//! Access-Control-Allow-Origin: *\r\n
//! X-Accel-Buffering: no\r\n
//! Connection: close\r\n
//! \r\n
//! ```
//!
//! The bytes are [`crate::proto::response`]'s; this only reads the clock.

use std::time::SystemTime;

use crate::proto::response::{stream_head_of, Cors, StreamKind};
use crate::proto::stack_text::StackText;
use crate::proto::time::HttpDate;

/// The stream head written into `buffer` (emptied first), the date
/// formatted on the stack: a stream allocates nothing for it.
pub(crate) fn stream_head_in(buffer: Vec<u8>, cors: Cors<'_>) -> Vec<u8> {
    stream_head_of_kind(buffer, StreamKind::Events, cors)
}

/// [`stream_head_in`] for a stream of `kind`.
pub(crate) fn stream_head_of_kind(buffer: Vec<u8>, kind: StreamKind<'_>, cors: Cors<'_>) -> Vec<u8> {
    // 40 bytes hold any date SystemTime can hold.
    let date = StackText::<40>::format(format_args!("{}", HttpDate(SystemTime::now())));
    let date = date.as_ref().map_or("", StackText::as_str);
    stream_head_of(buffer, kind, cors, date)
}

/// [`stream_head_in`] in a new buffer.
pub(crate) fn stream_head(cors: Cors<'_>) -> Vec<u8> {
    stream_head_in(Vec::with_capacity(256), cors)
}
