//! Bounded reads of untrusted files: what the loaders may decompress or hold in memory.
//!
//! APT header lists and hash lists are streamed record by record (memory is bounded by the
//! largest record, which librpm's header limits cap at about 257 MiB, not by the list), and
//! their decompressed size is capped as well, because the entries they yield are kept. Files
//! that must be read whole (task files, logs) are capped. Every cap is a [`Cap`]; exceeding
//! it is an I/O error carrying [`TooLarge`], so it reaches the user through the loaders'
//! existing "`<file>: <cause>`" errors, naming the file, the limit and how to raise it.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use altrepodb_compress::{Compression, Limits};
use thiserror::Error;

/// Largest memory the xz decoder may use (dictionary and state). `xz -9` needs 65 MiB; a
/// header asking for more is refused instead of allocated.
pub use altrepodb_compress::XZ_MEMLIMIT;

/// One limit: how many bytes, of what, and which environment variable sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    /// Most bytes accepted.
    pub limit: u64,
    /// What is being read ("decompressed APT list", "task log", …).
    pub what: &'static str,
    /// The environment variable that raises it ([`ReadLimits::from_env`]).
    pub env: &'static str,
}

impl Cap {
    /// The error for input that goes past this cap.
    pub fn exceeded(&self) -> io::Error {
        io::Error::other(TooLarge { cap: *self })
    }
}

/// Input larger than its [`Cap`]; found inside an [`io::Error`] (`get_ref`/`downcast`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{} is larger than the limit of {} bytes (set {} to change it)", cap.what, cap.limit, cap.env)]
pub struct TooLarge {
    /// The cap that was hit.
    pub cap: Cap,
}

/// The [`TooLarge`] inside `e`, if `e` is a cap error.
pub fn too_large(e: &io::Error) -> Option<&TooLarge> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<TooLarge>())
}

/// The caps of one load. [`ReadLimits::default`] has the built-in values;
/// [`ReadLimits::from_env`] lets `ALTREPODB_MAX_*` variables replace them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Decompressed bytes of one APT header list or SHA-256 hash list (default 4 GiB;
    /// Sisyphus' largest list is a few hundred MiB).
    pub list_bytes: u64,
    /// One small file read whole: a snapshot's `release` and `task.info`, a task's `task/*`,
    /// `plan/*`, `gears/*`, `acl/*`, chroot lists, `info.json` (default 64 MiB).
    pub small_file_bytes: u64,
    /// One task log (build, srpm or events log), read whole to be parsed (default 256 MiB).
    pub log_bytes: u64,
    /// A source package's spec file (default 64 MiB).
    pub spec_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            list_bytes: 4 << 30,
            small_file_bytes: 64 << 20,
            log_bytes: 256 << 20,
            spec_bytes: 64 << 20,
        }
    }
}

/// Environment variable names, in field order.
pub const LIMIT_VARS: [&str; 4] = [
    "ALTREPODB_MAX_LIST_BYTES",
    "ALTREPODB_MAX_FILE_BYTES",
    "ALTREPODB_MAX_LOG_BYTES",
    "ALTREPODB_MAX_SPEC_BYTES",
];

/// A limit variable that does not hold a size.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{var}='{value}': expected a number of bytes, optionally with K, M or G (powers of 1024)")]
pub struct BadLimit {
    /// The variable.
    pub var: &'static str,
    /// Its value.
    pub value: String,
}

/// `123`, `64K`, `256M`, `4G` (binary multiples; `KiB`/`MiB`/`GiB` and lower case too).
fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..digits].parse().ok()?;
    let shift = match t[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

impl ReadLimits {
    /// The defaults, each replaced by its variable in [`LIMIT_VARS`] when that is set.
    pub fn from_env() -> Result<ReadLimits, BadLimit> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`ReadLimits::from_env`] over any key → value lookup (tests use a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ReadLimits, BadLimit> {
        let mut l = ReadLimits::default();
        let fields = [
            &mut l.list_bytes,
            &mut l.small_file_bytes,
            &mut l.log_bytes,
            &mut l.spec_bytes,
        ];
        for (var, field) in LIMIT_VARS.into_iter().zip(fields) {
            if let Some(value) = get(var) {
                *field = parse_size(&value).ok_or(BadLimit { var, value })?;
            }
        }
        Ok(l)
    }

    /// The cap of one decompressed APT header list or hash list.
    pub fn list(&self) -> Cap {
        Cap {
            limit: self.list_bytes,
            what: "decompressed list",
            env: LIMIT_VARS[0],
        }
    }

    /// The cap of one small file.
    pub fn small_file(&self) -> Cap {
        Cap {
            limit: self.small_file_bytes,
            what: "file",
            env: LIMIT_VARS[1],
        }
    }

    /// The cap of one task log.
    pub fn log(&self) -> Cap {
        Cap {
            limit: self.log_bytes,
            what: "task log",
            env: LIMIT_VARS[2],
        }
    }

    /// The cap of a spec file.
    pub fn spec(&self) -> Cap {
        Cap {
            limit: self.spec_bytes,
            what: "spec file",
            env: LIMIT_VARS[3],
        }
    }
}

/// A reader that fails with [`TooLarge`] once more than `cap.limit` bytes came through.
pub struct CappedReader<R> {
    inner: R,
    left: u64,
    cap: Cap,
}

impl<R> CappedReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, cap: Cap) -> Self {
        CappedReader {
            inner,
            left: cap.limit,
            cap,
        }
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // One byte past the limit tells "exactly at the limit" from "more".
        let want = buf
            .len()
            .min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            self.left = 0;
            return Err(self.cap.exceeded());
        }
        self.left -= n as u64;
        Ok(n)
    }
}

