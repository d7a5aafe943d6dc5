//! Stream compressions: recognised by their magic bytes, undone by streaming decoders whose
//! memory is bounded.
//!
//! One implementation for every reader of compressed input: RPM payloads (`altrepodb-rpm`),
//! APT header lists (`altrepodb-load`), image files and container layers (`altrepodb-image`).
//! Block-wise decompression (squashfs blocks, random access into `.img.xz`) stays with its
//! format but builds its xz/lzma decoders with [`xz_stream`] and [`lzma_stream`].
#![deny(missing_docs)]

use std::fmt;
use std::io::{self, BufReader, Cursor, Read};

/// The memory an xz or lzma decoder may use by default: enough for `xz -9e` (a 64 MiB
/// dictionary), while a hostile header asking for a 1.5 GiB dictionary is refused instead
/// of allocated.
pub const XZ_MEMLIMIT: u64 = 256 << 20;

/// A stream compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (deflate; one or more members).
    Gzip,
    /// bzip2 (one or more streams).
    Bzip2,
    /// xz container (LZMA2).
    Xz,
    /// Legacy `.lzma` ("lzma_alone"), ALT's usual RPM payload format.
    Lzma,
    /// Zstandard (one or more frames).
    Zstd,
}

impl Compression {
    /// All variants.
    pub const ALL: [Compression; 6] = [
        Compression::None,
        Compression::Gzip,
        Compression::Bzip2,
        Compression::Xz,
        Compression::Lzma,
        Compression::Zstd,
    ];

    /// The RPM payload rule: the compression from the first two bytes, as the original
    /// loader detects it (`42 5A` bzip2, `1F 8B` gzip, `FD 37` xz, `5D 00` lzma, `28 B5`
    /// zstd, `30 37` plain cpio → [`Compression::None`]); `None` for anything else.
    pub fn detect(head: &[u8]) -> Option<Compression> {
        match head {
            [0x42, 0x5A, ..] => Some(Compression::Bzip2),
            [0x1F, 0x8B, ..] => Some(Compression::Gzip),
            [0xFD, 0x37, ..] => Some(Compression::Xz),
            [0x5D, 0x00, ..] => Some(Compression::Lzma),
            [0x28, 0xB5, ..] => Some(Compression::Zstd),
            [0x30, 0x37, ..] => Some(Compression::None),
            _ => None,
        }
    }

    /// The compression whose full magic `head` starts with (`head` needs at most 6 bytes):
    /// gzip, xz, zstd or bzip2; [`Compression::None`] for anything else (lzma_alone has no
    /// magic and is never sniffed).
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Compression::Xz
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Compression::Bzip2
        } else {
            Compression::None
        }
    }

    /// A short name for messages (`gzip`, `xz`, …; `none`).
    pub fn name(self) -> &'static str {
        self.payload_compressor().unwrap_or("none")
    }

    /// The PAYLOADCOMPRESSOR value rpm writes for this compression; `None` for an
    /// uncompressed payload (rpmbuild then omits the tag).
    pub fn payload_compressor(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Bzip2 => Some("bzip2"),
            Compression::Xz => Some("xz"),
            Compression::Lzma => Some("lzma"),
            Compression::Zstd => Some("zstd"),
        }
    }

    /// Maps a PAYLOADCOMPRESSOR value back (rpm treats a missing tag as gzip).
    pub fn from_payload_compressor(name: &str) -> Option<Compression> {
        match name {
            "gzip" => Some(Compression::Gzip),
            "bzip2" => Some(Compression::Bzip2),
            "xz" => Some(Compression::Xz),
            "lzma" => Some(Compression::Lzma),
            "zstd" => Some(Compression::Zstd),
            "identity" | "none" => Some(Compression::None),
            _ => None,
        }
    }

    /// The level rpm (or ALT, for lzma) uses by default, which also becomes PAYLOADFLAGS.
    pub fn default_level(self) -> u32 {
        match self {
            Compression::None => 0,
            Compression::Gzip | Compression::Bzip2 => 9,
            Compression::Xz | Compression::Lzma => 2,
            // rpm's own default is 19; 3 keeps generated repositories fast to build.
            Compression::Zstd => 3,
        }
    }

    /// A reader of the decompressed bytes of `inner`, with the default [`Limits`].
    pub fn decoder<R: Read>(self, inner: R) -> io::Result<Decoder<R>> {
        self.decoder_with(inner, Limits::default())
    }

    /// A reader of the decompressed bytes of `inner`. Setting up the xz/lzma decoder (its
    /// memory limit) or reading the zstd frame's first bytes may fail.
    pub fn decoder_with<R: Read>(self, inner: R, limits: Limits) -> io::Result<Decoder<R>> {
        Ok(Decoder(match self {
            Compression::None => Inner::Plain(inner),
            Compression::Gzip => Inner::Gzip(flate2::read::MultiGzDecoder::new(inner)),
            Compression::Bzip2 => Inner::Bzip2(bzip2::read::MultiBzDecoder::new(inner)),
            Compression::Xz => Inner::Lzma(liblzma::read::XzDecoder::new_stream(
                inner,
                xz_stream(limits.memlimit, limits.concatenated)?,
            )),
            Compression::Lzma => Inner::Lzma(liblzma::read::XzDecoder::new_stream(
                inner,
                lzma_stream(limits.memlimit)?,
            )),
            Compression::Zstd => Inner::Zstd(zstd::stream::read::Decoder::new(inner)?),
        }))
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a decoder is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most memory an xz or lzma decoder may use (dictionary and state).
    pub memlimit: u64,
    /// Whether an xz input may hold several concatenated streams (all are decoded) or ends
    /// after the first stream (bytes after it are not read).
    pub concatenated: bool,
}

