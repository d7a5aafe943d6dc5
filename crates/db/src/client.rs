//! An open database: the `clickhouse` client plus, for the embedded default, the server it talks to.

use std::time::Duration;

use clickhouse::Client;

use crate::embedded::{EmbeddedOptions, EmbeddedServer};
use crate::error::{one_line, server_code, DbError};
use crate::settings::{DbSettings, NATIVE_PORTS};

/// How long the first round trip may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// TCP keep-alive and idle-connection timeout, as the `clickhouse` crate's own client uses
/// (ClickHouse closes idle keep-alive connections after 3 s).
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// A `clickhouse` client over the crate's default HTTP(S) stack plus `TCP_NODELAY`.
///
/// Without it every INSERT whose body goes out in more than one segment waits for the
/// server's delayed ACK (40 ms on Linux) because of Nagle's algorithm: measured on the
/// embedded server as "body 40-43 ms" for inserts of a few rows, 17 of them per task.
fn http_client(url: &str) -> Result<Client, DbError> {
    let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
    tcp.set_nodelay(true);
    tcp.set_keepalive(Some(TCP_KEEPALIVE));
    tcp.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| DbError::Unreachable {
            url: url.to_owned(),
            reason: format!("TLS set-up: {e}"),
        })?
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(Client::with_http_client(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector),
    ))
}

/// A connected database.
///
/// The same code path serves the embedded server and a real ClickHouse: only the URL differs.
pub struct Db {
    base: Client,
    client: Client,
    /// `client` without row-type validation, for inserts (see [`Db::insert_client`]).
    inserts: Client,
    settings: DbSettings,
    url: String,
    server_version: String,
    embedded: Option<EmbeddedServer>,
}

impl Db {
    /// Connects and checks the connection with one round trip.
    ///
    /// With no host configured this starts (or reuses) the embedded server under `embedded.home`.
    /// The database itself need not exist yet unless `require_database` is set.
    pub async fn connect(
        settings: &DbSettings,
        embedded: &EmbeddedOptions,
        require_database: bool,
    ) -> Result<Db, DbError> {
        let (url, server) = match settings.url() {
            Some(url) => {
                let port = settings.effective_port();
                if NATIVE_PORTS.contains(&port) {
                    return Err(DbError::NativePort { port });
                }
                (url, None)
            }
            None => {
                let opts = embedded.clone();
                let server =
                    tokio::task::spawn_blocking(move || EmbeddedServer::ensure_running(&opts))
                        .await
                        .map_err(|e| DbError::Unreachable {
                            url: "embedded server".into(),
                            reason: e.to_string(),
                        })??;
                (server.url(), Some(server))
            }
        };
        // The embedded server has one user, `default`, with the home's password.
        let (user, password) = match &server {
            Some(server) => ("default", server.password()),
            None => (settings.user.as_str(), settings.password.as_str()),
        };
        let base = http_client(&url)?
            .with_url(&url)
            .with_user(user)
            .with_password(password);
        let client = base.clone().with_database(&settings.dbname);
        let inserts = client.clone().with_validation(false);
        let mut db = Db {
            base,
            client,
            inserts,
            settings: settings.clone(),
            url,
            server_version: String::new(),
            embedded: server,
        };
        db.server_version = db.handshake(require_database).await?;
        Ok(db)
    }

    async fn handshake(&self, require_database: bool) -> Result<String, DbError> {
        let probe = async {
            let client = if require_database {
                &self.client
            } else {
                &self.base
            };
            client.query("SELECT version()").fetch_one::<String>().await
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, probe).await {
            Err(_) => Err(DbError::Unreachable {
                url: self.url.clone(),
                reason: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            }),
            Ok(Ok(version)) => Ok(version),
            Ok(Err(err)) => Err(self.classify(&err, "connecting")),
        }
    }

    /// Turns a client error into the most specific `DbError`.
    pub fn classify(&self, err: &clickhouse::error::Error, context: &str) -> DbError {
        use clickhouse::error::Error as E;
        match (err, server_code(err)) {
            (E::Network(source), _) => DbError::Unreachable {
                url: self.url.clone(),
                reason: root_cause(source.as_ref()),
            },
            (E::TimedOut, _) => DbError::Unreachable {
                url: self.url.clone(),
                reason: "timed out".into(),
            },
            (_, Some(516 | 192 | 193 | 194)) => DbError::Auth {
                url: self.url.clone(),
                user: if self.embedded.is_some() {
                    "default".to_owned()
                } else {
                    self.settings.user.clone()
                },
            },
            (_, Some(81)) => DbError::UnknownDatabase {
                url: self.url.clone(),
                dbname: self.settings.dbname.clone(),
            },
            _ => DbError::Query {
                context: context.to_owned(),
                code: server_code(err),
                message: one_line(&err.to_string()),
            },
        }
    }

