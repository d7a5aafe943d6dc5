//! Read-only squashfs 4.0: superblock, metadata blocks, the id and fragment tables, inodes of
//! every type, directory listings, data blocks (sparse blocks too) and fragments, with the
//! gzip, lzma, lzo, xz, lz4 and zstd compressors. Extended attributes are ignored.
//!
//! Every structure is checked against the image's size before use; directory cycles
//! (a listing that names an ancestor) are errors; decompressed blocks never exceed the
//! format's bounds.

mod compress;
mod lzo;
mod reader;

use std::io::Read;
use std::sync::Arc;

pub use compress::Compressor;
pub use reader::FileReader;

use crate::dircache::{Cache, DirCache};
use crate::error::{Error, Result};
use crate::fs::{DirEntry, FileKind, FileTree, Metadata, TreePath};
use crate::le::{u16le, u32le, u64le};
use crate::source::ReadAt;

/// Superblock magic, `hsqs` little-endian.
const MAGIC: u32 = 0x7371_7368;
/// Uncompressed size of a metadata block.
const META_SIZE: usize = 8192;
/// No fragment.
const NO_FRAGMENT: u32 = 0xFFFF_FFFF;
/// Bit of a data block or fragment size that marks it stored uncompressed.
const DATA_UNCOMPRESSED: u32 = 1 << 24;
/// Decompressed metadata (and, separately, fragment) bytes kept in memory.
const MAX_CACHED_BYTES: usize = 64 << 20;
/// Largest block list read for one file (in entries).
const MAX_FILE_BLOCKS: u64 = 1 << 24;

/// True when `src` starts like a squashfs filesystem.
pub fn probe(src: &dyn ReadAt) -> bool {
    let mut m = [0u8; 4];
    src.read_exact_at(0, &mut m, "squashfs superblock").is_ok() && u32::from_le_bytes(m) == MAGIC
}

/// A read-only squashfs 4.0 filesystem over a block source (a file, or a [`crate::Slice`] of
/// an ISO).
pub struct Squashfs<R> {
    src: R,
    compressor: Compressor,
    block_size: u32,
    mod_time: u32,
    inode_count: u32,
    bytes_used: u64,
    root: u64,
    inode_table: u64,
    dir_table: u64,
    ids: Vec<u32>,
    fragment_index: Vec<u64>,
    fragment_count: u32,
    /// Decompressed metadata blocks and where the next one starts, by byte offset.
    meta: Cache<(Vec<u8>, u64)>,
    /// Decompressed fragment blocks by index: small files share them, so each is
    /// decompressed once rather than once per file.
    fragments: Cache<Vec<u8>>,
    dirs: DirCache<(String, u64)>,
}

/// A position in a metadata table: the block's byte offset and an offset into its content.
#[derive(Clone, Copy)]
struct MetaPos {
    block: u64,
    offset: usize,
}

struct Inode {
    /// Where the inode starts (for error messages).
    at: u64,
    meta: Metadata,
    body: Body,
}

enum Body {
    Dir {
        start_block: u32,
        offset: u16,
        size: u32,
    },
    File {
        blocks_start: u64,
        fragment: u32,
        frag_offset: u32,
        list: MetaPos,
    },
    Symlink(Vec<u8>),
    Other,
}

