//! The embedded server's password: one random secret per data home, or `ALTREPODB_SERVER_PASSWORD`.
//!
//! The server's user `default` needs this password for every query (only `/ping` is open), so
//! another local user, or a web page the operator visits, cannot use the database. Every command
//! of the project reads the same secret, so it connects without configuration; other clients use
//! user `default` with the content of `home/server.password` (see `altrepodb server`).

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::embedded::EmbeddedError;

/// Environment variable whose value, when set, is the server's password instead of the file's.
pub const PASSWORD_ENV: &str = "ALTREPODB_SERVER_PASSWORD";

/// The password file under the altrepodb home.
pub const PASSWORD_FILE: &str = "server.password";

/// Random bytes in a generated password (written as hex).
const PASSWORD_BYTES: usize = 24;

/// Where the password in use comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// `ALTREPODB_SERVER_PASSWORD`.
    Environment,
    /// The per-home file (created on first use, mode 0600).
    File(PathBuf),
}

/// The password of the embedded server's user `default`.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerPassword {
    /// The secret itself (empty: no password, allowed on loopback addresses only).
    pub password: String,
    /// Where it was found.
    pub source: PasswordSource,
}

impl std::fmt::Debug for ServerPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerPassword")
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .field("source", &self.source)
            .finish()
    }
}

impl ServerPassword {
    /// `ALTREPODB_SERVER_PASSWORD` when set (even empty), else `home/server.password`, created
    /// with a fresh random secret (mode 0600) when it does not exist yet.
    pub fn resolve(home: &Path) -> Result<ServerPassword, EmbeddedError> {
        if let Some(value) = std::env::var_os(PASSWORD_ENV) {
            let password = value.into_string().map_err(|_| EmbeddedError::Password {
                path: PathBuf::from(format!("${PASSWORD_ENV}")),
                reason: "not valid UTF-8".into(),
            })?;
            return Ok(ServerPassword {
                password,
                source: PasswordSource::Environment,
            });
        }
        let path = home.join(PASSWORD_FILE);
        let password = read_or_create(&path)?;
        Ok(ServerPassword {
            password,
            source: PasswordSource::File(path),
        })
    }

    /// How another client authenticates, for `altrepodb server` to print.
    pub fn instructions(&self, url: &str) -> String {
        let secret = match &self.source {
            PasswordSource::Environment => format!("${PASSWORD_ENV}"),
            PasswordSource::File(path) => format!("$(cat {})", path.display()),
        };
        if self.password.is_empty() {
            return format!("clients connect to {url} as user default without a password");
        }
        format!(
            "clients connect to {url} as user default with the password {where_}: HTTP basic auth \
             (curl -u \"default:{secret}\" {url}/ --data-binary 'SELECT 1') or the headers \
             X-ClickHouse-User: default and X-ClickHouse-Key; /ping needs no password",
            where_ = match &self.source {
                PasswordSource::Environment => format!("from ${PASSWORD_ENV}"),
                PasswordSource::File(path) => format!("in {}", path.display()),
            },
        )
    }
}

fn password_err(path: &Path, reason: impl std::fmt::Display) -> EmbeddedError {
    EmbeddedError::Password {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Reads the password file, creating it first if needed.
fn read_or_create(path: &Path) -> Result<String, EmbeddedError> {
    match fs::read_to_string(path) {
        Ok(text) => return checked(path, text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(password_err(path, e)),
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| password_err(dir, e))?;
    }
    let password = random_secret().map_err(|e| password_err(Path::new("/dev/urandom"), e))?;
    // Written under a temporary name and linked into place: a concurrent first start either wins
    // the link or reads the winner's complete file, never a half-written one.
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_extension(format!(
        "tmp.{}.{}",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(password.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()
    })();
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(password),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let text = fs::read_to_string(path).map_err(|e| password_err(path, e))?;
            checked(path, text)
        }
        Err(e) => Err(password_err(path, e)),
    }
}

/// The first line of the file; the file must be private to its owner.
fn checked(path: &Path, text: String) -> Result<String, EmbeddedError> {
    let mode = fs::metadata(path)
        .map_err(|e| password_err(path, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        // Someone widened it: make it private again rather than keep using a readable secret.
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(|e| password_err(path, format!("mode {mode:o} is readable by others: {e}")))?;
    }
    let password = text.lines().next().unwrap_or("").to_owned();
    if password.is_empty() {
        return Err(password_err(
            path,
            format!("the file is empty: remove it to get a new password, or set {PASSWORD_ENV}"),
        ));
    }
    Ok(password)
}

fn random_secret() -> io::Result<String> {
    let mut bytes = [0u8; PASSWORD_BYTES];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_reused() {
        let home = tempfile::tempdir().expect("temp dir");
        let path = home.path().join(PASSWORD_FILE);
        let first = read_or_create(&path).expect("create");
        assert_eq!(first.len(), PASSWORD_BYTES * 2);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        let mode = fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        assert_eq!(read_or_create(&path).expect("read"), first);
        let other = tempfile::tempdir().expect("temp dir");
        assert_ne!(
            read_or_create(&other.path().join(PASSWORD_FILE)).expect("create"),
            first,
            "every home gets its own secret"
        );
    }

    #[test]
    fn a_widened_file_is_made_private_and_an_empty_one_refused() {
        let home = tempfile::tempdir().expect("temp dir");
        let path = home.path().join(PASSWORD_FILE);
        fs::write(&path, "abc\n").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(read_or_create(&path).expect("read"), "abc");
        let mode = fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        fs::write(&path, "").expect("write");
        let err = read_or_create(&path).expect_err("empty").to_string();
        assert!(err.contains("empty") && err.contains(PASSWORD_ENV), "{err}");
    }
}
