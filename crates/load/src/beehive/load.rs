//! Loading Beehive results: one branch and arch at a time, each checked on its own.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use altrepodb_db::rows_feeds::{BeehiveResult, BeehiveStatusRow};
use altrepodb_db::sink::Sink;
use altrepodb_db::{registry, Db, DbError};
use clickhouse::Row;
use serde::Deserialize;

use super::parse::{parse_nvr, Nvr};
use super::source::{fetch_target, latest_date, BeehiveSourceError, Target};
use crate::feed::datetime;
use crate::http::{HttpClient, HttpError};
use crate::report::{LoadReport, Skipped};

/// The original's base URL.
pub const DEFAULT_URL: &str = "https://git.altlinux.org/beehive";
/// The original's branches.
pub const DEFAULT_BRANCHES: &[&str] = &["Sisyphus", "p10", "p9"];
/// The original's arches.
pub const DEFAULT_ARCHES: &[&str] = &["i586", "x86_64"];

/// What `beehive_loader` does.
#[derive(Debug, Clone)]
pub struct BeehiveOptions {
    /// Base URL (`…/beehive`).
    pub url: String,
    /// Branches as Beehive names them (`Sisyphus`); stored lower-cased.
    pub branches: Vec<String>,
    /// Arches.
    pub arches: Vec<String>,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// Why a load failed (nothing was written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BeehiveError {
    /// A download or its parse.
    #[error(transparent)]
    Source(#[from] BeehiveSourceError),
    /// Setting up the client.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(Debug, Clone, Deserialize, Row)]
struct Pkg {
    pkg_hash: u64,
    pkg_name: String,
    pkg_version: String,
    pkg_release: String,
}

#[derive(Debug, Deserialize, Row)]
struct MaxRow {
    t: u32,
}

/// Source packages of the branch's `srpm` node at `day` (UTC midnight), or of the newest
/// earlier snapshot after 2000-01-01.
async fn branch_packages(db: &Db, branch: &str, day: u32) -> Result<Vec<Pkg>, DbError> {
    let sql = "SELECT pkg_hash, pkg_name, pkg_version, pkg_release FROM Packages \
        WHERE pkg_sourcepackage = 1 AND pkg_hash IN ( \
          SELECT pkg_hash FROM PackageSet WHERE pkgset_uuid IN ( \
            SELECT pkgset_uuid FROM PackageSetName WHERE pkgset_nodename = 'srpm' \
              AND pkgset_ruuid IN ( \
                SELECT argMax(pkgset_ruuid, pkgset_date) FROM PackageSetName \
                WHERE pkgset_depth = 0 AND pkgset_nodename = ? \
                  AND pkgset_date <= toDateTime(?) \
                  AND pkgset_date > toDateTime('2000-01-01 00:00:00', 'UTC') \
                HAVING count() > 0)))";
    db.client()
        .query(sql)
        .bind(branch)
        .bind(day)
        .fetch_all::<Pkg>()
        .await
        .map_err(|e| db.classify(&e, &format!("reading the {branch} package set")))
}

/// Task-built source packages of `branch` named one of `names`.
async fn task_packages(db: &Db, branch: &str, names: Vec<String>) -> Result<Vec<Pkg>, DbError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let sql = "SELECT DISTINCT pkg_hash, pkg_name, pkg_version, pkg_release FROM Packages \
        WHERE pkg_sourcepackage = 1 AND pkg_name IN ? AND pkg_hash IN ( \
          SELECT titer_srcrpm_hash FROM TaskIterations WHERE (task_id, subtask_id) IN ( \
            SELECT task_id, subtask_id FROM Tasks WHERE task_repo = ?))";
    db.client()
        .query(sql)
        .bind(names)
        .bind(branch)
        .fetch_all::<Pkg>()
        .await
        .map_err(|e| db.classify(&e, &format!("reading task packages of {branch}")))
}

fn key(p: &Pkg) -> Nvr {
    Nvr {
        name: p.pkg_name.clone(),
        version: p.pkg_version.clone(),
        release: p.pkg_release.clone(),
    }
}

/// Rows of one target, or why it is skipped.
async fn target_rows(
    db: &Db,
    branch: &str,
    arch: &str,
    t: &Target,
) -> Result<Result<Vec<BeehiveStatusRow>, String>, BeehiveError> {
    let updated = datetime(t.updated).unwrap_or(0);
    let day = updated - updated % 86_400;
    let pkgs = branch_packages(db, branch, day).await?;
    // The original's consistency checks, per arch (the original gave up the whole branch).
    if t.times.len() > pkgs.len() {
        return Ok(Err(format!(
            "{} packages in time.list but {} in the branch's package set",
            t.times.len(),
            pkgs.len()
        )));
    }
    let timed: BTreeSet<Nvr> = t.times.iter().map(|(p, _)| parse_nvr(p)).collect();
    let mut status: BTreeMap<Nvr, BeehiveResult> = BTreeMap::new();
    for s in &t.success {
        status.insert(parse_nvr(s), BeehiveResult::Success);
    }
    for e in &t.error {
        status.insert(parse_nvr(e), BeehiveResult::Error);
    }
    let listed: BTreeSet<Nvr> = status.keys().cloned().collect();
    if timed != listed {
        return Ok(Err(format!(
            "time.list names {} packages, success/ and error/ {} (not the same set)",
            timed.len(),
            listed.len()
        )));
    }
    let mut known: HashMap<Nvr, u64> = pkgs.iter().map(|p| (key(p), p.pkg_hash)).collect();
    let missing: Vec<String> = listed
        .iter()
        .filter(|k| !known.contains_key(*k))
        .map(|k| k.name.clone())
        .collect();
    for p in task_packages(db, branch, missing).await? {
        known.entry(key(&p)).or_insert(p.pkg_hash);
    }
    let times: HashMap<Nvr, f32> = t.times.iter().map(|(p, s)| (parse_nvr(p), *s)).collect();
    let ftbfs: HashMap<&str, u32> = t
        .ftbfs_since
        .iter()
        .map(|(n, s)| (n.as_str(), *s))
        .collect();
    let mut rows = Vec::new();
    let mut unknown = Vec::new();
    for (k, st) in status {
        // A package neither in the branch nor built by its tasks is reported, not a crash.
        let Some(&pkg_hash) = known.get(&k) else {
            unknown.push(format!("{}-{}-{}", k.name, k.version, k.release));
            continue;
        };
        let since = match st {
            BeehiveResult::Success => updated,
            BeehiveResult::Error => ftbfs.get(k.name.as_str()).copied().unwrap_or(updated),
        };
        rows.push(BeehiveStatusRow {
            pkg_hash,
            pkg_name: k.name.clone(),
            pkg_version: k.version.clone(),
            pkg_release: k.release.clone(),
            pkgset_name: branch.to_owned(),
            bh_arch: arch.to_owned(),
            bh_status: st,
            bh_build_time: times.get(&k).copied().unwrap_or(0.0),
            bh_updated: updated,
            bh_ftbfs_since: since,
        });
    }
    if !unknown.is_empty() {
        tracing::warn!(
            "beehive {branch}/{arch}: {} packages neither in the branch nor built by its tasks: {}",
            unknown.len(),
            unknown.join(" ")
        );
    }
    Ok(Ok(rows))
}

/// Loads every branch × arch whose `latest` date is not stored yet.
pub async fn load_beehive(db: &Db, opts: &BeehiveOptions) -> Result<LoadReport, BeehiveError> {
    let started = Instant::now();
    let mut report = LoadReport::new(registry::loader::BEEHIVE, false);
    report.subject = format!("beehive {}", opts.url);
    let client = HttpClient::new(opts.timeout)?;
    // Everything is downloaded before anything is written.
    let mut targets = Vec::new();
    for branch in &opts.branches {
        let name = branch.to_lowercase();
        for arch in &opts.arches {
            let Some(updated) = latest_date(&client, &opts.url, branch, arch).await? else {
                report.skipped.push(Skipped::new(
                    format!("{}/logs/{branch}/{arch}/", opts.url.trim_end_matches('/')),
                    "no `latest` entry",
                ));
                continue;
            };
            let stored: Vec<MaxRow> = db
                .client()
                .query(
                    "SELECT toUnixTimestamp(max(bh_updated)) AS t FROM BeehiveStatus \
                     WHERE pkgset_name = ? AND bh_arch = ?",
                )
                .bind(&name)
                .bind(arch)
                .fetch_all()
                .await
                .map_err(|e| db.classify(&e, "reading BeehiveStatus"))?;
            if stored.first().map(|r| i64::from(r.t)) == Some(updated) {
                continue;
            }
            let t = fetch_target(&client, &opts.url, branch, arch, updated).await?;
            targets.push((name.clone(), arch.clone(), t));
        }
    }
    let mut all = Vec::new();
    let mut read = 0u64;
    for (branch, arch, t) in &targets {
        read += t.times.len() as u64;
        match target_rows(db, branch, arch, t).await? {
            Ok(rows) => all.extend(rows),
            Err(why) => report
                .skipped
                .push(Skipped::new(format!("beehive {branch}/{arch}"), why)),
        }
    }
    report.read = Some(read);
    let mut sink = Sink::new(db, "beehive", false).with_context(&opts.url);
    sink.write(all).await?;
    report.rows = sink.finish().await?;
    report.elapsed = started.elapsed();
    Ok(report)
}
