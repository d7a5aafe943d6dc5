//! Read-only ext2/3/4: superblock, group descriptors (also `meta_bg` and 64-bit), inodes,
//! extent trees and indirect blocks, inline data, directories read linearly (htree index
//! blocks look like empty entries to a linear reader), fast and slow symlinks.
//!
//! The journal is not replayed: images are read as they were last written, which is what a
//! cleanly unmounted filesystem holds. Every walk is bounded: extent trees by depth and a
//! visited set, directories by size, paths by a cycle check on directory inodes.

mod blockmap;

use std::io::{self, Read};
use std::sync::Arc;

use blockmap::{MappedReader, Run};

use crate::dircache::DirCache;
use crate::error::{Error, Result};
use crate::fs::{DirEntry, FileKind, FileTree, Metadata, TreePath};
use crate::le::{u16le, u32le};
use crate::source::ReadAt;

/// Superblock magic (`s_magic`).
const MAGIC: u16 = 0xEF53;
/// Byte offset of the superblock.
const SB_AT: u64 = 1024;
/// The root directory's inode.
const ROOT_INO: u32 = 2;
/// Largest directory read whole.
const MAX_DIR_BYTES: u64 = 256 << 20;

const INCOMPAT_FILETYPE: u32 = 0x2;
const INCOMPAT_RECOVER: u32 = 0x4;
const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_EXTENTS: u32 = 0x40;
const INCOMPAT_64BIT: u32 = 0x80;
const INCOMPAT_MMP: u32 = 0x100;
const INCOMPAT_FLEX_BG: u32 = 0x200;
const INCOMPAT_EA_INODE: u32 = 0x400;
const INCOMPAT_CSUM_SEED: u32 = 0x2000;
const INCOMPAT_LARGEDIR: u32 = 0x4000;
const INCOMPAT_INLINE_DATA: u32 = 0x8000;
const INCOMPAT_ENCRYPT: u32 = 0x10000;
const INCOMPAT_CASEFOLD: u32 = 0x20000;
/// Incompatible features this reader understands (or that do not change how data is read).
const INCOMPAT_KNOWN: u32 = INCOMPAT_FILETYPE
    | INCOMPAT_RECOVER
    | INCOMPAT_META_BG
    | INCOMPAT_EXTENTS
    | INCOMPAT_64BIT
    | INCOMPAT_MMP
    | INCOMPAT_FLEX_BG
    | INCOMPAT_EA_INODE
    | INCOMPAT_CSUM_SEED
    | INCOMPAT_LARGEDIR
    | INCOMPAT_INLINE_DATA
    | INCOMPAT_ENCRYPT
    | INCOMPAT_CASEFOLD;
const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;

const FLAG_ENCRYPT: u32 = 0x800;
const FLAG_EXTENTS: u32 = 0x80000;
const FLAG_INLINE_DATA: u32 = 0x1000_0000;

/// True when `src` starts like an ext2/3/4 filesystem (superblock magic).
pub fn probe(src: &dyn ReadAt) -> bool {
    let mut m = [0u8; 2];
    src.read_exact_at(SB_AT + 56, &mut m, "ext4 superblock")
        .is_ok()
        && u16::from_le_bytes(m) == MAGIC
}

/// A read-only ext2/3/4 filesystem over a block source.
pub struct Ext4<R> {
    src: R,
    block_size: u64,
    blocks_count: u64,
    first_data_block: u64,
    blocks_per_group: u64,
    inodes_per_group: u64,
    inodes_count: u64,
    inode_size: u64,
    desc_size: u64,
    incompat: u32,
    ro_compat: u32,
    first_meta_bg: u64,
    volume_name: String,
    dirs: DirCache<(String, u32)>,
}

/// The fields of an on-disk inode this reader uses.
struct Inode {
    ino: u32,
    /// Byte offset of the inode in the source.
    at: u64,
    meta: Metadata,
    flags: u32,
    i_block: [u8; 60],
    /// The whole on-disk inode (for in-inode extended attributes).
    raw: Vec<u8>,
}

