//! RPM payloads: compression detection, streaming decompression, compression (for the
//! writer) and spec-file extraction from source packages.
//!
//! The payload is whatever follows the main header. Its compression is detected from the
//! first bytes, as the original loader does, not from PAYLOADCOMPRESSOR (old and odd
//! packages lie or omit it): `42 5A` bzip2, `1F 8B` gzip, `FD 37` xz, `5D 00` lzma,
//! `28 B5` zstd, `30 37` plain cpio.

use std::io::{self, Read};

use crate::cpio::{CpioError, CpioReader, StrippedFile};
use crate::header::Header;
use crate::package::Package;
use crate::tags::Tag;

/// Largest memory the xz/lzma decoders may use; real payloads need a few MiB to 64 MiB.
const LZMA_MEMLIMIT: u64 = 1 << 30;

/// Payload compression (the shared stream compression; [`Compression::detect`] is the
/// payload rule).
pub use altrepodb_compress::Compression;

/// What went wrong while reading a payload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The first bytes match no known compression or cpio magic.
    #[error("payload: unknown compression, first bytes {magic:02x?} at payload offset 0")]
    UnknownCompression {
        /// Up to 6 leading bytes.
        magic: Vec<u8>,
    },
    /// The decompressor could not be set up (or its first read failed).
    #[error("payload: cannot start {compression} decompression: {source}")]
    Decompressor {
        /// The detected compression.
        compression: Compression,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Reading the payload failed; the offset inside is in the uncompressed cpio stream.
    #[error(transparent)]
    Cpio(#[from] CpioError),
    /// The package's headers could not be read.
    #[error(transparent)]
    Header(#[from] crate::Error),
}

/// Wraps `reader` (positioned at the start of compressed data) in a streaming decompressor.
pub fn decompress_reader<'a, R: Read + 'a>(
    reader: R,
    compression: Compression,
) -> Result<Box<dyn Read + 'a>, PayloadError> {
    let limits = altrepodb_compress::Limits {
        memlimit: LZMA_MEMLIMIT,
        concatenated: true,
    };
    let dec =
        compression
            .decoder_with(reader, limits)
            .map_err(|source| PayloadError::Decompressor {
                compression,
                source,
            })?;
    Ok(Box::new(dec))
}

/// Detects the compression of `payload` and returns a cpio reader over the decompressed
/// stream.
pub fn payload_reader(payload: &[u8]) -> Result<CpioReader<Box<dyn Read + '_>>, PayloadError> {
    let compression = Compression::detect(payload).ok_or_else(|| unknown(payload))?;
    Ok(CpioReader::new(decompress_reader(payload, compression)?))
}

/// Like [`payload_reader`] for a stream (e.g. a file positioned after the main header).
pub fn payload_reader_from<'a, R: Read + 'a>(
    reader: R,
) -> Result<CpioReader<Box<dyn Read + 'a>>, PayloadError> {
    let (head, joined) = altrepodb_compress::head(reader, 6)
        .map_err(|(_, source)| CpioError::Io { offset: 0, source })?;
    let compression = Compression::detect(&head).ok_or_else(|| unknown(&head))?;
    Ok(CpioReader::new(decompress_reader(joined, compression)?))
}

fn unknown(head: &[u8]) -> PayloadError {
    PayloadError::UnknownCompression {
        magic: head[..head.len().min(6)].to_vec(),
    }
}

#[cfg(feature = "writer")]
/// Compresses `data` with `compression` at `level` (the value that goes into PAYLOADFLAGS).
pub fn compress(data: &[u8], compression: Compression, level: u32) -> io::Result<Vec<u8>> {
    use std::io::Write;
    let lzma_err = |e: liblzma::stream::Error| io::Error::other(e);
    match compression {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            // GzBuilder writes mtime 0 and no name, so output is deterministic.
            let mut enc =
                flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::new(level.min(9)));
            enc.write_all(data)?;
            enc.finish()
        }
        Compression::Bzip2 => {
            let mut enc = bzip2::write::BzEncoder::new(
                Vec::new(),
                bzip2::Compression::new(level.clamp(1, 9)),
            );
            enc.write_all(data)?;
            enc.finish()
        }
        Compression::Xz => {
            let stream = liblzma::stream::Stream::new_easy_encoder(
                level.min(9),
                liblzma::stream::Check::Crc32,
            )
            .map_err(lzma_err)?;
            let mut enc = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
            enc.write_all(data)?;
            enc.finish()
        }
        Compression::Lzma => {
            let opts = liblzma::stream::LzmaOptions::new_preset(level.min(9)).map_err(lzma_err)?;
            let stream = liblzma::stream::Stream::new_lzma_encoder(&opts).map_err(lzma_err)?;
            let mut enc = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
            enc.write_all(data)?;
            enc.finish()
        }
        Compression::Zstd => zstd::stream::encode_all(data, level.min(22) as i32),
    }
}

