//! Sink step of the task loader: task directories' rows written insert-if-absent, the
//! state rows last — one task ([`load_task`]) or many in batches ([`load_tasks`]).
//!
//! A batch (one task, or up to [`BULK_BATCH_TASKS`]) goes through phases, so its round
//! trips do not grow with its tasks, subtasks, arches or logs:
//! 1. every task read; one query finds the states already loaded (those only reconcile
//!    their approvals);
//! 2. every package header and log of the other tasks read and parsed (in parallel), so a
//!    bad file fails its task before anything of it is written;
//! 3. what the database has, asked once per table family for the whole batch (row counts
//!    of the task tables first, then the rows of the tables that have any; the logs by
//!    their first and last lines; the packages by `Packages` and `PackageHash`);
//! 4. new packages through the repository loader's path ([`PackageStore`]: `Packages`
//!    first, `PackageHash` last, so a package with a `PackageHash` row is complete), then
//!    each task table's new rows in one insert: `Tasks`, `TaskLogs`, `TaskChroots`,
//!    `TaskIterations`, `TaskPlanPackages`, `TaskPlanPkgHash`, `TaskApprovals`,
//!    `TaskSubtaskProgress`, `TaskProgress`;
//! 5. `TaskStates` last, once the Buffers holding rows are flushed: it fires
//!    `mv_package_history`, and a task without a state row is not visible. A failed load
//!    leaves no state row; loading again completes it;
//! 6. the original's file-provides statement, once per batch.
//!
//! Every table is checked before it is written, so loading the same state again writes
//! nothing (and an identical `TaskStates` row short-cuts everything but the approvals). A
//! later state writes its own state, subtask and iteration rows (they carry
//! `task_changed`) and whatever else is new: logs, plans, packages, approvals.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use altrepodb_db::rows::{PackageHashRow, PackagesRow};
use altrepodb_db::rows_task::{
    TaskApprovalsRow, TaskChrootsRow, TaskIterationsRow, TaskLogsRow, TaskPlanPackagesRow,
    TaskPlanPkgHashRow, TaskProgressRow, TaskStatesRow, TaskSubtaskProgressRow, TasksRow,
};
use altrepodb_db::sink::Sink;
use altrepodb_db::{derived, flush, registry, Db};
use altrepodb_rpm::{DigestAlgo, Package, Tag};
use rayon::prelude::*;

use super::error::{Result, TaskError};
use super::hash::array_hash;
use super::model::{PackageRole, StatedDigests, Task};
use super::parse::parse_log;
use super::read::read_task;
use super::rows;
use super::source::{resolve_in, TaskDir};
use crate::bounded::{read_file_capped, ReadLimits};
use crate::package::{read_package_file, PackageError, PackageRows};
use crate::package_store::PackageStore;
use crate::repo::scan::FileDigests;
use crate::report::{LoadReport, Skipped};
use crate::Observer;

mod batch;
use batch::*;

/// Packages parsed and written together.
const CHUNK_PACKAGES: usize = 200;
/// Log rows per existence query of an events log (log lines are long values).
const LOG_LOOKUP_CHUNK: usize = 500;

/// What to load.
#[derive(Debug, Clone)]
pub struct TaskLoadOptions {
    /// The task directory (`/tasks/<id>` or `/archive/tasks/done/_<id/1024>/<id>`).
    pub path: PathBuf,
    /// Threads for reading package files and logs (at least 1).
    pub workers: usize,
    /// Re-read every package and re-check every table, even when the state is loaded.
    pub force: bool,
    /// Read everything and count the rows that would be written; write nothing.
    pub dry_run: bool,
    /// `OPTIMIZE TABLE` the buffers afterwards (the load's own rows are flushed anyway).
    pub flush: bool,
    /// Write the parsed task to `<dir>/dump-<id>-<YYYY-MM-DD>.json`.
    pub dump_json: Option<PathBuf>,
    /// Run the original's global file-provides statement after the load (§5.6). A dry run
    /// counts only what the database already holds (the task's packages are not written).
    pub file_provides: bool,
    /// Caps on task files, logs, lists and spec files.
    pub limits: ReadLimits,
}

