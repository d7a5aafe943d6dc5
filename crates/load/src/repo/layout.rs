//! The on-disk layout of a branch snapshot (original-system §3.1–3.2), read without any database.
//!
//! ```text
//! files/list/                 required; task.info and <arch>.hash.xz live here
//! files/SRPMS/<name>          source packages
//! files/<arch>/RPMS/<name>    binary packages (used to compute missing digests)
//! <arch>/base/release         "Components: a b c", optional "BLAKE2b" key
//! <arch>/base/srclist.classic.xz, <arch>/base/pkglist.<comp>.xz   APT header lists
//! <arch>/RPMS.<comp>/<file>   binary packages listed by pkglist.<comp>
//! ```

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::bounded::{self, ReadLimits};
use crate::safe_path::{base_name, Confined, PathError};

/// Architecture directory names a snapshot may have, in the original's order.
pub const ARCHS: &[&str] = &[
    "src",
    "aarch64",
    "armh",
    "i586",
    "ppc64le",
    "x86_64",
    "x86_64-i586",
    "noarch",
    "mipsel",
    "riscv64",
    "e2k",
    "e2kv4",
    "e2kv5",
    "e2kv6",
];

/// A problem with the snapshot's files, naming the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// `files/list` is missing or no architecture directory exists.
    #[error("{path}: not regular repository structure root: {why}")]
    NotARepository {
        /// The snapshot root.
        path: PathBuf,
        /// What is missing.
        why: String,
    },
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file's content is malformed.
    #[error("{path}: line {line}: {why}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// A name from the snapshot's files leads outside the snapshot.
    #[error(transparent)]
    Path(#[from] PathError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Io {
        path: path.to_owned(),
        source,
    }
}

/// One architecture directory of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchDir {
    /// Directory name (one of [`ARCHS`]).
    pub name: String,
    /// Components named by `<arch>/base/release` (empty without a `base` directory).
    pub components: Vec<String>,
    /// Whether `release` has a `BLAKE2b` key.
    pub has_blake2b: bool,
}

/// Which APT header list a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// `srclist.classic.xz`: source packages.
    Source,
    /// `pkglist.<comp>.xz`: binary packages of one component.
    Binary {
        /// The component.
        component: String,
    },
}

/// An APT header list to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderList {
    /// Architecture directory it belongs to.
    pub arch: String,
    /// Source or binary (with component).
    pub kind: ListKind,
    /// Full path of the `.xz` file.
    pub path: PathBuf,
}

/// The snapshot's structure: everything decided before any package is read.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The snapshot root.
    pub root: PathBuf,
    /// Architecture directories in [`ARCHS`] order.
    pub arches: Vec<ArchDir>,
    /// Header lists to read.
    pub lists: Vec<HeaderList>,
    /// `files/list/task.info` pairs, in file order.
    pub task_info: Vec<(String, String)>,
    /// True when any `release` names a BLAKE2b digest.
    pub use_blake2b: bool,
    /// The root, through which every file of the snapshot is reached.
    pub confined: Confined,
    /// Caps on what is read from the snapshot's files.
    pub limits: ReadLimits,
}

