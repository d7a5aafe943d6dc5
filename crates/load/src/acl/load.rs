//! Loading the ACL lists: lines that differ from the latest stored list of their branch.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use altrepodb_db::rows_feeds::AclRow;
use altrepodb_db::sink::Sink;
use altrepodb_db::{registry, Db, DbError};
use clickhouse::Row;
use serde::Deserialize;

use super::parse::{branch_of, is_acl_file, parse_acl, AclParseError};
use crate::feed::{datetime, FeedOptions};
use crate::http::{as_dir, entry_url, join_url, Decode, HttpClient, HttpError};
use crate::listing::{parse_listing_bytes, ListingError};
use crate::report::{LoadReport, Skipped};

/// The original's listing URL.
pub const DEFAULT_URL: &str = "http://git.altlinux.org/acl";

/// Why a load failed (nothing was written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AclError {
    /// A download.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The listing page.
    #[error("{url}: {source}")]
    Listing {
        /// The listing URL.
        url: String,
        /// Where and what.
        source: ListingError,
    },
    /// An ACL file has no usable modification time in the listing.
    #[error("{url}: no modification time for {name} in the listing")]
    NoDate {
        /// The listing URL.
        url: String,
        /// The file.
        name: String,
    },
    /// A malformed ACL file.
    #[error("{url}: {source}")]
    Parse {
        /// The file's URL.
        url: String,
        /// The line and what is wrong.
        source: AclParseError,
    },
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(Debug, Deserialize, Row)]
struct Stored {
    acl_for: String,
    acl_list: Vec<String>,
}

/// Downloads the listing and every ACL file, then writes the lines that changed.
pub async fn load_acl(db: &Db, opts: &FeedOptions) -> Result<LoadReport, AclError> {
    let started = Instant::now();
    let mut report = LoadReport::new(registry::loader::ACL, false);
    report.subject = format!("acl {}", opts.url);
    let dir = as_dir(&opts.url);
    let client = HttpClient::new(opts.timeout)?;
    let page = client.get(&dir, Decode::Plain).await?;
    let listing = parse_listing_bytes(&page.body).map_err(|source| AclError::Listing {
        url: page.head.url.clone(),
        source,
    })?;
    let base = as_dir(&page.head.url);
    // branch → rows, from every file, before anything is written.
    let mut by_branch: BTreeMap<String, Vec<AclRow>> = BTreeMap::new();
    let mut read = 0u64;
    let mut files: Vec<_> = listing
        .entries
        .iter()
        .filter(|e| !e.is_dir && is_acl_file(&e.name))
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    for e in files {
        let Some(url) = entry_url(&base, &e.href) else {
            report.skipped.push(Skipped::new(
                join_url(&base, &e.href),
                "the link leaves the listing's directory",
            ));
            continue;
        };
        let Some(branch) = branch_of(&e.name) else {
            report
                .skipped
                .push(Skipped::new(url, "no branch in the file name"));
            continue;
        };
        let date = e.mtime.and_then(datetime).ok_or_else(|| AclError::NoDate {
            url: page.head.url.clone(),
            name: e.name.clone(),
        })?;
        let file = client.get(&url, Decode::Plain).await?;
        let lines = parse_acl(&file.body).map_err(|source| AclError::Parse {
            url: url.clone(),
            source,
        })?;
        read += lines.len() as u64;
        by_branch
            .entry(branch.clone())
            .or_default()
            .extend(lines.into_iter().map(|l| AclRow {
                acl_date: date,
                acl_for: l.acl_for,
                acl_branch: branch.clone(),
                acl_list: l.members,
            }));
    }
    report.read = Some(read);
    let mut sink = Sink::new(db, "acl", false).with_context(&opts.url);
    let mut new = Vec::new();
    for (branch, rows) in by_branch {
        let stored: HashMap<String, Vec<String>> = db
            .client()
            .query("SELECT acl_for, acl_list FROM last_acl WHERE acl_branch = ?")
            .bind(&branch)
            .fetch_all::<Stored>()
            .await
            .map_err(|e| db.classify(&e, &format!("reading last_acl of {branch}")))?
            .into_iter()
            .map(|s| (s.acl_for, s.acl_list))
            .collect();
        // The last line for a name wins within one load.
        let mut latest: BTreeMap<String, AclRow> = BTreeMap::new();
        for r in rows {
            latest.insert(r.acl_for.clone(), r);
        }
        new.extend(
            latest
                .into_values()
                .filter(|r| stored.get(&r.acl_for) != Some(&r.acl_list)),
        );
    }
    sink.write(new).await?;
    report.rows = sink.finish().await?;
    report.elapsed = started.elapsed();
    Ok(report)
}
