//! Calendar arithmetic in UTC without a clock, on the `time` crate's civil dates.

use time::format_description::well_known::Rfc2822;
use time::macros::format_description;
use time::{Date, Month, OffsetDateTime};

/// Seconds per day.
pub const DAY: u32 = 86_400;

/// The moment `t` seconds after the epoch (every `u32` is a valid one).
fn at(t: u32) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(i64::from(t)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// (year, month 1–12, day, hour, minute, second) of a UTC timestamp.
pub fn civil(t: u32) -> (i64, u32, u32, u32, u32, u32) {
    let a = at(t);
    (
        i64::from(a.year()),
        u32::from(u8::from(a.month())),
        u32::from(a.day()),
        u32::from(a.hour()),
        u32::from(a.minute()),
        u32::from(a.second()),
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date; `None` when there is no such date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    let date = Date::from_calendar_date(
        i32::try_from(y).ok()?,
        Month::try_from(u8::try_from(m).ok()?).ok()?,
        u8::try_from(d).ok()?,
    )
    .ok()?;
    // 2 440 588 is the Julian day number of 1970-01-01.
    Some(i64::from(date.to_julian_day()) - 2_440_588)
}

/// Parses `YYYY-MM-DD` into seconds since the epoch at 00:00 UTC.
pub fn parse_date(s: &str) -> Option<u32> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i32, u8, u8) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    // Rejects dates like 2023-02-30 instead of rolling them over.
    let date = Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()?;
    u32::try_from(date.midnight().assume_utc().unix_timestamp()).ok()
}

/// `YYYY-MM-DD` of a timestamp.
pub fn format_date(t: u32) -> String {
    at(t)
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// rpm's changelog date form, `Mon Jan 15 2024`.
pub fn changelog_date(t: u32) -> String {
    at(t)
        .format(format_description!(
            "[weekday repr:short] [month repr:short] [day] [year]"
        ))
        .unwrap_or_default()
}

/// RFC 2822 date as apt's release files carry it, `Mon, 15 Jan 2024 00:00:00 +0000`.
pub fn rfc2822(t: u32) -> String {
    at(t).format(&Rfc2822).unwrap_or_default()
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
        assert!(parse_date("2023-13-01").is_none());
        assert_eq!(days_from_civil(2024, 1, 15), Some(19_737));
        assert_eq!(days_from_civil(2023, 2, 30), None);
        assert_eq!(civil(1_705_276_800 + 3661), (2024, 1, 15, 1, 1, 1));
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(changelog_date(0), "Thu Jan 01 1970");
        assert_eq!(noon(t + 5), t + 43_200);
    }
}
