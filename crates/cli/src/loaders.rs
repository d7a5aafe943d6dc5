//! The loaders that declare their own command line
//! ([`altrepodb_load::command::LoaderCommand`]): one line each in [`DECLARED`]. Each gets
//! `altrepodb <name> load OPTIONS` and its original tool name with the same options, plus
//! the database and logging options, the summary line and the exit codes every tool has.

use altrepodb_load::command::LoaderCommand;
use anyhow::Result;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches};

use crate::cli::{Cli, CommonArgs};
use crate::cmd::{connect, runtime, setup_with};

/// Every loader that declares its own command line.
pub static DECLARED: &[&dyn LoaderCommand] = &[];

/// The whole `altrepodb` command line: the derived one plus a subcommand per declared loader.
pub fn cli_command() -> clap::Command {
    DECLARED.iter().fold(Cli::command(), |cmd, l| {
        cmd.subcommand(
            clap::Command::new(l.name())
                .about(l.about())
                .subcommand_required(true)
                .arg_required_else_help(true)
                .subcommand(with_common(
                    l.augment(clap::Command::new("load").about(l.load_about())),
                )),
        )
    })
}

/// The original tool's command line: the loader's options and the common ones.
pub fn alias_command(l: &dyn LoaderCommand) -> clap::Command {
    with_common(
        l.augment(
            clap::Command::new(l.tool())
                .about(l.load_about())
                .version(env!("CARGO_PKG_VERSION")),
        ),
    )
}

fn with_common(cmd: clap::Command) -> clap::Command {
    CommonArgs::augment_args(cmd)
}

/// The declared loader whose subcommand is `name`.
pub fn by_name(name: &str) -> Option<&'static dyn LoaderCommand> {
    DECLARED.iter().copied().find(|l| l.name() == name)
}

/// The declared loader whose original tool name is `tool`.
pub fn by_tool(tool: &str) -> Option<&'static dyn LoaderCommand> {
    DECLARED.iter().copied().find(|l| l.tool() == tool)
}

/// Runs `loader` with `matches` (from [`cli_command`]'s `load` or [`alias_command`]): set-up,
/// connection, the load, the summary line. Returns the exit code.
pub fn run(loader: &dyn LoaderCommand, matches: &ArgMatches) -> Result<i32> {
    let common = CommonArgs::from_arg_matches(matches)?;
    let s = setup_with(&common, loader.tool(), None, None)?;
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let report = loader
            .run(&db, matches)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        crate::progress::print_report(&report);
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_commands_are_valid_and_distinct() {
        cli_command().debug_assert();
        for l in DECLARED {
            alias_command(*l).debug_assert();
            assert_eq!(by_name(l.name()).map(|x| x.tool()), Some(l.tool()));
            assert!(
                !crate::aliases::ALIASES.contains(&l.tool()),
                "{} is declared twice",
                l.tool()
            );
        }
    }
}
