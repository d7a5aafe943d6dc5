//! Header records: an index of 16-byte entries plus a data store, read without copying.
//!
//! On disk a header is `il` (entry count) and `dl` (store size) as big-endian u32, then `il`
//! entries `(tag, type, offset, count)`, then `dl` bytes of store. In `.rpm` files and APT
//! header lists the record is preceded by the 8-byte magic `8E AD E8 01 00 00 00 00`; rpm
//! databases store it bare.
//!
//! Parsing validates every entry up front (type known, data inside the store, strings
//! NUL-terminated, region trailer sane), like librpm's `hdrblobVerifyInfo`, so the typed
//! accessors afterwards only fail on a type mismatch. Nothing is allocated from a count read
//! from the input: sizes are checked against the bytes that are actually there first.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::tags::{Tag, TagKind};

mod entry;
mod typed;

pub use entry::{Entry, StrArray, U32Array, U64Array};
pub use typed::class_of_mode;

/// The 4 significant bytes of a header record's magic (`8E AD E8`, version 1); four reserved
/// bytes follow.
pub const HEADER_MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];

/// librpm's limit on the number of index entries (`hdrchkTags`).
pub const MAX_ENTRIES: u32 = 0xffff;

/// librpm's limit on the data store size (`hdrchkData`, 256 MiB).
pub const MAX_STORE: u32 = 0x0fff_ffff;

/// The type of an index entry (`rpmTagType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryType {
    /// 0: no data.
    Null,
    /// 1: `count` bytes.
    Char,
    /// 2: `count` u8.
    Int8,
    /// 3: `count` big-endian u16.
    Int16,
    /// 4: `count` big-endian u32.
    Int32,
    /// 5: `count` big-endian u64.
    Int64,
    /// 6: one NUL-terminated string (count must be 1).
    String,
    /// 7: `count` raw bytes.
    Bin,
    /// 8: `count` NUL-terminated strings.
    StringArray,
    /// 9: `count` NUL-terminated strings, one per locale of HEADERI18NTABLE; the first is the
    /// C locale.
    I18nString,
}

impl EntryType {
    /// The type for a raw type number, if it is 0…9.
    pub fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            0 => EntryType::Null,
            1 => EntryType::Char,
            2 => EntryType::Int8,
            3 => EntryType::Int16,
            4 => EntryType::Int32,
            5 => EntryType::Int64,
            6 => EntryType::String,
            7 => EntryType::Bin,
            8 => EntryType::StringArray,
            9 => EntryType::I18nString,
            _ => return None,
        })
    }

    /// The raw type number.
    pub fn raw(self) -> u32 {
        self as u32
    }

    /// Size of one element for the fixed-size types.
    fn elem_size(self) -> Option<u64> {
        match self {
            EntryType::Null => Some(0),
            EntryType::Char | EntryType::Int8 | EntryType::Bin => Some(1),
            EntryType::Int16 => Some(2),
            EntryType::Int32 => Some(4),
            EntryType::Int64 => Some(8),
            EntryType::String | EntryType::StringArray | EntryType::I18nString => None,
        }
    }

    /// Width in bytes of one integer element, for the integer types (CHAR counts as u8).
    fn int_width(self) -> Option<u8> {
        match self {
            EntryType::Char | EntryType::Int8 => Some(1),
            EntryType::Int16 => Some(2),
            EntryType::Int32 => Some(4),
            EntryType::Int64 => Some(8),
            _ => None,
        }
    }
}

impl fmt::Display for EntryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryType::Null => "NULL",
            EntryType::Char => "CHAR",
            EntryType::Int8 => "INT8",
            EntryType::Int16 => "INT16",
            EntryType::Int32 => "INT32",
            EntryType::Int64 => "INT64",
            EntryType::String => "STRING",
            EntryType::Bin => "BIN",
            EntryType::StringArray => "STRING_ARRAY",
            EntryType::I18nString => "I18NSTRING",
        })
    }
}

/// Decodes header text: valid UTF-8 is kept as is; anything else is read as latin-1, each
/// byte becoming U+0000…U+00FF, so no byte is lost and the mapping can be undone.
///
/// The decision is made for the whole string, not per byte run.
pub fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

/// Index of the stores a header can reference (see [`Header`]).
pub(crate) const STORE_MAIN: u8 = 0;
pub(crate) const STORE_SIG: u8 = 1;
pub(crate) const STORE_STATIC: u8 = 2;

/// Big-endian 1 as a u32: the store of the synthetic SOURCEPACKAGE entry.
pub(crate) static ONE_BE32: [u8; 4] = [0, 0, 0, 1];

/// A validated index entry. `start..end` is its data inside store `store`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawEntry {
    pub(crate) tag: u32,
    pub(crate) ty: EntryType,
    pub(crate) store: u8,
    pub(crate) count: u32,
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// Absolute input offset of the 16-byte index entry.
    pub(crate) pos: u64,
}

