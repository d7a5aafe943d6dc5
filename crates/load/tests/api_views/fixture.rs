//! The loaded database the view test queries: generated branch snapshots and a DONE task
//! loaded by the loaders, plus rows of the tables no loader of this project writes (ACLs,
//! errata changes, CVEs, an image tree, branch history events), inserted as the feed
//! uploaders and the image loader would. Every buffer is flushed and the server stopped, so
//! each query can start a server process of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use altrepodb_db::embedded::{EmbeddedOptions, EmbeddedServer};
use altrepodb_db::{schema, Db, DbSettings};
use altrepodb_load::repo::{load_repo, RepoLoadOptions};
use altrepodb_load::task::{load_task, TaskLoadOptions};
use altrepodb_load::NoObserver;
use altrepodb_testdata::manifest::{PackageKind, PackageRecord};
use altrepodb_testdata::task::{generate_task, TaskManifest, TaskSpec};
use altrepodb_testdata::{generate_next_day, generate_repo, RepoSpec};

use crate::common::python;

/// Branch states: sisyphus = day two (also the newest once day one is loaded for it at
/// SIS_OLD_DATE), p10 = day one.
pub const SIS_DATE: &str = "2024-01-16";
pub const SIS_OLD_DATE: &str = "2024-01-15";
pub const P10_DATE: &str = "2024-01-10";
pub const TASK_ID: u32 = 360_000;

/// The image tree inserted into PackageSetName/PackageSet.
pub const IMG_ROOT: &str = "00000000-0000-5000-8000-0000000000a0";
pub const IMG_CHILD: &str = "00000000-0000-5000-8000-0000000000a1";
pub const IMG_NAME: &str = "alt-workstation";
pub const IMG_DATE: &str = "2024-01-12";
pub const IMG_TAG: &str = "p10:workstation:10.1:install:x86_64";
pub const IMG_FILE: &str = "alt-workstation-10.1-x86_64.iso";

/// The CVE row whose package is in no branch.
pub const CVE_ORPHAN_HASH: u64 = 424_242;

pub struct Fixture {
    /// `$ALTREPODB_HOME` of the embedded server holding the database.
    pub home: tempfile::TempDir,
    _gen: tempfile::TempDir,
    /// Day one (p10, and sisyphus' older state).
    pub d1: Vec<PackageRecord>,
    pub d1_dir: PathBuf,
    /// Day two (sisyphus).
    pub d2: Vec<PackageRecord>,
    pub d2_dir: PathBuf,
    /// The DONE task.
    pub task: TaskManifest,
    /// Binaries of p10 put into the image.
    pub image_pkgs: Vec<PackageRecord>,
    /// The ACL'd source package of sisyphus.
    pub acl_pkg: String,
    /// A day-two binary not in day one, with a CVE row.
    pub cve_pkg: PackageRecord,
    /// A source of sisyphus' current state with a 'delete' history event.
    pub redeleted_src: String,
    /// Day one is loaded as sisyphus' older state too ([`add_old_sisyphus`]).
    pub with_old: bool,
}

pub fn options(home: &Path) -> EmbeddedOptions {
    let mut opts = EmbeddedOptions::new(home);
    opts.python = Some(python());
    opts.idle_exit_secs = 300;
    opts
}

/// Starts the server of `home` (a new process unless one runs) and connects.
pub async fn start(home: &Path) -> (EmbeddedServer, Db) {
    let opts = options(home);
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
    (server, db)
}

pub async fn stop(server: EmbeddedServer, db: Db) {
    drop(db);
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap()
        .expect("server stops");
}

