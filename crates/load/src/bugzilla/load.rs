//! Loading the bug list: new and changed bugs only.

use std::collections::HashMap;
use std::time::Instant;

use altrepodb_db::rows_feeds::BugzillaRow;
use altrepodb_db::sink::Sink;
use altrepodb_db::{registry, Db, DbError};

use super::parse::{parse_buglist, CsvError, COLUMNS};
use crate::feed::FeedOptions;
use crate::http::{Decode, HttpClient, HttpError};
use crate::report::LoadReport;

/// The original's `buglist.cgi`.
pub const DEFAULT_URL: &str = "https://bugzilla.altlinux.org/buglist.cgi";

/// Why a load failed (nothing was written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BugzillaError {
    /// The download.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// Malformed CSV.
    #[error("{url}: {source}")]
    Parse {
        /// The URL.
        url: String,
        /// Line, offset and what is wrong.
        source: CsvError,
    },
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// `base` with the original's query (`limit=0`, advanced, CSV, human, the column list).
pub fn buglist_url(base: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!(
        "{base}{sep}limit=0&query_format=advanced&ctype=csv&human=1&columnlist={}",
        COLUMNS.join("%2C")
    )
}

/// The fields the CSV carries (the `*_full` columns only come from AMQP messages, so they
/// are not compared: a bug an AMQP message stored is not written again unchanged).
fn csv_view(r: &BugzillaRow) -> BugzillaRow {
    BugzillaRow {
        bz_assignee_full: String::new(),
        bz_reporter_full: String::new(),
        ..r.clone()
    }
}

/// Loads the bug list: every bug that differs from its latest stored row.
pub async fn load_bugzilla(db: &Db, opts: &FeedOptions) -> Result<LoadReport, BugzillaError> {
    let started = Instant::now();
    let url = buglist_url(&opts.url);
    let mut report = LoadReport::new(registry::loader::BUGZILLA, false);
    report.subject = format!("bugzilla {}", opts.url);
    let client = HttpClient::new(opts.timeout)?;
    let dl = client.get(&url, Decode::Plain).await?;
    let rows = parse_buglist(&dl.body).map_err(|source| BugzillaError::Parse {
        url: dl.head.url.clone(),
        source,
    })?;
    drop(dl);
    report.read = Some(rows.len() as u64);
    let latest: HashMap<u32, BugzillaRow> = db
        .client()
        .query("SELECT ?fields FROM Bugzilla ORDER BY bz_id, ts DESC LIMIT 1 BY bz_id")
        .fetch_all::<BugzillaRow>()
        .await
        .map_err(|e| db.classify(&e, "reading the latest Bugzilla rows"))?
        .into_iter()
        .map(|r| (r.bz_id, csv_view(&r)))
        .collect();
    // The last record of a bug wins if the list names it twice.
    let mut by_id: HashMap<u32, BugzillaRow> = HashMap::new();
    let mut order = Vec::new();
    for r in rows {
        if by_id.insert(r.bz_id, r.clone()).is_none() {
            order.push(r.bz_id);
        }
    }
    let new: Vec<BugzillaRow> = order
        .into_iter()
        .filter_map(|id| by_id.remove(&id))
        .filter(|r| latest.get(&r.bz_id) != Some(&csv_view(r)))
        .collect();
    let mut sink = Sink::new(db, "bugzilla", false).with_context(&opts.url);
    sink.write(new).await?;
    report.rows = sink.finish().await?;
    report.elapsed = started.elapsed();
    Ok(report)
}
