//! Source step of the task loader: the files of one girar task directory, and nothing else.
//!
//! Every path is relative to the task directory. As in the original, a missing file reads as
//! "absent" (`None`, empty text, mtime `None`); any other I/O problem is an error naming the
//! file. Directory listings are sorted by name, so a task always reads the same way.
//!
//! Every path is resolved inside the task directory ([`Confined`]): a symlink that leads out
//! of it is an error naming the link; links inside the task keep working. Files read whole are
//! capped ([`ReadLimits`]).

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::error::{Result, TaskError};
use crate::bounded::{read_file_capped, Cap, ReadLimits};
use crate::safe_path::Confined;

/// One task directory, e.g. `/tasks/350000` or `/archive/tasks/done/_341/350000`.
#[derive(Debug, Clone)]
pub struct TaskDir {
    root: PathBuf,
    confined: Confined,
    limits: ReadLimits,
}

/// `root/rel`, checked to stay inside the task directory `root` (see [`TaskDir::resolve`]).
pub fn resolve_in(root: &Path, rel: &str) -> Result<PathBuf> {
    Ok(Confined::new(root)?.join(rel)?)
}

/// Archived tasks live in `<archive>/_<id / 1024>/<id>` (girar's done-task archive).
pub fn archived_task_path(archive_root: &Path, task_id: u32) -> PathBuf {
    archive_root
        .join(format!("_{}", task_id / 1024))
        .join(task_id.to_string())
}

/// Where task `task_id` is: `<tasks_root>/<id>` if it exists, else the archived location
/// under `archive_root` if that exists (the task service's rule for DONE tasks), else `None`.
pub fn locate_task(
    tasks_root: &Path,
    archive_root: Option<&Path>,
    task_id: u32,
) -> Option<PathBuf> {
    let live = tasks_root.join(task_id.to_string());
    if live.is_dir() {
        return Some(live);
    }
    let archived = archived_task_path(archive_root?, task_id);
    archived.is_dir().then_some(archived)
}

/// Seconds since the epoch of a file time (before 1970 → 0, past 2106 → `u32::MAX`).
fn secs(t: std::time::SystemTime) -> u32 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

impl TaskDir {
    /// The task directory at `root` (trailing `/` ignored); it must be a directory.
    pub fn open(root: &Path) -> Result<TaskDir> {
        let meta = fs::metadata(root).map_err(TaskError::io(root))?;
        if !meta.is_dir() {
            return Err(TaskError::NotATask {
                path: root.to_owned(),
                why: "not a directory".into(),
            });
        }
        let root: PathBuf = root.components().collect();
        Ok(TaskDir {
            confined: Confined::new(&root)?,
            root,
            limits: ReadLimits::default(),
        })
    }

    /// The same directory, read with `limits` instead of the defaults.
    pub fn with_limits(mut self, limits: ReadLimits) -> TaskDir {
        self.limits = limits;
        self
    }

    /// The caps this directory is read with.
    pub fn limits(&self) -> &ReadLimits {
        &self.limits
    }

