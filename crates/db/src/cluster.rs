//! The schema for a ClickHouse cluster, rendered from the single-node schema files.
//!
//! The single-node statements of [`crate::schema::SCHEMA_FILES`] are the only source: every
//! cluster statement is one of them with `ON CLUSTER name` after the object name, MergeTree-family
//! engines turned into their `Replicated…` form (with `--replicated`), Buffer engines naming the
//! database literally (`currentDatabase()` would be evaluated by the DDL worker on each node,
//! where the current database is not ours), and every sharded table split into `T_local`
//! (the data, per shard) and `T` (a `Distributed` table over `T_local`), so that every reader
//! and buffer that names `T` keeps working unchanged. Rendering is deterministic.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::client::Db;
use crate::error::DbError;
use crate::schema::{self, ManifestEntry, SCHEMA_FILES};

/// Tables that may be sharded, with the reason the others may not (see docs/cluster.md).
///
/// Files and Depends hold almost all rows and are read by package hash; every other table is
/// either small or joined by the API against package sets, which must be whole on each node.
pub const SHARDABLE_TABLES: &[&str] = &["Files", "Depends"];

/// MergeTree-family engines that have a `Replicated…` form.
const MERGE_TREE_ENGINES: &[&str] = &[
    "MergeTree",
    "ReplacingMergeTree",
    "SummingMergeTree",
    "AggregatingMergeTree",
    "CollapsingMergeTree",
    "VersionedCollapsingMergeTree",
    "GraphiteMergeTree",
];

/// The replication path of every replicated table; `{shard}`, `{database}`, `{table}` and
/// `{replica}` are the server's own macros, expanded on each node.
pub const REPLICATION_PATH: &str = "/clickhouse/tables/{shard}/{database}/{table}";

/// Errors of cluster rendering.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClusterError {
    /// A `--sharded-by` item is not `TABLE=EXPR`.
    #[error("--sharded-by: '{0}' is not TABLE=EXPR")]
    BadShardSpec(String),
    /// A table that must stay whole on every node was named for sharding.
    #[error(
        "--sharded-by: table '{0}' cannot be sharded (only {list} may be; see docs/cluster.md)",
        list = SHARDABLE_TABLES.join(", ")
    )]
    NotShardable(String),
    /// A name that cannot be used unquoted in the DDL.
    #[error("{what} '{name}' must be letters, digits and '_' only")]
    BadName {
        /// Which name (cluster, database).
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// A schema statement this renderer does not know how to distribute.
    #[error("{file} statement {index}: not a CREATE … IF NOT EXISTS statement")]
    UnknownStatement {
        /// Schema file.
        file: String,
        /// 1-based statement number in the file.
        index: usize,
    },
}

/// How to render the schema for a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Cluster name as configured in the servers' `remote_servers`.
    pub cluster: String,
    /// Database name (written literally into Buffer and Distributed engines).
    pub database: String,
    /// Use `Replicated…MergeTree` engines.
    pub replicated: bool,
    /// Sharded tables and their sharding expressions.
    pub sharded: BTreeMap<String, String>,
}

fn check_name(what: &'static str, name: &str) -> Result<(), ClusterError> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ClusterError::BadName {
            what,
            name: name.to_owned(),
        })
    }
}

impl ClusterOptions {
    /// Options after checking the names and the sharded tables.
    pub fn new(
        cluster: &str,
        database: &str,
        replicated: bool,
        sharded: BTreeMap<String, String>,
    ) -> Result<ClusterOptions, ClusterError> {
        check_name("cluster name", cluster)?;
        check_name("database name", database)?;
        for table in sharded.keys() {
            if !SHARDABLE_TABLES.contains(&table.as_str()) {
                return Err(ClusterError::NotShardable(table.clone()));
            }
        }
        Ok(ClusterOptions {
            cluster: cluster.to_owned(),
            database: database.to_owned(),
            replicated,
            sharded,
        })
    }
}

