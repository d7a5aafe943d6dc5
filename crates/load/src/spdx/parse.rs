//! One SPDX JSON document → one `SPDXLicenses` row (pure).

use altrepodb_db::rows_feeds::{SPDXLicensesRow, SpdxType};
use serde::Deserialize;

/// A document that is not a license or exception of the expected shape.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct SpdxParseError {
    /// The file.
    pub file: String,
    /// What is wrong (serde's message with line and column).
    pub reason: String,
}

#[derive(Deserialize)]
struct License {
    #[serde(rename = "licenseId")]
    id: String,
    name: String,
    #[serde(rename = "licenseText")]
    text: String,
    #[serde(rename = "standardLicenseHeader", default)]
    header: Option<String>,
    #[serde(rename = "seeAlso", default)]
    see_also: Vec<String>,
}

#[derive(Deserialize)]
struct Exception {
    #[serde(rename = "licenseExceptionId")]
    id: String,
    name: String,
    #[serde(rename = "licenseExceptionText")]
    text: String,
    #[serde(rename = "licenseComments", default)]
    comments: Option<String>,
    #[serde(rename = "seeAlso", default)]
    see_also: Vec<String>,
}

/// Parses `data` (the file `file`) as a license (`json/details`) or an exception
/// (`json/exceptions`).
pub fn parse_spdx(
    file: &str,
    data: &[u8],
    kind: SpdxType,
) -> Result<SPDXLicensesRow, SpdxParseError> {
    let err = |e: serde_json::Error| SpdxParseError {
        file: file.to_owned(),
        reason: e.to_string(),
    };
    let row = match kind {
        SpdxType::License => {
            let l: License = serde_json::from_slice(data).map_err(err)?;
            SPDXLicensesRow {
                spdx_id: l.id,
                spdx_name: l.name,
                spdx_text: l.text,
                spdx_header: l.header.unwrap_or_default(),
                spdx_urls: l.see_also,
                spdx_type: SpdxType::License,
            }
        }
        SpdxType::Exception => {
            let e: Exception = serde_json::from_slice(data).map_err(err)?;
            SPDXLicensesRow {
                spdx_id: e.id,
                spdx_name: e.name,
                spdx_text: e.text,
                spdx_header: e.comments.unwrap_or_default(),
                spdx_urls: e.see_also,
                spdx_type: SpdxType::Exception,
            }
        }
    };
    if row.spdx_id.is_empty() {
        return Err(SpdxParseError {
            file: file.to_owned(),
            reason: "empty id".into(),
        });
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_and_exception_fields() {
        // Synthetic documents in the license-list-data layout.
        let l = br#"{"licenseId":"X-1","name":"X One","licenseText":"t\n","seeAlso":["https://a","https://b"],"isOsiApproved":true}"#;
        let r = parse_spdx("x.json", l, SpdxType::License).unwrap();
        assert_eq!(r.spdx_id, "X-1");
        assert_eq!(r.spdx_name, "X One");
        assert_eq!(r.spdx_text, "t\n");
        assert_eq!(r.spdx_header, "");
        assert_eq!(r.spdx_urls, vec!["https://a", "https://b"]);
        let e = br#"{"licenseExceptionId":"E-1","name":"E","licenseExceptionText":"et","licenseComments":"c"}"#;
        let r = parse_spdx("e.json", e, SpdxType::Exception).unwrap();
        assert_eq!((r.spdx_id.as_str(), r.spdx_header.as_str()), ("E-1", "c"));
        assert_eq!(r.spdx_type, SpdxType::Exception);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = parse_spdx("d/x.json", b"{\n\"name\": 1}", SpdxType::License).unwrap_err();
        assert!(e.to_string().starts_with("d/x.json: "), "{e}");
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse_spdx(
            "x.json",
            br#"{"name":"n","licenseText":"t"}"#,
            SpdxType::License,
        )
        .unwrap_err();
        assert!(e.to_string().contains("licenseId"), "{e}");
    }
}
