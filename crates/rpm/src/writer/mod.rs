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

/// One dependency (requires, provides, conflicts or obsoletes entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// Name, e.g. `libc.so.6()(64bit)` or `rpmlib(PayloadIsLzma)`.
    pub name: String,
    /// Sense flags (`RPMSENSE_*`, see the associated constants).
    pub flags: u32,
    /// Version (`[E:]V[-R]`, or an ALT set-version `set:…`); empty when unversioned.
    pub version: String,
}

impl Dependency {
    /// `RPMSENSE_LESS`.
    pub const LESS: u32 = 1 << 1;
    /// `RPMSENSE_GREATER`.
    pub const GREATER: u32 = 1 << 2;
    /// `RPMSENSE_EQUAL`.
    pub const EQUAL: u32 = 1 << 3;
    /// `RPMSENSE_PREREQ` (legacy).
    pub const PREREQ: u32 = 1 << 6;
    /// `RPMSENSE_INTERP`.
    pub const INTERP: u32 = 1 << 8;
    /// `RPMSENSE_SCRIPT_PRE`.
    pub const SCRIPT_PRE: u32 = 1 << 9;
    /// `RPMSENSE_SCRIPT_POST`.
    pub const SCRIPT_POST: u32 = 1 << 10;
    /// `RPMSENSE_SCRIPT_PREUN`.
    pub const SCRIPT_PREUN: u32 = 1 << 11;
    /// `RPMSENSE_SCRIPT_POSTUN`.
    pub const SCRIPT_POSTUN: u32 = 1 << 12;
    /// `RPMSENSE_FIND_REQUIRES` (set by automatic dependency generators).
    pub const FIND_REQUIRES: u32 = 1 << 14;
    /// `RPMSENSE_FIND_PROVIDES`.
    pub const FIND_PROVIDES: u32 = 1 << 15;
    /// `RPMSENSE_RPMLIB`.
    pub const RPMLIB: u32 = 1 << 24;

    /// A dependency with explicit flags and version.
    pub fn new(name: impl Into<String>, flags: u32, version: impl Into<String>) -> Self {
        Dependency {
            name: name.into(),
            flags,
            version: version.into(),
        }
    }
    /// Unversioned.
    pub fn any(name: impl Into<String>) -> Self {
        Self::new(name, 0, "")
    }
    /// `name = version`.
    pub fn eq(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(name, Self::EQUAL, version)
    }
    /// `name >= version`.
    pub fn ge(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(name, Self::GREATER | Self::EQUAL, version)
    }
    /// `name <= version`.
    pub fn le(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(name, Self::LESS | Self::EQUAL, version)
    }
    /// `name > version`.
    pub fn gt(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(name, Self::GREATER, version)
    }
    /// `name < version`.
    pub fn lt(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(name, Self::LESS, version)
    }
    /// `rpmlib(feature) <= version`, flagged as rpmbuild does.
    pub fn rpmlib(feature: &str, version: impl Into<String>) -> Self {
        Self::new(
            format!("rpmlib({feature})"),
            Self::RPMLIB | Self::LESS | Self::EQUAL,
            version,
        )
    }
    /// Adds flags (e.g. [`Dependency::FIND_REQUIRES`]).
    pub fn with_flags(mut self, flags: u32) -> Self {
        self.flags |= flags;
        self
    }
}

/// One changelog entry. Header order is kept (rpm puts the newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogEntry {
    /// Time (seconds since the epoch; rpm uses noon of the entry's day).
    pub time: u32,
    /// Author line, ALT style `Name <email> E:V-R` (the loader splits it at `>`).
    pub name: String,
    /// Text.
    pub text: String,
}

impl ChangelogEntry {
    /// A changelog entry.
    pub fn new(time: u32, name: impl Into<String>, text: impl Into<String>) -> Self {
        ChangelogEntry {
            time,
            name: name.into(),
            text: text.into(),
        }
    }
}

/// What kind of file a [`FileSpec`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// Regular file with this content.
    Regular(Vec<u8>),
    /// Directory.
    Dir,
    /// Symbolic link to this target.
    Symlink(String),
    /// Named pipe.
    Fifo,
    /// Character device.
    CharDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Block device.
    BlockDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Socket.
    Socket,
    /// Hard link to the regular file at this path in the same package. The link shares the
    /// target's inode, content, mode, owner and mtime.
    HardLink(String),
}

/// One file of a package. Paths starting with `/` are installed files (payload name
/// `./path`); paths without `/` are source-package files (spec, tarballs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Path.
    pub path: String,
    /// Kind and content.
    pub kind: FileKind,
    /// Permission bits (`0o7777` mask; the type bits come from `kind`).
    pub perms: u16,
    /// Owner name.
    pub user: String,
    /// Group name.
    pub group: String,
    /// Modification time; `None` = the package's build time.
    pub mtime: Option<u32>,
    /// `RPMFILE_*` flags (see the associated constants).
    pub flags: u32,
    /// FILEVERIFYFLAGS value (rpm's default is all bits set).
    pub verify_flags: u32,
    /// FILELANGS value.
    pub lang: String,
    /// FILECLASS string; `None` = a default by kind (`directory`, `symbolic link to …`, …).
    pub class: Option<String>,
    /// FILESIZES override.
    pub size: Option<u32>,
    /// File digest override (hex); `None` = computed from the content.
    pub digest: Option<String>,
    /// FILEINODES override; `None` = numbered from 1 in path order.
    pub inode: Option<u32>,
    /// FILEDEVICES value.
    pub device: u32,
}

impl FileSpec {
    /// `RPMFILE_CONFIG`.
    pub const CONFIG: u32 = 1 << 0;
    /// `RPMFILE_DOC`.
    pub const DOC: u32 = 1 << 1;
    /// `RPMFILE_MISSINGOK`.
    pub const MISSINGOK: u32 = 1 << 3;
    /// `RPMFILE_NOREPLACE`.
    pub const NOREPLACE: u32 = 1 << 4;
    /// `RPMFILE_SPECFILE`.
    pub const SPECFILE: u32 = 1 << 5;
    /// `RPMFILE_GHOST`: listed in the header, absent from the payload.
    pub const GHOST: u32 = 1 << 6;
    /// `RPMFILE_LICENSE`.
    pub const LICENSE: u32 = 1 << 7;
    /// `RPMFILE_README`.
    pub const README: u32 = 1 << 8;

