//! Spooling a decompressed stream to an unlinked temporary file, for formats that cannot
//! be read at random positions any other way (a single-block `.img.xz`, a compressed tar
//! holding an OCI layout).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where temporary files go and how much free space must stay.
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    /// Directory of the temporary files (default: the system temporary directory).
    pub dir: PathBuf,
    /// Free bytes that must remain on that filesystem after the spool is written.
    pub reserve: u64,
    /// Largest spool written, whatever the free space.
    pub max_bytes: u64,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig {
            dir: std::env::temp_dir(),
            reserve: 512 << 20,
            max_bytes: 64 << 30,
        }
    }
}

/// Free bytes available to an unprivileged user on the filesystem holding `dir`.
pub fn free_space(dir: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(|_| Error::Unsupported {
        what: "temporary directory",
        detail: format!("{} contains a NUL byte", dir.display()),
    })?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(Error::Io {
            offset: 0,
            source: io::Error::last_os_error(),
        });
    }
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

fn no_space(cfg: &SpoolConfig, need: u64, free: u64) -> Error {
    Error::Limit {
        what: format!(
            "free space in {} for a {need}-byte temporary file ({free} bytes free, {} to be kept free)",
            cfg.dir.display(),
            cfg.reserve
        ),
        limit: free.saturating_sub(cfg.reserve),
    }
}

/// Copies `reader` into a new unlinked temporary file, skipping runs of zeros so the file
/// stays sparse. `expected` (when known) is checked against the free space before writing;
/// the free space is checked again as the file grows. Returns the file and its length.
pub fn spool(
    reader: &mut dyn Read,
    expected: Option<u64>,
    cfg: &SpoolConfig,
) -> Result<(File, u64)> {
    let io_err = |offset: u64| move |source: io::Error| Error::Io { offset, source };
    if let Some(need) = expected {
        if need > cfg.max_bytes {
            return Err(Error::Limit {
                what: format!("size of a temporary file ({need} bytes)"),
                limit: cfg.max_bytes,
            });
        }
        let free = free_space(&cfg.dir)?;
        if free < need.saturating_add(cfg.reserve) {
            return Err(no_space(cfg, need, free));
        }
    }
    let mut file = tempfile::tempfile_in(&cfg.dir).map_err(io_err(0))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    let mut next_check = 256u64 << 20;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if e.kind() == io::ErrorKind::InvalidData || e.kind() == io::ErrorKind::Other =>
            {
                return Err(Error::corrupt(
                    "compressed stream",
                    len,
                    format!("decompressing: {e}"),
                ))
            }
            Err(source) => {
                return Err(Error::Io {
                    offset: len,
                    source,
                })
            }
        };
        let chunk = &buf[..n];
        if chunk.iter().all(|&b| b == 0) {
            file.seek(SeekFrom::Current(n as i64))
                .map_err(io_err(len))?;
        } else {
            file.write_all(chunk).map_err(io_err(len))?;
        }
        len += n as u64;
        if len > cfg.max_bytes {
            return Err(Error::Limit {
                what: "size of a temporary file".into(),
                limit: cfg.max_bytes,
            });
        }
        if len >= next_check {
            next_check = len + (256 << 20);
            let free = free_space(&cfg.dir)?;
            if free < cfg.reserve {
                return Err(no_space(cfg, len, free));
            }
        }
    }
    file.set_len(len).map_err(io_err(len))?;
    Ok((file, len))
}