impl<R> fmt::Debug for CappedReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CappedReader")
            .field("cap", &self.cap)
            .finish()
    }
}

/// Reads all of `r`, failing with [`TooLarge`] past `cap`. `size_hint` (say, the file's
/// length) only presizes the buffer, never beyond the cap.
pub fn read_all_capped(r: impl Read, cap: Cap, size_hint: u64) -> io::Result<Vec<u8>> {
    if size_hint > cap.limit {
        return Err(cap.exceeded());
    }
    let mut out = Vec::with_capacity(usize::try_from(size_hint.min(cap.limit)).unwrap_or(0));
    CappedReader::new(r, cap).read_to_end(&mut out)?;
    Ok(out)
}

/// Reads the file at `path` whole, failing with [`TooLarge`] when it is larger than `cap`.
pub fn read_file_capped(path: &Path, cap: Cap) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    read_all_capped(file, cap, len)
}

/// A streaming xz decoder over the file at `path` (decoder memory bounded by
/// [`XZ_MEMLIMIT`]), whose output is capped by `cap`.
pub fn xz_file(path: &Path, cap: Cap) -> io::Result<CappedReader<Box<dyn Read + Send>>> {
    xz_reader(BufReader::new(File::open(path)?), cap)
}

/// [`xz_file`] over any reader of compressed bytes. One xz stream is read; bytes after it
/// are ignored.
pub fn xz_reader<R: BufRead + Send + 'static>(
    compressed: R,
    cap: Cap,
) -> io::Result<CappedReader<Box<dyn Read + Send>>> {
    let limits = Limits {
        memlimit: XZ_MEMLIMIT,
        concatenated: false,
    };
    let dec: Box<dyn Read + Send> = Box::new(Compression::Xz.decoder_with(compressed, limits)?);
    Ok(CappedReader::new(dec, cap))
}

/// The streaming APT header list reader (it lives with the header reader in
/// `altrepodb-rpm`).
pub use altrepodb_rpm::AptStream;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_env() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("64K"), Some(64 << 10));
        assert_eq!(parse_size("256 MiB"), Some(256 << 20));
        assert_eq!(parse_size("4g"), Some(4 << 30));
        assert_eq!(parse_size("4T"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
        let l = ReadLimits::from_lookup(|k| (k == "ALTREPODB_MAX_LOG_BYTES").then(|| "1M".into()))
            .unwrap();
        assert_eq!(l.log_bytes, 1 << 20);
        assert_eq!(l.list_bytes, ReadLimits::default().list_bytes);
        let e =
            ReadLimits::from_lookup(|k| (k == "ALTREPODB_MAX_SPEC_BYTES").then(|| "lots".into()))
                .unwrap_err();
        assert!(
            e.to_string().contains("ALTREPODB_MAX_SPEC_BYTES='lots'"),
            "{e}"
        );
    }

    #[test]
    fn caps() {
        let cap = Cap {
            limit: 4,
            what: "test input",
            env: "X",
        };
        assert_eq!(read_all_capped(&b"abcd"[..], cap, 0).unwrap(), b"abcd");
        let e = read_all_capped(&b"abcde"[..], cap, 0).unwrap_err();
        let t = too_large(&e).expect("a cap error");
        assert_eq!(t.cap.limit, 4);
        assert_eq!(
            e.to_string(),
            "test input is larger than the limit of 4 bytes (set X to change it)"
        );
        assert!(read_all_capped(&b"ab"[..], cap, 5).is_err());
    }
}
