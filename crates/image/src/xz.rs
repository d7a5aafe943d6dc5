//! `.img.xz` as a block source.
//!
//! An xz file ends with an index of its blocks (compressed and uncompressed sizes). When the
//! file has several blocks of bounded size (as `xz -T` and `pixz` write), any offset is read
//! by decompressing only the block that holds it: the block is wrapped into a one-block
//! stream of its own, so the decoder still checks its integrity check and sizes. A file of
//! one huge block (plain `xz`) cannot be read that way; it is decompressed once into a
//! sparse temporary file after a free-space check.

use std::io::{self, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::compress::XZ_MEMLIMIT;
use crate::error::{Error, Result};
use crate::source::{Cursor, ReadAt};
use crate::spool::{spool, SpoolConfig};

const HEADER_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];
const FOOTER_MAGIC: [u8; 2] = *b"YZ";
/// Largest block decompressed on its own; bigger blocks make the file go through a spool.
pub const MAX_BLOCK: u64 = 64 << 20;
/// Most blocks one file may list.
const MAX_BLOCKS: u64 = 10_000_000;
/// Bytes of decompressed blocks kept for the next reads.
const CACHE_BYTES: u64 = 128 << 20;

#[derive(Debug, Clone, Copy)]
struct Block {
    /// Offset of the block header in the file.
    file_offset: u64,
    /// Block header + compressed data + check, without padding.
    unpadded: u64,
    uncompressed: u64,
    /// Offset of the block's first byte in the decompressed data.
    out_offset: u64,
    /// The stream flags of the stream the block belongs to.
    flags: [u8; 2],
}

fn check_size(flags: [u8; 2]) -> u64 {
    [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64][usize::from(flags[1] & 0x0f)]
}

fn round4(n: u64) -> u64 {
    n.div_ceil(4) * 4
}

fn crc32(parts: &[&[u8]]) -> u32 {
    let mut c = flate2::Crc::new();
    for p in parts {
        c.update(p);
    }
    c.sum()
}

/// Appends `v` as an xz variable-length integer.
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads an xz variable-length integer from `buf` at `*pos`.
fn varint(buf: &[u8], pos: &mut usize, base: u64) -> Result<u64> {
    let mut v = 0u64;
    for i in 0..9 {
        let b = *buf
            .get(*pos)
            .ok_or_else(|| Error::corrupt("xz index", base + *pos as u64, "truncated number"))?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err(Error::corrupt(
                    "xz index",
                    base + *pos as u64 - 1,
                    "number not minimally encoded",
                ));
            }
            return Ok(v);
        }
    }
    Err(Error::corrupt(
        "xz index",
        base + *pos as u64,
        "number longer than 9 bytes",
    ))
}

