//! Bulk task loading (`load_tasks`): the same tasks loaded one by one and in bulk give the
//! same tables, and a corrupt task among valid ones fails alone, named with its file.
//!
//! Expected values: the one-by-one load is the reference for the bulk load (the single-task
//! loader is itself checked against the generator's manifest in `task_load.rs` and against
//! the acceptance digest); the corrupt task's file is the one this test truncates.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use altrepodb_load::task::{load_task, load_tasks, TaskLoadOptions};
use altrepodb_load::NoObserver;
use altrepodb_testdata::task::{generate_task, generate_tasks, TaskSpec};
use common::TestDb;

/// Columns a load fills with the time it runs, and what the dump reads instead: a
/// revocation is dated when the loader finds the approval gone.
const LOAD_TIME: &[(&str, &str, &str)] = &[(
    "TaskApprovals",
    "tapp_date",
    "if(tapp_revoked = 1, toDateTime(0), tapp_date)",
)];

/// Buffers in the order `task_loader -f` flushes them (as `acceptance.rs` does).
const FLUSH_ORDER: &[&str] = &[
    "Files_buffer",
    "FileNames_buffer",
    "Depends_buffer",
    "Changelog_buffer",
    "Packages_buffer",
    "PackageHash_buffer",
    "Specfiles_buffer",
    "PackageSet_buffer",
    "TaskChroots_buffer",
    "TaskLogs_buffer",
    "TaskIterations_buffer",
    "Tasks_buffer",
    "TaskStates_buffer",
];

async fn flush_all(t: &TestDb) {
    for b in FLUSH_ORDER {
        t.db()
            .execute(&format!("OPTIMIZE TABLE {b}"), "flush")
            .await
            .unwrap();
    }
}

/// Every MergeTree-family table with the columns a load decides, sorted: name → dump.
async fn dump(t: &TestDb) -> BTreeMap<String, String> {
    flush_all(t).await;
    let tables = t
        .lines(
            "SELECT name || ' ' || engine FROM system.tables WHERE database = currentDatabase() \
             AND engine LIKE '%MergeTree' ORDER BY name",
        )
        .await;
    let mut out = BTreeMap::new();
    for line in tables {
        let (table, engine) = line.split_once(' ').unwrap();
        let cols: Vec<String> = t
            .lines(&format!(
                "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = '{table}' \
                 AND default_kind NOT IN ('MATERIALIZED', 'ALIAS', 'EPHEMERAL') \
                 AND NOT (default_kind = 'DEFAULT' AND default_expression LIKE 'now%') \
                 ORDER BY position"
            ))
            .await
            .into_iter()
            .map(
                |c| match LOAD_TIME.iter().find(|(t, n, _)| *t == table && *n == c) {
                    Some((_, _, expr)) => (*expr).to_owned(),
                    None => format!("`{c}`"),
                },
            )
            .collect();
        let list = cols.join(", ");
        let fin = if engine.starts_with("Aggregating") || engine.starts_with("Replacing") {
            " FINAL"
        } else {
            ""
        };
        let text = t
            .db()
            .fetch_text(
                &format!("SELECT {list} FROM {table}{fin} ORDER BY {list}"),
                "TabSeparated",
            )
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        out.insert(
            table.to_owned(),
            String::from_utf8_lossy(&text).into_owned(),
        );
    }
    out
}

fn opts() -> TaskLoadOptions {
    let mut o = TaskLoadOptions::new("");
    o.workers = 2;
    o
}