    fn with_kind(path: impl Into<String>, kind: FileKind) -> Self {
        let perms = match kind {
            FileKind::Dir => 0o755,
            FileKind::Symlink(_) => 0o777,
            _ => 0o644,
        };
        FileSpec {
            path: path.into(),
            kind,
            perms,
            user: "root".into(),
            group: "root".into(),
            mtime: None,
            flags: 0,
            verify_flags: u32::MAX,
            lang: String::new(),
            class: None,
            size: None,
            digest: None,
            inode: None,
            device: 1,
        }
    }
    /// A regular file.
    pub fn file(path: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        Self::with_kind(path, FileKind::Regular(content.into()))
    }
    /// A directory.
    pub fn dir(path: impl Into<String>) -> Self {
        Self::with_kind(path, FileKind::Dir)
    }
    /// A symbolic link.
    pub fn symlink(path: impl Into<String>, target: impl Into<String>) -> Self {
        Self::with_kind(path, FileKind::Symlink(target.into()))
    }
    /// A named pipe.
    pub fn fifo(path: impl Into<String>) -> Self {
        Self::with_kind(path, FileKind::Fifo)
    }
    /// A character device.
    pub fn char_device(path: impl Into<String>, major: u32, minor: u32) -> Self {
        Self::with_kind(path, FileKind::CharDevice { major, minor })
    }
    /// A block device.
    pub fn block_device(path: impl Into<String>, major: u32, minor: u32) -> Self {
        Self::with_kind(path, FileKind::BlockDevice { major, minor })
    }
    /// A socket.
    pub fn socket(path: impl Into<String>) -> Self {
        Self::with_kind(path, FileKind::Socket)
    }
    /// A hard link to the regular file `target` (a path in the same package).
    pub fn hardlink(path: impl Into<String>, target: impl Into<String>) -> Self {
        Self::with_kind(path, FileKind::HardLink(target.into()))
    }
    /// Sets the permission bits.
    pub fn mode(mut self, perms: u16) -> Self {
        self.perms = perms & 0o7777;
        self
    }
    /// Sets owner and group.
    pub fn owner(mut self, user: impl Into<String>, group: impl Into<String>) -> Self {
        self.user = user.into();
        self.group = group.into();
        self
    }
    /// Sets the modification time.
    pub fn mtime(mut self, t: u32) -> Self {
        self.mtime = Some(t);
        self
    }
    /// Adds `RPMFILE_*` flags.
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags |= flags;
        self
    }
    /// Marks as `%config`.
    pub fn config(self) -> Self {
        self.flags(Self::CONFIG)
    }
    /// Marks as `%doc`.
    pub fn doc(self) -> Self {
        self.flags(Self::DOC)
    }
    /// Marks as `%ghost` (not in the payload).
    pub fn ghost(self) -> Self {
        self.flags(Self::GHOST)
    }
    /// Sets FILELANGS.
    pub fn lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = lang.into();
        self
    }
    /// Sets the FILECLASS string.
    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = Some(class.into());
        self
    }
    /// Sets FILEVERIFYFLAGS.
    pub fn verify_flags(mut self, v: u32) -> Self {
        self.verify_flags = v;
        self
    }
    /// Sets FILEINODES.
    pub fn inode(mut self, ino: u32) -> Self {
        self.inode = Some(ino);
        self
    }
    /// Sets FILEDEVICES.
    pub fn device(mut self, dev: u32) -> Self {
        self.device = dev;
        self
    }
    /// Overrides the digest written to FILEMD5S.
    pub fn digest(mut self, hex: impl Into<String>) -> Self {
        self.digest = Some(hex.into());
        self
    }
    /// Overrides FILESIZES.
    pub fn size(mut self, size: u32) -> Self {
        self.size = Some(size);
        self
    }

    fn type_bits(&self) -> u32 {
        match self.kind {
            FileKind::Regular(_) | FileKind::HardLink(_) => cpio::S_IFREG,
            FileKind::Dir => cpio::S_IFDIR,
            FileKind::Symlink(_) => cpio::S_IFLNK,
            FileKind::Fifo => cpio::S_IFIFO,
            FileKind::CharDevice { .. } => cpio::S_IFCHR,
            FileKind::BlockDevice { .. } => cpio::S_IFBLK,
            FileKind::Socket => cpio::S_IFSOCK,
        }
    }
}

/// How file digests are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileDigest {
    /// MD5 without FILEDIGESTALGO (ALT's rpm 4.0.4 style).
    LegacyMd5,
    /// MD5 with FILEDIGESTALGO = 1.
    Md5,
    /// SHA-256 with FILEDIGESTALGO = 8 (needs `rpmlib(FileDigests)`).
    Sha256,
}

/// Which `rpmlib(...)` requirements [`PackageBuilder`] adds. Either set is accepted by
/// Debian's rpm 4.18. ALT's `rpmlib(SetVersions)` is never added: upstream rpm does not
/// provide it, so such a package would not install there; add it with
/// [`PackageBuilder::requires`] when wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpmlibStyle {
    /// As ALT's rpm 4.0.4: only `rpmlib(PayloadIs…)` for non-gzip payloads, unversioned,
    /// flags RPMLIB|PREREQ.
    Alt,
    /// As rpmbuild 4.x: versioned requirements for every feature used (compressed file
    /// names, payload prefix, payload format, hard links, SHA-256 digests, versioned
    /// dependencies).
    Upstream,
}

/// Where the uncompressed payload size is recorded. librpm merges the signature's
/// PAYLOADSIZE into the main header as ARCHIVESIZE and rejects a package that has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveSizeIn {
    /// ARCHIVESIZE (1046) in the main header (ALT's rpm 4.0.4).
    MainHeader,
    /// PAYLOADSIZE (1007) in the signature header (rpm 4.x upstream).
    Signature,
    /// Nowhere.
    Omitted,
}

