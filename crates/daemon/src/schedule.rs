//! Service schedules: a fixed interval (`"30m"`, `"1h30m"`, `"90s"`, `"1d"`) or a 5-field
//! cron expression (`minute hour day-of-month month day-of-week`, evaluated in UTC).
//!
//! Cron fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and comma lists;
//! day-of-week is 0–7 with 0 and 7 both Sunday. As in Vixie cron, when both day fields are
//! restricted a day matches if either does.

use std::fmt;
use std::time::Duration;

use time::OffsetDateTime;

use crate::error::Failure;

/// When a service runs its periodic job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every so often, first one interval after start-up.
    Every(Duration),
    /// At the minutes a cron expression matches.
    Cron(Cron),
}

/// A parsed 5-field cron expression.
#[derive(Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    days_any: bool,
    weekdays_any: bool,
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.text)
    }
}

/// Why a schedule could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule '{text}': {reason} (expected e.g. \"30m\", \"1h30m\" or a 5-field cron expression)")]
pub struct ScheduleError {
    text: String,
    reason: String,
}

impl Schedule {
    /// Parses an interval or a cron expression.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let t = text.trim();
        let err = |reason: &str| ScheduleError {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        if t.split_whitespace().count() == 5 {
            return Cron::parse(t).map(Schedule::Cron).map_err(|r| err(&r.0));
        }
        parse_interval(t)
            .map(Schedule::Every)
            .ok_or_else(|| err("not an interval"))
    }

    /// The first firing time strictly after `now`.
    pub fn next_after(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Schedule::Every(d) => Some(now + *d),
            Schedule::Cron(c) => c.next_after(now),
        }
    }
}

/// `"30m"`, `"1h30m"`, `"45s"`, `"2d"`, `"500ms"`; a bare number is seconds. Zero is refused.
fn parse_interval(t: &str) -> Option<Duration> {
    if let Ok(secs) = t.parse::<u64>() {
        return (secs > 0).then(|| Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            "d" => Duration::from_secs(n.checked_mul(86_400)?),
            _ => return None,
        };
        total = total.checked_add(d)?;
    }
    (total > Duration::ZERO).then_some(total)
}

/// Parses one cron field into a bit set over `lo..=hi`; returns (bits, was `*`).
fn field(text: &str, lo: u32, hi: u32, name: &str) -> Result<(u64, bool), Failure> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let s: u32 = s.parse().map_err(|_| format!("{name}: bad step '{s}'"))?;
                if s == 0 {
                    return Err(format!("{name}: step 0").into());
                }
                (r, s)
            }
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let a: u32 = a.parse().map_err(|_| format!("{name}: bad value '{a}'"))?;
            let b: u32 = b.parse().map_err(|_| format!("{name}: bad value '{b}'"))?;
            (a, b)
        } else {
            let a: u32 = range
                .parse()
                .map_err(|_| format!("{name}: bad value '{range}'"))?;
            // `5/15` means 5, 20, 35, 50.
            (a, if part.contains('/') { hi } else { a })
        };
        if a < lo || b > hi || a > b {
            return Err(format!("{name}: {a}-{b} outside {lo}-{hi}").into());
        }
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, text == "*"))
}