/// Parses `TABLE=EXPR,…`; commas inside parentheses belong to the expression.
pub fn parse_sharded_by(spec: &str) -> Result<BTreeMap<String, String>, ClusterError> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&spec[start..]);
    let mut out = BTreeMap::new();
    for item in items.into_iter().map(str::trim).filter(|s| !s.is_empty()) {
        let (table, expr) = item
            .split_once('=')
            .map(|(t, e)| (t.trim(), e.trim()))
            .filter(|(t, e)| !t.is_empty() && !e.is_empty())
            .ok_or_else(|| ClusterError::BadShardSpec(item.to_owned()))?;
        out.insert(table.to_owned(), expr.to_owned());
    }
    Ok(out)
}

/// One rendered statement and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedStatement {
    /// Schema file (or `database` for the CREATE DATABASE statement).
    pub source: String,
    /// The DDL, without a trailing `;`.
    pub sql: String,
}

/// Byte range of the object name in a `CREATE … IF NOT EXISTS name` statement.
fn name_span(stmt: &str) -> Option<(usize, usize)> {
    schema::created_object(stmt)?;
    let upper = stmt.to_ascii_uppercase();
    let pos = upper.find("IF NOT EXISTS")? + "IF NOT EXISTS".len();
    let rest = &stmt[pos..];
    let start = pos + (rest.len() - rest.trim_start().len());
    let tail = &stmt[start..];
    let len = tail
        .find(|c: char| c.is_whitespace() || c == '(')
        .unwrap_or(tail.len());
    Some((start, start + len))
}

/// The MergeTree-family engine clause: (start of the engine name, end of the clause, engine
/// name, arguments inside the parentheses if any).
fn merge_tree_engine(stmt: &str) -> Option<(usize, usize, &str, Option<&str>)> {
    let at = stmt.find("ENGINE = ")? + "ENGINE = ".len();
    let tail = &stmt[at..];
    let name_len = tail
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(tail.len());
    let name = &tail[..name_len];
    if !MERGE_TREE_ENGINES.contains(&name) {
        return None;
    }
    let after = &tail[name_len..];
    if let Some(inner) = after.strip_prefix('(') {
        let close = inner.find(')')?;
        Some((
            at,
            at + name_len + 2 + close,
            name,
            Some(&inner[..close]).filter(|a| !a.trim().is_empty()),
        ))
    } else {
        Some((at, at + name_len, name, None))
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The `ALTER TABLE name MODIFY SETTING non_replicated_deduplication_window = N` statements of
/// the schema (insert deduplication on plain MergeTree tables): `None` for any other statement.
/// Replicated tables deduplicate inserts through Keeper by themselves (their
/// `replicated_deduplication_window`), so with `--replicated` the statement is dropped
/// (`Some(None)`); otherwise it runs on every node. The tables it names are small task tables,
/// never sharded ([`SHARDABLE_TABLES`]), so it always names the table itself.
fn render_dedup_setting(opts: &ClusterOptions, stmt: &str) -> Option<Option<String>> {
    let rest = stmt.trim().strip_prefix("ALTER TABLE ")?;
    let (name, setting) = rest.split_once(' ')?;
    let setting = setting.trim();
    if !setting.starts_with("MODIFY SETTING non_replicated_deduplication_window")
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    if opts.replicated {
        return Some(None);
    }
    debug_assert!(!SHARDABLE_TABLES.contains(&name));
    Some(Some(format!(
        "ALTER TABLE {name} ON CLUSTER {} {setting}",
        opts.cluster
    )))
}

/// Renders one single-node statement for the cluster; a sharded table yields two statements.
fn render_statement(
    opts: &ClusterOptions,
    stmt: &str,
    file: &str,
    index: usize,
) -> Result<Vec<String>, ClusterError> {
    let unknown = || ClusterError::UnknownStatement {
        file: file.to_owned(),
        index,
    };
    if let Some(alter) = render_dedup_setting(opts, stmt) {
        return Ok(alter.into_iter().collect());
    }
    let (name_start, name_end) = name_span(stmt).ok_or_else(unknown)?;
    let name = stmt[name_start..name_end].trim_matches('`').to_owned();
    let engine = merge_tree_engine(stmt);
    let shard_expr = opts.sharded.get(&name).filter(|_| engine.is_some());
    let local_name = match shard_expr {
        Some(_) => format!("{name}_local"),
        None => name.clone(),
    };

    let mut head = String::with_capacity(stmt.len() + 64);
    head.push_str(&stmt[..name_start]);
    head.push_str(&local_name);
    let _ = write!(head, " ON CLUSTER {}", opts.cluster);
    let mut body = stmt[name_end..].to_owned();

    if let (true, Some((start, end, engine_name, args))) = (opts.replicated, engine) {
        let (start, end) = (start - name_end, end - name_end);
        let mut replicated = format!(
            "Replicated{engine_name}({}, '{{replica}}'",
            quote(REPLICATION_PATH)
        );
        if let Some(args) = args {
            let _ = write!(replicated, ", {args}");
        }
        replicated.push(')');
        body.replace_range(start..end, &replicated);
    }
    if body.contains("ENGINE = Buffer(currentDatabase(), ") {
        body = body.replace(
            "ENGINE = Buffer(currentDatabase(), ",
            &format!("ENGINE = Buffer({}, ", quote(&opts.database)),
        );
    }
    head.push_str(&body);

    let mut out = vec![head];
    if let Some(expr) = shard_expr {
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {name} ON CLUSTER {cluster} AS {local_name}\n\
             ENGINE = Distributed({}, {}, {}, {expr})",
            quote(&opts.cluster),
            quote(&opts.database),
            quote(&local_name),
            cluster = opts.cluster,
        ));
    }
    Ok(out)
}

