//! Opening a disk image file as a block source, whatever its container: a raw image, an
//! `.img.xz`, or a qcow2.

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::qcow2::Qcow2;
use crate::source::ReadAt;
use crate::spool::SpoolConfig;

/// The container format of a disk image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    /// Raw bytes.
    Raw,
    /// xz-compressed raw bytes.
    Xz,
    /// qcow2.
    Qcow2,
}

/// Recognises the container of a disk image by its first bytes.
pub fn detect(head: &[u8]) -> DiskFormat {
    if head.starts_with(b"QFI\xfb") {
        DiskFormat::Qcow2
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        DiskFormat::Xz
    } else {
        DiskFormat::Raw
    }
}

/// Opens `path` as its virtual disk: qcow2 through its tables, `.img.xz` through its index
/// or a spool (see [`crate::xz::open_xz`]), anything else as raw bytes.
pub fn open_disk(path: &Path, cfg: &SpoolConfig) -> Result<(DiskFormat, Arc<dyn ReadAt>)> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io { offset: 0, source })?;
    let mut head = [0u8; 8];
    let n =
        ReadAt::read_at(&file, 0, &mut head).map_err(|source| Error::Io { offset: 0, source })?;
    let format = detect(&head[..n]);
    let source: Arc<dyn ReadAt> = match format {
        DiskFormat::Raw => Arc::new(file),
        DiskFormat::Qcow2 => Arc::new(Qcow2::open(file)?),
        DiskFormat::Xz => Arc::from(crate::xz::open_xz(path, cfg)?),
    };
    Ok((format, source))
}
