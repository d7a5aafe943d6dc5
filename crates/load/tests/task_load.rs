//! task_loader and task_cleaner against the real embedded ClickHouse, on tasks made by the
//! task generator (`altrepodb_testdata::task`): every task table row
//! by row against the generator's manifest, reloads, state changes, the cleaner, bad input.

mod common;
use altrepodb_testdata::task as taskgen;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use altrepodb_load::task::{
    clean_tasks, load_task, TaskCleanOptions, TaskLoadOptions, TaskLoadReport,
};
use altrepodb_load::NoObserver;
use common::TestDb;
use taskgen::{generate_task, TaskManifest, TaskSpec};

/// Every table a task load writes (logical name → table read for counting).
const TABLES: &[(&str, &str)] = &[
    ("TaskStates", "TaskStates_buffer"),
    ("Tasks", "Tasks_buffer"),
    ("TaskIterations", "TaskIterations_buffer"),
    ("TaskChroots", "TaskChroots_buffer"),
    ("TaskLogs", "TaskLogs_buffer"),
    ("TaskPlanPackages", "TaskPlanPackages"),
    ("TaskPlanPkgHash", "TaskPlanPkgHash"),
    ("TaskApprovals", "TaskApprovals"),
    ("TaskProgress", "TaskProgress"),
    ("TaskSubtaskProgress", "TaskSubtaskProgress"),
    ("Packages", "Packages_buffer"),
    ("Files", "Files_buffer"),
    ("Depends", "Depends_buffer"),
    ("Changelog", "Changelog_buffer"),
    ("Specfiles", "Specfiles_buffer"),
    ("PackageHash", "PackageHash_buffer"),
    ("BranchPackageHistory", "BranchPackageHistory"),
];

fn spec(id: u32, state: &str, seed: u64) -> TaskSpec {
    TaskSpec {
        id,
        state: state.into(),
        subtasks: 6,
        iterations: 1,
        seed,
        ..TaskSpec::default()
    }
}

async fn load(db: &TestDb, dir: &Path) -> TaskLoadReport {
    load_with(db, dir, |_| {}).await
}

async fn load_with(
    db: &TestDb,
    dir: &Path,
    f: impl FnOnce(&mut TaskLoadOptions),
) -> TaskLoadReport {
    let mut o = TaskLoadOptions::new(dir);
    o.workers = 2;
    f(&mut o);
    load_task(db.db(), &o, Arc::new(NoObserver))
        .await
        .unwrap_or_else(|e| panic!("load {}: {e}", dir.display()))
}

async fn counts(db: &TestDb) -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    for (name, table) in TABLES {
        out.insert(
            *name,
            db.count(&format!("SELECT count() FROM {table}")).await,
        );
    }
    out
}

/// TSV escaping of ClickHouse's TabSeparated output.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

fn arr<T: std::fmt::Display>(v: &[T]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}

