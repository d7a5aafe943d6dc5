//! Hostile task directories (issue 10 §4–5): generated tasks edited by hand so that a plan
//! names a path outside the task, a symlink leads out of it, or a file, log or list is larger
//! than its cap. Each is refused with an error naming the file, before any state row is
//! written.

mod common;
use altrepodb_testdata::task as taskgen;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use altrepodb_load::bounded::ReadLimits;
use altrepodb_load::task::{load_task, read_task, TaskDir, TaskLoadOptions};
use altrepodb_load::NoObserver;
use common::TestDb;
use taskgen::{generate_task, TaskManifest, TaskSpec};

fn task(out: &Path, id: u32, state: &str) -> TaskManifest {
    generate_task(
        out,
        &TaskSpec {
            id,
            state: state.into(),
            subtasks: 2,
            iterations: 1,
            seed: u64::from(id),
            ..TaskSpec::default()
        },
    )
    .unwrap()
}

fn read_err(dir: &Path, limits: ReadLimits) -> String {
    match TaskDir::open(dir).and_then(|d| read_task(&d.with_limits(limits))) {
        Ok(_) => panic!("{}: read succeeded", dir.display()),
        Err(e) => e.to_string(),
    }
}

fn read_ok(dir: &Path) {
    read_task(&TaskDir::open(dir).unwrap()).unwrap();
}

/// `path` moved to `outside` and replaced by an absolute symlink to its new place.
fn move_out(path: &Path, outside: &Path) -> PathBuf {
    let target = outside.join(path.file_name().unwrap());
    fs::rename(path, &target).unwrap();
    symlink(&target, path).unwrap();
    target
}

fn undo_move(path: &Path, target: &Path) {
    fs::remove_file(path).unwrap();
    fs::rename(target, path).unwrap();
}

#[test]
fn plan_paths_and_list_names_stay_inside() {
    let out = tempfile::tempdir().unwrap();
    let m = task(out.path(), 357_001, "DONE");
    read_ok(&m.dir);
    // plan/add-src and add-bin name the package files the loader opens.
    for (rel, field) in [("plan/add-src", 3), ("plan/add-bin", 4)] {
        let p = m.dir.join(rel);
        let good = fs::read_to_string(&p).unwrap();
        for (path, why) in [
            ("/etc/shadow", "starts with '/'"),
            ("build/../../../../etc/shadow", "contains a '..' component"),
        ] {
            let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
            let mut f: Vec<&str> = lines[0].split('\t').collect();
            f[field] = path;
            lines[0] = f.join("\t");
            fs::write(&p, lines.join("\n") + "\n").unwrap();
            let e = read_err(&m.dir, ReadLimits::default());
            assert!(
                e.contains(&format!(
                    "{}: line 1: '{path}' is not a relative path: {why}",
                    p.display()
                )),
                "{e}"
            );
        }
        fs::write(&p, good).unwrap();
    }
    // pkglist.task.xz names files of RPMS.task/.
    let list = m.dir.join("build/repo/x86_64/base/pkglist.task.xz");
    let mut data = Vec::new();
    liblzma::read::XzDecoder::new(fs::File::open(&list).unwrap())
        .read_to_end(&mut data)
        .unwrap();
    let name = m
        .packages
        .iter()
        .find(|p| p.role == "binary" && p.path.contains("/x86_64/"))
        .unwrap()
        .file_name
        .clone();
    let at = data
        .windows(name.len())
        .position(|w| w == name.as_bytes())
        .expect("the name is in the list");
    data[at..at + 3].copy_from_slice(b"../");
    let mut enc = liblzma::write::XzEncoder::new(fs::File::create(&list).unwrap(), 6);
    enc.write_all(&data).unwrap();
    enc.finish().unwrap();
    let e = read_err(&m.dir, ReadLimits::default());
    assert!(
        e.contains(&list.display().to_string())
            && e.contains("header at offset")
            && e.contains("is not a file name: contains '/'"),
        "{e}"
    );
}

#[test]
fn symlinks_out_of_the_task_are_refused() {
    let out = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let m = task(out.path(), 357_002, "DONE");
    let sub = m.subtasks[0].subtask_id;
    for rel in [
        "task/message".to_owned(),
        "info.json".to_owned(),
        "plan/add-bin".to_owned(),
        "build/repo/x86_64/base/pkglist.task.xz".to_owned(),
        format!("gears/{sub}"),
        format!("gears/{sub}/userid"),
        "logs".to_owned(),
    ] {
        let path = m.dir.join(&rel);
        let target = move_out(&path, outside.path());
        let e = read_err(&m.dir, ReadLimits::default());
        assert!(
            e.contains(&format!("{}: resolves to ", path.display())) && e.contains("outside"),
            "{rel}: {e}"
        );
        undo_move(&path, &target);
    }
    read_ok(&m.dir);
    // A link to a file that does not exist reads as a missing file, wherever it points.
    symlink("/nonexistent/file", m.dir.join("task/fail-early")).unwrap();
    read_ok(&m.dir);
}

