//! The task service's batched loads: [`DirTaskLoader::load_many`] loads several task
//! directories in one bulk load and answers each request on its own, and
//! [`BatchingTaskLoader`] gathers the loads jobs ask for while one runs.
//!
//! Expected values: the tasks and their change times come from the task generator's
//! manifests; the missing directory and the batch sizes are this test's own inputs.

mod common;

use std::sync::{Arc, Mutex};

use altrepodb_daemon::service::{BoxFuture, JobError, JobOutcome};
use altrepodb_daemon::services::task::{
    BatchingTaskLoader, DirTaskLoader, TaskLoadRequest, TaskLoader,
};
use altrepodb_testdata::task::{generate_task, TaskSpec};
use common::TestDb;

fn request(id: u32, path: std::path::PathBuf) -> TaskLoadRequest {
    TaskLoadRequest {
        task_id: id,
        path,
        state: "done".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_loads_together_and_answers_each_request() {
    let work = tempfile::tempdir().unwrap();
    let mut ms = Vec::new();
    for (i, subtasks) in [1usize, 2, 3].into_iter().enumerate() {
        let spec = TaskSpec {
            id: 381_000 + i as u32,
            subtasks,
            seed: 90 + i as u64,
            ..TaskSpec::default()
        };
        ms.push(generate_task(work.path(), &spec).unwrap());
    }
    let mut tdb = TestDb::new().await;
    let db = Arc::new(tdb.db.take().unwrap());
    let reqs = vec![
        request(ms[0].id, ms[0].dir.clone()),
        request(ms[1].id, ms[1].dir.clone()),
        request(381_999, work.path().join("381999")),
        request(ms[2].id, ms[2].dir.clone()),
    ];
    let loader = DirTaskLoader::default();
    let out = loader.load_many(db.clone(), reqs.clone()).await;
    assert_eq!(out.len(), 4);
    let missing = out[2].as_ref().unwrap_err();
    assert!(
        !missing.transient && missing.message.contains("381999"),
        "{missing:?}"
    );
    let ok: Vec<&JobOutcome> = [0, 1, 3]
        .iter()
        .map(|i| out[*i].as_ref().unwrap_or_else(|e| panic!("{e:?}")))
        .collect();
    assert!(ok.iter().all(|o| !o.already_done));
    // The batch's rows are counted once: three state rows in the first outcome.
    assert_eq!(ok[0].rows.get("TaskStates"), Some(&3), "{:?}", ok[0].rows);
    assert!(ok[1].rows.is_empty() && ok[2].rows.is_empty());
    for m in &ms {
        let sql = format!(
            "SELECT count() FROM TaskStates_buffer WHERE task_id = {} AND task_changed = toDateTime({})",
            m.id, m.changed
        );
        let n: u64 = String::from_utf8(db.fetch_text(&sql, "TabSeparated").await.unwrap())
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(n, 1, "task {}", m.id);
    }

    // Again: every loaded state is found loaded, nothing is written.
    let again = loader.load_many(db.clone(), reqs).await;
    for i in [0, 1, 3] {
        let o = again[i].as_ref().unwrap();
        assert!(o.already_done, "{o:?}");
        assert!(o.rows.values().all(|n| *n == 0), "{:?}", o.rows);
    }
    assert!(again[2].is_err());
}

/// A loader that records its batches and holds each until the test lets it go.
struct Gated {
    batches: Arc<Mutex<Vec<Vec<u32>>>>,
    started: tokio::sync::mpsc::UnboundedSender<()>,
    gate: Arc<tokio::sync::Semaphore>,
}

impl TaskLoader for Gated {
    fn load(
        &self,
        db: Arc<altrepodb_db::Db>,
        req: TaskLoadRequest,
    ) -> BoxFuture<'static, Result<JobOutcome, JobError>> {
        let fut = self.load_many(db, vec![req]);
        Box::pin(async move { fut.await.pop().unwrap() })
    }

    fn load_many(
        &self,
        _db: Arc<altrepodb_db::Db>,
        reqs: Vec<TaskLoadRequest>,
    ) -> BoxFuture<'static, Vec<Result<JobOutcome, JobError>>> {
        self.batches
            .lock()
            .unwrap()
            .push(reqs.iter().map(|r| r.task_id).collect());
        let started = self.started.clone();
        let gate = self.gate.clone();
        Box::pin(async move {
            let _ = started.send(());
            gate.acquire().await.unwrap().forget();
            reqs.iter()
                .map(|r| {
                    Ok(JobOutcome {
                        summary: format!("task {}", r.task_id),
                        ..JobOutcome::default()
                    })
                })
                .collect()
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_asked_while_one_runs_go_together() {
    let mut tdb = TestDb::new().await;
    let db = Arc::new(tdb.db.take().unwrap());
    let batches = Arc::new(Mutex::new(Vec::new()));
    let (tx, mut started) = tokio::sync::mpsc::unbounded_channel();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let loader = BatchingTaskLoader::new(
        Arc::new(Gated {
            batches: batches.clone(),
            started: tx,
            gate: gate.clone(),
        }),
        2,
    );
    let p = std::path::PathBuf::from("/nonexistent");
    // The first load starts at once, alone.
    let first = loader.load(db.clone(), request(1, p.clone()));
    started.recv().await.unwrap();
    // Three more while it runs: they wait, and go in batches of at most two.
    let rest: Vec<_> = (2..=4)
        .map(|id| loader.load(db.clone(), request(id, p.clone())))
        .collect();
    gate.add_permits(3);
    assert_eq!(first.await.unwrap().summary, "task 1");
    for (id, f) in (2..=4).zip(rest) {
        assert_eq!(f.await.unwrap().summary, format!("task {id}"));
    }
    assert_eq!(*batches.lock().unwrap(), vec![vec![1], vec![2, 3], vec![4]]);
}