impl TaskLoadOptions {
    /// Defaults for `path`: 4 workers, file provides on, nothing else.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TaskLoadOptions {
            path: path.into(),
            workers: 4,
            force: false,
            dry_run: false,
            flush: false,
            dump_json: None,
            file_provides: true,
            limits: ReadLimits::default(),
        }
    }
}

/// What a load did (or, with `dry_run`, would do): the [`LoadReport`] (rows per table,
/// skipped inputs, seconds; it dereferences to it) and the task's particulars.
#[derive(Debug, Clone, Default)]
pub struct TaskLoadReport {
    /// Rows, skipped inputs, time.
    pub report: LoadReport,
    /// `task/id`.
    pub task_id: u32,
    /// `task/state`.
    pub state: String,
    /// `task_changed`.
    pub changed: u32,
    /// `task/try`, `task/iter`.
    pub try_iter: (u16, u8),
    /// The same state was loaded already (only approvals were reconciled).
    pub already_loaded: bool,
    /// Where the JSON dump went.
    pub dump: Option<PathBuf>,
}

impl std::ops::Deref for TaskLoadReport {
    type Target = LoadReport;
    fn deref(&self) -> &LoadReport {
        &self.report
    }
}

impl std::ops::DerefMut for TaskLoadReport {
    fn deref_mut(&mut self) -> &mut LoadReport {
        &mut self.report
    }
}

/// One package file of the task, after its header was read.
#[derive(Debug, Clone)]
struct Header {
    rel: String,
    role: PackageRole,
    name: String,
    pkg_hash: u64,
}

