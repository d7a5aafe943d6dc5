//! Rows step of the task loader: a [`Task`] (plus the hashes of its package files) mapped
//! onto the task tables' rows. Pure.

use std::collections::HashMap;

use altrepodb_db::rows_task::{
    ApprovalType, PlanAction, TaskApprovalsRow, TaskChrootsRow, TaskIterationsRow,
    TaskPlanPackagesRow, TaskPlanPkgHashRow, TaskProgressRow, TaskStatesRow,
    TaskSubtaskProgressRow, TasksRow,
};

use super::hash::chroot_hash;
use super::model::{Subtask, Task};
use super::parse::LogKind;

/// The `TaskStates` row.
pub fn state_row(t: &Task) -> TaskStatesRow {
    let s = &t.state;
    TaskStatesRow {
        task_changed: s.changed,
        task_id: s.task_id,
        task_state: s.state.clone(),
        task_runby: s.runby.clone(),
        task_depends: s.depends.clone(),
        task_try: s.task_try,
        task_testonly: u8::from(s.testonly),
        task_failearly: u8::from(s.failearly),
        task_shared: u8::from(s.shared),
        task_message: s.message.clone(),
        task_version: s.version.clone(),
        task_prev: s.prev,
        task_eventlog_hash: t.eventlog_hashes(),
    }
}

/// The `Tasks` rows, one per subtask.
pub fn subtask_rows(t: &Task) -> Vec<TasksRow> {
    t.subtasks
        .iter()
        .map(|s| TasksRow {
            task_id: t.state.task_id,
            subtask_id: s.subtask_id,
            task_repo: t.state.repo.clone(),
            task_owner: t.state.owner.clone(),
            task_changed: t.state.changed,
            subtask_changed: s.changed,
            subtask_deleted: u8::from(s.deleted),
            subtask_userid: s.userid.clone(),
            subtask_dir: s.dir.clone(),
            subtask_package: s.package.clone(),
            subtask_type: s.kind,
            subtask_pkg_from: s.pkg_from.clone(),
            subtask_sid: s.sid.clone(),
            subtask_tag_author: s.tag_author.clone(),
            subtask_tag_id: s.tag_id.clone(),
            subtask_tag_name: s.tag_name.clone(),
            subtask_srpm: s.srpm.clone(),
            subtask_srpm_name: s.srpm_name.clone(),
            subtask_srpm_evr: s.srpm_evr.clone(),
        })
        .collect()
}

/// The `TaskIterations` rows and the distinct non-empty `TaskChroots` rows.
///
/// `pkg_hash` maps a package path (relative to the task) to its `pkg_hash`; every path of
/// an iteration must be in it.
pub fn iteration_rows(
    t: &Task,
    pkg_hash: &HashMap<String, u64>,
) -> (Vec<TaskIterationsRow>, Vec<TaskChrootsRow>) {
    let s = &t.state;
    let mut chroots: Vec<TaskChrootsRow> = Vec::new();
    let mut rows = Vec::with_capacity(t.iterations.len());
    for it in &t.iterations {
        let hash_of = |p: &String| pkg_hash.get(p).copied().unwrap_or(0);
        let mut pkgs: Vec<u64> = it.rpms.iter().map(hash_of).collect();
        if pkgs.is_empty() {
            pkgs.push(0);
        }
        for c in [&it.chroot_base, &it.chroot_br] {
            if !c.is_empty() && !chroots.iter().any(|x| &x.tch_chroot == c) {
                chroots.push(TaskChrootsRow {
                    tch_chroot: c.clone(),
                });
            }
        }
        let log_hash = |kind: LogKind| {
            t.logs
                .iter()
                .find(|l| {
                    l.kind == kind
                        && l.build
                            .as_ref()
                            .is_some_and(|(n, a)| *n == it.subtask_id && *a == it.arch)
                })
                .map(|l| l.hash)
                .unwrap_or(0)
        };
        rows.push(TaskIterationsRow {
            task_id: s.task_id,
            task_changed: s.changed,
            subtask_id: it.subtask_id,
            subtask_arch: it.arch.clone(),
            titer_ts: it.ts,
            titer_status: it.status.clone(),
            task_try: s.task_try,
            task_iter: s.task_iter,
            titer_srcrpm_hash: it.srpm.as_ref().map(hash_of).unwrap_or(0),
            titer_pkgs_hash: pkgs,
            titer_chroot_base: chroot_hash(&it.chroot_base),
            titer_chroot_br: chroot_hash(&it.chroot_br),
            titer_buildlog_hash: log_hash(LogKind::Build),
            titer_srpmlog_hash: log_hash(LogKind::Srpm),
        });
    }
    (rows, chroots)
}

