-- ALTRepo DB schema, file 0002: package sets (branch snapshots and image trees) and branch state.
--
-- A package set is a tree of PackageSetName nodes: the root (depth 0, pkgset_nodename = branch
-- name or image edition, pkgset_kv['class'] = 'repository' for branches) and its components.
-- PackageSet maps component uuids to package hashes. Loaders insert children first and the
-- root last: the root row fires mv_last_packages_stage1 -> last_packages_stage1 ->
-- mv_last_packages_stage2 -> StaticLastPackages (the current contents of every branch).
-- Inside a materialized view every reference to its source table reads the inserted block.

CREATE TABLE IF NOT EXISTS PackageSetName
(
    pkgset_uuid     UUID,
    pkgset_puuid    UUID,
    pkgset_ruuid    UUID,
    pkgset_depth    UInt8,
    pkgset_nodename String,
    pkgset_date     DateTime,
    pkgset_tag      String,
    pkgset_complete UInt8,
    pkgset_kv       Nested(k String, v String)
)
ENGINE = MergeTree
PRIMARY KEY (pkgset_date, pkgset_nodename)
ORDER BY (pkgset_date, pkgset_nodename, pkgset_ruuid, pkgset_depth);

CREATE TABLE IF NOT EXISTS PackageSet
(
    pkgset_uuid UUID,
    pkg_hash    UInt64
)
ENGINE = ReplacingMergeTree
PRIMARY KEY (pkgset_uuid)
ORDER BY (pkgset_uuid, pkg_hash);

CREATE TABLE IF NOT EXISTS PackageSet_buffer AS PackageSet
ENGINE = Buffer(currentDatabase(), 'PackageSet', 16, 10, 100, 10000, 1000000, 1000000, 10000000);

-- Branch descriptions maintained by the API admin routes (latest row per branch by ts).
CREATE TABLE IF NOT EXISTS RepositoryStatus
(
    pkgset_name             LowCardinality(String),
    rs_start_date           DateTime,
    rs_end_date             DateTime,
    rs_show                 UInt8,
    rs_description_ru       String,
    rs_description_en       String,
    rs_mirrors_json         String,
    rs_mailing_list         LowCardinality(String),
    rs_pkgset_name_bugzilla LowCardinality(String),
    ts                      DateTime64(3) MATERIALIZED now64()
)
ENGINE = MergeTree
PRIMARY KEY (pkgset_name)
ORDER BY (pkgset_name, rs_show);

-- All nodes of the newest tree of every package set name (newest root by pkgset_date),
-- pkgset_name = root node name, pkgset_class = the node's pkgset_kv['class'].
CREATE VIEW IF NOT EXISTS last_pkgnames_without_pname AS
SELECT
    N.pkgset_ruuid AS pkgset_ruuid,
    N.pkgset_uuid AS pkgset_uuid,
    N.pkgset_puuid AS pkgset_puuid,
    N.pkgset_depth AS pkgset_depth,
    N.pkgset_nodename AS pkgset_nodename,
    N.pkgset_date AS pkgset_date,
    N.pkgset_tag AS pkgset_tag,
    N.pkgset_complete AS pkgset_complete,
    N.`pkgset_kv.k` AS `pkgset_kv.k`,
    N.`pkgset_kv.v` AS `pkgset_kv.v`,
    R.root_name AS pkgset_name,
    N.`pkgset_kv.v`[indexOf(N.`pkgset_kv.k`, 'class')] AS pkgset_class
FROM PackageSetName AS N
INNER JOIN
(
    SELECT
        argMax(pkgset_ruuid, pkgset_date) AS root_ruuid,
        pkgset_nodename AS root_name
    FROM PackageSetName
    WHERE pkgset_depth = 0
    GROUP BY pkgset_nodename
) AS R ON R.root_ruuid = N.pkgset_ruuid;

