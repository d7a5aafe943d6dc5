//! `altrepodb server`: the embedded ClickHouse-compatible server in the foreground.

use altrepodb_db::embedded::EmbeddedServer;
use anyhow::Result;

use super::embedded_options;
use crate::cli::ServerArgs;

/// Runs the server until SIGTERM/SIGINT.
pub fn run(args: &ServerArgs) -> Result<i32> {
    let mut opts = embedded_options();
    opts.idle_exit_secs = 0;
    if let Some(data) = &args.data {
        opts.data = Some(data.clone());
    }
    Ok(EmbeddedServer::run_foreground(
        &opts, &args.host, args.port,
    )?)
}
