//! `task_loader` and `task_cleaner`: girar build tasks (original-system §1.2, §1.12, §6).
//!
//! # Brief overview
//! - [`source::TaskDir`]: the files of one task directory (live `/tasks/<id>` or archived
//!   `<archive>/_<id/1024>/<id>`, see [`source::locate_task`]); I/O only.
//! - [`parse`]: pure parsers of the task files (plan lists and diffs, approvals, the three
//!   log formats, chroot lists, `sid`, `nevr`, `info.json`).
//! - [`read::read_task`]: the directory → [`model::Task`] (subtask kinds, the plan
//!   freshness gate, iterations with their packages and logs, approvals).
//! - [`rows`]: the task → rows of `TaskStates`, `Tasks`, `TaskIterations`, `TaskChroots`,
//!   `TaskPlanPackages`, `TaskPlanPkgHash`, `TaskApprovals`, `TaskProgress`,
//!   `TaskSubtaskProgress` ([`hash`] has the derived hashes of §4.7).
//! - [`load::load_task`]: the sink; the task's packages go through [`crate::package`],
//!   every table is written insert-if-absent and `TaskStates` last.
//! - [`clean::clean_tasks`]: marks vanished tasks DELETED.
//!
//! Deliberate differences from the original are listed in the items' docs; the main ones:
//! approvals are read from `acl/approved` (the original listed `acl/disapproved` twice),
//! state rows are written last, naive log and approval times are read as UTC, and
//! directory listings are sorted.

pub mod clean;
pub mod error;
pub mod hash;
pub mod load;
pub mod model;
pub mod parse;
pub mod read;
pub mod rows;
pub mod source;

pub use clean::{clean_tasks, TaskCleanOptions, TaskCleanReport, UnclearState};
pub use error::TaskError;
pub use load::{
    load_task, load_tasks, BulkLoadReport, FailedTask, TaskLoadOptions, TaskLoadReport,
};
pub use read::read_task;
pub use source::{archived_task_path, locate_task, TaskDir};
