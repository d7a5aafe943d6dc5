//! The shared sink: the one way loaders write rows.

use clickhouse::{Row, RowOwned, RowWrite};

use crate::registry::TableSpec;

/// A row type of a table a loader writes: it knows its registry entry, hence where it is
/// inserted, where checks read, and its sorting key.
pub trait Table: Row + RowOwned + RowWrite + Send + Sync + 'static {
    /// The table's registry entry.
    const SPEC: TableSpec;
}
