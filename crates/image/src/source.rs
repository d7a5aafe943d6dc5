//! Random-access block sources.

use std::io;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Positional reads from a source of known length: a file, a decompressed image, a virtual disk.
///
/// Implementations must be safe to call from several threads at once (`&self`), so filesystem
/// readers can read files in parallel without a shared cursor.
pub trait ReadAt: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (0 at or past the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// The length of the source in bytes.
    fn len(&self) -> u64;

    /// True when the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads exactly `buf.len()` bytes at `offset`, or fails with [`Error::Corrupt`] naming
    /// `what` when the source ends first.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8], what: &'static str) -> Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset + done as u64;
            match self.read_at(at, &mut buf[done..]) {
                Ok(0) => {
                    return Err(Error::corrupt(
                        what,
                        offset,
                        format!(
                            "truncated: need {} bytes, the source ends at {}",
                            buf.len(),
                            self.len()
                        ),
                    ))
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(Error::Io { offset: at, source }),
            }
        }
        Ok(())
    }
}

impl ReadAt for std::fs::File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }

    fn len(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }
}

impl ReadAt for [u8] {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        if start >= <[u8]>::len(self) {
            return Ok(0);
        }
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }

    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }

    fn len(&self) -> u64 {
        Vec::len(self) as u64
    }
}

impl<T: ReadAt + ?Sized> ReadAt for Arc<T> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn len(&self) -> u64 {
        (**self).len()
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn len(&self) -> u64 {
        (**self).len()
    }
}

impl<T: ReadAt + ?Sized> ReadAt for Box<T> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn len(&self) -> u64 {
        (**self).len()
    }
}

/// A window `[offset, offset + len)` of another source: a partition of a disk, a filesystem
/// inside an ISO.
pub struct Slice<R> {
    inner: R,
    offset: u64,
    len: u64,
}

impl<R: ReadAt> Slice<R> {
    /// The window of `inner` starting at `offset` of `len` bytes; fails when it does not fit.
    pub fn new(inner: R, offset: u64, len: u64) -> Result<Self> {
        let end = offset.checked_add(len);
        match end {
            Some(end) if end <= inner.len() => Ok(Slice { inner, offset, len }),
            _ => Err(Error::corrupt(
                "slice",
                offset,
                format!(
                    "{len} bytes at {offset} exceed the source's {} bytes",
                    inner.len()
                ),
            )),
        }
    }

    /// Where the window starts in the inner source.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl<R: ReadAt> ReadAt for Slice<R> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(self.len - offset) as usize;
        self.inner.read_at(self.offset + offset, &mut buf[..n])
    }

    fn len(&self) -> u64 {
        self.len
    }
}

/// A sequential reader over a [`ReadAt`] (for decompressors and parsers that want `Read`).
pub struct Cursor<R> {
    inner: R,
    pos: u64,
}

impl<R: ReadAt> Cursor<R> {
    /// A reader starting at `pos`.
    pub fn new(inner: R, pos: u64) -> Self {
        Cursor { inner, pos }
    }

    /// The current position.
    pub fn position(&self) -> u64 {
        self.pos
    }
}

impl<R: ReadAt> io::Read for Cursor<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}