impl<R: ReadAt> Squashfs<R> {
    /// Reads the superblock and the id and fragment indexes of the squashfs in `src`.
    pub fn open(src: R) -> Result<Self> {
        let mut sb = [0u8; 96];
        src.read_exact_at(0, &mut sb, "squashfs superblock")?;
        let bad = |field: &str, detail: String| {
            Error::corrupt("squashfs superblock", 0, format!("{field}: {detail}"))
        };
        if u32le(&sb, 0) != MAGIC {
            return Err(bad("magic", format!("{:#010x} is not hsqs", u32le(&sb, 0))));
        }
        let (major, minor) = (u16le(&sb, 28), u16le(&sb, 30));
        if (major, minor) != (4, 0) {
            return Err(Error::Unsupported {
                what: "squashfs version",
                detail: format!("{major}.{minor} (only 4.0 is read)"),
            });
        }
        let comp_id = u16le(&sb, 20);
        let compressor = Compressor::from_id(comp_id).ok_or_else(|| Error::Unsupported {
            what: "squashfs compressor",
            detail: format!("id {comp_id}"),
        })?;
        let block_size = u32le(&sb, 12);
        let block_log = u16le(&sb, 22);
        if !(4096..=1 << 20).contains(&block_size)
            || !block_size.is_power_of_two()
            || 1u32 << block_log.min(31) != block_size
        {
            return Err(bad("block_size", format!("{block_size} (log {block_log})")));
        }
        let bytes_used = u64le(&sb, 40);
        if bytes_used > src.len() || bytes_used < 96 {
            return Err(bad(
                "bytes_used",
                format!("{bytes_used}, the source has {} bytes", src.len()),
            ));
        }
        let table = |at: usize, name: &str| -> Result<u64> {
            let v = u64le(&sb, at);
            if v >= bytes_used {
                return Err(bad(name, format!("{v} is past bytes_used {bytes_used}")));
            }
            Ok(v)
        };
        let mut fs = Squashfs {
            compressor,
            block_size,
            mod_time: u32le(&sb, 8),
            inode_count: u32le(&sb, 4),
            bytes_used,
            root: u64le(&sb, 32),
            inode_table: table(64, "inode_table_start")?,
            dir_table: table(72, "directory_table_start")?,
            ids: Vec::new(),
            fragment_index: Vec::new(),
            fragment_count: u32le(&sb, 16),
            meta: Cache::with_limit(MAX_CACHED_BYTES),
            fragments: Cache::with_limit(MAX_CACHED_BYTES),
            dirs: DirCache::new(),
            src,
        };
        let id_count = u16le(&sb, 26);
        let id_index = fs.read_index(
            table(48, "id_table_start")?,
            u64::from(id_count) * 4,
            "squashfs id table index",
        )?;
        let raw = fs.read_table(&id_index, usize::from(id_count) * 4, "squashfs id table")?;
        fs.ids = raw.chunks_exact(4).map(|c| u32le(c, 0)).collect();
        let flags = u16le(&sb, 24);
        if fs.fragment_count > 0 && flags & 0x10 == 0 {
            let start = table(80, "fragment_table_start")?;
            fs.fragment_index = fs.read_index(
                start,
                u64::from(fs.fragment_count) * 16,
                "squashfs fragment table index",
            )?;
        }
        Ok(fs)
    }

    /// The compressor of the filesystem.
    pub fn compressor(&self) -> Compressor {
        self.compressor
    }

    /// The superblock's modification time (seconds since the epoch).
    pub fn mod_time(&self) -> u32 {
        self.mod_time
    }

    /// The number of inodes.
    pub fn inode_count(&self) -> u32 {
        self.inode_count
    }

    /// The size of the filesystem in bytes (`bytes_used`; the image is padded beyond it).
    pub fn bytes_used(&self) -> u64 {
        self.bytes_used
    }

    /// The u64 block pointers of a table whose entries take `bytes` bytes in all.
    fn read_index(&self, at: u64, bytes: u64, what: &'static str) -> Result<Vec<u64>> {
        let n = bytes.div_ceil(META_SIZE as u64);
        if at + n * 8 > self.bytes_used {
            return Err(Error::corrupt(
                what,
                at,
                format!("{n} pointers run past bytes_used {}", self.bytes_used),
            ));
        }
        let mut buf = vec![0u8; n as usize * 8];
        self.src.read_exact_at(at, &mut buf, what)?;
        Ok(buf.chunks_exact(8).map(|c| u64le(c, 0)).collect())
    }

    /// `bytes` bytes of a table stored in the metadata blocks `index` points at.
    fn read_table(&self, index: &[u64], bytes: usize, what: &'static str) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(bytes);
        for &block in index {
            let (data, _) = &*self.meta_block(block).map_err(|e| rename(e, what))?;
            out.extend_from_slice(data);
        }
        if out.len() < bytes {
            return Err(Error::corrupt(
                what,
                index.first().copied().unwrap_or(0),
                format!("{} bytes, {bytes} needed", out.len()),
            ));
        }
        out.truncate(bytes);
        Ok(out)
    }

