//! Attacks on the embedded server, each against the real engine: reading and writing host files,
//! requests on the server's behalf, web pages talking to it, wrong credentials, readonly escapes.
//!
//! Every refusal is checked by its ClickHouse code and by its effect: the secret never shows up
//! in an answer, no file appears, no connection reaches the listener.

mod common;

use std::net::TcpListener;
use std::path::Path;

use common::{raw_request, RawResponse, TestServer};

/// One query as user `default` with the server's password.
fn query(srv: &TestServer, target: &str, sql: &str) -> RawResponse {
    let pw = srv.password();
    raw_request(
        srv.port(),
        "POST",
        target,
        &[("X-ClickHouse-User", "default"), ("X-ClickHouse-Key", &pw)],
        sql.as_bytes(),
    )
}

fn code(resp: &RawResponse) -> Option<&str> {
    resp.header("X-ClickHouse-Exception-Code")
}

/// The query succeeds; returns its answer.
fn ok(srv: &TestServer, sql: &str) -> String {
    let resp = query(srv, "/", sql);
    assert_eq!(resp.status, 200, "{sql}: {}", resp.text());
    resp.text()
}

/// The query fails with `expected` and its answer does not carry `secret`.
fn refused(srv: &TestServer, sql: &str, expected: &str, secret: &str) {
    let resp = query(srv, "/", sql);
    assert_eq!(code(&resp), Some(expected), "{sql}: {}", resp.text());
    assert_ne!(resp.status, 200, "{sql}");
    assert!(
        !resp.text().contains(secret),
        "{sql} leaked the secret: {}",
        resp.text()
    );
}

/// A file with a unique secret in a fresh directory (where writes must not appear either).
fn secret_file(dir: &Path) -> (String, String) {
    let secret = format!(
        "s3cr3t-{}-{}",
        std::process::id(),
        dir.display().to_string().len()
    );
    let path = dir.join("secret.txt");
    std::fs::write(&path, format!("{secret}\n")).expect("write secret");
    (path.display().to_string(), secret)
}

