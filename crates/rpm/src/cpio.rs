//! Streaming reader and writer for cpio archives as used in RPM payloads.
//!
//! Reads the SVR4 "newc" format (`070701`, and `070702` which only adds a checksum) and
//! the old portable "odc" format (`070707`). The reader never trusts the sizes it reads:
//! names are bounded, entry data is skipped or read with a caller-given limit, and every
//! error names the byte offset (in the uncompressed archive) where it happened.
//! rpm's "stripped" format (`07070X`, used for files over 4 GiB and by rpm 6 for every file)
//! carries only an index into the package header's file list; it can be read when the
//! caller supplies that list ([`CpioReader::with_stripped_files`]).

use std::io::{self, Read, Write};

/// cpio file type bits (`st_mode & S_IFMT`).
pub const S_IFMT: u32 = 0o170000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// Named pipe.
pub const S_IFIFO: u32 = 0o010000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// Block device.
pub const S_IFBLK: u32 = 0o060000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140000;

/// Name of the entry that ends an archive.
pub const TRAILER: &[u8] = b"TRAILER!!!";

/// Longest entry name accepted (including the trailing NUL); rpm paths are far shorter.
pub const MAX_NAME_LEN: usize = 64 * 1024;

const NEWC_HEADER_LEN: usize = 110;
const ODC_HEADER_LEN: usize = 76;

/// Header fields of one cpio entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpioEntry {
    /// Entry name as stored (rpm binary payloads use `./usr/...`, source payloads bare names).
    pub name: Vec<u8>,
    /// Inode number.
    pub ino: u32,
    /// File mode including type bits.
    pub mode: u32,
    /// Owner id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Number of links.
    pub nlink: u32,
    /// Modification time (seconds since the epoch).
    pub mtime: u64,
    /// Size of the entry data that follows the header.
    pub size: u64,
    /// Device major of the file system holding the file.
    pub dev_major: u32,
    /// Device minor of the file system holding the file.
    pub dev_minor: u32,
    /// Device major for character and block devices.
    pub rdev_major: u32,
    /// Device minor for character and block devices.
    pub rdev_minor: u32,
    /// Offset of the entry header in the (uncompressed) archive.
    pub offset: u64,
}

impl CpioEntry {
    /// Whether this is a regular file.
    pub fn is_regular(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }
    /// Whether this is the archive trailer.
    pub fn is_trailer(&self) -> bool {
        self.name == TRAILER
    }
}

/// What went wrong while reading a cpio archive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CpioError {
    /// The underlying reader (or decompressor) failed.
    #[error("cpio: read error at offset {offset}: {source}")]
    Io {
        /// Offset in the archive where the read started.
        offset: u64,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The archive ended inside a header, name or entry body.
    #[error("cpio: truncated {what} at offset {offset}")]
    Truncated {
        /// Offset where the missing bytes should have been.
        offset: u64,
        /// What was being read.
        what: &'static str,
    },
    /// No known cpio magic at an entry boundary.
    #[error("cpio: bad magic {found:02x?} at offset {offset}")]
    BadMagic {
        /// Offset of the entry header.
        offset: u64,
        /// The first bytes found there.
        found: Vec<u8>,
    },
    /// A header field is not valid hex/octal, or is out of range.
    #[error("cpio: bad header field {field} at offset {offset}")]
    BadField {
        /// Offset of the entry header.
        offset: u64,
        /// Field name.
        field: &'static str,
    },
    /// An entry is larger than the caller allows.
    #[error("cpio: {what} of {size} bytes at offset {offset} exceeds the limit of {limit}")]
    TooLarge {
        /// Offset of the entry header.
        offset: u64,
        /// What is too large.
        what: &'static str,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// rpm's stripped cpio (`07070X`) needs the package header's file list to read.
    #[error("cpio: stripped rpm cpio entry at offset {offset}, but no header file list given")]
    Stripped {
        /// Offset of the entry header.
        offset: u64,
    },
}

/// One file of the package header, describing a stripped (`07070X`) cpio entry, which
/// holds only the file's index in the header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StrippedFile {
    /// Archive name (as a normal cpio entry would have it: `./usr/...` or a bare name).
    pub name: Vec<u8>,
    /// File mode including type bits (FILEMODES).
    pub mode: u32,
    /// Size of the entry data (FILESIZES / LONGFILESIZES; 0 for non-regular files).
    pub size: u64,
    /// Modification time (FILEMTIMES).
    pub mtime: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Newc,
    Odc,
}