    /// The client bound to the configured database.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client loaders' inserts use: plain `RowBinary`, without the `DESCRIBE TABLE`
    /// round trip the validating client sends before the first insert into each table in
    /// each process (16 of them for one task, more than its checks). The row structs are
    /// held to the schema by the tests that load with [`Db::with_insert_validation`] on.
    pub fn insert_client(&self) -> &Client {
        &self.inserts
    }

    /// Turns the type validation of inserts on or off (off by default; tests turn it on to
    /// check every row struct against the live schema).
    pub fn with_insert_validation(mut self, on: bool) -> Self {
        self.inserts = self.client.clone().with_validation(on);
        self
    }

    /// A client not bound to any database (for `CREATE DATABASE`).
    pub fn server_client(&self) -> &Client {
        &self.base
    }

    /// The configured database name.
    pub fn dbname(&self) -> &str {
        &self.settings.dbname
    }

    /// The server URL (no credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `SELECT version()` as reported at connect time.
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// True when talking to the embedded server.
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// Runs one statement that returns no rows.
    pub async fn execute(&self, sql: &str, context: &str) -> Result<(), DbError> {
        stats::round_trips_add(1);
        self.client
            .query_raw(sql)
            .execute()
            .await
            .map_err(|e| self.classify(&e, context))
    }

    /// Runs a query and returns the whole result in `format` (e.g. `TSV`, `JSONEachRow`).
    pub async fn fetch_text(&self, sql: &str, format: &str) -> Result<Vec<u8>, DbError> {
        stats::round_trips_add(1);
        let mut cursor = self
            .client
            .query_raw(sql)
            .fetch_bytes(format)
            .map_err(|e| self.classify(&e, "query"))?;
        let bytes = cursor
            .collect()
            .await
            .map_err(|e| self.classify(&e, "query"))?;
        Ok(bytes.to_vec())
    }
}

/// The innermost message of an error chain: "connection refused" rather than "client error (Connect)".
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    one_line(&cur.to_string())
}

/// Client-side counters of the requests this process sends: round trips (every query,
/// insert batch and statement is one HTTP request) and, for the checks, the rows the server
/// read to answer them (`X-ClickHouse-Summary` `read_rows`). `-D` prints them, so a check
/// that scans a table instead of following its sorting key shows at once.
pub mod stats {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Mutex;

    static ROUND_TRIPS: AtomicU64 = AtomicU64::new(0);
    static ROWS_READ: AtomicU64 = AtomicU64::new(0);
    static LOG_QUERIES: AtomicBool = AtomicBool::new(false);
    static QUERIES: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());

    /// Counts `n` requests sent to the server.
    pub fn round_trips_add(n: u64) {
        ROUND_TRIPS.fetch_add(n, Ordering::Relaxed);
    }

    /// Requests sent so far by this process.
    pub fn round_trips() -> u64 {
        ROUND_TRIPS.load(Ordering::Relaxed)
    }

    /// Rows the server read for the checks so far (where it reported them).
    pub fn rows_read() -> u64 {
        ROWS_READ.load(Ordering::Relaxed)
    }

    /// Keeps a list of the checks with the rows each read (for `-D`); off by default.
    pub fn log_queries(on: bool) {
        LOG_QUERIES.store(on, Ordering::Relaxed);
    }

    /// Records one check: what it asked and how many rows the server read for it.
    pub fn record_read(what: &str, rows: u64) {
        ROWS_READ.fetch_add(rows, Ordering::Relaxed);
        if LOG_QUERIES.load(Ordering::Relaxed) {
            if let Ok(mut q) = QUERIES.lock() {
                q.push((what.to_owned(), rows));
            }
        }
        tracing::debug!(rows_read = rows, "check: {what}");
    }

    /// The checks recorded since the last call (with [`log_queries`] on), oldest first.
    pub fn take_queries() -> Vec<(String, u64)> {
        QUERIES
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }
}
