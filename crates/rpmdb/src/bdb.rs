//! Berkeley DB hash databases: rpm's `Packages` file up to rpm 4.15 (and ALT's to this day).
//!
//! # Layout (the facts this reader relies on)
//! The file is an array of pages of `page_size` bytes. Page 0 is the hash metadata page:
//! magic `0x061561` at byte 12 (read in either byte order: the byte order of every integer
//! in the file is the one the magic reads in), hash version (8, 9 or 10) at 16, page size at
//! 20, encryption algorithm at 24, page type 8 at 25, flags at 26 (bit 0: pages carry a
//! checksum, and their contents start at 32 instead of 26), last page number at 32, `max_bucket` at 72 and the
//! 32 `spares` at 96. Bucket `b` starts on page `b + spares[bits(b)]`, where `bits(b)` is the
//! number of significant bits of `b`; further pages of the bucket follow `next_pgno`.
//!
//! Every page starts with a 26-byte header: page number at 8, previous and next page at 12
//! and 16, item count at 20, `hf_offset` at 22, type at 25 (2 and 13: hash pages, 7:
//! overflow). A hash page holds key/data pairs; the item offsets (`u16`) follow the header,
//! and item `i` runs from its offset to the offset of item `i - 1` (the page end for item
//! 0). An item starts with its type: 1 = the bytes follow in place, 3 = an off-page item of
//! 12 bytes holding the first overflow page (at 4) and the total length (at 8). An overflow
//! page carries `hf_offset` bytes of the item after its header and links to the next one.
//!
//! rpm's `Packages` maps a 4-byte instance number (in the file's byte order) to a header
//! blob; key 0 holds the next free instance number and is skipped.

use std::borrow::Cow;

use crate::error::{Blame, Problem, Result};
use crate::{Format, InstalledHeader};

/// Magic of a hash database's metadata page.
pub const HASH_MAGIC: u32 = 0x0006_1561;
/// Magic of a B-tree database (recognised to refuse it clearly).
pub const BTREE_MAGIC: u32 = 0x0005_3162;

const PAGE_HEADER: usize = 26;
/// With page checksums the header is padded to 28 bytes and followed by a 4-byte checksum.
const PAGE_HEADER_WITH_CHECKSUM: usize = 32;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
const HOFFPAGE_SIZE: usize = 12;
const DBMETA_CHKSUM: u8 = 0x01;
/// The metadata fields end with the 32 spares at 96..224.
const META_LEN: u64 = 224;

const BLAME: Blame = Blame(Format::BerkeleyDb);

/// True if the bytes start with a Berkeley DB metadata page (hash or B-tree, either byte
/// order).
pub fn looks_like_bdb(bytes: &[u8]) -> bool {
    let Some(m) = bytes.get(12..16) else {
        return false;
    };
    let m: [u8; 4] = m.try_into().unwrap_or_default();
    [u32::from_le_bytes(m), u32::from_be_bytes(m)]
        .iter()
        .any(|&v| v == HASH_MAGIC || v == BTREE_MAGIC)
}

/// Byte order of the integers in a Berkeley DB file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    /// Little-endian (x86, ARM).
    Little,
    /// Big-endian (s390x, PowerPC, SPARC).
    Big,
}

impl ByteOrder {
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let v: [u8; 4] = b[at..at + 4].try_into().unwrap_or_default();
        match self {
            ByteOrder::Little => u32::from_le_bytes(v),
            ByteOrder::Big => u32::from_be_bytes(v),
        }
    }

    fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        match self {
            ByteOrder::Little => u16::from_le_bytes(v),
            ByteOrder::Big => u16::from_be_bytes(v),
        }
    }
}

/// What the metadata page (page 0) of a hash database says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashMeta {
    /// Byte order of every integer in the file.
    pub byte_order: ByteOrder,
    /// Hash version: 8 (Berkeley DB 4.x), 9 (4.6 and later) or 10.
    pub version: u32,
    /// Page size in bytes (a power of two, 512 to 65536).
    pub page_size: u32,
    /// Number of the last page.
    pub last_page: u32,
    /// Highest bucket number in use.
    pub max_bucket: u32,
    /// Whether every page carries a checksum after its header.
    pub checksums: bool,
    /// First page of each split point, by number of bucket bits.
    pub spares: [u32; 32],
}

