//! The shared sink: the one way loaders write rows and ask what is already stored.
//!
//! A loader declares what it writes by the row types it hands over ([`Table`]: each row
//! struct names its [registry](crate::registry) entry, hence its insert target, the table
//! checks read and the sorting key). It never formats SQL:
//!
//! - **insert-if-absent checks** are built with [`Sink::check`]: equality and `IN` filters
//!   on named columns, bound as server-side parameters (`{p0:UInt64}`), read from the table's
//!   `Buffer` when it has one (so rows not flushed yet count as stored), chunked so no query
//!   grows past a few hundred KiB. Column types come from the expected schema: `DateTime`
//!   columns take seconds, `UUID` columns take [`uuid::Uuid`]s, `FixedString` columns compare
//!   as lower-case hex;
//! - **writes** go through one [`BatchInserter`] per table: deterministic batches, retries
//!   that cannot double rows (content-named deduplication tokens
//!   `<load token>:<table>:<inserter>:<batch>` on targets that deduplicate, a re-check of
//!   the stored rows before a resend into Buffer, `Null` and view-firing targets; see
//!   [`crate::inserter`]). [`Sink::write`] commits a table's rows at once; [`Sink::stage`]
//!   queues them;
//! - **durability before the publishing row**: [`Sink::before_root`] commits everything
//!   queued, in the order the tables were first written, then flushes the Buffers the load
//!   reached in the order [`crate::flush`] gives (`PackageHash_buffer` last of the package
//!   rows), so every row the root or state row refers to is on disk once that row is
//!   visible. It is the one place where a loader does this;
//! - **counters**: rows per table (what a dry run would have written, or what was written),
//!   for the loader's report, the summary line and the daemon's `/metrics`.
//!
//! In a dry run every write is counted and nothing is sent; checks still read.

use std::any::Any;
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::OnceLock;

use clickhouse::query::Query;
use clickhouse::{Row, RowOwned, RowRead, RowWrite};
use serde::{Deserialize, Serialize};

use crate::client::Db;
use crate::error::DbError;
use crate::inserter::BatchInserter;
use crate::registry::TableSpec;
use crate::schema::{parse_manifest, ManifestEntry, EXPECTED_MANIFEST};

/// A row type of a table a loader writes: it knows its registry entry, hence where it is
/// inserted, where checks read, and its sorting key.
pub trait Table: Row + RowOwned + RowWrite + Send + Sync + 'static {
    /// The table's registry entry.
    const SPEC: TableSpec;
}

/// Values per `IN` list of one check query (keeps requests well below ClickHouse's limits).
pub const CHECK_CHUNK: usize = 5_000;

/// A Rust value a check binds as a server-side parameter.
pub trait Param: Serialize + Clone + Send + Sync + 'static {
    /// The parameter's ClickHouse type, e.g. `UInt64`.
    const TYPE: &'static str;
}

macro_rules! params {
    ($($t:ty => $ch:literal),* $(,)?) => {
        $(impl Param for $t {
            const TYPE: &'static str = $ch;
        })*
    };
}
params!(
    u8 => "UInt8",
    u16 => "UInt16",
    u32 => "UInt32",
    u64 => "UInt64",
    Vec<u64> => "Array(UInt64)",
    String => "String",
    &'static str => "String",
    (String, u32, u64) => "Tuple(String, UInt32, UInt64)",
);

/// How a column is compared and read: by the type the schema gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    Plain,
    DateTime,
    Uuid,
    FixedString,
}

fn column_types() -> &'static BTreeMap<(String, String), String> {
    static TYPES: OnceLock<BTreeMap<(String, String), String>> = OnceLock::new();
    TYPES.get_or_init(|| {
        parse_manifest(EXPECTED_MANIFEST)
            .into_iter()
            .filter_map(|e| match e {
                ManifestEntry::Column {
                    table, name, type_, ..
                } => Some(((table, name), type_)),
                _ => None,
            })
            .collect()
    })
}

/// The schema type of `table.column`, if the expected schema has it.
pub fn column_type(table: &str, column: &str) -> Option<&'static str> {
    column_types()
        .get(&(table.to_owned(), column.to_owned()))
        .map(String::as_str)
}