/// Reads just enough of `path` for its identity (lead, signature and main header).
fn read_identity(path: &Path) -> std::result::Result<(u64, String), PackageError> {
    let io = |source| PackageError::Io {
        path: path.to_owned(),
        source,
    };
    let rpm = |source| PackageError::Rpm {
        path: path.to_owned(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let bytes = altrepodb_rpm::read_package_bytes(&mut f).map_err(rpm)?;
    let pkg = Package::parse(&bytes).map_err(rpm)?;
    let h = pkg.header();
    Ok((
        h.pkg_hash().map_err(rpm)?,
        h.text(Tag::NAME).map_err(rpm)?.into_owned(),
    ))
}

/// How many rows of the batch's tasks (and their plans) each task-scoped table has: one
/// round trip instead of one per table; tables with none are not read row by row.
#[derive(Debug, Default)]
struct Survey {
    tasks: u64,
    iterations: u64,
    approvals: u64,
    progress: u64,
    subtask_progress: u64,
    plan: u64,
    plan_hash: u64,
    /// `TaskStates` rows equal to the one task's state row (asked only for one task).
    same_state: u64,
}

/// What a bulk load did: the rows of all its tasks together, the tasks loaded (or found
/// loaded) and the tasks that failed.
#[derive(Debug, Clone, Default)]
pub struct BulkLoadReport {
    /// Rows per table over every task, skipped inputs, time (it dereferences to it).
    pub report: LoadReport,
    /// The tasks loaded or found loaded, in input order (their `rows` are empty: a batch
    /// writes the rows of its tasks together).
    pub tasks: Vec<TaskLoadReport>,
    /// The tasks that failed, in input order.
    pub failed: Vec<FailedTask>,
}

impl std::ops::Deref for BulkLoadReport {
    type Target = LoadReport;
    fn deref(&self) -> &LoadReport {
        &self.report
    }
}

/// A task of a bulk load that was not loaded.
#[derive(Debug, Clone)]
pub struct FailedTask {
    /// The task directory.
    pub path: PathBuf,
    /// The task id (the directory's name when the task could not be read).
    pub task_id: Option<u32>,
    /// Why, one line naming the file.
    pub error: String,
    /// The database did not answer: the task itself may be fine (worth retrying).
    pub unreachable: bool,
}

/// Tasks per batch of a bulk load: their checks and inserts travel together, and their
/// state rows are written after one flush of the Buffers.
pub const BULK_BATCH_TASKS: usize = 64;

/// One task of a batch between the phases.
struct Item {
    slot: usize,
    task: Task,
    report: TaskLoadReport,
    state_row: TaskStatesRow,
    headers: Vec<Header>,
    hash_by_path: HashMap<String, u64>,
    /// Parsed logs, in `task.logs` order.
    logs: Vec<Vec<TaskLogsRow>>,
    /// The log rows to write.
    log_out: Vec<TaskLogsRow>,
}

/// Per input path: the report, or why the task was not loaded.
type Outcomes = Vec<Option<Result<TaskLoadReport>>>;

/// Loads the task directory `opts.path`.
pub async fn load_task(
    db: &Db,
    opts: &TaskLoadOptions,
    obs: Arc<dyn Observer>,
) -> Result<TaskLoadReport> {
    let started = Instant::now();
    let pool = worker_pool(opts)?;
    let (mut out, rows) = run_batch(db, opts, vec![opts.path.clone()], obs, pool, true).await?;
    let mut report = out
        .pop()
        .flatten()
        .ok_or_else(|| TaskError::Internal("no outcome for the task".into()))??;
    report.rows = rows;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Loads many task directories with one connection: tasks are read and checked in batches
/// of [`BULK_BATCH_TASKS`] (one query per table family, one insert per table for the whole
/// batch), and each batch's `TaskStates` rows are written after all its other rows are
/// durable. A task that cannot be read or parsed is reported in `failed` and does not stop
/// the others; a database error fails the tasks of its batch. `opts.path` is not used.
pub async fn load_tasks(
    db: &Db,
    opts: &TaskLoadOptions,
    paths: &[PathBuf],
    obs: Arc<dyn Observer>,
) -> Result<BulkLoadReport> {
    let started = Instant::now();
    let pool = worker_pool(opts)?;
    let mut bulk = BulkLoadReport {
        report: LoadReport::new(registry::loader::TASK, opts.dry_run),
        ..BulkLoadReport::default()
    };
    obs.phase("tasks", paths.len() as u64);
    for batch in batches(paths) {
        let quiet: Arc<dyn Observer> = Arc::new(crate::NoObserver);
        let n = batch.len() as u64;
        match run_batch(db, opts, batch.clone(), quiet, pool.clone(), false).await {
            Ok((outcomes, rows)) => {
                for (table, k) in rows {
                    *bulk.report.rows.entry(table).or_default() += k;
                }
                for (path, o) in batch.iter().zip(outcomes) {
                    match o {
                        Some(Ok(r)) => {
                            bulk.report.packages_seen += r.packages_seen;
                            bulk.report.packages_new += r.packages_new;
                            bulk.report.skipped.extend(r.skipped.iter().cloned());
                            bulk.tasks.push(r);
                        }
                        Some(Err(e)) => bulk.failed.push(failed(path, &e)),
                        None => bulk
                            .failed
                            .push(failed(path, &TaskError::Internal("not loaded".into()))),
                    }
                }
            }
            Err(e) => {
                for path in &batch {
                    bulk.failed.push(failed(path, &e));
                }
            }
        }
        obs.advance(n);
        // The bar counts tasks (their rate and ETA); the packages go next to it.
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        let (pkgs_seen, pkgs_new) = (bulk.report.packages_seen, bulk.report.packages_new);
        obs.status(&format!(
            "packages {pkgs_seen} ({:.0}/s), {pkgs_new} new ({:.0}/s)",
            pkgs_seen as f64 / secs,
            pkgs_new as f64 / secs
        ));
    }
    obs.finish_phase();
    bulk.report.elapsed = started.elapsed();
    bulk.report.subject = format!(
        "{} tasks ({} loaded, {} already loaded, {} failed)",
        paths.len(),
        bulk.tasks.iter().filter(|t| !t.already_loaded).count(),
        bulk.tasks.iter().filter(|t| t.already_loaded).count(),
        bulk.failed.len()
    );
    Ok(bulk)
}

fn failed(path: &Path, e: &TaskError) -> FailedTask {
    let id = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok());
    FailedTask {
        path: path.to_owned(),
        task_id: id,
        error: e.to_string(),
        unreachable: matches!(e, TaskError::Db(d)
            if d.exit_code() == altrepodb_db::error::EXIT_CONNECTION),
    }
}

/// `paths` cut into batches of at most [`BULK_BATCH_TASKS`], none holding two directories
/// of the same name (two states of one task are loaded one after the other).
fn batches(paths: &[PathBuf]) -> Vec<Vec<PathBuf>> {
    let mut out: Vec<Vec<PathBuf>> = Vec::new();
    let mut names: HashSet<std::ffi::OsString> = HashSet::new();
    for p in paths {
        let name = p.file_name().map(|n| n.to_owned()).unwrap_or_default();
        let full = out.last().is_none_or(|b| b.len() >= BULK_BATCH_TASKS);
        if full || names.contains(&name) {
            out.push(Vec::new());
            names.clear();
        }
        names.insert(name);
        if let Some(b) = out.last_mut() {
            b.push(p.clone());
        }
    }
    out
}

fn worker_pool(opts: &TaskLoadOptions) -> Result<Arc<rayon::ThreadPool>> {
    Ok(Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(opts.workers.max(1))
            .build()
            .map_err(|e| TaskError::Internal(e.to_string()))?,
    ))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TaskError::Internal(format!("reader thread: {e}")))?
}

