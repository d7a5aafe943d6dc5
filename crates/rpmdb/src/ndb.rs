//! rpm's NDB package database, `Packages.db` (SUSE since 15.3).
//!
//! # Layout (the facts this reader relies on)
//! All integers are little-endian. The file starts with a 32-byte header: magic `RpmP`,
//! format version 0, a generation counter, the number of 4096-byte slot pages and the next
//! free package index. The slot pages follow the header; each 16-byte slot is magic `Slot`,
//! package index (the instance number), first block and block count, in 16-byte blocks; a
//! slot with block 0 is free. A used slot's blocks hold one blob: a 16-byte head (magic
//! `BlbS`, package index, timestamp, blob length), the header blob, zero padding to a block
//! boundary, and a 12-byte tail (Adler-32 of everything before the tail, blob length, magic
//! `BlbE`). rpm lists packages in block order.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::error::{Blame, Problem, Result};
use crate::{Format, InstalledHeader};

/// The first four bytes of an NDB `Packages.db`.
pub const MAGIC: &[u8] = b"RpmP";

const HEADER_SIZE: u64 = 32;
const SLOT_SIZE: u64 = 16;
const BLOCK: u64 = 16;
const SLOT_PAGE: u64 = 4096;
const BLOB_HEAD: u64 = 16;
const BLOB_TAIL: u64 = 12;

const BLAME: Blame = Blame(Format::Ndb);

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

/// Adler-32 (RFC 1950), as the blob tails carry it.
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    // 5552 bytes is the most that cannot overflow the u32 sums before the reduction.
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// A used slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Slot number (counting the two slots the file header takes).
    pub number: u64,
    /// Package index (the instance number).
    pub instance: u32,
    /// First 16-byte block of the blob.
    pub block: u32,
    /// Number of blocks.
    pub blocks: u32,
}

/// Reads the file header and every slot, checked, in block order (rpm's listing order).
pub fn slots(data: &[u8]) -> Result<Vec<Slot>> {
    let head = BLAME.slice(data, 0, HEADER_SIZE, "file header")?;
    if &head[..4] != MAGIC {
        return Err(BLAME.at(
            "file header",
            0,
            Problem::BadMagic {
                expected: "RpmP",
                found: format!("{:02x?}", &head[..4]),
            },
        ));
    }
    let version = le32(head, 4);
    if version != 0 {
        return Err(BLAME.at(
            "file header",
            4,
            Problem::Unsupported {
                what: "NDB version",
                value: version.to_string(),
            },
        ));
    }
    let slot_pages = u64::from(le32(head, 12));
    let file_blocks = data.len() as u64 / BLOCK;
    let max_pages = (data.len() as u64 / SLOT_PAGE).max(1);
    if slot_pages == 0 || slot_pages > max_pages {
        return Err(BLAME.at(
            "file header",
            12,
            Problem::OutOfRange {
                what: "slot page count",
                value: slot_pages,
                min: 1,
                max: max_pages,
            },
        ));
    }
    let area = BLAME.slice(data, 0, slot_pages * SLOT_PAGE, "slot pages")?;
    let first_blob_block = slot_pages * SLOT_PAGE / BLOCK;
    let mut out = Vec::new();
    for number in HEADER_SIZE / SLOT_SIZE..slot_pages * SLOT_PAGE / SLOT_SIZE {
        let at = (number * SLOT_SIZE) as usize;
        let s = &area[at..at + SLOT_SIZE as usize];
        let name = || format!("slot {number}");
        if &s[..4] != b"Slot" {
            return Err(BLAME.at(
                name(),
                at as u64,
                Problem::BadMagic {
                    expected: "Slot",
                    found: format!("{:02x?}", &s[..4]),
                },
            ));
        }
        let block = le32(s, 8);
        if block == 0 {
            continue; // free
        }
        let slot = Slot {
            number,
            instance: le32(s, 4),
            block,
            blocks: le32(s, 12),
        };
        if slot.instance == 0 {
            return Err(BLAME.at(
                name(),
                at as u64 + 4,
                Problem::Invalid("package index 0".into()),
            ));
        }
        let end = u64::from(block) + u64::from(slot.blocks);
        if u64::from(block) < first_blob_block || slot.blocks == 0 || end > file_blocks {
            return Err(BLAME.at(
                name(),
                at as u64 + 8,
                Problem::Invalid(format!(
                    "blocks {block}..{end} outside the blob area {first_blob_block}..{file_blocks}"
                )),
            ));
        }
        out.push(slot);
    }
    out.sort_by_key(|s| s.block);
    let mut owner: HashMap<u32, u64> = HashMap::with_capacity(out.len());
    let mut prev: Option<&Slot> = None;
    for s in &out {
        if let Some(p) = prev {
            if u64::from(p.block) + u64::from(p.blocks) > u64::from(s.block) {
                return Err(BLAME.at(
                    format!("slot {}", s.number),
                    s.number * SLOT_SIZE + 8,
                    Problem::Invalid(format!("its blocks overlap those of slot {}", p.number)),
                ));
            }
        }
        if let Some(other) = owner.insert(s.instance, s.number) {
            return Err(BLAME.at(
                format!("slot {}", s.number),
                s.number * SLOT_SIZE + 4,
                Problem::Invalid(format!("package index {} also in slot {other}", s.instance)),
            ));
        }
        prev = Some(s);
    }
    Ok(out)
}

