//! Loading the Repocop file: only when it is newer than the newest stored test date.

use std::time::Instant;

use altrepodb_db::rows_feeds::PackagesRepocopRow;
use altrepodb_db::sink::Sink;
use altrepodb_db::{registry, Db, DbError};

use super::parse::{parse_repocop, RepocopParseError};
use crate::feed::{datetime, max_datetime, FeedOptions};
use crate::http::{Decode, HttpClient, HttpError};
use crate::report::LoadReport;

/// The original's URL.
pub const DEFAULT_URL: &str =
    "http://repocop.altlinux.org/pub/repocop/prometheus3/packages.altlinux-sisyphus.json.bz2";

/// Why a load failed (nothing was written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepocopError {
    /// The download (a truncated bzip2 stream included).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// Malformed JSON.
    #[error("{url}: {source}")]
    Parse {
        /// The URL.
        url: String,
        /// Line, column and what is wrong.
        source: RepocopParseError,
    },
    /// `Last-Modified` outside the `DateTime` range.
    #[error("{url}: Last-Modified {t} out of range")]
    Date {
        /// The URL.
        url: String,
        /// The value.
        t: i64,
    },
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Loads the Repocop results when the file is newer than what is stored.
pub async fn load_repocop(db: &Db, opts: &FeedOptions) -> Result<LoadReport, RepocopError> {
    let started = Instant::now();
    let mut report = LoadReport::new(registry::loader::REPOCOP, false);
    report.subject = format!("repocop {}", opts.url);
    report.read = Some(0);
    let stored = max_datetime(db, "PackagesRepocop", "rc_test_date").await?;
    let client = HttpClient::new(opts.timeout)?;
    let head = client.head(&opts.url).await?;
    let lm = head.require_last_modified()?;
    let mut sink = Sink::new(db, format!("repocop:{}", opts.url), false).with_context(&opts.url);
    if lm > stored {
        // The file's own Last-Modified dates the rows (it may have changed since the HEAD).
        let dl = client.get(&opts.url, Decode::Bzip2).await?;
        let lm = dl.head.last_modified.unwrap_or(lm);
        let date = datetime(lm).ok_or_else(|| RepocopError::Date {
            url: dl.head.url.clone(),
            t: lm,
        })?;
        let rows = parse_repocop(&dl.body, date).map_err(|source| RepocopError::Parse {
            url: dl.head.url.clone(),
            source,
        })?;
        drop(dl);
        report.read = Some(rows.len() as u64);
        sink.write::<PackagesRepocopRow>(rows).await?;
    }
    report.rows = sink.finish().await?;
    report.elapsed = started.elapsed();
    Ok(report)
}
