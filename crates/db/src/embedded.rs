//! The embedded ClickHouse: our own ClickHouse-HTTP server over one chDB session, started on demand.
//!
//! # Brief overview
//! - [`EmbeddedOptions`]: where the server lives (`$ALTREPODB_HOME`), which Python runs it, how
//!   long it may sit idle;
//! - [`EmbeddedServer::ensure_running`]: reuse the server named by `home/server.port` if it
//!   answers `/ping`, otherwise start one (detached, so consecutive commands share it);
//! - [`EmbeddedServer::run_foreground`]: `altrepodb server`, in the foreground until a signal.
//!
//! The server itself is [`SERVER_FILES`] (`embedded/chserver.py` and its package
//! `embedded/chsrv/`), a Python program that needs the venv made by `scripts/setup.sh`
//! (chdb-core, lz4, clickhouse-cityhash); [`install_server`] writes it.
//!
//! Files under the home directory:
//!
//! | path | what |
//! | --- | --- |
//! | `server/chserver-<hash>/` | the program (`chserver.py`, `chsrv/`), one directory per content |
//! | `data/` | the chDB data directory (unless [`EmbeddedOptions::data`] says otherwise) |
//! | `server.port`, `server.pid` | written by a ready server, removed when it stops |
//! | `server.lock` | flock held while a server is being started, so only one starts |
//! | `server.log` | the server's output (rotated to `server.log.1` past 8 MiB) |
//! | `server.password` | the password of the server's user `default` (mode 0600, made at first start; `ALTREPODB_SERVER_PASSWORD` overrides it) |
//!
//! The launcher is synchronous on purpose (blocking std networking, no tokio): it runs once per
//! process, before any async work, or inside `spawn_blocking`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::server_password::ServerPassword;

mod process;
mod script;

#[cfg(test)]
use process::log_tail;
use process::{
    describe, log_len, prepare, running_port, server_command, signal_pid, spawn, wait_ready,
    HomeLock, SignalForwarder,
};
pub use process::{is_loopback, ping};
pub use script::{install_server, SERVER_FILES};

/// Idle time after which an auto-started server exits, when nothing else is configured.
pub const DEFAULT_IDLE_EXIT_SECS: u64 = 30;

/// How long a starting server may take to answer `/ping`. A cold start is 0.5–2 s on a quiet
/// machine, but loading the engine's ~500 MB library took over 30 s on a 2-core machine busy
/// compiling; a server process that dies is noticed at once, so a long wait costs nothing.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long [`EmbeddedServer::stop`] waits after SIGTERM before it uses SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// `server.log` is rotated when a server is started and the log is larger than this.
const LOG_ROTATE_BYTES: u64 = 8 << 20;
/// Exit code of chserver.py when chdb, lz4 or cityhash cannot be imported.
const EXIT_MISSING_MODULES: i32 = 3;

/// Where and how to run the embedded server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedOptions {
    /// The altrepodb home (`$ALTREPODB_HOME`, by default `~/.local/share/altrepodb`).
    pub home: PathBuf,
    /// The Python interpreter; `None`: `$ALTREPODB_PYTHON`, else `home/venv/bin/python`, else
    /// the one the set-up recorded (see [`crate::engine_python`]).
    pub python: Option<PathBuf>,
    /// Seconds without requests after which a server we start exits; 0 = never. Live
    /// [`EmbeddedServer`] handles ping it, so it only counts once no process holds one.
    pub idle_exit_secs: u64,
    /// Port to listen on; `None` picks a free one.
    pub port: Option<u16>,
    /// Data directory; `None`: `home/data`.
    pub data: Option<PathBuf>,
}

impl EmbeddedOptions {
    /// Options for `home` with the defaults: venv Python, free port, 30 s idle exit.
    pub fn new(home: impl Into<PathBuf>) -> EmbeddedOptions {
        EmbeddedOptions {
            home: home.into(),
            python: None,
            idle_exit_secs: DEFAULT_IDLE_EXIT_SECS,
            port: None,
            data: None,
        }
    }

