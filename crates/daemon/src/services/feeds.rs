//! `beehive_loader`, `repocop_loader`, `watch_loader` (original §9.3): a message on the
//! service's `routing_key` (`beehive.load`, `repocop.load`, `watch.load`; the body is any JSON
//! and is not read) or a tick of its `schedule` runs the same load as the CLI loader, with the
//! service's `base_url`/`url`, `timeout` (30 s) and, for Beehive, `branches` and `archs`.
//!
//! A load writes only what is new (a Beehive branch and arch whose date is stored, a Repocop or
//! watch file not newer than the stored date are left alone), so a redelivered trigger or a
//! schedule tick right after a trigger writes nothing. Runs of one service never overlap: every
//! job has the same key (`beehive`, `repocop`, `watch`).
//!
//! Also the pieces the feed services share: the `timeout` key, message times, database errors.

use std::sync::Arc;
use std::time::Duration;

use altrepodb_db::DbError;
use altrepodb_load::beehive::{self, load_beehive, BeehiveError, BeehiveOptions};
use altrepodb_load::feed::FeedOptions;
use altrepodb_load::repocop::{self, load_repocop, RepocopError};
use altrepodb_load::watch::{self, load_watch, WatchError};
use serde_json::{json, Value};

use crate::config::{ConfigError, ServiceConfig};
use crate::service::{BoxFuture, Handler, Job, JobContext, JobError, JobOutcome, Message, Verdict};

/// The original's per-request timeout of the feed services, seconds.
pub const DEFAULT_TIMEOUT: f64 = 30.0;

/// A database error as a job error: transient when the database did not answer.
pub fn db_error(e: DbError) -> JobError {
    if e.exit_code() == altrepodb_db::error::EXIT_CONNECTION {
        JobError::transient(e.to_string())
    } else {
        JobError::permanent(e.to_string())
    }
}

/// Seconds since the epoch of a message time (a JSON number or numeric string, fractions cut
/// off); `None` when it is not one or lies outside the `DateTime` range (1970..2106).
pub fn epoch_seconds(v: &Value) -> Option<u32> {
    let t = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (t.is_finite() && t >= 0.0 && t < f64::from(u32::MAX) + 1.0).then(|| t.floor() as u32)
}

/// Refuses a `schedule` on a service that has no work of its own.
pub fn forbid_schedule(cfg: &ServiceConfig) -> Result<(), ConfigError> {
    match &cfg.schedule {
        Some(_) => Err(cfg.invalid(format!(
            "schedule: {} runs only on messages; it has nothing to run on a schedule",
            cfg.kind
        ))),
        None => Ok(()),
    }
}

/// `timeout`: seconds (a positive number up to a day), default 30.
pub fn timeout_key(cfg: &ServiceConfig) -> Result<Duration, ConfigError> {
    match cfg.extra.get("timeout") {
        None | Some(Value::Null) => Ok(Duration::from_secs_f64(DEFAULT_TIMEOUT)),
        Some(v) => match v.as_f64() {
            Some(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
            _ => Err(cfg.invalid(format!(
                "timeout: expected seconds (a number above 0, at most 86400), got {v}"
            ))),
        },
    }
}

fn list_key(cfg: &ServiceConfig, key: &str, default: &[&str]) -> Result<Vec<String>, ConfigError> {
    match cfg.extra.get(key) {
        None | Some(Value::Null) => Ok(default.iter().map(|s| (*s).to_owned()).collect()),
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| match v.as_str() {
                Some(s) if !s.trim().is_empty() && !s.contains('/') => Ok(s.trim().to_owned()),
                _ => Err(cfg.invalid(format!("{key}: expected names without '/', got {v}"))),
            })
            .collect(),
        Some(v) => Err(cfg.invalid(format!(
            "{key}: expected a non-empty list of names, got {v}"
        ))),
    }
}