fn kind(table: &str, column: &str) -> ColumnKind {
    let t = column_type(table, column).unwrap_or("");
    let t = t.trim_start_matches("LowCardinality(");
    if t.starts_with("DateTime64") {
        ColumnKind::Plain
    } else if t.starts_with("DateTime") {
        ColumnKind::DateTime
    } else if t.starts_with("UUID") {
        ColumnKind::Uuid
    } else if t.starts_with("FixedString") {
        ColumnKind::FixedString
    } else {
        ColumnKind::Plain
    }
}

/// `toFixedString(unhex(<x>), N)` for a `FixedString(N)` column: hex text decoded to the
/// column's own type. Without the explicit type ClickHouse converts the decoded `String`s of
/// an `IN` set itself and loses every value whose last byte is zero (measured on 26.9: 17 of
/// 6,290 package MD5s).
fn fixed_from_hex(table: &str, column: &str, x: &str) -> String {
    let n: usize = column_type(table, column)
        .and_then(|t| {
            t.strip_prefix("FixedString(")?
                .strip_suffix(')')?
                .parse()
                .ok()
        })
        .unwrap_or(16);
    format!("toFixedString(unhex({x}), {n})")
}

/// The expression a check selects for `column` (what the caller's value type reads).
fn select_expr(table: &str, column: &str) -> String {
    match kind(table, column) {
        ColumnKind::Uuid => format!("toString(`{column}`)"),
        ColumnKind::FixedString => format!("lower(hex(`{column}`))"),
        ColumnKind::Plain | ColumnKind::DateTime => format!("`{column}`"),
    }
}

/// `column = <parameter>` / `column IN <parameter>` with the conversion the column needs.
fn condition(table: &str, column: &str, param: &str, ty: &str, many: bool) -> String {
    let k = kind(table, column);
    let lhs = format!("`{column}`");
    let ty = ty.to_owned();
    if k == ColumnKind::FixedString {
        // The column itself against the decoded values: a function of the column
        // (`lower(hex(col))`) would hide it from the primary key.
        return if many {
            let v = fixed_from_hex(
                table,
                column,
                &format!("arrayJoin({{{param}:Array({ty})}})"),
            );
            format!("{lhs} IN (SELECT {v})")
        } else {
            let v = fixed_from_hex(table, column, &format!("{{{param}:{ty}}}"));
            format!("{lhs} = {v}")
        };
    }
    if many {
        let ty = if k == ColumnKind::Uuid {
            "UUID".to_owned()
        } else {
            ty
        };
        return format!("{lhs} IN {{{param}:Array({ty})}}");
    }
    match k {
        ColumnKind::DateTime => format!("{lhs} = toDateTime({{{param}:{ty}}})"),
        ColumnKind::Uuid => format!("{lhs} = toUUID({{{param}:String}})"),
        _ => format!("{lhs} = {{{param}:{ty}}}"),
    }
}

type Binder = Box<dyn Fn(Query, &str) -> Query + Send + Sync>;

/// Runs `q` to the end, counting the round trip and the rows the server read to answer it
/// ([`crate::client::stats`], printed with `-D`).
pub async fn fetch_counted<R>(q: Query, what: &str) -> Result<Vec<R>, clickhouse::error::Error>
where
    R: Row + RowOwned + RowRead,
{
    crate::client::stats::round_trips_add(1);
    let mut cursor = q.fetch::<R>()?;
    let mut out = Vec::new();
    while let Some(r) = cursor.next().await? {
        out.push(r);
    }
    let read = cursor.summary().and_then(|s| s.read_rows()).unwrap_or(0);
    crate::client::stats::record_read(what, read);
    Ok(out)
}

