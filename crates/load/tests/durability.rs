//! Loads that survive the server and the network: against the real embedded ClickHouse,
//! - a load whose INSERT answers are lost (a TCP proxy closes the connection after the
//!   server answered, so the server committed what the client saw fail) stores every row
//!   exactly once, in every table;
//! - a load followed at once by `kill -9` of the server holds, after a restart, every row an
//!   undisturbed load holds, the materialized views' tables included;
//! - the Buffer lists that `altrepodb_db::flush` flushes cover every Buffer the insert
//!   targets reach (read from the engine's own catalogue).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use altrepodb_db::embedded::{EmbeddedOptions, EmbeddedServer};
use altrepodb_db::{flush, rows, rows_task, schema, Db, DbSettings};
use altrepodb_load::repo::{load_repo, RepoLoadOptions};
use altrepodb_load::task::{clean_tasks, load_task, TaskCleanOptions, TaskLoadOptions};
use altrepodb_load::NoObserver;
use altrepodb_testdata::task::{generate_task, TaskSpec};
use altrepodb_testdata::{generate_repo, RepoSpec};

/// Tables whose contents the materialized views derive: each must be filled by the loads.
const DERIVED: &[&str] = &[
    "FileNames",
    "PackagesSourceAndBinaries",
    "SrcPackagesLastChangelog",
    "last_packages_stage1",
    "StaticLastPackages",
    "BranchPackageHistory",
];

/// An embedded server of our own that the test can kill.
struct Server {
    opts: EmbeddedOptions,
    server: Option<EmbeddedServer>,
    _home: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let home = tempfile::tempdir().expect("temp dir");
        let mut opts = EmbeddedOptions::new(home.path());
        opts.python = Some(common::python());
        opts.idle_exit_secs = 300;
        let server = Self::ensure(&opts).await;
        Server {
            opts,
            server: Some(server),
            _home: home,
        }
    }

    async fn ensure(opts: &EmbeddedOptions) -> EmbeddedServer {
        let o = opts.clone();
        tokio::task::spawn_blocking(move || EmbeddedServer::ensure_running(&o))
            .await
            .unwrap()
            .expect("embedded server starts (run scripts/setup.sh)")
    }

    fn port(&self) -> u16 {
        self.server.as_ref().expect("running").port()
    }

    /// A connection to `port` (the server's, or a proxy's in front of it).
    async fn connect(&self, port: u16) -> Db {
        let mut settings = DbSettings::with_fallbacks();
        settings.host = Some("127.0.0.1".into());
        settings.port = Some(port);
        settings.dbname = "repodb".into();
        // The server's password lives in its home, so it holds across restarts.
        settings.password = self.server.as_ref().expect("running").password().to_owned();
        Db::connect(&settings, &self.opts, false)
            .await
            .expect("connect")
    }

    /// SIGTERM (the server flushes its Buffers while shutting down), then start again.
    async fn restart(&mut self) {
        let s = self.server.take().expect("running");
        tokio::task::spawn_blocking(move || s.stop())
            .await
            .unwrap()
            .expect("stop");
        self.server = Some(Self::ensure(&self.opts).await);
    }

    /// `kill -9`, then start again on the same data.
    async fn kill9_and_restart(&mut self) {
        let s = self.server.take().expect("running");
        let pid = s.pid().expect("our own server") as libc::pid_t;
        // SAFETY: a process this test started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        let _ = tokio::task::spawn_blocking(move || s.stop()).await; // reaps the child
        self.server = Some(Self::ensure(&self.opts).await);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = s.stop();
        }
    }
}

/// The snapshot and the tasks every scenario loads.
struct Inputs {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    tasks_root: PathBuf,
    tasks: Vec<PathBuf>,
    gone: PathBuf,
}

fn inputs() -> Inputs {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    generate_repo(&repo, &RepoSpec::new(30, 21)).expect("generate snapshot");
    let tasks_root = dir.path().join("tasks");
    let mut tasks = Vec::new();
    for (i, state) in ["DONE", "EPERM"].iter().enumerate() {
        let spec = TaskSpec {
            id: 361_000 + i as u32,
            state: (*state).into(),
            subtasks: 4,
            iterations: 2,
            seed: 30 + i as u64,
            archived: *state == "DONE",
            ..TaskSpec::default()
        };
        tasks.push(
            generate_task(&tasks_root, &spec)
                .expect("generate task")
                .dir,
        );
    }
    // A task that is loaded and then vanishes: the cleaner marks it DELETED.
    let spec = TaskSpec {
        id: 361_100,
        state: "NEW".into(),
        subtasks: 1,
        iterations: 1,
        seed: 40,
        ..TaskSpec::default()
    };
    let gone = generate_task(&tasks_root, &spec)
        .expect("generate task")
        .dir;
    Inputs {
        _dir: dir,
        repo,
        tasks_root,
        tasks,
        gone,
    }
}

