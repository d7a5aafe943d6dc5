//! Typed rows of the task tables (schema `0003_tasks.sql`, `0007_progress_search.sql`).
//!
//! One struct per table, named after it (`TaskStates` → [`TaskStatesRow`]), field names =
//! column names; `DateTime` columns are seconds
//! since the epoch (`u32`), `DateTime64(3)` columns milliseconds (`i64`). MATERIALIZED
//! columns (`ts` of the 2022 tables, `TaskChroots.tch_hash`) are never written. Every row also
//! reads back (`Deserialize`) and compares (`PartialEq`), which is what the task loader's
//! insert-if-absent checks and the tests use.

use clickhouse::Row;
use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::registry::{self, TableSpec};
use crate::sink::Table;

/// Insert targets by their former constant names (kept while other branches merge; new code
/// uses [`Table::SPEC`]).
pub mod table {
    use crate::registry;
    /// `TaskStates`, written directly, so the row that publishes a task is on disk once it
    /// is visible (the original wrote `TaskStates_buffer`); fires `mv_package_history`.
    pub const TASK_STATES: &str = registry::TASK_STATES.insert_into;
    /// `Tasks` (one row per subtask and loaded state) through its Buffer.
    pub const TASKS: &str = registry::TASKS.insert_into;
    /// `TaskIterations` through its Buffer.
    pub const TASK_ITERATIONS: &str = registry::TASK_ITERATIONS.insert_into;
    /// `TaskChroots` through its Buffer.
    pub const TASK_CHROOTS: &str = registry::TASK_CHROOTS.insert_into;
    /// `TaskLogs` through its Buffer.
    pub const TASK_LOGS: &str = registry::TASK_LOGS.insert_into;
    /// `TaskPlanPackages` (written directly).
    pub const TASK_PLAN_PACKAGES: &str = registry::TASK_PLAN_PACKAGES.insert_into;
    /// `TaskPlanPkgHash` (written directly).
    pub const TASK_PLAN_PKG_HASH: &str = registry::TASK_PLAN_PKG_HASH.insert_into;
    /// `TaskApprovals` (written directly).
    pub const TASK_APPROVALS: &str = registry::TASK_APPROVALS.insert_into;
    /// `TaskProgress` (2026 layout, written directly).
    pub const TASK_PROGRESS: &str = registry::TASK_PROGRESS.insert_into;
    /// `TaskSubtaskProgress` (written directly).
    pub const TASK_SUBTASK_PROGRESS: &str = registry::TASK_SUBTASK_PROGRESS.insert_into;
}

/// `Tasks.subtask_type` (also `TaskSubtaskProgress.subtask_type`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize_repr,
    Deserialize_repr,
)]
#[repr(i8)]
#[allow(missing_docs)]
pub enum SubtaskType {
    #[default]
    Unknown = 0,
    Srpm = 1,
    Gear = 2,
    Copy = 3,
    Delete = 4,
    Rebuild = 5,
}

impl SubtaskType {
    /// The enum name as ClickHouse prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            SubtaskType::Unknown => "unknown",
            SubtaskType::Srpm => "srpm",
            SubtaskType::Gear => "gear",
            SubtaskType::Copy => "copy",
            SubtaskType::Delete => "delete",
            SubtaskType::Rebuild => "rebuild",
        }
    }

    /// Parses an enum name; `None` for anything the column does not accept.
    pub fn from_name(s: &str) -> Option<SubtaskType> {
        Some(match s {
            "unknown" => SubtaskType::Unknown,
            "srpm" => SubtaskType::Srpm,
            "gear" => SubtaskType::Gear,
            "copy" => SubtaskType::Copy,
            "delete" => SubtaskType::Delete,
            "rebuild" => SubtaskType::Rebuild,
            _ => return None,
        })
    }
}

/// `TaskPlanPackages.tplan_action`, `TaskPlanPkgHash.tplan_action`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize_repr,
    Deserialize_repr,
)]
#[repr(i8)]
#[allow(missing_docs)]
pub enum PlanAction {
    #[default]
    Add = 0,
    Delete = 1,
}

/// `TaskApprovals.tapp_type`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize_repr,
    Deserialize_repr,
)]
#[repr(i8)]
#[allow(missing_docs)]
pub enum ApprovalType {
    #[default]
    Approve = 0,
    Disapprove = 1,
}

