//! Deterministic girar build-task directories, for the task loader's tests and benchmark.
//!
//! # Brief overview
//! [`generate_task`] writes one task directory for a [`TaskSpec`] (id, final state, number
//! of subtasks and tries, seed, build arches) the way girar leaves it (original-system
//! §6.1): `task/*`, `info.json`, `gears/<n>/` (gear, srpm, delete, copy and rebuild
//! subtasks plus one deleted subtask), `build/<n>/<arch>/` with real RPMs made by
//! [`altrepodb_rpm::writer::PackageBuilder`] (one source package rebuilt per arch, an
//! arch package and a noarch `-doc` package per arch, so noarch files of different arches
//! share a name; the `-doc` package has FILECLASS with empty classes for its directory and
//! symbolic link, as current rpmbuild writes them), chroot lists, build and srpm logs, `build/repo/<arch>/base/pkglist.task.xz`
//! with `RPMS.task/` copies, the `build/repo/prev` link, `plan/` (add/rm lists, list and
//! hash diffs; stale for FAILED tasks), approvals, `logs/events.<try>.1.log` for every try
//! and `arepo/x86_64-i586/rpms/` compat packages. File and directory times are set
//! explicitly.
//!
//! Next to the directory it writes `<dir>.manifest.json` ([`TaskManifest`]): what a loader
//! must find there, row by row, in the original's terms (hash strings, plan hashes, log
//! lines with their times, approvals, every package file with its `pkg_hash` and digests).
//!
//! The same spec and seed give byte-identical output. Tries before the last one failed;
//! the last one ends in the requested state. A task generated with more tries, or a later
//! state (EPERM → DONE), shares everything about the earlier tries with the shorter one,
//! so loading both in turn shows exactly what a state change adds.
//!
//! This module uses only `altrepodb-rpm`, `serde`, `serde_json`, `hex`, `liblzma` and
//! `thiserror`, so tests can include it by path.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use altrepodb_rpm::writer::{
    apt_header_record, AptIndex, AptLayout, BuiltPackage, ChangelogEntry, Dependency, FileSpec,
    PackageBuilder,
};
use altrepodb_rpm::{digest_bytes, mmhash, DigestAlgo, Package};

use crate::date::{civil, days_from_civil};
use serde::{Deserialize, Serialize};

/// Girar task states the generator knows (any other upper-case word is accepted too and
/// treated like a built, planned task).
pub const STATES: &[&str] = &[
    "NEW",
    "AWAITING",
    "POSTPONED",
    "BUILDING",
    "FAILING",
    "FAILED",
    "PENDING",
    "COMMITTING",
    "DONE",
    "EPERM",
    "TESTED",
    "SWEPT",
];

/// What went wrong while generating a task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskGenError {
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The RPM writer rejected a package.
    #[error("{package}: {why}")]
    Package {
        /// File name.
        package: String,
        /// The cause.
        why: String,
    },
    /// A manifest could not be read.
    #[error("{}: {why}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The spec is unusable.
    #[error("{0}")]
    Spec(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TaskGenError + '_ {
    move |source| TaskGenError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    /// Task id (the directory name).
    pub id: u32,
    /// Final state, upper case (`DONE`, `EPERM`, `TESTED`, `FAILED`, `NEW`, …).
    pub state: String,
    /// Live subtasks (≥ 1); one deleted subtask is added after them.
    pub subtasks: usize,
    /// Tries (≥ 1; ignored for NEW). Earlier tries failed.
    pub iterations: u32,
    /// Seed.
    pub seed: u64,
    /// Build arches (default `x86_64`, `i586`); with both, arepo compat packages are made.
    pub archs: Vec<String>,
    /// Branch (`task/repo`).
    pub repo: String,
    /// Write into `<out>/_<id / 1024>/<id>` (girar's done-task archive) instead of `<out>/<id>`.
    pub archived: bool,
}

impl Default for TaskSpec {
    fn default() -> Self {
        TaskSpec {
            id: 350_000,
            state: "DONE".into(),
            subtasks: 3,
            iterations: 1,
            seed: 0,
            archs: vec!["x86_64".into(), "i586".into()],
            repo: "sisyphus".into(),
            archived: false,
        }
    }
}

/// A subtask as the loader must store it (`Tasks` columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // field = Tasks column without the `subtask_` prefix
pub struct SubtaskRecord {
    pub subtask_id: u32,
    pub changed: u32,
    pub deleted: bool,
    pub userid: String,
    pub dir: String,
    pub package: String,
    /// `subtask_type` enum name.
    pub kind: String,
    pub pkg_from: String,
    pub sid: String,
    pub tag_author: String,
    pub tag_id: String,
    pub tag_name: String,
    pub srpm: String,
    pub srpm_name: String,
    pub srpm_evr: String,
}

/// A build (subtask, arch) as the loader must store it (`TaskIterations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IterationRecord {
    /// Subtask.
    pub subtask_id: u32,
    /// Arch.
    pub arch: String,
    /// `titer_ts`.
    pub ts: u32,
    /// `titer_status`.
    pub status: String,
    /// Source package path (relative to the task), whose hash is `titer_srcrpm_hash`.
    pub srpm: Option<String>,
    /// Binary package paths, in `titer_pkgs_hash` order (`[0]` when empty).
    pub rpms: Vec<String>,
    /// `chroot_base` member hashes.
    pub chroot_base: Vec<u64>,
    /// `chroot_BR` member hashes.
    pub chroot_br: Vec<u64>,
    /// Hash string of the build log (`titer_buildlog_hash = mmhash`).
    pub buildlog_key: Option<String>,
    /// Hash string of the srpm log.
    pub srpmlog_key: Option<String>,
}

/// A log as the loader must store it (`TaskLogs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// `events`, `build` or `srpm`.
    pub kind: String,
    /// Path relative to the task.
    pub path: String,
    /// Hash string.
    pub key: String,
    /// `tlog_hash`.
    pub hash: u64,
    /// `(tlog_line, tlog_ts, tlog_message)`.
    pub lines: Vec<(u32, u32, String)>,
}

/// A `TaskPlanPackages` row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[allow(missing_docs)] // field = column without the `tplan_` prefix
pub struct PlanPackageRecord {
    pub hash: u64,
    /// `add` or `delete`.
    pub action: String,
    pub name: String,
    pub evr: String,
    pub bin_file: String,
    pub src_file: String,
    pub arch: String,
    pub comp: String,
    pub subtask: u32,
}

/// A `TaskPlanPkgHash` row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlanHashRecord {
    /// Plan hash.
    pub hash: u64,
    /// `add` or `delete`.
    pub action: String,
    /// SHA-256, hex.
    pub sha256: String,
}

/// An approval file (a `TaskApprovals` row with `tapp_revoked = 0`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// Subtask.
    pub subtask_id: u32,
    /// `approve` or `disapprove`.
    pub kind: String,
    /// Nick.
    pub name: String,
    /// Date (UTC seconds).
    pub date: u32,
    /// Message.
    pub message: String,
}

/// A package file the loader reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRecord {
    /// Path relative to the task.
    pub path: String,
    /// File name (`pkg_filename`).
    pub file_name: String,
    /// `pkg_hash`.
    pub pkg_hash: u64,
    /// `NAME`.
    pub name: String,
    /// A source package.
    pub source: bool,
    /// `source`, `binary` or `arepo`.
    pub role: String,
    /// The expected `pkg_srcrpm_hash` (own hash for sources, 0 for arepo).
    pub srcrpm_hash: u64,
    /// MD5 of the file, hex.
    pub md5: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// BLAKE2b-512, hex.
    pub blake2b: String,
    /// Header SHA1 (`pkgh_sha1`), hex.
    pub sha1header: String,
    /// Entries in the file list (`Files` rows).
    pub files: usize,
}