/// A parsed header, borrowing its input.
///
/// `T` is the tag space: [`Tag`] for main headers, rpmdb blobs and APT lists,
/// [`crate::SigTag`] for the signature header of a `.rpm` file. The header of
/// [`crate::Package`] is the *merged* view (signature tags renumbered into it), so its
/// entries can live in either of the two stores; that is why there is more than one.
///
/// Entries are kept sorted by tag; when a tag occurs twice, the later one wins (as in the
/// original's dictionary).
#[derive(Clone)]
pub struct Header<'a, T: TagKind = Tag> {
    pub(crate) stores: [&'a [u8]; 3],
    pub(crate) entries: Vec<RawEntry>,
    pub(crate) offset: u64,
    pub(crate) len: usize,
    pub(crate) kind: PhantomData<T>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// `buf[at..at + n]`, or `Truncated` naming `what` at `at`.
pub(crate) fn take<'a>(buf: &'a [u8], at: usize, n: usize, what: &'static str) -> Result<&'a [u8]> {
    at.checked_add(n)
        .and_then(|end| buf.get(at..end))
        .ok_or(Error::Truncated {
            offset: at as u64,
            what,
            needed: n as u64,
            available: buf.len().saturating_sub(at) as u64,
        })
}

/// Sizes from a header's 8-byte intro (`il`, `dl`), checked against librpm's limits.
/// `at` is the absolute offset of the intro.
pub(crate) fn parse_intro(intro: &[u8], at: u64) -> Result<(u32, u32)> {
    let il = be32(intro, 0);
    let dl = be32(intro, 4);
    if il > MAX_ENTRIES {
        return Err(Error::TooManyEntries {
            offset: at,
            count: il,
        });
    }
    if dl > MAX_STORE {
        return Err(Error::StoreTooLarge {
            offset: at + 4,
            size: dl,
        });
    }
    Ok((il, dl))
}

/// Checks the 8-byte record magic at `at`.
pub(crate) fn check_magic(buf: &[u8], at: usize) -> Result<()> {
    let m = take(buf, at, 8, "header magic")?;
    if m.get(..4) != Some(&HEADER_MAGIC[..]) {
        let mut found = [0u8; 4];
        found.copy_from_slice(m.get(..4).unwrap_or(&[0; 4]));
        return Err(Error::BadHeaderMagic {
            offset: at as u64,
            found,
        });
    }
    Ok(())
}

/// Finds where `count` consecutive NUL-terminated strings starting at `start` end.
///
/// Normal headers have disjoint strings, so scanning each entry directly touches every store
/// byte about once. A hostile header can point thousands of entries at the same long run of
/// strings; once the scanned bytes exceed a budget we switch to a sorted list of NUL
/// positions, which answers each entry in O(log n).
struct StringScanner<'a> {
    store: &'a [u8],
    budget: usize,
    nuls: Option<Vec<u32>>,
}

impl<'a> StringScanner<'a> {
    fn new(store: &'a [u8]) -> Self {
        StringScanner {
            store,
            budget: store.len().saturating_mul(2).saturating_add(4096),
            nuls: None,
        }
    }

    /// `Ok(end)` (one past the last NUL) or `Err(i)` where string `i` is unterminated.
    fn end_of(&mut self, start: usize, count: u32) -> std::result::Result<usize, u32> {
        if count == 0 {
            return Ok(start);
        }
        if self.nuls.is_none() {
            let rest = self.store.get(start..).unwrap_or(&[]);
            let r = skip_nuls(rest, count);
            let scanned = match r {
                Ok(end) => end,
                Err(_) => rest.len(),
            };
            self.budget = self.budget.saturating_sub(scanned.max(1));
            if self.budget == 0 {
                self.nuls = Some(
                    memchr::memchr_iter(0, self.store)
                        .map(|p| p as u32)
                        .collect(),
                );
            }
            return r.map(|end| start + end);
        }
        let nuls = self.nuls.as_deref().unwrap_or(&[]);
        let first = nuls.partition_point(|&p| (p as usize) < start);
        match first
            .checked_add(count as usize - 1)
            .and_then(|last| nuls.get(last))
        {
            Some(&p) => Ok(p as usize + 1),
            None => Err((nuls.len() - first) as u32),
        }
    }
}

/// One past the `n`-th NUL of `data` (n ≥ 1), or `Err(k)` if it holds only `k` NULs.
///
/// Header stores are mostly short strings (file names, digests, user names, empty link
/// targets), where one `memchr` call per string costs more than the scan itself. Counting
/// NULs 64 bytes at a time (the compiler vectorises the count) skips whole blocks.
fn skip_nuls(data: &[u8], n: u32) -> std::result::Result<usize, u32> {
    const BLOCK: usize = 64;
    let mut left = n as usize;
    let mut base = 0usize;
    let mut blocks = data.chunks_exact(BLOCK);
    for block in &mut blocks {
        let zeros = block.iter().fold(0u8, |acc, &b| acc + u8::from(b == 0)) as usize;
        if zeros < left {
            left -= zeros;
            base += BLOCK;
            continue;
        }
        return Ok(base + nth_nul_in(block, left));
    }
    let tail = blocks.remainder();
    let zeros = tail.iter().filter(|&&b| b == 0).count();
    if zeros < left {
        return Err(n - (left - zeros) as u32);
    }
    Ok(base + nth_nul_in(tail, left))
}

/// One past the `k`-th NUL (k ≥ 1) of a block known to hold at least `k`.
fn nth_nul_in(block: &[u8], k: usize) -> usize {
    let mut left = k;
    for (i, &b) in block.iter().enumerate() {
        if b == 0 {
            left -= 1;
            if left == 0 {
                return i + 1;
            }
        }
    }
    block.len()
}

impl<'a> Header<'a, Tag> {
    /// Parses a magic-prefixed main header record (as in `.rpm` files and APT header lists)
    /// at the start of `bytes`. Bytes after the record are ignored; see
    /// [`Header::record_len`]. No signature merging happens here (see [`crate::Package`]).
    pub fn from_record(bytes: &'a [u8]) -> Result<Self> {
        Self::parse_at(bytes, 0, true)
    }

