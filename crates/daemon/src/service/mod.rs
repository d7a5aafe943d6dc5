//! The service framework: one [`Handler`] per kind of service decides what a message means,
//! the framework does everything else the same way for every service.
//!
//! # Delivery semantics
//! * The routing key must be one the handler accepts, `x-delivery-count` must not exceed
//!   `max_redeliver_count`, the body must be JSON, and the handler's [`Handler::check`] must
//!   accept it; otherwise the message is rejected without requeue (logged with the reason).
//!   A check may also acknowledge and drop a message that needs no work ([`Verdict::Ack`]).
//! * Accepted messages become jobs. At most `workers_count` jobs run at once (the consumer
//!   prefetch is the same number, or `amqp_batch_size` when larger), and two jobs with the
//!   same key (e.g. the same branch and date) never run at the same time: a redelivered
//!   message waits for the first run, then finds its work done.
//! * A message is acknowledged only after its job returned, i.e. after its rows are
//!   committed; `publish_on_done` then re-publishes it to the service's exchange.
//! * A failed job is rejected with requeue as `requeue_on_reject` says, and reported to the
//!   notifier. If the database does not answer at that moment the failure counts as
//!   transient: the job is retried locally once the database is back (the message stays
//!   unacknowledged, its delivery count unchanged), and after [`LOCAL_RETRIES`] such
//!   attempts it is requeued.
//! * A panicking job is a failed job; the service goes on.
//! * While the database is down no job starts and the service reports unhealthy.
//!
//! # Connection
//! Each service has its own connection. When it is lost (broker restart, network) the
//! service reconnects with jittered exponential backoff, declares and binds its queue again
//! and resumes; jobs running meanwhile finish, and their messages, which the broker
//! requeued with the old channel, are redelivered and found done.
//!
//! # Shutdown
//! On stop the consumer is cancelled, jobs not yet started are left unacknowledged, running
//! jobs get `shutdown_timeout` to finish (and are acknowledged), then the connection is
//! closed and the broker requeues whatever is unacknowledged.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use altrepodb_db::embedded::EmbeddedOptions;
use altrepodb_db::Db;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{Acker, BasicProperties};
use serde_json::Value;
use tokio::sync::{watch, Notify, Semaphore};

use crate::amqp::{self, Publisher};
use crate::backoff::Backoff;
use crate::config::ServiceConfig;
use crate::health::{HealthBoard, State};
use crate::metrics::Metrics;
use crate::notifier::{python_bytes_repr, Kind, Note, Notifier, Severity};
use crate::schedule::Schedule;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Attempts of a job whose failure was transient (database down) before it is requeued.
pub const LOCAL_RETRIES: u32 = 5;

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A queue delivery.
    Amqp,
    /// The service's schedule.
    Schedule,
}

/// A message, as the handler sees it.
#[derive(Debug, Clone)]
pub struct Message {
    /// Routing key.
    pub routing_key: String,
    /// Raw body.
    pub body: Vec<u8>,
    /// AMQP properties (kept for `publish_on_done`).
    pub properties: BasicProperties,
    /// `x-delivery-count`, if the broker set it.
    pub delivery_count: Option<i64>,
    /// The broker's redelivered flag.
    pub redelivered: bool,
    /// Queue or schedule.
    pub origin: Origin,
}

/// What the handler decided about a message.
pub enum Verdict {
    /// Run `job`; jobs with equal `key` never run concurrently.
    Run {
        /// Serialisation key (e.g. `repo:p10:2024-03-01`).
        key: String,
        /// The work.
        job: Arc<dyn Job>,
    },
    /// Nothing to do: acknowledge and drop (the reason is logged).
    Ack(String),
    /// Invalid: reject without requeue (the reason is logged).
    Reject(String),
}

/// What a job gets to work with.
#[derive(Clone)]
pub struct JobContext {
    /// The service's database.
    pub db: Arc<Db>,
    /// Service name (for logs).
    pub service: String,
}

/// A job's result.
#[derive(Debug, Clone, Default)]
pub struct JobOutcome {
    /// One line for the log and `/health`.
    pub summary: String,
    /// Rows committed per table.
    pub rows: BTreeMap<String, u64>,
    /// Inputs the load left out (reported in its summary).
    pub skipped: u64,
    /// The work had been done before (a redelivery after a lost acknowledgement).
    pub already_done: bool,
}

