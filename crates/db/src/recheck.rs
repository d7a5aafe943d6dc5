//! Insert-if-absent for a batch whose INSERT may or may not have been committed.
//!
//! A network error or timeout after the request was sent is ambiguous: the server may have
//! committed the rows before the answer was lost. Buffer tables and the `Null` entry points
//! (`Files_insert`, `Specfiles_insert`) cannot deduplicate a resent batch, so before a retry
//! the inserter asks the engine which rows of the batch are stored and resends only the
//! others. Each insert target reached that way has a [`Spec`]: the row fields that identify
//! a row, and the query that reads them back from where the rows end up.
//!
//! The tables that publish a load (`PackageSetName`, `TaskStates`) have specs too: they fire
//! materialized views, and the engine pushes a resent block through the views again even
//! when it drops it from the table.
//!
//! Targets without a spec are direct MergeTree tables; those deduplicate a resent batch by
//! its `insert_deduplication_token` when their `non_replicated_deduplication_window` is set
//! (schema file `0012_insert_dedup.sql`) or when they are `Replicated*`, and no materialized
//! view reads them, which [`table_deduplicates`] checks.

use std::collections::HashSet;

use clickhouse::Client;
use serde::Serialize;
use serde_json::Value;

/// How one key field is passed to the engine.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A number; the parameter is an array of this ClickHouse type.
    Num(&'static str),
    /// Text (also LowCardinality).
    Str,
    /// A UUID (serialised as text).
    Uuid,
    /// Raw bytes (a FixedString), compared as lower-case hex.
    Hex,
    /// An `Array(UInt64)`.
    U64s,
}

impl Kind {
    fn param_type(self) -> String {
        match self {
            Kind::Num(t) => format!("Array({t})"),
            Kind::Str | Kind::Hex => "Array(String)".into(),
            Kind::Uuid => "Array(UUID)".into(),
            Kind::U64s => "Array(Array(UInt64))".into(),
        }
    }
}

/// One field of the row that is part of its identity.
#[derive(Debug, Clone, Copy)]
struct Key {
    /// The serialised field name (= column of the insert target).
    field: &'static str,
    kind: Kind,
    /// How the batch's value is compared with the stored column: `$` is the value.
    ours: &'static str,
}

const fn key(field: &'static str, kind: Kind) -> Key {
    Key {
        field,
        kind,
        ours: "$",
    }
}

const fn key_as(field: &'static str, kind: Kind, ours: &'static str) -> Key {
    Key { field, kind, ours }
}

/// How to find the rows of one insert target again.
#[derive(Debug)]
pub struct Spec {
    /// The insert target.
    pub table: &'static str,
    keys: &'static [Key],
    /// The stored key tuples, in `keys` order; may narrow with the parameters `{kN:…}`.
    stored: &'static str,
}

const U64: Kind = Kind::Num("UInt64");
const U32: Kind = Kind::Num("UInt32");

