//! Downloads of one branch and arch.

use crate::http::{as_dir, join_url, Decode, HttpClient, HttpError};
use crate::listing::{parse_listing_bytes, ListingError};

use super::parse::{parse_ftbfs_since, parse_time_list, BeehiveParseError};

/// Why a download or its parse failed; every variant names the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BeehiveSourceError {
    /// The download.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A listing page.
    #[error("{url}: {source}")]
    Listing {
        /// The page.
        url: String,
        /// Where and what.
        source: ListingError,
    },
    /// A text file.
    #[error("{url}: {source}")]
    Parse {
        /// The file.
        url: String,
        /// The line and what is wrong.
        source: BeehiveParseError,
    },
}

/// What Beehive publishes for one branch and arch.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Modification time of `latest` in the arch's log listing.
    pub updated: i64,
    /// `latest/time.list`.
    pub times: Vec<(String, f32)>,
    /// Entries of `latest/error/`.
    pub error: Vec<String>,
    /// Entries of `latest/success/`.
    pub success: Vec<String>,
    /// `stats/<branch>/<arch>/ftbfs-since` (empty when the file does not exist).
    pub ftbfs_since: Vec<(String, u32)>,
}

/// The date of `latest` in `<base>/logs/<branch>/<arch>/`, or `None` when there is no such
/// entry (a directory `latest/` or a link `latest` alike; the original failed on `latest/`).
pub async fn latest_date(
    client: &HttpClient,
    base: &str,
    branch: &str,
    arch: &str,
) -> Result<Option<i64>, BeehiveSourceError> {
    let url = as_dir(&join_url(&as_dir(base), &format!("logs/{branch}/{arch}")));
    let page = client.get(&url, Decode::Plain).await?;
    let l = parse_listing_bytes(&page.body).map_err(|source| BeehiveSourceError::Listing {
        url: page.head.url.clone(),
        source,
    })?;
    Ok(l.get("latest").and_then(|e| e.mtime))
}

async fn names(client: &HttpClient, url: &str) -> Result<Vec<String>, BeehiveSourceError> {
    let page = client.get(url, Decode::Plain).await?;
    let l = parse_listing_bytes(&page.body).map_err(|source| BeehiveSourceError::Listing {
        url: page.head.url.clone(),
        source,
    })?;
    Ok(l.entries.into_iter().map(|e| e.name).collect())
}

/// Downloads the rest of one target (its date already known).
pub async fn fetch_target(
    client: &HttpClient,
    base: &str,
    branch: &str,
    arch: &str,
    updated: i64,
) -> Result<Target, BeehiveSourceError> {
    let latest = as_dir(&join_url(
        &as_dir(base),
        &format!("logs/{branch}/{arch}/latest"),
    ));
    let time_url = join_url(&latest, "time.list");
    let t = client.get(&time_url, Decode::Plain).await?;
    let times = parse_time_list(&t.body).map_err(|source| BeehiveSourceError::Parse {
        url: time_url.clone(),
        source,
    })?;
    let error = names(client, &join_url(&latest, "error/")).await?;
    let success = names(client, &join_url(&latest, "success/")).await?;
    let ftbfs_url = join_url(&as_dir(base), &format!("stats/{branch}/{arch}/ftbfs-since"));
    let ftbfs_since = match client.get(&ftbfs_url, Decode::Plain).await {
        Ok(f) => parse_ftbfs_since(&f.body).map_err(|source| BeehiveSourceError::Parse {
            url: ftbfs_url.clone(),
            source,
        })?,
        // No statistics for this arch yet: every error dates from the update.
        Err(HttpError::Status { status, .. }) if status.starts_with("404") => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(Target {
        updated,
        times,
        error,
        success,
        ftbfs_since,
    })
}
