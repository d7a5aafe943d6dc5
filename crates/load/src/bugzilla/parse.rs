//! The bug list CSV: a header row, then one record per bug with the columns of
//! [`COLUMNS`], in that order.

use altrepodb_db::rows_feeds::BugzillaRow;

use crate::feed::{datetime, parse_naive_utc};

/// The `columnlist` the loader asks for (after the implicit `bug_id`).
pub const COLUMNS: &[&str] = &[
    "bug_status",
    "resolution",
    "bug_severity",
    "priority",
    "product",
    "version",
    "rep_platform",
    "component",
    "assigned_to",
    "reporter",
    "short_desc",
    "changeddate",
];

/// Fields per record: `bug_id` and [`COLUMNS`].
pub const FIELDS: usize = 13;

/// A malformed CSV record.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line} (byte {offset}): {reason}")]
pub struct CsvError {
    /// 1-based line where the record starts.
    pub line: usize,
    /// Byte offset where the record starts.
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

/// One CSV record with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line of its first byte.
    pub line: usize,
    /// Its first byte.
    pub offset: usize,
    /// Its fields, unquoted.
    pub fields: Vec<String>,
}

/// Splits `data` into records (RFC 4180: `,` separators, `"` quoting with `""` escapes,
/// quoted fields may span lines, `\n` or `\r\n` line ends). Strict: a quote inside an
/// unquoted field, text after a closing quote, an unterminated quote or non-UTF-8 text is an
/// error naming the record's line and offset.
pub fn csv_records(data: &[u8]) -> Result<Vec<Record>, CsvError> {
    let text = std::str::from_utf8(data).map_err(|e| {
        let off = e.valid_up_to();
        CsvError {
            line: 1 + data[..off].iter().filter(|&&b| b == b'\n').count(),
            offset: off,
            reason: "not UTF-8".into(),
        }
    })?;
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < b.len() {
        let start = i;
        let start_line = line;
        let err = |reason: &str| CsvError {
            line: start_line,
            offset: start,
            reason: reason.to_owned(),
        };
        // A blank line between records carries nothing.
        if b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) == Some(&b'\n')) {
            i += if b[i] == b'\r' { 2 } else { 1 };
            line += 1;
            continue;
        }
        let mut fields = Vec::new();
        loop {
            let mut field = String::new();
            if b.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err(err("unterminated quoted field")),
                        Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                            field.push('"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => {
                            // Copy one UTF-8 character.
                            let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
                            if ch == '\n' {
                                line += 1;
                            }
                            field.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                match b.get(i) {
                    None | Some(b',') | Some(b'\n') => {}
                    Some(b'\r') if b.get(i + 1) == Some(&b'\n') => {}
                    Some(_) => {
                        return Err(CsvError {
                            line: start_line,
                            offset: i,
                            reason: "text after a closing quote".into(),
                        })
                    }
                }
            } else {
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b',' || c == b'\n')
                    .map(|p| i + p)
                    .unwrap_or(b.len());
                let mut raw = &text[i..end];
                if end < b.len() && b[end] == b'\n' {
                    raw = raw.strip_suffix('\r').unwrap_or(raw);
                }
                if let Some(p) = raw.find('"') {
                    return Err(CsvError {
                        line: start_line,
                        offset: i + p,
                        reason: "quote inside an unquoted field".into(),
                    });
                }
                field.push_str(raw);
                i = end;
            }
            fields.push(field);
            match b.get(i) {
                Some(b',') => {
                    i += 1;
                    continue;
                }
                Some(b'\r') => {
                    i += 2;
                    line += 1;
                    break;
                }
                Some(b'\n') => {
                    i += 1;
                    line += 1;
                    break;
                }
                _ => break,
            }
        }
        out.push(Record {
            line: start_line,
            offset: start,
            fields,
        });
    }
    Ok(out)
}

/// A value without Bugzilla's spreadsheet-formula guard: the CSV export puts a space before
/// values that start with `=`, `+`, `-` or `@` (`" ---"` is the empty resolution).
pub fn unguard(v: &str) -> &str {
    match v.strip_prefix(' ') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => v,
    }
}

