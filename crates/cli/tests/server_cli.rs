//! `altrepodb server` as an operator runs it: the password it announces, the one scripts choose
//! with `ALTREPODB_SERVER_PASSWORD`, and the refusal to listen on the network without one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

fn altrepodb(home: &std::path::Path) -> Command {
    let venv = std::env::var_os("ALTREPODB_PYTHON").unwrap_or_else(|| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.local/share/altrepodb/venv/bin/python").into()
    });
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_altrepodb"));
    cmd.env("ALTREPODB_HOME", home)
        .env("ALTREPODB_PYTHON", venv)
        .env_remove("ALTREPODB_HOST")
        .env_remove("ALTREPODB_PORT")
        .env_remove("ALTREPODB_CONFIG")
        .env_remove("ALTREPODB_PASSWORD")
        .env_remove("ALTREPODB_SERVER_PASSWORD");
    cmd
}

/// Stops the foreground server when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the child we spawned.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

fn post(port: u16, headers: &str, sql: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{sql}",
        sql.len()
    )
    .expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read");
    let status = raw[9..12].parse().expect("status");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn server_announces_how_to_connect_and_takes_the_password_from_the_environment() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut child = altrepodb(home.path())
        .args(["server", "--port", "0"])
        .env("ALTREPODB_SERVER_PASSWORD", "known-pw")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn altrepodb server");
    let stderr = child.stderr.take().expect("stderr");
    let running = Running(child);
    let announcement = BufReader::new(stderr)
        .lines()
        .map(|l| l.expect("read stderr"))
        .find(|l| l.starts_with("altrepodb server:"))
        .expect("the server says how clients connect");
    assert!(
        announcement.contains("user default")
            && announcement.contains("ALTREPODB_SERVER_PASSWORD")
            && announcement.contains("X-ClickHouse-User")
            && announcement.contains("curl -u"),
        "{announcement}"
    );
    assert!(
        !announcement.contains("known-pw"),
        "the secret itself is not printed"
    );
    let port: u16 = std::fs::read_to_string(home.path().join("server.port"))
        .expect("port file")
        .trim()
        .parse()
        .expect("port");
    assert!(
        announcement.contains(&format!("http://127.0.0.1:{port}")),
        "{announcement}"
    );

    let (status, body) = post(
        port,
        "X-ClickHouse-User: default\r\nX-ClickHouse-Key: known-pw\r\n",
        "SELECT 1",
    );
    assert_eq!((status, body.as_str()), (200, "1\n"));
    let (status, _) = post(port, "", "SELECT 1");
    assert_eq!(status, 403);
    // The project's own commands reuse this server with the same variable…
    let out = altrepodb(home.path())
        .args(["sql", "SELECT 2"])
        .env("ALTREPODB_SERVER_PASSWORD", "known-pw")
        .output()
        .expect("run sql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    // …and without it they use the home's password file, which this server does not know.
    let out = altrepodb(home.path())
        .args(["sql", "SELECT 3"])
        .output()
        .expect("run sql");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("rejected user 'default'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(running);
}

#[test]
fn server_refuses_a_network_address_without_a_password() {
    let home = tempfile::tempdir().expect("temp dir");
    let out = altrepodb(home.path())
        .args(["server", "--port", "0", "--host", "0.0.0.0"])
        .env("ALTREPODB_SERVER_PASSWORD", "")
        .output()
        .expect("run server");
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on 0.0.0.0 without a password"),
        "{err}"
    );
    assert!(!home.path().join("server.port").exists());
}

/// After the set-up, a command run with another `ALTREPODB_HOME` (another data set) finds the
/// engine the set-up recorded; without the record it says in one line what to run.
#[test]
fn another_home_finds_the_engine_recorded_by_the_setup() {
    let python = std::env::var_os("ALTREPODB_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".local/share/altrepodb/venv/bin/python")
        });
    let venv = python
        .parent()
        .and_then(|bin| bin.parent())
        .expect("venv of the engine");
    let user = tempfile::tempdir().expect("temp dir");
    let record_engine =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lib/record-engine.sh");
    let out = Command::new("bash")
        .arg(&record_engine)
        .arg(venv)
        .env("HOME", user.path())
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .expect("run record-engine.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record = user.path().join(".config/altrepodb/engine-python");
    assert!(record.is_file());

    let in_fresh_home = |home: &std::path::Path| {
        altrepodb(home)
            .args(["db", "init"])
            .env("HOME", user.path())
            .env("ALTREPODB_EMBEDDED_IDLE_EXIT", "5")
            .env_remove("ALTREPODB_PYTHON")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .output()
            .expect("run db init")
    };
    let x = user.path().join("x");
    let out = in_fresh_home(&x);
    if let Some(pid) = std::fs::read_to_string(x.join("server.pid"))
        .ok()
        .and_then(|p| p.trim().parse::<libc::pid_t>().ok())
        .filter(|&p| p > 1)
    {
        // SAFETY: kill(2) on the server this test's command started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!x.join("venv").exists(), "the home got no venv of its own");

    std::fs::remove_file(&record).expect("remove record");
    let out = in_fresh_home(&user.path().join("y"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("scripts/setup.sh") && err.contains("y/venv/bin/python"),
        "{err}"
    );
}
