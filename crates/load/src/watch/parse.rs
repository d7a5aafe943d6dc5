//! `watch-total.txt`: one line per finding, `acl<TAB>pkg_name<TAB>old_version<TAB>new_version<TAB>url`.

use altrepodb_db::rows_feeds::PackagesWatchRow;

/// A malformed line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct WatchParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses the whole file; every non-empty line becomes a row dated `date_update`. Line ends
/// may be `\n` or `\r\n` (the `\r` is not part of the URL).
pub fn parse_watch(
    data: &[u8],
    date_update: u32,
) -> Result<Vec<PackagesWatchRow>, WatchParseError> {
    let mut rows = Vec::new();
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let line = std::str::from_utf8(raw).map_err(|e| WatchParseError {
            line: line_no,
            reason: format!("not UTF-8 at byte {}", e.valid_up_to()),
        })?;
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 5 {
            return Err(WatchParseError {
                line: line_no,
                reason: format!("expected 5 tab-separated fields, found {}", f.len()),
            });
        }
        if f[1].is_empty() {
            return Err(WatchParseError {
                line: line_no,
                reason: "empty package name".into(),
            });
        }
        rows.push(PackagesWatchRow {
            acl: f[0].to_owned(),
            pkg_name: f[1].to_owned(),
            old_version: f[2].to_owned(),
            new_version: f[3].to_owned(),
            url: f[4].to_owned(),
            date_update,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_crlf_and_blank_lines() {
        // Synthetic lines in the watch-total.txt format.
        let data = b"alice\tfoo\t1.0\t1.1\thttps://example.org/foo-1.1.tar.gz\r\n\nbob\tbar\t2\t3\thttp://x/\n";
        let r = parse_watch(data, 7).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].acl, "alice");
        assert_eq!(r[0].url, "https://example.org/foo-1.1.tar.gz");
        assert_eq!(r[1].pkg_name, "bar");
        assert_eq!(r[1].date_update, 7);
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse_watch(b"a\tb\tc\td\te\nx\ty\n", 0).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("found 2"));
        let e = parse_watch(b"a\t\tc\td\te\n", 0).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(parse_watch(b"a\tb\tc\td\t\xff\n", 0).is_err());
    }
}
