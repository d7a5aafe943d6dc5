//! Logging as the original's `[LOGGING]` section: console (stderr), file and syslog, `-D` for
//! debug, plus `--log-format json`. Console lines go through the progress bars' suspend, so
//! bars and log lines never interleave.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::IniConfig;
use crate::progress;

/// Console log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LogFormat {
    /// `2024-03-01 12:00:00,123: message`, like the original.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// What the `[LOGGING]` section (or `[DEFAULT]`) asks for.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Log to stderr (default yes).
    pub to_console: bool,
    /// Log to `~/altrepodb/<name>[-<tag>]-<date>.log`.
    pub to_file: bool,
    /// Log to `/dev/log`.
    pub to_syslog: bool,
    /// Syslog ident.
    pub syslog_ident: String,
    /// DEBUG instead of INFO.
    pub debug: bool,
    /// Console format.
    pub format: LogFormat,
}

impl LogSettings {
    /// Reads `[LOGGING]` (keys fall back to `[DEFAULT]` through the INI rules).
    pub fn from_ini(ini: &IniConfig, debug: bool, format: LogFormat) -> LogSettings {
        LogSettings {
            to_console: ini.get_bool("logging", "log_to_console").unwrap_or(true),
            to_file: ini.get_bool("logging", "log_to_file").unwrap_or(false),
            to_syslog: ini.get_bool("logging", "log_to_syslog").unwrap_or(false),
            syslog_ident: ini
                .get("logging", "syslog_ident")
                .unwrap_or_else(|| "altrepodb".to_owned()),
            debug,
            format,
        }
    }
}

/// Names the log file as the original: `<name>-<tag>-<date>.log` or `<name>-<date>.log`.
pub fn log_file_path(dir: &Path, name: &str, tag: Option<&str>, date: &str) -> PathBuf {
    match tag.filter(|t| !t.is_empty()) {
        Some(tag) => dir.join(format!("{name}-{tag}-{date}.log")),
        None => dir.join(format!("{name}-{date}.log")),
    }
}

/// Starts logging for tool `name`; `tag` and `date` name the log file.
pub fn init(
    settings: &LogSettings,
    name: &str,
    tag: Option<&str>,
    date: Option<&str>,
) -> Result<()> {
    let default = if settings.debug { "debug" } else { "info" };
    // Our crates log at the chosen level; dependencies only warnings unless RUST_LOG says otherwise.
    // lapin's channel module logs every channel the broker closes as an error, and waiting for
    // a job lock held by another daemon is such a close (405 RESOURCE_LOCKED, retried every
    // half second); channel errors that matter reach us as results and are logged by us.
    let filter = || {
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
            EnvFilter::new(format!(
                "warn,altrepodb={default},altrepodb_db={default},altrepodb_rpm={default},altrepodb_load={default},altrepodb_daemon={default},amq_protocol_tcp=info,lapin=error,lapin::channel=off"
            ))
        })
    };
    let mut layers: Vec<Box<dyn Layer<_> + Send + Sync>> = Vec::new();
    if settings.to_console {
        let layer = match settings.format {
            LogFormat::Text => LineLayer::new(ConsoleSink, |e: &Record| {
                format!("{}: {}", asctime(), e.message_with_fields())
            })
            .boxed(),
            LogFormat::Json => LineLayer::new(ConsoleSink, |e: &Record| e.to_json()).boxed(),
        };
        layers.push(layer.with_filter(filter()).boxed());
    }
    if settings.to_file {
        let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
        let dir = PathBuf::from(home).join("altrepodb");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create log directory {}", dir.display()))?;
        let today = today();
        let path = log_file_path(&dir, name, tag, date.unwrap_or(&today));
        let sink = RotatingFile::open(&path)?;
        let layer = LineLayer::new(sink, |e: &Record| {
            format!(
                "{} {:<9}[{}][{}:{}]: {}",
                asctime(),
                e.level.as_str(),
                e.thread,
                e.target,
                e.line.map(|l| l.to_string()).unwrap_or_default(),
                e.message_with_fields()
            )
        });
        layers.push(layer.with_filter(filter()).boxed());
    }
    if settings.to_syslog {
        let sink = SyslogSink::connect(&settings.syslog_ident)?;
        let logger = format!("altrepodb.{name}");
        let layer = LineLayer::new(sink, move |e: &Record| {
            format!(
                ": {:<9}{}: {}",
                e.level.as_str(),
                logger,
                e.message_with_fields()
            )
        });
        layers.push(layer.with_filter(filter()).boxed());
    }
    tracing_subscriber::registry().with(layers).try_init().ok();
    Ok(())
}

