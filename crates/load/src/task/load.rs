//! Sink step of the task loader: one task directory's rows written insert-if-absent, the
//! state rows last.
//!
//! Order and crash safety (original-system §6.8, with the state rows moved to the end):
//! 1. packages the task built, per chunk: `Packages` first, then `Changelog`, `Files`,
//!    `Depends`, `Specfiles`, and `PackageHash` last; a package with a `PackageHash` row is
//!    complete, one with only a `Packages` row is completed table by table;
//! 2. `Tasks`, `TaskLogs` (probed by each log's first and last line, time stamps included,
//!    through the table's sorting key; a rewritten log is written again), `TaskChroots`,
//!    `TaskIterations`, `TaskPlanPackages`, `TaskPlanPkgHash`, `TaskApprovals`,
//!    `TaskSubtaskProgress`, `TaskProgress`;
//! 3. `TaskStates` last, once the Buffers the load reached are flushed: it fires
//!    `mv_package_history`, and a task without a state row is not visible. A failed load
//!    leaves no state row; loading again completes it.
//!
//! Every table is checked before it is written, so loading the same state again writes
//! nothing (and an identical `TaskStates` row short-cuts everything but the approvals). A
//! later state writes its own state, subtask and iteration rows (they carry
//! `task_changed`) and whatever else is new: logs, plans, packages, approvals.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use altrepodb_db::rows::{
    ChangelogRow, DependsRow, FilesRow, Fixed64, PackageHashRow, PackagesRow, SpecfilesRow,
};
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
use super::model::{LogRef, PackageRole, Task};
use super::parse::parse_log;
use super::read::read_task;
use super::rows;
use super::source::{resolve_in, TaskDir};
use crate::bounded::{read_file_capped, ReadLimits};
use crate::package::{read_package_file, PackageError, PackageRows};
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

/// How many rows of this task (and its plan) each task-scoped table has: one round trip
/// instead of one per table; tables with none are not read row by row.
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

/// A parsed package ready to write.
struct Parsed {
    rows: PackageRows,
    hash_row: PackageHashRow,
}

struct Loader<'a> {
    db: &'a Db,
    opts: &'a TaskLoadOptions,
    sink: Sink<'a>,
    task_id: u32,
    report: TaskLoadReport,
    obs: Arc<dyn Observer>,
    pool: Arc<rayon::ThreadPool>,
    /// Changelog hashes written (or, dry run, counted) by this run.
    chlog_seen: HashSet<u64>,
}

/// Loads the task directory `opts.path`.
pub async fn load_task(
    db: &Db,
    opts: &TaskLoadOptions,
    obs: Arc<dyn Observer>,
) -> Result<TaskLoadReport> {
    let started = Instant::now();
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(opts.workers.max(1))
            .build()
            .map_err(|e| TaskError::Internal(e.to_string()))?,
    );
    obs.phase("read task", 0);
    let path = opts.path.clone();
    let limits = opts.limits;
    let task = blocking(move || read_task(&TaskDir::open(&path)?.with_limits(limits))).await?;
    obs.finish_phase();
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
        report.dump = Some(dump_json(&task, dir)?);
    }
    let token = format!("task:{}:{}", task.state.task_id, task.state.changed);
    let mut l = Loader {
        db,
        opts,
        sink: Sink::new(db, token, opts.dry_run)
            .with_context(format!("task {}", task.state.task_id)),
        task_id: task.state.task_id,
        report,
        obs,
        pool,
        chlog_seen: HashSet::new(),
    };
    l.run(task).await?;
    let Loader {
        mut report, sink, ..
    } = l;
    report.rows = sink.finish().await?;
    report.elapsed = started.elapsed();
    report.report.subject = format!(
        "task {} {} (try {}, iter {}){}",
        report.task_id,
        report.state,
        report.try_iter.0,
        report.try_iter.1,
        if report.already_loaded {
            ", state already loaded"
        } else {
            ""
        }
    );
    Ok(report)
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