#[test]
fn host_files_cannot_be_read_or_written() {
    let srv = TestServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, secret) = secret_file(dir.path());
    let out = dir.path().join("out.txt").display().to_string();
    let d = dir.path().display().to_string();
    ok(
        &srv,
        "CREATE TABLE t (s String) ENGINE = MergeTree ORDER BY s",
    );
    ok(&srv, "INSERT INTO t VALUES ('x')");

    // The file() table function and the scalar file() (local mode reads any path with it), in
    // every spelling the engine accepts, hidden in comments, subqueries, WITH, JOIN and views.
    for sql in [
        format!("SELECT * FROM file('{file}', 'LineAsString')"),
        format!("SELECT * FROM `file`('{file}', 'LineAsString')"),
        format!("SELECT * FROM \"file\"('{file}', 'LineAsString')"),
        format!("SELECT * FROM `\\x66ile`('{file}', 'LineAsString')"),
        format!("SELECT * FROM file/* c */('{file}', 'LineAsString')"),
        format!("SELECT * FROM file -- c\n('{file}', 'LineAsString')"),
        format!("SELECT * FROM (SELECT * FROM (SELECT * FROM file('{file}', 'LineAsString')))"),
        format!("WITH (SELECT * FROM file('{file}', 'LineAsString')) AS h SELECT h"),
        format!("SELECT * FROM t JOIN file('{file}', 'LineAsString') AS f ON 1"),
        format!("SELECT * FROM t WHERE s IN (SELECT * FROM file('{file}', 'LineAsString'))"),
        format!("CREATE VIEW v AS SELECT * FROM file('{file}', 'LineAsString')"),
        format!("SELECT file('{file}')"),
        format!("SELECT FILE('{file}')"),
        format!("SELECT `\\x66ile`('{file}')"),
        format!("SELECT toUInt8(file('{file}'))"),
        format!("INSERT INTO t SELECT file('{file}')"),
        format!("INSERT INTO FUNCTION file('{out}', 'LineAsString') SELECT 'x'"),
        format!("SELECT * FROM filesystem('{d}')"),
        format!("SELECT * FROM sqlite('{file}', 't')"),
        format!("CREATE TABLE f1 (s String) ENGINE = File(LineAsString, '{file}')"),
        format!("CREATE TABLE f2 (k UInt8) ENGINE = EmbeddedRocksDB(0, '{d}/rocks') PRIMARY KEY k"),
        format!("CREATE TABLE f3 (s String) ENGINE = Executable('cat {file}', 'TSV')"),
        format!("CREATE DATABASE fs ENGINE = Filesystem('{d}')"),
        format!(
            "CREATE TABLE f4 (x UInt8) ENGINE = MergeTree ORDER BY x \
             SETTINGS disk = disk(type = local, path = '{d}/disk/')"
        ),
        format!(
            "CREATE DICTIONARY d1 (k String, v String) PRIMARY KEY k \
             SOURCE(FILE(path '{file}' format 'TSV')) LAYOUT(COMPLEX_KEY_HASHED()) LIFETIME(0)"
        ),
        format!(
            "CREATE DICTIONARY d2 (k String, v String) PRIMARY KEY k \
             SOURCE(EXECUTABLE(command 'cat {file}' format 'TSV')) \
             LAYOUT(COMPLEX_KEY_HASHED()) LIFETIME(0)"
        ),
        "CREATE FUNCTION read_it AS (p) -> file(p)".to_owned(),
        format!(
            "CREATE OR REPLACE DICTIONARY d3 (k String, v String) PRIMARY KEY k \
             SOURCE(EXECUTABLE(command 'cat {file}' format 'TSV')) \
             LAYOUT(COMPLEX_KEY_HASHED()) LIFETIME(0)"
        ),
        format!("SELECT 1 INTO OUTFILE '{out}'"),
        format!("select 1 into /* c */ outfile '{out}'"),
        format!("SELECT * FROM t INTO OUTFILE '{out}' FORMAT TSV"),
        format!("INSERT INTO t FROM INFILE '{file}' FORMAT LineAsString"),
        format!("BACKUP TABLE t TO File('{d}/backup')"),
        format!("RESTORE TABLE t2 FROM File('{d}/backup')"),
        format!("SELECT * FROM _local.`{file}`"),
    ] {
        refused(&srv, &sql, "497", &secret);
    }
    // Words that only look like those stay usable.
    assert_eq!(
        ok(
            &srv,
            "SELECT 'file(', 'INTO OUTFILE', `engine` FROM (SELECT 1 AS engine)"
        ),
        "file(\tINTO OUTFILE\t1\n"
    );
    ok(
        &srv,
        "SELECT name, engine FROM system.tables WHERE database = 'default'",
    );
    // Inserts into tables and columns whose names hold those words, with data in every form.
    ok(
        &srv,
        "CREATE TABLE files (file String, engine String) ENGINE = MergeTree ORDER BY file",
    );
    ok(
        &srv,
        "INSERT INTO files (file, engine) FORMAT TSV\nfile(\tINTO OUTFILE\n",
    );
    ok(
        &srv,
        "INSERT INTO files (file, engine) VALUES ('disk(', 'FROM INFILE')",
    );
    ok(&srv, "INSERT INTO files SELECT 'a\\\\b', '$$'");
    assert_eq!(
        ok(&srv, "SELECT file, engine FROM files ORDER BY file"),
        "a\\\\b\t$$\ndisk(\tFROM INFILE\nfile(\tINTO OUTFILE\n"
    );

    // SQL carried in setting values, and expressions in VALUES data, are locked in the engine.
    for sql in [
        format!("SELECT 1 SETTINGS additional_result_filter = 'toUInt8(file(''{file}'')) = 1'"),
        format!("SELECT 1 SETTINGS select = 'file(''{file}'')'"),
        format!("SELECT 1 FORMAT Template SETTINGS format_template_row = '{file}'"),
    ] {
        refused(&srv, &sql, "452", &secret);
    }
    // Python() would read the server's own variables; it is off for good in this session.
    refused(&srv, "SET allow_python_table_function = 1", "392", &secret);
    let resp = query(
        &srv,
        &format!(
            "/?additional_result_filter={}",
            "toUInt8(file('/etc/hostname'))%3D1"
        ),
        "SELECT 1",
    );
    assert_eq!(code(&resp), Some("452"), "{}", resp.text());
    refused(
        &srv,
        &format!("INSERT INTO t VALUES (file('{file}'))"),
        "344",
        &secret,
    );
    refused(&srv, "SELECT * FROM Python(secret)", "446", &secret);

    // Nothing was written anywhere, and the table holds only what was inserted on purpose.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("secret.txt")]);
    assert_eq!(ok(&srv, "SELECT groupArray(s) FROM t"), "['x']\n");
    assert_eq!(
        ok(
            &srv,
            "SELECT count() FROM system.tables WHERE name IN ('v', 'f1', 'f2', 'f3', 'f4')"
        ),
        "0\n"
    );
}