impl Layout {
    /// Component names in first-seen order across all arches.
    pub fn components(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in &self.arches {
            for c in &a.components {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }

    /// `files/SRPMS/<name>`; `name` (from a list) must be a file name and the path must
    /// stay inside the snapshot.
    pub fn srpm_path(&self, name: &str) -> Result<PathBuf, LayoutError> {
        Ok(self
            .confined
            .join_name(&self.root.join("files/SRPMS"), name)?)
    }

    /// `<arch>/RPMS.<comp>/<name>`, checked as [`Layout::srpm_path`].
    pub fn rpm_path(&self, arch: &str, comp: &str, name: &str) -> Result<PathBuf, LayoutError> {
        let dir = self.root.join(arch).join(format!("RPMS.{comp}"));
        Ok(self.confined.join_name(&dir, name)?)
    }

    /// The first existing `files/<arch>/RPMS/<name>` (for computing missing digests),
    /// checked as [`Layout::srpm_path`].
    pub fn find_binary_file(&self, name: &str) -> Result<Option<PathBuf>, LayoutError> {
        for a in &self.arches {
            let dir = self.root.join("files").join(&a.name).join("RPMS");
            let p = self.confined.join_name(&dir, name)?;
            if p.is_file() {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }
}

/// Reads the structure of the snapshot at `root` (no package is opened), with the default
/// [`ReadLimits`].
pub fn read_layout(root: &Path) -> Result<Layout, LayoutError> {
    read_layout_with(root, ReadLimits::default())
}

/// [`read_layout`] with explicit limits. Every file is reached through [`Confined`]: a
/// symlink that leads out of the snapshot is an error.
pub fn read_layout_with(root: &Path, limits: ReadLimits) -> Result<Layout, LayoutError> {
    let confined = Confined::new(root)?;
    let list_dir = root.join("files/list");
    if !list_dir.is_dir() {
        return Err(LayoutError::NotARepository {
            path: root.to_owned(),
            why: "files/list is not a directory".into(),
        });
    }
    if !root.join("files/SRPMS").is_dir() {
        return Err(LayoutError::NotARepository {
            path: root.to_owned(),
            why: "files/SRPMS is not a directory".into(),
        });
    }
    let mut arches = Vec::new();
    // Deliberately in ARCHS order, not directory order: the same snapshot always loads the same way.
    for &arch in ARCHS {
        let dir = root.join(arch);
        if !dir.is_dir() {
            continue;
        }
        let base = dir.join("base");
        let (components, has_blake2b) = if base.is_dir() {
            read_release(&confined.join(&format!("{arch}/base/release"))?, &limits)?
        } else {
            (Vec::new(), false)
        };
        arches.push(ArchDir {
            name: arch.to_owned(),
            components,
            has_blake2b,
        });
    }
    if arches.is_empty() {
        return Err(LayoutError::NotARepository {
            path: root.to_owned(),
            why: format!(
                "none of the architecture directories {} exists",
                ARCHS.join(", ")
            ),
        });
    }
    let mut layout = Layout {
        root: root.to_owned(),
        use_blake2b: arches.iter().any(|a| a.has_blake2b),
        arches,
        lists: Vec::new(),
        task_info: read_task_info(&confined.join("files/list/task.info")?, &limits)?,
        confined,
        limits,
    };
    // As the original: every arch is probed for srclist.classic and for the pkglists of every
    // component seen so far (components accumulate across arches).
    let mut seen: Vec<String> = Vec::new();
    for a in &layout.arches {
        let base = root.join(&a.name).join("base");
        if !base.is_dir() {
            continue;
        }
        for c in &a.components {
            if !seen.contains(c) {
                seen.push(c.clone());
            }
        }
        let src = layout
            .confined
            .join(&format!("{}/base/srclist.classic.xz", a.name))?;
        if src.is_file() {
            layout.lists.push(HeaderList {
                arch: a.name.clone(),
                kind: ListKind::Source,
                path: src,
            });
        }
        for c in &seen {
            let p = layout
                .confined
                .join(&format!("{}/base/pkglist.{c}.xz", a.name))?;
            if p.is_file() {
                layout.lists.push(HeaderList {
                    arch: a.name.clone(),
                    kind: ListKind::Binary {
                        component: c.clone(),
                    },
                    path: p,
                });
            }
        }
    }
    Ok(layout)
}

/// Reads `<arch>/base/release`: the `Components:` list and whether a `BLAKE2b` key is present.
/// Component names become parts of file names (`RPMS.<comp>`, `pkglist.<comp>.xz`), so each
/// must be a plain file name.
pub fn read_release(path: &Path, limits: &ReadLimits) -> Result<(Vec<String>, bool), LayoutError> {
    let text = read_text(path, limits)?;
    let mut components = None;
    let mut blake2b = false;
    for (i, line) in text.lines().enumerate() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key == "Components" && components.is_none() {
            let list: Vec<String> = value.split_whitespace().map(str::to_owned).collect();
            if list.is_empty() {
                return Err(LayoutError::Malformed {
                    path: path.to_owned(),
                    line: i + 1,
                    why: "Components: names no component".into(),
                });
            }
            if let Some(bad) = list.iter().find_map(|c| base_name(c).err()) {
                return Err(LayoutError::Malformed {
                    path: path.to_owned(),
                    line: i + 1,
                    why: format!("component {bad}"),
                });
            }
            components = Some(list);
        }
        if key == "BLAKE2b" {
            blake2b = true;
        }
    }
    let components = components.ok_or_else(|| LayoutError::Malformed {
        path: path.to_owned(),
        line: text.lines().count(),
        why: "no 'Components:' line".into(),
    })?;
    Ok((components, blake2b))
}

/// Reads `files/list/task.info`: lines of exactly two whitespace-separated tokens (others skipped).
pub fn read_task_info(
    path: &Path,
    limits: &ReadLimits,
) -> Result<Vec<(String, String)>, LayoutError> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let text = read_text(path, limits)?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            match (it.next(), it.next(), it.next()) {
                (Some(k), Some(v), None) => Some((k.to_owned(), v.to_owned())),
                _ => None,
            }
        })
        .collect())
}

/// Longest line of a hash list: a digest, a blank and a file name (`NAME_MAX` is 255).
const MAX_HASH_LINE: u64 = 4096;

/// Reads `files/list/<arch>.hash.xz`: `<sha256 hex> <file name>` lines, streamed (the
/// decompressed size is capped by `limits.list_bytes`, a line by 4 KiB). Names must be file
/// names.
pub fn read_hash_list(
    path: &Path,
    limits: &ReadLimits,
) -> Result<Vec<(String, [u8; 32])>, LayoutError> {
    let reader = BufReader::new(bounded::xz_file(path, limits.list()).map_err(io_err(path))?);
    read_hash_lines(reader, path)
}

