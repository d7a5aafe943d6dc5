//! `bugzilla_loader` (original §8.3, §9.3): Bugzilla's change messages.
//!
//! Every routing key that starts with `routing_key_pattern` (`bugzilla.`) is this service's.
//! After the prefix, `comment.new` carries the bug in `payload.comment.bug`, a key starting with
//! `bug.changed.` in `payload.bug`; any other key is acknowledged without work. The bug
//! becomes a `Bugzilla` row: `id`, `status.label`, `resolution`, `severity`, `priority`,
//! `product.name`, `component.name`, `version` (`all` when absent), `platform`,
//! `assigned_to.login`, `reporter.login` (the part before `@` as `bz_assignee`/`bz_reporter`,
//! the whole login as `*_full`), `summary`; `bz_last_changed` is `_meta.time` (ISO 8601, a
//! time without a zone read as UTC). Where the CSV loader agrees, the mapping is the same
//! (the resolution `---` is stored empty).
//!
//! The row is written only when it differs from the bug's latest stored row, compared like
//! with like: a stored row without `*_full` (the CSV loader's) is compared on the CSV's
//! columns only. A message older than the stored state (`bz_last_changed` before the stored
//! one) is acknowledged without a row. A bug message missing a field is rejected with the
//! field named.

use std::collections::BTreeMap;
use std::sync::Arc;

use altrepodb_db::rows_feeds::BugzillaRow;
use altrepodb_db::sink::Sink;
use altrepodb_db::Db;
use serde_json::Value;
use time::format_description::well_known::Iso8601;

use super::feeds::{db_error, forbid_schedule};
use crate::config::{ConfigError, ServiceConfig};
use crate::service::{BoxFuture, Handler, Job, JobContext, JobError, JobOutcome, Message, Verdict};

/// The original's default prefix.
pub const DEFAULT_PATTERN: &str = "bugzilla.";

/// The bugzilla_loader service.
#[derive(Debug, Clone)]
pub struct BugzillaService {
    pattern: String,
}

impl BugzillaService {
    /// Reads `routing_key_pattern` (`bugzilla.`). A `schedule` is refused: the service has
    /// nothing to run on its own (`altrepodb bugzilla load` reads the whole list).
    pub fn from_config(cfg: &ServiceConfig) -> Result<BugzillaService, ConfigError> {
        forbid_schedule(cfg)?;
        Ok(BugzillaService {
            pattern: cfg
                .str_key("routing_key_pattern")?
                .unwrap_or_else(|| DEFAULT_PATTERN.into()),
        })
    }
}

/// Seconds since the epoch of an ISO 8601 time; one without a zone is UTC, fractions are cut
/// off. `None` when malformed or outside 1970..2106.
pub fn iso_utc(s: &str) -> Option<u32> {
    let mut s = s.trim().to_owned();
    // Python's fromisoformat, which the original used, also takes a space before the time.
    if s.len() > 10 && s.as_bytes()[10] == b' ' {
        s.replace_range(10..11, "T");
    }
    let t = time::OffsetDateTime::parse(&s, &Iso8601::DEFAULT)
        .map(|t| t.unix_timestamp())
        .or_else(|_| {
            time::PrimitiveDateTime::parse(&s, &Iso8601::DEFAULT)
                .map(|t| t.assume_utc().unix_timestamp())
        })
        .ok()?;
    u32::try_from(t).ok()
}

/// A string at `path` (`["status", "label"]`) of `v`, or the path that is missing.
fn text(v: &Value, path: &[&str]) -> Result<String, String> {
    let mut cur = v;
    for k in path {
        cur = cur
            .get(*k)
            .ok_or_else(|| format!("bug has no '{}'", path.join(".")))?;
    }
    match cur {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!(
            "bug '{}' must be a string, got {other}",
            path.join(".")
        )),
    }
}

/// The `Bugzilla` row of a message's bug, changed at `last_changed`.
pub fn bug_row(bug: &Value, last_changed: u32) -> Result<BugzillaRow, String> {
    let bz_id = match bug.get("id") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        None => return Err("bug has no 'id'".into()),
        _ => None,
    }
    .and_then(|n| u32::try_from(n).ok())
    .ok_or_else(|| format!("bug 'id' {} is not a bug number", bug["id"]))?;
    let assignee = text(bug, &["assigned_to", "login"])?;
    let reporter = text(bug, &["reporter", "login"])?;
    let nick = |login: &str| login.split('@').next().unwrap_or("").to_owned();
    // An open bug has no resolution: JSON null or empty; the CSV's `---` means the same.
    let resolution = match bug.get("resolution") {
        Some(Value::Null) => String::new(),
        _ => text(bug, &["resolution"])?,
    };
    let version = match bug.get("version") {
        None | Some(Value::Null) => "all".to_owned(),
        _ => text(bug, &["version"])?,
    };
    Ok(BugzillaRow {
        bz_id,
        bz_status: text(bug, &["status", "label"])?,
        bz_resolution: if resolution == "---" {
            String::new()
        } else {
            resolution
        },
        bz_severity: text(bug, &["severity"])?,
        bz_priority: text(bug, &["priority"])?,
        bz_product: text(bug, &["product", "name"])?,
        bz_version: version,
        bz_platform: text(bug, &["platform"])?,
        bz_component: text(bug, &["component", "name"])?,
        bz_assignee: nick(&assignee),
        bz_reporter: nick(&reporter),
        bz_summary: text(bug, &["summary"])?,
        bz_last_changed: last_changed,
        bz_assignee_full: assignee,
        bz_reporter_full: reporter,
    })
}