#[test]
fn no_requests_on_the_servers_behalf() {
    let srv = TestServer::start();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let target = format!("127.0.0.1:{port}");
    for (sql, expected) in [
        (
            format!("SELECT * FROM url('http://{target}/x', 'LineAsString')"),
            "497",
        ),
        (
            format!("SELECT * FROM s3('http://{target}/bucket/x', 'LineAsString')"),
            "497",
        ),
        (
            format!("SELECT * FROM remote('{target}', system.one)"),
            "497",
        ),
        (
            format!("SELECT * FROM mysql('{target}', 'db', 't', 'u', 'p')"),
            "497",
        ),
        (
            format!("SELECT * FROM postgresql('{target}', 'db', 't', 'u', 'p')"),
            "497",
        ),
        (
            format!("SELECT * FROM hdfs('hdfs://{target}/x', 'LineAsString')"),
            "497",
        ),
        (
            format!("CREATE TABLE u (s String) ENGINE = URL('http://{target}/x', LineAsString)"),
            "497",
        ),
        (
            format!("CREATE DATABASE m ENGINE = MySQL('{target}', 'db', 'u', 'p')"),
            "497",
        ),
        (
            format!(
                "CREATE DICTIONARY d3 (k String, v String) PRIMARY KEY k \
                 SOURCE(HTTP(url 'http://{target}/x' format 'TSV')) \
                 LAYOUT(COMPLEX_KEY_HASHED()) LIFETIME(0)"
            ),
            "497",
        ),
        (
            format!(
                "CREATE DICTIONARY d4 (k UInt64, v String) PRIMARY KEY k \
                 SOURCE(CLICKHOUSE(host '127.0.0.1' port {port} table 'x')) \
                 LAYOUT(HASHED()) LIFETIME(0)"
            ),
            "497",
        ),
        (
            format!(
                "CREATE TABLE w (x UInt8) ENGINE = MergeTree ORDER BY x \
                 SETTINGS disk = disk(type = web, endpoint = 'http://{target}/')"
            ),
            "497",
        ),
        (
            format!("SELECT 1 SETTINGS format_avro_schema_registry_url = 'http://{target}/'"),
            "452",
        ),
    ] {
        refused(&srv, &sql, expected, "\u{0}");
    }
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("something connected to the listener: {other:?}"),
    }
}

