//! Damaged databases give one error naming the format, the structure and its offset; page
//! and overflow cycles end the walk. The inputs are real databases (made by rpm and
//! `db5.3_load` from corpus RPMs, or the corpus NDB file) with one field changed.

use altrepodb_rpmdb::{open, open_as, Error, Format, Problem};
use altrepodb_testdata::corpus;
use altrepodb_testdata::rpmdb::{bdb_packages, export_rpmdb, sqlite_rpmdb, BdbOptions};

/// An error's offset is inside the input, or the offset of the structure the end cut off.
fn offset_ok(e: &Error, len: usize) -> bool {
    e.offset() <= len as u64
        || matches!(
            e,
            Error::Corrupt {
                problem: Problem::Truncated { .. },
                ..
            }
        )
}

/// Reads every header; returns the first error.
fn first_error(bytes: &[u8]) -> Error {
    match open(bytes) {
        Err(e) => e,
        Ok(r) => {
            let mut n = 0;
            for item in r {
                match item {
                    Ok(_) => n += 1,
                    Err(e) => return e,
                }
            }
            panic!("no error after {n} headers")
        }
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// SQLite and Berkeley DB (512-byte pages, so headers span many overflow pages) databases
/// of a few corpus packages.
fn databases() -> Option<(Vec<u8>, Vec<u8>)> {
    let td = corpus::dir("corrupt", "rpm")?;
    let tmp = tempfile::tempdir().unwrap();
    let rpms = [
        td.join("fetch-alt-squidfw/squid-helpers-7.3-alt1.x86_64.rpm"),
        td.join("pypi-rpmlint/mc-4.8.15-10.3.1.x86_64.rpm"),
    ];
    let root = tmp.path().join("root");
    let sqlite = std::fs::read(sqlite_rpmdb(&root, &rpms).unwrap()).unwrap();
    let path = tmp.path().join("Packages");
    let opts = BdbOptions {
        page_size: 512,
        ..BdbOptions::default()
    };
    bdb_packages(&path, &export_rpmdb(&root).unwrap(), &opts).unwrap();
    Some((sqlite, std::fs::read(path).unwrap()))
}

fn corrupt(e: &Error) -> (&Format, &str, u64, &Problem) {
    match e {
        Error::Corrupt {
            format,
            structure,
            offset,
            problem,
        } => (format, structure.as_str(), *offset, problem),
        other => panic!("{other}"),
    }
}

#[test]
fn bdb_damage_is_named() {
    let Some((_, bdb)) = databases() else {
        return;
    };
    assert_eq!(open(&bdb).unwrap().count(), 2);
    let ps = 512;
    let pages = bdb.len() / ps;

    // An overflow page that points back to itself.
    let p = (1..pages)
        .find(|&p| bdb[p * ps + 25] == 7 && le32(&bdb, p * ps + 16) != 0)
        .expect("an overflow page with a successor");
    let mut b = bdb.clone();
    b[p * ps + 16..p * ps + 20].copy_from_slice(&(p as u32).to_le_bytes());
    let e = first_error(&b);
    let (format, structure, offset, problem) = corrupt(&e);
    assert_eq!(*format, Format::BerkeleyDb);
    assert_eq!(structure, format!("overflow page {p}"));
    assert_eq!(offset, (p * ps) as u64);
    assert!(matches!(problem, Problem::Cycle { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "corrupt Berkeley DB rpm database: overflow page {p} at offset {}: \
             page {p} visited twice (a cycle in the overflow chains)",
            p * ps
        )
    );

    // A hash page whose bucket chain comes back to it.
    let h = (1..pages)
        .find(|&p| matches!(bdb[p * ps + 25], 2 | 13))
        .unwrap();
    let mut b = bdb.clone();
    b[h * ps + 16..h * ps + 20].copy_from_slice(&(h as u32).to_le_bytes());
    let e = first_error(&b);
    assert!(
        matches!(
            corrupt(&e).3,
            Problem::Cycle {
                chain: "bucket chains",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.offset(), (h * ps) as u64);

    // An overflow page that lost its place: its page-number field no longer matches.
    let mut b = bdb.clone();
    b[p * ps + 8] ^= 0x40;
    let e = first_error(&b);
    assert_eq!(e.offset(), (p * ps + 8) as u64, "{e}");

    // Truncated anywhere: an error, never a panic, with an offset inside the file.
    for cut in (0..bdb.len()).step_by(97) {
        let part = &bdb[..cut];
        let e = first_error(part);
        assert!(offset_ok(&e, cut), "cut {cut}: {e}");
    }

    // Unsupported hash version and a B-tree file.
    let mut b = bdb.clone();
    b[16] = 7;
    assert!(matches!(
        corrupt(&first_error(&b)).3,
        Problem::Unsupported {
            what: "hash version",
            ..
        }
    ));
    let mut b = bdb.clone();
    b[12..16].copy_from_slice(&0x0005_3162u32.to_le_bytes());
    let e = first_error(&b);
    assert!(e.to_string().contains("B-tree"), "{e}");
}

#[test]
fn sqlite_damage_is_named() {
    let Some((sqlite, _)) = databases() else {
        return;
    };
    assert_eq!(open(&sqlite).unwrap().count(), 2);
    let ps = usize::from(u16::from_be_bytes([sqlite[16], sqlite[17]]));
    let pages = sqlite.len() / ps;

    // An overflow page (page p, 1-based, links to p + 1) made to link to itself.
    let p = (2..pages as u32)
        .find(|&p| {
            let at = (p as usize - 1) * ps;
            be32(&sqlite, at) == p + 1 && !matches!(sqlite[at], 2 | 5 | 10 | 13)
        })
        .expect("a chained overflow page");
    let at = (p as usize - 1) * ps;
    let mut b = sqlite.clone();
    b[at..at + 4].copy_from_slice(&p.to_be_bytes());
    let e = first_error(&b);
    let (format, structure, offset, problem) = corrupt(&e);
    assert_eq!(*format, Format::Sqlite);
    assert_eq!(structure, format!("overflow page {p}"));
    assert_eq!(offset, at as u64);
    assert!(matches!(problem, Problem::Cycle { .. }), "{e}");

    // A wrong file header.
    let mut b = sqlite.clone();
    b[..6].copy_from_slice(b"SQLITE");
    assert!(matches!(first_error(&b), Error::UnknownFormat { .. }));
    let e = open_as(Format::Sqlite, &b).err().unwrap();
    assert_eq!(e.offset(), 0);
    assert!(e.to_string().contains("bad magic"), "{e}");
    let mut b = sqlite.clone();
    b[16..18].copy_from_slice(&300u16.to_be_bytes());
    let e = first_error(&b);
    assert_eq!(e.offset(), 16, "{e}");

    for cut in (0..sqlite.len()).step_by(211) {
        let e = first_error(&sqlite[..cut]);
        assert!(offset_ok(&e, cut), "cut {cut}: {e}");
    }
}

#[test]
fn ndb_damage_is_named() {
    let Some(td) = corpus::dir("ndb_damage_is_named", "rpmdb") else {
        return;
    };
    let ndb = std::fs::read(td.join("ndb-sle15-bci-go-rpmdb/Packages.db")).unwrap();
    let first = open(&ndb).unwrap().next().unwrap().unwrap();
    // One byte of the first blob changed: the Adler-32 in its tail no longer matches.
    let mut b = ndb.clone();
    b[first.offset as usize + 100] ^= 1;
    let e = first_error(&b);
    assert!(
        matches!(
            corrupt(&e).3,
            Problem::Mismatch {
                what: "Adler-32",
                ..
            }
        ),
        "{e}"
    );
    assert!(corrupt(&e).1.starts_with("blob of slot "), "{e}");
    let tail = e.offset();
    assert!(
        tail > first.offset + first.blob.len() as u64
            && tail < first.offset + first.blob.len() as u64 + 28
    );

    // A slot pointing past the end of the file.
    let mut b = ndb.clone();
    let slot = (2..256).find(|&s| le32(&ndb, s * 16 + 8) != 0).unwrap();
    b[slot * 16 + 8..slot * 16 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = first_error(&b);
    assert_eq!(corrupt(&e).1, format!("slot {slot}"));
    assert_eq!(e.offset(), (slot * 16 + 8) as u64);

    for cut in (0..ndb.len()).step_by(4099) {
        let e = first_error(&ndb[..cut]);
        assert!(offset_ok(&e, cut), "cut {cut}: {e}");
    }
}
