//! The rpmdb readers against every database in `shared/testdata/rpmdb`, with Debian's rpm
//! 4.18 as the reference (`rpm --dbpath DIR -qa --qf …`: natively for SQLite, through the
//! read-only `bdb_ro` backend for Berkeley DB). Debian's rpm has no NDB backend, so the NDB
//! database is compared with the package list published with it (go-rpmdb's fixture,
//! `expected-packages.csv`, made by rpm on SLE 15 SP3).
//!
//! Needs `rpm` on PATH (set-up installs it) and the corpus (see `altrepodb_testdata::corpus`).

mod common;

use altrepodb_rpm::{Header, Tag};
use altrepodb_rpmdb::{detect, open, Format};
use altrepodb_testdata::corpus;
use common::{db_file, ours, rpms};

/// Berkeley DB and SQLite databases of the corpus: (directory, file, format, rpm backend).
const NATIVE: &[(&str, &str, Format, &str)] = &[
    (
        "bdb-centos5-plain-go-rpmdb-debian",
        "Packages",
        Format::BerkeleyDb,
        "bdb_ro",
    ),
    (
        "bdb-ubi8-libuuid-go-rpmdb",
        "Packages",
        Format::BerkeleyDb,
        "bdb_ro",
    ),
    (
        "generated-bdb-from-alt-headers",
        "Packages",
        Format::BerkeleyDb,
        "bdb_ro",
    ),
    (
        "sqlite-cbl-mariner2-go-rpmdb",
        "rpmdb.sqlite",
        Format::Sqlite,
        "sqlite",
    ),
    (
        "sqlite-fedora33-libguestfs",
        "rpmdb.sqlite",
        Format::Sqlite,
        "sqlite",
    ),
    (
        "sqlite-fedora38-scancode",
        "rpmdb.sqlite",
        Format::Sqlite,
        "sqlite",
    ),
];

#[test]
fn every_bdb_and_sqlite_rpmdb_lists_like_rpm() {
    let Some(td) = corpus::dir("every_bdb_and_sqlite_rpmdb_lists_like_rpm", "rpmdb") else {
        return;
    };
    let mut total = 0;
    for &(sub, name, format, backend) in NATIVE {
        let tmp = tempfile::tempdir().unwrap();
        let file = db_file(&td.join(sub), name, tmp.path());
        // rpm wants the database alone in a writable directory (locks, -shm).
        let dir = tmp.path().join("db");
        std::fs::create_dir(&dir).unwrap();
        std::fs::copy(&file, dir.join(name)).unwrap();
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(detect(&bytes), Some(format), "{sub}");
        let got = ours(&bytes, sub);
        let want = rpms(&dir, backend);
        assert!(!want.is_empty(), "{sub}: rpm lists nothing");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.0, w.0, "{sub}: package {i}");
            assert_eq!(g.1, w.1, "{sub}: pkg_hash of package {i}: {}", w.0);
        }
        assert_eq!(got.len(), want.len(), "{sub}: package count");
        // The MANIFEST's facts: the same count as the recorded `rpm -qa`.
        let recorded = std::fs::read_to_string(td.join(sub).join("expected-rpm-qa.tsv")).unwrap();
        assert_eq!(got.len(), recorded.lines().count(), "{sub}");
        total += got.len();
    }
    eprintln!(
        "compared {total} installed headers in {} databases with rpm -qa",
        NATIVE.len()
    );
}

/// The packages of go-rpmdb's `sle15-bci/Packages.db` as arch, name, version-release, in
/// instance order: go-rpmdb's expected list for this file (its `rpmdb_testcase_test.go` at
/// commit d637bcc, lines 2985-3021, as quoted by fossa-cli's `test/Ndb/NdbSpec.hs`).
const SLE15_BCI: &[(&str, &str, &str)] = &[
    ("noarch", "system-user-root", "20190513-3.3.1"),
    ("x86_64", "filesystem", "15.0-11.3.2"),
    ("x86_64", "glibc", "2.31-9.3.2"),
    ("x86_64", "libpcre1", "8.45-20.10.1"),
    ("x86_64", "libgmp10", "6.1.2-4.6.1"),
    ("x86_64", "libgcc_s1", "11.2.1+git610-1.3.9"),
    ("x86_64", "libcap2", "2.26-4.6.1"),
    ("x86_64", "libstdc++6", "11.2.1+git610-1.3.9"),
    ("x86_64", "libncurses6", "6.1-5.9.1"),
    ("x86_64", "terminfo-base", "6.1-5.9.1"),
    ("x86_64", "libattr1", "2.4.47-2.19"),
    ("x86_64", "libselinux1", "3.0-1.31"),
    ("x86_64", "libreadline7", "7.0-19.6.1"),
    ("x86_64", "bash", "4.4-19.6.1"),
    ("x86_64", "libacl1", "2.2.52-4.3.1"),
    ("x86_64", "coreutils", "8.32-3.2.1"),
    ("x86_64", "sles-release", "15.3-55.4.1"),
    ("noarch", "ca-certificates-mozilla-prebuilt", "2.44-21.1"),
    ("x86_64", "libgpg-error0", "1.29-1.8"),
    ("x86_64", "libpopt0", "1.16-3.22"),
    ("noarch", "file-magic", "5.32-7.14.1"),
    ("x86_64", "libbz2-1", "1.0.6-5.11.1"),
    ("x86_64", "liblua5_3-5", "5.3.6-3.6.1"),
    ("x86_64", "liblzma5", "5.2.3-4.3.1"),
    ("x86_64", "libz1", "1.2.11-3.21.1"),
    ("x86_64", "libzstd1", "1.4.4-1.6.1"),
    ("x86_64", "libmagic1", "5.32-7.14.1"),
    ("x86_64", "libdw1", "0.168-4.5.3"),
    ("x86_64", "libebl-plugins", "0.168-4.5.3"),
    ("x86_64", "libelf1", "0.168-4.5.3"),
    ("x86_64", "libcrypt1", "4.4.15-2.51"),
    ("x86_64", "perl-base", "5.26.1-15.87"),
    ("x86_64", "libgcrypt20", "1.8.2-8.39.1"),
    ("noarch", "rpm-config-SUSE", "1-5.6.1"),
    ("x86_64", "rpm-ndb", "4.14.3-40.1"),
];

