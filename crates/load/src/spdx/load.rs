//! Loading the list: every entry not stored exactly is written.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use altrepodb_db::rows_feeds::SPDXLicensesRow;
use altrepodb_db::sink::Sink;
use altrepodb_db::{registry, Db, DbError};

use super::parse::{parse_spdx, SpdxParseError};
use super::source::{git_pull, read_copy, SpdxSourceError};
use crate::report::LoadReport;

/// What `spdx_loader -g DIR [--update]` does.
#[derive(Debug, Clone)]
pub struct SpdxOptions {
    /// The local copy of license-list-data.
    pub root: PathBuf,
    /// `git pull` inside it first.
    pub update: bool,
}

/// Why a load failed (nothing was written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpdxError {
    /// Reading the copy.
    #[error(transparent)]
    Source(#[from] SpdxSourceError),
    /// A malformed document.
    #[error(transparent)]
    Parse(#[from] SpdxParseError),
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// An internal task failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Reads and parses the whole copy before anything is written.
pub fn read_rows(opts: &SpdxOptions) -> Result<Vec<SPDXLicensesRow>, SpdxError> {
    if opts.update {
        git_pull(&opts.root)?;
    }
    let files = read_copy(&opts.root)?;
    files
        .iter()
        .map(|f| parse_spdx(&f.path.display().to_string(), &f.data, f.kind).map_err(Into::into))
        .collect()
}

/// Loads the list; the report counts entries read and rows written.
pub async fn load_spdx(db: &Db, opts: &SpdxOptions) -> Result<LoadReport, SpdxError> {
    let started = Instant::now();
    let o = opts.clone();
    let rows = tokio::task::spawn_blocking(move || read_rows(&o))
        .await
        .map_err(|e| SpdxError::Internal(e.to_string()))??;
    let mut report = LoadReport::new(registry::loader::SPDX, false);
    report.subject = format!("spdx {}", opts.root.display());
    report.read = Some(rows.len() as u64);
    let mut sink = Sink::new(db, "spdx", false).with_context(opts.root.display().to_string());
    let stored: HashSet<SPDXLicensesRow> = sink
        .check::<SPDXLicensesRow>()
        .rows()
        .await?
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    let new: Vec<SPDXLicensesRow> = rows
        .into_iter()
        .filter(|r| !stored.contains(r) && seen.insert(r.clone()))
        .collect();
    sink.write(new).await?;
    report.rows = sink.finish().await?;
    report.elapsed = started.elapsed();
    Ok(report)
}
