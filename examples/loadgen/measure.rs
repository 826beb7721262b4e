//! What the report reads: percentiles, the server's /proc entries, the
//! machine's memory and load, and ssed's fan-out counters.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// `p50 … p99 … max …` of sorted figures, with `decimals` after the point.
pub(crate) fn spread(sorted: &[f64], decimals: usize) -> String {
    let max = sorted.last().copied().unwrap_or(f64::NAN);
    format!(
        "p50 {:.*}  p99 {:.*}  max {:.*}",
        decimals,
        percentile(sorted, 0.5),
        decimals,
        percentile(sorted, 0.99),
        decimals,
        max
    )
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Fields of /proc/PID/status and /proc/PID/stat that the report uses.
pub(crate) struct ProcessSample {
    pub(crate) rss_kib: u64,
    pub(crate) threads: u64,
    pub(crate) cpu_ticks: u64,
    pub(crate) fds: usize,
}

pub(crate) fn sample_process(pid: u32) -> Option<ProcessSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let after_name: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let cpu_ticks = after_name.get(11)?.parse::<u64>().ok()? + after_name.get(12)?.parse::<u64>().ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|dir| dir.count()).unwrap_or(0);
    Some(ProcessSample { rss_kib: field("VmRSS:")?, threads: field("Threads:")?, cpu_ticks, fds })
}

pub(crate) fn meminfo_kib(name: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| text.lines().find_map(|line| line.strip_prefix(name)).map(str::to_owned))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// ssed's `ssed_events_published_total`, `ssed_deliveries_total` and
/// `ssed_publish_wakeups_total`, when the server has them.
pub(crate) fn fan_out_counters(addr: SocketAddr) -> Option<[u64; 3]> {
    let mut socket = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
    socket.write_all(b"GET /metrics HTTP/1.1\r\nHost: loadgen\r\nConnection: close\r\n\r\n").ok()?;
    let mut answer = String::new();
    let _ = socket.read_to_string(&mut answer);
    let sample = |name: &str| {
        answer.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse::<u64>().ok())
    };
    Some([
        sample("ssed_events_published_total")?,
        sample("ssed_deliveries_total")?,
        sample("ssed_publish_wakeups_total")?,
    ])
}
