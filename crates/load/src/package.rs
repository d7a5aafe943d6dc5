//! One RPM file → the rows of every package table (original-system §5.3–5.6).
//!
//! Shared by the repository and task loaders: parse is pure over the file's bytes; the caller
//! supplies what only the loader knows (file name, size, the source package's hash).
//!
//! Only the headers are held in memory (librpm's limits bound them); a source package's
//! payload is streamed through the decompressor up to its spec file, which is capped.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use altrepodb_db::rows::{fixed, ChangelogRow, DependsRow, FilesRow, PackagesRow, SpecfilesRow};
use altrepodb_rpm::cpio::CpioError;
use altrepodb_rpm::meta::{self, DepKind, PackageMeta};
use altrepodb_rpm::payload::{
    extract_spec_with, payload_reader_from, stripped_files, PayloadError, SpecLimits,
};
use altrepodb_rpm::{read_package_bytes, Header, Package, SpecFile, Tag};
use base64::Engine as _;
use thiserror::Error;

use crate::bounded::ReadLimits;

/// A package file that could not be turned into rows.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The RPM is malformed (the error names the offset).
    #[error("{path}: {source}")]
    Rpm {
        /// The file.
        path: PathBuf,
        /// The cause, with the byte offset.
        source: altrepodb_rpm::Error,
    },
    /// The source package's payload could not be read for its spec file.
    #[error("{path}: spec file: {message}")]
    Payload {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
}

/// Everything one package contributes to the database.
#[derive(Debug, Clone)]
pub struct PackageRows {
    /// The package's identity.
    pub pkg_hash: u64,
    /// Header SHA1 (tag 269), raw.
    pub sha1header: [u8; 20],
    /// SOURCERPM as in the header (the source package's file name; empty for sources).
    pub header_sourcerpm: String,
    /// The `Packages` row.
    pub package: PackagesRow,
    /// `Files_insert` rows.
    pub files: Vec<FilesRow>,
    /// `Depends` rows: requires, conflicts, obsoletes, provides.
    pub depends: Vec<DependsRow>,
    /// Distinct `(hash, text)` changelog pairs.
    pub changelog: Vec<ChangelogRow>,
    /// The spec file of a source package.
    pub specfile: Option<SpecfilesRow>,
}

impl PackageRows {
    /// Rows this package adds, per table, for summaries and `--dry-run`.
    pub fn row_count(&self) -> usize {
        1 + self.files.len()
            + self.depends.len()
            + self.changelog.len()
            + usize::from(self.specfile.is_some())
    }

    /// Sets `pkg_srcrpm_hash` (the loader knows the source package's hash).
    pub fn set_srcrpm_hash(&mut self, hash: u64) {
        self.package.pkg_srcrpm_hash = hash;
    }
}

/// Reads `path` and maps it to rows. Source packages also yield their spec file, whose
/// size is capped by `limits.spec_bytes`.
pub fn read_package_file(path: &Path, limits: &ReadLimits) -> Result<PackageRows, PackageError> {
    let io = |source| PackageError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let file_size = file.metadata().map_err(io)?.len();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    read_package(BufReader::new(file), &file_name, file_size, limits).map_err(|e| match e {
        BytesError::Rpm(source) => PackageError::Rpm {
            path: path.to_owned(),
            source,
        },
        BytesError::Payload(message) => PackageError::Payload {
            path: path.to_owned(),
            message,
        },
        BytesError::Io(source) => PackageError::Io {
            path: path.to_owned(),
            source,
        },
    })
}

/// Why [`read_package`] failed.
#[derive(Debug)]
pub enum BytesError {
    /// Header problem.
    Rpm(altrepodb_rpm::Error),
    /// Payload problem (source packages): the spec file is over its cap.
    Payload(String),
    /// Reading the input failed (not a problem of the package's bytes).
    Io(io::Error),
}

impl From<altrepodb_rpm::Error> for BytesError {
    fn from(e: altrepodb_rpm::Error) -> Self {
        BytesError::Rpm(e)
    }
}

/// Remembers the first error of the underlying reader, so a failing disk is told apart from a
/// corrupt payload (both reach the cpio reader as I/O errors).
struct Tracked<R> {
    inner: R,
    failed: Option<io::Error>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if self.failed.is_none() && e.kind() != io::ErrorKind::Interrupted {
                self.failed = Some(io::Error::new(e.kind(), e.to_string()));
            }
        })
    }
}

