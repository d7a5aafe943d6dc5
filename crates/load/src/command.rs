//! A loader's command line, declared by the loader itself.
//!
//! A loader that runs as "read the options, connect, load, print the summary" declares a
//! [`LoaderCommand`] in its own folder: its options (a `clap::Args` struct), its original
//! tool name and the function that loads. The CLI lists the declared commands in one
//! place and gives each of them `altrepodb <name> load OPTIONS`, the original tool name
//! with the same options, the database and logging options every tool takes, the summary
//! line, the one-line errors and the exit codes. Adding such a loader therefore touches its
//! own folder, one line of that list and the table registry.

use std::error::Error;
use std::marker::PhantomData;

use altrepodb_db::Db;
use clap::{ArgMatches, FromArgMatches};

use crate::report::LoadReport;

/// What a load returns to the command line: its report, or the error (with its causes, so
/// the CLI can pick the exit code of a database error).
pub type CommandResult = Result<LoadReport, Box<dyn Error + Send + Sync>>;

/// A boxed, sendable future of a load.
pub type LoadFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = CommandResult> + Send + 'a>>;

/// A loader's command line (see the module documentation).
pub trait LoaderCommand: Sync {
    /// The subcommand: `altrepodb <name> load`.
    fn name(&self) -> &'static str;
    /// The original tool name; also the loader's name in logs, reports and the registry.
    fn tool(&self) -> &'static str;
    /// One line for `altrepodb --help`.
    fn about(&self) -> &'static str;
    /// One line for `altrepodb <name> load --help` and the original tool's `--help`.
    fn load_about(&self) -> &'static str;
    /// Adds the loader's own options to `cmd`.
    fn augment(&self, cmd: clap::Command) -> clap::Command;
    /// Loads with the options in `matches` (parsed from a command [`Self::augment`] built).
    fn run<'a>(&'a self, db: &'a Db, matches: &'a ArgMatches) -> LoadFuture<'a>;
}

/// A [`LoaderCommand`] from an options struct and a load function; a loader declares one
/// as a `static`.
pub struct Declared<A> {
    /// See [`LoaderCommand::name`].
    pub name: &'static str,
    /// See [`LoaderCommand::tool`].
    pub tool: &'static str,
    /// See [`LoaderCommand::about`].
    pub about: &'static str,
    /// See [`LoaderCommand::load_about`].
    pub load_about: &'static str,
    /// Loads with the parsed options.
    pub load: for<'a> fn(&'a Db, A) -> LoadFuture<'a>,
    /// The options type.
    pub options: PhantomData<fn() -> A>,
}

impl<A> LoaderCommand for Declared<A>
where
    A: clap::Args + FromArgMatches + 'static,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn tool(&self) -> &'static str {
        self.tool
    }

    fn about(&self) -> &'static str {
        self.about
    }

    fn load_about(&self) -> &'static str {
        self.load_about
    }

    fn augment(&self, cmd: clap::Command) -> clap::Command {
        A::augment_args(cmd)
    }

    fn run<'a>(&'a self, db: &'a Db, matches: &'a ArgMatches) -> LoadFuture<'a> {
        match A::from_arg_matches(matches) {
            Ok(options) => (self.load)(db, options),
            Err(e) => Box::pin(std::future::ready(Err(Box::new(e) as _))),
        }
    }
}
