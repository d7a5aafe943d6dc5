//! `DIR/manifest.json`: what was generated, for tests to compare a database against.
//!
//! The file is valid JSON, laid out so it can also be read one package at a time:
//!
//! ```text
//! {"format":"altrepodb-testdata-manifest/1",
//! "packages":[
//! {…one PackageRecord…},
//! {…}
//! ],
//! "summary":{…RepoManifest…}}
//! ```
//!
//! Each package record sits on its own line (compact JSON never contains a raw newline), so
//! [`PackageIter`] streams them with bounded memory. The summary comes last because the
//! totals are only known at the end. The loader ignores the file: it only looks at
//! `files/` and the architecture directories (original §3.1).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::GenError;

/// The `format` value of manifests written by this version.
pub const MANIFEST_FORMAT: &str = "altrepodb-testdata-manifest/1";
/// The manifest's file name inside the snapshot directory.
pub const MANIFEST_NAME: &str = "manifest.json";

const HEAD: &str = "{\"format\":\"altrepodb-testdata-manifest/1\",\n\"packages\":[\n";
const SUMMARY_PREFIX: &str = "\"summary\":";

/// Source or binary package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    /// A `.src.rpm` in `files/SRPMS`, listed in every `srclist.classic`.
    Source,
    /// A binary `.rpm` in `files/<arch>/RPMS`, listed in `<arch>/base/pkglist.classic`.
    Binary,
}

/// One changelog entry as the reader splits it (original §5.4): `name` up to and including
/// `>`, `evr` after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangelogRecord {
    /// CHANGELOGTIME (noon UTC of the entry's day).
    pub date: u32,
    /// `Name <email>`.
    pub name: String,
    /// `[E:]V-R` of the entry.
    pub evr: String,
    /// CHANGELOGTEXT (may be multi-line and non-ASCII).
    pub text: String,
}

/// How a source package was generated; next-day mode rebuilds from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenInfo {
    /// Generator index (determines the base name; never reused).
    pub index: u64,
    /// Per-source seed (determines the package's shape: subpackages, file trees, …).
    pub seed: u64,
}

/// One package: everything a loader test compares the database against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRecord {
    /// Path relative to the snapshot root (`files/SRPMS/…` or `files/<arch>/RPMS/…`).
    pub path: String,
    /// Base file name (`pkg_filename`).
    pub file_name: String,
    /// Source or binary.
    pub kind: PackageKind,
    /// Architecture directory: `src` for sources (the hash-list name), else `x86_64`,
    /// `noarch`, `x86_64-i586`, …
    pub arch_dir: String,
    /// For binaries, the path the pkglist names: `<arch>/RPMS.classic/<file>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classic_path: Option<String>,
    /// NAME.
    pub name: String,
    /// EPOCH (absent: `None`; the loader stores 0).
    pub epoch: Option<u32>,
    /// VERSION.
    pub version: String,
    /// RELEASE.
    pub release: String,
    /// ARCH from the header (`i586` for `i586-*` compat packages, the build arch for sources).
    pub arch: String,
    /// `pkg_arch` as the loader computes it (`x86_64-i586` for `i586-*` names).
    pub pkg_arch: String,
    /// BUILDTIME.
    pub buildtime: u32,
    /// BUILDHOST.
    pub buildhost: String,
    /// `pkg_sourcerpm` as the loader stores it: SOURCERPM for binaries, the package's own
    /// file name for sources.
    pub sourcerpm: String,
    /// DISTTAG.
    pub disttag: String,
    /// PACKAGER as written.
    pub packager: String,
    /// SUMMARY.
    pub summary: String,
    /// GROUP.
    pub group: String,
    /// LICENSE.
    pub license: String,
    /// PAYLOADCOMPRESSOR (`""` for an uncompressed payload).
    pub payload_compressor: String,
    /// Size of the `.rpm` file.
    pub file_size: u64,
    /// MD5 of the file (hex), as APT tag 1000005.
    pub md5: String,
    /// SHA-256 of the file (hex), as in `files/list/<arch>.hash.xz`.
    pub sha256: String,
    /// BLAKE2b-512 of the file (hex), as APT tag 1000009.
    pub blake2b: String,
    /// SHA1HEADER (hex; `pkg_cs`).
    pub sha1header: String,
    /// SIGMD5 (hex).
    pub sigmd5: String,
    /// `pkg_hash` (original §4.1) from SHA1HEADER, SIGMD5 and BUILDTIME (no GPG).
    pub pkg_hash: u64,
    /// `pkg_srcrpm_hash`: the source package's `pkg_hash` (a source's own hash).
    pub srcrpm_hash: u64,
    /// Number of files in the header (ghosts included).
    pub files: u64,
    /// Whether the header has FILECLASS/CLASSDICT (ALT's packages don't; a few generated
    /// ones do). Without them a file's kind is only in its FILEMODES type bits.
    pub file_classes: bool,
    /// REQUIRENAME entries (including the automatic `rpmlib(…)` ones).
    pub requires: u32,
    /// PROVIDENAME entries (including the self-provide).
    pub provides: u32,
    /// CONFLICTNAME entries.
    pub conflicts: u32,
    /// OBSOLETENAME entries.
    pub obsoletes: u32,
    /// The changelog, newest first.
    pub changelog: Vec<ChangelogRecord>,
    /// For sources: names of the binary packages built from it (sorted, unique), as
    /// srclist's APT tag 1000011 lists them. Empty for binaries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binaries: Vec<String>,
    /// For sources: how it was generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gen: Option<GenInfo>,
}

