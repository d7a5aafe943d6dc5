//! `task_loader` (original §9.3, §9.4): girar's task messages.
//!
//! | routing key (`routing_keys_dict`) | what is done |
//! |---|---|
//! | `task.state` | a `TaskProgress` row (type `state`) for every state; then for `done`, `failed`, `new`, `tested` a full task load through the [`TaskLoader`], for `deleted` a DELETED `TaskStates` row; `eperm` and the states girar is still working on (awaiting, building, …) need nothing more |
//! | `task.progress` | a `TaskProgress` row, plus a `TaskSubtaskProgress` row when the message names a subtask; `stage == "build-task"` with state `eperm` and `stage_status` `processed`/`failed` also loads the task (EPERM tasks are complete only then) |
//! | `task.subtask.approve`, `task.subtask.disapprove` | one `TaskApprovals` row, parsed from `base64_message` (`"<YYYY-Mon-DD HH:MM:SS> :: … <nick>"` + message lines) or, when `revoke`/`revoked`, from `girar_user` and `_timestamp` |
//!
//! Approval messages are taken only in the states the original took them in. Every write is
//! insert-if-absent (the row's time comes from the message's `_timestamp`, else from the AMQP
//! timestamp), so a redelivered message adds nothing.
//!
//! The progress columns follow girar's message fields where the names agree (`taskid`,
//! `subtaskid`, `state`, `try`, `iter`, `repo`, `owner`, `testonly`, `depends`, `message`,
//! `stage`, `stage_status`, `arch`, `status`, `type`); fields a message lacks are empty.
//! (The 2026 layout of these tables is inferred from the API, see schema.md §2.2.)

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use altrepodb_db::rows_task::{
    table, ApprovalType, SubtaskType, TaskApprovalsRow, TaskProgressRow, TaskStatesRow,
    TaskSubtaskProgressRow,
};
use altrepodb_db::Db;
use altrepodb_load::bounded::ReadLimits;
use altrepodb_load::task::{load_task, load_tasks, TaskError, TaskLoadOptions};
use altrepodb_load::NoObserver;
use base64::Engine as _;
use clickhouse::Row;
use serde_json::Value;

use crate::config::{ConfigError, ServiceConfig};
use crate::service::{BoxFuture, Handler, Job, JobContext, JobError, JobOutcome, Message, Verdict};

/// States after which girar's task directory is consistent and can be loaded.
pub const CONSISTENT_STATES: &[&str] = &["done", "eperm", "failed", "new", "tested"];

/// What the task loader is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLoadRequest {
    /// Task id.
    pub task_id: u32,
    /// The task directory (`tasks_dir/<id>`, or the archive for a done task).
    pub path: PathBuf,
    /// State from the message, lower case.
    pub state: String,
}

/// Loads one task directory ([`DirTaskLoader`]; tests may put in their own).
///
/// Service settings as the original: approvals are not read from the file system (they come
/// as messages), logs of NEW tasks are skipped, buffers are flushed.
pub trait TaskLoader: Send + Sync {
    /// Loads the task; returns after the rows are committed.
    fn load(
        &self,
        db: Arc<Db>,
        req: TaskLoadRequest,
    ) -> BoxFuture<'static, Result<JobOutcome, JobError>>;

    /// Loads several tasks together (an outcome per request, in order); by default one
    /// after the other through [`TaskLoader::load`].
    fn load_many(
        &self,
        db: Arc<Db>,
        reqs: Vec<TaskLoadRequest>,
    ) -> BoxFuture<'static, Vec<Result<JobOutcome, JobError>>> {
        let futs: Vec<_> = reqs.into_iter().map(|r| self.load(db.clone(), r)).collect();
        Box::pin(async move {
            let mut out = Vec::with_capacity(futs.len());
            for f in futs {
                out.push(f.await);
            }
            out
        })
    }
}

/// A loader that refuses every load (for services that must not read task directories).
#[derive(Debug, Default, Clone, Copy)]
pub struct MissingTaskLoader;

impl TaskLoader for MissingTaskLoader {
    fn load(
        &self,
        _db: Arc<Db>,
        req: TaskLoadRequest,
    ) -> BoxFuture<'static, Result<JobOutcome, JobError>> {
        Box::pin(async move {
            Err(JobError::permanent(format!(
                "task {}: loading task directories is not available in this build of altrepodb",
                req.task_id
            )))
        })
    }
}

