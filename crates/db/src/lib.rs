//! ClickHouse layer for ALTRepo DB.
//!
//! # Brief overview
//! - [`settings::DbSettings`]: where the database is (or `None` for the embedded default);
//! - [`client::Db`]: a connected database, embedded or remote, through the official `clickhouse` crate;
//! - [`embedded`]: our own ClickHouse-HTTP server over chDB, started on demand;
//! - [`schema`]: the DDL files, `db init`, `db status`, `db check`;
//! - [`registry`]: every table and view, the row type loaders write it with, its sorting key,
//!   its writers and readers (`altrepodb db tables`);
//! - [`rows`], [`rows_task`]: one row struct per table, named after it;
//! - [`sink::Sink`]: the one way loaders write (checks, batches, counts, flush order) over
//! - [`inserter::BatchInserter`]: deterministic, retry-safe batched inserts.
#![deny(missing_docs)]

pub mod client;
pub mod derived;
pub mod embedded;
pub mod error;
pub mod inserter;
pub mod registry;
pub mod rows;
pub mod rows_task;
pub mod schema;
pub mod settings;
pub mod sink;

pub use client::Db;
pub use error::DbError;
pub use settings::DbSettings;
