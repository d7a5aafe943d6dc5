//! The original tool names (`repo_loader`, `task_loader`, …) as aliases of the one binary.
//!
//! Each alias accepts the original's options exactly (original-system §1). The set-up script
//! links every name [`all`] lists to the `altrepodb` binary; `main` dispatches on argv[0].
//! Loaders that declare their own command line ([`crate::loaders`]) get their alias there.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser};

use crate::cli::CommonArgs;

pub use crate::cmd::amqpfire::AmqpfireArgs;
pub use crate::cmd::daemon::DaemonArgs;

/// The original tool names declared here (see [`all`] for every one).
pub const ALIASES: &[&str] = &[
    "repo_loader",
    "task_loader",
    "image_loader",
    "iso_loader",
    "acl_loader",
    "beehive_loader",
    "bugzilla_loader",
    "repocop_loader",
    "watch_loader",
    "spdx_loader",
    "task_cleaner",
    "repodb_amqpfire",
    "altrepod",
    "uploaderd",
    "altrepobot",
];

/// Every original tool name this binary answers to: [`ALIASES`] and the declared loaders'.
pub fn all() -> Vec<&'static str> {
    let mut names = ALIASES.to_vec();
    names.extend(crate::loaders::DECLARED.iter().map(|l| l.tool()));
    names
}

/// `repo_loader pkgset path [-t TAG] [-w N] [-v] [-A DATE] [-F]`
#[derive(Debug, Parser)]
#[command(
    name = "repo_loader",
    about = "Load repository structure into database"
)]
pub struct RepoLoaderArgs {
    /// Repository name.
    pub pkgset: String,
    /// Path to packages.
    pub path: PathBuf,
    /// Assignment tag.
    #[arg(short = 't', long = "tag", default_value = "")]
    pub tag: String,
    /// Workers count (default: [DEFAULT] workers from config, else 10).
    #[arg(short = 'w', long = "workers")]
    pub workers: Option<usize>,
    /// Verbose mode.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Set repository datetime release, YYYY-MM-DD.
    #[arg(short = 'A', long = "date")]
    pub date: Option<String>,
    /// Force to load repository with same name and date as existing one in database.
    #[arg(short = 'F', long = "force")]
    pub force: bool,
    /// Database options.
    #[command(flatten)]
    pub db: CommonArgs,
}

/// `task_loader path [-w N] [-J] [-F] [-f]`
#[derive(Debug, Parser)]
#[command(name = "task_loader", about = "Load build task into database")]
pub struct TaskLoaderArgs {
    /// Path to task directory.
    pub path: PathBuf,
    /// Workers count.
    #[arg(short = 'w', long = "workers", default_value_t = 4)]
    pub workers: usize,
    /// Dump parsed task structure to JSON file.
    #[arg(short = 'J', long = "dumpjson")]
    pub dumpjson: bool,
    /// Force to load packages from task to database.
    #[arg(short = 'F', long = "force")]
    pub force: bool,
    /// Force to flush buffer tables after task loaded.
    #[arg(short = 'f', long = "flush-buffers")]
    pub flush_buffers: bool,
    /// Database options.
    #[command(flatten)]
    pub db: CommonArgs,
}

/// Image metadata options shared by `image_loader` and `iso_loader`.
#[derive(Debug, Clone, Args)]
pub struct ImageMetaArgs {
    /// Image edition.
    #[arg(long)]
    pub edition: String,
    /// Image version (X, X.Y or X.Y.Z).
    #[arg(long = "version")]
    pub version: String,
    /// Image release type.
    #[arg(long)]
    pub release: String,
    /// Image platform.
    #[arg(long, default_value = "")]
    pub platform: String,
    /// Image variant.
    #[arg(long)]
    pub variant: String,
    /// Image flavor.
    #[arg(long, default_value = "")]
    pub flavor: String,
    /// Image architecture.
    #[arg(long)]
    pub arch: String,
    /// Image base branch name.
    #[arg(long)]
    pub branch: String,
    /// Image release date (YYYY-MM-DD).
    #[arg(long)]
    pub date: String,
    /// Image download URL.
    #[arg(long)]
    pub url: String,
    /// Force to load an image that already exists in the database.
    #[arg(short = 'F', long = "force")]
    pub force: bool,
    /// Do not write to the database.
    #[arg(short = 't', long = "dry-run")]
    pub dry_run: bool,
}

/// `image_loader path --edition … --type tar|img|qcow …`
#[derive(Debug, Parser)]
#[command(
    name = "image_loader",
    about = "Load image file into database",
    disable_version_flag = true
)]
pub struct ImageLoaderArgs {
    /// Path to image file.
    pub path: PathBuf,
    /// Image type.
    #[arg(long = "type")]
    pub type_: String,
    /// Image metadata.
    #[command(flatten)]
    pub meta: ImageMetaArgs,
    /// Database options.
    #[command(flatten)]
    pub db: CommonArgs,
}

