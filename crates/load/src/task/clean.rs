//! `task_cleaner` (original-system §1.12): tasks whose latest state is neither DONE nor
//! DELETED and whose directory vanished from the task tree get a DELETED state row; tasks
//! whose state on disk differs from the database's are listed in `unclear_state_tasks.log`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use altrepodb_db::inserter::BatchInserter;
use altrepodb_db::rows_task::{table, TaskProgressRow, TaskStateRow};
use altrepodb_db::Db;
use clickhouse::Row;
use serde::Deserialize;

use super::error::{Result, TaskError};
use super::source::TaskDir;

/// The original's message on the DELETED rows it wrote.
pub const DELETED_MESSAGE: &str = "task found as deleted by task_cleaner";

/// The original's report file name (in the working directory).
pub const UNCLEAR_STATES_FILE: &str = "unclear_state_tasks.log";

/// What to clean.
#[derive(Debug, Clone)]
pub struct TaskCleanOptions {
    /// The directory that holds `<task id>/` directories.
    pub root: PathBuf,
    /// Only this task.
    pub task_id: Option<u32>,
    /// Report, write nothing to the database.
    pub dry_run: bool,
    /// Where the unclear states go (rewritten when there are any).
    pub unclear_log: PathBuf,
}

impl TaskCleanOptions {
    /// Defaults for `root`: every task, `./unclear_state_tasks.log`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        TaskCleanOptions {
            root: root.into(),
            task_id: None,
            dry_run: false,
            unclear_log: PathBuf::from(UNCLEAR_STATES_FILE),
        }
    }
}

/// A task whose state on disk differs from its latest state in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnclearState {
    /// Task.
    pub task_id: u32,
    /// Latest state in `TaskStates`.
    pub db_state: String,
    /// `task/state` on disk (empty when missing).
    pub fs_state: String,
}

/// What a clean did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default)]
pub struct TaskCleanReport {
    /// Tasks not DONE and not DELETED that were checked.
    pub checked: usize,
    /// Tasks marked (or, dry run, to be marked) DELETED.
    pub deleted: Vec<u32>,
    /// Tasks with a different state on disk.
    pub unclear: Vec<UnclearState>,
    /// The report file, when one was written.
    pub unclear_log: Option<PathBuf>,
    /// Nothing was written to the database.
    pub dry_run: bool,
    /// Wall time.
    pub elapsed: Duration,
}

impl TaskCleanReport {
    /// The one-line summary.
    pub fn summary(&self) -> String {
        format!(
            "{}{} tasks checked, {} {} DELETED, {} with unclear state{}; {:.1} s",
            if self.dry_run { "dry run: " } else { "" },
            self.checked,
            self.deleted.len(),
            if self.dry_run {
                "to be marked"
            } else {
                "marked"
            },
            self.unclear.len(),
            self.unclear_log
                .as_ref()
                .map(|p| format!(" (see {})", p.display()))
                .unwrap_or_default(),
            self.elapsed.as_secs_f64()
        )
    }
}

#[derive(Debug, Deserialize, Row)]
struct Latest {
    id: u32,
    state: String,
    repo: String,
    owner: String,
}

/// Runs the cleaner.
pub async fn clean_tasks(db: &Db, opts: &TaskCleanOptions) -> Result<TaskCleanReport> {
    let started = Instant::now();
    if !opts.root.is_dir() {
        return Err(TaskError::NotATask {
            path: opts.root.clone(),
            why: "the tasks root is not a directory".into(),
        });
    }
    let ctx = |e: clickhouse::error::Error, what: &str| TaskError::Db(db.classify(&e, what));
    let sql = "SELECT S.id AS id, S.state AS state, ifNull(T.repo, '') AS repo, ifNull(T.owner, '') AS owner FROM \
        (SELECT task_id AS id, argMax(task_state, task_changed) AS state FROM TaskStates_buffer \
         WHERE {one:UInt32} = 0 OR task_id = {one:UInt32} GROUP BY task_id) AS S \
        LEFT JOIN (SELECT task_id, argMax(task_repo, task_changed) AS repo, argMax(task_owner, task_changed) AS owner \
                   FROM Tasks_buffer GROUP BY task_id) AS T ON T.task_id = S.id \
        WHERE S.state NOT IN ('DONE', 'DELETED') ORDER BY id SETTINGS join_use_nulls = 1";
    let tasks: Vec<Latest> = db
        .client()
        .query_raw(sql)
        .param("one", opts.task_id.unwrap_or(0))
        .fetch_all()
        .await
        .map_err(|e| ctx(e, "reading the latest task states"))?;
    let mut report = TaskCleanReport {
        checked: tasks.len(),
        dry_run: opts.dry_run,
        ..TaskCleanReport::default()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0);
    let mut states = Vec::new();
    let mut progress = Vec::new();
    for t in &tasks {
        let dir = opts.root.join(t.id.to_string());
        if !dir.is_dir() {
            tracing::debug!(
                "task {} is not in {}: marking it DELETED",
                t.id,
                opts.root.display()
            );
            report.deleted.push(t.id);
            states.push(TaskStateRow {
                task_changed: now,
                task_id: t.id,
                task_state: "DELETED".into(),
                task_message: DELETED_MESSAGE.into(),
                ..TaskStateRow::default()
            });
            // The 2026 API lists tasks from TaskProgress: say there that it is gone too.
            progress.push(TaskProgressRow {
                task_id: t.id,
                task_repo: t.repo.clone(),
                task_owner: t.owner.clone(),
                task_state: "DELETED".into(),
                task_changed: now,
                task_message: DELETED_MESSAGE.into(),
                type_: "state".into(),
                ts: i64::from(now) * 1000,
                ..TaskProgressRow::default()
            });
            continue;
        }
        let fs_state = TaskDir::open(&dir)?.trimmed("task/state")?;
        if fs_state != t.state {
            tracing::info!(
                "task {} state difference found:\t@DB\t{}\t@FS\t{fs_state}",
                t.id,
                t.state
            );
            report.unclear.push(UnclearState {
                task_id: t.id,
                db_state: t.state.clone(),
                fs_state,
            });
        }
    }
    if !report.unclear.is_empty() {
        let mut text = String::new();
        for u in &report.unclear {
            let _ = writeln!(
                text,
                "{}\t@DB\t{}\t@FS\t{}",
                u.task_id, u.db_state, u.fs_state
            );
        }
        std::fs::write(&opts.unclear_log, text).map_err(TaskError::io(&opts.unclear_log))?;
        report.unclear_log = Some(opts.unclear_log.clone());
    }
    if !opts.dry_run && !states.is_empty() {
        // The rows carry the time of this run, so a fixed token prefix never repeats a batch.
        let token = "task_cleaner";
        let mut p = BatchInserter::new(db.client(), table::TASK_PROGRESS, token);
        p.extend(progress).await?;
        p.finish().await?;
        let mut s = BatchInserter::new(db.client(), table::TASK_STATES, token);
        s.extend(states).await?;
        s.finish().await?;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}
