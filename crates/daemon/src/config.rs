//! The daemon's configuration files, with the original's names, keys and defaults.
//!
//! * `config.json` (original §2.2): `services` (list of `{name, config}`), `notifier`
//!   (`{amqp: …}`), and the keys this version adds: `http` (`{host, port}` of the /health and
//!   /metrics endpoint) and `shutdown_timeout` (seconds in-flight jobs may take after SIGTERM).
//! * `services.d/<file>.json` (§2.3): the common service keys, `database`, `amqp`, the
//!   service's own keys, and the new `schedule`.
//! * the AMQP connection object (§2.4), unknown keys rejected.
//!
//! Passwords are kept in [`Secret`], whose `Debug` and `Display` print `***`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use altrepodb_db::DbSettings;
use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

/// A configuration problem: which file, which key, what is wrong.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read.
    #[error("{path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file is not valid JSON or does not have the expected shape.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (serde's message names the key).
        reason: String,
    },
}

/// A string that must never be printed (passwords).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

fn default_true() -> bool {
    true
}

/// `{exchange, routing_key}` of `bind_at_startup` / `unbind_at_startup`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// Exchange to bind the queue to.
    pub exchange: String,
    /// Binding key (topic pattern).
    pub routing_key: String,
}

/// `amqp.queue`: the queue a service consumes, declared (and bound) at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Queue name.
    pub name: String,
    /// `classic` or `quorum`, sent as `x-queue-type` (none: the server's default).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Durable queue (default true).
    #[serde(default = "default_true")]
    pub durable: bool,
    /// Exclusive queue (default false).
    #[serde(default)]
    pub exclusive: bool,
    /// Auto-delete queue (default false).
    #[serde(default)]
    pub auto_delete: bool,
    /// Bindings created at start-up.
    #[serde(default)]
    pub bind_at_startup: Vec<Binding>,
    /// Bindings removed at start-up.
    #[serde(default)]
    pub unbind_at_startup: Vec<Binding>,
}

/// The AMQP connection object (original §2.4); unknown keys are an error, as in the original.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpConfig {
    /// Broker host (default `localhost`).
    #[serde(default = "default_host")]
    pub host: String,
    /// Broker port (default 5672).
    #[serde(default = "default_amqp_port", deserialize_with = "port_from_any")]
    pub port: u16,
    /// Virtual host (default `/`).
    #[serde(default = "default_vhost")]
    pub vhost: String,
    /// The exchange this client publishes to (default `amq.topic`), declared as a durable topic.
    #[serde(default = "default_exchange")]
    pub exchange: String,
    /// User name (default `guest`).
    #[serde(default = "default_guest")]
    pub username: String,
    /// Password (default `guest`); never logged.
    #[serde(default = "default_guest_secret")]
    pub password: Secret,
    /// CA certificate file (PEM); non-empty turns TLS on.
    #[serde(default)]
    pub cacert: String,
    /// Client private key (PEM), used together with `cert`.
    #[serde(default)]
    pub key: String,
    /// Client certificate (PEM), used together with `key`.
    #[serde(default)]
    pub cert: String,
    /// Unused by the original; this version sets the consumer prefetch from the workers.
    #[serde(default)]
    pub prefetch_count: Option<u16>,
    /// Client property `product`.
    #[serde(default)]
    pub product: Option<String>,
    /// Client property `information` (overwritten with the service name, as the original).
    #[serde(default)]
    pub information: Option<String>,
    /// Client property `version`.
    #[serde(default)]
    pub version: Option<String>,
    /// The queue to consume (services only).
    #[serde(default)]
    pub queue: Option<QueueConfig>,
}

pub(crate) fn default_host() -> String {
    "localhost".into()
}
pub(crate) fn default_amqp_port() -> u16 {
    5672
}
pub(crate) fn default_vhost() -> String {
    "/".into()
}
pub(crate) fn default_exchange() -> String {
    "amq.topic".into()
}
pub(crate) fn default_guest() -> String {
    "guest".into()
}
pub(crate) fn default_guest_secret() -> Secret {
    Secret::new("guest")
}

impl Default for AmqpConfig {
    fn default() -> Self {
        serde_json::from_value(Value::Object(Default::default())).unwrap_or_else(|_| AmqpConfig {
            host: default_host(),
            port: default_amqp_port(),
            vhost: default_vhost(),
            exchange: default_exchange(),
            username: default_guest(),
            password: default_guest_secret(),
            cacert: String::new(),
            key: String::new(),
            cert: String::new(),
            prefetch_count: None,
            product: None,
            information: None,
            version: None,
            queue: None,
        })
    }
}