    /// `$ALTREPODB_HOME`, else `$XDG_DATA_HOME/altrepodb`, else `$HOME/.local/share/altrepodb`
    /// (the same rule as `scripts/setup.sh`); `None` if none of these is set.
    pub fn default_home() -> Option<PathBuf> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        var("ALTREPODB_HOME")
            .map(PathBuf::from)
            .or_else(|| var("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("altrepodb")))
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/share/altrepodb")))
    }

    /// The Python interpreter that will run the server (see [`crate::engine_python`]: a home
    /// of its own, another data set, still finds the set-up's engine).
    pub fn python_path(&self) -> PathBuf {
        self.python_search().0
    }

    /// The interpreter and every place that was looked at.
    fn python_search(&self) -> (PathBuf, Vec<PathBuf>) {
        match &self.python {
            Some(p) => (p.clone(), vec![p.clone()]),
            None => crate::engine_python::resolve(&self.home, &|name| std::env::var_os(name)),
        }
    }

    /// The chDB data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(|| self.home.join("data"))
    }

    /// `home/server.port`: the port of the running server.
    pub fn port_file(&self) -> PathBuf {
        self.home.join("server.port")
    }

    /// `home/server.pid`: the process id of the running server.
    pub fn pid_file(&self) -> PathBuf {
        self.home.join("server.pid")
    }

    /// `home/server.log`: the server's output.
    pub fn log_file(&self) -> PathBuf {
        self.home.join("server.log")
    }
}

/// Why the embedded server could not be started, reached or stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EmbeddedError {
    /// A file or directory under the home could not be used.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What we were doing ("create directory", "write", …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The Python interpreter is not there.
    #[error(
        "no Python with the embedded ClickHouse engine (looked at {}): run scripts/setup.sh \
         (or point ALTREPODB_PYTHON at a Python with chdb-core)",
        looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    PythonMissing {
        /// Every place looked at, in order.
        looked: Vec<PathBuf>,
    },
    /// The Python exists but lacks chdb (or lz4, clickhouse-cityhash).
    #[error(
        "the Python at {} lacks the embedded ClickHouse modules (chdb-core, lz4, \
         clickhouse-cityhash): run scripts/setup.sh; details in {}",
        python.display(),
        log.display()
    )]
    ChdbMissing {
        /// The interpreter that failed to import them.
        python: PathBuf,
        /// The server log with the import error.
        log: PathBuf,
    },
    /// The server process could not be spawned.
    #[error("cannot run {}: {source}", python.display())]
    Spawn {
        /// The interpreter.
        python: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The server exited while starting.
    #[error("the embedded ClickHouse exited during start-up ({status}); {}: {tail}", log.display())]
    Exited {
        /// How it exited.
        status: String,
        /// The server log.
        log: PathBuf,
        /// The last lines of the log, joined with " | ".
        tail: String,
    },
    /// The server did not become ready in time.
    #[error(
        "the embedded ClickHouse did not answer /ping within {secs} s (stopped it); {}: {tail}",
        log.display()
    )]
    StartTimeout {
        /// Seconds waited.
        secs: u64,
        /// The server log.
        log: PathBuf,
        /// The last lines of the log, joined with " | ".
        tail: String,
    },
    /// `run_foreground` found a server already running for this home.
    #[error(
        "an embedded ClickHouse for {} is already running on port {port} (see {})",
        home.display(),
        port_file.display()
    )]
    AlreadyRunning {
        /// The home directory.
        home: PathBuf,
        /// Its port.
        port: u16,
        /// The port file naming it.
        port_file: PathBuf,
    },
    /// The server's password could not be read or created.
    #[error("embedded server password {}: {reason}", path.display())]
    Password {
        /// The password file (or the variable's name).
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `run_foreground` was asked to listen beyond loopback without a password.
    #[error(
        "refusing to listen on {host} without a password: the embedded server would be open to \
         the network (set ALTREPODB_SERVER_PASSWORD to a non-empty value, or leave it unset to use \
         the password file)"
    )]
    InsecureHost {
        /// The requested address.
        host: String,
    },
    /// The server did not stop cleanly.
    #[error("the embedded ClickHouse (pid {pid}) did not stop cleanly: {status}; see {}", log.display())]
    Stop {
        /// Its process id.
        pid: u32,
        /// How it ended.
        status: String,
        /// The server log.
        log: PathBuf,
    },
}

// Callers keep these errors in anyhow chains and across threads.
const _: fn() = || {
    fn assert_traits<T: Send + Sync + 'static>() {}
    assert_traits::<EmbeddedError>();
};

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> EmbeddedError + 'a {
    move |source| EmbeddedError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A running embedded server: ours (we spawned it) or one found via `home/server.port`.