impl HashMeta {
    /// Reads and checks the metadata page.
    pub fn parse(bytes: &[u8]) -> Result<HashMeta> {
        let meta = BLAME.slice(bytes, 0, META_LEN, "metadata page")?;
        let magic: [u8; 4] = meta[12..16].try_into().unwrap_or_default();
        let byte_order = if u32::from_le_bytes(magic) == HASH_MAGIC {
            ByteOrder::Little
        } else if u32::from_be_bytes(magic) == HASH_MAGIC {
            ByteOrder::Big
        } else if [u32::from_le_bytes(magic), u32::from_be_bytes(magic)].contains(&BTREE_MAGIC) {
            return Err(BLAME.at(
                "metadata page",
                12,
                Problem::Unsupported {
                    what: "database type",
                    value: "B-tree (rpm's Packages is a hash database)".into(),
                },
            ));
        } else {
            return Err(BLAME.at(
                "metadata page",
                12,
                Problem::BadMagic {
                    expected: "061561 (hash)",
                    found: format!("{magic:02x?}"),
                },
            ));
        };
        let o = byte_order;
        let version = o.u32(meta, 16);
        if !(8..=10).contains(&version) {
            return Err(BLAME.at(
                "metadata page",
                16,
                Problem::Unsupported {
                    what: "hash version",
                    value: version.to_string(),
                },
            ));
        }
        let page_size = o.u32(meta, 20);
        if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
            return Err(BLAME.at(
                "metadata page",
                20,
                Problem::Unsupported {
                    what: "page size",
                    value: page_size.to_string(),
                },
            ));
        }
        if meta[24] != 0 {
            return Err(BLAME.at(
                "metadata page",
                24,
                Problem::Unsupported {
                    what: "encryption algorithm",
                    value: meta[24].to_string(),
                },
            ));
        }
        if meta[25] != P_HASHMETA {
            return Err(BLAME.at(
                "metadata page",
                25,
                Problem::Mismatch {
                    what: "page type",
                    found: meta[25].into(),
                    expected: P_HASHMETA.into(),
                },
            ));
        }
        let mut spares = [0u32; 32];
        for (i, s) in spares.iter_mut().enumerate() {
            *s = o.u32(meta, 96 + 4 * i);
        }
        Ok(HashMeta {
            byte_order,
            version,
            page_size,
            last_page: o.u32(meta, 32),
            max_bucket: o.u32(meta, 72),
            checksums: meta[26] & DBMETA_CHKSUM != 0,
            spares,
        })
    }
}

/// The page a bucket starts on.
fn bucket_page(meta: &HashMeta, bucket: u32) -> Option<u64> {
    let bits = (u32::BITS - bucket.leading_zeros()) as usize;
    let spare = *meta.spares.get(bits)?;
    Some(u64::from(bucket) + u64::from(spare))
}

/// The current hash page of the walk.
#[derive(Clone, Copy, Debug)]
struct HashPage {
    number: u32,
    bucket: u32,
    items: usize,
    next_pair: usize,
}

/// Walks the buckets of a hash `Packages` database in order (rpm's iteration order) and
/// yields every instance's header blob. See [`crate::Reader`].
pub struct Walk<'a> {
    data: &'a [u8],
    meta: HashMeta,
    overhead: usize,
    next_bucket: u64,
    page: Option<HashPage>,
    /// Hash pages already walked (each belongs to exactly one bucket chain).
    seen_hash: Vec<bool>,
    /// Overflow pages already read. Each belongs to one item, so a page met twice is a
    /// cycle or a shared chain, and all items together copy at most the file's size.
    seen_overflow: Vec<bool>,
    done: bool,
}