-- The same plus pkgset_pname = node name of the parent ('' for roots).
-- The parent subquery keeps the column name pkgset_uuid (as the 2022 view does): with the key
-- renamed, ClickHouse 26.x merges this join into the joins of the views above it
-- (last_pkgset, last_packages_with_source), reorders them, and the join runtime filters then
-- fail the API's first query of a server process on last_packages_with_source with
-- "Not found column __table3.pkg_hash" (issue 11; tests/api_views.rs in altrepodb-load).
CREATE VIEW IF NOT EXISTS last_pkgnames AS
SELECT
    L.*,
    PN.pkgset_pname AS pkgset_pname
FROM last_pkgnames_without_pname AS L
LEFT JOIN
(
    SELECT
        pkgset_uuid,
        any(pkgset_nodename) AS pkgset_pname
    FROM PackageSetName
    GROUP BY pkgset_uuid
) AS PN ON PN.pkgset_uuid = L.pkgset_puuid;

-- Packages of the newest tree of every package set name, one row per (component, package).
CREATE VIEW IF NOT EXISTS last_pkgset AS
SELECT
    L.pkgset_uuid AS pkgset_uuid,
    L.* EXCEPT (pkgset_uuid),
    PS.pkg_hash AS pkg_hash
FROM last_pkgnames AS L
INNER JOIN
(
    SELECT pkgset_uuid, pkg_hash
    FROM PackageSet_buffer
    WHERE pkgset_uuid IN (SELECT pkgset_uuid FROM last_pkgnames)
) AS PS ON PS.pkgset_uuid = L.pkgset_uuid;

-- Every branch root as it is loaded (fed by mv_last_packages_stage1).
CREATE TABLE IF NOT EXISTS last_packages_stage1
(
    ts           DateTime64(3) MATERIALIZED now64(),
    pkgset_ruuid UUID,
    pkgset_name  String,
    pkgset_date  DateTime
)
ENGINE = MergeTree
ORDER BY pkgset_ruuid;

-- Packages of every loaded branch state (fed by mv_last_packages_stage2).
CREATE TABLE IF NOT EXISTS StaticLastPackages
(
    pkgset_name       String,
    pkgset_date       DateTime,
    pkg_hash          UInt64,
    pkg_name          String,
    pkg_version       String,
    pkg_release       String,
    pkg_sourcepackage UInt8
)
ENGINE = MergeTree
PRIMARY KEY (pkgset_name, pkg_name)
ORDER BY (pkgset_name, pkg_name, pkg_sourcepackage);

-- PackageSetName -> last_packages_stage1: branch roots (depth 0, class 'repository').
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_last_packages_stage1 TO last_packages_stage1
(
    pkgset_ruuid UUID,
    pkgset_name  String,
    pkgset_date  DateTime
)
AS SELECT
    pkgset_ruuid,
    pkgset_nodename AS pkgset_name,
    pkgset_date
