//! ClickHouse layer for ALTRepo DB.
//!
//! # Brief overview
//! - [`settings::DbSettings`]: where the database is (or `None` for the embedded default);
//! - [`client::Db`]: a connected database, embedded or remote, through the official `clickhouse` crate;
//! - [`embedded`]: our own ClickHouse-HTTP server over chDB, started on demand;
//! - [`server_password`]: the embedded server's password (per data home, or from the environment);
//! - [`schema`]: the DDL files, `db init`, `db status`, `db check`;
//! - [`inserter::BatchInserter`]: deterministic batched inserts whose retries never double rows
//!   ([`recheck`] finds the rows of an ambiguous batch where the engine cannot deduplicate);
//! - [`flush`]: Buffer tables flushed before the row that publishes a load.
//! - [`registry`]: every table and view, the row type loaders write it with, its sorting key,
//!   its writers and readers (`altrepodb db tables`);
//! - [`rows`], [`rows_task`], [`rows_feeds`]: one row struct per table, named after it;
//! - [`sink::Sink`]: the one way loaders write (checks, batches, counts, flush order).
#![deny(missing_docs)]

pub mod backoff;
pub mod client;
pub mod cluster;
pub mod derived;
pub mod embedded;
pub mod engine_python;
pub mod error;
pub mod flush;
pub mod inserter;
pub mod recheck;
pub mod registry;
pub mod rows;
pub mod rows_feeds;
pub mod rows_task;
pub mod schema;
pub mod server_password;
pub mod settings;
pub mod sink;

pub use client::Db;
pub use error::DbError;
pub use settings::DbSettings;
