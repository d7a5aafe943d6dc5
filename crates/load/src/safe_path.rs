//! Paths taken from snapshot and task contents, kept inside their root.
//!
//! A snapshot or a task directory is outside data: its lists name files, and its symlinks may
//! point anywhere. Two checks keep every file the loaders open inside the tree they were given:
//!
//! * **Names from contents** (APT lists, hash lists, task plans) are checked before they are
//!   joined to anything: [`base_name`] where a file name is expected (no `/`, not `.` or `..`,
//!   not empty, no NUL), [`relative_path`] where a path below the root is expected (no leading
//!   `/`, no `..` component, no NUL).
//! * **Every path opened** goes through [`Confined::check`] (or [`Confined::join`]), which
//!   resolves symlinks and refuses a path whose real location is outside the root's real
//!   location. Links inside the tree (`<arch>/RPMS.classic → ../files/<arch>/RPMS`, links
//!   between a task's build and repo directories) keep working; the root itself may be a
//!   symlink (`…/date/latest`).
//!
//! The check resolves the path, then the caller opens it by name: a tree rewritten *while* it
//! is read could swap a checked file for a link in between. The trees we read are written
//! before they are loaded (snapshots) or by girar under a lock (tasks), so this window is
//! accepted; it is not a sandbox against a concurrent local attacker.

use std::io;
use std::path::{Component, Path, PathBuf};

use thiserror::Error;

/// A name or path from file contents that may not be joined to the root.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("'{}' is not {expected}: {why}", name.escape_debug())]
pub struct BadName {
    /// The name as found.
    pub name: String,
    /// "a file name" or "a relative path".
    pub expected: &'static str,
    /// What is wrong with it.
    pub why: &'static str,
}

/// A path that leaves its root, or whose location could not be resolved.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PathError {
    /// After resolving symlinks the path is outside the root.
    #[error("{path}: resolves to {target}, outside {root}", path = path.display(), target = target.display(), root = root.display())]
    Escapes {
        /// The path as joined.
        path: PathBuf,
        /// Where it really is.
        target: PathBuf,
        /// The root's real location.
        root: PathBuf,
    },
    /// A name from contents is unusable; `path` is where it was going to be joined.
    #[error("{path}: {name}", path = path.display())]
    Name {
        /// The directory the name was to be joined to.
        path: PathBuf,
        /// The problem.
        name: BadName,
    },
    /// The path (or the root) could not be resolved.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Checks that `name` is a plain file name: not empty, not `.` or `..`, no `/`, no NUL.
pub fn base_name(name: &str) -> Result<&str, BadName> {
    let bad = |why| BadName {
        name: name.to_owned(),
        expected: "a file name",
        why,
    };
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name == "." || name == ".." {
        return Err(bad("a directory reference"));
    }
    if name.contains('/') {
        return Err(bad("contains '/'"));
    }
    if name.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    Ok(name)
}

/// Checks that `rel` is a path below a root: not empty, not absolute, no `..` component, no
/// NUL. `.` components and doubled slashes are harmless and allowed.
pub fn relative_path(rel: &str) -> Result<&Path, BadName> {
    let bad = |why| BadName {
        name: rel.to_owned(),
        expected: "a relative path",
        why,
    };
    if rel.is_empty() {
        return Err(bad("empty"));
    }
    if rel.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    let path = Path::new(rel);
    for c in path.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(bad("contains a '..' component")),
            Component::RootDir | Component::Prefix(_) => return Err(bad("starts with '/'")),
        }
    }
    Ok(path)
}

/// A root directory whose contents are untrusted; see the module docs.
#[derive(Debug, Clone)]
pub struct Confined {
    /// The root as given (used to build and show paths).
    root: PathBuf,
    /// The root with every symlink resolved.
    real: PathBuf,
}

impl Confined {
    /// The tree at `root` (which may itself be reached through symlinks).
    pub fn new(root: &Path) -> Result<Confined, PathError> {
        let real = root.canonicalize().map_err(|source| PathError::Io {
            path: root.to_owned(),
            source,
        })?;
        Ok(Confined {
            root: root.to_owned(),
            real,
        })
    }

    /// The root as given.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root's real location.
    pub fn real_root(&self) -> &Path {
        &self.real
    }

    /// `root/rel` for a relative path `rel` from contents or from the loader, checked with
    /// [`relative_path`] and [`Confined::check`]. Returns the joined (not the resolved) path,
    /// so file names and messages stay the ones the tree uses.
    pub fn join(&self, rel: &str) -> Result<PathBuf, PathError> {
        let rel = relative_path(rel).map_err(|name| PathError::Name {
            path: self.root.clone(),
            name,
        })?;
        let path = self.root.join(rel);
        self.check(&path)?;
        Ok(path)
    }

