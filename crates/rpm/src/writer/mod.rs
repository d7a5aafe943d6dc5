//! Writing RPM v4 packages and APT header-list records, for test fixtures and generators.
//!
//! # Brief overview
//! * [`HeaderWriter`] is the one place where a header is serialised: entries sorted by tag,
//!   data aligned per type, an optional region tag (HEADERIMMUTABLE 63 or HEADERSIGNATURES
//!   62) whose 16-byte trailer ends the region's data, and optional entries outside the
//!   region (as librpm leaves tags added after a header was read).
//! * [`PackageBuilder`] assembles a whole `.rpm`: 96-byte lead, signature header (SHA1 of
//!   the main header, MD5 of header+payload, sizes), padding to 8, main header, and a cpio
//!   "newc" payload compressed as chosen. Everything is deterministic: no clock, no host.
//! * [`apt_header_record`] makes the records ALT's `pkglist.*` / `srclist.*` files are
//!   made of: a main header plus the APT index tags (1000000 file name, …).
//!
//! ```
//! use altrepodb_rpm::writer::{Dependency, FileSpec, PackageBuilder};
//! let rpm = PackageBuilder::new("hello", "1.0", "alt1", "x86_64")
//!     .summary("Says hello")
//!     .file(FileSpec::file("/usr/bin/hello", b"#!/bin/sh\necho hello\n".to_vec()).mode(0o755))
//!     .requires(Dependency::any("/bin/sh"))
//!     .build()
//!     .unwrap();
//! assert_eq!(&rpm[..4], &[0xed, 0xab, 0xee, 0xdb]);
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::ops::Range;
use std::path::Path;

use md5::Digest as _;

use crate::cpio::{self, CpioEntry, CpioWriter};
use crate::payload::{self, Compression};
use crate::tags::{SigTag, Tag};

mod apt;
mod builder;
mod files;
mod spec;

pub use apt::{apt_header_record, AptIndex, AptLayout};
pub use builder::{BuiltPackage, PackageBuilder};
use files::FileTable;
pub use spec::{
    ArchiveSizeIn, ChangelogEntry, Dependency, FileDigest, FileKind, FileSpec, RpmlibStyle,
};

