//! `acl_loader` (original §8.1, §9.3): girar's ACL change messages.
//!
//! Every routing key that starts with `routing_key_pattern` (`acl.`) is this service's. The
//! body names one ACL line: `_timestamp` (seconds since the epoch, a number or a numeric
//! string), `repo` (the branch), `target` (a package or `@group`) and `new_owners` (its
//! members, a list of strings). It becomes one `Acl` row, dated `_timestamp` in UTC.
//!
//! The row is compared as the CLI loader (`altrepodb_load::acl`) compares a line: nothing is
//! written when the latest stored list of that name and branch (`last_acl`) is the same list,
//! or when the very same row is stored already (a redelivery). A message without one of the
//! fields, or with a field of the wrong type, is rejected with the field named.

use std::collections::BTreeMap;
use std::sync::Arc;

use altrepodb_db::rows_feeds::AclRow;
use altrepodb_db::sink::Sink;
use altrepodb_db::Db;
use clickhouse::Row;
use serde::Deserialize;
use serde_json::Value;

use super::feeds::{db_error, epoch_seconds, forbid_schedule};
use crate::config::{ConfigError, ServiceConfig};
use crate::service::{BoxFuture, Handler, Job, JobContext, JobError, JobOutcome, Message, Verdict};

/// The original's default prefix.
pub const DEFAULT_PATTERN: &str = "acl.";

/// The acl_loader service.
#[derive(Debug, Clone)]
pub struct AclService {
    pattern: String,
}

impl AclService {
    /// Reads `routing_key_pattern` (`acl.`). A `schedule` is refused: the service has nothing
    /// to run on its own.
    pub fn from_config(cfg: &ServiceConfig) -> Result<AclService, ConfigError> {
        forbid_schedule(cfg)?;
        Ok(AclService {
            pattern: cfg
                .str_key("routing_key_pattern")?
                .unwrap_or_else(|| DEFAULT_PATTERN.into()),
        })
    }
}