/// A built package: the bytes plus the parts generators and tests need.
#[derive(Debug, Clone)]
pub struct BuiltPackage {
    /// The whole `.rpm` file.
    pub bytes: Vec<u8>,
    /// The main header as written (use it for APT records or to compare with a reader).
    pub header: HeaderWriter,
    /// The signature header as written.
    pub signature: HeaderWriter,
    /// Byte range of the main header record (with its magic) in `bytes`.
    pub header_range: Range<usize>,
    /// Byte range of the (compressed) payload in `bytes`.
    pub payload_range: Range<usize>,
    /// Size of the uncompressed cpio archive.
    pub archive_size: u64,
    /// SHA1HEADER value (hex of SHA-1 over the main header record).
    pub sha1_header: String,
    /// SIGMD5 value (MD5 over main header record + payload).
    pub sigmd5: [u8; 16],
    /// Conventional file name, `N-V-R.A.rpm` (`N-V-R.src.rpm` for source packages).
    pub file_name: String,
}

impl BuiltPackage {
    /// The main header record bytes.
    pub fn header_bytes(&self) -> &[u8] {
        &self.bytes[self.header_range.clone()]
    }
    /// The compressed payload bytes.
    pub fn payload_bytes(&self) -> &[u8] {
        &self.bytes[self.payload_range.clone()]
    }
    /// Writes the package to `path`.
    pub fn write_to(&self, path: impl AsRef<Path>) -> io::Result<()> {
        std::fs::write(path, &self.bytes)
    }
    /// An APT list record for this package (see [`apt_header_record`]); the index tags are
    /// computed from the package bytes.
    pub fn apt_record(
        &self,
        directory: Option<&str>,
        layout: AptLayout,
    ) -> Result<Vec<u8>, WriteError> {
        apt_header_record(
            &self.header,
            &AptIndex::for_package(self, directory),
            layout,
        )
    }
}

/// Builder for a whole `.rpm` file. Defaults imitate ALT packages built by rpm 4.0.4:
/// lzma payload (level 2), MD5 file digests without FILEDIGESTALGO, ARCHIVESIZE in the
/// main header, only `rpmlib(PayloadIsLzma)` required, RPMVERSION `4.0.4`, self-provide
/// `N = [E:]V-R`; plus build time 1700000000, build host `localhost`, OS `linux`, group
/// `Other`, license `GPL`, summary = name, description = summary, every file owned by
/// root:root with mtime = build time, no FILECLASS/CLASSDICT.
#[derive(Debug, Clone)]
pub struct PackageBuilder {
    name: String,
    version: String,
    release: String,
    arch: String,
    epoch: Option<u32>,
    source: bool,
    summary: Option<String>,
    description: Option<String>,
    group: String,
    license: String,
    url: Option<String>,
    vendor: Option<String>,
    distribution: Option<String>,
    packager: Option<String>,
    disttag: Option<String>,
    buildhost: String,
    buildtime: u32,
    os: String,
    rpmversion: String,
    sourcerpm: Option<String>,
    files: Vec<FileSpec>,
    sources: Vec<String>,
    requires: Vec<Dependency>,
    provides: Vec<Dependency>,
    conflicts: Vec<Dependency>,
    obsoletes: Vec<Dependency>,
    changelog: Vec<ChangelogEntry>,
    extra: BTreeMap<u32, TagValue>,
    removed: BTreeSet<u32>,
    sig_extra: BTreeMap<u32, TagValue>,
    compression: Compression,
    level: Option<u32>,
    file_digest: FileDigest,
    auto_rpmlib: bool,
    rpmlib_style: RpmlibStyle,
    self_provide: bool,
    file_classes: bool,
    archive_size_in: ArchiveSizeIn,
    sha256_sig: bool,
    archnum: Option<u16>,
}