// Raw numbers of the tags used here, taken from the tag table (`crate::tags`).
const HEADERSIGNATURES: u32 = Tag::HEADERSIGNATURES.0;
const HEADERIMMUTABLE: u32 = Tag::HEADERIMMUTABLE.0;
const HEADERI18NTABLE: u32 = Tag::HEADERI18NTABLE.0;
const SIGTAG_SHA1: u32 = SigTag::SHA1.0;
const SIGTAG_SHA256: u32 = SigTag::SHA256.0;
const SIGTAG_SIZE: u32 = SigTag::SIZE.0;
const SIGTAG_MD5: u32 = SigTag::MD5.0;
const SIGTAG_PAYLOADSIZE: u32 = SigTag::PAYLOADSIZE.0;
const NAME: u32 = Tag::NAME.0;
const VERSION: u32 = Tag::VERSION.0;
const RELEASE: u32 = Tag::RELEASE.0;
const EPOCH: u32 = Tag::EPOCH.0;
const SUMMARY: u32 = Tag::SUMMARY.0;
const DESCRIPTION: u32 = Tag::DESCRIPTION.0;
const BUILDTIME: u32 = Tag::BUILDTIME.0;
const BUILDHOST: u32 = Tag::BUILDHOST.0;
const SIZE: u32 = Tag::SIZE.0;
const DISTRIBUTION: u32 = Tag::DISTRIBUTION.0;
const VENDOR: u32 = Tag::VENDOR.0;
const LICENSE: u32 = Tag::LICENSE.0;
const PACKAGER: u32 = Tag::PACKAGER.0;
const GROUP: u32 = Tag::GROUP.0;
const SOURCE: u32 = Tag::SOURCE.0;
const URL: u32 = Tag::URL.0;
const OS: u32 = Tag::OS.0;
const ARCH: u32 = Tag::ARCH.0;
const FILESIZES: u32 = Tag::FILESIZES.0;
const FILEMODES: u32 = Tag::FILEMODES.0;
const FILERDEVS: u32 = Tag::FILERDEVS.0;
const FILEMTIMES: u32 = Tag::FILEMTIMES.0;
const FILEMD5S: u32 = Tag::FILEMD5S.0;
const FILELINKTOS: u32 = Tag::FILELINKTOS.0;
const FILEFLAGS: u32 = Tag::FILEFLAGS.0;
const FILEUSERNAME: u32 = Tag::FILEUSERNAME.0;
const FILEGROUPNAME: u32 = Tag::FILEGROUPNAME.0;
const SOURCERPM: u32 = Tag::SOURCERPM.0;
const FILEVERIFYFLAGS: u32 = Tag::FILEVERIFYFLAGS.0;
const ARCHIVESIZE: u32 = Tag::ARCHIVESIZE.0;
const PROVIDENAME: u32 = Tag::PROVIDENAME.0;
const REQUIREFLAGS: u32 = Tag::REQUIREFLAGS.0;
const REQUIRENAME: u32 = Tag::REQUIRENAME.0;
const REQUIREVERSION: u32 = Tag::REQUIREVERSION.0;
const CONFLICTFLAGS: u32 = Tag::CONFLICTFLAGS.0;
const CONFLICTNAME: u32 = Tag::CONFLICTNAME.0;
const CONFLICTVERSION: u32 = Tag::CONFLICTVERSION.0;
const RPMVERSION: u32 = Tag::RPMVERSION.0;
const CHANGELOGTIME: u32 = Tag::CHANGELOGTIME.0;
const CHANGELOGNAME: u32 = Tag::CHANGELOGNAME.0;
const CHANGELOGTEXT: u32 = Tag::CHANGELOGTEXT.0;
const OBSOLETENAME: u32 = Tag::OBSOLETENAME.0;
const FILEDEVICES: u32 = Tag::FILEDEVICES.0;
const FILEINODES: u32 = Tag::FILEINODES.0;
const FILELANGS: u32 = Tag::FILELANGS.0;
const SOURCEPACKAGE: u32 = Tag::SOURCEPACKAGE.0;
const PROVIDEFLAGS: u32 = Tag::PROVIDEFLAGS.0;
const PROVIDEVERSION: u32 = Tag::PROVIDEVERSION.0;
const OBSOLETEFLAGS: u32 = Tag::OBSOLETEFLAGS.0;
const OBSOLETEVERSION: u32 = Tag::OBSOLETEVERSION.0;
const DIRINDEXES: u32 = Tag::DIRINDEXES.0;
const BASENAMES: u32 = Tag::BASENAMES.0;
const DIRNAMES: u32 = Tag::DIRNAMES.0;
const PAYLOADFORMAT: u32 = Tag::PAYLOADFORMAT.0;
const PAYLOADCOMPRESSOR: u32 = Tag::PAYLOADCOMPRESSOR.0;
const PAYLOADFLAGS: u32 = Tag::PAYLOADFLAGS.0;
const FILECLASS: u32 = Tag::FILECLASS.0;
const CLASSDICT: u32 = Tag::CLASSDICT.0;
const DISTTAG: u32 = Tag::DISTTAG.0;
const FILEDIGESTALGO: u32 = Tag::FILEDIGESTALGO.0;
const APT_FILENAME: u32 = Tag::APTINDEXLEGACYFILENAME.0;
const APT_FILESIZE: u32 = Tag::APTINDEXLEGACYFILESIZE.0;
const APT_MD5: u32 = Tag::APTINDEXLEGACYMD5.0;
const APT_SHA1: u32 = Tag::APTINDEXLEGACYSHA1.0;
const APT_SHA256: u32 = Tag::APTINDEXLEGACYSHA256.0;
const APT_SHA512: u32 = Tag::APTINDEXLEGACYSHA512.0;
const APT_BLAKE2B: u32 = Tag::APTINDEXLEGACYBLAKE2B.0;
const APT_DIRECTORY: u32 = Tag::APTINDEXLEGACYDIRECTORY.0;
const APT_BINARY: u32 = Tag::APTINDEXLEGACYBINARY.0;

/// The 8 bytes that precede a header record in `.rpm` files and APT lists.
pub const HEADER_RECORD_MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
/// The 4-byte lead magic.
pub const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
/// librpm's limit on the number of header entries.
const MAX_ENTRIES: usize = 0xffff;
/// librpm's limit on the header data store (256 MiB).
const MAX_STORE: usize = 0x0fff_ffff;

