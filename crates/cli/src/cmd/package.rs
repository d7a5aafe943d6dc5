//! `altrepodb package load` (the original `package_loader FILE [-F] [-f]`).

use std::path::PathBuf;

use altrepodb_load::bounded::ReadLimits;
use altrepodb_load::package_loader::{load_package, PackageLoadOptions};
use anyhow::Result;

use super::{connect, runtime, setup_with};
use crate::cli::CommonArgs;

/// Options of `altrepodb package load`.
#[derive(Debug, clap::Args)]
pub struct PackageLoadArgs {
    /// The source RPM file.
    pub file: PathBuf,
    /// Load even if this package is stored under this file name.
    #[arg(short = 'F', long = "force")]
    pub force: bool,
    /// Also flush the buffers the original flushed (task buffers among them).
    #[arg(short = 'f', long = "flush-buffers")]
    pub flush: bool,
    /// Database and logging options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Loads one source RPM; prints the summary line.
pub fn load(args: &PackageLoadArgs) -> Result<i32> {
    let s = setup_with(&args.common, "package_loader", None, None)?;
    let opts = PackageLoadOptions {
        path: args.file.clone(),
        force: args.force,
        flush: args.flush,
        limits: ReadLimits::from_env()?,
    };
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let report = load_package(&db, &opts).await?;
        crate::progress::print_report(&report);
        Ok(0)
    })
}
