//! The embedded server through the official Rust `clickhouse` crate, as the project uses it.
//!
//! Every test starts its own real server (chDB behind `embedded/chserver.py`) in a temporary
//! home: no mock. They need the venv made by `scripts/setup.sh` (or `ALTREPODB_PYTHON`) and fail
//! with that advice when it is missing. Set `TZ=UTC` for stable DateTime rendering (the server
//! forces it for itself). `ALTREPODB_SERVER_DEBUG=1` makes the servers log per-request timings,
//! which the million-row test prints (with `--nocapture`).

mod common;

use clickhouse::{Compression, Row};
use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};
use time::OffsetDateTime;
use uuid::Uuid;

use common::{code_of, raw_request, TestServer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize_repr, Deserialize_repr)]
#[repr(i8)]
enum Kind {
    Debug = -1,
    Source = 1,
    Binary = 2,
}

#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
struct Event {
    id: u64,
    name: String,
    arch: String,
    #[serde(with = "clickhouse::serde::time::datetime")]
    ts: OffsetDateTime,
    hash: [u8; 16],
    tags: Vec<String>,
    kind: Kind,
    #[serde(with = "clickhouse::serde::uuid")]
    uid: Uuid,
}

const EVENTS_DDL: &str = "CREATE TABLE events (
    id UInt64,
    name String,
    arch LowCardinality(String),
    ts DateTime,
    hash FixedString(16),
    tags Array(String),
    kind Enum8('debug' = -1, 'source' = 1, 'binary' = 2),
    uid UUID
) ENGINE = MergeTree ORDER BY id";

const ARCHES: [&str; 4] = ["x86_64", "noarch", "i586", "aarch64"];

/// Row `i` of the deterministic data set.
fn event(i: u64) -> Event {
    let mut hash = [0u8; 16];
    for (k, b) in hash.iter_mut().enumerate() {
        *b = (i.wrapping_mul(31).wrapping_add(k as u64 * 7) >> (k % 3)) as u8;
    }
    Event {
        id: i,
        name: format!("package-{i}"),
        arch: ARCHES[(i % 4) as usize].to_owned(),
        ts: OffsetDateTime::from_unix_timestamp(1_600_000_000 + (i as i64) * 7)
            .expect("valid timestamp"),
        hash,
        tags: (0..i % 4).map(|k| format!("tag{k}-{}", i % 10)).collect(),
        kind: [Kind::Debug, Kind::Source, Kind::Binary][(i % 3) as usize],
        uid: Uuid::from_u128(u128::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)),
    }
}

