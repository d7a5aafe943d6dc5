//! Parse step of the task loader: pure functions over the text of one task file each
//! (original-system §6.3–6.7). No file system, no database: errors carry a line number and
//! the caller adds the file name ([`Located::at`]).

use std::collections::HashMap;
use std::path::Path;

use altrepodb_rpm::mmhash;

use super::error::TaskError;
use crate::safe_path::{base_name, relative_path};

/// A parse problem on a line (1-based) or in the whole text (`line == None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// 1-based line, if any.
    pub line: Option<usize>,
    /// What is wrong.
    pub why: String,
}

impl Located {
    fn line(line: usize, why: impl Into<String>) -> Self {
        Located {
            line: Some(line),
            why: why.into(),
        }
    }

    /// The error for file `path`.
    pub fn at(self, path: &Path) -> TaskError {
        TaskError::malformed(path, self.line, self.why)
    }
}

/// Result of a parser.
pub type Parsed<T> = Result<T, Located>;

/// Non-empty lines split on `\n`, with their 1-based numbers (the original's
/// `[x for x in text.split("\n") if len(x) > 0]`).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| (i + 1, l))
}

/// An integer as Python's `int()` reads it (surrounding whitespace allowed).
pub fn int<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.trim().parse().ok()
}

// ---------------------------------------------------------------------------------------
// Plan files

/// One line of `plan/add-src`, `add-bin`, `rm-src` or `rm-bin`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PlanEntry {
    /// Package name.
    pub name: String,
    /// `[E:]V-R`.
    pub evr: String,
    /// Arch (`src` for the source files).
    pub arch: String,
    /// File name.
    pub file: String,
    /// Path relative to the task directory (add files only).
    pub path: String,
    /// Subtask (add files only; 0 otherwise).
    pub subtask: u32,
    /// Component (bin files with a 7th / 5th field).
    pub comp: String,
}

/// Which plan file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFile {
    /// `add-src`: `name evr file path subtask`.
    AddSrc,
    /// `add-bin`: `name evr arch file path subtask [comp]`.
    AddBin,
    /// `rm-src`: `name evr file`.
    RmSrc,
    /// `rm-bin`: `name evr arch file [comp]`.
    RmBin,
}

/// Parses a tab-separated plan file. The file must be a file name and the path (add files)
/// a relative path without `..`: the loader opens `<task>/<path>`.
pub fn parse_plan_file(text: &str, kind: PlanFile) -> Parsed<Vec<PlanEntry>> {
    let mut out = Vec::new();
    for (n, line) in lines(text) {
        let s: Vec<&str> = line.split('\t').collect();
        let need = match kind {
            PlanFile::AddSrc => 5,
            PlanFile::AddBin => 6,
            PlanFile::RmSrc => 3,
            PlanFile::RmBin => 4,
        };
        if s.len() < need {
            return Err(Located::line(
                n,
                format!(
                    "expected at least {need} tab-separated fields, found {}",
                    s.len()
                ),
            ));
        }
        let subtask = |i: usize| -> Parsed<u32> {
            int(s[i]).ok_or_else(|| Located::line(n, format!("subtask '{}' is not a number", s[i])))
        };
        let o = |i: usize| s[i].to_owned();
        let e = match kind {
            PlanFile::AddSrc => PlanEntry {
                name: o(0),
                evr: o(1),
                arch: "src".into(),
                file: o(2),
                path: o(3),
                subtask: subtask(4)?,
                comp: String::new(),
            },
            PlanFile::AddBin => PlanEntry {
                name: o(0),
                evr: o(1),
                arch: o(2),
                file: o(3),
                path: o(4),
                subtask: subtask(5)?,
                comp: s.get(6).map(|c| c.to_string()).unwrap_or_default(),
            },
            PlanFile::RmSrc => PlanEntry {
                name: o(0),
                evr: o(1),
                arch: "src".into(),
                file: o(2),
                ..Default::default()
            },
            PlanFile::RmBin => PlanEntry {
                name: o(0),
                evr: o(1),
                arch: o(2),
                file: o(3),
                comp: s.get(4).map(|c| c.to_string()).unwrap_or_default(),
                ..Default::default()
            },
        };
        base_name(&e.file).map_err(|b| Located::line(n, b.to_string()))?;
        // An empty path names nothing (the package then comes from build/ or fails there).
        if !e.path.is_empty() {
            relative_path(&e.path).map_err(|b| Located::line(n, b.to_string()))?;
        }
        out.push(e);
    }
    Ok(out)
}

