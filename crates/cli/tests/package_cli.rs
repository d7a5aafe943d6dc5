//! `package_loader` (a loader that declares its own command line) as a process: the original
//! tool name and `altrepodb package load` take the same options, write the rows `rpm -qp`
//! describes, a second run writes nothing, and a bad file gives one line and exit 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn python() -> String {
    std::env::var("ALTREPODB_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.local/share/altrepodb/venv/bin/python")
    })
}

/// An embedded database home of its own; its server stops on drop.
struct Home(tempfile::TempDir);

impl Home {
    fn run(&self, program: &Path, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .env("ALTREPODB_HOME", self.0.path())
            .env("ALTREPODB_PYTHON", python())
            .env("ALTREPODB_EMBEDDED_IDLE_EXIT", "60")
            .env_remove("ALTREPODB_HOST")
            .env_remove("ALTREPODB_CONFIG")
            .output()
            .unwrap()
    }

    fn ok(&self, program: &Path, args: &[&str]) -> String {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "{} {args:?}: {}\n{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn sql(&self, query: &str) -> String {
        self.ok(bin(), &["sql", query, "--format", "tsv"])
            .trim_end()
            .to_owned()
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

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_altrepodb"))
}

fn rpm_qf(file: &Path, format: &str) -> String {
    let out = Command::new("rpm")
        .args(["-qp", "--nosignature", "--nodigest", "--qf", format])
        .arg(file)
        .output()
        .expect("Debian's rpm (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn source_rpm() -> Option<PathBuf> {
    let root = altrepodb_testdata::corpus::root_for_test()?;
    Some(root.join("rpm/debian-rpm-4.18-tests/hello-1.0-1.src.rpm"))
}

#[test]
fn package_loader_alias_and_subcommand_load_a_source_rpm_once() {
    let Some(file) = source_rpm() else { return };
    let h = Home(tempfile::tempdir().unwrap());
    h.ok(bin(), &["db", "init"]);
    let links = tempfile::tempdir().unwrap();
    let alias = links.path().join("package_loader");
    std::os::unix::fs::symlink(bin(), &alias).unwrap();

    // The original tool name with the original options (-f flushes the buffers).
    let out = h.ok(&alias, &[file.to_str().unwrap(), "-f"]);
    assert!(
        out.contains("1 packages seen, 1 new"),
        "summary line: {out}"
    );
    let name = "hello-1.0-1.src.rpm";
    let row = h.sql(&format!(
        "SELECT pkg_name, pkg_version, pkg_release, pkg_sourcepackage FROM Packages \
         WHERE pkg_filename = '{name}'"
    ));
    let want = rpm_qf(&file, "%{NAME}\t%{VERSION}\t%{RELEASE}");
    assert_eq!(row, format!("{want}\t1"));
    let md5 = h.sql(&format!(
        "SELECT lower(hex(pkgh_md5)) FROM PackageHash WHERE pkgh_mmh = \
         (SELECT pkg_hash FROM Packages WHERE pkg_filename = '{name}')"
    ));
    let md5sum = Command::new("md5sum").arg(&file).output().unwrap();
    let md5sum = String::from_utf8_lossy(&md5sum.stdout);
    assert_eq!(md5, md5sum.split_whitespace().next().unwrap());

    // The subcommand, same file: nothing new.
    let before = h.sql("SELECT count() FROM Packages_buffer");
    let out = h.ok(bin(), &["package", "load", file.to_str().unwrap()]);
    assert!(
        out.contains("1 packages seen, 0 new"),
        "summary line: {out}"
    );
    assert_eq!(h.sql("SELECT count() FROM Packages_buffer"), before);

    // A file that is not an RPM: one line naming it, exit 1, nothing written.
    let bad = links.path().join("broken.src.rpm");
    std::fs::write(&bad, b"not an rpm at all").unwrap();
    let out = h.run(&alias, &[bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("broken.src.rpm"), "{err}");
    assert_eq!(h.sql("SELECT count() FROM Packages_buffer"), before);
}

#[test]
fn package_loader_usage_errors_exit_2() {
    let links = tempfile::tempdir().unwrap();
    let alias = links.path().join("package_loader");
    std::os::unix::fs::symlink(bin(), &alias).unwrap();
    let out = Command::new(&alias)
        .arg("--no-such-option")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(&alias).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in ["--force", "--flush-buffers", "--dbname", "--debug"] {
        assert!(help.contains(opt), "{opt} in {help}");
    }
}
