-- ALTRepo DB schema, file 0005: enrichment feeds: package ACLs, repocop, Bugzilla, beehive,
-- watch, SPDX licenses and license aliases.
--
-- Acl inserts fire mv_last_acl -> last_acl_stage1 (latest ACL line per branch and package).
-- LicenseAliases is seeded from data/license_aliases.json (108 alias -> SPDX id pairs).

-- ACL lines per branch: acl_for = package name or '@group', acl_list = users and '@groups'.
CREATE TABLE IF NOT EXISTS Acl
(
    acl_date   DateTime,
    acl_for    String,
    acl_branch String,
    acl_list   Array(String)
)
ENGINE = MergeTree
PRIMARY KEY (acl_date, acl_branch)
ORDER BY (acl_date, acl_branch, acl_for, acl_list);

-- Newest ACL line per (branch, package or group), computed from Acl.
CREATE VIEW IF NOT EXISTS last_acl AS
SELECT
    acl_branch,
    max(acl_date) AS acl_date_last,
    acl_for,
    argMax(acl_list, acl_date) AS acl_list
FROM Acl
GROUP BY
    acl_branch,
    acl_for;

-- Newest ACL line per (branch, package or group), maintained by mv_last_acl. Rows for one key
-- may exist several times until merged: read with max(acl_date_last) /
-- argMax(acl_list, acl_date_last) per key.
CREATE TABLE IF NOT EXISTS last_acl_stage1
(
    acl_branch    String,
    acl_date_last SimpleAggregateFunction(max, DateTime),
    acl_for       String,
    acl_list      SimpleAggregateFunction(anyLast, Array(String))
)
ENGINE = AggregatingMergeTree
ORDER BY (acl_branch, acl_for);

-- Acl -> last_acl_stage1: newest date and list per (branch, package or group) of the block.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_last_acl TO last_acl_stage1
(
    acl_branch    String,
    acl_date_last DateTime,
    acl_for       String,
    acl_list      Array(String)
)
AS SELECT
    acl_branch,
    max(acl_date) AS acl_date_last,
    acl_for,
    argMax(acl_list, acl_date) AS acl_list
FROM Acl
GROUP BY
    acl_branch,
    acl_for;

-- ACL members per (branch, package), '@group' entries expanded to the group's members:
-- order_u = position in the package's list, order_g = position inside the group
-- (0 for entries that are not an expanded group. An undefined group stays as '@name').
CREATE VIEW IF NOT EXISTS last_acl_with_groups
(
    acl_branch String,
    acl_date   DateTime,
    pkgname    String,
    acl_user   String,
    order_u    UInt32,
    order_g    UInt32
)
AS WITH latest_acl AS
(
    SELECT
        acl_branch,
        acl_for,
        max(acl_date_last) AS acl_date,
        argMax(acl_list, acl_date_last) AS acl_list
    FROM last_acl_stage1
    GROUP BY
        acl_branch,
        acl_for
)
SELECT
    U.acl_branch AS acl_branch,
    U.acl_date AS acl_date,
    U.acl_for AS pkgname,
    if(G.member != '', G.member, U.entry) AS acl_user,
    U.order_u AS order_u,
    G.order_g AS order_g
FROM
(
    SELECT acl_branch, acl_date, acl_for, entry, order_u
    FROM latest_acl
    ARRAY JOIN
        acl_list AS entry,
        arrayEnumerate(acl_list) AS order_u
) AS U
LEFT JOIN
(
    SELECT acl_branch, acl_for AS grp, member, order_g
    FROM latest_acl
    ARRAY JOIN
        acl_list AS member,
        arrayEnumerate(acl_list) AS order_g
    WHERE startsWith(acl_for, '@')
) AS G ON G.grp = U.entry AND G.acl_branch = U.acl_branch
ORDER BY
    order_u ASC,
    order_g ASC;

-- Repocop test results per package and branch (also written by the API's repocop route).
CREATE TABLE IF NOT EXISTS PackagesRepocop
(
    pkg_name          String,
    pkg_version       String,
    pkg_release       String,
    pkg_arch          LowCardinality(String),
    pkgset_name       LowCardinality(String),
    rc_srcpkg_name    String,
    rc_srcpkg_version String,
    rc_srcpkg_release String,
    rc_test_name      LowCardinality(String),
    rc_test_date      DateTime,
    rc_test_status    LowCardinality(String),
    rc_test_message   String,
    ts                DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplacingMergeTree
ORDER BY (pkg_name, pkg_version, pkg_release, pkg_arch, pkgset_name, rc_test_name, rc_test_date);

-- Bugzilla bugs (latest row per bz_id by ts).
CREATE TABLE IF NOT EXISTS Bugzilla
(
    bz_id            UInt32,
    bz_status        LowCardinality(String),
    bz_resolution    LowCardinality(String),
    bz_severity      LowCardinality(String),
    bz_priority      LowCardinality(String),
    bz_product       LowCardinality(String),
    bz_version       LowCardinality(String),
    bz_platform      LowCardinality(String),
    bz_component     String,
    bz_assignee      String,
    bz_reporter      String,
    bz_summary       String,
    bz_last_changed  DateTime,
    bz_assignee_full String,
    bz_reporter_full String,
    ts               DateTime64(3) MATERIALIZED now64()
)
ENGINE = MergeTree
PRIMARY KEY (bz_id)
ORDER BY (bz_id, bz_component, bz_assignee);

-- Beehive rebuild results per branch, package and arch.
CREATE TABLE IF NOT EXISTS BeehiveStatus
(
    pkg_hash       UInt64,
    pkg_name       String,
    pkg_version    String,
    pkg_release    String,
    pkgset_name    LowCardinality(String),
    bh_arch        LowCardinality(String),
    bh_status      Enum8('error' = 0, 'success' = 1),
    bh_build_time  Float32,
    bh_updated     DateTime,
    bh_ftbfs_since DateTime
)
ENGINE = MergeTree
PRIMARY KEY (pkgset_name, pkg_name)
ORDER BY (pkgset_name, pkg_name, bh_updated, bh_arch, pkg_hash);

-- New upstream versions found by the watch service.
CREATE TABLE IF NOT EXISTS PackagesWatch
(
    acl         String,
    pkg_name    String,
    old_version String,
    new_version String,
    url         String,
    date_update DateTime
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(date_update)
ORDER BY (acl, date_update, pkg_name, old_version, new_version, url);

-- SPDX license and exception list.
CREATE TABLE IF NOT EXISTS SPDXLicenses
(
    spdx_id     String,
    spdx_name   String,
    spdx_text   String,
    spdx_header String,
    spdx_urls   Array(String),
    spdx_type   Enum8('license' = 0, 'exception' = 1)
)
ENGINE = ReplacingMergeTree
ORDER BY (spdx_id, spdx_type, spdx_name, spdx_text);

-- License strings used in ALT packages -> SPDX ids (seed: data/license_aliases.json).
CREATE TABLE IF NOT EXISTS LicenseAliases
(
    alias   String,
    spdx_id String
)
ENGINE = ReplacingMergeTree
ORDER BY (alias, spdx_id);