impl<'a> Walk<'a> {
    /// Reads the metadata page and prepares the walk.
    pub fn new(data: &'a [u8]) -> Result<Walk<'a>> {
        let meta = HashMeta::parse(data)?;
        let ps = u64::from(meta.page_size);
        // Pages that exist in the file bound every table and every walk.
        let pages = (data.len() as u64)
            .div_ceil(ps)
            .min(u64::from(meta.last_page) + 1);
        if u64::from(meta.max_bucket) >= pages {
            return Err(BLAME.at(
                "metadata page",
                72,
                Problem::OutOfRange {
                    what: "max_bucket",
                    value: meta.max_bucket.into(),
                    min: 0,
                    max: pages.saturating_sub(1),
                },
            ));
        }
        let overhead = if meta.checksums {
            PAGE_HEADER_WITH_CHECKSUM
        } else {
            PAGE_HEADER
        };
        Ok(Walk {
            data,
            overhead,
            next_bucket: 0,
            page: None,
            seen_hash: vec![false; pages as usize],
            seen_overflow: vec![false; pages as usize],
            done: false,
            meta,
        })
    }

    /// The metadata of the database.
    pub fn meta(&self) -> &HashMeta {
        &self.meta
    }

    fn page_offset(&self, number: u64) -> u64 {
        number * u64::from(self.meta.page_size)
    }

    /// Page `number`, checked to exist, to carry its own number and to have one of `types`.
    /// `link` is the offset of the field that gave the number (named if it is out of range).
    fn load(&self, number: u64, what: &str, types: &[u8], link: u64) -> Result<&'a [u8]> {
        let offset = self.page_offset(number);
        let name = || format!("{what} {number}");
        if number == 0 || number > u64::from(self.meta.last_page) {
            return Err(BLAME.at(
                format!("link to {}", name()),
                link,
                Problem::OutOfRange {
                    what: "page number",
                    value: number,
                    min: 1,
                    max: self.meta.last_page.into(),
                },
            ));
        }
        let page = BLAME.slice(self.data, offset, self.meta.page_size.into(), name())?;
        let o = self.meta.byte_order;
        let stored = o.u32(page, 8);
        if u64::from(stored) != number {
            return Err(BLAME.at(
                name(),
                offset + 8,
                Problem::Mismatch {
                    what: "page number field",
                    found: stored.into(),
                    expected: number,
                },
            ));
        }
        if !types.contains(&page[25]) {
            return Err(BLAME.at(
                name(),
                offset + 25,
                Problem::Unsupported {
                    what: "page type",
                    value: format!("{} (expected {types:?})", page[25]),
                },
            ));
        }
        Ok(page)
    }

    /// Enters hash page `number` of `bucket`, linked from the field at `link`.
    fn enter(&mut self, number: u64, bucket: u32, link: u64) -> Result<()> {
        let page = self.load(number, "hash page", &[P_HASH, P_HASH_UNSORTED], link)?;
        let offset = self.page_offset(number);
        // `load` checked number <= last_page, and the tables cover every page in the file.
        let idx = number as usize;
        if self.seen_hash[idx] {
            return Err(BLAME.at(
                format!("hash page {number}"),
                offset,
                Problem::Cycle {
                    page: number,
                    chain: "bucket chains",
                },
            ));
        }
        self.seen_hash[idx] = true;
        let items = usize::from(self.meta.byte_order.u16(page, 20));
        let room = (page.len() - self.overhead) / 2;
        if items > room || items % 2 != 0 {
            return Err(BLAME.at(
                format!("hash page {number}"),
                offset + 20,
                Problem::Invalid(format!(
                    "{items} items (a hash page holds key/data pairs, at most {room} items)"
                )),
            ));
        }
        self.page = Some(HashPage {
            number: number as u32,
            bucket,
            items,
            next_pair: 0,
        });
        Ok(())
    }

