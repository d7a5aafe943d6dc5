//! Reading one task directory into a [`Task`] (original-system §6.1–6.7): the source
//! ([`TaskDir`]) and the pure parsers ([`super::parse`]) put together. No database.

use std::collections::{BTreeMap, HashMap};

use altrepodb_db::rows_task::SubtaskType;
use altrepodb_rpm::{mmhash, DigestAlgo, Tag};

use super::error::{Result, TaskError};
use super::hash::{build_log_key, events_log_key, plan_hash};
use super::model::{ApprovalFile, Iteration, LogRef, Plan, PlanPackage, Subtask, Task, TaskState};
use super::parse::{
    int, parse_approval, parse_chroot, parse_depends, parse_hash_diff, parse_info_shared,
    parse_list_diff, parse_nevr, parse_plan_file, parse_sid, LogKind, PlanEntry, PlanFile,
};
use super::source::TaskDir;
use crate::bounded::{self, AptStream};
use crate::safe_path::base_name;

/// Reads the whole task structure (no package file and no log is opened here).
pub fn read_task(dir: &TaskDir) -> Result<Task> {
    let mut task = Task {
        path: dir.root().to_owned(),
        ..Task::default()
    };
    task.state = read_state(dir)?;
    if let Some(n) = dir.name_id() {
        if n != task.state.task_id {
            tracing::warn!(
                "{}: task/id says {} but the directory is named {n}; using {}",
                dir.root().display(),
                task.state.task_id,
                task.state.task_id
            );
        }
    }
    let plan_entries = read_plan(dir, &mut task)?;
    read_pkglists(dir, &mut task)?;
    read_approvals(dir, &mut task)?;
    read_subtasks(dir, &mut task)?;
    read_iterations(dir, &mut task, &plan_entries)?;
    read_event_logs(dir, &mut task)?;
    task.arepo = dir
        .list("arepo/x86_64-i586/rpms")?
        .into_iter()
        .filter(|e| e.name.ends_with(".rpm") && e.name.len() > 4)
        .map(|e| format!("arepo/x86_64-i586/rpms/{}", e.name))
        .collect();
    Ok(task)
}

/// An integer file: missing or empty → 0, otherwise it must parse and fit.
fn int_file<T: std::str::FromStr + Default>(dir: &TaskDir, rel: &str) -> Result<T> {
    match dir.text(rel)? {
        None => Ok(T::default()),
        Some(t) if t.trim().is_empty() => Ok(T::default()),
        Some(t) => int(&t).ok_or_else(|| {
            TaskError::malformed(
                dir.path(rel),
                None,
                format!("'{}' is not a number in range", t.trim()),
            )
        }),
    }
}

fn read_state(dir: &TaskDir) -> Result<TaskState> {
    let task_id: u32 = int_file(dir, "task/id")?;
    if task_id == 0 {
        return Err(TaskError::NotATask {
            path: dir.root().to_owned(),
            why: "task/id is missing or 0".into(),
        });
    }
    let Some(state) = dir.text("task/state")? else {
        return Err(TaskError::MissingState {
            path: dir.path("task/state"),
        });
    };
    let mut changed = dir.mtime("task/state")?.unwrap_or(0);
    if let Some(t) = dir.mtime("info.json")? {
        changed = changed.max(t);
    }
    let shared = match dir.text("info.json")? {
        Some(text) => parse_info_shared(&text).map_err(|e| e.at(&dir.path("info.json")))?,
        None => false,
    };
    let depends = match dir.text("task/depends")? {
        Some(t) => parse_depends(&t).map_err(|e| e.at(&dir.path("task/depends")))?,
        None => Vec::new(),
    };
    let prev = match dir.symlink_target_name("build/repo/prev")? {
        Some(name) => int(&name).ok_or_else(|| {
            TaskError::malformed(
                dir.path("build/repo/prev"),
                None,
                format!("link target '{name}' is not a task id"),
            )
        })?,
        None => 0,
    };
    Ok(TaskState {
        task_id,
        state: state.trim().to_owned(),
        changed,
        runby: dir.trimmed("task/run")?,
        task_try: int_file(dir, "task/try")?,
        task_iter: int_file(dir, "task/iter")?,
        message: dir.trimmed("task/message")?,
        version: dir.trimmed("task/version")?,
        depends,
        testonly: dir.exists("task/test-only")?,
        failearly: dir.exists("task/fail-early")?,
        shared,
        prev,
        repo: dir.trimmed("task/repo")?,
        owner: dir.trimmed("task/owner")?,
    })
}

