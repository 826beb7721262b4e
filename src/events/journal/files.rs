//! What the journal's paths really are, before anything is read: only a
//! regular file (or a path to create) is a journal; the lock is taken on
//! the real path, so no alias (a symlink, a second name of a directory)
//! lets two servers write one file; and a segment's header is checked
//! before the rest of it is read.
//!
//! ```text
//! --journal alias.journal ─ symlink ─► /var/lib/ssed/events.journal   the real path
//! /var/lib/ssed/events.journal.lock                                   locked (flock)
//! a FIFO, /dev/zero, a directory, a dangling symlink                  exit 1, one line
//! ```
//!
//! A FIFO blocks whoever opens it for reading until a writer comes, and
//! /dev/zero never ends: so the type is checked on the path before it is
//! opened, and opening uses `O_NONBLOCK` and checks the type again on what
//! was opened (the path may have changed in between).

use std::fs::{self, File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::record::{decode_header, HEADER_BYTES};
use super::{failed, with_suffix, JournalError};

/// `O_NONBLOCK` on Linux (asm-generic/fcntl.h; the same on x86, arm and
/// risc-v). std has no constant for it and ssed uses no crate: opening a
/// FIFO with it returns at once instead of waiting for a writer; on a
/// regular file it changes nothing.
const O_NONBLOCK: i32 = 0o4000;

/// What a file type is, in the words of a refusal.
fn kind(file_type: FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_symlink() {
        "a symlink"
    } else {
        "not a file"
    }
}

/// The refusal for a path that is not a regular file.
fn not_regular(path: &Path, file_type: FileType) -> JournalError {
    if file_type.is_dir() {
        return failed(path, "is a directory; give a file path");
    }
    failed(path, format_args!("not a regular file ({})", kind(file_type)))
}

/// The real path of the journal `given`: symlinks and `..` resolved, so
/// that the lock, the segments and every rename are about the file that is
/// really written. A path that does not exist yet is resolved through its
/// directory.
///
/// # Errors
///
/// Anything but a regular file or a missing one: a directory, a FIFO, a
/// device, a socket, a symlink to one of those or to nothing.
pub(super) fn real_path(given: &Path) -> Result<PathBuf, JournalError> {
    let resolve = |path: &Path| {
        fs::canonicalize(path).map_err(|error| failed(given, format_args!("cannot resolve: {error}")))
    };
    match fs::symlink_metadata(given) {
        Ok(meta) if meta.file_type().is_symlink() => match fs::metadata(given) {
            Ok(target) if target.is_file() => resolve(given),
            Ok(target) => Err(failed(
                given,
                format_args!(
                    "not a regular file (a symlink to {}, {})",
                    kind(target.file_type()),
                    fs::read_link(given).unwrap_or_default().display()
                ),
            )),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Err(failed(
                given,
                format_args!(
                    "is a symlink to nothing ({}); give the real path",
                    fs::read_link(given).unwrap_or_default().display()
                ),
            )),
            Err(error) => Err(failed(given, format_args!("cannot read: {error}"))),
        },
        Ok(meta) if meta.is_file() => resolve(given),
        Ok(meta) => Err(not_regular(given, meta.file_type())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            // To be created: its directory is resolved, its name kept.
            let name = given.file_name().ok_or_else(|| failed(given, "has no file name"))?;
            let dir = given.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
            // A missing directory is left for the lock's creation to name.
            Ok(fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned()).join(name))
        }
        Err(error) => Err(failed(given, format_args!("cannot read: {error}"))),
    }
}

/// Takes the exclusive lock on `real.lock`, held for as long as the
/// returned file is open.
///
/// # Errors
///
/// The lock file cannot be created, is not a regular file, or is held by
/// another server: named after `given`, the path the operator wrote.
pub(super) fn lock(real: &Path, given: &Path) -> Result<File, JournalError> {
    let lock_path = with_suffix(real, "lock");
    let cannot_create =
        |error: io::Error| failed(given, format_args!("cannot create {}: {error}", lock_path.display()));
    let refuse = |file_type| {
        failed(given, format_args!("{}: not a regular file ({})", lock_path.display(), kind(file_type)))
    };
    // A FIFO would make the opening fail (or, without `O_NONBLOCK`, wait).
    if let Some(meta) = fs::metadata(&lock_path).ok().filter(|meta| !meta.is_file()) {
        return Err(refuse(meta.file_type()));
    }
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(O_NONBLOCK)
        .open(&lock_path)
        .map_err(cannot_create)?;
    let file_type = lock.metadata().map_err(cannot_create)?.file_type();
    if !file_type.is_file() {
        return Err(refuse(file_type));
    }
    if lock.try_lock().is_err() {
        return Err(failed(
            given,
            format_args!("in use by another ssed (its lock file {} is held)", lock_path.display()),
        ));
    }
    Ok(lock)
}

/// Refuses a sealed segment `path` that is not a regular file (after
/// symlinks), before anything opens it.
pub(super) fn check_segment(path: &Path) -> Result<(), JournalError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(meta) => Err(not_regular(path, meta.file_type())),
        Err(error) => Err(failed(path, format_args!("cannot read: {error}"))),
    }
}

/// The bytes of the segment at `path`, `None` if there is none: opened
/// without waiting, refused unless it is a regular file, its header checked
/// before the rest is read, and the rest read only up to the length the
/// file had when it was opened.
///
/// # Errors
///
/// Not a regular file, not an ssed journal, an unknown version, or an I/O
/// error.
pub(super) fn read_segment(path: &Path) -> Result<Option<Vec<u8>>, JournalError> {
    let cannot_read = |error: io::Error| failed(path, format_args!("cannot read: {error}"));
    let mut file = match OpenOptions::new().read(true).custom_flags(O_NONBLOCK).open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(cannot_read(error)),
    };
    let meta = file.metadata().map_err(cannot_read)?;
    if !meta.is_file() {
        return Err(not_regular(path, meta.file_type()));
    }
    let length = usize::try_from(meta.len()).map_err(|_| failed(path, "is too large to read"))?;
    let mut bytes = Vec::with_capacity(length.min(HEADER_BYTES));
    (&mut file).take(HEADER_BYTES as u64).read_to_end(&mut bytes).map_err(cannot_read)?;
    decode_header(&bytes).map_err(|error| failed(path, error))?;
    bytes.reserve_exact(length.saturating_sub(bytes.len()));
    file.take(length.saturating_sub(bytes.len()) as u64).read_to_end(&mut bytes).map_err(cannot_read)?;
    Ok(Some(bytes))
}