impl Cron {
    /// Parses `minute hour day-of-month month day-of-week`.
    pub fn parse(text: &str) -> Result<Cron, Failure> {
        let f: Vec<&str> = text.split_whitespace().collect();
        if f.len() != 5 {
            return Err(format!("expected 5 fields, got {}", f.len()).into());
        }
        let (minutes, _) = field(f[0], 0, 59, "minute")?;
        let (hours, _) = field(f[1], 0, 23, "hour")?;
        let (days, days_any) = field(f[2], 1, 31, "day of month")?;
        let (months, _) = field(f[3], 1, 12, "month")?;
        let (mut weekdays, weekdays_any) = field(f[4], 0, 7, "day of week")?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            text: text.to_owned(),
            minutes,
            hours: hours as u32,
            days: days as u32,
            months: months as u16,
            weekdays: (weekdays & 0x7f) as u8,
            days_any,
            weekdays_any,
        })
    }

    fn day_matches(&self, t: OffsetDateTime) -> bool {
        let dom = self.days & (1 << t.day()) != 0;
        let dow = self.weekdays & (1 << t.weekday().number_days_from_sunday()) != 0;
        match (self.days_any, self.weekdays_any) {
            (true, true) => true,
            (false, true) => dom,
            (true, false) => dow,
            (false, false) => dom || dow,
        }
    }

    /// The first matching minute strictly after `now` (UTC), within five years.
    pub fn next_after(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let now = now.to_offset(time::UtcOffset::UTC);
        let mut t =
            now.replace_second(0).ok()?.replace_nanosecond(0).ok()? + time::Duration::minutes(1);
        let limit = now + time::Duration::days(5 * 366);
        while t <= limit {
            if self.months & (1 << u8::from(t.month())) == 0 {
                // First minute of the next month.
                let (y, m) = if t.month() == time::Month::December {
                    (t.year() + 1, time::Month::January)
                } else {
                    (t.year(), t.month().next())
                };
                t = time::Date::from_calendar_date(y, m, 1)
                    .ok()?
                    .midnight()
                    .assume_utc();
                continue;
            }
            if !self.day_matches(t) {
                t = (t.date().next_day()?).midnight().assume_utc();
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = t.replace_minute(0).ok()? + time::Duration::hours(1);
                continue;
            }
            if self.minutes & (1 << t.minute()) == 0 {
                t += time::Duration::minutes(1);
                continue;
            }
            return Some(t);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn intervals() {
        assert_eq!(
            Schedule::parse("30m").unwrap(),
            Schedule::Every(Duration::from_secs(1800))
        );
        assert_eq!(
            Schedule::parse("1h30m").unwrap(),
            Schedule::Every(Duration::from_secs(5400))
        );
        assert_eq!(
            Schedule::parse("90").unwrap(),
            Schedule::Every(Duration::from_secs(90))
        );
        assert_eq!(
            Schedule::parse("500ms").unwrap(),
            Schedule::Every(Duration::from_millis(500))
        );
        assert_eq!(
            Schedule::parse("1d").unwrap(),
            Schedule::Every(Duration::from_secs(86_400))
        );
        for bad in ["", "0", "0m", "m", "5x", "1h-", "* * *"] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cron_next() {
        let s = Schedule::parse("*/15 * * * *").unwrap();
        assert_eq!(
            s.next_after(datetime!(2024-03-01 10:07:30 UTC)),
            Some(datetime!(2024-03-01 10:15 UTC))
        );
        assert_eq!(
            s.next_after(datetime!(2024-03-01 10:15:00 UTC)),
            Some(datetime!(2024-03-01 10:30 UTC))
        );
        let s = Schedule::parse("30 2 * * *").unwrap();
        assert_eq!(
            s.next_after(datetime!(2024-03-01 10:00 UTC)),
            Some(datetime!(2024-03-02 02:30 UTC))
        );
        // Day of month OR day of week when both are restricted.
        let s = Schedule::parse("0 0 13 * 5").unwrap();
        assert_eq!(
            s.next_after(datetime!(2024-03-01 00:00 UTC)),
            Some(datetime!(2024-03-08 00:00 UTC))
        );
        let s = Schedule::parse("0 12 * 2 0,7").unwrap();
        assert_eq!(
            s.next_after(datetime!(2024-03-01 00:00 UTC)),
            Some(datetime!(2025-02-02 12:00 UTC))
        );
        let s = Schedule::parse("0 0 29 2 *").unwrap();
        assert_eq!(
            s.next_after(datetime!(2024-03-01 00:00 UTC)),
            Some(datetime!(2028-02-29 00:00 UTC))
        );
        let s = Schedule::parse("5/20 1-3 * * *").unwrap();
        assert_eq!(
            s.next_after(datetime!(2024-03-01 01:50 UTC)),
            Some(datetime!(2024-03-01 02:05 UTC))
        );
        assert_eq!(
            s.next_after(datetime!(2024-03-01 03:45 UTC)),
            Some(datetime!(2024-03-02 01:05 UTC))
        );
        for bad in [
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 8",
            "*/0 * * * *",
            "a * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }
}