/// Plan entries by file (add-src/add-bin and rm-src/rm-bin), used by the iterations too.
#[derive(Debug, Default)]
pub(crate) struct PlanEntries {
    add: Vec<PlanEntry>,
}

fn plan_file(dir: &TaskDir, rel: &str, kind: PlanFile) -> Result<Vec<PlanEntry>> {
    match dir.text(rel)? {
        Some(t) => parse_plan_file(&t, kind).map_err(|e| e.at(&dir.path(rel))),
        None => Ok(Vec::new()),
    }
}

/// The plan (§6.3), when it is fresh: try and iter non-zero and `plan` newer than both
/// `task/try` and `task/iter`, or the task is DONE.
fn read_plan(dir: &TaskDir, task: &mut Task) -> Result<PlanEntries> {
    let st = &task.state;
    let mut load = false;
    if st.task_try != 0 && st.task_iter != 0 {
        let tryiter = dir
            .mtime("task/try")?
            .unwrap_or(0)
            .max(dir.mtime("task/iter")?.unwrap_or(0));
        // The original crashed on a missing plan directory here; no plan is simply no plan.
        if let Some(p) = dir.mtime("plan")? {
            load = p > tryiter;
        }
    }
    if st.state == "DONE" {
        load = true;
    }
    let mut plan = Plan::default();
    let mut entries = PlanEntries::default();
    if load && dir.is_dir("plan")? {
        plan.loaded = true;
        let mut add: HashMap<String, PlanEntry> = HashMap::new();
        for (rel, kind) in [
            ("plan/add-src", PlanFile::AddSrc),
            ("plan/add-bin", PlanFile::AddBin),
        ] {
            for e in plan_file(dir, rel, kind)? {
                entries.add.push(e.clone());
                add.insert(e.file.clone(), e);
            }
        }
        let mut del: HashMap<String, PlanEntry> = HashMap::new();
        for (rel, kind) in [
            ("plan/rm-src", PlanFile::RmSrc),
            ("plan/rm-bin", PlanFile::RmBin),
        ] {
            for e in plan_file(dir, rel, kind)? {
                del.insert(e.file.clone(), e);
            }
        }
        let listing = dir.list("plan")?;
        for e in listing
            .iter()
            .filter(|e| e.is_file && e.name.ends_with(".list.diff"))
        {
            let rel = format!("plan/{}", e.name);
            let text = dir.text(&rel)?.unwrap_or_default();
            let (added, deleted) = parse_list_diff(&text, e.name == "src.list.diff")
                .map_err(|err| err.at(&dir.path(&rel)))?;
            for (list, target, info) in
                [(added, &mut plan.add, &add), (deleted, &mut plan.del, &del)]
            {
                for p in list {
                    let pp = info.get(&p.file);
                    target.entry(p.arch.clone()).or_default().insert(
                        p.file.clone(),
                        PlanPackage {
                            name: p.name,
                            evr: p.evr,
                            srpm: p.srpm,
                            arch: p.arch,
                            comp: pp.map(|x| x.comp.clone()).unwrap_or_default(),
                            path: pp.map(|x| x.path.clone()).unwrap_or_default(),
                            subtask: pp.map(|x| x.subtask).unwrap_or(0),
                        },
                    );
                }
            }
        }
        for e in listing
            .iter()
            .filter(|e| e.is_file && e.name.ends_with(".hash.diff"))
        {
            let rel = format!("plan/{}", e.name);
            let text = dir.text(&rel)?.unwrap_or_default();
            let (added, deleted) = parse_hash_diff(&text);
            let arch = e.name.split('.').next().unwrap_or_default().to_owned();
            for (file, sha) in added.iter() {
                task.digests.entry(file.clone()).or_default().sha256 = Some(*sha);
            }
            plan.hash_add.insert(arch.clone(), added);
            plan.hash_del.insert(arch, deleted);
        }
        let archs: std::collections::BTreeSet<&String> = plan
            .add
            .keys()
            .chain(plan.del.keys())
            .chain(plan.hash_add.keys())
            .chain(plan.hash_del.keys())
            .collect();
        plan.hashes = archs
            .into_iter()
            .map(|a| {
                (
                    a.clone(),
                    plan_hash(st.task_id, st.task_try, st.task_iter, a),
                )
            })
            .collect();
    } else if dir.is_dir("plan")? {
        tracing::info!(
            "{}: plan is outdated (older than task/try and task/iter), not loaded",
            dir.path("plan").display()
        );
    }
    task.plan = plan;
    Ok(entries)
}

