//! Pieces the feed loaders share: the newest stored date of a table, checked times, the
//! download options.

use std::time::Duration;

use altrepodb_db::{Db, DbError};
use clickhouse::Row;
use serde::Deserialize;

/// Options every HTTP feed loader takes.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    /// The feed's URL (or base URL).
    pub url: String,
    /// Per-request timeout (answer, and between body chunks).
    pub timeout: Duration,
}

#[derive(Debug, Deserialize, Row)]
struct MaxRow {
    t: u32,
}

/// `max(column)` of a `DateTime` column as seconds since the epoch (0 when the table is
/// empty). `table` and `column` are compile-time names, never input.
pub async fn max_datetime(
    db: &Db,
    table: &'static str,
    column: &'static str,
) -> Result<i64, DbError> {
    let sql = format!("SELECT toUnixTimestamp(max(`{column}`)) AS t FROM `{table}`");
    let rows: Vec<MaxRow> = db
        .client()
        .query(&sql)
        .fetch_all()
        .await
        .map_err(|e| db.classify(&e, &format!("reading max({column}) of {table}")))?;
    Ok(rows.first().map(|r| i64::from(r.t)).unwrap_or(0))
}

/// A time as a `DateTime` column value, or `None` outside 1970..2106.
pub fn datetime(t: i64) -> Option<u32> {
    u32::try_from(t).ok()
}

/// Seconds since the epoch of `YYYY-MM-DD HH:MM[:SS]` read as UTC; `None` when malformed or
/// not a real date.
pub fn parse_naive_utc(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(' ')?;
    let mut d = date.split('-');
    let y: i32 = num(d.next()?, 4)?;
    let m: u8 = num(d.next()?, 2)?;
    let day: u8 = num(d.next()?, 2)?;
    if d.next().is_some() {
        return None;
    }
    hms_utc(y, m, day, time.trim())
}

/// UTC seconds of a date and `HH:MM[:SS]`.
pub fn hms_utc(y: i32, m: u8, d: u8, time: &str) -> Option<i64> {
    let mut t = time.split(':');
    let hh: u8 = num(t.next()?, 2)?;
    let mm: u8 = num(t.next()?, 2)?;
    let ss: u8 = match t.next() {
        Some(x) => num(x, 2)?,
        None => 0,
    };
    if t.next().is_some() {
        return None;
    }
    let month = time::Month::try_from(m).ok()?;
    let date = time::Date::from_calendar_date(y, month, d).ok()?;
    let tm = time::Time::from_hms(hh, mm, ss).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, tm)
            .assume_utc()
            .unix_timestamp(),
    )
}

fn num<T: std::str::FromStr>(s: &str, width: usize) -> Option<T> {
    if s.len() != width || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_times_are_utc() {
        assert_eq!(parse_naive_utc("1970-01-02 00:00:00"), Some(86_400));
        assert_eq!(parse_naive_utc("2024-03-01 12:34"), Some(1_709_296_440));
        assert_eq!(parse_naive_utc("2024-02-30 00:00:00"), None);
        assert_eq!(parse_naive_utc("2024-3-01 00:00:00"), None);
        assert_eq!(parse_naive_utc("2024-03-01T00:00:00"), None);
    }
}
