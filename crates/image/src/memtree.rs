//! An in-memory [`FileTree`] built from archive members: the tree of a tar image or of the
//! merged layers of a container image.
//!
//! Every member's metadata is kept; file content is kept only where the builder chose to
//! (bytes in memory, or a range of a random-access source such as an uncompressed tar file).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fs::{DirEntry, FileKind, FileTree, Metadata, TreePath, MAX_SYMLINK_HOPS};
use crate::source::{Cursor, ReadAt, Slice};

/// Where the content of a regular file is.
#[derive(Clone)]
pub enum Content {
    /// Not kept (the file was not selected while the archive streamed by).
    NotKept,
    /// Held in memory.
    Bytes(Arc<[u8]>),
    /// `len` bytes at `offset` of the tree's source number `source`.
    Stored {
        /// Index into the tree's sources.
        source: usize,
        /// Offset in that source.
        offset: u64,
        /// Length.
        len: u64,
    },
    /// A GNU sparse member, whose stored bytes are not the file's content.
    Sparse,
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Content::NotKept => f.write_str("NotKept"),
            Content::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Content::Stored {
                source,
                offset,
                len,
            } => write!(f, "Stored({source}, {offset}, {len})"),
            Content::Sparse => f.write_str("Sparse"),
        }
    }
}

/// Which archive member a node came from: (layer, member number), so a second pass over
/// the same archive can keep exactly that member's content.
pub type Origin = (u32, u64);

/// A new entry for [`MemTree::insert`].
#[derive(Debug, Clone)]
pub struct NewNode {
    /// Metadata (for directories the size is ignored).
    pub metadata: Metadata,
    /// Symlink target.
    pub link: Option<String>,
    /// Content of a regular file.
    pub content: Content,
    /// The member it came from.
    pub origin: Origin,
}

#[derive(Debug, Clone)]
struct Node {
    meta: Metadata,
    link: Option<String>,
    content: Content,
    children: BTreeMap<String, usize>,
    origin: Origin,
    /// The layer that last wrote this node (whiteouts only hide lower layers).
    layer: u32,
}

/// An in-memory file tree.
pub struct MemTree {
    nodes: Vec<Node>,
    sources: Vec<Arc<dyn ReadAt>>,
    entries: u64,
}

impl Default for MemTree {
    fn default() -> Self {
        MemTree::new()
    }
}

fn implicit_dir() -> Metadata {
    Metadata {
        kind: FileKind::Directory,
        permissions: 0o755,
        size: 0,
        mtime: 0,
        uid: 0,
        gid: 0,
    }
}

impl MemTree {
    /// A tree holding only the root directory.
    pub fn new() -> Self {
        MemTree {
            nodes: vec![Node {
                meta: implicit_dir(),
                link: None,
                content: Content::NotKept,
                children: BTreeMap::new(),
                origin: (0, 0),
                layer: 0,
            }],
            sources: Vec::new(),
            entries: 1,
        }
    }

    /// Registers a random-access source for [`Content::Stored`]; returns its number.
    pub fn add_source(&mut self, source: Arc<dyn ReadAt>) -> usize {
        self.sources.push(source);
        self.sources.len() - 1
    }

    /// How many entries were inserted (including replaced ones); bounds the builders.
    pub fn inserted(&self) -> u64 {
        self.entries
    }

    fn lookup(&self, path: &TreePath) -> Option<usize> {
        let mut id = 0;
        for c in path.components() {
            id = *self.nodes[id].children.get(c)?;
        }
        Some(id)
    }

    fn node(&self, path: &TreePath) -> Result<&Node> {
        self.lookup(path)
            .map(|id| &self.nodes[id])
            .ok_or_else(|| Error::NotFound(path.to_string()))
    }

    /// The member a path's node came from, and its content, for second passes.
    pub fn origin(&self, path: &TreePath) -> Option<(Origin, &Content)> {
        self.lookup(path).map(|id| {
            let n = &self.nodes[id];
            (n.origin, &n.content)
        })
    }