#[derive(Debug, Row, Deserialize, PartialEq)]
struct Aggregates {
    rows: u64,
    id_sum: u64,
    name_bytes: u64,
    tag_count: u64,
    debug_rows: u64,
    ts_sum: u64,
    distinct_uids: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_insert_of_a_million_rows_round_trips() {
    const N: u64 = 1_000_000;
    let started = std::time::Instant::now();
    let srv = TestServer::start();
    eprintln!("server ready in {:.2} s", started.elapsed().as_secs_f64());
    let client = srv.client(); // default compression: LZ4 blocks in, LZ4 frames out
    client
        .query(EVENTS_DDL)
        .execute()
        .await
        .expect("create table");

    let started = std::time::Instant::now();
    let mut insert = client.insert::<Event>("events").await.expect("insert");
    for i in 0..N {
        insert.write(&event(i)).await.expect("write row");
    }
    insert.end().await.expect("end insert");
    eprintln!(
        "inserted {N} rows in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let expected = (0..N).fold(
        Aggregates {
            rows: 0,
            id_sum: 0,
            name_bytes: 0,
            tag_count: 0,
            debug_rows: 0,
            ts_sum: 0,
            distinct_uids: N,
        },
        |mut acc, i| {
            let e = event(i);
            acc.rows += 1;
            acc.id_sum += e.id;
            acc.name_bytes += e.name.len() as u64;
            acc.tag_count += e.tags.len() as u64;
            acc.debug_rows += u64::from(e.kind == Kind::Debug);
            acc.ts_sum += e.ts.unix_timestamp() as u64;
            acc
        },
    );
    let got = client
        .query(
            "SELECT count() AS rows, sum(id) AS id_sum, sum(length(name)) AS name_bytes, \
             sum(length(tags)) AS tag_count, countIf(kind = 'debug') AS debug_rows, \
             sum(toUnixTimestamp(ts)) AS ts_sum, uniqExact(uid) AS distinct_uids FROM events",
        )
        .fetch_one::<Aggregates>()
        .await
        .expect("aggregates");
    assert_eq!(got, expected);

    // Spot rows, each compared field by field.
    let spots = [0u64, 1, 2, 3, 65_535, 65_536, 499_999, 999_999];
    let rows = client
        .query("SELECT ?fields FROM events WHERE has(?, id) ORDER BY id")
        .bind(spots.to_vec())
        .fetch_all::<Event>()
        .await
        .expect("spot rows");
    assert_eq!(rows, spots.iter().map(|&i| event(i)).collect::<Vec<_>>());

    // Every row back through a streaming cursor (the server must not repeat the
    // RowBinaryWithNamesAndTypes header between chDB's blocks).
    let started = std::time::Instant::now();
    let mut cursor = client
        .query("SELECT ?fields FROM events ORDER BY id")
        .fetch::<Event>()
        .expect("cursor");
    let mut next = 0u64;
    while let Some(row) = cursor.next().await.expect("next row") {
        assert_eq!(row, event(next), "row {next}");
        next += 1;
    }
    assert_eq!(next, N);
    eprintln!(
        "read {N} rows back in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    if let Some(pid) = srv.server().pid() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        for line in status
            .lines()
            .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        {
            eprintln!("server {line}");
        }
    }
    // With ALTREPODB_SERVER_DEBUG=1 the server logs per-request timings: show the big ones.
    let log = std::fs::read_to_string(srv.opts.log_file()).unwrap_or_default();
    for line in log
        .lines()
        .filter(|l| l.contains(" in ") && l.contains("lock wait"))
    {
        if line.contains("INSERT") || line.contains("-> 200 in") && !line.contains(" in 0.") {
            eprintln!("{line}");
        }
    }
}

#[derive(Debug, Row, Deserialize, PartialEq)]
struct Numbered {
    n: u64,
    s: String,
}

#[tokio::test]
async fn streamed_cursor_and_empty_results() {
    const N: u64 = 150_000;
    let srv = TestServer::start();
    let client = srv.client();

    let mut cursor = client
        .query("SELECT number AS n, toString(number * 3) AS s FROM numbers(?)")
        .bind(N)
        .fetch::<Numbered>()
        .expect("cursor");
    let mut i = 0u64;
    while let Some(row) = cursor.next().await.expect("row") {
        assert_eq!(row.n, i);
        assert_eq!(row.s, (i * 3).to_string());
        i += 1;
    }
    assert_eq!(i, N);

    // A header format streamed raw: the names line must appear exactly once.
    let bytes = client
        .query("SELECT number AS n FROM numbers(?)")
        .bind(N)
        .fetch_bytes("TSVWithNames")
        .expect("bytes cursor")
        .collect()
        .await
        .expect("collect");
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("n"));
    assert_eq!(lines.clone().count() as u64, N);
    assert!(lines.all(|l| l != "n"));

    // Native blocks streamed back to back (the crate turns its own compression off for them).
    let mut cursor = client
        .query("SELECT number AS n FROM numbers(?)")
        .bind(N)
        .fetch_native()
        .expect("native cursor");
    let (mut rows, mut sum) = (0u64, 0u64);
    while let Some(block) = cursor.next().await.expect("native block") {
        rows += block.num_rows() as u64;
        for n in block["n"].iter::<u64>().expect("column n") {
            sum += n.expect("value");
        }
    }
    assert_eq!((rows, sum), (N, N * (N - 1) / 2));