/// The `TaskPlanPackages` and `TaskPlanPkgHash` rows (empty when the plan was not loaded).
pub fn plan_rows(t: &Task) -> (Vec<TaskPlanPackagesRow>, Vec<TaskPlanPkgHashRow>) {
    let p = &t.plan;
    let mut pkgs = Vec::new();
    let mut hashes = Vec::new();
    for (map, action) in [(&p.add, PlanAction::Add), (&p.del, PlanAction::Delete)] {
        for (arch, files) in map {
            let h = p.hashes.get(arch).copied().unwrap_or(0);
            for (file, pkg) in files.iter() {
                pkgs.push(TaskPlanPackagesRow {
                    tplan_hash: h,
                    tplan_action: action,
                    tplan_pkg_name: pkg.name.clone(),
                    tplan_pkg_evr: pkg.evr.clone(),
                    tplan_bin_file: file.clone(),
                    tplan_src_file: pkg.srpm.clone(),
                    tplan_arch: pkg.arch.clone(),
                    tplan_comp: pkg.comp.clone(),
                    tplan_subtask: pkg.subtask,
                });
            }
        }
    }
    for (map, action) in [
        (&p.hash_add, PlanAction::Add),
        (&p.hash_del, PlanAction::Delete),
    ] {
        for (arch, files) in map {
            let h = p.hashes.get(arch).copied().unwrap_or(0);
            for (_, sha) in files.iter() {
                hashes.push(TaskPlanPkgHashRow {
                    tplan_hash: h,
                    tplan_action: action,
                    tplan_sha256: *sha,
                });
            }
        }
    }
    (pkgs, hashes)
}

/// The approvals on the file system as `TaskApprovals` rows (`tapp_revoked` = 0).
pub fn approval_rows(t: &Task) -> Vec<TaskApprovalsRow> {
    t.approvals
        .iter()
        .map(|a| TaskApprovalsRow {
            task_id: t.state.task_id,
            subtask_id: a.subtask_id,
            tapp_type: if a.disapprove {
                ApprovalType::Disapprove
            } else {
                ApprovalType::Approve
            },
            tapp_revoked: 0,
            tapp_date: a.date,
            tapp_name: a.name.clone(),
            tapp_message: a.message.clone(),
        })
        .collect()
}

/// Reconciles the file-system approvals with the latest database row per
/// (subtask, name, type): database approvals no longer on the file system get a revocation
/// row dated `now`; file-system rows not identical to the latest database row are new.
pub fn reconcile_approvals(
    fs: &[TaskApprovalsRow],
    db_latest: &[TaskApprovalsRow],
    now: u32,
) -> Vec<TaskApprovalsRow> {
    let same_grant = |a: &TaskApprovalsRow, b: &TaskApprovalsRow| {
        a.subtask_id == b.subtask_id
            && a.tapp_type == b.tapp_type
            && a.tapp_name == b.tapp_name
            && a.tapp_date == b.tapp_date
            && a.tapp_message == b.tapp_message
    };
    let mut out: Vec<TaskApprovalsRow> = fs
        .iter()
        .filter(|r| !db_latest.contains(r))
        .cloned()
        .collect();
    for d in db_latest.iter().filter(|d| d.tapp_revoked == 0) {
        if !fs.iter().any(|f| same_grant(f, d)) {
            out.push(TaskApprovalsRow {
                tapp_revoked: 1,
                tapp_date: now,
                ..d.clone()
            });
        }
    }
    out
}