fn list<T: std::fmt::Display>(v: &[T]) -> String {
    if v.is_empty() {
        "(0)".into()
    } else {
        format!(
            "({})",
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn mmh(s: &str) -> u64 {
    altrepodb_rpm::mmhash(s.as_bytes())
}

/// The expected rows of every task table for `m`, as the TSV lines of the queries in
/// [`actual_rows`]. Chroot set hashes are computed by ClickHouse (`murmurHash3_64`).
async fn expected_rows(db: &TestDb, m: &TaskManifest) -> BTreeMap<&'static str, Vec<String>> {
    let mut out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let b = |x: bool| u8::from(x);
    out.insert(
        "TaskStates",
        vec![format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            m.changed,
            m.id,
            m.state,
            esc(&m.runby),
            arr(&m.depends),
            m.task_try,
            b(m.testonly),
            b(m.failearly),
            b(m.shared),
            esc(&m.message),
            esc(&m.version),
            m.prev,
            arr(&m.eventlog_hashes())
        )],
    );
    out.insert(
        "Tasks",
        sorted(
            m.subtasks
                .iter()
                .map(|s| {
                    format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        s.subtask_id,
                        m.repo,
                        m.owner,
                        m.changed,
                        s.changed,
                        b(s.deleted),
                        s.userid,
                        s.dir,
                        s.package,
                        s.kind,
                        s.pkg_from,
                        s.sid,
                        s.tag_author,
                        s.tag_id,
                        s.tag_name,
                        s.srpm,
                        s.srpm_name,
                        s.srpm_evr
                    )
                })
                .collect(),
        ),
    );
    let hash_of: HashMap<&str, u64> = m
        .packages
        .iter()
        .map(|p| (p.path.as_str(), p.pkg_hash))
        .collect();
    let mut chroot_hash: HashMap<Vec<u64>, u64> = HashMap::new();
    for c in &m.chroots {
        let h: u64 = db
            .scalar(&format!(
                "SELECT murmurHash3_64(CAST({} AS Array(UInt64)))",
                arr(c)
            ))
            .await
            .parse()
            .unwrap();
        chroot_hash.insert(c.clone(), h);
    }
    let ch = |c: &Vec<u64>| if c.is_empty() { 0 } else { chroot_hash[c] };
    out.insert(
        "TaskIterations",
        sorted(
            m.iterations
                .iter()
                .map(|it| {
                    let mut pkgs: Vec<u64> = it.rpms.iter().map(|r| hash_of[r.as_str()]).collect();
                    if pkgs.is_empty() {
                        pkgs.push(0);
                    }
                    format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        it.subtask_id,
                        it.arch,
                        m.changed,
                        it.ts,
                        it.status,
                        m.task_try,
                        m.task_iter,
                        it.srpm.as_deref().map(|s| hash_of[s]).unwrap_or(0),
                        arr(&pkgs),
                        ch(&it.chroot_base),
                        ch(&it.chroot_br),
                        it.buildlog_key.as_deref().map(mmh).unwrap_or(0),
                        it.srpmlog_key.as_deref().map(mmh).unwrap_or(0)
                    )
                })
                .collect(),
        ),
    );
    out.insert(
        "TaskChroots",
        sorted(
            m.chroots
                .iter()
                .map(|c| format!("{}\t{}", chroot_hash[c], arr(c)))
                .collect(),
        ),
    );
    out.insert(
        "TaskLogs",
        sorted(
            m.logs
                .iter()
                .flat_map(|l| {
                    l.lines
                        .iter()
                        .map(move |(n, ts, msg)| format!("{}\t{n}\t{ts}\t{}", l.hash, esc(msg)))
                })
                .collect(),
        ),
    );
    out.insert(
        "TaskPlanPackages",
        sorted(
            m.plan_packages
                .iter()
                .map(|p| {
                    format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        p.hash,
                        p.action,
                        p.name,
                        p.evr,
                        p.bin_file,
                        p.src_file,
                        p.arch,
                        p.comp,
                        p.subtask
                    )
                })
                .collect(),
        ),
    );
    out.insert(
        "TaskPlanPkgHash",
        sorted(
            m.plan_hashes
                .iter()
                .map(|p| format!("{}\t{}\t{}", p.hash, p.action, p.sha256))
                .collect(),
        ),
    );
    out.insert(
        "TaskApprovals",
        sorted(
            m.approvals
                .iter()
                .map(|a| {
                    format!(
                        "{}\t{}\t0\t{}\t{}\t{}",
                        a.subtask_id,
                        a.kind,
                        a.date,
                        a.name,
                        esc(&a.message)
                    )
                })
                .collect(),
        ),
    );
    out.insert(
        "TaskProgress",
        vec![format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\tstate\t\t\t{}",
            m.repo,
            m.owner,
            m.state,
            m.task_try,
            m.task_iter,
            b(m.testonly),
            m.changed,
            esc(&m.message),
            arr(&m.depends),
            u64::from(m.changed) * 1000
        )],
    );
    let mut sp: Vec<String> = m
        .subtasks
        .iter()
        .map(|s| {
            let kind = if s.deleted { "delete" } else { "create" };
            format!(
                "{}\t{kind}\tall\t\t\t\t{}\t{}\t{}",
                s.subtask_id,
                s.kind,
                s.changed,
                u64::from(s.changed) * 1000
            )
        })
        .collect();
    for it in m.iterations.iter().filter(|i| i.status != "deleted") {
        let s = m
            .subtasks
            .iter()
            .find(|s| s.subtask_id == it.subtask_id)
            .unwrap();
        sp.push(format!(
            "{}\tprogress\t{}\t{}\tbuild\t{}\t{}\t{}\t{}",
            it.subtask_id,
            it.arch,
            it.status,
            it.status,
            s.kind,
            s.changed,
            u64::from(it.ts) * 1000
        ));
    }
    out.insert("TaskSubtaskProgress", sorted(sp));
    out.insert(
        "Packages",
        sorted(
            m.packages
                .iter()
                .map(|p| {
                    format!(
                        "{}\t{}\t{}\t{}\t{}",
                        p.pkg_hash,
                        p.file_name,
                        p.srcrpm_hash,
                        u8::from(p.source),
                        p.name
                    )
                })
                .collect(),
        ),
    );
    out.insert(
        "PackageHash",
        sorted(
            m.packages
                .iter()
                .map(|p| {
                    format!(
                        "{}\t{}\t{}\t{}\t{}",
                        p.pkg_hash, p.md5, p.sha1header, p.sha256, p.blake2b
                    )
                })
                .collect(),
        ),
    );
    out.insert(
        "Files",
        sorted(
            m.packages
                .iter()
                .map(|p| format!("{}\t{}", p.pkg_hash, p.files))
                .collect(),
        ),
    );
    out.insert(
        "Specfiles",
        sorted(
            m.packages
                .iter()
                .filter(|p| p.source)
                .map(|p| p.pkg_hash.to_string())
                .collect(),
        ),
    );
    out.insert(
        "FileProvides",
        sorted(
            m.file_requires
                .iter()
                .flat_map(|(path, hashes)| hashes.iter().map(move |h| format!("{h}\t{path}")))
                .collect(),
        ),
    );
    out
}