/// Streaming cpio reader. Call [`CpioReader::next_entry`] to move to the next entry
/// (the rest of the current entry's data is skipped), then optionally read its data.
pub struct CpioReader<R> {
    inner: R,
    pos: u64,
    /// Data bytes of the current entry not yet consumed.
    remaining: u64,
    /// Padding after the current entry's data.
    pad_after: u64,
    current_offset: u64,
    done: bool,
    format: Option<Format>,
    stripped: Option<Vec<StrippedFile>>,
}

impl<R: Read> CpioReader<R> {
    /// Wraps a reader positioned at the start of a cpio archive.
    pub fn new(inner: R) -> Self {
        CpioReader {
            inner,
            pos: 0,
            remaining: 0,
            pad_after: 0,
            current_offset: 0,
            done: false,
            format: None,
            stripped: None,
        }
    }

    /// Supplies the header's file list so stripped (`07070X`) entries can be read.
    pub fn with_stripped_files(mut self, files: Vec<StrippedFile>) -> Self {
        self.stripped = Some(files);
        self
    }

    /// Offset in the archive of the next byte to be read.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Returns the next entry's header; the trailer is returned once, then `None`. Skips
    /// whatever is left of the previous entry's data. An archive that ends without a trailer
    /// is an error ([`CpioError::Truncated`]).
    pub fn next_entry(&mut self) -> Result<Option<CpioEntry>, CpioError> {
        if self.done {
            return Ok(None);
        }
        let skip = self.remaining + self.pad_after;
        self.skip(skip, "entry data")?;
        self.remaining = 0;
        self.pad_after = 0;

        let offset = self.pos;
        let mut magic = [0u8; 6];
        let got = self.read_some(&mut magic)?;
        if got == 0 {
            // No trailer: the archive was cut at an entry boundary.
            return Err(CpioError::Truncated {
                offset,
                what: "archive (no trailer)",
            });
        }
        if got < magic.len() {
            return Err(CpioError::Truncated {
                offset,
                what: "entry header",
            });
        }
        let format = match &magic {
            b"070701" | b"070702" => Format::Newc,
            b"070707" => Format::Odc,
            b"07070X" => return self.read_stripped(offset),
            _ => {
                return Err(CpioError::BadMagic {
                    offset,
                    found: magic.to_vec(),
                })
            }
        };
        self.format.get_or_insert(format);
        let mut entry = match format {
            Format::Newc => self.read_newc(offset)?,
            Format::Odc => self.read_odc(offset)?,
        };
        entry.offset = offset;
        self.current_offset = offset;
        if entry.is_trailer() {
            self.done = true;
            return Ok(Some(entry));
        }
        self.remaining = entry.size;
        self.pad_after = match format {
            Format::Newc => pad4(entry.size),
            Format::Odc => 0,
        };
        Ok(Some(entry))
    }

    fn read_stripped(&mut self, offset: u64) -> Result<Option<CpioEntry>, CpioError> {
        if self.stripped.is_none() {
            return Err(CpioError::Stripped { offset });
        }
        let mut h = [0u8; 8];
        self.read_exact(&mut h, "stripped entry header")?;
        let index = parse_radix(&h, 16).ok_or(CpioError::BadField {
            offset,
            field: "stripped file index",
        })?;
        // Magic and index are 14 bytes, padded to 16.
        self.skip(2, "stripped entry padding")?;
        let file = usize::try_from(index)
            .ok()
            .and_then(|i| self.stripped.as_ref().and_then(|t| t.get(i)))
            .ok_or(CpioError::BadField {
                offset,
                field: "stripped file index",
            })?;
        let entry = CpioEntry {
            name: file.name.clone(),
            ino: index as u32,
            mode: file.mode,
            nlink: 1,
            mtime: file.mtime,
            size: file.size,
            offset,
            ..CpioEntry::default()
        };
        self.current_offset = offset;
        self.remaining = entry.size;
        self.pad_after = pad4(entry.size);
        Ok(Some(entry))
    }

