//! The server program's files (`embedded/chserver.py` and its package `embedded/chsrv/`) and
//! their installation under the home directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The server program, embedded in the binary: the entry script `chserver.py` first, then the
/// modules of the `chsrv` package it runs (paths relative to the install directory).
pub const SERVER_FILES: &[(&str, &str)] = &[
    ("chserver.py", include_str!("../../embedded/chserver.py")),
    (
        "chsrv/__init__.py",
        include_str!("../../embedded/chsrv/__init__.py"),
    ),
    (
        "chsrv/bodies.py",
        include_str!("../../embedded/chsrv/bodies.py"),
    ),
    (
        "chsrv/chconfig.py",
        include_str!("../../embedded/chsrv/chconfig.py"),
    ),
    (
        "chsrv/engine.py",
        include_str!("../../embedded/chsrv/engine.py"),
    ),
    (
        "chsrv/errors.py",
        include_str!("../../embedded/chsrv/errors.py"),
    ),
    (
        "chsrv/formats.py",
        include_str!("../../embedded/chsrv/formats.py"),
    ),
    (
        "chsrv/main.py",
        include_str!("../../embedded/chsrv/main.py"),
    ),
    (
        "chsrv/policy.py",
        include_str!("../../embedded/chsrv/policy.py"),
    ),
    (
        "chsrv/server.py",
        include_str!("../../embedded/chsrv/server.py"),
    ),
    (
        "chsrv/sqltext.py",
        include_str!("../../embedded/chsrv/sqltext.py"),
    ),
    (
        "chsrv/state.py",
        include_str!("../../embedded/chsrv/state.py"),
    ),
];

/// FNV-1a over every file's path and content: names the install directory, so a changed
/// program gets a new directory and an unchanged one is reused.
fn content_hash() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (rel, text) in SERVER_FILES {
        for b in rel.bytes().chain([0]).chain(text.bytes()).chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// True when `dir` holds every file of the program with the expected content.
fn installed(dir: &Path) -> bool {
    SERVER_FILES
        .iter()
        .all(|(rel, text)| fs::read(dir.join(rel)).ok().as_deref() == Some(text.as_bytes()))
}

/// Writes the server program under `dir`, as `dir/chserver-<hash>/`, and returns the path of
/// its entry script (run it with the venv's Python). The files are written into a temporary
/// directory that is then renamed into place, so a server starting from another process (or
/// thread) never reads half of them; an up-to-date copy is reused as it is.
pub fn install_server(dir: &Path) -> io::Result<PathBuf> {
    let target = dir.join(format!("chserver-{:016x}", content_hash()));
    let entry = target.join(SERVER_FILES[0].0);
    if installed(&target) {
        return Ok(entry);
    }
    fs::create_dir_all(dir)?;
    // Unique per call, not just per process: threads of one process may race here.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".chserver.{}.{n}", std::process::id()));
    let written = (|| {
        for (rel, text) in SERVER_FILES {
            let path = tmp.join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(&path, text)?;
        }
        if target.exists() {
            // A damaged copy (a file edited or removed): move it aside, then replace it.
            let old = dir.join(format!(".chserver.old.{}.{n}", std::process::id()));
            fs::rename(&target, &old)?;
            let _ = fs::remove_dir_all(&old);
        }
        fs::rename(&tmp, &target)
    })();
    match written {
        Ok(()) => Ok(entry),
        // Another process or thread put a complete copy in place first.
        Err(_) if installed(&target) => {
            let _ = fs::remove_dir_all(&tmp);
            Ok(entry)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_once_and_repairs() {
        let home = tempfile::tempdir().unwrap();
        let entry = install_server(home.path()).unwrap();
        assert!(entry.ends_with("chserver.py"));
        let root = entry.parent().unwrap();
        assert!(root.join("chsrv/main.py").is_file());
        assert_eq!(install_server(home.path()).unwrap(), entry);
        fs::write(root.join("chsrv/main.py"), "damaged").unwrap();
        assert_eq!(install_server(home.path()).unwrap(), entry);
        assert!(installed(root));
        let leftovers: Vec<_> = fs::read_dir(home.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
