//! Where the blocks of an ext4 inode are: extent trees, ext2/3 indirect blocks, and a reader
//! of the content through that map (holes and unwritten extents read as zeros).

use std::collections::HashSet;
use std::io;

use super::Ext4;
use crate::error::{Error, Result};
use crate::le::{u16le, u32le};
use crate::source::ReadAt;

/// Extent header magic.
const EXTENT_MAGIC: u16 = 0xF30A;
/// The deepest extent tree the kernel builds (`EXT4_MAX_EXTENT_DEPTH`).
const MAX_EXTENT_DEPTH: u16 = 5;
/// Extent lengths above this mark unwritten ("uninitialised") extents.
const INIT_MAX_LEN: u16 = 32768;

/// `len` blocks from logical block `logical` stored at physical block `physical`; `zero`
/// for unwritten extents, which read as zeros.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run {
    pub logical: u64,
    pub physical: u64,
    pub len: u64,
    pub zero: bool,
}

impl<R: ReadAt> Ext4<R> {
    /// The block map of an extent-mapped inode whose `i_block` (60 bytes) is at `at`.
    pub(super) fn extent_runs(&self, i_block: &[u8], at: u64, nblocks: u64) -> Result<Vec<Run>> {
        let mut runs = Vec::new();
        let mut visited = HashSet::new();
        // (node bytes, node's byte offset in the source, depth the parent expects)
        let mut stack: Vec<(Vec<u8>, u64, Option<u16>)> = vec![(i_block.to_vec(), at, None)];
        while let Some((node, node_at, want_depth)) = stack.pop() {
            let entries = u16le(&node, 2);
            let depth = u16le(&node, 6);
            if u16le(&node, 0) != EXTENT_MAGIC {
                return Err(Error::corrupt(
                    "ext4 extent header",
                    node_at,
                    format!("bad magic {:#06x}", u16le(&node, 0)),
                ));
            }
            if 12 + entries as usize * 12 > node.len() || entries > u16le(&node, 4) {
                return Err(Error::corrupt(
                    "ext4 extent header",
                    node_at,
                    format!("{entries} entries do not fit the node"),
                ));
            }
            if depth > MAX_EXTENT_DEPTH {
                return Err(Error::corrupt(
                    "ext4 extent header",
                    node_at,
                    format!("depth {depth} (at most {MAX_EXTENT_DEPTH})"),
                ));
            }
            if let Some(want) = want_depth.filter(|&d| d != depth) {
                // Depth falls by one per level, so a node pointing back up the tree shows here.
                return Err(Error::corrupt(
                    "ext4 extent header",
                    node_at,
                    format!("depth {depth} where {want} was expected: an extent tree loop or a bad node"),
                ));
            }
            // Children are pushed in reverse so they pop in logical order.
            for i in (0..entries as usize).rev() {
                let e = &node[12 + i * 12..24 + i * 12];
                let e_at = node_at + 12 + i as u64 * 12;
                if depth == 0 {
                    let mut len = u16le(e, 4);
                    let zero = len > INIT_MAX_LEN;
                    if zero {
                        len -= INIT_MAX_LEN;
                    }
                    let physical = (u64::from(u16le(e, 6)) << 32) | u64::from(u32le(e, 8));
                    let run = Run {
                        logical: u64::from(u32le(e, 0)),
                        physical,
                        len: u64::from(len),
                        zero,
                    };
                    self.check_run(&run, "ext4 extent", e_at)?;
                    if run.logical < nblocks && len > 0 {
                        runs.push(run);
                    }
                } else {
                    let child = (u64::from(u16le(e, 8)) << 32) | u64::from(u32le(e, 4));
                    if !visited.insert(child) {
                        return Err(Error::corrupt(
                            "ext4 extent index",
                            e_at,
                            format!("extent loop: block {child} is referenced again"),
                        ));
                    }
                    let child_at = self.block_offset(child, "ext4 extent index", e_at)?;
                    let mut buf = vec![0u8; self.block_size as usize];
                    self.src
                        .read_exact_at(child_at, &mut buf, "ext4 extent block")?;
                    stack.push((buf, child_at, Some(depth - 1)));
                }
            }
            if runs.len() as u64 > nblocks.max(1) || visited.len() as u64 > self.blocks_count {
                return Err(Error::corrupt(
                    "ext4 extent tree",
                    at,
                    format!(
                        "more extents ({}) than the file has blocks ({nblocks})",
                        runs.len()
                    ),
                ));
            }
        }
        runs.sort_by_key(|r| r.logical);
        for w in runs.windows(2) {
            if w[0].logical + w[0].len > w[1].logical {
                return Err(Error::corrupt(
                    "ext4 extent tree",
                    at,
                    format!("extents overlap at logical block {}", w[1].logical),
                ));
            }
        }
        Ok(runs)
    }

