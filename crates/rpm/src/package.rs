//! `.rpm` files: lead, signature header, main header.
//!
//! Layout: a 96-byte lead, the signature header record padded to a multiple of 8 bytes, the
//! main header record, then the payload. [`Package::parse`] reads the first three from a
//! buffer; [`read_package_bytes`] reads exactly those bytes from a stream (never the
//! payload), so the usual pattern is
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut f = std::fs::File::open("foo.rpm")?;
//! let bytes = altrepodb_rpm::read_package_bytes(&mut f)?;
//! let pkg = altrepodb_rpm::Package::parse(&bytes)?;
//! let name = pkg.header().text(altrepodb_rpm::Tag::NAME)?;
//! # Ok(()) }
//! ```

use std::io::{self, Read};
use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::header::EntryType;
use crate::header::{
    check_magic, parse_intro, sort_dedup, take, Header, RawEntry, ONE_BE32, STORE_MAIN, STORE_SIG,
    STORE_STATIC,
};
use crate::tags::{SigTag, Tag};

/// The lead magic `ED AB EE DB`.
pub const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];

/// Size of the lead in bytes.
pub const LEAD_SIZE: usize = 96;

/// `RPMSIGTYPE_HEADERSIG`, the only signature type librpm accepts.
pub const SIGTYPE_HEADERSIG: u16 = 5;

/// The 96-byte lead. Only `kind` and the checks matter to readers; the rest is kept for
/// display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lead {
    /// Major format version (3 or 4; rpm v6 packages also say 4).
    pub major: u8,
    /// Minor format version.
    pub minor: u8,
    /// 0 binary, 1 source.
    pub kind: u16,
    /// Architecture number (informational).
    pub archnum: u16,
    /// The NUL-padded 66-byte name field (`name-version-release`, possibly cut).
    pub name: [u8; 66],
    /// OS number (informational).
    pub osnum: u16,
    /// Signature type; always 5 after a successful parse.
    pub signature_type: u16,
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

impl Lead {
    /// Parses and checks a lead at the start of `bytes`: magic, major version 3 or 4 and
    /// signature type 5, as librpm does.
    pub fn parse(bytes: &[u8]) -> Result<Lead> {
        let b = take(bytes, 0, LEAD_SIZE, "lead")?;
        let mut magic = [0u8; 4];
        magic.copy_from_slice(b.get(..4).unwrap_or(&[0; 4]));
        if magic != LEAD_MAGIC {
            return Err(Error::BadLeadMagic {
                offset: 0,
                found: magic,
            });
        }
        let major = b.get(4).copied().unwrap_or(0);
        let minor = b.get(5).copied().unwrap_or(0);
        if !(3..=4).contains(&major) {
            return Err(Error::UnsupportedLeadVersion {
                offset: 4,
                major,
                minor,
            });
        }
        let signature_type = be16(b, 78);
        if signature_type != SIGTYPE_HEADERSIG {
            return Err(Error::BadSignatureType {
                offset: 78,
                sigtype: signature_type,
            });
        }
        let mut name = [0u8; 66];
        name.copy_from_slice(b.get(10..76).unwrap_or(&[0; 66]));
        Ok(Lead {
            major,
            minor,
            kind: be16(b, 6),
            archnum: be16(b, 8),
            name,
            osnum: be16(b, 76),
            signature_type,
        })
    }

    /// True for a source package lead (`type != 0`, the original's rule).
    pub fn is_source(&self) -> bool {
        self.kind != 0
    }

    /// The name field up to its first NUL.
    pub fn name_bytes(&self) -> &[u8] {
        let end = memchr::memchr(0, &self.name).unwrap_or(self.name.len());
        self.name.get(..end).unwrap_or(&[])
    }
}

/// Padding after a signature header of `len` bytes (to a multiple of 8).
fn sig_padding(len: usize) -> usize {
    (8 - len % 8) % 8
}