    /// Item `i` of hash page `number`: its offset in the page and its bytes.
    fn item(&self, page: &'a [u8], hp: &HashPage, i: usize) -> Result<(usize, &'a [u8])> {
        let o = self.meta.byte_order;
        let start = usize::from(o.u16(page, self.overhead + 2 * i));
        let end = if i == 0 {
            page.len()
        } else {
            usize::from(o.u16(page, self.overhead + 2 * (i - 1)))
        };
        let first = self.overhead + 2 * hp.items;
        if start < first || start >= end || end > page.len() {
            return Err(BLAME.at(
                format!("hash page {} item {i}", hp.number),
                self.page_offset(hp.number.into()) + (self.overhead + 2 * i) as u64,
                Problem::Invalid(format!(
                    "item spans {start}..{end}, outside the item area {first}..{} of the page",
                    page.len()
                )),
            ));
        }
        Ok((start, &page[start..end]))
    }

    /// The bytes of an item (in place, or gathered from its overflow pages) and the file
    /// offset where they (or their first piece) start.
    fn item_bytes(
        &mut self,
        hp: &HashPage,
        at: usize,
        item: &'a [u8],
    ) -> Result<(Cow<'a, [u8]>, u64)> {
        let offset = self.page_offset(hp.number.into()) + at as u64;
        let name = || format!("hash page {} item at {at}", hp.number);
        match item[0] {
            H_KEYDATA => Ok((Cow::Borrowed(&item[1..]), offset + 1)),
            H_OFFPAGE if item.len() >= HOFFPAGE_SIZE => {
                let o = self.meta.byte_order;
                let first = o.u32(item, 4);
                let total = o.u32(item, 8);
                let bytes = self.overflow(first, total, offset)?;
                Ok((
                    Cow::Owned(bytes),
                    self.page_offset(first.into()) + self.overhead as u64,
                ))
            }
            H_OFFPAGE => Err(BLAME.at(
                name(),
                offset,
                Problem::Mismatch {
                    what: "off-page item size",
                    found: item.len() as u64,
                    expected: HOFFPAGE_SIZE as u64,
                },
            )),
            other => Err(BLAME.at(
                name(),
                offset,
                Problem::Unsupported {
                    what: "item type",
                    value: format!("{other} (rpm stores only plain and overflow items)"),
                },
            )),
        }
    }

    /// Gathers `total` bytes from the overflow chain starting at page `first`.
    fn overflow(&mut self, first: u32, total: u32, item_offset: u64) -> Result<Vec<u8>> {
        let total = total as usize;
        if total == 0 || total > self.data.len() {
            return Err(BLAME.at(
                format!("off-page item (first overflow page {first})"),
                item_offset,
                Problem::OutOfRange {
                    what: "item length",
                    value: total as u64,
                    min: 1,
                    max: self.data.len() as u64,
                },
            ));
        }
        let mut out = Vec::with_capacity(total);
        let mut number = u64::from(first);
        let mut link = item_offset + 4;
        while out.len() < total {
            if number == 0 {
                return Err(BLAME.at(
                    format!("off-page item (first overflow page {first})"),
                    item_offset,
                    Problem::Invalid(format!(
                        "overflow chain ends after {} of {total} bytes",
                        out.len()
                    )),
                ));
            }
            let page = self.load(number, "overflow page", &[P_OVERFLOW], link)?;
            let offset = self.page_offset(number);
            link = offset + 16;
            let idx = number as usize;
            if self.seen_overflow[idx] {
                return Err(BLAME.at(
                    format!("overflow page {number}"),
                    offset,
                    Problem::Cycle {
                        page: number,
                        chain: "overflow chains",
                    },
                ));
            }
            self.seen_overflow[idx] = true;
            let o = self.meta.byte_order;
            let len = usize::from(o.u16(page, 22));
            let left = total - out.len();
            if len == 0 || len > left || self.overhead + len > page.len() {
                return Err(BLAME.at(
                    format!("overflow page {number}"),
                    offset + 22,
                    Problem::OutOfRange {
                        what: "bytes on overflow page",
                        value: len as u64,
                        min: 1,
                        max: left.min(page.len() - self.overhead) as u64,
                    },
                ));
            }
            out.extend_from_slice(&page[self.overhead..self.overhead + len]);
            number = o.u32(page, 16).into();
        }
        Ok(out)
    }