/// Everything [`generate_task`] put into a task directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskManifest {
    /// The task directory.
    pub dir: PathBuf,
    /// `task/id`.
    pub id: u32,
    /// `task/state`.
    pub state: String,
    /// Seed.
    pub seed: u64,
    /// `task/try` (0 for NEW).
    pub task_try: u16,
    /// `task/iter` (0 for NEW).
    pub task_iter: u8,
    /// Expected `task_changed`.
    pub changed: u32,
    /// `task/run`.
    pub runby: String,
    /// `task/message`.
    pub message: String,
    /// `task/version`.
    pub version: String,
    /// `task/depends`.
    pub depends: Vec<u32>,
    /// `task/test-only`.
    pub testonly: bool,
    /// `task/fail-early`.
    pub failearly: bool,
    /// `info.json` `shared`.
    pub shared: bool,
    /// `build/repo/prev` target.
    pub prev: u32,
    /// `task/repo`.
    pub repo: String,
    /// `task/owner`.
    pub owner: String,
    /// The plan passes the loader's freshness gate.
    pub plan_loaded: bool,
    /// Subtasks (all `gears/<n>`).
    pub subtasks: Vec<SubtaskRecord>,
    /// Builds, then the stubs of delete subtasks.
    pub iterations: Vec<IterationRecord>,
    /// Logs (build/srpm of the last try, events of every try).
    pub logs: Vec<LogRecord>,
    /// Plan rows (empty unless `plan_loaded`).
    pub plan_packages: Vec<PlanPackageRecord>,
    /// Plan hash rows (empty unless `plan_loaded`).
    pub plan_hashes: Vec<PlanHashRecord>,
    /// Approval files.
    pub approvals: Vec<ApprovalRecord>,
    /// Package files the loader reads (each path once).
    pub packages: Vec<PackageRecord>,
    /// Distinct non-empty chroots.
    pub chroots: Vec<Vec<u64>>,
    /// Files whose path other packages require without anybody providing it (what the
    /// file-provides step turns into `provide` rows), with the hashes of their packages.
    pub file_requires: Vec<(String, Vec<u64>)>,
}

impl TaskManifest {
    /// The manifest path of task directory `dir`.
    pub fn path_for(dir: &Path) -> PathBuf {
        let mut name = dir
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".manifest.json");
        dir.with_file_name(name)
    }

    /// Reads the manifest of task directory `dir`.
    pub fn read(dir: &Path) -> Result<TaskManifest, TaskGenError> {
        let path = Self::path_for(dir);
        let text = fs::read_to_string(&path).map_err(io_err(&path))?;
        serde_json::from_str(&text).map_err(|e| TaskGenError::Manifest {
            path,
            why: e.to_string(),
        })
    }

    /// Log hashes of the events logs (`task_eventlog_hash`).
    pub fn eventlog_hashes(&self) -> Vec<u64> {
        self.logs
            .iter()
            .filter(|l| l.kind == "events")
            .map(|l| l.hash)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Small deterministic helpers

/// SplitMix64.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
    fn hex(&mut self, bytes: usize) -> String {
        (0..bytes)
            .map(|_| format!("{:02x}", self.next() as u8))
            .collect()
    }
}

const WORDS: &[&str] = &[
    "zephyr", "quill", "marlin", "tundra", "lantern", "basalt", "cobalt", "juniper", "saffron",
    "pebble", "orchid", "falcon", "harbor", "meadow", "nimbus", "quartz", "raven", "sierra",
    "thistle", "umber", "velvet", "willow", "yarrow", "zircon", "ember", "fjord", "glacier",
    "heron", "kestrel", "lichen",
];
const PEOPLE: &[(&str, &str)] = &[
    ("alice", "Alice Arkhipova"),
    ("bob", "Boris Belov"),
    ("carol", "Karina Orlova"),
    ("dave", "Denis Volkov"),
    ("erin", "Irina Egorova"),
    ("frank", "Fyodor Frolov"),
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `YYYY-Mon-DD HH:MM:SS` (girar's event and approval stamps).
fn girar_date(ts: u32) -> String {
    let (y, m, d, h, mi, s) = civil(ts);
    format!(
        "{y}-{}-{d:02} {h:02}:{mi:02}:{s:02}",
        MONTHS[m as usize - 1]
    )
}

/// `<13>Mon DD HH:MM:SS` (syslog, as hasher's srpm.log).
fn syslog_date(ts: u32) -> String {
    let (_, m, d, h, mi, s) = civil(ts);
    format!(
        "<13>{} {d:>2} {h:02}:{mi:02}:{s:02}",
        MONTHS[m as usize - 1]
    )
}

fn mkdirs(p: &Path) -> Result<(), TaskGenError> {
    fs::create_dir_all(p).map_err(io_err(p))
}

fn set_mtime(p: &Path, t: u32) -> Result<(), TaskGenError> {
    let f = fs::File::open(p).map_err(io_err(p))?;
    f.set_modified(UNIX_EPOCH + Duration::from_secs(u64::from(t)))
        .map_err(io_err(p))
}

/// Writes `content` to `p` (parents created) and sets its mtime.
fn put(p: &Path, content: &[u8], t: u32) -> Result<(), TaskGenError> {
    if let Some(d) = p.parent() {
        mkdirs(d)?;
    }
    fs::write(p, content).map_err(io_err(p))?;
    set_mtime(p, t)
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 1);
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

fn hexd(d: &altrepodb_rpm::Digests, a: DigestAlgo) -> String {
    d.hex(a).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The generator

/// Subtask kinds in creation order (index modulo 6).
fn kind_of(i: usize) -> &'static str {
    ["gear", "srpm", "gear", "delete", "copy", "rebuild"][i % 6]
}

#[derive(Debug, Clone)]
struct Sub {
    id: u32,
    index: usize,
    kind: &'static str,
    name: String,
    version: String,
    release: String,
    old_release: String,
    created: u32,
    user: (&'static str, &'static str),
    tag_id: String,
    sid_hex: String,
}

impl Sub {
    fn evr(&self) -> String {
        format!("{}-{}", self.version, self.release)
    }
    fn builds(&self) -> bool {
        self.kind != "delete"
    }
}

/// One built package file placed in the task.
#[derive(Debug, Clone)]
struct Placed {
    rel: String,
    pkg: BuiltPackage,
    pkg_hash: u64,
    name: String,
    source: bool,
    role: &'static str,
    files: usize,
    digests: altrepodb_rpm::Digests,
}

struct Gen<'a> {
    spec: &'a TaskSpec,
    root: PathBuf,
    t0: u32,
    owner: (&'static str, &'static str),
    archs: Vec<String>,
    subs: Vec<Sub>,
    deleted_id: u32,
}

/// The outcome of one try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Failed,
    Final,
}

impl Gen<'_> {
    /// Start of try `k` (1-based).
    fn try_start(&self, k: u32) -> u32 {
        self.t0 + 3600 + (k - 1) * 7200
    }

    /// (start, end) of the build of subtask index `i` on arch index `j` in try `k`.
    fn build_time(&self, k: u32, i: usize, j: usize) -> (u32, u32) {
        let start = self.try_start(k) + 60 + i as u32 * 400 + j as u32 * 40;
        (start, start + 120 + ((i * 7 + j * 13) % 60) as u32)
    }

    /// When the builds of try `k` are over.
    fn builds_done(&self, k: u32) -> u32 {
        self.try_start(k) + 60 + self.subs.len() as u32 * 400 + 400
    }

    fn plan_time(&self) -> u32 {
        self.builds_done(self.tries()) + 100
    }

    fn tries(&self) -> u32 {
        if self.is_new() {
            0
        } else {
            self.spec.iterations.max(1)
        }
    }

    fn is_new(&self) -> bool {
        self.spec.state == "NEW"
    }

    fn state_time(&self) -> u32 {
        let k = self.tries();
        if k == 0 {
            return self.t0 + 600;
        }
        let p = self.plan_time();
        match self.spec.state.as_str() {
            "FAILED" => self.builds_done(k) + 20,
            "EPERM" => p + 100,
            "TESTED" => p + 200,
            "DONE" => p + 2000,
            _ => p + 300,
        }
    }

    /// Does the build of subtask index `i` on arch index `j` fail in try `k`?
    fn fails(&self, outcome: Outcome, i: usize, j: usize) -> bool {
        let failing = outcome == Outcome::Failed
            || (outcome == Outcome::Final && self.spec.state == "FAILED");
        failing && i == 0 && j + 1 == self.archs.len()
    }

    fn outcome(&self, k: u32) -> Outcome {
        if k < self.tries() {
            Outcome::Failed
        } else {
            Outcome::Final
        }
    }
}

