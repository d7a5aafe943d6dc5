//! Typed rows of the package and package-set tables.
//!
//! One struct per table, named after it (`Packages` → [`PackagesRow`]), field names = column
//! names (serde renames where ClickHouse uses `Nested` dotted names). Each row knows its
//! [`TableSpec`](crate::registry::TableSpec) through [`Table`]: rows go to the entry points
//! the original used (`*_buffer`, `*_insert`), so materialized views keep filling the
//! derived tables. The column enums are the RPM crate's ([`FileClass`], [`DepKind`]),
//! written as their `Enum8` numbers. With the client's schema validation on, a drift
//! between these structs and the DDL fails loudly; a unit test compares every struct's
//! columns with the expected schema.

pub use altrepodb_rpm::meta::{DepKind, FileClass};
use clickhouse::Row;
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use crate::registry::{self, TableSpec};
use crate::sink::Table;

/// Insert targets by their former constant names (kept while other branches merge; new code
/// uses [`Table::SPEC`]).
pub mod table {
    use crate::registry;
    /// `Packages` through its Buffer.
    pub const PACKAGES: &str = registry::PACKAGES.insert_into;
    /// `PackageHash` through its Buffer.
    pub const PACKAGE_HASH: &str = registry::PACKAGE_HASH.insert_into;
    /// The Null entry point whose MVs fill `Files` and `FileNames`.
    pub const FILES: &str = registry::FILES.insert_into;
    /// `Changelog` through its Buffer.
    pub const CHANGELOG: &str = registry::CHANGELOG.insert_into;
    /// `Depends` through its Buffer.
    pub const DEPENDS: &str = registry::DEPENDS.insert_into;
    /// The Null entry point whose MV base64-decodes into `Specfiles`.
    pub const SPECFILES: &str = registry::SPECFILES.insert_into;
    /// `PackageSet` through its Buffer.
    pub const PACKAGE_SET: &str = registry::PACKAGE_SET.insert_into;
    /// Package-set tree nodes (written directly; the root row fires the MV cascade).
    pub const PACKAGE_SET_NAME: &str = registry::PACKAGE_SET_NAME.insert_into;
}

/// A `FixedString(64)` value (serde derives stop at 32-element arrays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed64(pub [u8; 64]);

impl Default for Fixed64 {
    fn default() -> Self {
        Fixed64([0; 64])
    }
}

impl Serialize for Fixed64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(64)?;
        for b in &self.0 {
            t.serialize_element(b)?;
        }
        t.end()
    }
}

/// Copies up to `N` bytes into a zero-padded fixed array (as ClickHouse pads FixedString).
pub fn fixed<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = bytes.len().min(N);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

/// `Packages` (via `Packages_buffer`): one row per package header.
#[derive(Debug, Clone, Default, Row, Serialize)]
#[allow(missing_docs)] // field = column; see schema.md §1.1 and original-system.md §5.4
pub struct PackagesRow {
    pub pkg_hash: u64,
    pub pkg_cs: [u8; 20],
    pub pkg_packager: String,
    pub pkg_packager_email: String,
    pub pkg_name: String,
    pub pkg_arch: String,
    pub pkg_version: String,
    pub pkg_release: String,
    pub pkg_epoch: u32,
    pub pkg_serial_: u32,
    pub pkg_buildtime: u32,
    pub pkg_buildhost: String,
    pub pkg_size: u64,
    pub pkg_archivesize: u64,
    pub pkg_filesize: u64,
    pub pkg_rpmversion: String,
    pub pkg_cookie: String,
    pub pkg_sourcepackage: u8,
    pub pkg_disttag: String,
    pub pkg_sourcerpm: String,
    pub pkg_srcrpm_hash: u64,
    pub pkg_filename: String,
    pub pkg_complete: u8,
    pub pkg_summary: String,
    pub pkg_description: String,
    #[serde(rename = "pkg_changelog.date")]
    pub pkg_changelog_date: Vec<u32>,
    #[serde(rename = "pkg_changelog.name")]
    pub pkg_changelog_name: Vec<String>,
    #[serde(rename = "pkg_changelog.evr")]
    pub pkg_changelog_evr: Vec<String>,
    #[serde(rename = "pkg_changelog.hash")]
    pub pkg_changelog_hash: Vec<u64>,
    pub pkg_distribution: String,
    pub pkg_vendor: String,
    #[serde(with = "serde_bytes")]
    pub pkg_gif: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub pkg_xpm: Vec<u8>,
    pub pkg_license: String,
    pub pkg_group_: String,
    pub pkg_url: String,
    pub pkg_vcs: String,
    pub pkg_os: String,
    pub pkg_prein: String,
    pub pkg_postin: String,
    pub pkg_preun: String,
    pub pkg_postun: String,
    pub pkg_pretrans: String,
    pub pkg_posttrans: String,
    #[serde(with = "serde_bytes")]
    pub pkg_icon: Vec<u8>,
    pub pkg_preinprog: Vec<String>,
    pub pkg_postinprog: Vec<String>,
    pub pkg_preunprog: Vec<String>,
    pub pkg_postunprog: Vec<String>,
    pub pkg_buildarchs: Vec<String>,
    pub pkg_verifyscript: String,
    pub pkg_verifyscriptprog: Vec<String>,
    pub pkg_prefixes: Vec<String>,
    pub pkg_instprefixes: Vec<String>,
    pub pkg_optflags: String,
    pub pkg_disturl: String,
    pub pkg_payloadformat: String,
    pub pkg_payloadcompressor: String,
    pub pkg_payloadflags: String,
    pub pkg_platform: String,
}

