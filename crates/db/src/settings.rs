//! Where the database is: connection settings resolved from CLI, environment and `config.ini`.

use std::fmt;

/// Default HTTP port of ClickHouse.
pub const HTTP_PORT: u16 = 8123;
/// Default HTTPS port of ClickHouse.
pub const HTTPS_PORT: u16 = 8443;
/// ClickHouse's native TCP ports, which the original (clickhouse-driver) used and we do not speak.
pub const NATIVE_PORTS: [u16; 2] = [9000, 9440];

/// Connection settings for one ClickHouse database.
///
/// `host == None` means "no database configured": the embedded server is used.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DbSettings {
    /// Server host name; `None` selects the embedded server.
    pub host: Option<String>,
    /// HTTP(S) port; `None` means 8123 (8443 when `secure`).
    pub port: Option<u16>,
    /// Database name (the original's fallback is `default`).
    pub dbname: String,
    /// User name.
    pub user: String,
    /// Password (never printed: see the `Debug` impl).
    pub password: String,
    /// Use HTTPS.
    pub secure: bool,
}

impl DbSettings {
    /// Settings with the original's fallbacks: database `default`, user `default`, empty password.
    pub fn with_fallbacks() -> Self {
        DbSettings {
            host: None,
            port: None,
            dbname: "default".to_owned(),
            user: "default".to_owned(),
            password: String::new(),
            secure: false,
        }
    }

    /// True when no server is configured and the embedded one is to be used.
    pub fn is_embedded(&self) -> bool {
        self.host.is_none()
    }

    /// The effective port for a configured server.
    pub fn effective_port(&self) -> u16 {
        self.port
            .unwrap_or(if self.secure { HTTPS_PORT } else { HTTP_PORT })
    }

    /// The base URL of a configured server, or `None` for the embedded one.
    pub fn url(&self) -> Option<String> {
        let host = self.host.as_deref()?;
        let scheme = if self.secure { "https" } else { "http" };
        // IPv6 literals need brackets in URLs.
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        Some(format!("{scheme}://{host}:{}", self.effective_port()))
    }
}

impl fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("user", &self.user)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .field("secure", &self.secure)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let mut s = DbSettings::with_fallbacks();
        assert_eq!(s.url(), None);
        s.host = Some("db.example".into());
        assert_eq!(s.url().as_deref(), Some("http://db.example:8123"));
        s.secure = true;
        assert_eq!(s.url().as_deref(), Some("https://db.example:8443"));
        s.host = Some("::1".into());
        s.port = Some(9999);
        assert_eq!(s.url().as_deref(), Some("https://[::1]:9999"));
    }

    #[test]
    fn debug_hides_password() {
        let mut s = DbSettings::with_fallbacks();
        s.password = "hunter2".into();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
