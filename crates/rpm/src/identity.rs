//! Package identities and the generic 64-bit hash (original §4).
//!
//! * [`mmhash`] = `h1 XOR h2` of MurmurHash3_x64_128, seed 0 = ClickHouse `murmurHash3_64`.
//! * [`pkg_hash`] = `((buildtime − 1e9) << 32) | MurmurHash3_x86_32(sha1 ‖ sigmd5 ‖ siggpg)`.
//!
//! MurmurHash3 is implemented here (Austin Appleby's public-domain algorithm) rather than
//! taken from the `murmur3` crate, whose API goes through `io::Read` and returns
//! `io::Result`; the tests cross-check both and pin vectors computed by ClickHouse itself.

use crate::error::{Error, Result};
use crate::header::Header;
use crate::tags::Tag;

/// Base of the time half of [`pkg_hash`] (2001-09-09 01:46:40 UTC).
pub const PKG_HASH_EPOCH: u64 = 1_000_000_000;

fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// Little-endian integer from up to 8 bytes (missing high bytes are zero).
fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// MurmurHash3_x86_32 (Python `mmh3.hash(data, seed, signed=False)`, ClickHouse
/// `murmurHash3_32`).
pub fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mix = |k: u32| k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for b in &mut blocks {
        h ^= mix(le(b) as u32);
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        h ^= mix(le(tail) as u32);
    }
    // The algorithm mixes in the length modulo 2^32.
    h ^= data.len() as u32;
    fmix32(h)
}

/// MurmurHash3_x64_128, returned as the two little-endian 64-bit halves `(h1, h2)`
/// (Python `mmh3.hash64(data, seed, signed=False)`).
pub fn murmur3_x64_128(data: &[u8], seed: u32) -> (u64, u64) {
    const C1: u64 = 0x87c3_7b91_1142_53d5;
    const C2: u64 = 0x4cf5_ad43_2745_937f;
    let mix1 = |k: u64| k.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    let mix2 = |k: u64| k.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
    let mut h1 = u64::from(seed);
    let mut h2 = u64::from(seed);
    let mut blocks = data.chunks_exact(16);
    for b in &mut blocks {
        let (lo, hi) = b.split_at(8);
        h1 ^= mix1(le(lo));
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= mix2(le(hi));
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    if tail.len() > 8 {
        h2 ^= mix2(le(tail.get(8..).unwrap_or(&[])));
    }
    if !tail.is_empty() {
        h1 ^= mix1(le(tail.get(..tail.len().min(8)).unwrap_or(&[])));
    }
    h1 ^= data.len() as u64;
    h2 ^= data.len() as u64;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1, h2)
}

/// The original's `mmhash`: `h1 ^ h2` of MurmurHash3_x64_128 with seed 0; equal to
/// ClickHouse `murmurHash3_64(String)`. Hash text as its UTF-8 bytes.
pub fn mmhash(data: &[u8]) -> u64 {
    let (h1, h2) = murmur3_x64_128(data, 0);
    h1 ^ h2
}

/// Why [`pkg_hash`] has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkgHashError {
    /// The SHA1HEADER string is not hex.
    #[error("SHA1HEADER is not a hex string")]
    BadSha1Hex,
    /// The build time is before [`PKG_HASH_EPOCH`]; the original would compute a negative
    /// number that no UInt64 column accepts.
    #[error("build time {0} is before 1000000000")]
    BuildTimeBeforeEpoch(u64),
}

/// The snowflake-like package id of §4.1:
/// `((buildtime − 1e9) << 32) | MurmurHash3_x86_32(sha1_raw ‖ sigmd5 ‖ siggpg, 0)`.
///
/// `sha1header_hex` is the SHA1HEADER (269) string as stored (40 hex digits, or empty when
/// absent, which contributes no bytes); `sigmd5` (261) and `siggpg` (262) are raw, empty when
/// absent. Values of `buildtime − 1e9` above 2^32 wrap out of the top, as in a UInt64.
pub fn pkg_hash(
    buildtime: u64,
    sha1header_hex: &[u8],
    sigmd5: &[u8],
    siggpg: &[u8],
) -> std::result::Result<u64, PkgHashError> {
    let sha1 = hex::decode(sha1header_hex).map_err(|_| PkgHashError::BadSha1Hex)?;
    let delta = buildtime
        .checked_sub(PKG_HASH_EPOCH)
        .ok_or(PkgHashError::BuildTimeBeforeEpoch(buildtime))?;
    let mut data = Vec::with_capacity(sha1.len() + sigmd5.len() + siggpg.len());
    data.extend_from_slice(&sha1);
    data.extend_from_slice(sigmd5);
    data.extend_from_slice(siggpg);
    Ok((delta << 32) | u64::from(murmur3_x86_32(&data, 0)))
}

