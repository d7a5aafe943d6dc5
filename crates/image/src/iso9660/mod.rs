//! Read-only ISO 9660 with Rock Ridge (names, modes, owners, symlinks, times, relocated
//! directories), Joliet, multi-extent files and zisofs (transparent decompression), plus the
//! volume descriptor fields `isoinfo -d` prints ([`VolumeInfo`]).
//!
//! Directories are read whole (bounded), records are checked against the image's size, and a
//! directory record naming one of its ancestors is an error, not an endless walk.

mod info;
mod rrip;
mod zisofs;

use std::io::{self, Read};

pub use info::VolumeInfo;
use rrip::{record_time, Rr, Zf};
use zisofs::ZisofsReader;

use crate::dircache::DirCache;
use crate::error::{Error, Result};
use crate::fs::{DirEntry, FileKind, FileTree, Metadata, TreePath};
use crate::le::u32le;
use crate::source::{Cursor, ReadAt};

/// The logical sector (and block) size this reader handles.
pub(crate) const SECTOR: u64 = 2048;
/// Largest directory read whole.
const MAX_DIR_BYTES: u64 = 64 << 20;
/// Extents one multi-extent file may have.
const MAX_EXTENTS: usize = 4096;

/// True when `src` holds an ISO 9660 primary volume descriptor at sector 16.
pub fn probe(src: &dyn ReadAt) -> bool {
    let mut d = [0u8; 7];
    src.read_exact_at(16 * SECTOR, &mut d, "iso9660 volume descriptor")
        .is_ok()
        && &d == b"\x01CD001\x01"
}

/// Which names and attributes a tree shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Rock Ridge names and POSIX attributes from the primary descriptor's tree.
    RockRidge,
    /// Joliet (UCS-2) names from the supplementary descriptor's tree.
    Joliet,
    /// Plain ISO 9660 names (version suffix `;1` dropped).
    Plain,
}

/// A read-only ISO 9660 filesystem over a block source.
pub struct Iso9660<R> {
    src: R,
    pvd: Vec<u8>,
    names: Names,
    /// Bytes skipped at the start of each system use area (`SP` `len_skp`).
    skip: usize,
    root: Node,
    dirs: DirCache<Node>,
}

/// One directory entry as the reader keeps it.
#[derive(Debug, Clone)]
struct Node {
    name: String,
    meta: Metadata,
    /// Byte offset of the (first) directory record.
    at: u64,
    /// (first sector, length) of each extent of the content.
    extents: Vec<(u32, u32)>,
    /// The last record seen had the multi-extent flag: the next one with this name continues it.
    more: bool,
    target: Option<String>,
    zf: Option<Zf>,
}

impl<R: ReadAt> Iso9660<R> {
    /// Opens the ISO in `src`, showing Rock Ridge names when the image has them, else Joliet,
    /// else plain ISO 9660 names.
    pub fn open(src: R) -> Result<Self> {
        Self::open_with(src, None)
    }

    /// Opens the ISO in `src` with the given name space (`None`: the best available).
    pub fn open_with(src: R, names: Option<Names>) -> Result<Self> {
        let mut pvd = vec![0u8; SECTOR as usize];
        src.read_exact_at(16 * SECTOR, &mut pvd, "iso9660 primary volume descriptor")?;
        if &pvd[..7] != b"\x01CD001\x01" {
            return Err(Error::corrupt(
                "iso9660 primary volume descriptor",
                16 * SECTOR,
                "no \\x01CD001\\x01 signature",
            ));
        }
        let block = u16::from_le_bytes([pvd[128], pvd[129]]);
        if u64::from(block) != SECTOR {
            return Err(Error::Unsupported {
                what: "iso9660 logical block size",
                detail: block.to_string(),
            });
        }
        let mut joliet = None;
        let mut d = vec![0u8; SECTOR as usize];
        for n in 17..16 + info::MAX_DESCRIPTORS {
            src.read_exact_at(n * SECTOR, &mut d, "iso9660 volume descriptor")?;
            if &d[1..6] != b"CD001" || d[0] == 255 {
                break;
            }
            if d[0] == 2 && joliet.is_none() && info::joliet_level(&d).is_some() {
                joliet = Some(d.clone());
            }
        }
        let mut iso = Iso9660 {
            root: Node {
                name: String::new(),
                meta: dir_meta(0),
                at: 0,
                extents: Vec::new(),
                more: false,
                target: None,
                zf: None,
            },
            src,
            pvd,
            names: Names::Plain,
            skip: 0,
            dirs: DirCache::new(),
        };
        // The root's "." record tells whether Rock Ridge is present (SP, and its skip length).
        let pvd_root = iso.pvd[156..190].to_vec();
        let (rr_root, rr_present) = iso.root_dot(&pvd_root, 16 * SECTOR + 156)?;
        let names = names.unwrap_or(if rr_present {
            Names::RockRidge
        } else if joliet.is_some() {
            Names::Joliet
        } else {
            Names::Plain
        });
        let root_record = match names {
            Names::Joliet => {
                let j = joliet.ok_or_else(|| Error::Unsupported {
                    what: "iso9660 name space",
                    detail: "no Joliet descriptor".to_owned(),
                })?;
                j[156..190].to_vec()
            }
            Names::RockRidge if !rr_present => {
                return Err(Error::Unsupported {
                    what: "iso9660 name space",
                    detail: "no Rock Ridge entries".to_owned(),
                });
            }
            _ => pvd_root,
        };
        iso.names = names;
        let (extent, size) = (u32le(&root_record, 2), u32le(&root_record, 10));
        let mut meta = dir_meta(record_time(&root_record[18..25]));
        meta.size = u64::from(size);
        if names == Names::RockRidge {
            apply_rr(&mut meta, &rr_root);
        }
        iso.root = Node {
            name: String::new(),
            meta,
            at: 16 * SECTOR + 156,
            extents: vec![(extent, size)],
            more: false,
            target: None,
            zf: None,
        };
        Ok(iso)
    }

