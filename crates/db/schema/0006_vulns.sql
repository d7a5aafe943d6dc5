-- ALTRepo DB schema, file 0006: the 2022 generation of vulnerability tables.
--
-- Kept for compatibility with the 2022 database. The 2026 API does not read them (it uses
-- Vulnerabilities, CpeMatch, ErrataHistory, ... from 0008/0009). CveChecked has seed rows in
-- the 2022 sources (CveChecked-initial.json).

CREATE TABLE IF NOT EXISTS Cve
(
    pkg_hash                    UInt64,
    cve_id                      String,
    cve_description             String,
    cve_url                     String,
    cve_score                   Float64,
    cve_attacktype              String,
    cve_status                  Enum8('check' = 0, 'patched' = 1, 'discarded_by_version_check' = 2, 'manually_excluded' = 3),
    cve_uris                    Array(String),
    cve_modifieddate            DateTime,
    cve_parsingdate             DateTime,
    cve_cpe                     String,
    cve_version_start_excluding Nullable(String),
    cve_version_start_including Nullable(String),
    cve_version_end_excluding   Nullable(String),
    cve_version_end_including   Nullable(String),
    cc_id                       Nullable(UInt64)
)
ENGINE = MergeTree
ORDER BY (pkg_hash, cve_id, cve_modifieddate, cve_parsingdate);

CREATE TABLE IF NOT EXISTS CveAbsentPackages
(
    cap_product_name String,
    cve_id           String,
    cve_description  String,
    cve_url          String,
    cve_score        Float64,
    cve_attacktype   String,
    cve_uris         Array(String),
    cve_modifieddate DateTime,
    cve_parsingdate  DateTime
)
ENGINE = MergeTree
ORDER BY (cap_product_name, cve_id, cve_modifieddate, cve_parsingdate);

-- Manual CVE checks per package, cc_id identifies the check (name, CVE and checked versions).
CREATE TABLE IF NOT EXISTS CveChecked
(
    cve_id            String,
    pkg_name          String,
    cc_id             UInt64 MATERIALIZED murmurHash3_64(cve_id, pkg_name, `cc_checked_ver.pkg_evr`, `cc_checked_ver.pkg_branch`),
    cc_status         Enum8('patched' = 0, 'manually_excluded' = 1),
    cc_checkdate      DateTime,
    cc_description    String,
    cc_description_ru String,
    cc_checked_ver    Nested(pkg_evr String, pkg_branch String)
)
ENGINE = MergeTree
PRIMARY KEY (cve_id, pkg_name)
ORDER BY (cve_id, pkg_name, cc_checkdate);

-- FSTEC BDU records as loaded by the 2022 bdu loader (removed in 2022-03).
CREATE TABLE IF NOT EXISTS FstecBduList
(
    bdu_identifier          String,
    bdu_name                String,
    bdu_description         String,
    bdu_identify_date       Date,
    bdu_severity            String,
    bdu_solution            String,
    bdu_vul_status          String,
    bdu_exploit_status      String,
    bdu_fix_status          String,
    bdu_sources             String,
    bdu_other               String,
    bdu_vulnerable_software Nested(vendor String, type Array(String), name String, version String),
    bdu_environment         Nested(vendor String, version String, name String, platform String),
    bdu_cwe                 Nested(identifier String),
    bdu_cvss                Nested(vector String, score Float32),
    bdu_identifiers         Nested(identifier String, type String, link String)
)
ENGINE = MergeTree
PRIMARY KEY (bdu_identifier, bdu_identify_date)
ORDER BY (bdu_identifier, bdu_identify_date, bdu_name);

-- Cve rows with the current-branch package they belong to (empty when not in a branch).
CREATE VIEW IF NOT EXISTS last_cve AS
SELECT
    C.*,
    LP.* EXCEPT (pkg_hash)
FROM Cve AS C
LEFT JOIN last_packages AS LP ON LP.pkg_hash = C.pkg_hash;
