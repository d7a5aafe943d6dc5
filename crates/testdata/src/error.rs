//! The generator's error type. Every variant names the file or package it is about.

use std::io;
use std::path::{Path, PathBuf};

use altrepodb_rpm::writer::WriteError;

/// What went wrong while generating a snapshot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The RPM writer rejected a package.
    #[error("{package}: {source}")]
    Write {
        /// The package file name.
        package: String,
        /// The cause.
        source: WriteError,
    },
    /// A manifest could not be read or written.
    #[error("{}: {why}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A header list of the previous snapshot could not be parsed.
    #[error("{}: {why}", path.display())]
    List {
        /// The list file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// An input RPM could not be read.
    #[error("{}: {why}", path.display())]
    Rpm {
        /// The RPM file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The request itself is unusable (bad arch name, bad date, existing output, …).
    #[error("{0}")]
    Spec(String),
}

impl GenError {
    /// A closure that wraps an `io::Error` with `path`, for `map_err`.
    pub fn io(path: &Path) -> impl FnOnce(io::Error) -> GenError + '_ {
        move |source| GenError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

// Errors cross rayon threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<GenError>();
};
