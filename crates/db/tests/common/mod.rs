//! Helpers for tests against the real embedded server: one temporary home per test.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use altrepodb_db::embedded::{EmbeddedOptions, EmbeddedServer};
use clickhouse::Client;
use tempfile::TempDir;

/// The venv Python made by `scripts/setup.sh`: `$ALTREPODB_PYTHON`, else
/// `$ALTREPODB_HOME/venv/bin/python`, else `~/.local/share/altrepodb/venv/bin/python`.
///
/// These tests are required, not optional: without the venv they fail, saying how to get it.
pub fn python() -> PathBuf {
    let candidate = std::env::var_os("ALTREPODB_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("ALTREPODB_HOME")
                .filter(|p| !p.is_empty())
                .map(|h| PathBuf::from(h).join("venv/bin/python"))
        })
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".local/share/altrepodb/venv/bin/python"))
        })
        .unwrap_or_else(|| PathBuf::from("venv/bin/python"));
    assert!(
        candidate.is_file(),
        "the embedded ClickHouse tests need the Python venv with chdb-core at {}: run scripts/setup.sh \
         (or set ALTREPODB_PYTHON)",
        candidate.display()
    );
    candidate
}

/// A server of our own in a temporary home, stopped when dropped.
pub struct TestServer {
    pub home: TempDir,
    pub opts: EmbeddedOptions,
    pub server: Option<EmbeddedServer>,
}

impl TestServer {
    /// Starts a fresh server (empty data directory).
    pub fn start() -> TestServer {
        let home = tempfile::tempdir().expect("temp dir");
        let mut opts = EmbeddedOptions::new(home.path());
        opts.python = Some(python());
        // Exits by itself if a failed test leaves it behind.
        opts.idle_exit_secs = 120;
        let server = EmbeddedServer::ensure_running(&opts).unwrap_or_else(|e| panic!("start: {e}"));
        assert!(server.started_by_us());
        TestServer {
            home,
            opts,
            server: Some(server),
        }
    }

    pub fn server(&self) -> &EmbeddedServer {
        self.server.as_ref().expect("server running")
    }

    pub fn port(&self) -> u16 {
        self.server().port()
    }

    /// A client with the crate's defaults (LZ4 compression on), logged in as `default`.
    pub fn client(&self) -> Client {
        Client::default()
            .with_url(self.server().url())
            .with_user("default")
            .with_password(self.password())
    }

    /// The password of the server's user `default`.
    pub fn password(&self) -> String {
        self.server().password().to_owned()
    }

    /// SIGTERM, wait, start again on the same data.
    pub fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().unwrap_or_else(|e| panic!("stop: {e}"));
        }
        assert!(
            !self.opts.port_file().exists(),
            "a stopped server removes its port file"
        );
        self.server = Some(
            EmbeddedServer::ensure_running(&self.opts).unwrap_or_else(|e| panic!("restart: {e}")),
        );
    }

    /// `kill -9`, then start again on the same data (through the stale port file).
    pub fn kill9_and_restart(&mut self) {
        let server = self.server.take().expect("server running");
        let pid = server.pid().expect("our own server") as libc::pid_t;
        // SAFETY: a process we spawned.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        let _ = server.stop(); // reaps the killed child
        assert!(
            self.opts.port_file().exists(),
            "kill -9 leaves the port file behind"
        );
        self.server = Some(
            EmbeddedServer::ensure_running(&self.opts).unwrap_or_else(|e| panic!("restart: {e}")),
        );
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.stop();
        }
    }
}

/// A raw HTTP/1.1 response.
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request over a fresh connection, for what the crate does not expose (statuses, headers).
pub fn raw_request(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).expect("send head");
    stream.write_all(body).expect("send body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
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
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// The ClickHouse code in a crate error ("Code: 60. DB::Exception: ..."), if any.
pub fn code_of(err: &clickhouse::error::Error) -> Option<u32> {
    let text = err.to_string();
    let at = text.find("Code: ")?;
    text[at + 6..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