/// The `WHERE` clause of `filters` with parameter names `<prefix>0`, `<prefix>1`, ….
fn where_clause(table: &str, filters: &[Filter], prefix: &str, extra: Option<String>) -> String {
    let mut conds: Vec<String> = filters
        .iter()
        .enumerate()
        .map(|(i, f)| condition(table, f.column, &format!("{prefix}{i}"), f.ty, f.many))
        .collect();
    conds.extend(extra);
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

fn bind(filters: &[Filter], mut q: Query, prefix: &str) -> Query {
    for (i, f) in filters.iter().enumerate() {
        q = (f.bind)(q, &format!("{prefix}{i}"));
    }
    q
}

struct Filter {
    column: &'static str,
    many: bool,
    ty: &'static str,
    bind: Binder,
}

/// One check against table `T` (built by [`Sink::check`]): filters, then a question.
pub struct Check<'s, 'a, T: Table> {
    sink: &'s Sink<'a>,
    filters: Vec<Filter>,
    order_by: Vec<&'static str>,
    what: String,
    chunk: usize,
    _table: PhantomData<T>,
}

/// What a column of a key compares as: a column name, or a tuple of them.
#[derive(Debug, Clone, Copy)]
pub enum Key {
    /// One column.
    Column(&'static str),
    /// A tuple of columns (compared as `(a, b, c) IN [...]`).
    Tuple(&'static [&'static str]),
}

impl From<&'static str> for Key {
    fn from(c: &'static str) -> Key {
        Key::Column(c)
    }
}

impl From<&'static [&'static str]> for Key {
    fn from(c: &'static [&'static str]) -> Key {
        Key::Tuple(c)
    }
}

impl<const N: usize> From<&'static [&'static str; N]> for Key {
    fn from(c: &'static [&'static str; N]) -> Key {
        Key::Tuple(c)
    }
}

impl Key {
    fn columns(&self) -> Vec<&'static str> {
        match self {
            Key::Column(c) => vec![c],
            Key::Tuple(cs) => cs.to_vec(),
        }
    }
}

#[derive(Debug, Deserialize, Row)]
struct CountRow {
    n: u64,
}

#[derive(Debug, Deserialize, Row)]
struct CountsRow {
    counts: Vec<u64>,
}

