//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the regression test that
//! replays `fuzz/corpus-regressions/rpmdb-*/` in a normal `cargo test`. Not a stable API.
//!
//! Properties checked besides "no panic and no hang": every error renders and names an
//! offset inside the input (or, for a structure cut off by the end, its own offset); the walk ends after an error; every blob lies within the input or
//! is no longer than it; instance numbers are never 0.

use crate::{open, open_as, Error, Format};

fn check_err(e: &Error, len: usize) {
    // A missing page is named by its own offset, which may lie past the end.
    let truncated = matches!(
        e,
        Error::Corrupt {
            problem: crate::Problem::Truncated { .. },
            ..
        }
    );
    assert!(
        truncated || e.offset() <= len as u64,
        "error offset {} past input length {len}: {e}",
        e.offset()
    );
    let _ = e.to_string();
}

fn walk(format: Format, data: &[u8]) {
    let reader = match open_as(format, data) {
        Ok(r) => r,
        Err(e) => return check_err(&e, data.len()),
    };
    assert_eq!(reader.format(), format);
    let mut total = 0usize;
    let mut reader = reader;
    for item in reader.by_ref() {
        match item {
            Ok(h) => {
                assert_ne!(h.instance, 0);
                assert!(h.blob.len() <= data.len());
                assert!(h.offset <= data.len() as u64);
                total += h.blob.len();
            }
            Err(e) => {
                check_err(&e, data.len());
                break;
            }
        }
    }
    assert!(reader.next().is_none(), "reader goes on after its end");
    let _ = total;
}

/// The bytes as a Berkeley DB hash `Packages` file.
pub fn bdb(data: &[u8]) {
    walk(Format::BerkeleyDb, data);
    detect_agrees(data);
}

/// The bytes as an NDB `Packages.db`.
pub fn ndb(data: &[u8]) {
    walk(Format::Ndb, data);
    detect_agrees(data);
}

/// The bytes as an SQLite `rpmdb.sqlite`.
pub fn sqlite(data: &[u8]) {
    walk(Format::Sqlite, data);
    detect_agrees(data);
}

/// Detection and `open` agree with the format-specific reader.
fn detect_agrees(data: &[u8]) {
    match (crate::detect(data), open(data)) {
        (None, Err(Error::UnknownFormat { start })) => assert!(start.len() <= 16),
        (None, other) => panic!("undetected input opened: {:?}", other.map(|r| r.format())),
        (Some(f), Ok(r)) => assert_eq!(r.format(), f),
        (Some(f), Err(e)) => {
            assert_eq!(e.format(), Some(f));
            check_err(&e, data.len());
        }
    }
}
