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
    Vec<u32> => "Array(UInt32)",
    String => "String",
    &'static str => "String",
    (String, u32, u64) => "Tuple(String, UInt32, UInt64)",
);

mod check;
use check::*;
pub use check::{column_type, fetch_counted, Check, CountPart, GatherPart, Key};

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

    /// Several lookups in one round trip: one row whose columns are the parts' arrays, read
    /// into `R` (one field per part, named as the part). For small key sets: nothing is
    /// chunked, so callers fall back to the single checks when a set grows large.
    pub async fn gather<R>(&self, parts: Vec<GatherPart>, what: &str) -> Result<R, DbError>
    where
        R: Row + RowOwned + RowRead,
    {
        let items: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let cond = p
                    .cond
                    .as_ref()
                    .map(|c| c.replace("{k:", &format!("{{g{i}_k:")));
                format!(
                    "(SELECT {} FROM {}{}) AS `{}`",
                    p.expr,
                    p.table,
                    where_clause(p.table, &p.filters, &format!("g{i}_"), cond),
                    p.name
                )
            })
            .collect();
        let sql = format!("SELECT {}", items.join(", "));
        let mut q = self.db.client().query_raw(&sql);
        for (i, p) in parts.iter().enumerate() {
            q = bind(&p.filters, q, &format!("g{i}_"));
            if let Some(b) = &p.key {
                q = b(q, &format!("g{i}_k"));
            }
        }
        let label: Vec<&str> = parts.iter().map(|p| p.label.as_str()).collect();
        let rows: Vec<R> = fetch_counted(q, &format!("{what}: {}", label.join("; ")))
            .await
            .map_err(|e| self.db.classify(&e, &self.context(what)))?;
        rows.into_iter().next().ok_or_else(|| DbError::Query {
            context: self.context(what),
            code: None,
            message: "no answer row".into(),
        })
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
