//! One line per event worth telling an operator, on stderr, without ever
//! making a connection wait for the log.
//!
//! ```text
//! connection threads ──try_send──► [ 1024 lines ] ──► "ssed-log" thread ──► stderr
//!                        └ full: drop the line, count it
//! stderr flows again ──► "ssed: 37 log lines dropped: stderr was not keeping up"
//! ```
//!
//! A stderr that is a pipe nobody reads (a stalled supervisor, `ssed |
//! slow-consumer`) blocks whoever writes to it. So only the one log thread
//! writes; everyone else hands it a line through a bounded queue and, when
//! the queue is full, drops the line and counts it
//! (`ssed_log_lines_dropped_total` in `/metrics`). Serving never waits.
//!
//! Not here: levels, timestamps (a supervisor such as journald adds its
//! own), files.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;

use crate::ops::queue::Bounded;

/// Lines waiting for stderr before new ones are dropped.
const QUEUE_LINES: usize = 1024;

/// The queue into the log thread; `None` when that thread could not start.
static QUEUE: OnceLock<Option<Arc<Bounded<String>>>> = OnceLock::new();
/// Lines dropped since the process started.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Hands one line (`ssed: ` is put in front) to the log thread. Never
/// blocks; when the queue is full the line is dropped and counted.
pub(crate) fn log(line: std::fmt::Arguments<'_>) {
    let Some(queue) = QUEUE.get_or_init(start_log_thread) else {
        DROPPED.fetch_add(1, Ordering::Relaxed);
        return;
    };
    if queue.try_push(format!("ssed: {line}\n")).is_err() {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// How many lines were dropped because stderr was not keeping up.
pub(crate) fn dropped_lines() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

fn start_log_thread() -> Option<Arc<Bounded<String>>> {
    let queue = Arc::new(Bounded::new(QUEUE_LINES));
    let lines = Arc::clone(&queue);
    // A small stack: the thread only moves strings to a file descriptor.
    let spawned = thread::Builder::new()
        .name("ssed-log".to_owned())
        .stack_size(64 * 1024)
        .spawn(move || write_lines(&lines));
    spawned.ok().map(|_| queue)
}

/// Writes queued lines until the process ends. After a line gets through,
/// says how many were dropped while stderr was stuck, once.
fn write_lines(lines: &Bounded<String>) -> ! {
    let mut reported = 0;
    loop {
        let line = lines.pop();
        let mut stderr = io::stderr().lock();
        // A closed stderr must not end the server: the error is ignored
        // (`eprintln!` would panic).
        if stderr.write_all(line.as_bytes()).is_err() {
            continue;
        }
        let dropped = DROPPED.load(Ordering::Relaxed);
        if dropped > reported {
            let lost = dropped - reported;
            let _ = writeln!(stderr, "ssed: {lost} log lines dropped: stderr was not keeping up");
            reported = dropped;
        }
    }
}
