//! The server process: finding a running one, writing the script, spawning, waiting for it to
//! answer, its log, signals and the home lock.

use super::*;

/// The port of a live server for this home, if `server.port` names one that answers `/ping`.
pub(super) fn running_port(opts: &EmbeddedOptions) -> Option<u16> {
    let text = fs::read_to_string(opts.port_file()).ok()?;
    let port: u16 = text.trim().parse().ok()?;
    (port != 0 && ping(port)).then_some(port)
}

/// `GET /ping` over a plain TcpStream: true if the answer is `200` with body `Ok.`.
pub fn ping(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let timeout = Some(Duration::from_secs(3));
    if stream.set_read_timeout(timeout).is_err() || stream.set_write_timeout(timeout).is_err() {
        return false;
    }
    let request =
        format!("GET /ping HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    if stream.take(4096).read_to_end(&mut answer).is_err() {
        return false;
    }
    answer.starts_with(b"HTTP/1.1 200") && answer.ends_with(b"\r\n\r\nOk.\n")
}

/// Checks the interpreter and writes the script; returns both paths.
pub(super) fn prepare(opts: &EmbeddedOptions) -> Result<(PathBuf, PathBuf), EmbeddedError> {
    let (python, looked) = opts.python_search();
    if !python.is_file() {
        return Err(EmbeddedError::PythonMissing { looked });
    }
    let dir = opts.home.join("server");
    let script = install_server(&dir).map_err(io_err("write the server program in", &dir))?;
    Ok((python, script))
}

pub(super) fn server_command(
    opts: &EmbeddedOptions,
    python: &Path,
    script: &Path,
    port: u16,
    host: &str,
) -> Result<Command, EmbeddedError> {
    let data = opts.data_dir();
    fs::create_dir_all(&data).map_err(io_err("create directory", &data))?;
    // A stale port file (the server was killed) must not be mistaken for the new one's.
    for stale in [opts.port_file(), opts.pid_file()] {
        match fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &stale)(e)),
        }
    }
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg("--data")
        .arg(&data)
        .args(["--host", host, "--port", &port.to_string()])
        .arg("--port-file")
        .arg(opts.port_file())
        .arg("--pid-file")
        .arg(opts.pid_file())
        .args(["--idle-exit", &opts.idle_exit_secs.to_string()])
        .arg("--password-stdin")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // Secrets stay out of the server's environment (readable through /proc).
        .env_remove(crate::server_password::PASSWORD_ENV)
        .env_remove("ALTREPODB_PASSWORD")
        .stdin(Stdio::piped());
    if std::env::var_os("TZ").is_none() {
        cmd.env("TZ", "UTC");
    }
    let log = opts.log_file();
    rotate_log(&log);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(io_err("open", &log))?;
    let err = file.try_clone().map_err(io_err("open", &log))?;
    cmd.stdout(file).stderr(err);
    Ok(cmd)
}

pub(super) fn rotate_log(log: &Path) {
    if fs::metadata(log)
        .map(|m| m.len() > LOG_ROTATE_BYTES)
        .unwrap_or(false)
    {
        let _ = fs::rename(log, log.with_extension("log.1"));
    }
}

/// Spawns the server and hands it the password on its stdin (never in its environment or
/// arguments, which other local users and the engine's own functions can read).
pub(super) fn spawn(
    cmd: &mut Command,
    python: &Path,
    password: &ServerPassword,
) -> Result<Child, EmbeddedError> {
    let spawn_err = |source| EmbeddedError::Spawn {
        python: python.to_path_buf(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A server that died at once shows up in wait_ready with its log; not here.
        let _ = writeln!(stdin, "{}", password.password);
    }
    Ok(child)
}

/// True for 127.0.0.0/8, ::1 and `localhost`.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Waits until the child has written the port file and answers `/ping`.
pub(super) fn wait_ready(
    mut child: Child,
    opts: &EmbeddedOptions,
    python: &Path,
    log_start: u64,
) -> Result<(Child, u16), EmbeddedError> {
    let log = opts.log_file();
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                if status.code() == Some(EXIT_MISSING_MODULES) {
                    return Err(EmbeddedError::ChdbMissing {
                        python: python.to_path_buf(),
                        log,
                    });
                }
                return Err(EmbeddedError::Exited {
                    status: describe(status),
                    tail: log_tail(&log, log_start),
                    log,
                });
            }
            Ok(None) => {}
            Err(source) => {
                return Err(EmbeddedError::Spawn {
                    python: python.to_path_buf(),
                    source,
                })
            }
        }
        if let Some(port) = running_port(opts) {
            return Ok((child, port));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(EmbeddedError::StartTimeout {
                secs: STARTUP_TIMEOUT.as_secs(),
                tail: log_tail(&log, log_start),
                log,
            });
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub(super) fn log_len(log: &Path) -> u64 {
    fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

/// The last few lines this run wrote to the log, on one line.
pub(super) fn log_tail(log: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(log) {
        let len = log_len(log);
        let start = from.max(len.saturating_sub(4096));
        if f.seek(SeekFrom::Start(start)).is_ok() {
            let mut raw = Vec::new();
            let _ = f.read_to_end(&mut raw);
            text = String::from_utf8_lossy(&raw).into_owned();
        }
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
    if tail.is_empty() {
        "(nothing logged)".to_owned()
    } else {
        tail
    }
}

pub(super) fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

pub(super) fn signal_pid(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid we spawned; failure (already gone) is harmless.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// An exclusive flock on `home/server.lock`, released on drop (closing the file releases it).
pub(super) struct HomeLock {
    _file: File,
}

impl HomeLock {
    pub(super) fn acquire(path: &Path) -> Result<HomeLock, EmbeddedError> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_err("open", path))?;
        loop {
            // SAFETY: flock on a file descriptor we own for the lifetime of `file`.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(HomeLock { _file: file });
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(io_err("lock", path)(err));
            }
        }
    }
}

/// Pid that SIGTERM/SIGINT are forwarded to while `run_foreground` waits (0 = none).
static FORWARD_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(sig: libc::c_int) {
    let pid = FORWARD_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Installs the forwarding handlers; restores the previous ones on drop.
pub(super) struct SignalForwarder {
    previous: Vec<(libc::c_int, libc::sighandler_t)>,
}

impl SignalForwarder {
    pub(super) fn install(pid: u32) -> SignalForwarder {
        FORWARD_PID.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
        let handler = forward_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        let previous = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP]
            .into_iter()
            // SAFETY: the handler only reads an atomic and calls kill(2), both async-signal-safe.
            .map(|sig| (sig, unsafe { libc::signal(sig, handler) }))
            .collect();
        SignalForwarder { previous }
    }
}

impl Drop for SignalForwarder {
    fn drop(&mut self) {
        for &(sig, old) in &self.previous {
            // SAFETY: restores the disposition that was in place before `install`.
            unsafe {
                libc::signal(sig, old);
            }
        }
        FORWARD_PID.store(0, Ordering::SeqCst);
    }
}
