//! Making a finished load durable.
//!
//! The loaders write through Buffer tables, as the original did. A Buffer keeps rows in the
//! server's memory until one of its thresholds passes (up to 100–200 s here), so a server
//! crash or `kill -9` in that window loses them. A load therefore flushes the Buffers it
//! wrote before it writes the row that publishes it (the root `PackageSetName` row of a
//! package set, the `TaskStates` row of a task); that row itself goes to a MergeTree table
//! directly. Once the publishing row is visible, every row it refers to is on disk.
//!
//! `OPTIMIZE TABLE <buffer>` flushes every layer of a Buffer into its destination table and
//! returns when that INSERT (with the materialized views attached to the destination) is
//! done; a failed flush fails the statement and leaves the rows in the Buffer. Current
//! ClickHouse holds a layer's lock while flushing it, so a flush the server started by itself
//! finishes before `OPTIMIZE` moves on. This is the same on the embedded engine and on a real
//! server (which also flushes its Buffers on a clean shutdown, but not on `kill -9`). "On
//! disk" means in the destination's parts, written without `fsync` by default
//! (`fsync_after_insert = 0`): they survive the server process, not a power cut.
//!
//! The order keeps what the materialized views read durable before what fires them, and
//! `PackageHash_buffer` last of the package rows: a package with a `PackageHash` row counts
//! as complete for later loads, so its other rows must not be lost behind it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::client::Db;
use crate::error::DbError;

/// Buffers of package rows in flush order: what the `Packages` materialized views join
/// against (`Changelog`) before `Packages`, `PackageHash` last.
pub const PACKAGE_BUFFERS: &[&str] = &[
    "Changelog_buffer",
    "FileNames_buffer",
    "Files_buffer",
    "Depends_buffer",
    "Specfiles_buffer",
    "Packages_buffer",
    "PackageHash_buffer",
];

/// Buffers a repository load writes, flushed before its root `PackageSetName` row.
pub const PACKAGE_SET_LOAD: &[&str] = &[
    "Changelog_buffer",
    "FileNames_buffer",
    "Files_buffer",
    "Depends_buffer",
    "Specfiles_buffer",
    "Packages_buffer",
    "PackageSet_buffer",
    "PackageHash_buffer",
];

/// Buffers a task load writes, flushed before its `TaskStates` row (whose materialized view
/// `mv_package_history` reads the task and package tables).
pub const TASK_LOAD: &[&str] = &[
    "Changelog_buffer",
    "FileNames_buffer",
    "Files_buffer",
    "Depends_buffer",
    "Specfiles_buffer",
    "Packages_buffer",
    "PackageHash_buffer",
    "Tasks_buffer",
    "TaskLogs_buffer",
    "TaskChroots_buffer",
    "TaskIterations_buffer",
];

/// Nanoseconds this process has spent in [`flush_buffers`] (the price of durability).
static FLUSH_NANOS: AtomicU64 = AtomicU64::new(0);

/// Time this process has spent flushing Buffers so far: benchmarks report it next to the
/// load time, so the cost of durability is measured, not guessed.
pub fn time_spent_flushing() -> Duration {
    Duration::from_nanos(FLUSH_NANOS.load(Ordering::Relaxed))
}

/// Flushes `buffers` in the given order; returns the time it took.
pub async fn flush_buffers(db: &Db, buffers: &[&str]) -> Result<Duration, DbError> {
    let started = Instant::now();
    for b in buffers {
        db.execute(&format!("OPTIMIZE TABLE {b}"), &format!("flushing {b}"))
            .await?;
    }
    let took = started.elapsed();
    FLUSH_NANOS.fetch_add(
        u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    tracing::debug!(
        buffers = buffers.len(),
        "flushed Buffers in {:.3} s",
        took.as_secs_f64()
    );
    Ok(took)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_hash_is_the_last_package_buffer() {
        for list in [PACKAGE_BUFFERS, PACKAGE_SET_LOAD] {
            assert_eq!(list.last(), Some(&"PackageHash_buffer"));
        }
        for b in PACKAGE_BUFFERS {
            assert!(PACKAGE_SET_LOAD.contains(b) && TASK_LOAD.contains(b), "{b}");
        }
        let pos = |l: &[&str], t: &str| l.iter().position(|b| *b == t).unwrap();
        assert!(pos(TASK_LOAD, "PackageHash_buffer") < pos(TASK_LOAD, "Tasks_buffer"));
    }
}