/// Generates the task of `spec` under `out` (see the module docs); `out/<id>` (or the
/// archive path) must not exist or be empty.
pub fn generate_task(out: &Path, spec: &TaskSpec) -> Result<TaskManifest, TaskGenError> {
    if spec.id == 0 {
        return Err(TaskGenError::Spec("task id must be > 0".into()));
    }
    if spec.subtasks == 0 || spec.subtasks > 60 {
        return Err(TaskGenError::Spec("subtasks must be within 1..=60".into()));
    }
    if spec.iterations == 0 || spec.iterations > 200 {
        return Err(TaskGenError::Spec(
            "iterations must be within 1..=200".into(),
        ));
    }
    if spec.state.is_empty() || !spec.state.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(TaskGenError::Spec(format!(
            "state '{}' is not an upper-case word",
            spec.state
        )));
    }
    let mut archs: Vec<String> = spec
        .archs
        .iter()
        .filter(|a| !a.is_empty())
        .cloned()
        .collect();
    archs.sort_by_key(|a| (a != "x86_64", a != "i586", a.clone()));
    archs.dedup();
    if archs.is_empty()
        || archs
            .iter()
            .any(|a| a == "noarch" || a == "src" || a.contains('/'))
    {
        return Err(TaskGenError::Spec(
            "build arches must be real arches (x86_64, i586, aarch64, …)".into(),
        ));
    }
    let root = if spec.archived {
        out.join(format!("_{}", spec.id / 1024))
            .join(spec.id.to_string())
    } else {
        out.join(spec.id.to_string())
    };
    if root.exists() && fs::read_dir(&root).map_err(io_err(&root))?.next().is_some() {
        return Err(TaskGenError::Spec(format!(
            "{}: already exists and is not empty",
            root.display()
        )));
    }
    mkdirs(&root)?;

    let mut rng = Rng::new(spec.seed, u64::from(spec.id));
    // 2024-01-10 … 2024-11-30: no year boundary near the task's times.
    let t0 = 1_704_844_800 + (rng.below(320) as u32) * 86_400 + rng.below(40_000) as u32;
    let owner = *rng.pick(PEOPLE);
    let mut subs = Vec::new();
    for i in 0..spec.subtasks {
        let mut r = Rng::new(spec.seed ^ u64::from(spec.id), 1000 + i as u64);
        let word = r.pick(WORDS);
        let rel_n = 1 + r.below(5);
        subs.push(Sub {
            id: 100 * (i as u32 + 1),
            index: i,
            kind: kind_of(i),
            name: format!("{word}{}", spec.id % 997 + i as u32),
            version: format!("{}.{}.{}", 1 + r.below(9), r.below(20), r.below(10)),
            release: format!("alt{}", rel_n + 1),
            old_release: format!("alt{rel_n}"),
            created: t0 + 60 * (i as u32 + 1),
            user: if r.below(3) == 0 {
                *r.pick(PEOPLE)
            } else {
                owner
            },
            tag_id: r.hex(20),
            sid_hex: r.hex(20),
        });
    }
    let deleted_id = 100 * (spec.subtasks as u32 + 1);
    let g = Gen {
        spec,
        root: root.clone(),
        t0,
        owner,
        archs,
        subs,
        deleted_id,
    };
    let mut m = TaskManifest {
        dir: root.clone(),
        id: spec.id,
        state: spec.state.clone(),
        seed: spec.seed,
        task_try: g.tries() as u16,
        task_iter: u8::from(g.tries() > 0),
        changed: 0,
        runby: if g.is_new() {
            String::new()
        } else {
            owner.0.to_owned()
        },
        message: if matches!(spec.seed % 2, 0) {
            format!("build {}", g.subs[0].name)
        } else {
            String::new()
        },
        version: if g.is_new() {
            String::new()
        } else {
            g.tries().to_string()
        },
        depends: if spec.state == "POSTPONED" || spec.seed % 4 == 1 {
            vec![
                spec.id.saturating_sub(3).max(1),
                spec.id.saturating_sub(1).max(1),
            ]
        } else {
            Vec::new()
        },
        testonly: spec.state == "TESTED",
        failearly: matches!(spec.seed % 5, 0),
        shared: matches!(spec.seed % 3, 0),
        prev: if g.is_new() {
            0
        } else {
            spec.id.saturating_sub(1 + (spec.seed % 7) as u32).max(1)
        },
        repo: spec.repo.clone(),
        owner: owner.0.to_owned(),
        plan_loaded: false,
        subtasks: Vec::new(),
        iterations: Vec::new(),
        logs: Vec::new(),
        plan_packages: Vec::new(),
        plan_hashes: Vec::new(),
        approvals: Vec::new(),
        packages: Vec::new(),
        chroots: Vec::new(),
        file_requires: Vec::new(),
    };

    write_task_files(&g, &mut m)?;
    write_gears(&g, &mut m)?;
    let placed = if g.is_new() {
        Vec::new()
    } else {
        write_builds(&g, &mut m)?
    };
    if !g.is_new() {
        write_events(&g, &mut m)?;
        write_repo(&g, &m, &placed)?;
        write_plan(&g, &mut m, &placed)?;
    }
    write_approvals(&g, &mut m)?;
    // Delete subtasks get a stub iteration (no build directory).
    let build_ts = if g.is_new() {
        m.changed
    } else {
        g.builds_done(g.tries())
    };
    if !g.is_new() {
        set_mtime(&root.join("build"), build_ts)?;
    }
    for s in g.subs.iter().filter(|s| s.kind == "delete") {
        m.iterations.push(IterationRecord {
            subtask_id: s.id,
            arch: "x86_64".into(),
            ts: build_ts,
            status: "deleted".into(),
            srpm: None,
            rpms: Vec::new(),
            chroot_base: Vec::new(),
            chroot_br: Vec::new(),
            buildlog_key: None,
            srpmlog_key: None,
        });
    }
    // Packages in the loader's terms.
    let hash_of = |rel: &str| {
        placed
            .iter()
            .find(|p| p.rel == rel)
            .map(|p| p.pkg_hash)
            .unwrap_or(0)
    };
    let mut seen = BTreeSet::new();
    for it in m.iterations.clone() {
        let src = it.srpm.as_deref().map(hash_of).unwrap_or(0);
        for rel in it.srpm.iter().chain(it.rpms.iter()) {
            if !seen.insert(rel.clone()) {
                continue;
            }
            let Some(p) = placed.iter().find(|p| &p.rel == rel) else {
                continue;
            };
            m.packages
                .push(record(p, if p.source { p.pkg_hash } else { src }));
        }
    }
    for p in placed.iter().filter(|p| p.role == "arepo") {
        if seen.insert(p.rel.clone()) {
            m.packages.push(record(p, 0));
        }
    }
    // The -doc packages provide the file the main packages require.
    let mut reqs: Vec<(String, Vec<u64>)> = Vec::new();
    for s in g.subs.iter().filter(|s| s.builds()) {
        let path = doc_path(s);
        let hashes: Vec<u64> = m
            .packages
            .iter()
            .filter(|p| p.name == format!("{}-doc", s.name))
            .map(|p| p.pkg_hash)
            .collect();
        let required = m.packages.iter().any(|p| p.name == s.name && !p.source);
        if required && !hashes.is_empty() {
            reqs.push((path, hashes));
        }
    }
    m.file_requires = reqs;
    for it in &m.iterations {
        for c in [&it.chroot_base, &it.chroot_br] {
            if !c.is_empty() && !m.chroots.contains(c) {
                m.chroots.push(c.clone());
            }
        }
    }
    let mpath = TaskManifest::path_for(&root);
    let text = serde_json::to_string_pretty(&m).map_err(|e| TaskGenError::Manifest {
        path: mpath.clone(),
        why: e.to_string(),
    })?;
    fs::write(&mpath, text).map_err(io_err(&mpath))?;
    Ok(m)
}