    /// The decompressed content of the metadata block at `at`, and where the next one starts.
    fn meta_block(&self, at: u64) -> Result<Arc<(Vec<u8>, u64)>> {
        self.meta
            .get_or_load_weighted(at, || self.load_meta_block(at), |b| b.0.len() / 16 + 1)
    }

    fn load_meta_block(&self, at: u64) -> Result<(Vec<u8>, u64)> {
        let what = "squashfs metadata block";
        if at.checked_add(2).is_none_or(|e| e > self.bytes_used) {
            return Err(Error::corrupt(
                what,
                at,
                format!("past bytes_used {}", self.bytes_used),
            ));
        }
        let mut h = [0u8; 2];
        self.src.read_exact_at(at, &mut h, what)?;
        let header = u16::from_le_bytes(h);
        let len = u64::from(header & 0x7FFF);
        if len == 0 || len as usize > META_SIZE || at + 2 + len > self.bytes_used {
            return Err(Error::corrupt(what, at, format!("stored length {len}")));
        }
        let mut raw = vec![0u8; len as usize];
        self.src.read_exact_at(at + 2, &mut raw, what)?;
        let data = if header & 0x8000 != 0 {
            raw
        } else {
            self.compressor
                .decompress(&raw, META_SIZE)
                .map_err(|e| Error::corrupt(what, at, format!("{:?}: {e}", self.compressor)))?
        };
        Ok((data, at + 2 + len))
    }

    /// `n` bytes of a metadata stream from `pos`, which advances past them.
    fn meta_read(&self, pos: &mut MetaPos, n: usize, what: &'static str) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(n.min(1 << 20));
        while out.len() < n {
            let block = self.meta_block(pos.block).map_err(|e| rename(e, what))?;
            let (data, next) = &*block;
            if pos.offset > data.len() {
                return Err(Error::corrupt(
                    what,
                    pos.block,
                    format!(
                        "offset {} past the block's {} bytes",
                        pos.offset,
                        data.len()
                    ),
                ));
            }
            let take = (n - out.len()).min(data.len() - pos.offset);
            out.extend_from_slice(&data[pos.offset..pos.offset + take]);
            pos.offset += take;
            if pos.offset == data.len() && out.len() < n {
                *pos = MetaPos {
                    block: *next,
                    offset: 0,
                };
            }
        }
        Ok(out)
    }

    fn id(&self, index: u16, at: u64) -> Result<u32> {
        self.ids.get(usize::from(index)).copied().ok_or_else(|| {
            Error::corrupt(
                "squashfs inode",
                at,
                format!(
                    "id index {index} outside the id table ({} ids)",
                    self.ids.len()
                ),
            )
        })
    }