impl JobOutcome {
    /// The outcome of a loader run, from its report.
    pub fn from_report(report: &altrepodb_load::LoadReport, already_done: bool) -> JobOutcome {
        JobOutcome {
            summary: report.summary(),
            rows: report
                .rows
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            skipped: report.skipped.len() as u64,
            already_done,
        }
    }
}

/// A job's failure.
#[derive(Debug, Clone)]
pub struct JobError {
    /// The database was unreachable: worth retrying later, not the message's fault.
    pub transient: bool,
    /// One line, no credentials.
    pub message: String,
}

impl JobError {
    /// A failure caused by the message or its data.
    pub fn permanent(message: impl Into<String>) -> JobError {
        JobError {
            transient: false,
            message: message.into(),
        }
    }

    /// A failure caused by the database being away.
    pub fn transient(message: impl Into<String>) -> JobError {
        JobError {
            transient: true,
            message: message.into(),
        }
    }
}

/// One unit of work. `run` may be called again after a transient failure.
pub trait Job: Send + Sync {
    /// Does the work; returns after the rows are committed.
    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<JobOutcome, JobError>>;
    /// One line naming the work (`repo p10 2024-03-01`).
    fn describe(&self) -> String;
}

/// A kind of service (`repo_loader`, `task_loader`, …).
pub trait Handler: Send + Sync {
    /// The service key.
    fn kind(&self) -> &str;
    /// Whether a routing key is this service's.
    fn accepts(&self, routing_key: &str) -> bool;
    /// Validates a message (its body already parsed as JSON) and makes the job.
    fn check(&self, msg: &Message, body: &Value) -> Verdict;
    /// Messages (routing key and body) that one schedule tick runs, in order.
    fn scheduled(&self) -> Vec<(String, Value)>;
}

/// Counts running tasks so shutdown can wait for them.
#[derive(Clone, Default)]
pub struct Tracker {
    inner: Arc<(AtomicUsize, Notify)>,
}

/// Held while a tracked task runs.
pub struct TrackerGuard {
    inner: Arc<(AtomicUsize, Notify)>,
}

impl Tracker {
    /// Marks a task as running until the guard drops.
    pub fn enter(&self) -> TrackerGuard {
        self.inner.0.fetch_add(1, Ordering::SeqCst);
        TrackerGuard {
            inner: self.inner.clone(),
        }
    }

    /// Tasks running now.
    pub fn count(&self) -> usize {
        self.inner.0.load(Ordering::SeqCst)
    }

    /// Waits until no task runs.
    pub async fn idle(&self) {
        loop {
            let notified = self.inner.1.notified();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for TrackerGuard {
    fn drop(&mut self) {
        self.inner.0.fetch_sub(1, Ordering::SeqCst);
        self.inner.1.notify_waiters();
    }
}

/// Per-key async locks, removed when unused.
#[derive(Default)]
struct KeyedLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

struct KeyGuard<'a> {
    locks: &'a KeyedLocks,
    key: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl KeyedLocks {
    async fn lock(&self, key: &str) -> KeyGuard<'_> {
        let m = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.to_owned()).or_default().clone()
        };
        let guard = m.lock_owned().await;
        KeyGuard {
            locks: self,
            key: key.to_owned(),
            guard: Some(guard),
        }
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut map = self.locks.map.lock().unwrap_or_else(|p| p.into_inner());
        if map
            .get(&self.key)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            map.remove(&self.key);
        }
    }
}

/// What every service shares with the daemon.
#[derive(Clone)]
pub struct Shared {
    /// Health board.
    pub health: Arc<HealthBoard>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Notifier.
    pub notifier: Notifier,
    /// Stop signal (true = stop).
    pub stop: watch::Receiver<bool>,
    /// Time running jobs get after stop.
    pub shutdown_timeout: Duration,
}

#[derive(Clone, Default)]
struct DbStatus {
    db: Option<Arc<Db>>,
    ok: bool,
}

/// One running service.
pub struct Service {
    name: String,
    cfg: ServiceConfig,
    handler: Arc<dyn Handler>,
    shared: Shared,
    db: watch::Sender<DbStatus>,
    db_check: Notify,
    workers: Arc<Semaphore>,
    locks: KeyedLocks,
    tracker: Tracker,
    publisher: tokio::sync::Mutex<Option<Publisher>>,
}