fn record(p: &Placed, srcrpm_hash: u64) -> PackageRecord {
    PackageRecord {
        path: p.rel.clone(),
        file_name: p.pkg.file_name.clone(),
        pkg_hash: p.pkg_hash,
        name: p.name.clone(),
        source: p.source,
        role: p.role.into(),
        srcrpm_hash,
        md5: hexd(&p.digests, DigestAlgo::Md5),
        sha256: hexd(&p.digests, DigestAlgo::Sha256),
        blake2b: hexd(&p.digests, DigestAlgo::Blake2b512),
        sha1header: p.pkg.sha1_header.clone(),
        files: p.files,
    }
}

fn doc_path(s: &Sub) -> String {
    format!("/usr/share/doc/{}-doc/README", s.name)
}

fn write_task_files(g: &Gen<'_>, m: &mut TaskManifest) -> Result<(), TaskGenError> {
    let r = &g.root;
    let st = g.state_time();
    let t = |p: &str| r.join(p);
    put(&t("task/id"), format!("{}\n", g.spec.id).as_bytes(), g.t0)?;
    put(
        &t("task/owner"),
        format!("{}\n", g.owner.0).as_bytes(),
        g.t0,
    )?;
    put(
        &t("task/repo"),
        format!("{}\n", g.spec.repo).as_bytes(),
        g.t0,
    )?;
    put(
        &t("task/state"),
        format!("{}\n", g.spec.state).as_bytes(),
        st,
    )?;
    if g.tries() > 0 {
        let k = g.try_start(g.tries());
        put(&t("task/try"), format!("{}\n", g.tries()).as_bytes(), k)?;
        put(&t("task/iter"), b"1\n", k)?;
        put(&t("task/run"), format!("{}\n", m.runby).as_bytes(), k)?;
        put(&t("task/version"), format!("{}\n", m.version).as_bytes(), k)?;
    }
    if !m.message.is_empty() {
        put(
            &t("task/message"),
            format!("{}\n", m.message).as_bytes(),
            g.t0,
        )?;
    }
    if !m.depends.is_empty() {
        let text: String = m.depends.iter().map(|d| format!("{d}\n")).collect();
        put(&t("task/depends"), text.as_bytes(), g.t0)?;
    }
    if m.testonly {
        put(&t("task/test-only"), b"", g.t0)?;
    }
    if m.failearly {
        put(&t("task/fail-early"), b"", g.t0)?;
    }
    // info.json is newer than task/state for odd seeds.
    let info_t = if g.spec.seed % 2 == 1 {
        st + 30
    } else {
        st - 30
    };
    let info = serde_json::json!({
        "id": g.spec.id,
        "owner": g.owner.0,
        "repo": g.spec.repo,
        "shared": m.shared,
        "state": g.spec.state,
        "try": g.tries(),
        "iter": u8::from(g.tries() > 0),
    });
    put(&t("info.json"), info.to_string().as_bytes(), info_t)?;
    m.changed = st.max(info_t);
    Ok(())
}

fn write_gears(g: &Gen<'_>, m: &mut TaskManifest) -> Result<(), TaskGenError> {
    let base = g.root.join("gears");
    for s in &g.subs {
        let d = base.join(s.id.to_string());
        let t = s.created;
        put(&d.join("userid"), format!("{}\n", s.user.0).as_bytes(), t)?;
        let mut rec = SubtaskRecord {
            subtask_id: s.id,
            changed: t,
            deleted: false,
            userid: s.user.0.into(),
            dir: String::new(),
            package: String::new(),
            kind: s.kind.into(),
            pkg_from: String::new(),
            sid: String::new(),
            tag_author: String::new(),
            tag_id: String::new(),
            tag_name: String::new(),
            srpm: String::new(),
            srpm_name: String::new(),
            srpm_evr: String::new(),
        };
        match s.kind {
            "gear" => {
                let dir = format!("/gears/{}/{}.git", &s.name[..1], s.name);
                let author = format!("{} <{}@altlinux.org>", s.user.1, s.user.0);
                put(&d.join("dir"), format!("{dir}\n").as_bytes(), t)?;
                put(&d.join("tag_name"), format!("{}\n", s.evr()).as_bytes(), t)?;
                put(&d.join("tag_id"), format!("{}\n", s.tag_id).as_bytes(), t)?;
                put(&d.join("tag_author"), format!("{author}\n").as_bytes(), t)?;
                put(&d.join("sid"), format!("gear:{}\n", s.tag_id).as_bytes(), t)?;
                put(
                    &d.join("nevr"),
                    format!("{}\t{}\n", s.name, s.evr()).as_bytes(),
                    t,
                )?;
                rec.dir = dir;
                rec.tag_name = s.evr();
                rec.tag_id = s.tag_id.clone();
                rec.tag_author = author;
                rec.sid = s.tag_id.clone();
                rec.srpm_name = s.name.clone();
                rec.srpm_evr = s.evr();
            }
            "srpm" => {
                let file = format!("{}-{}.src.rpm", s.name, s.evr());
                put(&d.join("srpm"), format!("{file}\n").as_bytes(), t)?;
                put(
                    &d.join("sid"),
                    format!("srpm:{}\n", s.sid_hex).as_bytes(),
                    t,
                )?;
                put(
                    &d.join("nevr"),
                    format!("{}\t{}\n", s.name, s.evr()).as_bytes(),
                    t,
                )?;
                rec.srpm = file;
                rec.sid = s.sid_hex.clone();
                rec.srpm_name = s.name.clone();
                rec.srpm_evr = s.evr();
            }
            "delete" => {
                put(&d.join("package"), format!("{}\n", s.name).as_bytes(), t)?;
                rec.package = s.name.clone();
            }
            "copy" => {
                put(&d.join("package"), format!("{}\n", s.name).as_bytes(), t)?;
                put(&d.join("copy_repo"), b"p10\n", t)?;
                rec.package = s.name.clone();
                rec.pkg_from = "p10".into();
            }
            "rebuild" => {
                put(&d.join("package"), format!("{}\n", s.name).as_bytes(), t)?;
                put(
                    &d.join("rebuild_from"),
                    format!("{}\n", g.spec.repo).as_bytes(),
                    t,
                )?;
                rec.package = s.name.clone();
                rec.pkg_from = g.spec.repo.clone();
            }
            _ => {}
        }
        set_mtime(&d, t)?;
        m.subtasks.push(rec);
    }
    // The deleted subtask: girar removed everything but who added it.
    let d = base.join(g.deleted_id.to_string());
    let t = g.t0 + 60 * (g.subs.len() as u32 + 1);
    let hex = Rng::new(g.spec.seed, 77).hex(20);
    put(&d.join("userid"), format!("{}\n", g.owner.0).as_bytes(), t)?;
    put(&d.join("sid"), format!("gear:{hex}\n").as_bytes(), t)?;
    // Deleted later than it was created.
    set_mtime(&d, t + 30)?;
    m.subtasks.push(SubtaskRecord {
        subtask_id: g.deleted_id,
        changed: t + 30,
        deleted: true,
        userid: g.owner.0.into(),
        dir: String::new(),
        package: String::new(),
        kind: "unknown".into(),
        pkg_from: String::new(),
        sid: hex,
        tag_author: String::new(),
        tag_id: String::new(),
        tag_name: String::new(),
        srpm: String::new(),
        srpm_name: String::new(),
        srpm_evr: String::new(),
    });
    Ok(())
}

/// The chroot lists: a per-arch base set and per-subtask build requirements.
fn chroot_lines(g: &Gen<'_>, arch: &str, extra: Option<&Sub>) -> (String, Vec<u64>) {
    let mut text = String::new();
    let mut hashes = Vec::new();
    let base = [
        "bash",
        "coreutils",
        "glibc-core",
        "rpm-build",
        "gcc",
        "make",
        "sed",
        "tar",
    ];
    let mut names: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    if let Some(s) = extra {
        let mut r = Rng::new(g.spec.seed, 5000 + s.index as u64);
        for _ in 0..2 + r.below(4) {
            names.push(format!("lib{}-devel", r.pick(WORDS)));
        }
    }
    for n in names {
        // The SHA1 field: stable per (package, arch), so chroots repeat across tasks.
        let d = digest_bytes(format!("{n}\0{arch}").as_bytes(), &[DigestAlgo::Sha1]);
        let sha1 = d.sha1.unwrap_or_default();
        text.push_str(&format!(
            "{n}-1.0-alt1.{arch}.rpm\t1.0-alt1\t{arch}\t{}\n",
            hex::encode(sha1)
        ));
        hashes.push(mmhash(&sha1));
    }
    (text, hashes)
}

