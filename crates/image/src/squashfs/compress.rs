//! The squashfs compressors: each block (metadata or data) decompresses on its own.

use std::io::Read;

use super::lzo;

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
    pub(super) fn decompress(self, input: &[u8], max_out: usize) -> Result<Vec<u8>, String> {
        fn bounded(mut r: impl Read, max_out: usize) -> Result<Vec<u8>, String> {
            let mut out = Vec::new();
            r.by_ref()
                .take(max_out as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| e.to_string())?;
            if out.len() > max_out {
                return Err(format!("decompresses to more than {max_out} bytes"));
            }
            Ok(out)
        }
        match self {
            Compressor::Gzip => bounded(flate2::read::ZlibDecoder::new(input), max_out),
            Compressor::Xz => bounded(liblzma::read::XzDecoder::new(input), max_out),
            Compressor::Lzma => {
                let stream = liblzma::stream::Stream::new_lzma_decoder(256 << 20)
                    .map_err(|e| e.to_string())?;
                bounded(liblzma::read::XzDecoder::new_stream(input, stream), max_out)
            }
            Compressor::Lzo => lzo::decompress(input, max_out),
            Compressor::Lz4 => {
                let mut out = vec![0u8; max_out];
                let n =
                    lz4_flex::block::decompress_into(input, &mut out).map_err(|e| e.to_string())?;
                out.truncate(n);
                Ok(out)
            }
            Compressor::Zstd => {
                let mut out = Vec::with_capacity(max_out);
                zstd::bulk::Decompressor::new()
                    .and_then(|mut d| d.decompress_to_buffer(input, &mut out))
                    .map_err(|e| e.to_string())?;
                Ok(out)
            }
        }
    }
}
