//! `altrepodb task load` in bulk as a process: several paths and `--all ROOT`, a corrupt task
//! named on stderr with its file, the others loaded, exit status 1; a rerun loads nothing.

use std::path::Path;
use std::process::{Command, Output};

fn python() -> String {
    std::env::var("ALTREPODB_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.local/share/altrepodb/venv/bin/python")
    })
}

struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Home {
        Home(tempfile::tempdir().unwrap())
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_altrepodb"))
            .args(args)
            .env("ALTREPODB_HOME", self.0.path())
            .env("ALTREPODB_PYTHON", python())
            .env("ALTREPODB_EMBEDDED_IDLE_EXIT", "60")
            .env_remove("ALTREPODB_HOST")
            .env_remove("ALTREPODB_CONFIG")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "altrepodb {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn lines(&self, sql: &str) -> Vec<String> {
        self.ok(&["sql", sql, "--format", "tsv"])
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.0.path().join("server.pid")) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
    }
}

/// The first `.rpm` file under `dir` (sorted walk).
fn first_rpm(dir: &Path) -> Option<std::path::PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in &entries {
        if p.is_file() && p.extension().is_some_and(|e| e == "rpm") {
            return Some(p.clone());
        }
    }
    entries
        .iter()
        .filter(|p| p.is_dir())
        .find_map(|p| first_rpm(p))
}

#[test]
fn bulk_load_reports_a_corrupt_task_and_loads_the_others() {
    let tasks = tempfile::tempdir().unwrap();
    let root = tasks.path().to_str().unwrap();
    let h = Home::new();
    h.ok(&[
        "testdata", "task", "--out", root, "--id", "380000", "--count", "3", "--seed", "7",
    ]);
    let bad = tasks.path().join("380001");
    let rpm = first_rpm(&bad).expect("an rpm in the task");
    let bytes = std::fs::read(&rpm).unwrap();
    std::fs::write(&rpm, &bytes[..200.min(bytes.len())]).unwrap();
    let rpm_name = rpm.file_name().unwrap().to_string_lossy().into_owned();

    h.ok(&["db", "init"]);
    let out = h.run(&["task", "load", "--all", root]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let failed: Vec<&str> = stderr.lines().filter(|l| l.contains("failed")).collect();
    assert_eq!(failed.len(), 1, "{stderr}");
    assert!(
        failed[0].contains("task 380001") && failed[0].contains(&rpm_name),
        "names the task and its file: {}",
        failed[0]
    );
    assert!(
        stdout.contains("3 tasks (2 loaded, 0 already loaded, 1 failed)"),
        "{stdout}"
    );
    assert_eq!(
        h.lines("SELECT task_id FROM TaskStates ORDER BY task_id"),
        ["380000", "380002"]
    );

    // The valid ones again, as paths: already loaded, exit status 0.
    let a = tasks.path().join("380000");
    let c = tasks.path().join("380002");
    let again = h.ok(&["task", "load", a.to_str().unwrap(), c.to_str().unwrap()]);
    assert!(
        again.contains("2 tasks (0 loaded, 2 already loaded, 0 failed)"),
        "{again}"
    );

    // One path keeps the single-task summary line.
    let one = h.ok(&["task", "load", a.to_str().unwrap()]);
    assert!(
        one.contains("task 380000") && one.contains("state already loaded"),
        "{one}"
    );
}