/// `TaskStates` (written directly, read through `TaskStates_buffer`): one row per loaded task state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Row, Serialize, Deserialize)]
#[allow(missing_docs)] // field = column; see original-system.md §6.2
pub struct TaskStatesRow {
    pub task_changed: u32,
    pub task_id: u32,
    pub task_state: String,
    pub task_runby: String,
    pub task_depends: Vec<u32>,
    pub task_try: u16,
    pub task_testonly: u8,
    pub task_failearly: u8,
    pub task_shared: u8,
    pub task_message: String,
    pub task_version: String,
    pub task_prev: u32,
    pub task_eventlog_hash: Vec<u64>,
}

/// `Tasks` (via `Tasks_buffer`): one row per subtask of a loaded state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Row, Serialize, Deserialize)]
#[allow(missing_docs)] // field = column; see original-system.md §6.4
pub struct TasksRow {
    pub task_id: u32,
    pub subtask_id: u32,
    pub task_repo: String,
    pub task_owner: String,
    pub task_changed: u32,
    pub subtask_changed: u32,
    pub subtask_deleted: u8,
    pub subtask_userid: String,
    pub subtask_dir: String,
    pub subtask_package: String,
    pub subtask_type: SubtaskType,
    pub subtask_pkg_from: String,
    pub subtask_sid: String,
    pub subtask_tag_author: String,
    pub subtask_tag_id: String,
    pub subtask_tag_name: String,
    pub subtask_srpm: String,
    pub subtask_srpm_name: String,
    pub subtask_srpm_evr: String,
}

/// `TaskIterations` (via `TaskIterations_buffer`): one build (subtask, arch) of a loaded state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Row, Serialize, Deserialize)]
#[allow(missing_docs)] // field = column; see original-system.md §6.5
pub struct TaskIterationsRow {
    pub task_id: u32,
    pub task_changed: u32,
    pub subtask_id: u32,
    pub subtask_arch: String,
    pub titer_ts: u32,
    pub titer_status: String,
    pub task_try: u16,
    pub task_iter: u8,
    pub titer_srcrpm_hash: u64,
    /// `[0]` when the iteration built nothing (as the original).
    pub titer_pkgs_hash: Vec<u64>,
    pub titer_chroot_base: u64,
    pub titer_chroot_br: u64,
    pub titer_buildlog_hash: u64,
    pub titer_srpmlog_hash: u64,
}

/// `TaskChroots` (via `TaskChroots_buffer`): a build chroot's member hashes; the table
/// computes `tch_hash = murmurHash3_64(tch_chroot)` itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Row, Serialize, Deserialize)]
pub struct TaskChrootsRow {
    /// `mmhash` of each chroot line's SHA-1 field, in file order.
    pub tch_chroot: Vec<u64>,
}

/// `TaskLogs` (via `TaskLogs_buffer`): one line of an events, build or srpm log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Row, Serialize, Deserialize)]
pub struct TaskLogsRow {
    /// `mmhash` of the log's hash string (original-system §4.7).
    pub tlog_hash: u64,
    /// 1-based line number.
    pub tlog_line: u32,
    /// The line's time stamp (seconds since the epoch, UTC).
    pub tlog_ts: u32,
    /// The line without its time stamp, trimmed.
    pub tlog_message: String,
}

/// `TaskPlanPackages`: a package a plan adds to or deletes from the branch.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Row, Serialize, Deserialize,
)]
#[allow(missing_docs)] // field = column; see original-system.md §6.3
pub struct TaskPlanPackagesRow {
    pub tplan_hash: u64,
    pub tplan_action: PlanAction,
    pub tplan_pkg_name: String,
    pub tplan_pkg_evr: String,
    pub tplan_bin_file: String,
    pub tplan_src_file: String,
    pub tplan_arch: String,
    pub tplan_comp: String,
    pub tplan_subtask: u32,
}

/// `TaskPlanPkgHash`: the SHA-256 of a package file a plan adds or deletes.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Row, Serialize, Deserialize,
)]
pub struct TaskPlanPkgHashRow {
    /// Plan hash (per task, try, iteration and arch).
    pub tplan_hash: u64,
    /// Add or delete.
    pub tplan_action: PlanAction,
    /// Raw SHA-256.
    pub tplan_sha256: [u8; 32],
}

/// `TaskApprovals`: an approval or disapproval of a subtask (or its revocation).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Row, Serialize, Deserialize,
)]
#[allow(missing_docs)] // field = column; see original-system.md §6.6
pub struct TaskApprovalsRow {
    pub task_id: u32,
    pub subtask_id: u32,
    pub tapp_type: ApprovalType,
    pub tapp_revoked: u8,
    pub tapp_date: u32,
    pub tapp_name: String,
    pub tapp_message: String,
}

