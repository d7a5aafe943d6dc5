//! `watch_loader`: newer upstream versions from `watch-total.txt` (original-system §1.10,
//! §8.5).
//!
//! - [`parse`]: tab-separated lines → `PackagesWatch` rows (pure; errors name the line);
//! - [`load`]: `Last-Modified` against `max(date_update)`; the file is downloaded only when it
//!   is newer, parsed whole, then written.

pub mod load;
pub mod parse;

pub use load::{load_watch, WatchError, DEFAULT_URL};
