//! The `altrepodb` command line: subcommands and their options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::DbOverrides;
use crate::logging::LogFormat;
use crate::rpm_show::RpmShowArgs;

/// ALTRepo Uploader: loads ALT Linux repositories, build tasks and images into ClickHouse.
#[derive(Debug, Parser)]
#[command(name = "altrepodb", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands of `altrepodb`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, inspect and verify the schema.
    Db {
        /// The `db` action.
        #[command(subcommand)]
        action: DbAction,
    },
    /// Run SQL against the configured database (embedded or server).
    Sql(SqlArgs),
    /// Run the embedded ClickHouse-compatible server in the foreground.
    Server(ServerArgs),
    /// Load branch snapshots.
    Repo {
        /// The `repo` action.
        #[command(subcommand)]
        action: RepoAction,
    },
    /// Load and clean girar build tasks.
    Task {
        /// The `task` action.
        #[command(subcommand)]
        action: TaskAction,
    },
    /// Load the SPDX license list from a local copy (the original spdx_loader).
    Spdx {
        /// The `spdx` action.
        #[command(subcommand)]
        action: SpdxAction,
    },
    /// Load watch-total.txt: newer upstream versions (the original watch_loader).
    Watch {
        /// The `watch` action.
        #[command(subcommand)]
        action: UrlFeedAction,
    },
    /// Load Repocop test results (the original repocop_loader).
    Repocop {
        /// The `repocop` action.
        #[command(subcommand)]
        action: UrlFeedAction,
    },
    /// Load the Bugzilla bug list (the original bugzilla_loader).
    Bugzilla {
        /// The `bugzilla` action.
        #[command(subcommand)]
        action: UrlFeedAction,
    },
    /// Load maintainer ACL lists from a directory listing (the original acl_loader).
    Acl {
        /// The `acl` action.
        #[command(subcommand)]
        action: AclAction,
    },
    /// Load Beehive rebuild results (the original beehive_loader).
    Beehive {
        /// The `beehive` action.
        #[command(subcommand)]
        action: BeehiveAction,
    },
    /// Run the AMQP-driven upload service (the original `uploaderd`).
    Daemon(crate::cmd::daemon::DaemonArgs),
    /// Publish a trigger message to a daemon service (the original `repodb_amqpfire`).
    Amqpfire(crate::cmd::amqpfire::AmqpfireArgs),
    /// Post the notifier's messages to a Telegram chat (the original `altrepobot`).
    Bot(crate::cmd::bot::BotArgs),
    /// Shell completions and man pages from this command line's definition.
    Generate {
        /// The `generate` action.
        #[command(subcommand)]
        action: crate::cmd::generate::GenerateAction,
    },
    /// Inspect RPM files.
    Rpm {
        /// The `rpm` action.
        #[command(subcommand)]
        action: RpmAction,
    },
    /// Generate realistic test data (branch snapshots, tasks).
    Testdata(crate::testdata_cmd::TestdataArgs),
    /// Floors for the benchmarks.
    #[command(hide = true, subcommand)]
    Bench(BenchAction),
    /// Print the original tool names this binary answers to (used by the set-up script).
    #[command(hide = true)]
    Aliases,
}

/// `altrepodb db …`
#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Create the database and every schema object (idempotent), and seed LicenseAliases.
    Init(crate::cmd::cluster::DbInitArgs),
    /// Show the schema version and object counts.
    Status(CommonArgs),
    /// Compare the live database with the expected schema; exit 1 on any difference.
    Check(crate::cmd::cluster::DbCheckArgs),
    /// List every table and view: which loader writes it (row type, insert target) and which
    /// views read it (no database needed).
    Tables,
    /// Print the live schema as a manifest (what `db check` compares against).
    #[command(hide = true)]
    Manifest(CommonArgs),
}

/// `altrepodb bench …`
#[derive(Debug, Subcommand)]
pub enum BenchAction {
    /// Read every RPM's header bytes once (the floor of a repository load).
    ReadHeaders(crate::cmd::bench::ReadHeadersArgs),
}