/// `TaskProgress` (2026 layout): task-level progress; `type = 'state'` rows carry the state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Row, Serialize, Deserialize)]
#[allow(missing_docs)] // field = column; see schema.md §2.2
pub struct TaskProgressRow {
    pub task_id: u32,
    pub task_repo: String,
    pub task_owner: String,
    pub task_state: String,
    pub task_try: u16,
    pub task_iter: u8,
    pub task_testonly: u8,
    pub task_changed: u32,
    pub task_message: String,
    pub task_depends: Vec<u32>,
    #[serde(rename = "type")]
    pub type_: String,
    pub stage: String,
    pub stage_status: String,
    /// Milliseconds since the epoch.
    pub ts: i64,
}

/// `TaskSubtaskProgress` (2026 layout): subtask metadata rows (`type` `create`/`delete`,
/// `arch = 'all'`) and per-arch build status rows (`type = 'progress'`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Row, Serialize, Deserialize)]
#[allow(missing_docs)] // field = column; see schema.md §2.2
pub struct TaskSubtaskProgressRow {
    pub task_id: u32,
    pub subtask_id: u32,
    pub task_repo: String,
    pub task_owner: String,
    pub subtask_type: SubtaskType,
    pub subtask_srpm: String,
    pub subtask_srpm_name: String,
    pub subtask_srpm_evr: String,
    pub subtask_dir: String,
    pub subtask_tag_id: String,
    pub subtask_tag_name: String,
    pub subtask_tag_author: String,
    pub subtask_package: String,
    pub subtask_pkg_from: String,
    pub subtask_changed: u32,
    #[serde(rename = "type")]
    pub type_: String,
    pub arch: String,
    pub status: String,
    pub stage: String,
    pub stage_status: String,
    /// Milliseconds since the epoch.
    pub ts: i64,
}

impl Table for TaskStatesRow {
    const SPEC: TableSpec = registry::TASK_STATES;
}
impl Table for TasksRow {
    const SPEC: TableSpec = registry::TASKS;
}
impl Table for TaskIterationsRow {
    const SPEC: TableSpec = registry::TASK_ITERATIONS;
}
impl Table for TaskChrootsRow {
    const SPEC: TableSpec = registry::TASK_CHROOTS;
}
impl Table for TaskLogsRow {
    const SPEC: TableSpec = registry::TASK_LOGS;
}
impl Table for TaskPlanPackagesRow {
    const SPEC: TableSpec = registry::TASK_PLAN_PACKAGES;
}
impl Table for TaskPlanPkgHashRow {
    const SPEC: TableSpec = registry::TASK_PLAN_PKG_HASH;
}
impl Table for TaskApprovalsRow {
    const SPEC: TableSpec = registry::TASK_APPROVALS;
}
impl Table for TaskProgressRow {
    const SPEC: TableSpec = registry::TASK_PROGRESS;
}
impl Table for TaskSubtaskProgressRow {
    const SPEC: TableSpec = registry::TASK_SUBTASK_PROGRESS;
}

/// Former name of [`TaskStatesRow`], still used by the task cleaner (`load/src/task/clean.rs`).
pub type TaskStateRow = TaskStatesRow;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::tests::assert_columns_in_schema;

    #[test]
    fn rows_match_the_schema() {
        assert_columns_in_schema::<TaskStatesRow>();
        assert_columns_in_schema::<TasksRow>();
        assert_columns_in_schema::<TaskIterationsRow>();
        assert_columns_in_schema::<TaskChrootsRow>();
        assert_columns_in_schema::<TaskLogsRow>();
        assert_columns_in_schema::<TaskPlanPackagesRow>();
        assert_columns_in_schema::<TaskPlanPkgHashRow>();
        assert_columns_in_schema::<TaskApprovalsRow>();
        assert_columns_in_schema::<TaskProgressRow>();
        assert_columns_in_schema::<TaskSubtaskProgressRow>();
    }

    #[test]
    fn subtask_type_names_round_trip() {
        for t in [
            SubtaskType::Unknown,
            SubtaskType::Srpm,
            SubtaskType::Gear,
            SubtaskType::Copy,
            SubtaskType::Delete,
            SubtaskType::Rebuild,
        ] {
            assert_eq!(SubtaskType::from_name(t.as_str()), Some(t));
        }
        assert_eq!(SubtaskType::from_name("task"), None);
    }
}
