//! Running jobs: slots, keys, outcomes, failures and the schedule.

use super::*;

impl Service {
    /// Runs one job to its end: waits for a worker slot, the key (here and on the broker)
    /// and the database, runs, and settles the message. `delivery` is the message's acker and
    /// the connection it came on; `None` for scheduled runs.
    pub(super) async fn execute(
        self: Arc<Self>,
        msg: Arc<Message>,
        key: String,
        job: Arc<dyn Job>,
        delivery: Option<(Acker, Arc<Connection>)>,
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
        let (acker, conn) = match delivery {
            Some((a, c)) => (Some(a), c),
            None => match self.session_connection().await {
                Some(c) => (None, c),
                None => return,
            },
        };
        let Some(lock) = self.broker_lock(&conn, &key, &what).await else {
            return;
        };
        self.clone()
            .execute_locked(msg, job, &what, acker, &conn)
            .await;
        lock.release().await;
    }

    /// The running session's connection, waiting for one; `None` on stop.
    pub(super) async fn session_connection(&self) -> Option<Arc<Connection>> {
        let mut stop = self.shared.stop.clone();
        loop {
            if let Some(c) = self
                .conn
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .filter(|c| c.status().connected())
            {
                return Some(c);
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.wait_for(|s| *s) => return None,
            }
        }
    }

    /// Takes the broker-wide lock of `key` on `conn`, waiting while another daemon holds it;
    /// `None` on stop or when `conn` is lost (the broker has requeued the message then).
    pub(super) async fn broker_lock(
        &self,
        conn: &Connection,
        key: &str,
        what: &str,
    ) -> Option<BrokerLock> {
        let mut stop = self.shared.stop.clone();
        let mut told = false;
        loop {
            if self.stopped() {
                return None;
            }
            if !conn.status().connected() {
                tracing::info!(service = %self.name, job = %what,
                    "connection lost before the job started; the broker has requeued its message");
                return None;
            }
            match BrokerLock::try_acquire(conn, key, &self.cfg.amqp).await {
                Ok(LockAttempt::Held(lock)) => {
                    tracing::debug!(service = %self.name, job = %what, lock = %lock.name(), "key locked on the broker");
                    return Some(lock);
                }
                Ok(LockAttempt::Busy) => {
                    if !told {
                        told = true;
                        tracing::info!(service = %self.name, job = %what, key = %key,
                            "another daemon runs a job with this key; waiting for it");
                    }
                }
                Err(e) => {
                    tracing::warn!(service = %self.name, job = %what, error = %e, "could not take the job's lock on the broker; trying again");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.wait_for(|s| *s) => return None,
            }
        }
    }

    /// [`Service::execute`] with the key locked.
    pub(super) async fn execute_locked(
        self: Arc<Self>,
        msg: Arc<Message>,
        job: Arc<dyn Job>,
        what: &str,
        acker: Option<Acker>,
        conn: &Connection,
    ) {
        let what = what.to_owned();
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
            let mut handle = tokio::spawn(job.run(ctx));
            let result = tokio::select! {
                r = &mut handle => Some(r),
                _ = connection_lost(conn) => None,
            };
            let Some(result) = result else {
                // The broker requeued the message and dropped the lock with the connection:
                // another daemon may start this job now, so this run must not go on.
                handle.abort();
                let _ = handle.await;
                self.shared
                    .health
                    .update(&self.name, |h| h.in_flight = h.in_flight.saturating_sub(1));
                self.shared.metrics.gauge_add(
                    "altrepodb_jobs_in_flight",
                    &labels(&self.name),
                    -1.0,
                );
                self.shared.metrics.inc(
                    "altrepodb_jobs_total",
                    &[("service", &self.name), ("result", "abandoned")],
                );
                tracing::warn!(service = %self.name, job = %what,
                    "connection to the broker lost during the job: abandoned (the broker requeued the message; the next run completes the work)");
                return;
            };
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

    /// Puts the message of a failed job back with one more failure counted (or rejects it
    /// for good beyond `max_redeliver_count`), then settles the original.
    pub(super) async fn requeue_counted(&self, msg: &Message, acker: &Acker) {
        let failures = msg.failures + 1;
        if failures > self.cfg.max_redeliver_count {
            let reason = format!(
                "its job failed {failures} times, more than max_redeliver_count {}",
                self.cfg.max_redeliver_count
            );
            tracing::warn!(service = %self.name, routing_key = %msg.routing_key, reason = %reason, "message rejected");
            self.settle(acker, Settle::Reject { requeue: false }).await;
            return;
        }
        let queue = match self.cfg.queue() {
            Ok(q) => q.name.clone(),
            Err(e) => {
                tracing::warn!(service = %self.name, error = %e, "no queue to re-publish to; requeued by the broker");
                self.settle(acker, Settle::Reject { requeue: true }).await;
                return;
            }
        };
        let props = amqp::with_failures(&msg.properties, &msg.routing_key, failures);
        let published = {
            let p = self.publisher.lock().await;
            match p.as_ref() {
                Some(p) if p.usable() => p
                    .publish_to_queue(&queue, &msg.body, props)
                    .await
                    .map_err(|e| e.to_string()),
                _ => Err("no connection".to_owned()),
            }
        };
        match published {
            Ok(()) => {
                self.shared
                    .metrics
                    .inc("altrepodb_messages_republished_total", &labels(&self.name));
                tracing::info!(service = %self.name, failures, "failed message re-published to its queue with the failure counted");
                self.settle(acker, Settle::AckRepublished).await;
            }
            Err(e) => {
                // Requeued by the broker instead, with the count it had.
                tracing::warn!(service = %self.name, error = %e, "could not re-publish the failed message; requeued by the broker");
                self.settle(acker, Settle::Reject { requeue: true }).await;
            }
        }
    }

    pub(super) async fn done(
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
                        .publish(
                            &msg.routing_key,
                            &msg.body,
                            amqp::without_daemon_headers(&msg.properties),
                            false,
                        )
                        .await
                    {
                        tracing::warn!(service = %self.name, error = %e, "publish_on_done failed");
                    }
                }
                _ => tracing::warn!(service = %self.name, "publish_on_done skipped: no connection"),
            }
        }
    }

    pub(super) async fn failed(
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
        // A job that failed because the database was away is always requeued, uncounted.
        let requeue = transient || self.cfg.requeue_on_reject;
        tracing::error!(service = %self.name, job = %what, reason = %reason, requeue, "job failed; message rejected");
        self.shared
            .health
            .error(&self.name, &format!("{what}: {reason}"));
        if let Some(a) = acker {
            if transient {
                self.settle(a, Settle::Reject { requeue: true }).await;
            } else if self.cfg.requeue_on_reject {
                self.requeue_counted(msg, a).await;
            } else {
                self.settle(a, Settle::Reject { requeue: false }).await;
            }
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

    pub(super) async fn scheduler(self: Arc<Self>, schedule: Schedule) {
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

    pub(super) async fn scheduled_run(self: Arc<Self>) {
        for (routing_key, body) in self.handler.scheduled() {
            let bytes = body.to_string().into_bytes();
            let msg = Message {
                routing_key,
                body: bytes,
                properties: amqp::json_properties(),
                delivery_count: None,
                failures: 0,
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
