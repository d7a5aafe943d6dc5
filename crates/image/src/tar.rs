//! A streaming reader of tar archives: POSIX ustar, pax (`x` and `g` records) and GNU (long
//! names `L`/`K`, base-256 numbers, the old header layout).
//!
//! Only headers are interpreted; member data is handed out or skipped. Every structure is
//! checked (header checksum, numeric fields, pax record lengths) and every error names the
//! byte offset of the header in the (decompressed) tar stream.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::source::ReadAt;

const BLOCK: u64 = 512;
/// Longest pax extended header or GNU long name accepted (Linux paths are at most 4 KiB).
pub const MAX_EXTENSION: u64 = 1 << 20;

/// The type of a tar member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TarKind {
    /// A regular file (`0`, NUL, `7`, and unknown type flags, as POSIX asks).
    Regular,
    /// A hard link to an earlier member (`1`); its target is in [`TarEntry::link`].
    HardLink,
    /// A symbolic link (`2`).
    Symlink,
    /// A character device (`3`).
    CharDevice,
    /// A block device (`4`).
    BlockDevice,
    /// A directory (`5`, GNU dump directory `D`).
    Directory,
    /// A named pipe (`6`).
    Fifo,
}

/// One member of a tar archive, after its pax and GNU extension headers were applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    /// The member's name as stored (`./etc/os-release`, `usr/`, …), non-UTF-8 bytes replaced.
    pub path: String,
    /// The member's type.
    pub kind: TarKind,
    /// Link target of symlinks and hard links.
    pub link: Option<String>,
    /// Permission bits (`0o7777`).
    pub permissions: u32,
    /// Owner id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Bytes of data stored in the archive for this member.
    pub size: u64,
    /// Offset of the member's (first extension) header in the tar stream.
    pub header_offset: u64,
    /// Offset of the member's data in the tar stream.
    pub data_offset: u64,
    /// A GNU sparse member: the stored data is not the file's content.
    pub sparse: bool,
}

/// Where a [`TarReader`] gets its bytes: a stream that can skip forward.
pub trait TarSource: Read + Send {
    /// Skips `n` bytes; returns how many were skipped (fewer at the end of the stream).
    fn skip(&mut self, n: u64) -> io::Result<u64>;
}

/// A [`TarSource`] over any reader: skipping reads and discards.
pub struct Streamed<R>(pub R);