    // Empty results still carry the format's header, which the crate needs.
    let none = client
        .query("SELECT number AS n, toString(number) AS s FROM numbers(10) WHERE n > 100")
        .fetch_all::<Numbered>()
        .await
        .expect("empty fetch_all");
    assert!(none.is_empty());
    let opt = client
        .query("SELECT number AS n, 'x' AS s FROM numbers(0)")
        .fetch_optional::<Numbered>()
        .await
        .expect("empty fetch_optional");
    assert!(opt.is_none());
    let err = client
        .query("SELECT number AS n, 'x' AS s FROM numbers(0)")
        .fetch_one::<Numbered>()
        .await
        .expect_err("fetch_one of nothing");
    assert!(
        matches!(err, clickhouse::error::Error::RowNotFound),
        "{err}"
    );
}

/// A ClickHouse native block with method NONE and a checksum that cannot match.
fn corrupt_block(payload: &[u8]) -> Vec<u8> {
    let mut block = vec![0u8; 16];
    block.push(0x02);
    block.extend_from_slice(&(9 + payload.len() as u32).to_le_bytes());
    block.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    block.extend_from_slice(payload);
    block
}

#[tokio::test]
async fn errors_carry_clickhouse_codes_and_the_server_survives_them() {
    let srv = TestServer::start();
    let client = srv.client();
    client
        .query("CREATE TABLE t (a UInt64, b String) ENGINE = MergeTree ORDER BY a")
        .execute()
        .await
        .expect("create");

    async fn still_works(client: &clickhouse::Client) {
        let one = client
            .query("SELECT 1")
            .fetch_one::<u8>()
            .await
            .expect("SELECT 1 after an error");
        assert_eq!(one, 1);
    }

    let cases: [(&str, u32); 4] = [
        ("SELECT * FROM no_such_table", 60),
        ("SELEC 1", 62),
        ("SELECT 1; SELECT 2", 62),
        ("SELECT throwIf(1)", 395),
    ];
    for (sql, code) in cases {
        let err = client.query(sql).execute().await.expect_err(sql);
        assert_eq!(code_of(&err), Some(code), "{sql}: {err}");
        let text = err.to_string();
        assert!(
            text.contains("DB::Exception: ") && text.contains("(version 26."),
            "{text}"
        );
        still_works(&client).await;
    }

    // Wrong password: 516, and the right one still works on the same server.
    let err = client
        .clone()
        .with_user("default")
        .with_password("wrong")
        .query("SELECT 1")
        .execute()
        .await
        .expect_err("wrong password");
    assert_eq!(code_of(&err), Some(516), "{err}");
    assert!(err.to_string().contains("Authentication failed"), "{err}");
    still_works(&client).await;

    // A hand-made native block with a bad checksum: 40. Sent through the crate with its own
    // compression off, so the bytes arrive exactly as built.
    let raw = client
        .clone()
        .with_compression(Compression::None)
        .with_setting("decompress", "1");
    let mut insert = raw.insert_formatted_with("INSERT INTO t FORMAT TSV");
    insert
        .send(corrupt_block(b"1\tx\n").into())
        .await
        .expect("send block");
    let err = insert.end().await.expect_err("bad checksum");
    assert_eq!(code_of(&err), Some(40), "{err}");
    still_works(&client).await;

    // A body that ends inside a block: 33 (CANNOT_READ_ALL_DATA); nothing was inserted.
    let mut insert = raw.insert_formatted_with("INSERT INTO t FORMAT TSV");
    let block = corrupt_block(b"2\ty\n");
    insert
        .send(block[..block.len() - 2].to_vec().into())
        .await
        .expect("send half a block");
    let err = insert.end().await.expect_err("truncated block");
    assert_eq!(code_of(&err), Some(33), "{err}");
    let count = client
        .query("SELECT count() FROM t")
        .fetch_one::<u64>()
        .await
        .expect("count");
    assert_eq!(count, 0);

    // An INSERT dropped without end() is aborted: nothing lands, the server carries on.
    #[derive(Row, Serialize)]
    struct T {
        a: u64,
        b: String,
    }
    let mut insert = client.insert::<T>("t").await.expect("insert");
    for a in 0..50_000 {
        insert
            .write(&T {
                a,
                b: "x".repeat(100),
            })
            .await
            .expect("write");
    }
    drop(insert);
    still_works(&client).await;
    let count = client
        .query("SELECT count() FROM t")
        .fetch_one::<u64>()
        .await
        .expect("count");
    assert_eq!(count, 0, "an aborted insert must not commit");

    // Bad data in a typed insert: a parse error, then the table is still usable.
    let mut insert = client
        .clone()
        .with_compression(Compression::None)
        .insert_formatted_with("INSERT INTO t FORMAT TSV");
    insert
        .send(b"1\tok\nnot-a-number\tz\n".to_vec().into())
        .await
        .expect("send");
    let err = insert.end().await.expect_err("bad TSV");
    assert_eq!(code_of(&err), Some(27), "{err}");
    still_works(&client).await;

    // Statuses and headers as ClickHouse sends them.
    let pw = srv.password();
    let auth: &[(&str, &str)] = &[("X-ClickHouse-User", "default"), ("X-ClickHouse-Key", &pw)];
    let resp = raw_request(
        srv.port(),
        "POST",
        "/",
        auth,
        b"SELECT * FROM no_such_table",
    );
    assert_eq!(resp.status, 404);
    assert_eq!(resp.header("X-ClickHouse-Exception-Code"), Some("60"));
    assert!(
        resp.text().starts_with("Code: 60. DB::Exception: "),
        "{}",
        resp.text()
    );
    assert!(
        resp.text()
            .ends_with("(version 26.9.2.1 (official build))\n"),
        "{}",
        resp.text()
    );
    let resp = raw_request(srv.port(), "POST", "/", auth, b"SELEC 1");
    assert_eq!(
        (resp.status, resp.header("X-ClickHouse-Exception-Code")),
        (400, Some("62"))
    );
    let resp = raw_request(
        srv.port(),
        "POST",
        "/?user=default&password=bad",
        &[],
        b"SELECT 1",
    );
    assert_eq!(
        (resp.status, resp.header("X-ClickHouse-Exception-Code")),
        (403, Some("516"))
    );
    let resp = raw_request(srv.port(), "GET", "/?query=DROP%20TABLE%20t", auth, b"");
    assert_eq!(
        resp.header("X-ClickHouse-Exception-Code"),
        Some("164"),
        "GET implies readonly"
    );
    let resp = raw_request(srv.port(), "GET", "/ping", &[], b"");
    assert_eq!((resp.status, resp.text().as_str()), (200, "Ok.\n"));
    let resp = raw_request(srv.port(), "POST", "/?query=SELECT%202%2B2", auth, b"");
    assert_eq!((resp.status, resp.text().as_str()), (200, "4\n"));
    still_works(&client).await;
}