    fn read_newc(&mut self, offset: u64) -> Result<CpioEntry, CpioError> {
        let mut h = [0u8; NEWC_HEADER_LEN - 6];
        self.read_exact(&mut h, "entry header")?;
        let field = |i: usize, name: &'static str| -> Result<u32, CpioError> {
            let s = &h[i * 8..i * 8 + 8];
            parse_radix(s, 16)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or(CpioError::BadField {
                    offset,
                    field: name,
                })
        };
        let mut e = CpioEntry {
            ino: field(0, "ino")?,
            mode: field(1, "mode")?,
            uid: field(2, "uid")?,
            gid: field(3, "gid")?,
            nlink: field(4, "nlink")?,
            mtime: u64::from(field(5, "mtime")?),
            size: u64::from(field(6, "filesize")?),
            dev_major: field(7, "devmajor")?,
            dev_minor: field(8, "devminor")?,
            rdev_major: field(9, "rdevmajor")?,
            rdev_minor: field(10, "rdevminor")?,
            ..CpioEntry::default()
        };
        let namesize = field(11, "namesize")? as usize;
        e.name = self.read_name(offset, namesize)?;
        // Header plus name is padded to a multiple of 4.
        let pad = pad4((NEWC_HEADER_LEN + namesize) as u64);
        self.skip(pad, "name padding")?;
        Ok(e)
    }

    fn read_odc(&mut self, offset: u64) -> Result<CpioEntry, CpioError> {
        let mut h = [0u8; ODC_HEADER_LEN - 6];
        self.read_exact(&mut h, "entry header")?;
        // Field widths after the magic: dev ino mode uid gid nlink rdev mtime namesize filesize.
        let widths: [(usize, &'static str); 10] = [
            (6, "dev"),
            (6, "ino"),
            (6, "mode"),
            (6, "uid"),
            (6, "gid"),
            (6, "nlink"),
            (6, "rdev"),
            (11, "mtime"),
            (6, "namesize"),
            (11, "filesize"),
        ];
        let mut vals = [0u64; 10];
        let mut at = 0;
        for (k, (w, name)) in widths.iter().enumerate() {
            vals[k] = parse_radix(&h[at..at + w], 8).ok_or(CpioError::BadField {
                offset,
                field: name,
            })?;
            at += w;
        }
        let small = |v: u64, field: &'static str| {
            u32::try_from(v).map_err(|_| CpioError::BadField { offset, field })
        };
        let (dev, rdev) = (vals[0], vals[6]);
        let mut e = CpioEntry {
            ino: small(vals[1], "ino")?,
            mode: small(vals[2], "mode")?,
            uid: small(vals[3], "uid")?,
            gid: small(vals[4], "gid")?,
            nlink: small(vals[5], "nlink")?,
            mtime: vals[7],
            size: vals[9],
            // odc stores 18-bit old-style device numbers: major in the high byte.
            dev_major: (dev >> 8) as u32,
            dev_minor: (dev & 0xff) as u32,
            rdev_major: (rdev >> 8) as u32,
            rdev_minor: (rdev & 0xff) as u32,
            ..CpioEntry::default()
        };
        e.name = self.read_name(offset, vals[8] as usize)?;
        Ok(e)
    }

    fn read_name(&mut self, offset: u64, namesize: usize) -> Result<Vec<u8>, CpioError> {
        if namesize == 0 {
            return Err(CpioError::BadField {
                offset,
                field: "namesize",
            });
        }
        if namesize > MAX_NAME_LEN {
            return Err(CpioError::TooLarge {
                offset,
                what: "entry name",
                size: namesize as u64,
                limit: MAX_NAME_LEN as u64,
            });
        }
        let mut name = vec![0u8; namesize];
        self.read_exact(&mut name, "entry name")?;
        // The name is NUL-terminated; tolerate a missing NUL by keeping all bytes.
        if let Some(p) = name.iter().position(|&c| c == 0) {
            name.truncate(p);
        }
        Ok(name)
    }

    /// Reads the whole data of the current entry, failing if it is larger than `limit`.
    pub fn read_data(&mut self, limit: u64) -> Result<Vec<u8>, CpioError> {
        if self.remaining > limit {
            return Err(CpioError::TooLarge {
                offset: self.current_offset,
                what: "entry data",
                size: self.remaining,
                limit,
            });
        }
        let mut data = vec![0u8; self.remaining as usize];
        self.read_exact(&mut data, "entry data")?;
        self.remaining = 0;
        Ok(data)
    }

    /// A reader over the current entry's data (at most the entry's size).
    pub fn data_reader(&mut self) -> EntryData<'_, R> {
        EntryData { cpio: self }
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, CpioError> {
        let start = self.pos;
        let mut n = 0;
        while n < buf.len() {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(CpioError::Io {
                        offset: start + n as u64,
                        source,
                    })
                }
            }
        }
        self.pos += n as u64;
        Ok(n)
    }

    fn read_exact(&mut self, buf: &mut [u8], what: &'static str) -> Result<(), CpioError> {
        let start = self.pos;
        let n = self.read_some(buf)?;
        if n < buf.len() {
            return Err(CpioError::Truncated {
                offset: start + n as u64,
                what,
            });
        }
        Ok(())
    }

    fn skip(&mut self, mut n: u64, what: &'static str) -> Result<(), CpioError> {
        let mut buf = [0u8; 8192];
        while n > 0 {
            let want = n.min(buf.len() as u64) as usize;
            let got = self.read_some(&mut buf[..want])?;
            if got < want {
                return Err(CpioError::Truncated {
                    offset: self.pos,
                    what,
                });
            }
            n -= got as u64;
        }
        Ok(())
    }
}