/// `build/repo/<arch>/base/pkglist.task.xz`: MD5 and BLAKE2b per file name (read whatever
/// the plan gate says).
fn read_pkglists(dir: &TaskDir, task: &mut Task) -> Result<()> {
    let repo_arches: Vec<String> = dir
        .list("build/repo")?
        .into_iter()
        .filter(|e| e.is_dir)
        .map(|e| e.name)
        .collect();
    for arch in &repo_arches {
        let rel = format!("build/repo/{arch}/base/pkglist.task.xz");
        let path = dir.resolve(&rel)?;
        if !path.is_file() {
            continue;
        }
        // Streamed: one header in memory at a time, the decompressed size capped.
        let reader = bounded::xz_file(&path, dir.limits().list()).map_err(TaskError::io(&path))?;
        let mut stream = AptStream::new(reader);
        while let Some(h) = stream.next_header() {
            let (offset, h) = h.map_err(|e| {
                TaskError::malformed(&path, None, format!("header at offset {}: {e}", e.offset()))
            })?;
            let bad = |why: String| {
                TaskError::malformed(&path, None, format!("header at offset {offset}: {why}"))
            };
            let tag_err = |e: altrepodb_rpm::Error| bad(e.shifted(offset).to_string());
            let name = h
                .text(Tag::APTINDEXLEGACYFILENAME)
                .map_err(tag_err)?
                .into_owned();
            if name.is_empty() {
                return Err(bad("no file name (tag 1000000)".into()));
            }
            // The name is joined to RPMS.task/ below.
            base_name(&name).map_err(|e| bad(format!("tag 1000000: {e}")))?;
            let hex_tag = |tag: Tag| -> Result<Option<Vec<u8>>> {
                let v = h.text(tag).map_err(tag_err)?;
                if v.is_empty() {
                    return Ok(None);
                }
                hex::decode(v.as_ref())
                    .map(Some)
                    .map_err(|_| bad(format!("tag {}: '{v}' is not hex", tag.0)))
            };
            let md5: Option<[u8; 16]> = hex_tag(Tag::APTINDEXLEGACYMD5)?
                .map(|d| {
                    d.try_into()
                        .map_err(|_| bad("MD5 (tag 1000005) is not 16 bytes".into()))
                })
                .transpose()?;
            let blake2b: Option<[u8; 64]> = hex_tag(Tag::APTINDEXLEGACYBLAKE2B)?
                .map(|d| {
                    d.try_into()
                        .map_err(|_| bad("BLAKE2b (tag 1000009) is not 64 bytes".into()))
                })
                .transpose()?;
            let d = task.digests.entry(name.clone()).or_default();
            d.blake2b = blake2b;
            match (d.md5, md5) {
                (Some(old), Some(new)) if old != new => {
                    // Duplicated noarch packages: the lists disagree, the file decides.
                    let mut found = None;
                    for a in &repo_arches {
                        let p = dir.resolve(&format!("build/repo/{a}/RPMS.task/{name}"))?;
                        if p.is_file() {
                            found = Some(p);
                            break;
                        }
                    }
                    match found {
                        Some(p) => {
                            let got = altrepodb_rpm::digest_file(&p, &[DigestAlgo::Md5])
                                .map_err(TaskError::io(&p))?;
                            d.md5 = got.md5;
                        }
                        None => tracing::warn!(
                            "{}: MD5 of {name} differs between lists and no RPMS.task file exists",
                            path.display()
                        ),
                    }
                }
                (Some(_), _) => {}
                (None, new) => d.md5 = new,
            }
        }
    }
    Ok(())
}

