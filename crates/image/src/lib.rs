//! Read-only, rootless readers of distribution images.
//!
//! # Brief overview
//! Images are read as plain bytes; nothing is mounted and no privilege is needed.
//! - [`source::ReadAt`] is random access to a block source: a raw file, a decompressed
//!   `.img.xz`, a qcow2 disk, or a [`source::Slice`] of one (a partition).
//! - [`fs::FileTree`] is a read-only file tree: a tar archive, an ext4, ISO 9660 or squashfs
//!   filesystem, or the merged layers of a container image. [`fs::resolve`] follows symlinks
//!   inside the tree (never outside it) and [`fs::walk`] lists every entry with bounded depth.
//!
//! Every reader of outside bytes bounds its walks (loops in directory graphs, extent trees and
//! chains are errors, not hangs) and reports corruption as [`Error::Corrupt`] naming the
//! structure and the byte offset.
#![deny(missing_docs)]

pub mod error;
pub mod fs;
pub mod source;

// Filesystem readers (ext4, ISO 9660, squashfs) and their private helpers.
mod dircache;
pub mod ext4;
pub mod fuzz_fs;
pub mod iso9660;
mod le;
pub mod squashfs;

pub use error::{Error, Result};
pub use fs::{resolve, walk, DirEntry, FileKind, FileTree, Metadata, TreePath};
pub use source::{ReadAt, Slice};