    /// The inode a reference (`block << 16 | offset` relative to the inode table) names.
    fn inode(&self, reference: u64) -> Result<Inode> {
        let what = "squashfs inode";
        let block = self.inode_table + (reference >> 16);
        let mut pos = MetaPos {
            block,
            offset: (reference & 0xFFFF) as usize,
        };
        if block >= self.dir_table.max(self.inode_table + 1) && self.dir_table > self.inode_table {
            return Err(Error::corrupt(
                what,
                block,
                format!("reference {reference:#x} is outside the inode table"),
            ));
        }
        let h = self.meta_read(&mut pos, 16, what)?;
        let kind_id = u16le(&h, 0);
        let mut meta = Metadata {
            kind: FileKind::Regular,
            permissions: u32::from(u16le(&h, 2)) & 0o7777,
            size: 0,
            mtime: i64::from(u32le(&h, 8)),
            uid: self.id(u16le(&h, 4), block)?,
            gid: self.id(u16le(&h, 6), block)?,
        };
        let body = match kind_id {
            1 => {
                let b = self.meta_read(&mut pos, 16, what)?;
                meta.kind = FileKind::Directory;
                let size = u32::from(u16le(&b, 8));
                meta.size = u64::from(size);
                Body::Dir {
                    start_block: u32le(&b, 0),
                    offset: u16le(&b, 10),
                    size,
                }
            }
            8 => {
                let b = self.meta_read(&mut pos, 24, what)?;
                meta.kind = FileKind::Directory;
                let size = u32le(&b, 4);
                meta.size = u64::from(size);
                Body::Dir {
                    start_block: u32le(&b, 8),
                    offset: u16le(&b, 18),
                    size,
                }
            }
            2 => {
                let b = self.meta_read(&mut pos, 16, what)?;
                meta.size = u64::from(u32le(&b, 12));
                Body::File {
                    blocks_start: u64::from(u32le(&b, 0)),
                    fragment: u32le(&b, 4),
                    frag_offset: u32le(&b, 8),
                    list: pos,
                }
            }
            9 => {
                let b = self.meta_read(&mut pos, 40, what)?;
                meta.size = u64le(&b, 8);
                Body::File {
                    blocks_start: u64le(&b, 0),
                    fragment: u32le(&b, 28),
                    frag_offset: u32le(&b, 32),
                    list: pos,
                }
            }
            3 | 10 => {
                let b = self.meta_read(&mut pos, 8, what)?;
                let len = u32le(&b, 4);
                if len > 4096 {
                    return Err(Error::corrupt(
                        what,
                        block,
                        format!("symlink target of {len} bytes"),
                    ));
                }
                meta.kind = FileKind::Symlink;
                meta.size = u64::from(len);
                Body::Symlink(self.meta_read(&mut pos, len as usize, what)?)
            }
            4 | 11 => {
                meta.kind = FileKind::BlockDevice;
                Body::Other
            }
            5 | 12 => {
                meta.kind = FileKind::CharDevice;
                Body::Other
            }
            6 | 13 => {
                meta.kind = FileKind::Fifo;
                Body::Other
            }
            7 | 14 => {
                meta.kind = FileKind::Socket;
                Body::Other
            }
            t => {
                return Err(Error::corrupt(
                    what,
                    block,
                    format!(
                        "unknown inode type {t} at offset {} of the block",
                        reference & 0xFFFF
                    ),
                ));
            }
        };
        Ok(Inode {
            at: block,
            meta,
            body,
        })
    }

    /// The entries (name, inode reference) of the directory `dir`.
    fn list(&self, dir: &Inode, key: u64) -> Result<Arc<Vec<(String, u64)>>> {
        let Body::Dir {
            start_block,
            offset,
            size,
        } = dir.body
        else {
            return Err(Error::corrupt(
                "squashfs directory",
                dir.at,
                "not a directory inode",
            ));
        };
        self.dirs.get_or_load(key, || {
            let what = "squashfs directory";
            let mut out = Vec::new();
            // The stored size counts 3 bytes for the absent `.` and `..`.
            let mut left = u64::from(size).saturating_sub(3);
            let block = self.dir_table + u64::from(start_block);
            if block >= self.bytes_used {
                return Err(Error::corrupt(
                    what,
                    dir.at,
                    format!("listing at {block} past bytes_used"),
                ));
            }
            let mut pos = MetaPos {
                block,
                offset: usize::from(offset),
            };
            while left > 0 {
                if left < 12 {
                    return Err(Error::corrupt(
                        what,
                        pos.block,
                        format!("{left} stray bytes at the end of a listing"),
                    ));
                }
                let h = self.meta_read(&mut pos, 12, what)?;
                left -= 12;
                let count = u64::from(u32le(&h, 0)) + 1;
                let start = u64::from(u32le(&h, 4));
                if count > 256 {
                    return Err(Error::corrupt(
                        what,
                        pos.block,
                        format!("header of {count} entries (at most 256)"),
                    ));
                }
                for _ in 0..count {
                    if left < 8 {
                        return Err(Error::corrupt(
                            what,
                            pos.block,
                            "entry runs past the listing's size",
                        ));
                    }
                    let e = self.meta_read(&mut pos, 8, what)?;
                    let name_len = usize::from(u16le(&e, 6)) + 1;
                    if left < 8 + name_len as u64 || name_len > 256 {
                        return Err(Error::corrupt(
                            what,
                            pos.block,
                            format!("name of {name_len} bytes runs past the listing"),
                        ));
                    }
                    left -= 8 + name_len as u64;
                    let name = self.meta_read(&mut pos, name_len, what)?;
                    if name.contains(&b'/') || name.contains(&0) || name == b"." || name == b".." {
                        return Err(Error::corrupt(
                            what,
                            pos.block,
                            format!("invalid name {:?}", String::from_utf8_lossy(&name)),
                        ));
                    }
                    let reference = (start << 16) | u64::from(u16le(&e, 0));
                    out.push((String::from_utf8_lossy(&name).into_owned(), reference));
                }
            }
            Ok(out)
        })
    }