/// What went wrong while writing a header or a package.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A STRING / STRING_ARRAY / I18NSTRING value contains a NUL byte.
    #[error("tag {tag}: string contains a NUL byte")]
    NulInString {
        /// The tag.
        tag: u32,
    },
    /// An array value has no elements (librpm rejects count 0).
    #[error("tag {tag}: empty value")]
    EmptyValue {
        /// The tag.
        tag: u32,
    },
    /// The tag number cannot be used as an ordinary entry (below 100, or the region tag).
    #[error("tag {tag}: reserved tag number")]
    ReservedTag {
        /// The tag.
        tag: u32,
    },
    /// The header is over librpm's limits.
    #[error("header too large: {entries} entries, {store} bytes of data")]
    HeaderTooLarge {
        /// Entries.
        entries: usize,
        /// Data store bytes.
        store: usize,
    },
    /// A file path is unusable.
    #[error("file {path:?}: {reason}")]
    BadPath {
        /// The path.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// Two files have the same path.
    #[error("file {0:?} appears twice")]
    DuplicatePath(String),
    /// A hard link points at nothing, or at something that isn't a regular file.
    #[error("hard link {path:?}: target {target:?} is not a regular file in this package")]
    HardLinkTarget {
        /// The link.
        path: String,
        /// Its target.
        target: String,
    },
    /// A size does not fit the 32-bit v4 fields.
    #[error("{what} of {size} bytes does not fit a 32-bit field")]
    TooLarge {
        /// What.
        what: &'static str,
        /// The size.
        size: u64,
    },
    /// Compression or file output failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

/// A tag number argument: a [`Tag`], a [`SigTag`] or a plain integer (literals work as is).
pub trait TagNumber {
    /// The raw tag number.
    fn tag_number(self) -> u32;
}

impl TagNumber for u32 {
    fn tag_number(self) -> u32 {
        self
    }
}

/// For unsuffixed literals, which default to `i32` (a negative number wraps around; no tag
/// is negative).
impl TagNumber for i32 {
    fn tag_number(self) -> u32 {
        self as u32
    }
}

impl TagNumber for Tag {
    fn tag_number(self) -> u32 {
        self.0
    }
}

impl TagNumber for SigTag {
    fn tag_number(self) -> u32 {
        self.0
    }
}

/// The value of one header entry. Strings are raw bytes (no NUL inside); the NUL
/// terminators are added on output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagValue {
    /// Type 1, CHAR.
    Char(Vec<u8>),
    /// Type 2, INT8.
    Int8(Vec<u8>),
    /// Type 3, INT16.
    Int16(Vec<u16>),
    /// Type 4, INT32.
    Int32(Vec<u32>),
    /// Type 5, INT64.
    Int64(Vec<u64>),
    /// Type 6, STRING (count 1).
    String(Vec<u8>),
    /// Type 7, BIN.
    Bin(Vec<u8>),
    /// Type 8, STRING_ARRAY.
    StringArray(Vec<Vec<u8>>),
    /// Type 9, I18NSTRING: one string per HEADERI18NTABLE locale (usually just `C`).
    I18nString(Vec<Vec<u8>>),
}

impl TagValue {
    /// A STRING value.
    pub fn string(s: impl Into<Vec<u8>>) -> TagValue {
        TagValue::String(s.into())
    }

    /// A STRING_ARRAY value.
    pub fn strings<I, S>(items: I) -> TagValue
    where
        I: IntoIterator<Item = S>,
        S: Into<Vec<u8>>,
    {
        TagValue::StringArray(items.into_iter().map(Into::into).collect())
    }

    /// An I18NSTRING value with only the C locale.
    pub fn i18n(s: impl Into<Vec<u8>>) -> TagValue {
        TagValue::I18nString(vec![s.into()])
    }

    /// A single INT32.
    pub fn int32(v: u32) -> TagValue {
        TagValue::Int32(vec![v])
    }