/// Maps an `.rpm` read from `input` to rows: the headers are read whole, a source package's
/// payload is streamed up to its spec file (`limits.spec_bytes` caps that file).
pub fn read_package(
    input: impl Read,
    file_name: &str,
    file_size: u64,
    limits: &ReadLimits,
) -> Result<PackageRows, BytesError> {
    let mut input = Tracked {
        inner: input,
        failed: None,
    };
    let bytes = read_package_bytes(&mut input)?;
    let pkg = Package::parse(&bytes)?;
    let spec = if pkg.header().is_source()? {
        let cap = limits.spec();
        let spec_limits = SpecLimits {
            max_spec_size: cap.limit,
            ..SpecLimits::default()
        };
        let found = stripped_files(pkg.main_header())
            .map_err(PayloadError::from)
            .and_then(|files| {
                let cpio = payload_reader_from(&mut input)?.with_stripped_files(files);
                extract_spec_with(cpio, spec_limits)
            });
        if let Some(e) = input.failed.take() {
            return Err(BytesError::Io(e));
        }
        match found {
            Ok(spec) => spec,
            Err(PayloadError::Cpio(CpioError::TooLarge {
                what: "entry data",
                size,
                ..
            })) => {
                return Err(BytesError::Payload(format!(
                    "{} of {size} bytes is larger than the limit of {} bytes (set {} to change it)",
                    cap.what, cap.limit, cap.env
                )))
            }
            // The spec file is an extra: a payload we cannot read costs the package its
            // Specfiles row, not its whole load (the header rows are complete without it).
            Err(e) => {
                tracing::warn!("{file_name}: no spec file stored: {e}");
                None
            }
        }
    } else {
        None
    };
    rows_from_package(&pkg, file_name, file_size, spec)
}

/// Maps the bytes of a whole `.rpm` held in memory to rows (see [`read_package`]).
pub fn rows_from_bytes(
    bytes: &[u8],
    file_name: &str,
    file_size: u64,
) -> Result<PackageRows, BytesError> {
    read_package(bytes, file_name, file_size, &ReadLimits::default())
}

/// Maps a parsed package (and the spec file found in its payload) to rows.
fn rows_from_package(
    pkg: &Package<'_>,
    file_name: &str,
    file_size: u64,
    spec: Option<SpecFile>,
) -> Result<PackageRows, BytesError> {
    let h = pkg.header();
    let meta = PackageMeta::from_header(h)?;
    let pkg_hash = h.pkg_hash()?;
    let mut package = package_row(h, &meta, pkg_hash)?;
    package.pkg_filename = file_name.to_owned();
    package.pkg_filesize = file_size;
    let header_sourcerpm = meta.sourcerpm.clone();
    if meta.sourcepackage {
        // The original stores a source package's own file name and hash here.
        package.pkg_sourcerpm = file_name.to_owned();
        package.pkg_srcrpm_hash = pkg_hash;
    }
    let files = file_rows(h, pkg_hash)?;
    let depends = depend_rows(h, pkg_hash)?;
    let changelog: BTreeSet<ChangelogRow> = meta
        .changelog
        .iter()
        .map(|c| ChangelogRow {
            chlog_hash: c.hash,
            chlog_text: c.text.clone(),
        })
        .collect();
    let specfile = spec.map(|s| SpecfilesRow {
        pkg_hash,
        pkg_name: meta.name.clone(),
        pkg_epoch: meta.epoch_or_zero(),
        pkg_version: meta.version.clone(),
        pkg_release: meta.release.clone(),
        specfile_name: s.name_lossy().into_owned(),
        specfile_date: u32::try_from(s.mtime).unwrap_or(u32::MAX),
        specfile_content_base64: base64::engine::general_purpose::STANDARD.encode(&s.content),
    });
    Ok(PackageRows {
        pkg_hash,
        sha1header: fixed(&meta.sha1header),
        header_sourcerpm,
        package,
        files,
        depends,
        changelog: changelog.into_iter().collect(),
        specfile,
    })
}

fn text(h: &Header<'_>, tag: Tag) -> Result<String, altrepodb_rpm::Error> {
    Ok(h.text(tag)?.into_owned())
}