impl<R: Read> Read for Streamed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read + Send> TarSource for Streamed<R> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        // Decoders hand out what one call asks for: large calls keep their overhead low.
        let mut buf = vec![0u8; (n.min(256 << 10)) as usize];
        let mut done = 0;
        while done < n {
            let want = (n - done).min(buf.len() as u64) as usize;
            match self.0.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(k) => done += k as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

/// A [`TarSource`] over a random-access source: skipping moves the position without reading.
pub struct Positioned {
    source: Arc<dyn ReadAt>,
    pos: u64,
}

impl Positioned {
    /// Reads `source` from its start.
    pub fn new(source: Arc<dyn ReadAt>) -> Self {
        Positioned { source, pos: 0 }
    }
}

impl Read for Positioned {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl TarSource for Positioned {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let left = self.source.len().saturating_sub(self.pos);
        let n = n.min(left);
        self.pos += n;
        Ok(n)
    }
}

/// Values from pax records that override the ustar header.
#[derive(Default, Clone)]
struct Pax {
    path: Option<String>,
    linkpath: Option<String>,
    size: Option<u64>,
    mtime: Option<i64>,
    uid: Option<u32>,
    gid: Option<u32>,
    sparse: bool,
}

impl Pax {
    fn merge_over(&self, base: &Pax) -> Pax {
        Pax {
            path: self.path.clone().or_else(|| base.path.clone()),
            linkpath: self.linkpath.clone().or_else(|| base.linkpath.clone()),
            size: self.size.or(base.size),
            mtime: self.mtime.or(base.mtime),
            uid: self.uid.or(base.uid),
            gid: self.gid.or(base.gid),
            sparse: self.sparse || base.sparse,
        }
    }
}

/// Reads the members of a tar stream one by one.
pub struct TarReader<S> {
    src: S,
    /// Offset of the next unread byte in the stream.
    pos: u64,
    /// Data bytes of the current member not yet consumed, and the padding after them.
    data_left: u64,
    pad_left: u64,
    /// Path of the current member, for messages.
    current: String,
    global: Pax,
    done: bool,
    stream: &'static str,
}

impl<S: TarSource> TarReader<S> {
    /// Reads tar members from `src`; `stream` names the stream in messages (`tar`, `gzip`
    /// tar, `layer sha256:…` is given by the caller through the error's context).
    pub fn new(src: S, stream: &'static str) -> Self {
        TarReader {
            src,
            pos: 0,
            data_left: 0,
            pad_left: 0,
            current: String::new(),
            global: Pax::default(),
            done: false,
            stream,
        }
    }

    /// The offset of the next unread byte of the tar stream.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn io_err(&self, source: io::Error, what: &'static str) -> Error {
        // Decoders report damaged input with these kinds; anything else is the source's.
        if matches!(
            source.kind(),
            io::ErrorKind::InvalidData
                | io::ErrorKind::InvalidInput
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::Other
        ) {
            Error::corrupt(what, self.pos, format!("{} stream: {source}", self.stream))
        } else {
            Error::Io {
                offset: self.pos,
                source,
            }
        }
    }

    /// Reads up to `buf.len()` bytes, fewer only at the end of the stream.
    fn fill(&mut self, buf: &mut [u8], what: &'static str) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.src.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => {
                    got += n;
                    self.pos += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_err(e, what)),
            }
        }
        Ok(got)
    }

    fn skip(&mut self, n: u64, what: &'static str) -> Result<()> {
        let start = self.pos;
        let skipped = self.src.skip(n).map_err(|e| self.io_err(e, what))?;
        self.pos += skipped;
        if skipped < n {
            return Err(Error::corrupt(
                what,
                start,
                format!(
                    "{} truncated: {n} bytes of {:?} expected, the stream ends after {skipped}",
                    self.stream, self.current
                ),
            ));
        }
        Ok(())
    }

    /// Skips what is left of the current member's data and padding.
    fn finish_member(&mut self) -> Result<()> {
        let n = self.data_left + self.pad_left;
        self.data_left = 0;
        self.pad_left = 0;
        self.skip(n, "tar member data")
    }

    /// Reads the data of the current member (all of it, refusing more than `limit` bytes).
    pub fn read_data(&mut self, limit: u64) -> Result<Vec<u8>> {
        if self.data_left > limit {
            return Err(Error::Limit {
                what: format!(
                    "size of tar member {:?} ({} bytes)",
                    self.current, self.data_left
                ),
                limit,
            });
        }
        let mut out = vec![0u8; self.data_left as usize];
        let start = self.pos;
        let got = self.fill(&mut out, "tar member data")?;
        if got < out.len() {
            return Err(Error::corrupt(
                "tar member data",
                start,
                format!(
                    "{} truncated: {:?} has {} bytes, the stream ends after {got}",
                    self.stream,
                    self.current,
                    out.len()
                ),
            ));
        }
        self.data_left = 0;
        Ok(out)
    }

    /// Copies the data of the current member into `sink` (for hashing, spooling).
    pub fn copy_data(&mut self, sink: &mut dyn io::Write) -> Result<u64> {
        let mut buf = vec![0u8; 64 << 10];
        let mut total = 0;
        while self.data_left > 0 {
            let want = (self.data_left as usize).min(buf.len());
            let start = self.pos;
            let got = self.fill(&mut buf[..want], "tar member data")?;
            if got == 0 {
                return Err(Error::corrupt(
                    "tar member data",
                    start,
                    format!("{} truncated inside {:?}", self.stream, self.current),
                ));
            }
            sink.write_all(&buf[..got]).map_err(|source| Error::Io {
                offset: start,
                source,
            })?;
            self.data_left -= got as u64;
            total += got as u64;
        }
        Ok(total)
    }

    /// Reads a header-extension payload (pax records, GNU long name) of `size` bytes.
    fn read_extension(&mut self, size: u64, header_offset: u64) -> Result<Vec<u8>> {
        if size > MAX_EXTENSION {
            return Err(Error::corrupt(
                "tar extension header",
                header_offset,
                format!("{size} bytes, more than the {MAX_EXTENSION} accepted"),
            ));
        }
        let mut buf = vec![0u8; size as usize];
        let got = self.fill(&mut buf, "tar extension header")?;
        if got < buf.len() {
            return Err(Error::corrupt(
                "tar extension header",
                header_offset,
                format!(
                    "{} truncated: {size} bytes expected, {got} present",
                    self.stream
                ),
            ));
        }
        self.skip(padding(size), "tar extension header")?;
        Ok(buf)
    }

    /// The next member, or `None` after the end-of-archive marker. The data of the
    /// previous member is skipped if it was not read.
    pub fn next_entry(&mut self) -> Result<Option<TarEntry>> {
        if self.done {
            return Ok(None);
        }
        self.finish_member()?;
        let mut local = Pax::default();
        let mut long_name: Option<String> = None;
        let mut long_link: Option<String> = None;
        let mut first_header: Option<u64> = None;
        loop {
            let header_offset = self.pos;
            let mut block = [0u8; BLOCK as usize];
            let got = self.fill(&mut block, "tar header")?;
            if got == 0 {
                return Err(Error::corrupt(
                    "tar archive",
                    header_offset,
                    format!(
                        "{} ends without the end-of-archive marker (truncated?)",
                        self.stream
                    ),
                ));
            }
            if got < block.len() {
                return Err(Error::corrupt(
                    "tar header",
                    header_offset,
                    format!("{} truncated: {got} of 512 header bytes", self.stream),
                ));
            }
            if block.iter().all(|&b| b == 0) {
                if first_header.is_some() {
                    return Err(Error::corrupt(
                        "tar header",
                        header_offset,
                        "end-of-archive marker right after an extension header",
                    ));
                }
                // The second zero block may be missing (GNU tar accepts a lone one).
                self.done = true;
                return Ok(None);
            }
            first_header.get_or_insert(header_offset);
            check_checksum(&block, header_offset)?;
            let typeflag = block[156];
            let size = number(&block[124..136], "size", header_offset)?;
            let size = u64::try_from(size).map_err(|_| {
                Error::corrupt("tar header", header_offset, format!("negative size {size}"))
            })?;
            match typeflag {
                b'x' => {
                    let data = self.read_extension(size, header_offset)?;
                    local = parse_pax(&data, header_offset)?.merge_over(&local);
                    continue;
                }
                b'g' => {
                    let data = self.read_extension(size, header_offset)?;
                    self.global = parse_pax(&data, header_offset)?.merge_over(&self.global);
                    continue;
                }
                b'L' | b'K' => {
                    let data = self.read_extension(size, header_offset)?;
                    let text = c_string(&data);
                    if typeflag == b'L' {
                        long_name = Some(text);
                    } else {
                        long_link = Some(text);
                    }
                    continue;
                }
                b'V' => {
                    // A volume label: not a file.
                    self.skip(size + padding(size), "tar member data")?;
                    continue;
                }
                _ => {}
            }
            let pax = local.merge_over(&self.global);
            let ustar = &block[257..263] == b"ustar\0";
            let mut path = c_string(&block[0..100]);
            if ustar && block[345] != 0 {
                path = format!("{}/{path}", c_string(&block[345..500]));
            }
            let path = pax.path.or(long_name).unwrap_or(path);
            let link_field = c_string(&block[157..257]);
            let link = pax.linkpath.or(long_link).unwrap_or(link_field);
            let kind = match typeflag {
                b'1' => TarKind::HardLink,
                b'2' => TarKind::Symlink,
                b'3' => TarKind::CharDevice,
                b'4' => TarKind::BlockDevice,
                b'5' | b'D' => TarKind::Directory,
                b'6' => TarKind::Fifo,
                _ => TarKind::Regular,
            };
            let size = pax.size.unwrap_or(size);
            // Like Go's archive/tar and Python's tarfile: these types carry no data whatever
            // their size field says.
            let data = match typeflag {
                b'1' | b'2' | b'3' | b'4' | b'5' | b'6' => 0,
                _ => size,
            };
            let mode = number(&block[100..108], "mode", header_offset)?;
            let uid = pax.uid.map(i64::from);
            let uid = match uid {
                Some(u) => u,
                None => number(&block[108..116], "uid", header_offset)?,
            };
            let gid = match pax.gid.map(i64::from) {
                Some(g) => g,
                None => number(&block[116..124], "gid", header_offset)?,
            };
            let mtime = match pax.mtime {
                Some(m) => m,
                None => number(&block[136..148], "mtime", header_offset)?,
            };
            if path.is_empty() {
                return Err(Error::corrupt(
                    "tar header",
                    header_offset,
                    "empty member name",
                ));
            }
            let data_offset = self.pos;
            self.data_left = data;
            self.pad_left = padding(data);
            self.current.clone_from(&path);
            let sparse = typeflag == b'S' || pax.sparse;
            return Ok(Some(TarEntry {
                path,
                kind,
                link: matches!(kind, TarKind::HardLink | TarKind::Symlink).then_some(link),
                permissions: (mode as u64 & 0o7777) as u32,
                uid: uid as u32,
                gid: gid as u32,
                mtime,
                size: if matches!(kind, TarKind::Regular) {
                    data
                } else {
                    0
                },
                header_offset: first_header.unwrap_or(header_offset),
                data_offset,
                sparse,
            }));
        }
    }

    /// The source, positioned after whatever was read (for draining a stream to its end).
    pub fn into_inner(self) -> S {
        self.src
    }

    /// A reader of what is left of the current member's data.
    pub fn data(&mut self) -> MemberData<'_, S> {
        MemberData { tar: self }
    }
}

