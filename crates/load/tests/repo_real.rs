//! repo_loader on a snapshot built from the real third-party RPMs of the test corpus, checked
//! table by table against what Debian's `rpm` says about the same files.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use altrepodb_load::repo::{load_repo, RepoLoadOptions};
use altrepodb_load::NoObserver;
use altrepodb_rpm::pkg_hash;
use common::{rpm_qf, snapshot_from_rpms, testdata, TestDb};

fn corpus() -> Option<Vec<PathBuf>> {
    let root = testdata()?.join("rpm");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()? {
            let p = e.ok()?.path();
            if p.is_dir() {
                // Truncated and corrupt files are for the error tests.
                if !p.ends_with("fetch-scancode-truncated") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rpm")
                && !p.to_string_lossy().contains("corrupted")
            {
                // rpm 6 packages carry neither SHA1HEADER nor SIGMD5, so the original's pkg_hash
                // formula gives every one of them built in the same second the same id; ALT's
                // packages always have both. They are read (rpm show tests) but not loaded here.
                if !rpm_qf(&p, "%{SHA1HEADER}").starts_with("(none)") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    Some(out)
}

fn hex_or_empty(s: &str) -> Vec<u8> {
    if s == "(none)" {
        Vec::new()
    } else {
        hex::decode(s).unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_rpms_load_table_by_table() {
    let Some(rpms) = corpus() else {
        return;
    };
    let snap = tempfile::tempdir().unwrap();
    let placed = snapshot_from_rpms(snap.path(), &rpms);
    let t = TestDb::new().await;
    let opts = RepoLoadOptions {
        pkgset: "Sisyphus".into(),
        path: snap.path().to_owned(),
        date: "2024-03-01".into(),
        tag: "test".into(),
        workers: 2,
        force: false,
        dry_run: false,
        limits: Default::default(),
        skip_bad: false,
    };
    let report = load_repo(t.db(), &opts, Arc::new(NoObserver))
        .await
        .expect("load");
    assert_eq!(report.packages_seen, placed.len());

    // Identity and header fields, per file, against rpm's own reading.
    let mut expected_hashes = Vec::new();
    for p in &placed {
        let q = rpm_qf(
            &p.path,
            "%{NAME}\t%{VERSION}\t%{RELEASE}\t%{BUILDTIME}\t%{SHA1HEADER}\t%{SIGMD5}\t%{SIGGPG}\t%{SOURCERPM}\n",
        );
        let f: Vec<&str> = q.trim_end_matches('\n').split('\t').collect();
        let sha1 = if f[4] == "(none)" { "" } else { f[4] };
        let h = pkg_hash(
            f[3].parse().unwrap(),
            sha1.as_bytes(),
            &hex_or_empty(f[5]),
            &hex_or_empty(f[6]),
        )
        .unwrap();
        expected_hashes.push(h);
        let row = t
            .lines(&format!(
                "SELECT pkg_name, pkg_version, pkg_release, pkg_buildtime, pkg_filename, pkg_sourcepackage, pkg_sourcerpm \
                 FROM Packages_buffer WHERE pkg_hash = {h}"
            ))
            .await;
        if expected_hashes[..expected_hashes.len() - 1].contains(&h) {
            // Same header under another file name (e.g. the signed copy of a package): one
            // identity, one row, as in the original.
            continue;
        }
        let srcrpm = if p.source {
            p.file_name.clone()
        } else {
            f[7].replace("(none)", "")
        };
        assert_eq!(
            row,
            [format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                f[0],
                f[1],
                f[2],
                f[3],
                p.file_name,
                u8::from(p.source),
                srcrpm
            )],
            "{}",
            p.file_name
        );
        let files = rpm_qf(&p.path, "[%{FILENAMES}\n]").lines().count() as u64;
        let n = t
            .count(&format!(
                "SELECT count() FROM Files_buffer WHERE pkg_hash = {h}"
            ))
            .await;
        assert_eq!(n, files, "files of {}", p.file_name);
        let requires = rpm_qf(&p.path, "[%{REQUIRENAME}\n]").lines().count() as u64;
        let n = t
            .count(&format!(
                "SELECT count() FROM Depends_buffer WHERE pkg_hash = {h} AND dp_type = 'require'"
            ))
            .await;
        assert_eq!(n, requires, "requires of {}", p.file_name);
        let provides = rpm_qf(&p.path, "[%{PROVIDENAME}\n]").lines().count() as u64;
        let n = t
            .count(&format!(
                "SELECT count() FROM Depends_buffer WHERE pkg_hash = {h} AND dp_type = 'provide'"
            ))
            .await;
        assert_eq!(n, provides, "provides of {}", p.file_name);
        let chlog = rpm_qf(&p.path, "[%{CHANGELOGTIME}\n]").lines().count() as u64;
        let n = t
            .count(&format!(
                "SELECT length(pkg_changelog.hash) FROM Packages_buffer WHERE pkg_hash = {h}"
            ))
            .await;
        assert_eq!(n, chlog, "changelog of {}", p.file_name);
    }
    expected_hashes.sort_unstable();
    expected_hashes.dedup();

    // Every package exactly once, and its PackageHash row with the file digests.
    assert_eq!(
        t.count("SELECT count() FROM Packages_buffer").await,
        expected_hashes.len() as u64
    );
    // One PackageHash row per file (a header under two file names has two).
    assert_eq!(
        t.count("SELECT count() FROM PackageHash_buffer").await,
        placed.len() as u64
    );
    assert_eq!(
        t.count("SELECT count() FROM PackageHash_buffer WHERE pkgh_md5 = toFixedString('', 16) OR pkgh_sha256 = toFixedString('', 32)")
            .await,
        0
    );
    // Changelog hashes are ClickHouse's murmurHash3_64 of the text, and every package's hashes resolve.
    assert_eq!(
        t.count(
            "SELECT count() FROM Changelog_buffer WHERE chlog_hash != murmurHash3_64(chlog_text)"
        )
        .await,
        0
    );
    assert_eq!(
        t.count(
            "SELECT count() FROM (SELECT arrayJoin(pkg_changelog.hash) AS h FROM Packages_buffer) \
             WHERE h NOT IN (SELECT chlog_hash FROM Changelog_buffer)"
        )
        .await,
        0
    );
    // Files: name hashes computed by the MVs, file names present.
    assert_eq!(
        t.count("SELECT count() FROM Files_view WHERE file_hashname != murmurHash3_64(file_name)")
            .await,
        0
    );
    // Spec files of the source packages that have one.
    let sources = placed.iter().filter(|p| p.source).count() as u64;
    let specs = t.count("SELECT count() FROM Specfiles_buffer").await;
    assert!(
        specs >= 1 && specs <= sources,
        "{specs} spec files for {sources} sources"
    );

    // The tree: root, srpm, two arches, two components.
    let tree = t
        .lines("SELECT pkgset_depth, pkgset_nodename FROM PackageSetName WHERE pkgset_date = '2024-03-01'")
        .await;
    assert_eq!(
        tree,
        [
            "0\tsisyphus",
            "1\tnoarch",
            "1\tsrpm",
            "1\tx86_64",
            "2\tclassic",
            "2\tclassic"
        ]
    );
    let kv = t
        .scalar("SELECT pkgset_kv.v FROM PackageSetName WHERE pkgset_depth = 0 AND pkgset_nodename = 'sisyphus'")
        .await;
    assert!(
        kv.contains("'repository'") && kv.contains("'123456'"),
        "{kv}"
    );
    assert_eq!(
        t.count("SELECT count() FROM PackageSet_buffer").await,
        expected_hashes.len() as u64
    );

    // The branch state views show the snapshot.
    let state = t
        .count("SELECT count() FROM static_last_packages WHERE pkgset_name = 'sisyphus' AND pkgset_date = '2024-03-01'")
        .await;
    assert_eq!(state, expected_hashes.len() as u64);
    assert_eq!(
        t.count("SELECT count() FROM last_packages WHERE pkgset_name = 'sisyphus'")
            .await,
        expected_hashes.len() as u64
    );

    // Loading the same date again is refused; --force replaces without doubling anything.
    let err = load_repo(t.db(), &opts, Arc::new(NoObserver))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already loaded"), "{err}");
    let forced = RepoLoadOptions {
        force: true,
        ..opts.clone()
    };
    let again = load_repo(t.db(), &forced, Arc::new(NoObserver))
        .await
        .expect("forced reload");
    assert_eq!(again.packages_new, 0, "{}", again.summary());
    assert_eq!(t.count("SELECT count() FROM PackageSetName").await, 6);
    assert_eq!(
        t.count("SELECT count() FROM Packages_buffer").await,
        expected_hashes.len() as u64
    );
    assert_eq!(
        t.count("SELECT count() FROM static_last_packages WHERE pkgset_name = 'sisyphus'")
            .await,
        expected_hashes.len() as u64
    );
}
