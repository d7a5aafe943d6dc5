//! `altrepodb bot` and the `altrepobot` alias: the notifier's messages posted to Telegram.
//!
//! Exit codes: 0 after SIGTERM/SIGINT (the message in hand, if any, stays in the queue),
//! 1 on a configuration error.

use std::path::PathBuf;

use altrepodb_daemon::bot::{self, BotConfig};
use anyhow::{Context, Result};

use crate::logging::{self, LogFormat, LogSettings};

/// Options of `altrepodb bot` (the original `altrepobot`'s, plus logging choices).
#[derive(Debug, clap::Parser)]
#[command(name = "altrepobot", about = "ALTRepo DB notifier bot for Telegram")]
pub struct BotArgs {
    /// Bot configuration (INI: [TELEGRAM] token, chatid; [AMQP] host, port, vhost, queue, …).
    #[arg(short = 'c', long = "config", default_value = "/etc/altrepobot.conf")]
    pub config: PathBuf,
    /// Debug logging.
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,
    /// Log line format on stderr (the journal under systemd).
    #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Runs the bot until SIGTERM or SIGINT.
pub fn run(args: &BotArgs) -> Result<i32> {
    logging::init(
        &LogSettings {
            to_console: true,
            to_file: false,
            to_syslog: false,
            syslog_ident: "altrepobot".into(),
            debug: args.debug,
            format: args.log_format,
        },
        "altrepobot",
        None,
        None,
    )?;
    let cfg = BotConfig::load(&args.config)
        .with_context(|| format!("loading {}", args.config.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("altrepobot")
        .build()?;
    rt.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let bot = tokio::spawn(bot::run(cfg, stop_rx));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("stopping");
        let _ = stop_tx.send(true);
        bot.await??;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(0)
}
