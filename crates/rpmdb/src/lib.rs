//! Pure readers of installed-package databases (rpmdb).
//!
//! # Brief overview
//! An rpm database stores one header blob per installed package (the bytes of a header
//! without the `8E AD E8 01` magic: index count, data length, index, store). This crate finds
//! those blobs in the three on-disk formats rpm has used, given the database file's bytes:
//! - Berkeley DB hash `Packages` (ALT, RHEL ≤ 8, SUSE ≤ 15.2), both byte orders;
//! - NDB `Packages.db` (SUSE ≥ 15.3);
//! - SQLite `rpmdb.sqlite` (Fedora ≥ 33, RHEL 9), read from the file format without SQLite.
//!
//! Parsing the blobs is `altrepodb-rpm`'s job. Nothing here does I/O or talks to a database.
#![deny(missing_docs)]