/// Every insert target that cannot deduplicate a resent batch, or not without side effects.
static SPECS: &[Spec] = &[
    Spec {
        table: "Packages_buffer",
        keys: &[key("pkg_hash", U64)],
        stored: "SELECT pkg_hash FROM Packages_buffer WHERE pkg_hash IN {k0:Array(UInt64)}",
    },
    Spec {
        table: "PackageHash_buffer",
        keys: &[key("pkgh_mmh", U64), key("pkgh_md5", Kind::Hex)],
        stored: "SELECT pkgh_mmh, lower(hex(pkgh_md5)) FROM PackageHash_buffer \
                 WHERE pkgh_mmh IN {k0:Array(UInt64)}",
    },
    Spec {
        table: "Files_insert",
        keys: &[
            key("pkg_hash", U64),
            key_as("file_name", Kind::Str, "murmurHash3_64($)"),
        ],
        stored: "SELECT pkg_hash, file_hashname FROM Files_buffer WHERE pkg_hash IN {k0:Array(UInt64)}",
    },
    Spec {
        table: "Changelog_buffer",
        keys: &[key("chlog_hash", U64)],
        stored: "SELECT chlog_hash FROM Changelog_buffer WHERE chlog_hash IN {k0:Array(UInt64)}",
    },
    Spec {
        table: "Depends_buffer",
        keys: &[
            key("pkg_hash", U64),
            key("dp_name", Kind::Str),
            key("dp_version", Kind::Str),
            key("dp_flag", U32),
            key("dp_type", Kind::Num("Int8")),
        ],
        stored: "SELECT pkg_hash, dp_name, dp_version, dp_flag, toInt8(dp_type) FROM Depends_buffer \
                 WHERE pkg_hash IN {k0:Array(UInt64)}",
    },
    Spec {
        table: "Specfiles_insert",
        keys: &[key("pkg_hash", U64)],
        stored: "SELECT pkg_hash FROM Specfiles_buffer WHERE pkg_hash IN {k0:Array(UInt64)}",
    },
    Spec {
        table: "PackageSet_buffer",
        keys: &[key("pkgset_uuid", Kind::Uuid), key("pkg_hash", U64)],
        stored: "SELECT pkgset_uuid, pkg_hash FROM PackageSet_buffer \
                 WHERE pkgset_uuid IN {k0:Array(UUID)} AND pkg_hash IN {k1:Array(UInt64)}",
    },
    Spec {
        table: "Tasks_buffer",
        keys: &[
            key("task_id", U32),
            key("subtask_id", U32),
            key("task_changed", U32),
            key("subtask_changed", U32),
            key("subtask_deleted", Kind::Num("UInt8")),
        ],
        stored: "SELECT task_id, subtask_id, toUInt32(task_changed), toUInt32(subtask_changed), subtask_deleted \
                 FROM Tasks_buffer WHERE task_id IN {k0:Array(UInt32)}",
    },
    Spec {
        table: "TaskIterations_buffer",
        keys: &[
            key("task_id", U32),
            key("subtask_id", U32),
            key("subtask_arch", Kind::Str),
            key("task_changed", U32),
            key("titer_ts", U32),
            key("titer_status", Kind::Str),
            key("task_try", Kind::Num("UInt16")),
            key("task_iter", Kind::Num("UInt8")),
        ],
        stored: "SELECT task_id, subtask_id, toString(subtask_arch), toUInt32(task_changed), toUInt32(titer_ts), \
                 toString(titer_status), task_try, task_iter FROM TaskIterations_buffer \
                 WHERE task_id IN {k0:Array(UInt32)}",
    },
    Spec {
        table: "TaskChroots_buffer",
        keys: &[key_as("tch_chroot", Kind::U64s, "murmurHash3_64($)")],
        stored: "SELECT tch_hash FROM TaskChroots_buffer \
                 WHERE tch_hash IN (SELECT murmurHash3_64(arrayJoin({k0:Array(Array(UInt64))})))",
    },
    Spec {
        // Every column: a rewritten log line differs from the stored one only in its time.
        table: "TaskLogs_buffer",
        keys: &[
            key("tlog_hash", U64),
            key("tlog_line", U32),
            key("tlog_ts", U32),
            key("tlog_message", Kind::Str),
        ],
        stored: "SELECT tlog_hash, tlog_line, toUInt32(tlog_ts), tlog_message FROM TaskLogs_buffer \
                 WHERE tlog_hash IN {k0:Array(UInt64)}",
    },
    Spec {
        table: "TaskStates_buffer",
        keys: TASK_STATE_KEYS,
        stored: TASK_STATE_STORED,
    },
    // Tables with materialized views: the engine would drop a resent block but still push it
    // through the views again (ClickHouse 26.9 does; older releases differ), so these are
    // re-checked rather than resent to be deduplicated.
    Spec {
        table: "TaskStates",
        keys: TASK_STATE_KEYS,
        stored: TASK_STATE_PUBLISHED,
    },
    Spec {
        table: "PackageSetName",
        keys: &[key("pkgset_uuid", Kind::Uuid)],
        stored: "SELECT pkgset_uuid FROM PackageSetName WHERE pkgset_uuid IN {k0:Array(UUID)}",
    },
];

const TASK_STATE_KEYS: &[Key] = &[
    key("task_changed", U32),
    key("task_id", U32),
    key("task_state", Kind::Str),
    key("task_try", Kind::Num("UInt16")),
    key("task_message", Kind::Str),
];

const TASK_STATE_STORED: &str =
    "SELECT toUInt32(task_changed), task_id, toString(task_state), task_try, task_message \
     FROM TaskStates_buffer WHERE task_id IN {k1:Array(UInt32)}";