/// Which load a trigger runs, with its options.
#[derive(Debug, Clone)]
pub enum FeedLoad {
    /// Beehive rebuild results.
    Beehive(BeehiveOptions),
    /// Repocop test results.
    Repocop(FeedOptions),
    /// Newer upstream versions.
    Watch(FeedOptions),
}

impl FeedLoad {
    fn name(&self) -> &'static str {
        match self {
            FeedLoad::Beehive(_) => "beehive",
            FeedLoad::Repocop(_) => "repocop",
            FeedLoad::Watch(_) => "watch",
        }
    }

    fn url(&self) -> &str {
        match self {
            FeedLoad::Beehive(o) => &o.url,
            FeedLoad::Repocop(o) | FeedLoad::Watch(o) => &o.url,
        }
    }
}

/// `beehive_loader`, `repocop_loader` or `watch_loader`.
#[derive(Debug, Clone)]
pub struct FeedService {
    kind: &'static str,
    routing_key: String,
    load: FeedLoad,
}

impl FeedService {
    fn new(cfg: &ServiceConfig, kind: &'static str, load: FeedLoad) -> Result<Self, ConfigError> {
        let routing_key = cfg
            .str_key("routing_key")?
            .unwrap_or_else(|| format!("{}.load", load.name()));
        Ok(FeedService {
            kind,
            routing_key,
            load,
        })
    }

    /// `beehive_loader`: `routing_key` (`beehive.load`), `base_url`, `branches`, `archs`
    /// (the original's defaults), `timeout` (30).
    pub fn beehive(cfg: &ServiceConfig) -> Result<FeedService, ConfigError> {
        let opts = BeehiveOptions {
            url: cfg
                .str_key("base_url")?
                .unwrap_or_else(|| beehive::DEFAULT_URL.into()),
            branches: list_key(cfg, "branches", beehive::DEFAULT_BRANCHES)?,
            arches: list_key(cfg, "archs", beehive::DEFAULT_ARCHES)?,
            timeout: timeout_key(cfg)?,
        };
        FeedService::new(cfg, "beehive_loader", FeedLoad::Beehive(opts))
    }

    /// `repocop_loader`: `routing_key` (`repocop.load`), `url`, `timeout` (30).
    pub fn repocop(cfg: &ServiceConfig) -> Result<FeedService, ConfigError> {
        let opts = FeedOptions {
            url: cfg
                .str_key("url")?
                .unwrap_or_else(|| repocop::DEFAULT_URL.into()),
            timeout: timeout_key(cfg)?,
        };
        FeedService::new(cfg, "repocop_loader", FeedLoad::Repocop(opts))
    }

    /// `watch_loader`: `routing_key` (`watch.load`), `url`, `timeout` (30).
    pub fn watch(cfg: &ServiceConfig) -> Result<FeedService, ConfigError> {
        let opts = FeedOptions {
            url: cfg
                .str_key("url")?
                .unwrap_or_else(|| watch::DEFAULT_URL.into()),
            timeout: timeout_key(cfg)?,
        };
        FeedService::new(cfg, "watch_loader", FeedLoad::Watch(opts))
    }
}

impl Handler for FeedService {
    fn kind(&self) -> &str {
        self.kind
    }

    fn accepts(&self, routing_key: &str) -> bool {
        routing_key == self.routing_key
    }

    fn check(&self, _msg: &Message, _body: &Value) -> Verdict {
        Verdict::Run {
            key: self.load.name().to_owned(),
            job: Arc::new(FeedJob {
                load: self.load.clone(),
            }),
        }
    }

    fn scheduled(&self) -> Vec<(String, Value)> {
        vec![(self.routing_key.clone(), json!({}))]
    }
}

/// One run of a feed load.
#[derive(Debug, Clone)]
pub struct FeedJob {
    load: FeedLoad,
}

/// A load's error: transient when it is the database's, with the load's one line.
fn load_error(db: Option<&DbError>, message: String) -> JobError {
    match db {
        Some(e) if e.exit_code() == altrepodb_db::error::EXIT_CONNECTION => {
            JobError::transient(message)
        }
        _ => JobError::permanent(message),
    }
}