/// [`read_hash_list`] over decompressed text (`path` names it in errors).
pub fn read_hash_lines(
    mut reader: impl BufRead,
    path: &Path,
) -> Result<Vec<(String, [u8; 32])>, LayoutError> {
    let mut out = Vec::new();
    let mut raw = Vec::new();
    for i in 0.. {
        raw.clear();
        (&mut reader)
            .take(MAX_HASH_LINE + 1)
            .read_until(b'\n', &mut raw)
            .map_err(io_err(path))?;
        if raw.is_empty() {
            break;
        }
        if raw.len() as u64 > MAX_HASH_LINE {
            return Err(LayoutError::Malformed {
                path: path.to_owned(),
                line: i + 1,
                why: format!("line longer than {MAX_HASH_LINE} bytes"),
            });
        }
        let text = String::from_utf8_lossy(&raw);
        let line = text.strip_suffix('\n').unwrap_or(&text);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let mut it = line.split_whitespace();
        let (Some(hex_digest), Some(name)) = (it.next(), it.next()) else {
            return Err(LayoutError::Malformed {
                path: path.to_owned(),
                line: i + 1,
                why: "expected '<sha256> <file name>'".into(),
            });
        };
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hex_digest, &mut digest).map_err(|_| LayoutError::Malformed {
            path: path.to_owned(),
            line: i + 1,
            why: format!("'{hex_digest}' is not a SHA-256 hex digest"),
        })?;
        base_name(name).map_err(|e| LayoutError::Malformed {
            path: path.to_owned(),
            line: i + 1,
            why: e.to_string(),
        })?;
        out.push((name.to_owned(), digest));
    }
    Ok(out)
}

/// Decompresses an `.xz` file whole, capped by the default list limit (the loaders stream
/// their lists; this is for tools and tests).
pub fn read_xz(path: &Path) -> Result<Vec<u8>, LayoutError> {
    let mut out = Vec::new();
    bounded::xz_file(path, ReadLimits::default().list())
        .and_then(|mut r| r.read_to_end(&mut out))
        .map_err(io_err(path))?;
    Ok(out)
}

fn read_text(path: &Path, limits: &ReadLimits) -> Result<String, LayoutError> {
    let bytes = bounded::read_file_capped(path, limits.small_file()).map_err(io_err(path))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Write;

    fn write_xz(path: &Path, text: &str) {
        let f = fs::File::create(path).unwrap();
        let mut enc = liblzma::write::XzEncoder::new(f, 6);
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap();
    }

    fn skeleton() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("files/list")).unwrap();
        fs::create_dir_all(r.join("files/SRPMS")).unwrap();
        for arch in ["x86_64", "noarch"] {
            fs::create_dir_all(r.join(arch).join("base")).unwrap();
            fs::write(
                r.join(arch).join("base/release"),
                "Origin: ALT Linux Team\nComponents: classic gostcrypto\nBLAKE2b:\n",
            )
            .unwrap();
            write_xz(&r.join(arch).join("base/pkglist.classic.xz"), "");
        }
        write_xz(&r.join("noarch/base/srclist.classic.xz"), "");
        fs::write(
            r.join("files/list/task.info"),
            "task 12345\nbad line here\nkey value\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn reads_structure_in_archs_order() {
        let d = skeleton();
        let l = read_layout(d.path()).unwrap();
        let names: Vec<_> = l.arches.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["x86_64", "noarch"]);
        assert_eq!(l.components(), ["classic", "gostcrypto"]);
        assert!(l.use_blake2b);
        assert_eq!(
            l.task_info,
            [
                ("task".to_owned(), "12345".to_owned()),
                ("key".into(), "value".into())
            ]
        );
        assert_eq!(l.lists.len(), 3);
        assert!(l
            .lists
            .iter()
            .any(|h| h.kind == ListKind::Source && h.arch == "noarch"));
    }

    #[test]
    fn rejects_non_repositories() {
        let d = tempfile::tempdir().unwrap();
        let e = read_layout(d.path()).unwrap_err();
        assert!(e.to_string().contains("files/list"), "{e}");
        fs::create_dir_all(d.path().join("files/list")).unwrap();
        fs::create_dir_all(d.path().join("files/SRPMS")).unwrap();
        let e = read_layout(d.path()).unwrap_err();
        assert!(e.to_string().contains("architecture"), "{e}");
    }

    #[test]
    fn malformed_release_names_the_file() {
        let d = skeleton();
        fs::write(d.path().join("x86_64/base/release"), "Origin: x\n").unwrap();
        let e = read_layout(d.path()).unwrap_err();
        assert!(e.to_string().contains("x86_64/base/release"), "{e}");
        assert!(e.to_string().contains("Components"), "{e}");
    }

    #[test]
    fn hash_lists() {
        let d = skeleton();
        let p = d.path().join("files/list/src.hash.xz");
        let digest = "ab".repeat(32);
        write_xz(&p, &format!("{digest} foo-1.0-alt1.src.rpm\n"));
        let l = read_hash_list(&p, &ReadLimits::default()).unwrap();
        assert_eq!(l[0].0, "foo-1.0-alt1.src.rpm");
        assert_eq!(l[0].1, [0xab; 32]);
        write_xz(&p, "nothex foo.rpm\n");
        let e = read_hash_list(&p, &ReadLimits::default()).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }
}