impl Loader<'_> {
    /// Row counts of the task-scoped tables for this task (`changed` for the tables whose
    /// rows carry it) and of the plan tables for `plan` hashes.
    async fn survey(&self, changed: u32, plan: &[u64]) -> Result<Survey> {
        let id = self.task_id;
        let s = &self.sink;
        let parts = vec![
            s.check::<TasksRow>()
                .eq("task_id", id)
                .eq("task_changed", changed)
                .counted(),
            s.check::<TaskIterationsRow>()
                .eq("task_id", id)
                .eq("task_changed", changed)
                .counted(),
            s.check::<TaskApprovalsRow>().eq("task_id", id).counted(),
            s.check::<TaskProgressRow>().eq("task_id", id).counted(),
            s.check::<TaskSubtaskProgressRow>()
                .eq("task_id", id)
                .counted(),
            s.check::<TaskPlanPackagesRow>()
                .any_of("tplan_hash", plan.to_vec())
                .counted(),
            s.check::<TaskPlanPkgHashRow>()
                .any_of("tplan_hash", plan.to_vec())
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

    async fn run(&mut self, task: Task) -> Result<()> {
        let state_row = rows::state_row(&task);
        if !self.opts.force && self.state_loaded(&state_row).await? {
            self.report.already_loaded = true;
            self.write_approvals(&task, true).await?;
            return Ok(());
        }
        let root = task.path.clone();

        // 1. Package identities (headers only), all before anything is written.
        let paths = task.package_paths();
        self.obs.phase("headers", paths.len() as u64);
        let headers: Vec<Header> = {
            let pool = self.pool.clone();
            let obs = self.obs.clone();
            let root = root.clone();
            blocking(move || {
                pool.install(|| {
                    paths
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
                        .collect::<Result<Vec<_>>>()
                })
            })
            .await?
        };
        self.obs.finish_phase();
        let hash_by_path: HashMap<String, u64> = headers
            .iter()
            .map(|h| (h.rel.clone(), h.pkg_hash))
            .collect();

        // 2. Logs to write (all parsed now, so a bad log fails the load before any write).
        let log_rows = self.log_rows(&task, &root).await?;

        // 3. Packages.
        self.load_packages(&task, &headers, &hash_by_path).await?;

        // 4. Task rows.
        let plan_keys: Vec<u64> = task.plan.hashes.values().copied().collect();
        let survey = self.survey(task.state.changed, &plan_keys).await?;
        let (id, changed) = (self.task_id, task.state.changed);
        let subtasks = rows::subtask_rows(&task);
        let have = if survey.tasks == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TasksRow>()
                .eq("task_id", id)
                .eq("task_changed", changed)
                .rows()
                .await?
        };
        self.sink.write(absent(subtasks, &have)).await?;

        self.sink.write(log_rows).await?;

        let (iterations, chroots) = rows::iteration_rows(&task, &hash_by_path);
        let chroot_hashes: Vec<u64> = chroots.iter().map(|c| array_hash(&c.tch_chroot)).collect();
        let have = self
            .sink
            .check::<TaskChrootsRow>()
            .present("tch_hash", &chroot_hashes)
            .await?;
        let chroots: Vec<_> = chroots
            .into_iter()
            .filter(|c| !have.contains(&array_hash(&c.tch_chroot)))
            .collect();
        self.sink.write(chroots).await?;
        let have = if survey.iterations == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TaskIterationsRow>()
                .eq("task_id", id)
                .eq("task_changed", changed)
                .rows()
                .await?
        };
        self.sink.write(absent(iterations, &have)).await?;

        let (plan_pkgs, plan_hashes) = rows::plan_rows(&task);
        if !plan_keys.is_empty() {
            let have = if survey.plan == 0 {
                Vec::new()
            } else {
                self.sink
                    .check::<TaskPlanPackagesRow>()
                    .any_of("tplan_hash", plan_keys.clone())
                    .rows()
                    .await?
            };
            self.sink.write(absent_set(plan_pkgs, have)).await?;
            let have = if survey.plan_hash == 0 {
                Vec::new()
            } else {
                self.sink
                    .check::<TaskPlanPkgHashRow>()
                    .any_of("tplan_hash", plan_keys.clone())
                    .rows()
                    .await?
            };
            self.sink.write(absent_set(plan_hashes, have)).await?;
        }

        self.write_approvals(&task, survey.approvals > 0).await?;

        let progress = rows::subtask_progress_rows(&task);
        let have = if survey.subtask_progress == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TaskSubtaskProgressRow>()
                .eq("task_id", id)
                .rows()
                .await?
        };
        self.sink.write(absent(progress, &have)).await?;
        let have = if survey.progress == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TaskProgressRow>()
                .eq("task_id", id)
                .eq("type", "state")
                .rows()
                .await?
        };
        self.sink
            .write(absent(vec![rows::progress_row(&task)], &have))
            .await?;

        // 5. The state row, last (checked at the start; again only when forced): it makes
        // the state visible, so everything it refers to is committed and on disk first.
        self.sink.before_root(flush::TASK_LOAD).await?;
        if !self.opts.force || !self.state_loaded(&state_row).await? {
            self.sink.write(vec![state_row]).await?;
        }

        // 6. Post-processing.
        if self.opts.file_provides {
            self.file_provides().await?;
        }
        if self.opts.flush && !self.opts.dry_run {
            self.flush().await?;
        }
        Ok(())
    }

    /// True when an identical `TaskStates` row exists.
    async fn state_loaded(&self, row: &TaskStatesRow) -> Result<bool> {
        let have = self
            .sink
            .check::<TaskStatesRow>()
            .eq("task_changed", row.task_changed)
            .eq("task_id", row.task_id)
            .rows()
            .await?;
        Ok(have.contains(row))
    }

    /// Approvals on the file system reconciled with the database (§6.6).
    async fn write_approvals(&mut self, task: &Task, in_db: bool) -> Result<()> {
        let fs = rows::approval_rows(task);
        let all = if in_db {
            self.sink
                .check::<TaskApprovalsRow>()
                .what("reading TaskApprovals")
                .eq("task_id", self.task_id)
                .order_by(&["ts", "tapp_date", "tapp_revoked"])
                .rows()
                .await?
        } else {
            Vec::new()
        };
        // Latest per (subtask, name, type): the last in (ts, date) order.
        let mut latest: Vec<TaskApprovalsRow> = Vec::new();
        for r in all {
            match latest.iter_mut().find(|l| {
                l.subtask_id == r.subtask_id
                    && l.tapp_name == r.tapp_name
                    && l.tapp_type == r.tapp_type
            }) {
                Some(l) => *l = r,
                None => latest.push(r),
            }
        }
        let new = rows::reconcile_approvals(&fs, &latest, now_secs());
        self.sink.write(new).await?;
        Ok(())
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

    /// The log rows to write. Every log is parsed first (a bad log fails the load before
    /// anything is written); then a probe of each log's first and last line, time stamps
    /// included, decides: last line present → loaded (logs are written in line order);
    /// first line present → partly loaded or grown (checked line by line); neither → new or
    /// rewritten, written whole. A rewritten log (a build log's stamps are offsets from the
    /// file's mtime, which moves whenever girar appends to it) is written again like the
    /// original does, so the ReplacingMergeTree keeps the latest stamp of every line.
    async fn log_rows(&self, task: &Task, root: &Path) -> Result<Vec<TaskLogsRow>> {
        let todo: Vec<LogRef> = task.logs.clone();
        let pool = self.pool.clone();
        let root = root.to_owned();
        let log_cap = self.opts.limits.log();
        let parsed: Vec<(LogRef, Vec<TaskLogsRow>)> = blocking(move || {
            pool.install(|| {
                todo.into_par_iter()
                    .map(|l| {
                        let path = resolve_in(&root, &l.path)?;
                        let bytes =
                            read_file_capped(&path, log_cap).map_err(TaskError::io(&path))?;
                        let mtime = std::fs::metadata(&path)
                            .and_then(|m| m.modified())
                            .map_err(TaskError::io(&path))?
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
                            .unwrap_or(0);
                        let lines = parse_log(l.kind, &bytes, mtime).map_err(|e| e.at(&path))?;
                        let rows = lines
                            .into_iter()
                            .map(|x| TaskLogsRow {
                                tlog_hash: l.hash,
                                tlog_line: x.line,
                                tlog_ts: x.ts,
                                tlog_message: x.message,
                            })
                            .collect();
                        Ok((l, rows))
                    })
                    .collect::<Result<Vec<_>>>()
            })
        })
        .await?;
        let probe: Vec<&TaskLogsRow> = parsed
            .iter()
            .flat_map(|(_, rows)| rows.first().into_iter().chain(rows.last()))
            .collect();
        let probed = self.present_lines(&probe).await?;
        let mut out = Vec::new();
        for (_, rows) in &parsed {
            let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                continue;
            };
            if probed.contains(&log_line(last)) && !self.opts.force {
                continue;
            }
            if probed.contains(&log_line(first)) || self.opts.force {
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
        Ok(out)
    }

    /// Packages: identities known completely are skipped, the rest parsed in chunks and
    /// written insert-if-absent.
    async fn load_packages(
        &mut self,
        task: &Task,
        headers: &[Header],
        hash_by_path: &HashMap<String, u64>,
    ) -> Result<()> {
        let mut hashes: Vec<u64> = headers.iter().map(|h| h.pkg_hash).collect();
        hashes.sort_unstable();
        hashes.dedup();
        let mut names: Vec<String> = headers.iter().map(|h| h.name.clone()).collect();
        names.sort_unstable();
        names.dedup();
        // Packages rows by (name, hash): the name keeps the lookup on Packages' sorting key.
        let have_pkg = self
            .sink
            .check::<PackagesRow>()
            .any_of("pkg_name", names)
            .present("pkg_hash", &hashes)
            .await?;
        let mut have_hash: HashSet<(u64, [u8; 16])> = HashSet::new();
        let mut complete: HashSet<u64> = HashSet::new();
        let pairs: Vec<(u64, String)> = self
            .sink
            .check::<PackageHashRow>()
            .pairs("pkgh_mmh", "pkgh_md5", &hashes)
            .await?;
        for (h, md5_hex) in pairs {
            complete.insert(h);
            let mut md5 = [0u8; 16];
            if hex::decode_to_slice(&md5_hex, &mut md5).is_ok() {
                have_hash.insert((h, md5));
            }
        }
        // A binary's source package is its iteration's.
        let mut src_of: HashMap<&str, u64> = HashMap::new();
        for it in &task.iterations {
            let s = it
                .srpm
                .as_ref()
                .and_then(|p| hash_by_path.get(p))
                .copied()
                .unwrap_or(0);
            for r in &it.rpms {
                src_of.entry(r.as_str()).or_insert(s);
            }
        }
        let mut seen: HashSet<u64> = HashSet::new();
        let mut todo: Vec<(Header, u64)> = Vec::new();
        for h in headers {
            let known = have_pkg.contains(&h.pkg_hash) && complete.contains(&h.pkg_hash);
            if (known && !self.opts.force) || !seen.insert(h.pkg_hash) {
                continue;
            }
            let src = match h.role {
                PackageRole::Binary => src_of.get(h.rel.as_str()).copied().unwrap_or(0),
                PackageRole::Source | PackageRole::Arepo => 0,
            };
            todo.push((h.clone(), src));
        }
        self.report.packages_new = todo.len();
        self.obs.phase("packages", todo.len() as u64);
        for chunk in todo.chunks(CHUNK_PACKAGES) {
            let chunk = chunk.to_vec();
            let pool = self.pool.clone();
            let root = task.path.clone();
            let digests = task.digests.clone();
            let limits = self.opts.limits;
            let parsed: Vec<Parsed> = blocking(move || {
                pool.install(|| {
                    chunk
                        .par_iter()
                        .map(|(h, src)| {
                            let stated = digests.get(file_name(&h.rel));
                            parse_package(&root, h, *src, stated, &limits)
                        })
                        .collect::<Result<Vec<_>>>()
                })
            })
            .await?;
            let n = parsed.len() as u64;
            self.write_packages(parsed, &have_pkg, &mut have_hash)
                .await?;
            self.obs.advance(n);
        }
        self.obs.finish_phase();
        Ok(())
    }

    /// Writes one chunk of packages: Packages, Changelog, Files, Depends, Specfiles, then
    /// PackageHash. Packages without a `Packages` row are new and written without further
    /// checks; the others (an interrupted earlier load, or `--force`) table by table.
    async fn write_packages(
        &mut self,
        chunk: Vec<Parsed>,
        have_pkg: &HashSet<u64>,
        have_hash: &mut HashSet<(u64, [u8; 16])>,
    ) -> Result<()> {
        let partial: Vec<u64> = chunk
            .iter()
            .map(|p| p.rows.pkg_hash)
            .filter(|h| have_pkg.contains(h))
            .collect();
        let s = &self.sink;
        let have_files = s.check::<FilesRow>().present("pkg_hash", &partial).await?;
        let have_deps = s
            .check::<DependsRow>()
            .present("pkg_hash", &partial)
            .await?;
        let have_specs = s
            .check::<SpecfilesRow>()
            .present("pkg_hash", &partial)
            .await?;
        let mut chlog: Vec<u64> = chunk
            .iter()
            .flat_map(|p| p.rows.changelog.iter().map(|c| c.chlog_hash))
            .collect();
        chlog.sort_unstable();
        chlog.dedup();
        let have_chlog = s
            .check::<ChangelogRow>()
            .present("chlog_hash", &chlog)
            .await?;
        let mut packages: Vec<PackagesRow> = Vec::new();
        let mut files: Vec<FilesRow> = Vec::new();
        let mut depends: Vec<DependsRow> = Vec::new();
        let mut specs: Vec<SpecfilesRow> = Vec::new();
        let mut changelog: Vec<ChangelogRow> = Vec::new();
        let mut hash_rows: Vec<PackageHashRow> = Vec::new();
        for p in chunk {
            let r = p.rows;
            let h = r.pkg_hash;
            if !have_pkg.contains(&h) {
                packages.push(r.package);
            }
            if !have_files.contains(&h) {
                files.extend(r.files);
            }
            if !have_deps.contains(&h) {
                depends.extend(r.depends);
            }
            if let Some(s) = r.specfile {
                if !have_specs.contains(&h) {
                    specs.push(s);
                }
            }
            for c in r.changelog {
                if !have_chlog.contains(&c.chlog_hash) && self.chlog_seen.insert(c.chlog_hash) {
                    changelog.push(c);
                }
            }
            if have_hash.insert((h, p.hash_row.pkgh_md5)) {
                hash_rows.push(p.hash_row);
            }
        }
        let s = &mut self.sink;
        s.write(packages).await?;
        s.write(changelog).await?;
        s.write(files).await?;
        s.write(depends).await?;
        s.write(specs).await?;
        s.write(hash_rows).await?;
        Ok(())
    }

    /// The original's global file-provides statement (§5.6, [`derived::insert_file_provides`]),
    /// counted as `FileProvides`; a dry run counts only what the database already holds.
    async fn file_provides(&mut self) -> Result<()> {
        let ctx = format!("task {}", self.task_id);
        let n = derived::count_file_provides(self.db, &ctx).await?;
        self.sink.count("FileProvides", n);
        if n == 0 || self.opts.dry_run {
            return Ok(());
        }
        derived::insert_file_provides(self.db, &ctx).await?;
        self.sink.flush_buffers(&["Depends_buffer"]).await?;
        Ok(())
    }

    /// `-f`: flushes the buffers a task load writes (the load itself already made its own
    /// rows durable; this also flushes what other writers left there).
    async fn flush(&self) -> Result<()> {
        self.sink.flush_buffers(flush::TASK_LOAD).await?;
        Ok(())
    }
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

/// Reads one package fully and fills its `PackageHash` row: noarch binaries always get
/// their digests from the file (the original's workaround for noarch duplicates), others
/// use what `pkglist.task.xz` and the plan state and compute the rest.
fn parse_package(
    root: &Path,
    h: &Header,
    src: u64,
    stated: Option<&super::model::StatedDigests>,
    limits: &ReadLimits,
) -> Result<Parsed> {
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
    let hash_row = PackageHashRow {
        pkgh_mmh: rows.pkg_hash,
        pkgh_md5: md5.unwrap_or_default(),
        pkgh_sha1: rows.sha1header,
        pkgh_sha256: sha256.unwrap_or_default(),
        pkgh_blake2b: Fixed64(blake2b.unwrap_or([0; 64])),
    };
    Ok(Parsed { rows, hash_row })
}
