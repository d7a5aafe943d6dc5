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

struct Batch<'a> {
    db: &'a Db,
    opts: &'a TaskLoadOptions,
    sink: Sink<'a>,
    obs: Arc<dyn Observer>,
    pool: Arc<rayon::ThreadPool>,
    /// One task ([`load_task`]): its failures fail the call; packages are parsed and
    /// written chunk by chunk.
    single: bool,
    store: PackageStore,
    /// `task <id>` or `tasks <first>..<last>`, for error messages.
    context: String,
}

/// Distinct values.
fn distinct<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort_unstable();
    v.dedup();
    v
}

impl Batch<'_> {
    /// The batch's phases; returns the items that were loaded (or found loaded), failures
    /// recorded in `outcomes`.
    async fn run(&mut self, items: Vec<Item>, outcomes: &mut Outcomes) -> Result<Vec<Item>> {
        // 1. States already loaded: only their approvals are reconciled.
        let (mut done, todo): (Vec<Item>, Vec<Item>) = if self.opts.force {
            (Vec::new(), items)
        } else {
            let have = self.states(&items).await?;
            items
                .into_iter()
                .partition(|it| have.contains(&it.state_row))
        };
        for it in &mut done {
            it.report.already_loaded = true;
        }

        // 2. Headers and logs of the tasks to load, all read before anything is written.
        let npkg: usize = todo.iter().map(|it| it.report.packages_seen).sum();
        self.obs.phase("headers", npkg as u64);
        let prepared: Vec<(Item, Result<()>)> = {
            let pool = self.pool.clone();
            let obs = self.obs.clone();
            let limits = self.opts.limits;
            blocking(move || {
                Ok(pool.install(|| {
                    todo.into_par_iter()
                        .map(|mut it| {
                            let r = prepare(&mut it, &limits, obs.as_ref());
                            (it, r)
                        })
                        .collect()
                }))
            })
            .await?
        };
        self.obs.finish_phase();
        let mut todo = Vec::new();
        for (it, r) in prepared {
            match r {
                Ok(()) => todo.push(it),
                Err(e) if self.single => return Err(e),
                Err(e) => outcomes[it.slot] = Some(Err(e)),
            }
        }

        // 3. What the database has, one query per table family for the whole batch.
        let survey = self.survey(&todo).await?;
        let approvals_db = self.approvals(&done, &todo, &survey).await?;
        if !todo.is_empty() {
            self.log_rows(&mut todo).await?;
        }

        // 4. Packages (the repository loader's path), then the task rows.
        let mut todo = self.packages(todo, outcomes).await?;
        self.task_rows(&todo, &survey).await?;
        let mut approvals = Vec::new();
        for it in done.iter().chain(&todo) {
            let latest = latest_approvals(&approvals_db, it.report.task_id);
            approvals.extend(rows::reconcile_approvals(
                &rows::approval_rows(&it.task),
                &latest,
                now_secs(),
            ));
        }
        // (Approvals go between the plan and the progress tables, as a single load writes them.)
        self.sink.write(approvals).await?;
        self.progress_rows(&todo, &survey).await?;

        // 5. The state rows, last: they make the states visible, so everything they refer
        // to is committed and on disk first.
        if !todo.is_empty() {
            self.sink.before_root(flush::TASK_LOAD).await?;
            let states: Vec<TaskStatesRow> = if self.opts.force {
                let have = self.states(&todo).await?;
                todo.iter()
                    .map(|it| it.state_row.clone())
                    .filter(|r| !have.contains(r))
                    .collect()
            } else {
                todo.iter().map(|it| it.state_row.clone()).collect()
            };
            self.sink.write(states).await?;

            // 6. Post-processing, once per batch.
            if self.opts.file_provides {
                self.file_provides().await?;
            }
            if self.opts.flush && !self.opts.dry_run {
                self.sink.flush_buffers(flush::TASK_LOAD).await?;
            }
        }
        for it in &mut todo {
            it.log_out = Vec::new();
        }
        done.append(&mut todo);
        Ok(done)
    }

    /// The stored `TaskStates` rows of the items' (id, change time) pairs.
    async fn states(&self, items: &[Item]) -> Result<Vec<TaskStatesRow>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let changed = distinct(items.iter().map(|i| i.state_row.task_changed).collect());
        let ids = distinct(items.iter().map(|i| i.state_row.task_id).collect());
        Ok(self
            .sink
            .check::<TaskStatesRow>()
            .any_of("task_changed", changed)
            .any_of("task_id", ids)
            .rows()
            .await?)
    }

    /// Row counts of the task-scoped tables for the items (`changed` for the tables whose
    /// rows carry it) and of the plan tables for their plan hashes.
    async fn survey(&self, items: &[Item]) -> Result<Survey> {
        if items.is_empty() {
            return Ok(Survey::default());
        }
        let ids = distinct(items.iter().map(|i| i.report.task_id).collect::<Vec<u32>>());
        let changed = distinct(items.iter().map(|i| i.report.changed).collect::<Vec<u32>>());
        let plan: Vec<u64> = plan_keys(items);
        let s = &self.sink;
        let parts = vec![
            s.check::<TasksRow>()
                .any_of("task_id", ids.clone())
                .any_of("task_changed", changed.clone())
                .counted(),
            s.check::<TaskIterationsRow>()
                .any_of("task_id", ids.clone())
                .any_of("task_changed", changed)
                .counted(),
            s.check::<TaskApprovalsRow>()
                .any_of("task_id", ids.clone())
                .counted(),
            s.check::<TaskProgressRow>()
                .any_of("task_id", ids.clone())
                .counted(),
            s.check::<TaskSubtaskProgressRow>()
                .any_of("task_id", ids)
                .counted(),
            s.check::<TaskPlanPackagesRow>()
                .any_of("tplan_hash", plan.clone())
                .counted(),
            s.check::<TaskPlanPkgHashRow>()
                .any_of("tplan_hash", plan)
                .counted(),
        ];
        let c = s.count_each(parts, "counting the task's rows").await?;
        let n = |i: usize| c.get(i).copied().unwrap_or(0);
        Ok(Survey {
            tasks: n(0),
            iterations: n(1),
            approvals: n(2),
            progress: n(3),
            subtask_progress: n(4),
            plan: n(5),
            plan_hash: n(6),
        })
    }

    /// The stored approvals of the loaded tasks (always) and of the tasks to load (when the
    /// survey found any), in (ts, date) order.
    async fn approvals(
        &self,
        done: &[Item],
        todo: &[Item],
        survey: &Survey,
    ) -> Result<Vec<TaskApprovalsRow>> {
        let mut ids: Vec<u32> = done.iter().map(|i| i.report.task_id).collect();
        if survey.approvals > 0 {
            ids.extend(todo.iter().map(|i| i.report.task_id));
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .sink
            .check::<TaskApprovalsRow>()
            .what("reading TaskApprovals")
            .any_of("task_id", distinct(ids))
            .order_by(&["ts", "tapp_date", "tapp_revoked"])
            .rows()
            .await?)
    }

    /// The rows among `keys` that `TaskLogs` has with the same time stamp, as
    /// `(message, line, hash, ts)`. Looked up through the sorting key
    /// `(tlog_message, tlog_line, tlog_hash)`, so no table scan is needed; a line stored with
    /// another time stamp (the log was rewritten) is not in the answer.
    async fn present_lines(&self, keys: &[&TaskLogsRow]) -> Result<HashSet<LogLine>> {
        let k: Vec<(String, u32, u64)> = keys
            .iter()
            .map(|r| (r.tlog_message.clone(), r.tlog_line, r.tlog_hash))
            .collect();
        let got: Vec<LogLine> = self
            .sink
            .check::<TaskLogsRow>()
            .what("checking TaskLogs")
            .chunk(LOG_LOOKUP_CHUNK)
            .lookup(
                &["tlog_message", "tlog_line", "tlog_hash"],
                &k,
                &["tlog_message", "tlog_line", "tlog_hash", "tlog_ts"],
            )
            .await?;
        Ok(got.into_iter().collect())
    }

    /// The log rows to write, per item. A probe of each log's first and last line, time
    /// stamps included, decides (one lookup for the batch): last line present → loaded
    /// (logs are written in line order); first line present → partly loaded or grown
    /// (checked line by line); neither → new or rewritten, written whole. A rewritten log
    /// (a build log's stamps are offsets from the file's mtime, which moves whenever girar
    /// appends to it) is written again like the original does, so the ReplacingMergeTree
    /// keeps the latest stamp of every line.
    async fn log_rows(&self, items: &mut [Item]) -> Result<()> {
        let probe: Vec<&TaskLogsRow> = items
            .iter()
            .flat_map(|it| it.logs.iter())
            .flat_map(|rows| rows.first().into_iter().chain(rows.last()))
            .collect();
        let probed = self.present_lines(&probe).await?;
        let force = self.opts.force;
        for it in items.iter_mut() {
            let mut out = Vec::new();
            for rows in &it.logs {
                let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                    continue;
                };
                if probed.contains(&log_line(last)) && !force {
                    continue;
                }
                if probed.contains(&log_line(first)) || force {
                    let have = self.present_lines(&rows.iter().collect::<Vec<_>>()).await?;
                    out.extend(
                        rows.iter()
                            .filter(|r| !have.contains(&log_line(r)))
                            .cloned(),
                    );
                } else {
                    out.extend(rows.iter().cloned());
                }
            }
            it.log_out = out;
            it.logs = Vec::new();
        }
        Ok(())
    }

    /// Packages: identities known completely are skipped, the rest parsed and written
    /// through the repository loader's path ([`PackageStore`]). Returns the items still
    /// loading (a task whose package cannot be read fails here, before its rows are written).
    async fn packages(&mut self, items: Vec<Item>, outcomes: &mut Outcomes) -> Result<Vec<Item>> {
        let mut items = items;
        let hashes = distinct(
            items
                .iter()
                .flat_map(|it| it.headers.iter().map(|h| h.pkg_hash))
                .collect::<Vec<u64>>(),
        );
        if hashes.is_empty() {
            return Ok(items);
        }
        let names = distinct(
            items
                .iter()
                .flat_map(|it| it.headers.iter().map(|h| h.name.clone()))
                .collect::<Vec<String>>(),
        );
        // Packages rows by (name, hash): the name keeps the lookup on Packages' sorting key.
        let have_pkg = self
            .sink
            .check::<PackagesRow>()
            .any_of("pkg_name", names)
            .present("pkg_hash", &hashes)
            .await?;
        let pairs: Vec<(u64, String)> = self
            .sink
            .check::<PackageHashRow>()
            .pairs("pkgh_mmh", "pkgh_md5", &hashes)
            .await?;
        let mut have_hash: HashSet<(u64, [u8; 16])> = HashSet::new();
        for (h, md5_hex) in &pairs {
            let mut md5 = [0u8; 16];
            if hex::decode_to_slice(md5_hex, &mut md5).is_ok() {
                have_hash.insert((*h, md5));
            }
        }
        let complete: HashSet<u64> = pairs.iter().map(|(h, _)| *h).collect();
        // The package path need not ask again what was just asked.
        self.store = std::mem::take(&mut self.store).knowing(&hashes, have_pkg.clone(), have_hash);
        let mut todo: Vec<PkgTodo> = Vec::new();
        for (i, it) in items.iter_mut().enumerate() {
            // A binary's source package is its iteration's.
            let mut src_of: HashMap<&str, u64> = HashMap::new();
            for iter in &it.task.iterations {
                let s = iter
                    .srpm
                    .as_ref()
                    .and_then(|p| it.hash_by_path.get(p))
                    .copied()
                    .unwrap_or(0);
                for r in &iter.rpms {
                    src_of.entry(r.as_str()).or_insert(s);
                }
            }
            let mut seen: HashSet<u64> = HashSet::new();
            let mut new = 0;
            for h in &it.headers {
                let known = have_pkg.contains(&h.pkg_hash) && complete.contains(&h.pkg_hash);
                if (known && !self.opts.force) || !seen.insert(h.pkg_hash) {
                    continue;
                }
                let src = match h.role {
                    PackageRole::Binary => src_of.get(h.rel.as_str()).copied().unwrap_or(0),
                    PackageRole::Source | PackageRole::Arepo => 0,
                };
                new += 1;
                todo.push(PkgTodo {
                    item: i,
                    header: h.clone(),
                    src,
                });
            }
            it.report.packages_new = new;
        }
        self.obs.phase("packages", todo.len() as u64);
        if self.single {
            // One task: parsed and written chunk by chunk (a large task need not fit in memory).
            for chunk in todo.chunks(CHUNK_PACKAGES) {
                let parsed = self.parse(chunk, &items).await;
                let parsed = parsed.into_iter().collect::<Result<Vec<_>>>()?;
                let n = parsed.len() as u64;
                self.store.write(&mut self.sink, parsed).await?;
                self.obs.advance(n);
            }
        } else {
            // Many tasks: every package parsed first, so a bad one fails only its task.
            let parsed = self.parse(&todo, &items).await;
            let mut bad: HashMap<usize, TaskError> = HashMap::new();
            let mut good = Vec::with_capacity(parsed.len());
            for (t, p) in todo.iter().zip(parsed) {
                match p {
                    Ok(p) => good.push((t.item, p)),
                    Err(e) => {
                        bad.entry(t.item).or_insert(e);
                    }
                }
            }
            let good: Vec<(FileDigests, PackageRows)> = good
                .into_iter()
                .filter(|(i, _)| !bad.contains_key(i))
                .map(|(_, p)| p)
                .collect();
            let mut rest = Vec::new();
            for (i, it) in items.drain(..).enumerate() {
                match bad.remove(&i) {
                    Some(e) => outcomes[it.slot] = Some(Err(e)),
                    None => rest.push(it),
                }
            }
            items = rest;
            let mut good = good.into_iter().peekable();
            while good.peek().is_some() {
                let chunk: Vec<_> = good.by_ref().take(CHUNK_PACKAGES).collect();
                let n = chunk.len() as u64;
                self.store.write(&mut self.sink, chunk).await?;
                self.obs.advance(n);
            }
        }
        self.obs.finish_phase();
        Ok(items)
    }

    /// Reads the packages of `todo` fully, in parallel (one outcome each, in order).
    async fn parse(
        &self,
        todo: &[PkgTodo],
        items: &[Item],
    ) -> Vec<Result<(FileDigests, PackageRows)>> {
        let jobs: Vec<(PathBuf, Header, u64, Option<StatedDigests>)> = todo
            .iter()
            .map(|t| {
                let task = &items[t.item].task;
                (
                    task.path.clone(),
                    t.header.clone(),
                    t.src,
                    task.digests.get(file_name(&t.header.rel)).cloned(),
                )
            })
            .collect();
        let pool = self.pool.clone();
        let limits = self.opts.limits;
        let n = jobs.len();
        blocking(move || {
            Ok(pool.install(|| {
                jobs.par_iter()
                    .map(|(root, h, src, stated)| {
                        parse_package(root, h, *src, stated.as_ref(), &limits)
                    })
                    .collect()
            }))
        })
        .await
        .unwrap_or_else(|e| {
            let msg = e.to_string();
            (0..n)
                .map(|_| Err(TaskError::Internal(msg.clone())))
                .collect()
        })
    }

    /// `Tasks`, `TaskLogs`, `TaskChroots`, `TaskIterations` and the plan tables of the
    /// batch: each checked once and written in one request.
    async fn task_rows(&mut self, items: &[Item], survey: &Survey) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let ids = distinct(items.iter().map(|i| i.report.task_id).collect::<Vec<u32>>());
        let changed = distinct(items.iter().map(|i| i.report.changed).collect::<Vec<u32>>());

        let have = if survey.tasks == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TasksRow>()
                .any_of("task_id", ids.clone())
                .any_of("task_changed", changed.clone())
                .rows()
                .await?
        };
        let want: Vec<TasksRow> = items
            .iter()
            .flat_map(|it| rows::subtask_rows(&it.task))
            .collect();
        self.sink.write(absent(want, &have)).await?;

        let logs: Vec<TaskLogsRow> = items.iter().flat_map(|it| it.log_out.clone()).collect();
        self.sink.write(logs).await?;

        let mut iterations = Vec::new();
        let mut chroots: Vec<TaskChrootsRow> = Vec::new();
        for it in items {
            let (i, c) = rows::iteration_rows(&it.task, &it.hash_by_path);
            iterations.extend(i);
            chroots.extend(c);
        }
        // By `tch_chroot`, the sorting key (its hash column is not in the key).
        let keys: Vec<Vec<u64>> = distinct(chroots.iter().map(|c| c.tch_chroot.clone()).collect());
        let have: HashSet<u64> = if keys.is_empty() {
            HashSet::new()
        } else {
            self.sink
                .check::<TaskChrootsRow>()
                .any_of("tch_chroot", keys)
                .values::<u64>("tch_hash")
                .await?
                .into_iter()
                .collect()
        };
        let mut seen: HashSet<u64> = HashSet::new();
        let chroots: Vec<_> = chroots
            .into_iter()
            .filter(|c| {
                let h = array_hash(&c.tch_chroot);
                !have.contains(&h) && seen.insert(h)
            })
            .collect();
        self.sink.write(chroots).await?;
        let have = if survey.iterations == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TaskIterationsRow>()
                .any_of("task_id", ids)
                .any_of("task_changed", changed)
                .rows()
                .await?
        };
        self.sink.write(absent(iterations, &have)).await?;

        let plan = plan_keys(items);
        if !plan.is_empty() {
            let mut plan_pkgs = Vec::new();
            let mut plan_hashes = Vec::new();
            for it in items {
                let (p, h) = rows::plan_rows(&it.task);
                plan_pkgs.extend(p);
                plan_hashes.extend(h);
            }
            let have = if survey.plan == 0 {
                Vec::new()
            } else {
                self.sink
                    .check::<TaskPlanPackagesRow>()
                    .any_of("tplan_hash", plan.clone())
                    .rows()
                    .await?
            };
            self.sink.write(absent_set(plan_pkgs, have)).await?;
            let have = if survey.plan_hash == 0 {
                Vec::new()
            } else {
                self.sink
                    .check::<TaskPlanPkgHashRow>()
                    .any_of("tplan_hash", plan)
                    .rows()
                    .await?
            };
            self.sink.write(absent_set(plan_hashes, have)).await?;
        }
        Ok(())
    }

    /// `TaskSubtaskProgress` and `TaskProgress` of the batch.
    async fn progress_rows(&mut self, items: &[Item], survey: &Survey) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let ids = distinct(items.iter().map(|i| i.report.task_id).collect::<Vec<u32>>());
        let want: Vec<TaskSubtaskProgressRow> = items
            .iter()
            .flat_map(|it| rows::subtask_progress_rows(&it.task))
            .collect();
        let have = if survey.subtask_progress == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TaskSubtaskProgressRow>()
                .any_of("task_id", ids.clone())
                .rows()
                .await?
        };
        self.sink.write(absent(want, &have)).await?;
        let have = if survey.progress == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TaskProgressRow>()
                .any_of("task_id", ids)
                .eq("type", "state")
                .rows()
                .await?
        };
        let want: Vec<TaskProgressRow> = items
            .iter()
            .map(|it| rows::progress_row(&it.task))
            .collect();
        self.sink.write(absent(want, &have)).await?;
        Ok(())
    }

    /// The original's global file-provides statement (§5.6, [`derived::insert_file_provides`]),
    /// counted as `FileProvides`; a dry run counts only what the database already holds.
    async fn file_provides(&mut self) -> Result<()> {
        let ctx = self.context.clone();
        // A real load learns the count from the insert itself (one round trip).
        let n = if self.opts.dry_run {
            derived::count_file_provides(self.db, &ctx).await?
        } else {
            derived::insert_file_provides(self.db, &ctx).await?
        };
        self.sink.count("FileProvides", n);
        Ok(())
    }
}