/// A reader of the data of the current member of a [`TarReader`].
pub struct MemberData<'a, S> {
    tar: &'a mut TarReader<S>,
}

impl<S: TarSource> Read for MemberData<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (buf.len() as u64).min(self.tar.data_left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.tar.src.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "tar member {:?} truncated at offset {}",
                    self.tar.current, self.tar.pos
                ),
            ));
        }
        self.tar.pos += n as u64;
        self.tar.data_left -= n as u64;
        Ok(n)
    }
}

fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

/// Text up to the first NUL, non-UTF-8 bytes replaced.
fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn check_checksum(block: &[u8; 512], offset: u64) -> Result<()> {
    let stored = number(&block[148..156], "checksum", offset)?;
    let mut unsigned: i64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += i64::from(b);
        signed += i64::from(b as i8);
    }
    if stored != unsigned && stored != signed {
        return Err(Error::corrupt(
            "tar header",
            offset,
            format!(
                "checksum {stored:o} does not match the header's {unsigned:o} (not a tar archive?)"
            ),
        ));
    }
    Ok(())
}

/// A numeric header field: octal (space or NUL terminated) or GNU base-256.
fn number(field: &[u8], name: &str, offset: u64) -> Result<i64> {
    if field[0] & 0x80 != 0 {
        // Base-256: big-endian two's complement, the marker bit being part of the sign.
        let negative = field[0] & 0x40 != 0;
        let mut v: i128 = if negative { -1 } else { 0 };
        for (i, &b) in field.iter().enumerate() {
            let b = if i == 0 {
                b & 0x7f | if negative { 0x80 } else { 0 }
            } else {
                b
            };
            v = (v << 8) | i128::from(b);
            if v > i128::from(i64::MAX) || v < i128::from(i64::MIN) {
                return Err(Error::corrupt(
                    "tar header",
                    offset,
                    format!("{name} field out of range"),
                ));
            }
        }
        return Ok(v as i64);
    }
    let mut v: i64 = 0;
    let mut seen_digit = false;
    for &b in field {
        match b {
            b'0'..=b'7' => {
                seen_digit = true;
                v = v
                    .checked_mul(8)
                    .and_then(|v| v.checked_add(i64::from(b - b'0')))
                    .ok_or_else(|| {
                        Error::corrupt("tar header", offset, format!("{name} field out of range"))
                    })?;
            }
            b' ' if !seen_digit => {}
            b' ' | 0 => break,
            _ => {
                return Err(Error::corrupt(
                    "tar header",
                    offset,
                    format!("{name} field {:?} is not an octal number", c_string(field)),
                ))
            }
        }
    }
    Ok(v)
}