/// SLE 15 SP3's NDB `Packages.db` (go-rpmdb's fixture). Debian's rpm 4.18 has no NDB
/// backend (`_db_backend ndb` falls back to the dummy database and lists nothing), so the
/// references are (1) go-rpmdb's expected package list for this very file, and (2) the
/// `expected-packages.csv` that rpm printed on the system of a later snapshot of the same
/// fixture (`command.sh`; epoch, name, version, release, arch, source rpm, size, license,
/// vendor, summary, SIGMD5): every package of ours that is in that list with the same
/// version and release must equal its line field by field.
#[test]
fn ndb_lists_like_the_published_package_lists() {
    let Some(td) = corpus::dir("ndb_lists_like_the_published_package_lists", "rpmdb") else {
        return;
    };
    let d = td.join("ndb-sle15-bci-go-rpmdb");
    let bytes = std::fs::read(d.join("Packages.db")).unwrap();
    assert_eq!(detect(&bytes), Some(Format::Ndb));
    let mut rows: Vec<(u32, (String, String, String), String)> = open(&bytes)
        .unwrap()
        .map(|r| {
            let inst = r.unwrap();
            let h = Header::from_blob(&inst.blob).unwrap();
            let t = |tag| {
                if h.contains(tag) {
                    h.text(tag).unwrap().into_owned()
                } else {
                    String::new()
                }
            };
            let nevra = (
                t(Tag::ARCH),
                t(Tag::NAME),
                format!("{}-{}", t(Tag::VERSION), t(Tag::RELEASE)),
            );
            let line = [
                h.epoch()
                    .unwrap()
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
                t(Tag::NAME),
                t(Tag::VERSION),
                t(Tag::RELEASE),
                t(Tag::ARCH),
                t(Tag::SOURCERPM),
                h.u64(Tag::SIZE).unwrap().unwrap_or(0).to_string(),
                t(Tag::LICENSE),
                t(Tag::VENDOR),
                t(Tag::SUMMARY),
                hex::encode(h.bin(Tag::SIGMD5).unwrap().unwrap_or_default()),
            ]
            .join("¶");
            (inst.instance, nevra, line)
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(_, (a, n, vr), _)| (a.as_str(), n.as_str(), vr.as_str()))
        .collect();
    assert_eq!(got, SLE15_BCI);

    let csv = std::fs::read_to_string(d.join("expected-packages.csv")).unwrap();
    let mut same = 0;
    for (_, (_, name, vr), line) in &rows {
        let Some(want) = csv.lines().find(|l| {
            let f: Vec<&str> = l.split('¶').collect();
            f.len() == 11 && f[1] == name && format!("{}-{}", f[2], f[3]) == *vr
        }) else {
            continue;
        };
        assert_eq!(line, want);
        same += 1;
    }
    assert!(
        same >= 10,
        "only {same} packages unchanged between the snapshots"
    );
    eprintln!("NDB: 35 packages as published; {same} equal rpm's line field by field");
}

/// Reading speed (`cargo test --release -p altrepodb-rpmdb --test corpus -- --ignored
/// --nocapture`): MB/s and headers/s of each corpus database, blobs parsed by nothing.
#[test]
#[ignore]
fn read_speed() {
    let Some(td) = corpus::dir("read_speed", "rpmdb") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut dbs: Vec<(&str, &str)> = NATIVE.iter().map(|&(d, f, _, _)| (d, f)).collect();
    dbs.push(("ndb-sle15-bci-go-rpmdb", "Packages.db"));
    for (sub, name) in dbs {
        let bytes = std::fs::read(db_file(&td.join(sub), name, tmp.path())).unwrap();
        let rounds = 20;
        let start = std::time::Instant::now();
        let mut headers = 0;
        for _ in 0..rounds {
            headers += open(&bytes)
                .unwrap()
                .map(|h| h.unwrap().blob.len().min(1))
                .sum::<usize>();
        }
        let s = start.elapsed().as_secs_f64();
        eprintln!(
            "{sub}: {:.1} MB, {} headers: {:.0} MB/s, {:.0} headers/s",
            bytes.len() as f64 / 1e6,
            headers / rounds,
            bytes.len() as f64 * rounds as f64 / 1e6 / s,
            headers as f64 / s
        );
    }
}