impl Header<'_, Tag> {
    /// [`pkg_hash`] of this header (use the merged header of a [`crate::Package`], or an
    /// rpmdb blob, where SHA1HEADER / SIGMD5 / SIGGPG are main-header tags).
    ///
    /// BUILDTIME must be present. A missing SHA1HEADER, SIGMD5 or SIGGPG contributes no bytes,
    /// as in the original.
    pub fn pkg_hash(&self) -> Result<u64> {
        let bt = self.entry(Tag::BUILDTIME).ok_or(Error::MissingTag {
            offset: self.offset(),
            tag: Tag::BUILDTIME.into(),
        })?;
        let buildtime = bt.u64s()?.next().unwrap_or(0);
        let sha1 = self.string(Tag::SHA1HEADER)?.unwrap_or(&[]);
        let md5 = self.bin(Tag::SIGMD5)?.unwrap_or(&[]);
        let gpg = self.bin(Tag::SIGGPG)?.unwrap_or(&[]);
        pkg_hash(buildtime, sha1, md5, gpg).map_err(|e| match e {
            PkgHashError::BadSha1Hex => Error::BadHex {
                offset: self
                    .entry(Tag::SHA1HEADER)
                    .map_or(self.offset(), |e| e.offset()),
                tag: Tag::SHA1HEADER.into(),
                value: crate::header::text(sha1).into_owned(),
            },
            PkgHashError::BuildTimeBeforeEpoch(t) => Error::BuildTimeBeforeEpoch {
                offset: bt.offset(),
                tag: Tag::BUILDTIME.into(),
                buildtime: t,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SELECT murmurHash3_64(x)` computed by the real ClickHouse engine (chdb embedded in
    /// /root/.local/share/altrepodb/venv, run on 2026-11-24), inputs as SQL literals.
    const CLICKHOUSE_MURMURHASH3_64: &[(&[u8], u64)] = &[
        (b"hello", 10432086992150038043),
        (b"", 0),
        (b"a", 7196874446409822675),
        (b"abcdefghijklmno", 16206951459937977754),
        (b"abcdefghijklmnop", 9798119984411270201),
        (b"abcdefghijklmnopq", 11078360174949084083),
        (
            b"The quick brown fox jumps over the lazy dog",
            11027205329071736875,
        ),
        (
            b"- update to 7.3\n- fix CVE-2025-1234",
            12668243136507728958,
        ),
        // unhex('00ff80c3a9'): NUL and bytes that are not UTF-8.
        (b"\x00\xff\x80\xc3\xa9", 935841536439760749),
        ("Привет, мир".as_bytes(), 3851726242331260845),
    ];

    /// `SELECT murmurHash3_32(x)` from the same ClickHouse session.
    const CLICKHOUSE_MURMURHASH3_32: &[(&[u8], u32)] = &[
        (b"", 0),
        (b"hello", 613153351),
        (b"abc", 3017643002),
        (b"abcd", 1139631978),
        (b"The quick brown fox jumps over the lazy dog", 776992547),
    ];

    #[test]
    fn mmhash_matches_clickhouse() {
        for &(input, want) in CLICKHOUSE_MURMURHASH3_64 {
            assert_eq!(mmhash(input), want, "{input:?}");
        }
    }

    #[test]
    fn x86_32_matches_clickhouse() {
        for &(input, want) in CLICKHOUSE_MURMURHASH3_32 {
            assert_eq!(murmur3_x86_32(input, 0), want, "{input:?}");
        }
    }

    #[test]
    fn agrees_with_the_murmur3_crate_on_all_tail_lengths() {
        let data: Vec<u8> = (0u32..300).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..data.len() {
            let d = &data[..n];
            for seed in [0u32, 1, 0xdead_beef] {
                let want32 = murmur3::murmur3_32(&mut &d[..], seed).unwrap();
                assert_eq!(murmur3_x86_32(d, seed), want32, "x86_32 len {n}");
                let want128 = murmur3::murmur3_x64_128(&mut &d[..], seed).unwrap();
                // The crate packs (h2 << 64) | h1.
                let (h1, h2) = murmur3_x64_128(d, seed);
                assert_eq!(
                    ((h2 as u128) << 64) | h1 as u128,
                    want128,
                    "x64_128 len {n}"
                );
            }
        }
    }

    #[test]
    fn pkg_hash_layout() {
        let sha1 = b"0123456789abcdef0123456789abcdef01234567";
        let md5 = [0x11u8; 16];
        let h = pkg_hash(1_600_000_000, sha1, &md5, b"").unwrap();
        assert_eq!(h >> 32, 600_000_000);
        let mut data = hex::decode(sha1).unwrap();
        data.extend_from_slice(&md5);
        assert_eq!(h as u32, murmur3_x86_32(&data, 0));
        // Absent everything: hash of the empty string is 0.
        assert_eq!(pkg_hash(1_000_000_001, b"", b"", b"").unwrap(), 1 << 32);
        assert_eq!(
            pkg_hash(999_999_999, b"", b"", b""),
            Err(PkgHashError::BuildTimeBeforeEpoch(999_999_999))
        );
        assert_eq!(
            pkg_hash(1_600_000_000, b"xyz", b"", b""),
            Err(PkgHashError::BadSha1Hex)
        );
    }

    #[test]
    fn header_pkg_hash_errors() {
        use crate::header::tests::blob;
        let b = blob(&[], &[]);
        let e = Header::from_blob(&b).unwrap().pkg_hash().unwrap_err();
        assert!(matches!(e, Error::MissingTag { offset: 0, .. }), "{e:?}");
        let b = blob(&[(1006, 4, 0, 1)], &999_999_999u32.to_be_bytes());
        let e = Header::from_blob(&b).unwrap().pkg_hash().unwrap_err();
        assert!(
            matches!(
                e,
                Error::BuildTimeBeforeEpoch {
                    offset: 8,
                    buildtime: 999_999_999,
                    ..
                }
            ),
            "{e:?}"
        );
        let mut st = 1_600_000_000u32.to_be_bytes().to_vec();
        st.extend_from_slice(b"abc\0");
        let b = blob(&[(269, 6, 4, 1), (1006, 4, 0, 1)], &st);
        let e = Header::from_blob(&b).unwrap().pkg_hash().unwrap_err();
        assert!(matches!(e, Error::BadHex { offset: 8, .. }), "{e:?}");
        let b = blob(&[(1006, 4, 0, 1)], &st[..4]);
        assert_eq!(
            Header::from_blob(&b).unwrap().pkg_hash().unwrap(),
            600_000_000 << 32
        );
    }
}
