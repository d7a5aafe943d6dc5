//! `config.ini` (Python configparser semantics) and the resolution of database settings.
//!
//! Precedence, as in the original plus environment overrides: command-line option, then
//! `ALTREPODB_*` environment variable, then the `[DATABASE]` section (with `[DEFAULT]`
//! inheritance), then the original's fallbacks.

use std::path::{Path, PathBuf};

use altrepodb_db::DbSettings;
use anyhow::{bail, Context, Result};
use configparser::ini::Ini;

/// A loaded `config.ini`.
#[derive(Debug, Default)]
pub struct IniConfig {
    ini: Option<Ini>,
    /// The file it came from.
    #[allow(dead_code)] // for loaders that name the config in their messages
    pub path: Option<PathBuf>,
}

impl IniConfig {
    /// Loads `path`; a missing or unparsable file is an error naming it.
    pub fn load(path: &Path) -> Result<IniConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut ini = Ini::new();
        ini.read(text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e))?;
        Ok(IniConfig {
            ini: Some(ini),
            path: Some(path.to_owned()),
        })
    }

    /// An empty configuration (no file given).
    pub fn empty() -> IniConfig {
        IniConfig::default()
    }

    /// `[section] key`, falling back to `[DEFAULT] key` like Python's configparser.
    pub fn get(&self, section: &str, key: &str) -> Option<String> {
        let ini = self.ini.as_ref()?;
        ini.get(section, key)
            .or_else(|| ini.get("default", key))
            .map(|v| v.trim().to_owned())
    }

    /// `[section] key` as a configparser boolean; invalid values are ignored (like the original).
    pub fn get_bool(&self, section: &str, key: &str) -> Option<bool> {
        parse_bool(&self.get(section, key)?)
    }
}

/// configparser's boolean words.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// Database options as given on the command line (all optional).
#[derive(Debug, Default, Clone)]
pub struct DbOverrides {
    /// `-d/--dbname`.
    pub dbname: Option<String>,
    /// `-s/--host`.
    pub host: Option<String>,
    /// `-p/--port` (a string in the original).
    pub port: Option<String>,
    /// `-u/--user`.
    pub user: Option<String>,
    /// `-P/--password`.
    pub password: Option<String>,
    /// `--secure`.
    pub secure: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Resolves the database settings: CLI, then environment, then `[DATABASE]`, then fallbacks.
pub fn resolve_db(cli: &DbOverrides, ini: &IniConfig) -> Result<DbSettings> {
    let pick = |cli: &Option<String>, env_name: &str, key: &str| -> Option<String> {
        cli.clone()
            .or_else(|| env(env_name))
            .or_else(|| ini.get("database", key))
            .filter(|v| !v.is_empty())
    };
    let mut s = DbSettings::with_fallbacks();
    s.host = pick(&cli.host, "ALTREPODB_HOST", "host");
    if let Some(port) = pick(&cli.port, "ALTREPODB_PORT", "port") {
        s.port = Some(
            port.parse()
                .with_context(|| format!("invalid database port '{port}': expected a number"))?,
        );
    }
    if let Some(v) = pick(&cli.dbname, "ALTREPODB_DBNAME", "dbname") {
        s.dbname = v;
    }
    if let Some(v) = pick(&cli.user, "ALTREPODB_USER", "user") {
        s.user = v;
    }
    // An empty password is a valid value, so it is not filtered like the others.
    if let Some(v) = cli
        .password
        .clone()
        .or_else(|| std::env::var("ALTREPODB_PASSWORD").ok())
        .or_else(|| ini.get("database", "password"))
    {
        s.password = v;
    }
    s.secure = cli.secure
        || env("ALTREPODB_SECURE")
            .and_then(|v| parse_bool(&v))
            .or_else(|| ini.get_bool("database", "secure"))
            .unwrap_or(false);
    if s.host.is_none() && s.port.is_some() {
        bail!("a database port is configured but no host: set host in [DATABASE] or pass --host (leave both unset for the embedded database)");
    }
    Ok(s)
}

/// `$ALTREPODB_HOME`, default `~/.local/share/altrepodb`.
pub fn altrepodb_home() -> PathBuf {
    if let Some(h) = env("ALTREPODB_HOME") {
        return PathBuf::from(h);
    }
    let base = env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("altrepodb")
}

/// `[DEFAULT] workers`, else the given fallback.
pub fn workers(ini: &IniConfig, fallback: usize) -> usize {
    ini.get("default", "workers")
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ini(text: &str) -> IniConfig {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.ini");
        std::fs::write(&p, text).unwrap();
        IniConfig::load(&p).unwrap()
    }

    #[test]
    fn default_section_is_inherited() {
        let c = ini("[DEFAULT]\nworkers = 7\n[DATABASE]\nhost = db\n");
        assert_eq!(c.get("database", "workers").as_deref(), Some("7"));
        assert_eq!(workers(&c, 10), 7);
        assert_eq!(workers(&IniConfig::empty(), 10), 10);
    }

    #[test]
    fn cli_beats_file() {
        let c = ini(
            "[DATABASE]\ndbname = repodb\nhost = filehost\nport = 8123\nuser = u\npassword = p\n",
        );
        let cli = DbOverrides {
            host: Some("clihost".into()),
            ..Default::default()
        };
        let s = resolve_db(&cli, &c).unwrap();
        assert_eq!(s.host.as_deref(), Some("clihost"));
        assert_eq!(s.dbname, "repodb");
        assert_eq!(s.port, Some(8123));
        assert_eq!(s.user, "u");
        assert_eq!(s.password, "p");
    }

    #[test]
    fn fallbacks_select_embedded() {
        let s = resolve_db(&DbOverrides::default(), &IniConfig::empty()).unwrap();
        assert!(s.is_embedded() || std::env::var("ALTREPODB_HOST").is_ok());
        assert_eq!(s.user, "default");
    }

    #[test]
    fn bad_port_is_an_error() {
        let cli = DbOverrides {
            host: Some("h".into()),
            port: Some("eighty".into()),
            ..Default::default()
        };
        let err = resolve_db(&cli, &IniConfig::empty()).unwrap_err();
        assert!(err.to_string().contains("eighty"));
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