/// What a message asks for: a bug row, nothing, or why it is malformed.
pub fn message_row(subkey: &str, body: &Value) -> Result<Option<BugzillaRow>, String> {
    let path: &[&str] = if subkey == "comment.new" {
        &["payload", "comment", "bug"]
    } else if subkey.starts_with("bug.changed.") {
        &["payload", "bug"]
    } else {
        return Ok(None);
    };
    let time = match body.get("_meta").and_then(|m| m.get("time")) {
        Some(Value::String(s)) => {
            iso_utc(s).ok_or_else(|| format!("'_meta.time' {s:?} is not an ISO 8601 time"))?
        }
        Some(v) => return Err(format!("'_meta.time' must be a string, got {v}")),
        None => return Err("message has no '_meta.time'".into()),
    };
    let mut bug = body;
    for k in path {
        bug = bug
            .get(*k)
            .ok_or_else(|| format!("message has no '{}'", path.join(".")))?;
    }
    if !bug.is_object() {
        return Err(format!("'{}' is not an object", path.join(".")));
    }
    bug_row(bug, time).map(Some)
}

impl Handler for BugzillaService {
    fn kind(&self) -> &str {
        "bugzilla_loader"
    }

    fn accepts(&self, routing_key: &str) -> bool {
        routing_key.starts_with(&self.pattern)
    }

    fn check(&self, msg: &Message, body: &Value) -> Verdict {
        let subkey = msg
            .routing_key
            .strip_prefix(&self.pattern)
            .unwrap_or(&msg.routing_key);
        match message_row(subkey, body) {
            Ok(Some(row)) => Verdict::Run {
                key: format!("bugzilla:{}", row.bz_id),
                job: Arc::new(BugJob { row }),
            },
            Ok(None) => Verdict::Ack(format!(
                "nothing to do for routing key '{}'",
                msg.routing_key
            )),
            Err(why) => Verdict::Reject(format!("Bugzilla message: {why}")),
        }
    }

    fn scheduled(&self) -> Vec<(String, Value)> {
        Vec::new()
    }
}

/// The fields the CSV loader writes (`*_full` left empty).
fn csv_view(r: &BugzillaRow) -> BugzillaRow {
    BugzillaRow {
        bz_assignee_full: String::new(),
        bz_reporter_full: String::new(),
        ..r.clone()
    }
}

/// Whether `new` says nothing `stored` does not: compared on the columns both carry.
pub fn same_state(stored: &BugzillaRow, new: &BugzillaRow) -> bool {
    if stored.bz_assignee_full.is_empty() && stored.bz_reporter_full.is_empty() {
        csv_view(stored) == csv_view(new)
    } else {
        stored == new
    }
}

/// Writes one bug state unless it is stored.
#[derive(Debug, Clone)]
pub struct BugJob {
    row: BugzillaRow,
}

async fn work(db: &Db, row: BugzillaRow) -> Result<JobOutcome, JobError> {
    let what = format!("bug {}", row.bz_id);
    let latest: Option<BugzillaRow> = db
        .client()
        .query("SELECT ?fields FROM Bugzilla WHERE bz_id = ? ORDER BY ts DESC LIMIT 1")
        .bind(row.bz_id)
        .fetch_optional()
        .await
        .map_err(|e| db_error(db.classify(&e, &format!("{what}: reading Bugzilla"))))?;
    let nothing = |why: &str| JobOutcome {
        summary: format!("{what}: {why}, nothing written"),
        rows: BTreeMap::new(),
        skipped: 0,
        // Not "done before": the message needed no row, and publish_on_done re-publishes
        // it as the original did for every message.
        already_done: false,
    };
    if let Some(s) = &latest {
        if s.bz_last_changed > row.bz_last_changed {
            return Ok(nothing("older than the stored state"));
        }
        if same_state(s, &row) {
            return Ok(nothing("unchanged"));
        }
    }
    let mut sink = Sink::new(
        db,
        format!("bugzilla-message:{}:{}", row.bz_id, row.bz_last_changed),
        false,
    )
    .with_context(what.clone());
    sink.write(vec![row]).await.map_err(db_error)?;
    let rows = sink.finish().await.map_err(db_error)?;
    Ok(JobOutcome {
        summary: format!("{what}: 1 new row"),
        rows: rows.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        skipped: 0,
        already_done: false,
    })
}

