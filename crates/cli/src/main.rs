//! `altrepodb`: one binary for every ALTRepo Uploader tool.
//!
//! Called as `altrepodb` it takes subcommands; called through a link named like an original
//! tool (`repo_loader`, `task_loader`, …) it takes that tool's options.

mod aliases;
mod cli;
mod cmd;
mod config;
mod loaders;
mod logging;
mod progress;
mod rpm_show;
mod testdata_cmd;
mod testdata_task;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use clap::FromArgMatches;

use crate::cli::{
    AclAction, BeehiveAction, BenchAction, Cli, Command, DbAction, RepoAction, RpmAction,
    SpdxAction, TaskAction, UrlFeedAction,
};

/// Exit code of a command or alias that this version cannot run.
pub const EXIT_UNAVAILABLE: i32 = 2;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(code) = aliases::run(&name, args.clone()) {
        return exit(code);
    }
    let matches = loaders::cli_command().get_matches_from(args);
    if let Some((name, sub)) = matches.subcommand() {
        if let (Some(loader), Some((_, load))) = (loaders::by_name(name), sub.subcommand()) {
            return exit(loaders::run(loader, load).unwrap_or_else(|e| report(&e)));
        }
    }
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let code = match run(cli) {
        Ok(code) => code,
        Err(err) => report(&err),
    };
    exit(code)
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Prints the error chain on one line and picks the exit code.
pub(crate) fn report(err: &anyhow::Error) -> i32 {
    // A closed pipe (`altrepodb sql … | head`) is not a failure.
    if err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    }) {
        return 0;
    }
    // Causes whose text the message already contains (thiserror's `{0}`) are not repeated.
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    eprintln!("altrepodb: {}", altrepodb_db::error::one_line(&line));
    err.chain()
        .find_map(|c| c.downcast_ref::<altrepodb_db::DbError>())
        .map(|e| e.exit_code())
        .unwrap_or(1)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Db { action } => match action {
            DbAction::Init(a) => cmd::cluster::init(&a),
            DbAction::Status(c) => cmd::db::status(&c),
            DbAction::Check(a) => cmd::cluster::check(&a),
            DbAction::Tables => cmd::db::tables(),
            DbAction::Manifest(c) => cmd::db::manifest(&c),
        },
        Command::Sql(a) => cmd::sql::run(&a),
        Command::Server(a) => cmd::server::run(&a),
        Command::Repo { action } => match action {
            RepoAction::Load(a) => cmd::repo::load(&a),
        },
        Command::Task { action } => match action {
            TaskAction::Load(a) => cmd::task::load(&a),
            TaskAction::Clean(a) => cmd::task::clean(&a),
        },
        Command::Spdx {
            action: SpdxAction::Load(a),
        } => cmd::feeds::spdx(&a),
        Command::Watch {
            action: UrlFeedAction::Load(a),
        } => cmd::feeds::url_feed(cmd::feeds::UrlFeed::Watch, &a),
        Command::Repocop {
            action: UrlFeedAction::Load(a),
        } => cmd::feeds::url_feed(cmd::feeds::UrlFeed::Repocop, &a),
        Command::Bugzilla {
            action: UrlFeedAction::Load(a),
        } => cmd::feeds::url_feed(cmd::feeds::UrlFeed::Bugzilla, &a),
        Command::Acl {
            action: AclAction::Load(a),
        } => cmd::feeds::acl(&a),
        Command::Beehive {
            action: BeehiveAction::Load(a),
        } => cmd::feeds::beehive(&a),
        Command::Daemon(a) => cmd::daemon::run(&a),
        Command::Amqpfire(a) => cmd::amqpfire::run(&a),
        Command::Bot(a) => cmd::bot::run(&a),
        Command::Generate { action } => cmd::generate::run(&action),
        Command::Rpm { action } => match action {
            RpmAction::Show(a) => rpm_show::run(&a),
        },
        Command::Testdata(a) => testdata_cmd::run(&a),
        Command::Bench(BenchAction::ReadHeaders(a)) => cmd::bench::read_headers(&a),
        Command::Aliases => {
            println!("{}", aliases::all().join("\n"));
            Ok(0)
        }
    }
}