/// The task loader of `altrepodb_load::task`, as the service runs it: buffers flushed,
/// `workers` threads (the original used 4).
///
/// Differences from the original's service settings: approvals found in the task
/// directory are reconciled as in the CLI (the original's service skipped them and relied on
/// the approval messages; the rows are insert-if-absent either way), and the logs of NEW
/// tasks are stored.
#[derive(Debug, Clone, Copy)]
pub struct DirTaskLoader {
    /// Threads for reading package files and logs.
    pub workers: usize,
}

impl Default for DirTaskLoader {
    fn default() -> Self {
        DirTaskLoader { workers: 4 }
    }
}

impl TaskLoader for DirTaskLoader {
    fn load(
        &self,
        db: Arc<Db>,
        req: TaskLoadRequest,
    ) -> BoxFuture<'static, Result<JobOutcome, JobError>> {
        let workers = self.workers.max(1);
        Box::pin(async move {
            if !req.path.is_dir() {
                return Err(JobError::permanent(format!(
                    "task {}: directory {} not found",
                    req.task_id,
                    req.path.display()
                )));
            }
            let opts = service_options(&req.path, workers)?;
            match load_task(&db, &opts, Arc::new(NoObserver)).await {
                Ok(r) => Ok(JobOutcome::from_report(&r, r.already_loaded)),
                Err(TaskError::Db(e)) if e.exit_code() == altrepodb_db::error::EXIT_CONNECTION => {
                    Err(JobError::transient(e.to_string()))
                }
                Err(e) => Err(JobError::permanent(format!("task {}: {e}", req.task_id))),
            }
        })
    }

    /// One bulk load ([`load_tasks`]: checks and inserts of the tasks together, one flush
    /// before their state rows). A batch's rows are counted once, in the first loaded
    /// task's outcome (the others report none), so the totals per table stay right.
    fn load_many(
        &self,
        db: Arc<Db>,
        reqs: Vec<TaskLoadRequest>,
    ) -> BoxFuture<'static, Vec<Result<JobOutcome, JobError>>> {
        if reqs.len() == 1 {
            let fut = reqs.into_iter().next().map(|r| self.load(db, r));
            return Box::pin(async move {
                match fut {
                    Some(f) => vec![f.await],
                    None => Vec::new(),
                }
            });
        }
        let workers = self.workers.max(1);
        Box::pin(async move {
            let mut out: Vec<Option<Result<JobOutcome, JobError>>> =
                reqs.iter().map(|_| None).collect();
            let mut paths = Vec::new();
            for (i, r) in reqs.iter().enumerate() {
                if r.path.is_dir() {
                    paths.push(r.path.clone());
                } else {
                    out[i] = Some(Err(JobError::permanent(format!(
                        "task {}: directory {} not found",
                        r.task_id,
                        r.path.display()
                    ))));
                }
            }
            let opts = match paths.first().map(|p| service_options(p, workers)) {
                Some(Ok(o)) => o,
                Some(Err(e)) => {
                    return out
                        .into_iter()
                        .map(|o| o.unwrap_or_else(|| Err(e.clone())))
                        .collect();
                }
                None => return out.into_iter().flatten().collect(),
            };
            match load_tasks(&db, &opts, &paths, Arc::new(NoObserver)).await {
                Ok(bulk) => {
                    let mut loaded = bulk.tasks.into_iter();
                    let mut rows = Some(&bulk.report.rows);
                    for (i, r) in reqs.iter().enumerate() {
                        if out[i].is_some() {
                            continue;
                        }
                        if let Some(f) = bulk.failed.iter().find(|f| f.path == r.path) {
                            out[i] = Some(Err(if f.unreachable {
                                JobError::transient(f.error.clone())
                            } else {
                                JobError::permanent(format!("task {}: {}", r.task_id, f.error))
                            }));
                            continue;
                        }
                        out[i] = Some(match loaded.next() {
                            Some(t) => {
                                let mut o = JobOutcome::from_report(&t, t.already_loaded);
                                o.summary =
                                    format!("{} (loaded with {} more)", o.summary, reqs.len() - 1);
                                if let Some(rows) = rows.take() {
                                    o.rows =
                                        rows.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
                                }
                                Ok(o)
                            }
                            None => Err(JobError::permanent(format!(
                                "task {}: no outcome of the bulk load",
                                r.task_id
                            ))),
                        });
                    }
                }
                Err(TaskError::Db(e)) if e.exit_code() == altrepodb_db::error::EXIT_CONNECTION => {
                    let e = JobError::transient(e.to_string());
                    for o in out.iter_mut().filter(|o| o.is_none()) {
                        *o = Some(Err(e.clone()));
                    }
                }
                Err(e) => {
                    for (i, r) in reqs.iter().enumerate() {
                        if out[i].is_none() {
                            out[i] =
                                Some(Err(JobError::permanent(format!("task {}: {e}", r.task_id))));
                        }
                    }
                }
            }
            out.into_iter()
                .map(|o| o.unwrap_or_else(|| Err(JobError::permanent("no outcome"))))
                .collect()
        })
    }
}

