//! Tar images: a [`MemTree`] over the members of a tar archive (plain, gzip, xz, zstd or
//! bzip2), built in one streaming pass.
//!
//! Only the members a [`Select`] names have their content kept in memory, within
//! [`Limits`]; an uncompressed tar file keeps none and serves every member from the file.
//! When a selected path turns out to be a symlink or hard link to a member that was not
//! kept (`/etc/os-release` → `../usr/lib/os-release`, a symlinked `/var/lib/rpm`), a second
//! pass keeps exactly those members.

use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use crate::compress::Compression;
use crate::error::{Error, Result};
use crate::fs::{resolve, walk, FileKind, Metadata, TreePath};
use crate::memtree::{Content, MemTree, NewNode, Origin};
use crate::source::ReadAt;
use crate::tar::{Positioned, Streamed, TarEntry, TarKind, TarReader, TarSource};

/// Directories holding an rpm database in the images we read.
pub const RPMDB_DIRS: [&str; 2] = ["/var/lib/rpm", "/usr/lib/sysimage/rpm"];
/// Where `os-release` lives.
pub const OS_RELEASE: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

/// Which members' content to keep while an archive streams by.
#[derive(Debug, Clone, Default)]
pub struct Select {
    prefixes: Vec<TreePath>,
    paths: BTreeSet<TreePath>,
    origins: HashSet<Origin>,
}

impl Select {
    /// Keeps nothing.
    pub fn none() -> Self {
        Select::default()
    }

    /// Keeps everything (within the limits).
    pub fn all() -> Self {
        Select::none().prefix("/")
    }

    /// The rpm database directories and `os-release` (what the image loader reads).
    pub fn rpmdb_and_os_release() -> Self {
        let mut s = Select::none();
        for d in RPMDB_DIRS {
            s = s.prefix(d);
        }
        for p in OS_RELEASE {
            s = s.path(p);
        }
        s
    }

    /// Also keeps everything below (and at) `dir`.
    pub fn prefix(mut self, dir: &str) -> Self {
        self.prefixes.push(TreePath::new(dir));
        self
    }

    /// Also keeps the file `path`.
    pub fn path(mut self, path: &str) -> Self {
        self.paths.insert(TreePath::new(path));
        self
    }

    fn wants(&self, path: &TreePath, origin: Origin) -> bool {
        self.origins.contains(&origin)
            || self.paths.contains(path)
            || self.prefixes.iter().any(|p| {
                p.is_root()
                    || path == p
                    || path
                        .as_str()
                        .strip_prefix(p.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
    }
}

/// Bounds on what one archive may make us hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Members (over all layers), so a hostile archive of empty headers ends.
    pub max_entries: u64,
    /// Bytes of content kept in memory in total.
    pub max_kept_bytes: u64,
    /// Directory levels and entries a walk of a selected directory may visit.
    pub max_walk_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 5_000_000,
            max_kept_bytes: 2 << 30,
            max_walk_entries: 1_000_000,
        }
    }
}

/// State of one build of a tree from one or more tar streams.
pub(crate) struct Builder<'a> {
    pub tree: MemTree,
    pub select: &'a Select,
    pub limits: Limits,
    kept: u64,
}

impl<'a> Builder<'a> {
    pub fn new(select: &'a Select, limits: Limits) -> Self {
        Builder {
            tree: MemTree::new(),
            select,
            limits,
            kept: 0,
        }
    }

    /// Applies the members of `tar` as layer `layer`. `stored` is `(source, base)` when
    /// the stream is a random-access source whose members can be served in place.
    /// `whiteouts` turns on the OCI layer rules (`.wh.` files).
    pub fn apply<S: TarSource>(
        &mut self,
        tar: &mut TarReader<S>,
        layer: u32,
        stored: Option<(usize, u64)>,
        whiteouts: bool,
    ) -> Result<()> {
        let mut ordinal = 0u64;
        while let Some(entry) = tar.next_entry()? {
            ordinal += 1;
            if self.tree.inserted() >= self.limits.max_entries {
                return Err(Error::Limit {
                    what: "archive members".into(),
                    limit: self.limits.max_entries,
                });
            }
            let path = TreePath::new(&entry.path);
            if whiteouts {
                if let Some(hidden) = path.file_name().strip_prefix(".wh.") {
                    if hidden == ".wh..opq" {
                        self.tree.make_opaque(&path.parent(), layer);
                    } else if !hidden.starts_with(".wh.") && !hidden.is_empty() {
                        self.tree.whiteout(&path.parent().join(hidden), layer);
                    }
                    continue;
                }
            }
            let origin = (layer, ordinal);
            let node = self.node(tar, &entry, &path, origin, stored)?;
            self.tree.insert(&path, node, layer)?;
        }
        Ok(())
    }