/// The repository load, the task loads and the cleaner, one after the other.
async fn load_everything(db: &Db, inp: &Inputs) {
    let opts = RepoLoadOptions {
        pkgset: "sisyphus".into(),
        path: inp.repo.clone(),
        date: "2024-03-01".into(),
        tag: String::new(),
        workers: 2,
        force: false,
        dry_run: false,
        limits: Default::default(),
        skip_bad: false,
    };
    load_repo(db, &opts, Arc::new(NoObserver))
        .await
        .expect("repo load");
    for dir in inp.tasks.iter().chain([&inp.gone]) {
        let mut o = TaskLoadOptions::new(dir);
        o.workers = 2;
        o.file_provides = true;
        load_task(db, &o, Arc::new(NoObserver))
            .await
            .unwrap_or_else(|e| panic!("task load {}: {e}", dir.display()));
    }
    let moved = inp.gone.with_extension("moved");
    std::fs::rename(&inp.gone, &moved).unwrap();
    let mut o = TaskCleanOptions::new(&inp.tasks_root);
    o.unclear_log = inp.tasks_root.join("unclear.log");
    let r = clean_tasks(db, &o).await.expect("cleaner");
    std::fs::rename(&moved, &inp.gone).unwrap();
    assert_eq!(r.deleted.len(), 1, "the vanished task is marked DELETED");
}

/// Turns background merges off in every MergeTree-family table (persisted in the table's
/// metadata, so also after restarts): a ReplacingMergeTree would otherwise collapse rows
/// with equal keys at moments of its own choosing, hiding duplicates and making counts differ
/// between two servers that hold the same rows.
async fn freeze_merges(db: &Db) {
    #[derive(serde::Deserialize, clickhouse::Row)]
    struct Name {
        name: String,
    }
    let names: Vec<Name> = db
        .client()
        .query(
            "SELECT name FROM system.tables WHERE database = currentDatabase() \
             AND engine LIKE '%MergeTree'",
        )
        .fetch_all()
        .await
        .unwrap();
    for n in names {
        db.execute(
            &format!(
                "ALTER TABLE `{}` MODIFY SETTING max_bytes_to_merge_at_max_space_in_pool = 1, \
                 max_bytes_to_merge_at_min_space_in_pool = 1",
                n.name
            ),
            "stopping merges",
        )
        .await
        .unwrap();
    }
}

/// Row count of every table that stores rows (Buffers are empty after a restart).
async fn table_counts(db: &Db) -> BTreeMap<String, u64> {
    #[derive(serde::Deserialize, clickhouse::Row)]
    struct Name {
        name: String,
    }
    let names: Vec<Name> = db
        .client()
        .query(
            "SELECT name FROM system.tables WHERE database = currentDatabase() \
             AND engine NOT IN ('View', 'MaterializedView', 'Null', 'Buffer') ORDER BY name",
        )
        .fetch_all()
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for n in names {
        let c: u64 = db
            .client()
            .query(&format!("SELECT count() FROM `{}`", n.name))
            .fetch_one()
            .await
            .unwrap();
        out.insert(n.name, c);
    }
    out
}

async fn scalar(db: &Db, sql: &str) -> u64 {
    db.client().query(sql).fetch_one().await.expect(sql)
}

/// What a proxy saw and did.
#[derive(Default)]
struct ProxyLog {
    /// INSERTs per target table.
    inserts: BTreeMap<String, u32>,
    /// INSERTs whose answer was thrown away, per target table.
    dropped: BTreeMap<String, u32>,
}

/// A TCP proxy to `upstream` that lets the server answer an INSERT and then closes the
/// client's connection without passing the answer on: the first INSERT into each table
/// and every fifth INSERT overall.
fn lossy_proxy(upstream: u16) -> (u16, Arc<Mutex<ProxyLog>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(ProxyLog::default()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            connection(client, server, log2.clone());
        }
    });
    (port, log)
}