impl PackageRecord {
    /// `[E:]V-R`.
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(e) => format!("{e}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }
}

/// What a next-day run changed relative to its previous snapshot (source names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSummary {
    /// The previous snapshot's date.
    pub prev_date: String,
    /// Sources rebuilt with a new version or release.
    pub upgraded: Vec<String>,
    /// Sources that are new.
    pub added: Vec<String>,
    /// Sources that were dropped.
    pub removed: Vec<String>,
    /// Sources carried over byte-identically.
    pub unchanged: usize,
}

/// The manifest summary (the `summary` object); [`RepoManifest::packages`] streams the
/// package records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoManifest {
    /// Branch label (`Sisyphus`, `p10`, …).
    pub branch: String,
    /// Snapshot date, `YYYY-MM-DD`.
    pub date: String,
    /// Seed of this run.
    pub seed: u64,
    /// Architecture directories written (binary arches, `noarch`, maybe `x86_64-i586`).
    pub arches: Vec<String>,
    /// `task` in `files/list/task.info`.
    pub task: u64,
    /// `prev` in `files/list/task.info`.
    pub prev_task: u64,
    /// The next unused generator index (next-day mode numbers new sources from here).
    pub next_index: u64,
    /// Source packages.
    pub sources: u64,
    /// Binary packages.
    pub binaries: u64,
    /// Files in all package headers (sources and binaries).
    pub files: u64,
    /// Bytes of all `.rpm` files.
    pub bytes: u64,
    /// Next-day changes, if this snapshot was made from a previous one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeSummary>,
    /// Where the manifest was read from or written to (not serialised).
    #[serde(skip)]
    pub path: PathBuf,
}

impl RepoManifest {
    /// Reads the summary of `DIR/manifest.json` (scans the file; package lines are skipped,
    /// not parsed).
    pub fn read(dir: &Path) -> Result<RepoManifest, GenError> {
        let path = dir.join(MANIFEST_NAME);
        let file = File::open(&path).map_err(GenError::io(&path))?;
        for line in BufReader::new(file).lines() {
            let line = line.map_err(GenError::io(&path))?;
            if let Some(rest) = line.strip_prefix(SUMMARY_PREFIX) {
                let json = rest.strip_suffix('}').unwrap_or(rest);
                let mut m: RepoManifest =
                    serde_json::from_str(json).map_err(|e| GenError::Manifest {
                        path: path.clone(),
                        why: e.to_string(),
                    })?;
                m.path = path;
                return Ok(m);
            }
        }
        Err(GenError::Manifest {
            path,
            why: "no summary line".into(),
        })
    }

