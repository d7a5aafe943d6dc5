//! ALTRepo DB loaders.
//!
//! Every loader has the same shape: **source → parse → rows → sink**. The source module reads
//! files (and nothing else), the parse step is pure, the rows step maps parsed values onto the
//! typed rows of `altrepodb_db::rows`, and the sink writes them in batches.
#![deny(missing_docs)]

pub mod acl;
pub mod beehive;
pub mod bounded;
pub mod bugzilla;
pub mod command;
pub mod feed;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod listing;
pub mod package;
pub mod package_store;
pub mod repo;
pub mod repocop;
pub mod report;
pub mod safe_path;
pub mod spdx;
pub mod task;
pub mod watch;

pub use report::{LoadReport, Skipped};

/// Progress reports from a running load (the CLI draws bars; tests and the daemon ignore them).
pub trait Observer: Send + Sync {
    /// A phase starts; `total` steps (0 = unknown).
    fn phase(&self, _name: &str, _total: u64) {}
    /// `n` steps of the current phase are done.
    fn advance(&self, _n: u64) {}
    /// The current phase is over.
    fn finish_phase(&self) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {}
