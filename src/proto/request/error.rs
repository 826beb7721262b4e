//! The ways a request head can be refused, each with its status code.
//!
//! One `match` maps every error to its status ([`ParseError::status`]); the
//! `Display` text is the short lowercase reason that goes into the answer's
//! body and the log line, e.g. `400 header line without a colon`.

use std::fmt;

/// Why a request head was refused. Each maps to one status in [`Self::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The request line is not `method SP target SP HTTP/x.y`.
    BadRequestLine,
    /// A header line has no colon.
    HeaderWithoutColon,
    /// Whitespace between the field name and the colon (RFC 9112 §5.1: MUST 400).
    SpaceBeforeColon,
    /// A line that starts with whitespace: obs-fold, which RFC 9112 §5.2 lets us reject.
    ObsoleteLineFolding,
    /// The field name is empty or holds a byte outside the token set.
    BadHeaderName,
    /// The field value holds a control byte such as NUL or a bare CR.
    BadHeaderValue,
    /// An HTTP/1.1 request without `Host` (RFC 9112 §3.2: MUST 400).
    MissingHost,
    /// More than one `Host` line (RFC 9112 §3.2: MUST 400).
    DuplicateHost,
    /// A `Host` value that is not `host[:port]` (RFC 9112 §3.2: MUST 400).
    BadHost,
    /// More than [`MAX_HEADERS`](super::MAX_HEADERS) header lines.
    TooManyHeaders,
    /// `Content-Length` is not digits, or two of them disagree.
    BadContentLength,
    /// Both `Content-Length` and `Transfer-Encoding`: a smuggling attempt
    /// (RFC 9112 §6.1), refused.
    ContentLengthWithTransferEncoding,
    /// The request-target is over [`HeadLimits::max_target_bytes`](super::HeadLimits::max_target_bytes).
    TargetTooLong,
    /// The head is over [`HeadLimits::max_head_bytes`](super::HeadLimits::max_head_bytes).
    HeadTooLarge,
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1, e.g. HTTP/2.0.
    UnsupportedVersion,
}

impl ParseError {
    /// The status code that answers this error.
    pub fn status(self) -> u16 {
        match self {
            ParseError::TargetTooLong => 414,
            ParseError::HeadTooLarge | ParseError::TooManyHeaders => 431,
            ParseError::UnsupportedVersion => 505,
            ParseError::BadRequestLine
            | ParseError::HeaderWithoutColon
            | ParseError::SpaceBeforeColon
            | ParseError::ObsoleteLineFolding
            | ParseError::BadHeaderName
            | ParseError::BadHeaderValue
            | ParseError::MissingHost
            | ParseError::DuplicateHost
            | ParseError::BadHost
            | ParseError::BadContentLength
            | ParseError::ContentLengthWithTransferEncoding => 400,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::BadRequestLine => "malformed request line",
            ParseError::HeaderWithoutColon => "header line without a colon",
            ParseError::SpaceBeforeColon => "whitespace between header name and colon",
            ParseError::ObsoleteLineFolding => "header line starts with whitespace (obs-fold)",
            ParseError::BadHeaderName => "invalid header name",
            ParseError::BadHeaderValue => "control byte in header value",
            ParseError::MissingHost => "HTTP/1.1 request without Host",
            ParseError::DuplicateHost => "more than one Host header",
            ParseError::BadHost => "invalid Host",
            ParseError::TooManyHeaders => "too many header lines",
            ParseError::BadContentLength => "invalid Content-Length",
            ParseError::ContentLengthWithTransferEncoding => "both Content-Length and Transfer-Encoding",
            ParseError::TargetTooLong => "request target too long",
            ParseError::HeadTooLarge => "request head too large",
            ParseError::UnsupportedVersion => "HTTP version not supported",
        })
    }
}

impl std::error::Error for ParseError {}
