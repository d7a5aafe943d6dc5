//! Loading the file: a check by file name, the package's rows, durability, the report.

use std::path::PathBuf;
use std::time::Instant;

use altrepodb_db::rows::PackagesRow;
use altrepodb_db::sink::Sink;
use altrepodb_db::{flush, registry, Db, DbError};

use super::source::{read_source_file, SourceError};
use crate::bounded::ReadLimits;
use crate::package_store::PackageStore;
use crate::report::LoadReport;

/// What `package_loader FILE [-F] [-f]` does.
#[derive(Debug, Clone)]
pub struct PackageLoadOptions {
    /// The source RPM file.
    pub path: PathBuf,
    /// `-F`: load even when `Packages` has this package under this file name (every table
    /// is still written insert-if-absent, so nothing is doubled).
    pub force: bool,
    /// `-f`: also flush the buffers the original flushed (its task tables among them).
    pub flush: bool,
    /// Caps on the spec file read from the payload.
    pub limits: ReadLimits,
}

impl PackageLoadOptions {
    /// Loads `path`, nothing forced or flushed beyond the load's own rows.
    pub fn new(path: impl Into<PathBuf>) -> PackageLoadOptions {
        PackageLoadOptions {
            path: path.into(),
            force: false,
            flush: false,
            limits: ReadLimits::default(),
        }
    }
}

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageLoadError {
    /// The file.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// An internal task failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Buffers `-f` flushes besides the package ones, as the original named them.
const ORIGINAL_FLUSH: &[&str] = &["TaskIterations_buffer", "Tasks_buffer", "TaskStates_buffer"];

/// Loads one source RPM; the report names the file and counts the rows written.
pub async fn load_package(
    db: &Db,
    opts: &PackageLoadOptions,
) -> Result<LoadReport, PackageLoadError> {
    let started = Instant::now();
    let path = opts.path.clone();
    let limits = opts.limits;
    let file = tokio::task::spawn_blocking(move || read_source_file(&path, &limits))
        .await
        .map_err(|e| PackageLoadError::Internal(e.to_string()))??;
    let mut report = LoadReport::new(registry::loader::PACKAGE, false);
    report.subject = opts.path.display().to_string();
    report.packages_seen = 1;
    let pkg_hash = file.rows.pkg_hash;
    let file_name = file.rows.package.pkg_filename.clone();
    let mut sink = Sink::new(db, format!("package:{pkg_hash}"), false)
        .with_context(opts.path.display().to_string());
    // The original's check: the hashes stored under this file name.
    let known: Vec<u64> = sink
        .check::<PackagesRow>()
        .eq("pkg_filename", file_name)
        .values("pkg_hash")
        .await?;
    if !known.contains(&pkg_hash) || opts.force {
        report.packages_new = 1;
        PackageStore::new()
            .write(&mut sink, vec![(file.digests, file.rows)])
            .await?;
        // Durable before the command returns: PackageHash_buffer (what marks the package
        // complete) last.
        sink.before_root(flush::PACKAGE_BUFFERS).await?;
    }
    if opts.flush {
        sink.flush_buffers(ORIGINAL_FLUSH).await?;
    }
    report.rows = sink.finish().await?;
    report.elapsed = started.elapsed();
    Ok(report)
}