/// Reads the block lists of every stream of an xz file, from its end.
fn read_index(src: &dyn ReadAt) -> Result<Vec<Block>> {
    let mut end = src.len();
    let mut streams: Vec<Vec<Block>> = Vec::new();
    let mut total_blocks = 0u64;
    while end > 0 {
        // Stream padding: zero bytes in groups of four.
        let mut word = [0u8; 4];
        if end >= 4 {
            src.read_exact_at(end - 4, &mut word, "xz stream padding")?;
            if word == [0; 4] {
                end -= 4;
                continue;
            }
        }
        if end < 24 {
            return Err(Error::corrupt(
                "xz stream footer",
                end.saturating_sub(12),
                "file too short for an xz stream",
            ));
        }
        let foot_at = end - 12;
        let mut foot = [0u8; 12];
        src.read_exact_at(foot_at, &mut foot, "xz stream footer")?;
        if foot[10..12] != FOOTER_MAGIC {
            return Err(Error::corrupt(
                "xz stream footer",
                foot_at,
                "no footer magic (truncated or not xz)",
            ));
        }
        if u32::from_le_bytes([foot[0], foot[1], foot[2], foot[3]]) != crc32(&[&foot[4..10]]) {
            return Err(Error::corrupt(
                "xz stream footer",
                foot_at,
                "CRC32 mismatch",
            ));
        }
        let flags = [foot[8], foot[9]];
        if flags[0] != 0 || flags[1] & 0xf0 != 0 {
            return Err(Error::corrupt(
                "xz stream footer",
                foot_at,
                format!("unknown stream flags {flags:02x?}"),
            ));
        }
        let index_size =
            (u64::from(u32::from_le_bytes([foot[4], foot[5], foot[6], foot[7]])) + 1) * 4;
        let index_at = foot_at
            .checked_sub(index_size)
            .filter(|&a| a >= 12)
            .ok_or_else(|| {
                Error::corrupt(
                    "xz stream footer",
                    foot_at,
                    format!("index size {index_size} exceeds the file"),
                )
            })?;
        if index_size > 64 << 20 {
            return Err(Error::Limit {
                what: format!("xz index size ({index_size} bytes)"),
                limit: 64 << 20,
            });
        }
        let mut index = vec![0u8; index_size as usize];
        src.read_exact_at(index_at, &mut index, "xz index")?;
        let body = index.len() - 4;
        if u32::from_le_bytes(index[body..].try_into().unwrap_or([0; 4]))
            != crc32(&[&index[..body]])
        {
            return Err(Error::corrupt("xz index", index_at, "CRC32 mismatch"));
        }
        if index[0] != 0 {
            return Err(Error::corrupt("xz index", index_at, "no index indicator"));
        }
        let mut pos = 1usize;
        let count = varint(&index, &mut pos, index_at)?;
        if count > index_size / 2 || total_blocks + count > MAX_BLOCKS {
            return Err(Error::corrupt(
                "xz index",
                index_at,
                format!("{count} records cannot fit"),
            ));
        }
        total_blocks += count;
        let mut blocks = Vec::with_capacity(count as usize);
        let mut blocks_size = 0u64;
        for _ in 0..count {
            let unpadded = varint(&index, &mut pos, index_at)?;
            let uncompressed = varint(&index, &mut pos, index_at)?;
            if unpadded < 5 + check_size(flags) || uncompressed == 0 && unpadded > 1 << 40 {
                return Err(Error::corrupt(
                    "xz index",
                    index_at + pos as u64,
                    format!("record with unpadded size {unpadded}"),
                ));
            }
            blocks.push(Block {
                file_offset: blocks_size,
                unpadded,
                uncompressed,
                out_offset: 0,
                flags,
            });
            blocks_size = blocks_size
                .checked_add(round4(unpadded))
                .ok_or_else(|| Error::corrupt("xz index", index_at, "block sizes overflow"))?;
        }
        if round4(pos as u64) != body as u64 || index[pos..body].iter().any(|&b| b != 0) {
            return Err(Error::corrupt(
                "xz index",
                index_at + pos as u64,
                "records do not fill the index",
            ));
        }
        let stream_at = index_at
            .checked_sub(blocks_size)
            .and_then(|a| a.checked_sub(12))
            .ok_or_else(|| {
                Error::corrupt(
                    "xz index",
                    index_at,
                    format!("{blocks_size} bytes of blocks exceed the file"),
                )
            })?;
        let mut head = [0u8; 12];
        src.read_exact_at(stream_at, &mut head, "xz stream header")?;
        if head[..6] != HEADER_MAGIC {
            return Err(Error::corrupt(
                "xz stream header",
                stream_at,
                "no header magic where the index puts the stream",
            ));
        }
        if head[6..8] != flags
            || u32::from_le_bytes([head[8], head[9], head[10], head[11]]) != crc32(&[&head[6..8]])
        {
            return Err(Error::corrupt(
                "xz stream header",
                stream_at,
                "flags or CRC32 disagree with the footer",
            ));
        }
        for b in &mut blocks {
            b.file_offset += stream_at + 12;
        }
        streams.push(blocks);
        end = stream_at;
    }
    let mut out = Vec::new();
    let mut at = 0u64;
    for s in streams.into_iter().rev() {
        for mut b in s {
            b.out_offset = at;
            at = at
                .checked_add(b.uncompressed)
                .ok_or_else(|| Error::corrupt("xz index", 0, "uncompressed size overflows"))?;
            out.push(b);
        }
    }
    Ok(out)
}

/// Random access to an xz file through its index, one decompressed block at a time.
pub struct XzIndexed {
    file: Arc<dyn ReadAt>,
    blocks: Vec<Block>,
    len: u64,
    cache: Mutex<Vec<(usize, Arc<Vec<u8>>)>>,
}

impl XzIndexed {
    /// Reads the index of `file`; fails with [`Error::Unsupported`] when a block is larger
    /// than `max_block` bytes decompressed.
    pub fn new(file: Arc<dyn ReadAt>, max_block: u64) -> Result<Self> {
        let blocks = read_index(&*file)?;
        if let Some(b) = blocks.iter().find(|b| b.uncompressed > max_block) {
            return Err(Error::Unsupported {
                what: "xz block size for random access",
                detail: format!(
                    "a block of {} bytes at offset {} (at most {max_block})",
                    b.uncompressed, b.file_offset
                ),
            });
        }
        let len = blocks.last().map_or(0, |b| b.out_offset + b.uncompressed);
        Ok(XzIndexed {
            file,
            blocks,
            len,
            cache: Mutex::new(Vec::new()),
        })
    }