impl PackageBuilder {
    /// A binary package.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        release: impl Into<String>,
        arch: impl Into<String>,
    ) -> Self {
        PackageBuilder {
            name: name.into(),
            version: version.into(),
            release: release.into(),
            arch: arch.into(),
            epoch: None,
            source: false,
            summary: None,
            description: None,
            group: "Other".into(),
            license: "GPL".into(),
            url: None,
            vendor: None,
            distribution: None,
            packager: None,
            disttag: None,
            buildhost: "localhost".into(),
            buildtime: 1_700_000_000,
            os: "linux".into(),
            rpmversion: "4.0.4".into(),
            sourcerpm: None,
            files: Vec::new(),
            sources: Vec::new(),
            requires: Vec::new(),
            provides: Vec::new(),
            conflicts: Vec::new(),
            obsoletes: Vec::new(),
            changelog: Vec::new(),
            extra: BTreeMap::new(),
            removed: BTreeSet::new(),
            sig_extra: BTreeMap::new(),
            compression: Compression::Lzma,
            level: None,
            file_digest: FileDigest::LegacyMd5,
            auto_rpmlib: true,
            rpmlib_style: RpmlibStyle::Alt,
            self_provide: true,
            file_classes: false,
            archive_size_in: ArchiveSizeIn::MainHeader,
            sha256_sig: false,
            archnum: None,
        }
    }

    /// A source package (`.src.rpm`): lead type 1, SOURCEPACKAGE = 1, no SOURCERPM, no
    /// self-provide, payload names without `./`. `arch` is the build host's arch, as rpm
    /// records it.
    pub fn new_source(
        name: impl Into<String>,
        version: impl Into<String>,
        release: impl Into<String>,
        arch: impl Into<String>,
    ) -> Self {
        let mut b = Self::new(name, version, release, arch);
        b.source = true;
        b
    }

    /// Sets the epoch.
    pub fn epoch(mut self, epoch: u32) -> Self {
        self.epoch = Some(epoch);
        self
    }
    /// Sets SUMMARY (default: the name).
    pub fn summary(mut self, s: impl Into<String>) -> Self {
        self.summary = Some(s.into());
        self
    }
    /// Sets DESCRIPTION (default: the summary).
    pub fn description(mut self, s: impl Into<String>) -> Self {
        self.description = Some(s.into());
        self
    }
    /// Sets GROUP.
    pub fn group(mut self, s: impl Into<String>) -> Self {
        self.group = s.into();
        self
    }
    /// Sets LICENSE.
    pub fn license(mut self, s: impl Into<String>) -> Self {
        self.license = s.into();
        self
    }
    /// Sets URL.
    pub fn url(mut self, s: impl Into<String>) -> Self {
        self.url = Some(s.into());
        self
    }
    /// Sets VENDOR.
    pub fn vendor(mut self, s: impl Into<String>) -> Self {
        self.vendor = Some(s.into());
        self
    }
    /// Sets DISTRIBUTION.
    pub fn distribution(mut self, s: impl Into<String>) -> Self {
        self.distribution = Some(s.into());
        self
    }
    /// Sets PACKAGER.
    pub fn packager(mut self, s: impl Into<String>) -> Self {
        self.packager = Some(s.into());
        self
    }
    /// Sets ALT's DISTTAG (1155), e.g. `sisyphus+350867.100.1.1`.
    pub fn disttag(mut self, s: impl Into<String>) -> Self {
        self.disttag = Some(s.into());
        self
    }
    /// Sets BUILDHOST.
    pub fn buildhost(mut self, s: impl Into<String>) -> Self {
        self.buildhost = s.into();
        self
    }
    /// Sets BUILDTIME (also the default file mtime).
    pub fn buildtime(mut self, t: u32) -> Self {
        self.buildtime = t;
        self
    }
    /// Sets OS.
    pub fn os(mut self, s: impl Into<String>) -> Self {
        self.os = s.into();
        self
    }
    /// Sets RPMVERSION.
    pub fn rpmversion(mut self, s: impl Into<String>) -> Self {
        self.rpmversion = s.into();
        self
    }
    /// Sets SOURCERPM (default for binary packages: `N-V-R.src.rpm`).
    pub fn sourcerpm(mut self, s: impl Into<String>) -> Self {
        self.sourcerpm = Some(s.into());
        self
    }
    /// Adds a file.
    pub fn file(mut self, f: FileSpec) -> Self {
        self.files.push(f);
        self
    }
    /// Adds files.
    pub fn files(mut self, fs: impl IntoIterator<Item = FileSpec>) -> Self {
        self.files.extend(fs);
        self
    }
    /// Adds a spec file to a source package (flag `RPMFILE_SPECFILE`).
    pub fn spec_file(self, name: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        self.file(FileSpec::file(name, content).flags(FileSpec::SPECFILE))
    }
    /// Adds a source file to a source package and lists it in SOURCE.
    pub fn source_file(mut self, name: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        let name = name.into();
        self.sources.push(name.clone());
        self.file(FileSpec::file(name, content))
    }
    /// Adds a requirement.
    pub fn requires(mut self, d: Dependency) -> Self {
        self.requires.push(d);
        self
    }
    /// Adds a provide.
    pub fn provides(mut self, d: Dependency) -> Self {
        self.provides.push(d);
        self
    }
    /// Adds a conflict.
    pub fn conflicts(mut self, d: Dependency) -> Self {
        self.conflicts.push(d);
        self
    }
    /// Adds an obsolete.
    pub fn obsoletes(mut self, d: Dependency) -> Self {
        self.obsoletes.push(d);
        self
    }
    /// Adds a changelog entry (add the newest first, as rpm stores them).
    pub fn changelog(mut self, e: ChangelogEntry) -> Self {
        self.changelog.push(e);
        self
    }
    /// Sets any main-header tag; it overrides whatever the builder would generate.
    pub fn tag(mut self, tag: impl TagNumber, value: impl Into<TagValue>) -> Self {
        let tag = tag.tag_number();
        self.removed.remove(&tag);
        self.extra.insert(tag, value.into());
        self
    }
    /// Drops a tag the builder would otherwise generate.
    pub fn remove_tag(mut self, tag: impl TagNumber) -> Self {
        let tag = tag.tag_number();
        self.extra.remove(&tag);
        self.removed.insert(tag);
        self
    }
    /// Sets a signature-header tag (overrides the computed ones, e.g. to corrupt a digest).
    pub fn signature_tag(mut self, tag: impl TagNumber, value: impl Into<TagValue>) -> Self {
        self.sig_extra.insert(tag.tag_number(), value.into());
        self
    }
    /// Sets the payload compression (level: [`Compression::default_level`]).
    pub fn compressor(mut self, c: Compression) -> Self {
        self.compression = c;
        self.level = None;
        self
    }
    /// Sets the payload compression and level (written to PAYLOADFLAGS).
    pub fn compressor_level(mut self, c: Compression, level: u32) -> Self {
        self.compression = c;
        self.level = Some(level);
        self
    }
    /// Sets how file digests are written.
    pub fn file_digest(mut self, d: FileDigest) -> Self {
        self.file_digest = d;
        self
    }
    /// Whether to add the `rpmlib(...)` requirements the package's features need (default on).
    pub fn auto_rpmlib(mut self, on: bool) -> Self {
        self.auto_rpmlib = on;
        self
    }
    /// Which `rpmlib(...)` requirements are added (default [`RpmlibStyle::Alt`]).
    pub fn rpmlib_style(mut self, style: RpmlibStyle) -> Self {
        self.rpmlib_style = style;
        self
    }
    /// Whether a binary package provides `name = [E:]V-R` (default on).
    pub fn self_provide(mut self, on: bool) -> Self {
        self.self_provide = on;
        self
    }
    /// Whether to write FILECLASS + CLASSDICT (default off: ALT's packages have none).
    pub fn file_classes(mut self, on: bool) -> Self {
        self.file_classes = on;
        self
    }
    /// Where the uncompressed payload size goes (default: the main header, as ALT does).
    pub fn archive_size_in(mut self, place: ArchiveSizeIn) -> Self {
        self.archive_size_in = place;
        self
    }
    /// Whether to add SHA256HEADER (273) to the signature header (default off, like ALT).
    pub fn sha256_signature(mut self, on: bool) -> Self {
        self.sha256_sig = on;
        self
    }
    /// Overrides the lead's architecture number.
    pub fn lead_archnum(mut self, n: u16) -> Self {
        self.archnum = Some(n);
        self
    }

    /// `N-V-R`.
    fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }

    /// `[E:]V-R`.
    fn evr(&self) -> String {
        match self.epoch {
            Some(e) => format!("{e}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }

    /// The conventional file name, `N-V-R.A.rpm` or `N-V-R.src.rpm`.
    pub fn file_name(&self) -> String {
        if self.source {
            format!("{}.src.rpm", self.nvr())
        } else {
            format!("{}.{}.rpm", self.nvr(), self.arch)
        }
    }

    /// Builds the package bytes.
    pub fn build(&self) -> Result<Vec<u8>, WriteError> {
        Ok(self.build_package()?.bytes)
    }

    /// Builds and writes the package to `path`.
    pub fn write_to(&self, path: impl AsRef<Path>) -> Result<BuiltPackage, WriteError> {
        let pkg = self.build_package()?;
        pkg.write_to(path)?;
        Ok(pkg)
    }

    /// Builds the package and returns it with its parts.
    pub fn build_package(&self) -> Result<BuiltPackage, WriteError> {
        let files = FileTable::new(self)?;
        let archive = files.archive(self.source)?;
        let archive_size = archive.len() as u64;
        let archive_size32 = fit32("payload archive", archive_size)?;
        let level = self
            .level
            .unwrap_or_else(|| self.compression.default_level());
        let payload = payload::compress(&archive, self.compression, level)?;
        drop(archive);

        let header = self.main_header(&files, archive_size32, level);
        let record = header.to_record()?;

        let mut sig = HeaderWriter::signature();
        let sha1_header = hex::encode(sha1::Sha1::digest(&record));
        sig.set(SIGTAG_SHA1, sha1_header.as_str());
        if self.sha256_sig {
            sig.set(
                SIGTAG_SHA256,
                hex::encode(sha2::Sha256::digest(&record)).as_str(),
            );
        }
        let total = (record.len() + payload.len()) as u64;
        sig.set(SIGTAG_SIZE, fit32("header+payload", total)?);
        let mut md5 = md5::Md5::new();
        md5.update(&record);
        md5.update(&payload);
        let sigmd5: [u8; 16] = md5.finalize().into();
        sig.set(SIGTAG_MD5, TagValue::Bin(sigmd5.to_vec()));
        if self.archive_size_in == ArchiveSizeIn::Signature {
            sig.set(SIGTAG_PAYLOADSIZE, archive_size32);
        }
        for (t, v) in &self.sig_extra {
            sig.set(*t, v.clone());
        }
        let sig_record = sig.to_record()?;

        let lead_name = match self.epoch {
            // rpm writes the NEVR into the lead.
            Some(e) => format!("{}-{e}:{}-{}", self.name, self.version, self.release),
            None => self.nvr(),
        };
        let archnum = self.archnum.unwrap_or_else(|| lead_archnum(&self.arch));
        let mut bytes = Vec::with_capacity(96 + sig_record.len() + 8 + total as usize);
        bytes.extend_from_slice(&lead(lead_name.as_bytes(), self.source, archnum, 1));
        bytes.extend_from_slice(&sig_record);
        // The signature header is padded to 8 bytes (counted from its own start; the lead is
        // 96 bytes, so file offsets agree).
        let pad = (8 - (bytes.len() - 96) % 8) % 8;
        bytes.resize(bytes.len() + pad, 0);
        let h_start = bytes.len();
        bytes.extend_from_slice(&record);
        let p_start = bytes.len();
        bytes.extend_from_slice(&payload);
        Ok(BuiltPackage {
            header_range: h_start..p_start,
            payload_range: p_start..bytes.len(),
            bytes,
            header,
            signature: sig,
            archive_size,
            sha1_header,
            sigmd5,
            file_name: self.file_name(),
        })
    }

    fn main_header(&self, files: &FileTable, archive_size: u32, level: u32) -> HeaderWriter {
        let mut h = HeaderWriter::main();
        h.set(HEADERI18NTABLE, TagValue::strings(["C"]));
        h.set(NAME, self.name.as_str());
        h.set(VERSION, self.version.as_str());
        h.set(RELEASE, self.release.as_str());
        if let Some(e) = self.epoch {
            h.set(EPOCH, e);
        }
        let summary = self.summary.clone().unwrap_or_else(|| self.name.clone());
        let description = self.description.clone().unwrap_or_else(|| summary.clone());
        h.set(SUMMARY, TagValue::i18n(summary));
        h.set(DESCRIPTION, TagValue::i18n(description));
        h.set(BUILDTIME, self.buildtime);
        h.set(BUILDHOST, self.buildhost.as_str());
        h.set(SIZE, files.total_size);
        let opt = |h: &mut HeaderWriter, tag, v: &Option<String>| {
            if let Some(v) = v {
                h.set(tag, v.as_str());
            }
        };
        opt(&mut h, DISTRIBUTION, &self.distribution);
        opt(&mut h, VENDOR, &self.vendor);
        h.set(LICENSE, self.license.as_str());
        opt(&mut h, PACKAGER, &self.packager);
        h.set(GROUP, TagValue::i18n(self.group.as_str()));
        if !self.sources.is_empty() {
            h.set(
                SOURCE,
                TagValue::strings(self.sources.iter().map(String::as_str)),
            );
        }
        opt(&mut h, URL, &self.url);
        h.set(OS, self.os.as_str());
        h.set(ARCH, self.arch.as_str());
        files.put_tags(&mut h, self.file_digest, self.file_classes);
        if self.source {
            h.set(SOURCEPACKAGE, 1u32);
        } else {
            let srpm = self
                .sourcerpm
                .clone()
                .unwrap_or_else(|| format!("{}.src.rpm", self.nvr()));
            h.set(SOURCERPM, srpm);
        }
        if self.archive_size_in == ArchiveSizeIn::MainHeader {
            h.set(ARCHIVESIZE, archive_size);
        }

        let mut provides = self.provides.clone();
        if self.self_provide && !self.source && !provides.iter().any(|d| d.name == self.name) {
            provides.push(Dependency::eq(self.name.clone(), self.evr()));
        }
        let mut requires = self.requires.clone();
        if self.auto_rpmlib {
            for d in self.rpmlib_requires(files) {
                if !requires.iter().any(|r| r.name == d.name) {
                    requires.push(d);
                }
            }
        }
        put_deps(&mut h, &provides, PROVIDENAME, PROVIDEFLAGS, PROVIDEVERSION);
        put_deps(&mut h, &requires, REQUIRENAME, REQUIREFLAGS, REQUIREVERSION);
        put_deps(
            &mut h,
            &self.conflicts,
            CONFLICTNAME,
            CONFLICTFLAGS,
            CONFLICTVERSION,
        );
        put_deps(
            &mut h,
            &self.obsoletes,
            OBSOLETENAME,
            OBSOLETEFLAGS,
            OBSOLETEVERSION,
        );
        h.set(RPMVERSION, self.rpmversion.as_str());
        if !self.changelog.is_empty() {
            h.set(
                CHANGELOGTIME,
                self.changelog.iter().map(|c| c.time).collect::<Vec<_>>(),
            );
            h.set(
                CHANGELOGNAME,
                TagValue::strings(self.changelog.iter().map(|c| c.name.as_str())),
            );
            h.set(
                CHANGELOGTEXT,
                TagValue::strings(self.changelog.iter().map(|c| c.text.as_str())),
            );
        }
        h.set(PAYLOADFORMAT, "cpio");
        if let Some(c) = self.compression.payload_compressor() {
            h.set(PAYLOADCOMPRESSOR, c);
            h.set(PAYLOADFLAGS, level.to_string());
        }
        opt(&mut h, DISTTAG, &self.disttag);
        for t in &self.removed {
            h.remove(*t);
        }
        for (t, v) in &self.extra {
            h.set(*t, v.clone());
        }
        h
    }

    fn rpmlib_requires(&self, files: &FileTable) -> Vec<Dependency> {
        let payload = match self.compression {
            Compression::Bzip2 => Some(("PayloadIsBzip2", "3.0.5-1")),
            Compression::Xz => Some(("PayloadIsXz", "5.2-1")),
            Compression::Lzma => Some(("PayloadIsLzma", "4.4.6-1")),
            Compression::Zstd => Some(("PayloadIsZstd", "5.4.18-1")),
            Compression::Gzip | Compression::None => None,
        };
        if self.rpmlib_style == RpmlibStyle::Alt {
            // ALT's rpm 4.0.4 only declares the payload format, unversioned, as a PreReq.
            return payload
                .map(|(f, _)| {
                    Dependency::new(
                        format!("rpmlib({f})"),
                        Dependency::RPMLIB | Dependency::PREREQ,
                        "",
                    )
                })
                .into_iter()
                .collect();
        }
        let mut v = Vec::new();
        let versioned = self
            .requires
            .iter()
            .chain(&self.provides)
            .chain(&self.conflicts)
            .chain(&self.obsoletes)
            .any(|d| !d.version.is_empty());
        if versioned || (self.self_provide && !self.source) {
            v.push(Dependency::rpmlib("VersionedDependencies", "3.0.3-1"));
        }
        if !files.files.is_empty() {
            v.push(Dependency::rpmlib("CompressedFileNames", "3.0.4-1"));
            if !self.source {
                v.push(Dependency::rpmlib("PayloadFilesHavePrefix", "4.0-1"));
            }
        }
        if self.file_digest == FileDigest::Sha256 {
            v.push(Dependency::rpmlib("FileDigests", "4.6.0-1"));
        }
        if files.has_hardlinks {
            v.push(Dependency::rpmlib("PartialHardlinkSets", "4.0.4-1"));
        }
        if let Some((f, ver)) = payload {
            v.push(Dependency::rpmlib(f, ver));
        }
        v
    }
}

fn put_deps(h: &mut HeaderWriter, deps: &[Dependency], n: u32, f: u32, v: u32) {
    if deps.is_empty() {
        return;
    }
    h.set(n, TagValue::strings(deps.iter().map(|d| d.name.as_str())));
    h.set(f, deps.iter().map(|d| d.flags).collect::<Vec<_>>());
    h.set(
        v,
        TagValue::strings(deps.iter().map(|d| d.version.as_str())),
    );
}

fn fit32(what: &'static str, size: u64) -> Result<u32, WriteError> {
    u32::try_from(size).map_err(|_| WriteError::TooLarge { what, size })
}

/// One file after path sorting and hard-link resolution.
struct FileRow<'a> {
    spec: &'a FileSpec,
    /// The regular file whose content and inode this entry carries.
    content: &'a [u8],
    /// The spec whose mode/owner/mtime apply (the hard link target for links).
    meta: &'a FileSpec,
    mode: u32,
    size: u32,
    inode: u32,
    mtime: u32,
    digest: String,
    /// Members of this entry's hard-link set (including itself), 1 if none.
    nlink: u32,
    /// Whether this entry carries the data of its hard-link set in the payload.
    carries_data: bool,
}

struct FileTable<'a> {
    files: Vec<FileRow<'a>>,
    total_size: u32,
    has_hardlinks: bool,
}

