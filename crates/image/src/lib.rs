//! Read-only, rootless readers of distribution images.
//!
//! # Brief overview
//! Images are read as plain bytes; nothing is mounted and no privilege is needed.
//! - [`source::ReadAt`] is random access to a block source: a raw file, a decompressed
//!   `.img.xz`, a qcow2 disk, or a [`source::Slice`] of one (a partition).
//! - [`fs::FileTree`] is a read-only file tree: a tar archive, an ext4, ISO 9660 or squashfs
//!   filesystem, or the merged layers of a container image. [`fs::resolve`] follows symlinks
//!   inside the tree (never outside it) and [`fs::walk`] lists every entry with bounded depth.
//! - Block sources: [`disk::open_disk`] recognises raw, `.img.xz` ([`xz`]: random access
//!   through the xz index, else a spool with a free-space check, [`spool`]) and [`qcow2`];
//!   [`partition`] reads MBR and GPT and finds the root partition with a probe.
//! - Archives: [`tar`] is a streaming tar reader; [`tartree`] builds a [`memtree::MemTree`]
//!   of a tar image keeping only selected content; [`oci`] reads OCI layouts and docker save
//!   archives and merges their layers with whiteouts; [`compress`] sniffs gzip, xz, zstd
//!   and bzip2.
//!
//! Every reader of outside bytes bounds its walks (loops in directory graphs, extent trees and
//! chains are errors, not hangs) and reports corruption as [`Error::Corrupt`] naming the
//! structure and the byte offset.
#![deny(missing_docs)]

pub mod error;
pub mod fs;
pub mod source;

// Block sources, partition tables, tar and container images (helper imga).
pub mod compress;
pub mod disk;
#[doc(hidden)]
pub mod fuzzing;
pub mod memtree;
pub mod oci;
pub mod partition;
pub mod qcow2;
pub mod spool;
pub mod tar;
pub mod tartree;
pub mod xz;
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
