//! Loading the watch file: only when it is newer than the newest stored date.

use std::time::Instant;

use altrepodb_db::rows_feeds::PackagesWatchRow;
use altrepodb_db::sink::Sink;
use altrepodb_db::{registry, Db, DbError};

use super::parse::{parse_watch, WatchParseError};
use crate::feed::{datetime, max_datetime, FeedOptions};
use crate::http::{Decode, HttpClient, HttpError};
use crate::report::LoadReport;

/// The original's URL.
pub const DEFAULT_URL: &str = "https://watch.altlinux.org/pub/watch/watch-total.txt";

/// Why a load failed (nothing was written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The download.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A malformed line.
    #[error("{url}: {source}")]
    Parse {
        /// The URL.
        url: String,
        /// The line and what is wrong.
        source: WatchParseError,
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

/// Loads the watch file when it is newer than what is stored.
pub async fn load_watch(db: &Db, opts: &FeedOptions) -> Result<LoadReport, WatchError> {
    let started = Instant::now();
    let mut report = LoadReport::new(registry::loader::WATCH, false);
    report.subject = format!("watch {}", opts.url);
    report.read = Some(0);
    let stored = max_datetime(db, "PackagesWatch", "date_update").await?;
    let client = HttpClient::new(opts.timeout)?;
    let mut lm_err = None;
    let dl = client
        .get_if(&opts.url, Decode::Plain, |h| {
            match h.require_last_modified() {
                Ok(t) => t > stored,
                Err(e) => {
                    lm_err = Some(e);
                    false
                }
            }
        })
        .await?;
    if let Some(e) = lm_err {
        return Err(e.into());
    }
    let mut sink = Sink::new(db, format!("watch:{}", opts.url), false).with_context(&opts.url);
    if let Some(dl) = dl {
        let lm = dl.head.last_modified.unwrap_or_default();
        let date = datetime(lm).ok_or_else(|| WatchError::Date {
            url: dl.head.url.clone(),
            t: lm,
        })?;
        let rows = parse_watch(&dl.body, date).map_err(|source| WatchError::Parse {
            url: dl.head.url.clone(),
            source,
        })?;
        report.read = Some(rows.len() as u64);
        sink.write::<PackagesWatchRow>(rows).await?;
    }
    report.rows = sink.finish().await?;
    report.elapsed = started.elapsed();
    Ok(report)
}
