//! `altrepodb task load|clean` and the `task_loader` / `task_cleaner` aliases.

use std::path::PathBuf;
use std::sync::Arc;

use altrepodb_load::bounded::ReadLimits;
use altrepodb_load::task::{clean_tasks, load_task, load_tasks, TaskCleanOptions, TaskLoadOptions};
use altrepodb_load::Observer;
use anyhow::Result;

use super::{connect, runtime, setup_with};
use crate::cli::CommonArgs;
use crate::config::workers;

/// Options of `altrepodb task load`.
#[derive(Debug, clap::Args)]
pub struct TaskLoadArgs {
    /// Task directory, e.g. /tasks/350000 or the archived /archive/tasks/done/_341/350000;
    /// several load in bulk (one connection, checks and inserts batched across tasks).
    #[arg(required_unless_present = "all", num_args = 1..)]
    pub paths: Vec<PathBuf>,
    /// Load every task under ROOT (its <id>/ directories, or an archive's _<n>/<id>/), in
    /// task-id order, in bulk.
    #[arg(long = "all", value_name = "ROOT")]
    pub all: Option<PathBuf>,
    /// Threads for reading package files and logs (default: [DEFAULT] workers, else 4).
    #[arg(short = 'w', long = "workers")]
    pub workers: Option<usize>,
    /// Flush the buffer tables afterwards (OPTIMIZE TABLE, TaskStates_buffer last).
    #[arg(short = 'f', long = "flush-buffers")]
    pub flush_buffers: bool,
    /// Re-read every package and re-check every table even if this state is loaded.
    #[arg(short = 'F', long = "force")]
    pub force: bool,
    /// Write the parsed task to ./JSON/dump-<id>-<YYYY-MM-DD>.json.
    #[arg(short = 'J', long = "dumpjson")]
    pub dumpjson: bool,
    /// Read everything, print the rows per table that would be written, write nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Skip the original's global file-provides statement after the load.
    #[arg(long = "no-file-provides")]
    pub no_file_provides: bool,
    /// Database and logging options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options of `altrepodb task clean`.
#[derive(Debug, clap::Args)]
pub struct TaskCleanArgs {
    /// Tasks root: the directory holding the <task id>/ directories.
    pub root: PathBuf,
    /// Check only this task.
    #[arg(short = 't', long = "task-id", value_parser = clap::value_parser!(u32).range(1..))]
    pub task_id: Option<u32>,
    /// Report only: write no DELETED rows.
    #[arg(short = 'x', long = "dry-run")]
    pub dry_run: bool,
    /// Where tasks with a state differing from the database are listed.
    #[arg(long = "unclear-log", default_value = altrepodb_load::task::clean::UNCLEAR_STATES_FILE)]
    pub unclear_log: PathBuf,
    /// Database and logging options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Loads one task directory (prints the summary line, with `--dry-run` one line per
/// table), or many in bulk (a line per failed task on stderr, the summary line; exit status
/// 1 when any task failed).
pub fn load(args: &TaskLoadArgs) -> Result<i32> {
    let bulk = args.all.is_some() || args.paths.len() > 1;
    let tag = if bulk {
        Some("bulk".to_owned())
    } else {
        args.paths
            .first()
            .and_then(|p| p.components().next_back())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
    };
    let s = setup_with(&args.common, "task_loader", tag.as_deref(), None)?;
    let mut opts = TaskLoadOptions::new(args.paths.first().cloned().unwrap_or_default());
    opts.workers = args.workers.unwrap_or_else(|| workers(&s.ini, 4)).max(1);
    opts.force = args.force;
    opts.dry_run = args.dry_run;
    opts.flush = args.flush_buffers;
    opts.file_provides = !args.no_file_provides;
    opts.dump_json = args.dumpjson.then(|| PathBuf::from("JSON"));
    opts.limits = ReadLimits::from_env()?;
    let debug = args.common.debug;
    altrepodb_db::client::stats::log_queries(debug);
    let mut paths = args.paths.clone();
    if let Some(root) = &args.all {
        paths.extend(task_dirs(root)?);
    }
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let bars: Arc<dyn Observer> = Arc::new(crate::progress::Bars::default());
        let trips_before = altrepodb_db::client::stats::round_trips();
        if !bulk {
            let report = load_task(&db, &opts, bars).await?;
            if let Some(p) = &report.dump {
                println!("dump: {}", p.display());
            }
            if opts.dry_run {
                for (table, n) in &report.rows {
                    println!("{table}\t{n}");
                }
            }
            crate::progress::print_report(&report);
            if debug {
                print_round_trips(trips_before, 1);
            }
            return Ok(0);
        }
        let report = load_tasks(&db, &opts, &paths, bars).await?;
        for t in &report.tasks {
            if let Some(p) = &t.dump {
                println!("dump: {}", p.display());
            }
        }
        if opts.dry_run {
            for (table, n) in &report.rows {
                println!("{table}\t{n}");
            }
        }
        for f in &report.failed {
            let id = f
                .task_id
                .map(|i| i.to_string())
                .unwrap_or_else(|| "?".into());
            eprintln!(
                "altrepodb: task {id} failed ({}): {}",
                f.path.display(),
                f.error
            );
        }
        crate::progress::print_report(&report);
        if debug {
            print_round_trips(trips_before, paths.len());
        }
        Ok(if report.failed.is_empty() { 0 } else { 1 })
    })
}

