//! One module per subcommand; shared set-up lives here.

pub mod amqpfire;
pub mod bench;
pub mod bot;
pub mod cluster;
pub mod daemon;
pub mod db;
pub mod feeds;
pub mod generate;
pub mod repo;
pub mod server;
pub mod sql;
pub mod task;

use altrepodb_db::embedded::EmbeddedOptions;
use altrepodb_db::{Db, DbSettings};
use anyhow::Result;

use crate::cli::CommonArgs;
use crate::config::{altrepodb_home, resolve_db, IniConfig};
use crate::logging::{self, LogSettings};

/// Everything a database command needs before it connects.
pub struct Setup {
    /// The loaded `config.ini` (empty without `-c`).
    pub ini: IniConfig,
    /// Resolved database settings.
    pub settings: DbSettings,
}

/// Loads the config, starts logging for `tool`, and resolves the database settings.
pub fn setup(common: &CommonArgs, tool: &str) -> Result<Setup> {
    setup_with(common, tool, None, None)
}

/// [`setup`] with the log file's tag and date (the original names log files after them).
pub fn setup_with(
    common: &CommonArgs,
    tool: &str,
    tag: Option<&str>,
    date: Option<&str>,
) -> Result<Setup> {
    let ini = match &common.config {
        Some(path) => IniConfig::load(path)?,
        None => IniConfig::empty(),
    };
    logging::init(
        &LogSettings::from_ini(&ini, common.debug, common.log_format),
        tool,
        tag,
        date,
    )?;
    let settings = resolve_db(&common.overrides(), &ini)?;
    Ok(Setup { ini, settings })
}

/// Options for the embedded server when no database is configured.
pub fn embedded_options() -> EmbeddedOptions {
    EmbeddedOptions {
        home: altrepodb_home(),
        python: None,
        idle_exit_secs: std::env::var("ALTREPODB_EMBEDDED_IDLE_EXIT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30),
        port: None,
        data: None,
    }
}

/// A single-threaded-enough runtime for the CLI's database I/O.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Connects with the resolved settings.
pub async fn connect(settings: &DbSettings, require_database: bool) -> Result<Db> {
    let db = Db::connect(settings, &embedded_options(), require_database).await?;
    tracing::debug!(url = db.url(), version = db.server_version(), "connected");
    Ok(db)
}