    /// The full path of `rel` (a relative path without `..`), after checking that it does
    /// not lead out of the task directory through a symlink.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf> {
        Ok(self.confined.join(rel)?)
    }

    /// The task directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The full path of `rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The last path component parsed as a number (the original CLI's task id).
    pub fn name_id(&self) -> Option<u32> {
        self.root.file_name()?.to_str()?.parse().ok()
    }

    /// The bytes of `rel`; `None` when it does not exist. Larger than the small-file cap →
    /// error.
    pub fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        self.read_capped(rel, self.limits.small_file())
    }

    /// The bytes of `rel`, at most `cap`; `None` when it does not exist.
    pub fn read_capped(&self, rel: &str, cap: Cap) -> Result<Option<Vec<u8>>> {
        let p = self.resolve(rel)?;
        match read_file_capped(&p, cap) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(TaskError::Io { path: p, source: e }),
        }
    }

    /// The text of `rel` (UTF-8, or latin-1 when not valid UTF-8); `None` when missing.
    pub fn text(&self, rel: &str) -> Result<Option<String>> {
        Ok(self
            .read(rel)?
            .map(|b| altrepodb_rpm::text(&b).into_owned()))
    }

    /// The text of `rel`, trimmed; empty when missing (the original's `get_text`).
    pub fn trimmed(&self, rel: &str) -> Result<String> {
        Ok(self
            .text(rel)?
            .map(|t| t.trim().to_owned())
            .unwrap_or_default())
    }

    /// True when `rel` exists (file, directory or symlink target).
    pub fn exists(&self, rel: &str) -> Result<bool> {
        Ok(self.resolve(rel)?.exists())
    }

    /// True when `rel` is a regular file with content (`file_exists_and_not_empty`).
    pub fn non_empty_file(&self, rel: &str) -> Result<bool> {
        Ok(fs::metadata(self.resolve(rel)?).is_ok_and(|m| m.is_file() && m.len() > 0))
    }

    /// True when `rel` is a directory.
    pub fn is_dir(&self, rel: &str) -> Result<bool> {
        Ok(self.resolve(rel)?.is_dir())
    }

    /// Modification time of `rel` in seconds since the epoch; `None` when missing.
    pub fn mtime(&self, rel: &str) -> Result<Option<u32>> {
        let p = self.resolve(rel)?;
        match fs::metadata(&p) {
            Ok(m) => Ok(Some(secs(m.modified().map_err(TaskError::io(&p))?))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(TaskError::Io { path: p, source: e }),
        }
    }

    /// Size of `rel` in bytes (0 when missing).
    pub fn size(&self, rel: &str) -> Result<u64> {
        Ok(fs::metadata(self.resolve(rel)?)
            .map(|m| m.len())
            .unwrap_or(0))
    }

    /// Names in directory `rel`, sorted; empty when the directory is missing. Entries are
    /// classified following symlinks; reading one goes through [`TaskDir::resolve`] again.
    pub fn list(&self, rel: &str) -> Result<Vec<Entry>> {
        let p = self.resolve(rel)?;
        let rd = match fs::read_dir(&p) {
            Ok(rd) => rd,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                return Ok(Vec::new())
            }
            Err(e) => return Err(TaskError::Io { path: p, source: e }),
        };
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(TaskError::io(&p))?;
            let name = e.file_name().to_string_lossy().into_owned();
            // Follow symlinks as Python's is_dir()/is_file() do.
            let meta = fs::metadata(e.path());
            out.push(Entry {
                is_dir: meta.as_ref().is_ok_and(|m| m.is_dir()),
                is_file: meta.as_ref().is_ok_and(|m| m.is_file()),
                name,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Subdirectories of `rel` whose name starts with `0`–`7` (the original's `[0-7]*`
    /// glob for subtask directories), with their numeric ids, in id order.
    ///
    /// Names starting with 8 or 9 are skipped as the original does, but with a warning;
    /// names that are not numbers (where the original crashed) are skipped with a warning.
    pub fn subtask_dirs(&self, rel: &str) -> Result<Vec<(u32, String)>> {
        let mut out = Vec::new();
        for e in self.list(rel)? {
            if !e.is_dir {
                continue;
            }
            match e.name.as_bytes().first() {
                Some(b'0'..=b'7') => match e.name.parse::<u32>() {
                    Ok(id) => out.push((id, e.name)),
                    Err(_) => tracing::warn!("{}: not a subtask number, skipped", self.path(rel).join(&e.name).display()),
                },
                Some(b'8' | b'9') => tracing::warn!(
                    "{}: subtask directories starting with 8 or 9 are not read (as the original's [0-7]* glob)",
                    self.path(rel).join(&e.name).display()
                ),
                _ => {}
            }
        }
        out.sort();
        Ok(out)
    }

    /// The base name of the target of symlink `rel` (not followed further, so a dangling
    /// link in an archived task still names its target); `None` when `rel` is no symlink.
    /// The link (`build/repo/prev`) points into the repository, outside the task: only its
    /// name is taken, nothing is opened there.
    pub fn symlink_target_name(&self, rel: &str) -> Result<Option<String>> {
        let p = self.path(rel);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TaskError::Io { path: p, source: e }),
        }
        // Resolve as far as possible (Python's non-strict resolve()), then take the last name.
        let target = match fs::canonicalize(&p) {
            Ok(t) => t,
            Err(_) => {
                let t = fs::read_link(&p).map_err(TaskError::io(&p))?;
                if t.is_absolute() {
                    t
                } else {
                    p.parent().unwrap_or(Path::new("")).join(t)
                }
            }
        };
        let name = target
            .components()
            .rfind(|c| !matches!(c, std::path::Component::CurDir))
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        Ok(name)
    }
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File name.
    pub name: String,
    /// A directory (symlinks followed).
    pub is_dir: bool,
    /// A regular file (symlinks followed).
    pub is_file: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_missing_as_absent() {
        let d = tempfile::tempdir().unwrap();
        let t = TaskDir::open(d.path()).unwrap();
        assert_eq!(t.read("task/state").unwrap(), None);
        assert_eq!(t.trimmed("task/run").unwrap(), "");
        assert_eq!(t.mtime("plan").unwrap(), None);
        assert!(t.list("gears").unwrap().is_empty());
    }

    #[test]
    fn subtask_glob() {
        let d = tempfile::tempdir().unwrap();
        for n in ["100", "200", "800", "x1", "7ab", "0"] {
            fs::create_dir_all(d.path().join("gears").join(n)).unwrap();
        }
        fs::write(d.path().join("gears/300"), "file, not a dir").unwrap();
        let t = TaskDir::open(d.path()).unwrap();
        let ids: Vec<u32> = t
            .subtask_dirs("gears")
            .unwrap()
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert_eq!(ids, [0, 100, 200]);
    }

    #[test]
    fn dangling_symlink_names_its_target() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("build/repo")).unwrap();
        std::os::unix::fs::symlink(
            "/nonexistent/repo/sisyphus/task/349999",
            d.path().join("build/repo/prev"),
        )
        .unwrap();
        let t = TaskDir::open(d.path()).unwrap();
        assert_eq!(
            t.symlink_target_name("build/repo/prev").unwrap().as_deref(),
            Some("349999")
        );
        assert_eq!(t.symlink_target_name("build").unwrap(), None);
    }

    #[test]
    fn archive_layout() {
        assert_eq!(
            archived_task_path(Path::new("/archive/tasks/done"), 350000),
            Path::new("/archive/tasks/done/_341/350000")
        );
    }
}
