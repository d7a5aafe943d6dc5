//! The daemon's one-line failures as an error type.

/// A failure described by one line for the log and the notifier (a message that cannot be
/// handled, a configuration that is refused, a connection that failed). The cause is already
/// part of the line: it comes from libraries whose errors are formatted where they happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Failure(pub String);

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure(s)
    }
}

impl From<&str> for Failure {
    fn from(s: &str) -> Self {
        Failure(s.to_owned())
    }
}