/// Renders the whole schema for the cluster, `CREATE DATABASE` first.
pub fn render(opts: &ClusterOptions) -> Result<Vec<RenderedStatement>, ClusterError> {
    let mut out = vec![RenderedStatement {
        source: "database".to_owned(),
        sql: format!(
            "CREATE DATABASE IF NOT EXISTS {} ON CLUSTER {}",
            opts.database, opts.cluster
        ),
    }];
    for (file, sql) in SCHEMA_FILES {
        for (i, stmt) in schema::split_statements(sql).iter().enumerate() {
            for rendered in render_statement(opts, stmt, file, i + 1)? {
                out.push(RenderedStatement {
                    source: (*file).to_owned(),
                    sql: rendered,
                });
            }
        }
    }
    Ok(out)
}

/// The rendered schema as one SQL text (what `db init --print` writes).
pub fn render_text(opts: &ClusterOptions) -> Result<String, ClusterError> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- ALTRepo schema for cluster {} (database {}, {}, sharded: {}).",
        opts.cluster,
        opts.database,
        if opts.replicated {
            "replicated"
        } else {
            "not replicated"
        },
        if opts.sharded.is_empty() {
            "none".to_owned()
        } else {
            opts.sharded
                .iter()
                .map(|(t, e)| format!("{t} by {e}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let mut last_source = String::new();
    for st in render(opts)? {
        if st.source != last_source {
            let _ = writeln!(out, "\n-- {}", st.source);
            last_source = st.source.clone();
        }
        let _ = writeln!(out, "{};\n", st.sql);
    }
    Ok(out)
}

/// The single-node statements exactly as `db init` sends them (for comparison in tests).
pub fn single_node_statements() -> Vec<String> {
    SCHEMA_FILES
        .iter()
        .flat_map(|(_, sql)| schema::split_statements(sql))
        .collect()
}

/// What every node of the cluster should hold: the expected single-node manifest with the
/// engines replicated and every sharded table split into `T_local` and a Distributed `T`.
pub fn expected_manifest(opts: &ClusterOptions) -> Vec<ManifestEntry> {
    let single = schema::parse_manifest(schema::EXPECTED_MANIFEST);
    let is_sharded = |name: &str| opts.sharded.contains_key(name);
    let mut out = Vec::with_capacity(single.len() + 64);
    for entry in single {
        match entry {
            ManifestEntry::Object {
                name,
                engine,
                sorting_key,
                primary_key,
                partition_key,
            } => {
                let family = MERGE_TREE_ENGINES.contains(&engine.as_str());
                let engine = if family && opts.replicated {
                    format!("Replicated{engine}")
                } else {
                    engine
                };
                if family && is_sharded(&name) {
                    out.push(ManifestEntry::Object {
                        name: name.clone(),
                        engine: "Distributed".to_owned(),
                        sorting_key: String::new(),
                        primary_key: String::new(),
                        partition_key: String::new(),
                    });
                    out.push(ManifestEntry::Object {
                        name: format!("{name}_local"),
                        engine,
                        sorting_key,
                        primary_key,
                        partition_key,
                    });
                } else {
                    out.push(ManifestEntry::Object {
                        name,
                        engine,
                        sorting_key,
                        primary_key,
                        partition_key,
                    });
                }
            }
            ManifestEntry::Column {
                table,
                position,
                name,
                type_,
                default_kind,
            } => {
                if is_sharded(&table) {
                    out.push(ManifestEntry::Column {
                        table: format!("{table}_local"),
                        position,
                        name: name.clone(),
                        type_: type_.clone(),
                        default_kind: default_kind.clone(),
                    });
                }
                out.push(ManifestEntry::Column {
                    table,
                    position,
                    name,
                    type_,
                    default_kind,
                });
            }
            f @ ManifestEntry::Function { .. } => out.push(f),
        }
    }
    out.sort();
    out
}

/// What `db init --cluster` did.
#[derive(Debug, Default)]
pub struct ClusterInitReport {
    /// Statements sent (each runs on every node).
    pub statements: usize,
    /// Files newly recorded in the (replicated) migrations table.
    pub files_recorded: usize,
    /// License aliases inserted.
    pub aliases_inserted: usize,
}

/// Applies statements made by [`render`] through the node `db` is connected to; every statement
/// is `ON CLUSTER`, so the servers' distributed DDL queue runs it on all nodes.
pub async fn init(db: &Db, statements: &[RenderedStatement]) -> Result<ClusterInitReport, DbError> {
    let mut report = ClusterInitReport::default();
    for (i, st) in statements.iter().enumerate() {
        let client = if i == 0 {
            db.server_client()
        } else {
            db.client()
        };
        client
            .query_raw(&st.sql)
            .execute()
            .await
            .map_err(|e| db.classify(&e, &format!("applying {} on cluster", st.source)))?;
        report.statements += 1;
    }
    db.client().clear_cached_metadata().await;
    report.files_recorded = schema::record_migrations(db).await?;
    report.aliases_inserted = schema::seed_license_aliases(db).await?;
    Ok(report)
}

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct NodeObjectRow {
    host: String,
    name: String,
    engine: String,
    sorting_key: String,
    primary_key: String,
    partition_key: String,
}

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct NodeColumnRow {
    host: String,
    table: String,
    position: u64,
    name: String,
    type_: String,
    default_kind: String,
}

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct NodeFunctionRow {
    host: String,
    name: String,
}

/// The live manifest of every replica of the cluster, by host name
/// (through `clusterAllReplicas`, so one connection reaches all nodes).
pub async fn live_manifests(
    db: &Db,
    opts: &ClusterOptions,
) -> Result<BTreeMap<String, Vec<ManifestEntry>>, DbError> {
    let c = db.client();
    let ctx = |e: clickhouse::error::Error| db.classify(&e, "reading the schema of every node");
    let cl = quote(&opts.cluster);
    let dbn = quote(&opts.database);
    let objects = c
        .query_raw(&format!(
            "SELECT hostName() AS host, name, engine, sorting_key, primary_key, partition_key \
             FROM clusterAllReplicas({cl}, system.tables) \
             WHERE database = {dbn} AND NOT is_temporary ORDER BY host, name"
        ))
        .fetch_all::<NodeObjectRow>()
        .await
        .map_err(ctx)?;
    let columns = c
        .query_raw(&format!(
            "SELECT hostName() AS host, table, position, name, type AS type_, default_kind \
             FROM clusterAllReplicas({cl}, system.columns) \
             WHERE database = {dbn} ORDER BY host, table, position"
        ))
        .fetch_all::<NodeColumnRow>()
        .await
        .map_err(ctx)?;
    let functions = c
        .query_raw(&format!(
            "SELECT hostName() AS host, name FROM clusterAllReplicas({cl}, system.functions) \
             WHERE origin = 'SQLUserDefined' ORDER BY host, name"
        ))
        .fetch_all::<NodeFunctionRow>()
        .await
        .map_err(ctx)?;
    let mut out: BTreeMap<String, Vec<ManifestEntry>> = BTreeMap::new();
    for o in objects {
        out.entry(o.host).or_default().push(ManifestEntry::Object {
            name: o.name,
            engine: o.engine,
            sorting_key: o.sorting_key,
            primary_key: o.primary_key,
            partition_key: o.partition_key,
        });
    }
    for c in columns {
        out.entry(c.host).or_default().push(ManifestEntry::Column {
            table: c.table,
            position: c.position,
            name: c.name,
            type_: c.type_,
            default_kind: c.default_kind,
        });
    }
    for f in functions {
        out.entry(f.host)
            .or_default()
            .push(ManifestEntry::Function { name: f.name });
    }
    for entries in out.values_mut() {
        entries.sort();
    }
    Ok(out)
}

/// Differences of each node from the expected cluster schema (nodes without any are omitted).
pub async fn check(
    db: &Db,
    opts: &ClusterOptions,
) -> Result<(usize, BTreeMap<String, Vec<schema::Difference>>), DbError> {
    let expected = expected_manifest(opts);
    let live = live_manifests(db, opts).await?;
    let nodes = live.len();
    let diffs = live
        .into_iter()
        .map(|(host, entries)| (host, schema::compare(&expected, &entries)))
        .filter(|(_, d)| !d.is_empty())
        .collect();
    Ok((nodes, diffs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(replicated: bool, sharded: &str) -> ClusterOptions {
        ClusterOptions::new(
            "altrepo",
            "repodb",
            replicated,
            parse_sharded_by(sharded).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn sharded_by_parses_commas_inside_parentheses() {
        let m = parse_sharded_by("Files=cityHash64(pkg_hash, file_hashname), Depends=pkg_hash")
            .unwrap();
        assert_eq!(m["Files"], "cityHash64(pkg_hash, file_hashname)");
        assert_eq!(m["Depends"], "pkg_hash");
        assert!(matches!(
            parse_sharded_by("Files"),
            Err(ClusterError::BadShardSpec(_))
        ));
        assert!(matches!(
            parse_sharded_by("=x"),
            Err(ClusterError::BadShardSpec(_))
        ));
    }

    #[test]
    fn package_set_tables_cannot_be_sharded() {
        let err = ClusterOptions::new(
            "c",
            "db",
            true,
            parse_sharded_by("PackageSet=pkg_hash").unwrap(),
        )
        .unwrap_err();
        assert_eq!(err, ClusterError::NotShardable("PackageSet".into()));
        assert!(ClusterOptions::new("bad-name", "db", true, BTreeMap::new()).is_err());
        assert!(ClusterOptions::new("c", "db; DROP", true, BTreeMap::new()).is_err());
    }

    #[test]
    fn every_statement_is_on_cluster_and_every_merge_tree_replicated() {
        let rendered = render(&opts(true, "Files=pkg_hash,Depends=pkg_hash")).unwrap();
        // One extra statement per sharded table plus CREATE DATABASE, none for the
        // non-replicated deduplication settings (replicated tables deduplicate by themselves).
        let dedup = single_node_statements()
            .iter()
            .filter(|s| s.contains("non_replicated_deduplication_window"))
            .count();
        assert!(dedup > 0);
        assert_eq!(rendered.len(), single_node_statements().len() + 3 - dedup);
        for st in &rendered {
            assert!(st.sql.contains(" ON CLUSTER altrepo"), "{}", st.sql);
            assert!(!st.sql.contains("currentDatabase()"), "{}", st.sql);
            if let Some((_, _, engine, _)) = merge_tree_engine(&st.sql) {
                panic!("{engine} left unreplicated: {}", st.sql);
            }
        }
        let files: Vec<_> = rendered
            .iter()
            .filter(|s| s.sql.contains(" Files_local") || s.sql.contains(" Files ON"))
            .collect();
        assert!(files[0]
            .sql
            .starts_with("CREATE TABLE IF NOT EXISTS Files_local ON CLUSTER altrepo\n("));
        assert!(files[0].sql.contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"
        ));
        assert_eq!(
            files[1].sql,
            "CREATE TABLE IF NOT EXISTS Files ON CLUSTER altrepo AS Files_local\n\
             ENGINE = Distributed('altrepo', 'repodb', 'Files_local', pkg_hash)"
        );
    }

    #[test]
    fn engine_arguments_follow_the_replication_arguments() {
        let o = opts(true, "");
        let out = render_statement(
            &o,
            "CREATE TABLE IF NOT EXISTS T (a UInt8, v UInt32) ENGINE = ReplacingMergeTree(v) ORDER BY a",
            "f",
            1,
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                "CREATE TABLE IF NOT EXISTS T ON CLUSTER altrepo (a UInt8, v UInt32) ENGINE = \
                  ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', \
                  '{replica}', v) ORDER BY a"
                    .to_owned()
            ]
        );
        assert!(matches!(
            render_statement(&o, "INSERT INTO T VALUES (1)", "f", 2),
            Err(ClusterError::UnknownStatement { .. })
        ));
    }

    #[test]
    fn dedup_settings_run_on_every_node_and_are_dropped_when_replicated() {
        let stmt =
            "ALTER TABLE TaskApprovals MODIFY SETTING non_replicated_deduplication_window = 1000";
        assert_eq!(
            render_statement(&opts(false, ""), stmt, "f", 1).unwrap(),
            vec![
                "ALTER TABLE TaskApprovals ON CLUSTER altrepo MODIFY SETTING \
                 non_replicated_deduplication_window = 1000"
                    .to_owned()
            ]
        );
        // Every table the schema gives the setting is one that cannot be sharded.
        let with_setting: Vec<String> = SCHEMA_FILES
            .iter()
            .flat_map(|(_, sql)| schema::split_statements(sql))
            .filter_map(|s| {
                s.trim()
                    .strip_prefix("ALTER TABLE ")?
                    .split_once(" MODIFY SETTING non_replicated_deduplication_window")
                    .map(|(t, _)| t.to_owned())
            })
            .collect();
        assert!(with_setting.contains(&"TaskApprovals".to_owned()));
        for table in &with_setting {
            assert!(!SHARDABLE_TABLES.contains(&table.as_str()), "{table}");
        }
        assert!(render_statement(&opts(true, ""), stmt, "f", 1)
            .unwrap()
            .is_empty());
        assert!(render(&opts(true, ""))
            .unwrap()
            .iter()
            .all(|r| !r.sql.contains("non_replicated_deduplication_window")));
        // Any other ALTER is still refused.
        assert!(matches!(
            render_statement(&opts(false, ""), "ALTER TABLE T DELETE WHERE 1", "f", 1),
            Err(ClusterError::UnknownStatement { .. })
        ));
    }

    #[test]
    fn without_replication_only_on_cluster_is_added() {
        let rendered = render(&opts(false, "")).unwrap();
        let single = single_node_statements();
        assert_eq!(rendered.len(), single.len() + 1);
        for (r, s) in rendered[1..].iter().zip(&single) {
            let restored = r
                .sql
                .replacen(" ON CLUSTER altrepo", "", 1)
                .replace("Buffer('repodb', ", "Buffer(currentDatabase(), ");
            assert_eq!(&restored, s);
        }
    }

    #[test]
    fn expected_manifest_splits_sharded_tables() {
        let m = expected_manifest(&opts(true, "Files=pkg_hash"));
        let obj = |n: &str| {
            m.iter().find_map(|e| match e {
                ManifestEntry::Object { name, engine, .. } if name == n => Some(engine.clone()),
                _ => None,
            })
        };
        assert_eq!(obj("Files").as_deref(), Some("Distributed"));
        assert_eq!(
            obj("Files_local").as_deref(),
            Some("ReplicatedReplacingMergeTree")
        );
        assert_eq!(obj("Files_buffer").as_deref(), Some("Buffer"));
        assert_eq!(
            obj("PackageSet").as_deref(),
            Some("ReplicatedReplacingMergeTree")
        );
        let local_cols = m
            .iter()
            .filter(|e| matches!(e, ManifestEntry::Column { table, .. } if table == "Files_local"))
            .count();
        let cols = m
            .iter()
            .filter(|e| matches!(e, ManifestEntry::Column { table, .. } if table == "Files"))
            .count();
        assert!(local_cols > 10);
        assert_eq!(local_cols, cols);
    }
}