impl<'a> FileTable<'a> {
    fn new(b: &'a PackageBuilder) -> Result<FileTable<'a>, WriteError> {
        let mut specs: Vec<&FileSpec> = b.files.iter().collect();
        specs.sort_by(|x, y| x.path.as_bytes().cmp(y.path.as_bytes()));
        for w in specs.windows(2) {
            if w[0].path == w[1].path {
                return Err(WriteError::DuplicatePath(w[0].path.clone()));
            }
        }
        for s in &specs {
            let bad = |reason| WriteError::BadPath {
                path: s.path.clone(),
                reason,
            };
            if s.path.is_empty() {
                return Err(bad("empty path"));
            }
            if s.path.contains('\0') {
                return Err(bad("NUL in path"));
            }
            if !b.source && !s.path.starts_with('/') {
                return Err(bad("binary package paths must be absolute"));
            }
        }
        let by_path: HashMap<&str, usize> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.path.as_str(), i))
            .collect();
        // Resolve each hard link to the regular file at the end of its chain.
        let mut root = Vec::with_capacity(specs.len());
        for (i, s) in specs.iter().enumerate() {
            let mut cur = i;
            let mut hops = 0usize;
            while let FileKind::HardLink(t) = &specs[cur].kind {
                let next = by_path.get(t.as_str()).copied();
                match next {
                    Some(j) if hops < specs.len() => cur = j,
                    // Missing target, or a cycle of links.
                    _ => {
                        return Err(WriteError::HardLinkTarget {
                            path: s.path.clone(),
                            target: t.clone(),
                        })
                    }
                }
                hops += 1;
            }
            if cur != i && !matches!(specs[cur].kind, FileKind::Regular(_)) {
                return Err(WriteError::HardLinkTarget {
                    path: s.path.clone(),
                    target: specs[cur].path.clone(),
                });
            }
            root.push(cur);
        }
        // Hard-link sets: members listed in path order; ghosts carry no payload.
        let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, &r) in root.iter().enumerate() {
            if matches!(specs[r].kind, FileKind::Regular(_)) {
                members.entry(r).or_default().push(i);
            }
        }
        let has_hardlinks = members.values().any(|m| m.len() > 1);
        let mut next_inode = 1u32;
        let mut inode_of: HashMap<usize, u32> = HashMap::new();
        let mut rows = Vec::with_capacity(specs.len());
        let mut total: u64 = 0;
        for (i, s) in specs.iter().enumerate() {
            let r = root[i];
            let meta = specs[r];
            let content: &[u8] = match (&s.kind, &meta.kind) {
                (FileKind::Symlink(t), _) => t.as_bytes(),
                (_, FileKind::Regular(c)) => c,
                _ => &[],
            };
            let inode = *inode_of.entry(r).or_insert_with(|| {
                let n = meta.inode.unwrap_or(next_inode);
                next_inode += 1;
                n
            });
            let size = match s.size.or(meta.size) {
                Some(sz) => sz,
                None => match s.kind {
                    FileKind::Regular(_) | FileKind::HardLink(_) | FileKind::Symlink(_) => {
                        fit32("file", content.len() as u64)?
                    }
                    _ => 0,
                },
            };
            let set = members.get(&r).map(Vec::as_slice).unwrap_or(&[]);
            let live: Vec<usize> = set
                .iter()
                .copied()
                .filter(|&m| specs[m].flags & FileSpec::GHOST == 0)
                .collect();
            let is_regular = matches!(meta.kind, FileKind::Regular(_));
            let carries_data = !is_regular || live.last() == Some(&i);
            if !is_regular || set.first() == Some(&i) {
                total += u64::from(size);
            }
            let digest = match (&s.digest, is_regular) {
                (Some(d), _) => d.clone(),
                (None, true) => match b.file_digest {
                    FileDigest::Sha256 => hex::encode(sha2::Sha256::digest(content)),
                    _ => hex::encode(md5::Md5::digest(content)),
                },
                (None, false) => String::new(),
            };
            rows.push(FileRow {
                spec: s,
                content,
                meta,
                mode: s.type_bits() | u32::from(meta.perms & 0o7777),
                size,
                inode,
                mtime: meta.mtime.unwrap_or(b.buildtime),
                digest,
                nlink: if is_regular {
                    live.len().max(1) as u32
                } else {
                    1
                },
                carries_data,
            });
        }
        Ok(FileTable {
            files: rows,
            total_size: fit32("package size", total)?,
            has_hardlinks,
        })
    }

    fn archive(&self, source: bool) -> Result<Vec<u8>, WriteError> {
        let mut w = CpioWriter::new(Vec::new());
        for f in &self.files {
            if f.spec.flags & FileSpec::GHOST != 0 {
                continue;
            }
            let name = if f.spec.path.starts_with('/') && !source {
                format!(".{}", f.spec.path)
            } else {
                f.spec.path.clone()
            };
            let (rmaj, rmin) = match f.spec.kind {
                FileKind::CharDevice { major, minor } | FileKind::BlockDevice { major, minor } => {
                    (major, minor)
                }
                _ => (0, 0),
            };
            let entry = CpioEntry {
                name: name.into_bytes(),
                ino: f.inode,
                mode: f.mode,
                uid: 0,
                gid: 0,
                nlink: f.nlink,
                mtime: u64::from(f.mtime),
                size: 0,
                dev_major: f.spec.device >> 8,
                dev_minor: f.spec.device & 0xff,
                rdev_major: rmaj,
                rdev_minor: rmin,
                offset: 0,
            };
            let data = if f.carries_data { f.content } else { &[] };
            w.write_entry(&entry, data)?;
        }
        Ok(w.finish()?)
    }

    fn put_tags(&self, h: &mut HeaderWriter, digest: FileDigest, classes: bool) {
        if self.files.is_empty() {
            return;
        }
        let fs = &self.files;
        h.set(FILESIZES, fs.iter().map(|f| f.size).collect::<Vec<_>>());
        h.set(
            FILEMODES,
            fs.iter().map(|f| f.mode as u16).collect::<Vec<_>>(),
        );
        h.set(
            FILERDEVS,
            fs.iter()
                .map(|f| match f.spec.kind {
                    // 16-bit old-style encoding (what rpm stores): major high byte, minor low.
                    FileKind::CharDevice { major, minor }
                    | FileKind::BlockDevice { major, minor } => {
                        (((major & 0xff) << 8) | (minor & 0xff)) as u16
                    }
                    _ => 0,
                })
                .collect::<Vec<_>>(),
        );
        h.set(FILEMTIMES, fs.iter().map(|f| f.mtime).collect::<Vec<_>>());
        h.set(
            FILEMD5S,
            TagValue::strings(fs.iter().map(|f| f.digest.as_str())),
        );
        h.set(
            FILELINKTOS,
            TagValue::strings(fs.iter().map(|f| match &f.spec.kind {
                FileKind::Symlink(t) => t.as_str(),
                _ => "",
            })),
        );
        h.set(
            FILEFLAGS,
            fs.iter().map(|f| f.spec.flags).collect::<Vec<_>>(),
        );
        h.set(
            FILEUSERNAME,
            TagValue::strings(fs.iter().map(|f| f.meta.user.as_str())),
        );
        h.set(
            FILEGROUPNAME,
            TagValue::strings(fs.iter().map(|f| f.meta.group.as_str())),
        );
        h.set(
            FILEVERIFYFLAGS,
            fs.iter().map(|f| f.spec.verify_flags).collect::<Vec<_>>(),
        );
        h.set(
            FILEDEVICES,
            fs.iter().map(|f| f.spec.device).collect::<Vec<_>>(),
        );
        h.set(FILEINODES, fs.iter().map(|f| f.inode).collect::<Vec<_>>());
        h.set(
            FILELANGS,
            TagValue::strings(fs.iter().map(|f| f.spec.lang.as_str())),
        );
        // Compressed file names: each path split into a directory (with trailing `/`, or
        // empty for source-package names) and a base name.
        let mut dirnames: Vec<&str> = Vec::new();
        let mut dir_index: HashMap<&str, u32> = HashMap::new();
        let mut indexes = Vec::with_capacity(fs.len());
        let mut basenames = Vec::with_capacity(fs.len());
        for f in fs {
            let p = f.spec.path.as_str();
            let cut = p.rfind('/').map_or(0, |i| i + 1);
            let (dir, base) = p.split_at(cut);
            let ix = *dir_index.entry(dir).or_insert_with(|| {
                dirnames.push(dir);
                (dirnames.len() - 1) as u32
            });
            indexes.push(ix);
            basenames.push(base);
        }
        h.set(DIRINDEXES, indexes);
        h.set(BASENAMES, TagValue::strings(basenames));
        h.set(DIRNAMES, TagValue::strings(dirnames));
        if classes {
            let mut dict: Vec<String> = Vec::new();
            let mut pos: HashMap<String, u32> = HashMap::new();
            let mut idx = Vec::with_capacity(fs.len());
            for f in fs {
                let class = f.spec.class.clone().unwrap_or_else(|| match &f.spec.kind {
                    FileKind::Dir => "directory".into(),
                    FileKind::Symlink(t) => format!("symbolic link to `{t}'"),
                    FileKind::Fifo => "fifo (named pipe)".into(),
                    FileKind::CharDevice { .. } => "character special".into(),
                    FileKind::BlockDevice { .. } => "block special".into(),
                    FileKind::Socket => "socket".into(),
                    FileKind::Regular(_) | FileKind::HardLink(_) => String::new(),
                });
                let i = *pos.entry(class.clone()).or_insert_with(|| {
                    dict.push(class);
                    (dict.len() - 1) as u32
                });
                idx.push(i);
            }
            h.set(FILECLASS, idx);
            h.set(CLASSDICT, TagValue::strings(dict));
        }
        match digest {
            FileDigest::LegacyMd5 => {}
            FileDigest::Md5 => {
                h.set(FILEDIGESTALGO, 1u32);
            }
            FileDigest::Sha256 => {
                h.set(FILEDIGESTALGO, 8u32);
            }
        }
    }
}

