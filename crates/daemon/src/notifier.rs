//! The notifier (original §9.5): service and job problems published as JSON to the exchange
//! of `config.json`'s `notifier.amqp`, routing key `<type>.<severity>` in lower case (e.g.
//! `service_worker_error.critical`), content type `application/json`, persistent.
//!
//! Body: `{"subject", "severity", "type", "message", "timestamp", "payload"}` with severity
//! `INFO|WARNING|CRITICAL`, type `MESSAGE|SERVICE_ERROR|SERVICE_WORKER_ERROR`, timestamp a
//! float Unix time. A failed job's payload is the original message body written as Python
//! writes `bytes` (`b'…'`), which is what the original sent and what altrepobot unwraps.
//!
//! Messages wait in a queue of at most [`QUEUE_SIZE`]; when it is full a message is dropped
//! with an error in the log. A lost connection is re-established with backoff.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::amqp::{self, Publisher};
use crate::backoff::Backoff;
use crate::config::AmqpConfig;
use crate::health::{now_unix, HealthBoard};
use crate::metrics::Metrics;

/// Notifications held while the broker is away.
pub const QUEUE_SIZE: usize = 1000;

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// For information.
    Info,
    /// Something went wrong, the service goes on.
    Warning,
    /// A job or service failed.
    Critical,
}

/// What it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A plain message.
    Message,
    /// A service-level problem (connection, configuration).
    ServiceError,
    /// A job failed.
    ServiceWorkerError,
}

impl Severity {
    fn name(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        }
    }
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Message => "MESSAGE",
            Kind::ServiceError => "SERVICE_ERROR",
            Kind::ServiceWorkerError => "SERVICE_WORKER_ERROR",
        }
    }
}

/// One notification.
#[derive(Debug, Clone)]
pub struct Note {
    /// Service name.
    pub subject: String,
    /// Severity.
    pub severity: Severity,
    /// Type.
    pub kind: Kind,
    /// One line.
    pub message: String,
    /// Anything (the failed message's body for worker errors).
    pub payload: Value,
    /// Unix time.
    pub timestamp: f64,
}

impl Note {
    /// A note stamped now.
    pub fn new(
        subject: &str,
        severity: Severity,
        kind: Kind,
        message: &str,
        payload: Value,
    ) -> Note {
        Note {
            subject: subject.to_owned(),
            severity,
            kind,
            message: message.to_owned(),
            payload,
            timestamp: now_unix(),
        }
    }

    /// `<type>.<severity>`, lower case.
    pub fn routing_key(&self) -> String {
        format!("{}.{}", self.kind.name(), self.severity.name()).to_lowercase()
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({
            "subject": self.subject,
            "severity": self.severity.name(),
            "type": self.kind.name(),
            "message": self.message,
            "timestamp": self.timestamp,
            "payload": self.payload,
        })
    }
}

/// `bytes` as Python's `repr` writes them: `b'…'` (or `b"…"` when only `'` occurs).
pub fn python_bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = String::with_capacity(b.len() + 3);
    s.push('b');
    s.push(quote);
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            c if c as char == quote => {
                s.push('\\');
                s.push(quote);
            }
            0x20..=0x7e => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(quote);
    s
}

/// The sending side, cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::Sender<Note>,
    metrics: Arc<Metrics>,
}

impl Notifier {
    /// A notifier and the receiving end for [`run`].
    pub fn channel(metrics: Arc<Metrics>) -> (Notifier, mpsc::Receiver<Note>) {
        let (tx, rx) = mpsc::channel(QUEUE_SIZE);
        (Notifier { tx, metrics }, rx)
    }

    /// Queues a note; drops it (logged) when the queue is full.
    pub fn send(&self, note: Note) {
        tracing::debug!(subject = %note.subject, routing_key = %note.routing_key(), message = %note.message, "notification queued");
        if let Err(e) = self.tx.try_send(note) {
            let note = match e {
                mpsc::error::TrySendError::Full(n) | mpsc::error::TrySendError::Closed(n) => n,
            };
            self.metrics
                .inc("altrepodb_notifications_total", &[("result", "dropped")]);
            tracing::error!(subject = %note.subject, message = %note.message, "notifier queue is full; notification dropped");
        }
    }
}

