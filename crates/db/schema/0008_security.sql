-- ALTRepo DB schema, file 0008: security data of the 2026 API: antivirus scans, vulnerability
-- records (CVE/BDU/GHSA/...), CPE match criteria, package name <-> Repology project <-> CPE
-- mapping, and package/vulnerability matches.
--
-- Not in the 2022 DDL: column names come from the API. Types, engines and keys are inferred
-- (schema.md section 2.2). Histories are append-only: readers pick the newest row with
-- argMax(..., ts). Where the API inserts with a column list that omits ts, or with
-- `(* EXCEPT ts)`, ts is DEFAULT now64(). Where it inserts plain VALUES with exactly the
-- other columns (PackagesNameConversion), ts is MATERIALIZED.

-- Antivirus scan findings (scanner 'drweb'/'kesl', type 'threat'/'error'/'info', target
-- 'branch'/'images'). All rows of one scan run share one av_date: the current scan is
-- max(av_date) per (av_scanner, pkgset_name). pkg_arch 'src' marks source packages.
-- The API joins these rows with static_last_packages USING (pkgset_name, pkg_name,
-- pkg_version, pkg_release) and `SELECT *`, so no column may share a name with another
-- static_last_packages column.
CREATE TABLE IF NOT EXISTS AntivirusScanStatus
(
    av_scanner  LowCardinality(String),
    av_type     LowCardinality(String),
    av_issue    String,
    av_message  String,
    av_target   LowCardinality(String),
    file_name   String,
    pkgset_name LowCardinality(String),
    pkg_name    String,
    pkg_version String,
    pkg_release String,
    pkg_arch    LowCardinality(String),
    av_date     DateTime
)
ENGINE = MergeTree
ORDER BY (av_scanner, pkgset_name, av_date, pkg_name);

-- One row per fetched version of a vulnerability record. The current version of an id is
-- argMax(vuln_hash, ts). vuln_references of type 'CVE' link BDU/GHSA records to CVEs.
-- vuln_json is the raw upstream record (e.g. NVD '{"cve": {...}}').
CREATE TABLE IF NOT EXISTS Vulnerabilities
(
    vuln_id             String,
    vuln_hash           UInt64,
    vuln_type           LowCardinality(String),
    vuln_summary        String,
    vuln_score          Float32,
    vuln_severity       LowCardinality(String),
    vuln_url            String,
    vuln_modified_date  DateTime,
    vuln_published_date DateTime,
    vuln_references     Nested(type String, link String),
    vuln_json           String,
    vuln_rejected       UInt8,
    ts                  DateTime64(3) DEFAULT now64()
)
ENGINE = MergeTree
ORDER BY (vuln_id, ts);

-- CPE match criteria of every vulnerability version (vuln_id, vuln_hash),
-- cpe_hash = murmurHash3_64(cpm_cpe) (= PackagesCveMatch.cpm_cpe_hash). Version bounds are
-- '' when absent, *_excluded = 1 for versionStartExcluding/versionEndExcluding.
-- cpm_version_hash is kept for pre-2026 readers.
CREATE TABLE IF NOT EXISTS CpeMatch
(
    vuln_id                    String,
    vuln_hash                  UInt64,
    cpe_hash                   UInt64,
    cpm_cpe                    String,
    cpm_version_start          String,
    cpm_version_end            String,
    cpm_version_start_excluded UInt8,
    cpm_version_end_excluded   UInt8,
    cpm_version_hash           UInt64,
    ts                         DateTime64(3) DEFAULT now64()
)
ENGINE = MergeTree
ORDER BY (vuln_id, vuln_hash, cpe_hash);

-- Package name conversion history (latest = argMax(pnc_state, ts) per
-- (pkg_name, pnc_type, pnc_result)). Repology rows: pkg_name = ALT source package,
-- pnc_type = Repology repo ('altsisyphus', 'alt_p10', ...), pnc_result = project name.
-- CPE rows: pkg_name = Repology project, pnc_type = 'cpe', pnc_result = CPE 2.3 string.
-- pnc_state 'active'/'inactive'/'candidate', pnc_source 'repology'/'auto'/'manual'/...
CREATE TABLE IF NOT EXISTS PackagesNameConversion
(
    pkg_name   String,
    pnc_state  String,
    pnc_result String,
    pnc_type   String,
    pnc_source String,
    ts         DateTime64(3) MATERIALIZED now64()
)
ENGINE = MergeTree
ORDER BY (pkg_name, pnc_type, pnc_result, ts);

-- Audit of package name conversion changes. pncc_reason is JSON
-- ({"actor", "user": {"name", "ip"}, "message", "details"}). transaction_id groups the rows
-- of one operation. Inserted with (* EXCEPT ts).
CREATE TABLE IF NOT EXISTS PncChangeHistory
(
    transaction_id UUID,
    pncc_user      String,
    pncc_user_ip   String,
    pncc_reason    String,
    pncc_type      Enum8('create' = 0, 'update' = 1, 'discard' = 2, 'hide' = 3, 'show' = 4),
    pncc_source    Enum8('auto' = 0, 'manual' = 1),
    pncc_origin    Enum8('parent' = 0, 'child' = 1),
    pkg_name       String,
    pnc_state      String,
    pnc_result     String,
    pnc_type       String,
    pnc_source     String,
    ts             DateTime64(3) DEFAULT now64()
)
ENGINE = MergeTree
ORDER BY (ts, transaction_id);

-- Matches of package CPEs against vulnerability CPE criteria (history, latest
-- argMax(is_vulnerable, ts) per (pkg_name, vuln_id, pkg_cpe_hash, cpm_cpe, pkg_hash)).
-- is_vulnerable = 0 rows are the "excluded packages" of a vulnerability.
-- key_hash, pkg_cpe and cpm_version_hash are kept for pre-2026 readers.
CREATE TABLE IF NOT EXISTS PackagesCveMatch
(
    key_hash         UInt64,
    pkg_hash         UInt64,
    pkg_name         String,
    pkg_cpe          String,
    pkg_cpe_hash     UInt64,
    vuln_id          String,
    vuln_hash        UInt64,
    cpm_cpe          String,
    cpm_cpe_hash     UInt64,
    cpm_version_hash UInt64,
    is_vulnerable    UInt8,
    ts               DateTime64(3) DEFAULT now64()
)
ENGINE = MergeTree
ORDER BY (pkg_name, vuln_id, pkg_hash, cpm_cpe_hash, ts);

-- Vulnerability state of branch packages. No "latest row": for one
-- (pkg_hash, pkg_name, pkgset_name, vuln_id) a vulnerability is open iff some row has
-- is_vulnerable = 1 and no row has is_fixed = 1. Refreshed per branch (delete + insert).
CREATE TABLE IF NOT EXISTS PackagesVulnerabilityStatus
(
    pkg_hash      UInt64,
    pkg_name      String,
    pkgset_name   String,
    vuln_id       String,
    vuln_hash     UInt64,
    is_vulnerable UInt8,
    is_fixed      UInt8,
    ts            DateTime64(3) DEFAULT now64()
)
ENGINE = MergeTree
ORDER BY (pkgset_name, pkg_name, vuln_id, pkg_hash);