/// `PackageHash` (via `PackageHash_buffer`): the digests of one package file.
#[derive(Debug, Clone, Default, Row, Serialize)]
pub struct PackageHashRow {
    /// `pkg_hash` of the package.
    pub pkgh_mmh: u64,
    /// MD5 of the `.rpm` file.
    pub pkgh_md5: [u8; 16],
    /// Header SHA1 (tag 269), not the file's.
    pub pkgh_sha1: [u8; 20],
    /// SHA-256 of the file.
    pub pkgh_sha256: [u8; 32],
    /// BLAKE2b-512 of the file.
    pub pkgh_blake2b: Fixed64,
}

/// `Files.file_class` as its `Enum8` number. A class string the original could not map
/// (`Unknown`) is stored as a regular file, the only value the column accepts for it.
fn file_class_code<S: Serializer>(c: &FileClass, s: S) -> Result<S::Ok, S::Error> {
    let code = match c {
        FileClass::Unknown => FileClass::File as i8,
        other => *other as i8,
    };
    s.serialize_i8(code)
}

/// `Depends.dp_type` as its `Enum8` number (the RPM crate's values are the column's).
fn dep_kind_code<S: Serializer>(k: &DepKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i8(*k as i8)
}

/// `Files_insert`: one row per file; MVs compute the name hashes and fill `FileNames`.
#[derive(Debug, Clone, Default, Row, Serialize)]
#[allow(missing_docs)] // field = column; see original-system.md §5.5
pub struct FilesRow {
    pub pkg_hash: u64,
    pub file_name: String,
    pub file_linkto: String,
    pub file_md5: [u8; 16],
    pub file_size: u32,
    pub file_mode: u16,
    pub file_rdev: u16,
    pub file_mtime: u32,
    pub file_flag: u16,
    pub file_username: String,
    pub file_groupname: String,
    pub file_verifyflag: u32,
    pub file_device: u32,
    pub file_lang: String,
    #[serde(serialize_with = "file_class_code")]
    pub file_class: FileClass,
}

/// `Changelog` (via `Changelog_buffer`): texts keyed by their hash.
#[derive(Debug, Clone, Default, Row, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangelogRow {
    /// `murmurHash3_64(chlog_text)`.
    pub chlog_hash: u64,
    /// The changelog entry text.
    pub chlog_text: String,
}

/// `Depends` (via `Depends_buffer`).
#[derive(Debug, Clone, Default, Row, Serialize)]
pub struct DependsRow {
    /// Package.
    pub pkg_hash: u64,
    /// Dependency name.
    pub dp_name: String,
    /// Version (ALT set-versions verbatim).
    pub dp_version: String,
    /// Raw RPM sense flags.
    pub dp_flag: u32,
    /// Kind.
    #[serde(serialize_with = "dep_kind_code")]
    pub dp_type: DepKind,
}

