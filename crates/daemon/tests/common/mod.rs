//! Shared fixtures for the daemon tests: an embedded database, a RabbitMQ check, unique
//! names, snapshots from the real RPM corpus, config files, and the daemon as a child process.
//!
//! The daemon runs as a child: the test binary re-executes itself with
//! `ALTREPODB_DAEMON_CHILD=1`, which makes its `daemon_child` test run the daemon (standard
//! services plus the test-only `probe_loader`) until SIGTERM. Its JSON log lines on stderr
//! are collected for the test to wait on.
//!
//! Environment: `ALTREPODB_TESTDATA` (default `../shared/testdata`; tests needing RPMs skip
//! without it), `ALTREPODB_PYTHON` (embedded ClickHouse). RabbitMQ must listen on
//! 127.0.0.1:5672 (guest/guest); it is started with `rabbitmq-server -detached` when absent.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use altrepodb_daemon::service::{
    BoxFuture, Handler, Job, JobContext, JobError, JobOutcome, Message, Verdict,
};
use altrepodb_daemon::{config::DaemonConfig, Daemon, Registry};
use altrepodb_db::embedded::{EmbeddedOptions, EmbeddedServer};
use altrepodb_db::{schema, Db, DbSettings};
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use serde_json::{json, Value};

pub const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

// ---- names, RabbitMQ --------------------------------------------------------------------------

/// A name no other test (or run) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_millis(300),
    )
    .is_ok()
}