FROM PackageSetName
WHERE pkgset_depth = 0
    AND `pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'class')] = 'repository';

-- last_packages_stage1 -> StaticLastPackages: every package of the inserted root's tree.
-- PackageSet_buffer/Packages_buffer are read so rows not yet flushed are seen. The IN filters
-- (inner references to last_packages_stage1 read the inserted block) keep the reads on the
-- PackageSet primary key instead of scanning all package sets.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_last_packages_stage2 TO StaticLastPackages
(
    pkgset_name       String,
    pkgset_date       DateTime,
    pkg_hash          UInt64,
    pkg_name          String,
    pkg_version       String,
    pkg_release       String,
    pkg_sourcepackage UInt8
)
AS SELECT
    S.pkgset_name AS pkgset_name,
    S.pkgset_date AS pkgset_date,
    P.pkg_hash AS pkg_hash,
    P.pkg_name AS pkg_name,
    P.pkg_version AS pkg_version,
    P.pkg_release AS pkg_release,
    P.pkg_sourcepackage AS pkg_sourcepackage
FROM last_packages_stage1 AS S
INNER JOIN
(
    SELECT DISTINCT
        C.pkgset_ruuid AS ruuid,
        PKG.pkg_hash AS pkg_hash,
        PKG.pkg_name AS pkg_name,
        PKG.pkg_version AS pkg_version,
        PKG.pkg_release AS pkg_release,
        PKG.pkg_sourcepackage AS pkg_sourcepackage
    FROM
    (
        SELECT DISTINCT PSN.pkgset_ruuid AS pkgset_ruuid, PSB.pkg_hash AS pkg_hash
        FROM PackageSet_buffer AS PSB
        INNER JOIN
        (
            SELECT pkgset_uuid, pkgset_ruuid
            FROM PackageSetName
            WHERE pkgset_ruuid IN (SELECT pkgset_ruuid FROM last_packages_stage1)
        ) AS PSN ON PSN.pkgset_uuid = PSB.pkgset_uuid
        WHERE PSB.pkgset_uuid IN
        (
            SELECT pkgset_uuid
            FROM PackageSetName
            WHERE pkgset_ruuid IN (SELECT pkgset_ruuid FROM last_packages_stage1)
        )
    ) AS C
    INNER JOIN
    (
        SELECT pkg_hash, pkg_name, pkg_version, pkg_release, pkg_sourcepackage
        FROM Packages_buffer
        WHERE pkg_hash IN
        (
            SELECT pkg_hash
            FROM PackageSet_buffer
            WHERE pkgset_uuid IN
            (
                SELECT pkgset_uuid
                FROM PackageSetName
                WHERE pkgset_ruuid IN (SELECT pkgset_ruuid FROM last_packages_stage1)
            )
        )
    ) AS PKG ON PKG.pkg_hash = C.pkg_hash
) AS P ON P.ruuid = S.pkgset_ruuid;

-- Current state of every branch: StaticLastPackages rows of the newest date per branch.
CREATE VIEW IF NOT EXISTS static_last_packages AS
SELECT *
FROM StaticLastPackages
WHERE (pkgset_name, pkgset_date) IN
(
    SELECT pkgset_name, max(pkgset_date)
    FROM StaticLastPackages
    GROUP BY pkgset_name
);

-- Packages of the current branch states, with pkgset_name/pkgset_date, pkg_cs as hex.
CREATE VIEW IF NOT EXISTS last_packages AS
SELECT
    P.* EXCEPT (pkg_cs),
    SLP.pkgset_name AS pkgset_name,
    SLP.pkgset_date AS pkgset_date,
    lower(hex(P.pkg_cs)) AS pkg_cs
FROM Packages_buffer AS P
INNER JOIN
(
    SELECT pkg_hash, pkgset_name, pkgset_date
    FROM static_last_packages
) AS SLP ON SLP.pkg_hash = P.pkg_hash;

-- Package counts of the current branch states: distinct source rpm names per branch and
-- arch ('srpm' for source packages), x86_64-i586 excluded. A LIVE VIEW in 2022, a plain view
-- here (LIVE VIEW does not exist in ClickHouse >= 25.11).
CREATE VIEW IF NOT EXISTS lv_pkgset_stat
(
    pkgset_name String,
    pkgset_date DateTime,
    pkg_arch    String,
    cnt         UInt64
)
AS SELECT
    SLP.pkgset_name AS pkgset_name,
    SLP.pkgset_date AS pkgset_date,
    if(P.pkg_sourcepackage = 1, 'srpm', toString(P.pkg_arch)) AS pkg_arch,
    uniqExact(P.pkg_sourcerpm) AS cnt
FROM static_last_packages AS SLP
INNER JOIN
(
    SELECT pkg_hash, pkg_sourcepackage, pkg_arch, pkg_sourcerpm
    FROM Packages_buffer
) AS P ON P.pkg_hash = SLP.pkg_hash
WHERE P.pkg_arch != 'x86_64-i586'
GROUP BY
    pkgset_name,
    pkgset_date,
    pkg_arch;

-- Dependencies of the packages of the current branch states.
CREATE VIEW IF NOT EXISTS last_depends AS
SELECT
    D.*,
    LP.pkg_name AS pkg_name,
    LP.pkg_version AS pkg_version,
    LP.pkgset_name AS pkgset_name,
    LP.pkgset_date AS pkgset_date,
    LP.pkg_sourcepackage AS pkg_sourcepackage,
    LP.pkg_arch AS pkg_arch,
    LP.pkg_filename AS pkg_filename,
    LP.pkg_sourcerpm AS pkg_sourcerpm
FROM Depends AS D
INNER JOIN
(
    SELECT
        pkg_hash,
        pkg_name,
        pkg_version,
        pkgset_name,
        pkgset_date,
        pkg_sourcepackage,
        pkg_arch,
        pkg_filename,
        pkg_sourcerpm
    FROM last_packages
) AS LP ON LP.pkg_hash = D.pkg_hash;

-- All nodes of every tree ever loaded, pkgset_name = root node name.
CREATE VIEW IF NOT EXISTS all_pkgnames_without_pname AS
SELECT
    N.pkgset_ruuid AS pkgset_ruuid,
    N.pkgset_uuid AS pkgset_uuid,
    N.pkgset_puuid AS pkgset_puuid,
    N.pkgset_depth AS pkgset_depth,
    N.pkgset_nodename AS pkgset_nodename,
    N.pkgset_date AS pkgset_date,
    N.pkgset_tag AS pkgset_tag,
    N.pkgset_complete AS pkgset_complete,
    N.`pkgset_kv.k` AS `pkgset_kv.k`,
    N.`pkgset_kv.v` AS `pkgset_kv.v`,
    R.root_name AS pkgset_name,
    N.`pkgset_kv.v`[indexOf(N.`pkgset_kv.k`, 'class')] AS pkgset_class
FROM PackageSetName AS N
INNER JOIN
(
    SELECT
        pkgset_ruuid AS root_ruuid,
        any(pkgset_nodename) AS root_name
    FROM PackageSetName
    WHERE pkgset_depth = 0
    GROUP BY pkgset_ruuid
) AS R ON R.root_ruuid = N.pkgset_ruuid
ORDER BY
    pkgset_name ASC,
    pkgset_depth ASC;

-- The same plus pkgset_pname = node name of the parent (key name kept as in last_pkgnames).
CREATE VIEW IF NOT EXISTS all_pkgnames AS
SELECT
    A.*,
    PN.pkgset_pname AS pkgset_pname
FROM all_pkgnames_without_pname AS A
LEFT JOIN
(
    SELECT
        pkgset_uuid,
        any(pkgset_nodename) AS pkgset_pname
    FROM PackageSetName
    GROUP BY pkgset_uuid
) AS PN ON PN.pkgset_uuid = A.pkgset_puuid;

-- Packages of every tree ever loaded, one row per (component, package).
CREATE VIEW IF NOT EXISTS all_pkgset AS
SELECT
    A.pkgset_uuid AS pkgset_uuid,
    A.* EXCEPT (pkgset_uuid),
    PS.pkg_hash AS pkg_hash
FROM all_pkgnames AS A
INNER JOIN
(
    SELECT pkgset_uuid, pkg_hash
    FROM PackageSet_buffer
) AS PS ON PS.pkgset_uuid = A.pkgset_uuid;

-- all_pkgset with the package headers, pkg_cs as hex.
CREATE VIEW IF NOT EXISTS all_packages AS
SELECT
    S.pkg_hash AS pkg_hash,
    S.* EXCEPT (pkg_hash),
    P.* EXCEPT (pkg_hash, pkg_cs),
    lower(hex(P.pkg_cs)) AS pkg_cs
FROM all_pkgset AS S
INNER JOIN Packages_buffer AS P ON P.pkg_hash = S.pkg_hash;

-- Binary packages of the newest tree of every package set name, with their source name.
CREATE VIEW IF NOT EXISTS last_packages_with_source AS
SELECT
    PKG.pkg_hash AS `pkg.pkg_hash`,
    PKG.* EXCEPT (pkg_hash),
    L.pkgset_name AS pkgset_name,
    L.pkgset_date AS pkgset_date,
    L.pkg_hash AS pkg_hash
FROM last_pkgset AS L
INNER JOIN all_packages_with_source AS PKG ON PKG.pkg_hash = L.pkg_hash;