/// Parses pax records (`"<len> <key>=<value>\n"`).
fn parse_pax(data: &[u8], offset: u64) -> Result<Pax> {
    let bad = |detail: String| Error::corrupt("tar pax header", offset, detail);
    let mut out = Pax::default();
    let mut sparse_keys = BTreeMap::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let space = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| bad("record without a length".into()))?;
        let len: usize = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("record length {:?}", c_string(&rest[..space]))))?;
        if len <= space + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(bad(format!("record length {len} does not fit the record")));
        }
        let record = &rest[space + 1..len - 1];
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| bad("record without '='".into()))?;
        let key = String::from_utf8_lossy(&record[..eq]);
        let value = String::from_utf8_lossy(&record[eq + 1..]).into_owned();
        let int = |v: &str| -> Result<i64> {
            // mtime may carry a fraction; the integer part is what we keep.
            let whole = v.split('.').next().unwrap_or("");
            whole
                .parse::<i64>()
                .map_err(|_| bad(format!("{key}={v:?} is not a number")))
        };
        match &*key {
            "path" => out.path = Some(value),
            "linkpath" => out.linkpath = Some(value),
            "size" => {
                out.size =
                    Some(u64::try_from(int(&value)?).map_err(|_| bad(format!("size={value:?}")))?)
            }
            "mtime" => out.mtime = Some(int(&value)?),
            "uid" => out.uid = Some(int(&value)? as u32),
            "gid" => out.gid = Some(int(&value)? as u32),
            k if k.starts_with("GNU.sparse.") => {
                sparse_keys.insert(k.to_owned(), value);
                out.sparse = true;
            }
            _ => {}
        }
        rest = &rest[len..];
    }
    // PAX sparse format 0.1/1.0 keep the real name here.
    if let Some(name) = sparse_keys.get("GNU.sparse.name") {
        out.path = Some(name.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let mut f = *b"0000644\0";
        assert_eq!(number(&f, "mode", 0).unwrap(), 0o644);
        f = *b"  755 \0\0";
        assert_eq!(number(&f, "mode", 0).unwrap(), 0o755);
        let b256 = [0x80, 0, 0, 0, 0, 0, 1, 0];
        assert_eq!(number(&b256, "size", 0).unwrap(), 256);
        let neg = [0xff; 8];
        assert_eq!(number(&neg, "mtime", 0).unwrap(), -1);
        assert!(number(b"12x45\0\0\0", "mode", 7).is_err());
    }

    #[test]
    fn pax_records() {
        let p = parse_pax(b"30 mtime=1700000000.123456789\n20 path=a/b/c/d/e/f\n", 0).unwrap();
        assert_eq!(p.mtime, Some(1_700_000_000));
        assert_eq!(p.path.as_deref(), Some("a/b/c/d/e/f"));
        assert!(parse_pax(b"99 path=x\n", 0).is_err());
        assert!(parse_pax(b"x path=x\n", 0).is_err());
    }
}
