//! The error type of the rpmdb readers.
//!
//! Every error names the database format, the structure that is wrong (a Berkeley DB page, an
//! NDB slot or blob, an SQLite b-tree page or record) and its byte offset in the database
//! file, so `format!("{file}: {err}")` is a complete one-line message.

use std::fmt;

use crate::Format;

/// Result alias with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an rpm database cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes start like none of the three formats.
    #[error("not an rpm database (Berkeley DB hash, NDB or SQLite): starts with {start:02x?}")]
    UnknownFormat {
        /// Up to the first 16 bytes.
        start: Vec<u8>,
    },
    /// A structure of a recognised database is damaged or unsupported.
    #[error("corrupt {format} rpm database: {structure} at offset {offset}: {problem}")]
    Corrupt {
        /// The database format.
        format: Format,
        /// The structure, e.g. `hash page 7`, `overflow page 12`, `slot 3`, `b-tree page 5`.
        structure: String,
        /// Byte offset of the structure (or of the field that is wrong) in the file.
        offset: u64,
        /// What is wrong.
        problem: Problem,
    },
}

impl Error {
    /// The byte offset the error names (0 for [`Error::UnknownFormat`]).
    pub fn offset(&self) -> u64 {
        match self {
            Error::UnknownFormat { .. } => 0,
            Error::Corrupt { offset, .. } => *offset,
        }
    }

    /// The format of a [`Error::Corrupt`] error.
    pub fn format(&self) -> Option<Format> {
        match self {
            Error::UnknownFormat { .. } => None,
            Error::Corrupt { format, .. } => Some(*format),
        }
    }
}

/// What is wrong with a structure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The structure extends past the end of the file (its offset may lie beyond the end).
    #[error("needs {needed} bytes there, but the file is only {file_len} bytes long")]
    Truncated {
        /// Bytes the structure needs from its offset.
        needed: u64,
        /// Length of the file.
        file_len: u64,
    },
    /// A magic number or signature is wrong.
    #[error("bad magic {found}, expected {expected}")]
    BadMagic {
        /// What was expected.
        expected: &'static str,
        /// What was found (hex or text).
        found: String,
    },
    /// A version, page type or feature this reader does not handle.
    #[error("unsupported {what} {value}")]
    Unsupported {
        /// What it is ("hash version", "page size", "text encoding", …).
        what: &'static str,
        /// The value found.
        value: String,
    },
    /// A walk came back to a page it had already visited.
    #[error("page {page} visited twice (a cycle in the {chain})")]
    Cycle {
        /// The page reached again.
        page: u64,
        /// Which chain or tree ("bucket chain", "overflow chain", "b-tree", …).
        chain: &'static str,
    },
    /// A number is outside the range the structure allows.
    #[error("{what} {value} out of range (allowed {min}..={max})")]
    OutOfRange {
        /// The field.
        what: &'static str,
        /// The value found.
        value: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// Two values that must agree do not.
    #[error("{what} is {found}, expected {expected}")]
    Mismatch {
        /// The field.
        what: &'static str,
        /// The value found.
        found: u64,
        /// The value required.
        expected: u64,
    },
    /// Anything else, described in words.
    #[error("{0}")]
    Invalid(String),
}

/// Builds [`Error::Corrupt`] for one format; the readers keep one of these.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Blame(pub(crate) Format);

impl Blame {
    pub(crate) fn at(self, structure: impl fmt::Display, offset: u64, problem: Problem) -> Error {
        Error::Corrupt {
            format: self.0,
            structure: structure.to_string(),
            offset,
            problem,
        }
    }

    /// `len` bytes from `offset` of `data`, or a truncation error naming `structure`.
    pub(crate) fn slice(
        self,
        data: &[u8],
        offset: u64,
        len: u64,
        structure: impl fmt::Display,
    ) -> Result<&[u8]> {
        let available = (data.len() as u64).saturating_sub(offset);
        if len > available {
            return Err(self.at(
                structure,
                offset,
                Problem::Truncated {
                    needed: len,
                    file_len: data.len() as u64,
                },
            ));
        }
        // Both fit in usize: they are within data.len().
        Ok(&data[offset as usize..(offset + len) as usize])
    }
}