/// `acl/approved/<n>/<nick>` and `acl/disapproved/<n>/<nick>`. Unlike the original, the
/// approved pass lists `acl/approved` (the original listed `acl/disapproved` for both).
fn read_approvals(dir: &TaskDir, task: &mut Task) -> Result<()> {
    for (base, disapprove) in [("acl/approved", false), ("acl/disapproved", true)] {
        for (subtask_id, name) in dir.subtask_dirs(base)? {
            let sub = format!("{base}/{name}");
            for f in dir.list(&sub)?.into_iter().filter(|e| e.is_file) {
                let rel = format!("{sub}/{}", f.name);
                let bytes = dir.read(&rel)?.unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes);
                match parse_approval(&text) {
                    Ok(a) => task.approvals.push(ApprovalFile {
                        subtask_id,
                        disapprove,
                        name: a.name,
                        date: a.date,
                        message: a.message,
                    }),
                    Err(e) => {
                        // As the original: a bad approval file is reported and skipped.
                        let msg = e.at(&dir.path(&rel)).to_string();
                        tracing::warn!("{msg} (skipped)");
                        task.skipped.push(msg);
                    }
                }
            }
        }
    }
    Ok(())
}

/// `gears/<n>/`: the subtasks (§6.4).
fn read_subtasks(dir: &TaskDir, task: &mut Task) -> Result<()> {
    for (subtask_id, name) in dir.subtask_dirs("gears")? {
        let base = format!("gears/{name}");
        let f = |file: &str| format!("{base}/{file}");
        let files: std::collections::HashSet<String> =
            dir.list(&base)?.into_iter().map(|e| e.name).collect();
        let (sid_type, sid) = dir
            .text(&f("sid"))?
            .map(|t| parse_sid(&t))
            .unwrap_or_default();
        // The original compared a naive epoch with aware mtimes and raised without `userid`.
        let changed = dir
            .mtime(&f("userid"))?
            .unwrap_or(0)
            .max(dir.mtime(&base)?.unwrap_or(0));
        let mut s = Subtask {
            subtask_id,
            changed,
            userid: dir.trimmed(&f("userid"))?,
            sid,
            ..Subtask::default()
        };
        let mut kind = sid_type;
        if !files.contains("dir") && !files.contains("srpm") && !files.contains("package") {
            s.deleted = true;
            kind = "unknown".into();
        } else {
            if dir.non_empty_file(&f("package"))? && !dir.non_empty_file(&f("dir"))? {
                if dir.non_empty_file(&f("copy_repo"))? {
                    kind = "copy".into();
                    s.pkg_from = dir.trimmed(&f("copy_repo"))?;
                } else {
                    kind = "delete".into();
                }
            }
            if dir.exists(&f("rebuild"))? {
                kind = "rebuild".into();
                s.pkg_from = dir.trimmed(&f("rebuild"))?;
            }
            if dir.exists(&f("rebuild_from"))? {
                kind = "rebuild".into();
                s.pkg_from = dir.trimmed(&f("rebuild_from"))?;
            }
            if kind.is_empty() {
                kind = "unknown".into();
            }
            s.dir = dir.trimmed(&f("dir"))?;
            s.package = dir.trimmed(&f("package"))?;
            s.tag_id = dir.trimmed(&f("tag_id"))?;
            s.tag_name = dir.trimmed(&f("tag_name"))?;
            s.tag_author = dir.trimmed(&f("tag_author"))?;
            s.srpm = dir.trimmed(&f("srpm"))?;
            if let Some(t) = dir.text(&f("nevr"))? {
                (s.srpm_name, s.srpm_evr) = parse_nevr(&t);
            }
        }
        s.kind = SubtaskType::from_name(&kind).unwrap_or_else(|| {
            // The original's insert failed on such a type; keep the subtask, as 'unknown'.
            let msg = format!(
                "{}: unknown subtask type '{kind}', stored as 'unknown'",
                dir.path(&f("sid")).display()
            );
            tracing::warn!("{msg}");
            task.skipped.push(msg);
            SubtaskType::Unknown
        });
        task.subtasks.push(s);
    }
    Ok(())
}