/// The latest stored approval per (subtask, name, type) of `task_id`: the last in
/// (ts, date) order.
fn latest_approvals(all: &[TaskApprovalsRow], task_id: u32) -> Vec<TaskApprovalsRow> {
    let mut latest: Vec<TaskApprovalsRow> = Vec::new();
    for r in all.iter().filter(|r| r.task_id == task_id) {
        match latest.iter_mut().find(|l| {
            l.subtask_id == r.subtask_id && l.tapp_name == r.tapp_name && l.tapp_type == r.tapp_type
        }) {
            Some(l) => *l = r.clone(),
            None => latest.push(r.clone()),
        }
    }
    latest
}

/// The plan hashes of the items' tasks.
fn plan_keys(items: &[Item]) -> Vec<u64> {
    distinct(
        items
            .iter()
            .flat_map(|it| it.task.plan.hashes.values().copied())
            .collect(),
    )
}

/// A stored log line: `(message, line, hash, ts)`.
type LogLine = (String, u32, u64, u32);

fn log_line(r: &TaskLogsRow) -> LogLine {
    (r.tlog_message.clone(), r.tlog_line, r.tlog_hash, r.tlog_ts)
}

/// The rows of `want` that are not in `have` (order kept, duplicates in `want` dropped).
fn absent<T: PartialEq + Clone>(want: Vec<T>, have: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(want.len());
    for r in want {
        if !have.contains(&r) && !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// [`absent`] through a hash set, for the larger plan tables.
fn absent_set<T: Eq + std::hash::Hash + Clone>(want: Vec<T>, have: Vec<T>) -> Vec<T> {
    let mut seen: HashSet<T> = have.into_iter().collect();
    want.into_iter()
        .filter(|r| seen.insert(r.clone()))
        .collect()
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// Reads one package fully and finds the digests of its `PackageHash` row: noarch binaries always get
/// their digests from the file (the original's workaround for noarch duplicates), others
/// use what `pkglist.task.xz` and the plan state and compute the rest.
fn parse_package(
    root: &Path,
    h: &Header,
    src: u64,
    stated: Option<&StatedDigests>,
    limits: &ReadLimits,
) -> Result<(FileDigests, PackageRows)> {
    let path = resolve_in(root, &h.rel)?;
    let mut rows = read_package_file(&path, limits)?;
    if rows.package.pkg_sourcepackage == 0 {
        rows.set_srcrpm_hash(src);
    }
    let noarch = rows.package.pkg_sourcepackage == 0 && file_name(&h.rel).contains(".noarch.rpm");
    let (mut md5, mut sha256, mut blake2b) = match (noarch, stated) {
        (false, Some(d)) => (d.md5, d.sha256, d.blake2b),
        _ => (None, None, None),
    };
    if md5.is_none() || sha256.is_none() || blake2b.is_none() {
        let got = altrepodb_rpm::digest_file(
            &path,
            &[DigestAlgo::Md5, DigestAlgo::Sha256, DigestAlgo::Blake2b512],
        )
        .map_err(TaskError::io(&path))?;
        md5 = md5.or(got.md5);
        sha256 = sha256.or(got.sha256);
        blake2b = blake2b.or(got.blake2b);
    }
    // Missing digests are stored as zeros, as before (PackageStore fills the defaults).
    let digests = FileDigests {
        md5: Some(md5.unwrap_or_default()),
        sha256: Some(sha256.unwrap_or_default()),
        blake2b: Some(blake2b.unwrap_or([0; 64])),
    };
    Ok((digests, rows))
}
