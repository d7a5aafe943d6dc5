//! `altrepodb repo load` and the `repo_loader` alias.

use std::path::PathBuf;
use std::sync::Arc;

use altrepodb_load::bounded::ReadLimits;
use altrepodb_load::repo::{load_repo, RepoLoadOptions};
use altrepodb_load::Observer;
use anyhow::Result;

use super::{connect, runtime, setup_with};
use crate::cli::CommonArgs;
use crate::config::workers;

/// Options of `altrepodb repo load`.
#[derive(Debug, clap::Args)]
pub struct RepoLoadArgs {
    /// Package set (branch) name, e.g. sisyphus, p10 (lower-cased).
    pub pkgset: String,
    /// Snapshot root directory.
    pub path: PathBuf,
    /// Snapshot date, YYYY-MM-DD.
    #[arg(short = 'A', long = "date")]
    pub date: String,
    /// Assignment tag stored in pkgset_tag.
    #[arg(short = 't', long = "tag", default_value = "")]
    pub tag: String,
    /// Threads for parsing packages (default: [DEFAULT] workers, else the number of CPUs).
    #[arg(short = 'w', long = "workers")]
    pub workers: Option<usize>,
    /// Replace the snapshot if this name and date are loaded already.
    #[arg(short = 'F', long = "force")]
    pub force: bool,
    /// Print rows per table and the new packages; write nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Report a corrupt package file (path, offset) and leave it out instead of failing.
    #[arg(long = "skip-bad")]
    pub skip_bad: bool,
    /// Database and logging options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Runs a repository load; prints the summary line (and the new packages with `--dry-run`).
pub fn load(args: &RepoLoadArgs) -> Result<i32> {
    let s = setup_with(
        &args.common,
        "repo_loader",
        Some(&args.pkgset.to_lowercase()),
        Some(&args.date),
    )?;
    let default_workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let opts = RepoLoadOptions {
        pkgset: args.pkgset.clone(),
        path: args.path.clone(),
        date: args.date.clone(),
        tag: args.tag.clone(),
        workers: args
            .workers
            .unwrap_or_else(|| workers(&s.ini, default_workers)),
        force: args.force,
        dry_run: args.dry_run,
        limits: ReadLimits::from_env()?,
        skip_bad: args.skip_bad,
    };
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let bars: Arc<dyn Observer> = Arc::new(crate::progress::Bars::default());
        let report = load_repo(&db, &opts, bars).await?;
        if opts.dry_run {
            for name in &report.new_packages {
                println!("new: {name}");
            }
        }
        crate::progress::print_report(&report);
        Ok(0)
    })
}