    /// `dir/name` for a file name from contents, checked with [`base_name`] and
    /// [`Confined::check`]. `dir` is a path under the root.
    pub fn join_name(&self, dir: &Path, name: &str) -> Result<PathBuf, PathError> {
        let name = base_name(name).map_err(|name| PathError::Name {
            path: dir.to_owned(),
            name,
        })?;
        let path = dir.join(name);
        self.check(&path)?;
        Ok(path)
    }

    /// Fails when `path` (absolute, or relative to the working directory like the root)
    /// resolves to a place outside the root. A path that does not exist passes: opening it
    /// fails as "not found", which the callers treat as an absent file. A dangling symlink
    /// is treated the same way, whatever it names.
    pub fn check(&self, path: &Path) -> Result<(), PathError> {
        match path.canonicalize() {
            Ok(target) if target.starts_with(&self.real) => Ok(()),
            Ok(target) => Err(PathError::Escapes {
                path: path.to_owned(),
                target,
                root: self.real.clone(),
            }),
            // A file where a directory was expected: nothing can be opened below it either.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(())
            }
            Err(source) => Err(PathError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn base_names() {
        assert_eq!(
            base_name("foo-1.0-alt1.src.rpm"),
            Ok("foo-1.0-alt1.src.rpm")
        );
        assert_eq!(base_name("..foo"), Ok("..foo"));
        for (bad, why) in [
            ("", "empty"),
            (".", "a directory reference"),
            ("..", "a directory reference"),
            ("/etc/shadow", "contains '/'"),
            ("../x.rpm", "contains '/'"),
            ("a/b", "contains '/'"),
            ("a\0b", "contains a NUL byte"),
        ] {
            let e = base_name(bad).unwrap_err();
            assert_eq!(e.why, why, "{bad:?}");
            assert!(e.to_string().contains("is not a file name"), "{e}");
        }
    }

    #[test]
    fn relative_paths() {
        assert!(relative_path("build/100/x86_64/srpm/foo.src.rpm").is_ok());
        assert!(relative_path("./build//100/x").is_ok());
        for (bad, why) in [
            ("", "empty"),
            ("/etc/shadow", "starts with '/'"),
            ("build/../../etc/shadow", "contains a '..' component"),
            ("..", "contains a '..' component"),
            ("a\0", "contains a NUL byte"),
        ] {
            assert_eq!(relative_path(bad).unwrap_err().why, why, "{bad:?}");
        }
    }

    #[test]
    fn symlinks_inside_pass_outside_fail() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "x").unwrap();
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("files/x86_64/RPMS")).unwrap();
        fs::create_dir_all(r.join("x86_64")).unwrap();
        fs::write(r.join("files/x86_64/RPMS/a.rpm"), "a").unwrap();
        symlink("../files/x86_64/RPMS", r.join("x86_64/RPMS.classic")).unwrap();
        symlink(outside.path().join("secret"), r.join("x86_64/evil.rpm")).unwrap();
        symlink(outside.path(), r.join("x86_64/RPMS.evil")).unwrap();
        symlink("/nonexistent/target", r.join("x86_64/dangling")).unwrap();
        // The root reached through a symlink (as `…/date/latest`).
        let link_root = tempfile::tempdir().unwrap();
        symlink(r, link_root.path().join("latest")).unwrap();
        for root in [r.to_owned(), link_root.path().join("latest")] {
            let c = Confined::new(&root).unwrap();
            assert_eq!(
                c.join("x86_64/RPMS.classic/a.rpm").unwrap(),
                root.join("x86_64/RPMS.classic/a.rpm")
            );
            let dir = root.join("x86_64/RPMS.classic");
            assert!(c.join_name(&dir, "a.rpm").is_ok());
            assert!(c.join("x86_64/missing.rpm").is_ok());
            assert!(c.join("x86_64/dangling").is_ok());
            assert!(c.join("x86_64/RPMS.classic/a.rpm/below").is_ok());
            let e = c.join("x86_64/evil.rpm").unwrap_err();
            assert!(matches!(e, PathError::Escapes { .. }), "{e}");
            assert!(e.to_string().contains("outside"), "{e}");
            assert!(e.to_string().contains("x86_64/evil.rpm"), "{e}");
            let e = c
                .join_name(&root.join("x86_64/RPMS.evil"), "secret")
                .unwrap_err();
            assert!(matches!(e, PathError::Escapes { .. }), "{e}");
            let e = c.join_name(&dir, "/etc/shadow").unwrap_err();
            assert!(matches!(e, PathError::Name { .. }), "{e}");
            assert!(c.join("../etc/shadow").is_err());
            assert!(c.join("/etc/shadow").is_err());
        }
    }
}