    /// The name space this tree shows.
    pub fn names(&self) -> Names {
        self.names
    }

    /// The Rock Ridge entries of the `.` record of the directory the record `rec` points at,
    /// and whether it carries SUSP at all; sets the `SP` skip length.
    fn root_dot(&mut self, rec: &[u8], at: u64) -> Result<(Rr, bool)> {
        let extent = u64::from(u32le(rec, 2));
        let mut sector = vec![0u8; SECTOR as usize];
        self.src
            .read_exact_at(extent * SECTOR, &mut sector, "iso9660 root directory")?;
        let (area, area_at) = su_area(&sector, 0, extent * SECTOR).map_err(|e| rename(e, at))?;
        if area.len() >= 7 && &area[..2] == b"SP" && area[4] == 0xBE && area[5] == 0xEF {
            self.skip = usize::from(area[6]);
        }
        let rr = rrip::parse(&self.src, area, area_at)?;
        let present = rr.present;
        Ok((rr, present))
    }

    /// Reads the directory whose content is `extent`/`size`.
    fn list(&self, dir: &Node) -> Result<std::sync::Arc<Vec<Node>>> {
        let &[(extent, size)] = dir.extents.as_slice() else {
            return Err(Error::corrupt(
                "iso9660 directory record",
                dir.at,
                "a directory with several extents",
            ));
        };
        self.dirs.get_or_load(u64::from(extent), || {
            let what = "iso9660 directory";
            let start = u64::from(extent) * SECTOR;
            if u64::from(size) > MAX_DIR_BYTES || start + u64::from(size) > self.src.len() {
                return Err(Error::corrupt("iso9660 directory record", dir.at, format!("directory of {size} bytes at sector {extent} does not fit the image ({} bytes)", self.src.len())));
            }
            let mut data = vec![0u8; size as usize];
            self.src.read_exact_at(start, &mut data, what)?;
            let mut out: Vec<Node> = Vec::new();
            for (s, sector) in data.chunks(SECTOR as usize).enumerate() {
                let sector_at = start + s as u64 * SECTOR;
                let mut pos = 0usize;
                while pos < sector.len() && sector[pos] != 0 {
                    let rec_at = sector_at + pos as u64;
                    let len = usize::from(sector[pos]);
                    let rec = sector.get(pos..pos + len).filter(|_| len >= 34).ok_or_else(|| Error::corrupt("iso9660 directory record", rec_at, format!("length {len} does not fit the sector")))?;
                    pos += len;
                    let name_len = usize::from(rec[32]);
                    if 33 + name_len > len {
                        return Err(Error::corrupt("iso9660 directory record", rec_at, format!("name of {name_len} bytes in a {len}-byte record")));
                    }
                    let raw_name = &rec[33..33 + name_len];
                    let flags = rec[25];
                    if raw_name == [0] || raw_name == [1] || flags & 0x04 != 0 {
                        continue;
                    }
                    if let Some(node) = self.node(rec, rec_at)? {
                        match out.last_mut() {
                            Some(prev) if prev.more && prev.name == node.name => {
                                if prev.extents.len() >= MAX_EXTENTS {
                                    return Err(Error::corrupt("iso9660 directory record", rec_at, format!("more than {MAX_EXTENTS} extents")));
                                }
                                prev.extents.extend(node.extents);
                                prev.meta.size += node.meta.size;
                                prev.more = node.more;
                            }
                            _ => out.push(node),
                        }
                    }
                }
            }
            Ok(out)
        })
    }

