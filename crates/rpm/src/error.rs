//! The error type of the header reader.
//!
//! Every variant carries the byte offset (from the start of the input the reader was given:
//! the `.rpm` file, the header blob, the APT list) of the structure that is wrong, and the
//! tag where one is involved. The file name is the caller's to add.

use std::io;

use crate::header::EntryType;
use crate::tags::AnyTag;

/// Result alias with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading RPM leads and headers.
///
/// `Display` starts with `corrupt header at offset N:` (or `I/O error at offset N:`), so
/// `format!("{file}: {err}")` is a complete message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before a structure was complete.
    #[error("corrupt header at offset {offset}: truncated {what}: need {needed} bytes, {available} available")]
    Truncated {
        /// Where the incomplete structure starts.
        offset: u64,
        /// What was being read ("lead", "header intro", "header index and store", …).
        what: &'static str,
        /// Bytes the structure needs from `offset`.
        needed: u64,
        /// Bytes there were from `offset`.
        available: u64,
    },
    /// The 96-byte lead does not start with `ED AB EE DB`.
    #[error("corrupt header at offset {offset}: bad lead magic {found:02x?}")]
    BadLeadMagic {
        /// Offset of the lead.
        offset: u64,
        /// The first four bytes found.
        found: [u8; 4],
    },
    /// The lead's major version is not 3 or 4 (librpm's rule; rpm v6 packages keep major 4).
    #[error("corrupt header at offset {offset}: unsupported RPM lead version {major}.{minor}")]
    UnsupportedLeadVersion {
        /// Offset of the lead.
        offset: u64,
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The lead's signature type is not 5 (`RPMSIGTYPE_HEADERSIG`).
    #[error("corrupt header at offset {offset}: illegal signature type {sigtype}")]
    BadSignatureType {
        /// Offset of the signature-type field.
        offset: u64,
        /// The value found.
        sigtype: u16,
    },
    /// A header record does not start with `8E AD E8 01`.
    #[error("corrupt header at offset {offset}: bad header magic {found:02x?}")]
    BadHeaderMagic {
        /// Offset of the record.
        offset: u64,
        /// The first four bytes found.
        found: [u8; 4],
    },
    /// The index entry count is above librpm's limit of 65535.
    #[error("corrupt header at offset {offset}: {count} index entries (limit 65535)")]
    TooManyEntries {
        /// Offset of the count field.
        offset: u64,
        /// The count found.
        count: u32,
    },
    /// The data store size is above librpm's limit of 256 MiB.
    #[error("corrupt header at offset {offset}: data store of {size} bytes (limit 268435455)")]
    StoreTooLarge {
        /// Offset of the size field.
        offset: u64,
        /// The size found.
        size: u32,
    },
    /// An index entry has a type number above 9.
    #[error("corrupt header at offset {offset}: {tag}: unknown entry type {ty}")]
    BadEntryType {
        /// Offset of the index entry.
        offset: u64,
        /// The entry's tag.
        tag: AnyTag,
        /// The type number found.
        ty: u32,
    },
    /// An index entry's data offset is negative or past the end of the store.
    #[error("corrupt header at offset {offset}: {tag}: data offset {data_offset} outside the {store_len}-byte store")]
    OffsetOutOfStore {
        /// Offset of the index entry.
        offset: u64,
        /// The entry's tag.
        tag: AnyTag,
        /// The (signed) data offset found.
        data_offset: i64,
        /// Size of the store.
        store_len: u64,
    },
    /// `count` elements of the entry's type do not fit between its data offset and the end
    /// of the store.
    #[error("corrupt header at offset {offset}: {tag}: {count} × {ty} does not fit in {available} bytes of store")]
    CountOverflow {
        /// Offset of the index entry.
        offset: u64,
        /// The entry's tag.
        tag: AnyTag,
        /// The entry's type.
        ty: EntryType,
        /// The count found.
        count: u32,
        /// Store bytes from the data offset to the end.
        available: u64,
    },
    /// A count that the type does not allow (a `STRING` entry must have count 1).
    #[error("corrupt header at offset {offset}: {tag}: count {count} is invalid for {ty}")]
    BadCount {
        /// Offset of the index entry.
        offset: u64,
        /// The entry's tag.
        tag: AnyTag,
        /// The entry's type.
        ty: EntryType,
        /// The count found.
        count: u32,
    },
    /// A string runs to the end of the store without a NUL terminator.
    #[error(
        "corrupt header at offset {offset}: {tag}: string {index} of {count} has no NUL terminator"
    )]
    UnterminatedString {
        /// Offset of the index entry.
        offset: u64,
        /// The entry's tag.
        tag: AnyTag,
        /// Zero-based number of the unterminated string.
        index: u32,
        /// The entry's count.
        count: u32,
    },
    /// The region tag (63 HEADERIMMUTABLE, 62 HEADERSIGNATURES) or its trailer is malformed.
    #[error("corrupt header at offset {offset}: {tag}: bad region: {reason}")]
    BadRegion {
        /// Offset of the region's index entry.
        offset: u64,
        /// The region tag.
        tag: AnyTag,
        /// What is wrong.
        reason: &'static str,
    },
    /// An accessor asked for a shape the entry does not have.
    #[error("corrupt header at offset {offset}: {tag}: expected {expected}, found {found}")]
    TypeMismatch {
        /// Offset of the index entry.
        offset: u64,
        /// The entry's tag.
        tag: AnyTag,
        /// What the accessor accepts.
        expected: &'static str,
        /// The entry's type.
        found: EntryType,
    },
    /// Parallel arrays (file lists, dependencies, changelog) have different lengths.
    #[error(
        "corrupt header at offset {offset}: {tag} has {len} elements but {other} has {other_len}"
    )]
    LengthMismatch {
        /// Offset of `tag`'s index entry.
        offset: u64,
        /// The array that does not match.
        tag: AnyTag,
        /// Its length.
        len: u64,
        /// The array it was compared to.
        other: AnyTag,
        /// That array's length.
        other_len: u64,
    },
    /// An index array (DIRINDEXES) points past the end of the array it indexes.
    #[error("corrupt header at offset {offset}: {tag}: index {index} out of range for {target} ({len} elements)")]
    IndexOutOfRange {
        /// Offset of `tag`'s index entry.
        offset: u64,
        /// The index array.
        tag: AnyTag,
        /// The bad index.
        index: u64,
        /// The indexed array.
        target: AnyTag,
        /// Its length.
        len: u64,
    },
    /// A hex digest string (SHA1HEADER, FILEMD5S) is not valid hex.
    #[error("corrupt header at offset {offset}: {tag}: invalid hex digest {value:?}")]
    BadHex {
        /// Offset of the index entry.
        offset: u64,
        /// The entry's tag.
        tag: AnyTag,
        /// The string, as text.
        value: String,
    },
    /// A tag that a computation needs is absent.
    #[error("corrupt header at offset {offset}: {tag} is missing")]
    MissingTag {
        /// Offset of the header record.
        offset: u64,
        /// The missing tag.
        tag: AnyTag,
    },
    /// BUILDTIME is before 1000000000 (2001-09-09), so `pkg_hash` would be negative.
    #[error("corrupt header at offset {offset}: {tag} {buildtime} is before 1000000000; pkg_hash is undefined")]
    BuildTimeBeforeEpoch {
        /// Offset of the BUILDTIME index entry.
        offset: u64,
        /// Always BUILDTIME.
        tag: AnyTag,
        /// The build time found.
        buildtime: u64,
    },
    /// Reading from the underlying reader failed (not counting end of file, which is
    /// [`Error::Truncated`]).
    #[error("I/O error at offset {offset}: {source}")]
    Io {
        /// Input offset where the read started.
        offset: u64,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The byte offset the error refers to.
    pub fn offset(&self) -> u64 {
        match self {
            Error::Truncated { offset, .. }
            | Error::BadLeadMagic { offset, .. }
            | Error::UnsupportedLeadVersion { offset, .. }
            | Error::BadSignatureType { offset, .. }
            | Error::BadHeaderMagic { offset, .. }
            | Error::TooManyEntries { offset, .. }
            | Error::StoreTooLarge { offset, .. }
            | Error::BadEntryType { offset, .. }
            | Error::OffsetOutOfStore { offset, .. }
            | Error::CountOverflow { offset, .. }
            | Error::BadCount { offset, .. }
            | Error::UnterminatedString { offset, .. }
            | Error::BadRegion { offset, .. }
            | Error::TypeMismatch { offset, .. }
            | Error::LengthMismatch { offset, .. }
            | Error::IndexOutOfRange { offset, .. }
            | Error::BadHex { offset, .. }
            | Error::MissingTag { offset, .. }
            | Error::BuildTimeBeforeEpoch { offset, .. }
            | Error::Io { offset, .. } => *offset,
        }
    }

    /// The tag the error is about, if any.
    pub fn tag(&self) -> Option<AnyTag> {
        match self {
            Error::BadEntryType { tag, .. }
            | Error::OffsetOutOfStore { tag, .. }
            | Error::CountOverflow { tag, .. }
            | Error::BadCount { tag, .. }
            | Error::UnterminatedString { tag, .. }
            | Error::BadRegion { tag, .. }
            | Error::TypeMismatch { tag, .. }
            | Error::LengthMismatch { tag, .. }
            | Error::IndexOutOfRange { tag, .. }
            | Error::BadHex { tag, .. }
            | Error::MissingTag { tag, .. }
            | Error::BuildTimeBeforeEpoch { tag, .. } => Some(*tag),
            _ => None,
        }
    }

    /// The same error with its offset moved by `delta` (used when a sub-slice was parsed).
    pub fn shifted(mut self, delta: u64) -> Self {
        match &mut self {
            Error::Truncated { offset, .. }
            | Error::BadLeadMagic { offset, .. }
            | Error::UnsupportedLeadVersion { offset, .. }
            | Error::BadSignatureType { offset, .. }
            | Error::BadHeaderMagic { offset, .. }
            | Error::TooManyEntries { offset, .. }
            | Error::StoreTooLarge { offset, .. }
            | Error::BadEntryType { offset, .. }
            | Error::OffsetOutOfStore { offset, .. }
            | Error::CountOverflow { offset, .. }
            | Error::BadCount { offset, .. }
            | Error::UnterminatedString { offset, .. }
            | Error::BadRegion { offset, .. }
            | Error::TypeMismatch { offset, .. }
            | Error::LengthMismatch { offset, .. }
            | Error::IndexOutOfRange { offset, .. }
            | Error::BadHex { offset, .. }
            | Error::MissingTag { offset, .. }
            | Error::BuildTimeBeforeEpoch { offset, .. }
            | Error::Io { offset, .. } => *offset = offset.saturating_add(delta),
        }
        self
    }
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Error>();
};
