//! Per-service health, as `/health` reports it.
//!
//! A service is healthy while its AMQP connection is up and its database answers. `/health`
//! answers 200 when every running service is healthy, 503 otherwise, with a JSON body:
//!
//! ```json
//! {"status": "ok", "services": {"repo_loader": {"kind": "repo_loader", "state": "running",
//!   "amqp_connected": true, "db_ok": true, "in_flight": 0,
//!   "last_success": {"at": 1709290000.5, "message": "…"}, "last_error": null}}}
//! ```

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{json, Value};

/// A moment and what happened.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    /// Unix time, seconds.
    pub at: f64,
    /// What happened (one line, no credentials).
    pub message: String,
}

/// Life-cycle state of a service.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Connecting for the first time.
    Starting,
    /// Consuming.
    Running,
    /// Lost the connection; trying again.
    Reconnecting,
    /// Shutting down.
    Stopping,
    /// Configured, but this version has no such service; not started.
    Unsupported,
}

/// One service's health.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceHealth {
    /// Service key (`repo_loader`, …).
    pub kind: String,
    /// Life-cycle state.
    pub state: State,
    /// AMQP connection up.
    pub amqp_connected: bool,
    /// Database answered the last check.
    pub db_ok: bool,
    /// Jobs running now.
    pub in_flight: u64,
    /// The last job that succeeded.
    pub last_success: Option<Event>,
    /// The last failure (job, connection or database).
    pub last_error: Option<Event>,
}

impl ServiceHealth {
    fn healthy(&self) -> bool {
        match self.state {
            State::Unsupported => true,
            _ => self.amqp_connected && self.db_ok,
        }
    }
}

/// The health of every service (and the notifier), shared by the services and the HTTP endpoint.
#[derive(Debug, Default)]
pub struct HealthBoard {
    services: Mutex<BTreeMap<String, ServiceHealth>>,
    notifier_connected: Mutex<Option<bool>>,
}

/// Seconds since the epoch, now.
pub fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl HealthBoard {
    /// An empty board.
    pub fn new() -> HealthBoard {
        HealthBoard::default()
    }

    /// Adds a service in state `state`.
    pub fn register(&self, name: &str, kind: &str, state: State) {
        let mut s = self.services.lock().unwrap_or_else(|p| p.into_inner());
        s.insert(
            name.to_owned(),
            ServiceHealth {
                kind: kind.to_owned(),
                state,
                amqp_connected: false,
                db_ok: false,
                in_flight: 0,
                last_success: None,
                last_error: None,
            },
        );
    }

    /// Changes one service's entry.
    pub fn update(&self, name: &str, f: impl FnOnce(&mut ServiceHealth)) {
        let mut s = self.services.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = s.get_mut(name) {
            f(h);
        }
    }

    /// Records a failure.
    pub fn error(&self, name: &str, message: &str) {
        let e = Event {
            at: now_unix(),
            message: message.to_owned(),
        };
        self.update(name, |h| h.last_error = Some(e));
    }

    /// Records a success.
    pub fn success(&self, name: &str, message: &str) {
        let e = Event {
            at: now_unix(),
            message: message.to_owned(),
        };
        self.update(name, |h| h.last_success = Some(e));
    }

    /// Records the notifier's connection state.
    pub fn set_notifier(&self, connected: bool) {
        *self
            .notifier_connected
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(connected);
    }

    /// A copy of one service's entry.
    pub fn get(&self, name: &str) -> Option<ServiceHealth> {
        self.services
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// True when every service is healthy.
    pub fn healthy(&self) -> bool {
        self.services
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .all(ServiceHealth::healthy)
    }

    /// The `/health` body and whether it is healthy.
    pub fn report(&self) -> (bool, Value) {
        let services = self
            .services
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let healthy = services.values().all(ServiceHealth::healthy);
        let notifier = *self
            .notifier_connected
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let body = json!({
            "status": if healthy { "ok" } else { "unhealthy" },
            "services": services,
            "notifier": {"amqp_connected": notifier},
        });
        (healthy, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_needs_amqp_and_db() {
        let b = HealthBoard::new();
        b.register("repo", "repo_loader", State::Starting);
        b.register("acl", "acl_loader", State::Unsupported);
        assert!(!b.healthy());
        b.update("repo", |h| {
            h.amqp_connected = true;
            h.db_ok = true;
            h.state = State::Running;
        });
        assert!(b.healthy());
        b.error("repo", "boom");
        assert!(b.healthy());
        let (ok, body) = b.report();
        assert!(ok);
        assert_eq!(body["services"]["repo"]["last_error"]["message"], "boom");
        assert_eq!(body["services"]["acl"]["state"], "unsupported");
        b.update("repo", |h| h.db_ok = false);
        assert!(!b.report().0);
    }
}
