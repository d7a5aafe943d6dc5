//! `repocop_loader`: Repocop test results from a bzip2-compressed JSON array
//! (original-system §1.9, §8.4).
//!
//! - [`parse`]: the decompressed JSON → `PackagesRepocop` rows (pure; every record must have
//!   exactly the table's keys, as strings; errors give line and column);
//! - [`load`]: `HEAD` for `Last-Modified` against `max(rc_test_date)`; only a newer file is
//!   downloaded (decompressed while it streams in), parsed whole, then written.

pub mod load;
pub mod parse;

pub use load::{load_repocop, RepocopError, DEFAULT_URL};