/// A `TaskStates` row counts as stored when the row is there and, for a DONE state, what
/// `mv_package_history` makes of it too (a DONE row always gives at least one
/// `BranchPackageHistory` row). The row alone is not enough: an insert that failed after the
/// table took the row but before the view wrote its rows (the view's query failed, or the
/// server stopped in between) would otherwise never be resent, and the task's history would
/// stay missing although the load reports it complete. Resending such a row makes the view
/// run again; `TaskStates` and `BranchPackageHistory` are ReplacingMergeTrees, so a row the
/// first attempt did write is replaced.
const TASK_STATE_PUBLISHED: &str =
    "SELECT toUInt32(task_changed), task_id, toString(task_state), task_try, task_message \
     FROM TaskStates WHERE task_id IN {k1:Array(UInt32)} \
     AND (task_state != 'DONE' OR (task_id, task_changed) IN \
     (SELECT task_id, task_changed FROM BranchPackageHistory WHERE task_id IN {k1:Array(UInt32)}))";

/// The spec of `table`, if it is an insert target that cannot deduplicate.
pub fn spec(table: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.table == table)
}

/// The insert targets with a spec.
pub fn tables() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|s| s.table)
}

/// Rendered key bytes per lookup query: well under a real server's 128 KiB limit on one
/// HTTP form field.
const MAX_PARAM_BYTES: usize = 64 * 1024;

