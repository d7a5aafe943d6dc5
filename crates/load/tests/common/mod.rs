//! Shared test fixtures: an embedded database per test and snapshots built from RPM files.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use altrepodb_db::embedded::{EmbeddedOptions, EmbeddedServer};
use altrepodb_db::{schema, Db, DbSettings};
use altrepodb_rpm::writer::{apt_header_record, AptIndex, AptLayout, HeaderWriter, TagValue};
use altrepodb_rpm::{digest_bytes, DigestAlgo, Package, Tag};

/// `$ALTREPODB_TESTDATA` or `../shared/testdata`, if present.
pub fn testdata() -> Option<PathBuf> {
    let p = std::env::var_os("ALTREPODB_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    p.is_dir().then_some(p)
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

fn write_xz(path: &Path, data: &[u8]) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = liblzma::write::XzEncoder::new(f, 1);
    enc.write_all(data).unwrap();
    enc.finish().unwrap();
}

/// One package placed into a test snapshot.
#[derive(Debug, Clone)]
pub struct Placed {
    pub file_name: String,
    pub source: bool,
    pub arch_dir: String,
    pub path: PathBuf,
}

/// Builds an ALT-layout snapshot at `out` from existing RPM files: sources into
/// `files/SRPMS`, binaries into `files/<arch>/RPMS` and `<arch>/RPMS.classic`, APT lists with
/// index tags (name, MD5, BLAKE2b), SHA-256 hash lists and a task.info.
pub fn snapshot_from_rpms(out: &Path, rpms: &[PathBuf]) -> Vec<Placed> {
    let mut placed = Vec::new();
    let mut lists: std::collections::BTreeMap<(String, bool), Vec<u8>> = Default::default();
    let mut hashes: std::collections::BTreeMap<String, String> = Default::default();
    std::fs::create_dir_all(out.join("files/list")).unwrap();
    std::fs::create_dir_all(out.join("files/SRPMS")).unwrap();
    let mut names = std::collections::HashSet::new();
    for rpm in rpms {
        // A snapshot directory holds one file per name.
        if !names.insert(rpm.file_name().unwrap().to_owned()) {
            continue;
        }
        let bytes = std::fs::read(rpm).unwrap();
        let pkg = Package::parse(&bytes).unwrap();
        let h = pkg.header();
        let source = pkg.lead().is_source();
        let arch = h.text(Tag::ARCH).unwrap().into_owned();
        let arch_dir = if source {
            "src".to_owned()
        } else if arch == "noarch" {
            "noarch".to_owned()
        } else {
            "x86_64".to_owned()
        };
        let file_name = rpm.file_name().unwrap().to_string_lossy().into_owned();
        let dest = if source {
            out.join("files/SRPMS").join(&file_name)
        } else {
            let d = out.join("files").join(&arch_dir).join("RPMS");
            std::fs::create_dir_all(&d).unwrap();
            let comp = out.join(&arch_dir).join("RPMS.classic");
            std::fs::create_dir_all(&comp).unwrap();
            std::fs::write(comp.join(&file_name), &bytes).unwrap();
            d.join(&file_name)
        };
        std::fs::write(&dest, &bytes).unwrap();
        let mut w = HeaderWriter::main();
        for t in [Tag::NAME, Tag::VERSION, Tag::RELEASE, Tag::ARCH] {
            w.set(
                t.0,
                TagValue::string(h.text(t).unwrap().as_bytes().to_vec()),
            );
        }
        let dir = if source {
            "SRPMS.classic"
        } else {
            "RPMS.classic"
        };
        let rec = apt_header_record(
            &w,
            &AptIndex::for_file(&file_name, &bytes, Some(dir)),
            AptLayout::Flat,
        )
        .unwrap();
        let key = if source {
            ("noarch".to_owned(), true)
        } else {
            (arch_dir.clone(), false)
        };
        lists.entry(key).or_default().extend_from_slice(&rec);
        let d = digest_bytes(&bytes, &[DigestAlgo::Sha256]);
        let line = format!("{} {}\n", d.hex(DigestAlgo::Sha256).unwrap(), file_name);
        hashes
            .entry(if source {
                "src".into()
            } else {
                arch_dir.clone()
            })
            .or_default()
            .push_str(&line);
        placed.push(Placed {
            file_name,
            source,
            arch_dir,
            path: dest,
        });
    }
    for arch in ["x86_64", "noarch"] {
        let base = out.join(arch).join("base");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(
            base.join("release"),
            format!("Origin: ALT Linux Team\nLabel: test\nArchitectures: {arch}\nComponents: classic\nBLAKE2b:\n"),
        )
        .unwrap();
        write_xz(
            &base.join("pkglist.classic.xz"),
            lists
                .get(&(arch.to_owned(), false))
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        );
        std::fs::create_dir_all(out.join(arch).join("RPMS.classic")).unwrap();
    }
    write_xz(
        &out.join("noarch/base/srclist.classic.xz"),
        lists
            .get(&("noarch".to_owned(), true))
            .map(Vec::as_slice)
            .unwrap_or(&[]),
    );
    for (arch, text) in hashes {
        write_xz(
            &out.join("files/list").join(format!("{arch}.hash.xz")),
            text.as_bytes(),
        );
    }
    std::fs::write(
        out.join("files/list/task.info"),
        "task 123456\nprev 123455\n",
    )
    .unwrap();
    placed
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