#[derive(Debug, Row, Serialize, Deserialize, PartialEq, Clone)]
struct Item {
    id: u32,
    label: String,
}

#[tokio::test]
#[allow(deprecated)] // `with_option` is the name the project's code uses; it is `with_setting`
async fn params_settings_databases_and_the_inserter() {
    let srv = TestServer::start();
    let client = srv.client();

    // Server-side parameters (multipart body).
    let n = client
        .query("SELECT {n:UInt32} + 1")
        .param("n", 41u32)
        .fetch_one::<u64>()
        .await
        .expect("param");
    assert_eq!(n, 42);
    let s = client
        .query("SELECT concat({s:String}, '!')")
        .param("s", "it's \"quoted\"\\")
        .fetch_one::<String>()
        .await
        .expect("string param");
    assert_eq!(s, "it's \"quoted\"\\!");

    // Settings apply to their request only.
    let one = client
        .clone()
        .with_option("max_threads", "1")
        .query("SELECT toUInt64(getSetting('max_threads'))")
        .fetch_one::<u64>()
        .await
        .expect("setting");
    assert_eq!(one, 1);
    let default = client
        .query("SELECT toUInt64(getSetting('max_threads'))")
        .fetch_one::<u64>()
        .await
        .expect("default setting");
    assert_ne!(
        default, 1,
        "settings must be reset after the request (2 cores here, so 2+)"
    );
    let async_insert = client
        .query("SELECT toString(getSetting('async_insert'))")
        .fetch_one::<String>()
        .await
        .expect("async_insert");
    assert_eq!(
        async_insert, "false",
        "async_insert is forced off, as on a server"
    );
    let err = client
        .clone()
        .with_setting("no_such_setting", "1")
        .query("SELECT 1")
        .execute()
        .await
        .expect_err("unknown setting");
    assert_eq!(code_of(&err), Some(115), "{err}");

    let err = client
        .clone()
        .with_setting("max_execution_time", "1")
        .with_setting("max_block_size", "1")
        .query("SELECT count() FROM numbers(20) WHERE sleepEachRow(0.2) = 0")
        .execute()
        .await
        .expect_err("timeout");
    assert_eq!(code_of(&err), Some(159), "{err}");

    // The database parameter, per request.
    client
        .query("CREATE DATABASE repo")
        .execute()
        .await
        .expect("create database");
    let repo = client.clone().with_database("repo");
    repo.query("CREATE TABLE items (id UInt32, label String) ENGINE = MergeTree ORDER BY id")
        .execute()
        .await
        .expect("create table in repo");
    let db = repo
        .query("SELECT currentDatabase()")
        .fetch_one::<String>()
        .await
        .expect("db");
    assert_eq!(db, "repo");
    let db = client
        .query("SELECT currentDatabase()")
        .fetch_one::<String>()
        .await
        .expect("db");
    assert_eq!(db, "default");
    let err = client
        .clone()
        .with_database("nope")
        .query("SELECT 1")
        .execute()
        .await
        .expect_err("no db");
    assert_eq!(code_of(&err), Some(81), "{err}");

    // The Inserter: several INSERTs, each committed on its own.
    let mut inserter = repo.inserter::<Item>("items").with_max_rows(1000);
    for id in 0..2500u32 {
        inserter
            .write(&Item {
                id,
                label: format!("item {id}"),
            })
            .await
            .expect("inserter write");
        inserter.commit().await.expect("commit");
    }
    inserter.end().await.expect("inserter end");
    let total = repo
        .query("SELECT count() FROM items")
        .fetch_one::<u64>()
        .await
        .expect("count");
    assert_eq!(total, 2500);
    let parts = repo
        .query("SELECT count() FROM system.parts WHERE database = 'repo' AND table = 'items' AND active")
        .fetch_one::<u64>()
        .await
        .expect("parts");
    assert!(parts >= 1);

    // Client-side binds next to server-side params.
    let label = repo
        .query("SELECT label FROM items WHERE id = ? AND label LIKE {p:String}")
        .bind(7u32)
        .param("p", "item%")
        .fetch_one::<String>()
        .await
        .expect("bind + param");
    assert_eq!(label, "item 7");
}