/// True when RabbitMQ listens (started if it was not); false: the test is skipped, or fails
/// under CI (`altrepodb_testdata::corpus::missing`).
pub fn rabbit() -> bool {
    if port_open(5672) {
        return true;
    }
    eprintln!("starting rabbitmq-server -detached");
    let _ = Command::new("rabbitmq-server").arg("-detached").status();
    for _ in 0..90 {
        if port_open(5672) {
            std::thread::sleep(Duration::from_secs(1));
            return true;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    altrepodb_testdata::corpus::missing(
        &altrepodb_testdata::corpus::current_test(),
        "RabbitMQ is not available on 127.0.0.1:5672",
    );
    false
}

/// A plain test connection.
pub async fn amqp() -> Connection {
    Connection::connect(AMQP, ConnectionProperties::default())
        .await
        .expect("connect to RabbitMQ")
}

/// Declares a durable queue bound to `exchange` with `key` (for watching what is published).
pub async fn watch_queue(conn: &Connection, exchange: &str, key: &str) -> String {
    let ch = conn.create_channel().await.unwrap();
    ch.exchange_declare(
        exchange.into(),
        lapin::ExchangeKind::Topic,
        lapin::options::ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    let q = unique("watch");
    ch.queue_declare(
        q.as_str().into(),
        QueueDeclareOptions {
            auto_delete: false,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        q.as_str().into(),
        exchange.into(),
        key.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    q
}

/// Takes one message from `queue`, waiting up to `timeout`.
pub async fn get_one(
    conn: &Connection,
    queue: &str,
    timeout: Duration,
) -> Option<(String, Vec<u8>)> {
    let ch = conn.create_channel().await.unwrap();
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if let Some(m) = ch
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            return Some((m.delivery.routing_key.to_string(), m.delivery.data.clone()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Publishes a persistent message to `exchange`.
pub async fn publish(conn: &Connection, exchange: &str, key: &str, body: &[u8]) {
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(Default::default()).await.unwrap();
    ch.basic_publish(
        exchange.into(),
        key.into(),
        BasicPublishOptions::default(),
        body,
        BasicProperties::default().with_delivery_mode(2),
    )
    .await
    .unwrap()
    .await
    .unwrap();
}

/// (ready messages, consumers) of a queue; `None` if it does not exist.
pub async fn queue_state(conn: &Connection, queue: &str) -> Option<(u32, u32)> {
    let ch = conn.create_channel().await.ok()?;
    let q = ch
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .ok()?;
    Some((q.message_count(), q.consumer_count()))
}

/// Deletes queues and exchanges a test made.
pub async fn cleanup(conn: &Connection, queues: &[&str], exchanges: &[&str]) {
    if let Ok(ch) = conn.create_channel().await {
        for q in queues {
            let _ = ch
                .queue_delete((*q).into(), QueueDeleteOptions::default())
                .await;
        }
        for e in exchanges {
            let _ = ch.exchange_delete((*e).into(), Default::default()).await;
        }
    }
}

// ---- database -----------------------------------------------------------------------------------

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
    port: u16,
    password: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        TestDb::start(tempfile::tempdir().expect("temp dir"), None).await
    }

    async fn start(home: tempfile::TempDir, port: Option<u16>) -> TestDb {
        let mut opts = EmbeddedOptions::new(home.path());
        opts.python = Some(python());
        opts.idle_exit_secs = 300;
        opts.port = port;
        let o = opts.clone();
        let server = tokio::task::spawn_blocking(move || EmbeddedServer::ensure_running(&o))
            .await
            .unwrap()
            .expect("embedded server starts (run scripts/setup.sh)");
        let port = server.port();
        let password = server.password().to_owned();
        let db = Db::connect(&TestDb::settings_for(port, &password), &opts, false)
            .await
            .expect("connect");
        schema::init(&db).await.expect("db init");
        TestDb {
            home,
            db: Some(db),
            server: Some(server),
            port,
            password,
        }
    }

    fn settings_for(port: u16, password: &str) -> DbSettings {
        let mut settings = DbSettings::with_fallbacks();
        settings.host = Some("127.0.0.1".into());
        settings.port = Some(port);
        settings.dbname = "repodb".into();
        settings.password = password.to_owned();
        settings
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The service `database` object for this server.
    pub fn database_json(&self) -> Value {
        json!({"dbname": "repodb", "host": "127.0.0.1", "port": self.port, "user": "default", "password": self.password})
    }

    /// Stops the server, keeping its data.
    pub fn stop(&mut self) {
        self.db.take();
        if let Some(s) = self.server.take() {
            let _ = s.stop();
        }
    }

    /// Starts the server again on the same port and data.
    pub async fn restart(self) -> TestDb {
        let mut me = self;
        me.stop();
        let port = me.port;
        let home = std::mem::replace(&mut me.home, tempfile::tempdir().unwrap());
        TestDb::start(home, Some(port)).await
    }

    pub fn db(&self) -> &Db {
        self.db.as_ref().expect("db")
    }

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
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---- snapshots ----------------------------------------------------------------------------------

/// `$ALTREPODB_TESTDATA` or `../shared/testdata`, if present.
/// Skipped (or failed under CI: `altrepodb_testdata::corpus::missing`) when absent.
pub fn testdata() -> Option<PathBuf> {
    altrepodb_testdata::corpus::root_for_test()
}

fn rpm_qf(file: &Path, fmt: &str) -> String {
    let out = Command::new("rpm")
        .args(["-qp", "--nosignature", "--nodigest", "--qf", fmt])
        .arg(file)
        .output()
        .expect("Debian rpm is installed (scripts/setup.sh)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The real RPMs of the corpus that carry SHA1HEADER (see crates/load/tests/repo_real.rs).
pub fn corpus() -> Option<Vec<PathBuf>> {
    let root = testdata()?.join("rpm");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()? {
            let p = e.ok()?.path();
            if p.is_dir() {
                if !p.ends_with("fetch-scancode-truncated") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rpm")
                && !p.to_string_lossy().contains("corrupted")
                && !rpm_qf(&p, "%{SHA1HEADER}").starts_with("(none)")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    (!out.is_empty()).then_some(out)
}

/// [`altrepodb_testdata::snapshot_from_rpms`]; returns the number of packages placed.
pub fn snapshot_from_rpms(out: &Path, rpms: &[PathBuf]) -> usize {
    altrepodb_testdata::snapshot_from_rpms(out, rpms)
        .expect("snapshot from RPM files")
        .len()
}

// ---- configuration files ------------------------------------------------------------------------

/// A daemon configuration in a temporary directory.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub services: PathBuf,
}

/// Writes `config.json` (services named by kind, file `<kind>.json`) and the service files.
pub fn write_config(top: Value, services: &[(&str, Value)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let sdir = dir.path().join("services.d");
    std::fs::create_dir_all(&sdir).unwrap();
    let mut list = Vec::new();
    for (kind, v) in services {
        let file = format!("{kind}.json");
        std::fs::write(sdir.join(&file), serde_json::to_vec_pretty(v).unwrap()).unwrap();
        list.push(json!({"name": kind, "config": file}));
    }
    let mut top = top;
    top["services"] = Value::Array(list);
    let config = dir.path().join("config.json");
    std::fs::write(&config, serde_json::to_vec_pretty(&top).unwrap()).unwrap();
    Setup {
        config,
        services: sdir,
        dir,
    }
}

/// The `amqp` object of a service consuming a fresh quorum queue bound to `exchange`/`key`.
pub fn service_amqp(queue: &str, exchange: &str, key: &str) -> Value {
    json!({
        "host": "127.0.0.1", "port": 5672, "vhost": "/", "exchange": exchange,
        "username": "guest", "password": "guest",
        "queue": {"name": queue, "type": "quorum", "durable": true,
                  "bind_at_startup": [{"exchange": exchange, "routing_key": key}]}
    })
}

// ---- the child process --------------------------------------------------------------------------

/// A test-only service: `{"sleep_ms": N}` sleeps and succeeds, `{"panic": true}` panics,
/// `{"fail": "why"}` fails. Key: `probe:<key field or "default">`.
pub struct Probe;

struct ProbeJob(Value);

impl Job for ProbeJob {
    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<JobOutcome, JobError>> {
        let v = self.0.clone();
        Box::pin(async move {
            // Touch the database so the job really needs it.
            ctx.db
                .execute("SELECT 1", "probe")
                .await
                .map_err(|e| JobError::transient(e.to_string()))?;
            if v.get("panic").and_then(Value::as_bool) == Some(true) {
                panic!("probe job asked to panic");
            }
            if let Some(why) = v.get("fail").and_then(Value::as_str) {
                return Err(JobError::permanent(why));
            }
            let ms = v.get("sleep_ms").and_then(Value::as_u64).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(JobOutcome {
                summary: format!("probe slept {ms} ms"),
                ..Default::default()
            })
        })
    }

    fn describe(&self) -> String {
        format!("probe {}", self.0)
    }
}

impl Handler for Probe {
    fn kind(&self) -> &str {
        "probe_loader"
    }
    fn accepts(&self, rk: &str) -> bool {
        rk == "probe.run"
    }
    fn check(&self, _msg: &Message, body: &Value) -> Verdict {
        if !body.is_object() {
            return Verdict::Reject("probe body must be an object".into());
        }
        let key = body
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_owned();
        Verdict::Run {
            key: format!("probe:{key}"),
            job: Arc::new(ProbeJob(body.clone())),
        }
    }
    fn scheduled(&self) -> Vec<(String, Value)> {
        vec![(
            "probe.run".into(),
            json!({"sleep_ms": 1500, "key": "scheduled"}),
        )]
    }
}

/// The body of the `daemon_child` test: runs the daemon when asked to, else returns.
pub fn child_main() {
    if std::env::var_os("ALTREPODB_DAEMON_CHILD").is_none() {
        return;
    }
    let config = PathBuf::from(std::env::var_os("ALTREPODB_DAEMON_CONFIG").unwrap());
    let services = PathBuf::from(std::env::var_os("ALTREPODB_DAEMON_SERVICES").unwrap());
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "warn,altrepodb_daemon=debug,altrepodb_load=info",
        ))
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let code = rt.block_on(async {
        let cfg = match DaemonConfig::load(&config, &services) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "configuration");
                return 1;
            }
        };
        let mut registry = Registry::default();
        registry.register("probe_loader", Box::new(|_| Ok(Arc::new(Probe))));
        match Daemon::start(cfg, registry).await {
            Ok(d) => match d.run_until_signal().await {
                Ok(()) => 0,
                Err(e) => {
                    tracing::error!(error = %e, "daemon");
                    1
                }
            },
            Err(e) => {
                tracing::error!(error = %e, "daemon start");
                1
            }
        }
    });
    drop(rt);
    std::process::exit(code);
}

/// The daemon running as a child process.
pub struct DaemonProc {
    child: Option<Child>,
    pub lines: Arc<Mutex<Vec<String>>>,
    pub http: Option<u16>,
}

impl DaemonProc {
    /// Starts the daemon of `setup` and waits until it logs "daemon started".
    pub fn start(setup: &Setup) -> DaemonProc {
        DaemonProc::start_with(setup, &[])
    }

    /// [`DaemonProc::start`] with extra environment variables.
    pub fn start_with(setup: &Setup, env: &[(&str, &str)]) -> DaemonProc {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = Command::new(exe);
        cmd.env_remove("NOTIFY_SOCKET");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .args(["--exact", "daemon_child", "--nocapture", "--test-threads=1"])
            .env("ALTREPODB_DAEMON_CHILD", "1")
            .env("ALTREPODB_DAEMON_CONFIG", &setup.config)
            .env("ALTREPODB_DAEMON_SERVICES", &setup.services)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the daemon child");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if std::env::var_os("ALTREPODB_TEST_VERBOSE").is_some() {
                    eprintln!("daemon: {line}");
                }
                l.lock().unwrap().push(line);
            }
        });
        let mut d = DaemonProc {
            child: Some(child),
            lines,
            http: None,
        };
        let started = d.wait_log("daemon started", Duration::from_secs(30));
        assert!(started, "daemon did not start:\n{}", d.log_text());
        d.http = d.find_map(|v| {
            (v["fields"]["message"] == "http endpoint listening (/health, /metrics)")
                .then(|| {
                    v["fields"]["addr"]
                        .as_str()?
                        .rsplit(':')
                        .next()?
                        .parse()
                        .ok()
                })
                .flatten()
        });
        d
    }

    /// Every log line as JSON.
    pub fn events(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn log_text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    fn find_map<T>(&self, f: impl Fn(&Value) -> Option<T>) -> Option<T> {
        self.events().iter().find_map(f)
    }

    /// Log events whose message is `msg`.
    pub fn with_message(&self, msg: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|v| v["fields"]["message"] == msg)
            .collect()
    }

    /// Waits until a line contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        self.wait_until(timeout, || {
            self.lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(needle))
        })
    }

    /// Waits until `n` events have message `msg`.
    pub fn wait_count(&self, msg: &str, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, || self.with_message(msg).len() >= n)
    }

    pub fn wait_until(&self, timeout: Duration, f: impl Fn() -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        f()
    }

    /// `GET path` on the HTTP endpoint: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        let port = self.http.expect("http endpoint configured");
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to /health");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// A metric's value from /metrics (0 when absent).
    pub fn metric(&self, series: &str) -> f64 {
        let (_, body) = self.get("/metrics");
        body.lines()
            .find_map(|l| {
                l.strip_prefix(series)
                    .and_then(|r| r.strip_prefix(' '))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0.0)
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().unwrap().try_wait(), Ok(None))
    }

    /// SIGTERM and wait (bounded); returns the exit code.
    pub fn terminate(&mut self, timeout: Duration) -> Option<i32> {
        unsafe {
            libc::kill(self.pid(), libc::SIGTERM);
        }
        self.wait_exit(timeout)
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let end = Instant::now() + timeout;
        let child = self.child.as_mut().unwrap();
        while Instant::now() < end {
            if let Ok(Some(st)) = child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for DaemonProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}
