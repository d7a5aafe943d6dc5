//! `altrepodb server`: the embedded ClickHouse-compatible server in the foreground.

use altrepodb_db::embedded::EmbeddedServer;
use anyhow::Result;

use super::embedded_options;
use crate::cli::ServerArgs;

/// Runs the server until SIGTERM/SIGINT; says on stderr how other clients authenticate.
pub fn run(args: &ServerArgs) -> Result<i32> {
    let mut opts = embedded_options();
    opts.idle_exit_secs = 0;
    if let Some(data) = &args.data {
        opts.data = Some(data.clone());
    }
    let host = args.host.clone();
    let mut announce = |port: u16, password: &altrepodb_db::server_password::ServerPassword| {
        let shown = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        eprintln!(
            "altrepodb server: {}",
            password.instructions(&format!("http://{shown}:{port}"))
        );
    };
    Ok(EmbeddedServer::run_foreground(
        &opts,
        &args.host,
        args.port,
        &mut announce,
    )?)
}