    /// The directory that `parent` (a path whose components may be symlinks) stands for,
    /// creating missing directories with default metadata and replacing non-directories,
    /// the way extracting an archive would. Symlinks in it are followed inside the tree.
    fn dir_for(&mut self, parent: &TreePath, layer: u32) -> Result<usize> {
        let mut pending: Vec<String> = parent.components().rev().map(str::to_owned).collect();
        let mut stack: Vec<usize> = vec![0];
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            let cur = *stack.last().unwrap_or(&0);
            if c == ".." {
                if stack.len() > 1 {
                    stack.pop();
                }
                continue;
            }
            if c == "." {
                continue;
            }
            match self.nodes[cur].children.get(&c).copied() {
                Some(id) if self.nodes[id].meta.kind == FileKind::Directory => stack.push(id),
                Some(id) if self.nodes[id].meta.kind == FileKind::Symlink => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(Error::Limit {
                            what: format!("symlink hops while placing an entry below {parent}"),
                            limit: u64::from(MAX_SYMLINK_HOPS),
                        });
                    }
                    let target = self.nodes[id].link.clone().unwrap_or_default();
                    if target.starts_with('/') {
                        stack.truncate(1);
                    }
                    pending.extend(
                        target
                            .split('/')
                            .filter(|s| !s.is_empty())
                            .rev()
                            .map(str::to_owned),
                    );
                }
                _ => {
                    let id = self.push(Node {
                        meta: implicit_dir(),
                        link: None,
                        content: Content::NotKept,
                        children: BTreeMap::new(),
                        origin: (layer, 0),
                        layer,
                    });
                    self.nodes[cur].children.insert(c, id);
                    stack.push(id);
                }
            }
        }
        Ok(*stack.last().unwrap_or(&0))
    }

    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Inserts (or replaces) the entry at `path` as written by `layer`. A directory over a
    /// directory only updates the metadata; anything else replaces the old entry and what
    /// was below it. Parents that are symlinks are followed inside the tree.
    pub fn insert(&mut self, path: &TreePath, new: NewNode, layer: u32) -> Result<()> {
        self.entries += 1;
        if path.is_root() {
            if new.metadata.kind == FileKind::Directory {
                self.nodes[0].meta = new.metadata;
                self.nodes[0].layer = layer;
            }
            return Ok(());
        }
        let dir = self.dir_for(&path.parent(), layer)?;
        let name = path.file_name().to_owned();
        if let Some(&old) = self.nodes[dir].children.get(&name) {
            if self.nodes[old].meta.kind == FileKind::Directory
                && new.metadata.kind == FileKind::Directory
            {
                let n = &mut self.nodes[old];
                n.meta = new.metadata;
                n.origin = new.origin;
                n.layer = layer;
                return Ok(());
            }
        }
        let id = self.push(Node {
            meta: new.metadata,
            link: new.link,
            content: new.content,
            children: BTreeMap::new(),
            origin: new.origin,
            layer,
        });
        self.nodes[dir].children.insert(name, id);
        Ok(())
    }

    /// The metadata, content and origin of the regular file at `target` (a hard link's
    /// target, looked up without following symlinks).
    pub fn hard_link_source(&self, target: &TreePath) -> Option<(Metadata, Content, Origin)> {
        let n = &self.nodes[self.lookup(target)?];
        (n.meta.kind == FileKind::Regular).then(|| (n.meta.clone(), n.content.clone(), n.origin))
    }

    /// Applies a whiteout written by `layer`: hides `path` as lower layers wrote it (what
    /// `layer` itself wrote stays).
    pub fn whiteout(&mut self, path: &TreePath, layer: u32) {
        if path.is_root() {
            return;
        }
        let Some(parent) = self.lookup(&path.parent()) else {
            return;
        };
        let name = path.file_name();
        let Some(&id) = self.nodes[parent].children.get(name) else {
            return;
        };
        self.prune_lower(id, layer);
        if self.nodes[id].layer < layer && self.nodes[id].children.is_empty() {
            self.nodes[parent].children.remove(name);
        }
    }

    /// Applies an opaque-directory marker written by `layer`: everything lower layers wrote
    /// below `dir` is hidden.
    pub fn make_opaque(&mut self, dir: &TreePath, layer: u32) {
        if let Some(id) = self.lookup(dir) {
            self.prune_lower(id, layer);
        }
    }

    /// Removes every descendant of `id` written below `layer`, keeping what `layer` wrote
    /// (and the directories leading to it). Iterative: a deep tree cannot overflow the stack.
    fn prune_lower(&mut self, id: usize, layer: u32) {
        let mut stack = vec![id];
        let mut order = Vec::new();
        while let Some(d) = stack.pop() {
            order.push(d);
            for &c in self.nodes[d].children.values() {
                if self.nodes[c].meta.kind == FileKind::Directory {
                    stack.push(c);
                }
            }
        }
        // Children before parents, so emptied lower directories disappear too.
        for &d in order.iter().rev() {
            let kids: Vec<(String, usize)> = self.nodes[d]
                .children
                .iter()
                .map(|(k, &v)| (k.clone(), v))
                .collect();
            for (name, c) in kids {
                let n = &self.nodes[c];
                if n.layer < layer && n.children.is_empty() {
                    self.nodes[d].children.remove(&name);
                }
            }
        }
    }

    /// Random access to the content of the regular file `path` (no symlinks followed).
    pub fn content_source(&self, path: &TreePath) -> Result<Arc<dyn ReadAt>> {
        let n = self.node(path)?;
        if n.meta.kind != FileKind::Regular {
            return Err(Error::WrongKind {
                path: path.to_string(),
                detail: format!("expected a regular file, found {:?}", n.meta.kind),
            });
        }
        match &n.content {
            Content::Bytes(b) => Ok(Arc::new(b.to_vec())),
            Content::Stored {
                source,
                offset,
                len,
            } => {
                let src = self.sources.get(*source).ok_or_else(|| {
                    Error::corrupt("tree", 0, format!("{path}: source {source} missing"))
                })?;
                Ok(Arc::new(Slice::new(Arc::clone(src), *offset, *len)?))
            }
            other => Err(unavailable(path, other)),
        }
    }

    fn open_content(
        &self,
        path: &TreePath,
        content: &Content,
    ) -> Result<Box<dyn Read + Send + '_>> {
        match content {
            Content::Bytes(b) => Ok(Box::new(std::io::Cursor::new(Arc::clone(b)))),
            Content::Stored {
                source,
                offset,
                len,
            } => {
                let src = self.sources.get(*source).ok_or_else(|| {
                    Error::corrupt("tree", 0, format!("{path}: source {source} missing"))
                })?;
                Ok(Box::new(Cursor::new(
                    Slice::new(Arc::clone(src), *offset, *len)?,
                    0,
                )))
            }
            other => Err(unavailable(path, other)),
        }
    }
}