/// A package line of a `plan/*.list.diff`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DiffEntry {
    /// Package name (the token after the sign).
    pub name: String,
    /// `[E:]V-R`.
    pub evr: String,
    /// File name.
    pub file: String,
    /// Source package file name (the file itself in `src.list.diff`).
    pub srpm: String,
    /// Arch (`src` in `src.list.diff`).
    pub arch: String,
}

/// Length of the original's `^[+-]+[a-zA-Z0-9]+\S+` match at the start of `line`, if any.
fn diff_prefix(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let signs = b.iter().take_while(|&&c| c == b'+' || c == b'-').count();
    if signs == 0 || !b.get(signs).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let token = line[signs..]
        .find(char::is_whitespace)
        .unwrap_or(line.len() - signs);
    (token >= 2).then_some(signs + token)
}

/// Parses a package-list diff: `(added, deleted)`. `src` selects the `src.list.diff` form
/// (`evr file`); other lists have `evr arch file srpm`. Header lines (`--- `, `+++ `) and
/// context lines do not match and are skipped.
pub fn parse_list_diff(text: &str, src: bool) -> Parsed<(Vec<DiffEntry>, Vec<DiffEntry>)> {
    let (mut added, mut deleted) = (Vec::new(), Vec::new());
    for (n, line) in lines(text) {
        let Some(end) = diff_prefix(line) else {
            continue;
        };
        let head = &line[..end];
        let sign = head.as_bytes()[0];
        let name = head[1..].trim().to_owned();
        // As the original: empty fields are dropped before trimming.
        let f: Vec<&str> = line[end..]
            .split('\t')
            .filter(|x| !x.is_empty())
            .map(str::trim)
            .collect();
        let e = if src {
            let [evr, file] = f[..] else {
                return Err(Located::line(
                    n,
                    format!(
                        "expected '<name>\\t<evr>\\t<file>', found {} fields after the name",
                        f.len()
                    ),
                ));
            };
            DiffEntry {
                name,
                evr: evr.into(),
                file: file.into(),
                srpm: file.into(),
                arch: "src".into(),
            }
        } else {
            let [evr, arch, file, srpm] = f[..] else {
                return Err(Located::line(
                    n,
                    format!("expected '<name>\\t<evr>\\t<arch>\\t<file>\\t<srpm>', found {} fields after the name", f.len()),
                ));
            };
            DiffEntry {
                name,
                evr: evr.into(),
                file: file.into(),
                srpm: srpm.into(),
                arch: arch.into(),
            }
        };
        if sign == b'+' {
            added.push(e);
        } else {
            deleted.push(e);
        }
    }
    Ok((added, deleted))
}