/// `-D`: the checks with the rows the server read for each, and the round trips per task.
fn print_round_trips(before: u64, tasks: usize) {
    use altrepodb_db::client::stats;
    for (what, rows) in stats::take_queries() {
        eprintln!("altrepodb: check {what}: read_rows={rows}");
    }
    let trips = stats::round_trips() - before;
    println!(
        "round trips: {trips} ({:.1} per task), rows read by checks: {}",
        trips as f64 / tasks.max(1) as f64,
        stats::rows_read()
    );
}

/// The task directories under `root` in task-id order: `<id>/`, or an archive's
/// `_<n>/<id>/`.
fn task_dirs(root: &std::path::Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<(u32, PathBuf)> = Vec::new();
    let read = |dir: &std::path::Path| -> Result<Vec<(String, PathBuf)>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))? {
            let e = e.map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                v.push((e.file_name().to_string_lossy().into_owned(), e.path()));
            }
        }
        Ok(v)
    };
    for (name, path) in read(root)? {
        if let Ok(id) = name.parse::<u32>() {
            out.push((id, path));
        } else if let Some(n) = name.strip_prefix('_') {
            if n.parse::<u32>().is_ok() {
                for (name, path) in read(&path)? {
                    if let Ok(id) = name.parse::<u32>() {
                        out.push((id, path));
                    }
                }
            }
        }
    }
    out.sort();
    Ok(out.into_iter().map(|(_, p)| p).collect())
}

/// Marks vanished tasks DELETED and lists unclear states; prints the summary line.
pub fn clean(args: &TaskCleanArgs) -> Result<i32> {
    let s = setup_with(&args.common, "task_cleaner", Some("clean"), None)?;
    let mut opts = TaskCleanOptions::new(&args.root);
    opts.task_id = args.task_id;
    opts.dry_run = args.dry_run;
    opts.unclear_log = args.unclear_log.clone();
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let report = clean_tasks(&db, &opts).await?;
        for id in &report.deleted {
            println!("deleted: {id}");
        }
        for u in &report.unclear {
            println!(
                "unclear: {}\t@DB\t{}\t@FS\t{}",
                u.task_id, u.db_state, u.fs_state
            );
        }
        println!("{}", report.summary());
        Ok(0)
    })
}

/// The original `task_loader` options as `altrepodb task load` options.
pub fn from_task_loader(a: crate::aliases::TaskLoaderArgs) -> TaskLoadArgs {
    TaskLoadArgs {
        paths: vec![a.path],
        all: None,
        workers: Some(a.workers),
        flush_buffers: a.flush_buffers,
        force: a.force,
        dumpjson: a.dumpjson,
        dry_run: false,
        no_file_provides: false,
        common: a.db,
    }
}

/// The original `task_cleaner` options as `altrepodb task clean` options.
pub fn from_task_cleaner(a: crate::aliases::TaskCleanerArgs) -> TaskCleanArgs {
    TaskCleanArgs {
        root: a.path,
        task_id: a.task_id,
        dry_run: a.dry_run,
        unclear_log: PathBuf::from(altrepodb_load::task::clean::UNCLEAR_STATES_FILE),
        common: a.db,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct Load {
        #[command(flatten)]
        a: TaskLoadArgs,
    }

    #[derive(Debug, Parser)]
    struct Clean {
        #[command(flatten)]
        a: TaskCleanArgs,
    }

    #[test]
    fn options() {
        Load::command().debug_assert();
        Clean::command().debug_assert();
        let l = Load::try_parse_from([
            "x",
            "/tasks/350000",
            "-w",
            "8",
            "-f",
            "-F",
            "-J",
            "--dry-run",
            "-s",
            "ch",
        ])
        .unwrap();
        assert_eq!(l.a.workers, Some(8));
        assert!(l.a.flush_buffers && l.a.force && l.a.dumpjson && l.a.dry_run);
        assert_eq!(l.a.common.host.as_deref(), Some("ch"));
        let c = Clean::try_parse_from(["x", "/tasks", "-t", "5", "-x"]).unwrap();
        assert_eq!((c.a.task_id, c.a.dry_run), (Some(5), true));
        assert!(Clean::try_parse_from(["x", "/tasks", "-t", "0"]).is_err());
    }
}