impl<'s, 'a, T: Table> Check<'s, 'a, T> {
    fn table(&self) -> &'static str {
        T::SPEC.read_from
    }

    fn assert_column(&self, column: &str) {
        debug_assert!(
            column_type(self.table(), column).is_some(),
            "{}: no column {column} in the schema",
            self.table()
        );
    }

    /// Values per query of [`Check::present`] and [`Check::pairs`] (default
    /// [`CHECK_CHUNK`]; smaller for long values such as log lines).
    pub fn chunk(mut self, values: usize) -> Self {
        self.chunk = values.max(1);
        self
    }

    /// Names the check in error messages (default: the table).
    pub fn what(mut self, what: impl Into<String>) -> Self {
        self.what = what.into();
        self
    }

    /// Only rows whose `column` equals `value` (`DateTime` columns: seconds since the epoch).
    pub fn eq<V: Param>(mut self, column: &'static str, value: V) -> Self {
        self.assert_column(column);
        self.filters.push(Filter {
            column,
            many: false,
            ty: V::TYPE,
            bind: Box::new(move |q: Query, name: &str| q.param(name, value.clone())),
        });
        self
    }

    /// Only rows whose UUID `column` is `value`.
    pub fn eq_uuid(mut self, column: &'static str, value: uuid::Uuid) -> Self {
        self.assert_column(column);
        let text = value.to_string();
        self.filters.push(Filter {
            column,
            many: false,
            ty: "String",
            bind: Box::new(move |q: Query, name: &str| q.param(name, text.clone())),
        });
        self
    }

    /// Only rows whose `column` is one of `values`.
    pub fn any_of<V: Param>(mut self, column: &'static str, values: Vec<V>) -> Self {
        self.assert_column(column);
        self.filters.push(Filter {
            column,
            many: true,
            ty: V::TYPE,
            bind: Box::new(move |q: Query, name: &str| q.param(name, values.clone())),
        });
        self
    }

    /// Orders what [`Check::rows`] returns.
    pub fn order_by(mut self, columns: &[&'static str]) -> Self {
        self.order_by.extend_from_slice(columns);
        self
    }

    fn where_clause(&self, prefix: &str, extra: Option<String>) -> String {
        where_clause(self.table(), &self.filters, prefix, extra)
    }

    fn bind(&self, q: Query, prefix: &str) -> Query {
        bind(&self.filters, q, prefix)
    }

    /// How `-D` names this check: the table and the filtered columns.
    fn label(&self) -> String {
        let cols: Vec<&str> = self.filters.iter().map(|f| f.column).collect();
        format!("{} [{}] {}", self.table(), cols.join(", "), self.what)
    }

    fn err(&self, e: clickhouse::error::Error) -> DbError {
        let what = if self.what.is_empty() {
            format!("checking {}", T::SPEC.name)
        } else {
            self.what.clone()
        };
        self.sink.db.classify(&e, &self.sink.context(&what))
    }

    /// The `IN` condition of `key` against a parameter `k` of `V`s, and the expression that
    /// selects the key as `V` reads it.
    fn key_condition<V: Param>(&self, key: Key) -> (String, String) {
        let cols = key.columns();
        for c in &cols {
            self.assert_column(c);
        }
        let select: Vec<String> = cols.iter().map(|c| select_expr(self.table(), c)).collect();
        if cols.len() == 1 {
            let c = cols[0];
            let cond = match kind(self.table(), c) {
                ColumnKind::Uuid => format!("{} IN {{k:Array({})}}", select[0], V::TYPE),
                // The column itself against decoded values, so the primary key applies.
                ColumnKind::FixedString => format!(
                    "`{c}` IN (SELECT {})",
                    fixed_from_hex(
                        self.table(),
                        c,
                        &format!("arrayJoin({{k:Array({})}})", V::TYPE)
                    )
                ),
                _ => format!("`{c}` IN {{k:Array({})}}", V::TYPE),
            };
            (cond, select[0].clone())
        } else {
            let s = select.join(", ");
            (format!("({s}) IN {{k:Array({})}}", V::TYPE), s)
        }
    }

    /// Runs `sql` (with parameter `k`) once per chunk of `values`; all answers together.
    async fn chunked<V, R>(&self, sql: &str, values: &[V]) -> Result<Vec<R>, DbError>
    where
        V: Param,
        R: Row + RowOwned + RowRead,
    {
        let mut out = Vec::new();
        for chunk in values.chunks(self.chunk) {
            let q = self.bind(self.sink.db.client().query_raw(sql), "p");
            let rows: Vec<R> = fetch_counted(q.param("k", chunk), &self.label())
                .await
                .map_err(|e| self.err(e))?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Which of `values` the table has for `key` (one column, or a tuple of columns), asked
    /// in chunks of [`CHECK_CHUNK`]. With a key on the sorting key this reads a few granules.
    pub async fn present<V>(&self, key: impl Into<Key>, values: &[V]) -> Result<HashSet<V>, DbError>
    where
        V: Param + Row + RowOwned + RowRead + Eq + Hash,
    {
        let (cond, sel) = self.key_condition::<V>(key.into());
        let sql = format!(
            "SELECT DISTINCT {sel} FROM {}{}",
            self.table(),
            self.where_clause("p", Some(cond))
        );
        Ok(self.chunked(&sql, values).await?.into_iter().collect())
    }

    /// `columns` of the rows whose `key` is one of `values` (distinct), asked in chunks of
    /// [`CHECK_CHUNK`]: for checks that compare more than the key (e.g. a log line's time
    /// stamp next to its sorting key). `DateTime` columns read as seconds.
    pub async fn lookup<V, R>(
        &self,
        key: impl Into<Key>,
        values: &[V],
        columns: &[&'static str],
    ) -> Result<Vec<R>, DbError>
    where
        V: Param,
        R: Row + RowOwned + RowRead,
    {
        let (cond, _) = self.key_condition::<V>(key.into());
        let select: Vec<String> = columns
            .iter()
            .map(|c| {
                self.assert_column(c);
                match kind(self.table(), c) {
                    ColumnKind::DateTime => format!("toUnixTimestamp(`{c}`)"),
                    _ => select_expr(self.table(), c),
                }
            })
            .collect();
        let sql = format!(
            "SELECT DISTINCT {} FROM {}{}",
            select.join(", "),
            self.table(),
            self.where_clause("p", Some(cond))
        );
        self.chunked(&sql, values).await
    }

    /// The values of `column` over the filtered rows (distinct).
    pub async fn values<V>(&self, column: &'static str) -> Result<Vec<V>, DbError>
    where
        V: Row + RowOwned + RowRead,
    {
        self.assert_column(column);
        let sql = format!(
            "SELECT DISTINCT {} FROM {}{}",
            select_expr(self.table(), column),
            self.table(),
            self.where_clause("p", None)
        );
        let q = self.bind(self.sink.db.client().query_raw(&sql), "p");
        fetch_counted(q, &self.label())
            .await
            .map_err(|e| self.err(e))
    }

    /// `(key, value)` pairs of the rows whose `key` column is one of `keys` (distinct),
    /// asked in chunks of [`CHECK_CHUNK`].
    pub async fn pairs<K, V>(
        &self,
        key: &'static str,
        value: &'static str,
        keys: &[K],
    ) -> Result<Vec<(K, V)>, DbError>
    where
        K: Param + Row,
        (K, V): Row + RowOwned + RowRead,
    {
        self.assert_column(key);
        self.assert_column(value);
        let k = select_expr(self.table(), key);
        let cond = match kind(self.table(), key) {
            ColumnKind::Uuid => format!("{k} IN {{k:Array({})}}", K::TYPE),
            // The column itself against decoded values, so the primary key applies.
            ColumnKind::FixedString => format!(
                "`{key}` IN (SELECT {})",
                fixed_from_hex(
                    self.table(),
                    key,
                    &format!("arrayJoin({{k:Array({})}})", K::TYPE)
                )
            ),
            _ => format!("`{key}` IN {{k:Array({})}}", K::TYPE),
        };
        let sql = format!(
            "SELECT DISTINCT {k}, {} FROM {}{}",
            select_expr(self.table(), value),
            self.table(),
            self.where_clause("p", Some(cond))
        );
        self.chunked(&sql, keys).await
    }

    /// The filtered rows themselves, read back into `T` (for whole-row comparisons).
    pub async fn rows(&self) -> Result<Vec<T>, DbError>
    where
        T: RowRead,
    {
        let order = if self.order_by.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", self.order_by.join(", "))
        };
        let sql = format!(
            "SELECT ?fields FROM {}{}{order}",
            self.table(),
            self.where_clause("p", None)
        );
        let q = self.bind(self.sink.db.client().query(&sql), "p");
        fetch_counted::<T>(q, &self.label())
            .await
            .map_err(|e| self.err(e))
    }

    /// How many rows pass the filters.
    pub async fn count(&self) -> Result<u64, DbError> {
        let sql = format!(
            "SELECT count() AS n FROM {}{}",
            self.table(),
            self.where_clause("p", None)
        );
        let q = self.bind(self.sink.db.client().query_raw(&sql), "p");
        let rows: Vec<CountRow> = fetch_counted(q, &self.label())
            .await
            .map_err(|e| self.err(e))?;
        Ok(rows.first().map(|r| r.n).unwrap_or(0))
    }

    /// This check as one part of [`Sink::count_each`].
    pub fn counted(self) -> CountPart {
        CountPart {
            table: self.table(),
            filters: self.filters,
        }
    }
}

/// One count of [`Sink::count_each`] (made by [`Check::counted`]).
pub struct CountPart {
    table: &'static str,
    filters: Vec<Filter>,
}

/// A table's writer, type-erased so one sink holds writers of every table.
trait Pending: Send + Sync {
    fn table(&self) -> &'static str;
    fn as_any(&mut self) -> &mut dyn Any;
    fn flush(&mut self) -> Pin<Box<dyn Future<Output = Result<(), DbError>> + Send + '_>>;
    fn pending(&self) -> usize;
}

struct Writer<T: Table> {
    inner: BatchInserter<T>,
}

impl<T: Table> Pending for Writer<T> {
    fn table(&self) -> &'static str {
        T::SPEC.name
    }

    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn flush(&mut self) -> Pin<Box<dyn Future<Output = Result<(), DbError>> + Send + '_>> {
        Box::pin(self.inner.flush())
    }

    fn pending(&self) -> usize {
        self.inner.pending()
    }
}

/// Where a loader's rows go: checks, writes, counters (see the module docs).
pub struct Sink<'a> {
    db: &'a Db,
    token: String,
    dry_run: bool,
    context: String,
    rows: BTreeMap<&'static str, u64>,
    writers: Vec<Box<dyn Pending + 'static>>,
}

