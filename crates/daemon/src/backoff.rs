//! Exponential backoff with jitter for the reconnect loops: the one implementation in
//! `altrepodb_db::backoff`, also used by the inserter's retries.

pub use altrepodb_db::backoff::Backoff;
