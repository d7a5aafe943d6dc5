//! Calendar arithmetic in UTC without a clock (Howard Hinnant's civil-date algorithms).

/// Seconds per day.
pub const DAY: u32 = 86_400;

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses `YYYY-MM-DD` into seconds since the epoch at 00:00 UTC.
pub fn parse_date(s: &str) -> Option<u32> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Reject dates like 2023-02-30 that roll over into the next month.
    if civil_from_days(days) != (y, m, d) {
        return None;
    }
    u32::try_from(days * i64::from(DAY)).ok()
}

/// `YYYY-MM-DD` of a timestamp.
pub fn format_date(t: u32) -> String {
    let (y, m, d) = civil_from_days(i64::from(t / DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// rpm's changelog date form, `Mon Jan 15 2024`.
pub fn changelog_date(t: u32) -> String {
    let days = i64::from(t / DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {d:02} {y}",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[m as usize - 1]
    )
}

/// RFC 2822 date as apt's release files carry it, `Mon, 15 Jan 2024 00:00:00 +0000`.
pub fn rfc2822(t: u32) -> String {
    let days = i64::from(t / DAY);
    let (y, m, d) = civil_from_days(days);
    let s = t % DAY;
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[m as usize - 1],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Noon (UTC) of the day `t` falls on: rpm stores changelog times as noon of the day.
pub fn noon(t: u32) -> u32 {
    t - t % DAY + DAY / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let t = parse_date("2024-01-15").unwrap();
        assert_eq!(t, 1_705_276_800);
        assert_eq!(format_date(t), "2024-01-15");
        assert_eq!(changelog_date(t), "Mon Jan 15 2024");
        assert_eq!(rfc2822(t + 3661), "Mon, 15 Jan 2024 01:01:01 +0000");
        assert_eq!(format_date(parse_date("2000-02-29").unwrap()), "2000-02-29");
        assert!(parse_date("2023-02-30").is_none());
        assert!(parse_date("2023-2-3").is_none());
        assert_eq!(noon(t + 5), t + 43_200);
    }
}
