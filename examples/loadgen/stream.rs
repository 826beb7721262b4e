//! One client stream: connect, read frames, time them, leave by FIN or RST.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::options::Options;

/// What one stream saw.
#[derive(Default)]
pub(crate) struct StreamReport {
    pub(crate) connected: bool,
    pub(crate) first_frame: Option<Duration>,
    pub(crate) gaps_ms: Vec<f64>,
    /// Gaps between the send times the frames carry (the server's clock,
    /// whole milliseconds): the server's schedule without this client's
    /// own scheduling delays, for servers whose pings carry a time.
    pub(crate) sent_gaps_ms: Vec<f64>,
    pub(crate) latencies_ms: Vec<f64>,
}

/// The send time a ping carries, in milliseconds of the day: ssed's
/// `2026-11-25T18:40:30.123Z`, or milliseconds since the epoch as the
/// comparison servers write.
pub(crate) fn sent_millis(data: &str) -> Option<u64> {
    const DAY: u64 = 86_400_000;
    if data.len() >= 12 && data.bytes().all(|byte| byte.is_ascii_digit()) {
        return data.parse::<u64>().ok().map(|millis| millis % DAY);
    }
    let time = data.strip_suffix('Z')?.split_once('T')?.1;
    let (hours, rest) = time.split_once(':')?;
    let (minutes, rest) = rest.split_once(':')?;
    let (seconds, millis) = rest.split_once('.')?;
    let field = |text: &str| text.parse::<u64>().ok();
    Some(((field(hours)? * 60 + field(minutes)?) * 60 + field(seconds)?) * 1000 + field(millis)?)
}

pub(crate) fn micros_since_epoch() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// When the clients stop reading, and when they leave. Leaving is one
/// broadcast, so that all of them vanish within a few milliseconds.
#[derive(Default)]
pub(crate) struct Phase {
    pub(crate) stop_reading: AtomicBool,
    pub(crate) leave: Mutex<bool>,
    pub(crate) leaving: Condvar,
}

/// Holds one stream: reads frames until told to stop reading, waits, then
/// leaves by FIN (`shutdown`, then reading to the end) or by RST (closing
/// with frames still unread).
pub(crate) fn hold_stream(
    options: &Options,
    number: usize,
    hold_from: Instant,
    phase: &Phase,
    report: &mut StreamReport,
) {
    let started = Instant::now();
    let Ok(socket) = TcpStream::connect_timeout(&options.addr, Duration::from_secs(10)) else { return };
    let _ = socket.set_read_timeout(Some(options.reader_wake));
    let path = match options.topics {
        0 => options.path.clone(),
        topics => {
            let join = if options.path.contains('?') { '&' } else { '?' };
            format!("{}{join}topic=t{}", options.path, number % topics)
        }
    };
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", options.addr);
    if (&socket).write_all(request.as_bytes()).is_err() {
        return;
    }
    report.connected = true;
    let mut reader = BufReader::with_capacity(4096, &socket);
    let mut line = String::new();
    let mut last_frame: Option<Instant> = None;
    let mut last_sent: Option<u64> = None;
    while !phase.stop_reading.load(Ordering::Relaxed) {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(_) => continue, // read timeout: look at the phase again
        }
        let Some(data) = line.strip_prefix("data: ") else { continue };
        let now = Instant::now();
        report.first_frame.get_or_insert(now - started);
        if let Some(previous) = last_frame.filter(|_| now > hold_from) {
            report.gaps_ms.push((now - previous).as_secs_f64() * 1e3);
        }
        last_frame = Some(now);
        let sent = sent_millis(data.trim_end());
        if let (Some(sent), Some(previous)) = (sent, last_sent.filter(|_| now > hold_from)) {
            // Across midnight the time of day starts again.
            report.sent_gaps_ms.push(((sent + 86_400_000 - previous) % 86_400_000) as f64);
        }
        last_sent = sent;
        // Published load events carry their send time in microseconds.
        if let Some(sent) = data.trim_end().strip_prefix("t=").and_then(|t| t.parse::<u64>().ok()) {
            report.latencies_ms.push(micros_since_epoch().saturating_sub(sent) as f64 / 1e3);
        }
    }
    let mut leave = phase.leave.lock().unwrap_or_else(PoisonError::into_inner);
    while !*leave {
        leave = phase.leaving.wait(leave).unwrap_or_else(PoisonError::into_inner);
    }
    drop(leave);
    if !options.close_with_rst {
        let _ = socket.shutdown(Shutdown::Write);
        let _ = socket.set_read_timeout(Some(Duration::from_secs(5)));
        let mut rest = Vec::new();
        let _ = (&socket).read_to_end(&mut rest);
    }
}
