//! The Repocop JSON: an array of objects whose keys are the `PackagesRepocop` columns.

use altrepodb_db::rows_feeds::PackagesRepocopRow;
use serde::Deserialize;

/// A malformed document (serde's message names line and column).
#[derive(Debug, thiserror::Error)]
#[error("JSON: {0}")]
pub struct RepocopParseError(pub String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    pkg_name: String,
    pkg_version: String,
    pkg_release: String,
    pkg_arch: String,
    pkgset_name: String,
    rc_srcpkg_name: String,
    rc_srcpkg_version: String,
    rc_srcpkg_release: String,
    rc_test_name: String,
    rc_test_status: String,
    rc_test_message: String,
}

/// Parses the decompressed document; every row is dated `rc_test_date`. A record missing a
/// key or with an unknown one fails the whole document (the original inserted nothing and
/// reported success).
pub fn parse_repocop(
    data: &[u8],
    rc_test_date: u32,
) -> Result<Vec<PackagesRepocopRow>, RepocopParseError> {
    let recs: Vec<Record> =
        serde_json::from_slice(data).map_err(|e| RepocopParseError(e.to_string()))?;
    Ok(recs
        .into_iter()
        .map(|r| PackagesRepocopRow {
            pkg_name: r.pkg_name,
            pkg_version: r.pkg_version,
            pkg_release: r.pkg_release,
            pkg_arch: r.pkg_arch,
            pkgset_name: r.pkgset_name,
            rc_srcpkg_name: r.rc_srcpkg_name,
            rc_srcpkg_version: r.rc_srcpkg_version,
            rc_srcpkg_release: r.rc_srcpkg_release,
            rc_test_name: r.rc_test_name,
            rc_test_date,
            rc_test_status: r.rc_test_status,
            rc_test_message: r.rc_test_message,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REC: &str = r#"{"pkg_name":"foo","pkg_version":"1.0","pkg_release":"alt1","pkg_arch":"x86_64","pkgset_name":"sisyphus","rc_srcpkg_name":"foo","rc_srcpkg_version":"1.0","rc_srcpkg_release":"alt1","rc_test_name":"rpm-filesystem-conflict","rc_test_status":"ok","rc_test_message":""}"#;

    #[test]
    fn records_and_errors() {
        let r = parse_repocop(format!("[{REC}]").as_bytes(), 9).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].rc_test_name, "rpm-filesystem-conflict");
        assert_eq!(r[0].rc_test_date, 9);
        let missing = REC
            .replace(r#""rc_test_message":"","#, "")
            .replace(r#","rc_test_message":"""#, "");
        let e = parse_repocop(format!("[\n{REC},\n{missing}]").as_bytes(), 0).unwrap_err();
        assert!(
            e.0.contains("rc_test_message") && e.0.contains("line 3"),
            "{e}"
        );
        let extra = REC.replace("{", r#"{"x":"1","#);
        assert!(parse_repocop(format!("[{extra}]").as_bytes(), 0).is_err());
        assert!(parse_repocop(b"{}", 0).is_err());
    }
}
