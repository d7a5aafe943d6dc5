//! Pure readers of installed-package databases (rpmdb).
//!
//! # Brief overview
//! An rpm database stores one header blob per installed package (the bytes of a header
//! without the `8E AD E8 01` magic: index count, data length, index, store), under an
//! instance number (rpm's `%{DBINSTANCE}`). This crate finds those blobs in the three on-disk
//! formats rpm has used, given the database file's bytes:
//! - Berkeley DB hash `Packages` (ALT, RHEL ≤ 8, SUSE ≤ 15.2), hash versions 8–10, both byte
//!   orders, big items on overflow pages ([`bdb`]);
//! - NDB `Packages.db` (SUSE ≥ 15.3) ([`ndb`]);
//! - SQLite `rpmdb.sqlite` (Fedora ≥ 33, RHEL 9), read from the file format without SQLite
//!   ([`sqlite`]).
//!
//! ```no_run
//! # fn main() -> Result<(), altrepodb_rpmdb::Error> {
//! let bytes = std::fs::read("/var/lib/rpm/Packages").unwrap();
//! for installed in altrepodb_rpmdb::open(&bytes)? {
//!     let installed = installed?;
//!     println!("{} {} bytes", installed.instance, installed.blob.len());
//! }
//! # Ok(()) }
//! ```
//!
//! Only the package file is read: the index files (`Name`, `Basenames`, `Index.db`, …), the
//! Berkeley DB environment (`__db.001`, …) and SQLite's `-shm` are not needed, and callers
//! ignore them. An SQLite database whose last transactions are still in its `-wal` file must
//! be checkpointed first (rpm does so when it closes the database).
//!
//! Every walk is bounded: page chains and trees that loop, items that point outside the file
//! and lengths larger than the file are errors naming the structure and its byte offset
//! ([`Error`]), never hangs or panics. Parsing the blobs is `altrepodb-rpm`'s job
//! (`Header::from_blob`). Nothing here does I/O or talks to a database.
#![deny(missing_docs)]

use std::borrow::Cow;
use std::fmt;

pub mod bdb;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod ndb;
pub mod sqlite;

pub use error::{Error, Problem, Result};

/// The on-disk format of an rpm database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Berkeley DB hash database (`Packages`).
    BerkeleyDb,
    /// rpm's own NDB format (`Packages.db`).
    Ndb,
    /// SQLite 3 database (`rpmdb.sqlite`).
    Sqlite,
}

impl Format {
    /// The file name rpm gives this format's package database.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::BerkeleyDb => "Packages",
            Format::Ndb => "Packages.db",
            Format::Sqlite => "rpmdb.sqlite",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::BerkeleyDb => "Berkeley DB",
            Format::Ndb => "NDB",
            Format::Sqlite => "SQLite",
        })
    }
}

/// The format the bytes start like, from their magic numbers alone (`None` if none).
///
/// A Berkeley DB file is recognised by its metadata page magic in either byte order, B-tree
/// as well as hash (a B-tree file is then refused by [`open`] with a clear error).
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(sqlite::MAGIC) {
        Some(Format::Sqlite)
    } else if bytes.starts_with(ndb::MAGIC) {
        Some(Format::Ndb)
    } else if bdb::looks_like_bdb(bytes) {
        Some(Format::BerkeleyDb)
    } else {
        None
    }
}

/// One installed package: its instance number and its header blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledHeader<'a> {
    /// The database instance number (rpm's `%{DBINSTANCE}`, never 0).
    pub instance: u32,
    /// The header blob (no magic), borrowed when it is stored in one piece, assembled from
    /// overflow pages otherwise. Parse it with `altrepodb_rpm::Header::from_blob`.
    pub blob: Cow<'a, [u8]>,
    /// Byte offset in the database file where the blob (or its first piece) starts.
    pub offset: u64,
}

/// The installed headers of a database, in rpm's iteration order (the order of
/// `rpm -qa`): hash buckets for Berkeley DB, block offsets for NDB, instance numbers for
/// SQLite. After an error the iterator ends.
pub struct Reader<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    Bdb(bdb::Walk<'a>),
    Ndb(ndb::Walk<'a>),
    Sqlite(sqlite::Walk<'a>),
}

impl<'a> Reader<'a> {
    /// The format being read.
    pub fn format(&self) -> Format {
        match self.inner {
            Inner::Bdb(_) => Format::BerkeleyDb,
            Inner::Ndb(_) => Format::Ndb,
            Inner::Sqlite(_) => Format::Sqlite,
        }
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<InstalledHeader<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Bdb(w) => w.next(),
            Inner::Ndb(w) => w.next(),
            Inner::Sqlite(w) => w.next(),
        }
    }
}

impl std::iter::FusedIterator for Reader<'_> {}

/// Detects the format ([`detect`]) and starts reading. Errors in the file's header or
/// metadata are reported here, errors further in by the iterator.
pub fn open(bytes: &[u8]) -> Result<Reader<'_>> {
    match detect(bytes) {
        Some(format) => open_as(format, bytes),
        None => Err(Error::UnknownFormat {
            start: bytes[..bytes.len().min(16)].to_vec(),
        }),
    }
}

/// Starts reading `bytes` as the given format.
pub fn open_as(format: Format, bytes: &[u8]) -> Result<Reader<'_>> {
    let inner = match format {
        Format::BerkeleyDb => Inner::Bdb(bdb::Walk::new(bytes)?),
        Format::Ndb => Inner::Ndb(ndb::Walk::new(bytes)?),
        Format::Sqlite => Inner::Sqlite(sqlite::Walk::new(bytes)?),
    };
    Ok(Reader { inner })
}

/// Every installed header of the database, or the first error.
pub fn read_all(bytes: &[u8]) -> Result<Vec<InstalledHeader<'_>>> {
    open(bytes)?.collect()
}