/// The options the service loads with: buffers flushed, `workers` threads, the read limits
/// of the environment.
fn service_options(path: &std::path::Path, workers: usize) -> Result<TaskLoadOptions, JobError> {
    let mut opts = TaskLoadOptions::new(path);
    opts.workers = workers;
    opts.flush = true;
    opts.limits = ReadLimits::from_env().map_err(|e| JobError::permanent(e.to_string()))?;
    Ok(opts)
}

type Waiter = tokio::sync::oneshot::Sender<Result<JobOutcome, JobError>>;

/// Gathers the loads that jobs ask for while a load runs, and runs them together through
/// [`TaskLoader::load_many`], at most `max` (the service's `amqp_batch_size`) at a time.
/// Nothing waits for a batch to fill: a load asked for while none runs starts at once, so
/// batches form only when loads queue up (several jobs at once, `workers_count` > 1).
pub struct BatchingTaskLoader {
    inner: Arc<dyn TaskLoader>,
    max: usize,
    state: Arc<std::sync::Mutex<Pending>>,
}

#[derive(Default)]
struct Pending {
    queue: Vec<(Arc<Db>, TaskLoadRequest, Waiter)>,
    running: bool,
}

impl BatchingTaskLoader {
    /// Batches of at most `max` loads through `inner`.
    pub fn new(inner: Arc<dyn TaskLoader>, max: usize) -> BatchingTaskLoader {
        BatchingTaskLoader {
            inner,
            max: max.max(1),
            state: Arc::default(),
        }
    }

    /// Runs queued loads until the queue is empty; one batch at a time, all of one database.
    async fn drain(inner: Arc<dyn TaskLoader>, max: usize, state: Arc<std::sync::Mutex<Pending>>) {
        loop {
            let batch: Vec<(Arc<Db>, TaskLoadRequest, Waiter)> = {
                let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                let Some(db) = st.queue.first().map(|q| q.0.clone()) else {
                    st.running = false;
                    return;
                };
                let mut take = Vec::new();
                let mut rest = Vec::new();
                for q in st.queue.drain(..) {
                    if take.len() < max && Arc::ptr_eq(&q.0, &db) {
                        take.push(q);
                    } else {
                        rest.push(q);
                    }
                }
                st.queue = rest;
                take
            };
            let db = batch[0].0.clone();
            let (reqs, waiters): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|(_, r, w)| (r, w)).unzip();
            let n = reqs.len();
            // Its own task: a panicking load fails its batch, not the loader.
            let run = tokio::spawn(inner.load_many(db, reqs));
            let results = match run.await {
                Ok(r) if r.len() == n => r,
                Ok(_) => (0..n)
                    .map(|_| Err(JobError::permanent("task loader: wrong number of outcomes")))
                    .collect(),
                Err(e) => (0..n)
                    .map(|_| Err(JobError::permanent(format!("task loader failed: {e}"))))
                    .collect(),
            };
            for (w, r) in waiters.into_iter().zip(results) {
                // A job abandoned meanwhile no longer listens; its load is done all the same.
                let _ = w.send(r);
            }
        }
    }
}

impl TaskLoader for BatchingTaskLoader {
    fn load(
        &self,
        db: Arc<Db>,
        req: TaskLoadRequest,
    ) -> BoxFuture<'static, Result<JobOutcome, JobError>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let start = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            st.queue.push((db, req, tx));
            !std::mem::replace(&mut st.running, true)
        };
        if start {
            tokio::spawn(Self::drain(
                self.inner.clone(),
                self.max,
                self.state.clone(),
            ));
        }
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Err(JobError::permanent("task loader stopped")))
        })
    }
}

