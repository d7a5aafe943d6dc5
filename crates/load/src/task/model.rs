//! The parsed structure of one task directory (what `task load -J` dumps).
//!
//! Paths are relative to the task directory; times are UTC seconds since the epoch.

use std::collections::BTreeMap;

use altrepodb_db::rows_task::SubtaskType;
use serde::{Serialize, Serializer};

use super::parse::{LogKind, OrderedMap};

/// Serialises optional digests as lower-case hex.
fn hex_opt<S: Serializer, const N: usize>(v: &Option<[u8; N]>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(d) => s.serialize_some(&hex::encode(d)),
        None => s.serialize_none(),
    }
}

fn hex_map<S: Serializer>(
    m: &BTreeMap<String, OrderedMap<[u8; 32]>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut out = s.serialize_map(Some(m.len()))?;
    for (arch, files) in m {
        let v: BTreeMap<&String, String> = files.iter().map(|(f, h)| (f, hex::encode(h))).collect();
        out.serialize_entry(arch, &v)?;
    }
    out.end()
}

/// `task/*`, `info.json` and `build/repo/prev`: the `TaskStates` row's values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TaskState {
    /// `task/id`.
    pub task_id: u32,
    /// `task/state`, trimmed (verbatim, upper-case as girar writes it).
    pub state: String,
    /// mtime of `task/state`, or of `info.json` when that is newer.
    pub changed: u32,
    /// `task/run`.
    pub runby: String,
    /// `task/try` (0 when missing).
    pub task_try: u16,
    /// `task/iter` (0 when missing).
    pub task_iter: u8,
    /// `task/message`.
    pub message: String,
    /// `task/version`.
    pub version: String,
    /// `task/depends`.
    pub depends: Vec<u32>,
    /// `task/test-only` exists.
    pub testonly: bool,
    /// `task/fail-early` exists.
    pub failearly: bool,
    /// `info.json` key `shared` is truthy.
    pub shared: bool,
    /// Base name of `build/repo/prev`'s target, as a number (0 without the link).
    pub prev: u32,
    /// `task/repo`.
    pub repo: String,
    /// `task/owner`.
    pub owner: String,
}

/// `gears/<n>/`: one subtask (a `Tasks` row).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Subtask {
    /// `<n>`.
    pub subtask_id: u32,
    /// max(mtime(`userid`), mtime(the directory)).
    pub changed: u32,
    /// None of `dir`, `srpm`, `package` exists.
    pub deleted: bool,
    /// `userid`.
    pub userid: String,
    /// `dir` (gear repository).
    pub dir: String,
    /// `package` (copy, delete, rebuild).
    pub package: String,
    /// Kind (girar's `check_copy_del` logic).
    pub kind: SubtaskType,
    /// `copy_repo`, `rebuild` or `rebuild_from`.
    pub pkg_from: String,
    /// The part of `sid` after the colon.
    pub sid: String,
    /// `tag_author`.
    pub tag_author: String,
    /// `tag_id`.
    pub tag_id: String,
    /// `tag_name`.
    pub tag_name: String,
    /// `srpm`.
    pub srpm: String,
    /// `nevr` name.
    pub srpm_name: String,
    /// `nevr` EVR.
    pub srpm_evr: String,
}

/// `build/<n>/<arch>/`: one build (a `TaskIterations` row before package hashes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Iteration {
    /// `<n>`.
    pub subtask_id: u32,
    /// `<arch>`.
    pub arch: String,
    /// mtime of `status` (or of the arch directory).
    pub ts: u32,
    /// `status`, `built` when packages exist, `failed` when empty or missing, `deleted` for
    /// the stub of a delete subtask.
    pub status: String,
    /// `chroot_base` member hashes.
    pub chroot_base: Vec<u64>,
    /// `chroot_BR` member hashes.
    pub chroot_br: Vec<u64>,
    /// The source package (path), from `plan/add-src` or the first `srpm/` file.
    pub srpm: Option<String>,
    /// Binary packages (paths), from `rpms/` or `plan/add-bin`.
    pub rpms: Vec<String>,
}

/// A log file to load into `TaskLogs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRef {
    /// Format.
    pub kind: LogKind,
    /// Path relative to the task directory.
    pub path: String,
    /// The hash string (§4.7).
    pub key: String,
    /// `mmhash(key)` = `tlog_hash`.
    pub hash: u64,
    /// Subtask and arch of a build/srpm log.
    pub build: Option<(u32, String)>,
}