///
/// While the handle lives, a background thread pings the server often enough that its idle
/// exit cannot fire under a command that is busy elsewhere (parsing, say) between requests;
/// once the handle is dropped, the idle timer runs again, so the next command can still reuse
/// the server for `idle_exit_secs`.
#[derive(Debug)]
pub struct EmbeddedServer {
    port: u16,
    password: ServerPassword,
    child: Option<Child>,
    log: PathBuf,
    _keepalive: Option<KeepAlive>,
}

impl EmbeddedServer {
    /// Start (or reuse an already-running) server for `home`; data dir = home/data.
    ///
    /// Reuse needs `home/server.port` to name a port that answers `/ping`. Otherwise the server is
    /// started under an exclusive lock on `home/server.lock` (so concurrent commands start one
    /// server, not several), detached from our process group, with `--idle-exit
    /// opts.idle_exit_secs`; this returns once it answers `/ping` (at most ~30 s).
    pub fn ensure_running(opts: &EmbeddedOptions) -> Result<EmbeddedServer, EmbeddedError> {
        let password = ServerPassword::resolve(&opts.home)?;
        if let Some(port) = running_port(opts) {
            return Ok(EmbeddedServer::new(opts, port, password, None));
        }
        let (python, script) = prepare(opts)?;
        let _lock = HomeLock::acquire(&opts.home.join("server.lock"))?;
        // Someone may have started it while we waited for the lock.
        if let Some(port) = running_port(opts) {
            return Ok(EmbeddedServer::new(opts, port, password, None));
        }
        let log = opts.log_file();
        let mut cmd = server_command(opts, &python, &script, opts.port.unwrap_or(0), "127.0.0.1")?;
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent; detaching puts
        // the server in its own session, so a terminal's Ctrl-C or hang-up aimed at this command
        // does not take down a server that later commands will reuse.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let log_start = log_len(&log);
        let child = spawn(&mut cmd, &python, &password)?;
        let (child, port) = wait_ready(child, opts, &python, log_start)?;
        Ok(EmbeddedServer::new(opts, port, password, Some(child)))
    }