    /// The inode at `path` and its reference; directory cycles are errors.
    fn lookup(&self, path: &TreePath) -> Result<(Inode, u64)> {
        let mut reference = self.root;
        let mut inode = self.inode(reference)?;
        let mut chain = vec![reference];
        for name in path.components() {
            if inode.meta.kind != FileKind::Directory {
                return Err(Error::WrongKind {
                    path: path.to_string(),
                    detail: format!("a component before {name:?} is not a directory"),
                });
            }
            let listing = self.list(&inode, reference)?;
            let Some(&(_, child)) = listing.iter().find(|(n, _)| n == name) else {
                return Err(Error::NotFound(path.to_string()));
            };
            let child_inode = self.inode(child)?;
            if child_inode.meta.kind == FileKind::Directory {
                if chain.contains(&child) {
                    return Err(Error::corrupt(
                        "squashfs directory",
                        inode.at,
                        format!("directory cycle: {name:?} names an ancestor directory"),
                    ));
                }
                chain.push(child);
            }
            reference = child;
            inode = child_inode;
        }
        Ok((inode, reference))
    }

    /// The decompressed fragment block `index` (cached).
    fn fragment(&self, index: u32, at: u64) -> Result<Arc<Vec<u8>>> {
        self.fragments.get_or_load_weighted(
            u64::from(index),
            || self.load_fragment(index, at),
            |f| f.len() + 1,
        )
    }

    fn load_fragment(&self, index: u32, at: u64) -> Result<Vec<u8>> {
        let what = "squashfs fragment table";
        if index >= self.fragment_count || self.fragment_index.is_empty() {
            return Err(Error::corrupt(
                "squashfs inode",
                at,
                format!(
                    "fragment {index} outside the fragment table ({} entries)",
                    self.fragment_count
                ),
            ));
        }
        let byte = u64::from(index) * 16;
        let table_block = *self
            .fragment_index
            .get((byte / META_SIZE as u64) as usize)
            .ok_or_else(|| Error::corrupt(what, at, "index too short"))?;
        let mut pos = MetaPos {
            block: table_block,
            offset: (byte % META_SIZE as u64) as usize,
        };
        let e = self.meta_read(&mut pos, 16, what)?;
        let start = u64le(&e, 0);
        let size = u32le(&e, 8);
        self.data_block(
            start,
            size,
            self.block_size as usize,
            "squashfs fragment block",
        )
    }

    /// The decompressed data block stored at `start` with on-disk size word `size`.
    fn data_block(
        &self,
        start: u64,
        size: u32,
        expect: usize,
        what: &'static str,
    ) -> Result<Vec<u8>> {
        let len = u64::from(size & !DATA_UNCOMPRESSED);
        if size & !(DATA_UNCOMPRESSED | 0xFF_FFFF) != 0
            || len > u64::from(self.block_size)
            || start.checked_add(len).is_none_or(|e| e > self.bytes_used)
        {
            return Err(Error::corrupt(
                what,
                start,
                format!("stored size {size:#x} does not fit the image"),
            ));
        }
        let mut raw = vec![0u8; len as usize];
        self.src.read_exact_at(start, &mut raw, what)?;
        if size & DATA_UNCOMPRESSED != 0 {
            return Ok(raw);
        }
        self.compressor
            .decompress(&raw, expect)
            .map_err(|e| Error::corrupt(what, start, format!("{:?}: {e}", self.compressor)))
    }

