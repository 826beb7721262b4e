//! How many connections the OS lets this process hold, read once at start,
//! so ssed never runs into a limit it could have known.
//!
//! ```text
//! /proc/self/limits          Max open files  1024     ─► 1024 - 64         =    960 connections
//! /proc/sys/vm/max_map_count 65530                    ─► (65530 - 2048) / 4 = 15,870
//! /proc/sys/kernel/threads-max, pid_max; Max processes; cgroup pids.max
//!                                                     ─► what is left of each, less a margin
//! ceiling = the smallest; --max-clients + --max-pending is clamped below it
//! ```
//!
//! Each connection costs one thread (a task, a PID), one file descriptor,
//! and about four memory mappings (its stack, the stack's guard page, the
//! signal stack and its guard). A thread that cannot map its signal-stack
//! guard aborts the whole process (std cannot even start a panic then), so
//! this bound is the only defence. Limits that cannot be read are skipped.

use std::fmt;
use std::fs;

/// Mappings each connection thread costs.
const MAPPINGS_PER_THREAD: usize = 4;
/// Mappings kept for everything else: the binary, libraries, heap arenas.
const MAPPINGS_KEPT: usize = 2048;
/// File descriptors kept for the listener, stdio and the odd file.
const FILES_KEPT: usize = 64;
/// Tasks kept for ssed's own few threads and anything else of the user.
const TASKS_KEPT: usize = 64;

/// The tightest limit found, and the connections it leaves room for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceiling {
    /// Connections (threads, sockets) this process can hold at once.
    pub connections: usize,
    /// Which limit it is, e.g. `the open-file limit (ulimit -n 1024)`.
    pub limit: String,
    /// How an operator raises it.
    pub raise: &'static str,
}

impl fmt::Display for Ceiling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} connections at most, by {}; to raise it: {}", self.connections, self.limit, self.raise)
    }
}

/// Reads every limit this process can see; `None` when none could be read.
pub fn read_ceiling() -> Option<Ceiling> {
    let limits = fs::read_to_string("/proc/self/limits").ok();
    let soft = |name: &str| limits.as_deref().and_then(|text| soft_limit(text, name));
    let tasks_now = fs::read_to_string("/proc/loadavg").ok().and_then(|text| tasks_in_loadavg(&text));
    let maps_now = fs::read_to_string("/proc/self/maps").map(|text| text.lines().count()).unwrap_or(0);
    let number =
        |path: &str| fs::read_to_string(path).ok().and_then(|text| text.trim().parse::<usize>().ok());

    let mut found = Vec::new();
    if let Some(files) = soft("Max open files") {
        found.push(Ceiling {
            connections: files.saturating_sub(FILES_KEPT),
            limit: format!("the open-file limit (ulimit -n {files})"),
            raise: "ulimit -n, or LimitNOFILE= in a systemd unit",
        });
    }
    if let Some(maps) = number("/proc/sys/vm/max_map_count") {
        found.push(Ceiling {
            connections: maps.saturating_sub(MAPPINGS_KEPT + maps_now) / MAPPINGS_PER_THREAD,
            limit: format!("vm.max_map_count {maps} (about {MAPPINGS_PER_THREAD} mappings per thread)"),
            raise: "sysctl -w vm.max_map_count=N",
        });
    }
    if let (Some(max), Some(now)) = (number("/proc/sys/kernel/threads-max"), tasks_now) {
        found.push(Ceiling {
            connections: max.saturating_sub(now + TASKS_KEPT),
            limit: format!("kernel.threads-max {max} ({now} tasks running on the machine)"),
            raise: "sysctl -w kernel.threads-max=N",
        });
    }
    if let (Some(max), Some(now)) = (number("/proc/sys/kernel/pid_max"), tasks_now) {
        found.push(Ceiling {
            connections: max.saturating_sub(now + TASKS_KEPT),
            limit: format!("kernel.pid_max {max} ({now} tasks running on the machine)"),
            raise: "sysctl -w kernel.pid_max=N",
        });
    }
    if let Some(processes) = soft("Max processes") {
        found.push(Ceiling {
            connections: processes.saturating_sub(tasks_now.unwrap_or(0).min(processes) + TASKS_KEPT),
            limit: format!("the process limit (ulimit -u {processes}), shared with the user's other tasks"),
            raise: "ulimit -u, or LimitNPROC= in a systemd unit",
        });
    }
    if let Some((max, current)) = cgroup_pids() {
        found.push(Ceiling {
            connections: max.saturating_sub(current + TASKS_KEPT),
            limit: format!("the cgroup's pids.max {max} ({current} in use)"),
            raise: "TasksMax= in a systemd unit, or the container's pids limit",
        });
    }
    found.into_iter().min_by_key(|ceiling| ceiling.connections)
}

/// The soft limit in the `/proc/self/limits` row called `name`; `None`
/// for "unlimited" or a row that is not there.
pub fn soft_limit(limits: &str, name: &str) -> Option<usize> {
    let row = limits.lines().find(|line| line.starts_with(name))?;
    row[name.len()..].split_whitespace().next()?.parse().ok()
}

/// Tasks on the machine, from `/proc/loadavg` ("0.00 0.01 0.05 1/123 456").
pub fn tasks_in_loadavg(loadavg: &str) -> Option<usize> {
    loadavg.split_whitespace().nth(3)?.split_once('/')?.1.parse().ok()
}

/// The cgroup v2 `pids.max` and `pids.current` of this process, where set.
fn cgroup_pids() -> Option<(usize, usize)> {
    let membership = fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = membership.lines().find_map(|line| line.strip_prefix("0::"))?;
    let dir = format!("/sys/fs/cgroup{}", path.trim_end());
    let max = fs::read_to_string(format!("{dir}/pids.max")).ok()?.trim().parse().ok()?;
    let current = fs::read_to_string(format!("{dir}/pids.current")).ok()?.trim().parse().ok()?;
    Some((max, current))
}

/// Fits `--max-clients` and `--max-pending` under `ceiling` connections:
/// pending places first shrink to a quarter of the ceiling, then streams
/// take what is left (at least one of each).
pub fn clamp(max_clients: usize, max_pending: usize, ceiling: usize) -> (usize, usize) {
    if max_clients + max_pending <= ceiling {
        return (max_clients, max_pending);
    }
    let pending = max_pending.min(ceiling / 4).max(1);
    (ceiling.saturating_sub(pending).clamp(1, max_clients), pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units
Max processes             95000                95000                processes
Max open files            1024                 1048576              files
Max locked memory         unlimited            unlimited            bytes
";

    #[test]
    fn limits_are_read_from_proc_text() {
        assert_eq!(soft_limit(LIMITS, "Max open files"), Some(1024));
        assert_eq!(soft_limit(LIMITS, "Max processes"), Some(95000));
        assert_eq!(soft_limit(LIMITS, "Max locked memory"), None);
        assert_eq!(soft_limit(LIMITS, "Max pending signals"), None);
        assert_eq!(tasks_in_loadavg("0.00 0.01 0.05 1/123 456\n"), Some(123));
        assert_eq!(tasks_in_loadavg("garbage"), None);
    }

    #[test]
    fn clamping_keeps_both_kinds_of_place() {
        assert_eq!(clamp(512, 64, 10_000), (512, 64));
        assert_eq!(clamp(30_000, 64, 15_000), (14_936, 64));
        assert_eq!(clamp(512, 64, 200), (150, 50));
        assert_eq!(clamp(512, 64, 1), (1, 1));
    }
}
