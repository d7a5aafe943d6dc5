//! `spdx_loader`: the SPDX license list from a local copy of `license-list-data`
//! (original-system §1.11, §8.6).
//!
//! - [`source`] lists `json/details/*.json` and `json/exceptions/*.json` under the root
//!   (names ending in `.json` only) and reads them within a cap; with `--update` it first runs
//!   `git pull` inside the clone;
//! - [`parse`] turns one JSON document into a row (pure; errors name the file, line and column);
//! - [`load`] reads what `SPDXLicenses` holds and writes every license or exception that is not
//!   stored exactly.

pub mod load;
pub mod parse;
pub mod source;

pub use load::{load_spdx, SpdxError, SpdxOptions};