async fn load_err(db: &TestDb, dir: &Path, limits: ReadLimits) -> String {
    let mut o = TaskLoadOptions::new(dir);
    o.workers = 2;
    o.limits = limits;
    load_task(db.db(), &o, Arc::new(NoObserver))
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

async fn no_state_rows(db: &TestDb, id: u32) {
    assert_eq!(
        db.count(&format!(
            "SELECT count() FROM TaskStates_buffer WHERE task_id = {id}"
        ))
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_packages_outside_the_task_fail_the_load() {
    let db = TestDb::new().await;
    let out = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    // The example: build/<n>/<arch>/log linked to any file would land in TaskLogs.
    let secret = outside.path().join("secret");
    fs::write(&secret, "[00:00:01] root:x:0:0:root:/root:/bin/bash\n").unwrap();
    let m = task(out.path(), 357_003, "EPERM");
    let log = m
        .logs
        .iter()
        .find(|l| l.kind == "build")
        .map(|l| m.dir.join(&l.path))
        .unwrap();
    fs::remove_file(&log).unwrap();
    symlink(&secret, &log).unwrap();
    let e = load_err(&db, &m.dir, ReadLimits::default()).await;
    assert!(
        e.contains(&format!(
            "{}: resolves to {}",
            log.display(),
            secret.display()
        )) && e.contains("outside"),
        "{e}"
    );
    no_state_rows(&db, m.id).await;
    assert_eq!(
        db.count("SELECT count() FROM TaskLogs_buffer WHERE tlog_message LIKE '%root:x:0:0%'")
            .await,
        0
    );
    // A package file linked out of the task.
    let m = task(out.path(), 357_004, "TESTED");
    let pkg = m.packages.iter().find(|p| !p.source).unwrap();
    let path = m.dir.join(&pkg.path);
    move_out(&path, outside.path());
    let e = load_err(&db, &m.dir, ReadLimits::default()).await;
    assert!(
        e.contains(&path.display().to_string()) && e.contains("outside"),
        "{e}"
    );
    no_state_rows(&db, m.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_logs_and_lists_over_their_caps_fail_the_load() {
    let db = TestDb::new().await;
    let out = tempfile::tempdir().unwrap();
    // A small file.
    let m = task(out.path(), 357_005, "EPERM");
    let msg = m.dir.join("task/message");
    fs::write(&msg, "x".repeat(2048)).unwrap();
    let small = ReadLimits {
        small_file_bytes: 1024,
        ..ReadLimits::default()
    };
    let e = load_err(&db, &m.dir, small).await;
    assert_eq!(
        e,
        format!(
            "{}: file is larger than the limit of 1024 bytes (set ALTREPODB_MAX_FILE_BYTES to change it)",
            msg.display()
        )
    );
    no_state_rows(&db, m.id).await;
    // A log: the largest log decides; one byte below it fails, at it the task loads.
    let largest = m
        .logs
        .iter()
        .map(|l| {
            (
                fs::metadata(m.dir.join(&l.path)).unwrap().len(),
                l.path.clone(),
            )
        })
        .max()
        .unwrap();
    let below = ReadLimits {
        log_bytes: largest.0 - 1,
        ..ReadLimits::default()
    };
    let e = load_err(&db, &m.dir, below).await;
    assert!(
        e.contains(&m.dir.join(&largest.1).display().to_string())
            && e.contains(&format!(
                "task log is larger than the limit of {} bytes (set ALTREPODB_MAX_LOG_BYTES",
                largest.0 - 1
            )),
        "{e}"
    );
    no_state_rows(&db, m.id).await;
    // An APT list.
    let tiny = ReadLimits {
        list_bytes: 100,
        ..ReadLimits::default()
    };
    let e = load_err(&db, &m.dir, tiny).await;
    assert!(
        e.contains("pkglist.task.xz")
            && e.contains("decompressed list is larger than the limit of 100 bytes"),
        "{e}"
    );
    no_state_rows(&db, m.id).await;
    // At the limits it loads.
    let exact = ReadLimits {
        log_bytes: largest.0,
        ..ReadLimits::default()
    };
    let mut o = TaskLoadOptions::new(&m.dir);
    o.workers = 2;
    o.limits = exact;
    load_task(db.db(), &o, Arc::new(NoObserver)).await.unwrap();
    assert_eq!(
        db.count(&format!(
            "SELECT count() FROM TaskStates_buffer WHERE task_id = {}",
            m.id
        ))
        .await,
        1
    );
}
