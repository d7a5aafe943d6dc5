//! `repo_loader` (original §9.3): message `{"branch": B, "date": "YYYY-MM-DD"}` on routing key
//! `repo.load` loads `repo_dirs[B]` as package set B of that date, with `threads_count`
//! threads and tag `uploaderd`, never forced.
//!
//! A snapshot that is loaded already counts as done (acknowledged, nothing written): that is
//! what a redelivery after a lost acknowledgement finds. The original rejected it and
//! notified.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use altrepodb_load::bounded::ReadLimits;
use altrepodb_load::repo::{load_repo, RepoError, RepoLoadOptions};
use altrepodb_load::NoObserver;
use serde_json::{json, Value};

use crate::config::{ConfigError, ServiceConfig};
use crate::service::{BoxFuture, Handler, Job, JobContext, JobError, JobOutcome, Message, Verdict};

/// The repo_loader service.
#[derive(Debug, Clone)]
pub struct RepoService {
    routing_key: String,
    threads: usize,
    validate_date: bool,
    repo_dirs: BTreeMap<String, PathBuf>,
}

impl RepoService {
    /// Reads `routing_key` (`repo.load`), `threads_count` (4), `validate_date` (false) and the
    /// required `repo_dirs`.
    pub fn from_config(cfg: &ServiceConfig) -> Result<RepoService, ConfigError> {
        let routing_key = cfg
            .str_key("routing_key")?
            .unwrap_or_else(|| "repo.load".into());
        let threads = cfg.int_key("threads_count", 4, 1..=256)? as usize;
        let validate_date = cfg.bool_key("validate_date", false)?;
        let repo_dirs = match cfg.extra.get("repo_dirs") {
            Some(Value::Object(m)) => {
                let mut dirs = BTreeMap::new();
                for (k, v) in m {
                    let Some(p) = v.as_str() else {
                        return Err(
                            cfg.invalid(format!("repo_dirs.{k}: expected a path string, got {v}"))
                        );
                    };
                    dirs.insert(k.clone(), PathBuf::from(p));
                }
                dirs
            }
            Some(v) => {
                return Err(cfg.invalid(format!(
                    "repo_dirs: expected an object branch → directory, got {v}"
                )))
            }
            None => return Err(cfg.invalid("missing required key 'repo_dirs'".into())),
        };
        Ok(RepoService {
            routing_key,
            threads,
            validate_date,
            repo_dirs,
        })
    }
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn valid_date(s: &str) -> bool {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    s.len() == 10 && time::Date::parse(s, &fmt).is_ok()
}

impl Handler for RepoService {
    fn kind(&self) -> &str {
        "repo_loader"
    }

    fn accepts(&self, routing_key: &str) -> bool {
        routing_key == self.routing_key
    }

    fn check(&self, _msg: &Message, body: &Value) -> Verdict {
        let (Some(branch), Some(date)) = (body.get("branch"), body.get("date")) else {
            return Verdict::Reject("message needs both 'branch' and 'date'".into());
        };
        let (Some(branch), Some(date)) = (branch.as_str(), date.as_str()) else {
            return Verdict::Reject("'branch' and 'date' must be strings".into());
        };
        let Some(path) = self.repo_dirs.get(branch) else {
            return Verdict::Reject(format!("unknown branch '{branch}' (not in repo_dirs)"));
        };
        if !valid_date(date) {
            return Verdict::Reject(format!("invalid date '{date}': expected YYYY-MM-DD"));
        }
        if self.validate_date && date != today_utc() {
            return Verdict::Reject(format!(
                "date {date} is not today ({}) and validate_date is on",
                today_utc()
            ));
        }
        Verdict::Run {
            key: format!("repo:{}:{date}", branch.to_lowercase()),
            job: Arc::new(RepoJob {
                branch: branch.to_owned(),
                date: date.to_owned(),
                path: path.clone(),
                threads: self.threads,
            }),
        }
    }

    fn scheduled(&self) -> Vec<(String, Value)> {
        let today = today_utc();
        self.repo_dirs
            .keys()
            .map(|b| {
                (
                    self.routing_key.clone(),
                    json!({"branch": b, "date": today}),
                )
            })
            .collect()
    }
}

/// One snapshot load.
#[derive(Debug, Clone)]
pub struct RepoJob {
    branch: String,
    date: String,
    path: PathBuf,
    threads: usize,
}

impl Job for RepoJob {
    fn describe(&self) -> String {
        format!("repo {} {}", self.branch, self.date)
    }

    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<JobOutcome, JobError>> {
        let job = self.clone();
        Box::pin(async move {
            if !job.path.is_dir() {
                return Err(JobError::permanent(format!(
                    "snapshot directory {} of branch '{}' does not exist",
                    job.path.display(),
                    job.branch
                )));
            }
            let opts = RepoLoadOptions {
                pkgset: job.branch.clone(),
                path: job.path.clone(),
                date: job.date.clone(),
                tag: "uploaderd".into(),
                workers: job.threads,
                force: false,
                dry_run: false,
                limits: ReadLimits::from_env().map_err(|e| JobError::permanent(e.to_string()))?,
                skip_bad: false,
            };
            match load_repo(&ctx.db, &opts, Arc::new(NoObserver)).await {
                Ok(report) => Ok(JobOutcome::from_report(&report, false)),
                Err(RepoError::AlreadyLoaded { .. }) => Ok(JobOutcome {
                    summary: format!(
                        "{} {} is loaded already",
                        job.branch.to_lowercase(),
                        job.date
                    ),
                    rows: BTreeMap::new(),
                    skipped: 0,
                    already_done: true,
                }),
                Err(RepoError::Db(e)) if e.exit_code() == altrepodb_db::error::EXIT_CONNECTION => {
                    Err(JobError::transient(e.to_string()))
                }
                Err(e) => Err(JobError::permanent(e.to_string())),
            }
        })
    }
}