/// `routing_keys_dict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingKeys {
    /// `TASK_STATE`.
    pub state: String,
    /// `TASK_PROGRESS`.
    pub progress: String,
    /// `TASK_APPROVE`.
    pub approve: String,
    /// `TASK_DISAPPROVE`.
    pub disapprove: String,
}

/// The task_loader service.
pub struct TaskService {
    keys: RoutingKeys,
    tasks_dir: PathBuf,
    archive_dir: PathBuf,
    loader: Arc<dyn TaskLoader>,
}

impl TaskService {
    /// Reads `routing_keys_dict`, `tasks_dir` (`/tasks`), `tasks_archive_dir`
    /// (`/archive/tasks/done`) and checks `amqp_batch_size` (1..100).
    pub fn from_config(
        cfg: &ServiceConfig,
        loader: Arc<dyn TaskLoader>,
    ) -> Result<TaskService, ConfigError> {
        let mut keys = RoutingKeys {
            state: "task.state".into(),
            progress: "task.progress".into(),
            approve: "task.subtask.approve".into(),
            disapprove: "task.subtask.disapprove".into(),
        };
        match cfg.extra.get("routing_keys_dict") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let Some(v) = v.as_str() else {
                        return Err(
                            cfg.invalid(format!("routing_keys_dict.{k}: expected a string"))
                        );
                    };
                    match k.as_str() {
                        "TASK_STATE" => keys.state = v.to_owned(),
                        "TASK_PROGRESS" => keys.progress = v.to_owned(),
                        "TASK_APPROVE" => keys.approve = v.to_owned(),
                        "TASK_DISAPPROVE" => keys.disapprove = v.to_owned(),
                        _ => {
                            return Err(cfg.invalid(format!("routing_keys_dict: unknown key '{k}'")))
                        }
                    }
                }
            }
            Some(v) => {
                return Err(cfg.invalid(format!("routing_keys_dict: expected an object, got {v}")))
            }
        }
        let batch = cfg.int_key("amqp_batch_size", 1, 1..=100)?;
        // Loads the jobs ask for while one runs go together, up to a batch of messages.
        let loader: Arc<dyn TaskLoader> = if batch > 1 {
            Arc::new(BatchingTaskLoader::new(loader, batch as usize))
        } else {
            loader
        };
        Ok(TaskService {
            keys,
            tasks_dir: cfg
                .str_key("tasks_dir")?
                .unwrap_or_else(|| "/tasks".into())
                .into(),
            archive_dir: cfg
                .str_key("tasks_archive_dir")?
                .unwrap_or_else(|| "/archive/tasks/done".into())
                .into(),
            loader,
        })
    }

    fn task_path(&self, id: u32, state: &str) -> PathBuf {
        let live = self.tasks_dir.join(id.to_string());
        if state == "done" && !live.is_dir() {
            let archived = self
                .archive_dir
                .join(format!("_{}", id / 1024))
                .join(id.to_string());
            if archived.is_dir() {
                return archived;
            }
        }
        live
    }
}

fn as_u64(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_str(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0),
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "1" | "true" | "yes"),
        _ => false,
    }
}

/// The message's time in milliseconds: `_timestamp` (float seconds), else the AMQP timestamp,
/// else now.
fn message_millis(msg: &Message, body: &Value) -> i64 {
    if let Some(t) = body
        .get("_timestamp")
        .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
    {
        return (t * 1000.0) as i64;
    }
    if let Some(t) = msg.properties.timestamp() {
        return (*t as i64) * 1000;
    }
    (crate::health::now_unix() * 1000.0) as i64
}

impl Handler for TaskService {
    fn kind(&self) -> &str {
        "task_loader"
    }

    fn accepts(&self, rk: &str) -> bool {
        rk == self.keys.state
            || rk == self.keys.progress
            || rk == self.keys.approve
            || rk == self.keys.disapprove
    }