#[tokio::test]
async fn compression_none_round_trip() {
    let srv = TestServer::start();
    let client = srv.client().with_compression(Compression::None);
    client
        .query("CREATE TABLE items (id UInt32, label String) ENGINE = MergeTree ORDER BY id")
        .execute()
        .await
        .expect("create");
    let mut insert = client.insert::<Item>("items").await.expect("insert");
    for id in 0..20_000u32 {
        insert
            .write(&Item {
                id,
                label: "x".repeat((id % 17) as usize),
            })
            .await
            .expect("write");
    }
    insert.end().await.expect("end");
    let rows = client
        .query("SELECT ?fields FROM items ORDER BY id")
        .fetch_all::<Item>()
        .await
        .expect("fetch_all");
    assert_eq!(rows.len(), 20_000);
    assert!(rows
        .iter()
        .enumerate()
        .all(|(i, r)| r.id as usize == i && r.label.len() == i % 17));
}

#[tokio::test]
async fn data_survives_a_clean_restart_and_kill_9() {
    let mut srv = TestServer::start();
    let first_port = srv.port();
    let client = srv.client();
    client.query(EVENTS_DDL).execute().await.expect("create");
    let mut insert = client.insert::<Event>("events").await.expect("insert");
    for i in 0..12_345 {
        insert.write(&event(i)).await.expect("write");
    }
    insert.end().await.expect("end");

    // A second launcher call finds the running server instead of starting another.
    let again = altrepodb_db::embedded::EmbeddedServer::ensure_running(&srv.opts).expect("reuse");
    assert!(!again.started_by_us());
    assert_eq!(again.port(), first_port);
    let pid: u32 = std::fs::read_to_string(srv.opts.pid_file())
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert_eq!(Some(pid), srv.server().pid());
    again
        .stop()
        .expect("stopping a server we do not own is a no-op");
    assert!(altrepodb_db::embedded::ping(first_port), "still running");

    srv.restart();
    let client = srv.client();
    let count = client
        .query("SELECT count() FROM events")
        .fetch_one::<u64>()
        .await
        .expect("count");
    assert_eq!(count, 12_345, "after SIGTERM and restart");
    let row = client
        .query("SELECT ?fields FROM events WHERE id = 777")
        .fetch_one::<Event>()
        .await
        .expect("row 777");
    assert_eq!(row, event(777));

    let mut insert = client.insert::<Event>("events").await.expect("insert");
    for i in 12_345..20_000 {
        insert.write(&event(i)).await.expect("write");
    }
    insert.end().await.expect("end");
    client
        .query("CREATE TABLE after_restart (x UInt8) ENGINE = MergeTree ORDER BY x")
        .execute()
        .await
        .expect("ddl");
    client
        .query("INSERT INTO after_restart VALUES (1), (2), (3)")
        .execute()
        .await
        .expect("values");

    srv.kill9_and_restart();
    let client = srv.client();
    let count = client
        .query("SELECT count() FROM events")
        .fetch_one::<u64>()
        .await
        .expect("count");
    assert_eq!(count, 20_000, "after kill -9 and restart");
    let sum = client
        .query("SELECT sum(x) FROM after_restart")
        .fetch_one::<u64>()
        .await
        .expect("sum");
    assert_eq!(sum, 6);
    let row = client
        .query("SELECT ?fields FROM events WHERE id = 19999")
        .fetch_one::<Event>()
        .await
        .expect("row 19999");
    assert_eq!(row, event(19_999));
}