/// Tasks in every state, plus one task in two successive states (loaded in that order).
fn inputs(root: &Path) -> Vec<PathBuf> {
    let base = TaskSpec {
        id: 370_000,
        subtasks: 3,
        seed: 41,
        ..TaskSpec::default()
    };
    let mut paths: Vec<PathBuf> = generate_tasks(&root.join("tasks"), &base, 6)
        .unwrap()
        .into_iter()
        .map(|m| m.dir)
        .collect();
    for (dir, state) in [("state-a", "EPERM"), ("state-b", "DONE")] {
        let spec = TaskSpec {
            id: 371_000,
            state: state.into(),
            subtasks: 4,
            seed: 51,
            ..TaskSpec::default()
        };
        paths.push(generate_task(&root.join(dir), &spec).unwrap().dir);
    }
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_and_one_by_one_give_identical_tables() {
    let work = tempfile::tempdir().unwrap();
    let paths = inputs(work.path());

    let one = TestDb::new().await;
    for p in &paths {
        let mut o = opts();
        o.path = p.clone();
        load_task(one.db(), &o, Arc::new(NoObserver))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    let bulk = TestDb::new().await;
    let r = load_tasks(bulk.db(), &opts(), &paths, Arc::new(NoObserver))
        .await
        .unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.tasks.len(), paths.len());
    assert!(r.tasks.iter().all(|t| !t.already_loaded));

    let (a, b) = (dump(&one).await, dump(&bulk).await);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (table, rows) in &a {
        assert!(
            rows == &b[table],
            "{table} differs: one by one {} rows, bulk {} rows",
            rows.lines().count(),
            b[table].lines().count()
        );
    }
    for t in ["TaskStates", "Tasks", "Packages", "TaskLogs", "Depends"] {
        assert!(!a[t].is_empty(), "{t} is empty");
    }

    // Loading them again in bulk finds every state loaded and writes nothing. (Not the
    // first state of task 371000: its approval files differ from the latest state's, so
    // loading that directory again reconciles them, one by one as in bulk.)
    let latest: Vec<PathBuf> = paths
        .iter()
        .filter(|p| !p.starts_with(work.path().join("state-a")))
        .cloned()
        .collect();
    assert_eq!(latest.len(), paths.len() - 1);
    let again = load_tasks(bulk.db(), &opts(), &latest, Arc::new(NoObserver))
        .await
        .unwrap();
    assert!(again.failed.is_empty(), "{:?}", again.failed);
    assert!(again.tasks.iter().all(|t| t.already_loaded));
    assert!(again.rows.values().all(|n| *n == 0), "{:?}", again.rows);
    assert_eq!(dump(&bulk).await, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_task_fails_alone_named_with_its_file() {
    let work = tempfile::tempdir().unwrap();
    let base = TaskSpec {
        id: 372_000,
        subtasks: 2,
        seed: 61,
        ..TaskSpec::default()
    };
    let ms = generate_tasks(work.path(), &base, 4).unwrap();
    // Truncate one package file of the second task in the middle of its header.
    let bad = &ms[1];
    let pkg = bad
        .packages
        .iter()
        .find(|p| !p.source)
        .expect("a binary package");
    let file = bad.dir.join(&pkg.path);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len().min(200)]).unwrap();

    let t = TestDb::new().await;
    let paths: Vec<PathBuf> = ms.iter().map(|m| m.dir.clone()).collect();
    let r = load_tasks(t.db(), &opts(), &paths, Arc::new(NoObserver))
        .await
        .unwrap();
    assert_eq!(r.failed.len(), 1, "{:?}", r.failed);
    let f = &r.failed[0];
    assert_eq!(f.task_id, Some(bad.id));
    assert_eq!(f.path, bad.dir);
    assert!(
        f.error.contains(&pkg.file_name),
        "the error names the file: {}",
        f.error
    );
    let loaded: Vec<u32> = r.tasks.iter().map(|t| t.task_id).collect();
    let want: Vec<u32> = ms.iter().filter(|m| m.id != bad.id).map(|m| m.id).collect();
    assert_eq!(loaded, want);
    let states = t
        .lines("SELECT toString(task_id) FROM TaskStates ORDER BY task_id")
        .await;
    assert_eq!(
        states,
        want.iter().map(u32::to_string).collect::<Vec<_>>(),
        "a state row for every valid task, none for the corrupt one"
    );
    for table in ["Tasks_buffer", "TaskIterations_buffer", "TaskProgress"] {
        let n = t
            .count(&format!(
                "SELECT count() FROM {table} WHERE task_id = {}",
                bad.id
            ))
            .await;
        assert_eq!(n, 0, "{table} holds rows of the corrupt task");
    }
    // Its packages were not written either: the task failed before any of its rows.
    let mine: Vec<String> = bad
        .packages
        .iter()
        .map(|p| p.pkg_hash.to_string())
        .collect();
    let n = t
        .count(&format!(
            "SELECT count() FROM Packages_buffer WHERE pkg_hash IN ({})",
            mine.join(",")
        ))
        .await;
    assert_eq!(n, 0);
}