/// Why the content of `path` cannot be read.
fn unavailable(path: &TreePath, content: &Content) -> Error {
    match content {
        Content::Sparse => Error::Unsupported {
            what: "GNU sparse tar member",
            detail: path.to_string(),
        },
        _ => Error::Unsupported {
            what: "archive member content",
            detail: format!("{path} was not selected to be kept while the archive was read"),
        },
    }
}

impl FileTree for MemTree {
    fn metadata(&self, path: &TreePath) -> Result<Metadata> {
        Ok(self.node(path)?.meta.clone())
    }

    fn read_dir(&self, path: &TreePath) -> Result<Vec<DirEntry>> {
        let n = self.node(path)?;
        if n.meta.kind != FileKind::Directory {
            return Err(Error::WrongKind {
                path: path.to_string(),
                detail: format!("expected a directory, found {:?}", n.meta.kind),
            });
        }
        Ok(n.children
            .iter()
            .map(|(name, &id)| DirEntry {
                name: name.clone(),
                metadata: self.nodes[id].meta.clone(),
            })
            .collect())
    }

    fn read_link(&self, path: &TreePath) -> Result<String> {
        let n = self.node(path)?;
        match (&n.meta.kind, &n.link) {
            (FileKind::Symlink, Some(l)) => Ok(l.clone()),
            _ => Err(Error::WrongKind {
                path: path.to_string(),
                detail: format!("expected a symlink, found {:?}", n.meta.kind),
            }),
        }
    }