    /// Streams the package records.
    pub fn packages(&self) -> Result<PackageIter, GenError> {
        PackageIter::open(&self.path)
    }

    /// All package records, collected (fine for small snapshots and tests).
    pub fn load_packages(&self) -> Result<Vec<PackageRecord>, GenError> {
        self.packages()?.collect()
    }
}

/// Iterator over the package records of a manifest file.
#[derive(Debug)]
pub struct PackageIter {
    path: PathBuf,
    lines: std::io::Lines<BufReader<File>>,
    line_no: usize,
    done: bool,
}

impl PackageIter {
    /// Opens `path` (a `manifest.json`) and checks its format line.
    pub fn open(path: &Path) -> Result<PackageIter, GenError> {
        let file = File::open(path).map_err(GenError::io(path))?;
        let mut it = PackageIter {
            path: path.to_owned(),
            lines: BufReader::new(file).lines(),
            line_no: 0,
            done: false,
        };
        let expected: Vec<&str> = HEAD.lines().collect();
        for want in expected {
            match it.next_line()? {
                Some(l) if l == want => {}
                other => {
                    return Err(it.bad(format!(
                        "expected {want:?}, found {:?} (not a {MANIFEST_FORMAT} manifest)",
                        other.unwrap_or_default()
                    )))
                }
            }
        }
        Ok(it)
    }

    fn next_line(&mut self) -> Result<Option<String>, GenError> {
        self.line_no += 1;
        self.lines
            .next()
            .transpose()
            .map_err(GenError::io(&self.path))
    }

    fn bad(&self, why: String) -> GenError {
        GenError::Manifest {
            path: self.path.clone(),
            why: format!("line {}: {why}", self.line_no),
        }
    }
}

impl Iterator for PackageIter {
    type Item = Result<PackageRecord, GenError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let line = match self.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => {
                self.done = true;
                return Some(Err(self.bad("unexpected end of file".into())));
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        if line.starts_with(']') {
            self.done = true;
            return None;
        }
        let json = line.strip_suffix(',').unwrap_or(&line);
        Some(serde_json::from_str(json).map_err(|e| self.bad(e.to_string())))
    }
}

/// Writes a manifest incrementally: [`ManifestWriter::push`] per package, then
/// [`ManifestWriter::finish`] with the summary.
pub(crate) struct ManifestWriter {
    path: PathBuf,
    out: BufWriter<File>,
    first: bool,
}

impl ManifestWriter {
    pub(crate) fn create(path: &Path) -> Result<Self, GenError> {
        let file = File::create(path).map_err(GenError::io(path))?;
        let mut w = ManifestWriter {
            path: path.to_owned(),
            out: BufWriter::with_capacity(1 << 20, file),
            first: true,
        };
        w.write(HEAD.as_bytes())?;
        Ok(w)
    }

    fn write(&mut self, b: &[u8]) -> Result<(), GenError> {
        self.out.write_all(b).map_err(GenError::io(&self.path))
    }

    /// Appends one pre-serialised record (see [`record_line`]).
    pub(crate) fn push_line(&mut self, line: &str) -> Result<(), GenError> {
        if !self.first {
            self.write(b",\n")?;
        }
        self.first = false;
        self.write(line.as_bytes())
    }

    pub(crate) fn finish(mut self, summary: &RepoManifest) -> Result<(), GenError> {
        let json = serde_json::to_string(summary).map_err(|e| GenError::Manifest {
            path: self.path.clone(),
            why: e.to_string(),
        })?;
        if !self.first {
            self.write(b"\n")?;
        }
        self.write(b"],\n")?;
        self.write(SUMMARY_PREFIX.as_bytes())?;
        self.write(json.as_bytes())?;
        self.write(b"}\n")?;
        self.out.flush().map_err(GenError::io(&self.path))
    }
}

/// One record as a manifest line.
pub(crate) fn record_line(r: &PackageRecord) -> Result<String, GenError> {
    serde_json::to_string(r).map_err(|e| GenError::Manifest {
        path: PathBuf::from(&r.path),
        why: e.to_string(),
    })
}