    /// The node of one directory record (`None` for records Rock Ridge hides).
    fn node(&self, rec: &[u8], at: u64) -> Result<Option<Node>> {
        let name_len = usize::from(rec[32]);
        let raw_name = &rec[33..33 + name_len];
        let flags = rec[25];
        let (extent, size) = (u32le(rec, 2), u32le(rec, 10));
        let is_dir = flags & 0x02 != 0;
        let mut meta = if is_dir { dir_meta(0) } else { file_meta() };
        meta.mtime = record_time(&rec[18..25]);
        meta.size = u64::from(size);
        let mut node = Node {
            name: String::new(),
            meta,
            at,
            extents: vec![(extent, size)],
            more: flags & 0x80 != 0,
            target: None,
            zf: None,
        };
        match self.names {
            Names::Plain => node.name = plain_name(raw_name),
            Names::Joliet => node.name = joliet_name(raw_name),
            Names::RockRidge => {
                let (area, area_at) = su_area(rec, self.skip, at)?;
                let rr = rrip::parse(&self.src, area, area_at)?;
                if rr.relocated {
                    return Ok(None);
                }
                node.name = match &rr.name {
                    Some(n) => String::from_utf8_lossy(n).into_owned(),
                    None => plain_name(raw_name),
                };
                if let Some(child) = rr.child_link {
                    // A directory moved elsewhere: its own "." record has its size and attributes.
                    let mut sector = vec![0u8; SECTOR as usize];
                    self.src.read_exact_at(
                        u64::from(child) * SECTOR,
                        &mut sector,
                        "iso9660 relocated directory",
                    )?;
                    let child_at = u64::from(child) * SECTOR;
                    let (area, area_at) = su_area(&sector, self.skip, child_at)?;
                    let child_rr = rrip::parse(&self.src, area, area_at)?;
                    node.meta = dir_meta(record_time(&sector[18..25]));
                    node.meta.size = u64::from(u32le(&sector, 10));
                    node.extents = vec![(child, u32le(&sector, 10))];
                    apply_rr(&mut node.meta, &child_rr);
                    node.meta.kind = FileKind::Directory;
                } else {
                    apply_rr(&mut node.meta, &rr);
                }
                if node.meta.kind == FileKind::Symlink {
                    let t = rr.target.clone().unwrap_or_default();
                    node.meta.size = t.len() as u64;
                    node.target = Some(t);
                } else if node.meta.kind == FileKind::Regular {
                    if let Some(zf) = rr.zf {
                        node.meta.size = u64::from(zf.size);
                        node.zf = Some(zf);
                    }
                } else if node.meta.kind != FileKind::Directory {
                    node.meta.size = 0;
                }
            }
        }
        if node.name.is_empty()
            || node.name.contains('/')
            || node.name == "."
            || node.name == ".."
            || node.name.contains('\0')
        {
            return Err(Error::corrupt(
                "iso9660 directory record",
                at,
                format!("invalid name {:?}", node.name),
            ));
        }
        Ok(Some(node))
    }

    /// The node at `path`; a directory naming one of its ancestors is an error.
    fn lookup(&self, path: &TreePath) -> Result<Node> {
        let mut node = self.root.clone();
        let mut chain = vec![node.extents[0].0];
        for name in path.components() {
            if node.meta.kind != FileKind::Directory {
                return Err(Error::WrongKind {
                    path: path.to_string(),
                    detail: format!("a component before {name:?} is not a directory"),
                });
            }
            let listing = self.list(&node)?;
            let Some(child) = listing.iter().find(|n| n.name == name) else {
                return Err(Error::NotFound(path.to_string()));
            };
            if child.meta.kind == FileKind::Directory {
                let extent = child.extents.first().map_or(0, |e| e.0);
                if chain.contains(&extent) {
                    return Err(Error::corrupt("iso9660 directory record", child.at, format!("directory cycle: {name:?} points at sector {extent}, an ancestor directory")));
                }
                chain.push(extent);
            }
            node = child.clone();
        }
        Ok(node)
    }

    /// Where the content of the regular file `path` lies in the image, when it is stored as one
    /// contiguous, uncompressed byte range (so a squashfs member can be read in place).
    pub fn contiguous_range(&self, path: &TreePath) -> Result<Option<(u64, u64)>> {
        let node = self.lookup(path)?;
        if node.meta.kind != FileKind::Regular || node.zf.is_some() {
            return Ok(None);
        }
        let start = node.extents.first().map_or(0, |e| u64::from(e.0) * SECTOR);
        let mut end = start;
        for &(extent, len) in &node.extents {
            if u64::from(extent) * SECTOR != end {
                return Ok(None);
            }
            end += u64::from(len);
        }
        self.check_extents(&node)?;
        Ok(Some((start, end - start)))
    }