impl<R: ReadAt> Ext4<R> {
    /// Reads the superblock of the filesystem in `src` and checks that it can be read.
    pub fn open(src: R) -> Result<Self> {
        let mut sb = [0u8; 1024];
        src.read_exact_at(SB_AT, &mut sb, "ext4 superblock")?;
        let bad = |field: &str, detail: String| {
            Error::corrupt("ext4 superblock", SB_AT, format!("{field}: {detail}"))
        };
        if u16le(&sb, 56) != MAGIC {
            return Err(bad(
                "s_magic",
                format!("{:#06x} is not {MAGIC:#06x}", u16le(&sb, 56)),
            ));
        }
        let log = u32le(&sb, 24);
        if log > 6 {
            return Err(bad("s_log_block_size", log.to_string()));
        }
        let block_size = 1024u64 << log;
        let incompat = u32le(&sb, 96);
        let ro_compat = u32le(&sb, 100);
        let unknown = incompat & !INCOMPAT_KNOWN;
        if unknown != 0 {
            // Among them: compression (0x1), an external journal device (0x8), dirdata (0x1000).
            return Err(Error::Unsupported {
                what: "ext4 feature",
                detail: format!("incompatible feature bits {unknown:#x}"),
            });
        }
        let is64 = incompat & INCOMPAT_64BIT != 0;
        let blocks_count = u64::from(u32le(&sb, 4))
            | if is64 {
                u64::from(u32le(&sb, 0x150)) << 32
            } else {
                0
            };
        let rev = u32le(&sb, 76);
        let inode_size = if rev == 0 {
            128
        } else {
            u64::from(u16le(&sb, 88))
        };
        if !(128..=block_size).contains(&inode_size) || !inode_size.is_power_of_two() {
            return Err(bad("s_inode_size", inode_size.to_string()));
        }
        let desc_size = if is64 {
            u64::from(u16le(&sb, 0xFE))
        } else {
            32
        };
        if !(32..=1024).contains(&desc_size) || !desc_size.is_power_of_two() {
            return Err(bad("s_desc_size", desc_size.to_string()));
        }
        let blocks_per_group = u64::from(u32le(&sb, 32));
        let inodes_per_group = u64::from(u32le(&sb, 40));
        if blocks_per_group == 0 || blocks_per_group > block_size * 8 {
            return Err(bad("s_blocks_per_group", blocks_per_group.to_string()));
        }
        if inodes_per_group == 0 || inodes_per_group > block_size * 8 {
            return Err(bad("s_inodes_per_group", inodes_per_group.to_string()));
        }
        let first_data_block = u64::from(u32le(&sb, 20));
        if first_data_block >= blocks_count {
            return Err(bad("s_first_data_block", first_data_block.to_string()));
        }
        let name = &sb[120..136];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(16)];
        Ok(Ext4 {
            src,
            block_size,
            blocks_count,
            first_data_block,
            blocks_per_group,
            inodes_per_group,
            inodes_count: u64::from(u32le(&sb, 0)),
            inode_size,
            desc_size,
            incompat,
            ro_compat,
            first_meta_bg: u64::from(u32le(&sb, 0x104)),
            volume_name: String::from_utf8_lossy(name).into_owned(),
            dirs: DirCache::new(),
        })
    }

    /// The volume label (`s_volume_name`), empty when unset.
    pub fn volume_name(&self) -> &str {
        &self.volume_name
    }

    /// The block size in bytes.
    pub fn block_size(&self) -> u64 {
        self.block_size
    }

    /// Byte offset of `block`, or an error naming the pointer at `at` when it lies outside.
    fn block_offset(&self, block: u64, what: &'static str, at: u64) -> Result<u64> {
        if block >= self.blocks_count || block < self.first_data_block {
            return Err(Error::corrupt(
                what,
                at,
                format!(
                    "block {block} outside the filesystem's {} blocks",
                    self.blocks_count
                ),
            ));
        }
        Ok(block * self.block_size)
    }

    /// True when block group `g` holds a superblock backup (and so, under `meta_bg`, starts
    /// with one block before its descriptors).
    fn has_super(&self, g: u64) -> bool {
        if self.ro_compat & RO_COMPAT_SPARSE_SUPER == 0 || g <= 1 {
            return true;
        }
        [3u64, 5, 7].iter().any(|&base| {
            let mut p = base;
            while p < g {
                p *= base;
            }
            p == g
        })
    }

    /// Byte offset of the descriptor of block group `g`.
    fn descriptor_offset(&self, g: u64) -> u64 {
        let per_block = self.block_size / self.desc_size;
        let table = (self.first_data_block + 1) * self.block_size;
        if self.incompat & INCOMPAT_META_BG == 0 || g / per_block < self.first_meta_bg {
            return table + g * self.desc_size;
        }
        let first = g / per_block * per_block;
        let block = self.first_data_block
            + first * self.blocks_per_group
            + u64::from(self.has_super(first));
        block * self.block_size + (g % per_block) * self.desc_size
    }

    fn inode(&self, ino: u32) -> Result<Inode> {
        if ino == 0 || u64::from(ino) > self.inodes_count {
            return Err(Error::corrupt(
                "ext4 inode number",
                SB_AT,
                format!("{ino} outside 1..={}", self.inodes_count),
            ));
        }
        let g = (u64::from(ino) - 1) / self.inodes_per_group;
        let index = (u64::from(ino) - 1) % self.inodes_per_group;
        let desc_at = self.descriptor_offset(g);
        let mut desc = vec![0u8; self.desc_size as usize];
        self.src
            .read_exact_at(desc_at, &mut desc, "ext4 group descriptor")?;
        let mut table = u64::from(u32le(&desc, 8));
        if self.desc_size >= 64 {
            table |= u64::from(u32le(&desc, 0x28)) << 32;
        }
        let table_at = self.block_offset(table, "ext4 group descriptor", desc_at)?;
        let at = table_at + index * self.inode_size;
        let mut raw = vec![0u8; self.inode_size as usize];
        self.src.read_exact_at(at, &mut raw, "ext4 inode")?;
        let mode = u16le(&raw, 0);
        let kind = FileKind::from_mode(u32::from(mode)).ok_or_else(|| {
            Error::corrupt(
                "ext4 inode",
                at,
                format!("inode {ino}: mode {mode:#o} has no file type"),
            )
        })?;
        let extra = if self.inode_size > 128 {
            u64::from(u16le(&raw, 128))
        } else {
            0
        };
        let mut mtime = i64::from(u32le(&raw, 16) as i32);
        if 128 + extra >= 140 && self.inode_size >= 140 {
            // Bits 0-1 of i_mtime_extra extend the seconds beyond 2038.
            mtime += i64::from(u32le(&raw, 0x88) & 3) << 32;
        }
        let size = u64::from(u32le(&raw, 4)) | (u64::from(u32le(&raw, 108)) << 32);
        let mut i_block = [0u8; 60];
        i_block.copy_from_slice(&raw[40..100]);
        Ok(Inode {
            ino,
            at,
            meta: Metadata {
                kind,
                permissions: u32::from(mode) & 0o7777,
                size,
                mtime,
                uid: u32::from(u16le(&raw, 2)) | (u32::from(u16le(&raw, 120)) << 16),
                gid: u32::from(u16le(&raw, 24)) | (u32::from(u16le(&raw, 122)) << 16),
            },
            flags: u32le(&raw, 32),
            i_block,
            raw,
        })
    }

    /// The value of the in-inode extended attribute `system.data` (the tail of inline data).
    fn inline_tail(&self, inode: &Inode) -> Result<Vec<u8>> {
        let raw = &inode.raw;
        if raw.len() <= 128 {
            return Ok(Vec::new());
        }
        let start = 128 + usize::from(u16le(raw, 128));
        if start + 4 > raw.len() || u32le(raw, start) != 0xEA02_0000 {
            return Ok(Vec::new());
        }
        let base = start + 4;
        let mut pos = base;
        let bad = |pos: usize, detail: &str| {
            Error::corrupt(
                "ext4 in-inode xattr",
                inode.at + pos as u64,
                detail.to_owned(),
            )
        };
        while pos + 16 <= raw.len() && u32le(raw, pos) != 0 {
            let name_len = usize::from(raw[pos]);
            let index = raw[pos + 1];
            let value_offs = usize::from(u16le(raw, pos + 2));
            let value_size = u32le(raw, pos + 8) as usize;
            if pos + 16 + name_len > raw.len() {
                return Err(bad(pos, "entry name runs past the inode"));
            }
            if index == 7 && &raw[pos + 16..pos + 16 + name_len] == b"data" {
                let end = base
                    .checked_add(value_offs)
                    .and_then(|v| v.checked_add(value_size));
                return match end {
                    Some(end) if end <= raw.len() => Ok(raw[base + value_offs..end].to_vec()),
                    _ => Err(bad(pos, "system.data value runs past the inode")),
                };
            }
            pos += (16 + name_len + 3) & !3;
        }
        Ok(Vec::new())
    }

    /// The block map of a block-mapped inode.
    fn runs(&self, inode: &Inode) -> Result<Vec<Run>> {
        if inode.flags & FLAG_ENCRYPT != 0 {
            return Err(Error::Unsupported {
                what: "ext4 encrypted inode",
                detail: format!("inode {}", inode.ino),
            });
        }
        let nblocks = inode.meta.size.div_ceil(self.block_size);
        if inode.flags & FLAG_EXTENTS != 0 {
            self.extent_runs(&inode.i_block, inode.at + 40, nblocks)
        } else {
            self.indirect_runs(&inode.i_block, inode.at + 40, nblocks)
        }
    }

    /// A reader of the content of `inode` (regular file, directory or slow symlink).
    fn content(&self, inode: &Inode) -> Result<Box<dyn Read + Send + '_>> {
        if inode.flags & FLAG_INLINE_DATA != 0 {
            let mut data = inode.i_block.to_vec();
            data.extend(self.inline_tail(inode)?);
            data.truncate(inode.meta.size as usize);
            return Ok(Box::new(io::Cursor::new(data)));
        }
        Ok(Box::new(MappedReader {
            src: &self.src,
            runs: self.runs(inode)?,
            block_size: self.block_size,
            size: inode.meta.size,
            pos: 0,
        }))
    }

    fn read_all(&self, inode: &Inode, limit: u64, what: &str) -> Result<Vec<u8>> {
        if inode.meta.size > limit {
            return Err(Error::Limit {
                what: format!("{what} of inode {} ({} bytes)", inode.ino, inode.meta.size),
                limit,
            });
        }
        let mut out = Vec::with_capacity(inode.meta.size as usize);
        self.content(inode)?
            .read_to_end(&mut out)
            .map_err(|source| Error::Io {
                offset: inode.at,
                source,
            })?;
        Ok(out)
    }

    /// The entries (name, inode) of the directory `dir`, `.` and `..` left out.
    fn list(&self, dir: &Inode) -> Result<Arc<Vec<(String, u32)>>> {
        self.dirs.get_or_load(u64::from(dir.ino), || {
            let mut out = Vec::new();
            if dir.flags & FLAG_INLINE_DATA != 0 {
                // The first four bytes are the parent's inode; entries follow in two regions.
                parse_dir_block(&dir.i_block[4..], dir.at + 44, &mut out)?;
                let tail = self.inline_tail(dir)?;
                parse_dir_block(&tail, dir.at, &mut out)?;
                return Ok(out);
            }
            if dir.meta.size > MAX_DIR_BYTES {
                return Err(Error::Limit {
                    what: format!("size of directory inode {}", dir.ino),
                    limit: MAX_DIR_BYTES,
                });
            }
            let bs = self.block_size;
            let mut buf = vec![0u8; bs as usize];
            for run in self.runs(dir)? {
                if run.zero {
                    continue;
                }
                for i in 0..run.len.min(dir.meta.size.div_ceil(bs) - run.logical) {
                    let at = (run.physical + i) * bs;
                    self.src
                        .read_exact_at(at, &mut buf, "ext4 directory block")?;
                    parse_dir_block(&buf, at, &mut out)?;
                }
            }
            Ok(out)
        })
    }

    /// The inode at `path`, following no symlink; directory hard-link cycles are errors.
    fn lookup(&self, path: &TreePath) -> Result<Inode> {
        let mut inode = self.inode(ROOT_INO)?;
        let mut chain = vec![ROOT_INO];
        for name in path.components() {
            if inode.meta.kind != FileKind::Directory {
                return Err(Error::WrongKind {
                    path: path.to_string(),
                    detail: format!("a component before {name:?} is not a directory"),
                });
            }
            let listing = self.list(&inode)?;
            let Some(&(_, ino)) = listing.iter().find(|(n, _)| n == name) else {
                return Err(Error::NotFound(path.to_string()));
            };
            let child = self.inode(ino)?;
            if child.meta.kind == FileKind::Directory {
                if chain.contains(&ino) {
                    return Err(Error::corrupt(
                        "ext4 directory",
                        inode.at,
                        format!(
                            "directory cycle: {name:?} in inode {} is inode {ino}, an ancestor",
                            inode.ino
                        ),
                    ));
                }
                chain.push(ino);
            }
            inode = child;
        }
        Ok(inode)
    }
}