/// File name → value, in first-insertion order, later values replacing earlier ones (a
/// Python dict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderedMap<V> {
    entries: Vec<(String, V)>,
    index: HashMap<String, usize>,
}

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap {
            entries: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<V: serde::Serialize> serde::Serialize for OrderedMap<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<V> OrderedMap<V> {
    /// Inserts or replaces.
    pub fn insert(&mut self, key: String, value: V) {
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Parses a `plan/*.hash.diff`: `(added, deleted)` file name → SHA-256, from lines
/// `^[+-]+<64 lower-case hex>\s+<file name>`.
pub fn parse_hash_diff(text: &str) -> (OrderedMap<[u8; 32]>, OrderedMap<[u8; 32]>) {
    let (mut added, mut deleted) = (OrderedMap::default(), OrderedMap::default());
    for (_, line) in lines(text) {
        let b = line.as_bytes();
        let signs = b.iter().take_while(|&&c| c == b'+' || c == b'-').count();
        if signs == 0 || b.len() < signs + 65 {
            continue;
        }
        let Some(hex_part) = line.get(signs..signs + 64) else {
            continue;
        };
        if !hex_part
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            continue;
        }
        let rest = &line[signs + 64..];
        if !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let mut sha = [0u8; 32];
        if hex::decode_to_slice(hex_part, &mut sha).is_err() {
            continue;
        }
        let name = rest.trim().to_owned();
        if b[0] == b'+' {
            added.insert(name, sha);
        } else {
            deleted.insert(name, sha);
        }
    }
    (added, deleted)
}

// ---------------------------------------------------------------------------------------
// Dates

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Month number (1–12) of an English abbreviation, any case (`%b` in the C locale).
fn month(s: &str) -> Option<u32> {
    let l = s.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == l).map(|i| i as u32 + 1)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Seconds since the epoch (UTC) of a calendar date and time, checked; `None` when invalid
/// or outside what a `DateTime` column holds.
pub fn timestamp(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<u32> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 61
    {
        return None;
    }
    let t = days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    u32::try_from(t).ok()
}

/// The year (UTC) of a timestamp.
pub fn year_of(ts: u32) -> i64 {
    let days = i64::from(ts) / 86_400;
    // Inverse of days_from_civil, year only.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(m <= 2)
}

/// `HH:MM:SS` → (h, m, s).
fn hms(s: &str) -> Option<(u32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let two = |i: usize| -> Option<u32> {
        let (x, y) = (b[i], b[i + 1]);
        (x.is_ascii_digit() && y.is_ascii_digit())
            .then(|| u32::from(x - b'0') * 10 + u32::from(y - b'0'))
    };
    Some((two(0)?, two(3)?, two(6)?))
}

/// `YYYY-Mon-DD HH:MM:SS` (girar's event and approval stamps) as seconds since the epoch,
/// read as UTC.
pub fn parse_girar_date(s: &str) -> Option<u32> {
    let s = s.trim();
    let (date, time) = s.split_once(char::is_whitespace)?;
    let mut it = date.split('-');
    let (y, mo, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 {
        return None;
    }
    let (h, mi, sec) = hms(time.trim_start())?;
    timestamp(int(y)?, month(mo)?, int(d)?, h, mi, sec)
}

// ---------------------------------------------------------------------------------------
// Approvals

/// An approval file: `(name, date, message)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The approver's nick (last word of the first line).
    pub name: String,
    /// When (UTC seconds).
    pub date: u32,
    /// The remaining non-empty lines, joined with `\n`.
    pub message: String,
}

/// Parses `acl/{approved,disapproved}/<subtask>/<nick>`: first non-empty line
/// `"<YYYY-Mon-DD HH:MM:SS> :: <text ending with the nick>"`, then the message.
pub fn parse_approval(text: &str) -> Parsed<Approval> {
    let mut it = text.split('\n').filter(|l| !l.is_empty());
    let first = it.next().ok_or_else(|| Located {
        line: None,
        why: "empty approval file".into(),
    })?;
    let parts: Vec<&str> = first
        .split("::")
        .filter(|x| !x.is_empty())
        .map(str::trim)
        .collect();
    let [date, who] = parts[..] else {
        return Err(Located::line(
            1,
            "expected '<YYYY-Mon-DD HH:MM:SS> :: <text> <nick>'",
        ));
    };
    let date = parse_girar_date(date)
        .ok_or_else(|| Located::line(1, format!("'{date}' is not a YYYY-Mon-DD HH:MM:SS date")))?;
    let name = who.split(' ').next_back().unwrap_or_default().to_owned();
    Ok(Approval {
        name,
        date,
        message: it.collect::<Vec<_>>().join("\n"),
    })
}

// ---------------------------------------------------------------------------------------
// Logs

/// The three log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogKind {
    /// `logs/events.<try>.<iter>.log`: `YYYY-Mon-DD HH:MM:SS :: message` lines.
    Events,
    /// `build/<n>/<arch>/log`: `[HH:MM:SS]` offsets from the file's mtime.
    Build,
    /// `build/<n>/<arch>/srpm.log`: syslog `<NN>Mon DD HH:MM:SS` stamps.
    Srpm,
}

impl LogKind {
    /// The prefix of the log's hash string.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Events => "events",
            LogKind::Build => "build",
            LogKind::Srpm => "srpm",
        }
    }
}

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// 1-based line number (every line counts, empty ones too).
    pub line: u32,
    /// Time stamp, UTC seconds.
    pub ts: u32,
    /// The text without the stamp, trimmed.
    pub message: String,
}