    fn check(&self, msg: &Message, body: &Value) -> Verdict {
        // The original left such a message unacknowledged on the channel for good; it can
        // never become valid, so it is rejected here.
        let Some(id) = as_u64(body.get("taskid")).and_then(|n| u32::try_from(n).ok()) else {
            return Verdict::Reject("message has no valid 'taskid'".into());
        };
        let state = body
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_lowercase();
        let ms = message_millis(msg, body);
        let rk = msg.routing_key.as_str();
        let key = format!("task:{id}");
        if rk == self.keys.approve || rk == self.keys.disapprove {
            if !(CONSISTENT_STATES.contains(&state.as_str()) || state == "deleted") {
                return Verdict::Ack(format!(
                    "approval for task {id} in state '{state}' dropped (as the original)"
                ));
            }
            return match approval_row(id, rk, body) {
                Ok(row) => Verdict::Run {
                    key,
                    job: Arc::new(TaskJob {
                        id,
                        what: format!("task {id} approval"),
                        progress: None,
                        subtask: None,
                        approval: Some(row),
                        then: Then::Nothing,
                        loader: self.loader.clone(),
                    }),
                },
                Err(e) => Verdict::Reject(format!("task {id}: bad approval message: {e}")),
            };
        }
        let is_state = rk == self.keys.state;
        let progress = progress_row(
            id,
            &state,
            if is_state { "state" } else { "progress" },
            body,
            ms,
        );
        let subtask = (!is_state).then(|| subtask_row(id, body, ms)).flatten();
        let then = if is_state {
            match state.as_str() {
                "eperm" => Then::Nothing, // girar sends EPERM before the hashes are ready
                "deleted" => Then::Deleted(ms),
                s if CONSISTENT_STATES.contains(&s) => Then::Load(TaskLoadRequest {
                    task_id: id,
                    path: self.task_path(id, s),
                    state: s.to_owned(),
                }),
                _ => Then::Nothing,
            }
        } else {
            let stage = as_str(body.get("stage"));
            let stage_status = as_str(body.get("stage_status"));
            if stage == "build-task"
                && state == "eperm"
                && matches!(stage_status.as_str(), "processed" | "failed")
            {
                Then::Load(TaskLoadRequest {
                    task_id: id,
                    path: self.task_path(id, "eperm"),
                    state: "eperm".into(),
                })
            } else {
                Then::Nothing
            }
        };
        Verdict::Run {
            key,
            job: Arc::new(TaskJob {
                id,
                what: format!(
                    "task {id} {} {state}",
                    if is_state { "state" } else { "progress" }
                ),
                progress: Some(progress),
                subtask,
                approval: None,
                then,
                loader: self.loader.clone(),
            }),
        }
    }

    fn scheduled(&self) -> Vec<(String, Value)> {
        Vec::new()
    }
}

fn progress_row(
    id: u32,
    state: &str,
    default_kind: &str,
    body: &Value,
    ms: i64,
) -> TaskProgressRow {
    let depends = match body.get("depends") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| as_u64(Some(v)).and_then(|n| u32::try_from(n).ok()))
            .collect(),
        Some(Value::String(s)) => s
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|t| t.parse().ok())
            .collect(),
        _ => Vec::new(),
    };
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or(default_kind)
        .to_owned();
    TaskProgressRow {
        task_id: id,
        task_repo: as_str(body.get("repo")),
        task_owner: as_str(body.get("owner")),
        task_state: state.to_uppercase(),
        task_try: as_u64(body.get("try"))
            .and_then(|n| u16::try_from(n).ok())
            .unwrap_or(0),
        task_iter: as_u64(body.get("iter"))
            .and_then(|n| u8::try_from(n).ok())
            .unwrap_or(0),
        task_testonly: u8::from(truthy(body.get("testonly"))),
        task_changed: (ms / 1000).clamp(0, i64::from(u32::MAX)) as u32,
        task_message: as_str(body.get("message")),
        task_depends: depends,
        type_: kind,
        stage: as_str(body.get("stage")),
        stage_status: as_str(body.get("stage_status")),
        ts: ms,
    }
}