/// The bug list → rows (header skipped). `bz_last_changed` is `changeddate` read as UTC.
pub fn parse_buglist(data: &[u8]) -> Result<Vec<BugzillaRow>, CsvError> {
    let recs = csv_records(data)?;
    let mut it = recs.into_iter();
    let Some(header) = it.next() else {
        return Err(CsvError {
            line: 1,
            offset: 0,
            reason: "empty bug list (no header row)".into(),
        });
    };
    if header.fields.len() != FIELDS {
        return Err(CsvError {
            line: header.line,
            offset: header.offset,
            reason: format!(
                "header has {} columns, expected {FIELDS}",
                header.fields.len()
            ),
        });
    }
    let mut rows = Vec::new();
    for r in it {
        let bad = |reason: String| CsvError {
            line: r.line,
            offset: r.offset,
            reason,
        };
        if r.fields.len() != FIELDS {
            return Err(bad(format!("{} fields, expected {FIELDS}", r.fields.len())));
        }
        let f: Vec<&str> = r.fields.iter().map(|s| unguard(s)).collect();
        let bz_id: u32 = f[0]
            .trim()
            .parse()
            .map_err(|_| bad(format!("bug id {:?} is not a number", f[0])))?;
        let changed = parse_naive_utc(f[12]).and_then(datetime).ok_or_else(|| {
            bad(format!(
                "changeddate {:?} is not YYYY-MM-DD HH:MM:SS",
                f[12]
            ))
        })?;
        let resolution = if f[2] == "---" { "" } else { f[2] };
        rows.push(BugzillaRow {
            bz_id,
            bz_status: f[1].to_owned(),
            bz_resolution: resolution.to_owned(),
            bz_severity: f[3].to_owned(),
            bz_priority: f[4].to_owned(),
            bz_product: f[5].to_owned(),
            bz_version: f[6].to_owned(),
            bz_platform: f[7].to_owned(),
            bz_component: f[8].to_owned(),
            bz_assignee: f[9].to_owned(),
            bz_reporter: f[10].to_owned(),
            bz_summary: f[11].to_owned(),
            bz_last_changed: changed,
            bz_assignee_full: String::new(),
            bz_reporter_full: String::new(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "\"Bug ID\",\"Status\",\"Resolution\",\"Severity\",\"Priority\",\"Product\",\"Version\",\"Hardware\",\"Component\",\"Assignee\",\"Reporter\",\"Summary\",\"Changed\"\n";

    #[test]
    fn quoting_guard_and_fields() {
        // Synthetic rows in the buglist.cgi CSV shape.
        let data = format!(
            "{HEADER}40001,\"NEW\",\" ---\",\"normal\",\"P5\",\"Sisyphus\",\"unstable\",\"all\",\"foo\",\"alice\",\"bob\",\"crash when \"\"x\"\",\ny\",\"2024-03-01 10:20:30\"\r\n40002,\"CLOSED\",\"FIXED\",\"minor\",\"P3\",\"Sisyphus\",\"unstable\",\"x86_64\",\"bar\",\"carol\",\"dave\",\" -1 is wrong\",\"2024-02-29 23:59:59\"\n"
        );
        let r = parse_buglist(data.as_bytes()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].bz_id, 40001);
        assert_eq!(r[0].bz_resolution, "");
        assert_eq!(r[0].bz_summary, "crash when \"x\",\ny");
        assert_eq!(r[0].bz_last_changed, 1_709_288_430);
        assert_eq!(r[1].bz_summary, "-1 is wrong");
        assert_eq!(r[1].bz_platform, "x86_64");
        assert_eq!(unguard(" plain"), " plain");
    }

    #[test]
    fn malformed_records_are_located() {
        let e = parse_buglist(format!("{HEADER}1,\"a\n").as_bytes()).unwrap_err();
        assert_eq!((e.line, e.offset), (2, HEADER.len()));
        assert!(e.reason.contains("unterminated"));
        let e = parse_buglist(format!("{HEADER}1,2,3\n").as_bytes()).unwrap_err();
        assert!(e.reason.contains("3 fields"));
        let e = csv_records(b"a,b\"c\n").unwrap_err();
        assert_eq!(e.offset, 3);
        let e = csv_records(b"\"a\"b\n").unwrap_err();
        assert!(e.reason.contains("closing quote"));
        let bad_date = format!("{HEADER}1,a,b,c,d,e,f,g,h,i,j,k,2024-13-01 00:00:00\n");
        assert!(parse_buglist(bad_date.as_bytes())
            .unwrap_err()
            .reason
            .contains("changeddate"));
    }
}