fn asctime() -> String {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

/// Today's date as `YYYY-MM-DD` (local time).
pub fn today() -> String {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

/// One event, flattened for the line formatters.
struct Record {
    level: Level,
    target: String,
    line: Option<u32>,
    thread: String,
    message: String,
    fields: Vec<(String, String)>,
}

impl Record {
    fn message_with_fields(&self) -> String {
        let mut s = self.message.clone();
        for (k, v) in &self.fields {
            let _ = write!(s, " {k}={v}");
        }
        s
    }

    fn to_json(&self) -> String {
        let mut obj = serde_json::Map::new();
        obj.insert("timestamp".into(), asctime().into());
        obj.insert("level".into(), self.level.as_str().into());
        obj.insert("target".into(), self.target.clone().into());
        obj.insert("message".into(), self.message.clone().into());
        for (k, v) in &self.fields {
            obj.insert(k.clone(), v.clone().into());
        }
        serde_json::Value::Object(obj).to_string()
    }
}

#[derive(Default)]
struct FieldVisitor {
    message: String,
    fields: Vec<(String, String)>,
}

impl Visit for FieldVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.fields
                .push((field.name().to_owned(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.fields
                .push((field.name().to_owned(), format!("{value:?}")));
        }
    }
}

/// Where formatted lines go.
trait LineSink: Send + Sync + 'static {
    fn write_line(&self, level: Level, line: &str);
}

struct ConsoleSink;

impl LineSink for ConsoleSink {
    fn write_line(&self, _level: Level, line: &str) {
        progress::suspend(|| {
            let _ = writeln!(std::io::stderr(), "{line}");
        });
    }
}

/// An appending log file rotated at 16 MiB, keeping 10 old files (like the original's handler).
struct RotatingFile {
    path: PathBuf,
    file: Mutex<(File, u64)>,
}

const ROTATE_BYTES: u64 = 16 * 1024 * 1024;
const ROTATE_KEEP: u32 = 10;

impl RotatingFile {
    fn open(path: &Path) -> Result<RotatingFile> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open log file {}", path.display()))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(RotatingFile {
            path: path.to_owned(),
            file: Mutex::new((file, len)),
        })
    }

    fn rotate(&self) -> std::io::Result<File> {
        for i in (1..ROTATE_KEEP).rev() {
            let from = PathBuf::from(format!("{}.{}", self.path.display(), i));
            if from.exists() {
                std::fs::rename(&from, format!("{}.{}", self.path.display(), i + 1))?;
            }
        }
        std::fs::rename(&self.path, format!("{}.1", self.path.display()))?;
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
    }
}

impl LineSink for RotatingFile {
    fn write_line(&self, _level: Level, line: &str) {
        let Ok(mut guard) = self.file.lock() else {
            return;
        };
        let needed = line.len() as u64 + 1;
        if guard.1 + needed > ROTATE_BYTES && guard.1 > 0 {
            if let Ok(f) = self.rotate() {
                *guard = (f, 0);
            }
        }
        if writeln!(guard.0, "{line}").is_ok() {
            guard.1 += needed;
        }
    }
}

/// RFC 3164-style datagrams to `/dev/log`, facility DAEMON.
struct SyslogSink {
    socket: UnixDatagram,
    ident: String,
}

impl SyslogSink {
    fn connect(ident: &str) -> Result<SyslogSink> {
        let socket = UnixDatagram::unbound().context("cannot create a syslog socket")?;
        socket
            .connect("/dev/log")
            .context("cannot connect to syslog at /dev/log (log_to_syslog = yes)")?;
        Ok(SyslogSink {
            socket,
            ident: ident.to_owned(),
        })
    }
}

impl LineSink for SyslogSink {
    fn write_line(&self, level: Level, line: &str) {
        const DAEMON: u8 = 3;
        let severity = match level {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            Level::DEBUG | Level::TRACE => 7,
        };
        let msg = format!("<{}>{}{}", DAEMON * 8 + severity, self.ident, line);
        let _ = self.socket.send(msg.as_bytes());
    }
}

struct LineLayer<S, F> {
    sink: S,
    format: F,
}

impl<S, F> LineLayer<S, F> {
    fn new(sink: S, format: F) -> Self {
        LineLayer { sink, format }
    }
}

impl<Sub, S, F> Layer<Sub> for LineLayer<S, F>
where
    Sub: Subscriber,
    S: LineSink,
    F: Fn(&Record) -> String + Send + Sync + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, Sub>) {
        let mut v = FieldVisitor::default();
        event.record(&mut v);
        let meta = event.metadata();
        let thread = std::thread::current();
        let record = Record {
            level: *meta.level(),
            target: meta.target().to_owned(),
            line: meta.line(),
            thread: thread.name().unwrap_or("?").to_owned(),
            message: v.message,
            fields: v.fields,
        };
        self.sink.write_line(record.level, &(self.format)(&record));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_the_original() {
        let d = Path::new("/x");
        assert_eq!(
            log_file_path(d, "repo_loader", Some("sisyphus"), "2024-03-01"),
            Path::new("/x/repo_loader-sisyphus-2024-03-01.log")
        );
        assert_eq!(
            log_file_path(d, "task_loader", None, "2024-03-01"),
            Path::new("/x/task_loader-2024-03-01.log")
        );
    }
}
