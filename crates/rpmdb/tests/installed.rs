//! Headers installed from the corpus RPMs keep their identity: rpm 4.18 installs them
//! (`--justdb`) into a SQLite rpmdb, which is also turned into Berkeley DB `Packages` files
//! of both byte orders, small and large pages, with and without page checksums (the test
//! inputs are synthetic: real headers, databases made by `altrepodb_testdata::rpmdb`).
//! Every database reads like Debian rpm reads it (`bdb_ro` cannot read checksummed pages:
//! those are compared with the SQLite database instead), and every installed header's
//! `pkg_hash` equals the package file's, although rpm moved SHA1HEADER / SIGMD5 from the
//! signature into the main header and added install tags.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use altrepodb_rpm::{read_package_bytes, Header, Package, Tag};
use altrepodb_rpmdb::bdb::{ByteOrder, HashMeta};
use altrepodb_rpmdb::{detect, open, Format};
use altrepodb_testdata::corpus;
use altrepodb_testdata::rpmdb::{bdb_packages, export_rpmdb, sqlite_rpmdb, BdbOptions};
use common::{ours, rpms};

/// Binary packages of the corpus that parse, with (N, V, R, A, SIGMD5) → pkg_hash.
fn corpus_binaries(td: &std::path::Path) -> (Vec<PathBuf>, HashMap<String, u64>) {
    let mut files = Vec::new();
    let mut stack = vec![td.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rpm") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut keep = Vec::new();
    let mut ids = HashMap::new();
    for p in files {
        let Ok(bytes) = read_package_bytes(&mut std::fs::File::open(&p).unwrap()) else {
            continue; // broken.rpm: rejected by the reader and by rpm
        };
        let pkg = Package::parse(&bytes).unwrap();
        let h = pkg.header();
        if h.is_source().unwrap() {
            continue; // rpm does not record source packages
        }
        let id = h.pkg_hash().unwrap();
        if let Some(old) = ids.insert(key(h), id) {
            assert_eq!(
                old,
                id,
                "{}: same header identity, other pkg_hash",
                p.display()
            );
        }
        keep.push(p);
    }
    (keep, ids)
}

fn key(h: &Header<'_>) -> String {
    let t = |tag| h.text(tag).unwrap().into_owned();
    format!(
        "{}-{}-{}.{} {}",
        t(Tag::NAME),
        t(Tag::VERSION),
        t(Tag::RELEASE),
        t(Tag::ARCH),
        hex::encode(h.bin(Tag::SIGMD5).unwrap().unwrap_or_default())
    )
}

#[test]
fn installed_headers_keep_pkg_hash_in_every_format() {
    let Some(td) = corpus::dir("installed_headers_keep_pkg_hash_in_every_format", "rpm") else {
        return;
    };
    let (rpm_files, ids) = corpus_binaries(&td);
    assert!(rpm_files.len() >= 25, "{} binary packages", rpm_files.len());
    let tmp = tempfile::tempdir().unwrap();

    // SQLite, made by rpm.
    let root = tmp.path().join("sqlite-root");
    let db = sqlite_rpmdb(&root, &rpm_files).unwrap();
    let bytes = std::fs::read(&db).unwrap();
    assert_eq!(detect(&bytes), Some(Format::Sqlite));
    let sqlite_view = ours(&bytes, "sqlite");
    assert_eq!(sqlite_view, rpms(db.parent().unwrap(), "sqlite"));
    let (mut matched, mut moved) = (0, 0);
    for inst in open(&bytes).unwrap() {
        let inst = inst.unwrap();
        let h = Header::from_blob(&inst.blob).unwrap();
        assert!(h.contains(Tag::INSTALLTIME), "{}: no install tags", key(&h));
        if h.contains(Tag::SIGMD5) {
            moved += 1; // a signature tag in every corpus file that has one
        }
        let want = ids
            .get(&key(&h))
            .unwrap_or_else(|| panic!("installed {} is no corpus file", key(&h)));
        assert_eq!(h.pkg_hash().unwrap(), *want, "{}", key(&h));
        matched += 1;
    }
    assert!(matched >= 20, "{matched} installed packages");
    assert!(moved >= 15, "SIGMD5 in {moved} installed headers");
    let by_instance = |view: &[(String, String)]| {
        let mut v = view.to_vec();
        v.sort_by_key(|(l, _)| l.split('\t').next().unwrap().parse::<u32>().unwrap());
        v
    };

    // Berkeley DB, from rpm's export of the same database.
    let exported = export_rpmdb(&root).unwrap();
    assert_eq!(exported.len(), matched);
    let layouts = [
        BdbOptions::default(),
        BdbOptions {
            big_endian: true,
            page_size: 512,
            checksums: false,
        },
        BdbOptions {
            big_endian: false,
            page_size: 1024,
            checksums: true,
        },
        BdbOptions {
            big_endian: true,
            page_size: 65536,
            checksums: true,
        },
    ];
    for (i, opts) in layouts.iter().enumerate() {
        let dir = tmp.path().join(format!("bdb{i}"));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("Packages");
        bdb_packages(&path, &exported, opts).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(detect(&bytes), Some(Format::BerkeleyDb));
        let meta = HashMeta::parse(&bytes).unwrap();
        let order = if opts.big_endian {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        };
        assert_eq!(
            (meta.byte_order, meta.page_size, meta.checksums),
            (order, opts.page_size, opts.checksums)
        );
        let view = ours(&bytes, &format!("{opts:?}"));
        if opts.checksums {
            // rpm's bdb_ro reads no checksummed pages ("error reading Packages database").
            assert_eq!(by_instance(&view), by_instance(&sqlite_view), "{opts:?}");
        } else {
            assert_eq!(view, rpms(&dir, "bdb_ro"), "{opts:?}");
            assert_eq!(by_instance(&view), by_instance(&sqlite_view), "{opts:?}");
        }
    }
}