    fn open(&self, path: &TreePath) -> Result<Box<dyn Read + Send + '_>> {
        let n = self.node(path)?;
        if n.meta.kind != FileKind::Regular {
            return Err(Error::WrongKind {
                path: path.to_string(),
                detail: format!("expected a regular file, found {:?}", n.meta.kind),
            });
        }
        self.open_content(path, &n.content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(body: &[u8], layer: u32) -> NewNode {
        NewNode {
            metadata: Metadata {
                kind: FileKind::Regular,
                permissions: 0o644,
                size: body.len() as u64,
                mtime: 1,
                uid: 0,
                gid: 0,
            },
            link: None,
            content: Content::Bytes(body.into()),
            origin: (layer, 0),
        }
    }

    fn dir(layer: u32) -> NewNode {
        NewNode {
            metadata: implicit_dir(),
            link: None,
            content: Content::NotKept,
            origin: (layer, 0),
        }
    }

    fn names(t: &MemTree, p: &str) -> Vec<String> {
        t.read_dir(&TreePath::new(p))
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect()
    }

    #[test]
    fn whiteouts_hide_lower_layers_only() {
        let mut t = MemTree::new();
        t.insert(&TreePath::new("/d/a"), file(b"1", 0), 0).unwrap();
        t.insert(&TreePath::new("/d/b"), file(b"2", 0), 0).unwrap();
        t.insert(&TreePath::new("/d/sub/c"), file(b"3", 0), 0)
            .unwrap();
        // Layer 1 writes d/new before its opaque marker: the marker hides only layer 0.
        t.insert(&TreePath::new("/d/new"), file(b"4", 1), 1)
            .unwrap();
        t.make_opaque(&TreePath::new("/d"), 1);
        assert_eq!(names(&t, "/d"), ["new"]);
        // A whiteout of something the same layer wrote does nothing.
        t.whiteout(&TreePath::new("/d/new"), 1);
        assert_eq!(names(&t, "/d"), ["new"]);
        t.whiteout(&TreePath::new("/d/new"), 2);
        assert!(names(&t, "/d").is_empty());
    }

    #[test]
    fn symlinked_parent_is_followed() {
        let mut t = MemTree::new();
        t.insert(&TreePath::new("/usr/lib/sysimage/rpm"), dir(0), 0)
            .unwrap();
        let mut link = file(b"", 0);
        link.metadata.kind = FileKind::Symlink;
        link.link = Some("../../usr/lib/sysimage/rpm".into());
        t.insert(&TreePath::new("/var/lib/rpm"), link, 0).unwrap();
        t.insert(&TreePath::new("/var/lib/rpm/Packages"), file(b"db", 0), 0)
            .unwrap();
        assert_eq!(names(&t, "/usr/lib/sysimage/rpm"), ["Packages"]);
        let (p, _) = crate::fs::resolve(&t, &TreePath::new("/var/lib/rpm/Packages")).unwrap();
        assert_eq!(p.as_str(), "/usr/lib/sysimage/rpm/Packages");
        assert_eq!(t.read_file(&p, 10).unwrap(), b"db");
    }
}
