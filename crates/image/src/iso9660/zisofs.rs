//! zisofs: files stored as zlib blocks with a pointer table, decompressed transparently.

use std::io::{self, Read};

use crate::error::{Error, Result};
use crate::le::u32le;
use crate::source::ReadAt;

/// Magic at the start of a zisofs-compressed file.
const MAGIC: [u8; 8] = [0x37, 0xE4, 0x53, 0x96, 0xC9, 0xDB, 0xD6, 0x07];

/// Reader of the uncompressed content of a zisofs file whose stored bytes are `raw`.
pub(super) struct ZisofsReader<S> {
    raw: S,
    /// Byte offset of the file in the image (for error messages).
    at: u64,
    size: u64,
    block: u64,
    pointers: Vec<u32>,
    index: usize,
    current: Vec<u8>,
    pos: usize,
}

impl<S: ReadAt> ZisofsReader<S> {
    /// Checks the header and reads the block pointers; `size` and `log2_block` come from `ZF`.
    pub(super) fn new(raw: S, at: u64, size: u32, log2_block: u8) -> Result<Self> {
        let what = "zisofs header";
        if !(15..=17).contains(&log2_block) {
            return Err(Error::corrupt(
                what,
                at,
                format!("block size 2^{log2_block} (15..17 allowed)"),
            ));
        }
        let mut h = [0u8; 16];
        raw.read_exact_at(0, &mut h, what)
            .map_err(|_| Error::corrupt(what, at, "file shorter than the header"))?;
        if h[..8] != MAGIC || u32le(&h, 8) != size || h[13] != log2_block || h[12] < 4 {
            return Err(Error::corrupt(what, at, format!("magic, size {} or block size 2^{} disagree with the ZF entry (size {size}, 2^{log2_block})", u32le(&h, 8), h[13])));
        }
        let block = 1u64 << log2_block;
        let nblocks = u64::from(size).div_ceil(block);
        let mut table = vec![0u8; (nblocks as usize + 1) * 4];
        raw.read_exact_at(u64::from(h[12]) * 4, &mut table, "zisofs block pointers")?;
        let pointers: Vec<u32> = table.chunks_exact(4).map(|c| u32le(c, 0)).collect();
        for (i, w) in pointers.windows(2).enumerate() {
            if w[1] < w[0]
                || u64::from(w[1]) > raw.len()
                || u64::from(w[1] - w[0]) > 2 * block + 1024
            {
                return Err(Error::corrupt(
                    "zisofs block pointers",
                    at,
                    format!(
                        "block {i} spans {}..{} of a {}-byte file",
                        w[0],
                        w[1],
                        raw.len()
                    ),
                ));
            }
        }
        Ok(ZisofsReader {
            raw,
            at,
            size: u64::from(size),
            block,
            pointers,
            index: 0,
            current: Vec::new(),
            pos: 0,
        })
    }

    fn fill(&mut self) -> Result<bool> {
        if self.index + 1 >= self.pointers.len() {
            return Ok(false);
        }
        let (start, end) = (self.pointers[self.index], self.pointers[self.index + 1]);
        let expect = (self.size - self.index as u64 * self.block).min(self.block) as usize;
        self.current = if start == end {
            vec![0u8; expect]
        } else {
            let mut comp = vec![0u8; (end - start) as usize];
            self.raw
                .read_exact_at(u64::from(start), &mut comp, "zisofs block")?;
            let mut out = Vec::with_capacity(expect);
            flate2::read::ZlibDecoder::new(&comp[..])
                .take(expect as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    Error::corrupt("zisofs block", self.at + u64::from(start), e.to_string())
                })?;
            out
        };
        if self.current.len() != expect {
            return Err(Error::corrupt(
                "zisofs block",
                self.at + u64::from(start),
                format!(
                    "{} bytes decompressed, {expect} expected",
                    self.current.len()
                ),
            ));
        }
        self.index += 1;
        self.pos = 0;
        Ok(true)
    }
}

impl<S: ReadAt> Read for ZisofsReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if !self.fill().map_err(io::Error::other)? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
