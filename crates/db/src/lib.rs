//! ClickHouse layer for ALTRepo DB.
#![deny(missing_docs)]