fn changelog_text(s: &Sub, evr: &str, t: u32) -> ChangelogEntry {
    ChangelogEntry::new(
        t - t % 86_400 + 43_200,
        format!("{} <{}@altlinux.org> {evr}", s.user.1, s.user.0),
        format!(
            "- Updated to {}.\n- Fixed build with the new toolchain.",
            s.version
        ),
    )
}

fn build_pkg(b: PackageBuilder) -> Result<(BuiltPackage, u64), TaskGenError> {
    let name = b.file_name();
    let pkg = b.build_package().map_err(|e| TaskGenError::Package {
        package: name.clone(),
        why: e.to_string(),
    })?;
    let h = Package::parse(&pkg.bytes)
        .and_then(|p| p.header().pkg_hash())
        .map_err(|e| TaskGenError::Package {
            package: name,
            why: e.to_string(),
        })?;
    Ok((pkg, h))
}

fn placed(
    rel: String,
    pkg: BuiltPackage,
    pkg_hash: u64,
    name: &str,
    source: bool,
    role: &'static str,
    files: usize,
) -> Placed {
    let digests = digest_bytes(
        &pkg.bytes,
        &[DigestAlgo::Md5, DigestAlgo::Sha256, DigestAlgo::Blake2b512],
    );
    Placed {
        rel,
        pkg,
        pkg_hash,
        name: name.to_owned(),
        source,
        role,
        files,
        digests,
    }
}

/// The packages of subtask `s` built on `arch` at `bt`: source, arch package, noarch doc.
fn packages_for(
    g: &Gen<'_>,
    s: &Sub,
    arch: &str,
    bt: u32,
) -> Result<Vec<(BuiltPackage, u64, String, usize)>, TaskGenError> {
    let packager = format!("{} <{}@altlinux.org>", s.user.1, s.user.0);
    let disttag = format!("{}+{}.{}.1.1", g.spec.repo, g.spec.id, s.id);
    let host = format!("{arch}-build{}.hasher.altlinux.org", s.index % 4 + 1);
    let common = |b: PackageBuilder| {
        b.packager(packager.clone())
            .disttag(disttag.clone())
            .buildhost(host.clone())
            .buildtime(bt)
            .vendor("ALT Linux Team")
            .distribution("ALT Linux")
            .license("GPLv2+")
            .group("Development/Other")
            .url(format!("https://example.invalid/{}", s.name))
            .changelog(changelog_text(s, &s.evr(), bt))
            .changelog(ChangelogEntry::new(
                bt - 86_400 * 40,
                format!(
                    "{} <{}@altlinux.org> {}-{}",
                    s.user.1, s.user.0, s.version, s.old_release
                ),
                "- Initial build for ALT.".to_owned(),
            ))
    };
    let spec = format!(
        "Name: {}\nVersion: {}\nRelease: {}\nSummary: {} tools\nLicense: GPLv2+\nGroup: Development/Other\n\n%description\n{} tools.\n\n%files\n/usr/bin/{}\n\n%changelog\n",
        s.name, s.version, s.release, s.name, s.name, s.name
    );
    let src = common(PackageBuilder::new_source(
        &s.name, &s.version, &s.release, arch,
    ))
    .summary(format!("{} tools", s.name))
    .spec_file(format!("{}.spec", s.name), spec.into_bytes())
    .source_file(
        format!("{}-{}.tar", s.name, s.version),
        format!("{} {} sources\n", s.name, s.version).into_bytes(),
    );
    let (srpm, sh) = build_pkg(src)?;
    let srpm_name = srpm.file_name.clone();
    let doc_name = format!("{}-doc", s.name);
    let bin = common(PackageBuilder::new(&s.name, &s.version, &s.release, arch))
        .summary(format!("{} tools", s.name))
        .sourcerpm(srpm_name.clone())
        .file(FileSpec::dir(format!("/usr/share/{}", s.name)))
        .file(
            FileSpec::file(
                format!("/usr/bin/{}", s.name),
                format!("#!/bin/sh\necho {} {arch} {bt}\n", s.name).into_bytes(),
            )
            .mode(0o755),
        )
        .file(FileSpec::file(
            format!("/usr/share/{}/data.txt", s.name),
            format!("{} data\n", s.name).into_bytes(),
        ))
        .file(FileSpec::symlink(
            format!("/usr/share/{}/README", s.name),
            format!("../doc/{doc_name}/README"),
        ))
        .requires(Dependency::any("/bin/sh"))
        .requires(Dependency::any(doc_path(s)));
    let (bin, bh) = build_pkg(bin)?;
    let doc = common(PackageBuilder::new(
        &doc_name, &s.version, &s.release, "noarch",
    ))
    .summary(format!("Documentation for {}", s.name))
    .sourcerpm(srpm_name)
    // FILECLASS/CLASSDICT as current rpmbuild writes them: no class string for directories
    // and symbolic links (librpm then reports one from the file mode).
    .file_classes(true)
    .file(FileSpec::dir(format!("/usr/share/doc/{doc_name}")).class(""))
    .file(
        FileSpec::symlink(
            format!("/usr/share/doc/{doc_name}/LICENSE"),
            "../../licenses/GPL-2",
        )
        .class(""),
    )
    .file(
        FileSpec::file(
            doc_path(s),
            format!("{} documentation, built on {arch} at {bt}\n", s.name).into_bytes(),
        )
        .doc(),
    );
    let (doc, dh) = build_pkg(doc)?;
    Ok(vec![
        (srpm, sh, s.name.clone(), 2),
        (bin, bh, s.name.clone(), 4),
        (doc, dh, doc_name, 3),
    ])
}

fn write_log(
    path: &Path,
    lines: &[(Option<String>, String)],
    mtime: u32,
) -> Result<(), TaskGenError> {
    let mut text = String::new();
    for (stamp, msg) in lines {
        match stamp {
            Some(s) => text.push_str(&format!("{s} {msg}\n")),
            None => text.push_str(&format!("{msg}\n")),
        }
    }
    put(path, text.as_bytes(), mtime)
}