    /// Parses a bare header blob (`il, dl, index, store`, no magic) as stored in rpm
    /// databases. Bytes after the blob are ignored; see [`Header::record_len`].
    pub fn from_blob(bytes: &'a [u8]) -> Result<Self> {
        Self::parse_at(bytes, 0, false)
    }
}

impl<'a> Header<'a, crate::tags::SigTag> {
    /// Parses a magic-prefixed signature header record at the start of `bytes` (its region
    /// tag is 62 HEADERSIGNATURES).
    pub fn signature_from_record(bytes: &'a [u8]) -> Result<Self> {
        Self::parse_at(bytes, 0, true)
    }
}

impl<'a, T: TagKind> Header<'a, T> {
    /// Parses the record at `buf[pos..]`; errors and entry offsets are absolute in `buf`.
    pub(crate) fn parse_at(buf: &'a [u8], pos: usize, magic: bool) -> Result<Self> {
        let mut p = pos;
        if magic {
            check_magic(buf, p)?;
            p += 8;
        }
        let intro = take(buf, p, 8, "header intro")?;
        let (il, dl) = parse_intro(intro, p as u64)?;
        let index_start = p + 8;
        // il ≤ 0xffff and dl < 2^28, so this cannot overflow.
        let index_len = il as usize * 16;
        let body = take(
            buf,
            index_start,
            index_len + dl as usize,
            "header index and store",
        )?;
        let (index, store) = body.split_at(index_len);
        let store_len = store.len() as u64;

        let mut entries = Vec::with_capacity(il as usize);
        let mut scanner = StringScanner::new(store);
        for (i, e) in index.chunks_exact(16).enumerate() {
            let epos = (index_start + i * 16) as u64;
            let tag = be32(e, 0);
            let ty_raw = be32(e, 4);
            let off = be32(e, 8) as i32;
            let count = be32(e, 12);
            let any = T::from_raw(tag).any();
            let ty = EntryType::from_raw(ty_raw).ok_or(Error::BadEntryType {
                offset: epos,
                tag: any,
                ty: ty_raw,
            })?;
            if off < 0 || off as u64 > store_len {
                return Err(Error::OffsetOutOfStore {
                    offset: epos,
                    tag: any,
                    data_offset: off.into(),
                    store_len,
                });
            }
            let start = off as usize;
            let available = store_len - start as u64;
            let end = match ty.elem_size() {
                Some(size) => {
                    let need = u64::from(count) * size;
                    if need > available {
                        return Err(Error::CountOverflow {
                            offset: epos,
                            tag: any,
                            ty,
                            count,
                            available,
                        });
                    }
                    start + need as usize
                }
                None => {
                    if ty == EntryType::String && count != 1 {
                        return Err(Error::BadCount {
                            offset: epos,
                            tag: any,
                            ty,
                            count,
                        });
                    }
                    scanner
                        .end_of(start, count)
                        .map_err(|index| Error::UnterminatedString {
                            offset: epos,
                            tag: any,
                            index,
                            count,
                        })?
                }
            };
            if i == 0 && tag == T::REGION {
                check_region::<T>(store, il, ty, start, count, epos)?;
            }
            entries.push(RawEntry {
                tag,
                ty,
                store: STORE_MAIN,
                count,
                start: start as u32,
                end: end as u32,
                pos: epos,
            });
        }
        sort_dedup(&mut entries);
        Ok(Header {
            stores: [store, &[], &[]],
            entries,
            offset: pos as u64,
            len: index_start + index_len + dl as usize - pos,
            kind: PhantomData,
        })
    }

    /// Absolute offset of the record (of its magic, or of `il` for a bare blob) in the input
    /// it was parsed from.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Length in bytes of the record in the input, including the magic if there was one.
    pub fn record_len(&self) -> usize {
        self.len
    }

    /// Number of (distinct) entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if the header has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn raw(&self, tag: u32) -> Option<&RawEntry> {
        self.entries
            .binary_search_by_key(&tag, |e| e.tag)
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    fn view(&self, e: &RawEntry) -> Entry<'a, T> {
        let store = self
            .stores
            .get(usize::from(e.store))
            .copied()
            .unwrap_or(&[]);
        Entry {
            tag: T::from_raw(e.tag),
            ty: e.ty,
            count: e.count,
            data: store.get(e.start as usize..e.end as usize).unwrap_or(&[]),
            offset: e.pos,
        }
    }

    /// The entry for `tag`, if present.
    pub fn entry(&self, tag: T) -> Option<Entry<'a, T>> {
        self.raw(tag.raw()).map(|e| self.view(e))
    }

    /// True if `tag` is present.
    pub fn contains(&self, tag: T) -> bool {
        self.raw(tag.raw()).is_some()
    }

    /// All entries, sorted by tag.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = Entry<'a, T>> + '_ {
        self.entries.iter().map(|e| self.view(e))
    }

    /// A single string: a STRING, or the first element of a STRING_ARRAY / I18NSTRING (for
    /// I18NSTRING that is the C locale). `None` if absent or an empty array.
    pub fn string(&self, tag: T) -> Result<Option<&'a [u8]>> {
        match self.entry(tag) {
            Some(e) => Ok(e.strings()?.next()),
            None => Ok(None),
        }
    }

    /// All strings of a STRING_ARRAY / I18NSTRING (a STRING gives one); empty if absent.
    pub fn string_array(&self, tag: T) -> Result<StrArray<'a>> {
        match self.entry(tag) {
            Some(e) => e.strings(),
            None => Ok(StrArray::empty()),
        }
    }

    /// [`Header::string`] decoded with [`text`]; `""` if absent (the original's rule).
    pub fn text(&self, tag: T) -> Result<Cow<'a, str>> {
        Ok(self.string(tag)?.map(text).unwrap_or(Cow::Borrowed("")))
    }

    /// [`Header::string_array`] decoded with [`text`]; empty if absent.
    pub fn text_array(&self, tag: T) -> Result<Vec<Cow<'a, str>>> {
        Ok(self.string_array(tag)?.map(text).collect())
    }

    /// The first element of an integer entry of at most 32 bits (CHAR, INT8, INT16, INT32).
    /// `None` if absent or empty.
    pub fn u32(&self, tag: T) -> Result<Option<u32>> {
        match self.entry(tag) {
            Some(e) => Ok(e.u32s()?.next()),
            None => Ok(None),
        }
    }

    /// All elements of an integer entry of at most 32 bits, widened; empty if absent.
    pub fn u32_array(&self, tag: T) -> Result<U32Array<'a>> {
        match self.entry(tag) {
            Some(e) => e.u32s(),
            None => Ok(U32Array(U64Array::empty())),
        }
    }

    /// The first element of any integer entry (up to INT64). `None` if absent or empty.
    pub fn u64(&self, tag: T) -> Result<Option<u64>> {
        match self.entry(tag) {
            Some(e) => Ok(e.u64s()?.next()),
            None => Ok(None),
        }
    }

    /// All elements of any integer entry, widened to u64; empty if absent.
    pub fn u64_array(&self, tag: T) -> Result<U64Array<'a>> {
        match self.entry(tag) {
            Some(e) => e.u64s(),
            None => Ok(U64Array::empty()),
        }
    }

    /// The bytes of a BIN entry. `None` if absent.
    pub fn bin(&self, tag: T) -> Result<Option<&'a [u8]>> {
        self.entry(tag).map(|e| e.bin()).transpose()
    }
}

