//! The database watch and the consumer: connecting, deliveries, settling messages.

use super::*;

impl Service {
    // ---- database ---------------------------------------------------------------------------

    pub(super) async fn db_monitor(self: Arc<Self>) {
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
                        Err(e) => Err(Failure::from(e.to_string())),
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
    pub(super) async fn db_answers(&self) -> bool {
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
    pub(super) async fn wait_db(&self) -> Option<Arc<Db>> {
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

    pub(super) async fn consume_loop(self: Arc<Self>, prefetch: u16) {
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
    pub(super) async fn session(
        self: Arc<Self>,
        prefetch: u16,
        backoff: &mut Backoff,
    ) -> Result<(), String> {
        let acfg = &self.cfg.amqp;
        let queue = self.cfg.queue().map_err(|e| e.to_string())?.clone();
        let info = format!("ALTRepoDB uploaderd service: {}", self.name);
        let conn = Arc::new(
            amqp::connect(acfg, &info)
                .await
                .map_err(|e| e.to_string())?,
        );
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
            // Also needed without publish_on_done: failed jobs are re-published with it.
            let p = Publisher::open(&conn, acfg)
                .await
                .map_err(|e| e.to_string())?;
            *self.publisher.lock().await = Some(p);
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
        *self.conn.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn.clone());
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
                    Some(Ok(delivery)) => self.clone().on_delivery(delivery, conn.clone()),
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
        self.conn.lock().unwrap_or_else(|p| p.into_inner()).take();
        let _ = tokio::time::timeout(Duration::from_secs(5), conn.close(200, "bye".into())).await;
        end
    }

    pub(super) fn on_delivery(self: Arc<Self>, d: Delivery, conn: Arc<Connection>) {
        let name = self.name.clone();
        self.shared
            .metrics
            .inc("altrepodb_messages_received_total", &labels(&name));
        // A copy re-published after a failure carries the routing key it first came with.
        let routing_key = amqp::header_str(&d.properties, amqp::ROUTING_KEY_HEADER)
            .unwrap_or_else(|| d.routing_key.as_str().to_owned());
        let msg = Message {
            routing_key,
            body: d.data,
            delivery_count: amqp::delivery_count(&d.properties),
            failures: amqp::header_int(&d.properties, amqp::FAILURES_HEADER)
                .unwrap_or(0)
                .max(0),
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
        // Only possible when max_redeliver_count was lowered since the copy was published.
        if msg.failures > self.cfg.max_redeliver_count {
            return reject(format!(
                "its job failed {} times before, more than max_redeliver_count {}",
                msg.failures, self.cfg.max_redeliver_count
            ));
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
                    me.execute(Arc::new(msg), key, job, Some((acker, conn)))
                        .await;
                    drop(guard);
                });
            }
        }
    }

    pub(super) async fn settle(&self, acker: &Acker, how: Settle) {
        let (res, metric, requeue) = match how {
            Settle::Ack => (
                acker.ack(BasicAckOptions::default()).await,
                Some("altrepodb_messages_acked_total"),
                None,
            ),
            Settle::AckRepublished => (acker.ack(BasicAckOptions::default()).await, None, None),
            Settle::Reject { requeue } => (
                acker.reject(BasicRejectOptions { requeue }).await,
                Some("altrepodb_messages_rejected_total"),
                Some(requeue),
            ),
        };
        match res {
            Ok(_) => match (metric, requeue) {
                (None, _) => {}
                (Some(metric), None) => self.shared.metrics.inc(metric, &labels(&self.name)),
                (Some(metric), Some(r)) => self.shared.metrics.inc(
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
}