    /// The rpm type number (1…9).
    pub fn type_code(&self) -> u32 {
        match self {
            TagValue::Char(_) => 1,
            TagValue::Int8(_) => 2,
            TagValue::Int16(_) => 3,
            TagValue::Int32(_) => 4,
            TagValue::Int64(_) => 5,
            TagValue::String(_) => 6,
            TagValue::Bin(_) => 7,
            TagValue::StringArray(_) => 8,
            TagValue::I18nString(_) => 9,
        }
    }

    /// The entry count written to the index.
    pub fn count(&self) -> usize {
        match self {
            TagValue::Char(v) | TagValue::Int8(v) | TagValue::Bin(v) => v.len(),
            TagValue::Int16(v) => v.len(),
            TagValue::Int32(v) => v.len(),
            TagValue::Int64(v) => v.len(),
            TagValue::String(_) => 1,
            TagValue::StringArray(v) | TagValue::I18nString(v) => v.len(),
        }
    }

    /// Alignment of the data in the store (librpm's `typeAlign`).
    pub fn alignment(&self) -> usize {
        match self {
            TagValue::Int16(_) => 2,
            TagValue::Int32(_) => 4,
            TagValue::Int64(_) => 8,
            _ => 1,
        }
    }

    fn check(&self, tag: u32) -> Result<(), WriteError> {
        if self.count() == 0 {
            return Err(WriteError::EmptyValue { tag });
        }
        let nul = |s: &[u8]| s.contains(&0);
        let bad = match self {
            TagValue::String(s) => nul(s),
            TagValue::StringArray(v) | TagValue::I18nString(v) => v.iter().any(|s| nul(s)),
            _ => false,
        };
        if bad {
            return Err(WriteError::NulInString { tag });
        }
        Ok(())
    }

    /// The data bytes as stored (big-endian numbers, strings NUL-terminated), without
    /// alignment padding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            TagValue::Char(v) | TagValue::Int8(v) | TagValue::Bin(v) => out.extend_from_slice(v),
            TagValue::Int16(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
            TagValue::Int32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
            TagValue::Int64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
            TagValue::String(s) => {
                out.extend_from_slice(s);
                out.push(0);
            }
            TagValue::StringArray(v) | TagValue::I18nString(v) => {
                for s in v {
                    out.extend_from_slice(s);
                    out.push(0);
                }
            }
        }
    }
}

impl From<&str> for TagValue {
    fn from(s: &str) -> Self {
        TagValue::String(s.as_bytes().to_vec())
    }
}
impl From<String> for TagValue {
    fn from(s: String) -> Self {
        TagValue::String(s.into_bytes())
    }
}
impl From<u32> for TagValue {
    fn from(v: u32) -> Self {
        TagValue::Int32(vec![v])
    }
}
impl From<Vec<u32>> for TagValue {
    fn from(v: Vec<u32>) -> Self {
        TagValue::Int32(v)
    }
}
impl From<u16> for TagValue {
    fn from(v: u16) -> Self {
        TagValue::Int16(vec![v])
    }
}
impl From<Vec<u16>> for TagValue {
    fn from(v: Vec<u16>) -> Self {
        TagValue::Int16(v)
    }
}
impl From<u64> for TagValue {
    fn from(v: u64) -> Self {
        TagValue::Int64(vec![v])
    }
}
impl From<Vec<&str>> for TagValue {
    fn from(v: Vec<&str>) -> Self {
        TagValue::strings(v)
    }
}
impl From<Vec<String>> for TagValue {
    fn from(v: Vec<String>) -> Self {
        TagValue::strings(v)
    }
}

/// Serialises one header. Entries are kept sorted by tag; see the module docs for layout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderWriter {
    region: Option<u32>,
    entries: BTreeMap<u32, TagValue>,
    outside: BTreeMap<u32, TagValue>,
}

impl HeaderWriter {
    /// A header without a region tag (as in headers built from scratch by apt's genpkglist).
    pub fn new() -> Self {
        HeaderWriter::default()
    }

    /// A header whose entries all sit in a region opened by `region_tag` (62 or 63).
    pub fn with_region(region_tag: u32) -> Self {
        HeaderWriter {
            region: Some(region_tag),
            ..HeaderWriter::default()
        }
    }

    /// A main header: region HEADERIMMUTABLE (63).
    pub fn main() -> Self {
        Self::with_region(HEADERIMMUTABLE)
    }

