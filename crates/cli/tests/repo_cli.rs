//! `altrepodb repo load` as a process: summary line, exit codes, and a load killed midway.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_altrepodb"));
        c.args(args)
            .env("ALTREPODB_HOME", self.0.path())
            .env("ALTREPODB_PYTHON", python())
            .env("ALTREPODB_EMBEDDED_IDLE_EXIT", "60")
            .env_remove("ALTREPODB_HOST")
            .env_remove("ALTREPODB_CONFIG");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
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

    fn count(&self, sql: &str) -> u64 {
        self.ok(&["sql", sql, "--format", "tsv"])
            .trim()
            .parse()
            .unwrap()
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

const TABLES: &[&str] = &[
    "Packages_buffer",
    "PackageHash_buffer",
    "Files_buffer",
    "FileNames_buffer",
    "Depends_buffer",
    "Changelog_buffer",
    "Specfiles_buffer",
    "PackageSet_buffer",
    "PackageSetName",
    "StaticLastPackages",
];

fn counts(h: &Home) -> Vec<(String, u64)> {
    TABLES
        .iter()
        .map(|t| (t.to_string(), h.count(&format!("SELECT count() FROM {t}"))))
        .collect()
}

fn generate(dir: &Path, sources: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_altrepodb"))
        .args(["testdata", "repo", "--out"])
        .arg(dir)
        .args(["--sources", sources, "--seed", "7"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn killed_load_is_invisible_and_a_rerun_completes_without_duplicates() {
    let snap = tempfile::tempdir().unwrap();
    generate(snap.path(), "400");
    let path = snap.path().to_str().unwrap();

    // The reference: the same snapshot loaded once, undisturbed.
    let clean = Home::new();
    clean.ok(&["db", "init"]);
    let summary = clean.ok(&["repo", "load", "sisyphus", path, "--date", "2024-03-01"]);
    assert!(
        summary.contains("packages seen") && summary.contains("Files="),
        "{summary}"
    );
    let expected = counts(&clean);

    let h = Home::new();
    h.ok(&["db", "init"]);
    let mut child = h
        .command(&[
            "repo",
            "load",
            "sisyphus",
            path,
            "--date",
            "2024-03-01",
            "-w",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill the process (SIGKILL, no chance to clean up) once rows have started to land.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the load finished ({status}) before it could be killed; make the snapshot bigger"
            );
        }
        if h.count("SELECT count() FROM Packages_buffer") > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no rows appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        h.count("SELECT count() FROM PackageSetName WHERE pkgset_depth = 0"),
        0
    );
    assert_eq!(h.count("SELECT count() FROM static_last_packages"), 0);
    let partial = h.count("SELECT count() FROM Packages_buffer");
    let full = expected
        .iter()
        .find(|(t, _)| t == "Packages_buffer")
        .unwrap()
        .1;
    assert!(
        partial < full,
        "the kill came too late ({partial} of {full} packages)"
    );

    // The re-run completes the job; every table matches the undisturbed load exactly.
    h.ok(&["repo", "load", "sisyphus", path, "--date", "2024-03-01"]);
    assert_eq!(counts(&h), expected);
    // And a third run is refused: the snapshot is loaded.
    let out = h.run(&["repo", "load", "sisyphus", path, "--date", "2024-03-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already loaded"));
}

#[test]
fn errors_name_the_file_and_exit_non_zero() {
    let h = Home::new();
    h.ok(&["db", "init"]);
    let empty = tempfile::tempdir().unwrap();
    let out = h.run(&[
        "repo",
        "load",
        "p10",
        empty.path().to_str().unwrap(),
        "--date",
        "2024-03-01",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not regular repository structure root"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = h.run(&[
        "repo",
        "load",
        "p10",
        empty.path().to_str().unwrap(),
        "--date",
        "2024-13-01",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid date"));
}

#[test]
fn repo_loader_alias_loads_with_the_original_options() {
    let snap = tempfile::tempdir().unwrap();
    generate(snap.path(), "5");
    let h = Home::new();
    h.ok(&["db", "init"]);
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("repo_loader");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_altrepodb"), &link).unwrap();
    let out = Command::new(&link)
        .args([
            "Sisyphus",
            snap.path().to_str().unwrap(),
            "-A",
            "2024-03-01",
            "-t",
            "mytag",
            "-w",
            "2",
        ])
        .env("ALTREPODB_HOME", h.0.path())
        .env("ALTREPODB_PYTHON", python())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        h.ok(&[
            "sql",
            "SELECT pkgset_nodename, pkgset_tag FROM PackageSetName WHERE pkgset_depth = 0",
            "--format",
            "tsv"
        ]),
        "sisyphus\tmytag\n"
    );
    // Without --date the original crashed; here it is a clear error.
    let out = Command::new(&link)
        .args(["sisyphus", snap.path().to_str().unwrap()])
        .env("ALTREPODB_HOME", h.0.path())
        .env("ALTREPODB_PYTHON", python())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--date"));
}

/// The first binary package of a generated snapshot (`<arch>/RPMS.classic/*.rpm`).
fn first_binary(snap: &Path) -> std::path::PathBuf {
    let mut found = Vec::new();
    for arch in std::fs::read_dir(snap).unwrap() {
        let dir = arch.unwrap().path().join("RPMS.classic");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "rpm") && p.is_file() {
                    found.push(p);
                }
            }
        }
    }
    found.sort();
    found.into_iter().next().expect("a binary package")
}

#[test]
fn a_corrupt_package_fails_the_load_or_is_reported_and_skipped_with_skip_bad() {
    let snap = tempfile::tempdir().unwrap();
    generate(snap.path(), "5");
    let path = snap.path().to_str().unwrap();
    // A real package cut short inside its main header; Debian's rpm cannot read it either.
    let bad = first_binary(snap.path());
    let bytes = std::fs::read(&bad).unwrap();
    let cut = altrepodb_rpm::Package::parse(&bytes)
        .unwrap()
        .payload_offset() as usize
        - 64;
    std::fs::remove_file(&bad).unwrap();
    std::fs::write(&bad, &bytes[..cut]).unwrap();
    let rpm = Command::new("rpm")
        .args(["-qp", "--nosignature", "--nodigest"])
        .arg(&bad)
        .output()
        .expect("Debian rpm");
    assert!(!rpm.status.success());
    let bad_name = bad.file_name().unwrap().to_str().unwrap().to_owned();

    let h = Home::new();
    h.ok(&["db", "init"]);
    let out = h.run(&["repo", "load", "sisyphus", path, "--date", "2024-03-01"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&bad_name) && err.contains("offset"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(
        h.count("SELECT count() FROM PackageSetName WHERE pkgset_depth = 0"),
        0
    );

    let out = h.run(&[
        "repo",
        "load",
        "sisyphus",
        path,
        "--date",
        "2024-03-01",
        "--skip-bad",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // One line per skipped input on stderr (path and reason), then the summary line.
    let skipped: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("altrepodb: skipped: "))
        .collect();
    assert_eq!(skipped.len(), 1, "{stderr}");
    assert!(
        skipped[0].contains(bad.to_str().unwrap()) && skipped[0].contains("offset"),
        "{stderr}"
    );
    let summary = stdout.trim().lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("sisyphus 2024-03-01: ") && summary.contains("; 1 skipped; "),
        "{summary}"
    );
    assert_eq!(
        h.count("SELECT count() FROM PackageSetName WHERE pkgset_depth = 0"),
        1
    );
}
