//! repo_loader on generated snapshots: the database holds exactly what the generator put in.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use altrepodb_load::repo::{load_repo, RepoLoadOptions};
use altrepodb_load::NoObserver;
use altrepodb_rpm::mmhash;
use altrepodb_testdata::manifest::{PackageKind, PackageRecord};
use altrepodb_testdata::{generate_next_day, generate_repo, RepoSpec};
use common::TestDb;

fn opts(path: &std::path::Path, date: &str) -> RepoLoadOptions {
    RepoLoadOptions {
        pkgset: "Sisyphus".into(),
        path: path.to_owned(),
        date: date.into(),
        tag: String::new(),
        workers: 2,
        force: false,
        dry_run: false,
        limits: Default::default(),
        skip_bad: false,
    }
}

/// Checks every package of `records` row by row.
async fn check_packages(t: &TestDb, records: &[PackageRecord]) {
    for r in records {
        let h = r.pkg_hash;
        let row = t
            .lines(&format!(
                "SELECT pkg_name, pkg_epoch, pkg_version, pkg_release, pkg_arch, pkg_buildtime, pkg_filename, \
                 pkg_srcrpm_hash, pkg_sourcepackage, pkg_disttag, hex(pkg_cs) FROM Packages_buffer WHERE pkg_hash = {h}"
            ))
            .await;
        let expected = format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.name,
            r.epoch.unwrap_or(0),
            r.version,
            r.release,
            r.pkg_arch,
            r.buildtime,
            r.file_name,
            r.srcrpm_hash,
            u8::from(r.kind == PackageKind::Source),
            r.disttag,
            r.sha1header.to_uppercase()
        );
        assert_eq!(row, [expected], "{}", r.file_name);
        let n = t
            .count(&format!(
                "SELECT count() FROM Files_buffer WHERE pkg_hash = {h}"
            ))
            .await;
        assert_eq!(n, r.files, "files of {}", r.file_name);
        let deps = t
            .lines(&format!(
                "SELECT dp_type, count() FROM Depends_buffer WHERE pkg_hash = {h} GROUP BY dp_type"
            ))
            .await;
        let mut want: Vec<String> = [
            ("require", r.requires),
            ("conflict", r.conflicts),
            ("obsolete", r.obsoletes),
            ("provide", r.provides),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k}\t{n}"))
        .collect();
        want.sort();
        assert_eq!(deps, want, "depends of {}", r.file_name);
        // Changelog: the arrays in Packages, the hash = murmurHash3_64(text), the text stored.
        let want_hashes: Vec<u64> = r
            .changelog
            .iter()
            .map(|c| mmhash(c.text.as_bytes()))
            .collect();
        let got = t
            .scalar(&format!(
                "SELECT pkg_changelog.hash FROM Packages_buffer WHERE pkg_hash = {h}"
            ))
            .await;
        let want_str = format!(
            "[{}]",
            want_hashes
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(got, want_str, "changelog hashes of {}", r.file_name);
        let evrs = t
            .scalar(&format!(
                "SELECT pkg_changelog.evr FROM Packages_buffer WHERE pkg_hash = {h}"
            ))
            .await;
        for c in &r.changelog {
            assert!(
                evrs.contains(&format!("'{}'", c.evr)),
                "{evrs} lacks {}",
                c.evr
            );
        }
        for (c, hash) in r.changelog.iter().zip(&want_hashes) {
            let n = t
                .count(&format!(
                    "SELECT count() FROM Changelog_buffer WHERE chlog_hash = {hash} AND chlog_hash = murmurHash3_64(chlog_text) \
                     AND length(chlog_text) = {}",
                    c.text.len()
                ))
                .await;
            assert_eq!(n, 1, "changelog text of {}", r.file_name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_snapshot_rows_equal_the_manifest_and_day_two_adds_only_new() {
    let dir = tempfile::tempdir().unwrap();
    let day1 = dir.path().join("day1");
    let day2 = dir.path().join("day2");
    let m1 = generate_repo(&day1, &RepoSpec::new(40, 11)).expect("generate");
    let m2 = generate_next_day(&day1, &day2, 10.0, 12).expect("next day");
    let r1: Vec<PackageRecord> = m1.load_packages().unwrap();
    let r2: Vec<PackageRecord> = m2.load_packages().unwrap();

    let t = TestDb::new().await;
    let rep = load_repo(t.db(), &opts(&day1, "2024-01-15"), Arc::new(NoObserver))
        .await
        .expect("day 1");
    assert_eq!(rep.packages_new, r1.len(), "{}", rep.summary());
    let hashes1: BTreeSet<u64> = r1.iter().map(|r| r.pkg_hash).collect();
    let in_db: BTreeSet<u64> = t
        .lines("SELECT pkg_hash FROM Packages_buffer")
        .await
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(in_db, hashes1, "pkg_hash values");
    check_packages(&t, &r1).await;
    assert_eq!(
        t.count("SELECT count() FROM PackageHash_buffer").await,
        r1.len() as u64
    );
    let digests = t
        .lines("SELECT pkgh_mmh, lower(hex(pkgh_md5)), lower(hex(pkgh_sha256)), lower(hex(pkgh_blake2b)), lower(hex(pkgh_sha1)) FROM PackageHash_buffer")
        .await;
    let mut want: Vec<String> = r1
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\t{}\t{}\t{}",
                r.pkg_hash, r.md5, r.sha256, r.blake2b, r.sha1header
            )
        })
        .collect();
    want.sort();
    assert_eq!(digests, want, "PackageHash rows");
    // Every file row has its name hashes; file names are in FileNames.
    let files: u64 = r1.iter().map(|r| r.files).sum();
    assert_eq!(t.count("SELECT count() FROM Files_buffer").await, files);
    assert_eq!(
        t.count("SELECT count() FROM Files_buffer WHERE file_hashname NOT IN (SELECT fn_hash FROM FileNames_buffer)")
            .await,
        0,
        "every file name is in FileNames"
    );

    // The package-set tree and its sizes.
    let sources: Vec<&PackageRecord> = r1
        .iter()
        .filter(|r| r.kind == PackageKind::Source)
        .collect();
    let mut by_arch: BTreeMap<&str, usize> = BTreeMap::new();
    for r in r1.iter().filter(|r| r.kind == PackageKind::Binary) {
        *by_arch.entry(r.arch_dir.as_str()).or_default() += 1;
    }
    let tree = t
        .lines(
            "SELECT pkgset_depth, pkgset_nodename, pkgset_kv.v[indexOf(pkgset_kv.k, 'size')], \
             pkgset_kv.v[indexOf(pkgset_kv.k, 'path')] FROM PackageSetName",
        )
        .await;
    let mut want_tree = vec![
        format!("0\tsisyphus\t{}\t", r1.len()),
        format!("1\tsrpm\t{}\t", sources.len()),
    ];
    for (arch, n) in &by_arch {
        want_tree.push(format!("1\t{arch}\t0\t{arch}"));
        want_tree.push(format!("2\tclassic\t{n}\t{arch}/RPMS.classic"));
    }
    want_tree.sort();
    assert_eq!(tree, want_tree, "package-set tree");
    assert_eq!(
        t.count("SELECT count() FROM static_last_packages WHERE pkgset_name = 'sisyphus'")
            .await,
        r1.len() as u64
    );

    // Day two: only the packages that are new are read; the branch state is day two.
    let hashes2: BTreeSet<u64> = r2.iter().map(|r| r.pkg_hash).collect();
    let fresh: Vec<PackageRecord> = r2
        .iter()
        .filter(|r| !hashes1.contains(&r.pkg_hash))
        .cloned()
        .collect();
    assert!(!fresh.is_empty());
    let rep = load_repo(t.db(), &opts(&day2, "2024-01-16"), Arc::new(NoObserver))
        .await
        .expect("day 2");
    assert_eq!(rep.packages_new, fresh.len(), "{}", rep.summary());
    let mut read: Vec<String> = rep.new_packages.clone();
    read.sort();
    let mut want_read: Vec<String> = fresh.iter().map(|r| r.file_name.clone()).collect();
    want_read.sort();
    assert_eq!(read, want_read, "exactly the new packages were read");
    check_packages(&t, &fresh).await;
    let state: BTreeSet<u64> = t
        .lines("SELECT pkg_hash FROM static_last_packages WHERE pkgset_name = 'sisyphus'")
        .await
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(state, hashes2, "static_last_packages is day two");
    let last: BTreeSet<u64> = t
        .lines("SELECT pkg_hash FROM last_packages WHERE pkgset_name = 'sisyphus'")
        .await
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(last, hashes2, "last_packages is day two");
}

/// A corrupt binary package: without `--skip-bad` the load fails naming the file and leaves
/// no package set; with it the file is reported (path and reason) and is no member of the
/// package set, and everything else loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_package_fails_the_load_or_is_skipped_with_skip_bad() {
    let dir = tempfile::tempdir().unwrap();
    let m = generate_repo(dir.path(), &RepoSpec::new(6, 5)).expect("generate");
    let records: Vec<PackageRecord> = m.load_packages().unwrap();
    let bad = records
        .iter()
        .find(|r| r.kind == PackageKind::Binary)
        .expect("a binary package");
    let bad_path = dir.path().join(bad.classic_path.as_ref().unwrap());
    // A real package cut short inside its main header (as a torn download leaves it).
    // Replacing (not rewriting) the file keeps a hard-linked twin intact.
    let bytes = std::fs::read(&bad_path).unwrap();
    let cut = altrepodb_rpm::Package::parse(&bytes)
        .expect("the generated package parses")
        .payload_offset() as usize
        - 64;
    std::fs::remove_file(&bad_path).unwrap();
    std::fs::write(&bad_path, &bytes[..cut]).unwrap();
    // Debian's rpm agrees that the file is broken.
    let rpm = std::process::Command::new("rpm")
        .args(["-qp", "--nosignature", "--nodigest", "--qf", "%{NAME}"])
        .arg(&bad_path)
        .output()
        .expect("Debian rpm is installed (scripts/setup.sh)");
    assert!(!rpm.status.success(), "rpm -qp reads the cut file");

    let t = TestDb::new().await;
    let err = load_repo(
        t.db(),
        &opts(dir.path(), "2024-01-15"),
        Arc::new(NoObserver),
    )
    .await
    .expect_err("a corrupt package fails the load");
    let msg = err.to_string();
    assert!(msg.contains(&bad.file_name), "{msg}");
    assert!(msg.contains("offset") && !msg.contains('\n'), "{msg}");
    assert_eq!(
        t.count("SELECT count() FROM PackageSetName WHERE pkgset_depth = 0")
            .await,
        0,
        "no visible package set after a failed load"
    );

    let mut o = opts(dir.path(), "2024-01-15");
    o.skip_bad = true;
    let rep = load_repo(t.db(), &o, Arc::new(NoObserver))
        .await
        .expect("--skip-bad load");
    assert_eq!(rep.skipped.len(), 1, "{:?}", rep.skipped);
    assert!(
        rep.skipped[0].location.ends_with(&bad.file_name),
        "{:?}",
        rep.skipped[0]
    );
    assert!(
        rep.skipped[0].reason.contains("offset"),
        "{:?}",
        rep.skipped[0]
    );
    assert_eq!(
        t.count("SELECT count() FROM PackageSetName WHERE pkgset_depth = 0")
            .await,
        1,
        "the package set is visible"
    );
    assert!(rep.summary().contains("1 skipped"), "{}", rep.summary());
    // The failed load may have completed some packages (insert-if-absent, no root); the two
    // loads together stored every package but the corrupt one.
    assert_eq!(
        t.count("SELECT count(DISTINCT pkgh_mmh) FROM PackageHash_buffer")
            .await,
        records.len() as u64 - 1,
        "{}",
        rep.summary()
    );
    assert_eq!(
        t.count(&format!(
            "SELECT count() FROM Packages_buffer WHERE pkg_hash = {}",
            bad.pkg_hash
        ))
        .await,
        0
    );
    let members: BTreeSet<u64> = t
        .lines("SELECT pkg_hash FROM PackageSet_buffer")
        .await
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    let want: BTreeSet<u64> = records
        .iter()
        .filter(|r| r.pkg_hash != bad.pkg_hash)
        .map(|r| r.pkg_hash)
        .collect();
    assert_eq!(
        members, want,
        "the corrupt package is no member of the package set"
    );
}