/// A parsed `.rpm` file (headers only), borrowing the buffer it was parsed from.
#[derive(Clone, Debug)]
pub struct Package<'a> {
    lead: Lead,
    signature: Header<'a, SigTag>,
    main: Header<'a, Tag>,
    merged: Header<'a, Tag>,
    bytes: &'a [u8],
}

impl<'a> Package<'a> {
    /// Parses lead, signature header and main header from the start of `bytes`. Offsets in
    /// errors are file offsets. Anything after the main header (the payload) is ignored and
    /// may be missing.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let lead = Lead::parse(bytes)?;
        let signature = Header::<SigTag>::parse_at(bytes, LEAD_SIZE, true)?;
        let sig_end = LEAD_SIZE + signature.record_len();
        let main_start = sig_end + sig_padding(sig_end);
        take(bytes, sig_end, main_start - sig_end, "signature padding")?;
        let main = Header::<Tag>::parse_at(bytes, main_start, true)?;
        let merged = merge(&main, &signature, lead.is_source());
        Ok(Package {
            lead,
            signature,
            main,
            merged,
            bytes,
        })
    }

    /// The lead.
    pub fn lead(&self) -> &Lead {
        &self.lead
    }

    /// The signature header as stored (signature tag numbers).
    pub fn signature(&self) -> &Header<'a, SigTag> {
        &self.signature
    }

    /// The main header as stored, without signature tags.
    pub fn main_header(&self) -> &Header<'a, Tag> {
        &self.main
    }

    /// The header as librpm presents it: main header plus the signature tags renumbered by
    /// [`SigTag::to_header_tag`] (main-header values win), plus SOURCEPACKAGE = 1 for a
    /// source lead without SOURCERPM. This is what the loaders read.
    pub fn header(&self) -> &Header<'a, Tag> {
        &self.merged
    }

    /// The exact bytes of the main header record, magic included: the input of the
    /// SHA1HEADER / SHA256HEADER digests.
    pub fn main_header_bytes(&self) -> &'a [u8] {
        let start = self.main.offset() as usize;
        self.bytes
            .get(start..start + self.main.record_len())
            .unwrap_or(&[])
    }

    /// The exact bytes of the signature header record, without padding.
    pub fn signature_bytes(&self) -> &'a [u8] {
        self.bytes
            .get(LEAD_SIZE..LEAD_SIZE + self.signature.record_len())
            .unwrap_or(&[])
    }

    /// File offset of the payload (the first byte after the main header).
    pub fn payload_offset(&self) -> u64 {
        self.main.offset() + self.main.record_len() as u64
    }
}

/// Builds librpm's merged view. Stores: 0 main, 1 signature, 2 the static `1` for a
/// synthetic SOURCEPACKAGE.
fn merge<'a>(
    main: &Header<'a, Tag>,
    sig: &Header<'a, SigTag>,
    source_lead: bool,
) -> Header<'a, Tag> {
    let mut entries: Vec<RawEntry> = Vec::with_capacity(main.entries.len() + sig.entries.len() + 1);
    entries.extend(sig.entries.iter().filter_map(|e| {
        SigTag(e.tag).to_header_tag().map(|t| RawEntry {
            tag: t.0,
            store: STORE_SIG,
            ..*e
        })
    }));
    // Stable sort keeps signature entries before main ones of the same tag; the dedup keeps
    // the last, so main-header values overwrite.
    entries.extend(main.entries.iter().map(|e| RawEntry {
        store: STORE_MAIN,
        ..*e
    }));
    let has = |t: Tag| entries.iter().any(|e| e.tag == t.0);
    if source_lead && !has(Tag::SOURCERPM) && !has(Tag::SOURCEPACKAGE) {
        entries.push(RawEntry {
            tag: Tag::SOURCEPACKAGE.0,
            ty: EntryType::Int32,
            store: STORE_STATIC,
            count: 1,
            start: 0,
            end: 4,
            pos: main.offset(),
        });
    }
    sort_dedup(&mut entries);
    Header {
        stores: [
            main.stores[usize::from(STORE_MAIN)],
            sig.stores[usize::from(STORE_MAIN)],
            &ONE_BE32[..],
        ],
        entries,
        offset: main.offset(),
        len: main.record_len(),
        kind: PhantomData,
    }
}