/// The script run directly with a static user list: every credential style ClickHouse accepts.
#[tokio::test]
async fn static_users_and_credential_styles() {
    use std::process::{Command, Stdio};
    let home = tempfile::tempdir().expect("temp dir");
    let script = altrepodb_db::embedded::install_server(home.path()).expect("write script");
    let port_file = home.path().join("port");
    let mut child = Command::new(common::python())
        .arg(&script)
        .arg("--data")
        .arg(home.path().join("data"))
        .arg("--port-file")
        .arg(&port_file)
        .args([
            "--user",
            "alice:s3cret",
            "--user",
            "bob:pw:with:colons",
            "--idle-exit",
            "120",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn chserver.py");
    let started = std::time::Instant::now();
    let port: u16 = loop {
        if let Ok(text) = std::fs::read_to_string(&port_file) {
            break text.trim().parse().expect("port");
        }
        assert!(started.elapsed().as_secs() < 30, "server did not start");
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "server exited"
        );
        std::thread::sleep(std::time::Duration::from_millis(25));
    };

    let ok = |resp: common::RawResponse| {
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.text(), "1\n");
    };
    let denied = |resp: common::RawResponse| {
        assert_eq!(
            resp.header("X-ClickHouse-Exception-Code"),
            Some("516"),
            "{}",
            resp.text()
        );
        assert_eq!(resp.status, 403);
    };
    let q = b"SELECT 1";
    ok(raw_request(
        port,
        "POST",
        "/",
        &[
            ("X-ClickHouse-User", "alice"),
            ("X-ClickHouse-Key", "s3cret"),
        ],
        q,
    ));
    // "bob:pw:with:colons" in Basic auth
    ok(raw_request(
        port,
        "POST",
        "/",
        &[("Authorization", "Basic Ym9iOnB3OndpdGg6Y29sb25z")],
        q,
    ));
    ok(raw_request(
        port,
        "POST",
        "/?user=alice&password=s3cret",
        &[],
        q,
    ));
    denied(raw_request(port, "POST", "/", &[], q)); // `default` is not in the list
    denied(raw_request(
        port,
        "POST",
        "/?user=alice&password=nope",
        &[],
        q,
    ));
    denied(raw_request(
        port,
        "POST",
        "/",
        &[("Authorization", "Bearer some.jwt.token")],
        q,
    ));
    denied(raw_request(
        port,
        "POST",
        "/?user=alice&password=s3cret",
        &[
            ("X-ClickHouse-User", "alice"),
            ("X-ClickHouse-Key", "s3cret"),
        ],
        q,
    ));
    let client = clickhouse::Client::default()
        .with_url(format!("http://127.0.0.1:{port}"))
        .with_user("bob")
        .with_password("pw:with:colons");
    let one = client
        .query("SELECT 1")
        .fetch_one::<u8>()
        .await
        .expect("crate credentials");
    assert_eq!(one, 1);

    // /ping answers while a query holds the engine; a query waits for it.
    let slow = std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let resp = raw_request(
            port,
            "POST",
            "/?user=alice&password=s3cret&max_threads=1&max_block_size=1",
            &[],
            b"SELECT count() FROM numbers(8) WHERE sleepEachRow(0.25) = 0",
        );
        (resp, started.elapsed())
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let pinged = std::time::Instant::now();
    let pong = raw_request(port, "GET", "/ping", &[], b"");
    assert_eq!(pong.text(), "Ok.\n");
    assert!(
        pinged.elapsed().as_millis() < 500,
        "ping took {:?}",
        pinged.elapsed()
    );

    // SIGTERM while that query runs: it still completes, then a clean exit without port file.
    // SAFETY: a process we spawned.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let (resp, took) = slow.join().expect("slow query thread");
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (200, "8\n"),
        "{}",
        resp.text()
    );
    assert!(
        took.as_millis() >= 1500,
        "the query was still running at SIGTERM ({took:?})"
    );
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(!port_file.exists());
}