/// Every plan hash the task could have (for checking that a stale plan wrote nothing).
fn candidate_plan_hashes(m: &TaskManifest) -> Vec<u64> {
    ["src", "noarch", "x86_64", "i586", "aarch64", "x86_64-i586"]
        .iter()
        .map(|a| mmh(&format!("{}{}{}{a}", m.id, m.task_try, m.task_iter)))
        .collect()
}

async fn actual_rows(db: &TestDb, m: &TaskManifest) -> BTreeMap<&'static str, Vec<String>> {
    let (id, c) = (m.id, m.changed);
    let pkgs: Vec<u64> = m.packages.iter().map(|p| p.pkg_hash).collect();
    let logs: Vec<u64> = m.logs.iter().map(|l| l.hash).collect();
    let plans = candidate_plan_hashes(m);
    let chroot_hashes: Vec<String> = {
        let mut v = Vec::new();
        for c in &m.chroots {
            v.push(
                db.scalar(&format!(
                    "SELECT murmurHash3_64(CAST({} AS Array(UInt64)))",
                    arr(c)
                ))
                .await,
            );
        }
        v
    };
    let mut paths: Vec<String> = m
        .file_requires
        .iter()
        .map(|(p, _)| format!("'{p}'"))
        .collect();
    if paths.is_empty() {
        paths.push("''".into());
    }
    let q: Vec<(&'static str, String)> = vec![
        ("TaskStates", format!("SELECT toUnixTimestamp(task_changed), task_id, task_state, task_runby, task_depends, task_try, task_testonly, task_failearly, task_shared, task_message, task_version, task_prev, task_eventlog_hash FROM TaskStates_buffer WHERE task_id = {id} AND task_changed = toDateTime({c})")),
        ("Tasks", format!("SELECT subtask_id, task_repo, task_owner, toUnixTimestamp(task_changed), toUnixTimestamp(subtask_changed), subtask_deleted, subtask_userid, subtask_dir, subtask_package, subtask_type, subtask_pkg_from, subtask_sid, subtask_tag_author, subtask_tag_id, subtask_tag_name, subtask_srpm, subtask_srpm_name, subtask_srpm_evr FROM Tasks_buffer WHERE task_id = {id} AND task_changed = toDateTime({c})")),
        ("TaskIterations", format!("SELECT subtask_id, subtask_arch, toUnixTimestamp(task_changed), toUnixTimestamp(titer_ts), titer_status, task_try, task_iter, titer_srcrpm_hash, titer_pkgs_hash, titer_chroot_base, titer_chroot_br, titer_buildlog_hash, titer_srpmlog_hash FROM TaskIterations_buffer WHERE task_id = {id} AND task_changed = toDateTime({c})")),
        ("TaskChroots", format!("SELECT tch_hash, tch_chroot FROM TaskChroots_buffer WHERE tch_hash IN {}", list(&chroot_hashes))),
        ("TaskLogs", format!("SELECT tlog_hash, tlog_line, toUnixTimestamp(tlog_ts), tlog_message FROM TaskLogs_buffer WHERE tlog_hash IN {}", list(&logs))),
        ("TaskPlanPackages", format!("SELECT tplan_hash, tplan_action, tplan_pkg_name, tplan_pkg_evr, tplan_bin_file, tplan_src_file, tplan_arch, tplan_comp, tplan_subtask FROM TaskPlanPackages WHERE tplan_hash IN {}", list(&plans))),
        ("TaskPlanPkgHash", format!("SELECT tplan_hash, tplan_action, lower(hex(tplan_sha256)) FROM TaskPlanPkgHash WHERE tplan_hash IN {}", list(&plans))),
        // The approvals in force: not revoked since.
        ("TaskApprovals", format!("SELECT subtask_id, tapp_type, tapp_revoked, toUnixTimestamp(tapp_date), tapp_name, tapp_message FROM TaskApprovals WHERE task_id = {id} AND tapp_revoked = 0 AND (subtask_id, tapp_name, tapp_type) NOT IN (SELECT subtask_id, tapp_name, tapp_type FROM TaskApprovals WHERE task_id = {id} AND tapp_revoked = 1)")),
        ("TaskProgress", format!("SELECT task_repo, task_owner, task_state, task_try, task_iter, task_testonly, toUnixTimestamp(task_changed), task_message, task_depends, type, stage, stage_status, toUnixTimestamp64Milli(ts) FROM TaskProgress WHERE task_id = {id} AND task_changed = toDateTime({c})")),
        // What readers see: the newest row per (subtask, type, arch).
        ("TaskSubtaskProgress", format!("SELECT subtask_id, type, arch, tupleElement(t, 1), tupleElement(t, 2), tupleElement(t, 3), tupleElement(t, 4), tupleElement(t, 5), tupleElement(t, 6) FROM (SELECT subtask_id, type, arch, argMax((status, stage, stage_status, subtask_type, toUnixTimestamp(subtask_changed), toUnixTimestamp64Milli(ts)), ts) AS t FROM TaskSubtaskProgress WHERE task_id = {id} GROUP BY subtask_id, type, arch)")),
        ("Packages", format!("SELECT pkg_hash, pkg_filename, pkg_srcrpm_hash, pkg_sourcepackage, pkg_name FROM Packages_buffer WHERE pkg_hash IN {}", list(&pkgs))),
        ("PackageHash", format!("SELECT pkgh_mmh, lower(hex(pkgh_md5)), lower(hex(pkgh_sha1)), lower(hex(pkgh_sha256)), lower(hex(pkgh_blake2b)) FROM PackageHash_buffer WHERE pkgh_mmh IN {}", list(&pkgs))),
        ("Files", format!("SELECT pkg_hash, count() FROM Files_buffer WHERE pkg_hash IN {} GROUP BY pkg_hash", list(&pkgs))),
        ("Specfiles", format!("SELECT pkg_hash FROM Specfiles_buffer WHERE pkg_hash IN {}", list(&pkgs))),
        ("FileProvides", format!("SELECT pkg_hash, dp_name FROM Depends_buffer WHERE dp_type = 'provide' AND dp_version = '' AND dp_flag = 0 AND dp_name IN {}", list(&paths))),
    ];
    let mut out = BTreeMap::new();
    for (name, sql) in q {
        out.insert(name, db.lines(&sql).await);
    }
    out
}