/// Reader over the data of the current cpio entry; see [`CpioReader::data_reader`].
pub struct EntryData<'a, R> {
    cpio: &'a mut CpioReader<R>,
}

impl<R: Read> Read for EntryData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let c = &mut *self.cpio;
        if c.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(c.remaining) as usize;
        let n = c.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("cpio: truncated entry data at offset {}", c.pos),
            ));
        }
        c.pos += n as u64;
        c.remaining -= n as u64;
        Ok(n)
    }
}

fn pad4(n: u64) -> u64 {
    (4 - n % 4) % 4
}

fn parse_radix(s: &[u8], radix: u32) -> Option<u64> {
    let s = std::str::from_utf8(s).ok()?;
    u64::from_str_radix(s, radix).ok()
}

/// Writes cpio "newc" archives the way rpm does (names NUL-terminated, header+name and data
/// padded to 4 bytes, a `TRAILER!!!` entry at the end, no padding to 512).
pub struct CpioWriter<W> {
    inner: W,
    written: u64,
}

impl<W: Write> CpioWriter<W> {
    /// Starts an archive.
    pub fn new(inner: W) -> Self {
        CpioWriter { inner, written: 0 }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes one entry; `entry.size` is ignored and replaced by `data.len()`.
    /// Fails if a number doesn't fit the 8-hex-digit fields.
    pub fn write_entry(&mut self, entry: &CpioEntry, data: &[u8]) -> io::Result<()> {
        let size = u32::try_from(data.len()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "cpio newc entry over 4 GiB")
        })?;
        let mtime = u32::try_from(entry.mtime)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "cpio mtime over 32 bits"))?;
        let namesize = entry.name.len() + 1;
        let namesize32 = u32::try_from(namesize)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "cpio name too long"))?;
        let mut h = String::with_capacity(NEWC_HEADER_LEN);
        h.push_str("070701");
        for v in [
            entry.ino,
            entry.mode,
            entry.uid,
            entry.gid,
            entry.nlink,
            mtime,
            size,
            entry.dev_major,
            entry.dev_minor,
            entry.rdev_major,
            entry.rdev_minor,
            namesize32,
            0,
        ] {
            h.push_str(&format!("{v:08x}"));
        }
        self.put(h.as_bytes())?;
        self.put(&entry.name)?;
        self.put(&[0])?;
        let pad = pad4((NEWC_HEADER_LEN + namesize) as u64) as usize;
        self.put(&[0u8; 3][..pad])?;
        self.put(data)?;
        let pad = pad4(data.len() as u64) as usize;
        self.put(&[0u8; 3][..pad])?;
        Ok(())
    }

    /// Writes the trailer and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        let trailer = CpioEntry {
            name: TRAILER.to_vec(),
            nlink: 1,
            ..CpioEntry::default()
        };
        self.write_entry(&trailer, &[])?;
        Ok(self.inner)
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.inner.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_truncation() {
        let mut w = CpioWriter::new(Vec::new());
        let e = CpioEntry {
            name: b"./usr/bin/x".to_vec(),
            ino: 7,
            mode: S_IFREG | 0o755,
            nlink: 1,
            mtime: 1234,
            ..CpioEntry::default()
        };
        w.write_entry(&e, b"hello").unwrap();
        let archive = w.finish().unwrap();
        let mut r = CpioReader::new(&archive[..]);
        let got = r.next_entry().unwrap().unwrap();
        assert_eq!(got.name, e.name);
        assert_eq!(got.size, 5);
        assert_eq!(r.read_data(100).unwrap(), b"hello");
        assert!(r.next_entry().unwrap().unwrap().is_trailer());
        assert!(r.next_entry().unwrap().is_none());

        // Every truncation point yields an error or a clean end, never a panic.
        for cut in 0..archive.len() {
            let mut r = CpioReader::new(&archive[..cut]);
            let mut n = 0;
            while let Ok(Some(_)) = r.next_entry() {
                let _ = r.read_data(100);
                n += 1;
                assert!(n < 10);
            }
        }
    }
}