/// `Specfiles_insert`: a source package's spec file, base64-encoded (the MV decodes it).
#[derive(Debug, Clone, Default, Row, Serialize)]
#[allow(missing_docs)]
pub struct SpecfilesRow {
    pub pkg_hash: u64,
    pub pkg_name: String,
    pub pkg_epoch: u32,
    pub pkg_version: String,
    pub pkg_release: String,
    pub specfile_name: String,
    pub specfile_date: u32,
    pub specfile_content_base64: String,
}

/// `PackageSet` (via `PackageSet_buffer`): membership of a package in a tree node.
#[derive(Debug, Clone, Default, Row, Serialize, Deserialize)]
pub struct PackageSetRow {
    /// Node.
    #[serde(with = "clickhouse::serde::uuid")]
    pub pkgset_uuid: Uuid,
    /// Package.
    pub pkg_hash: u64,
}

/// `PackageSetName`: one node of a package-set tree.
#[derive(Debug, Clone, Default, Row, Serialize, Deserialize)]
pub struct PackageSetNameRow {
    /// This node.
    #[serde(with = "clickhouse::serde::uuid")]
    pub pkgset_uuid: Uuid,
    /// Parent node (all zero for the root).
    #[serde(with = "clickhouse::serde::uuid")]
    pub pkgset_puuid: Uuid,
    /// Root node.
    #[serde(with = "clickhouse::serde::uuid")]
    pub pkgset_ruuid: Uuid,
    /// 0 root, 1 srpm/arch, 2 component.
    pub pkgset_depth: u8,
    /// Node name.
    pub pkgset_nodename: String,
    /// Snapshot date (midnight, seconds since the epoch).
    pub pkgset_date: u32,
    /// `--tag`.
    pub pkgset_tag: String,
    /// 1 when complete.
    pub pkgset_complete: u8,
    /// kv keys, in insertion order.
    #[serde(rename = "pkgset_kv.k")]
    pub pkgset_kv_k: Vec<String>,
    /// kv values.
    #[serde(rename = "pkgset_kv.v")]
    pub pkgset_kv_v: Vec<String>,
}

impl Table for PackagesRow {
    const SPEC: TableSpec = registry::PACKAGES;
}
impl Table for PackageHashRow {
    const SPEC: TableSpec = registry::PACKAGE_HASH;
}
impl Table for FilesRow {
    const SPEC: TableSpec = registry::FILES;
}
impl Table for ChangelogRow {
    const SPEC: TableSpec = registry::CHANGELOG;
}
impl Table for DependsRow {
    const SPEC: TableSpec = registry::DEPENDS;
}
impl Table for SpecfilesRow {
    const SPEC: TableSpec = registry::SPECFILES;
}
impl Table for PackageSetRow {
    const SPEC: TableSpec = registry::PACKAGE_SET;
}
impl Table for PackageSetNameRow {
    const SPEC: TableSpec = registry::PACKAGE_SET_NAME;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::tests::assert_columns_in_schema;

    #[test]
    fn rows_match_the_schema() {
        assert_columns_in_schema::<PackagesRow>();
        assert_columns_in_schema::<PackageHashRow>();
        assert_columns_in_schema::<FilesRow>();
        assert_columns_in_schema::<ChangelogRow>();
        assert_columns_in_schema::<DependsRow>();
        assert_columns_in_schema::<SpecfilesRow>();
        assert_columns_in_schema::<PackageSetRow>();
        assert_columns_in_schema::<PackageSetNameRow>();
    }

    #[test]
    fn enums_serialize_as_their_enum8_numbers() {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::new(&mut out);
        file_class_code(&FileClass::Unknown, &mut ser).unwrap();
        assert_eq!(out, b"0");
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::new(&mut out);
        dep_kind_code(&DepKind::Provide, &mut ser).unwrap();
        assert_eq!(out, b"4");
    }

    #[test]
    fn fixed_pads_and_truncates() {
        assert_eq!(fixed::<4>(b"ab"), [b'a', b'b', 0, 0]);
        assert_eq!(fixed::<2>(b"abc"), [b'a', b'b']);
    }
}