#[test]
fn concurrent_launchers_share_one_server_which_exits_when_idle() {
    use altrepodb_db::embedded::{ping, EmbeddedOptions, EmbeddedServer};
    let home = tempfile::tempdir().expect("temp dir");
    let mut opts = EmbeddedOptions::new(home.path());
    opts.python = Some(common::python());
    opts.idle_exit_secs = 2;
    let servers: Vec<EmbeddedServer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| s.spawn(|| EmbeddedServer::ensure_running(&opts)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("ensure_running"))
            .collect()
    });
    assert_eq!(
        servers.iter().filter(|s| s.started_by_us()).count(),
        1,
        "exactly one server started"
    );
    let port = servers[0].port();
    assert!(servers.iter().all(|s| s.port() == port));
    let pid = servers
        .iter()
        .find_map(EmbeddedServer::pid)
        .expect("our pid");

    // While handles live, their keep-alive pings hold off the idle exit.
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert!(
        opts.port_file().exists(),
        "idle exit fired under live handles"
    );

    // Without handles: no requests for 2 s, then it stops by itself and cleans up.
    drop(servers);
    let started = std::time::Instant::now();
    // (Only look at files and /proc: a /ping would count as activity.)
    while opts.port_file().exists() || std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            started.elapsed().as_secs() < 20,
            "server did not exit when idle"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(!ping(port));
    assert!(!opts.pid_file().exists());
    let log = std::fs::read_to_string(opts.log_file()).expect("server.log");
    assert!(
        log.contains("stopping (idle for 2 s)") && log.contains("stopped"),
        "{log}"
    );

    // The next command starts a fresh one on the same data.
    let again = EmbeddedServer::ensure_running(&opts).expect("start again");
    assert!(again.started_by_us());
    again.stop().expect("stop");
}