impl Default for Limits {
    /// [`XZ_MEMLIMIT`], concatenated streams.
    fn default() -> Self {
        Limits {
            memlimit: XZ_MEMLIMIT,
            concatenated: true,
        }
    }
}

/// An xz stream decoder using at most `memlimit` bytes.
pub fn xz_stream(memlimit: u64, concatenated: bool) -> io::Result<liblzma::stream::Stream> {
    let flags = if concatenated {
        liblzma::stream::CONCATENATED
    } else {
        0
    };
    Ok(liblzma::stream::Stream::new_stream_decoder(
        memlimit, flags,
    )?)
}

/// An lzma_alone decoder using at most `memlimit` bytes.
pub fn lzma_stream(memlimit: u64) -> io::Result<liblzma::stream::Stream> {
    Ok(liblzma::stream::Stream::new_lzma_decoder(memlimit)?)
}

/// The decompressed bytes of a stream; see [`Compression::decoder`].
pub struct Decoder<R: Read>(Inner<R>);

enum Inner<R: Read> {
    Plain(R),
    Gzip(flate2::read::MultiGzDecoder<R>),
    Bzip2(bzip2::read::MultiBzDecoder<R>),
    Lzma(liblzma::read::XzDecoder<R>),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<R>>),
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            Inner::Plain(r) => r.read(buf),
            Inner::Gzip(r) => r.read(buf),
            Inner::Bzip2(r) => r.read(buf),
            Inner::Lzma(r) => r.read(buf),
            Inner::Zstd(r) => r.read(buf),
        }
    }
}

impl<R: Read> fmt::Debug for Decoder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0 {
            Inner::Plain(_) => "plain",
            Inner::Gzip(_) => "gzip",
            Inner::Bzip2(_) => "bzip2",
            Inner::Lzma(_) => "xz/lzma",
            Inner::Zstd(_) => "zstd",
        };
        f.debug_tuple("Decoder").field(&kind).finish()
    }
}

/// A stream whose first bytes were read to recognise it, with those bytes put back in front.
pub type Sniffed<R> = io::Chain<Cursor<Vec<u8>>, R>;

/// Reads up to `n` (at most 6 for [`Compression::sniff`]) first bytes of `inner` and returns
/// them with the stream that still yields them. A read error reports how many bytes came
/// before it.
pub fn head<R: Read>(mut inner: R, n: usize) -> Result<(Vec<u8>, Sniffed<R>), (u64, io::Error)> {
    let mut head = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match inner.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((got as u64, e)),
        }
    }
    head.truncate(got);
    let chained = Cursor::new(head.clone()).chain(inner);
    Ok((head, chained))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn detects_magics() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(Compression::sniff(b"\xfd7zXZ\0"), Compression::Xz);
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::sniff(b"BZh9"), Compression::Bzip2);
        assert_eq!(Compression::sniff(b"BZhx"), Compression::None);
        assert_eq!(Compression::sniff(b"ustar"), Compression::None);
        assert_eq!(Compression::sniff(b""), Compression::None);
        assert_eq!(Compression::detect(b"]\0\0\x80"), Some(Compression::Lzma));
        assert_eq!(Compression::detect(b"070701"), Some(Compression::None));
        assert_eq!(Compression::detect(b"PK"), None);
    }

    /// Two xz streams back to back (as `cat a.xz b.xz` makes; written by the xz library's
    /// encoder, independent of the decoder under test).
    #[test]
    fn concatenated_xz_streams() {
        let enc = |data: &[u8]| {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        };
        let mut two = enc(b"first ");
        two.extend(enc(b"second"));
        let mut out = String::new();
        Compression::Xz
            .decoder(&two[..])
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "first second");
        let single = Limits {
            concatenated: false,
            ..Limits::default()
        };
        out.clear();
        Compression::Xz
            .decoder_with(&two[..], single)
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "first ");
    }

    #[test]
    fn memlimit_refuses_big_dictionaries() {
        // xz -9 needs a 64 MiB dictionary; a 1 MiB limit refuses it at the first read.
        let stream =
            liblzma::stream::Stream::new_easy_encoder(9, liblzma::stream::Check::Crc32).unwrap();
        let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
        e.write_all(b"data").unwrap();
        let xz = e.finish().unwrap();
        let tight = Limits {
            memlimit: 1 << 20,
            concatenated: true,
        };
        let mut out = Vec::new();
        assert!(Compression::Xz
            .decoder_with(&xz[..], tight)
            .unwrap()
            .read_to_end(&mut out)
            .is_err());
        out.clear();
        Compression::Xz
            .decoder(&xz[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"data");
    }

    #[test]
    fn head_puts_bytes_back() {
        let (h, mut rest) = head(&b"abcdefgh"[..], 6).unwrap();
        assert_eq!(h, b"abcdef");
        let mut all = Vec::new();
        rest.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"abcdefgh");
        let (h, _) = head(&b"ab"[..], 6).unwrap();
        assert_eq!(h, b"ab");
    }
}