/// `build/<n>/<arch>/` of the last try, with packages and logs.
fn write_builds(g: &Gen<'_>, m: &mut TaskManifest) -> Result<Vec<Placed>, TaskGenError> {
    let k = g.tries();
    let outcome = g.outcome(k);
    let mut out = Vec::new();
    let key_base =
        |kind: &str, s: &Sub, arch: &str| format!("{kind}{}{}{}1{arch}", g.spec.id, s.id, k);
    for s in g.subs.iter().filter(|s| s.builds()) {
        let mut src_rel: Option<String> = None;
        let mut iters = Vec::new();
        for (j, arch) in g.archs.iter().enumerate() {
            let (start, end) = g.build_time(k, s.index, j);
            let ad_rel = format!("build/{}/{arch}", s.id);
            let ad = g.root.join(&ad_rel);
            let fails = g.fails(outcome, s.index, j);
            let (base_text, base) = chroot_lines(g, arch, None);
            let (br_text, br) = chroot_lines(g, arch, Some(s));
            put(&ad.join("chroot_base"), base_text.as_bytes(), start)?;
            put(&ad.join("chroot_BR"), br_text.as_bytes(), start)?;
            // srpm.log: syslog stamps, year from the file's mtime.
            let srpm_lines = vec![
                (
                    Some(syslog_date(start)),
                    format!("hasher-privd[{}]: session started", 1000 + j),
                ),
                (None, format!("Installing {}-{}.src.rpm", s.name, s.evr())),
                (
                    Some(syslog_date(start + 5)),
                    "rpmbuild: -bs done".to_owned(),
                ),
            ];
            write_log(&ad.join("srpm.log"), &srpm_lines, start + 30)?;
            let mut build_lines = vec![
                (
                    Some("[00:00:01]".to_owned()),
                    format!("hasher: building {} on {arch}", s.name),
                ),
                (None, "checking for gcc... gcc".to_owned()),
                (
                    Some("[00:00:42]".to_owned()),
                    "make: Entering directory".to_owned(),
                ),
            ];
            build_lines.push(if fails {
                (
                    Some("[00:01:30]".to_owned()),
                    "error: Bad exit status from /usr/src/tmp/rpm-tmp (%build)".to_owned(),
                )
            } else {
                (Some("[00:01:30]".to_owned()), "Wrote: packages".to_owned())
            });
            write_log(&ad.join("log"), &build_lines, end)?;
            let mut rpms = Vec::new();
            if !fails {
                let bt = start + 20;
                for (pkg, h, name, files) in packages_for(g, s, arch, bt)? {
                    let source = pkg.file_name.ends_with(".src.rpm");
                    let rel = format!(
                        "{ad_rel}/{}/{}",
                        if source { "srpm" } else { "rpms" },
                        pkg.file_name
                    );
                    put(&g.root.join(&rel), &pkg.bytes, bt + 60)?;
                    if source {
                        src_rel.get_or_insert(rel.clone());
                    } else {
                        rpms.push(rel.clone());
                    }
                    out.push(placed(
                        rel,
                        pkg,
                        h,
                        &name,
                        source,
                        if source { "source" } else { "binary" },
                        files,
                    ));
                }
                mkdirs(&ad.join("srpm"))?;
            } else {
                mkdirs(&ad.join("srpm"))?;
                mkdirs(&ad.join("rpms"))?;
            }
            rpms.sort();
            put(
                &ad.join("status"),
                if fails { b"failed\n" } else { b"built\n" },
                end,
            )?;
            let status = if fails { "failed" } else { "built" };
            let logs: Vec<LogRecord> = [("build", "log"), ("srpm", "srpm.log")]
                .iter()
                .map(|(kind, file)| {
                    let key = key_base(kind, s, arch);
                    let (lines, mtime) = if *kind == "build" {
                        (&build_lines, end)
                    } else {
                        (&srpm_lines, start + 30)
                    };
                    LogRecord {
                        kind: kind.to_string(),
                        path: format!("{ad_rel}/{file}"),
                        hash: mmhash(key.as_bytes()),
                        key,
                        lines: expected_lines(kind, lines, mtime),
                    }
                })
                .collect();
            iters.push(IterationRecord {
                subtask_id: s.id,
                arch: arch.clone(),
                ts: end,
                status: status.into(),
                srpm: None,
                rpms,
                chroot_base: base,
                chroot_br: br,
                buildlog_key: Some(logs[0].key.clone()),
                srpmlog_key: Some(logs[1].key.clone()),
            });
            m.logs.extend(logs);
        }
        for it in &mut iters {
            it.srpm = src_rel.clone();
        }
        m.iterations.extend(iters);
    }
    // arepo: i586 compat libraries for x86_64 systems.
    if g.archs.iter().any(|a| a == "x86_64") && g.archs.iter().any(|a| a == "i586") {
        for s in g.subs.iter().filter(|s| s.builds()) {
            let j = g.archs.iter().position(|a| a == "i586").unwrap_or(0);
            if g.fails(outcome, s.index, j) {
                continue;
            }
            let (start, _) = g.build_time(k, s.index, j);
            let name = format!("i586-{}", s.name);
            let b = PackageBuilder::new(&name, &s.version, &s.release, "i586")
                .packager(format!("{} <{}@altlinux.org>", s.user.1, s.user.0))
                .buildhost("x86_64-i586.hasher.altlinux.org")
                .buildtime(start + 200)
                .sourcerpm(format!("{}-{}.src.rpm", s.name, s.evr()))
                .summary(format!("{} for i586 compat", s.name))
                .file(FileSpec::file(
                    format!("/usr/lib/{}/compat.txt", s.name),
                    b"compat\n".to_vec(),
                ));
            let (pkg, h) = build_pkg(b)?;
            let rel = format!("arepo/x86_64-i586/rpms/{}", pkg.file_name);
            put(&g.root.join(&rel), &pkg.bytes, start + 260)?;
            out.push(placed(rel, pkg, h, &name, false, "arepo", 1));
        }
    }
    Ok(out)
}

/// What the loader must read from a log written by [`write_log`].
fn expected_lines(
    kind: &str,
    lines: &[(Option<String>, String)],
    mtime: u32,
) -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    let mut last = mtime;
    for (i, (stamp, msg)) in lines.iter().enumerate() {
        let ts = match (kind, stamp) {
            ("build", Some(s)) => {
                let p: Vec<u32> = s
                    .trim_matches(['[', ']'])
                    .split(':')
                    .filter_map(|x| x.parse().ok())
                    .collect();
                mtime + p[0] * 3600 + p[1] * 60 + p[2]
            }
            ("build", None) => mtime,
            (_, Some(s)) => parse_stamp(kind, s, mtime),
            (_, None) => last,
        };
        last = ts;
        // The text after the stamp, as the line was written.
        let rest = match stamp {
            Some(_) => format!(" {msg}"),
            None => msg.clone(),
        };
        let message = if kind == "events" {
            rest.rsplit(" :: ")
                .next()
                .unwrap_or(&rest)
                .trim()
                .to_owned()
        } else {
            rest.trim().to_owned()
        };
        out.push((i as u32 + 1, ts, message));
    }
    out
}

/// The timestamp of a stamp this module wrote (events: `YYYY-Mon-DD HH:MM:SS`; srpm:
/// `<13>Mon DD HH:MM:SS` in the year of `mtime`).
fn parse_stamp(kind: &str, s: &str, mtime: u32) -> u32 {
    let (y, mo, d, time) = if kind == "events" {
        let (date, time) = s.split_once(' ').unwrap_or((s, ""));
        let p: Vec<&str> = date.split('-').collect();
        let mo = MONTHS.iter().position(|m| *m == p[1]).unwrap_or(0) as u32 + 1;
        (
            p[0].parse().unwrap_or(1970),
            mo,
            p[2].parse().unwrap_or(1),
            time,
        )
    } else {
        let rest = &s[4..];
        let mo = MONTHS.iter().position(|m| *m == &rest[..3]).unwrap_or(0) as u32 + 1;
        let mut it = rest[3..].split_whitespace();
        let d = it.next().and_then(|x| x.parse().ok()).unwrap_or(1);
        (civil(mtime).0, mo, d, it.next().unwrap_or(""))
    };
    let t: Vec<u32> = time.split(':').filter_map(|x| x.parse().ok()).collect();
    (days_from_civil(y, mo, d).unwrap_or(0) * 86_400) as u32 + t[0] * 3600 + t[1] * 60 + t[2]
}