/// `build/<n>/<arch>/`: the iterations (§6.5), plus stubs for delete subtasks.
fn read_iterations(dir: &TaskDir, task: &mut Task, plan: &PlanEntries) -> Result<()> {
    let st = &task.state;
    // Pre-seed from the plan (only a fresh plan: a stale one names files of an earlier try).
    let mut src_pkgs: HashMap<u32, String> = HashMap::new();
    let mut bin_pkgs: HashMap<u32, BTreeMap<String, Vec<String>>> = HashMap::new();
    for e in &plan.add {
        if e.arch == "src" {
            src_pkgs.insert(e.subtask, e.path.clone());
        } else {
            bin_pkgs
                .entry(e.subtask)
                .or_default()
                .entry(e.arch.clone())
                .or_default()
                .push(e.path.clone());
        }
    }
    let mut built_subtasks = std::collections::HashSet::new();
    for (subtask_id, name) in dir.subtask_dirs("build")? {
        let sub = format!("build/{name}");
        let mut archs: Vec<String> = dir
            .list(&sub)?
            .into_iter()
            .filter(|e| e.is_dir)
            .map(|e| e.name)
            .collect();
        // x86_64 first, then i586 (their source package is preferred), then the rest by name.
        archs.sort_by_key(|a| (a != "x86_64", a != "i586", a.clone()));
        for arch in archs {
            let ad = format!("{sub}/{arch}");
            let (ts, mut status) = match dir.mtime(&format!("{ad}/status"))? {
                Some(t) => {
                    let s = dir.trimmed(&format!("{ad}/status"))?;
                    (t, if s.is_empty() { "failed".to_owned() } else { s })
                }
                None => (dir.mtime(&ad)?.unwrap_or(0), "failed".to_owned()),
            };
            let chroot = |file: &str| -> Result<Vec<u64>> {
                let rel = format!("{ad}/{file}");
                match dir.text(&rel)? {
                    Some(t) => parse_chroot(&t).map_err(|e| e.at(&dir.path(&rel))),
                    None => Ok(Vec::new()),
                }
            };
            let chroot_base = chroot("chroot_base")?;
            let chroot_br = chroot("chroot_BR")?;
            let srpms = dir.list(&format!("{ad}/srpm"))?;
            if let Some(first) = srpms.first() {
                status = "built".into();
                src_pkgs
                    .entry(subtask_id)
                    .or_insert_with(|| format!("{ad}/srpm/{}", first.name));
            }
            let rpms = dir.list(&format!("{ad}/rpms"))?;
            if !rpms.is_empty() {
                status = "built".into();
                bin_pkgs.entry(subtask_id).or_default().insert(
                    arch.clone(),
                    rpms.iter()
                        .map(|r| format!("{ad}/rpms/{}", r.name))
                        .collect(),
                );
            }
            let it = Iteration {
                subtask_id,
                arch: arch.clone(),
                ts,
                status,
                chroot_base,
                chroot_br,
                srpm: src_pkgs.get(&subtask_id).cloned(),
                rpms: bin_pkgs
                    .get(&subtask_id)
                    .and_then(|m| m.get(&arch))
                    .cloned()
                    .unwrap_or_default(),
            };
            built_subtasks.insert(subtask_id);
            task.iterations.push(it);
            for (file, kind) in [("log", LogKind::Build), ("srpm.log", LogKind::Srpm)] {
                let rel = format!("{ad}/{file}");
                if dir.non_empty_file(&rel)? {
                    let key = build_log_key(
                        kind.as_str(),
                        st.task_id,
                        subtask_id,
                        st.task_try,
                        st.task_iter,
                        &arch,
                    );
                    task.logs.push(LogRef {
                        kind,
                        path: rel,
                        hash: mmhash(key.as_bytes()),
                        key,
                        build: Some((subtask_id, arch.clone())),
                    });
                }
            }
        }
    }
    let build_ts = dir.mtime("build")?.unwrap_or(st.changed);
    for s in &task.subtasks {
        if !s.deleted && s.kind == SubtaskType::Delete && !built_subtasks.contains(&s.subtask_id) {
            task.iterations.push(Iteration {
                subtask_id: s.subtask_id,
                arch: "x86_64".into(),
                ts: build_ts,
                status: "deleted".into(),
                ..Iteration::default()
            });
        }
    }
    Ok(())
}

