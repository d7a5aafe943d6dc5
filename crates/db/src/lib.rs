//! ClickHouse layer for ALTRepo DB.
//!
//! # Brief overview
//! - [`settings::DbSettings`]: where the database is (or `None` for the embedded default);
//! - [`client::Db`]: a connected database, embedded or remote, through the official `clickhouse` crate;
//! - [`embedded`]: our own ClickHouse-HTTP server over chDB, started on demand;
//! - [`schema`]: the DDL files, `db init`, `db status`, `db check`;
//! - [`inserter::BatchInserter`]: deterministic, retry-safe batched inserts.
#![deny(missing_docs)]

pub mod client;
pub mod cluster;
pub mod embedded;
pub mod error;
pub mod inserter;
pub mod rows;
pub mod rows_task;
pub mod schema;
pub mod settings;

pub use client::Db;
pub use error::DbError;
pub use settings::DbSettings;