/// APT index tags of one list record (ALT apt-rpm `CRPMTAG_*`). Empty fields are not written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AptIndex {
    /// 1000000: the package file name.
    pub file_name: String,
    /// 1000001: the package file size.
    pub file_size: u64,
    /// 1000005: MD5 of the package file (hex).
    pub md5: Option<String>,
    /// 1000006: SHA-1 (hex).
    pub sha1: Option<String>,
    /// 1000007: SHA-256 (hex).
    pub sha256: Option<String>,
    /// 1000008: SHA-512 (hex).
    pub sha512: Option<String>,
    /// 1000009: BLAKE2b-512 (hex).
    pub blake2b: Option<String>,
    /// 1000010: directory of the package (e.g. `RPMS.classic`).
    pub directory: Option<String>,
    /// 1000011: for srclist records, the binary packages built from the source package.
    pub binaries: Vec<String>,
    /// Further tags (e.g. 1000020… update info).
    pub extra: BTreeMap<u32, TagValue>,
}

impl AptIndex {
    /// Index tags for a package file's bytes: size, MD5 and BLAKE2b (what ALT's lists carry
    /// and the loader reads).
    pub fn for_file(file_name: impl Into<String>, bytes: &[u8], directory: Option<&str>) -> Self {
        use crate::digest::{digest_bytes, DigestAlgo};
        let d = digest_bytes(bytes, &[DigestAlgo::Md5, DigestAlgo::Blake2b512]);
        AptIndex {
            file_name: file_name.into(),
            file_size: bytes.len() as u64,
            md5: d.hex(DigestAlgo::Md5),
            blake2b: d.hex(DigestAlgo::Blake2b512),
            directory: directory.map(str::to_string),
            ..AptIndex::default()
        }
    }

