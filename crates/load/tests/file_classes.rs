//! `Files.file_class` through the loaders, as librpm reports file classes: a repo snapshot and
//! a task whose directories, symbolic links and special files have an empty CLASSDICT entry
//! (or no FILECLASS at all) load `directory`, `symlink`, … rows. Expected values come from
//! Debian's `rpm -qp --qf '[%{FILEMODES} %{FILECLASS}]'` mapped by the original's prefix rule
//! (original-system §11), never from our reader.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use altrepodb_load::repo::{load_repo, RepoLoadOptions};
use altrepodb_load::task::{load_task, TaskLoadOptions};
use altrepodb_load::NoObserver;
use altrepodb_rpm::writer::{FileSpec, PackageBuilder};
use altrepodb_testdata::task::{generate_task, TaskSpec};
use common::{rpm_qf, snapshot_from_rpms, testdata, TestDb};

/// The original's mapping of a FILECLASS string to the `file_class` Enum8: the first matching
/// prefix. A string matching none (a `file(1)` description such as `ASCII text`) made the
/// original's insert fail; this project stores `file` (README, deliberate differences).
fn mapped(class: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 7] = [
        ("directory", "directory"),
        ("symbolic link to", "symlink"),
        ("socket", "socket"),
        ("character special", "char"),
        ("block special", "block"),
        ("fifo (named pipe)", "fifo"),
        ("file", "file"),
    ];
    PREFIXES
        .iter()
        .find(|(p, _)| class.starts_with(p))
        .map_or("file", |(_, c)| c)
}

/// `name \t mode \t class` of every file of `rpm`, as Debian's rpm reports them.
fn rpm_files(rpm: &Path) -> Vec<String> {
    let mut v: Vec<String> = rpm_qf(rpm, "[%{FILENAMES}\t%{FILEMODES}\t%{FILECLASS}\n]")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(3, '\t').collect();
            format!("{}\t{}\t{}", f[0], f[1], mapped(f[2]))
        })
        .collect();
    v.sort();
    v
}

/// The same columns of the package's `Files` rows.
async fn db_files(t: &TestDb, pkg_hash: u64) -> Vec<String> {
    t.lines(&format!(
        "SELECT DISTINCT file_name, file_mode, file_class FROM Files_view WHERE pkg_hash = {pkg_hash}"
    ))
    .await
}

/// Every file kind; `classes`: None = no FILECLASS/CLASSDICT (ALT's rpm), Some(true) = the
/// class words stored, Some(false) = empty class strings for everything but the regular file
/// (what current rpmbuild writes for directories and symbolic links).
fn special_package(name: &str, classes: Option<bool>) -> PackageBuilder {
    let class = |f: FileSpec| match classes {
        Some(false) => f.class(""),
        _ => f,
    };
    let root = format!("/srv/{name}");
    PackageBuilder::new(name, "1.0", "alt1", "x86_64")
        .sourcerpm("special-1.0-alt1.src.rpm")
        .file_classes(classes.is_some())
        .file(class(FileSpec::dir(&root)))
        .file(class(FileSpec::dir(format!("{root}/sub")).mode(0o750)))
        .file(class(FileSpec::symlink(format!("{root}/link"), "sub")))
        .file(class(FileSpec::symlink(
            format!("{root}/dangling"),
            "/nonexistent",
        )))
        .file(class(FileSpec::fifo(format!("{root}/fifo"))))
        .file(class(FileSpec::socket(format!("{root}/sock"))))
        .file(class(FileSpec::char_device(format!("/dev/{name}-c"), 1, 3)))
        .file(class(FileSpec::block_device(
            format!("/dev/{name}-b"),
            8,
            0,
        )))
        .file(FileSpec::file(
            format!("{root}/data.txt"),
            b"data\n".to_vec(),
        ))
}

