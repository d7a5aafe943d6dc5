//! `bugzilla_loader`: the whole Bugzilla bug list as CSV (original-system §1.8, §8.3).
//!
//! - [`parse`]: a strict CSV reader (RFC 4180 quoting) and the original's column list →
//!   `Bugzilla` rows (pure; errors give line and byte offset);
//! - [`load`]: downloads `buglist.cgi` with the original's query, compares each bug with its
//!   latest stored row (the columns the CSV has; `*_full` are not compared) and writes new and
//!   changed bugs only.

pub mod load;
pub mod parse;

pub use load::{buglist_url, load_bugzilla, BugzillaError, DEFAULT_URL};
