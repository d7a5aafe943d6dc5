//! Recognising and undoing the stream compressions images and layers come in.

use std::io::{self, Read};

use crate::error::{Error, Result};

pub use altrepodb_compress::{Compression, XZ_MEMLIMIT};

/// A reader of the decompressed bytes of `inner` (decoder memory bounded by
/// [`XZ_MEMLIMIT`]), boxed for the readers that hold any of them.
pub fn decoder<'a, R: Read + Send + 'a>(
    compression: Compression,
    inner: R,
) -> Result<Box<dyn Read + Send + 'a>> {
    match compression.decoder(inner) {
        Ok(dec) => Ok(Box::new(dec)),
        Err(e) if matches!(compression, Compression::Xz | Compression::Lzma) => {
            Err(Error::Unsupported {
                what: "xz decoder",
                detail: e.to_string(),
            })
        }
        Err(source) => Err(Error::Io { offset: 0, source }),
    }
}

/// Reads the first bytes of `inner` to recognise its compression ([`Compression::sniff`])
/// and returns the decompressed stream with that compression (the sniffed bytes are not
/// lost).
pub fn sniff<'a, R: Read + Send + 'a>(
    inner: R,
) -> Result<(Compression, Box<dyn Read + Send + 'a>)> {
    let (head, chained) = altrepodb_compress::head(inner, 6)
        .map_err(|(offset, source)| Error::Io { offset, source })?;
    let kind = Compression::sniff(&head);
    Ok((kind, decoder(kind, chained)?))
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