    /// The block map of an inode mapped by ext2/3 direct and indirect blocks.
    pub(super) fn indirect_runs(&self, i_block: &[u8], at: u64, nblocks: u64) -> Result<Vec<Run>> {
        let mut runs: Vec<Run> = Vec::new();
        let mut visited = HashSet::new();
        let per_block = self.block_size / 4;
        let push = |logical: u64, physical: u64, runs: &mut Vec<Run>| {
            if let Some(last) = runs.last_mut() {
                if last.logical + last.len == logical && last.physical + last.len == physical {
                    last.len += 1;
                    return;
                }
            }
            runs.push(Run {
                logical,
                physical,
                len: 1,
                zero: false,
            });
        };
        for i in 0..12u64 {
            let b = u64::from(u32le(i_block, i as usize * 4));
            if i < nblocks && b != 0 {
                self.check_run(
                    &Run {
                        logical: i,
                        physical: b,
                        len: 1,
                        zero: false,
                    },
                    "ext4 block pointer",
                    at + i * 4,
                )?;
                push(i, b, &mut runs);
            }
        }
        // (pointer block, its level: 1 single, 2 double, 3 triple, first logical block covered, where the pointer is)
        let mut stack: Vec<(u64, u32, u64, u64)> = Vec::new();
        let mut first = 12u64;
        for level in 1..=3u32 {
            let b = u64::from(u32le(i_block, 44 + level as usize * 4));
            if b != 0 && first < nblocks {
                stack.push((b, level, first, at + 44 + u64::from(level) * 4));
            }
            first = first.saturating_add(per_block.saturating_pow(level));
        }
        stack.reverse();
        while let Some((block, level, first, ptr_at)) = stack.pop() {
            if !visited.insert(block) {
                return Err(Error::corrupt(
                    "ext4 indirect block",
                    ptr_at,
                    format!("loop: block {block} is referenced again"),
                ));
            }
            let block_at = self.block_offset(block, "ext4 indirect block", ptr_at)?;
            let mut buf = vec![0u8; self.block_size as usize];
            self.src
                .read_exact_at(block_at, &mut buf, "ext4 indirect block")?;
            let span = per_block.pow(level - 1);
            let mut children = Vec::new();
            for i in 0..per_block {
                let logical = first + i * span;
                if logical >= nblocks {
                    break;
                }
                let b = u64::from(u32le(&buf, i as usize * 4));
                if b == 0 {
                    continue;
                }
                if level == 1 {
                    self.check_run(
                        &Run {
                            logical,
                            physical: b,
                            len: 1,
                            zero: false,
                        },
                        "ext4 block pointer",
                        block_at + i * 4,
                    )?;
                    push(logical, b, &mut runs);
                } else {
                    children.push((b, level - 1, logical, block_at + i * 4));
                }
            }
            stack.extend(children.into_iter().rev());
        }
        Ok(runs)
    }

    fn check_run(&self, run: &Run, what: &'static str, at: u64) -> Result<()> {
        if run
            .physical
            .checked_add(run.len)
            .is_none_or(|end| end > self.blocks_count)
            || run
                .logical
                .checked_add(run.len)
                .is_none_or(|end| end > 1 << 32)
        {
            return Err(Error::corrupt(
                what,
                at,
                format!(
                    "blocks {}+{} lie outside the filesystem's {} blocks",
                    run.physical, run.len, self.blocks_count
                ),
            ));
        }
        Ok(())
    }
}

/// Sequential reader of a file's content through its block map.
pub(super) struct MappedReader<'a, R> {
    pub src: &'a R,
    pub runs: Vec<Run>,
    pub block_size: u64,
    pub size: u64,
    pub pos: u64,
}

impl<R: ReadAt> io::Read for MappedReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.size - self.pos);
        let block = self.pos / self.block_size;
        let idx = self.runs.partition_point(|r| r.logical + r.len <= block);
        let n = match self.runs.get(idx) {
            Some(r) if r.logical <= block && !r.zero => {
                let run_end = (r.logical + r.len) * self.block_size;
                let n = want.min(run_end - self.pos) as usize;
                let at = r.physical * self.block_size + (self.pos - r.logical * self.block_size);
                let got = self.src.read_at(at, &mut buf[..n])?;
                if got == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("ext4 data block at offset {at}: the source ends"),
                    ));
                }
                got
            }
            next => {
                // A hole or an unwritten extent: zeros up to the next mapped block.
                let end = match next {
                    Some(r) if r.zero => (r.logical + r.len) * self.block_size,
                    Some(r) => r.logical * self.block_size,
                    None => self.size,
                };
                let n = want.min(end - self.pos) as usize;
                buf[..n].fill(0);
                n
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}