fn subtask_row(id: u32, body: &Value, ms: i64) -> Option<TaskSubtaskProgressRow> {
    let sub = as_u64(body.get("subtaskid")).and_then(|n| u32::try_from(n).ok())?;
    let subtask_type = body
        .get("subtask_type")
        .and_then(Value::as_str)
        .and_then(SubtaskType::from_name)
        .unwrap_or_default();
    let arch = as_str(body.get("arch"));
    Some(TaskSubtaskProgressRow {
        task_id: id,
        subtask_id: sub,
        task_repo: as_str(body.get("repo")),
        task_owner: as_str(body.get("owner")),
        subtask_type,
        subtask_srpm: as_str(body.get("srpm")),
        subtask_srpm_name: as_str(body.get("srpm_name")),
        subtask_srpm_evr: as_str(body.get("srpm_evr")),
        subtask_dir: as_str(body.get("dir")),
        subtask_tag_id: as_str(body.get("tag_id")),
        subtask_tag_name: as_str(body.get("tag_name")),
        subtask_tag_author: as_str(body.get("tag_author")),
        subtask_package: as_str(body.get("package")),
        subtask_pkg_from: as_str(body.get("pkg_from")),
        subtask_changed: (ms / 1000).clamp(0, i64::from(u32::MAX)) as u32,
        type_: body
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("progress")
            .to_owned(),
        arch: if arch.is_empty() { "all".into() } else { arch },
        status: as_str(body.get("status")),
        stage: as_str(body.get("stage")),
        stage_status: as_str(body.get("stage_status")),
        ts: ms,
    })
}

/// Parses `"2024-Mar-01 12:00:00"` as UTC seconds.
fn parse_girar_date(s: &str) -> Option<u32> {
    let fmt = time::macros::format_description!(
        "[year]-[month repr:short case_sensitive:false]-[day] [hour]:[minute]:[second]"
    );
    let t = time::PrimitiveDateTime::parse(s.trim(), &fmt).ok()?;
    u32::try_from(t.assume_utc().unix_timestamp()).ok()
}

