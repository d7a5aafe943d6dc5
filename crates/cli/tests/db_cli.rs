//! End-to-end tests of `altrepodb db …` and `altrepodb sql` against the real embedded engine.
//!
//! Each test gets its own `ALTREPODB_HOME`, hence its own embedded server and data directory.

use std::path::Path;
use std::process::{Command, Output};

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> Output {
        let venv = std::env::var_os("ALTREPODB_PYTHON").unwrap_or_else(|| {
            let home = std::env::var("HOME").unwrap_or_default();
            format!("{home}/.local/share/altrepodb/venv/bin/python").into()
        });
        Command::new(env!("CARGO_BIN_EXE_altrepodb"))
            .args(args)
            .env("ALTREPODB_HOME", self.path())
            .env("ALTREPODB_PYTHON", venv)
            .env("ALTREPODB_EMBEDDED_IDLE_EXIT", "20")
            .env_remove("ALTREPODB_HOST")
            .env_remove("ALTREPODB_PORT")
            .env_remove("ALTREPODB_SERVER_PASSWORD")
            .env_remove("ALTREPODB_CONFIG")
            .output()
            .expect("run altrepodb")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "altrepodb {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn port(&self) -> String {
        std::fs::read_to_string(self.path().join("server.port"))
            .expect("embedded server port file")
            .trim()
            .to_owned()
    }

    /// The embedded server's password, made by the first command in this home.
    fn password(&self) -> String {
        std::fs::read_to_string(self.path().join("server.password"))
            .expect("embedded server password file")
            .trim()
            .to_owned()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        // Stop the auto-started server now instead of waiting for its idle exit.
        if let Ok(pid) = std::fs::read_to_string(self.path().join("server.pid")) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
    }
}

#[test]
fn init_is_idempotent_and_check_is_clean() {
    let h = Home::new();
    let first = h.ok(&["db", "init"]);
    assert!(first.contains("objects"), "{first}");
    let count = h.ok(&[
        "sql",
        "SELECT count() FROM system.tables WHERE database = currentDatabase()",
        "--format",
        "tsv",
    ]);
    let n: u64 = count.trim().parse().expect("a number");
    assert!(n >= 110, "only {n} objects");

    let snapshot = |h: &Home| {
        h.ok(&[
            "sql",
            "SELECT name, engine, create_table_query FROM system.tables WHERE database = currentDatabase() ORDER BY name",
        ])
    };
    let before = snapshot(&h);
    let rows_before = h.ok(&["sql", "SELECT count() FROM LicenseAliases"]);
    let second = h.ok(&["db", "init"]);
    assert!(second.contains("0 schema files recorded"), "{second}");
    assert!(second.contains("0 license aliases added"), "{second}");
    assert_eq!(before, snapshot(&h), "second init changed the schema");
    assert_eq!(
        rows_before,
        h.ok(&["sql", "SELECT count() FROM LicenseAliases"])
    );
    assert!(rows_before.trim().parse::<u64>().unwrap() >= 100);

    let check = h.ok(&["db", "check"]);
    assert!(check.contains("no differences"), "{check}");
    let status = h.ok(&["db", "status"]);
    assert!(status.contains("pending schema files: none"), "{status}");
}

#[test]
fn a_changed_view_definition_reaches_an_existing_database() {
    let h = Home::new();
    h.ok(&["db", "init"]);
    let view = |h: &Home| {
        h.ok(&[
            "sql",
            "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = 'last_pkgnames'",
            "--format",
            "tsv",
        ])
    };
    let current = view(&h);
    // As a database made by an older version: another definition of a view, and its schema
    // file recorded with that version's checksum.
    h.ok(&[
        "sql",
        "CREATE OR REPLACE VIEW last_pkgnames AS SELECT L.*, '' AS pkgset_pname FROM last_pkgnames_without_pname AS L",
    ]);
    h.ok(&[
        "sql",
        "INSERT INTO altrepodb_schema_migrations (version, name, checksum) VALUES (2, '0002_package_sets.sql', 'older')",
    ]);
    assert_ne!(view(&h), current);
    let out = h.ok(&["db", "init"]);
    assert!(out.contains("1 schema files recorded"), "{out}");
    assert!(!out.contains(" 0 views re-created"), "{out}");
    assert_eq!(view(&h), current, "the view has this version's definition");
    let again = h.ok(&["db", "init"]);
    assert!(again.contains(" 0 views re-created"), "{again}");
    let check = h.ok(&["db", "check"]);
    assert!(check.contains("no differences"), "{check}");
}