/// The `Packages` row from the header (loader-supplied columns left at their defaults).
pub fn package_row(
    h: &Header<'_>,
    m: &PackageMeta,
    pkg_hash: u64,
) -> Result<PackagesRow, altrepodb_rpm::Error> {
    let owned = |v: &[String]| v.to_vec();
    Ok(PackagesRow {
        pkg_hash,
        pkg_cs: fixed(&m.sha1header),
        pkg_packager: m.packager.clone(),
        pkg_packager_email: m.packager_email.clone(),
        pkg_name: m.name.clone(),
        pkg_arch: m.pkg_arch.clone(),
        pkg_version: m.version.clone(),
        pkg_release: m.release.clone(),
        pkg_epoch: m.epoch_or_zero(),
        pkg_serial_: m.epoch_or_zero(),
        pkg_buildtime: m.buildtime,
        pkg_buildhost: m.buildhost.clone(),
        pkg_size: m.size,
        pkg_archivesize: m.archivesize,
        pkg_filesize: 0,
        pkg_rpmversion: m.rpmversion.clone(),
        pkg_cookie: m.cookie.clone(),
        pkg_sourcepackage: u8::from(m.sourcepackage),
        pkg_disttag: m.disttag.clone(),
        pkg_sourcerpm: m.sourcerpm.clone(),
        pkg_srcrpm_hash: 0,
        pkg_filename: String::new(),
        pkg_complete: 0,
        pkg_summary: m.summary.clone(),
        pkg_description: m.description.clone(),
        pkg_changelog_date: m.changelog.iter().map(|c| c.date).collect(),
        pkg_changelog_name: m.changelog.iter().map(|c| c.name.clone()).collect(),
        pkg_changelog_evr: m.changelog.iter().map(|c| c.evr.clone()).collect(),
        pkg_changelog_hash: m.changelog.iter().map(|c| c.hash).collect(),
        pkg_distribution: m.distribution.clone(),
        pkg_vendor: m.vendor.clone(),
        pkg_gif: m.gif.clone(),
        pkg_xpm: m.xpm.clone(),
        pkg_license: m.license.clone(),
        pkg_group_: m.group.clone(),
        pkg_url: m.url.clone(),
        pkg_vcs: text(h, Tag::VCS)?,
        pkg_os: m.os.clone(),
        pkg_prein: m.prein.clone(),
        pkg_postin: m.postin.clone(),
        pkg_preun: m.preun.clone(),
        pkg_postun: m.postun.clone(),
        pkg_pretrans: text(h, Tag::PRETRANS)?,
        pkg_posttrans: text(h, Tag::POSTTRANS)?,
        pkg_icon: m.icon.clone(),
        pkg_preinprog: owned(&m.preinprog),
        pkg_postinprog: owned(&m.postinprog),
        pkg_preunprog: owned(&m.preunprog),
        pkg_postunprog: owned(&m.postunprog),
        pkg_buildarchs: owned(&m.buildarchs),
        pkg_verifyscript: m.verifyscript.clone(),
        pkg_verifyscriptprog: owned(&m.verifyscriptprog),
        pkg_prefixes: owned(&m.prefixes),
        pkg_instprefixes: owned(&m.instprefixes),
        pkg_optflags: m.optflags.clone(),
        pkg_disturl: m.disturl.clone(),
        pkg_payloadformat: m.payloadformat.clone(),
        pkg_payloadcompressor: m.payloadcompressor.clone(),
        pkg_payloadflags: m.payloadflags.clone(),
        pkg_platform: m.platform.clone(),
    })
}

/// The class stored for a file ([`meta::FileClass::stored`]: a class string that is no
/// file-type word, e.g. "ELF 64-bit …", describes a regular file).
fn file_class(c: meta::FileClass) -> meta::FileClass {
    c.stored()
}

/// `Files_insert` rows, in header order.
pub fn file_rows(h: &Header<'_>, pkg_hash: u64) -> Result<Vec<FilesRow>, altrepodb_rpm::Error> {
    Ok(meta::files(h)?
        .into_iter()
        .map(|f| FilesRow {
            pkg_hash,
            file_name: f.name,
            file_linkto: f.linkto,
            // FixedString(16): MD5 digests only; other digest algorithms do not fit.
            file_md5: if f.md5.len() == 16 {
                fixed(&f.md5)
            } else {
                [0; 16]
            },
            // UInt32 column: sizes past 4 GiB saturate instead of wrapping.
            file_size: u32::try_from(f.size).unwrap_or(u32::MAX),
            file_mode: f.mode,
            file_rdev: f.rdev,
            file_mtime: f.mtime,
            file_flag: u16::try_from(f.flags).unwrap_or(u16::MAX),
            file_username: f.username,
            file_groupname: f.groupname,
            file_verifyflag: f.verifyflags,
            file_device: f.device,
            file_lang: f.lang,
            file_class: file_class(f.class),
        })
        .collect())
}

/// `Depends` rows: requires, conflicts, obsoletes, provides (the original's insert order).
pub fn depend_rows(h: &Header<'_>, pkg_hash: u64) -> Result<Vec<DependsRow>, altrepodb_rpm::Error> {
    let mut out = Vec::new();
    for kind in DepKind::ALL {
        out.extend(
            meta::dependencies(h, kind)?
                .into_iter()
                .map(|d| DependsRow {
                    pkg_hash,
                    dp_name: d.name,
                    dp_version: d.version,
                    dp_flag: d.flags,
                    dp_type: kind,
                }),
        );
    }
    Ok(out)
}

/// The base name of a path as text.
pub fn base_name(path: &Path) -> Cow<'_, str> {
    path.file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default()
}
