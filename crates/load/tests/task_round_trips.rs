//! Round trips of one task load, counted by the client ([`altrepodb_db::client::stats`]):
//! a new state of a task whose packages are stored takes the same number of requests
//! besides an insert per table it writes (and a flush per Buffer), whatever the task's
//! size (subtasks, arches, logs). One test per file: the counter is
//! the process's.
//!
//! Expected values: the two tasks' sizes are this test's inputs (the generator's specs);
//! the request budget follows the loader's phases as its module documentation lists them
//! (a fixed number of questions, one insert per table written, one question and one flush
//! per task Buffer written, the state rows, the file-provides statement).

mod common;

use std::sync::Arc;

use altrepodb_db::client::stats;
use altrepodb_load::task::{load_task, TaskLoadOptions};
use altrepodb_load::NoObserver;
use altrepodb_testdata::task::{generate_task, TaskSpec};
use common::TestDb;

/// Task tables a load inserts into (`TaskStates` apart) and the task Buffers among them.
const TASK_TABLES: &[&str] = &[
    "Tasks",
    "TaskLogs",
    "TaskChroots",
    "TaskIterations",
    "TaskPlanPackages",
    "TaskPlanPkgHash",
    "TaskApprovals",
    "TaskSubtaskProgress",
    "TaskProgress",
];
const TASK_BUFFERS: &[&str] = &["Tasks", "TaskLogs", "TaskChroots", "TaskIterations"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_packages_state_takes_a_fixed_number_of_requests() {
    let work = tempfile::tempdir().unwrap();
    let t = TestDb::new().await;
    let mut trips = Vec::new();
    for (id, subtasks, archs) in [
        (390_001u32, 1usize, vec!["x86_64", "i586"]),
        (390_002, 5, vec!["x86_64", "i586", "aarch64", "ppc64le"]),
    ] {
        let spec = |state: &str| TaskSpec {
            id,
            state: state.into(),
            subtasks,
            seed: u64::from(id),
            archs: archs.iter().map(|a| (*a).to_owned()).collect(),
            ..TaskSpec::default()
        };
        let first = generate_task(&work.path().join(format!("{id}-a")), &spec("EPERM")).unwrap();
        let second = generate_task(&work.path().join(format!("{id}-b")), &spec("DONE")).unwrap();
        let mut o = TaskLoadOptions::new(&first.dir);
        o.workers = 2;
        load_task(t.db(), &o, Arc::new(NoObserver)).await.unwrap();
        o.path = second.dir.clone();
        let before = stats::round_trips();
        let r = load_task(t.db(), &o, Arc::new(NoObserver)).await.unwrap();
        let n = stats::round_trips() - before;
        assert!(!r.already_loaded);
        assert_eq!(
            r.packages_new, 0,
            "the second state's packages are the first's"
        );
        let written = |ts: &[&str]| {
            ts.iter()
                .filter(|t| r.rows.get(**t).is_some_and(|n| *n > 0))
                .count() as u64
        };
        // Questions: the survey, the stored approvals, the logs/packages/chroots lookup, the
        // lines of grown logs, the stored rows of at most six task tables (Tasks,
        // TaskIterations, both plan tables, both progress tables); then an insert per table
        // written, the Buffer question and a flush per task Buffer written, the state row,
        // the file-provides statement.
        let budget = 4 + 6 + written(TASK_TABLES) + 1 + written(TASK_BUFFERS) + 1 + 1;
        eprintln!(
            "task {id}: {n} round trips, budget {budget}, rows {:?}",
            r.rows
        );
        assert!(n <= budget, "task {id}: {n} round trips, budget {budget}");
        // What is not an insert or a flush of a table written is fixed.
        trips.push(n - written(TASK_TABLES) - written(TASK_BUFFERS));
    }
    assert_eq!(trips[0], trips[1], "questions grew with the task's size");
}