/// `logs/events.<try>.<iter>.log`, ordered by (try, iter).
fn read_event_logs(dir: &TaskDir, task: &mut Task) -> Result<()> {
    let mut names: Vec<String> = dir
        .list("logs")?
        .into_iter()
        .filter(|e| {
            e.is_file
                && e.name.starts_with("events.")
                && e.name.ends_with(".log")
                && e.name.len() >= 11
        })
        .map(|e| e.name)
        .collect();
    let order = |n: &String| {
        let p: Vec<&str> = n.split('.').collect();
        let num = |i: usize| {
            p.get(i)
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(u64::MAX)
        };
        (num(1), num(2), n.clone())
    };
    names.sort_by_key(order);
    for name in names {
        let key = events_log_key(task.state.task_id, &name);
        task.logs.push(LogRef {
            kind: LogKind::Events,
            path: format!("logs/{name}"),
            hash: mmhash(key.as_bytes()),
            key,
            build: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn task_dir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("task")).unwrap();
        fs::write(r.join("task/id"), "42\n").unwrap();
        fs::write(r.join("task/state"), "NEW\n").unwrap();
        d
    }

    #[test]
    fn minimal_task() {
        let d = task_dir();
        let t = read_task(&TaskDir::open(d.path()).unwrap()).unwrap();
        assert_eq!(t.state.task_id, 42);
        assert_eq!(t.state.state, "NEW");
        assert!(t.subtasks.is_empty() && t.iterations.is_empty() && !t.plan.loaded);
    }

    #[test]
    fn missing_state_and_bad_files_name_the_file() {
        let d = task_dir();
        fs::remove_file(d.path().join("task/state")).unwrap();
        let e = read_task(&TaskDir::open(d.path()).unwrap()).unwrap_err();
        assert!(e.to_string().contains("task/state"), "{e}");
        let d = task_dir();
        fs::write(d.path().join("info.json"), "{not json").unwrap();
        let e = read_task(&TaskDir::open(d.path()).unwrap()).unwrap_err();
        assert!(e.to_string().contains("info.json"), "{e}");
        let d = task_dir();
        fs::write(d.path().join("task/try"), "many").unwrap();
        let e = read_task(&TaskDir::open(d.path()).unwrap()).unwrap_err();
        assert!(e.to_string().contains("task/try"), "{e}");
        let d = task_dir();
        fs::write(d.path().join("task/iter"), "300").unwrap();
        let e = read_task(&TaskDir::open(d.path()).unwrap()).unwrap_err();
        assert!(e.to_string().contains("task/iter"), "{e}");
    }

    #[test]
    fn subtask_kinds() {
        let d = task_dir();
        let g = d.path().join("gears");
        let mk = |n: &str, files: &[(&str, &str)]| {
            fs::create_dir_all(g.join(n)).unwrap();
            for (f, c) in files {
                fs::write(g.join(n).join(f), c).unwrap();
            }
        };
        mk(
            "100",
            &[
                ("userid", "alice\n"),
                ("sid", "gear:abc\n"),
                ("dir", "/gears/f/foo.git\n"),
            ],
        );
        mk("200", &[("userid", "bob\n"), ("package", "bar\n")]);
        mk(
            "300",
            &[
                ("userid", "bob\n"),
                ("package", "baz\n"),
                ("copy_repo", "p10\n"),
            ],
        );
        mk(
            "400",
            &[
                ("userid", "bob\n"),
                ("package", "qux\n"),
                ("rebuild_from", "sisyphus\n"),
            ],
        );
        mk("500", &[("userid", "bob\n"), ("sid", "srpm:x\n")]);
        let t = read_task(&TaskDir::open(d.path()).unwrap()).unwrap();
        let kinds: Vec<(u32, SubtaskType, bool, &str)> = t
            .subtasks
            .iter()
            .map(|s| (s.subtask_id, s.kind, s.deleted, s.pkg_from.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (100, SubtaskType::Gear, false, ""),
                (200, SubtaskType::Delete, false, ""),
                (300, SubtaskType::Copy, false, "p10"),
                (400, SubtaskType::Rebuild, false, "sisyphus"),
                (500, SubtaskType::Unknown, true, ""),
            ]
        );
        // The delete subtask gets a stub iteration.
        assert_eq!(t.iterations.len(), 1);
        assert_eq!(
            (t.iterations[0].subtask_id, t.iterations[0].status.as_str()),
            (200, "deleted")
        );
    }
}