    fn new(
        opts: &EmbeddedOptions,
        port: u16,
        password: ServerPassword,
        child: Option<Child>,
    ) -> EmbeddedServer {
        EmbeddedServer {
            port,
            password,
            child,
            log: opts.log_file(),
            _keepalive: KeepAlive::start(port, opts.idle_exit_secs),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The password of the server's user `default`.
    pub fn password(&self) -> &str {
        &self.password.password
    }

    /// The password and where it comes from.
    pub fn credentials(&self) -> &ServerPassword {
        &self.password
    }

    /// True when this process spawned the server (and [`stop`](Self::stop) will stop it).
    pub fn started_by_us(&self) -> bool {
        self.child.is_some()
    }

    /// The server's process id, when we spawned it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops a server we own: SIGTERM, then wait (SIGKILL after 60 s).
    ///
    /// A server found running is left alone (it may serve other commands): `Ok(())`. A server
    /// that already exited on its own counts as stopped.
    pub fn stop(mut self) -> Result<(), EmbeddedError> {
        self._keepalive = None;
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id();
        let status_err = |status: String, log: &Path| EmbeddedError::Stop {
            pid,
            status,
            log: log.to_path_buf(),
        };
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(());
        }
        signal_pid(pid, libc::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(status_err(describe(status), &self.log)),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(status_err(
                        format!(
                            "still running {} s after SIGTERM, killed",
                            STOP_TIMEOUT.as_secs()
                        ),
                        &self.log,
                    ));
                }
                Err(e) => return Err(status_err(format!("cannot wait for it: {e}"), &self.log)),
            }
        }
    }

    /// Run in the foreground (for `altrepodb server`): spawn, forward SIGTERM/SIGINT, wait.
    ///
    /// Listens on `host:port` (0 = a free port) and writes `home/server.port`, so other commands
    /// reuse this server while it runs; `opts.idle_exit_secs` applies as given (0 = never).
    /// The server's output goes to our stderr; `announce` is called once it answers, with its
    /// port and password (to tell the operator how clients connect). Returns its exit code
    /// (128 + signal number if a signal ended it). A `host` other than a loopback address is
    /// refused unless the server has a password.
    pub fn run_foreground(
        opts: &EmbeddedOptions,
        host: &str,
        port: u16,
        announce: &mut dyn FnMut(u16, &ServerPassword),
    ) -> Result<i32, EmbeddedError> {
        let password = ServerPassword::resolve(&opts.home)?;
        if password.password.is_empty() && !is_loopback(host) {
            return Err(EmbeddedError::InsecureHost {
                host: host.to_owned(),
            });
        }
        let (python, script) = prepare(opts)?;
        let lock = HomeLock::acquire(&opts.home.join("server.lock"))?;
        if let Some(port) = running_port(opts) {
            return Err(EmbeddedError::AlreadyRunning {
                home: opts.home.clone(),
                port,
                port_file: opts.port_file(),
            });
        }
        let mut cmd = server_command(opts, &python, &script, port, host)?;
        cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
        // SAFETY: setpgid is async-signal-safe. A process group of its own means a terminal's
        // Ctrl-C reaches only us, and the server gets exactly one (forwarded) signal: a second
        // one would make it exit at once instead of finishing the current request.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setpgid(0, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = spawn(&mut cmd, &python, &password)?;
        let forwarder = SignalForwarder::install(child.id());
        // Hold the lock only while it starts: a concurrent `ensure_running` then waits for the
        // port file instead of starting a second server on the same data.
        let ready = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < ready {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            if let Some(port) = running_port(opts) {
                announce(port, &password);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(lock);
        let status = child.wait().map_err(|source| EmbeddedError::Spawn {
            python: python.clone(),
            source,
        });
        drop(forwarder);
        let status = status?;
        Ok(status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap_or(1))
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        // A live server keeps running detached (idle exit ends it). Reap it when it exits, so a
        // long-lived process that started it is not left with a zombie.
        if let Some(mut child) = self.child.take() {
            if let Ok(None) = child.try_wait() {
                let _ = std::thread::Builder::new()
                    .name("embedded-reaper".into())
                    .spawn(move || {
                        let _ = child.wait();
                    });
            }
        }
    }
}

/// Pings the server every third of its idle-exit time until dropped.
#[derive(Debug)]
struct KeepAlive {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KeepAlive {
    fn start(port: u16, idle_exit_secs: u64) -> Option<KeepAlive> {
        if idle_exit_secs == 0 {
            return None;
        }
        let every = Duration::from_millis((idle_exit_secs * 1000 / 3).max(500));
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("embedded-keepalive".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    ping(port);
                }
            })
            .ok()?;
        Some(KeepAlive {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        drop(self.stop.take()); // wakes the thread at once
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_resolution_order() {
        let mut opts = EmbeddedOptions::new("/h");
        opts.python = Some("/x/python".into());
        assert_eq!(opts.python_path(), PathBuf::from("/x/python"));
        assert_eq!(opts.data_dir(), PathBuf::from("/h/data"));
        assert_eq!(opts.port_file(), PathBuf::from("/h/server.port"));
    }

    #[test]
    fn missing_python_names_setup_script() {
        let home = tempfile::tempdir().expect("temp dir");
        let mut opts = EmbeddedOptions::new(home.path());
        opts.python = Some(home.path().join("no/such/python"));
        let err = EmbeddedServer::ensure_running(&opts).expect_err("no python");
        let msg = err.to_string();
        assert!(matches!(err, EmbeddedError::PythonMissing { .. }), "{msg}");
        assert!(
            msg.contains("scripts/setup.sh") && msg.contains("no/such/python"),
            "{msg}"
        );
    }

    #[test]
    fn python_without_chdb_is_reported() {
        // Any Python without chdb will do; skip quietly where there is no system python3.
        let Some(python) = ["/usr/bin/python3", "/bin/python3"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
        else {
            return;
        };
        let check = Command::new(&python).args(["-c", "import chdb"]).output();
        if check.map(|o| o.status.success()).unwrap_or(true) {
            return;
        }
        let home = tempfile::tempdir().expect("temp dir");
        let mut opts = EmbeddedOptions::new(home.path());
        opts.python = Some(python);
        let err = EmbeddedServer::ensure_running(&opts).expect_err("no chdb");
        let msg = err.to_string();
        assert!(matches!(err, EmbeddedError::ChdbMissing { .. }), "{msg}");
        assert!(msg.contains("scripts/setup.sh"), "{msg}");
    }

    #[test]
    fn ping_of_a_closed_port_is_false() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        assert!(!ping(port));
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("server.log");
        fs::write(&log, "old\nline1\n\nline2\nline3\nline4\nline5\nline6\n").expect("write");
        assert_eq!(log_tail(&log, 4), "line2 | line3 | line4 | line5 | line6");
        assert_eq!(log_tail(&log, log_len(&log)), "(nothing logged)");
    }
}
