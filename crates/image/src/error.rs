//! The error type of the image readers.

use std::io;

/// Result alias with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading an image.
///
/// `Display` is a complete one-line message apart from the image's file name, which the caller
/// adds (`format!("{file}: {err}")`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A structure of the format is wrong: `what` names it (`qcow2 L1 table`, `ext4 extent
    /// header`, `squashfs fragment table`, `tar header`, …), `offset` is its byte offset in the
    /// source it was read from.
    #[error("corrupt {what} at offset {offset}: {detail}")]
    Corrupt {
        /// The structure that is wrong.
        what: &'static str,
        /// Byte offset of that structure in its source.
        offset: u64,
        /// What is wrong with it.
        detail: String,
    },
    /// The format or one of its features is recognised but not supported (encryption, a
    /// backing file, an unknown compressor, …).
    #[error("unsupported {what}: {detail}")]
    Unsupported {
        /// The format or feature.
        what: &'static str,
        /// Details for the operator.
        detail: String,
    },
    /// A configured bound was exceeded (entries, depth, symlink hops, bytes read whole).
    #[error("limit exceeded: {what} (limit {limit})")]
    Limit {
        /// What was counted.
        what: String,
        /// The bound.
        limit: u64,
    },
    /// A path does not exist in the tree.
    #[error("no such file in the image: {0}")]
    NotFound(String),
    /// A path names something of the wrong kind (a file where a directory was expected, …).
    #[error("{path}: {detail}")]
    WrongKind {
        /// The path.
        path: String,
        /// What was expected and found.
        detail: String,
    },
    /// Reading the underlying source failed.
    #[error("I/O error at offset {offset}: {source}")]
    Io {
        /// Offset of the failed read in its source.
        offset: u64,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// A [`Error::Corrupt`] for `what` at `offset`.
    pub fn corrupt(what: &'static str, offset: u64, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            what,
            offset,
            detail: detail.into(),
        }
    }
}
