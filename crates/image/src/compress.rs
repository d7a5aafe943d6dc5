//! Recognising and undoing the stream compressions images and layers come in.

use std::io::{self, Read};

use crate::error::{Error, Result};

/// The memory an xz decoder may use: enough for `xz -9e` (a 64 MiB dictionary), while a
/// hostile header asking for a 1.5 GiB dictionary is refused instead of allocated.
pub const XZ_MEMLIMIT: u64 = 256 << 20;

/// A stream compression, recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Not compressed (or not a compression we know).
    None,
    /// gzip (one or more members).
    Gzip,
    /// xz (one or more streams).
    Xz,
    /// Zstandard (one or more frames).
    Zstd,
    /// bzip2 (one or more streams).
    Bzip2,
}

impl Compression {
    /// The compression whose magic `head` starts with (`head` needs at most 6 bytes).
    pub fn detect(head: &[u8]) -> Self {
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
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
        }
    }

    /// A reader of the decompressed bytes of `inner`.
    pub fn decoder<'a, R: Read + Send + 'a>(self, inner: R) -> Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Compression::None => Box::new(inner),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(inner)),
            Compression::Xz => {
                let stream = liblzma::stream::Stream::new_stream_decoder(
                    XZ_MEMLIMIT,
                    liblzma::stream::CONCATENATED,
                )
                .map_err(|e| Error::Unsupported {
                    what: "xz decoder",
                    detail: e.to_string(),
                })?;
                Box::new(liblzma::read::XzDecoder::new_stream(inner, stream))
            }
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::new(inner)
                    .map_err(|source| Error::Io { offset: 0, source })?,
            ),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(inner)),
        })
    }
}

/// Reads the first bytes of `inner` to recognise its compression and returns the
/// decompressed stream with that compression (the sniffed bytes are not lost).
pub fn sniff<'a, R: Read + Send + 'a>(
    mut inner: R,
) -> Result<(Compression, Box<dyn Read + Send + 'a>)> {
    let mut head = [0u8; 6];
    let mut got = 0;
    while got < head.len() {
        match inner.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Error::Io {
                    offset: got as u64,
                    source,
                })
            }
        }
    }
    let kind = Compression::detect(&head[..got]);
    let chained = io::Cursor::new(head[..got].to_vec()).chain(inner);
    Ok((kind, kind.decoder(chained)?))
}

/// A reader that counts the bytes it passed on, so errors deep in a stream can name the
/// offset they happened at.
pub struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R> Counting<R> {
    /// Counts from zero.
    pub fn new(inner: R) -> Self {
        Counting { inner, count: 0 }
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_magics() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(Compression::detect(b"\xfd7zXZ\0"), Compression::Xz);
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::detect(b"BZh9"), Compression::Bzip2);
        assert_eq!(Compression::detect(b"BZhx"), Compression::None);
        assert_eq!(Compression::detect(b"ustar"), Compression::None);
        assert_eq!(Compression::detect(b""), Compression::None);
    }
}