impl Job for FeedJob {
    fn describe(&self) -> String {
        format!("{} {}", self.load.name(), self.load.url())
    }

    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<JobOutcome, JobError>> {
        let load = self.load.clone();
        Box::pin(async move {
            let db = &ctx.db;
            let report = match &load {
                FeedLoad::Beehive(o) => load_beehive(db, o).await.map_err(|e| match &e {
                    BeehiveError::Db(d) => load_error(Some(d), e.to_string()),
                    _ => load_error(None, e.to_string()),
                })?,
                FeedLoad::Repocop(o) => load_repocop(db, o).await.map_err(|e| match &e {
                    RepocopError::Db(d) => load_error(Some(d), e.to_string()),
                    _ => load_error(None, e.to_string()),
                })?,
                FeedLoad::Watch(o) => load_watch(db, o).await.map_err(|e| match &e {
                    WatchError::Db(d) => load_error(Some(d), e.to_string()),
                    _ => load_error(None, e.to_string()),
                })?,
            };
            for s in &report.skipped {
                tracing::warn!(service = %ctx.service, input = %s.location, reason = %s.reason, "input skipped");
            }
            // Loads write only what is new: a run that found nothing new is still a done job
            // (publish_on_done re-publishes its trigger, as the original did).
            Ok(JobOutcome::from_report(&report, false))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(kind: &str, extra: Value) -> Result<ServiceConfig, ConfigError> {
        let mut v = json!({"database": {}, "amqp": {}});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        ServiceConfig::from_value(kind, Path::new("s.json"), v)
    }

    #[test]
    fn defaults_are_the_originals() {
        let s = FeedService::beehive(&cfg("beehive_loader", json!({})).unwrap()).unwrap();
        assert!(s.accepts("beehive.load") && !s.accepts("beehive.other"));
        let FeedLoad::Beehive(o) = &s.load else {
            panic!()
        };
        assert_eq!(o.url, "https://git.altlinux.org/beehive");
        assert_eq!(o.branches, ["Sisyphus", "p10", "p9"]);
        assert_eq!(o.arches, ["i586", "x86_64"]);
        assert_eq!(o.timeout, Duration::from_secs(30));
        let s = FeedService::watch(&cfg("watch_loader", json!({"timeout": 2.5})).unwrap()).unwrap();
        assert_eq!(s.scheduled(), vec![("watch.load".to_owned(), json!({}))]);
        let FeedLoad::Watch(o) = &s.load else {
            panic!()
        };
        assert_eq!(o.timeout, Duration::from_millis(2500));
        let s = FeedService::repocop(
            &cfg(
                "repocop_loader",
                json!({"routing_key": "rc.go", "url": "http://x/y"}),
            )
            .unwrap(),
        )
        .unwrap();
        assert!(s.accepts("rc.go") && !s.accepts("repocop.load"));
    }

    #[test]
    fn bad_keys_are_named() {
        for (extra, needle) in [
            (json!({"timeout": 0}), "timeout"),
            (json!({"timeout": "30"}), "timeout"),
            (json!({"archs": "x86_64"}), "archs"),
            (json!({"branches": ["p10", 5]}), "branches"),
            (json!({"base_url": 5}), "base_url"),
        ] {
            let e = FeedService::beehive(&cfg("beehive_loader", extra).unwrap())
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn message_times() {
        assert_eq!(epoch_seconds(&json!(1709296200.9)), Some(1_709_296_200));
        assert_eq!(epoch_seconds(&json!(" 12 ")), Some(12));
        assert_eq!(epoch_seconds(&json!(-1)), None);
        assert_eq!(epoch_seconds(&json!(5_000_000_000u64)), None);
        assert_eq!(epoch_seconds(&json!("soon")), None);
        assert_eq!(epoch_seconds(&json!(null)), None);
    }
}