impl Job for BugJob {
    fn describe(&self) -> String {
        format!("bug {}", self.row.bz_id)
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

    fn bug() -> Value {
        json!({"id": 40001, "status": {"label": "NEW"}, "resolution": "",
               "severity": "normal", "priority": "P3", "product": {"name": "Sisyphus"},
               "component": {"name": "foo"}, "version": "unstable", "platform": "x86_64",
               "assigned_to": {"login": "alice@altlinux.org"},
               "reporter": {"login": "bob@example.org"}, "summary": "crash"})
    }

    #[test]
    fn iso_times_are_utc() {
        assert_eq!(iso_utc("2024-03-01T10:20:30"), Some(1_709_288_430));
        assert_eq!(iso_utc("2024-03-01 10:20:30"), Some(1_709_288_430));
        assert_eq!(iso_utc("2024-03-01T10:20:30.123456"), Some(1_709_288_430));
        assert_eq!(iso_utc("2024-03-01T10:20:30Z"), Some(1_709_288_430));
        assert_eq!(iso_utc("2024-03-01T13:20:30+03:00"), Some(1_709_288_430));
        assert_eq!(iso_utc("yesterday"), None);
        assert_eq!(iso_utc("1960-01-01T00:00:00"), None);
    }

    #[test]
    fn keys_and_fields() {
        let body = json!({"_meta": {"time": "2024-03-01T10:20:30"}, "payload": {"bug": bug()}});
        let r = message_row("bug.changed.status", &body).unwrap().unwrap();
        assert_eq!(
            r,
            BugzillaRow {
                bz_id: 40001,
                bz_status: "NEW".into(),
                bz_resolution: String::new(),
                bz_severity: "normal".into(),
                bz_priority: "P3".into(),
                bz_product: "Sisyphus".into(),
                bz_version: "unstable".into(),
                bz_platform: "x86_64".into(),
                bz_component: "foo".into(),
                bz_assignee: "alice".into(),
                bz_reporter: "bob".into(),
                bz_summary: "crash".into(),
                bz_last_changed: 1_709_288_430,
                bz_assignee_full: "alice@altlinux.org".into(),
                bz_reporter_full: "bob@example.org".into(),
            }
        );
        let mut b = bug();
        b.as_object_mut().unwrap().remove("version");
        b["resolution"] = json!("---");
        let body = json!({"_meta": {"time": "2024-03-01T10:20:30Z"},
                          "payload": {"comment": {"bug": b}}});
        let r = message_row("comment.new", &body).unwrap().unwrap();
        assert_eq!(
            (r.bz_version.as_str(), r.bz_resolution.as_str()),
            ("all", "")
        );
        assert_eq!(message_row("bug.create", &json!({})).unwrap(), None);
        assert_eq!(message_row("comment.changed", &json!(1)).unwrap(), None);
    }

    #[test]
    fn malformed_messages_name_the_field() {
        let ok = json!({"_meta": {"time": "2024-03-01T10:20:30"}, "payload": {"bug": bug()}});
        let e = message_row("comment.new", &ok).unwrap_err();
        assert!(e.contains("payload.comment.bug"), "{e}");
        let mut b = ok.clone();
        b["_meta"]["time"] = json!("soon");
        assert!(message_row("bug.changed.x", &b)
            .unwrap_err()
            .contains("_meta.time"));
        for (path, bad, needle) in [
            ("status", json!("NEW"), "status.label"),
            ("id", json!("x"), "'id'"),
            ("summary", json!(5), "'summary' must be a string"),
        ] {
            let mut b = ok.clone();
            b["payload"]["bug"][path] = bad;
            let e = message_row("bug.changed.x", &b).unwrap_err();
            assert!(e.contains(needle), "{path}: {e}");
        }
        let mut b = ok.clone();
        b["payload"]["bug"]
            .as_object_mut()
            .unwrap()
            .remove("assigned_to");
        assert_eq!(
            message_row("bug.changed.x", &b).unwrap_err(),
            "bug has no 'assigned_to.login'"
        );
    }

    #[test]
    fn like_with_like() {
        let msg = bug_row(&bug(), 100).unwrap();
        let from_csv = csv_view(&msg);
        assert!(same_state(&from_csv, &msg));
        assert!(same_state(&msg, &msg));
        let mut moved = msg.clone();
        moved.bz_assignee_full = "alice@example.org".into();
        assert!(!same_state(&msg, &moved));
        let mut later = msg.clone();
        later.bz_last_changed = 101;
        assert!(!same_state(&from_csv, &later));
    }
}