/// Decodes UTF-8, replacing each invalid byte with `\xNN` (Python's `backslashreplace`).
pub fn decode_backslash(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (ok, bad) = rest.split_at(e.valid_up_to());
                // SAFETY-free: `ok` is valid UTF-8 by construction of valid_up_to.
                out.push_str(std::str::from_utf8(ok).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len());
                for b in &bad[..n] {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                rest = &bad[n..];
            }
        }
    }
}

/// Lines as Python's text mode yields them: universal newlines (`\n`, `\r\n`, `\r`),
/// the terminator removed, a last line without terminator included when not empty.
fn text_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'\n' => {
                out.push(&text[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                out.push(&text[start..i]);
                i += if b.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < b.len() {
        out.push(&text[start..]);
    }
    out
}

/// `^\d{4}-[A-Z][a-z]{2}-\d{2}\s\d{2}:\d{2}:\d{2}` → (stamp length, timestamp).
fn events_stamp(line: &str, n: usize) -> Parsed<Option<(usize, u32)>> {
    let b = line.as_bytes();
    if b.len() < 20 {
        return Ok(None);
    }
    let shape = b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5].is_ascii_uppercase()
        && b[6].is_ascii_lowercase()
        && b[7].is_ascii_lowercase()
        && b[8] == b'-'
        && b[9].is_ascii_digit()
        && b[10].is_ascii_digit()
        && (b[11] as char).is_ascii_whitespace()
        && line.get(12..20).and_then(hms).is_some();
    if !shape {
        return Ok(None);
    }
    let ts = parse_girar_date(&line[..20])
        .ok_or_else(|| Located::line(n, format!("'{}' is not a valid date", &line[..20])))?;
    Ok(Some((20, ts)))
}

/// `^<\d+>[A-Z][a-z]{2}\s+\d+\s\d{2}:\d{2}:\d{2}` → (stamp length, month, day, h, m, s).
/// A syslog stamp: (length, month, day, (h, m, s)).
type SrpmStamp = (usize, u32, u32, (u32, u32, u32));

fn srpm_stamp(line: &str) -> Option<SrpmStamp> {
    let b = line.as_bytes();
    if b.first() != Some(&b'<') {
        return None;
    }
    let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = 1 + digits;
    if digits == 0 || b.get(i) != Some(&b'>') {
        return None;
    }
    i += 1;
    let mon = line.get(i..i + 3)?;
    let mb = mon.as_bytes();
    if !(mb[0].is_ascii_uppercase() && mb[1].is_ascii_lowercase() && mb[2].is_ascii_lowercase()) {
        return None;
    }
    i += 3;
    let ws = b[i..]
        .iter()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    if ws == 0 {
        return None;
    }
    i += ws;
    let dd = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if dd == 0 {
        return None;
    }
    let day: u32 = line[i..i + dd].parse().ok()?;
    i += dd;
    if !b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        return None;
    }
    i += 1;
    let t = hms(line.get(i..i + 8)?)?;
    Some((i + 8, month(mon)?, day, t))
}

/// `^\[\d{2}:\d{2}:\d{2}\]` → seconds offset.
fn build_stamp(line: &str) -> Option<u32> {
    let b = line.as_bytes();
    if b.len() < 10 || b[0] != b'[' || b[9] != b']' {
        return None;
    }
    let (h, m, s) = hms(&line[1..9])?;
    Some(h * 3600 + m * 60 + s)
}