/// `altrepodb spdx …`
#[derive(Debug, Subcommand)]
pub enum SpdxAction {
    /// Load licenses and exceptions not stored yet.
    Load(crate::cmd::feeds::SpdxLoadArgs),
}

/// `altrepodb watch|repocop|bugzilla …`
#[derive(Debug, Subcommand)]
pub enum UrlFeedAction {
    /// Download the feed and write what is new.
    Load(crate::cmd::feeds::UrlFeedArgs),
}

/// `altrepodb acl …`
#[derive(Debug, Subcommand)]
pub enum AclAction {
    /// Download the listing and its ACL files and write the lines that changed.
    Load(crate::cmd::feeds::AclLoadArgs),
}

/// `altrepodb beehive …`
#[derive(Debug, Subcommand)]
pub enum BeehiveAction {
    /// Download the results of every branch and arch whose date is new and write them.
    Load(crate::cmd::feeds::BeehiveLoadArgs),
}

/// `altrepodb repo …`
#[derive(Debug, Subcommand)]
pub enum RepoAction {
    /// Load one dated snapshot of a branch as a package-set tree.
    Load(crate::cmd::repo::RepoLoadArgs),
}

/// `altrepodb task …`
#[derive(Debug, Subcommand)]
pub enum TaskAction {
    /// Load one girar task directory.
    Load(crate::cmd::task::TaskLoadArgs),
    /// Mark tasks that vanished from the task tree as DELETED.
    Clean(crate::cmd::task::TaskCleanArgs),
}

/// `altrepodb rpm …`
#[derive(Debug, Subcommand)]
pub enum RpmAction {
    /// Print the header fields of RPM files.
    Show(RpmShowArgs),
}

/// Options every database command accepts: the `altrepodb` subcommands and the original tool
/// names alike (the original's names and short letters, plus `--secure` and `--log-format`).
#[derive(Debug, Clone, Args, Default)]
pub struct CommonArgs {
    /// Configuration file (INI; sections DEFAULT, LOGGING, DATABASE).
    #[arg(
        short = 'c',
        long = "config",
        env = "ALTREPODB_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// ClickHouse database name.
    #[arg(short = 'd', long = "dbname")]
    pub dbname: Option<String>,
    /// ClickHouse host name (none: the embedded database).
    #[arg(short = 's', long = "host")]
    pub host: Option<String>,
    /// ClickHouse HTTP port (8123; 8443 with --secure).
    #[arg(short = 'p', long = "port")]
    pub port: Option<String>,
    /// ClickHouse user name.
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// ClickHouse password.
    #[arg(short = 'P', long = "password")]
    pub password: Option<String>,
    /// Use HTTPS to ClickHouse.
    #[arg(long)]
    pub secure: bool,
    /// Debug logging.
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,
    /// Console log format.
    #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl CommonArgs {
    /// The database options as overrides for [`crate::config::resolve_db`].
    pub fn overrides(&self) -> DbOverrides {
        DbOverrides {
            dbname: self.dbname.clone(),
            host: self.host.clone(),
            port: self.port.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            secure: self.secure,
        }
    }
}

/// Output formats of `altrepodb sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlFormat {
    /// Aligned table (ClickHouse `PrettyCompactMonoBlock`).
    Pretty,
    /// Tab-separated values, no header (ClickHouse `TabSeparated`).
    Tsv,
    /// One JSON object a line (ClickHouse `JSONEachRow`).
    Json,
}

/// `altrepodb sql`
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query; `-` reads it from standard input.
    pub query: String,
    /// Output format (default: pretty on a terminal, tsv otherwise).
    #[arg(short = 'f', long = "format", value_enum)]
    pub format: Option<SqlFormat>,
    /// Database options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `altrepodb server`
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Data directory (default `$ALTREPODB_HOME/data`).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Port to listen on (8123 by default; 0 picks a free one).
    #[arg(long, default_value_t = 8123)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Debug logging.
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,
}
