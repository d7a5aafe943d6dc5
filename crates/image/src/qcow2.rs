//! qcow2 (versions 2 and 3) as a block source: the virtual disk read through the L1 and L2
//! tables, with zlib (raw deflate) and zstd compressed clusters. Backing files, encryption,
//! external data files and extended L2 entries are refused with a clear error; unallocated
//! clusters read as zeros.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::source::ReadAt;

const MAGIC: [u8; 4] = *b"QFI\xfb";
/// Largest L1 table loaded (4 M entries: 2 PiB of 64 KiB clusters).
const MAX_L1_BYTES: u64 = 32 << 20;
const L2_CACHE: usize = 64;
const CLUSTER_CACHE: usize = 32;
const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;

/// The compression of compressed clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterCompression {
    /// Raw deflate (the default).
    Zlib,
    /// Zstandard.
    Zstd,
}

/// A qcow2 image file read as its virtual disk.
pub struct Qcow2<R> {
    file: R,
    version: u32,
    cluster_bits: u32,
    size: u64,
    l1: Vec<u64>,
    compression: ClusterCompression,
    l2_cache: Mutex<Vec<(u64, Arc<Vec<u64>>)>>,
    cluster_cache: Mutex<Vec<(u64, Arc<Vec<u8>>)>>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

fn bad(what: &'static str, offset: u64, detail: impl Into<String>) -> Error {
    Error::corrupt(what, offset, detail)
}

fn to_io(e: Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl<R: ReadAt> Qcow2<R> {
    /// Reads the header and L1 table of `file`.
    pub fn open(file: R) -> Result<Self> {
        let mut h = [0u8; 112];
        let have = file.len().min(h.len() as u64) as usize;
        file.read_exact_at(0, &mut h[..have], "qcow2 header")?;
        if have < 72 || h[..4] != MAGIC {
            return Err(bad(
                "qcow2 header",
                0,
                "no QFI\\xfb magic (not a qcow2 image)",
            ));
        }
        let version = be32(&h, 4);
        if version != 2 && version != 3 {
            return Err(Error::Unsupported {
                what: "qcow2 version",
                detail: version.to_string(),
            });
        }
        let backing_offset = be64(&h, 8);
        if backing_offset != 0 {
            let len = u64::from(be32(&h, 16)).min(1023) as usize;
            let mut name = vec![0u8; len];
            let shown =
                match file.read_exact_at(backing_offset, &mut name, "qcow2 backing file name") {
                    Ok(()) => String::from_utf8_lossy(&name).into_owned(),
                    Err(_) => format!("<name at offset {backing_offset}>"),
                };
            return Err(Error::Unsupported {
                what: "qcow2 backing file",
                detail: format!("the image is an overlay of {shown:?}; convert it first (qemu-img convert -O qcow2)"),
            });
        }
        let cluster_bits = be32(&h, 20);
        if !(9..=21).contains(&cluster_bits) {
            return Err(bad(
                "qcow2 header",
                20,
                format!("cluster_bits {cluster_bits} outside 9..=21"),
            ));
        }
        let size = be64(&h, 24);
        let crypt = be32(&h, 32);
        if crypt != 0 {
            return Err(Error::Unsupported {
                what: "qcow2 encryption",
                detail: format!(
                    "crypt_method {crypt} ({})",
                    if crypt == 1 { "AES" } else { "LUKS" }
                ),
            });
        }
        let mut compression = ClusterCompression::Zlib;
        if version == 3 {
            if have < 104 {
                return Err(bad(
                    "qcow2 header",
                    0,
                    "version 3 header shorter than 104 bytes",
                ));
            }
            let incompatible = be64(&h, 72);
            let header_length = be32(&h, 100);
            for (bit, name) in [(2, "external data file"), (4, "extended L2 entries")] {
                if incompatible & (1 << bit) != 0 {
                    return Err(Error::Unsupported {
                        what: "qcow2 feature",
                        detail: name.to_owned(),
                    });
                }
            }
            let unknown = incompatible & !0b1_1111;
            if unknown != 0 {
                return Err(Error::Unsupported {
                    what: "qcow2 feature",
                    detail: format!("unknown incompatible feature bits {unknown:#x}"),
                });
            }
            if incompatible & (1 << 3) != 0 {
                if header_length < 105 || have < 105 {
                    return Err(bad(
                        "qcow2 header",
                        100,
                        "compression type bit set, header has no compression type",
                    ));
                }
                compression = match h[104] {
                    0 => ClusterCompression::Zlib,
                    1 => ClusterCompression::Zstd,
                    t => {
                        return Err(Error::Unsupported {
                            what: "qcow2 compression type",
                            detail: t.to_string(),
                        })
                    }
                };
            }
        }
        let cluster = 1u64 << cluster_bits;
        let per_l2 = cluster / 8;
        let l1_size = u64::from(be32(&h, 36));
        let l1_offset = be64(&h, 40);
        let need = size.div_ceil(cluster).div_ceil(per_l2);
        if l1_size < need {
            return Err(bad(
                "qcow2 header",
                36,
                format!("L1 table of {l1_size} entries cannot map {size} bytes"),
            ));
        }
        if l1_size * 8 > MAX_L1_BYTES {
            return Err(Error::Limit {
                what: format!("qcow2 L1 table size ({l1_size} entries)"),
                limit: MAX_L1_BYTES / 8,
            });
        }
        if !l1_offset.is_multiple_of(cluster) {
            return Err(bad(
                "qcow2 header",
                40,
                format!("L1 table offset {l1_offset} not cluster-aligned"),
            ));
        }
        let mut raw = vec![0u8; (need * 8) as usize];
        file.read_exact_at(l1_offset, &mut raw, "qcow2 L1 table")?;
        let l1 = raw.chunks_exact(8).map(|c| be64(c, 0)).collect();
        Ok(Qcow2 {
            file,
            version,
            cluster_bits,
            size,
            l1,
            compression,
            l2_cache: Mutex::new(Vec::new()),
            cluster_cache: Mutex::new(Vec::new()),
        })
    }

    /// The format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Bytes per cluster.
    pub fn cluster_size(&self) -> u64 {
        1 << self.cluster_bits
    }

    /// How compressed clusters are compressed.
    pub fn compression(&self) -> ClusterCompression {
        self.compression
    }

    fn l2_table(&self, offset: u64, l1_index: usize) -> Result<Arc<Vec<u64>>> {
        let mut cache = self.l2_cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = cache.iter().position(|(k, _)| *k == offset) {
            let hit = cache.remove(pos);
            cache.push(hit.clone());
            return Ok(hit.1);
        }
        if !offset.is_multiple_of(self.cluster_size()) {
            return Err(bad(
                "qcow2 L1 table",
                8 * l1_index as u64,
                format!("L2 offset {offset} not cluster-aligned"),
            ));
        }
        let mut raw = vec![0u8; self.cluster_size() as usize];
        self.file
            .read_exact_at(offset, &mut raw, "qcow2 L2 table")?;
        let table = Arc::new(raw.chunks_exact(8).map(|c| be64(c, 0)).collect::<Vec<_>>());
        if cache.len() >= L2_CACHE {
            cache.remove(0);
        }
        cache.push((offset, Arc::clone(&table)));
        Ok(table)
    }

    fn compressed_cluster(&self, entry: u64, l2_at: u64) -> Result<Arc<Vec<u8>>> {
        let mut cache = self.cluster_cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = cache.iter().position(|(k, _)| *k == entry) {
            let hit = cache.remove(pos);
            cache.push(hit.clone());
            return Ok(hit.1);
        }
        let x = 62 - (self.cluster_bits - 8);
        let host = entry & ((1u64 << x) - 1);
        let sectors = ((entry >> x) & ((1u64 << (self.cluster_bits - 8)) - 1)) + 1;
        let stored = (sectors * 512).saturating_sub(host & 511);
        let stored = stored.min(self.file.len().saturating_sub(host));
        if stored == 0 {
            return Err(bad(
                "qcow2 compressed cluster",
                host,
                "starts past the end of the file",
            ));
        }
        let mut input = vec![0u8; stored as usize];
        self.file
            .read_exact_at(host, &mut input, "qcow2 compressed cluster")?;
        let mut out = vec![0u8; self.cluster_size() as usize];
        let filled = match self.compression {
            ClusterCompression::Zlib => {
                fill(flate2::read::DeflateDecoder::new(&input[..]), &mut out)
            }
            ClusterCompression::Zstd => zstd::stream::read::Decoder::with_buffer(&input[..])
                .and_then(|d| fill(d.single_frame(), &mut out)),
        }
        .map_err(|e| {
            bad(
                "qcow2 compressed cluster",
                host,
                format!("(L2 entry at {l2_at}): {e}"),
            )
        })?;
        if filled != out.len() {
            return Err(bad(
                "qcow2 compressed cluster",
                host,
                format!(
                    "(L2 entry at {l2_at}) decompresses to {filled} bytes, not {}",
                    out.len()
                ),
            ));
        }
        let out = Arc::new(out);
        if cache.len() >= CLUSTER_CACHE {
            cache.remove(0);
        }
        cache.push((entry, Arc::clone(&out)));
        Ok(out)
    }

    /// Reads within the cluster holding `offset`; returns the bytes read.
    fn read_in_cluster(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let cluster = self.cluster_size();
        let within = offset % cluster;
        let n = (buf.len() as u64)
            .min(cluster - within)
            .min(self.size - offset) as usize;
        let buf = &mut buf[..n];
        let index = offset >> self.cluster_bits;
        let per_l2_bits = self.cluster_bits - 3;
        let l1_index = (index >> per_l2_bits) as usize;
        let l1_entry = self.l1.get(l1_index).copied().unwrap_or(0);
        let l2_offset = l1_entry & OFFSET_MASK;
        if l2_offset == 0 {
            buf.fill(0);
            return Ok(n);
        }
        let l2 = self.l2_table(l2_offset, l1_index)?;
        let l2_index = (index & ((1 << per_l2_bits) - 1)) as usize;
        let entry = l2[l2_index];
        let l2_at = l2_offset + 8 * l2_index as u64;
        if entry & (1 << 62) != 0 {
            let data = self.compressed_cluster(entry & !(3 << 62), l2_at)?;
            buf.copy_from_slice(&data[within as usize..within as usize + n]);
            return Ok(n);
        }
        let host = entry & OFFSET_MASK;
        if host == 0 || (self.version == 3 && entry & 1 != 0) {
            buf.fill(0);
            return Ok(n);
        }
        if !host.is_multiple_of(cluster) {
            return Err(bad(
                "qcow2 L2 table",
                l2_at,
                format!("data cluster offset {host} not cluster-aligned"),
            ));
        }
        // Past the end of the file reads as zeros, as qemu does.
        let mut done = 0;
        while done < n {
            let got = self
                .file
                .read_at(host + within + done as u64, &mut buf[done..])
                .map_err(|source| Error::Io {
                    offset: host + within,
                    source,
                })?;
            if got == 0 {
                buf[done..].fill(0);
                break;
            }
            done += got;
        }
        Ok(n)
    }
}

/// Reads from `r` until `out` is full or the stream ends; returns how much was filled.
fn fill(mut r: impl Read, out: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < out.len() {
        match r.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl<R: ReadAt> ReadAt for Qcow2<R> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let mut done = 0;
        while done < buf.len() && offset + (done as u64) < self.size {
            let n = self
                .read_in_cluster(offset + done as u64, &mut buf[done..])
                .map_err(to_io)?;
            done += n;
        }
        Ok(done)
    }

    fn len(&self) -> u64 {
        self.size
    }
}