/// Reads exactly the lead, signature header, padding and main header from `r` (not the
/// payload), for [`Package::parse`].
///
/// Sizes are checked against librpm's limits before anything is read; the buffer is reserved
/// ahead by at most 8 MiB and otherwise grows only as bytes actually arrive, so a lying size
/// field cannot make it allocate much more than the stream really holds. End of stream is
/// [`Error::Truncated`].
pub fn read_package_bytes<R: Read + ?Sized>(r: &mut R) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(4096);
    read_package_into(r, &mut buf)?;
    Ok(buf)
}

/// [`read_package_bytes`] into a caller's buffer (cleared first), so a loop over many files
/// reuses one allocation instead of faulting in fresh pages for every header.
pub fn read_package_into<R: Read + ?Sized>(r: &mut R, buf: &mut Vec<u8>) -> Result<()> {
    buf.clear();
    let res = (|| {
        fill(r, buf, LEAD_SIZE + 16)?;
        Lead::parse(buf).map_err(Some)?;
        let sig_len = record_len_at(buf, LEAD_SIZE)?;
        let sig_end = LEAD_SIZE + sig_len;
        let main_start = sig_end + sig_padding(sig_end);
        fill(r, buf, main_start + 16)?;
        let main_len = record_len_at(buf, main_start)?;
        fill(r, buf, main_start + main_len)
    })();
    match res {
        Ok(()) => Ok(()),
        // Short read: parsing what we have names the exact structure that is cut.
        Err(None) => Err(match Package::parse(buf) {
            Err(e) => e,
            Ok(_) => Error::Truncated {
                offset: 0,
                what: "package headers",
                needed: buf.len() as u64 + 1,
                available: buf.len() as u64,
            },
        }),
        Err(Some(e)) => Err(e),
    }
}

/// Total length of the magic-prefixed record whose magic is at `at` (16-byte intro there).
fn record_len_at(buf: &[u8], at: usize) -> Result<usize, Option<Error>> {
    check_magic(buf, at).map_err(Some)?;
    let intro = take(buf, at + 8, 8, "header intro").map_err(Some)?;
    let (il, dl) = parse_intro(intro, (at + 8) as u64).map_err(Some)?;
    Ok(16 + il as usize * 16 + dl as usize)
}

/// Most a size field may make [`read_package_bytes`] reserve ahead of the data (8 MiB).
/// Real headers are smaller, so they are read with one `read` each; a lying size on a short
/// stream costs at most this much memory.
const MAX_PREALLOC: usize = 8 << 20;