impl AmqpConfig {
    /// True when TLS is asked for (`cacert` set).
    pub fn tls(&self) -> bool {
        !self.cacert.is_empty()
    }

    /// `host:port/vhost` for messages (no credentials).
    pub fn endpoint(&self) -> String {
        format!(
            "{}://{}:{}/{}",
            if self.tls() { "amqps" } else { "amqp" },
            self.host,
            self.port,
            self.vhost.trim_start_matches('/')
        )
    }
}

/// Accepts a port as a JSON number or a string of digits (the original's examples use both).
fn port_from_any<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| serde::de::Error::custom(format!("invalid port {v}")))
}

fn opt_port_from_any<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid port {v}"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("invalid port {v}"))),
        _ => Err(serde::de::Error::custom(format!("invalid port {v}"))),
    }
}

/// A service's `database` object: exactly the original's keys, plus the optional `secure`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Database name (default `default`).
    #[serde(default)]
    pub dbname: Option<String>,
    /// ClickHouse host; empty or absent: the embedded server.
    #[serde(default)]
    pub host: Option<String>,
    /// ClickHouse HTTP port (8123, 8443 with `secure`).
    #[serde(default, deserialize_with = "opt_port_from_any")]
    pub port: Option<u16>,
    /// User (default `default`).
    #[serde(default)]
    pub user: Option<String>,
    /// Password (default empty); never logged.
    #[serde(default)]
    pub password: Option<Secret>,
    /// HTTPS to ClickHouse (new key; default false).
    #[serde(default)]
    pub secure: bool,
}

impl DatabaseConfig {
    /// The settings `altrepodb_db::Db::connect` takes.
    pub fn settings(&self) -> DbSettings {
        let mut s = DbSettings::with_fallbacks();
        s.host = self.host.clone().filter(|h| !h.trim().is_empty());
        s.port = self.port;
        if let Some(d) = self.dbname.as_ref().filter(|d| !d.is_empty()) {
            s.dbname = d.clone();
        }
        if let Some(u) = self.user.as_ref().filter(|u| !u.is_empty()) {
            s.user = u.clone();
        }
        if let Some(p) = &self.password {
            s.password = p.expose().to_owned();
        }
        s.secure = self.secure;
        s
    }
}

/// One `services` entry of `config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServiceEntry {
    /// Service key (`repo_loader`, `task_loader`, …).
    pub name: String,
    /// File name inside the services directory.
    pub config: String,
}

/// `notifier` of `config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NotifierConfig {
    /// Where notifications are published (`exchange`; no queue).
    pub amqp: AmqpConfig,
}

/// `http` of `config.json` (new): the /health and /metrics endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address (default `127.0.0.1`).
    #[serde(default = "default_http_host")]
    pub host: String,
    /// Listen port; 0 picks a free one (logged at start-up).
    pub port: u16,
}

fn default_http_host() -> String {
    "127.0.0.1".into()
}

/// Default seconds in-flight jobs may take after SIGTERM (the original waited up to 60 s).
pub const DEFAULT_SHUTDOWN_TIMEOUT: f64 = 60.0;

/// `config.json` as read.
#[derive(Debug, Clone, Deserialize)]
pub struct DaemonFile {
    /// Services to run (mandatory).
    pub services: Vec<ServiceEntry>,
    /// The notifier (mandatory).
    pub notifier: NotifierConfig,
    /// The HTTP endpoint (optional; none: no endpoint).
    #[serde(default)]
    pub http: Option<HttpConfig>,
    /// Seconds in-flight jobs may take after SIGTERM before they are abandoned (requeued).
    #[serde(default)]
    pub shutdown_timeout: Option<f64>,
    /// Keys this version does not know (warned about).
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// The common keys of a service file (original §2.3), plus `schedule`; the rest in `extra`.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Service key from `config.json` (`repo_loader`, …).
    pub kind: String,
    /// The file it came from.
    pub path: PathBuf,
    /// Concurrent jobs (`workers_count`, default 1).
    pub workers_count: usize,
    /// `idle_loop_sleep` (validated as the original: 0.1..10; this version is event driven and
    /// uses it only as the pause between polls when it has nothing else to wait on).
    pub idle_loop_sleep: Duration,
    /// Re-publish the message to the service's exchange after a successful job.
    pub publish_on_done: bool,
    /// Requeue a message whose job failed.
    pub requeue_on_reject: bool,
    /// Reject without requeue when `x-delivery-count` exceeds this.
    pub max_redeliver_count: i64,
    /// Database of the service.
    pub database: DatabaseConfig,
    /// AMQP connection and queue.
    pub amqp: AmqpConfig,
    /// Periodic trigger (`"30m"`, `"1h30m"`, or 5-field cron, evaluated in UTC).
    pub schedule: Option<String>,
    /// Every other key, for the service itself.
    pub extra: serde_json::Map<String, Value>,
    /// Problems that the original only warned about.
    pub warnings: Vec<String>,
}