/// `-J`: the parsed task as JSON.
fn dump_json(task: &Task, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(TaskError::io(dir))?;
    let today = time::OffsetDateTime::now_utc().date();
    let path = dir.join(format!("dump-{}-{today}.json", task.state.task_id));
    let text =
        serde_json::to_string_pretty(task).map_err(|e| TaskError::Internal(e.to_string()))?;
    std::fs::write(&path, text).map_err(TaskError::io(&path))?;
    Ok(path)
}

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

/// The subject of a task's summary line.
fn subject(r: &TaskLoadReport) -> String {
    format!(
        "task {} {} (try {}, iter {}){}",
        r.task_id,
        r.state,
        r.try_iter.0,
        r.try_iter.1,
        if r.already_loaded {
            ", state already loaded"
        } else {
            ""
        }
    )
}

/// Reads the package headers and parses the logs of one task (no database work), so a
/// bad file fails the task before anything of it is written.
fn prepare(it: &mut Item, limits: &ReadLimits, obs: &dyn Observer) -> Result<()> {
    let root = it.task.path.clone();
    let paths = it.task.package_paths();
    it.headers = paths
        .par_iter()
        .map(|(rel, role)| {
            let (pkg_hash, name) = read_identity(&resolve_in(&root, rel)?)?;
            obs.advance(1);
            Ok(Header {
                rel: rel.clone(),
                role: *role,
                name,
                pkg_hash,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    it.hash_by_path = it
        .headers
        .iter()
        .map(|h| (h.rel.clone(), h.pkg_hash))
        .collect();
    let log_cap = limits.log();
    it.logs = it
        .task
        .logs
        .par_iter()
        .map(|l| {
            let path = resolve_in(&root, &l.path)?;
            let bytes = read_file_capped(&path, log_cap).map_err(TaskError::io(&path))?;
            let mtime = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .map_err(TaskError::io(&path))?
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
                .unwrap_or(0);
            let lines = parse_log(l.kind, &bytes, mtime).map_err(|e| e.at(&path))?;
            Ok(lines
                .into_iter()
                .map(|x| TaskLogsRow {
                    tlog_hash: l.hash,
                    tlog_line: x.line,
                    tlog_ts: x.ts,
                    tlog_message: x.message,
                })
                .collect())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(())
}

/// One package to parse: the task it belongs to, its header, its source package's hash.
struct PkgTodo {
    item: usize,
    header: Header,
    src: u64,
}

/// One batch of tasks (one task for [`load_task`]): read, checked and written together.
/// Returns an outcome per path and the rows the batch wrote per table. An `Err` is a
/// failure of the whole batch (the database); a task's own failure is its outcome.
async fn run_batch(
    db: &Db,
    opts: &TaskLoadOptions,
    paths: Vec<PathBuf>,
    obs: Arc<dyn Observer>,
    pool: Arc<rayon::ThreadPool>,
    single: bool,
) -> Result<(Outcomes, BTreeMap<&'static str, u64>)> {
    let mut outcomes: Outcomes = (0..paths.len()).map(|_| None).collect();
    obs.phase("read task", 0);
    let limits = opts.limits;
    let read: Vec<Result<Task>> = {
        let pool = pool.clone();
        let paths = paths.clone();
        blocking(move || {
            Ok(pool.install(|| {
                paths
                    .par_iter()
                    .map(|p| read_task(&TaskDir::open(p)?.with_limits(limits)))
                    .collect()
            }))
        })
        .await?
    };
    obs.finish_phase();
    let mut items: Vec<Item> = Vec::new();
    for (slot, r) in read.into_iter().enumerate() {
        let task = match r {
            Ok(t) => t,
            Err(e) if single => return Err(e),
            Err(e) => {
                outcomes[slot] = Some(Err(e));
                continue;
            }
        };
        let mut report = TaskLoadReport {
            report: LoadReport {
                packages_seen: task.package_paths().len(),
                skipped: task
                    .skipped
                    .iter()
                    .map(|m| Skipped::from_message(m))
                    .collect(),
                ..LoadReport::new(registry::loader::TASK, opts.dry_run)
            },
            task_id: task.state.task_id,
            state: task.state.state.clone(),
            changed: task.state.changed,
            try_iter: (task.state.task_try, task.state.task_iter),
            ..TaskLoadReport::default()
        };
        if let Some(dir) = &opts.dump_json {
            match dump_json(&task, dir) {
                Ok(p) => report.dump = Some(p),
                Err(e) if single => return Err(e),
                Err(e) => {
                    outcomes[slot] = Some(Err(e));
                    continue;
                }
            }
        }
        items.push(Item {
            slot,
            state_row: rows::state_row(&task),
            task,
            report,
            headers: Vec::new(),
            hash_by_path: HashMap::new(),
            logs: Vec::new(),
            log_out: Vec::new(),
        });
    }
    let Some(first) = items.first() else {
        return Ok((outcomes, BTreeMap::new()));
    };
    let (token, context) = if single {
        (
            format!("task:{}:{}", first.report.task_id, first.report.changed),
            format!("task {}", first.report.task_id),
        )
    } else {
        let last = items.last().map(|i| i.report.task_id).unwrap_or(0);
        (
            format!("tasks:{}:{}:{}", first.report.task_id, last, items.len()),
            format!("tasks {}..{}", first.report.task_id, last),
        )
    };
    let mut b = Batch {
        db,
        opts,
        sink: Sink::new(db, token, opts.dry_run).with_context(context.clone()),
        context,
        obs,
        pool,
        single,
        store: PackageStore::new(),
    };
    let items = b.run(items, &mut outcomes).await?;
    let rows = b.sink.finish().await?;
    for mut it in items {
        it.report.report.subject = subject(&it.report);
        outcomes[it.slot] = Some(Ok(it.report));
    }
    Ok((outcomes, rows))
}
