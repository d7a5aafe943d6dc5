//! repo_loader: day-to-day loads, refusals and bad input, on snapshots of real RPMs.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use altrepodb_load::repo::{load_repo, RepoLoadOptions};
use altrepodb_load::NoObserver;
use common::{snapshot_from_rpms, testdata, TestDb};

fn rpms(names: &[&str]) -> Option<Vec<PathBuf>> {
    let root = testdata()?.join("rpm");
    Some(names.iter().map(|n| root.join(n)).collect())
}

const DAY1: &[&str] = &[
    "fetch-alt-squidfw/squid-helpers-6.10-alt1.x86_64.rpm",
    "debian-rpm-4.18-tests/hello-1.0-1.src.rpm",
    "debian-rpm-4.18-tests/hello-2.0-1.x86_64.rpm",
    "debian-rpm-4.18-tests/foo-1.0-1.noarch.rpm",
];
const DAY2_NEW: &[&str] = &[
    "fetch-alt-squidfw/squid-helpers-7.3-alt1.x86_64.rpm",
    "debian-rpm-4.18-tests/foo-1.0-1.src.rpm",
    "pypi-rpmlint/ngircd-22-2.fc22.x86_64.rpm",
];

fn opts(path: &Path, date: &str) -> RepoLoadOptions {
    RepoLoadOptions {
        pkgset: "p10".into(),
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

async fn root_rows(t: &TestDb) -> u64 {
    t.count("SELECT count() FROM PackageSetName WHERE pkgset_depth = 0")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn day_two_reads_only_new_packages() {
    let (Some(day1), Some(new)) = (rpms(DAY1), rpms(DAY2_NEW)) else {
        return;
    };
    let t = TestDb::new().await;
    let d1 = tempfile::tempdir().unwrap();
    snapshot_from_rpms(d1.path(), &day1);
    let r1 = load_repo(t.db(), &opts(d1.path(), "2024-03-01"), Arc::new(NoObserver))
        .await
        .expect("day 1");
    assert_eq!(r1.packages_new, 4, "{}", r1.summary());
    let packages_after_day1 = t.count("SELECT count() FROM Packages_buffer").await;
    let files_after_day1 = t.count("SELECT count() FROM Files_buffer").await;

    let d2 = tempfile::tempdir().unwrap();
    let all: Vec<PathBuf> = day1.iter().chain(new.iter()).cloned().collect();
    let placed = snapshot_from_rpms(d2.path(), &all);
    // Proof that unchanged packages are not re-read: their files in the day-2 tree are
    // destroyed, while the lists still carry their original MD5 (as a real mirror would).
    for p in placed.iter().filter(|p| {
        day1.iter()
            .any(|d| d.file_name().unwrap().to_string_lossy() == p.file_name)
    }) {
        std::fs::write(&p.path, b"not an rpm").unwrap();
        if !p.source {
            std::fs::write(
                d2.path()
                    .join(&p.arch_dir)
                    .join("RPMS.classic")
                    .join(&p.file_name),
                b"x",
            )
            .unwrap();
        }
    }
    let r2 = load_repo(t.db(), &opts(d2.path(), "2024-03-02"), Arc::new(NoObserver))
        .await
        .expect("day 2");
    assert_eq!(r2.packages_seen, 7);
    assert_eq!(r2.packages_new, 3, "{}", r2.summary());
    let mut new_names = r2.new_packages.clone();
    new_names.sort();
    assert_eq!(
        new_names,
        [
            "foo-1.0-1.src.rpm",
            "ngircd-22-2.fc22.x86_64.rpm",
            "squid-helpers-7.3-alt1.x86_64.rpm"
        ]
    );
    assert_eq!(
        t.count("SELECT count() FROM Packages_buffer").await,
        packages_after_day1 + 3
    );
    assert!(t.count("SELECT count() FROM Files_buffer").await > files_after_day1);
    // Both days are visible; the branch's current state is day 2 with all 7 packages.
    assert_eq!(root_rows(&t).await, 2);
    assert_eq!(
        t.count("SELECT count() FROM static_last_packages WHERE pkgset_name = 'p10'")
            .await,
        7
    );
    assert_eq!(
        t.scalar("SELECT DISTINCT pkgset_date FROM static_last_packages WHERE pkgset_name = 'p10'")
            .await,
        "2024-03-02 00:00:00"
    );
    // A dry run of a third day writes nothing and finds nothing new.
    let mut dry = opts(d2.path(), "2024-03-03");
    dry.dry_run = true;
    let before = t.count("SELECT count() FROM PackageSetName").await;
    let r3 = load_repo(t.db(), &dry, Arc::new(NoObserver))
        .await
        .expect("dry run");
    assert_eq!(r3.packages_new, 0);
    assert_eq!(r3.rows.get("PackageSetName"), Some(&6));
    assert_eq!(t.count("SELECT count() FROM PackageSetName").await, before);
}

async fn load_err(t: &TestDb, path: &Path) -> String {
    let err = load_repo(t.db(), &opts(path, "2024-03-01"), Arc::new(NoObserver))
        .await
        .expect_err("the load must fail");
    assert_eq!(
        root_rows(t).await,
        0,
        "a failed load left a visible package set"
    );
    err.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_fails_cleanly_without_a_root_row() {
    let Some(day1) = rpms(DAY1) else {
        return;
    };
    let t = TestDb::new().await;

    // A corrupt RPM (listed with its real digests, so it is read and fails to parse).
    let d = tempfile::tempdir().unwrap();
    let placed = snapshot_from_rpms(d.path(), &day1);
    let victim = placed.iter().find(|p| !p.source).unwrap();
    let comp_file = d
        .path()
        .join(&victim.arch_dir)
        .join("RPMS.classic")
        .join(&victim.file_name);
    let mut bytes = std::fs::read(&comp_file).unwrap();
    bytes.truncate(200);
    std::fs::write(&comp_file, &bytes).unwrap();
    let msg = load_err(&t, d.path()).await;
    assert!(msg.contains(&victim.file_name), "{msg}");
    assert!(msg.contains("offset"), "{msg}");

    // A package listed in a pkglist but missing from the tree.
    let d = tempfile::tempdir().unwrap();
    let placed = snapshot_from_rpms(d.path(), &day1);
    let victim = placed.iter().find(|p| !p.source).unwrap();
    std::fs::remove_file(
        d.path()
            .join(&victim.arch_dir)
            .join("RPMS.classic")
            .join(&victim.file_name),
    )
    .unwrap();
    let msg = load_err(&t, d.path()).await;
    assert!(
        msg.contains(&victim.file_name) && msg.contains("missing"),
        "{msg}"
    );

    // A malformed release file.
    let d = tempfile::tempdir().unwrap();
    snapshot_from_rpms(d.path(), &day1);
    std::fs::write(
        d.path().join("x86_64/base/release"),
        "Origin: ALT Linux Team\nno components here\n",
    )
    .unwrap();
    let msg = load_err(&t, d.path()).await;
    assert!(
        msg.contains("x86_64/base/release") && msg.contains("Components"),
        "{msg}"
    );

    // Not a repository at all.
    let d = tempfile::tempdir().unwrap();
    let msg = load_err(&t, d.path()).await;
    assert!(
        msg.contains("not regular repository structure root"),
        "{msg}"
    );

    // A truncated header list.
    let d = tempfile::tempdir().unwrap();
    snapshot_from_rpms(d.path(), &day1);
    let list = d.path().join("x86_64/base/pkglist.classic.xz");
    let raw = altrepodb_load::repo::layout::read_xz(&list).unwrap();
    let f = std::fs::File::create(&list).unwrap();
    let mut enc = liblzma::write::XzEncoder::new(f, 1);
    std::io::Write::write_all(&mut enc, &raw[..raw.len() - 10]).unwrap();
    enc.finish().unwrap();
    let msg = load_err(&t, d.path()).await;
    assert!(
        msg.contains("pkglist.classic.xz") && msg.contains("offset"),
        "{msg}"
    );

    // Nothing of the failed loads is visible; a good load afterwards works.
    let d = tempfile::tempdir().unwrap();
    snapshot_from_rpms(d.path(), &day1);
    load_repo(t.db(), &opts(d.path(), "2024-03-01"), Arc::new(NoObserver))
        .await
        .expect("good load");
    assert_eq!(root_rows(&t).await, 1);
    assert_eq!(t.count("SELECT count() FROM static_last_packages").await, 4);
}
