//! Statements that change rows as a whole, not a loader's rows: what the server derives with
//! `INSERT … SELECT`, and the removal of a package set being replaced. Their SQL lives
//! here, with the schema, and not in a loader.

use clickhouse::Row;
use serde::Deserialize;

use crate::client::Db;
use crate::error::DbError;

/// The original's global file-provides query (original-system §5.6): a `provide` row for
/// every file whose path some package requires and no package provides. Read through the
/// buffers, so its result does not depend on when they flush; it selects only names nobody
/// provides yet, so running it again adds nothing.
const FILE_PROVIDES: &str =
    "SELECT DISTINCT F.pkg_hash AS pkg_hash, U.fn_name AS dp_name, '' AS dp_version, \
    toUInt32(0) AS dp_flag, 'provide' AS dp_type \
    FROM Files_buffer AS F \
    INNER JOIN ( \
        SELECT DISTINCT fn_hash, fn_name FROM FileNames_buffer WHERE fn_name IN ( \
            SELECT DISTINCT dp_name FROM Depends_buffer \
            WHERE dp_type = 'require' AND dp_name NOT LIKE 'rpmlib%' \
              AND dp_name NOT IN (SELECT dp_name FROM Depends_buffer WHERE dp_type = 'provide') \
        ) \
    ) AS U ON U.fn_hash = F.file_hashname";

#[derive(Debug, Deserialize, Row)]
struct CountRow {
    n: u64,
}

/// How many `Depends` rows [`insert_file_provides`] would add now.
pub async fn count_file_provides(db: &Db, context: &str) -> Result<u64, DbError> {
    let q = db
        .client()
        .query_raw(&format!("SELECT count() AS n FROM ({FILE_PROVIDES})"));
    let rows: Vec<CountRow> = crate::sink::fetch_counted(q, "file provides (count)")
        .await
        .map_err(|e| db.classify(&e, &format!("{context}: counting file provides")))?;
    Ok(rows.first().map(|r| r.n).unwrap_or(0))
}

/// Adds the file-provides rows to `Depends` and returns how many it added (the server's
/// `written_rows`), in one round trip. The rows go to `Depends` itself, not its Buffer: they
/// are on disk when this returns, with no flush to follow.
pub async fn insert_file_provides(db: &Db, context: &str) -> Result<u64, DbError> {
    crate::client::stats::round_trips_add(1);
    let sql = format!(
        "INSERT INTO Depends (pkg_hash, dp_name, dp_version, dp_flag, dp_type) {FILE_PROVIDES}"
    );
    let err = |e: clickhouse::error::Error| {
        db.classify(&e, &format!("{context}: inserting file provides"))
    };
    let mut cursor = db
        .client()
        .query_raw(&sql)
        .with_setting("wait_end_of_query", "1")
        .fetch_bytes("TabSeparated")
        .map_err(err)?;
    cursor.collect().await.map_err(err)?;
    // ClickHouse (and the embedded server) answer every statement with the summary.
    Ok(cursor.summary().and_then(|s| s.written_rows()).unwrap_or(0))
}

/// Removes the package-set trees with root UUIDs `roots` (as text) and what their roots
/// derived (`last_packages_stage1`, the `StaticLastPackages` rows of `name` at `date`), so
/// a `--force` reload replaces a package set instead of doubling it. `PackageSet_buffer` is
/// flushed first so no buffered membership row survives.
pub async fn remove_package_sets(
    db: &Db,
    name: &str,
    date: u32,
    roots: &[String],
) -> Result<(), DbError> {
    let statements = [
        "OPTIMIZE TABLE PackageSet_buffer",
        "DELETE FROM PackageSet WHERE pkgset_uuid IN (SELECT pkgset_uuid FROM PackageSetName \
         WHERE toString(pkgset_ruuid) IN {r:Array(String)})",
        "DELETE FROM last_packages_stage1 WHERE toString(pkgset_ruuid) IN {r:Array(String)}",
        "DELETE FROM StaticLastPackages WHERE pkgset_name = {n:String} AND pkgset_date = toDateTime({d:UInt32})",
        "DELETE FROM PackageSetName WHERE toString(pkgset_ruuid) IN {r:Array(String)}",
    ];
    for sql in statements {
        crate::client::stats::round_trips_add(1);
        db.client()
            .query_raw(sql)
            .param("r", roots)
            .param("n", name)
            .param("d", date)
            .execute()
            .await
            .map_err(|e| db.classify(&e, "removing the existing package set"))?;
    }
    Ok(())
}
