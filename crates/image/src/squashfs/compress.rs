//! The squashfs compressors: each block (metadata or data) decompresses on its own.

use std::io::Read;

use altrepodb_compress::{Compression, XZ_MEMLIMIT};

use super::lzo;

/// Why one block did not decompress.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The decoder failed (or could not be set up).
    #[error("{0}")]
    Decoder(#[from] std::io::Error),
    /// The block holds more than the block size.
    #[error("decompresses to more than {0} bytes")]
    TooLarge(usize),
    /// An LZ4 block is corrupt.
    #[error("{0}")]
    Lz4(#[from] lz4_flex::block::DecompressError),
    /// An LZO block is corrupt (the message names the byte).
    #[error("{0}")]
    Lzo(String),
}

/// The compressor ids of the squashfs 4 superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compressor {
    /// zlib streams (`-comp gzip`).
    Gzip,
    /// LZMA "alone" streams (`-comp lzma`, old squashfs-tools).
    Lzma,
    /// LZO1X (`-comp lzo`).
    Lzo,
    /// xz streams (`-comp xz`, any BCJ filter).
    Xz,
    /// LZ4 blocks (`-comp lz4`).
    Lz4,
    /// zstd frames (`-comp zstd`).
    Zstd,
}

impl Compressor {
    /// The compressor with superblock id `id`.
    pub fn from_id(id: u16) -> Option<Self> {
        Some(match id {
            1 => Compressor::Gzip,
            2 => Compressor::Lzma,
            3 => Compressor::Lzo,
            4 => Compressor::Xz,
            5 => Compressor::Lz4,
            6 => Compressor::Zstd,
            _ => return None,
        })
    }

    /// Decompresses one block into at most `max_out` bytes.
    pub(super) fn decompress(self, input: &[u8], max_out: usize) -> Result<Vec<u8>, BlockError> {
        fn bounded(mut r: impl Read, max_out: usize) -> Result<Vec<u8>, BlockError> {
            let mut out = Vec::new();
            r.by_ref().take(max_out as u64 + 1).read_to_end(&mut out)?;
            if out.len() > max_out {
                return Err(BlockError::TooLarge(max_out));
            }
            Ok(out)
        }
        match self {
            Compressor::Gzip => bounded(flate2::read::ZlibDecoder::new(input), max_out),
            Compressor::Xz | Compressor::Lzma => {
                // One xz stream (or lzma_alone stream) per block, with the shared memory
                // bound on the decoder.
                let kind = if self == Compressor::Xz {
                    Compression::Xz
                } else {
                    Compression::Lzma
                };
                let limits = altrepodb_compress::Limits {
                    memlimit: XZ_MEMLIMIT,
                    concatenated: false,
                };
                bounded(kind.decoder_with(input, limits)?, max_out)
            }
            Compressor::Lzo => lzo::decompress(input, max_out),
            Compressor::Lz4 => {
                let mut out = vec![0u8; max_out];
                let n = lz4_flex::block::decompress_into(input, &mut out)?;
                out.truncate(n);
                Ok(out)
            }
            Compressor::Zstd => {
                let mut out = Vec::with_capacity(max_out);
                zstd::bulk::Decompressor::new()
                    .and_then(|mut d| d.decompress_to_buffer(input, &mut out))?;
                Ok(out)
            }
        }
    }
}