/// Keys every service file may have.
const COMMON_KEYS: &[&str] = &[
    "workers_count",
    "idle_loop_sleep",
    "publish_on_done",
    "requeue_on_reject",
    "max_redeliver_count",
    "database",
    "amqp",
    "schedule",
];

impl ServiceConfig {
    /// Parses a service file's JSON (`kind` decides the defaults that differ per service).
    pub fn from_value(kind: &str, path: &Path, value: Value) -> Result<ServiceConfig, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let Value::Object(mut map) = value else {
            return Err(invalid("expected a JSON object".into()));
        };
        let mut warnings = Vec::new();
        let database = match map.remove("database") {
            Some(v) => serde_json::from_value::<DatabaseConfig>(v)
                .map_err(|e| invalid(format!("database: {e}")))?,
            None => return Err(invalid("missing required key 'database'".into())),
        };
        let amqp = match map.remove("amqp") {
            Some(v) => serde_json::from_value::<AmqpConfig>(v)
                .map_err(|e| invalid(format!("amqp: {e}")))?,
            None => return Err(invalid("missing required key 'amqp'".into())),
        };
        let workers_count = match map.remove("workers_count") {
            None => 1,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=256).contains(n))
                .map(|n| n as usize)
                .ok_or_else(|| {
                    invalid(format!(
                        "workers_count: expected an integer 1..256, got {v}"
                    ))
                })?,
        };
        let idle_loop_sleep = match map.remove("idle_loop_sleep") {
            None => 1.0,
            Some(v) => match v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            {
                Some(x) if (0.1..=10.0).contains(&x) => x,
                Some(x) => return Err(invalid(format!("idle_loop_sleep: {x} is outside 0.1..10"))),
                None => {
                    warnings.push(format!("idle_loop_sleep: cannot parse {v}, using 1.0"));
                    1.0
                }
            },
        };
        let flag = |map: &mut serde_json::Map<String, Value>,
                    key: &str,
                    default: bool|
         -> Result<bool, ConfigError> {
            match map.remove(key) {
                None => Ok(default),
                Some(Value::Bool(b)) => Ok(b),
                Some(v) => Err(invalid(format!("{key}: expected true or false, got {v}"))),
            }
        };
        let publish_on_done = flag(&mut map, "publish_on_done", false)?;
        let requeue_on_reject = flag(&mut map, "requeue_on_reject", false)?;
        let default_redeliver = if kind == "task_loader" { 2 } else { 0 };
        let max_redeliver_count = match map.remove("max_redeliver_count") {
            None => default_redeliver,
            Some(v) => v.as_i64().ok_or_else(|| {
                invalid(format!("max_redeliver_count: expected an integer, got {v}"))
            })?,
        };
        let schedule = match map.remove("schedule") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => {
                crate::schedule::Schedule::parse(&s)
                    .map_err(|e| invalid(format!("schedule: {e}")))?;
                Some(s)
            }
            Some(v) => return Err(invalid(format!("schedule: expected a string, got {v}"))),
        };
        debug_assert!(COMMON_KEYS.iter().all(|k| !map.contains_key(*k)));
        Ok(ServiceConfig {
            kind: kind.to_owned(),
            path: path.to_owned(),
            workers_count,
            idle_loop_sleep: Duration::from_secs_f64(idle_loop_sleep),
            publish_on_done,
            requeue_on_reject,
            max_redeliver_count,
            database,
            amqp,
            schedule,
            extra: map,
            warnings,
        })
    }

    /// Reads and parses a service file.
    pub fn load(kind: &str, path: &Path) -> Result<ServiceConfig, ConfigError> {
        let value = read_json(path)?;
        ServiceConfig::from_value(kind, path, value)
    }

    /// A service-specific key as a string.
    pub fn str_key(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.extra.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.invalid(format!("{key}: expected a string, got {v}"))),
        }
    }

    /// A service-specific key as a boolean.
    pub fn bool_key(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.extra.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.invalid(format!("{key}: expected true or false, got {v}"))),
        }
    }

    /// A service-specific key as an integer within `range`.
    pub fn int_key(
        &self,
        key: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        match self.extra.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_u64().filter(|n| range.contains(n)).ok_or_else(|| {
                self.invalid(format!(
                    "{key}: expected an integer {}..{}, got {v}",
                    range.start(),
                    range.end()
                ))
            }),
        }
    }

    /// An error about this file.
    pub fn invalid(&self, reason: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            reason,
        }
    }

    /// The queue to consume, or an error naming the file.
    pub fn queue(&self) -> Result<&QueueConfig, ConfigError> {
        self.amqp.queue.as_ref().ok_or_else(|| {
            self.invalid("amqp: missing 'queue' (the queue this service consumes)".into())
        })
    }
}