    /// The next key/data pair of the current page as an installed header, `None` when the
    /// page is done.
    fn next_pair(&mut self) -> Result<Option<InstalledHeader<'a>>> {
        let Some(mut hp) = self.page else {
            return Ok(None);
        };
        while hp.next_pair * 2 < hp.items {
            let i = hp.next_pair * 2;
            hp.next_pair += 1;
            self.page = Some(hp);
            let page = self.load(hp.number.into(), "hash page", &[P_HASH, P_HASH_UNSORTED], 0)?;
            let (key_at, key) = self.item(page, &hp, i)?;
            let (key, key_offset) = self.item_bytes(&hp, key_at, key)?;
            if key.len() != 4 {
                return Err(BLAME.at(
                    format!("hash page {} (bucket {}) key", hp.number, hp.bucket),
                    key_offset,
                    Problem::Mismatch {
                        what: "key length",
                        found: key.len() as u64,
                        expected: 4,
                    },
                ));
            }
            let instance = self.meta.byte_order.u32(&key, 0);
            if instance == 0 {
                continue; // the next-instance counter
            }
            let (data_at, item) = self.item(page, &hp, i + 1)?;
            let (blob, offset) = self.item_bytes(&hp, data_at, item)?;
            return Ok(Some(InstalledHeader {
                instance,
                blob,
                offset,
            }));
        }
        Ok(None)
    }

    fn step(&mut self) -> Result<Option<InstalledHeader<'a>>> {
        loop {
            if let Some(found) = self.next_pair()? {
                return Ok(Some(found));
            }
            match self.page.take() {
                Some(hp) => {
                    let number = u64::from(hp.number);
                    let page = self.load(number, "hash page", &[P_HASH, P_HASH_UNSORTED], 0)?;
                    let next = self.meta.byte_order.u32(page, 16);
                    if next != 0 {
                        self.enter(next.into(), hp.bucket, self.page_offset(number) + 16)?;
                    }
                }
                None => {
                    if self.next_bucket > u64::from(self.meta.max_bucket) {
                        return Ok(None);
                    }
                    let bucket = self.next_bucket as u32;
                    self.next_bucket += 1;
                    let number = bucket_page(&self.meta, bucket).ok_or_else(|| {
                        BLAME.at(
                            "metadata page",
                            72,
                            Problem::Invalid(format!("no split point for bucket {bucket}")),
                        )
                    })?;
                    // The spare of the bucket's split point gave the page.
                    let bits = u64::from(u32::BITS - bucket.leading_zeros());
                    self.enter(number, bucket, 96 + 4 * bits)?;
                }
            }
        }
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Result<InstalledHeader<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(h)) => Some(Ok(h)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_pages() {
        let mut meta = HashMeta {
            byte_order: ByteOrder::Little,
            version: 9,
            page_size: 4096,
            last_page: 10,
            max_bucket: 3,
            checksums: false,
            spares: [0; 32],
        };
        meta.spares[0] = 1;
        meta.spares[1] = 1;
        meta.spares[2] = 2;
        assert_eq!(bucket_page(&meta, 0), Some(1));
        assert_eq!(bucket_page(&meta, 1), Some(2));
        assert_eq!(bucket_page(&meta, 2), Some(4));
        assert_eq!(bucket_page(&meta, 3), Some(5));
        assert_eq!(bucket_page(&meta, u32::MAX), None);
    }

    #[test]
    fn detection() {
        let mut b = vec![0u8; 16];
        assert!(!looks_like_bdb(&b));
        b[12..16].copy_from_slice(&HASH_MAGIC.to_le_bytes());
        assert!(looks_like_bdb(&b));
        b[12..16].copy_from_slice(&HASH_MAGIC.to_be_bytes());
        assert!(looks_like_bdb(&b));
        b[12..16].copy_from_slice(&BTREE_MAGIC.to_be_bytes());
        assert!(looks_like_bdb(&b));
        assert!(!looks_like_bdb(&b[..15]));
    }
}