    fn check_extents(&self, node: &Node) -> Result<()> {
        for &(extent, len) in &node.extents {
            if u64::from(extent) * SECTOR + u64::from(len) > self.src.len() {
                return Err(Error::corrupt(
                    "iso9660 directory record",
                    node.at,
                    format!(
                        "{len} bytes at sector {extent} run past the image's {} bytes",
                        self.src.len()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The system use area of the record at the start of `rec` (after the name, its padding and an
/// XA block, then `skip` bytes), and its byte offset.
fn su_area(rec: &[u8], skip: usize, at: u64) -> Result<(&[u8], u64)> {
    let len = usize::from(rec[0]);
    if len < 34 || len > rec.len() {
        return Err(Error::corrupt(
            "iso9660 directory record",
            at,
            format!("length {len}"),
        ));
    }
    let name_len = usize::from(rec[32]);
    let mut start = 33 + name_len + usize::from(name_len % 2 == 0);
    if len >= start + 14 && &rec[start + 6..start + 8] == b"XA" && rec[start + 9] == 0 {
        start += 14;
    }
    start += skip;
    if start >= len {
        return Ok((&[], at + len as u64));
    }
    Ok((&rec[start..len], at + start as u64))
}

fn rename(e: Error, at: u64) -> Error {
    match e {
        Error::Corrupt { detail, .. } => {
            Error::corrupt("iso9660 root directory record", at, detail)
        }
        other => other,
    }
}

fn dir_meta(mtime: i64) -> Metadata {
    Metadata {
        kind: FileKind::Directory,
        permissions: 0o555,
        size: 0,
        mtime,
        uid: 0,
        gid: 0,
    }
}

fn file_meta() -> Metadata {
    Metadata {
        kind: FileKind::Regular,
        permissions: 0o444,
        size: 0,
        mtime: 0,
        uid: 0,
        gid: 0,
    }
}

fn apply_rr(meta: &mut Metadata, rr: &Rr) {
    if let Some((mode, uid, gid)) = rr.px {
        if let Some(kind) = FileKind::from_mode(mode) {
            meta.kind = kind;
        }
        meta.permissions = mode & 0o7777;
        meta.uid = uid;
        meta.gid = gid;
    }
    if let Some(t) = rr.mtime {
        meta.mtime = t;
    }
}

/// A plain ISO 9660 name without its `;version` and a trailing dot.
fn plain_name(raw: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(raw).into_owned();
    if let Some(p) = s.rfind(';') {
        s.truncate(p);
    }
    if s.ends_with('.') && s.len() > 1 {
        s.pop();
    }
    s
}

/// A Joliet (UCS-2 big-endian) name without its `;version`.
fn joliet_name(raw: &[u8]) -> String {
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let mut s = String::from_utf16_lossy(&units);
    if let Some(p) = s.rfind(';') {
        s.truncate(p);
    }
    s
}

/// The stored bytes of a file: its extents read as one range.
struct Extents<'a, R> {
    src: &'a R,
    /// (byte offset in the image, length)
    parts: Vec<(u64, u64)>,
    len: u64,
}

impl<R: ReadAt> ReadAt for Extents<'_, R> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut base = 0u64;
        for &(start, len) in &self.parts {
            if offset < base + len {
                let n = (buf.len() as u64).min(base + len - offset) as usize;
                return self.src.read_at(start + offset - base, &mut buf[..n]);
            }
            base += len;
        }
        Ok(0)
    }

    fn len(&self) -> u64 {
        self.len
    }
}

impl<R: ReadAt> FileTree for Iso9660<R> {
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
        Ok(self
            .list(&dir)?
            .iter()
            .map(|n| DirEntry {
                name: n.name.clone(),
                metadata: n.meta.clone(),
            })
            .collect())
    }

    fn read_link(&self, path: &TreePath) -> Result<String> {
        self.lookup(path)?.target.ok_or_else(|| Error::WrongKind {
            path: path.to_string(),
            detail: "not a symlink".to_owned(),
        })
    }

    fn open(&self, path: &TreePath) -> Result<Box<dyn Read + Send + '_>> {
        let node = self.lookup(path)?;
        if node.meta.kind != FileKind::Regular {
            return Err(Error::WrongKind {
                path: path.to_string(),
                detail: format!("expected a regular file, found {:?}", node.meta.kind),
            });
        }
        self.check_extents(&node)?;
        let parts: Vec<(u64, u64)> = node
            .extents
            .iter()
            .map(|&(e, l)| (u64::from(e) * SECTOR, u64::from(l)))
            .collect();
        let len = parts.iter().map(|p| p.1).sum();
        let raw = Extents {
            src: &self.src,
            parts,
            len,
        };
        match node.zf {
            Some(zf) => Ok(Box::new(ZisofsReader::new(
                raw,
                node.at,
                zf.size,
                zf.log2_block,
            )?)),
            None => Ok(Box::new(Cursor::new(raw, 0).take(len))),
        }
    }
}
