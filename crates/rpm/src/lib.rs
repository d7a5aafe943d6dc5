//! RPM header reading and writing for ALTRepo DB.
//!
//! # Brief overview
//! Parsing is pure: every reader takes bytes (or a `Read`) and returns typed values or an
//! error that names the offset. Nothing here talks to a database.
#![deny(missing_docs)]

pub mod apt;
pub mod cpio;
pub mod digest;
pub mod error;
pub mod evr;
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
pub mod identity;
pub mod meta;
pub mod package;
pub mod payload;
pub mod tags;
#[cfg(feature = "writer")]
pub mod writer;

pub use apt::{apt_headers, AptHeaders, AptStream};
pub use error::{Error, Result};
pub use header::{class_of_mode, text, Entry, EntryType, Header, StrArray, U32Array, U64Array};
pub use identity::{mmhash, murmur3_x64_128, murmur3_x86_32, pkg_hash, PkgHashError};
pub use package::{read_package_bytes, read_package_into, Lead, Package};
pub use tags::{AnyTag, SigTag, Tag, TagKind};

pub use digest::{digest_bytes, digest_file, DigestAlgo, Digests};
pub use evr::{rpmvercmp, Evr};
pub use payload::{extract_spec, Compression, SpecFile};
#[cfg(feature = "writer")]
pub use writer::{BuiltPackage, HeaderWriter, PackageBuilder, TagValue};