#[test]
fn check_detects_dropped_table_and_changed_type() {
    let h = Home::new();
    h.ok(&["db", "init"]);
    h.ok(&["sql", "DROP TABLE RepositoryStatus"]);
    h.ok(&["sql", "ALTER TABLE Bugzilla MODIFY COLUMN bz_status String"]);
    let out = h.cmd(&["db", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("missing object RepositoryStatus"), "{text}");
    assert!(
        text.contains("column Bugzilla.bz_status: expected LowCardinality(String), found String"),
        "{text}"
    );
}

#[test]
fn sql_formats() {
    let h = Home::new();
    let tsv = h.ok(&["sql", "SELECT 1 AS a, 'x' AS b", "--format", "tsv"]);
    assert_eq!(tsv, "1\tx\n");
    let json = h.ok(&["sql", "SELECT 1 AS a, 'x' AS b", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("JSON line");
    assert_eq!(v["b"], "x");
    let pretty = h.ok(&["sql", "SELECT 1 AS a", "--format", "pretty"]);
    assert!(pretty.contains('a') && pretty.contains('1'), "{pretty}");
    let err = h.cmd(&["sql", "SELECT * FROM no_such_table"]);
    assert_eq!(err.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("60") || stderr.contains("UNKNOWN_TABLE"),
        "{stderr}"
    );
}

fn assert_one_line_exit_2(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
}

#[test]
fn connection_errors_are_one_line_and_exit_2() {
    let h = Home::new();
    // Nothing listens on port 1.
    let out = h.cmd(&["sql", "SELECT 1", "-s", "127.0.0.1", "-p", "1"]);
    assert_one_line_exit_2(&out, "cannot reach ClickHouse at http://127.0.0.1:1");
    // The original's native port.
    let out = h.cmd(&["db", "init", "-s", "localhost", "-p", "9000"]);
    assert_one_line_exit_2(&out, "port 9000 is ClickHouse's native TCP protocol");
    // Same through config.ini, as an unchanged original config would say.
    let cfg = h.path().join("config.ini");
    std::fs::write(
        &cfg,
        "[DATABASE]\ndbname = repodb\nhost = localhost\nport = 9000\n",
    )
    .unwrap();
    let out = h.cmd(&["db", "status", "-c", cfg.to_str().unwrap()]);
    assert_one_line_exit_2(&out, "8123");
    // Wrong password against a running (embedded) server.
    h.ok(&["sql", "SELECT 1"]);
    let port = h.port();
    let out = h.cmd(&[
        "sql",
        "SELECT 1",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-u",
        "default",
        "-P",
        "s3cr3t-pw",
    ]);
    assert_one_line_exit_2(&out, "rejected user 'default'");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cr3t-pw"));
    // A missing database.
    let out = h.cmd(&[
        "sql",
        "SELECT 1",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-P",
        &h.password(),
        "-d",
        "nosuchdb",
    ]);
    assert_one_line_exit_2(&out, "altrepodb db init");
}

#[test]
fn aliases_parse_original_options_and_say_not_implemented() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("iso_loader");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_altrepodb"), &link).unwrap();
    let out = Command::new(&link)
        .args([
            "/tmp/x.iso",
            "--edition",
            "alt-kworkstation",
            "--version",
            "10.1",
            "--release",
            "release",
            "--variant",
            "install",
            "--arch",
            "x86_64",
            "--branch",
            "p10",
            "--date",
            "2024-01-01",
            "--url",
            "http://x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not implemented yet"));
    let out = Command::new(&link)
        .args(["--no-such-option"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let help = Command::new(&link).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--edition"));
}