/// Database checks while healthy.
const DB_CHECK_INTERVAL: Duration = Duration::from_secs(15);

fn labels(name: &str) -> [(&'static str, &str); 1] {
    [("service", name)]
}

impl Service {
    /// A service `name` running `handler` with `cfg`.
    pub fn new(
        name: &str,
        cfg: ServiceConfig,
        handler: Arc<dyn Handler>,
        shared: Shared,
    ) -> Arc<Service> {
        let workers = cfg.workers_count.max(1);
        Arc::new(Service {
            name: name.to_owned(),
            cfg,
            handler,
            shared,
            db: watch::channel(DbStatus::default()).0,
            db_check: Notify::new(),
            workers: Arc::new(Semaphore::new(workers)),
            locks: KeyedLocks::default(),
            tracker: Tracker::default(),
            publisher: tokio::sync::Mutex::new(None),
        })
    }

    /// The service name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn stopped(&self) -> bool {
        *self.shared.stop.borrow()
    }

    /// Runs the service until stop: database monitor, scheduler and consumer.
    pub async fn run(self: Arc<Self>, prefetch: u16) {
        let monitor = tokio::spawn(self.clone().db_monitor());
        let scheduler = self
            .cfg
            .schedule
            .as_deref()
            .and_then(|s| Schedule::parse(s).ok())
            .map(|s| {
                let me = self.clone();
                tokio::spawn(me.scheduler(s))
            });
        self.clone().consume_loop(prefetch).await;
        monitor.abort();
        if let Some(s) = scheduler {
            s.abort();
        }
    }

    // ---- database ---------------------------------------------------------------------------

    async fn db_monitor(self: Arc<Self>) {
        let settings = self.cfg.database.settings();
        let mut stop = self.shared.stop.clone();
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
        let mut was_ok: Option<bool> = None;
        loop {
            let current = self.db.borrow().db.clone();
            let result = match current {
                None => {
                    let opts = EmbeddedOptions::new(
                        EmbeddedOptions::default_home()
                            .unwrap_or_else(|| "/var/lib/altrepodb".into()),
                    );
                    match Db::connect(&settings, &opts, true).await {
                        Ok(db) => {
                            let db = Arc::new(db);
                            self.db.send_modify(|s| s.db = Some(db));
                            Ok(())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
                Some(db) => ping(&db).await,
            };
            let ok = result.is_ok();
            self.db.send_modify(|s| s.ok = ok);
            self.shared.health.update(&self.name, |h| h.db_ok = ok);
            self.shared.metrics.set(
                "altrepodb_db_up",
                &labels(&self.name),
                if ok { 1.0 } else { 0.0 },
            );
            if was_ok != Some(ok) {
                match &result {
                    Ok(()) => tracing::info!(service = %self.name, "database answers"),
                    Err(e) => {
                        tracing::warn!(service = %self.name, error = %e, "database unreachable; no job starts until it answers");
                        self.shared
                            .health
                            .error(&self.name, &format!("database: {e}"));
                    }
                }
                was_ok = Some(ok);
            }
            let delay = if ok {
                backoff.reset();
                DB_CHECK_INTERVAL
            } else {
                backoff.next_delay()
            };
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.db_check.notified() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// Checks the database now; true when it answers.
    async fn db_answers(&self) -> bool {
        let db = self.db.borrow().db.clone();
        let ok = match db {
            Some(db) => ping(&db).await.is_ok(),
            None => false,
        };
        if !ok {
            self.db.send_modify(|s| s.ok = false);
            self.shared.health.update(&self.name, |h| h.db_ok = false);
            self.shared
                .metrics
                .set("altrepodb_db_up", &labels(&self.name), 0.0);
            self.db_check.notify_one();
        }
        ok
    }

    /// Waits until the database answers; `None` on stop.
    async fn wait_db(&self) -> Option<Arc<Db>> {
        let mut rx = self.db.subscribe();
        let mut stop = self.shared.stop.clone();
        loop {
            if *stop.borrow() {
                return None;
            }
            {
                let s = rx.borrow_and_update();
                if s.ok {
                    if let Some(db) = &s.db {
                        return Some(db.clone());
                    }
                }
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() { return None },
                _ = stop.wait_for(|s| *s) => return None,
            }
        }
    }

    // ---- consuming --------------------------------------------------------------------------

    async fn consume_loop(self: Arc<Self>, prefetch: u16) {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut attempt = 0u64;
        loop {
            if self.stopped() {
                break;
            }
            if attempt > 0 {
                self.shared
                    .metrics
                    .inc("altrepodb_amqp_reconnects_total", &labels(&self.name));
            }
            attempt += 1;
            match self.clone().session(prefetch, &mut backoff).await {
                Ok(()) => break,
                Err(e) => {
                    self.shared.health.update(&self.name, |h| {
                        h.amqp_connected = false;
                        h.state = State::Reconnecting;
                    });
                    self.shared
                        .metrics
                        .set("altrepodb_amqp_connected", &labels(&self.name), 0.0);
                    self.shared.health.error(&self.name, &e);
                    tracing::warn!(service = %self.name, error = %e, "AMQP connection lost or refused; reconnecting");
                    if attempt == 1 || attempt.is_multiple_of(20) {
                        self.shared.notifier.send(Note::new(
                            &self.name,
                            Severity::Warning,
                            Kind::ServiceError,
                            &e,
                            Value::Null,
                        ));
                    }
                    let mut stop = self.shared.stop.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(backoff.next_delay()) => {}
                        _ = stop.wait_for(|s| *s) => break,
                    }
                }
            }
        }
        // Whatever is still running gets the rest of the shutdown time (the session waited
        // already if it ended by stop).
        let _ = tokio::time::timeout(self.shared.shutdown_timeout, self.tracker.idle()).await;
        self.shared.health.update(&self.name, |h| {
            h.amqp_connected = false;
            h.state = State::Stopping;
        });
    }

    /// One connection's life; `Ok` when it ended because of stop.
    async fn session(self: Arc<Self>, prefetch: u16, backoff: &mut Backoff) -> Result<(), String> {
        let acfg = &self.cfg.amqp;
        let queue = self.cfg.queue().map_err(|e| e.to_string())?.clone();
        let info = format!("ALTRepoDB uploaderd service: {}", self.name);
        let conn = amqp::connect(acfg, &info)
            .await
            .map_err(|e| e.to_string())?;
        let setup = async {
            let ch = conn
                .create_channel()
                .await
                .map_err(|e| amqp::redact(&e.to_string(), acfg))?;
            ch.basic_qos(prefetch, BasicQosOptions::default())
                .await
                .map_err(|e| amqp::redact(&e.to_string(), acfg))?;
            amqp::declare_queue(&ch, &queue, acfg)
                .await
                .map_err(|e| e.to_string())?;
            if self.cfg.publish_on_done {
                let p = Publisher::open(&conn, acfg)
                    .await
                    .map_err(|e| e.to_string())?;
                *self.publisher.lock().await = Some(p);
            }
            let consumer = ch
                .basic_consume(
                    ShortString::from(queue.name.clone()),
                    ShortString::from(format!("altrepod-{}-{}", self.name, std::process::id())),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| amqp::redact(&e.to_string(), acfg))?;
            Ok::<_, String>((ch, consumer))
        };
        let (ch, mut consumer) = match setup.await {
            Ok(x) => x,
            Err(e) => {
                let _ = conn.close(200, "setup failed".into()).await;
                return Err(e);
            }
        };
        backoff.reset();
        self.shared.health.update(&self.name, |h| {
            h.amqp_connected = true;
            h.state = State::Running;
        });
        self.shared
            .metrics
            .set("altrepodb_amqp_connected", &labels(&self.name), 1.0);
        tracing::info!(service = %self.name, endpoint = %acfg.endpoint(), queue = %queue.name, "consuming");
        let mut stop = self.shared.stop.clone();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let end = loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break Ok(()),
                d = consumer.next() => match d {
                    Some(Ok(delivery)) => self.clone().on_delivery(delivery),
                    Some(Err(e)) => break Err(amqp::redact(&e.to_string(), acfg)),
                    None => break Err("the broker cancelled the consumer".to_owned()),
                },
                _ = tick.tick() => {
                    if !conn.status().connected() || !ch.status().connected() {
                        break Err("connection lost".to_owned());
                    }
                }
            }
        };
        if end.is_ok() {
            tracing::info!(service = %self.name, in_flight = self.tracker.count(), "stopping: no new messages; waiting for running jobs");
            let _ = ch
                .basic_cancel(consumer.tag(), BasicCancelOptions::default())
                .await;
            if tokio::time::timeout(self.shared.shutdown_timeout, self.tracker.idle())
                .await
                .is_err()
            {
                tracing::warn!(service = %self.name, in_flight = self.tracker.count(),
                    "shutdown timeout: abandoning running jobs; their messages return to the queue");
            }
        }
        *self.publisher.lock().await = None;
        let _ = tokio::time::timeout(Duration::from_secs(5), conn.close(200, "bye".into())).await;
        end
    }

    fn on_delivery(self: Arc<Self>, d: Delivery) {
        let name = self.name.clone();
        self.shared
            .metrics
            .inc("altrepodb_messages_received_total", &labels(&name));
        let msg = Message {
            routing_key: d.routing_key.as_str().to_owned(),
            body: d.data,
            delivery_count: amqp::delivery_count(&d.properties),
            properties: d.properties,
            redelivered: d.redelivered,
            origin: Origin::Amqp,
        };
        let acker = d.acker;
        let reject = |reason: String| {
            let me = self.clone();
            tracing::warn!(service = %me.name, routing_key = %msg.routing_key, reason = %reason, "message rejected");
            me.shared
                .health
                .error(&me.name, &format!("message rejected: {reason}"));
            let a = acker.clone();
            tokio::spawn(async move { me.settle(&a, Settle::Reject { requeue: false }).await });
        };
        if !self.handler.accepts(&msg.routing_key) {
            return reject(format!("unexpected routing key '{}'", msg.routing_key));
        }
        if let Some(n) = msg.delivery_count {
            if n > self.cfg.max_redeliver_count {
                return reject(format!(
                    "delivered {n} times before (x-delivery-count), more than max_redeliver_count {}",
                    self.cfg.max_redeliver_count
                ));
            }
        }
        let body: Value = match serde_json::from_slice(&msg.body) {
            Ok(v) => v,
            Err(e) => return reject(format!("body is not JSON: {e}")),
        };
        match self.handler.check(&msg, &body) {
            Verdict::Reject(reason) => reject(reason),
            Verdict::Ack(reason) => {
                tracing::info!(service = %self.name, routing_key = %msg.routing_key, reason = %reason, "message acknowledged without work");
                let me = self.clone();
                tokio::spawn(async move { me.settle(&acker, Settle::Ack).await });
            }
            Verdict::Run { key, job } => {
                let me = self.clone();
                let guard = self.tracker.enter();
                tokio::spawn(async move {
                    me.execute(Arc::new(msg), key, job, Some(acker)).await;
                    drop(guard);
                });
            }
        }
    }

    async fn settle(&self, acker: &Acker, how: Settle) {
        let (res, metric, requeue) = match how {
            Settle::Ack => (
                acker.ack(BasicAckOptions::default()).await,
                "altrepodb_messages_acked_total",
                None,
            ),
            Settle::Reject { requeue } => (
                acker.reject(BasicRejectOptions { requeue }).await,
                "altrepodb_messages_rejected_total",
                Some(requeue),
            ),
        };
        match res {
            Ok(_) => match requeue {
                None => self.shared.metrics.inc(metric, &labels(&self.name)),
                Some(r) => self.shared.metrics.inc(
                    metric,
                    &[
                        ("service", &self.name),
                        ("requeue", if r { "true" } else { "false" }),
                    ],
                ),
            },
            // The channel is gone: the broker has requeued the message and will deliver it
            // again; the work done is found done then.
            Err(e) => {
                tracing::warn!(service = %self.name, error = %amqp::redact(&e.to_string(), &self.cfg.amqp),
                "could not settle a message (channel closed); it will be redelivered")
            }
        }
    }

    /// Runs one job to its end: waits for a worker slot, the key and the database, runs, and
    /// settles the message (`acker` is `None` for scheduled runs).
    async fn execute(
        self: Arc<Self>,
        msg: Arc<Message>,
        key: String,
        job: Arc<dyn Job>,
        acker: Option<Acker>,
    ) {
        let mut stop = self.shared.stop.clone();
        let _permit = tokio::select! {
            p = self.workers.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = stop.wait_for(|s| *s) => return,
        };
        let _key = tokio::select! {
            k = self.locks.lock(&key) => k,
            _ = stop.wait_for(|s| *s) => return,
        };
        let what = job.describe();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let Some(db) = self.wait_db().await else {
                tracing::info!(service = %self.name, job = %what, "stopping before the job started; the message stays in the queue");
                return;
            };
            if self.stopped() {
                return;
            }
            tracing::info!(service = %self.name, job = %what, attempt, "job started");
            self.shared.health.update(&self.name, |h| h.in_flight += 1);
            self.shared
                .metrics
                .gauge_add("altrepodb_jobs_in_flight", &labels(&self.name), 1.0);
            let started = Instant::now();
            let ctx = JobContext {
                db,
                service: self.name.clone(),
            };
            let result = tokio::spawn(job.run(ctx)).await;
            let secs = started.elapsed().as_secs_f64();
            self.shared
                .health
                .update(&self.name, |h| h.in_flight = h.in_flight.saturating_sub(1));
            self.shared
                .metrics
                .gauge_add("altrepodb_jobs_in_flight", &labels(&self.name), -1.0);
            self.shared.metrics.observe(
                "altrepodb_job_duration_seconds",
                &labels(&self.name),
                secs,
            );
            let failure = match result {
                Ok(Ok(outcome)) => {
                    self.done(&msg, &what, outcome, secs, acker.as_ref()).await;
                    return;
                }
                Ok(Err(e)) => e,
                Err(join) => {
                    let reason = if join.is_panic() {
                        let p = join.into_panic();
                        let text = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                            .unwrap_or_else(|| "unknown panic".into());
                        self.shared.metrics.inc(
                            "altrepodb_jobs_total",
                            &[("service", &self.name), ("result", "panicked")],
                        );
                        format!("job panicked: {text}")
                    } else {
                        "job was cancelled".to_owned()
                    };
                    JobError::permanent(reason)
                }
            };
            // Always check: a failure during an outage must close the gate for the next try.
            let db_ok = self.db_answers().await;
            let transient = failure.transient || !db_ok;
            if transient && attempt < LOCAL_RETRIES && !self.stopped() {
                self.shared.metrics.inc(
                    "altrepodb_jobs_total",
                    &[("service", &self.name), ("result", "retried")],
                );
                self.shared
                    .health
                    .error(&self.name, &format!("{what}: {}", failure.message));
                tracing::warn!(service = %self.name, job = %what, error = %failure.message,
                    "job failed while the database is unreachable; it runs again when the database answers");
                continue;
            }
            self.failed(&msg, &what, &failure.message, transient, acker.as_ref())
                .await;
            return;
        }
    }

    async fn done(
        &self,
        msg: &Message,
        what: &str,
        outcome: JobOutcome,
        secs: f64,
        acker: Option<&Acker>,
    ) {
        for (table, n) in &outcome.rows {
            self.shared.metrics.add(
                "altrepodb_rows_written_total",
                &[("service", &self.name), ("table", table)],
                *n as f64,
            );
        }
        if outcome.skipped > 0 {
            self.shared.metrics.add(
                "altrepodb_inputs_skipped_total",
                &[("service", &self.name)],
                outcome.skipped as f64,
            );
        }
        self.shared.metrics.inc(
            "altrepodb_jobs_total",
            &[("service", &self.name), ("result", "done")],
        );
        tracing::info!(service = %self.name, job = %what, seconds = format!("{secs:.2}"), summary = %outcome.summary,
            already_done = outcome.already_done, "job done");
        self.shared
            .health
            .success(&self.name, &format!("{what}: {}", outcome.summary));
        if let Some(a) = acker {
            self.settle(a, Settle::Ack).await;
        }
        // A redelivered message whose work was done already is re-published: the first run
        // may have lost its acknowledgement before it could publish.
        if self.cfg.publish_on_done && (!outcome.already_done || msg.redelivered) {
            let p = self.publisher.lock().await;
            match p.as_ref() {
                Some(p) if p.usable() => {
                    if let Err(e) = p
                        .publish(&msg.routing_key, &msg.body, msg.properties.clone(), false)
                        .await
                    {
                        tracing::warn!(service = %self.name, error = %e, "publish_on_done failed");
                    }
                }
                _ => tracing::warn!(service = %self.name, "publish_on_done skipped: no connection"),
            }
        }
    }

    async fn failed(
        &self,
        msg: &Message,
        what: &str,
        reason: &str,
        transient: bool,
        acker: Option<&Acker>,
    ) {
        self.shared.metrics.inc(
            "altrepodb_jobs_total",
            &[("service", &self.name), ("result", "failed")],
        );
        // A job that failed because the database was away is always requeued.
        let requeue = transient || self.cfg.requeue_on_reject;
        tracing::error!(service = %self.name, job = %what, reason = %reason, requeue, "job failed; message rejected");
        self.shared
            .health
            .error(&self.name, &format!("{what}: {reason}"));
        if let Some(a) = acker {
            self.settle(a, Settle::Reject { requeue }).await;
        }
        self.shared.notifier.send(Note::new(
            &self.name,
            Severity::Critical,
            Kind::ServiceWorkerError,
            reason,
            Value::String(python_bytes_repr(&msg.body)),
        ));
    }

    // ---- schedule ---------------------------------------------------------------------------

    async fn scheduler(self: Arc<Self>, schedule: Schedule) {
        let busy = Arc::new(AtomicBool::new(false));
        let mut stop = self.shared.stop.clone();
        tracing::info!(service = %self.name, schedule = ?schedule, "schedule armed");
        loop {
            let now = time::OffsetDateTime::now_utc();
            let Some(next) = schedule.next_after(now) else {
                return;
            };
            let wait = (next - now).try_into().unwrap_or(Duration::ZERO);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if busy.swap(true, Ordering::SeqCst) {
                self.shared.metrics.inc(
                    "altrepodb_scheduled_runs_total",
                    &[("service", &self.name), ("result", "skipped")],
                );
                tracing::info!(service = %self.name, "schedule tick skipped: the previous scheduled run is still busy");
                continue;
            }
            self.shared.metrics.inc(
                "altrepodb_scheduled_runs_total",
                &[("service", &self.name), ("result", "started")],
            );
            let me = self.clone();
            let flag = busy.clone();
            let guard = self.tracker.enter();
            tokio::spawn(async move {
                me.clone().scheduled_run().await;
                flag.store(false, Ordering::SeqCst);
                drop(guard);
            });
        }
    }

    async fn scheduled_run(self: Arc<Self>) {
        for (routing_key, body) in self.handler.scheduled() {
            let bytes = body.to_string().into_bytes();
            let msg = Message {
                routing_key,
                body: bytes,
                properties: amqp::json_properties(),
                delivery_count: None,
                redelivered: false,
                origin: Origin::Schedule,
            };
            tracing::info!(service = %self.name, routing_key = %msg.routing_key, body = %body, "scheduled run");
            match self.handler.check(&msg, &body) {
                Verdict::Run { key, job } => {
                    self.clone().execute(Arc::new(msg), key, job, None).await
                }
                Verdict::Ack(r) | Verdict::Reject(r) => {
                    tracing::warn!(service = %self.name, reason = %r, "scheduled message not run")
                }
            }
            if self.stopped() {
                return;
            }
        }
    }
}

enum Settle {
    Ack,
    Reject { requeue: bool },
}

/// `SELECT 1` with a 10 s limit.
async fn ping(db: &Db) -> Result<(), String> {
    match tokio::time::timeout(
        Duration::from_secs(10),
        db.client().query("SELECT 1").fetch_one::<u8>(),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(db.classify(&e, "checking the database").to_string()),
        Err(_) => Err("database check timed out after 10 s".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keyed_locks_serialise_equal_keys() {
        let locks = Arc::new(KeyedLocks::default());
        let g = locks.lock("a").await;
        let l2 = locks.clone();
        let other = tokio::spawn(async move {
            let _g = l2.lock("b").await;
        });
        other.await.unwrap();
        let l3 = locks.clone();
        let waiting = tokio::spawn(async move {
            let _g = l3.lock("a").await;
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        drop(g);
        waiting.await.unwrap();
        assert!(locks.map.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn tracker_waits_for_guards() {
        let t = Tracker::default();
        let g = t.enter();
        assert_eq!(t.count(), 1);
        let t2 = t.clone();
        let h = tokio::spawn(async move { t2.idle().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!h.is_finished());
        drop(g);
        h.await.unwrap();
    }
}
