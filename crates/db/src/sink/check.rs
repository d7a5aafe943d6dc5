//! Insert-if-absent checks: typed filters on named columns, bound as server-side parameters,
//! compared the way each column's type needs (FixedString keys, UUIDs), chunked by values.

use super::*;

/// How a column is compared and read: by the type the schema gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ColumnKind {
    Plain,
    DateTime,
    Uuid,
    FixedString,
}

pub(super) fn column_types() -> &'static BTreeMap<(String, String), String> {
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

pub(super) fn kind(table: &str, column: &str) -> ColumnKind {
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
pub(super) fn fixed_from_hex(table: &str, column: &str, x: &str) -> String {
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
pub(super) fn select_expr(table: &str, column: &str) -> String {
    match kind(table, column) {
        ColumnKind::Uuid => format!("toString(`{column}`)"),
        ColumnKind::FixedString => format!("lower(hex(`{column}`))"),
        ColumnKind::Plain | ColumnKind::DateTime => format!("`{column}`"),
    }
}

/// `column = <parameter>` / `column IN <parameter>` with the conversion the column needs.
pub(super) fn condition(table: &str, column: &str, param: &str, ty: &str, many: bool) -> String {
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
pub(super) fn where_clause(
    table: &str,
    filters: &[Filter],
    prefix: &str,
    extra: Option<String>,
) -> String {
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

pub(super) fn bind(filters: &[Filter], mut q: Query, prefix: &str) -> Query {
    for (i, f) in filters.iter().enumerate() {
        q = (f.bind)(q, &format!("{prefix}{i}"));
    }
    q
}

pub(super) struct Filter {
    pub(super) column: &'static str,
    pub(super) many: bool,
    pub(super) ty: &'static str,
    pub(super) bind: Binder,
}

/// One check against table `T` (built by [`Sink::check`]): filters, then a question.
pub struct Check<'s, 'a, T: Table> {
    pub(super) sink: &'s Sink<'a>,
    pub(super) filters: Vec<Filter>,
    pub(super) order_by: Vec<&'static str>,
    pub(super) what: String,
    pub(super) chunk: usize,
    pub(super) _table: PhantomData<T>,
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
pub(super) struct CountRow {
    pub(super) n: u64,
}

#[derive(Debug, Deserialize, Row)]
pub(super) struct CountsRow {
    pub(super) counts: Vec<u64>,
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
    pub(super) table: &'static str,
    pub(super) filters: Vec<Filter>,
}

/// One column of [`Sink::gather`]: distinct values read from the rows a check filters (and
/// whose key is among given values), as one array (made by [`Check::gather_present`],
/// [`Check::gather_lookup`], [`Check::gather_values`]).
pub struct GatherPart {
    pub(super) name: &'static str,
    pub(super) table: &'static str,
    pub(super) filters: Vec<Filter>,
    /// The aggregate selected (`groupUniqArray(...)`).
    pub(super) expr: String,
    /// The key condition, with its parameter written `{k:...}`.
    pub(super) cond: Option<String>,
    pub(super) key: Option<Binder>,
    pub(super) label: String,
}

impl GatherPart {
    /// The part's label for `-D`.
    pub fn label(&self) -> &str {
        &self.label
    }
}

impl<'s, 'a, T: Table> Check<'s, 'a, T> {
    fn gather_part<V: Param>(
        self,
        name: &'static str,
        select: String,
        key: Option<(Key, Vec<V>)>,
    ) -> GatherPart {
        let label = self.label();
        let (cond, key) = match key {
            Some((k, values)) => {
                let (cond, _) = self.key_condition::<V>(k);
                let b: Binder = Box::new(move |q: Query, n: &str| q.param(n, values.clone()));
                (Some(cond), Some(b))
            }
            None => (None, None),
        };
        GatherPart {
            name,
            table: self.table(),
            filters: self.filters,
            expr: format!("groupUniqArray({select})"),
            cond,
            key,
            label,
        }
    }

    /// [`Check::present`] as column `name` of [`Sink::gather`] (an `Array` of the key).
    pub fn gather_present<V: Param>(
        self,
        name: &'static str,
        key: impl Into<Key>,
        values: Vec<V>,
    ) -> GatherPart {
        let key = key.into();
        let (_, sel) = self.key_condition::<V>(key);
        let sel = match key {
            Key::Column(_) => sel,
            Key::Tuple(_) => format!("tuple({sel})"),
        };
        self.gather_part(name, sel, Some((key, values)))
    }

    /// [`Check::lookup`] as column `name` of [`Sink::gather`] (an `Array` of tuples of
    /// `columns`; `DateTime` columns as seconds).
    pub fn gather_lookup<V: Param>(
        self,
        name: &'static str,
        key: impl Into<Key>,
        values: Vec<V>,
        columns: &[&'static str],
    ) -> GatherPart {
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
        let sel = if select.len() == 1 {
            select.join("")
        } else {
            format!("tuple({})", select.join(", "))
        };
        self.gather_part(name, sel, Some((key.into(), values)))
    }

    /// [`Check::values`] as column `name` of [`Sink::gather`].
    pub fn gather_values(self, name: &'static str, column: &'static str) -> GatherPart {
        self.assert_column(column);
        let sel = select_expr(self.table(), column);
        self.gather_part::<u64>(name, sel, None)
    }
}
