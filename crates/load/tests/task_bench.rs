//! task_loader benchmark (ignored by default): 200 generated tasks loaded one after the
//! other into a fresh embedded database, next to the floor of reading all their files.
//!
//! ```text
//! cargo test --release -p altrepodb-load --test task_bench -- --ignored --nocapture
//! ```
//! `TASK_BENCH_TASKS` (default 200) sets the number of tasks, `TASK_BENCH_DIR` (default
//! `/tmp/altrepodb-task-bench`) where the generated tasks are kept between runs.

mod common;
use altrepodb_testdata::task as taskgen;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use altrepodb_load::task::{load_task, TaskLoadOptions};
use altrepodb_load::NoObserver;
use common::TestDb;
use taskgen::{generate_tasks, TaskManifest, TaskSpec};

/// Reads every file under `dir` once (symlinks not followed); returns the bytes read.
fn read_all(dir: &Path) -> u64 {
    let mut n = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                n += std::fs::read(e.path()).unwrap().len() as u64;
            }
        }
    }
    n
}

fn tasks(n: usize) -> Vec<TaskManifest> {
    let root = std::env::var_os("TASK_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/altrepodb-task-bench"))
        .join(format!("tasks-{n}"));
    let base = TaskSpec {
        id: 400_000,
        subtasks: 3,
        seed: 1,
        ..TaskSpec::default()
    };
    let last = root.join((base.id + n as u32 - 1).to_string());
    if TaskManifest::path_for(&last).is_file() {
        return (0..n)
            .map(|i| TaskManifest::read(&root.join((base.id + i as u32).to_string())).unwrap())
            .collect();
    }
    let _ = std::fs::remove_dir_all(&root);
    let t = Instant::now();
    let m = generate_tasks(&root, &base, n).unwrap();
    eprintln!(
        "generated {n} tasks in {:.1} s into {}",
        t.elapsed().as_secs_f64(),
        root.display()
    );
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn load_generated_tasks() {
    let n: usize = std::env::var("TASK_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let ms = tasks(n);
    let packages: usize = ms.iter().map(|m| m.packages.len()).sum();
    let log_lines: usize = ms
        .iter()
        .flat_map(|m| m.logs.iter())
        .map(|l| l.lines.len())
        .sum();

    // (a) Floor: read every file of every task once (warm cache: read twice, time the second).
    for m in &ms {
        read_all(&m.dir);
    }
    let t = Instant::now();
    let bytes: u64 = ms.iter().map(|m| read_all(&m.dir)).sum();
    let floor = t.elapsed().as_secs_f64();

    let db = TestDb::new().await;
    let run = |file_provides: bool| {
        let db = db.db();
        let ms = &ms;
        async move {
            let t = Instant::now();
            let mut rows = 0u64;
            for m in ms {
                let mut o = TaskLoadOptions::new(&m.dir);
                o.workers = 2;
                o.file_provides = file_provides;
                let r = load_task(db, &o, Arc::new(NoObserver)).await.unwrap();
                rows += r.rows.values().sum::<u64>();
            }
            (t.elapsed().as_secs_f64(), rows)
        }
    };
    // (b) Initial load, (c) the same tasks again (every state already loaded).
    let provides = std::env::var("TASK_BENCH_FILE_PROVIDES").map_or(true, |v| v != "0");
    let flushed_before = altrepodb_db::flush::time_spent_flushing();
    let (initial, rows) = run(provides).await;
    let flushing = (altrepodb_db::flush::time_spent_flushing() - flushed_before).as_secs_f64();
    let (reload, rerows) = run(provides).await;
    assert_eq!(rerows, 0, "a reload writes nothing");

    let rate = |s: f64| n as f64 / s;
    println!();
    println!(
        "task_loader benchmark: {n} tasks, {packages} packages, {log_lines} log lines, {:.1} MiB of files, {rows} rows written",
        bytes as f64 / (1 << 20) as f64
    );
    println!(
        "{:<40} {:>10} {:>12} {:>10}",
        "phase", "seconds", "tasks/s", "x floor"
    );
    println!(
        "{:<40} {:>10.2} {:>12.1} {:>10}",
        "(a) floor: read every task file",
        floor,
        rate(floor),
        "1.0"
    );
    println!(
        "{:<40} {:>10.2} {:>12.1} {:>10.1}",
        "(b) load into an empty database",
        initial,
        rate(initial),
        initial / floor
    );
    println!(
        "{:<40} {:>10.2} {:>12.1} {:>10.1}",
        "(c) load again (all loaded)",
        reload,
        rate(reload),
        reload / floor
    );
    // The price of durability (issue 11 §4): Buffers flushed before each TaskStates row.
    println!(
        "of (b), flushing Buffers before each state row: {flushing:.2} s ({:.0}%)",
        100.0 * flushing / initial
    );
}