fn write_special_packages(dir: &Path) -> Vec<PathBuf> {
    let src = PackageBuilder::new_source("special", "1.0", "alt1", "x86_64")
        .spec_file("special.spec", b"Name: special\n".to_vec());
    let mut out = Vec::new();
    for b in [
        src,
        special_package("special-noclass", None),
        special_package("special-words", Some(true)),
        special_package("special-empty", Some(false)),
    ] {
        let pkg = b.build_package().expect("build package");
        let path = dir.join(&pkg.file_name);
        pkg.write_to(&path).unwrap();
        out.push(path);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repo_snapshot_loads_librpm_file_classes() {
    let rpms_dir = tempfile::tempdir().unwrap();
    let mut rpms = write_special_packages(rpms_dir.path());
    // A real ALT package: 184 directories and symbolic links without a class string.
    match testdata() {
        Some(root) => rpms.push(root.join("rpm/fetch-alt-squidfw/squid-7.3-alt1.x86_64.rpm")),
        None => eprintln!("TEST: skipped part: the ALT squid package (set ALTREPODB_TESTDATA)"),
    }
    let snap = tempfile::tempdir().unwrap();
    let placed = snapshot_from_rpms(snap.path(), &rpms);
    let t = TestDb::new().await;
    let opts = RepoLoadOptions {
        pkgset: "Sisyphus".into(),
        path: snap.path().to_owned(),
        date: "2024-03-01".into(),
        tag: String::new(),
        workers: 2,
        force: false,
        dry_run: false,
        limits: Default::default(),
        skip_bad: false,
    };
    load_repo(t.db(), &opts, Arc::new(NoObserver))
        .await
        .expect("load");
    let mut kinds = std::collections::BTreeSet::new();
    for p in &placed {
        let h: u64 = t
            .scalar(&format!(
                "SELECT pkg_hash FROM Packages_buffer WHERE pkg_filename = '{}'",
                p.file_name
            ))
            .await
            .parse()
            .unwrap_or_else(|_| panic!("{} is loaded", p.file_name));
        let want = rpm_files(&p.path);
        assert_eq!(db_files(&t, h).await, want, "{}", p.file_name);
        kinds.extend(
            want.iter()
                .map(|l| l.rsplit('\t').next().unwrap().to_owned()),
        );
    }
    // The fixture really has every kind, so the comparison above covered each.
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "block",
            "char",
            "directory",
            "fifo",
            "file",
            "socket",
            "symlink"
        ]
    );
    if testdata().is_some() {
        let squid = t
            .lines(
                "SELECT file_class, count() FROM Files_buffer WHERE pkg_hash IN \
                 (SELECT pkg_hash FROM Packages_buffer WHERE pkg_filename = 'squid-7.3-alt1.x86_64.rpm') \
                 AND file_class != 'file' GROUP BY file_class",
            )
            .await;
        let want = rpm_files(
            &testdata()
                .unwrap()
                .join("rpm/fetch-alt-squidfw/squid-7.3-alt1.x86_64.rpm"),
        );
        let count = |c: &str| {
            want.iter()
                .filter(|l| l.ends_with(&format!("\t{c}")))
                .count()
        };
        assert_eq!(
            squid,
            [
                format!("directory\t{}", count("directory")),
                format!("symlink\t{}", count("symlink"))
            ]
        );
        assert_eq!(count("directory") + count("symlink"), 184);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_loads_librpm_file_classes() {
    let out = tempfile::tempdir().unwrap();
    let spec = TaskSpec {
        id: 356_000,
        state: "DONE".into(),
        subtasks: 2,
        seed: 4,
        ..TaskSpec::default()
    };
    let m = generate_task(out.path(), &spec).expect("generate task");
    let t = TestDb::new().await;
    let mut o = TaskLoadOptions::new(&m.dir);
    o.workers = 2;
    load_task(t.db(), &o, Arc::new(NoObserver))
        .await
        .expect("load task");
    let mut classes = std::collections::BTreeSet::new();
    let mut empty_dict = 0;
    for p in &m.packages {
        let path = m.dir.join(&p.path);
        let want = rpm_files(&path);
        assert_eq!(db_files(&t, p.pkg_hash).await, want, "{}", p.path);
        classes.extend(
            want.iter()
                .map(|l| l.rsplit('\t').next().unwrap().to_owned()),
        );
        if rpm_qf(&path, "[%{CLASSDICT}\n]").lines().any(str::is_empty) {
            empty_dict += 1;
        }
    }
    assert!(empty_dict > 0, "some package has empty CLASSDICT entries");
    assert_eq!(
        classes.into_iter().collect::<Vec<_>>(),
        ["directory", "file", "symlink"]
    );
}
