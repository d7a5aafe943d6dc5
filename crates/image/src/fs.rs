//! A read-only file tree, and path resolution that never leaves it.

use std::io::Read;

use crate::error::{Error, Result};

/// How many symlinks one resolution may follow before it is called a loop (Linux's limit).
pub const MAX_SYMLINK_HOPS: u32 = 40;

/// The kind of a tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A socket.
    Socket,
}

impl FileKind {
    /// The kind from the type bits of a POSIX `st_mode` (`S_IFMT`); `None` for unknown bits.
    pub fn from_mode(mode: u32) -> Option<Self> {
        Some(match mode & 0o170000 {
            0o100000 => FileKind::Regular,
            0o040000 => FileKind::Directory,
            0o120000 => FileKind::Symlink,
            0o020000 => FileKind::CharDevice,
            0o060000 => FileKind::BlockDevice,
            0o010000 => FileKind::Fifo,
            0o140000 => FileKind::Socket,
            _ => return None,
        })
    }

    /// The `S_IFMT` type bits of this kind.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileKind::Regular => 0o100000,
            FileKind::Directory => 0o040000,
            FileKind::Symlink => 0o120000,
            FileKind::CharDevice => 0o020000,
            FileKind::BlockDevice => 0o060000,
            FileKind::Fifo => 0o010000,
            FileKind::Socket => 0o140000,
        }
    }
}

/// What `lstat` would say of an entry (symlinks are not followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The entry's kind.
    pub kind: FileKind,
    /// Permission bits (`0o7777`), without the type bits.
    pub permissions: u32,
    /// Size in bytes (of the content for regular files, of the target for symlinks).
    pub size: u64,
    /// Modification time, seconds since the Unix epoch (0 where the format has none).
    pub mtime: i64,
    /// Owner id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl Metadata {
    /// The full POSIX mode: type bits and permission bits.
    pub fn mode(&self) -> u32 {
        self.kind.mode_bits() | (self.permissions & 0o7777)
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name (one component, never `.` or `..`; non-UTF-8 bytes replaced).
    pub name: String,
    /// The entry's metadata.
    pub metadata: Metadata,
}

/// A normalised absolute path inside a tree: `/`, `/etc`, `/var/lib/rpm/Packages`.
///
/// `.` components are dropped and `..` never climbs above the root, so a path built from
/// hostile input still names something inside the tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TreePath(String);

impl TreePath {
    /// The root `/`.
    pub fn root() -> Self {
        TreePath("/".to_owned())
    }

    /// Normalises `path` (absolute or relative to the root).
    pub fn new(path: &str) -> Self {
        TreePath::root().join(path)
    }

    /// `self` joined with `rel` (an absolute `rel` starts again from the root).
    pub fn join(&self, rel: &str) -> Self {
        let mut parts: Vec<&str> = if rel.starts_with('/') {
            Vec::new()
        } else {
            self.components().collect()
        };
        for c in rel.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        TreePath(format!("/{}", parts.join("/")))
    }