    /// How many blocks the file has.
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// The decompressed bytes of block `i`, from the cache or decoded now.
    fn block(&self, i: usize) -> io::Result<Arc<Vec<u8>>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = cache.iter().position(|(k, _)| *k == i) {
            let hit = cache.remove(pos);
            cache.push(hit.clone());
            return Ok(hit.1);
        }
        let data = Arc::new(self.decode(i)?);
        let mut held: u64 = cache.iter().map(|(_, d)| Vec::len(d) as u64).sum();
        while !cache.is_empty() && held + Vec::len(&data) as u64 > CACHE_BYTES {
            held -= Vec::len(&cache.remove(0).1) as u64;
        }
        cache.push((i, Arc::clone(&data)));
        Ok(data)
    }

    /// Decodes block `i` as a stream of its own: stream header, the block as stored, an
    /// index of one record and a footer.
    fn decode(&self, i: usize) -> io::Result<Vec<u8>> {
        let b = self.blocks[i];
        let mut head = HEADER_MAGIC.to_vec();
        head.extend_from_slice(&b.flags);
        head.extend_from_slice(&crc32(&[&b.flags]).to_le_bytes());
        let mut index = vec![0u8, 1];
        put_varint(&mut index, b.unpadded);
        put_varint(&mut index, b.uncompressed);
        while index.len() % 4 != 0 {
            index.push(0);
        }
        let c = crc32(&[&index]);
        index.extend_from_slice(&c.to_le_bytes());
        let backward = ((index.len() / 4 - 1) as u32).to_le_bytes();
        let mut tail = index;
        let crc_foot = crc32(&[&backward, &b.flags]);
        tail.extend_from_slice(&crc_foot.to_le_bytes());
        tail.extend_from_slice(&backward);
        tail.extend_from_slice(&b.flags);
        tail.extend_from_slice(&FOOTER_MAGIC);
        let body = Cursor::new(Arc::clone(&self.file), b.file_offset).take(round4(b.unpadded));
        let stream = io::Cursor::new(head)
            .chain(body)
            .chain(io::Cursor::new(tail));
        let dec = altrepodb_compress::xz_stream(XZ_MEMLIMIT, false)?;
        let mut out = Vec::with_capacity(b.uncompressed as usize);
        liblzma::read::XzDecoder::new_stream(stream, dec)
            .take(b.uncompressed + 1)
            .read_to_end(&mut out)
            .map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("xz block at offset {}: {e}", b.file_offset),
                )
            })?;
        if out.len() as u64 != b.uncompressed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "xz block at offset {}: {} bytes, the index says {}",
                    b.file_offset,
                    out.len(),
                    b.uncompressed
                ),
            ));
        }
        Ok(out)
    }
}

impl ReadAt for XzIndexed {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let i = self
            .blocks
            .partition_point(|b| b.out_offset + b.uncompressed <= offset);
        let Some(b) = self.blocks.get(i) else {
            return Ok(0);
        };
        let data = self.block(i)?;
        let start = (offset - b.out_offset) as usize;
        let n = buf.len().min(Vec::len(&data) - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn len(&self) -> u64 {
        self.len
    }
}

/// Opens an `.xz` file as a block source: through its index when its blocks are at most
/// [`MAX_BLOCK`] bytes, else decompressed into a temporary file (see [`spool`]).
pub fn open_xz(path: &Path, cfg: &SpoolConfig) -> Result<Box<dyn ReadAt>> {
    open_xz_with(path, cfg, MAX_BLOCK)
}

/// [`open_xz`] with another bound on the block size read through the index.
pub fn open_xz_with(path: &Path, cfg: &SpoolConfig, max_block: u64) -> Result<Box<dyn ReadAt>> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io { offset: 0, source })?;
    let file: Arc<dyn ReadAt> = Arc::new(file);
    match XzIndexed::new(Arc::clone(&file), max_block) {
        Ok(x) => Ok(Box::new(x)),
        Err(Error::Unsupported { .. }) => {
            let total = read_index(&*file)?.iter().map(|b| b.uncompressed).sum();
            let mut dec = crate::compress::decoder(
                crate::compress::Compression::Xz,
                io::BufReader::with_capacity(1 << 20, Cursor::new(file, 0)),
            )?;
            let (tmp, len) = spool(&mut dec, Some(total), cfg)?;
            if len != total {
                return Err(Error::corrupt(
                    "xz stream",
                    0,
                    format!("{len} bytes decompressed, the index says {total}"),
                ));
            }
            Ok(Box::new(tmp))
        }
        Err(e) => Err(e),
    }
}
