//! `altrepodb package load FILE [-F] [-f]`, the original `package_loader` with the same
//! options.

use std::marker::PhantomData;
use std::path::PathBuf;

use altrepodb_db::{registry, Db};

use super::load::{load_package, PackageLoadOptions};
use crate::bounded::ReadLimits;
use crate::command::{Declared, LoadFuture};

/// The options of `package_loader` (original-system §1.5).
#[derive(Debug, Clone, clap::Args)]
pub struct PackageLoaderArgs {
    /// The source RPM file.
    pub file: PathBuf,
    /// Load even if this package is stored under this file name.
    #[arg(short = 'F', long = "force")]
    pub force: bool,
    /// Also flush the buffers the original flushed (task buffers among them).
    #[arg(short = 'f', long = "flush-buffers")]
    pub flush: bool,
}

fn run(db: &Db, args: PackageLoaderArgs) -> LoadFuture<'_> {
    Box::pin(async move {
        let opts = PackageLoadOptions {
            path: args.file,
            force: args.force,
            flush: args.flush,
            limits: ReadLimits::from_env()?,
        };
        Ok(load_package(db, &opts).await?)
    })
}

/// The command line of `package_loader`.
pub static COMMAND: Declared<PackageLoaderArgs> = Declared {
    name: "package",
    tool: registry::loader::PACKAGE,
    about: "Load one source RPM file (the original package_loader)",
    load_about: "Load one source RPM: its package rows, spec file and digests",
    load: run,
    options: PhantomData,
};

#[cfg(test)]
mod tests {
    use clap::{Args, FromArgMatches};

    use super::*;

    #[test]
    fn the_original_options_parse() {
        let cmd = PackageLoaderArgs::augment_args(clap::Command::new("package_loader"));
        let m = cmd
            .try_get_matches_from(["package_loader", "x.src.rpm", "-F", "-f"])
            .unwrap();
        let a = PackageLoaderArgs::from_arg_matches(&m).unwrap();
        assert_eq!(a.file, PathBuf::from("x.src.rpm"));
        assert!(a.force && a.flush);
        let cmd = PackageLoaderArgs::augment_args(clap::Command::new("package_loader"));
        let m = cmd
            .try_get_matches_from(["package_loader", "y.src.rpm"])
            .unwrap();
        let a = PackageLoaderArgs::from_arg_matches(&m).unwrap();
        assert!(!a.force && !a.flush);
    }
}
