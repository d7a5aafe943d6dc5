//! `altrepodb repo load` and the `repo_loader` alias.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use altrepodb_load::bounded::ReadLimits;
use altrepodb_load::repo::{load_repo, RepoLoadOptions};
use altrepodb_load::Observer;
use anyhow::Result;
use indicatif::ProgressBar;

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
    /// Database and logging options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Progress bars per phase.
#[derive(Default)]
struct Bars {
    current: Mutex<Option<ProgressBar>>,
}

impl Observer for Bars {
    fn phase(&self, name: &str, total: u64) {
        let bar = if total == 0 {
            crate::progress::spinner(name)
        } else {
            crate::progress::bar(name, total)
        };
        if let Ok(mut cur) = self.current.lock() {
            if let Some(old) = cur.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(cur) = self.current.lock() {
            if let Some(b) = cur.as_ref() {
                b.inc(n);
            }
        }
    }

    fn finish_phase(&self) {
        if let Ok(mut cur) = self.current.lock() {
            if let Some(b) = cur.take() {
                b.finish_and_clear();
            }
        }
    }
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
    };
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let bars: Arc<dyn Observer> = Arc::new(Bars::default());
        let report = load_repo(&db, &opts, bars).await?;
        if opts.dry_run {
            for name in &report.new_packages {
                println!("new: {name}");
            }
        }
        println!("{}", report.summary());
        Ok(0)
    })
}