    /// [`AptIndex::for_file`] for a built package.
    pub fn for_package(pkg: &BuiltPackage, directory: Option<&str>) -> Self {
        Self::for_file(pkg.file_name.clone(), &pkg.bytes, directory)
    }

    fn tags(&self) -> Result<Vec<(u32, TagValue)>, WriteError> {
        let mut v: Vec<(u32, TagValue)> = vec![(APT_FILENAME, self.file_name.as_str().into())];
        v.push((APT_FILESIZE, fit32("APT file size", self.file_size)?.into()));
        let strs = [
            (APT_MD5, &self.md5),
            (APT_SHA1, &self.sha1),
            (APT_SHA256, &self.sha256),
            (APT_SHA512, &self.sha512),
            (APT_BLAKE2B, &self.blake2b),
            (APT_DIRECTORY, &self.directory),
        ];
        for (t, s) in strs {
            if let Some(s) = s {
                v.push((t, s.as_str().into()));
            }
        }
        if !self.binaries.is_empty() {
            v.push((APT_BINARY, TagValue::strings(self.binaries.clone())));
        }
        v.extend(self.extra.iter().map(|(t, x)| (*t, x.clone())));
        Ok(v)
    }
}

/// How an APT list record is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AptLayout {
    /// A fresh header without a region, all tags in tag order (what genpkglist writes when
    /// it copies selected tags into a new header).
    Flat,
    /// The package's header with its HEADERIMMUTABLE region intact and the APT tags added
    /// outside it (what a read header plus `headerAddEntry` gives).
    KeepRegion,
}

/// A magic-prefixed header record as found in ALT's `pkglist.*` / `srclist.*`: `main`'s
/// entries plus the APT index tags. Concatenate records (no padding) to make a list.
pub fn apt_header_record(
    main: &HeaderWriter,
    apt: &AptIndex,
    layout: AptLayout,
) -> Result<Vec<u8>, WriteError> {
    let mut h = match layout {
        AptLayout::Flat => main.flattened(),
        AptLayout::KeepRegion => main.clone(),
    };
    for (t, v) in apt.tags()? {
        match layout {
            AptLayout::Flat => h.set(t, v),
            AptLayout::KeepRegion if h.region().is_some() => h.set_outside_region(t, v),
            AptLayout::KeepRegion => h.set(t, v),
        };
    }
    h.to_record()
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