/// Parses a task log. `mtime` is the log file's modification time (build-log offsets are
/// added to it, srpm logs take their year from it).
///
/// An events log whose first line has no stamp is an error, as in the original (where it
/// made the whole task load fail).
pub fn parse_log(kind: LogKind, bytes: &[u8], mtime: u32) -> Parsed<Vec<LogLine>> {
    let text = decode_backslash(bytes);
    let mut out = Vec::new();
    let mut last: Option<u32> = None;
    let year = year_of(mtime);
    for (i, raw) in text_lines(&text).into_iter().enumerate() {
        let n = i + 1;
        let line_no = u32::try_from(n).unwrap_or(u32::MAX);
        let (ts, message) = match kind {
            LogKind::Events => {
                let stamp = events_stamp(raw, n)?;
                let rest = stamp.map(|(len, _)| &raw[len..]).unwrap_or(raw);
                let msg = rest.rsplit(" :: ").next().unwrap_or(rest).trim();
                let ts = match (stamp, last) {
                    (Some((_, ts)), _) => ts,
                    (None, Some(ts)) => ts,
                    (None, None) => {
                        return Err(Located::line(
                            n,
                            "the first line of an events log has no 'YYYY-Mon-DD HH:MM:SS' stamp",
                        ));
                    }
                };
                (ts, msg)
            }
            LogKind::Srpm => match srpm_stamp(raw) {
                Some((len, mo, d, (h, mi, s))) => {
                    let ts = timestamp(year, mo, d, h, mi, s).ok_or_else(|| {
                        Located::line(
                            n,
                            format!("'{}' is not a valid date in {year}", &raw[..len]),
                        )
                    })?;
                    (ts, raw[len..].trim())
                }
                // Before the first stamp: the file's mtime; after it: the last stamp.
                None => (last.unwrap_or(mtime), raw.trim()),
            },
            LogKind::Build => match build_stamp(raw) {
                Some(off) => (mtime.saturating_add(off), raw[10..].trim()),
                None => (mtime, raw.trim()),
            },
        };
        if kind != LogKind::Build {
            last = Some(ts);
        }
        out.push(LogLine {
            line: line_no,
            ts,
            message: message.to_owned(),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Small files

/// `chroot_base` / `chroot_BR`: the last tab field of each non-empty line, hex-decoded and
/// hashed with `mmhash` (original-system §4.7).
pub fn parse_chroot(text: &str) -> Parsed<Vec<u64>> {
    let mut out = Vec::new();
    for (n, line) in lines(text) {
        let field: String = line
            .split('\t')
            .next_back()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let bytes = hex::decode(&field)
            .map_err(|_| Located::line(n, format!("'{field}' is not a hex digest")))?;
        out.push(mmhash(&bytes));
    }
    Ok(out)
}

/// `gears/<n>/sid`: `"<type>:<sid>"` → (type, sid). Without a colon the whole text is the
/// type (the original crashed).
pub fn parse_sid(text: &str) -> (String, String) {
    match text.split_once(':') {
        Some((t, rest)) => (
            t.to_owned(),
            rest.split(':').next().unwrap_or_default().trim().to_owned(),
        ),
        None => (text.trim().to_owned(), String::new()),
    }
}

/// `gears/<n>/nevr`: `"name\tevr"` → (name, evr).
pub fn parse_nevr(text: &str) -> (String, String) {
    let mut it = text.split('\t');
    let name = it.next().unwrap_or_default().trim().to_owned();
    let evr = it.next().unwrap_or_default().trim().to_owned();
    (name, evr)
}

/// `task/depends`: one task id per non-empty line.
pub fn parse_depends(text: &str) -> Parsed<Vec<u32>> {
    lines(text)
        .map(|(n, l)| int(l).ok_or_else(|| Located::line(n, format!("'{l}' is not a task id"))))
        .collect()
}

/// `info.json`: whether the key `shared` is truthy (Python truthiness).
pub fn parse_info_shared(text: &str) -> Parsed<bool> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| Located {
        line: Some(e.line()),
        why: format!("not valid JSON: {e}"),
    })?;
    let truthy = match v.get("shared") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0),
        Some(serde_json::Value::String(s)) => !s.is_empty(),
        Some(serde_json::Value::Array(a)) => !a.is_empty(),
        Some(serde_json::Value::Object(o)) => !o.is_empty(),
    };
    Ok(truthy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_files() {
        let add_bin = "foo\t1.0-alt1\tx86_64\tfoo-1.0-alt1.x86_64.rpm\tbuild/100/x86_64/rpms/foo-1.0-alt1.x86_64.rpm\t100\tclassic\n\
                       bar\t1.0-alt1\tnoarch\tbar-1.0-alt1.noarch.rpm\tp\t200\n";
        let v = parse_plan_file(add_bin, PlanFile::AddBin).unwrap();
        assert_eq!(v[0].subtask, 100);
        assert_eq!(v[0].comp, "classic");
        assert_eq!(v[1].comp, "");
        let v = parse_plan_file("foo\t1.0-alt1\tfoo-1.0-alt1.src.rpm\n", PlanFile::RmSrc).unwrap();
        assert_eq!(
            (v[0].arch.as_str(), v[0].subtask, v[0].path.as_str()),
            ("src", 0, "")
        );
        let e = parse_plan_file("foo\t1.0\n", PlanFile::AddSrc).unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = parse_plan_file("a\tb\tc\td\tx\n", PlanFile::AddSrc).unwrap_err();
        assert!(e.why.contains("subtask"), "{e:?}");
        // Paths stay below the task directory; file names are names.
        for (line, why) in [
            ("a\t1\ta.src.rpm\t/etc/shadow\t100\n", "starts with '/'"),
            ("a\t1\ta.src.rpm\tbuild/../../../etc/shadow\t100\n", "'..'"),
            (
                "a\t1\t../a.src.rpm\tbuild/100/x86_64/srpm/a.src.rpm\t100\n",
                "contains '/'",
            ),
        ] {
            let e = parse_plan_file(
                &format!("ok\t1\tok.src.rpm\tbuild/ok\t1\n{line}"),
                PlanFile::AddSrc,
            )
            .unwrap_err();
            assert_eq!(e.line, Some(2), "{line}");
            assert!(e.why.contains(why), "{e:?}");
        }
        let e = parse_plan_file("a\t1\tx86_64\t/a.rpm\n", PlanFile::RmBin).unwrap_err();
        assert!(e.why.contains("is not a file name"), "{e:?}");
    }

    #[test]
    fn list_diff() {
        let text = "--- x86_64.list\n+++ x86_64.list\n@@ -1,2 +1,2 @@\n foo\t1\tx\ty\tz\n\
                    -foo\t1.0-alt1\tx86_64\tfoo-1.0-alt1.x86_64.rpm\tfoo-1.0-alt1.src.rpm\n\
                    +foo\t1.1-alt1\tx86_64\tfoo-1.1-alt1.x86_64.rpm\tfoo-1.1-alt1.src.rpm\n";
        let (a, d) = parse_list_diff(text, false).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(d.len(), 1);
        assert_eq!(a[0].name, "foo");
        assert_eq!(a[0].srpm, "foo-1.1-alt1.src.rpm");
        let (a, _) = parse_list_diff("+foo\t1.1-alt1\tfoo-1.1-alt1.src.rpm\n", true).unwrap();
        assert_eq!(
            (a[0].arch.as_str(), a[0].srpm.as_str()),
            ("src", "foo-1.1-alt1.src.rpm")
        );
        // A one-character name does not match the original's pattern.
        let (a, _) = parse_list_diff("+f\t1\tf.src.rpm\n", true).unwrap();
        assert!(a.is_empty());
        let e = parse_list_diff("+foo\t1.1-alt1\n", true).unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn hash_diff() {
        let h = "ab".repeat(32);
        let text = format!(
            "--- a\n+++ b\n+{h}  foo.rpm\n-{h} bar.rpm\n+{}  bad.rpm\n",
            "AB".repeat(32)
        );
        let (a, d) = parse_hash_diff(&text);
        assert_eq!(a.len(), 1);
        assert_eq!(a.get("foo.rpm"), Some(&[0xab; 32]));
        assert_eq!(d.get("bar.rpm"), Some(&[0xab; 32]));
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_girar_date("2020-May-15 10:30:00"),
            Some(1_589_538_600)
        );
        assert_eq!(parse_girar_date("2024-Feb-30 10:30:00"), None);
        assert_eq!(timestamp(1970, 1, 1, 0, 0, 0), Some(0));
        assert_eq!(year_of(1_589_538_600), 2020);
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(1_704_067_199), 2023);
        assert_eq!(year_of(1_704_067_200), 2024);
    }

    #[test]
    fn approvals() {
        let a =
            parse_approval("\n2024-Jan-15 10:30:00 :: approved by alice\nlooks good\n\nreally\n")
                .unwrap();
        assert_eq!(a.name, "alice");
        assert_eq!(a.date, parse_girar_date("2024-Jan-15 10:30:00").unwrap());
        assert_eq!(a.message, "looks good\nreally");
        assert!(parse_approval("no separator here").is_err());
        assert!(parse_approval("").is_err());
    }

    #[test]
    fn events_log() {
        let text = b"2024-Jan-15 10:30:00 :: task #1 started by alice\n  #100 build foo\n\n2024-Jan-15 10:31:05 :: a :: b \n";
        let v = parse_log(LogKind::Events, text, 0).unwrap();
        let t0 = parse_girar_date("2024-Jan-15 10:30:00").unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(
            (v[0].ts, v[0].message.as_str()),
            (t0, "task #1 started by alice")
        );
        assert_eq!((v[1].ts, v[1].message.as_str()), (t0, "#100 build foo"));
        assert_eq!((v[2].line, v[2].message.as_str()), (3, ""));
        assert_eq!((v[3].ts, v[3].message.as_str()), (t0 + 65, "b"));
        let e = parse_log(LogKind::Events, b"no stamp\n", 0).unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(parse_log(LogKind::Events, b"", 0).unwrap().is_empty());
    }

    #[test]
    fn srpm_and_build_logs() {
        let mtime = parse_girar_date("2024-Jan-16 00:00:00").unwrap();
        let v = parse_log(
            LogKind::Srpm,
            b"hello\n<13>Jan 15 17:53:14 hasher: start\r\ncontinued\n<86>Jan  5 01:02:03 x",
            mtime,
        )
        .unwrap();
        assert_eq!(v[0].ts, mtime);
        assert_eq!(v[1].ts, parse_girar_date("2024-Jan-15 17:53:14").unwrap());
        assert_eq!(v[1].message, "hasher: start");
        assert_eq!(v[2].ts, v[1].ts);
        assert_eq!(v[3].ts, parse_girar_date("2024-Jan-05 01:02:03").unwrap());
        let v = parse_log(LogKind::Build, b"[00:01:02] compiling\nplain\n", 1000).unwrap();
        assert_eq!((v[0].ts, v[0].message.as_str()), (1062, "compiling"));
        assert_eq!((v[1].ts, v[1].message.as_str()), (1000, "plain"));
        let v = parse_log(LogKind::Build, b"bad \xff byte\n", 0).unwrap();
        assert_eq!(v[0].message, "bad \\xff byte");
    }

    #[test]
    fn small_files() {
        let c = parse_chroot("bash\t4.4\tx86_64\tabcd\n\nfoo\t1\n").unwrap_err();
        assert_eq!(c.line, Some(3));
        let c = parse_chroot("bash\t4.4\tx86_64\tabcd\n").unwrap();
        assert_eq!(c, [mmhash(&[0xab, 0xcd])]);
        assert_eq!(parse_sid("gear:abc \n"), ("gear".into(), "abc".into()));
        assert_eq!(parse_sid("weird"), ("weird".into(), "".into()));
        assert_eq!(
            parse_nevr("foo\t1.0-alt1\n"),
            ("foo".into(), "1.0-alt1".into())
        );
        assert_eq!(parse_depends("1\n 2 \n\n").unwrap(), [1, 2]);
        assert!(parse_depends("x\n").is_err());
        assert!(parse_info_shared(r#"{"shared": true}"#).unwrap());
        assert!(!parse_info_shared(r#"{"shared": 0}"#).unwrap());
        assert!(!parse_info_shared("{}").unwrap());
        assert!(parse_info_shared("{oops").is_err());
    }
}
