//! Entry points for the fuzz targets in `fuzz/` (and their regression replay in
//! `tests/fuzz_regressions.rs`). Each takes arbitrary bytes, must not panic, hang or allocate
//! without bound, and checks what must hold besides: the streaming readers agree with the
//! in-memory ones, and errors point inside the input.

use std::io::BufReader;
use std::path::Path;

use altrepodb_rpm::payload::{extract_spec_with, payload_reader_from, SpecLimits};
use altrepodb_rpm::{apt_headers, extract_spec};

use crate::bounded::{self, AptStream, Cap, ReadLimits};
use crate::package::read_package;
use crate::repo::layout::read_hash_lines;
use crate::repo::scan::list_entries;
use crate::safe_path::base_name;
use crate::task::parse::{
    parse_approval, parse_chroot, parse_depends, parse_hash_diff, parse_info_shared,
    parse_list_diff, parse_log, parse_nevr, parse_plan_file, parse_sid, LogKind, PlanFile,
};

/// Caps small enough that a fuzz input cannot make a run slow.
const FUZZ_CAP: Cap = Cap {
    limit: 16 << 20,
    what: "fuzz input",
    env: "-",
};

fn limits() -> ReadLimits {
    ReadLimits {
        list_bytes: FUZZ_CAP.limit,
        small_file_bytes: FUZZ_CAP.limit,
        log_bytes: FUZZ_CAP.limit,
        spec_bytes: 1 << 20,
    }
}

const XZ_MAGIC: &[u8] = b"\xfd7zXZ\0";

/// The decompressed bytes when `data` is an xz stream, else `None`.
fn unxz(data: &[u8]) -> Option<Vec<u8>> {
    if !data.starts_with(XZ_MAGIC) {
        return None;
    }
    let mut out = Vec::new();
    let r = bounded::xz_reader(
        BufReader::new(std::io::Cursor::new(data.to_vec())),
        FUZZ_CAP,
    )
    .and_then(|mut r| std::io::Read::read_to_end(&mut r, &mut out));
    // A decoding error keeps what came before it, as the streaming readers would see it.
    let _ = r;
    Some(out)
}

/// An APT header list (plain, or xz-compressed when it starts with the xz magic): the
/// streaming [`AptStream`] yields the same headers and the same error as
/// [`altrepodb_rpm::apt_headers`] over the whole buffer, and the scan's entry reader does
/// not panic.
pub fn apt_list(data: &[u8]) {
    let plain = unxz(data);
    let data = plain.as_deref().unwrap_or(data);
    let mut stream = AptStream::new(data);
    let mut whole = apt_headers(data);
    loop {
        match (stream.next_header(), whole.next()) {
            (None, None) => break,
            (Some(Ok((offset, a))), Some(Ok(b))) => {
                assert_eq!(offset, b.offset(), "record offsets");
                assert_eq!(a.record_len(), b.record_len(), "record at {offset}");
                assert_eq!(a.len(), b.len(), "entries of the record at {offset}");
            }
            (Some(Err(a)), Some(Err(b))) => {
                assert_eq!(a.to_string(), b.to_string(), "errors");
                assert!(a.offset() <= data.len() as u64, "{a}");
            }
            (a, b) => panic!(
                "stream and buffer disagree: {:?} vs {:?}",
                a.map(|r| r.map(|(o, _)| o).map_err(|e| e.to_string())),
                b.map(|r| r.map(|h| h.offset()).map_err(|e| e.to_string()))
            ),
        }
    }
    if let Ok(entries) = list_entries(data, Path::new("fuzz.xz")) {
        for (name, _) in entries {
            assert!(base_name(&name).is_ok(), "{name:?} passed as a file name");
        }
    }
}

/// The original's reading of a hash list, as a reference: lossy text, `lines()`.
fn hash_lines_reference(data: &[u8]) -> Result<Vec<(String, [u8; 32])>, String> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut it = line.split_whitespace();
        let (Some(h), Some(name)) = (it.next(), it.next()) else {
            return Err(format!("line {}", i + 1));
        };
        let mut d = [0u8; 32];
        hex::decode_to_slice(h, &mut d).map_err(|_| format!("line {}", i + 1))?;
        base_name(name).map_err(|_| format!("line {}", i + 1))?;
        out.push((name.to_owned(), d));
    }
    Ok(out)
}

/// A SHA-256 hash list (plain, or xz-compressed): the streaming line reader gives what the
/// whole-text reading gives, unless a line is over its cap.
pub fn hash_list(data: &[u8]) {
    let plain = unxz(data);
    let data = plain.as_deref().unwrap_or(data);
    let got = read_hash_lines(data, Path::new("fuzz")).map_err(|e| e.to_string());
    if data.split(|&b| b == b'\n').any(|l| l.len() >= 4096) {
        return;
    }
    let want = hash_lines_reference(data);
    match (&got, &want) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert!(a.contains(&format!("fuzz: {b}:")), "{a} vs {b}"),
        _ => panic!("streamed {got:?} vs whole {want:?}"),
    }
}

/// Bytes as a whole `.rpm` through the package reader (headers read, payload streamed to the
/// spec file), and as a bare payload: the streaming spec search agrees with the in-memory one.
pub fn payload(data: &[u8]) {
    let _ = read_package(data, "fuzz.src.rpm", data.len() as u64, &limits());
    let limits = SpecLimits {
        max_spec_size: 1 << 20,
        max_entries: 100_000,
    };
    let streamed = payload_reader_from(data).and_then(|c| extract_spec_with(c, limits));
    let whole =
        altrepodb_rpm::payload::payload_reader(data).and_then(|c| extract_spec_with(c, limits));
    match (&streamed, &whole) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("streamed {streamed:?} vs whole {whole:?}"),
    }
    let _ = extract_spec(data);
}