/// Appends the live entries of one directory block (at byte `at` of the source) to `out`.
fn parse_dir_block(block: &[u8], at: u64, out: &mut Vec<(String, u32)>) -> Result<()> {
    let mut pos = 0usize;
    while pos + 8 <= block.len() {
        let ino = u32le(block, pos);
        let rec_len = usize::from(u16le(block, pos + 4));
        let name_len = usize::from(block[pos + 6]);
        if rec_len < 8 || rec_len % 4 != 0 || pos + rec_len > block.len() || 8 + name_len > rec_len
        {
            return Err(Error::corrupt(
                "ext4 directory entry",
                at + pos as u64,
                format!("rec_len {rec_len}, name_len {name_len} do not fit the block"),
            ));
        }
        let name = &block[pos + 8..pos + 8 + name_len];
        if ino != 0 && name != b"." && name != b".." {
            if name.is_empty() || name.contains(&b'/') || name.contains(&0) {
                return Err(Error::corrupt(
                    "ext4 directory entry",
                    at + pos as u64,
                    format!("invalid name {:?}", String::from_utf8_lossy(name)),
                ));
            }
            out.push((String::from_utf8_lossy(name).into_owned(), ino));
        }
        pos += rec_len;
    }
    Ok(())
}

impl<R: ReadAt> FileTree for Ext4<R> {
    fn metadata(&self, path: &TreePath) -> Result<Metadata> {
        Ok(self.lookup(path)?.meta)
    }

