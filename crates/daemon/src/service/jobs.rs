//! Running jobs: slots, keys, outcomes, failures and the schedule.

use super::*;

impl Service {
    /// Runs one job to its end: waits for a worker slot, the key and the database, runs, and
    /// settles the message (`acker` is `None` for scheduled runs).
    pub(super) async fn execute(
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
