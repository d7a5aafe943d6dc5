//! Sequential reading of a squashfs file's content: its data blocks, then its fragment tail.

use std::io::{self, Read};

use super::Squashfs;
use crate::error::{Error, Result};
use crate::source::ReadAt;

/// Sequential reader of a squashfs file: its blocks one by one, then the fragment tail.
pub struct FileReader<'a, R> {
    pub(super) fs: &'a Squashfs<R>,
    pub(super) blocks: Vec<(u64, u32)>,
    pub(super) tail: Option<Vec<u8>>,
    pub(super) size: u64,
    pub(super) index: usize,
    pub(super) current: Vec<u8>,
    pub(super) pos: usize,
}

impl<R: ReadAt> FileReader<'_, R> {
    fn fill(&mut self) -> Result<bool> {
        let bs = self.fs.block_size as usize;
        if let Some(&(at, word)) = self.blocks.get(self.index) {
            let done = self.index as u64 * bs as u64;
            let expect = (self.size - done).min(bs as u64) as usize;
            self.index += 1;
            self.current = if word & 0xFF_FFFF == 0 {
                vec![0u8; expect] // a sparse block
            } else {
                self.fs.data_block(at, word, bs, "squashfs data block")?
            };
            if self.current.len() != expect {
                return Err(Error::corrupt(
                    "squashfs data block",
                    at,
                    format!(
                        "{} bytes decompressed, {expect} expected",
                        self.current.len()
                    ),
                ));
            }
        } else if let Some(tail) = self.tail.take() {
            self.current = tail;
        } else {
            return Ok(false);
        }
        self.pos = 0;
        Ok(true)
    }
}

impl<R: ReadAt> Read for FileReader<'_, R> {
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