/// Publishes queued notes until `stop`; then sends what is queued for up to two seconds.
pub async fn run(
    cfg: AmqpConfig,
    mut rx: mpsc::Receiver<Note>,
    health: Arc<HealthBoard>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let mut pending: Option<Note> = None;
    let mut first = true;
    'outer: loop {
        if !first {
            metrics.inc(
                "altrepodb_amqp_reconnects_total",
                &[("service", "notifier")],
            );
        }
        first = false;
        let conn = match amqp::connect(&cfg, "ALTRepoDB uploaderd notifier").await {
            Ok(c) => c,
            Err(e) => {
                health.set_notifier(false);
                tracing::warn!(error = %e, "notifier cannot connect; retrying");
                if *stop.borrow() {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_delay()) => continue,
                    _ = stop.wait_for(|s| *s) => break,
                }
            }
        };
        let publisher = match Publisher::open(&conn, &cfg).await {
            Ok(p) => p,
            Err(e) => {
                health.set_notifier(false);
                tracing::warn!(error = %e, "notifier cannot open its channel; retrying");
                let _ = conn.close(200, "".into()).await;
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_delay()) => continue,
                    _ = stop.wait_for(|s| *s) => break,
                }
            }
        };
        health.set_notifier(true);
        backoff.reset();
        tracing::info!(endpoint = %cfg.endpoint(), exchange = %cfg.exchange, "notifier connected");
        loop {
            let note = match pending.take() {
                Some(n) => n,
                None => tokio::select! {
                    n = rx.recv() => match n { Some(n) => n, None => break 'outer },
                    _ = stop.wait_for(|s| *s) => break 'outer,
                },
            };
            if let Err(e) = send(&publisher, &note).await {
                metrics.inc("altrepodb_notifications_total", &[("result", "failed")]);
                tracing::warn!(error = %e, "notifier lost its connection; reconnecting");
                health.set_notifier(false);
                pending = Some(note);
                let _ = conn.close(200, "".into()).await;
                continue 'outer;
            }
            metrics.inc("altrepodb_notifications_total", &[("result", "sent")]);
        }
    }
    // Shutting down: whatever is queued gets one quick chance.
    let need_drain = !rx.is_empty() || pending.is_some();
    let drain = async {
        let Ok(conn) = amqp::connect(&cfg, "ALTRepoDB uploaderd notifier").await else {
            return;
        };
        let Ok(p) = Publisher::open(&conn, &cfg).await else {
            return;
        };
        if let Some(n) = pending.take() {
            let _ = send(&p, &n).await;
        }
        while let Ok(n) = rx.try_recv() {
            if send(&p, &n).await.is_ok() {
                metrics.inc("altrepodb_notifications_total", &[("result", "sent")]);
            }
        }
        let _ = conn.close(200, "shutdown".into()).await;
    };
    if need_drain {
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    }
    health.set_notifier(false);
}

async fn send(p: &Publisher, note: &Note) -> Result<(), amqp::AmqpError> {
    let body = note.body().to_string();
    p.publish(
        &note.routing_key(),
        body.as_bytes(),
        amqp::json_properties(),
        false,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_key_and_body() {
        let n = Note::new(
            "repo_loader",
            Severity::Critical,
            Kind::ServiceWorkerError,
            "boom",
            json!("b'{}'"),
        );
        assert_eq!(n.routing_key(), "service_worker_error.critical");
        let b = n.body();
        assert_eq!(b["severity"], "CRITICAL");
        assert_eq!(b["type"], "SERVICE_WORKER_ERROR");
        assert_eq!(b["subject"], "repo_loader");
        assert!(b["timestamp"].as_f64().unwrap() > 1.6e9);
        let n = Note::new("x", Severity::Warning, Kind::ServiceError, "m", Value::Null);
        assert_eq!(n.routing_key(), "service_error.warning");
    }

    #[test]
    fn python_repr() {
        assert_eq!(
            python_bytes_repr(b"{\"branch\": \"p10\"}"),
            "b'{\"branch\": \"p10\"}'"
        );
        assert_eq!(python_bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(python_bytes_repr(b"a'\"\n\\\xff"), "b'a\\'\"\\n\\\\\\xff'");
    }
}