/// A package a plan adds or deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanPackage {
    /// Name.
    pub name: String,
    /// EVR.
    pub evr: String,
    /// Source package file name.
    pub srpm: String,
    /// Arch from the list.
    pub arch: String,
    /// Component (from `add-bin` / `rm-bin`).
    pub comp: String,
    /// Path (from `add-*`).
    pub path: String,
    /// Subtask (from `add-*`).
    pub subtask: u32,
}

/// `plan/`: what the task adds to and deletes from the branch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Whether the plan passed the freshness gate (§6.3) and was read.
    pub loaded: bool,
    /// Plan hash per arch.
    pub hashes: BTreeMap<String, u64>,
    /// Added packages per list arch, by file name.
    pub add: BTreeMap<String, OrderedMap<PlanPackage>>,
    /// Deleted packages per list arch, by file name.
    pub del: BTreeMap<String, OrderedMap<PlanPackage>>,
    /// Added SHA-256 per hash-list arch, by file name.
    #[serde(serialize_with = "hex_map")]
    pub hash_add: BTreeMap<String, OrderedMap<[u8; 32]>>,
    /// Deleted SHA-256 per hash-list arch, by file name.
    #[serde(serialize_with = "hex_map")]
    pub hash_del: BTreeMap<String, OrderedMap<[u8; 32]>>,
}

/// An approval file (`acl/approved/<n>/<nick>` or `acl/disapproved/<n>/<nick>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalFile {
    /// Subtask.
    pub subtask_id: u32,
    /// Disapproval rather than approval.
    pub disapprove: bool,
    /// Approver.
    pub name: String,
    /// Date (UTC seconds).
    pub date: u32,
    /// Message.
    pub message: String,
}

/// Digests of a package file as the task states them (`pkglist.task.xz`, `plan/*.hash.diff`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatedDigests {
    /// MD5 (pkglist.task.xz, or recomputed on a noarch mismatch).
    #[serde(serialize_with = "hex_opt")]
    pub md5: Option<[u8; 16]>,
    /// SHA-256 (added hashes of the plan).
    #[serde(serialize_with = "hex_opt")]
    pub sha256: Option<[u8; 32]>,
    /// BLAKE2b-512 (pkglist.task.xz).
    #[serde(skip)]
    pub blake2b: Option<[u8; 64]>,
}

/// Everything read from one task directory.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Task {
    /// The task directory.
    pub path: std::path::PathBuf,
    /// State values.
    pub state: TaskState,
    /// Subtasks in id order.
    pub subtasks: Vec<Subtask>,
    /// Builds (subtask order; x86_64, i586, then the other arches by name), then delete stubs.
    pub iterations: Vec<Iteration>,
    /// The plan.
    pub plan: Plan,
    /// Approval files.
    pub approvals: Vec<ApprovalFile>,
    /// Logs: build/srpm logs in iteration order, then events logs by (try, iter).
    pub logs: Vec<LogRef>,
    /// `arepo/x86_64-i586/rpms/*.rpm` (paths).
    pub arepo: Vec<String>,
    /// Stated digests per package file name.
    pub digests: BTreeMap<String, StatedDigests>,
    /// Things skipped while reading (with the file), e.g. unparsable approval files.
    pub skipped: Vec<String>,
}

impl Task {
    /// Event log hashes (`task_eventlog_hash`), in log order.
    pub fn eventlog_hashes(&self) -> Vec<u64> {
        self.logs
            .iter()
            .filter(|l| l.kind == LogKind::Events)
            .map(|l| l.hash)
            .collect()
    }

    /// Every package path the task loads: sources first, then binaries, then arepo, each
    /// once, in first-seen order.
    pub fn package_paths(&self) -> Vec<(String, PackageRole)> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for it in &self.iterations {
            if let Some(s) = &it.srpm {
                if seen.insert(s.clone()) {
                    out.push((s.clone(), PackageRole::Source));
                }
            }
        }
        for it in &self.iterations {
            for r in &it.rpms {
                if seen.insert(r.clone()) {
                    out.push((r.clone(), PackageRole::Binary));
                }
            }
        }
        for r in &self.arepo {
            if seen.insert(r.clone()) {
                out.push((r.clone(), PackageRole::Arepo));
            }
        }
        out
    }
}

/// How a package file enters the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PackageRole {
    /// A subtask's source package (its hash is `pkg_srcrpm_hash` of the binaries).
    Source,
    /// A binary built by a subtask.
    Binary,
    /// `arepo/x86_64-i586` compat package (`pkg_srcrpm_hash` = 0).
    Arepo,
}