    /// A signature header: region HEADERSIGNATURES (62).
    pub fn signature() -> Self {
        Self::with_region(HEADERSIGNATURES)
    }

    /// The region tag, if any.
    pub fn region(&self) -> Option<u32> {
        self.region
    }

    /// Sets (or replaces) an entry inside the region (or in the header, if it has none).
    pub fn set(&mut self, tag: impl TagNumber, value: impl Into<TagValue>) -> &mut Self {
        let tag = tag.tag_number();
        self.outside.remove(&tag);
        self.entries.insert(tag, value.into());
        self
    }

    /// Sets an entry outside the region: it is indexed after the region's entries and its
    /// data follows the region trailer, as when librpm adds a tag to a header it has read.
    pub fn set_outside_region(
        &mut self,
        tag: impl TagNumber,
        value: impl Into<TagValue>,
    ) -> &mut Self {
        let tag = tag.tag_number();
        self.entries.remove(&tag);
        self.outside.insert(tag, value.into());
        self
    }

    /// The value of `tag`, wherever it is.
    pub fn get(&self, tag: impl TagNumber) -> Option<&TagValue> {
        let tag = tag.tag_number();
        self.entries.get(&tag).or_else(|| self.outside.get(&tag))
    }

    /// Removes `tag`, returning its value.
    pub fn remove(&mut self, tag: impl TagNumber) -> Option<TagValue> {
        let tag = tag.tag_number();
        self.entries
            .remove(&tag)
            .or_else(|| self.outside.remove(&tag))
    }

    /// All entries (region first, then outside), each group sorted by tag.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &TagValue)> {
        self.entries
            .iter()
            .chain(self.outside.iter())
            .map(|(t, v)| (*t, v))
    }

    /// Number of entries, not counting the region tag.
    pub fn len(&self) -> usize {
        self.entries.len() + self.outside.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies every entry into a header without a region (the region is dropped).
    pub fn flattened(&self) -> HeaderWriter {
        let mut h = HeaderWriter::new();
        for (t, v) in self.iter() {
            h.entries.insert(t, v.clone());
        }
        h
    }

    /// The bare blob: `il`, `dl` (big-endian u32), index, data store (rpmdb form).
    pub fn to_blob(&self) -> Result<Vec<u8>, WriteError> {
        let mut out = Vec::new();
        self.write_blob(&mut out)?;
        Ok(out)
    }

    /// The record as stored in `.rpm` files and APT lists: 8-byte magic, then the blob.
    pub fn to_record(&self) -> Result<Vec<u8>, WriteError> {
        let mut out = HEADER_RECORD_MAGIC.to_vec();
        self.write_blob(&mut out)?;
        Ok(out)
    }

    fn write_blob(&self, out: &mut Vec<u8>) -> Result<(), WriteError> {
        for (&tag, v) in self.entries.iter().chain(self.outside.iter()) {
            if tag < HEADERI18NTABLE {
                return Err(WriteError::ReservedTag { tag });
            }
            v.check(tag)?;
        }
        let il = self.len() + usize::from(self.region.is_some());
        let mut index: Vec<[u32; 4]> = Vec::with_capacity(il);
        let mut store: Vec<u8> = Vec::new();
        if let Some(region) = self.region {
            // Placeholder; the region entry points at the trailer, written after the data.
            index.push([0; 4]);
            for (&tag, v) in &self.entries {
                put_entry(&mut index, &mut store, tag, v);
            }
            let trailer_offset = store.len();
            // Trailer: the region tag again, with offset = -(entries in region * 16).
            let ril = (self.entries.len() + 1) as i64;
            let neg = (-(ril * 16)) as i32 as u32;
            for x in [region, 7, neg, 16] {
                store.extend_from_slice(&x.to_be_bytes());
            }
            index[0] = [region, 7, trailer_offset as u32, 16];
        } else {
            for (&tag, v) in &self.entries {
                put_entry(&mut index, &mut store, tag, v);
            }
        }
        for (&tag, v) in &self.outside {
            put_entry(&mut index, &mut store, tag, v);
        }
        if index.len() > MAX_ENTRIES || store.len() > MAX_STORE {
            return Err(WriteError::HeaderTooLarge {
                entries: index.len(),
                store: store.len(),
            });
        }
        out.reserve(8 + index.len() * 16 + store.len());
        out.extend_from_slice(&(index.len() as u32).to_be_bytes());
        out.extend_from_slice(&(store.len() as u32).to_be_bytes());
        for e in &index {
            for x in e {
                out.extend_from_slice(&x.to_be_bytes());
            }
        }
        out.extend_from_slice(&store);
        Ok(())
    }
}