/// The approval row of an approve/disapprove message (original §9.4).
pub fn approval_row(
    id: u32,
    rk: &str,
    body: &Value,
) -> Result<TaskApprovalsRow, crate::error::Failure> {
    let key = body
        .get("_routing_key")
        .and_then(Value::as_str)
        .unwrap_or(rk);
    let tapp_type = if key.ends_with(".approve") {
        ApprovalType::Approve
    } else if key.ends_with(".disapprove") {
        ApprovalType::Disapprove
    } else {
        return Err(format!("unexpected routing key '{key}' for an approval").into());
    };
    let subtask_id = as_u64(body.get("subtaskid"))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or("no valid 'subtaskid'")?;
    let revoked = truthy(body.get("revoke")) || truthy(body.get("revoked"));
    let (tapp_date, tapp_name, tapp_message) = if !revoked {
        let b64 = body
            .get("base64_message")
            .and_then(Value::as_str)
            .ok_or("no 'base64_message'")?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| format!("base64_message: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|_| "base64_message is not UTF-8")?;
        let mut lines = text.split('\n').filter(|l| !l.is_empty());
        let first = lines.next().ok_or("empty approval text")?;
        let (date, who) = first.split_once("::").ok_or("approval line without '::'")?;
        let date =
            parse_girar_date(date).ok_or_else(|| format!("bad approval date '{}'", date.trim()))?;
        let name = who.trim().split(' ').next_back().unwrap_or("").to_owned();
        (date, name, lines.collect::<Vec<_>>().join("\n"))
    } else {
        let name = as_str(body.get("girar_user"));
        let ts = body
            .get("_timestamp")
            .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
            .ok_or("revoked approval without '_timestamp'")?;
        (ts.max(0.0) as u32, name, String::new())
    };
    Ok(TaskApprovalsRow {
        task_id: id,
        subtask_id,
        tapp_type,
        tapp_revoked: u8::from(revoked),
        tapp_date,
        tapp_name,
        tapp_message,
    })
}

enum Then {
    Nothing,
    Deleted(i64),
    Load(TaskLoadRequest),
}

struct TaskJob {
    id: u32,
    what: String,
    progress: Option<TaskProgressRow>,
    subtask: Option<TaskSubtaskProgressRow>,
    approval: Option<TaskApprovalsRow>,
    then: Then,
    loader: Arc<dyn TaskLoader>,
}

fn db_err(db: &Db, e: clickhouse::error::Error, what: &str) -> JobError {
    let e = db.classify(&e, what);
    if e.exit_code() == altrepodb_db::error::EXIT_CONNECTION {
        JobError::transient(e.to_string())
    } else {
        JobError::permanent(e.to_string())
    }
}

/// `SELECT count() …` whose values travel as server-side parameters (`{name:Type}` in `sql`),
/// never inside the SQL text: message contents may hold quotes, backslashes or `?`.
async fn count(db: &Db, query: clickhouse::query::Query, what: &str) -> Result<u64, JobError> {
    query
        .fetch_one::<u64>()
        .await
        .map_err(|e| db_err(db, e, what))
}

async fn insert<T>(db: &Db, table: &str, row: &T) -> Result<(), JobError>
where
    T: Row + clickhouse::RowOwned + clickhouse::RowWrite,
{
    let what = format!("inserting into {table}");
    let mut ins = db
        .client()
        .insert::<T>(table)
        .await
        .map_err(|e| db_err(db, e, &what))?;
    ins.write(row).await.map_err(|e| db_err(db, e, &what))?;
    ins.end().await.map_err(|e| db_err(db, e, &what))
}

impl TaskJob {
    async fn work(&self, db: Arc<Db>) -> Result<JobOutcome, JobError> {
        let mut rows: BTreeMap<String, u64> = BTreeMap::new();
        let mut already = true;
        // query_raw: the SQL text is constant and `?` in it must not be taken for a bind.
        let client = db.client();
        if let Some(p) = &self.progress {
            let query = client
                .query_raw(
                    "SELECT count() FROM TaskProgress WHERE task_id = {id:UInt32} \
                     AND ts = fromUnixTimestamp64Milli({ts:Int64}) AND type = {type:String} \
                     AND task_state = {state:String} AND stage = {stage:String} \
                     AND stage_status = {stage_status:String}",
                )
                .param("id", p.task_id)
                .param("ts", p.ts)
                .param("type", &p.type_)
                .param("state", &p.task_state)
                .param("stage", &p.stage)
                .param("stage_status", &p.stage_status);
            if count(&db, query, "checking TaskProgress").await? == 0 {
                insert(&db, table::TASK_PROGRESS, p).await?;
                *rows.entry("TaskProgress".into()).or_default() += 1;
                already = false;
            }
        }
        if let Some(s) = &self.subtask {
            let query = client
                .query_raw(
                    "SELECT count() FROM TaskSubtaskProgress WHERE task_id = {id:UInt32} \
                     AND subtask_id = {sub:UInt32} AND arch = {arch:String} \
                     AND ts = fromUnixTimestamp64Milli({ts:Int64}) AND type = {type:String} \
                     AND status = {status:String} AND stage_status = {stage_status:String}",
                )
                .param("id", s.task_id)
                .param("sub", s.subtask_id)
                .param("arch", &s.arch)
                .param("ts", s.ts)
                .param("type", &s.type_)
                .param("status", &s.status)
                .param("stage_status", &s.stage_status);
            if count(&db, query, "checking TaskSubtaskProgress").await? == 0 {
                insert(&db, table::TASK_SUBTASK_PROGRESS, s).await?;
                *rows.entry("TaskSubtaskProgress".into()).or_default() += 1;
                already = false;
            }
        }
        if let Some(a) = &self.approval {
            let query = client
                .query_raw(
                    "SELECT count() FROM TaskApprovals WHERE task_id = {id:UInt32} \
                     AND subtask_id = {sub:UInt32} AND toInt8(tapp_type) = {type:Int8} \
                     AND tapp_revoked = {revoked:UInt8} AND tapp_date = toDateTime({date:UInt32}) \
                     AND tapp_name = {name:String} AND tapp_message = {message:String}",
                )
                .param("id", a.task_id)
                .param("sub", a.subtask_id)
                .param("type", a.tapp_type as i8)
                .param("revoked", a.tapp_revoked)
                .param("date", a.tapp_date)
                .param("name", &a.tapp_name)
                .param("message", &a.tapp_message);
            if count(&db, query, "checking TaskApprovals").await? == 0 {
                insert(&db, table::TASK_APPROVALS, a).await?;
                *rows.entry("TaskApprovals".into()).or_default() += 1;
                already = false;
            }
        }
        let mut summary = format!("task {}", self.id);
        match &self.then {
            Then::Nothing => {}
            Then::Deleted(ms) => {
                let changed = (ms / 1000).clamp(0, i64::from(u32::MAX)) as u32;
                let query = client
                    .query_raw(
                        "SELECT count() FROM TaskStates_buffer WHERE task_id = {id:UInt32} \
                         AND task_state = 'DELETED' AND task_changed = toDateTime({changed:UInt32})",
                    )
                    .param("id", self.id)
                    .param("changed", changed);
                if count(&db, query, "checking TaskStates").await? == 0 {
                    let row = TaskStatesRow {
                        task_changed: changed,
                        task_id: self.id,
                        task_state: "DELETED".into(),
                        task_message: "task deleted".into(),
                        ..TaskStatesRow::default()
                    };
                    insert(&db, table::TASK_STATES, &row).await?;
                    db.execute(
                        "OPTIMIZE TABLE TaskStates_buffer",
                        "flushing TaskStates_buffer",
                    )
                    .await
                    .map_err(|e| JobError::permanent(e.to_string()))?;
                    *rows.entry("TaskStates".into()).or_default() += 1;
                    already = false;
                }
                summary.push_str(" marked DELETED");
            }
            Then::Load(req) => {
                let out = self.loader.load(db.clone(), req.clone()).await?;
                for (t, n) in out.rows {
                    *rows.entry(t).or_default() += n;
                }
                already &= out.already_done;
                summary = out.summary;
            }
        }
        Ok(JobOutcome {
            summary,
            rows,
            skipped: 0,
            already_done: already,
        })
    }
}

impl Job for TaskJob {
    fn describe(&self) -> String {
        self.what.clone()
    }

    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<JobOutcome, JobError>> {
        let me = TaskJob {
            id: self.id,
            what: self.what.clone(),
            progress: self.progress.clone(),
            subtask: self.subtask.clone(),
            approval: self.approval.clone(),
            then: match &self.then {
                Then::Nothing => Then::Nothing,
                Then::Deleted(ms) => Then::Deleted(*ms),
                Then::Load(r) => Then::Load(r.clone()),
            },
            loader: self.loader.clone(),
        };
        Box::pin(async move { me.work(ctx.db).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn approval_from_message() {
        let text = "2024-Mar-01 12:30:00 :: approved by someone nick\nlooks good\n\nreally";
        let b64 = base64::engine::general_purpose::STANDARD.encode(text);
        let r = approval_row(
            5,
            "task.subtask.approve",
            &json!({"taskid": 5, "subtaskid": 100, "state": "new", "base64_message": b64, "_routing_key": "task.subtask.approve"}),
        )
        .unwrap();
        assert_eq!(r.tapp_type, ApprovalType::Approve);
        assert_eq!(r.tapp_name, "nick");
        assert_eq!(r.tapp_message, "looks good\nreally");
        assert_eq!(r.tapp_date, 1_709_296_200);
        let r = approval_row(
            5,
            "task.subtask.disapprove",
            &json!({"subtaskid": "7", "revoked": true, "girar_user": "bob", "_timestamp": 1709296200.5}),
        )
        .unwrap();
        assert_eq!(
            (
                r.tapp_type,
                r.tapp_revoked,
                r.tapp_name.as_str(),
                r.tapp_date
            ),
            (ApprovalType::Disapprove, 1, "bob", 1_709_296_200)
        );
        assert!(approval_row(
            5,
            "task.subtask.approve",
            &json!({"subtaskid": 1, "base64_message": "!!"})
        )
        .is_err());
    }

    #[test]
    fn progress_fields() {
        let p = progress_row(
            9,
            "building",
            "state",
            &json!({"repo": "sisyphus", "owner": "o", "try": 2, "iter": "1", "depends": [1, "2"], "testonly": 1}),
            1_709_296_200_500,
        );
        assert_eq!(p.task_state, "BUILDING");
        assert_eq!((p.task_try, p.task_iter, p.task_testonly), (2, 1, 1));
        assert_eq!(p.task_depends, vec![1, 2]);
        assert_eq!(p.task_changed, 1_709_296_200);
        assert_eq!(p.type_, "state");
        assert!(subtask_row(9, &json!({}), 0).is_none());
        let s = subtask_row(9, &json!({"subtaskid": 100, "status": "built"}), 0).unwrap();
        assert_eq!((s.arch.as_str(), s.status.as_str()), ("all", "built"));
    }
}