/// A spec file found in a source package payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecFile {
    /// Entry name as stored in the archive (raw bytes, usually `name.spec`).
    pub name: Vec<u8>,
    /// Entry modification time (seconds since the epoch).
    pub mtime: u64,
    /// File content (raw bytes).
    pub content: Vec<u8>,
}

impl SpecFile {
    /// The name as text, non-UTF-8 bytes replaced.
    pub fn name_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }
}

/// Bounds for [`extract_spec_with`].
#[derive(Debug, Clone, Copy)]
pub struct SpecLimits {
    /// Largest spec file accepted.
    pub max_spec_size: u64,
    /// Most archive entries examined before giving up.
    pub max_entries: u64,
}

impl Default for SpecLimits {
    fn default() -> Self {
        SpecLimits {
            max_spec_size: 64 << 20,
            max_entries: 1_000_000,
        }
    }
}

/// Whether an archive entry name denotes a spec file: it ends with `.spec` or is `spec`.
pub fn is_spec_name(name: &[u8]) -> bool {
    let bare = name.strip_prefix(b"./").unwrap_or(name);
    name.ends_with(b".spec") || bare == b"spec"
}

/// Finds the first regular entry named `*.spec` or `spec` in a payload (the bytes after the
/// main header) and returns it; `Ok(None)` when there is none.
pub fn extract_spec(payload: &[u8]) -> Result<Option<SpecFile>, PayloadError> {
    extract_spec_with(payload_reader(payload)?, SpecLimits::default())
}

/// [`extract_spec`] for a whole `.rpm` file: finds the payload after the main header and
/// passes the header's file list along, so rpm 6's stripped cpio entries are readable too.
pub fn extract_spec_from_package(rpm: &[u8]) -> Result<Option<SpecFile>, PayloadError> {
    let pkg = Package::parse(rpm)?;
    let payload = rpm
        .get(pkg.payload_offset() as usize..)
        .ok_or(CpioError::Truncated {
            offset: 0,
            what: "payload",
        })?;
    let files = stripped_files(pkg.main_header())?;
    extract_spec_with(
        payload_reader(payload)?.with_stripped_files(files),
        SpecLimits::default(),
    )
}

/// The file list of a main header as [`StrippedFile`]s (names as rpm writes them into the
/// archive: `./path` for absolute paths, bare otherwise).
pub fn stripped_files(h: &Header<'_, Tag>) -> Result<Vec<StrippedFile>, crate::Error> {
    let names = h.file_names()?;
    let modes = h.u32_array(Tag::FILEMODES)?;
    let sizes = h.u32_array(Tag::FILESIZES)?;
    let long_sizes = h.u64_array(Tag::LONGFILESIZES)?;
    let mtimes = h.u32_array(Tag::FILEMTIMES)?;
    Ok(names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let name = if n.starts_with(b"/") {
                [&b"."[..], n].concat()
            } else {
                n.to_vec()
            };
            let mode = modes.get(i).unwrap_or(0);
            let size = long_sizes
                .get(i)
                .or_else(|| sizes.get(i).map(u64::from))
                .unwrap_or(0);
            // Only regular files and symlinks have data in the archive.
            let size = match mode & crate::cpio::S_IFMT {
                crate::cpio::S_IFREG | crate::cpio::S_IFLNK => size,
                _ => 0,
            };
            StrippedFile {
                name,
                mode,
                size,
                mtime: mtimes.get(i).map_or(0, u64::from),
            }
        })
        .collect())
}

/// [`extract_spec`] over an already opened cpio stream, with explicit limits.
pub fn extract_spec_with<R: Read>(
    mut cpio: CpioReader<R>,
    limits: SpecLimits,
) -> Result<Option<SpecFile>, PayloadError> {
    let mut seen = 0u64;
    while let Some(entry) = cpio.next_entry()? {
        if entry.is_trailer() {
            break;
        }
        seen += 1;
        if seen > limits.max_entries {
            return Err(CpioError::TooLarge {
                offset: entry.offset,
                what: "entry count",
                size: seen,
                limit: limits.max_entries,
            }
            .into());
        }
        if entry.is_regular() && is_spec_name(&entry.name) {
            let content = cpio.read_data(limits.max_spec_size)?;
            return Ok(Some(SpecFile {
                name: entry.name,
                mtime: entry.mtime,
                content,
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "writer")]
    fn compress_detect_roundtrip() {
        let data = b"0707010000hello world hello world hello world".repeat(50);
        for c in Compression::ALL {
            let z = compress(&data, c, c.default_level()).unwrap();
            assert_eq!(Compression::detect(&z), Some(c), "{c}");
            let mut out = Vec::new();
            decompress_reader(&z[..], c)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "{c}");
        }
    }
}