    fn content(&self, inode: &Inode) -> Result<FileReader<'_, R>> {
        let Body::File {
            blocks_start,
            fragment,
            frag_offset,
            mut list,
        } = inode.body
        else {
            return Err(Error::corrupt(
                "squashfs inode",
                inode.at,
                "not a file inode",
            ));
        };
        let bs = u64::from(self.block_size);
        let size = inode.meta.size;
        let full = if fragment == NO_FRAGMENT {
            size.div_ceil(bs)
        } else {
            size / bs
        };
        if full > MAX_FILE_BLOCKS {
            return Err(Error::Limit {
                what: format!("blocks of a {size}-byte squashfs file"),
                limit: MAX_FILE_BLOCKS,
            });
        }
        let raw = self.meta_read(&mut list, full as usize * 4, "squashfs block list")?;
        let mut blocks = Vec::with_capacity(full as usize);
        let mut at = blocks_start;
        for c in raw.chunks_exact(4) {
            let word = u32le(c, 0);
            blocks.push((at, word));
            at += u64::from(word & !DATA_UNCOMPRESSED & 0xFF_FFFF);
        }
        let tail = if fragment == NO_FRAGMENT {
            None
        } else {
            let tail_len = (size % bs) as usize;
            let frag = self.fragment(fragment, inode.at)?;
            let frag: &[u8] = &frag;
            let start = frag_offset as usize;
            if start + tail_len > frag.len() {
                return Err(Error::corrupt(
                    "squashfs fragment block",
                    inode.at,
                    format!(
                        "file tail {start}+{tail_len} outside the {}-byte fragment {fragment}",
                        frag.len()
                    ),
                ));
            }
            Some(frag[start..start + tail_len].to_vec())
        };
        Ok(FileReader {
            fs: self,
            blocks,
            tail,
            size,
            index: 0,
            current: Vec::new(),
            pos: 0,
        })
    }
}

/// An error from a shared lower layer, named after the table that was being read.
fn rename(e: Error, what: &'static str) -> Error {
    match e {
        Error::Corrupt {
            offset,
            detail,
            what: inner,
        } => Error::Corrupt {
            what,
            offset,
            detail: format!("{inner}: {detail}"),
        },
        other => other,
    }
}

impl<R: ReadAt> FileTree for Squashfs<R> {
    fn metadata(&self, path: &TreePath) -> Result<Metadata> {
        Ok(self.lookup(path)?.0.meta)
    }

    fn read_dir(&self, path: &TreePath) -> Result<Vec<DirEntry>> {
        let (dir, reference) = self.lookup(path)?;
        if dir.meta.kind != FileKind::Directory {
            return Err(Error::WrongKind {
                path: path.to_string(),
                detail: "not a directory".to_owned(),
            });
        }
        self.list(&dir, reference)?
            .iter()
            .map(|(name, r)| {
                Ok(DirEntry {
                    name: name.clone(),
                    metadata: self.inode(*r)?.meta,
                })
            })
            .collect()
    }

    fn read_link(&self, path: &TreePath) -> Result<String> {
        match self.lookup(path)?.0.body {
            Body::Symlink(t) => Ok(String::from_utf8_lossy(&t).into_owned()),
            _ => Err(Error::WrongKind {
                path: path.to_string(),
                detail: "not a symlink".to_owned(),
            }),
        }
    }

    fn open(&self, path: &TreePath) -> Result<Box<dyn Read + Send + '_>> {
        let (inode, _) = self.lookup(path)?;
        if inode.meta.kind != FileKind::Regular {
            return Err(Error::WrongKind {
                path: path.to_string(),
                detail: format!("expected a regular file, found {:?}", inode.meta.kind),
            });
        }
        Ok(Box::new(self.content(&inode)?))
    }
}
