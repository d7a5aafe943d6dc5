//! Typed rows of the enrichment-feed tables (schema `0005_feeds.sql`): ACL lines, Repocop
//! results, Bugzilla bugs, Beehive rebuild results, Watch findings, SPDX licenses.
//!
//! One struct per table, named after it (`Acl` → [`AclRow`]), field names = column names;
//! `DateTime` columns are seconds since the epoch (`u32`). MATERIALIZED `ts` columns are never
//! written. Every row also reads back (`Deserialize`) and compares (`PartialEq`): the feed
//! loaders' change detection compares parsed rows with stored ones.

use clickhouse::Row;
use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::registry::{self, TableSpec};
use crate::sink::Table;

/// `Acl`: one ACL line of a branch at a date (`acl_for` is a package or `@group`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Row, Serialize, Deserialize)]
#[allow(missing_docs)] // field = column; see schema.md §1.5
pub struct AclRow {
    pub acl_date: u32,
    pub acl_for: String,
    pub acl_branch: String,
    pub acl_list: Vec<String>,
}

/// `PackagesRepocop`: one Repocop test result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Row, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct PackagesRepocopRow {
    pub pkg_name: String,
    pub pkg_version: String,
    pub pkg_release: String,
    pub pkg_arch: String,
    pub pkgset_name: String,
    pub rc_srcpkg_name: String,
    pub rc_srcpkg_version: String,
    pub rc_srcpkg_release: String,
    pub rc_test_name: String,
    pub rc_test_date: u32,
    pub rc_test_status: String,
    pub rc_test_message: String,
}

/// `Bugzilla`: one state of a bug.
#[derive(Debug, Clone, Default, PartialEq, Eq, Row, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct BugzillaRow {
    pub bz_id: u32,
    pub bz_status: String,
    pub bz_resolution: String,
    pub bz_severity: String,
    pub bz_priority: String,
    pub bz_product: String,
    pub bz_version: String,
    pub bz_platform: String,
    pub bz_component: String,
    pub bz_assignee: String,
    pub bz_reporter: String,
    pub bz_summary: String,
    pub bz_last_changed: u32,
    pub bz_assignee_full: String,
    pub bz_reporter_full: String,
}

/// `BeehiveStatus.bh_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize_repr, Deserialize_repr)]
#[repr(i8)]
#[allow(missing_docs)]
pub enum BeehiveResult {
    #[default]
    Error = 0,
    Success = 1,
}

/// `BeehiveStatus`: one package's rebuild result on a branch and arch.
#[derive(Debug, Clone, Default, PartialEq, Row, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct BeehiveStatusRow {
    pub pkg_hash: u64,
    pub pkg_name: String,
    pub pkg_version: String,
    pub pkg_release: String,
    pub pkgset_name: String,
    pub bh_arch: String,
    pub bh_status: BeehiveResult,
    pub bh_build_time: f32,
    pub bh_updated: u32,
    pub bh_ftbfs_since: u32,
}

/// `PackagesWatch`: one newer upstream version found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Row, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct PackagesWatchRow {
    pub acl: String,
    pub pkg_name: String,
    pub old_version: String,
    pub new_version: String,
    pub url: String,
    pub date_update: u32,
}

/// `SPDXLicenses.spdx_type`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize_repr,
    Deserialize_repr,
)]
#[repr(i8)]
#[allow(missing_docs)]
pub enum SpdxType {
    #[default]
    License = 0,
    Exception = 1,
}

/// `SPDXLicenses`: one license or exception.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Row, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct SPDXLicensesRow {
    pub spdx_id: String,
    pub spdx_name: String,
    pub spdx_text: String,
    pub spdx_header: String,
    pub spdx_urls: Vec<String>,
    pub spdx_type: SpdxType,
}

impl Table for AclRow {
    const SPEC: TableSpec = registry::ACL;
}
impl Table for PackagesRepocopRow {
    const SPEC: TableSpec = registry::PACKAGES_REPOCOP;
}
impl Table for BugzillaRow {
    const SPEC: TableSpec = registry::BUGZILLA;
}
impl Table for BeehiveStatusRow {
    const SPEC: TableSpec = registry::BEEHIVE_STATUS;
}
impl Table for PackagesWatchRow {
    const SPEC: TableSpec = registry::PACKAGES_WATCH;
}
impl Table for SPDXLicensesRow {
    const SPEC: TableSpec = registry::SPDX_LICENSES;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::tests::assert_columns_in_schema;

    #[test]
    fn rows_match_the_schema() {
        assert_columns_in_schema::<AclRow>();
        assert_columns_in_schema::<PackagesRepocopRow>();
        assert_columns_in_schema::<BugzillaRow>();
        assert_columns_in_schema::<BeehiveStatusRow>();
        assert_columns_in_schema::<PackagesWatchRow>();
        assert_columns_in_schema::<SPDXLicensesRow>();
    }
}