/// `logs/events.<k>.1.log` for every try.
fn write_events(g: &Gen<'_>, m: &mut TaskManifest) -> Result<(), TaskGenError> {
    for k in 1..=g.tries() {
        let outcome = g.outcome(k);
        let ks = g.try_start(k);
        let mut lines: Vec<(Option<String>, String)> = vec![(
            Some(girar_date(ks)),
            format!(
                ":: task #{} for {} resumed by {}:",
                g.spec.id, g.spec.repo, g.owner.0
            ),
        )];
        for s in g.subs.iter().filter(|s| s.builds()) {
            lines.push((
                None,
                format!(" #{} build {} from {}", s.id, s.evr(), s.name),
            ));
        }
        for s in &g.subs {
            if s.kind == "delete" {
                lines.push((None, format!(" #{} delete {}", s.id, s.name)));
            }
        }
        let mut failed = false;
        for s in g.subs.iter().filter(|s| s.builds()) {
            for (j, arch) in g.archs.iter().enumerate() {
                let (start, end) = g.build_time(k, s.index, j);
                lines.push((
                    Some(girar_date(start)),
                    format!(":: [{arch}] #{} {} {}: build start", s.id, s.name, s.evr()),
                ));
                if g.fails(outcome, s.index, j) {
                    failed = true;
                    lines.push((
                        Some(girar_date(end)),
                        format!(":: [{arch}] #{} {} {}: build FAILED", s.id, s.name, s.evr()),
                    ));
                    lines.push((
                        None,
                        format!("error: {}.spec: build failed on {arch}", s.name),
                    ));
                } else {
                    lines.push((
                        Some(girar_date(end)),
                        format!(":: [{arch}] #{} {} {}: build OK", s.id, s.name, s.evr()),
                    ));
                }
            }
        }
        let done = g.builds_done(k);
        if failed {
            lines.push((
                Some(girar_date(done)),
                format!(":: task #{} for {} FAILED", g.spec.id, g.spec.repo),
            ));
        } else {
            lines.push((
                Some(girar_date(done)),
                ":: plan: computing package lists".to_owned(),
            ));
            let p = g.plan_time();
            lines.push((
                Some(girar_date(p)),
                format!(":: plan: +{} -{} packages", 3 * g.subs.len(), g.subs.len()),
            ));
            match g.spec.state.as_str() {
                "EPERM" | "DONE" => {
                    lines.push((
                        Some(girar_date(p + 100)),
                        format!(":: task #{} for {} EPERM", g.spec.id, g.spec.repo),
                    ));
                    if g.spec.state == "DONE" {
                        lines.push((
                            Some(girar_date(p + 1500)),
                            ":: acl: approved by carol".to_owned(),
                        ));
                        lines.push((Some(girar_date(p + 1900)), ":: repo: committed".to_owned()));
                        lines.push((
                            Some(girar_date(p + 2000)),
                            format!(":: task #{} for {} DONE", g.spec.id, g.spec.repo),
                        ));
                    }
                }
                other => lines.push((
                    Some(girar_date(p + 150)),
                    format!(":: task #{} for {} {other}", g.spec.id, g.spec.repo),
                )),
            }
        }
        let rel = format!("logs/events.{k}.1.log");
        let path = g.root.join(&rel);
        let mtime = lines
            .iter()
            .filter_map(|(s, _)| s.as_deref().map(|s| parse_stamp("events", s, 0)))
            .max()
            .unwrap_or(ks);
        write_log(&path, &lines, mtime)?;
        let key = format!("events{}{k}1", g.spec.id);
        m.logs.push(LogRecord {
            kind: "events".into(),
            path: rel,
            hash: mmhash(key.as_bytes()),
            key,
            lines: expected_lines("events", &lines, mtime),
        });
    }
    Ok(())
}

/// `build/repo/<arch>/base/pkglist.task.xz`, `RPMS.task/` and `build/repo/prev`.
fn write_repo(g: &Gen<'_>, m: &TaskManifest, placed: &[Placed]) -> Result<(), TaskGenError> {
    let repo = g.root.join("build/repo");
    let t = g.builds_done(g.tries());
    for arch in &g.archs {
        let mut list = Vec::new();
        let dir = repo.join(arch).join("RPMS.task");
        mkdirs(&dir)?;
        for p in placed
            .iter()
            .filter(|p| p.role == "binary" && p.rel.contains(&format!("/{arch}/rpms/")))
        {
            let rec = apt_header_record(
                &p.pkg.header,
                &AptIndex::for_file(p.pkg.file_name.clone(), &p.pkg.bytes, Some("RPMS.task")),
                AptLayout::Flat,
            )
            .map_err(|e| TaskGenError::Package {
                package: p.pkg.file_name.clone(),
                why: e.to_string(),
            })?;
            list.extend_from_slice(&rec);
            put(&dir.join(&p.pkg.file_name), &p.pkg.bytes, t)?;
        }
        put(&repo.join(arch).join("base/pkglist.task.xz"), &xz(&list), t)?;
    }
    #[cfg(unix)]
    {
        let link = repo.join("prev");
        std::os::unix::fs::symlink(format!("/ALT/repo/{}/task/{}", g.spec.repo, m.prev), &link)
            .map_err(io_err(&link))?;
    }
    Ok(())
}

/// `plan/` (fresh, or stale for FAILED tasks).
fn write_plan(g: &Gen<'_>, m: &mut TaskManifest, placed: &[Placed]) -> Result<(), TaskGenError> {
    let k = g.tries();
    let id = g.spec.id;
    let plan = g.root.join("plan");
    let stale = g.spec.state == "FAILED";
    let pt = if stale {
        g.try_start(k) - 50
    } else {
        g.plan_time()
    };
    let (mut add_src, mut add_bin, mut rm_src, mut rm_bin) =
        (String::new(), String::new(), String::new(), String::new());
    let mut lists: std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> =
        Default::default();
    let mut hashes: std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> =
        Default::default();
    let mut rows: Vec<PlanPackageRecord> = Vec::new();
    let mut hrows: Vec<PlanHashRecord> = Vec::new();
    let phash = |arch: &str| mmhash(format!("{id}{k}1{arch}").as_bytes());
    let mut rng = Rng::new(g.spec.seed ^ u64::from(id), 9000);
    let first_arch = g.archs[0].clone();
    for s in &g.subs {
        let old_evr = format!("{}-{}", s.version, s.old_release);
        let srpm_file = format!("{}-{}.src.rpm", s.name, s.evr());
        let old_srpm = format!("{}-{old_evr}.src.rpm", s.name);
        let mut removed: Vec<(String, String, String, String, String)> = Vec::new(); // arch, name, evr, file, srpm
        if s.builds() {
            // The source package: the one from the first arch that built it.
            if let Some(p) = placed
                .iter()
                .find(|p| p.source && p.rel.starts_with(&format!("build/{}/", s.id)))
            {
                add_src.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    s.name,
                    s.evr(),
                    srpm_file,
                    p.rel,
                    s.id
                ));
                lists.entry("src".into()).or_default().0.push(format!(
                    "+{}\t{}\t{}",
                    s.name,
                    s.evr(),
                    srpm_file
                ));
                hashes.entry("src".into()).or_default().0.push(format!(
                    "+{}  {srpm_file}",
                    hexd(&p.digests, DigestAlgo::Sha256)
                ));
                rows.push(PlanPackageRecord {
                    hash: phash("src"),
                    action: "add".into(),
                    name: s.name.clone(),
                    evr: s.evr(),
                    bin_file: srpm_file.clone(),
                    src_file: srpm_file.clone(),
                    arch: "src".into(),
                    comp: String::new(),
                    subtask: s.id,
                });
                hrows.push(PlanHashRecord {
                    hash: phash("src"),
                    action: "add".into(),
                    sha256: hexd(&p.digests, DigestAlgo::Sha256),
                });
            }
            for p in placed
                .iter()
                .filter(|p| p.role == "binary" && p.rel.starts_with(&format!("build/{}/", s.id)))
            {
                let noarch = p.pkg.file_name.ends_with(".noarch.rpm");
                let build_arch = p.rel.split('/').nth(2).unwrap_or_default().to_owned();
                // One noarch file goes to the branch: the first arch's.
                if noarch && build_arch != first_arch {
                    continue;
                }
                let arch = if noarch {
                    "noarch".to_owned()
                } else {
                    build_arch
                };
                add_bin.push_str(&format!(
                    "{}\t{}\t{arch}\t{}\t{}\t{}\tclassic\n",
                    p.name,
                    s.evr(),
                    p.pkg.file_name,
                    p.rel,
                    s.id
                ));
                lists.entry(arch.clone()).or_default().0.push(format!(
                    "+{}\t{}\t{arch}\t{}\t{srpm_file}",
                    p.name,
                    s.evr(),
                    p.pkg.file_name
                ));
                hashes.entry(arch.clone()).or_default().0.push(format!(
                    "+{}  {}",
                    hexd(&p.digests, DigestAlgo::Sha256),
                    p.pkg.file_name
                ));
                rows.push(PlanPackageRecord {
                    hash: phash(&arch),
                    action: "add".into(),
                    name: p.name.clone(),
                    evr: s.evr(),
                    bin_file: p.pkg.file_name.clone(),
                    src_file: srpm_file.clone(),
                    arch: arch.clone(),
                    comp: "classic".into(),
                    subtask: s.id,
                });
                hrows.push(PlanHashRecord {
                    hash: phash(&arch),
                    action: "add".into(),
                    sha256: hexd(&p.digests, DigestAlgo::Sha256),
                });
                let old_file = format!(
                    "{}-{old_evr}.{}.rpm",
                    p.name,
                    if noarch { "noarch" } else { arch.as_str() }
                );
                removed.push((
                    arch.clone(),
                    p.name.clone(),
                    old_evr.clone(),
                    old_file,
                    old_srpm.clone(),
                ));
            }
            if s.kind != "srpm" {
                // Upgrades replace the old version.
                removed.push((
                    "src".into(),
                    s.name.clone(),
                    old_evr.clone(),
                    old_srpm.clone(),
                    old_srpm.clone(),
                ));
            } else {
                removed.clear();
            }
        } else {
            // delete: the package leaves the branch.
            removed.push((
                "src".into(),
                s.name.clone(),
                old_evr.clone(),
                old_srpm.clone(),
                old_srpm.clone(),
            ));
            for arch in &g.archs {
                removed.push((
                    arch.clone(),
                    s.name.clone(),
                    old_evr.clone(),
                    format!("{}-{old_evr}.{arch}.rpm", s.name),
                    old_srpm.clone(),
                ));
            }
        }
        for (arch, name, evr, file, srpm) in removed {
            let sha = rng.hex(32);
            if arch == "src" {
                rm_src.push_str(&format!("{name}\t{evr}\t{file}\n"));
                lists
                    .entry("src".into())
                    .or_default()
                    .1
                    .push(format!("-{name}\t{evr}\t{file}"));
            } else {
                rm_bin.push_str(&format!("{name}\t{evr}\t{arch}\t{file}\tclassic\n"));
                lists
                    .entry(arch.clone())
                    .or_default()
                    .1
                    .push(format!("-{name}\t{evr}\t{arch}\t{file}\t{srpm}"));
            }
            hashes
                .entry(arch.clone())
                .or_default()
                .1
                .push(format!("-{sha}  {file}"));
            rows.push(PlanPackageRecord {
                hash: phash(&arch),
                action: "delete".into(),
                name,
                evr,
                bin_file: file,
                src_file: if arch == "src" { srpm.clone() } else { srpm },
                arch: arch.clone(),
                comp: if arch == "src" {
                    String::new()
                } else {
                    "classic".into()
                },
                subtask: 0,
            });
            hrows.push(PlanHashRecord {
                hash: phash(&arch),
                action: "delete".into(),
                sha256: sha,
            });
        }
    }
    // arepo packages are planned as x86_64-i586.
    for p in placed.iter().filter(|p| p.role == "arepo") {
        let s = g.subs.iter().find(|s| p.name == format!("i586-{}", s.name));
        let (evr, sub, srpm) = s
            .map(|s| (s.evr(), s.id, format!("{}-{}.src.rpm", s.name, s.evr())))
            .unwrap_or_default();
        let arch = "x86_64-i586";
        add_bin.push_str(&format!(
            "{}\t{evr}\t{arch}\t{}\t{}\t{sub}\tclassic\n",
            p.name, p.pkg.file_name, p.rel
        ));
        lists.entry(arch.into()).or_default().0.push(format!(
            "+{}\t{evr}\t{arch}\t{}\t{srpm}",
            p.name, p.pkg.file_name
        ));
        hashes.entry(arch.into()).or_default().0.push(format!(
            "+{}  {}",
            hexd(&p.digests, DigestAlgo::Sha256),
            p.pkg.file_name
        ));
        rows.push(PlanPackageRecord {
            hash: phash(arch),
            action: "add".into(),
            name: p.name.clone(),
            evr,
            bin_file: p.pkg.file_name.clone(),
            src_file: srpm,
            arch: arch.into(),
            comp: "classic".into(),
            subtask: sub,
        });
        hrows.push(PlanHashRecord {
            hash: phash(arch),
            action: "add".into(),
            sha256: hexd(&p.digests, DigestAlgo::Sha256),
        });
    }
    put(&plan.join("add-src"), add_src.as_bytes(), pt)?;
    put(&plan.join("add-bin"), add_bin.as_bytes(), pt)?;
    put(&plan.join("rm-src"), rm_src.as_bytes(), pt)?;
    put(&plan.join("rm-bin"), rm_bin.as_bytes(), pt)?;
    for (arch, (plus, minus)) in &lists {
        let mut text = format!(
            "--- {arch}.list.orig\n+++ {arch}.list\n@@ -1,{} +1,{} @@\n",
            minus.len(),
            plus.len()
        );
        for l in minus.iter().chain(plus.iter()) {
            text.push_str(l);
            text.push('\n');
        }
        put(&plan.join(format!("{arch}.list.diff")), text.as_bytes(), pt)?;
    }
    for (arch, (plus, minus)) in &hashes {
        let mut text = format!("--- {arch}.hash.orig\n+++ {arch}.hash\n");
        for l in minus.iter().chain(plus.iter()) {
            text.push_str(l);
            text.push('\n');
        }
        put(&plan.join(format!("{arch}.hash.diff")), text.as_bytes(), pt)?;
    }
    set_mtime(&plan, pt)?;
    m.plan_loaded = !stale;
    if m.plan_loaded {
        rows.sort();
        rows.dedup();
        hrows.sort();
        hrows.dedup();
        m.plan_packages = rows;
        m.plan_hashes = hrows;
    }
    Ok(())
}