impl<'a> Sink<'a> {
    /// A sink over `db`; `token` names the load (e.g. a package set's root UUID, or a task id
    /// and its change time). It prefixes every batch's deduplication token; each inserter
    /// adds its own instance name, so no token is shared with another run (see
    /// [`crate::inserter`]).
    pub fn new(db: &'a Db, token: impl Into<String>, dry_run: bool) -> Sink<'a> {
        Sink {
            db,
            token: token.into(),
            dry_run,
            context: String::new(),
            rows: BTreeMap::new(),
            writers: Vec::new(),
        }
    }

    /// Prefixes error contexts (e.g. `task 350000`).
    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context = context.into();
        self
    }

    /// The database.
    pub fn db(&self) -> &'a Db {
        self.db
    }

    /// True when nothing is written.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    fn context(&self, what: &str) -> String {
        if self.context.is_empty() {
            what.to_owned()
        } else {
            format!("{}: {what}", self.context)
        }
    }

    /// A check against `T`'s table (see [`Check`]).
    pub fn check<T: Table>(&self) -> Check<'_, 'a, T> {
        Check {
            sink: self,
            filters: Vec::new(),
            order_by: Vec::new(),
            what: String::new(),
            chunk: CHECK_CHUNK,
            _table: PhantomData,
        }
    }

    /// Several counts in one round trip (e.g. how many rows of a task each table has), in
    /// the order of `parts`.
    pub async fn count_each(&self, parts: Vec<CountPart>, what: &str) -> Result<Vec<u64>, DbError> {
        let items: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "ifNull((SELECT count() FROM {}{}), 0)",
                    p.table,
                    where_clause(p.table, &p.filters, &format!("c{i}_"), None)
                )
            })
            .collect();
        let sql = format!("SELECT [{}] AS counts", items.join(", "));
        let mut q = self.db.client().query_raw(&sql);
        for (i, p) in parts.iter().enumerate() {
            q = bind(&p.filters, q, &format!("c{i}_"));
        }
        let rows: Vec<CountsRow> = fetch_counted(q, what)
            .await
            .map_err(|e| self.db.classify(&e, &self.context(what)))?;
        let counts = rows
            .into_iter()
            .next()
            .map(|r| r.counts)
            .unwrap_or_default();
        Ok(counts)
    }

    fn writer<T: Table>(&mut self) -> &mut Writer<T> {
        let pos = match self.writers.iter().position(|w| w.table() == T::SPEC.name) {
            Some(p) => p,
            None => {
                let inner = BatchInserter::<T>::new(
                    self.db.insert_client(),
                    T::SPEC.insert_into,
                    &self.token,
                )
                .with_batch_rows(T::SPEC.batch_rows);
                self.writers.push(Box::new(Writer { inner }));
                self.writers.len() - 1
            }
        };
        self.writers[pos]
            .as_any()
            .downcast_mut::<Writer<T>>()
            .expect("one writer type per table name (registry names are unique)")
    }

    /// Counts `rows` for `T`'s table and queues them (a full batch is sent at once); they
    /// are committed by [`Sink::commit`], [`Sink::before_root`] or [`Sink::finish`].
    pub async fn stage<T: Table>(&mut self, rows: Vec<T>) -> Result<(), DbError> {
        *self.rows.entry(T::SPEC.name).or_default() += rows.len() as u64;
        if self.dry_run || rows.is_empty() {
            return Ok(());
        }
        let w = self.writer::<T>();
        // Full batches go out at once: one request each.
        let per = T::SPEC.batch_rows.max(1);
        let sent = (w.inner.pending() + rows.len()) / per;
        crate::client::stats::round_trips_add(sent as u64);
        w.inner.extend(rows).await
    }

    /// Commits what is queued for `T`'s table.
    pub async fn commit<T: Table>(&mut self) -> Result<(), DbError> {
        if self.dry_run {
            return Ok(());
        }
        let w = self.writer::<T>();
        if w.inner.pending() > 0 {
            crate::client::stats::round_trips_add(1);
        }
        w.inner.flush().await
    }

    /// Counts and commits `rows` (nothing is left queued for `T`'s table afterwards).
    pub async fn write<T: Table>(&mut self, rows: Vec<T>) -> Result<(), DbError> {
        self.stage(rows).await?;
        self.commit::<T>().await
    }

    /// Commits everything queued, table by table in the order they were first written.
    async fn commit_all(&mut self) -> Result<(), DbError> {
        for w in &mut self.writers {
            if w.pending() > 0 {
                crate::client::stats::round_trips_add(1);
            }
            w.flush().await?;
        }
        Ok(())
    }

    /// Makes everything this load wrote durable; call it right before the row that makes
    /// the load visible (a package set's root, a task's state).
    ///
    /// Commits everything queued, then flushes those of `buffers` that hold rows, in the
    /// given order ([`crate::flush::PACKAGE_SET_LOAD`], [`crate::flush::TASK_LOAD`]: what
    /// the load's insert targets reach, materialized views included); one question first
    /// saves a flush round trip per empty Buffer. A dry run does neither.
    pub async fn before_root(&mut self, buffers: &[&str]) -> Result<(), DbError> {
        if self.dry_run {
            return Ok(());
        }
        self.commit_all().await?;
        let holding = self.buffers_holding_rows(buffers).await?;
        let todo: Vec<&str> = buffers
            .iter()
            .copied()
            .filter(|b| holding.contains(*b))
            .collect();
        crate::flush::flush_buffers(self.db, &todo).await?;
        Ok(())
    }

    /// Which of `buffers` hold rows now (one round trip): only those need a flush for what
    /// this load wrote, or found stored, to be on disk. A Buffer `X_buffer` reports its own
    /// rows plus those of `X`, so it holds rows when the two counts differ (or are unknown).
    /// A flush that runs between the two readings only moves rows to disk. Rows that reach
    /// a Buffer after this question are another load's, which flushes them before its own
    /// root row.
    async fn buffers_holding_rows(&self, buffers: &[&str]) -> Result<HashSet<String>, DbError> {
        if buffers.is_empty() {
            return Ok(HashSet::new());
        }
        #[derive(Debug, Deserialize, Row)]
        struct Total {
            name: String,
            total_rows: Option<u64>,
        }
        let dest = |b: &str| b.strip_suffix("_buffer").unwrap_or(b).to_owned();
        let mut names: Vec<String> = buffers.iter().map(|b| (*b).to_owned()).collect();
        names.extend(buffers.iter().map(|b| dest(b)));
        let q = self
            .db
            .client()
            .query_raw(
                "SELECT name, total_rows FROM system.tables \
                 WHERE database = currentDatabase() AND name IN {b:Array(String)}",
            )
            .param("b", names);
        let rows: Vec<Total> = fetch_counted(q, "system.tables [name] buffers holding rows")
            .await
            .map_err(|e| {
                self.db
                    .classify(&e, &self.context("asking which Buffers hold rows"))
            })?;
        let total: BTreeMap<String, Option<u64>> =
            rows.into_iter().map(|r| (r.name, r.total_rows)).collect();
        let get = |n: &str| total.get(n).copied().flatten();
        Ok(buffers
            .iter()
            .filter(|b| match (get(b), get(&dest(b))) {
                (Some(x), Some(y)) => x != y,
                _ => true,
            })
            .map(|b| (*b).to_owned())
            .collect())
    }

    /// `OPTIMIZE TABLE` of each of `buffers`, in the given order (what `-f/--flush-buffers`
    /// does: rows other writers left in the Buffers reach their tables now).
    pub async fn flush_buffers(&self, buffers: &[&str]) -> Result<(), DbError> {
        if self.dry_run {
            return Ok(());
        }
        crate::flush::flush_buffers(self.db, buffers).await?;
        Ok(())
    }

    /// Adds `n` rows to `table`'s counter (rows written by a statement, e.g. the task
    /// loader's file provides, or counted only).
    pub fn count(&mut self, table: &'static str, n: u64) {
        *self.rows.entry(table).or_default() += n;
    }

    /// Rows per table so far (written, or in a dry run what would have been written).
    pub fn rows(&self) -> &BTreeMap<&'static str, u64> {
        &self.rows
    }

    /// Commits everything queued and returns the rows per table.
    pub async fn finish(mut self) -> Result<BTreeMap<&'static str, u64>, DbError> {
        self.commit_all().await?;
        Ok(self.rows)
    }
}
