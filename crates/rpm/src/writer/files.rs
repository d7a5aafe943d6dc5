//! The file table of a package: paths sorted, hard links resolved, the per-file tags.

use super::*;

/// One file after path sorting and hard-link resolution.
pub(super) struct FileRow<'a> {
    pub(super) spec: &'a FileSpec,
    /// The regular file whose content and inode this entry carries.
    pub(super) content: &'a [u8],
    /// The spec whose mode/owner/mtime apply (the hard link target for links).
    pub(super) meta: &'a FileSpec,
    pub(super) mode: u32,
    pub(super) size: u32,
    pub(super) inode: u32,
    pub(super) mtime: u32,
    pub(super) digest: String,
    /// Members of this entry's hard-link set (including itself), 1 if none.
    pub(super) nlink: u32,
    /// Whether this entry carries the data of its hard-link set in the payload.
    pub(super) carries_data: bool,
}

pub(super) struct FileTable<'a> {
    pub(super) files: Vec<FileRow<'a>>,
    pub(super) total_size: u32,
    pub(super) has_hardlinks: bool,
}

impl<'a> FileTable<'a> {
    pub(super) fn new(b: &'a PackageBuilder) -> Result<FileTable<'a>, WriteError> {
        let mut specs: Vec<&FileSpec> = b.files.iter().collect();
        specs.sort_by(|x, y| x.path.as_bytes().cmp(y.path.as_bytes()));
        for w in specs.windows(2) {
            if w[0].path == w[1].path {
                return Err(WriteError::DuplicatePath(w[0].path.clone()));
            }
        }
        for s in &specs {
            let bad = |reason| WriteError::BadPath {
                path: s.path.clone(),
                reason,
            };
            if s.path.is_empty() {
                return Err(bad("empty path"));
            }
            if s.path.contains('\0') {
                return Err(bad("NUL in path"));
            }
            if !b.source && !s.path.starts_with('/') {
                return Err(bad("binary package paths must be absolute"));
            }
        }
        let by_path: HashMap<&str, usize> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.path.as_str(), i))
            .collect();
        // Resolve each hard link to the regular file at the end of its chain.
        let mut root = Vec::with_capacity(specs.len());
        for (i, s) in specs.iter().enumerate() {
            let mut cur = i;
            let mut hops = 0usize;
            while let FileKind::HardLink(t) = &specs[cur].kind {
                let next = by_path.get(t.as_str()).copied();
                match next {
                    Some(j) if hops < specs.len() => cur = j,
                    // Missing target, or a cycle of links.
                    _ => {
                        return Err(WriteError::HardLinkTarget {
                            path: s.path.clone(),
                            target: t.clone(),
                        })
                    }
                }
                hops += 1;
            }
            if cur != i && !matches!(specs[cur].kind, FileKind::Regular(_)) {
                return Err(WriteError::HardLinkTarget {
                    path: s.path.clone(),
                    target: specs[cur].path.clone(),
                });
            }
            root.push(cur);
        }
        // Hard-link sets: members listed in path order; ghosts carry no payload.
        let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, &r) in root.iter().enumerate() {
            if matches!(specs[r].kind, FileKind::Regular(_)) {
                members.entry(r).or_default().push(i);
            }
        }
        let has_hardlinks = members.values().any(|m| m.len() > 1);
        let mut next_inode = 1u32;
        let mut inode_of: HashMap<usize, u32> = HashMap::new();
        let mut rows = Vec::with_capacity(specs.len());
        let mut total: u64 = 0;
        for (i, s) in specs.iter().enumerate() {
            let r = root[i];
            let meta = specs[r];
            let content: &[u8] = match (&s.kind, &meta.kind) {
                (FileKind::Symlink(t), _) => t.as_bytes(),
                (_, FileKind::Regular(c)) => c,
                _ => &[],
            };
            let inode = *inode_of.entry(r).or_insert_with(|| {
                let n = meta.inode.unwrap_or(next_inode);
                next_inode += 1;
                n
            });
            let size = match s.size.or(meta.size) {
                Some(sz) => sz,
                None => match s.kind {
                    FileKind::Regular(_) | FileKind::HardLink(_) | FileKind::Symlink(_) => {
                        fit32("file", content.len() as u64)?
                    }
                    _ => 0,
                },
            };
            let set = members.get(&r).map(Vec::as_slice).unwrap_or(&[]);
            let live: Vec<usize> = set
                .iter()
                .copied()
                .filter(|&m| specs[m].flags & FileSpec::GHOST == 0)
                .collect();
            let is_regular = matches!(meta.kind, FileKind::Regular(_));
            let carries_data = !is_regular || live.last() == Some(&i);
            if !is_regular || set.first() == Some(&i) {
                total += u64::from(size);
            }
            let digest = match (&s.digest, is_regular) {
                (Some(d), _) => d.clone(),
                (None, true) => match b.file_digest {
                    FileDigest::Sha256 => hex::encode(sha2::Sha256::digest(content)),
                    _ => hex::encode(md5::Md5::digest(content)),
                },
                (None, false) => String::new(),
            };
            rows.push(FileRow {
                spec: s,
                content,
                meta,
                mode: s.type_bits() | u32::from(meta.perms & 0o7777),
                size,
                inode,
                mtime: meta.mtime.unwrap_or(b.buildtime),
                digest,
                nlink: if is_regular {
                    live.len().max(1) as u32
                } else {
                    1
                },
                carries_data,
            });
        }
        Ok(FileTable {
            files: rows,
            total_size: fit32("package size", total)?,
            has_hardlinks,
        })
    }

    pub(super) fn archive(&self, source: bool) -> Result<Vec<u8>, WriteError> {
        let mut w = CpioWriter::new(Vec::new());
        for f in &self.files {
            if f.spec.flags & FileSpec::GHOST != 0 {
                continue;
            }
            let name = if f.spec.path.starts_with('/') && !source {
                format!(".{}", f.spec.path)
            } else {
                f.spec.path.clone()
            };
            let (rmaj, rmin) = match f.spec.kind {
                FileKind::CharDevice { major, minor } | FileKind::BlockDevice { major, minor } => {
                    (major, minor)
                }
                _ => (0, 0),
            };
            let entry = CpioEntry {
                name: name.into_bytes(),
                ino: f.inode,
                mode: f.mode,
                uid: 0,
                gid: 0,
                nlink: f.nlink,
                mtime: u64::from(f.mtime),
                size: 0,
                dev_major: f.spec.device >> 8,
                dev_minor: f.spec.device & 0xff,
                rdev_major: rmaj,
                rdev_minor: rmin,
                offset: 0,
            };
            let data = if f.carries_data { f.content } else { &[] };
            w.write_entry(&entry, data)?;
        }
        Ok(w.finish()?)
    }

    pub(super) fn put_tags(&self, h: &mut HeaderWriter, digest: FileDigest, classes: bool) {
        if self.files.is_empty() {
            return;
        }
        let fs = &self.files;
        h.set(FILESIZES, fs.iter().map(|f| f.size).collect::<Vec<_>>());
        h.set(
            FILEMODES,
            fs.iter().map(|f| f.mode as u16).collect::<Vec<_>>(),
        );
        h.set(
            FILERDEVS,
            fs.iter()
                .map(|f| match f.spec.kind {
                    // 16-bit old-style encoding (what rpm stores): major high byte, minor low.
                    FileKind::CharDevice { major, minor }
                    | FileKind::BlockDevice { major, minor } => {
                        (((major & 0xff) << 8) | (minor & 0xff)) as u16
                    }
                    _ => 0,
                })
                .collect::<Vec<_>>(),
        );
        h.set(FILEMTIMES, fs.iter().map(|f| f.mtime).collect::<Vec<_>>());
        h.set(
            FILEMD5S,
            TagValue::strings(fs.iter().map(|f| f.digest.as_str())),
        );
        h.set(
            FILELINKTOS,
            TagValue::strings(fs.iter().map(|f| match &f.spec.kind {
                FileKind::Symlink(t) => t.as_str(),
                _ => "",
            })),
        );
        h.set(
            FILEFLAGS,
            fs.iter().map(|f| f.spec.flags).collect::<Vec<_>>(),
        );
        h.set(
            FILEUSERNAME,
            TagValue::strings(fs.iter().map(|f| f.meta.user.as_str())),
        );
        h.set(
            FILEGROUPNAME,
            TagValue::strings(fs.iter().map(|f| f.meta.group.as_str())),
        );
        h.set(
            FILEVERIFYFLAGS,
            fs.iter().map(|f| f.spec.verify_flags).collect::<Vec<_>>(),
        );
        h.set(
            FILEDEVICES,
            fs.iter().map(|f| f.spec.device).collect::<Vec<_>>(),
        );
        h.set(FILEINODES, fs.iter().map(|f| f.inode).collect::<Vec<_>>());
        h.set(
            FILELANGS,
            TagValue::strings(fs.iter().map(|f| f.spec.lang.as_str())),
        );
        // Compressed file names: each path split into a directory (with trailing `/`, or
        // empty for source-package names) and a base name.
        let mut dirnames: Vec<&str> = Vec::new();
        let mut dir_index: HashMap<&str, u32> = HashMap::new();
        let mut indexes = Vec::with_capacity(fs.len());
        let mut basenames = Vec::with_capacity(fs.len());
        for f in fs {
            let p = f.spec.path.as_str();
            let cut = p.rfind('/').map_or(0, |i| i + 1);
            let (dir, base) = p.split_at(cut);
            let ix = *dir_index.entry(dir).or_insert_with(|| {
                dirnames.push(dir);
                (dirnames.len() - 1) as u32
            });
            indexes.push(ix);
            basenames.push(base);
        }
        h.set(DIRINDEXES, indexes);
        h.set(BASENAMES, TagValue::strings(basenames));
        h.set(DIRNAMES, TagValue::strings(dirnames));
        if classes {
            let mut dict: Vec<String> = Vec::new();
            let mut pos: HashMap<String, u32> = HashMap::new();
            let mut idx = Vec::with_capacity(fs.len());
            for f in fs {
                let class = f.spec.class.clone().unwrap_or_else(|| match &f.spec.kind {
                    FileKind::Dir => "directory".into(),
                    FileKind::Symlink(t) => format!("symbolic link to `{t}'"),
                    FileKind::Fifo => "fifo (named pipe)".into(),
                    FileKind::CharDevice { .. } => "character special".into(),
                    FileKind::BlockDevice { .. } => "block special".into(),
                    FileKind::Socket => "socket".into(),
                    FileKind::Regular(_) | FileKind::HardLink(_) => String::new(),
                });
                let i = *pos.entry(class.clone()).or_insert_with(|| {
                    dict.push(class);
                    (dict.len() - 1) as u32
                });
                idx.push(i);
            }
            h.set(FILECLASS, idx);
            h.set(CLASSDICT, TagValue::strings(dict));
        }
        match digest {
            FileDigest::LegacyMd5 => {}
            FileDigest::Md5 => {
                h.set(FILEDIGESTALGO, 1u32);
            }
            FileDigest::Sha256 => {
                h.set(FILEDIGESTALGO, 8u32);
            }
        }
    }
}