/// Why a re-check could not be done.
#[derive(Debug, thiserror::Error)]
pub enum RecheckError {
    /// A row lacks a key field or has an unexpected value there (a spec out of date).
    #[error("re-check of {table}: row field '{field}' {why}")]
    Spec {
        /// Insert target.
        table: &'static str,
        /// Field name.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The lookup query failed.
    #[error(transparent)]
    Query(#[from] clickhouse::error::Error),
}

/// The key values of one row, one JSON value per key field.
fn row_keys<T: Serialize>(spec: &Spec, row: &T) -> Result<Vec<Value>, RecheckError> {
    let bad = |field, why: &str| RecheckError::Spec {
        table: spec.table,
        field,
        why: why.to_owned(),
    };
    let Value::Object(mut map) =
        serde_json::to_value(row).map_err(|e| bad("", &format!("does not serialise: {e}")))?
    else {
        return Err(bad("", "row is not a struct"));
    };
    spec.keys
        .iter()
        .map(|k| {
            let v = map
                .remove(k.field)
                .ok_or_else(|| bad(k.field, "is missing"))?;
            match (k.kind, v) {
                (Kind::Num(_), v @ Value::Number(_)) => Ok(v),
                (Kind::Str | Kind::Uuid, v @ Value::String(_)) => Ok(v),
                (Kind::U64s, v @ Value::Array(_)) => Ok(v),
                (Kind::Hex, Value::Array(bytes)) => {
                    let raw: Option<Vec<u8>> = bytes
                        .iter()
                        .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                        .collect();
                    raw.map(|r| Value::String(hex::encode(r)))
                        .ok_or_else(|| bad(k.field, "is not a byte array"))
                }
                (kind, v) => Err(bad(
                    k.field,
                    &format!("has {v} where {kind:?} was expected"),
                )),
            }
        })
        .collect()
}

/// Indexes of the rows of `rows` that `spec`'s table already holds.
pub async fn stored_rows<T: Serialize>(
    client: &Client,
    spec: &Spec,
    rows: &[T],
) -> Result<HashSet<usize>, RecheckError> {
    let keys: Vec<Vec<Value>> = rows
        .iter()
        .map(|r| row_keys(spec, r))
        .collect::<Result<_, _>>()?;
    let sql = lookup_sql(spec);
    let mut stored = HashSet::new();
    let mut start = 0;
    while start < keys.len() {
        // A chunk of rows whose rendered keys stay under the parameter size limit.
        let mut end = start;
        let mut bytes = 0;
        while end < keys.len() && (end == start || bytes < MAX_PARAM_BYTES) {
            bytes += keys[end]
                .iter()
                .map(|v| v.to_string().len() + 1)
                .sum::<usize>();
            end += 1;
        }
        let mut q = client.query_raw(&sql);
        for (j, _) in spec.keys.iter().enumerate() {
            let column: Vec<&Value> = keys[start..end].iter().map(|k| &k[j]).collect();
            q = q.param(&format!("k{j}"), column);
        }
        let found: Vec<u64> = q.fetch_all().await?;
        stored.extend(found.into_iter().map(|i| start + i as usize - 1));
        start = end;
    }
    Ok(stored)
}

/// `SELECT i` (1-based) of the batch rows whose key tuple is stored.
fn lookup_sql(spec: &Spec) -> String {
    let first = format!("{{k0:{}}}", spec.keys[0].kind.param_type());
    let ours: Vec<String> = spec
        .keys
        .iter()
        .enumerate()
        .map(|(j, k)| {
            let value = format!("{{k{j}:{}}}[i]", k.kind.param_type());
            k.ours.replace('$', &value)
        })
        .collect();
    let ours = if ours.len() == 1 {
        ours[0].clone()
    } else {
        format!("({})", ours.join(", "))
    };
    format!(
        "SELECT toUInt64(i) FROM (SELECT arrayJoin(range(1, length({first}) + 1)) AS i) \
         WHERE {ours} IN ({})",
        spec.stored
    )
}

/// True when `table` drops a batch whose `insert_deduplication_token` it has seen (a
/// `Replicated*`/`Shared*` MergeTree, or a MergeTree with `non_replicated_deduplication_window`)
/// and no materialized view would see the resent batch.
pub async fn table_deduplicates(
    client: &Client,
    table: &str,
) -> Result<bool, clickhouse::error::Error> {
    #[derive(serde::Deserialize, clickhouse::Row)]
    struct TableRow {
        engine: String,
        create_table_query: String,
        views: u64,
    }
    let rows: Vec<TableRow> = client
        .query_raw(
            "SELECT engine, create_table_query, length(dependencies_table) AS views FROM system.tables \
             WHERE database = currentDatabase() AND name = {t:String}",
        )
        .param("t", table)
        .fetch_all()
        .await?;
    Ok(rows
        .iter()
        .any(|r| r.views == 0 && engine_deduplicates(&r.engine, &r.create_table_query)))
}

/// [`table_deduplicates`] on the engine name and `CREATE` text of a table.
pub fn engine_deduplicates(engine: &str, create: &str) -> bool {
    if !engine.ends_with("MergeTree") {
        return false;
    }
    if engine.starts_with("Replicated") || engine.starts_with("Shared") {
        return true;
    }
    let Some(pos) = create.find("non_replicated_deduplication_window") else {
        return false;
    };
    let digits: String = create[pos..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse::<u64>().is_ok_and(|n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_has_keys_and_reads_back() {
        for s in SPECS {
            assert!(!s.keys.is_empty(), "{}", s.table);
            assert!(s.stored.starts_with("SELECT "), "{}", s.table);
            let sql = lookup_sql(s);
            assert!(sql.contains("{k0:"), "{sql}");
        }
        assert!(spec("TaskProgress").is_none());
    }

    #[test]
    fn dedup_window_is_read_from_the_create_text() {
        let c = "CREATE TABLE x (a UInt8) ENGINE = MergeTree ORDER BY a SETTINGS index_granularity = 8192, \
                 non_replicated_deduplication_window = 1000";
        assert!(engine_deduplicates("MergeTree", c));
        assert!(!engine_deduplicates(
            "MergeTree",
            "CREATE TABLE x ENGINE = MergeTree ORDER BY a"
        ));
        assert!(!engine_deduplicates(
            "MergeTree",
            &c.replace("= 1000", "= 0")
        ));
        assert!(engine_deduplicates("ReplicatedReplacingMergeTree", ""));
        assert!(!engine_deduplicates("Buffer", c));
    }

    #[test]
    fn keys_come_from_the_serialised_row() {
        let row = crate::rows::PackageHashRow {
            pkgh_mmh: 7,
            pkgh_md5: [0xab; 16],
            ..Default::default()
        };
        let s = spec("PackageHash_buffer").unwrap();
        let k = row_keys(s, &row).unwrap();
        assert_eq!(k[0], Value::from(7u64));
        assert_eq!(k[1], Value::String("ab".repeat(16)));
    }
}