/// The table named by `INSERT INTO <t>` in the URL of a request head, if any.
fn insert_target(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let line = text.lines().next()?;
    let q = &line[line.find("query=INSERT")? + "query=INSERT".len()..];
    let q = q.trim_start_matches(['+', ' ']).trim_start_matches("%20");
    let q = q.strip_prefix("INTO")?;
    let q = q.trim_start_matches('+').trim_start_matches("%20");
    let q = q.strip_prefix("%60").unwrap_or(q); // the client back-quotes the name
    let name: String = q
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn connection(mut client: TcpStream, mut server: TcpStream, log: Arc<Mutex<ProxyLog>>) {
    // Set (before the request reaches the server) when the answer to it is to be dropped.
    let drop_answer = Arc::new(Mutex::new(None::<String>));
    let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let flag = drop_answer.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match c_in.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if buf[..n].starts_with(b"POST ") || buf[..n].starts_with(b"GET ") {
                if let Some(table) = insert_target(&buf[..n]) {
                    let mut l = log.lock().unwrap();
                    let nth = l.inserts.values().sum::<u32>() + 1;
                    let first = !l.inserts.contains_key(&table);
                    *l.inserts.entry(table.clone()).or_default() += 1;
                    if first || nth % 5 == 0 {
                        *l.dropped.entry(table.clone()).or_default() += 1;
                        *flag.lock().unwrap() = Some(table);
                    }
                }
            }
            if s_out.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = s_out.shutdown(Shutdown::Write);
    });
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // The server answered, so it has committed: lose the answer.
            if drop_answer.lock().unwrap().take().is_some() {
                break;
            }
            if client.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_insert_answers_store_every_row_once() {
    let inp = inputs();

    let mut clean = Server::start().await;
    let db = clean.connect(clean.port()).await;
    schema::init(&db).await.expect("db init");
    freeze_merges(&db).await;
    load_everything(&db, &inp).await;
    drop(db);
    clean.restart().await;
    let want = table_counts(&clean.connect(clean.port()).await).await;
    drop(clean);

    let mut lossy = Server::start().await;
    let direct = lossy.connect(lossy.port()).await;
    schema::init(&direct).await.expect("db init");
    freeze_merges(&direct).await;
    let (proxy, log) = lossy_proxy(lossy.port());
    let db = lossy.connect(proxy).await;
    load_everything(&db, &inp).await;
    drop((db, direct));
    lossy.restart().await;
    let got = table_counts(&lossy.connect(lossy.port()).await).await;

    let log = log.lock().unwrap();
    eprintln!(
        "inserts per target {:?}; answers lost {:?}",
        log.inserts, log.dropped
    );
    // Every insert target of the loads lost an answer at least once.
    let targets: BTreeSet<&str> = log.inserts.keys().map(String::as_str).collect();
    for t in [
        rows::table::PACKAGES,
        rows::table::FILES,
        rows::table::DEPENDS,
        rows::table::CHANGELOG,
        rows::table::SPECFILES,
        rows::table::PACKAGE_HASH,
        rows::table::PACKAGE_SET,
        rows::table::PACKAGE_SET_NAME,
        rows_task::table::TASK_STATES,
        rows_task::table::TASKS,
        rows_task::table::TASK_ITERATIONS,
        rows_task::table::TASK_CHROOTS,
        rows_task::table::TASK_LOGS,
        rows_task::table::TASK_PLAN_PACKAGES,
        rows_task::table::TASK_PLAN_PKG_HASH,
        rows_task::table::TASK_APPROVALS,
        rows_task::table::TASK_PROGRESS,
        rows_task::table::TASK_SUBTASK_PROGRESS,
    ] {
        assert!(targets.contains(t), "no INSERT into {t}: {targets:?}");
        assert!(log.dropped.get(t).copied().unwrap_or(0) >= 1, "{t}");
    }
    assert!(
        log.dropped.values().sum::<u32>() > log.dropped.len() as u32,
        "{:?}",
        log.dropped
    );
    assert_eq!(
        got, want,
        "row counts with lost answers vs an undisturbed load"
    );
    for t in [
        "Packages",
        "Files",
        "PackageSetName",
        "TaskStates",
        "TaskLogs",
    ] {
        assert!(want[t] > 0, "{t} is empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_load_survives_kill_9() {
    let inp = inputs();

    let mut calm = Server::start().await;
    let db = calm.connect(calm.port()).await;
    schema::init(&db).await.expect("db init");
    freeze_merges(&db).await;
    load_everything(&db, &inp).await;
    drop(db);
    calm.restart().await;
    let want = table_counts(&calm.connect(calm.port()).await).await;
    drop(calm);

    let mut killed = Server::start().await;
    let db = killed.connect(killed.port()).await;
    schema::init(&db).await.expect("db init");
    freeze_merges(&db).await;
    load_everything(&db, &inp).await;
    drop(db);
    killed.kill9_and_restart().await;
    let db = killed.connect(killed.port()).await;
    let got = table_counts(&db).await;

    assert_eq!(got, want, "row counts after kill -9 vs an undisturbed load");
    for t in DERIVED
        .iter()
        .chain(&["Packages", "Files", "PackageSet", "TaskStates"])
    {
        assert!(got[*t] > 0, "{t} is empty after kill -9");
    }
    // The views the API reads answer from what survived.
    let n = scalar(
        &db,
        "SELECT count() FROM last_packages WHERE pkgset_name = 'sisyphus'",
    )
    .await;
    assert_eq!(n, got["StaticLastPackages"]);
    let sources = scalar(
        &db,
        "SELECT count() FROM Packages WHERE pkg_sourcepackage = 1",
    )
    .await;
    assert_eq!(got["SrcPackagesLastChangelog"], sources);
}

/// The Buffers behind an insert target: itself, or the Buffers its materialized views write.
fn buffers_behind(target: &str, engines: &BTreeMap<String, (String, String)>) -> Vec<String> {
    match engines.get(target).map(|(e, _)| e.as_str()) {
        Some("Buffer") => vec![target.to_owned()],
        Some("Null") => engines
            .iter()
            .filter(|(_, (e, q))| {
                e == "MaterializedView" && q.contains(&format!(" FROM repodb.{target}"))
            })
            .filter_map(|(_, (_, q))| {
                let to = q.split(" TO repodb.").nth(1)?;
                let name: String = to
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                Some(name)
            })
            .flat_map(|t| buffers_behind(&t, engines))
            .collect(),
        _ => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_lists_cover_every_buffer_the_loads_reach() {
    let server = Server::start().await;
    let db = server.connect(server.port()).await;
    schema::init(&db).await.expect("db init");
    #[derive(serde::Deserialize, clickhouse::Row)]
    struct T {
        name: String,
        engine: String,
        create_table_query: String,
    }
    let engines: BTreeMap<String, (String, String)> = db
        .client()
        .query("SELECT name, engine, create_table_query FROM system.tables WHERE database = currentDatabase()")
        .fetch_all::<T>()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name, (t.engine, t.create_table_query)))
        .collect();
    let package_targets = [
        rows::table::PACKAGES,
        rows::table::FILES,
        rows::table::DEPENDS,
        rows::table::CHANGELOG,
        rows::table::SPECFILES,
        rows::table::PACKAGE_HASH,
    ];
    let task_targets = [
        rows_task::table::TASKS,
        rows_task::table::TASK_ITERATIONS,
        rows_task::table::TASK_CHROOTS,
        rows_task::table::TASK_LOGS,
        rows_task::table::TASK_PLAN_PACKAGES,
        rows_task::table::TASK_PLAN_PKG_HASH,
        rows_task::table::TASK_APPROVALS,
        rows_task::table::TASK_PROGRESS,
        rows_task::table::TASK_SUBTASK_PROGRESS,
    ];
    let reach = |targets: &[&str]| -> BTreeSet<String> {
        targets
            .iter()
            .flat_map(|t| buffers_behind(t, &engines))
            .collect()
    };
    let repo = reach(&[&package_targets[..], &[rows::table::PACKAGE_SET]].concat());
    assert!(repo.contains("FileNames_buffer"), "{repo:?}");
    let listed: BTreeSet<String> = flush::PACKAGE_SET_LOAD
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(repo, listed);
    let task = reach(&[&package_targets[..], &task_targets[..]].concat());
    let listed: BTreeSet<String> = flush::TASK_LOAD.iter().map(|s| s.to_string()).collect();
    assert_eq!(task, listed);
    // The rows that publish a load are not buffered: on disk once visible.
    for t in [rows::table::PACKAGE_SET_NAME, rows_task::table::TASK_STATES] {
        assert!(engines[t].0.ends_with("MergeTree"), "{t}: {}", engines[t].0);
        assert!(buffers_behind(t, &engines).is_empty());
    }
    // Buffer and Null targets, and the publishing tables (they fire materialized views), are
    // re-checked before a resend; every other target deduplicates a resent batch.
    for t in package_targets.iter().chain(&task_targets).chain(&[
        rows::table::PACKAGE_SET,
        rows::table::PACKAGE_SET_NAME,
        rows_task::table::TASK_STATES,
    ]) {
        let engine = &engines[*t].0;
        // The engine's own list of the views an INSERT into `t` triggers.
        let views: u64 = db
            .client()
            .query("SELECT length(dependencies_table) FROM system.tables WHERE database = currentDatabase() AND name = ?")
            .bind(*t)
            .fetch_one()
            .await
            .unwrap();
        let fires_views = views > 0;
        if [rows::table::PACKAGE_SET_NAME, rows_task::table::TASK_STATES].contains(t) {
            assert!(fires_views, "{t} fires no materialized view");
        }
        if engine == "Buffer" || engine == "Null" || fires_views {
            assert!(
                altrepodb_db::recheck::spec(t).is_some(),
                "{t} has no re-check"
            );
        } else {
            assert!(
                altrepodb_db::recheck::table_deduplicates(db.client(), t)
                    .await
                    .unwrap(),
                "{t} ({engine}) does not deduplicate inserts"
            );
        }
    }
}

/// Writes the first half of `rows` into `table`, then asks the re-check which rows of all
/// of them are stored: exactly the first half.
async fn recheck_half<T>(db: &Db, table: &str, rows: Vec<T>)
where
    T: clickhouse::Row + clickhouse::RowOwned + clickhouse::RowWrite + serde::Serialize + Clone,
{
    let half = rows.len() / 2;
    let mut ins = altrepodb_db::inserter::BatchInserter::new(db.client(), table, "recheck-test");
    ins.extend(rows[..half].iter().cloned()).await.unwrap();
    ins.finish().await.unwrap();
    let spec = altrepodb_db::recheck::spec(table).unwrap_or_else(|| panic!("{table}: no spec"));
    let stored = altrepodb_db::recheck::stored_rows(db.client(), spec, &rows)
        .await
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    let want: std::collections::HashSet<usize> = (0..half).collect();
    assert_eq!(stored, want, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recheck_finds_exactly_the_stored_rows() {
    use rows::{
        table, ChangelogRow, DepKind, DependsRow, FilesRow, PackageHashRow, PackageSetNameRow,
        PackageSetRow, PackagesRow, SpecfilesRow,
    };
    use rows_task::{TaskChrootsRow, TaskIterationsRow, TaskLogsRow, TaskStatesRow, TasksRow};
    let server = Server::start().await;
    let db = server.connect(server.port()).await;
    schema::init(&db).await.expect("db init");
    let four = |f: &dyn Fn(u64) -> u64| (0..4u64).map(f).collect::<Vec<u64>>();

    let pkgs = four(&|i| 10 + i)
        .into_iter()
        .map(|h| PackagesRow {
            pkg_hash: h,
            ..Default::default()
        })
        .collect();
    recheck_half(&db, table::PACKAGES, pkgs).await;
    // One package, two files: the same pkgh_mmh with other MD5s are other rows.
    let hashes = (0..4u8)
        .map(|i| PackageHashRow {
            pkgh_mmh: 20,
            pkgh_md5: [i; 16],
            ..Default::default()
        })
        .collect();
    recheck_half(&db, table::PACKAGE_HASH, hashes).await;
    let files = (0..4)
        .map(|i| FilesRow {
            pkg_hash: 30,
            file_name: format!("/usr/share/doc/x/{i}"),
            ..Default::default()
        })
        .collect();
    recheck_half(&db, table::FILES, files).await;
    let chlog = four(&|i| 40 + i)
        .into_iter()
        .map(|h| ChangelogRow {
            chlog_hash: h,
            chlog_text: format!("text {h}"),
        })
        .collect();
    recheck_half(&db, table::CHANGELOG, chlog).await;
    let deps = [
        ("a", DepKind::Require),
        ("a", DepKind::Provide),
        ("b", DepKind::Require),
        ("a", DepKind::Conflict),
    ]
    .iter()
    .map(|(n, t)| DependsRow {
        pkg_hash: 50,
        dp_name: (*n).into(),
        dp_type: *t,
        ..Default::default()
    })
    .collect();
    recheck_half(&db, table::DEPENDS, deps).await;
    let specs = four(&|i| 60 + i)
        .into_iter()
        .map(|h| SpecfilesRow {
            pkg_hash: h,
            specfile_content_base64: "TmFtZTogeAo=".into(),
            ..Default::default()
        })
        .collect();
    recheck_half(&db, table::SPECFILES, specs).await;
    let node = uuid::Uuid::from_u128(7);
    let set = four(&|i| 70 + i)
        .into_iter()
        .map(|h| PackageSetRow {
            pkgset_uuid: node,
            pkg_hash: h,
        })
        .collect();
    recheck_half(&db, table::PACKAGE_SET, set).await;
    let names = (0..4u128)
        .map(|i| PackageSetNameRow {
            pkgset_uuid: uuid::Uuid::from_u128(100 + i),
            pkgset_depth: 1,
            ..Default::default()
        })
        .collect();
    recheck_half(&db, table::PACKAGE_SET_NAME, names).await;
    let subtasks = (0..4)
        .map(|i| TasksRow {
            task_id: 80,
            subtask_id: 100 + i,
            task_changed: 1_700_000_000,
            ..Default::default()
        })
        .collect();
    recheck_half(&db, rows_task::table::TASKS, subtasks).await;
    let iterations = ["x86_64", "i586", "aarch64", "ppc64le"]
        .iter()
        .map(|a| TaskIterationsRow {
            task_id: 81,
            subtask_arch: (*a).into(),
            ..Default::default()
        })
        .collect();
    recheck_half(&db, rows_task::table::TASK_ITERATIONS, iterations).await;
    let chroots = (0..4u64)
        .map(|i| TaskChrootsRow {
            tch_chroot: vec![i, i + 1, 99],
        })
        .collect();
    recheck_half(&db, rows_task::table::TASK_CHROOTS, chroots).await;
    // A log rewritten with new time stamps: the same lines at other times are other rows.
    let logs = [(1, 100), (2, 100), (1, 200), (2, 200)]
        .iter()
        .map(|(line, ts)| TaskLogsRow {
            tlog_hash: 90,
            tlog_line: *line,
            tlog_ts: *ts,
            tlog_message: format!("line {line}"),
        })
        .collect();
    recheck_half(&db, rows_task::table::TASK_LOGS, logs).await;
    for (table, id) in [
        (rows_task::table::TASK_STATES, 91),
        ("TaskStates_buffer", 92),
    ] {
        let states = ["NEW", "BUILDING", "EPERM", "TESTED"]
            .iter()
            .map(|s| TaskStatesRow {
                task_id: id,
                task_changed: 1_700_000_000,
                task_state: (*s).into(),
                ..Default::default()
            })
            .collect();
        recheck_half(&db, table, states).await;
    }
    // A DONE row counts as stored only with the history rows its view writes: a row whose
    // view output is missing (an insert that failed between the two) is resent.
    let done = |id: u32| TaskStatesRow {
        task_id: id,
        task_changed: 1_700_000_100,
        task_state: "DONE".into(),
        ..Default::default()
    };
    let spec = altrepodb_db::recheck::spec(rows_task::table::TASK_STATES).unwrap();
    let mut ins = altrepodb_db::inserter::BatchInserter::new(
        db.client(),
        rows_task::table::TASK_STATES,
        "recheck-test",
    );
    ins.extend([done(94), done(95)]).await.unwrap();
    ins.finish().await.unwrap();
    db.execute(
        "ALTER TABLE BranchPackageHistory DELETE WHERE task_id = 95 SETTINGS mutations_sync = 1",
        "dropping a view's output",
    )
    .await
    .unwrap();
    let stored = altrepodb_db::recheck::stored_rows(db.client(), spec, &[done(94), done(95)])
        .await
        .unwrap();
    assert_eq!(
        stored,
        [0].into_iter().collect(),
        "task 95 lost its history"
    );
    // Every spec was exercised.
    let covered = [
        table::PACKAGES,
        table::PACKAGE_HASH,
        table::FILES,
        table::CHANGELOG,
        table::DEPENDS,
        table::SPECFILES,
        table::PACKAGE_SET,
        table::PACKAGE_SET_NAME,
        rows_task::table::TASKS,
        rows_task::table::TASK_ITERATIONS,
        rows_task::table::TASK_CHROOTS,
        rows_task::table::TASK_LOGS,
        rows_task::table::TASK_STATES,
        "TaskStates_buffer",
    ];
    for t in altrepodb_db::recheck::tables() {
        assert!(covered.contains(&t), "{t} is not tested");
    }
}
