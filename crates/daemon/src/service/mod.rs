//! The service framework: one [`Handler`] per kind of service decides what a message means,
//! the framework does everything else the same way for every service.
//!
//! # Delivery semantics
//! * The routing key must be one the handler accepts, the body must be JSON, and the
//!   handler's [`Handler::check`] must accept it; otherwise the message is rejected without
//!   requeue (logged with the reason). A check may also acknowledge and drop a message that
//!   needs no work ([`Verdict::Ack`]).
//! * Accepted messages become jobs. At most `workers_count` jobs run at once (the consumer
//!   prefetch is the same number, or `amqp_batch_size` when larger), and two jobs with the
//!   same key (e.g. the same branch and date) never run at the same time, in this process or
//!   in any other daemon on the same broker: the key is locked locally and then on the broker
//!   (an exclusive queue named by the key, [`amqp::BrokerLock`], held by the connection the
//!   message came on). A redelivered message waits for the first run, then finds its work
//!   done.
//! * If that connection is lost while the job runs, the broker has requeued the message and
//!   dropped the lock, so the job is abandoned at once (as if the daemon had been killed; the
//!   loads complete an interrupted load when run again) and whichever daemon receives the
//!   message runs it.
//! * A message is acknowledged only after its job returned, i.e. after its rows are
//!   committed; `publish_on_done` then re-publishes it to the service's exchange.
//! * A failed job is reported to the notifier and, unless `requeue_on_reject`, rejected
//!   without requeue. With `requeue_on_reject` the daemon counts the failure itself: the
//!   message is re-published into the queue with header [`amqp::FAILURES_HEADER`] one higher
//!   and the original acknowledged; once the failures exceed `max_redeliver_count` it is
//!   rejected without requeue. The broker's `x-delivery-count` and redelivered flag are not
//!   used: they also count the returns after a consumer died, which are no failures.
//! * If the database does not answer when a job fails, the failure counts as transient: the
//!   job is retried locally once the database is back (the message stays unacknowledged), and
//!   after [`LOCAL_RETRIES`] such attempts it is requeued without counting a failure.
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
use lapin::{Acker, BasicProperties, Connection};
use serde_json::Value;
use tokio::sync::{watch, Notify, Semaphore};

use crate::amqp::{self, BrokerLock, LockAttempt, Publisher};
use crate::backoff::Backoff;
use crate::config::ServiceConfig;
use crate::error::Failure;
use crate::health::{HealthBoard, State};
use crate::metrics::Metrics;
use crate::notifier::{python_bytes_repr, Kind, Note, Notifier, Severity};
use crate::schedule::Schedule;

mod consume;
mod jobs;

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
    /// `x-delivery-count`, if the broker set it (logged only: see the module doc).
    pub delivery_count: Option<i64>,
    /// Failed runs of this message's job so far ([`amqp::FAILURES_HEADER`]).
    pub failures: i64,
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
    /// The connection of the running session (for scheduled jobs' broker locks).
    conn: Mutex<Option<Arc<Connection>>>,
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
            conn: Mutex::new(None),
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
}

enum Settle {
    Ack,
    /// Acknowledged because a copy with its failure counted was re-published: counted in
    /// `messages_republished_total`, not as acknowledged work.
    AckRepublished,
    Reject {
        requeue: bool,
    },
}

/// Returns once `conn` is no longer connected.
async fn connection_lost(conn: &Connection) {
    while conn.status().connected() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `SELECT 1` with a 10 s limit.
async fn ping(db: &Db) -> Result<(), Failure> {
    match tokio::time::timeout(
        Duration::from_secs(10),
        db.client().query("SELECT 1").fetch_one::<u8>(),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(db.classify(&e, "checking the database").to_string().into()),
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
