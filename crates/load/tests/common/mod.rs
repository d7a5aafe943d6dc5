//! Shared test fixtures: an embedded database per test and snapshots built from RPM files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use altrepodb_db::embedded::{EmbeddedOptions, EmbeddedServer};
use altrepodb_db::{schema, Db, DbSettings};

/// `$ALTREPODB_TESTDATA` or `../shared/testdata`, if present; if not, the test is skipped (or
/// fails under CI: `altrepodb_testdata::corpus::missing`).
pub fn testdata() -> Option<PathBuf> {
    altrepodb_testdata::corpus::root_for_test()
}

/// The Python with chdb-core the set-up installed.
pub fn python() -> PathBuf {
    std::env::var_os("ALTREPODB_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var("HOME").unwrap_or_default();
            PathBuf::from(home).join(".local/share/altrepodb/venv/bin/python")
        })
}

/// A fresh embedded database with the schema applied; the server stops on drop.
pub struct TestDb {
    pub home: tempfile::TempDir,
    pub db: Option<Db>,
    server: Option<EmbeddedServer>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let home = tempfile::tempdir().expect("temp dir");
        let mut opts = EmbeddedOptions::new(home.path());
        opts.python = Some(python());
        opts.idle_exit_secs = 120;
        let o = opts.clone();
        let server = tokio::task::spawn_blocking(move || EmbeddedServer::ensure_running(&o))
            .await
            .unwrap()
            .expect("embedded server starts (run scripts/setup.sh)");
        let mut settings = DbSettings::with_fallbacks();
        settings.host = Some("127.0.0.1".into());
        settings.port = Some(server.port());
        settings.dbname = "repodb".into();
        settings.password = server.password().to_owned();
        let db = Db::connect(&settings, &opts, false).await.expect("connect");
        schema::init(&db).await.expect("db init");
        TestDb {
            home,
            db: Some(db),
            server: Some(server),
        }
    }

    pub fn db(&self) -> &Db {
        self.db.as_ref().expect("db")
    }

    pub fn port(&self) -> u16 {
        self.server.as_ref().expect("server").port()
    }

    /// One value of a query, as text.
    pub async fn scalar(&self, sql: &str) -> String {
        let bytes = self.db().fetch_text(sql, "TabSeparated").await.expect(sql);
        String::from_utf8(bytes).unwrap().trim().to_owned()
    }

    pub async fn count(&self, sql: &str) -> u64 {
        self.scalar(sql)
            .await
            .parse()
            .unwrap_or_else(|_| panic!("not a count: {sql}"))
    }

    /// Rows of a query as lines of tab-separated text, sorted.
    pub async fn lines(&self, sql: &str) -> Vec<String> {
        let bytes = self.db().fetch_text(sql, "TabSeparated").await.expect(sql);
        let mut v: Vec<String> = String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.db.take();
        if let Some(s) = self.server.take() {
            let _ = s.stop();
        }
    }
}

/// One package placed into a test snapshot.
pub use altrepodb_testdata::PlacedPackage as Placed;

/// [`altrepodb_testdata::snapshot_from_rpms`], failing the test on error.
pub fn snapshot_from_rpms(out: &Path, rpms: &[PathBuf]) -> Vec<Placed> {
    altrepodb_testdata::snapshot_from_rpms(out, rpms).expect("snapshot from RPM files")
}

/// `rpm -qp --qf FMT FILE` (Debian's rpm; the set-up installs it).
pub fn rpm_qf(file: &Path, fmt: &str) -> String {
    let out = Command::new("rpm")
        .args(["-qp", "--nosignature", "--nodigest", "--qf", fmt])
        .arg(file)
        .output()
        .expect("Debian rpm is installed (scripts/setup.sh)");
    assert!(
        out.status.success(),
        "rpm -qp {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