/// `iso_loader path --edition … `
#[derive(Debug, Parser)]
#[command(
    name = "iso_loader",
    about = "Load ISO image into database",
    disable_version_flag = true
)]
pub struct IsoLoaderArgs {
    /// Path to ISO image file.
    pub path: PathBuf,
    /// Image metadata.
    #[command(flatten)]
    pub meta: ImageMetaArgs,
    /// Database options.
    #[command(flatten)]
    pub db: CommonArgs,
}

/// `acl_loader [url]`
#[derive(Debug, Parser)]
#[command(name = "acl_loader", about = "Load ACL lists into database")]
pub struct AclLoaderArgs {
    /// ACL listing URL.
    #[arg(default_value = "http://git.altlinux.org/acl")]
    pub url: String,
    /// Seconds to wait for an answer and between body chunks (the original's 10).
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Database options.
    #[command(flatten)]
    pub db: CommonArgs,
}

/// `beehive_loader [--url BASE] [--branches B,…] [--arches A,…] [--timeout S]`: the original
/// had database options only; the base URL, branches and arches were hard-coded (the defaults).
#[derive(Debug, Parser)]
#[command(
    name = "beehive_loader",
    about = "Load Beehive rebuild results into database"
)]
pub struct BeehiveLoaderArgs {
    /// The options of `altrepodb beehive load` (one declaration for both spellings).
    #[command(flatten)]
    pub args: crate::cmd::feeds::BeehiveLoadArgs,
}

/// `bugzilla_loader|repocop_loader|watch_loader [--url URL] [--timeout S]`: the original's
/// options plus the feed's URL (default: the original's hard-coded one).
#[derive(Debug, Parser)]
pub struct UrlFeedLoaderArgs {
    /// The feed's URL (default: the original's).
    #[arg(long)]
    pub url: Option<String>,
    /// Seconds to wait for an answer and between body chunks.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Database options.
    #[command(flatten)]
    pub db: CommonArgs,
}

fn url_feed(feed: crate::cmd::feeds::UrlFeed, args: Vec<OsString>) -> anyhow::Result<i32> {
    let a = UrlFeedLoaderArgs::try_parse_from(&args).unwrap_or_else(|e| e.exit());
    crate::cmd::feeds::url_feed(
        feed,
        &crate::cmd::feeds::UrlFeedArgs {
            url: a.url,
            timeout: a.timeout,
            common: a.db,
        },
    )
}

/// `spdx_loader [-g DIR]`
#[derive(Debug, Parser)]
#[command(name = "spdx_loader", about = "Load SPDX license list into database")]
pub struct SpdxLoaderArgs {
    /// Local clone of the SPDX license list data.
    #[arg(short = 'g', long = "git-root", default_value = "~/SPDX")]
    pub git_root: String,
    /// Run `git pull` inside the clone first.
    #[arg(long)]
    pub update: bool,
    /// Database options.
    #[command(flatten)]
    pub db: CommonArgs,
}

/// `task_cleaner path [-t ID] [-x]`
#[derive(Debug, Parser)]
#[command(
    name = "task_cleaner",
    about = "Mark tasks that vanished from the task tree as DELETED"
)]
pub struct TaskCleanerArgs {
    /// Tasks root directory.
    pub path: PathBuf,
    /// Limit to one task.
    #[arg(short = 't', long = "task-id", value_parser = clap::value_parser!(u32).range(1..))]
    pub task_id: Option<u32>,
    /// Do not write to the database.
    #[arg(short = 'x', long = "dry-run")]
    pub dry_run: bool,
    /// Database options.
    #[command(flatten)]
    pub db: CommonArgs,
}

/// `repo_loader` → `altrepodb repo load`.
fn repo_loader(a: RepoLoaderArgs) -> anyhow::Result<i32> {
    let Some(date) = a.date else {
        // The original crashed without --date; say so instead.
        anyhow::bail!("repo_loader: --date YYYY-MM-DD is required");
    };
    crate::cmd::repo::load(&crate::cmd::repo::RepoLoadArgs {
        pkgset: a.pkgset,
        path: a.path,
        date,
        tag: a.tag,
        workers: a.workers,
        force: a.force,
        dry_run: false,
        skip_bad: false,
        common: a.db,
    })
}