/// The `Acl` row of a message body, or why there is none.
pub fn acl_row(body: &Value) -> Result<AclRow, String> {
    let text = |key: &str| -> Result<String, String> {
        match body.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(Value::String(_)) => Err(format!("'{key}' is empty")),
            Some(v) => Err(format!("'{key}' must be a string, got {v}")),
            None => Err(format!("message has no '{key}'")),
        }
    };
    let ts = body
        .get("_timestamp")
        .ok_or("message has no '_timestamp'")?;
    let acl_date = epoch_seconds(ts)
        .ok_or_else(|| format!("'_timestamp' {ts} is not seconds since the epoch (1970..2106)"))?;
    let acl_branch = text("repo")?;
    let acl_for = text("target")?;
    if acl_for.contains(char::is_whitespace) {
        return Err(format!("'target' {acl_for:?} contains white space"));
    }
    let acl_list = match body.get("new_owners") {
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| match v.as_str().map(str::trim) {
                Some(s) if !s.is_empty() && !s.contains(char::is_whitespace) => Ok(s.to_owned()),
                _ => Err(format!("'new_owners'[{i}] is not a member name: {v}")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(v) => return Err(format!("'new_owners' must be a list of names, got {v}")),
        None => return Err("message has no 'new_owners'".into()),
    };
    Ok(AclRow {
        acl_date,
        acl_for,
        acl_branch,
        acl_list,
    })
}

impl Handler for AclService {
    fn kind(&self) -> &str {
        "acl_loader"
    }

    fn accepts(&self, routing_key: &str) -> bool {
        routing_key.starts_with(&self.pattern)
    }

    fn check(&self, _msg: &Message, body: &Value) -> Verdict {
        match acl_row(body) {
            Ok(row) => Verdict::Run {
                key: format!("acl:{}:{}", row.acl_branch, row.acl_for),
                job: Arc::new(AclJob { row }),
            },
            Err(why) => Verdict::Reject(format!("ACL message: {why}")),
        }
    }

    fn scheduled(&self) -> Vec<(String, Value)> {
        Vec::new()
    }
}

/// Writes one ACL line unless it is stored.
#[derive(Debug, Clone)]
pub struct AclJob {
    row: AclRow,
}

#[derive(Debug, Deserialize, Row)]
struct Latest {
    acl_list: Vec<String>,
}

async fn work(db: &Db, row: AclRow) -> Result<JobOutcome, JobError> {
    let what = format!("acl {} {}", row.acl_branch, row.acl_for);
    let latest: Vec<Latest> = db
        .client()
        .query("SELECT acl_list FROM last_acl WHERE acl_branch = ? AND acl_for = ?")
        .bind(&row.acl_branch)
        .bind(&row.acl_for)
        .fetch_all()
        .await
        .map_err(|e| db_error(db.classify(&e, &format!("{what}: reading last_acl"))))?;
    let same_latest = latest.first().is_some_and(|l| l.acl_list == row.acl_list);
    let stored = same_latest
        || db
            .client()
            .query(
                "SELECT count() FROM Acl WHERE acl_date = toDateTime(?) AND acl_branch = ? \
                 AND acl_for = ? AND acl_list = ?",
            )
            .bind(row.acl_date)
            .bind(&row.acl_branch)
            .bind(&row.acl_for)
            .bind(&row.acl_list)
            .fetch_one::<u64>()
            .await
            .map_err(|e| db_error(db.classify(&e, &format!("{what}: reading Acl"))))?
            > 0;
    if stored {
        return Ok(JobOutcome {
            summary: format!("{what}: unchanged, nothing written"),
            rows: BTreeMap::new(),
            skipped: 0,
            // Not "done before": the message itself is new work that needed no row, and
            // publish_on_done re-publishes it as the original (which inserted every message).
            already_done: false,
        });
    }
    let mut sink =
        Sink::new(db, format!("acl-message:{}", row.acl_date), false).with_context(what.clone());
    sink.write(vec![row]).await.map_err(db_error)?;
    let rows = sink.finish().await.map_err(db_error)?;
    Ok(JobOutcome {
        summary: format!("{what}: 1 new row"),
        rows: rows.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        skipped: 0,
        already_done: false,
    })
}

impl Job for AclJob {
    fn describe(&self) -> String {
        format!("acl {} {}", self.row.acl_branch, self.row.acl_for)
    }

    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<JobOutcome, JobError>> {
        let row = self.row.clone();
        Box::pin(async move { work(&ctx.db, row).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn row_from_message() {
        let r = acl_row(&json!({"_timestamp": 1709296200.75, "repo": "sisyphus",
            "target": "foo", "new_owners": ["alice", "@qa"]}))
        .unwrap();
        assert_eq!(
            r,
            AclRow {
                acl_date: 1_709_296_200,
                acl_for: "foo".into(),
                acl_branch: "sisyphus".into(),
                acl_list: vec!["alice".into(), "@qa".into()],
            }
        );
        let r = acl_row(&json!({"_timestamp": "1709296200", "repo": "p10",
            "target": "@qa", "new_owners": []}))
        .unwrap();
        assert_eq!((r.acl_date, r.acl_list.len()), (1_709_296_200, 0));
    }

    #[test]
    fn bad_messages_name_the_field() {
        let base = json!({"_timestamp": 1, "repo": "p10", "target": "foo", "new_owners": ["a"]});
        for (key, bad, needle) in [
            ("_timestamp", Value::Null, "_timestamp"),
            ("_timestamp", json!(-5), "_timestamp"),
            ("repo", json!(10), "'repo' must be a string"),
            ("target", json!("a b"), "white space"),
            ("new_owners", json!("alice bob"), "list of names"),
            ("new_owners", json!(["ok", 3]), "'new_owners'[1]"),
        ] {
            let mut b = base.clone();
            b[key] = bad;
            let e = acl_row(&b).unwrap_err();
            assert!(e.contains(needle), "{key}: {e}");
        }
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove("target");
        assert_eq!(acl_row(&b).unwrap_err(), "message has no 'target'");
    }
}