/// Everything the daemon needs: `config.json` and every service file it names.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// `config.json` itself.
    pub file: DaemonFile,
    /// The service files, in `services` order.
    pub services: Vec<ServiceConfig>,
}

impl DaemonConfig {
    /// Reads `config` and the service files under `service_dir` (every one must exist).
    pub fn load(config: &Path, service_dir: &Path) -> Result<DaemonConfig, ConfigError> {
        let value = read_json(config)?;
        let file: DaemonFile = serde_json::from_value(value).map_err(|e| ConfigError::Invalid {
            path: config.to_owned(),
            reason: e.to_string(),
        })?;
        let mut services = Vec::new();
        for entry in &file.services {
            let path = service_dir.join(&entry.config);
            services.push(ServiceConfig::load(&entry.name, &path)?);
        }
        Ok(DaemonConfig { file, services })
    }

    /// `shutdown_timeout` as a duration.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs_f64(
            self.file
                .shutdown_timeout
                .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT)
                .clamp(0.0, 86_400.0),
        )
    }
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc(kind: &str, v: Value) -> Result<ServiceConfig, ConfigError> {
        ServiceConfig::from_value(kind, Path::new("x.json"), v)
    }

    #[test]
    fn service_defaults_and_extras() {
        let c = svc(
            "task_loader",
            json!({"database": {"dbname": "repodb", "host": "h", "port": "8123", "user": "u", "password": "pw"},
                   "amqp": {"queue": {"name": "q", "type": "quorum"}}, "tasks_dir": "/t"}),
        )
        .unwrap();
        assert_eq!(c.workers_count, 1);
        assert_eq!(c.max_redeliver_count, 2);
        assert!(!c.publish_on_done && !c.requeue_on_reject);
        assert_eq!(c.amqp.port, 5672);
        assert_eq!(c.amqp.exchange, "amq.topic");
        assert_eq!(c.database.settings().port, Some(8123));
        assert_eq!(c.str_key("tasks_dir").unwrap().as_deref(), Some("/t"));
        assert!(c.queue().unwrap().durable);
        assert!(!format!("{c:?}").contains("pw"));
    }

    #[test]
    fn unknown_database_and_amqp_keys_fail() {
        assert!(svc("repo_loader", json!({"database": {"db": 1}, "amqp": {}})).is_err());
        assert!(svc(
            "repo_loader",
            json!({"database": {}, "amqp": {"hots": "x"}})
        )
        .is_err());
        assert!(svc("repo_loader", json!({"amqp": {}})).is_err());
    }

    #[test]
    fn idle_loop_sleep_rules() {
        let base = |v: Value| json!({"database": {}, "amqp": {}, "idle_loop_sleep": v});
        assert!(svc("repo_loader", base(json!(20))).is_err());
        let c = svc("repo_loader", base(json!("abc"))).unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.idle_loop_sleep, Duration::from_secs(1));
        assert_eq!(
            svc("repo_loader", base(json!(0.5)))
                .unwrap()
                .idle_loop_sleep,
            Duration::from_millis(500)
        );
    }

    #[test]
    fn schedule_is_validated() {
        let base = |v: &str| json!({"database": {}, "amqp": {}, "schedule": v});
        assert!(svc("repo_loader", base("30m")).is_ok());
        assert!(svc("repo_loader", base("*/5 * * * *")).is_ok());
        assert!(svc("repo_loader", base("every tuesday")).is_err());
    }
}
