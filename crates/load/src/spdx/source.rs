//! The local copy: its JSON files (and `git pull` with `--update`).

use std::path::{Path, PathBuf};
use std::process::Command;

use altrepodb_db::rows_feeds::SpdxType;

use crate::bounded::{read_file_capped, Cap};

/// Cap on one JSON file (the largest license texts are a few hundred KiB).
pub const FILE_CAP: Cap = Cap {
    limit: 16 << 20,
    what: "SPDX JSON file",
    env: "-",
};

/// Why the copy cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpdxSourceError {
    /// A file or directory cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The root has neither `json/details` nor `json/exceptions`.
    #[error("{0}: not a license-list-data copy (no json/details or json/exceptions)")]
    NotACopy(PathBuf),
    /// `git pull` failed.
    #[error("{path}: git pull: {reason}")]
    Git {
        /// The clone.
        path: PathBuf,
        /// Its stderr or the failure to run git.
        reason: String,
    },
}

/// One file of the copy, read.
#[derive(Debug)]
pub struct SpdxFile {
    /// Its path.
    pub path: PathBuf,
    /// License or exception (by directory).
    pub kind: SpdxType,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// `git -C root pull --ff-only`: runs inside the clone (the original ran it in the current
/// directory).
pub fn git_pull(root: &Path) -> Result<(), SpdxSourceError> {
    if !root.join(".git").exists() {
        return Err(SpdxSourceError::Git {
            path: root.to_owned(),
            reason: "not a git clone".into(),
        });
    }
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["pull", "--ff-only", "--quiet"])
        .output()
        .map_err(|e| SpdxSourceError::Git {
            path: root.to_owned(),
            reason: format!("cannot run git: {e}"),
        })?;
    if !out.status.success() {
        return Err(SpdxSourceError::Git {
            path: root.to_owned(),
            reason: String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', " "),
        });
    }
    Ok(())
}

/// The `*.json` files of `root/json/details` and `root/json/exceptions`, sorted by name.
pub fn read_copy(root: &Path) -> Result<Vec<SpdxFile>, SpdxSourceError> {
    let dirs = [
        (root.join("json/details"), SpdxType::License),
        (root.join("json/exceptions"), SpdxType::Exception),
    ];
    if !dirs.iter().any(|(d, _)| d.is_dir()) {
        return Err(SpdxSourceError::NotACopy(root.to_owned()));
    }
    let mut out = Vec::new();
    for (dir, kind) in dirs {
        if !dir.is_dir() {
            continue;
        }
        let io = |source| SpdxSourceError::Io {
            path: dir.clone(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(io)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?
            .into_iter()
            .map(|e| e.path())
            // Names ending in `.json` (the original took any name containing `.json`).
            .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let data = read_file_capped(&path, FILE_CAP).map_err(|source| SpdxSourceError::Io {
                path: path.clone(),
                source,
            })?;
            out.push(SpdxFile { path, kind, data });
        }
    }
    Ok(out)
}
