//! Errors of the database layer, each one line naming what failed.

use thiserror::Error;

/// Exit code for problems reaching or using the database (unreachable, auth, wrong port).
pub const EXIT_CONNECTION: i32 = 2;

/// A database-layer failure.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DbError {
    /// The configured port is ClickHouse's native TCP port.
    #[error(
        "port {port} is ClickHouse's native TCP protocol, which the original used; \
         altrepodb speaks ClickHouse's HTTP interface: set port = 8123 (or 8443 with secure = yes) \
         in [DATABASE] or pass --port 8123"
    )]
    NativePort {
        /// The port that was configured.
        port: u16,
    },
    /// The server could not be reached at all.
    #[error("cannot reach ClickHouse at {url}: {reason}")]
    Unreachable {
        /// Where we tried.
        url: String,
        /// Why it failed (connection refused, timeout, DNS…).
        reason: String,
    },
    /// The server rejected the credentials.
    #[error("ClickHouse at {url} rejected user '{user}': wrong user name or password")]
    Auth {
        /// Where we tried.
        url: String,
        /// The user name (never the password).
        user: String,
    },
    /// The configured database does not exist.
    #[error("database '{dbname}' does not exist at {url}; create it with `altrepodb db init`")]
    UnknownDatabase {
        /// Where we tried.
        url: String,
        /// The database name.
        dbname: String,
    },
    /// The embedded server could not be started or reached.
    #[error("embedded ClickHouse: {0}")]
    Embedded(#[from] crate::embedded::EmbeddedError),
    /// A statement failed on the server.
    #[error("{context}: {message}")]
    Query {
        /// What we were doing (e.g. "applying 0003_tasks.sql statement 4").
        context: String,
        /// ClickHouse error code, when the server gave one.
        code: Option<u32>,
        /// The server's message, one line.
        message: String,
    },
    /// An insert batch failed (after retries, if the error was transient).
    #[error("insert into {table} failed at batch {batch} ({rows} rows): {message}")]
    Insert {
        /// Target table.
        table: String,
        /// Zero-based batch number within this load.
        batch: u64,
        /// Rows in the failed batch.
        rows: usize,
        /// The cause, one line.
        message: String,
    },
}

impl DbError {
    /// The process exit code this error should produce.
    pub fn exit_code(&self) -> i32 {
        match self {
            DbError::NativePort { .. }
            | DbError::Unreachable { .. }
            | DbError::Auth { .. }
            | DbError::UnknownDatabase { .. }
            | DbError::Embedded(_) => EXIT_CONNECTION,
            DbError::Query { .. } | DbError::Insert { .. } => 1,
        }
    }

    /// The ClickHouse error code, if any.
    pub fn code(&self) -> Option<u32> {
        match self {
            DbError::Query { code, .. } => *code,
            _ => None,
        }
    }

    /// Wraps a client error with what we were doing.
    pub fn query(context: impl Into<String>, err: &clickhouse::error::Error) -> Self {
        DbError::Query {
            context: context.into(),
            code: server_code(err),
            message: one_line(&err.to_string()),
        }
    }
}

/// Extracts the ClickHouse exception code (`Code: N.`) from a client error.
pub fn server_code(err: &clickhouse::error::Error) -> Option<u32> {
    match err {
        clickhouse::error::Error::BadResponse(text) => parse_code(text),
        _ => None,
    }
}

/// Parses `Code: N.` out of a ClickHouse error text.
pub fn parse_code(text: &str) -> Option<u32> {
    let rest = &text[text.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// Collapses a multi-line message into one line and drops ClickHouse's version suffix.
pub fn one_line(text: &str) -> String {
    let mut s = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(pos) = s.find(" (version ") {
        s.truncate(pos);
    }
    s
}

/// True for errors worth retrying: network trouble and server overload, never bad data.
pub fn is_transient(err: &clickhouse::error::Error) -> bool {
    use clickhouse::error::Error as E;
    match err {
        E::Network(_) | E::TimedOut => true,
        E::BadResponse(text) => matches!(
            parse_code(text),
            // TIMEOUT_EXCEEDED, TOO_MANY_SIMULTANEOUS_QUERIES, NO_FREE_CONNECTION, SOCKET_TIMEOUT,
            // NETWORK_ERROR, TABLE_IS_READ_ONLY, TOO_MANY_PARTS, ALL_CONNECTION_TRIES_FAILED,
            // KEEPER_EXCEPTION, UNEXPECTED_END_OF_FILE (truncated request)
            Some(159 | 202 | 203 | 209 | 210 | 242 | 252 | 279 | 999 | 3)
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_lines() {
        let text = "Code: 60. DB::Exception: Unknown table expression identifier 'x'.\n (UNKNOWN_TABLE) (version 26.9.2.1 (official build))";
        assert_eq!(parse_code(text), Some(60));
        assert_eq!(
            one_line(text),
            "Code: 60. DB::Exception: Unknown table expression identifier 'x'. (UNKNOWN_TABLE)"
        );
        assert_eq!(parse_code("no code here"), None);
        let e = clickhouse::error::Error::BadResponse("Code: 252. too many parts".into());
        assert!(is_transient(&e));
        let e = clickhouse::error::Error::BadResponse("Code: 117. bad data".into());
        assert!(!is_transient(&e));
    }
}
