//! `altrepodb amqpfire` and the `repodb_amqpfire` alias: publish one trigger message.
//!
//! Prints `OK` after the broker confirmed the message; exit 1 with the reason otherwise
//! (unknown service or branch, bad date, broker unreachable, message not routed to any queue).

use std::path::PathBuf;

use altrepodb_daemon::amqpfire::{fire, FireConfig};
use anyhow::Result;

use crate::logging::{self, LogFormat, LogSettings};

/// Options of `altrepodb amqpfire` (the original `repodb_amqpfire`'s).
#[derive(Debug, clap::Parser)]
#[command(
    name = "repodb_amqpfire",
    about = "Publish a trigger message to an uploader service"
)]
pub struct AmqpfireArgs {
    /// Configuration file (JSON: host, port, vhost, exchange, username, password, cacert,
    /// cert, key, known_branches).
    #[arg(short = 'c', long = "config", required = true)]
    pub config: PathBuf,
    /// Service to trigger: repo, watch, repocop or beehive.
    #[arg(short = 's', long = "service", required = true)]
    pub service: String,
    /// Service parameters (repo: branch and YYYY-MM-DD).
    #[arg(short = 'p', long = "params", num_args = 0..)]
    pub params: Vec<String>,
    /// Debug logging.
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,
}

/// Publishes the trigger; prints `OK`.
pub fn run(args: &AmqpfireArgs) -> Result<i32> {
    logging::init(
        &LogSettings {
            to_console: true,
            to_file: false,
            to_syslog: false,
            syslog_ident: "altrepodb".into(),
            debug: args.debug,
            format: LogFormat::Text,
        },
        "repodb_amqpfire",
        None,
        None,
    )?;
    let cfg = FireConfig::load(&args.config)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(fire(&cfg, &args.service, &args.params))?;
    println!("OK");
    Ok(0)
}