impl<T: TagKind> fmt::Debug for Header<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .field("entries", &self.entries().collect::<Vec<_>>())
            .finish()
    }
}

/// Sorts by tag (stable) and keeps the last entry of each tag.
pub(crate) fn sort_dedup(entries: &mut Vec<RawEntry>) {
    entries.sort_by_key(|e| e.tag);
    entries.dedup_by(|later, earlier| {
        let same = later.tag == earlier.tag;
        if same {
            *earlier = *later;
        }
        same
    });
}

/// librpm's `hdrblobVerifyRegion`: the region entry is BIN/16 and points at a 16-byte
/// trailer `(region tag, BIN, -(entries in region × 16), 16)`.
fn check_region<T: TagKind>(
    store: &[u8],
    il: u32,
    ty: EntryType,
    start: usize,
    count: u32,
    epos: u64,
) -> Result<()> {
    let tag = T::from_raw(T::REGION).any();
    let bad = |reason| Error::BadRegion {
        offset: epos,
        tag,
        reason,
    };
    if ty != EntryType::Bin || count != 16 {
        return Err(bad("region entry is not BIN with count 16"));
    }
    let trailer = store
        .get(start..start + 16)
        .ok_or(bad("trailer outside the store"))?;
    let mut ttag = be32(trailer, 0);
    let tty = be32(trailer, 4);
    let toff = be32(trailer, 8) as i32;
    let tcount = be32(trailer, 12);
    // Old packages have HEADERIMAGE in the signature region trailer; librpm accepts it.
    if T::REGION == 62 && ttag == 61 {
        ttag = 62;
    }
    if ttag != T::REGION || tty != EntryType::Bin.raw() || tcount != 16 {
        return Err(bad("trailer is not (region tag, BIN, -, 16)"));
    }
    let rsize = -i64::from(toff);
    if rsize < 0 || rsize % 16 != 0 || rsize / 16 > i64::from(il) {
        return Err(bad("trailer gives an invalid region size"));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tags::SigTag;

    /// A bare blob from `(tag, type, offset, count)` entries and a store.
    pub(crate) fn blob(entries: &[(u32, u32, i32, u32)], store: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        b.extend_from_slice(&(store.len() as u32).to_be_bytes());
        for &(tag, ty, off, count) in entries {
            for v in [tag, ty, off as u32, count] {
                b.extend_from_slice(&v.to_be_bytes());
            }
        }
        b.extend_from_slice(store);
        b
    }

    /// The same as a magic-prefixed record.
    pub(crate) fn record(entries: &[(u32, u32, i32, u32)], store: &[u8]) -> Vec<u8> {
        let mut b = vec![0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
        b.extend(blob(entries, store));
        b
    }

    /// A region trailer `(tag, BIN, -(n*16), 16)`.
    pub(crate) fn trailer(tag: u32, n: i32) -> Vec<u8> {
        let mut t = Vec::new();
        for v in [tag, 7, (-(n * 16)) as u32, 16] {
            t.extend_from_slice(&v.to_be_bytes());
        }
        t
    }

    fn parse(b: &[u8]) -> Result<Header<'_>> {
        Header::from_blob(b)
    }

    #[test]
    fn reads_every_entry_type() {
        let mut store = Vec::new();
        store.extend_from_slice(b"hello\0"); // 0: STRING
        store.extend_from_slice(b"a\0bc\0\0"); // 6: STRING_ARRAY of 3
        store.extend_from_slice(b"C\0ru\0"); // 12: I18NSTRING of 2
        store.extend_from_slice(&[0xde, 0xad]); // 17: BIN 2, CHAR/INT8 use it too
        store.push(0); // 19: pad
        store.extend_from_slice(&[0x12, 0x34, 0xff, 0xfe]); // 20: INT16 x2
        store.extend_from_slice(&[0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff]); // 24: INT32 x2
        store.extend_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes()); // 32: INT64
        let b = blob(
            &[
                (1000, 6, 0, 1),
                (1001, 8, 6, 3),
                (1004, 9, 12, 2),
                (1012, 7, 17, 2),
                (1013, 1, 17, 1),
                (1014, 2, 18, 1),
                (1015, 3, 20, 2),
                (1016, 4, 24, 2),
                (1017, 5, 32, 1),
                (1018, 0, 40, 0),
            ],
            &store,
        );
        let h = parse(&b).unwrap();
        assert_eq!(h.len(), 10);
        assert_eq!(h.record_len(), b.len());
        assert_eq!(h.string(Tag(1000)).unwrap(), Some(&b"hello"[..]));
        let arr: Vec<&[u8]> = h.string_array(Tag(1001)).unwrap().collect();
        assert_eq!(arr, [&b"a"[..], b"bc", b""]);
        assert_eq!(h.string(Tag(1001)).unwrap(), Some(&b"a"[..]));
        // C locale first.
        assert_eq!(h.string(Tag(1004)).unwrap(), Some(&b"C"[..]));
        assert_eq!(h.text(Tag(1004)).unwrap(), "C");
        assert_eq!(h.bin(Tag(1012)).unwrap(), Some(&[0xde, 0xad][..]));
        assert_eq!(h.u32(Tag(1013)).unwrap(), Some(0xde));
        assert_eq!(h.u32(Tag(1014)).unwrap(), Some(0xad));
        assert_eq!(
            h.u32_array(Tag(1015)).unwrap().collect::<Vec<_>>(),
            [0x1234, 0xfffe]
        );
        assert_eq!(
            h.u32_array(Tag(1016)).unwrap().collect::<Vec<_>>(),
            [7, u32::MAX]
        );
        assert_eq!(h.u64(Tag(1017)).unwrap(), Some(0x0102_0304_0506_0708));
        assert_eq!(
            h.u64_array(Tag(1016)).unwrap().get(1),
            Some(u64::from(u32::MAX))
        );
        assert!(h.entry(Tag(1018)).unwrap().data().is_empty());
        // Absent: None / empty.
        assert_eq!(h.string(Tag(2000)).unwrap(), None);
        assert_eq!(h.string_array(Tag(2000)).unwrap().len(), 0);
        assert_eq!(h.u32(Tag(2000)).unwrap(), None);
        assert_eq!(h.text(Tag(2000)).unwrap(), "");
        assert_eq!(h.bin(Tag(2000)).unwrap(), None);
        // Entry offsets are those of the index entries.
        assert_eq!(h.entry(Tag(1000)).unwrap().offset(), 8);
        assert_eq!(h.entry(Tag(1001)).unwrap().offset(), 24);
    }

    #[test]
    fn type_mismatch_names_tag_and_types() {
        let b = blob(&[(1000, 6, 0, 1)], b"x\0");
        let h = parse(&b).unwrap();
        let e = h.u32(Tag::NAME).unwrap_err();
        assert!(matches!(
            e,
            Error::TypeMismatch {
                offset: 8,
                found: EntryType::String,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "corrupt header at offset 8: NAME(1000): expected CHAR, INT8, INT16 or INT32, found STRING"
        );
        assert!(h.bin(Tag::NAME).is_err());
        let b = blob(&[(1000, 5, 0, 1)], &[0; 8]);
        assert!(parse(&b).unwrap().u32(Tag::NAME).is_err());
        assert!(parse(&b).unwrap().string(Tag::NAME).is_err());
    }

    #[test]
    fn later_duplicate_wins_and_entries_are_sorted() {
        let b = blob(
            &[(1001, 6, 0, 1), (1000, 6, 2, 1), (1001, 6, 4, 1)],
            b"a\0b\0c\0",
        );
        let h = parse(&b).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h.string(Tag(1001)).unwrap(), Some(&b"c"[..]));
        let tags: Vec<u32> = h.entries().map(|e| e.tag().0).collect();
        assert_eq!(tags, [1000, 1001]);
    }

    #[test]
    fn text_keeps_utf8_and_maps_the_rest_as_latin1() {
        assert!(matches!(text(b"abc"), Cow::Borrowed("abc")));
        assert_eq!(text("Привет".as_bytes()), "Привет");
        assert_eq!(text(b"Skytt\xe4"), "Skyttä");
        assert_eq!(text(b"\xff\x80"), "\u{ff}\u{80}");
        // One bad byte makes the whole string latin-1.
        assert_eq!(text("é\u{0}".as_bytes()), "é\0");
        assert_eq!(text(b"\xc3\xa9\xff"), "\u{c3}\u{a9}\u{ff}");
    }

    #[test]
    fn bad_magic() {
        let mut b = record(&[], &[]);
        b[2] = 0;
        let e = Header::from_record(&b).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BadHeaderMagic {
                    offset: 0,
                    found: [0x8e, 0xad, 0, 1]
                }
            ),
            "{e:?}"
        );
        let e = Header::from_record(&b[..5]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Truncated {
                    offset: 0,
                    what: "header magic",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn truncated_intro_and_index() {
        let e = parse(&[0, 0, 0]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Truncated {
                    offset: 0,
                    what: "header intro",
                    needed: 8,
                    available: 3
                }
            ),
            "{e:?}"
        );
        let b = blob(&[(1000, 6, 0, 1), (1001, 6, 0, 1)], b"x\0");
        let e = parse(&b[..8 + 16 + 4]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Truncated {
                    offset: 8,
                    what: "header index and store",
                    needed: 34,
                    available: 20
                }
            ),
            "{e:?}"
        );
        // Store cut by one byte.
        let e = parse(&b[..b.len() - 1]).unwrap_err();
        assert!(matches!(e, Error::Truncated { .. }), "{e:?}");
    }

    #[test]
    fn limits_on_counts_are_checked_before_reading() {
        let mut b = vec![0, 1, 0, 0, 0, 0, 0, 0]; // il = 65536
        let e = parse(&b).unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooManyEntries {
                    offset: 0,
                    count: 65536
                }
            ),
            "{e:?}"
        );
        b = vec![0, 0, 0, 0, 0x10, 0, 0, 0]; // dl = 256 MiB
        let e = parse(&b).unwrap_err();
        assert!(
            matches!(
                e,
                Error::StoreTooLarge {
                    offset: 4,
                    size: 0x1000_0000
                }
            ),
            "{e:?}"
        );
        // Negative il reads as a huge u32.
        let e = parse(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).unwrap_err();
        assert!(matches!(e, Error::TooManyEntries { .. }), "{e:?}");
        // Maximum il with no bytes behind it: a truncation, no allocation.
        let e = parse(&[0, 0, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff]).unwrap_err();
        assert!(matches!(e, Error::Truncated { .. }), "{e:?}");
    }

    #[test]
    fn unknown_entry_type() {
        let b = blob(&[(1000, 6, 0, 1), (1022, 10, 0, 1)], b"x\0");
        let e = parse(&b).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BadEntryType {
                    offset: 24,
                    ty: 10,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("ARCH(1022)"), "{e}");
        assert_eq!(e.tag(), Some(AnyTag::Header(Tag::ARCH)));
    }

    use crate::tags::AnyTag;

    #[test]
    fn offsets_outside_the_store() {
        let e = parse(&blob(&[(1000, 6, -1, 1)], b"x\0")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::OffsetOutOfStore {
                    offset: 8,
                    data_offset: -1,
                    store_len: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse(&blob(&[(1000, 7, 3, 0)], b"x\0")).unwrap_err();
        assert!(
            matches!(e, Error::OffsetOutOfStore { data_offset: 3, .. }),
            "{e:?}"
        );
        let e = parse(&blob(&[(1000, 4, i32::MIN, 1)], b"x\0")).unwrap_err();
        assert!(matches!(e, Error::OffsetOutOfStore { .. }), "{e:?}");
        // Offset == store length is fine for empty data.
        assert!(parse(&blob(&[(1000, 7, 2, 0)], b"x\0")).is_ok());
    }

    #[test]
    fn count_overflow() {
        let e = parse(&blob(&[(1028, 4, 0, 3)], &[0; 8])).unwrap_err();
        assert!(
            matches!(
                e,
                Error::CountOverflow {
                    offset: 8,
                    ty: EntryType::Int32,
                    count: 3,
                    available: 8,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse(&blob(&[(1028, 5, 4, u32::MAX)], &[0; 8])).unwrap_err();
        assert!(
            matches!(e, Error::CountOverflow { available: 4, .. }),
            "{e:?}"
        );
        let e = parse(&blob(&[(1012, 7, 1, 8)], &[0; 8])).unwrap_err();
        assert!(matches!(e, Error::CountOverflow { .. }), "{e:?}");
    }

    #[test]
    fn strings_without_nul() {
        let e = parse(&blob(&[(1000, 6, 0, 1)], b"abc")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::UnterminatedString {
                    offset: 8,
                    index: 0,
                    count: 1,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse(&blob(&[(1117, 8, 0, 3)], b"a\0b\0c")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::UnterminatedString {
                    index: 2,
                    count: 3,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse(&blob(&[(1117, 8, 0, u32::MAX)], b"a\0b\0")).unwrap_err();
        assert!(
            matches!(e, Error::UnterminatedString { index: 2, .. }),
            "{e:?}"
        );
        // Starting right at the end of the store.
        let e = parse(&blob(&[(1000, 6, 2, 1)], b"a\0")).unwrap_err();
        assert!(
            matches!(e, Error::UnterminatedString { index: 0, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn string_count_must_be_one() {
        let e = parse(&blob(&[(1000, 6, 0, 2)], b"a\0b\0")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BadCount {
                    count: 2,
                    ty: EntryType::String,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse(&blob(&[(1000, 6, 0, 0)], b"a\0")).unwrap_err();
        assert!(matches!(e, Error::BadCount { count: 0, .. }), "{e:?}");
    }

    #[test]
    fn many_entries_over_the_same_strings_stay_fast() {
        // 65535 entries, each claiming all 20000 strings of the store: the NUL index keeps
        // this linear instead of 65535 × 40000 bytes of scanning.
        let store: Vec<u8> = b"a\0".repeat(20_000);
        let entries: Vec<(u32, u32, i32, u32)> = (0..MAX_ENTRIES)
            .map(|i| (5000 + i, 8, (i % 7) as i32 * 2, 20_000 - 7))
            .collect();
        let b = blob(&entries, &store);
        let t = std::time::Instant::now();
        let h = parse(&b).unwrap();
        assert_eq!(h.len(), MAX_ENTRIES as usize);
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
        // Same answer as the direct scan: one string too many is an error.
        let bad = blob(&[(1, 8, 0, 20_000), (2, 8, 2, 20_000)], &store);
        let e = parse(&bad).unwrap_err();
        assert!(
            matches!(e, Error::UnterminatedString { index: 19_999, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn skip_nuls_agrees_with_a_naive_scan() {
        let mut data = Vec::new();
        for i in 0..300u32 {
            data.extend(std::iter::repeat_n(b'x', (i * 7 % 13) as usize));
            data.push(0);
        }
        data.extend_from_slice(b"tail");
        for start in [0usize, 1, 5, 63, 64, 65, 500, data.len() - 3] {
            let d = &data[start..];
            let nuls: Vec<usize> = d
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == 0)
                .map(|(i, _)| i)
                .collect();
            for n in 1..=(nuls.len() as u32 + 2) {
                let want = match nuls.get(n as usize - 1) {
                    Some(&p) => Ok(p + 1),
                    None => Err(nuls.len() as u32),
                };
                assert_eq!(skip_nuls(d, n), want, "start {start} n {n}");
            }
        }
    }

    #[test]
    fn string_scanner_fallback_agrees_with_direct_scan() {
        let store = b"ab\0\0c\0defg\0h\0";
        for start in 0..store.len() {
            for count in 0..7u32 {
                let direct = StringScanner::new(store).end_of(start, count);
                let mut s = StringScanner::new(store);
                s.nuls = Some(memchr::memchr_iter(0, store).map(|p| p as u32).collect());
                assert_eq!(
                    s.end_of(start, count),
                    direct,
                    "start {start} count {count}"
                );
            }
        }
    }

    #[test]
    fn region_checks() {
        // A good immutable region: entry 63 pointing at its trailer, covering 2 entries.
        let mut store = b"x\0".to_vec();
        store.extend(trailer(63, 2));
        let good = blob(&[(63, 7, 2, 16), (1000, 6, 0, 1)], &store);
        let h = parse(&good).unwrap();
        assert_eq!(h.text(Tag::NAME).unwrap(), "x");
        assert!(h.contains(Tag::HEADERIMMUTABLE));

        let e = parse(&blob(&[(63, 4, 2, 4), (1000, 6, 0, 1)], &store)).unwrap_err();
        assert!(matches!(e, Error::BadRegion { offset: 8, .. }), "{e:?}");
        // Trailer outside the store (the generic count check fires first).
        let e = parse(&blob(&[(63, 7, 8, 16), (1000, 6, 0, 1)], &store)).unwrap_err();
        assert!(matches!(e, Error::CountOverflow { .. }), "{e:?}");
        // Wrong trailer tag.
        let mut bad = b"x\0".to_vec();
        bad.extend(trailer(62, 2));
        let e = parse(&blob(&[(63, 7, 2, 16), (1000, 6, 0, 1)], &bad)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BadRegion {
                    reason: "trailer is not (region tag, BIN, -, 16)",
                    ..
                }
            ),
            "{e:?}"
        );
        // Region larger than the index.
        let mut bad = b"x\0".to_vec();
        bad.extend(trailer(63, 3));
        let e = parse(&blob(&[(63, 7, 2, 16), (1000, 6, 0, 1)], &bad)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BadRegion {
                    reason: "trailer gives an invalid region size",
                    ..
                }
            ),
            "{e:?}"
        );
        // Positive trailer offset.
        let mut bad = b"x\0".to_vec();
        bad.extend(trailer(63, -1));
        let e = parse(&blob(&[(63, 7, 2, 16), (1000, 6, 0, 1)], &bad)).unwrap_err();
        assert!(matches!(e, Error::BadRegion { .. }), "{e:?}");
        // Offset not a multiple of 16.
        let mut bad = b"x\0".to_vec();
        let mut t = trailer(63, 1);
        t[11] = 0xf1;
        bad.extend(t);
        let e = parse(&blob(&[(63, 7, 2, 16), (1000, 6, 0, 1)], &bad)).unwrap_err();
        assert!(matches!(e, Error::BadRegion { .. }), "{e:?}");
        // No region tag first: a legacy header, accepted.
        assert!(parse(&blob(&[(1000, 6, 0, 1)], b"x\0")).is_ok());
        // A region tag that is not first is just an entry.
        assert!(parse(&blob(&[(1000, 6, 0, 1), (1001, 7, 2, 16)], &store)).is_ok());
    }

    #[test]
    fn signature_region_accepts_historical_headerimage_trailer() {
        let mut store = vec![0u8; 16];
        store.extend(trailer(61, 2));
        let b = record(&[(62, 7, 16, 16), (1004, 7, 0, 16)], &store);
        let h = Header::<SigTag>::signature_from_record(&b).unwrap();
        assert_eq!(h.bin(SigTag::MD5).unwrap().map(<[u8]>::len), Some(16));
        // The main header does not get that leniency.
        let b = blob(&[(63, 7, 16, 16), (1004, 7, 0, 16)], &{
            let mut s = vec![0u8; 16];
            s.extend(trailer(61, 2));
            s
        });
        assert!(matches!(parse(&b), Err(Error::BadRegion { .. })));
    }

    #[test]
    fn file_names_from_dirs_and_bases() {
        let mut store = Vec::new();
        store.extend_from_slice(b"/usr/bin/\0/etc/\0"); // 0: DIRNAMES
        store.extend_from_slice(b"ls\0passwd\0cat\0"); // 16: BASENAMES
        store.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]); // 30: DIRINDEXES
        let b = blob(
            &[(1118, 8, 0, 2), (1117, 8, 16, 3), (1116, 4, 30, 3)],
            &store,
        );
        let h = parse(&b).unwrap();
        let names: Vec<Vec<u8>> = h
            .file_names()
            .unwrap()
            .into_iter()
            .map(Cow::into_owned)
            .collect();
        assert_eq!(
            names,
            [
                b"/usr/bin/ls".to_vec(),
                b"/etc/passwd".to_vec(),
                b"/usr/bin/cat".to_vec()
            ]
        );
        assert_eq!(h.file_count().unwrap(), 3);
        // No FILECLASS and no FILEMODES: one empty class per file.
        assert_eq!(h.file_classes().unwrap(), [&b""[..], b"", b""]);

        // Index past DIRNAMES.
        let mut s2 = store.clone();
        s2[41] = 2;
        let e = parse(&blob(
            &[(1118, 8, 0, 2), (1117, 8, 16, 3), (1116, 4, 30, 3)],
            &s2,
        ))
        .unwrap()
        .file_names()
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::IndexOutOfRange {
                    offset: 40,
                    index: 2,
                    len: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        // DIRINDEXES shorter than BASENAMES.
        let e = parse(&blob(
            &[(1118, 8, 0, 2), (1117, 8, 16, 3), (1116, 4, 30, 2)],
            &store,
        ))
        .unwrap()
        .file_names()
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::LengthMismatch {
                    len: 2,
                    other_len: 3,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn old_file_names_and_classes() {
        let mut store = Vec::new();
        store.extend_from_slice(b"/a\0/b\0"); // 0: OLDFILENAMES
        store.extend_from_slice(b"\0directory\0"); // 6: CLASSDICT
        store.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 9]); // 17..: FILECLASS (unaligned on purpose)
        let b = blob(
            &[(1027, 8, 0, 2), (1142, 8, 6, 2), (1141, 4, 17, 2)],
            &store,
        );
        let h = parse(&b).unwrap();
        let names: Vec<Vec<u8>> = h
            .file_names()
            .unwrap()
            .into_iter()
            .map(Cow::into_owned)
            .collect();
        assert_eq!(names, [b"/a".to_vec(), b"/b".to_vec()]);
        // Index 9 is past the dictionary and there are no FILEMODES: "" like librpm.
        assert_eq!(h.file_classes().unwrap(), [&b"directory"[..], b""]);
        let e = parse(&blob(
            &[(1027, 8, 0, 2), (1142, 8, 6, 2), (1141, 4, 17, 1)],
            &store,
        ))
        .unwrap()
        .file_classes()
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::LengthMismatch {
                    len: 1,
                    other_len: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        // No files at all.
        let empty = blob(&[], &[]);
        let h = parse(&empty).unwrap();
        assert!(h.file_names().unwrap().is_empty());
        assert!(h.file_classes().unwrap().is_empty());
        assert!(h.is_empty());
    }

    /// librpm's rule for files without a stored class: the file type from FILEMODES.
    #[test]
    fn classes_from_modes() {
        let mut store = Vec::new();
        // 0: OLDFILENAMES, 8 files.
        store.extend_from_slice(b"/d\0/l\0/f\0/s\0/p\0/c\0/b\0/x\0");
        let dict_at = store.len();
        store.extend_from_slice(b"\0ELF\0"); // CLASSDICT: "", "ELF"
        let links_at = store.len();
        store.extend_from_slice(b"\0target\0\0\0\0\0\0\0"); // FILELINKTOS
        while store.len() % 4 != 0 {
            store.push(0);
        }
        let class_at = store.len();
        for i in [0u32, 0, 1, 0, 0, 7, 0, 0] {
            store.extend_from_slice(&i.to_be_bytes());
        }
        let modes_at = store.len();
        for m in [
            0o040755u16,
            0o120777,
            0o100644,
            0o140755,
            0o010644,
            0o020600,
            0o060660,
            0o100755,
        ] {
            store.extend_from_slice(&m.to_be_bytes());
        }
        let entries = [
            (1027, 8, 0, 8),
            (1142, 8, dict_at as i32, 2),
            (1036, 8, links_at as i32, 8),
            (1141, 4, class_at as i32, 8),
            (1030, 3, modes_at as i32, 8),
        ];
        let b = blob(&entries, &store);
        let h = parse(&b).unwrap();
        let got: Vec<Vec<u8>> = h
            .file_classes()
            .unwrap()
            .into_iter()
            .map(Cow::into_owned)
            .collect();
        let want: [&[u8]; 8] = [
            b"directory",
            b"symbolic link to `target'",
            b"ELF",
            b"socket",
            b"fifo (named pipe)",
            b"character special",
            b"block special",
            b"",
        ];
        assert_eq!(got, want);
        // FILEMODES with the wrong length is an error naming FILEMODES.
        let mut short = entries;
        short[4].3 = 7;
        let e = parse(&blob(&short, &store))
            .unwrap()
            .file_classes()
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::LengthMismatch {
                    len: 7,
                    other_len: 8,
                    ..
                }
            ),
            "{e:?}"
        );
        // No FILELINKTOS: librpm's concatenation stops at the missing target.
        let no_links: Vec<_> = entries.iter().copied().filter(|e| e.0 != 1036).collect();
        let b = blob(&no_links, &store);
        let h = parse(&b).unwrap();
        assert_eq!(&*h.file_classes().unwrap()[1], b"symbolic link to `");
    }

    #[test]
    fn epoch_and_source() {
        let b = blob(
            &[(1003, 4, 0, 1), (1106, 4, 4, 1)],
            &[0, 0, 0, 2, 0, 0, 0, 1],
        );
        let h = parse(&b).unwrap();
        assert_eq!(h.epoch().unwrap(), Some(2));
        assert!(h.is_source().unwrap());
        let empty = blob(&[], &[]);
        let h = parse(&empty).unwrap();
        assert_eq!(h.epoch().unwrap(), None);
        assert!(!h.is_source().unwrap());
    }
}