    /// The components, root excluded.
    pub fn components(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The parent directory (the root's parent is the root).
    pub fn parent(&self) -> Self {
        self.join("..")
    }

    /// The last component (`""` for the root).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }
}

impl std::fmt::Display for TreePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A read-only file tree. Paths are [`TreePath`]s; no method follows a symlink in the last
/// component (use [`resolve`] first to follow them, inside the tree).
///
/// Implementations must bound their own structure walks: a corrupt image yields
/// [`Error::Corrupt`], never an endless loop or an unbounded allocation.
pub trait FileTree: Send + Sync {
    /// Metadata of `path` (intermediate components must be directories, not symlinks: callers
    /// that need symlinks in the middle followed use [`resolve`]).
    fn metadata(&self, path: &TreePath) -> Result<Metadata>;

    /// The entries of the directory `path`, in the format's own order.
    fn read_dir(&self, path: &TreePath) -> Result<Vec<DirEntry>>;

    /// The target of the symlink `path`, as stored.
    fn read_link(&self, path: &TreePath) -> Result<String>;

    /// A reader of the content of the regular file `path`.
    fn open(&self, path: &TreePath) -> Result<Box<dyn Read + Send + '_>>;

    /// The whole content of the regular file `path`, refusing files over `limit` bytes.
    fn read_file(&self, path: &TreePath, limit: u64) -> Result<Vec<u8>> {
        let meta = self.metadata(path)?;
        if meta.kind != FileKind::Regular {
            return Err(Error::WrongKind {
                path: path.to_string(),
                detail: format!("expected a regular file, found {:?}", meta.kind),
            });
        }
        if meta.size > limit {
            return Err(Error::Limit {
                what: format!("size of {path} ({} bytes)", meta.size),
                limit,
            });
        }
        let mut out = Vec::with_capacity(meta.size as usize);
        self.open(path)?
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|source| Error::Io { offset: 0, source })?;
        if out.len() as u64 != meta.size {
            return Err(Error::corrupt(
                "file content",
                0,
                format!(
                    "{path}: read {} bytes, the metadata says {}",
                    out.len(),
                    meta.size
                ),
            ));
        }
        Ok(out)
    }
}

/// Resolves `path` inside `tree`, following every symlink (in the middle and at the end) with
/// the target interpreted inside the tree: an absolute target starts at the tree's root and
/// `..` never climbs above it. More than [`MAX_SYMLINK_HOPS`] hops is [`Error::Limit`].
///
/// Returns the resolved path and its metadata.
pub fn resolve(tree: &dyn FileTree, path: &TreePath) -> Result<(TreePath, Metadata)> {
    let mut hops = 0u32;
    let mut pending: Vec<String> = path.components().rev().map(str::to_owned).collect();
    let mut current = TreePath::root();
    let mut meta = tree.metadata(&current)?;
    while let Some(component) = pending.pop() {
        if meta.kind != FileKind::Directory {
            return Err(Error::WrongKind {
                path: current.to_string(),
                detail: format!("not a directory (while resolving {path})"),
            });
        }
        if component == "." {
            continue;
        }
        if component == ".." {
            current = current.parent();
            meta = tree.metadata(&current)?;
            continue;
        }
        let next = current.join(&component);
        let next_meta = tree.metadata(&next)?;
        if next_meta.kind == FileKind::Symlink {
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(Error::Limit {
                    what: format!("symlink hops while resolving {path}"),
                    limit: MAX_SYMLINK_HOPS as u64,
                });
            }
            let target = tree.read_link(&next)?;
            // The target replaces this component; the rest of the path follows it.
            let base = if target.starts_with('/') {
                TreePath::root()
            } else {
                current.clone()
            };
            for c in target.split('/').rev() {
                if !c.is_empty() {
                    pending.push(c.to_owned());
                }
            }
            current = base;
            meta = tree.metadata(&current)?;
            // Re-walk from `base`: its components are already resolved.
            continue;
        }
        current = next;
        meta = next_meta;
    }
    Ok((current, meta))
}

/// Every entry of `tree` below `start` (depth first, directories before their content),
/// without following symlinks. Fails with [`Error::Limit`] beyond `max_entries` entries or
/// `max_depth` levels, so a cyclic directory graph in a corrupt image ends.
pub fn walk(
    tree: &dyn FileTree,
    start: &TreePath,
    max_entries: u64,
    max_depth: u32,
) -> Result<Vec<(TreePath, Metadata)>> {
    let mut out = Vec::new();
    let mut stack = vec![(start.clone(), 0u32)];
    while let Some((dir, depth)) = stack.pop() {
        if depth >= max_depth {
            return Err(Error::Limit {
                what: format!("directory depth below {start}"),
                limit: max_depth as u64,
            });
        }
        let mut entries = tree.read_dir(&dir)?;
        entries.sort_by(|a, b| b.name.cmp(&a.name));
        for entry in entries {
            if entry.name.is_empty()
                || entry.name == "."
                || entry.name == ".."
                || entry.name.contains('/')
            {
                return Err(Error::corrupt(
                    "directory entry",
                    0,
                    format!("invalid name {:?} in {dir}", entry.name),
                ));
            }
            let path = dir.join(&entry.name);
            if entry.metadata.kind == FileKind::Directory {
                stack.push((path.clone(), depth + 1));
            }
            out.push((path, entry.metadata));
            if out.len() as u64 > max_entries {
                return Err(Error::Limit {
                    what: format!("entries below {start}"),
                    limit: max_entries,
                });
            }
        }
    }
    Ok(out)
}