/// Appends one entry's data (aligned) to the store and its index entry.
fn put_entry(index: &mut Vec<[u32; 4]>, store: &mut Vec<u8>, tag: u32, v: &TagValue) {
    let align = v.alignment();
    let pad = (align - store.len() % align) % align;
    store.resize(store.len() + pad, 0);
    let offset = store.len();
    v.encode(store);
    index.push([tag, v.type_code(), offset as u32, v.count() as u32]);
}

/// Builds the 96-byte lead. `name` is truncated to 65 bytes (the field is NUL-terminated).
pub fn lead(name: &[u8], source: bool, archnum: u16, osnum: u16) -> [u8; 96] {
    let mut l = [0u8; 96];
    l[..4].copy_from_slice(&LEAD_MAGIC);
    l[4] = 3; // major
    l[5] = 0; // minor
    l[6..8].copy_from_slice(&u16::from(source).to_be_bytes());
    l[8..10].copy_from_slice(&archnum.to_be_bytes());
    let n = name.len().min(65);
    l[10..10 + n].copy_from_slice(&name[..n]);
    l[76..78].copy_from_slice(&osnum.to_be_bytes());
    l[78..80].copy_from_slice(&5u16.to_be_bytes()); // RPMSIGTYPE_HEADERSIG
    l
}

/// rpm's lead architecture number for an arch name (rpmrc `arch_canon`); 0 if unknown.
pub fn lead_archnum(arch: &str) -> u16 {
    match arch {
        "x86_64" | "amd64" | "i386" | "i486" | "i586" | "i686" | "athlon" | "pentium3"
        | "pentium4" | "noarch" => 1,
        "alpha" | "alphaev6" => 2,
        "sparc" | "sparcv9" | "sparc64" => 3,
        "mips" | "mipsel" => 4,
        "ppc" => 5,
        "armh" | "armv7hl" | "armv7l" | "armv6l" | "armv5tel" | "arm" => 12,
        "s390x" => 15,
        "ppc64" | "ppc64le" => 16,
        "aarch64" => 19,
        "riscv64" => 22,
        _ => 0,
    }
}

fn fit32(what: &'static str, size: u64) -> Result<u32, WriteError> {
    u32::try_from(size).map_err(|_| WriteError::TooLarge { what, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let mut h = HeaderWriter::main();
        h.set(1000, "a");
        h.set(1009, 7u32);
        h.set(1030, vec![1u16, 2]);
        let blob = h.to_blob().unwrap();
        let il = u32::from_be_bytes(blob[0..4].try_into().unwrap());
        let dl = u32::from_be_bytes(blob[4..8].try_into().unwrap()) as usize;
        assert_eq!(il, 4);
        // "a\0" at 0, pad to 4, u32 at 4, u16s at 8..12, trailer 12..28.
        assert_eq!(dl, 28);
        let store = &blob[8 + 16 * 4..];
        assert_eq!(&store[12..16], &63u32.to_be_bytes());
        assert_eq!(&store[20..24], &(-64i32).to_be_bytes());
        // The region entry comes first and points at the trailer.
        assert_eq!(&blob[8..12], &63u32.to_be_bytes());
        assert_eq!(&blob[16..20], &12u32.to_be_bytes());
    }

    #[test]
    fn rejects_bad_values() {
        let mut h = HeaderWriter::new();
        h.set(1000, TagValue::String(b"a\0b".to_vec()));
        assert!(matches!(
            h.to_blob(),
            Err(WriteError::NulInString { tag: 1000 })
        ));
        let mut h = HeaderWriter::new();
        h.set(1028, Vec::<u32>::new());
        assert!(matches!(h.to_blob(), Err(WriteError::EmptyValue { .. })));
        let mut h = HeaderWriter::new();
        h.set(63, 1u32);
        assert!(matches!(h.to_blob(), Err(WriteError::ReservedTag { .. })));
    }
}