async fn exec(db: &Db, sql: &str) {
    db.execute(sql, "fixture")
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

fn repo_opts(pkgset: &str, path: &Path, date: &str) -> RepoLoadOptions {
    RepoLoadOptions {
        pkgset: pkgset.into(),
        path: path.to_owned(),
        date: date.into(),
        tag: String::new(),
        workers: 2,
        force: false,
        dry_run: false,
        limits: Default::default(),
        skip_bad: false,
    }
}

fn sql_list<T: std::fmt::Display>(v: impl IntoIterator<Item = T>) -> String {
    v.into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn build() -> Fixture {
    let gen = tempfile::tempdir().unwrap();
    let d1_dir = gen.path().join("day1");
    let d2_dir = gen.path().join("day2");
    let spec = RepoSpec {
        arches: vec!["x86_64".into(), "noarch".into(), "x86_64-i586".into()],
        ..RepoSpec::new(24, 21)
    };
    let m1 = generate_repo(&d1_dir, &spec).expect("day one");
    let m2 = generate_next_day(&d1_dir, &d2_dir, 25.0, 22).expect("day two");
    let d1 = m1.load_packages().unwrap();
    let d2 = m2.load_packages().unwrap();
    let task = generate_task(
        &gen.path().join("tasks"),
        &TaskSpec {
            id: TASK_ID,
            state: "DONE".into(),
            subtasks: 2,
            seed: 23,
            ..TaskSpec::default()
        },
    )
    .expect("task");

    let home = tempfile::tempdir().unwrap();
    let (server, db) = start(home.path()).await;
    schema::init(&db).await.expect("db init");
    for (name, dir, date) in [("Sisyphus", &d2_dir, SIS_DATE), ("p10", &d1_dir, P10_DATE)] {
        load_repo(&db, &repo_opts(name, dir, date), Arc::new(NoObserver))
            .await
            .unwrap_or_else(|e| panic!("load {name} {date}: {e}"));
    }
    let mut o = TaskLoadOptions::new(&task.dir);
    o.workers = 2;
    load_task(&db, &o, Arc::new(NoObserver))
        .await
        .expect("load task");

    let d1_hashes: Vec<u64> = d1.iter().map(|r| r.pkg_hash).collect();
    let src_d2: Vec<&PackageRecord> = d2
        .iter()
        .filter(|r| r.kind == PackageKind::Source)
        .collect();
    let acl_pkg = src_d2[0].name.clone();
    let redeleted_src = src_d2[1].name.clone();
    let cve_pkg = d2
        .iter()
        .find(|r| r.kind == PackageKind::Binary && !d1_hashes.contains(&r.pkg_hash))
        .expect("day two has a new binary")
        .clone();

    // ACLs as the acl uploader writes them: one insert per date, oldest first.
    for values in [
        format!("('2024-01-01 00:00:00', '{acl_pkg}', 'sisyphus', ['alice', '@qa']), ('2024-01-01 00:00:00', '@qa', 'sisyphus', ['carol', 'dave']), ('2024-01-01 00:00:00', '{acl_pkg}', 'p10', ['alice'])"),
        format!("('2024-02-01 00:00:00', '{acl_pkg}', 'sisyphus', ['bob', '@qa'])"),
    ] {
        exec(&db, &format!("INSERT INTO Acl (acl_date, acl_for, acl_branch, acl_list) VALUES {values}")).await;
    }
    // Errata changes: errata 1 discarded by its last change, errata 2 only created, errata 3
    // discarded and then restored.
    exec(
        &db,
        "INSERT INTO ErrataChangeHistory (ec_id, ec_created, ec_updated, ec_user, ec_user_ip, ec_reason, \
         ec_type, ec_source, ec_origin, errata_id, transaction_id) VALUES \
         ('ALT-EC-2024-1-1', '2024-01-01 00:00:00', '2024-01-01 00:00:00', 'u', '', '{}', 'create', 'auto', 'parent', 'ALT-PU-2024-1-1', '00000000-0000-4000-8000-000000000001'), \
         ('ALT-EC-2024-1-2', '2024-01-01 00:00:00', '2024-01-05 00:00:00', 'u', '', '{}', 'discard', 'manual', 'parent', 'ALT-PU-2024-1-2', '00000000-0000-4000-8000-000000000002'), \
         ('ALT-EC-2024-2-1', '2024-01-02 00:00:00', '2024-01-02 00:00:00', 'u', '', '{}', 'create', 'auto', 'parent', 'ALT-PU-2024-2-1', '00000000-0000-4000-8000-000000000003'), \
         ('ALT-EC-2024-3-1', '2024-01-03 00:00:00', '2024-01-03 00:00:00', 'u', '', '{}', 'discard', 'manual', 'parent', 'ALT-PU-2024-3-1', '00000000-0000-4000-8000-000000000004'), \
         ('ALT-EC-2024-3-2', '2024-01-03 00:00:00', '2024-01-06 00:00:00', 'u', '', '{}', 'create', 'manual', 'parent', 'ALT-PU-2024-3-2', '00000000-0000-4000-8000-000000000005')",
    )
    .await;
    exec(
        &db,
        &format!(
            "INSERT INTO Cve (pkg_hash, cve_id) VALUES ({}, 'CVE-2024-0001'), ({CVE_ORPHAN_HASH}, 'CVE-2024-0002')",
            cve_pkg.pkg_hash
        ),
    )
    .await;
    // Branch history events of other tasks: a deletion (sisyphus and p10), an update
    // (delete + add in one task) and a deletion of a package that is back in sisyphus.
    exec(
        &db,
        &format!(
            "INSERT INTO BranchPackageHistory (pkgset_name, task_id, task_changed, tplan_action, pkg_hash, pkg_name, pkg_sourcepackage) VALUES \
             ('sisyphus', 500, '2023-12-01 00:00:00', 'add', 9001, 'fixture-gone', 1), \
             ('sisyphus', 501, '2023-12-02 00:00:00', 'delete', 9001, 'fixture-gone', 1), \
             ('sisyphus', 502, '2023-12-03 00:00:00', 'delete', 9002, 'fixture-updated', 1), \
             ('sisyphus', 502, '2023-12-03 00:00:00', 'add', 9003, 'fixture-updated', 1), \
             ('sisyphus', 503, '2023-12-04 00:00:00', 'delete', 9005, '{redeleted_src}', 1), \
             ('p10', 504, '2023-12-05 00:00:00', 'delete', 9004, 'fixture-gone', 1)"
        ),
    )
    .await;
    // An image as the image loader writes it: the component first, the root last.
    let image_pkgs: Vec<PackageRecord> = d1
        .iter()
        .filter(|r| r.kind == PackageKind::Binary && r.pkg_arch != "x86_64-i586")
        .take(3)
        .cloned()
        .collect();
    let a_source = d1
        .iter()
        .find(|r| r.kind == PackageKind::Source)
        .unwrap()
        .pkg_hash;
    exec(
        &db,
        &format!(
            "INSERT INTO PackageSet_buffer (pkgset_uuid, pkg_hash) SELECT '{IMG_CHILD}', arrayJoin([{}])",
            sql_list(image_pkgs.iter().map(|r| r.pkg_hash).chain([a_source]))
        ),
    )
    .await;
    let node = |uuid: &str, parent: &str, depth: u8, name: &str, kv: &[(&str, &str)]| {
        format!(
            "('{uuid}', '{parent}', '{IMG_ROOT}', {depth}, '{name}', '{IMG_DATE}', '{IMG_TAG}', 1, [{}], [{}])",
            sql_list(kv.iter().map(|(k, _)| format!("'{k}'"))),
            sql_list(kv.iter().map(|(_, v)| format!("'{v}'")))
        )
    };
    let cols = "(pkgset_uuid, pkgset_puuid, pkgset_ruuid, pkgset_depth, pkgset_nodename, pkgset_date, pkgset_tag, pkgset_complete, `pkgset_kv.k`, `pkgset_kv.v`)";
    exec(
        &db,
        &format!(
            "INSERT INTO PackageSetName {cols} VALUES {}",
            node(IMG_CHILD, IMG_ROOT, 1, "rpms", &[])
        ),
    )
    .await;
    exec(
        &db,
        &format!(
            "INSERT INTO PackageSetName {cols} VALUES {}",
            node(
                IMG_ROOT,
                "00000000-0000-0000-0000-000000000000",
                0,
                IMG_NAME,
                &[
                    ("class", "iso"),
                    ("branch", "p10"),
                    ("edition", "workstation"),
                    ("flavor", "kde"),
                    ("release", "release"),
                    ("version_major", "10"),
                    ("version_minor", "1"),
                    ("version_sub", "0"),
                    ("arch", "x86_64"),
                    ("variant", "install"),
                    ("image_type", "iso"),
                    ("file", IMG_FILE),
                ]
            )
        ),
    )
    .await;

    flush(&db).await;
    exec(&db, "OPTIMIZE TABLE last_acl_stage1 FINAL").await;
    stop(server, db).await;
    Fixture {
        home,
        _gen: gen,
        d1,
        d1_dir,
        d2,
        d2_dir,
        task,
        image_pkgs,
        acl_pkg,
        cve_pkg,
        redeleted_src,
        with_old: false,
    }
}

/// Loads day one as sisyphus' older state (SIS_OLD_DATE): a third branch tree. The engine
/// orders the joins of the package-set views by the sizes it estimates, so the checks run
/// before and after this load.
pub async fn add_old_sisyphus(f: &mut Fixture) {
    let (server, db) = start(f.home.path()).await;
    load_repo(
        &db,
        &repo_opts("Sisyphus", &f.d1_dir, SIS_OLD_DATE),
        Arc::new(NoObserver),
    )
    .await
    .expect("load the older sisyphus");
    flush(&db).await;
    stop(server, db).await;
    f.with_old = true;
}

/// Everything reaches its MergeTree (MVs on the destination tables fire then); TaskStates
/// last, as in the original's flush order (mv_package_history reads the task tables).
async fn flush(db: &Db) {
    let buffers = db
        .fetch_text(
            "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine = 'Buffer' \
             ORDER BY name = 'TaskStates_buffer', name",
            "TabSeparated",
        )
        .await
        .unwrap();
    for t in String::from_utf8(buffers).unwrap().lines() {
        exec(db, &format!("OPTIMIZE TABLE {t}")).await;
    }
}
