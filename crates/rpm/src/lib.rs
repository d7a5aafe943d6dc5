//! RPM header reading and writing for ALTRepo DB.
//!
//! # Brief overview
//! Parsing is pure: every reader takes bytes (or a `Read`) and returns typed values or an
//! error that names the offset. Nothing here talks to a database.
#![deny(missing_docs)]
