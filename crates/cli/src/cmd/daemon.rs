//! `altrepodb daemon` and the `altrepod` / `uploaderd` aliases: the AMQP-driven upload service.
//!
//! Files: `-c config.json` (services, notifier, and the new `http` and `shutdown_timeout`) and
//! `-s services.d/` (one JSON file per service); see `altrepodb_daemon::config`.
//! Exit codes: 0 after SIGTERM/SIGINT (running jobs finished or requeued), 1 on a
//! configuration or start-up error.

use std::path::PathBuf;

use altrepodb_daemon::config::DaemonConfig;
use altrepodb_daemon::{Daemon, Registry};
use anyhow::{Context, Result};

use crate::logging::{self, LogFormat, LogSettings};

/// Options of `altrepodb daemon` (the original `uploaderd`'s, plus logging choices).
#[derive(Debug, clap::Parser)]
#[command(name = "altrepod", about = "ALTRepo DB upload daemon")]
pub struct DaemonArgs {
    /// Daemon configuration (JSON).
    #[arg(
        short = 'c',
        long = "config",
        default_value = "/etc/uploaderd/config.json"
    )]
    pub config: PathBuf,
    /// Services configuration directory.
    #[arg(
        short = 's',
        long = "service-dir",
        default_value = "/etc/uploaderd/services.d/"
    )]
    pub service_dir: PathBuf,
    /// Debug logging.
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,
    /// Log line format on stderr (the journal under systemd).
    #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Also log to syslog (/dev/log, ident altrepodb), as the original did.
    #[arg(long = "syslog")]
    pub syslog: bool,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(args: &DaemonArgs) -> Result<i32> {
    logging::init(
        &LogSettings {
            to_console: true,
            to_file: false,
            to_syslog: args.syslog,
            syslog_ident: "altrepodb".into(),
            debug: args.debug,
            format: args.log_format,
        },
        "uploaderd",
        None,
        None,
    )?;
    let cfg = DaemonConfig::load(&args.config, &args.service_dir).with_context(|| {
        format!(
            "loading {} and {}",
            args.config.display(),
            args.service_dir.display()
        )
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("altrepod")
        .build()?;
    rt.block_on(async {
        let daemon = Daemon::start(cfg, Registry::default()).await?;
        daemon.run_until_signal().await?;
        Ok::<_, anyhow::Error>(())
    })?;
    // Loads abandoned at the shutdown deadline may still hold blocking threads.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(0)
}