/// Milliseconds of a `DateTime` value, for the progress tables' `ts`.
fn ms(secs: u32) -> i64 {
    i64::from(secs) * 1000
}

/// The `TaskProgress` row of the loaded state (`type = 'state'`, `ts` = the state's time).
pub fn progress_row(t: &Task) -> TaskProgressRow {
    let s = &t.state;
    TaskProgressRow {
        task_id: s.task_id,
        task_repo: s.repo.clone(),
        task_owner: s.owner.clone(),
        task_state: s.state.clone(),
        task_try: s.task_try,
        task_iter: s.task_iter,
        task_testonly: u8::from(s.testonly),
        task_changed: s.changed,
        task_message: s.message.clone(),
        task_depends: s.depends.clone(),
        type_: "state".into(),
        stage: String::new(),
        stage_status: String::new(),
        ts: ms(s.changed),
    }
}

/// The `TaskSubtaskProgress` rows: per subtask one `create` (or, deleted, `delete`) row with
/// `arch = 'all'` at its change time, and per build a `progress` row with the build status
/// at the build's time.
pub fn subtask_progress_rows(t: &Task) -> Vec<TaskSubtaskProgressRow> {
    let base = |s: &Subtask| TaskSubtaskProgressRow {
        task_id: t.state.task_id,
        subtask_id: s.subtask_id,
        task_repo: t.state.repo.clone(),
        task_owner: t.state.owner.clone(),
        subtask_type: s.kind,
        subtask_srpm: s.srpm.clone(),
        subtask_srpm_name: s.srpm_name.clone(),
        subtask_srpm_evr: s.srpm_evr.clone(),
        subtask_dir: s.dir.clone(),
        subtask_tag_id: s.tag_id.clone(),
        subtask_tag_name: s.tag_name.clone(),
        subtask_tag_author: s.tag_author.clone(),
        subtask_package: s.package.clone(),
        subtask_pkg_from: s.pkg_from.clone(),
        subtask_changed: s.changed,
        ..TaskSubtaskProgressRow::default()
    };
    let mut out = Vec::new();
    for s in &t.subtasks {
        out.push(TaskSubtaskProgressRow {
            type_: if s.deleted { "delete" } else { "create" }.into(),
            arch: "all".into(),
            ts: ms(s.changed),
            ..base(s)
        });
    }
    for it in t.iterations.iter().filter(|i| i.status != "deleted") {
        let Some(s) = t.subtasks.iter().find(|s| s.subtask_id == it.subtask_id) else {
            continue; // a build directory without a gears entry has no subtask metadata
        };
        out.push(TaskSubtaskProgressRow {
            type_: "progress".into(),
            arch: it.arch.clone(),
            status: it.status.clone(),
            stage: "build".into(),
            stage_status: it.status.clone(),
            ts: ms(it.ts),
            ..base(s)
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, revoked: u8, date: u32) -> TaskApprovalsRow {
        TaskApprovalsRow {
            task_id: 1,
            subtask_id: 100,
            tapp_type: ApprovalType::Approve,
            tapp_revoked: revoked,
            tapp_date: date,
            tapp_name: name.into(),
            tapp_message: String::new(),
        }
    }

    #[test]
    fn approvals_reconcile() {
        // Fresh: everything on the file system is new.
        assert_eq!(
            reconcile_approvals(&[row("a", 0, 5)], &[], 99),
            [row("a", 0, 5)]
        );
        // Same again: nothing.
        assert!(reconcile_approvals(&[row("a", 0, 5)], &[row("a", 0, 5)], 99).is_empty());
        // Gone from the file system: revoked now; then nothing more.
        assert_eq!(
            reconcile_approvals(&[], &[row("a", 0, 5)], 99),
            [row("a", 1, 99)]
        );
        assert!(reconcile_approvals(&[], &[row("a", 1, 99)], 100).is_empty());
        // Approved again after the revocation: a new row.
        assert_eq!(
            reconcile_approvals(&[row("a", 0, 5)], &[row("a", 1, 99)], 100),
            [row("a", 0, 5)]
        );
    }
}
