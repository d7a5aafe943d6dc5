//! Errors of the task loader and cleaner: each names the file (and line) it is about.

use std::path::PathBuf;

use altrepodb_db::DbError;
use thiserror::Error;

use crate::package::PackageError;
use crate::safe_path::PathError;

/// Why a task could not be read or loaded. After any of these no state row of the task was
/// written (state rows go last), so the task is not visible in the state tables.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The path is not a task directory.
    #[error("{path}: not a task directory: {why}")]
    NotATask {
        /// The directory given.
        path: PathBuf,
        /// What is missing.
        why: String,
    },
    /// `task/state` is missing: the original refused such tasks ("uncertain state").
    #[error("{path}: missing: a task without a state is not loaded (uncertain state)")]
    MissingState {
        /// `<task>/task/state`.
        path: PathBuf,
    },
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file's content is malformed.
    #[error("{path}{}: {why}", line.map(|l| format!(": line {l}")).unwrap_or_default())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line, when the problem is on one line.
        line: Option<usize>,
        /// What is wrong.
        why: String,
    },
    /// A package file of the task.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// A path from the task's contents leads outside the task directory.
    #[error(transparent)]
    Path(#[from] PathError),
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// An internal task failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl TaskError {
    /// A [`TaskError::Malformed`] for `path`.
    pub fn malformed(
        path: impl Into<PathBuf>,
        line: Option<usize>,
        why: impl Into<String>,
    ) -> Self {
        TaskError::Malformed {
            path: path.into(),
            line,
            why: why.into(),
        }
    }

    /// A [`TaskError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TaskError {
        let path = path.into();
        move |source| TaskError::Io { path, source }
    }
}

/// The loader's result type.
pub type Result<T, E = TaskError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_and_line() {
        let e = TaskError::malformed("/t/plan/add-bin", Some(3), "expected 6 fields");
        assert_eq!(e.to_string(), "/t/plan/add-bin: line 3: expected 6 fields");
        let e = TaskError::malformed("/t/info.json", None, "bad JSON");
        assert_eq!(e.to_string(), "/t/info.json: bad JSON");
    }

    fn _send_sync() {
        fn is<T: Send + Sync + 'static>() {}
        is::<TaskError>();
    }
}