async fn check_task(db: &TestDb, m: &TaskManifest) {
    check_task_rows(db, m, true).await
}

/// [`check_task`]; without `provides` the file-provides rows are not compared (a later
/// state's packages provide names an earlier state's packages provide already, and the
/// original's statement only adds names nobody provides).
async fn check_task_rows(db: &TestDb, m: &TaskManifest, provides: bool) {
    let want = expected_rows(db, m).await;
    let got = actual_rows(db, m).await;
    for (table, rows) in &want {
        if !provides && *table == "FileProvides" {
            continue;
        }
        assert_eq!(
            &got[table], rows,
            "task {} {}: table {table} differs",
            m.id, m.state
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_in_every_state_load_row_by_row() {
    let db = TestDb::new().await;
    let out = tempfile::tempdir().unwrap();
    let mut manifests = Vec::new();
    for (i, state) in ["DONE", "EPERM", "TESTED", "FAILED", "NEW", "POSTPONED"]
        .iter()
        .enumerate()
    {
        let mut s = spec(351_000 + i as u32, state, 10 + i as u64);
        if *state == "DONE" {
            // Done tasks are read from girar's archive layout.
            s.archived = true;
        }
        if *state == "FAILED" {
            s.iterations = 3;
            s.archs = vec!["x86_64".into(), "i586".into(), "aarch64".into()];
        }
        let m = generate_task(out.path(), &s).unwrap();
        let r = load(&db, &m.dir).await;
        assert_eq!(r.task_id, m.id);
        assert!(!r.already_loaded);
        assert_eq!(r.packages_seen, m.packages.len(), "{state}");
        assert_eq!(r.packages_new, m.packages.len(), "{state}");
        assert!(r.skipped.is_empty(), "{:?}", r.skipped);
        manifests.push(m);
    }
    // Every task checked after all are loaded: no task's rows leak into another's.
    for m in &manifests {
        check_task(&db, m).await;
    }
    let failed = manifests.iter().find(|m| m.state == "FAILED").unwrap();
    assert!(!failed.plan_loaded, "a FAILED task's plan is stale");
    assert!(failed.iterations.iter().any(|i| i.status == "failed"));
    let done = manifests.iter().find(|m| m.state == "DONE").unwrap();
    assert!(done
        .dir
        .to_string_lossy()
        .contains(&format!("/_{}/", done.id / 1024)));
    // The approval of a subtask without an acl/disapproved directory is loaded (the
    // original's approved pass listed acl/disapproved and missed it).
    let n = db
        .count(&format!(
            "SELECT count() FROM TaskApprovals WHERE task_id = {} AND tapp_name = 'alice'",
            done.id
        ))
        .await;
    assert_eq!(n, 1);
    // The DONE task reached the branch history (mv_package_history fired on its state row).
    db.db()
        .execute("OPTIMIZE TABLE TaskStates_buffer", "flush")
        .await
        .unwrap();
    let n = db
        .count(&format!(
            "SELECT count() FROM BranchPackageHistory WHERE task_id = {} AND pkg_hash != 0",
            done.id
        ))
        .await;
    let planned_files: BTreeSet<&str> = done
        .plan_hashes
        .iter()
        .filter(|h| h.action == "add")
        .map(|h| h.sha256.as_str())
        .collect();
    assert_eq!(
        n as usize,
        planned_files.len(),
        "one history row per added package"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_writes_nothing() {
    let db = TestDb::new().await;
    let out = tempfile::tempdir().unwrap();
    let m = generate_task(out.path(), &spec(352_000, "EPERM", 3)).unwrap();
    let first = load(&db, &m.dir).await;
    let before = counts(&db).await;
    for (table, n) in &first.rows {
        match *table {
            "FileProvides" => {}
            "Depends" => assert_eq!(before["Depends"], n + first.rows_of("FileProvides")),
            t => assert_eq!(before[t], *n, "first load: report and table {t} agree"),
        }
    }
    // Same state: short-cut, nothing written.
    let again = load(&db, &m.dir).await;
    assert!(again.already_loaded);
    assert!(again.rows.values().all(|n| *n == 0), "{:?}", again.rows);
    assert_eq!(counts(&db).await, before);
    // --force re-reads every package and re-checks every table: still nothing.
    let forced = load_with(&db, &m.dir, |o| o.force = true).await;
    assert!(!forced.already_loaded);
    assert_eq!(forced.packages_new, m.packages.len());
    assert!(forced.rows.values().all(|n| *n == 0), "{:?}", forced.rows);
    assert_eq!(counts(&db).await, before);
    // A dry run reports nothing to do either.
    let dry = load_with(&db, &m.dir, |o| {
        o.force = true;
        o.dry_run = true;
    })
    .await;
    assert!(dry.rows.values().all(|n| *n == 0), "{:?}", dry.rows);
    check_task(&db, &m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_counts_what_a_load_writes() {
    let db = TestDb::new().await;
    let out = tempfile::tempdir().unwrap();
    let m = generate_task(out.path(), &spec(352_500, "DONE", 8)).unwrap();
    let empty = counts(&db).await;
    let dry = load_with(&db, &m.dir, |o| o.dry_run = true).await;
    assert!(dry.dry_run);
    assert_eq!(counts(&db).await, empty, "a dry run writes nothing");
    let real = load(&db, &m.dir).await;
    let without_provides = |r: &TaskLoadReport| {
        let mut rows = r.rows.clone();
        rows.remove("FileProvides");
        rows
    };
    // (File provides need the task's packages in the database, so a dry run has none.)
    assert_eq!(without_provides(&dry), without_provides(&real));
    assert!(real.rows_of("FileProvides") > 0);
    assert!(
        real.summary().contains("TaskStates=1"),
        "{}",
        real.summary()
    );
}

/// Rows of `m` (as [`expected_rows`] renders them) that are not rows of `before`.
async fn delta(
    db: &TestDb,
    before: &TaskManifest,
    after: &TaskManifest,
) -> BTreeMap<&'static str, usize> {
    let a = expected_rows(db, before).await;
    let b = expected_rows(db, after).await;
    let mut out = BTreeMap::new();
    for (t, rows) in &b {
        let old: BTreeSet<&String> = a[t].iter().collect();
        out.insert(*t, rows.iter().filter(|r| !old.contains(r)).count());
    }
    out
}

async fn check_state_change(db: &TestDb, a: &TaskManifest, b: &TaskManifest, revoked: usize) {
    load(db, &a.dir).await;
    let before = counts(db).await;
    let report = load(db, &b.dir).await;
    let after = counts(db).await;
    let d = delta(db, a, b).await;
    let new_pkgs: Vec<&taskgen::PackageRecord> = b
        .packages
        .iter()
        .filter(|p| !a.packages.iter().any(|q| q.pkg_hash == p.pkg_hash))
        .collect();
    assert_eq!(report.packages_new, new_pkgs.len());
    for (table, _) in TABLES {
        let added = (after[table] - before[table]) as usize;
        let want = match *table {
            "TaskApprovals" => d["TaskApprovals"] + revoked,
            "Files" => new_pkgs.iter().map(|p| p.files).sum::<usize>(),
            // Not in the manifest: checked against the report (Depends below).
            "Depends" | "BranchPackageHistory" => continue,
            "Changelog" => report.rows_of("Changelog") as usize,
            t => d[t],
        };
        assert_eq!(added, want, "{} → {}: table {table}", a.state, b.state);
        assert_eq!(
            report.rows_of(table) as usize,
            added,
            "{} → {}: reported rows of {table}",
            a.state,
            b.state
        );
    }
    assert_eq!(
        after["Depends"] - before["Depends"],
        report.rows_of("Depends") + report.rows_of("FileProvides")
    );
    check_task_rows(db, b, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_change_adds_exactly_the_new_rows() {
    let db = TestDb::new().await;
    let out = tempfile::tempdir().unwrap();
    // EPERM → DONE in the same try: a new state, its subtask and iteration rows, the new
    // events-log lines, carol's approval and the revocation of bob's and dave's.
    let a = generate_task(&out.path().join("a"), &spec(353_000, "EPERM", 5)).unwrap();
    let b = generate_task(&out.path().join("b"), &spec(353_000, "DONE", 5)).unwrap();
    check_state_change(&db, &a, &b, 2).await;
    let revoked = db
        .lines("SELECT tapp_name, tapp_type FROM TaskApprovals WHERE task_id = 353000 AND tapp_revoked = 1")
        .await;
    assert_eq!(revoked, ["bob\tapprove", "dave\tdisapprove"]);
    // FAILED after one try → DONE after two: everything of try 2 is new, try 1's events
    // log is not loaded twice.
    let a = generate_task(&out.path().join("c"), &spec(353_100, "FAILED", 6)).unwrap();
    let mut s = spec(353_100, "DONE", 6);
    s.iterations = 2;
    let b = generate_task(&out.path().join("d"), &s).unwrap();
    let try1 = a.logs.iter().find(|l| l.kind == "events").unwrap();
    assert!(
        b.logs.contains(try1),
        "try 1's events log is the same in both"
    );
    check_state_change(&db, &a, &b, 0).await;
    // And the later state again: nothing.
    let before = counts(&db).await;
    assert!(load(&db, &b.dir).await.already_loaded);
    assert_eq!(counts(&db).await, before);
}

/// `TaskLogs` as readers see it once the ReplacingMergeTree has merged: buffers flushed,
/// `OPTIMIZE … FINAL`, one row per (message, line, hash) — the latest written.
async fn merged_logs(db: &TestDb, hashes: &[u64]) -> Vec<String> {
    for sql in [
        "OPTIMIZE TABLE TaskLogs_buffer",
        "OPTIMIZE TABLE TaskLogs FINAL",
    ] {
        db.db().execute(sql, "merge").await.unwrap();
    }
    db.lines(&format!(
        "SELECT tlog_hash, tlog_line, toUnixTimestamp(tlog_ts), tlog_message FROM TaskLogs FINAL WHERE tlog_hash IN {}",
        list(hashes)
    ))
    .await
}

/// The TaskLogs rows of a manifest's logs, the lines of `shifted` moved by `by` seconds.
fn log_lines(m: &TaskManifest, shifted: u64, by: u32) -> Vec<String> {
    sorted(
        m.logs
            .iter()
            .flat_map(|l| {
                l.lines.iter().map(move |(n, ts, msg)| {
                    let ts = if l.hash == shifted { ts + by } else { *ts };
                    format!("{}\t{n}\t{ts}\t{}", l.hash, esc(msg))
                })
            })
            .collect(),
    )
}

/// Moves a file's mtime by `by` seconds.
fn touch_later(path: &Path, by: u32) -> std::time::SystemTime {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    let t = f.metadata().unwrap().modified().unwrap() + std::time::Duration::from_secs(by.into());
    f.set_modified(t).unwrap();
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_log_is_written_again_with_its_new_stamps() {
    let db = TestDb::new().await;
    let out = tempfile::tempdir().unwrap();
    // EPERM → DONE in the same try; by then girar has appended to one build log, so its
    // mtime moved and every stamp in it (offsets from the mtime, original-system §6.7)
    // changed while the lines' numbers and texts did not.
    let a = generate_task(&out.path().join("a"), &spec(353_700, "EPERM", 9)).unwrap();
    let b = generate_task(&out.path().join("b"), &spec(353_700, "DONE", 9)).unwrap();
    let log = b.logs.iter().find(|l| l.kind == "build").unwrap().clone();
    assert!(
        a.logs.contains(&log),
        "the build log is the same in both states"
    );
    const BY: u32 = 1000;
    touch_later(&b.dir.join(&log.path), BY);
    load(&db, &a.dir).await;
    let hashes: Vec<u64> = b.logs.iter().map(|l| l.hash).collect();
    assert_eq!(merged_logs(&db, &hashes).await, log_lines(&a, 0, 0));

    let report = load(&db, &b.dir).await;
    let new_events = delta(&db, &a, &b).await["TaskLogs"];
    assert_eq!(
        report.rows_of("TaskLogs") as usize,
        new_events + log.lines.len(),
        "the new events lines and the whole rewritten log"
    );
    assert_eq!(
        merged_logs(&db, &hashes).await,
        log_lines(&b, log.hash, BY),
        "every line of the rewritten log has its latest stamp"
    );

    // The same state again writes nothing; so does --force, which checks every line.
    let before = counts(&db).await;
    assert!(load(&db, &b.dir).await.already_loaded);
    let forced = load_with(&db, &b.dir, |o| o.force = true).await;
    assert_eq!(forced.rows_of("TaskLogs"), 0, "{}", forced.summary());
    assert_eq!(counts(&db).await, before);

    // Only the stamps of the same state's log change (its mtime moved again): a forced
    // reload writes that log's lines again, nothing else.
    touch_later(&b.dir.join(&log.path), BY);
    let forced = load_with(&db, &b.dir, |o| o.force = true).await;
    assert_eq!(forced.rows_of("TaskLogs") as usize, log.lines.len());
    let changed: u64 = forced
        .rows
        .iter()
        .filter(|(t, _)| **t != "TaskLogs")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(changed, 0, "{}", forced.summary());
    assert_eq!(
        merged_logs(&db, &hashes).await,
        log_lines(&b, log.hash, 2 * BY)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_load_is_completed() {
    let db = TestDb::new().await;
    let out = tempfile::tempdir().unwrap();
    let m = generate_task(out.path(), &spec(354_000, "TESTED", 7)).unwrap();
    load(&db, &m.dir).await;
    let full = counts(&db).await;
    // Take away what a crash after the first package rows would not have written: the
    // state rows, iterations, one package's files and hash row.
    for t in [
        "TaskStates_buffer",
        "TaskIterations_buffer",
        "Files_buffer",
        "PackageHash_buffer",
        "Tasks_buffer",
    ] {
        db.db()
            .execute(&format!("OPTIMIZE TABLE {t}"), "flush")
            .await
            .unwrap();
    }
    let victim = m.packages.iter().find(|p| !p.source).unwrap().pkg_hash;
    for sql in [
        format!("DELETE FROM TaskStates WHERE task_id = {}", m.id),
        format!("DELETE FROM TaskProgress WHERE task_id = {}", m.id),
        format!(
            "DELETE FROM TaskIterations WHERE task_id = {} AND subtask_id = 100",
            m.id
        ),
        format!("DELETE FROM Files WHERE pkg_hash = {victim}"),
        format!("DELETE FROM PackageHash WHERE pkgh_mmh = {victim}"),
    ] {
        db.db().execute(&sql, "delete").await.unwrap();
    }
    let r = load(&db, &m.dir).await;
    assert!(!r.already_loaded);
    assert_eq!(
        r.packages_new, 1,
        "only the incomplete package is read again"
    );
    assert_eq!(r.rows_of("Packages"), 0);
    assert_eq!(r.rows_of("TaskStates"), 1);
    assert_eq!(counts(&db).await, full);
    check_task(&db, &m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleaner_marks_vanished_tasks_and_reports_unclear_states() {
    let db = TestDb::new().await;
    let root = tempfile::tempdir().unwrap();
    let gone = generate_task(root.path(), &spec(355_001, "EPERM", 1)).unwrap();
    let moved = generate_task(root.path(), &spec(355_002, "FAILED", 2)).unwrap();
    let done = generate_task(root.path(), &spec(355_003, "DONE", 3)).unwrap();
    for m in [&gone, &moved, &done] {
        load(&db, &m.dir).await;
    }
    std::fs::remove_dir_all(&gone.dir).unwrap();
    std::fs::write(moved.dir.join("task/state"), "AWAITING\n").unwrap();
    let log = root.path().join("unclear_state_tasks.log");
    let mut o = TaskCleanOptions::new(root.path());
    o.unclear_log = log.clone();
    o.dry_run = true;
    let states_before = db.count("SELECT count() FROM TaskStates_buffer").await;
    let r = clean_tasks(db.db(), &o).await.unwrap();
    assert_eq!(r.checked, 2, "DONE tasks are not checked");
    assert_eq!(r.deleted, [gone.id]);
    assert_eq!(r.unclear.len(), 1);
    assert_eq!(
        (
            r.unclear[0].task_id,
            r.unclear[0].db_state.as_str(),
            r.unclear[0].fs_state.as_str()
        ),
        (moved.id, "FAILED", "AWAITING")
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("{}\t@DB\tFAILED\t@FS\tAWAITING\n", moved.id)
    );
    assert_eq!(
        db.count("SELECT count() FROM TaskStates_buffer").await,
        states_before,
        "dry run writes nothing"
    );
    assert!(
        r.summary()
            .starts_with("dry run: 2 tasks checked, 1 to be marked DELETED"),
        "{}",
        r.summary()
    );

    o.dry_run = false;
    std::fs::remove_file(&log).unwrap();
    let r = clean_tasks(db.db(), &o).await.unwrap();
    assert_eq!(r.deleted, [gone.id]);
    assert!(log.is_file());
    let rows = db
        .lines(&format!(
            "SELECT task_state, task_message, task_try, task_runby, length(task_eventlog_hash) FROM TaskStates_buffer \
             WHERE task_id = {} AND task_state = 'DELETED'",
            gone.id
        ))
        .await;
    assert_eq!(
        rows,
        ["DELETED\ttask found as deleted by task_cleaner\t0\t\t0"]
    );
    let latest = db
        .scalar(&format!(
            "SELECT argMax(task_state, ts) FROM TaskProgress WHERE task_id = {} AND type = 'state'",
            gone.id
        ))
        .await;
    assert_eq!(latest, "DELETED");
    // Deleted tasks are not looked at again.
    let r = clean_tasks(db.db(), &o).await.unwrap();
    assert_eq!((r.checked, r.deleted.len()), (1, 0));
    // -t limits the run to one task.
    o.task_id = Some(done.id);
    let r = clean_tasks(db.db(), &o).await.unwrap();
    assert_eq!(r.checked, 0);
}

/// No row of `id` in the state tables.
async fn no_state_rows(db: &TestDb, id: u32) {
    for t in ["TaskStates_buffer", "TaskProgress", "TaskSubtaskProgress"] {
        assert_eq!(
            db.count(&format!("SELECT count() FROM {t} WHERE task_id = {id}"))
                .await,
            0,
            "{t} has rows of task {id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_task_directories_fail_naming_the_file() {
    let db = TestDb::new().await;
    let out = tempfile::tempdir().unwrap();
    let try_load = |dir: std::path::PathBuf| {
        let db = db.db();
        async move {
            let mut o = TaskLoadOptions::new(&dir);
            o.workers = 2;
            load_task(db, &o, Arc::new(NoObserver))
                .await
                .map(|_| ())
                .unwrap_err()
                .to_string()
        }
    };
    // Missing task/state.
    let m = generate_task(out.path(), &spec(356_001, "DONE", 1)).unwrap();
    std::fs::remove_file(m.dir.join("task/state")).unwrap();
    let e = try_load(m.dir.clone()).await;
    assert!(
        e.contains(&format!("{}/task/state", m.dir.display())) && e.contains("uncertain state"),
        "{e}"
    );
    no_state_rows(&db, m.id).await;
    // Unparsable info.json.
    let m = generate_task(out.path(), &spec(356_002, "EPERM", 2)).unwrap();
    std::fs::write(m.dir.join("info.json"), "{\"shared\": tru").unwrap();
    let e = try_load(m.dir.clone()).await;
    assert!(
        e.contains(&format!("{}/info.json", m.dir.display())) && e.contains("JSON"),
        "{e}"
    );
    no_state_rows(&db, m.id).await;
    // A corrupt RPM: the load stops before anything is written.
    let m = generate_task(out.path(), &spec(356_003, "TESTED", 3)).unwrap();
    let victim = m.packages.iter().find(|p| !p.source).unwrap();
    let path = m.dir.join(&victim.path);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..200]).unwrap();
    let e = try_load(m.dir.clone()).await;
    assert!(e.contains(&path.display().to_string()), "{e}");
    no_state_rows(&db, m.id).await;
    assert_eq!(
        db.count(&format!(
            "SELECT count() FROM Tasks_buffer WHERE task_id = {}",
            m.id
        ))
        .await,
        0
    );
    // Repaired, it loads completely.
    std::fs::write(&path, &bytes).unwrap();
    load(&db, &m.dir).await;
    check_task(&db, &m).await;
    // An events log without a first stamp.
    let m = generate_task(out.path(), &spec(356_004, "EPERM", 4)).unwrap();
    let log = m.dir.join("logs/events.1.1.log");
    std::fs::write(&log, "no stamp here\n").unwrap();
    let e = try_load(m.dir.clone()).await;
    assert!(e.contains(&format!("{}: line 1", log.display())), "{e}");
    no_state_rows(&db, m.id).await;
    // Not a task at all.
    let e = try_load(out.path().join("nope")).await;
    assert!(e.contains("nope"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chroot_set_hash_matches_clickhouse() {
    let db = TestDb::new().await;
    let cases: Vec<Vec<u64>> = vec![
        vec![],
        vec![0],
        vec![u64::MAX],
        vec![1, 2, 3],
        (0..300u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect(),
    ];
    for c in cases {
        let ch: u64 = db
            .scalar(&format!(
                "SELECT murmurHash3_64(CAST({} AS Array(UInt64)))",
                arr(&c)
            ))
            .await
            .parse()
            .unwrap();
        assert_eq!(altrepodb_load::task::hash::array_hash(&c), ch, "{c:?}");
    }
}

/// Links inside a task keep working (issue 10 §4): every `build/repo/<arch>/RPMS.task/` copy
/// becomes a link to the built file it copies (relative, one absolute), and the task is
/// reached through a link; the rows are still exactly the manifest's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_inside_the_task_keep_working() {
    let db = TestDb::new().await;
    let out = tempfile::tempdir().unwrap();
    let m = generate_task(out.path(), &spec(358_001, "DONE", 21)).unwrap();
    let mut linked = 0;
    for arch in std::fs::read_dir(m.dir.join("build/repo")).unwrap() {
        let rpms = arch.unwrap().path().join("RPMS.task");
        if !rpms.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&rpms).unwrap() {
            let f = f.unwrap().path();
            let bytes = std::fs::read(&f).unwrap();
            let built = m.packages.iter().find(|p| {
                Path::new(&p.path).file_name() == f.file_name()
                    && std::fs::read(m.dir.join(&p.path)).unwrap() == bytes
            });
            let Some(built) = built else { continue };
            std::fs::remove_file(&f).unwrap();
            if linked == 0 {
                std::os::unix::fs::symlink(m.dir.join(&built.path), &f).unwrap();
            } else {
                std::os::unix::fs::symlink(format!("../../../../{}", built.path), &f).unwrap();
            }
            linked += 1;
        }
    }
    assert!(linked > 1, "RPMS.task holds copies of built packages");
    let links = tempfile::tempdir().unwrap();
    let via = links.path().join(m.id.to_string());
    std::os::unix::fs::symlink(&m.dir, &via).unwrap();
    let r = load(&db, &via).await;
    assert_eq!(r.packages_new, m.packages.len());
    check_task(&db, &m).await;
}