    fn read_dir(&self, path: &TreePath) -> Result<Vec<DirEntry>> {
        let dir = self.lookup(path)?;
        if dir.meta.kind != FileKind::Directory {
            return Err(Error::WrongKind {
                path: path.to_string(),
                detail: "not a directory".to_owned(),
            });
        }
        self.list(&dir)?
            .iter()
            .map(|(name, ino)| {
                Ok(DirEntry {
                    name: name.clone(),
                    metadata: self.inode(*ino)?.meta,
                })
            })
            .collect()
    }

    fn read_link(&self, path: &TreePath) -> Result<String> {
        let inode = self.lookup(path)?;
        if inode.meta.kind != FileKind::Symlink {
            return Err(Error::WrongKind {
                path: path.to_string(),
                detail: "not a symlink".to_owned(),
            });
        }
        let size = inode.meta.size;
        // The kernel's rule: a target shorter than i_block without inline data is stored in
        // i_block itself (a fast symlink).
        let target = if size < 60 && inode.flags & FLAG_INLINE_DATA == 0 {
            inode.i_block[..size as usize].to_vec()
        } else {
            self.read_all(&inode, 4096, "symlink target")?
        };
        Ok(String::from_utf8_lossy(&target).into_owned())
    }

    fn open(&self, path: &TreePath) -> Result<Box<dyn Read + Send + '_>> {
        let inode = self.lookup(path)?;
        if inode.meta.kind != FileKind::Regular {
            return Err(Error::WrongKind {
                path: path.to_string(),
                detail: format!("expected a regular file, found {:?}", inode.meta.kind),
            });
        }
        self.content(&inode)
    }
}
