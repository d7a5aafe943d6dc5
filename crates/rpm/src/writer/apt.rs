//! APT header-list records: a main header plus the APT index tags.

use super::*;

/// APT index tags of one list record (ALT apt-rpm `CRPMTAG_*`). Empty fields are not written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AptIndex {
    /// 1000000: the package file name.
    pub file_name: String,
    /// 1000001: the package file size.
    pub file_size: u64,
    /// 1000005: MD5 of the package file (hex).
    pub md5: Option<String>,
    /// 1000006: SHA-1 (hex).
    pub sha1: Option<String>,
    /// 1000007: SHA-256 (hex).
    pub sha256: Option<String>,
    /// 1000008: SHA-512 (hex).
    pub sha512: Option<String>,
    /// 1000009: BLAKE2b-512 (hex).
    pub blake2b: Option<String>,
    /// 1000010: directory of the package (e.g. `RPMS.classic`).
    pub directory: Option<String>,
    /// 1000011: for srclist records, the binary packages built from the source package.
    pub binaries: Vec<String>,
    /// Further tags (e.g. 1000020… update info).
    pub extra: BTreeMap<u32, TagValue>,
}

impl AptIndex {
    /// Index tags for a package file's bytes: size, MD5 and BLAKE2b (what ALT's lists carry
    /// and the loader reads).
    pub fn for_file(file_name: impl Into<String>, bytes: &[u8], directory: Option<&str>) -> Self {
        use crate::digest::{digest_bytes, DigestAlgo};
        let d = digest_bytes(bytes, &[DigestAlgo::Md5, DigestAlgo::Blake2b512]);
        AptIndex {
            file_name: file_name.into(),
            file_size: bytes.len() as u64,
            md5: d.hex(DigestAlgo::Md5),
            blake2b: d.hex(DigestAlgo::Blake2b512),
            directory: directory.map(str::to_string),
            ..AptIndex::default()
        }
    }

    /// [`AptIndex::for_file`] for a built package.
    pub fn for_package(pkg: &BuiltPackage, directory: Option<&str>) -> Self {
        Self::for_file(pkg.file_name.clone(), &pkg.bytes, directory)
    }

    fn tags(&self) -> Result<Vec<(u32, TagValue)>, WriteError> {
        let mut v: Vec<(u32, TagValue)> = vec![(APT_FILENAME, self.file_name.as_str().into())];
        v.push((APT_FILESIZE, fit32("APT file size", self.file_size)?.into()));
        let strs = [
            (APT_MD5, &self.md5),
            (APT_SHA1, &self.sha1),
            (APT_SHA256, &self.sha256),
            (APT_SHA512, &self.sha512),
            (APT_BLAKE2B, &self.blake2b),
            (APT_DIRECTORY, &self.directory),
        ];
        for (t, s) in strs {
            if let Some(s) = s {
                v.push((t, s.as_str().into()));
            }
        }
        if !self.binaries.is_empty() {
            v.push((APT_BINARY, TagValue::strings(self.binaries.clone())));
        }
        v.extend(self.extra.iter().map(|(t, x)| (*t, x.clone())));
        Ok(v)
    }
}

/// How an APT list record is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AptLayout {
    /// A fresh header without a region, all tags in tag order (what genpkglist writes when
    /// it copies selected tags into a new header).
    Flat,
    /// The package's header with its HEADERIMMUTABLE region intact and the APT tags added
    /// outside it (what a read header plus `headerAddEntry` gives).
    KeepRegion,
}

/// A magic-prefixed header record as found in ALT's `pkglist.*` / `srclist.*`: `main`'s
/// entries plus the APT index tags. Concatenate records (no padding) to make a list.
pub fn apt_header_record(
    main: &HeaderWriter,
    apt: &AptIndex,
    layout: AptLayout,
) -> Result<Vec<u8>, WriteError> {
    let mut h = match layout {
        AptLayout::Flat => main.flattened(),
        AptLayout::KeepRegion => main.clone(),
    };
    for (t, v) in apt.tags()? {
        match layout {
            AptLayout::Flat => h.set(t, v),
            AptLayout::KeepRegion if h.region().is_some() => h.set_outside_region(t, v),
            AptLayout::KeepRegion => h.set(t, v),
        };
    }
    h.to_record()
}