/// Approvals: alice on the first subtask (which has no `acl/disapproved` directory: the
/// original never saw it); EPERM also has bob's approval and dave's disapproval of the
/// second subtask, later states carol's approval instead.
fn write_approvals(g: &Gen<'_>, m: &mut TaskManifest) -> Result<(), TaskGenError> {
    let st = g.spec.state.as_str();
    if matches!(st, "NEW" | "FAILED") {
        return Ok(());
    }
    let p = if g.tries() > 0 { g.plan_time() } else { g.t0 };
    let mut files: Vec<(u32, bool, &str, u32, &str)> =
        vec![(g.subs[0].id, false, "alice", p + 20, "")];
    if let Some(s1) = g.subs.get(1) {
        if st == "EPERM" {
            files.push((s1.id, false, "bob", p + 30, "looks fine to me"));
            files.push((
                s1.id,
                true,
                "dave",
                p + 40,
                "please split the patch\ninto two",
            ));
        } else {
            files.push((s1.id, false, "carol", p + 1500, "ok"));
        }
    }
    for (sub, dis, nick, date, msg) in files {
        let dir = if dis {
            "acl/disapproved"
        } else {
            "acl/approved"
        };
        let path = g.root.join(dir).join(sub.to_string()).join(nick);
        let verb = if dis { "disapproved" } else { "approved" };
        let mut text = format!("{} :: {verb} by {nick}\n", girar_date(date));
        if !msg.is_empty() {
            text.push_str(msg);
            text.push('\n');
        }
        put(&path, text.as_bytes(), date)?;
        m.approvals.push(ApprovalRecord {
            subtask_id: sub,
            kind: if dis { "disapprove" } else { "approve" }.into(),
            name: nick.into(),
            date,
            message: msg.into(),
        });
    }
    m.approvals.sort();
    Ok(())
}

/// Writes the tasks of `count` specs made from `base` (ids `base.id`, `base.id + 1`, …,
/// seeds `base.seed + i`, states cycling through DONE, EPERM, TESTED, FAILED) under `out`.
pub fn generate_tasks(
    out: &Path,
    base: &TaskSpec,
    count: usize,
) -> Result<Vec<TaskManifest>, TaskGenError> {
    let states = ["DONE", "EPERM", "TESTED", "FAILED"];
    (0..count)
        .map(|i| {
            let spec = TaskSpec {
                id: base.id + i as u32,
                seed: base.seed + i as u64,
                state: states[i % states.len()].into(),
                ..base.clone()
            };
            generate_task(out, &spec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_render_as_girar_writes_them() {
        assert_eq!(girar_date(1_589_538_600), "2020-May-15 10:30:00");
        assert_eq!(syslog_date(1_589_538_600), "<13>May 15 10:30:00");
        assert_eq!(
            parse_stamp("events", "2020-May-15 10:30:00", 0),
            1_589_538_600
        );
        assert_eq!(
            parse_stamp("srpm", "<13>May 15 10:30:00", 1_589_538_600),
            1_589_538_600
        );
    }

    #[test]
    fn same_seed_same_bytes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let spec = TaskSpec {
            subtasks: 2,
            ..TaskSpec::default()
        };
        let ma = generate_task(a.path(), &spec).unwrap();
        let mb = generate_task(b.path(), &spec).unwrap();
        assert_eq!(ma.packages, mb.packages);
        assert_eq!(ma.logs, mb.logs);
        assert!(!ma.packages.is_empty());
    }
}
