//! The enrichment-feed loaders: `altrepodb spdx|watch|repocop|bugzilla|acl|beehive load`
//! (the original `spdx_loader`, `watch_loader`, … ; original-system §1.6–§1.11, §8).

use std::path::PathBuf;

use std::time::Duration;

use altrepodb_load::feed::FeedOptions;
use altrepodb_load::spdx::{load_spdx, SpdxOptions};
use altrepodb_load::LoadReport;
use anyhow::Result;

use super::{connect, runtime, setup_with};
use crate::cli::CommonArgs;

/// `~/x` → `$HOME/x` (the original's default `-g ~/SPDX` is written with a tilde).
pub fn expand_home(path: &str) -> PathBuf {
    match path
        .strip_prefix("~/")
        .or(if path == "~" { Some("") } else { None })
    {
        Some(rest) => {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(rest)
        }
        None => PathBuf::from(path),
    }
}

/// Options of `altrepodb spdx load`.
#[derive(Debug, clap::Args)]
pub struct SpdxLoadArgs {
    /// Local copy of SPDX license-list-data (`json/details`, `json/exceptions`).
    #[arg(short = 'g', long = "git-root", default_value = "~/SPDX")]
    pub git_root: String,
    /// Run `git pull` inside the copy first (it must be a git clone).
    #[arg(long)]
    pub update: bool,
    /// Database and logging options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Loads the SPDX license list; prints the summary line.
pub fn spdx(args: &SpdxLoadArgs) -> Result<i32> {
    let s = setup_with(&args.common, "spdx_loader", None, None)?;
    let opts = SpdxOptions {
        root: expand_home(&args.git_root),
        update: args.update,
    };
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let report = load_spdx(&db, &opts).await?;
        crate::progress::print_report(&report);
        Ok(0)
    })
}

/// Options of `altrepodb watch|repocop|bugzilla load`.
#[derive(Debug, clap::Args)]
pub struct UrlFeedArgs {
    /// The feed's URL (default: the original's).
    #[arg(long)]
    pub url: Option<String>,
    /// Seconds to wait for an answer and between body chunks.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Database and logging options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Which URL feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlFeed {
    /// `watch_loader`.
    Watch,
    /// `repocop_loader`.
    Repocop,
    /// `bugzilla_loader`.
    Bugzilla,
}

impl UrlFeed {
    fn tool(self) -> &'static str {
        match self {
            UrlFeed::Watch => "watch_loader",
            UrlFeed::Repocop => "repocop_loader",
            UrlFeed::Bugzilla => "bugzilla_loader",
        }
    }

    fn default_url(self) -> &'static str {
        match self {
            UrlFeed::Watch => altrepodb_load::watch::DEFAULT_URL,
            UrlFeed::Repocop => altrepodb_load::repocop::DEFAULT_URL,
            UrlFeed::Bugzilla => altrepodb_load::bugzilla::DEFAULT_URL,
        }
    }
}

/// Runs one URL feed loader; prints the summary line.
pub fn url_feed(feed: UrlFeed, args: &UrlFeedArgs) -> Result<i32> {
    let s = setup_with(&args.common, feed.tool(), None, None)?;
    let opts = FeedOptions {
        url: args
            .url
            .clone()
            .unwrap_or_else(|| feed.default_url().to_owned()),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let report: LoadReport = match feed {
            UrlFeed::Watch => altrepodb_load::watch::load_watch(&db, &opts).await?,
            UrlFeed::Repocop => altrepodb_load::repocop::load_repocop(&db, &opts).await?,
            UrlFeed::Bugzilla => altrepodb_load::bugzilla::load_bugzilla(&db, &opts).await?,
        };
        crate::progress::print_report(&report);
        Ok(0)
    })
}

/// Options of `altrepodb acl load`.
#[derive(Debug, clap::Args)]
pub struct AclLoadArgs {
    /// The directory listing with `list.groups.*` and `list.packages.*`.
    #[arg(default_value = altrepodb_load::acl::DEFAULT_URL)]
    pub url: String,
    /// Seconds to wait for an answer and between body chunks.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Database and logging options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Loads the ACL lists; prints the summary line.
pub fn acl(args: &AclLoadArgs) -> Result<i32> {
    let s = setup_with(&args.common, "acl_loader", None, None)?;
    let opts = FeedOptions {
        url: args.url.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let report = altrepodb_load::acl::load_acl(&db, &opts).await?;
        crate::progress::print_report(&report);
        Ok(0)
    })
}

/// Options of `altrepodb beehive load`.
#[derive(Debug, clap::Args)]
pub struct BeehiveLoadArgs {
    /// Beehive's base URL.
    #[arg(long, default_value = altrepodb_load::beehive::DEFAULT_URL)]
    pub url: String,
    /// Branches as Beehive names them (comma-separated; default: Sisyphus,p10,p9).
    #[arg(long, value_delimiter = ',')]
    pub branches: Vec<String>,
    /// Arches (comma-separated; default: i586,x86_64).
    #[arg(long, value_delimiter = ',')]
    pub arches: Vec<String>,
    /// Seconds to wait for an answer and between body chunks.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Database and logging options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Loads Beehive results; prints the summary line.
pub fn beehive(args: &BeehiveLoadArgs) -> Result<i32> {
    use altrepodb_load::beehive::{BeehiveOptions, DEFAULT_ARCHES, DEFAULT_BRANCHES};
    let s = setup_with(&args.common, "beehive_loader", None, None)?;
    let or = |v: &Vec<String>, d: &[&str]| {
        if v.is_empty() {
            d.iter().map(|s| (*s).to_owned()).collect()
        } else {
            v.clone()
        }
    };
    let opts = BeehiveOptions {
        url: args.url.clone(),
        branches: or(&args.branches, DEFAULT_BRANCHES),
        arches: or(&args.arches, DEFAULT_ARCHES),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let report = altrepodb_load::beehive::load_beehive(&db, &opts).await?;
        crate::progress::print_report(&report);
        Ok(0)
    })
}