/// Bytes as every task file the loader parses (plan files and diffs, approvals, the three
/// log formats, chroot lists, `sid`, `nevr`, `depends`, `info.json`); a reported line is a
/// line of the input.
pub fn task_files(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = text.split('\n').count();
    let in_range = |line: Option<usize>| {
        if let Some(l) = line {
            assert!(l >= 1 && l <= lines, "line {l} of {lines}");
        }
    };
    for kind in [
        PlanFile::AddSrc,
        PlanFile::AddBin,
        PlanFile::RmSrc,
        PlanFile::RmBin,
    ] {
        match parse_plan_file(&text, kind) {
            Ok(entries) => {
                for e in entries {
                    assert!(base_name(&e.file).is_ok());
                }
            }
            Err(e) => in_range(e.line),
        }
    }
    for src in [false, true] {
        if let Err(e) = parse_list_diff(&text, src) {
            in_range(e.line);
        }
    }
    let _ = parse_hash_diff(&text);
    if let Err(e) = parse_approval(&text) {
        in_range(e.line);
    }
    // Logs break lines as Python's splitlines does for them: at `\n`, `\r` and `\r\n`.
    let log_lines = 1 + data
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\r' || (b == b'\n' && (i == 0 || data[i - 1] != b'\r')))
        .count();
    for kind in [LogKind::Events, LogKind::Build, LogKind::Srpm] {
        match parse_log(kind, data, 1_700_000_000) {
            Ok(rows) => {
                for r in rows {
                    assert!(r.line as usize <= log_lines, "log line {}", r.line);
                }
            }
            Err(e) => {
                if let Some(l) = e.line {
                    assert!(
                        l >= 1 && l <= log_lines,
                        "log error line {l} of {log_lines}"
                    );
                }
            }
        }
    }
    if let Err(e) = parse_chroot(&text) {
        in_range(e.line);
    }
    let _ = parse_sid(&text);
    let _ = parse_nevr(&text);
    if let Err(e) = parse_depends(&text) {
        in_range(e.line);
    }
    let _ = parse_info_shared(&text);
}

/// A directory listing page: never panics; entries are plain names inside the page, and an
/// error points inside it.
pub fn listing(data: &[u8]) {
    match crate::listing::parse_listing_bytes(data) {
        Ok(l) => {
            for e in &l.entries {
                assert!(!e.name.is_empty() && !e.name.contains('/'), "{e:?}");
                assert!(e.offset < data.len().max(1) * 4, "{e:?}");
            }
        }
        Err(e) => assert!(e.line >= 1 && e.offset <= data.len() * 4 + 1, "{e:?}"),
    }
}

/// The Bugzilla CSV: records never invent bytes (every field is shorter than the input), a
/// record's location is inside the input, and the bug list parser agrees with the record
/// reader about the header.
pub fn bugzilla_csv(data: &[u8]) {
    use crate::bugzilla::parse::{csv_records, parse_buglist};
    match csv_records(data) {
        Ok(recs) => {
            for r in &recs {
                assert!(r.offset < data.len(), "{r:?}");
                assert!(r.fields.iter().all(|f| f.len() <= data.len()));
            }
            if let Ok(rows) = parse_buglist(data) {
                assert_eq!(rows.len() + 1, recs.len());
            }
        }
        Err(e) => {
            assert!(e.offset <= data.len() && e.line >= 1, "{e:?}");
            assert!(parse_buglist(data).is_err());
        }
    }
}

/// Line feeds (watch-total.txt, ACL files, Beehive's time.list and ftbfs-since, package ids):
/// never panic; the line of an error exists.
pub fn feed_lines(data: &[u8]) {
    let lines = data.split(|&b| b == b'\n').count();
    match crate::watch::parse::parse_watch(data, 0) {
        Ok(rows) => assert!(rows.len() <= lines),
        Err(e) => assert!(e.line >= 1 && e.line <= lines, "{e:?}"),
    }
    match crate::acl::parse::parse_acl(data) {
        Ok(rows) => {
            assert!(rows.len() <= lines);
            assert!(rows.iter().all(|r| r.members.iter().all(|m| !m.is_empty())));
        }
        Err(e) => assert!(e.line >= 1 && e.line <= lines, "{e:?}"),
    }
    for r in [
        crate::beehive::parse::parse_time_list(data).map(|v| v.len()),
        crate::beehive::parse::parse_ftbfs_since(data).map(|v| v.len()),
    ] {
        match r {
            Ok(n) => assert!(n <= lines),
            Err(e) => assert!(e.line >= 1 && e.line <= lines, "{e:?}"),
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = crate::acl::parse::branch_of(s);
        let n = crate::beehive::parse::parse_nvr(s);
        assert!(s.starts_with(n.name.as_str()));
    }
}

/// JSON feeds (Repocop array, SPDX documents): never panic.
pub fn feed_json(data: &[u8]) {
    use altrepodb_db::rows_feeds::SpdxType;
    let _ = crate::repocop::parse::parse_repocop(data, 0);
    for kind in [SpdxType::License, SpdxType::Exception] {
        if let Ok(r) = crate::spdx::parse::parse_spdx("fuzz.json", data, kind) {
            assert!(!r.spdx_id.is_empty());
        }
    }
}