#[test]
fn web_pages_and_strangers_are_refused_and_ping_stays_open() {
    let srv = TestServer::start();
    let pw = srv.password();
    let auth = [
        ("X-ClickHouse-User", "default"),
        ("X-ClickHouse-Key", pw.as_str()),
    ];
    let port = srv.port();

    // No credentials, wrong ones, and every accepted style of the right ones.
    let none = raw_request(port, "POST", "/", &[], b"SELECT 1");
    assert_eq!(
        (none.status, code(&none)),
        (403, Some("516")),
        "{}",
        none.text()
    );
    let wrong = raw_request(
        port,
        "POST",
        "/?user=default&password=nope",
        &[],
        b"SELECT 1",
    );
    assert_eq!((wrong.status, code(&wrong)), (403, Some("516")));
    let basic = format!(
        "Basic {}",
        base64_encode(format!("default:{pw}").as_bytes())
    );
    for (target, headers) in [
        ("/".to_owned(), vec![("Authorization", basic.as_str())]),
        ("/".to_owned(), auth.to_vec()),
        (format!("/?user=default&password={pw}"), vec![]),
    ] {
        let resp = raw_request(port, "POST", &target, &headers, b"SELECT 1");
        assert_eq!(
            (resp.status, resp.text().as_str()),
            (200, "1\n"),
            "{target}"
        );
    }

    // A cross-origin "simple" POST (text/plain, no preflight) from a page, even with credentials
    // a browser might have cached: refused, and nothing says other origins may read answers.
    let mut page = auth.to_vec();
    page.extend([
        ("Origin", "http://evil.example"),
        ("Content-Type", "text/plain"),
    ]);
    let resp = raw_request(port, "POST", "/", &page, b"SELECT 1");
    assert_eq!(
        (resp.status, code(&resp)),
        (403, Some("497")),
        "{}",
        resp.text()
    );
    assert!(resp.header("Access-Control-Allow-Origin").is_none());
    let mut fetch = auth.to_vec();
    fetch.push(("Sec-Fetch-Site", "cross-site"));
    let resp = raw_request(port, "GET", "/?query=SELECT%201", &fetch, b"");
    assert_eq!(code(&resp), Some("497"), "{}", resp.text());
    // DNS rebinding: a foreign name for the loopback address.
    let resp = raw_request_with_host(port, "evil.example", &auth, b"SELECT 1");
    assert_eq!(code(&resp), Some("497"), "{}", resp.text());
    let resp = raw_request_with_host(port, &format!("localhost:{port}"), &auth, b"SELECT 1");
    assert_eq!(resp.status, 200, "{}", resp.text());
    // A CORS preflight gets no CORS headers.
    let resp = raw_request(
        port,
        "OPTIONS",
        "/",
        &[
            ("Origin", "http://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    assert_eq!(resp.status, 405);
    assert!(resp
        .headers
        .iter()
        .all(|(k, _)| !k.to_ascii_lowercase().starts_with("access-control")));

    // Health checks need no credentials.
    let resp = raw_request(port, "GET", "/ping", &[], b"");
    assert_eq!((resp.status, resp.text().as_str()), (200, "Ok.\n"));

    // The password file is the owner's alone.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(srv.opts.home.join("server.password"))
        .expect("password file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[test]
fn readonly_is_readonly_in_the_engine() {
    let srv = TestServer::start();
    ok(
        &srv,
        "CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x",
    );
    ok(&srv, "INSERT INTO t VALUES (1)");
    let pw = srv.password();
    let auth = [
        ("X-ClickHouse-User", "default"),
        ("X-ClickHouse-Key", pw.as_str()),
    ];
    let attempts = [
        "INSERT INTO t VALUES (2)",
        "/* a comment first */ INSERT INTO t VALUES (2)",
        "(INSERT INTO t VALUES (2))",
        "INSERT INTO t SELECT 2",
        "INSERT INTO t SETTINGS readonly = 0 VALUES (2)",
        "CREATE TABLE t2 (x UInt8) ENGINE = Memory",
        "DROP TABLE t",
        "TRUNCATE TABLE t",
        "ALTER TABLE t DELETE WHERE 1",
        "OPTIMIZE TABLE t FINAL",
        "SET readonly = 0",
    ];
    for sql in attempts {
        let url = format!("/?readonly=1&query={}", percent(sql));
        let get = raw_request(srv.port(), "GET", &url, &auth, b"");
        assert_ne!(get.status, 200, "GET {sql}: {}", get.text());
        let post = query(&srv, "/?readonly=1", sql);
        assert_ne!(post.status, 200, "readonly=1 {sql}: {}", post.text());
        let get2 = raw_request(
            srv.port(),
            "GET",
            &format!("/?query={}", percent(sql)),
            &auth,
            b"",
        );
        assert_ne!(get2.status, 200, "GET {sql}: {}", get2.text());
    }
    // A streamed INSERT body under readonly.
    let resp = query(
        &srv,
        "/?readonly=1&query=INSERT%20INTO%20t%20FORMAT%20TSV",
        "3\n",
    );
    assert_eq!(code(&resp), Some("164"), "{}", resp.text());
    // Reads still work, and nothing changed.
    let resp = raw_request(
        srv.port(),
        "GET",
        "/?query=SELECT%20count()%20FROM%20t",
        &auth,
        b"",
    );
    assert_eq!((resp.status, resp.text().as_str()), (200, "1\n"));
    assert_eq!(ok(&srv, "SELECT groupArray(x) FROM t"), "[1]\n");
    assert_eq!(
        ok(&srv, "SELECT count() FROM system.tables WHERE name = 't2'"),
        "0\n"
    );
    // A later ordinary request may write again: readonly stayed with its request.
    ok(&srv, "INSERT INTO t VALUES (4)");
    assert_eq!(ok(&srv, "SELECT count() FROM t"), "2\n");
}

#[test]
fn a_non_loopback_bind_needs_a_password() {
    use std::process::{Command, Stdio};
    let home = tempfile::tempdir().expect("temp dir");
    let script = altrepodb_db::embedded::install_server(home.path()).expect("write script");
    let out = Command::new(common::python())
        .arg(&script)
        .arg("--data")
        .arg(home.path().join("data"))
        .args(["--host", "0.0.0.0", "--port", "0"])
        .stdin(Stdio::null())
        .output()
        .expect("run chserver.py");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on 0.0.0.0 without a password"),
        "{err}"
    );
    assert!(!home.path().join("data").exists(), "nothing started");
    assert!(altrepodb_db::embedded::is_loopback("127.0.0.1"));
    assert!(altrepodb_db::embedded::is_loopback("::1"));
    assert!(altrepodb_db::embedded::is_loopback("localhost"));
    assert!(!altrepodb_db::embedded::is_loopback("0.0.0.0"));
    assert!(!altrepodb_db::embedded::is_loopback("192.0.2.1"));
}

fn raw_request_with_host(
    port: u16,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).expect("send");
    stream.write_all(body).expect("send body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    RawResponse {
        status,
        headers: lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect(),
        body: raw[split + 4..].to_vec(),
    }
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn base64_encode(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
