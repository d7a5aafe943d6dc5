//! `altrepodb testdata task`: a synthetic girar build-task directory (see
//! `altrepodb_testdata::task`), for trying and benchmarking `altrepodb task load`.
//!
//! `altrepodb testdata task --out DIR --id N [--state S] [--subtasks K] [--iterations I]
//! [--seed S] [--arches a,b] [--archived] [--count C]` writes `DIR/<id>` (or, archived,
//! `DIR/_<id/1024>/<id>`) and `<that>.manifest.json`; with `--count C` the tasks N … N+C-1
//! with seeds S … S+C-1 and states cycling DONE, EPERM, TESTED, FAILED.

use std::path::PathBuf;
use std::time::Instant;

use altrepodb_testdata::task::{generate_task, generate_tasks, TaskSpec};
use clap::Args;

/// `altrepodb testdata task`
#[derive(Debug, Args)]
pub struct TaskGenArgs {
    /// Tasks root to write into (the task goes to DIR/<id>).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Task id.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub id: u32,
    /// Final state (DONE, EPERM, TESTED, FAILED, NEW, POSTPONED, …).
    #[arg(long, default_value = "DONE", value_parser = parse_state)]
    pub state: String,
    /// Live subtasks (gear, srpm, gear, delete, copy, rebuild, …); a deleted one is added.
    #[arg(long, value_name = "K", default_value_t = 3)]
    pub subtasks: usize,
    /// Tries; all but the last failed.
    #[arg(long, value_name = "I", default_value_t = 1)]
    pub iterations: u32,
    /// Seed: the same options give byte-identical output.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Build arches, comma-separated (with x86_64 and i586, arepo compat packages too).
    #[arg(
        long,
        value_name = "a,b",
        value_delimiter = ',',
        default_value = "x86_64,i586"
    )]
    pub arches: Vec<String>,
    /// Branch (task/repo).
    #[arg(long, default_value = "sisyphus")]
    pub repo: String,
    /// Write into girar's done-task archive layout, DIR/_<id/1024>/<id>.
    #[arg(long)]
    pub archived: bool,
    /// Write this many tasks (ids and seeds counting up, states cycling).
    #[arg(long, value_name = "C")]
    pub count: Option<usize>,
}

fn parse_state(s: &str) -> Result<String, String> {
    let up = s.to_ascii_uppercase();
    if up.is_empty() || !up.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "'{s}' is not a task state (DONE, EPERM, TESTED, FAILED, NEW, …)"
        ));
    }
    Ok(up)
}

/// Runs `altrepodb testdata task`; prints what it wrote.
pub fn run(a: &TaskGenArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let spec = TaskSpec {
        id: a.id,
        state: a.state.clone(),
        subtasks: a.subtasks,
        iterations: a.iterations,
        seed: a.seed,
        archs: a.arches.clone(),
        repo: a.repo.clone(),
        archived: a.archived,
    };
    let manifests = match a.count {
        Some(n) => generate_tasks(&a.out, &spec, n)?,
        None => vec![generate_task(&a.out, &spec)?],
    };
    let mut packages = 0;
    for m in &manifests {
        packages += m.packages.len();
        if manifests.len() == 1 {
            println!(
                "{}: task {} {} (try {}), {} subtasks, {} builds, {} packages, {} logs, {} plan rows",
                m.dir.display(),
                m.id,
                m.state,
                m.task_try,
                m.subtasks.len(),
                m.iterations.len(),
                m.packages.len(),
                m.logs.len(),
                m.plan_packages.len()
            );
        }
    }
    println!(
        "{} task(s), {packages} packages in {} ({:.1} s)",
        manifests.len(),
        a.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}