/// The header blob a slot points to, checked against its head and tail.
pub fn blob<'a>(data: &'a [u8], slot: &Slot) -> Result<InstalledHeader<'a>> {
    let offset = u64::from(slot.block) * BLOCK;
    let name = || {
        format!(
            "blob of slot {} (package index {})",
            slot.number, slot.instance
        )
    };
    let all = BLAME.slice(data, offset, u64::from(slot.blocks) * BLOCK, name())?;
    if (all.len() as u64) < BLOB_HEAD + BLOB_TAIL || &all[..4] != b"BlbS" {
        return Err(BLAME.at(
            name(),
            offset,
            Problem::BadMagic {
                expected: "BlbS",
                found: format!("{:02x?}", &all[..all.len().min(4)]),
            },
        ));
    }
    let instance = le32(all, 4);
    if instance != slot.instance {
        return Err(BLAME.at(
            name(),
            offset + 4,
            Problem::Mismatch {
                what: "package index",
                found: instance.into(),
                expected: slot.instance.into(),
            },
        ));
    }
    let len = u64::from(le32(all, 12));
    let blocks = (BLOB_HEAD + len + BLOB_TAIL).div_ceil(BLOCK);
    if blocks != u64::from(slot.blocks) {
        return Err(BLAME.at(
            name(),
            offset + 12,
            Problem::Mismatch {
                what: "block count for the blob length",
                found: slot.blocks.into(),
                expected: blocks,
            },
        ));
    }
    let tail_at = all.len() - BLOB_TAIL as usize;
    let tail = &all[tail_at..];
    let tail_offset = offset + tail_at as u64;
    if &tail[8..12] != b"BlbE" {
        return Err(BLAME.at(
            name(),
            tail_offset + 8,
            Problem::BadMagic {
                expected: "BlbE",
                found: format!("{:02x?}", &tail[8..12]),
            },
        ));
    }
    if u64::from(le32(tail, 4)) != len {
        return Err(BLAME.at(
            name(),
            tail_offset + 4,
            Problem::Mismatch {
                what: "blob length in the tail",
                found: le32(tail, 4).into(),
                expected: len,
            },
        ));
    }
    let sum = adler32(&all[..tail_at]);
    if le32(tail, 0) != sum {
        return Err(BLAME.at(
            name(),
            tail_offset,
            Problem::Mismatch {
                what: "Adler-32",
                found: le32(tail, 0).into(),
                expected: sum.into(),
            },
        ));
    }
    let start = BLOB_HEAD as usize;
    Ok(InstalledHeader {
        instance,
        blob: Cow::Borrowed(&all[start..start + len as usize]),
        offset: offset + BLOB_HEAD,
    })
}

/// Yields the blobs of every used slot in block order. See [`crate::Reader`].
pub struct Walk<'a> {
    data: &'a [u8],
    slots: std::vec::IntoIter<Slot>,
    done: bool,
}

impl<'a> Walk<'a> {
    /// Reads the header and the slots.
    pub fn new(data: &'a [u8]) -> Result<Walk<'a>> {
        Ok(Walk {
            data,
            slots: slots(data)?.into_iter(),
            done: false,
        })
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Result<InstalledHeader<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let slot = self.slots.next()?;
        let r = blob(self.data, &slot);
        self.done = r.is_err();
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_known_values() {
        // Values from Python's zlib.adler32.
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        let big = vec![0xffu8; 100_000];
        // Reference: zlib.adler32(b"\xff" * 100000) in Python.
        assert_eq!(adler32(&big), 0x149A_302C);
    }
}