    fn node<S: TarSource>(
        &mut self,
        tar: &mut TarReader<S>,
        entry: &TarEntry,
        path: &TreePath,
        origin: Origin,
        stored: Option<(usize, u64)>,
    ) -> Result<NewNode> {
        let kind = match entry.kind {
            TarKind::Regular | TarKind::HardLink => FileKind::Regular,
            TarKind::Symlink => FileKind::Symlink,
            TarKind::CharDevice => FileKind::CharDevice,
            TarKind::BlockDevice => FileKind::BlockDevice,
            TarKind::Directory => FileKind::Directory,
            TarKind::Fifo => FileKind::Fifo,
        };
        let mut metadata = Metadata {
            kind,
            permissions: entry.permissions,
            size: entry.size,
            mtime: entry.mtime,
            uid: entry.uid,
            gid: entry.gid,
        };
        let mut content = Content::NotKept;
        let mut origin = origin;
        match entry.kind {
            TarKind::HardLink => {
                let target = TreePath::new(entry.link.as_deref().unwrap_or(""));
                let (meta, c, o) = self.tree.hard_link_source(&target).ok_or_else(|| {
                    Error::corrupt(
                        "tar member",
                        entry.header_offset,
                        format!(
                            "hard link {:?} -> {target}: no regular file of that name before it",
                            entry.path
                        ),
                    )
                })?;
                metadata.size = meta.size;
                content = c;
                origin = o;
            }
            TarKind::Symlink => {
                metadata.size = entry.link.as_ref().map_or(0, |l| l.len() as u64);
            }
            TarKind::Regular if entry.sparse => content = Content::Sparse,
            TarKind::Regular => {
                if let Some((source, base)) = stored {
                    content = Content::Stored {
                        source,
                        offset: base + entry.data_offset,
                        len: entry.size,
                    };
                } else if self.select.wants(path, origin) {
                    if self.kept + entry.size > self.limits.max_kept_bytes {
                        return Err(Error::Limit {
                            what: format!(
                                "bytes of selected archive members kept in memory (at {:?})",
                                entry.path
                            ),
                            limit: self.limits.max_kept_bytes,
                        });
                    }
                    let data = tar.read_data(entry.size)?;
                    self.kept += data.len() as u64;
                    content = Content::Bytes(data.into());
                }
            }
            _ => {}
        }
        Ok(NewNode {
            metadata,
            link: entry
                .link
                .clone()
                .filter(|_| entry.kind == TarKind::Symlink),
            content,
            origin,
        })
    }
}

/// The members whose content a selection needs but a first pass did not keep: selected
/// paths and directories, after following symlinks and hard links inside the tree.
pub(crate) fn missing_content(tree: &MemTree, select: &Select, limits: &Limits) -> Vec<Origin> {
    let mut out = Vec::new();
    let mut check = |p: &TreePath| {
        if let Some((origin, Content::NotKept)) = tree.origin(p) {
            out.push(origin);
        }
    };
    for p in &select.paths {
        if let Ok((real, meta)) = resolve(tree, p) {
            if meta.kind == FileKind::Regular {
                check(&real);
            }
        }
    }
    for d in &select.prefixes {
        if let Ok((real, meta)) = resolve(tree, d) {
            if meta.kind == FileKind::Directory {
                if let Ok(all) = walk(tree, &real, limits.max_walk_entries, 256) {
                    for (p, m) in all {
                        if m.kind == FileKind::Regular {
                            check(&p);
                        }
                    }
                }
            } else if meta.kind == FileKind::Regular {
                check(&real);
            }
        }
    }
    out
}

/// Builds a tree with `pass`, and when the selection needs members the first pass did not
/// keep, once more keeping them too.
pub(crate) fn two_passes(
    select: &Select,
    limits: &Limits,
    pass: impl Fn(&Select) -> Result<MemTree>,
) -> Result<MemTree> {
    let tree = pass(select)?;
    let missing = missing_content(&tree, select, limits);
    if missing.is_empty() {
        return Ok(tree);
    }
    let mut again = select.clone();
    again.origins.extend(missing);
    drop(tree);
    pass(&again)
}

/// Reads a tar stream once into a tree, keeping the selected members' content.
pub fn read_tar_stream<R: Read + Send>(
    reader: R,
    select: &Select,
    limits: Limits,
) -> Result<MemTree> {
    let mut b = Builder::new(select, limits);
    let mut tar = TarReader::new(Streamed(reader), "tar");
    b.apply(&mut tar, 0, None, false)?;
    drain(tar, "tar")?;
    Ok(b.tree)
}

/// Reads a compressed stream to its end after the tar's end-of-archive marker, so the
/// compression's own integrity check (gzip CRC32, xz check, zstd checksum) is verified.
pub(crate) fn drain<S: TarSource>(tar: TarReader<S>, stream: &'static str) -> Result<()> {
    let at = tar.position();
    std::io::copy(&mut tar.into_inner(), &mut std::io::sink())
        .map(|_| ())
        .map_err(|e| {
            Error::corrupt(
                "compressed stream",
                at,
                format!("{stream} stream after the tar's end: {e}"),
            )
        })
}

/// Opens a tar image file of any supported compression. An uncompressed file serves every
/// member's content from the file; a compressed one keeps the selected members' content.
pub fn open_tar(path: &Path, select: &Select, limits: Limits) -> Result<MemTree> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io { offset: 0, source })?;
    let source: Arc<dyn ReadAt> = Arc::new(file);
    open_tar_source(source, select, limits)
}

/// [`open_tar`] over a random-access source (a file, or a member of another archive).
pub fn open_tar_source(
    source: Arc<dyn ReadAt>,
    select: &Select,
    limits: Limits,
) -> Result<MemTree> {
    let mut head = [0u8; 6];
    let n = source
        .read_at(0, &mut head)
        .map_err(|source| Error::Io { offset: 0, source })?;
    let compression = Compression::sniff(&head[..n]);
    if compression == Compression::None {
        let mut b = Builder::new(select, limits);
        let id = b.tree.add_source(Arc::clone(&source));
        let mut tar = TarReader::new(Positioned::new(source), "tar");
        b.apply(&mut tar, 0, Some((id, 0)), false)?;
        return Ok(b.tree);
    }
    two_passes(select, &limits, |sel| {
        let raw = crate::source::Cursor::new(Arc::clone(&source), 0);
        let stream =
            crate::compress::decoder(compression, std::io::BufReader::with_capacity(1 << 20, raw))?;
        let mut b = Builder::new(sel, limits);
        let mut tar = TarReader::new(Streamed(stream), compression.name());
        b.apply(&mut tar, 0, None, false)?;
        drain(tar, compression.name())?;
        Ok(b.tree)
    })
}