/// Appends from `r` until `buf.len() == want`; `Err(None)` on end of stream.
fn fill<R: Read + ?Sized>(r: &mut R, buf: &mut Vec<u8>, want: usize) -> Result<(), Option<Error>> {
    buf.reserve(want.saturating_sub(buf.len()).min(MAX_PREALLOC));
    while buf.len() < want {
        let n = (want - buf.len()) as u64;
        match (&mut *r).take(n).read_to_end(buf) {
            Ok(0) => return Err(None),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Some(Error::Io {
                    offset: buf.len() as u64,
                    source: e,
                }))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::tests::{record, trailer};

    fn lead(kind: u16) -> Vec<u8> {
        let mut l = vec![0u8; LEAD_SIZE];
        l[..4].copy_from_slice(&LEAD_MAGIC);
        l[4] = 3;
        l[6..8].copy_from_slice(&kind.to_be_bytes());
        l[10..15].copy_from_slice(b"x-1-1");
        l[78..80].copy_from_slice(&SIGTYPE_HEADERSIG.to_be_bytes());
        l
    }

    /// Signature: region 62, SIZE (1000) = 7, MD5 (1004), SHA1 (269), RESERVEDSPACE (1008),
    /// PAYLOADSIZE (1007) = 5.
    fn signature() -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(&7u32.to_be_bytes()); // 0 SIZE
        s.extend_from_slice(&[0xaa; 16]); // 4 MD5
        s.extend_from_slice(b"00112233445566778899aabbccddeeff00112233\0"); // 20 SHA1
        s.extend_from_slice(&[0, 0, 0]); // 61: align
        s.extend_from_slice(&5u32.to_be_bytes()); // 64 PAYLOADSIZE
        s.extend_from_slice(&[0xbb; 3]); // 68 RESERVEDSPACE
        s.push(0); // 71
        s.extend(trailer(62, 6)); // 72
        s.push(0); // 88: makes the record 201 bytes, so 7 bytes of padding follow
        record(
            &[
                (62, 7, 72, 16),
                (269, 6, 20, 1),
                (1000, 4, 0, 1),
                (1004, 7, 4, 16),
                (1007, 4, 64, 1),
                (1008, 7, 68, 3),
            ],
            &s,
        )
    }

    /// Main header: NAME, ARCHIVESIZE (1046) = 9, BUILDTIME.
    fn main_header(with_sourcerpm: bool) -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(b"foo\0"); // 0
        s.extend_from_slice(&9u32.to_be_bytes()); // 4
        s.extend_from_slice(&1_600_000_000u32.to_be_bytes()); // 8
        s.extend_from_slice(b"foo.src.rpm\0"); // 12
        let mut e = vec![(1000, 6, 0, 1), (1006, 4, 8, 1), (1046, 4, 4, 1)];
        if with_sourcerpm {
            e.push((1044, 6, 12, 1));
        }
        record(&e, &s)
    }

    fn package(kind: u16, with_sourcerpm: bool) -> Vec<u8> {
        let mut b = lead(kind);
        let sig = signature();
        let pad = (8 - sig.len() % 8) % 8;
        assert_ne!(pad, 0, "the test wants padding");
        b.extend(sig);
        b.extend(std::iter::repeat_n(0u8, pad));
        b.extend(main_header(with_sourcerpm));
        b.extend_from_slice(b"PAYLOAD");
        b
    }

    #[test]
    fn merges_signature_like_librpm() {
        let bytes = package(0, true);
        let pkg = Package::parse(&bytes).unwrap();
        let h = pkg.header();
        assert_eq!(h.text(Tag::NAME).unwrap(), "foo");
        // 1000 → 257, 1004 → 261, 269 kept.
        assert_eq!(h.u32(Tag::SIGSIZE).unwrap(), Some(7));
        assert_eq!(h.bin(Tag::SIGMD5).unwrap(), Some(&[0xaa; 16][..]));
        assert!(h.string(Tag::SHA1HEADER).unwrap().is_some());
        // 1007 → 1046, but the main header's ARCHIVESIZE wins.
        assert_eq!(h.u32(Tag::ARCHIVESIZE).unwrap(), Some(9));
        // 1008 and the region 62 are dropped; NAME (1000) is the main one, not SIZE.
        assert!(!h.contains(Tag(1008)));
        assert!(!h.contains(Tag::HEADERSIGNATURES));
        assert!(!h.is_source().unwrap());
        // Raw views are separate.
        assert_eq!(pkg.signature().u32(SigTag::SIZE).unwrap(), Some(7));
        assert!(!pkg.main_header().contains(Tag::SIGMD5));
        assert_eq!(pkg.main_header_bytes(), &main_header(true)[..]);
        assert_eq!(&bytes[pkg.payload_offset() as usize..], b"PAYLOAD");
        assert_eq!(pkg.lead().name_bytes(), b"x-1-1");
        // The merged entry of a signature tag reports the signature's index offset.
        let e = h.entry(Tag::SIGMD5).unwrap();
        assert!(e.offset() > LEAD_SIZE as u64 && e.offset() < pkg.main_header().offset());
        assert!(h.pkg_hash().is_ok());
    }

    #[test]
    fn signature_value_used_when_main_lacks_it() {
        let mut bytes = lead(0);
        let sig = signature();
        let pad = (8 - sig.len() % 8) % 8;
        bytes.extend(sig);
        bytes.extend(std::iter::repeat_n(0u8, pad));
        bytes.extend(record(&[(1000, 6, 0, 1)], b"foo\0"));
        let pkg = Package::parse(&bytes).unwrap();
        assert_eq!(pkg.header().u32(Tag::ARCHIVESIZE).unwrap(), Some(5));
    }

    #[test]
    fn source_lead_without_sourcerpm_sets_sourcepackage() {
        let bytes = package(1, false);
        let pkg = Package::parse(&bytes).unwrap();
        assert!(pkg.lead().is_source());
        assert_eq!(pkg.header().u32(Tag::SOURCEPACKAGE).unwrap(), Some(1));
        assert!(pkg.header().is_source().unwrap());
        assert!(!pkg.main_header().contains(Tag::SOURCEPACKAGE));
        // With SOURCERPM, or a binary lead: nothing added.
        for (kind, srpm) in [(1, true), (0, false)] {
            let bytes = package(kind, srpm);
            let pkg = Package::parse(&bytes).unwrap();
            assert!(!pkg.header().contains(Tag::SOURCEPACKAGE));
        }
    }

    #[test]
    fn stream_reader_reads_exactly_the_headers() {
        let bytes = package(0, true);
        let got = read_package_bytes(&mut &bytes[..]).unwrap();
        assert_eq!(got.len(), bytes.len() - b"PAYLOAD".len());
        // One byte at a time is the same.
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        assert_eq!(read_package_bytes(&mut Slow(&bytes)).unwrap(), got);
    }

    #[test]
    fn stream_errors() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let e = read_package_bytes(&mut Failing).unwrap_err();
        assert!(matches!(e, Error::Io { offset: 0, .. }), "{e:?}");
        assert_eq!(e.to_string(), "I/O error at offset 0: disk on fire");
        let bytes = package(0, true);
        for cut in [0, 50, 96, 100, 112, 150, 200] {
            let e = read_package_bytes(&mut &bytes[..cut]).unwrap_err();
            assert!(matches!(e, Error::Truncated { .. }), "cut {cut}: {e:?}");
        }
    }

    #[test]
    fn lead_errors() {
        let e = Lead::parse(&[0xed, 0xab]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Truncated {
                    offset: 0,
                    what: "lead",
                    needed: 96,
                    available: 2
                }
            ),
            "{e:?}"
        );
        let mut l = lead(0);
        l[0] = 0;
        assert!(matches!(
            Lead::parse(&l),
            Err(Error::BadLeadMagic { offset: 0, .. })
        ));
        let mut l = lead(0);
        l[4] = 2;
        assert!(matches!(
            Lead::parse(&l),
            Err(Error::UnsupportedLeadVersion {
                offset: 4,
                major: 2,
                ..
            })
        ));
        let mut l = lead(0);
        l[79] = 1;
        let e = Lead::parse(&l).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BadSignatureType {
                    offset: 78,
                    sigtype: 1
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "corrupt header at offset 78: illegal signature type 1"
        );
    }

    #[test]
    fn errors_in_the_main_header_carry_file_offsets() {
        let mut bytes = package(0, true);
        let main_at = bytes.len() - b"PAYLOAD".len() - main_header(true).len();
        bytes[main_at + 1] = 0; // break the main header magic
        let e = Package::parse(&bytes).unwrap_err();
        assert!(
            matches!(e, Error::BadHeaderMagic { offset, .. } if offset == main_at as u64),
            "{e:?}"
        );
        let e = read_package_bytes(&mut &bytes[..]).unwrap_err();
        assert!(
            matches!(e, Error::BadHeaderMagic { offset, .. } if offset == main_at as u64),
            "{e:?}"
        );
    }
}