/// Parses `args` as alias `name` (clap exits on `--help` or a usage error) and runs it.
///
/// Returns `None` when `name` is not an alias.
pub fn run(name: &str, args: Vec<OsString>) -> Option<i32> {
    let done = |r: anyhow::Result<i32>| Some(r.unwrap_or_else(|e| crate::report(&e)));
    if let Some(loader) = crate::loaders::by_tool(name) {
        let m = crate::loaders::alias_command(loader)
            .try_get_matches_from(&args)
            .unwrap_or_else(|e| e.exit());
        return done(crate::loaders::run(loader, &m));
    }
    match name {
        "repo_loader" => {
            let a = RepoLoaderArgs::try_parse_from(&args).unwrap_or_else(|e| e.exit());
            return done(repo_loader(a));
        }
        "task_loader" => {
            let a = TaskLoaderArgs::try_parse_from(&args).unwrap_or_else(|e| e.exit());
            return done(crate::cmd::task::load(&crate::cmd::task::from_task_loader(
                a,
            )));
        }
        "task_cleaner" => {
            let a = TaskCleanerArgs::try_parse_from(&args).unwrap_or_else(|e| e.exit());
            return done(crate::cmd::task::clean(
                &crate::cmd::task::from_task_cleaner(a),
            ));
        }
        "spdx_loader" => {
            let a = SpdxLoaderArgs::try_parse_from(&args).unwrap_or_else(|e| e.exit());
            return done(crate::cmd::feeds::spdx(&crate::cmd::feeds::SpdxLoadArgs {
                git_root: a.git_root,
                update: a.update,
                common: a.db,
            }));
        }
        "watch_loader" => return done(url_feed(crate::cmd::feeds::UrlFeed::Watch, args)),
        "repocop_loader" => return done(url_feed(crate::cmd::feeds::UrlFeed::Repocop, args)),
        "bugzilla_loader" => return done(url_feed(crate::cmd::feeds::UrlFeed::Bugzilla, args)),
        "beehive_loader" => {
            let a = BeehiveLoaderArgs::try_parse_from(&args).unwrap_or_else(|e| e.exit());
            return done(crate::cmd::feeds::beehive(&a.args));
        }
        "acl_loader" => {
            let a = AclLoaderArgs::try_parse_from(&args).unwrap_or_else(|e| e.exit());
            return done(crate::cmd::feeds::acl(&crate::cmd::feeds::AclLoadArgs {
                url: a.url,
                timeout: a.timeout,
                common: a.db,
            }));
        }
        "altrepod" | "uploaderd" => {
            let a = DaemonArgs::try_parse_from(&args).unwrap_or_else(|e| e.exit());
            return done(crate::cmd::daemon::run(&a));
        }
        "altrepobot" => {
            let a = crate::cmd::bot::BotArgs::try_parse_from(&args).unwrap_or_else(|e| e.exit());
            return done(crate::cmd::bot::run(&a));
        }
        "repodb_amqpfire" => {
            let a = AmqpfireArgs::try_parse_from(&args).unwrap_or_else(|e| e.exit());
            return done(crate::cmd::amqpfire::run(&a));
        }
        _ => {}
    }
    // What `altrepodb` subcommand will take over each tool once its loader exists.
    let (parsed, successor): (Result<(), clap::Error>, &str) = match name {
        "image_loader" => (
            ImageLoaderArgs::try_parse_from(&args).map(drop),
            "altrepodb image load",
        ),
        "iso_loader" => (
            IsoLoaderArgs::try_parse_from(&args).map(drop),
            "altrepodb image load",
        ),
        _ => return None,
    };
    if let Err(err) = parsed {
        err.exit();
    }
    eprintln!(
        "altrepodb: {name}: not implemented yet in altrepodb {} (it will run as `{successor}`); nothing was done",
        env!("CARGO_PKG_VERSION")
    );
    Some(crate::EXIT_UNAVAILABLE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn alias_parsers_are_well_formed() {
        RepoLoaderArgs::command().debug_assert();
        TaskLoaderArgs::command().debug_assert();
        ImageLoaderArgs::command().debug_assert();
        IsoLoaderArgs::command().debug_assert();
        AclLoaderArgs::command().debug_assert();
        BeehiveLoaderArgs::command().debug_assert();
        UrlFeedLoaderArgs::command().debug_assert();
        SpdxLoaderArgs::command().debug_assert();
        TaskCleanerArgs::command().debug_assert();
        AmqpfireArgs::command().debug_assert();
        DaemonArgs::command().debug_assert();
    }

    #[test]
    fn repo_loader_takes_the_original_options() {
        let a = RepoLoaderArgs::try_parse_from([
            "repo_loader",
            "Sisyphus",
            "/repo",
            "-t",
            "tag",
            "-w",
            "8",
            "-A",
            "2024-03-01",
            "-F",
            "-c",
            "config.ini",
            "-s",
            "host",
            "-p",
            "8123",
            "-u",
            "user",
            "-P",
            "pw",
            "-d",
            "repodb",
            "-D",
        ])
        .unwrap();
        assert_eq!(a.pkgset, "Sisyphus");
        assert_eq!(a.workers, Some(8));
        assert_eq!(a.date.as_deref(), Some("2024-03-01"));
        assert!(a.force && a.db.debug);
        assert_eq!(a.db.port.as_deref(), Some("8123"));
    }

    #[test]
    fn task_cleaner_rejects_zero_id() {
        assert!(TaskCleanerArgs::try_parse_from(["task_cleaner", "/tasks", "-t", "0"]).is_err());
        assert!(
            TaskCleanerArgs::try_parse_from(["task_cleaner", "/tasks", "-t", "5", "-x"]).is_ok()
        );
    }

    #[test]
    fn amqpfire_requires_config_and_service() {
        assert!(AmqpfireArgs::try_parse_from(["repodb_amqpfire", "-s", "repo"]).is_err());
        let a = AmqpfireArgs::try_parse_from([
            "repodb_amqpfire",
            "-c",
            "f.json",
            "-s",
            "repo",
            "-p",
            "p10",
            "2024-03-01",
        ])
        .unwrap();
        assert_eq!(a.params, ["p10", "2024-03-01"]);
    }
}
