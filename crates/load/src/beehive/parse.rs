//! Beehive's text files and package ids.

/// A package id split into name, version and release.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nvr {
    /// Name.
    pub name: String,
    /// Version (epoch removed), empty when the id has none.
    pub version: String,
    /// Release, empty when the id has none.
    pub release: String,
}

/// Splits `foo-1.0-alt1[.src.rpm]`: the last two `-` fields are version and release when the
/// release looks like an ALT release (`alt` followed by a digit); an epoch prefix `N:` of the
/// version is removed. Otherwise the whole id is the name (the original split
/// `python3-module-alt` into `python3`, `module`, `alt`).
pub fn parse_nvr(id: &str) -> Nvr {
    let id = id.strip_suffix(".src.rpm").unwrap_or(id);
    let whole = || Nvr {
        name: id.to_owned(),
        version: String::new(),
        release: String::new(),
    };
    let Some((rest, release)) = id.rsplit_once('-') else {
        return whole();
    };
    let Some((name, version)) = rest.rsplit_once('-') else {
        return whole();
    };
    let alt_release = release
        .strip_prefix("alt")
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    if !alt_release || name.is_empty() || version.is_empty() {
        return whole();
    }
    let version = match version.split_once(':') {
        Some((e, v)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => v,
        _ => version,
    };
    Nvr {
        name: name.to_owned(),
        version: version.to_owned(),
        release: release.to_owned(),
    }
}

/// A malformed line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct BeehiveParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

fn lines(data: &[u8]) -> impl Iterator<Item = (usize, Result<&str, BeehiveParseError>)> {
    data.split(|&b| b == b'\n')
        .enumerate()
        .filter_map(|(i, raw)| {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.iter().all(|b| b.is_ascii_whitespace()) {
                return None;
            }
            Some((
                i + 1,
                std::str::from_utf8(raw).map_err(|e| BeehiveParseError {
                    line: i + 1,
                    reason: format!("not UTF-8 at byte {}", e.valid_up_to()),
                }),
            ))
        })
}

fn two_fields(line_no: usize, line: &str) -> Result<(&str, &str), BeehiveParseError> {
    let mut f = line.split('\t');
    match (f.next(), f.next(), f.next()) {
        (Some(a), Some(b), None) if !a.trim().is_empty() => Ok((a.trim(), b.trim())),
        _ => Err(BeehiveParseError {
            line: line_no,
            reason: "expected 2 tab-separated fields".into(),
        }),
    }
}

/// `time.list`: `<package file>\t<seconds>` → (package id, build seconds).
pub fn parse_time_list(data: &[u8]) -> Result<Vec<(String, f32)>, BeehiveParseError> {
    let mut out = Vec::new();
    for (n, line) in lines(data) {
        let (pkg, secs) = two_fields(n, line?)?;
        let t: f32 = secs
            .parse()
            .ok()
            .filter(|t: &f32| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| BeehiveParseError {
                line: n,
                reason: format!("build time {secs:?} is not a number of seconds"),
            })?;
        out.push((pkg.to_owned(), t));
    }
    Ok(out)
}

/// `ftbfs-since`: `<name>\t<epoch seconds>`.
pub fn parse_ftbfs_since(data: &[u8]) -> Result<Vec<(String, u32)>, BeehiveParseError> {
    let mut out = Vec::new();
    for (n, line) in lines(data) {
        let (name, t) = two_fields(n, line?)?;
        let t: u32 = t.parse().map_err(|_| BeehiveParseError {
            line: n,
            reason: format!("time {t:?} is not epoch seconds"),
        })?;
        out.push((name.to_owned(), t));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nvr(n: &str, v: &str, r: &str) -> Nvr {
        Nvr {
            name: n.into(),
            version: v.into(),
            release: r.into(),
        }
    }

    #[test]
    fn package_ids() {
        assert_eq!(parse_nvr("foo-1.0-alt1.src.rpm"), nvr("foo", "1.0", "alt1"));
        assert_eq!(
            parse_nvr("foo-bar-2:1.0-alt0.1"),
            nvr("foo-bar", "1.0", "alt0.1")
        );
        assert_eq!(
            parse_nvr("python3-module-alt"),
            nvr("python3-module-alt", "", "")
        );
        assert_eq!(
            parse_nvr("python3-module-alt-2.0-alt3"),
            nvr("python3-module-alt", "2.0", "alt3")
        );
        assert_eq!(parse_nvr("foo-1.0-1"), nvr("foo-1.0-1", "", ""));
    }

    #[test]
    fn lists() {
        let t = parse_time_list(b"foo-1.0-alt1.src.rpm\t12.5\n\nbar-2-alt1.src.rpm\t3\n").unwrap();
        assert_eq!(
            t,
            vec![
                ("foo-1.0-alt1.src.rpm".into(), 12.5),
                ("bar-2-alt1.src.rpm".into(), 3.0)
            ]
        );
        assert_eq!(parse_time_list(b"x\tabc\n").unwrap_err().line, 1);
        let f = parse_ftbfs_since(b"foo\t1709294400\r\n").unwrap();
        assert_eq!(f, vec![("foo".into(), 1_709_294_400)]);
        assert!(parse_ftbfs_since(b"foo 1\n").is_err());
    }
}
