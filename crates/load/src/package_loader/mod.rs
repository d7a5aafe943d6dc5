//! `package_loader`: one source RPM file through the repository loader's package path
//! (original-system §1.5).
//!
//! - [`source`] reads the file: its rows (through [`crate::package`]) and its digests, always
//!   computed from the file;
//! - [`load`] checks `Packages` for the file name, writes the rows with
//!   [`crate::package_store::PackageStore`] through the shared sink, and flushes the package
//!   Buffers before it returns (`PackageHash_buffer` last);
//! - [`command`] declares its command line (`altrepodb package load`, `package_loader`).

pub mod command;
pub mod load;
pub mod source;

pub use command::COMMAND;
pub use load::{load_package, PackageLoadError, PackageLoadOptions};
