//! Reading the one file: its rows and the digests of its bytes.

use std::path::{Path, PathBuf};

use altrepodb_rpm::DigestAlgo;

use crate::bounded::ReadLimits;
use crate::package::{read_package_file, PackageError, PackageRows};
use crate::repo::scan::FileDigests;

/// The file, read.
#[derive(Debug)]
pub struct SourceFile {
    /// Its rows (`pkg_sourcerpm` is the file name, `pkg_srcrpm_hash` its own hash).
    pub rows: PackageRows,
    /// MD5, SHA-256 and BLAKE2b-512 of the file.
    pub digests: FileDigests,
}

/// Why the file cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Unreadable or malformed (the error names the file and, for a bad header, the offset).
    #[error(transparent)]
    Package(#[from] PackageError),
    /// A binary package: package_loader loads source packages only.
    #[error("{0}: not a source package (package_loader loads source RPMs only)")]
    NotSource(PathBuf),
    /// Reading the file for its digests.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Reads `path` (blocking I/O).
pub fn read_source_file(path: &Path, limits: &ReadLimits) -> Result<SourceFile, SourceError> {
    let rows = read_package_file(path, limits)?;
    if rows.package.pkg_sourcepackage != 1 {
        return Err(SourceError::NotSource(path.to_owned()));
    }
    let d = altrepodb_rpm::digest_file(
        path,
        &[DigestAlgo::Md5, DigestAlgo::Sha256, DigestAlgo::Blake2b512],
    )
    .map_err(|source| SourceError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(SourceFile {
        rows,
        digests: FileDigests {
            md5: d.md5,
            sha256: d.sha256,
            blake2b: d.blake2b,
        },
    })
}
