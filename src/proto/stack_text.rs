//! Short text formatted into a buffer on the stack: a ping's id, its
//! timestamp, a head's date.
//!
//! ```text
//! StackText::<20>::format(format_args!("{id}"))?.as_str()   "41"
//! ```
//!
//! A ping stream formats every frame this way, so once its head is written
//! it allocates nothing: memory a thread frees stays in glibc's cache for
//! that thread as long as it lives (BENCHMARKS.md, memory per stream).

use std::fmt;
use std::io::{self, Write};

/// Up to `N` bytes of UTF-8 text.
pub struct StackText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    /// `text`, formatted into a buffer of `N` bytes.
    ///
    /// # Errors
    ///
    /// `WriteZero` when the text does not fit.
    pub fn format(text: fmt::Arguments<'_>) -> io::Result<StackText<N>> {
        let mut formatted = StackText { bytes: [0; N], len: 0 };
        let mut rest = &mut formatted.bytes[..];
        rest.write_fmt(text)?;
        formatted.len = N - rest.len();
        Ok(formatted)
    }

    /// The text. Formatting writes whole UTF-8 strings or fails, so the
    /// bytes are always UTF-8.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_fits_and_text_that_does_not() {
        let id = StackText::<20>::format(format_args!("{}", u64::MAX)).expect("20 digits fit");
        assert_eq!(id.as_str(), "18446744073709551615");
        let too_long = StackText::<4>::format(format_args!("{}", 12345));
        assert_eq!(too_long.err().map(|error| error.kind()), Some(io::ErrorKind::WriteZero));
        let empty = StackText::<4>::format(format_args!("")).expect("nothing fits");
        assert_eq!(empty.as_str(), "");
    }
}
