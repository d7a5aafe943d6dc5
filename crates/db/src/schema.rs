//! The ALTRepo schema: DDL files kept as plain `.sql` in `crates/db/schema/`, applied in order.
//!
//! Every statement is `CREATE … IF NOT EXISTS`, so applying the set again changes nothing;
//! `altrepodb_schema_migrations` records which files (and which checksums) were applied.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Deserialize;

use crate::client::Db;
use crate::error::DbError;

include!(concat!(env!("OUT_DIR"), "/schema_files.rs"));

/// The expected schema, as `altrepodb db manifest` prints it for a fresh `db init`.
pub static EXPECTED_MANIFEST: &str = include_str!("../schema/manifest.tsv");

/// License alias → SPDX id pairs that seed `LicenseAliases`.
pub static LICENSE_ALIASES_JSON: &str = include_str!("../schema/data/license_aliases.json");

/// Name of the schema-version table.
pub const MIGRATIONS_TABLE: &str = "altrepodb_schema_migrations";

/// Splits a SQL file into statements at `;` outside quotes and comments.
///
/// Comments are kept with the statement that follows them; empty statements are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                cur.push(c);
                // Quoted text: backslash escapes and doubled quotes both stay inside.
                while let Some(d) = chars.next() {
                    cur.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            cur.push(e);
                        }
                    } else if d == c {
                        if chars.peek() == Some(&c) {
                            cur.push(chars.next().unwrap_or(c));
                        } else {
                            break;
                        }
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        cur.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
            }
            ';' => {
                let stmt = cur.trim();
                if !stmt.is_empty() {
                    out.push(stmt.to_owned());
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    let stmt = cur.trim();
    if !stmt.is_empty() {
        out.push(stmt.to_owned());
    }
    out
}

/// Version number of a schema file: its leading digits (`0003_tasks.sql` → 3).
pub fn file_version(name: &str) -> u32 {
    name.chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

/// A stable checksum of a file's text (hex of `murmurHash3_64`-independent FNV-1a 64).
pub fn checksum(text: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// What `db init` did.
#[derive(Debug, Default)]
pub struct InitReport {
    /// Statements sent.
    pub statements: usize,
    /// Files newly recorded in the migrations table.
    pub files_recorded: usize,
    /// License aliases inserted.
    pub aliases_inserted: usize,
    /// Existing views re-created because their schema file changed since it was applied.
    pub views_replaced: usize,
    /// Objects in the database afterwards.
    pub objects: u64,
}

/// Creates the database and every schema object; idempotent.
pub async fn init(db: &Db) -> Result<InitReport, DbError> {
    let mut report = InitReport::default();
    // The name travels as a server-side parameter, like every value from outside the SQL text.
    db.server_client()
        .query_raw("CREATE DATABASE IF NOT EXISTS {db:Identifier}")
        .param("db", db.dbname())
        .execute()
        .await
        .map_err(|e| db.classify(&e, "creating the database"))?;
    // Objects that exist are skipped: the statements are IF NOT EXISTS anyway, and each DDL
    // round trip costs tens of milliseconds on the embedded engine.
    let existing = existing_objects(db).await?;
    // Files whose text differs from what was applied: their existing plain views are
    // re-created, so a changed view definition reaches databases made by an older version.
    let applied: BTreeSet<(String, String)> = if existing.contains(MIGRATIONS_TABLE) {
        applied_files(db)
            .await?
            .into_iter()
            .map(|a| (a.name, a.checksum))
            .collect()
    } else {
        BTreeSet::new()
    };
    for (file, sql) in SCHEMA_FILES {
        let changed = !applied.contains(&((*file).to_owned(), checksum(sql)));
        for (i, stmt) in split_statements(sql).iter().enumerate() {
            let what = format!("applying {file} statement {}", i + 1);
            if created_object(stmt).is_some_and(|name| existing.contains(name)) {
                if let Some(replace) = changed.then(|| replacing_view(stmt)).flatten() {
                    db.execute(&replace, &what).await?;
                    report.views_replaced += 1;
                }
                continue;
            }
            db.execute(stmt, &what).await?;
            report.statements += 1;
        }
    }
    db.client().clear_cached_metadata().await;
    report.files_recorded = record_migrations(db).await?;
    report.aliases_inserted = seed_license_aliases(db).await?;
    report.objects = count_objects(db).await?;
    Ok(report)
}

/// `CREATE OR REPLACE VIEW …` for a `CREATE VIEW IF NOT EXISTS …` statement (plain views
/// only: they hold no data), `None` for any other statement.
pub fn replacing_view(stmt: &str) -> Option<String> {
    const HEAD: &str = "CREATE VIEW IF NOT EXISTS ";
    let start = stmt.len() - stmt.trim_start().len();
    let body = stmt[start..].get(..HEAD.len())?;
    body.eq_ignore_ascii_case(HEAD)
        .then(|| format!("CREATE OR REPLACE VIEW {}", &stmt[start + HEAD.len()..]))
}

/// The object a `CREATE … IF NOT EXISTS name` statement creates, if it is one.
pub fn created_object(stmt: &str) -> Option<&str> {
    let upper = stmt.to_ascii_uppercase();
    let pos = upper.find("IF NOT EXISTS")?;
    let head = &upper[..pos];
    let kinds = [
        "CREATE TABLE ",
        "CREATE VIEW ",
        "CREATE MATERIALIZED VIEW ",
        "CREATE FUNCTION ",
    ];
    if !kinds.iter().any(|k| head.trim_start().starts_with(k)) {
        return None;
    }
    let rest = stmt[pos + "IF NOT EXISTS".len()..].trim_start();
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '(')
        .unwrap_or(rest.len());
    Some(rest[..end].trim_matches('`'))
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct NameRow {
    name: String,
}

async fn existing_objects(db: &Db) -> Result<BTreeSet<String>, DbError> {
    let sql = "SELECT name FROM system.tables WHERE database = currentDatabase() \
               UNION ALL SELECT name FROM system.functions WHERE origin = 'SQLUserDefined'";
    Ok(db
        .client()
        .query_raw(sql)
        .fetch_all::<NameRow>()
        .await
        .map_err(|e| db.classify(&e, "listing existing objects"))?
        .into_iter()
        .map(|r| r.name)
        .collect())
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct AppliedFile {
    #[allow(dead_code)] // read for the ORDER BY; kept to mirror the table
    version: u32,
    name: String,
    checksum: String,
}

#[derive(Debug, serde::Serialize, clickhouse::Row)]
struct MigrationRow {
    version: u32,
    name: String,
    checksum: String,
}

async fn applied_files(db: &Db) -> Result<Vec<AppliedFile>, DbError> {
    let sql =
        format!("SELECT version, name, checksum FROM {MIGRATIONS_TABLE} FINAL ORDER BY version");
    db.client()
        .query_raw(&sql)
        .fetch_all::<AppliedFile>()
        .await
        .map_err(|e| db.classify(&e, "reading the schema version"))
}

pub(crate) async fn record_migrations(db: &Db) -> Result<usize, DbError> {
    let applied: BTreeSet<(String, String)> = applied_files(db)
        .await?
        .into_iter()
        .map(|a| (a.name, a.checksum))
        .collect();
    let missing: Vec<MigrationRow> = SCHEMA_FILES
        .iter()
        .map(|(name, sql)| MigrationRow {
            version: file_version(name),
            name: (*name).to_owned(),
            checksum: checksum(sql),
        })
        .filter(|r| !applied.contains(&(r.name.clone(), r.checksum.clone())))
        .collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let mut insert = db
        .client()
        .insert::<MigrationRow>(MIGRATIONS_TABLE)
        .await
        .map_err(|e| db.classify(&e, "recording the schema version"))?;
    for row in &missing {
        insert
            .write(row)
            .await
            .map_err(|e| db.classify(&e, "recording the schema version"))?;
    }
    insert
        .end()
        .await
        .map_err(|e| db.classify(&e, "recording the schema version"))?;
    Ok(missing.len())
}

#[derive(Debug, Deserialize)]
struct AliasJson {
    alias: String,
    spdx_id: String,
}

#[derive(Debug, serde::Serialize, Deserialize, clickhouse::Row)]
struct LicenseAliasRow {
    alias: String,
    spdx_id: String,
}

/// Parses the vendored license aliases.
pub fn license_aliases() -> Result<Vec<(String, String)>, serde_json::Error> {
    let parsed: Vec<AliasJson> = serde_json::from_str(LICENSE_ALIASES_JSON)?;
    Ok(parsed.into_iter().map(|a| (a.alias, a.spdx_id)).collect())
}

pub(crate) async fn seed_license_aliases(db: &Db) -> Result<usize, DbError> {
    let wanted = license_aliases().map_err(|e| DbError::Query {
        context: "reading the vendored license_aliases.json".into(),
        code: None,
        message: e.to_string(),
    })?;
    let present: BTreeSet<(String, String)> = db
        .client()
        .query_raw("SELECT alias, spdx_id FROM LicenseAliases")
        .fetch_all::<LicenseAliasRow>()
        .await
        .map_err(|e| db.classify(&e, "reading LicenseAliases"))?
        .into_iter()
        .map(|r| (r.alias, r.spdx_id))
        .collect();
    let missing: Vec<LicenseAliasRow> = wanted
        .into_iter()
        .filter(|p| !present.contains(p))
        .map(|(alias, spdx_id)| LicenseAliasRow { alias, spdx_id })
        .collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let mut insert = db
        .client()
        .insert::<LicenseAliasRow>("LicenseAliases")
        .await
        .map_err(|e| db.classify(&e, "seeding LicenseAliases"))?;
    for row in &missing {
        insert
            .write(row)
            .await
            .map_err(|e| db.classify(&e, "seeding LicenseAliases"))?;
    }
    insert
        .end()
        .await
        .map_err(|e| db.classify(&e, "seeding LicenseAliases"))?;
    Ok(missing.len())
}

async fn count_objects(db: &Db) -> Result<u64, DbError> {
    db.client()
        .query_raw("SELECT count() FROM system.tables WHERE database = currentDatabase()")
        .fetch_one::<u64>()
        .await
        .map_err(|e| db.classify(&e, "counting objects"))
}

/// What `db status` shows.
#[derive(Debug)]
pub struct Status {
    /// Highest applied schema file version (0 when none).
    pub version: u32,
    /// Files shipped with this binary that are not applied (or applied with other content).
    pub pending: Vec<String>,
    /// Object counts by engine (`View`, `MaterializedView`, `Buffer`, …).
    pub by_engine: BTreeMap<String, u64>,
    /// User-defined SQL functions present.
    pub functions: u64,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct EngineCount {
    engine: String,
    n: u64,
}

/// Reads the schema version and object counts.
pub async fn status(db: &Db) -> Result<Status, DbError> {
    let applied: BTreeSet<(String, String)> = applied_files(db)
        .await?
        .into_iter()
        .map(|a| (a.name, a.checksum))
        .collect();
    let version = applied
        .iter()
        .map(|(n, _)| file_version(n))
        .max()
        .unwrap_or(0);
    let pending = SCHEMA_FILES
        .iter()
        .filter(|(name, sql)| !applied.contains(&((*name).to_owned(), checksum(sql))))
        .map(|(name, _)| (*name).to_owned())
        .collect();
    let by_engine = db
        .client()
        .query_raw(
            "SELECT engine, count() AS n FROM system.tables WHERE database = currentDatabase() \
             GROUP BY engine ORDER BY engine",
        )
        .fetch_all::<EngineCount>()
        .await
        .map_err(|e| db.classify(&e, "counting objects"))?
        .into_iter()
        .map(|r| (r.engine, r.n))
        .collect();
    let functions = db
        .client()
        .query_raw("SELECT count() FROM system.functions WHERE origin = 'SQLUserDefined'")
        .fetch_one::<u64>()
        .await
        .map_err(|e| db.classify(&e, "counting functions"))?;
    Ok(Status {
        version,
        pending,
        by_engine,
        functions,
    })
}

/// One line of the schema manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ManifestEntry {
    /// A table or view: name, engine, sorting key, primary key, partition key.
    Object {
        /// Object name.
        name: String,
        /// Engine (`View`, `MaterializedView`, `ReplacingMergeTree`, …).
        engine: String,
        /// `ORDER BY` expression.
        sorting_key: String,
        /// `PRIMARY KEY` expression.
        primary_key: String,
        /// `PARTITION BY` expression.
        partition_key: String,
    },
    /// A column of a table or view.
    Column {
        /// Table name.
        table: String,
        /// Column position (1-based).
        position: u64,
        /// Column name.
        name: String,
        /// Column type.
        type_: String,
        /// `DEFAULT`/`MATERIALIZED`/`ALIAS` kind, empty for plain columns.
        default_kind: String,
    },
    /// A user-defined SQL function.
    Function {
        /// Function name.
        name: String,
    },
}

impl ManifestEntry {
    fn to_line(&self) -> String {
        match self {
            ManifestEntry::Object {
                name,
                engine,
                sorting_key,
                primary_key,
                partition_key,
            } => format!("object\t{name}\t{engine}\t{sorting_key}\t{primary_key}\t{partition_key}"),
            ManifestEntry::Column {
                table,
                position,
                name,
                type_,
                default_kind,
            } => format!("column\t{table}\t{position}\t{name}\t{type_}\t{default_kind}"),
            ManifestEntry::Function { name } => format!("function\t{name}"),
        }
    }

    fn from_line(line: &str) -> Option<ManifestEntry> {
        let f: Vec<&str> = line.split('\t').collect();
        let s = |i: usize| f.get(i).map(|v| (*v).to_owned()).unwrap_or_default();
        match *f.first()? {
            "object" => Some(ManifestEntry::Object {
                name: s(1),
                engine: s(2),
                sorting_key: s(3),
                primary_key: s(4),
                partition_key: s(5),
            }),
            "column" => Some(ManifestEntry::Column {
                table: s(1),
                position: s(2).parse().ok()?,
                name: s(3),
                type_: s(4),
                default_kind: s(5),
            }),
            "function" => Some(ManifestEntry::Function { name: s(1) }),
            _ => None,
        }
    }
}

/// Parses a manifest text (as written by [`render_manifest`]).
pub fn parse_manifest(text: &str) -> Vec<ManifestEntry> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(ManifestEntry::from_line)
        .collect()
}

/// Renders a manifest, one entry a line.
pub fn render_manifest(entries: &[ManifestEntry]) -> String {
    let mut out = String::from(
        "# Expected ALTRepo schema: `altrepodb db manifest` on a fresh `db init`. Compared by `db check`.\n",
    );
    for e in entries {
        let _ = writeln!(out, "{}", e.to_line());
    }
    out
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct ObjectRow {
    name: String,
    engine: String,
    sorting_key: String,
    primary_key: String,
    partition_key: String,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct ColumnRow {
    table: String,
    position: u64,
    name: String,
    type_: String,
    default_kind: String,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct FunctionRow {
    name: String,
}

/// Reads the live schema of the configured database as manifest entries.
pub async fn live_manifest(db: &Db) -> Result<Vec<ManifestEntry>, DbError> {
    let c = db.client();
    let ctx = |e: clickhouse::error::Error| db.classify(&e, "reading the live schema");
    let objects = c
        .query_raw(
            "SELECT name, engine, sorting_key, primary_key, partition_key FROM system.tables \
             WHERE database = currentDatabase() AND NOT is_temporary ORDER BY name",
        )
        .fetch_all::<ObjectRow>()
        .await
        .map_err(ctx)?;
    let columns = c
        .query_raw(
            "SELECT table, position, name, type AS type_, default_kind FROM system.columns \
             WHERE database = currentDatabase() ORDER BY table, position",
        )
        .fetch_all::<ColumnRow>()
        .await
        .map_err(ctx)?;
    let functions = c
        .query_raw(
            "SELECT name FROM system.functions WHERE origin = 'SQLUserDefined' ORDER BY name",
        )
        .fetch_all::<FunctionRow>()
        .await
        .map_err(ctx)?;
    let mut out: Vec<ManifestEntry> = objects
        .into_iter()
        .map(|o| ManifestEntry::Object {
            name: o.name,
            engine: o.engine,
            sorting_key: o.sorting_key,
            primary_key: o.primary_key,
            partition_key: o.partition_key,
        })
        .collect();
    out.extend(columns.into_iter().map(|c| ManifestEntry::Column {
        table: c.table,
        position: c.position,
        name: c.name,
        type_: c.type_,
        default_kind: c.default_kind,
    }));
    out.extend(
        functions
            .into_iter()
            .map(|f| ManifestEntry::Function { name: f.name }),
    );
    Ok(out)
}

/// One difference between the live database and the expected schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// An expected table/view is absent.
    MissingObject(String),
    /// A table/view exists that the schema does not define.
    ExtraObject(String),
    /// Engine or keys differ.
    ObjectMismatch {
        /// Object name.
        name: String,
        /// What differs, e.g. `engine: expected MergeTree, found Log`.
        detail: String,
    },
    /// An expected column is absent.
    MissingColumn {
        /// Table name.
        table: String,
        /// Column name.
        column: String,
    },
    /// A column exists that the schema does not define.
    ExtraColumn {
        /// Table name.
        table: String,
        /// Column name.
        column: String,
    },
    /// A column has another type (or default kind).
    ColumnType {
        /// Table name.
        table: String,
        /// Column name.
        column: String,
        /// Expected type.
        expected: String,
        /// Live type.
        found: String,
    },
    /// An expected user-defined function is absent.
    MissingFunction(String),
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::MissingObject(n) => write!(f, "missing object {n}"),
            Difference::ExtraObject(n) => write!(f, "extra object {n}"),
            Difference::ObjectMismatch { name, detail } => write!(f, "object {name}: {detail}"),
            Difference::MissingColumn { table, column } => {
                write!(f, "missing column {table}.{column}")
            }
            Difference::ExtraColumn { table, column } => write!(f, "extra column {table}.{column}"),
            Difference::ColumnType {
                table,
                column,
                expected,
                found,
            } => write!(
                f,
                "column {table}.{column}: expected {expected}, found {found}"
            ),
            Difference::MissingFunction(n) => write!(f, "missing function {n}"),
        }
    }
}

/// Compares a live manifest with the expected one.
pub fn compare(expected: &[ManifestEntry], live: &[ManifestEntry]) -> Vec<Difference> {
    type Obj<'a> = (&'a str, &'a str, &'a str, &'a str);
    fn objects(m: &[ManifestEntry]) -> BTreeMap<&str, Obj<'_>> {
        m.iter()
            .filter_map(|e| match e {
                ManifestEntry::Object {
                    name,
                    engine,
                    sorting_key,
                    primary_key,
                    partition_key,
                } => Some((
                    name.as_str(),
                    (
                        engine.as_str(),
                        sorting_key.as_str(),
                        primary_key.as_str(),
                        partition_key.as_str(),
                    ),
                )),
                _ => None,
            })
            .collect()
    }
    fn columns(m: &[ManifestEntry]) -> BTreeMap<(&str, &str), String> {
        m.iter()
            .filter_map(|e| match e {
                ManifestEntry::Column {
                    table,
                    name,
                    type_,
                    default_kind,
                    ..
                } => Some((
                    (table.as_str(), name.as_str()),
                    if default_kind.is_empty() {
                        type_.clone()
                    } else {
                        format!("{type_} {default_kind}")
                    },
                )),
                _ => None,
            })
            .collect()
    }
    fn functions(m: &[ManifestEntry]) -> BTreeSet<&str> {
        m.iter()
            .filter_map(|e| match e {
                ManifestEntry::Function { name } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }
    let mut diffs = Vec::new();
    let (eo, lo) = (objects(expected), objects(live));
    for (name, want) in &eo {
        match lo.get(name) {
            None => diffs.push(Difference::MissingObject((*name).to_owned())),
            Some(have) => {
                let labels = ["engine", "sorting key", "primary key", "partition key"];
                let w = [want.0, want.1, want.2, want.3];
                let h = [have.0, have.1, have.2, have.3];
                for i in 0..4 {
                    if w[i] != h[i] {
                        diffs.push(Difference::ObjectMismatch {
                            name: (*name).to_owned(),
                            detail: format!("{}: expected '{}', found '{}'", labels[i], w[i], h[i]),
                        });
                    }
                }
            }
        }
    }
    for name in lo.keys().filter(|n| !eo.contains_key(*n)) {
        diffs.push(Difference::ExtraObject((*name).to_owned()));
    }
    let (ec, lc) = (columns(expected), columns(live));
    for ((table, col), want) in &ec {
        if !lo.contains_key(table) {
            continue; // already reported as a missing object
        }
        match lc.get(&(*table, *col)) {
            None => diffs.push(Difference::MissingColumn {
                table: (*table).to_owned(),
                column: (*col).to_owned(),
            }),
            Some(have) if have != want => diffs.push(Difference::ColumnType {
                table: (*table).to_owned(),
                column: (*col).to_owned(),
                expected: want.clone(),
                found: have.clone(),
            }),
            Some(_) => {}
        }
    }
    for (table, col) in lc.keys() {
        if eo.contains_key(table) && !ec.contains_key(&(*table, *col)) {
            diffs.push(Difference::ExtraColumn {
                table: (*table).to_owned(),
                column: (*col).to_owned(),
            });
        }
    }
    let lf = functions(live);
    for f in functions(expected).difference(&lf) {
        diffs.push(Difference::MissingFunction((*f).to_owned()));
    }
    diffs
}

/// Compares the configured database with the schema this binary ships.
pub async fn check(db: &Db) -> Result<Vec<Difference>, DbError> {
    let live = live_manifest(db).await?;
    Ok(compare(&parse_manifest(EXPECTED_MANIFEST), &live))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_comments() {
        let sql = "-- a; comment\nCREATE TABLE a (x String DEFAULT ';') ENGINE = Null;\n\n/* b; */ SELECT 'it''s;', \"q;\" ;\n;";
        let stmts = split_statements(sql);
        assert_eq!(stmts.len(), 2, "{stmts:?}");
        assert_eq!(
            stmts[0],
            "CREATE TABLE a (x String DEFAULT ';') ENGINE = Null"
        );
        assert_eq!(stmts[1], "SELECT 'it''s;', \"q;\"");
    }

    #[test]
    fn created_object_names() {
        assert_eq!(
            created_object("CREATE TABLE IF NOT EXISTS Foo\n(x UInt8)"),
            Some("Foo")
        );
        assert_eq!(
            created_object("CREATE MATERIALIZED VIEW IF NOT EXISTS mv TO t AS SELECT 1"),
            Some("mv")
        );
        assert_eq!(
            created_object("CREATE FUNCTION IF NOT EXISTS f AS x -> x"),
            Some("f")
        );
        assert_eq!(
            created_object("CREATE TABLE IF NOT EXISTS `q`(x UInt8)"),
            Some("q")
        );
        assert_eq!(created_object("INSERT INTO t SELECT 'IF NOT EXISTS'"), None);
    }

    #[test]
    fn views_are_replaced_not_tables() {
        assert_eq!(
            replacing_view("\n  CREATE VIEW IF NOT EXISTS v AS SELECT 1").as_deref(),
            Some("CREATE OR REPLACE VIEW v AS SELECT 1")
        );
        assert_eq!(
            replacing_view("create view if not exists v\n(a UInt8) AS SELECT 1").as_deref(),
            Some("CREATE OR REPLACE VIEW v\n(a UInt8) AS SELECT 1")
        );
        assert_eq!(
            replacing_view("CREATE MATERIALIZED VIEW IF NOT EXISTS m TO t AS SELECT 1"),
            None
        );
        assert_eq!(
            replacing_view("CREATE TABLE IF NOT EXISTS t (a UInt8) ENGINE = Log"),
            None
        );
    }

    #[test]
    fn versions_and_checksums() {
        assert_eq!(file_version("0003_tasks.sql"), 3);
        assert_eq!(file_version("x.sql"), 0);
        assert_eq!(checksum("a"), checksum("a"));
        assert_ne!(checksum("a"), checksum("b"));
    }

    #[test]
    fn aliases_parse() {
        let a = license_aliases().expect("vendored JSON parses");
        assert!(a.len() >= 100, "{} aliases", a.len());
    }

    #[test]
    fn manifest_round_trip_and_compare() {
        let m = vec![
            ManifestEntry::Object {
                name: "T".into(),
                engine: "MergeTree".into(),
                sorting_key: "a".into(),
                primary_key: "a".into(),
                partition_key: String::new(),
            },
            ManifestEntry::Column {
                table: "T".into(),
                position: 1,
                name: "a".into(),
                type_: "UInt64".into(),
                default_kind: String::new(),
            },
            ManifestEntry::Function { name: "f".into() },
        ];
        let parsed = parse_manifest(&render_manifest(&m));
        assert_eq!(parsed, m);
        assert!(compare(&m, &m).is_empty());
        let mut changed = m.clone();
        if let ManifestEntry::Column { type_, .. } = &mut changed[1] {
            *type_ = "String".into();
        }
        changed.retain(|e| !matches!(e, ManifestEntry::Function { .. }));
        changed.push(ManifestEntry::Object {
            name: "U".into(),
            engine: "Log".into(),
            sorting_key: String::new(),
            primary_key: String::new(),
            partition_key: String::new(),
        });
        let d = compare(&m, &changed);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d.iter().any(|x| matches!(x, Difference::ColumnType { .. })));
        assert!(d
            .iter()
            .any(|x| matches!(x, Difference::ExtraObject(n) if n == "U")));
        assert!(d
            .iter()
            .any(|x| matches!(x, Difference::MissingFunction(n) if n == "f")));
    }
}
