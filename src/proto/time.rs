//! Wall-clock time as text: RFC 3339 for event data, IMF-fixdate for the
//! HTTP `Date` header.
//!
//! Pure functions of a [`SystemTime`]; std has no calendar, so the
//! days-to-date step is Howard Hinnant's `civil_from_days` algorithm.
//!
//! ```text
//! 2026-11-25T18:40:30.123Z        (Rfc3339Millis)
//! Wed, 25 Nov 2026 18:40:30 GMT   (http_date)
//! ```

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// When a periodic frame (a ping, a keep-alive) is due after the one due
/// at `due` went out at `now`: one `interval` later, on the same schedule.
/// When that moment has passed already (the process was stopped, the
/// machine suspended or overloaded for more than an interval), the frame
/// just sent stands for the missed ones and the schedule starts again from
/// `now`: one frame after a stall, never a burst.
pub fn next_tick(due: Instant, interval: Duration, now: Instant) -> Instant {
    let next = due + interval;
    if next > now {
        next
    } else {
        now + interval
    }
}

/// `time` as UTC with milliseconds, e.g. `2026-11-25T18:40:30.123Z` (24
/// bytes until the year 9999), to format where it is needed: the ping loop
/// formats it into a buffer on its stack.
pub struct Rfc3339Millis(pub SystemTime);

impl fmt::Display for Rfc3339Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = CivilTime::from(self.0);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            parts.year, parts.month, parts.day, parts.hour, parts.minute, parts.second, parts.millis
        )
    }
}

/// `time` as an HTTP date (RFC 9110 §5.6.7), e.g. `Wed, 25 Nov 2026 18:40:30 GMT`.
pub fn http_date(time: SystemTime) -> String {
    HttpDate(time).to_string()
}

/// [`http_date`] to format where it is needed (29 bytes until the year 9999).
pub struct HttpDate(pub SystemTime);

impl fmt::Display for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] =
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let parts = CivilTime::from(self.0);
        // 1970-01-01 was a Thursday.
        let weekday = WEEKDAYS[parts.days_since_epoch.rem_euclid(7) as usize];
        let month = MONTHS[(parts.month - 1) as usize];
        write!(
            f,
            "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
            parts.day, parts.year, parts.hour, parts.minute, parts.second
        )
    }
}

struct CivilTime {
    days_since_epoch: i64,
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    millis: u32,
}

impl From<SystemTime> for CivilTime {
    fn from(time: SystemTime) -> CivilTime {
        // A clock set before 1970 is reported as the epoch rather than failing:
        // the timestamp is informative, never load-bearing.
        let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let seconds = since_epoch.as_secs();
        let days_since_epoch = (seconds / 86_400) as i64;
        let second_of_day = seconds % 86_400;
        let (year, month, day) = civil_from_days(days_since_epoch);
        CivilTime {
            days_since_epoch,
            year,
            month,
            day,
            hour: second_of_day / 3600,
            minute: second_of_day % 3600 / 60,
            second: second_of_day % 60,
            millis: since_epoch.subsec_millis(),
        }
    }
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31) in the proleptic
/// Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis)
    }

    #[test]
    fn a_late_tick_starts_the_schedule_again_instead_of_bursting() {
        let start = Instant::now();
        let interval = Duration::from_millis(500);
        // On time, or a little late: the schedule holds.
        assert_eq!(next_tick(start, interval, start), start + interval);
        let slightly_late = start + Duration::from_millis(20);
        assert_eq!(next_tick(start, interval, slightly_late), start + interval);
        // Five seconds late: the next one is an interval from now, not due at once.
        let stalled = start + Duration::from_secs(5);
        assert_eq!(next_tick(start, interval, stalled), stalled + interval);
    }

    #[test]
    fn known_instants() {
        let cases = [
            (0, 0, "1970-01-01T00:00:00.000Z", "Thu, 01 Jan 1970 00:00:00 GMT"),
            (951_782_400, 5, "2000-02-29T00:00:00.005Z", "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_764_096_030, 123, "2025-11-25T18:40:30.123Z", "Tue, 25 Nov 2025 18:40:30 GMT"),
            (1_795_632_030, 999, "2026-11-25T18:40:30.999Z", "Wed, 25 Nov 2026 18:40:30 GMT"),
            (4_107_542_399, 0, "2100-02-28T23:59:59.000Z", "Sun, 28 Feb 2100 23:59:59 GMT"),
        ];
        for (seconds, millis, rfc3339, imf) in cases {
            assert_eq!(Rfc3339Millis(at(seconds, millis)).to_string(), rfc3339);
            assert_eq!(http_date(at(seconds, millis)), imf);
        }
    }
}
