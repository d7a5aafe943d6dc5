-- ALTRepo schema for cluster altrepo (database repodb, replicated, sharded: none).

-- database
CREATE DATABASE IF NOT EXISTS repodb ON CLUSTER altrepo;


-- 0000_schema_version.sql
CREATE TABLE IF NOT EXISTS altrepodb_schema_migrations ON CLUSTER altrepo
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime DEFAULT now()
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY version;


-- 0001_packages.sql
CREATE TABLE IF NOT EXISTS Packages ON CLUSTER altrepo
(
    pkg_hash              UInt64,
    pkg_cs                FixedString(20),
    pkg_packager          LowCardinality(String),
    pkg_packager_email    LowCardinality(String),
    pkg_name              String,
    pkg_arch              LowCardinality(String),
    pkg_version           String,
    pkg_release           String,
    pkg_epoch             UInt32,
    pkg_serial_           UInt32,
    pkg_buildtime         UInt32,
    pkg_buildhost         LowCardinality(String),
    pkg_size              UInt64,
    pkg_archivesize       UInt64,
    pkg_filesize          UInt64,
    pkg_rpmversion        LowCardinality(String),
    pkg_cookie            String,
    pkg_sourcepackage     UInt8,
    pkg_disttag           String,
    pkg_sourcerpm         String,
    pkg_srcrpm_hash       UInt64,
    pkg_filename          String,
    pkg_complete          UInt8,
    pkg_summary           String,
    pkg_description       String,
    pkg_changelog         Nested(date DateTime, name String, evr String, hash UInt64),
    pkg_distribution      LowCardinality(String),
    pkg_vendor            LowCardinality(String),
    pkg_gif               String,
    pkg_xpm               String,
    pkg_license           LowCardinality(String),
    pkg_group_            String,
    pkg_url               LowCardinality(String),
    pkg_os                LowCardinality(String),
    pkg_prein             String,
    pkg_postin            String,
    pkg_preun             String,
    pkg_postun            String,
    pkg_icon              String,
    pkg_preinprog         Array(String),
    pkg_postinprog        Array(String),
    pkg_preunprog         Array(String),
    pkg_postunprog        Array(String),
    pkg_buildarchs        Array(LowCardinality(String)),
    pkg_verifyscript      String,
    pkg_verifyscriptprog  Array(String),
    pkg_prefixes          Array(LowCardinality(String)),
    pkg_instprefixes      Array(String),
    pkg_optflags          LowCardinality(String),
    pkg_disturl           String,
    pkg_payloadformat     LowCardinality(String),
    pkg_payloadcompressor LowCardinality(String),
    pkg_payloadflags      LowCardinality(String),
    pkg_platform          LowCardinality(String),
    pkg_vcs               String,
    pkg_pretrans          String,
    pkg_posttrans         String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (pkg_name, pkg_arch)
ORDER BY (pkg_name, pkg_arch, pkg_hash, pkg_srcrpm_hash, pkg_packager, pkg_packager_email)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS Packages_buffer ON CLUSTER altrepo AS Packages
ENGINE = Buffer('repodb', 'Packages', 16, 10, 200, 10000, 1000000, 10000000, 100000000);

CREATE TABLE IF NOT EXISTS PackageHash ON CLUSTER altrepo
(
    pkgh_mmh     UInt64,
    pkgh_md5     FixedString(16),
    pkgh_sha1    FixedString(20),
    pkgh_sha256  FixedString(32),
    pkgh_blake2b FixedString(64)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY pkgh_mmh
ORDER BY (pkgh_mmh, pkgh_md5, pkgh_sha256);

CREATE TABLE IF NOT EXISTS PackageHash_buffer ON CLUSTER altrepo AS PackageHash
ENGINE = Buffer('repodb', 'PackageHash', 16, 10, 100, 10000, 1000000, 1000000, 10000000);

CREATE VIEW IF NOT EXISTS PackageHash_view ON CLUSTER altrepo AS
SELECT
    pkgh_mmh,
    lower(hex(pkgh_md5))     AS pkgh_md5,
    lower(hex(pkgh_sha1))    AS pkgh_sha1,
    lower(hex(pkgh_sha256))  AS pkgh_sha256,
    lower(hex(pkgh_blake2b)) AS pkgh_blake2b
FROM PackageHash_buffer;

CREATE TABLE IF NOT EXISTS Files ON CLUSTER altrepo
(
    pkg_hash        UInt64,
    file_hashname   UInt64,
    file_hashdir    UInt64,
    file_linkto     String,
    file_md5        FixedString(16),
    file_size       UInt32,
    file_mode       UInt16,
    file_rdev       UInt16,
    file_mtime      DateTime,
    file_flag       UInt16,
    file_username   LowCardinality(String),
    file_groupname  LowCardinality(String),
    file_verifyflag UInt32,
    file_device     UInt32,
    file_lang       LowCardinality(String),
    file_class      Enum8('file' = 0, 'directory' = 1, 'symlink' = 2, 'socket' = 3, 'block' = 4, 'char' = 5, 'fifo' = 6)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (pkg_hash, file_hashname)
ORDER BY (pkg_hash, file_hashname, file_class, file_md5);

CREATE TABLE IF NOT EXISTS Files_buffer ON CLUSTER altrepo AS Files
ENGINE = Buffer('repodb', 'Files', 16, 10, 100, 1000, 100000, 1000000, 10000000);

CREATE TABLE IF NOT EXISTS Files_insert ON CLUSTER altrepo
(
    pkg_hash        UInt64,
    file_name       String,
    file_linkto     String,
    file_md5        FixedString(16),
    file_size       UInt32,
    file_mode       UInt16,
    file_rdev       UInt16,
    file_mtime      DateTime,
    file_flag       UInt16,
    file_username   LowCardinality(String),
    file_groupname  LowCardinality(String),
    file_verifyflag UInt32,
    file_device     UInt32,
    file_lang       LowCardinality(String),
    file_class      Enum8('file' = 0, 'directory' = 1, 'symlink' = 2, 'socket' = 3, 'block' = 4, 'char' = 5, 'fifo' = 6)
)
ENGINE = Null;

CREATE TABLE IF NOT EXISTS FileNames ON CLUSTER altrepo
(
    fn_name String,
    fn_hash UInt64 MATERIALIZED murmurHash3_64(fn_name)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY fn_name;

CREATE TABLE IF NOT EXISTS FileNames_buffer ON CLUSTER altrepo AS FileNames
ENGINE = Buffer('repodb', 'FileNames', 16, 10, 100, 1000, 100000, 1000000, 10000000);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_files ON CLUSTER altrepo TO Files_buffer
(
    pkg_hash        UInt64,
    file_hashname   UInt64,
    file_hashdir    UInt64,
    file_linkto     String,
    file_md5        FixedString(16),
    file_size       UInt32,
    file_mode       UInt16,
    file_rdev       UInt16,
    file_mtime      DateTime,
    file_flag       UInt16,
    file_username   LowCardinality(String),
    file_groupname  LowCardinality(String),
    file_verifyflag UInt32,
    file_device     UInt32,
    file_lang       LowCardinality(String),
    file_class      Enum8('file' = 0, 'directory' = 1, 'symlink' = 2, 'socket' = 3, 'block' = 4, 'char' = 5, 'fifo' = 6)
)
AS SELECT
    pkg_hash,
    murmurHash3_64(file_name) AS file_hashname,
    murmurHash3_64(arrayStringConcat(arrayPopBack(splitByChar('/', file_name)), '/')) AS file_hashdir,
    file_linkto,
    file_md5,
    file_size,
    file_mode,
    file_rdev,
    file_mtime,
    file_flag,
    file_username,
    file_groupname,
    file_verifyflag,
    file_device,
    file_lang,
    file_class
FROM Files_insert;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_filenames_filename ON CLUSTER altrepo TO FileNames_buffer
(
    fn_name String
)
AS SELECT file_name AS fn_name
FROM Files_insert;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_filenames_filedir ON CLUSTER altrepo TO FileNames_buffer
(
    fn_name String
)
AS SELECT arrayStringConcat(arrayPopBack(splitByChar('/', file_name)), '/') AS fn_name
FROM Files_insert;

CREATE VIEW IF NOT EXISTS Files_view ON CLUSTER altrepo AS
SELECT
    FN.fn_name AS file_name,
    F.*
FROM FileNames_buffer AS FN
INNER JOIN Files_buffer AS F ON F.file_hashname = FN.fn_hash;

CREATE TABLE IF NOT EXISTS Changelog ON CLUSTER altrepo
(
    chlog_hash UInt64,
    chlog_text String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY chlog_hash
ORDER BY (chlog_hash, chlog_text);

CREATE TABLE IF NOT EXISTS Changelog_buffer ON CLUSTER altrepo AS Changelog
ENGINE = Buffer('repodb', 'Changelog', 16, 10, 100, 1000, 1000000, 1000000, 10000000);

CREATE VIEW IF NOT EXISTS PackageChangelog_view ON CLUSTER altrepo AS
SELECT
    pkg_hash,
    arrayMap(
        e -> (toDate(e.1), e.2, e.3, e.4),
        arrayReverseSort(e -> (e.1, e.3), groupUniqArray((chlog_date, chlog_name, chlog_evr, chlog_text)))
    ) AS changelog
FROM
(
    SELECT
        pkg_hash,
        CL.date AS chlog_date,
        CL.name AS chlog_name,
        CL.evr  AS chlog_evr,
        CT.chlog_text AS chlog_text
    FROM Packages
    ARRAY JOIN pkg_changelog AS CL
    INNER JOIN
    (
        SELECT chlog_hash, chlog_text
        FROM Changelog_buffer
    ) AS CT ON CT.chlog_hash = CL.hash
)
GROUP BY pkg_hash;

CREATE TABLE IF NOT EXISTS SrcPackagesLastChangelog ON CLUSTER altrepo
(
    pkg_hash   UInt64,
    chlog_nick String,
    chlog_name String,
    chlog_date DateTime,
    chlog_evr  String,
    chlog_text String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY pkg_hash;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_src_packages_last_changelog ON CLUSTER altrepo TO SrcPackagesLastChangelog
(
    pkg_hash   UInt64,
    chlog_nick String,
    chlog_name String,
    chlog_date DateTime,
    chlog_evr  String,
    chlog_text String
)
AS SELECT DISTINCT
    P.pkg_hash AS pkg_hash,
    extract(replaceOne(extract(P.pkg_changelog.name[1], '<(.+)>'), ' at ', '@'), '(.*)@') AS chlog_nick,
    P.pkg_changelog.name[1] AS chlog_name,
    P.pkg_changelog.date[1] AS chlog_date,
    P.pkg_changelog.evr[1]  AS chlog_evr,
    CT.chlog_text AS chlog_text
FROM Packages AS P
LEFT JOIN
(
    SELECT chlog_hash, chlog_text
    FROM Changelog_buffer
    WHERE chlog_hash IN (SELECT `pkg_changelog.hash`[1] FROM Packages WHERE pkg_sourcepackage = 1)
) AS CT ON CT.chlog_hash = P.pkg_changelog.hash[1]
WHERE P.pkg_sourcepackage = 1;

CREATE VIEW IF NOT EXISTS PackagesWithLastChangelog_view ON CLUSTER altrepo AS
SELECT DISTINCT
    P.* EXCEPT (pkg_changelog_hash),
    CT.chlog_text AS pkg_changelog_message
FROM
(
    SELECT
        * EXCEPT (`pkg_changelog.date`, `pkg_changelog.name`, `pkg_changelog.evr`, `pkg_changelog.hash`),
        toDate(`pkg_changelog.date`[1]) AS pkg_changelog_date,
        `pkg_changelog.name`[1] AS pkg_changelog_name,
        `pkg_changelog.evr`[1]  AS pkg_changelog_evr,
        `pkg_changelog.hash`[1] AS pkg_changelog_hash
    FROM Packages_buffer
) AS P
LEFT JOIN
(
    SELECT chlog_hash, chlog_text
    FROM Changelog_buffer
) AS CT ON CT.chlog_hash = P.pkg_changelog_hash;

CREATE TABLE IF NOT EXISTS Depends ON CLUSTER altrepo
(
    pkg_hash   UInt64,
    dp_name    String,
    dp_version String,
    dp_flag    UInt32,
    dp_type    Enum8('require' = 1, 'conflict' = 2, 'obsolete' = 3, 'provide' = 4)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY dp_name
ORDER BY (dp_name, dp_version, dp_type, dp_flag, pkg_hash);

CREATE TABLE IF NOT EXISTS Depends_buffer ON CLUSTER altrepo AS Depends
ENGINE = Buffer('repodb', 'Depends', 16, 10, 200, 10000, 1000000, 1000000, 10000000);

CREATE TABLE IF NOT EXISTS Specfiles_insert ON CLUSTER altrepo
(
    pkg_hash                UInt64,
    pkg_name                String,
    pkg_epoch               UInt32,
    pkg_version             String,
    pkg_release             String,
    specfile_name           String,
    specfile_date           DateTime,
    specfile_content_base64 String
)
ENGINE = Null;

CREATE TABLE IF NOT EXISTS Specfiles ON CLUSTER altrepo
(
    pkg_hash         UInt64,
    pkg_name         String,
    pkg_epoch        UInt32,
    pkg_version      String,
    pkg_release      String,
    specfile_name    String,
    specfile_date    DateTime,
    specfile_content String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (pkg_hash, specfile_content);

CREATE TABLE IF NOT EXISTS Specfiles_buffer ON CLUSTER altrepo AS Specfiles
ENGINE = Buffer('repodb', 'Specfiles', 16, 10, 100, 1000, 100000, 100000, 1000000);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_specfiles ON CLUSTER altrepo TO Specfiles_buffer
(
    pkg_hash         UInt64,
    pkg_name         String,
    pkg_epoch        UInt32,
    pkg_version      String,
    pkg_release      String,
    specfile_name    String,
    specfile_date    DateTime,
    specfile_content String
)
AS SELECT
    pkg_hash,
    pkg_name,
    pkg_epoch,
    pkg_version,
    pkg_release,
    specfile_name,
    specfile_date,
    base64Decode(specfile_content_base64) AS specfile_content
FROM Specfiles_insert;

CREATE TABLE IF NOT EXISTS PackagesSourceAndBinaries ON CLUSTER altrepo
(
    buildtime    SimpleAggregateFunction(max, UInt32),
    src_pkg_name String,
    bin_pkg_name String
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (src_pkg_name, bin_pkg_name);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_packages_source_and_binaries ON CLUSTER altrepo TO PackagesSourceAndBinaries
(
    buildtime    UInt32,
    src_pkg_name String,
    bin_pkg_name String
)
AS SELECT
    max(pkg_buildtime) AS buildtime,
    arrayStringConcat(arrayPopBack(arrayPopBack(splitByChar('-', pkg_sourcerpm))), '-') AS src_pkg_name,
    pkg_name AS bin_pkg_name
FROM Packages
WHERE pkg_srcrpm_hash != 0
    AND NOT startsWith(pkg_name, 'i586-')
GROUP BY
    src_pkg_name,
    bin_pkg_name;

CREATE VIEW IF NOT EXISTS all_packages_with_source ON CLUSTER altrepo AS
SELECT
    BIN.*,
    SRC.src_hash AS `srcPackage.pkg_srcrpm_hash`,
    SRC.sourcepkgname AS sourcepkgname
FROM Packages_buffer AS BIN
LEFT JOIN
(
    SELECT
        pkg_hash AS src_hash,
        pkg_name AS sourcepkgname
    FROM Packages_buffer
    WHERE pkg_sourcepackage = 1
) AS SRC ON SRC.src_hash = BIN.pkg_srcrpm_hash
WHERE BIN.pkg_sourcepackage = 0
    AND BIN.pkg_srcrpm_hash != 0;


-- 0002_package_sets.sql
CREATE TABLE IF NOT EXISTS PackageSetName ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (pkgset_date, pkgset_nodename)
ORDER BY (pkgset_date, pkgset_nodename, pkgset_ruuid, pkgset_depth);

CREATE TABLE IF NOT EXISTS PackageSet ON CLUSTER altrepo
(
    pkgset_uuid UUID,
    pkg_hash    UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (pkgset_uuid)
ORDER BY (pkgset_uuid, pkg_hash);

CREATE TABLE IF NOT EXISTS PackageSet_buffer ON CLUSTER altrepo AS PackageSet
ENGINE = Buffer('repodb', 'PackageSet', 16, 10, 100, 10000, 1000000, 1000000, 10000000);

CREATE TABLE IF NOT EXISTS RepositoryStatus ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (pkgset_name)
ORDER BY (pkgset_name, rs_show);

CREATE VIEW IF NOT EXISTS last_pkgnames_without_pname ON CLUSTER altrepo AS
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

CREATE VIEW IF NOT EXISTS last_pkgnames ON CLUSTER altrepo AS
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

CREATE VIEW IF NOT EXISTS last_pkgset ON CLUSTER altrepo AS
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

CREATE TABLE IF NOT EXISTS last_packages_stage1 ON CLUSTER altrepo
(
    ts           DateTime64(3) MATERIALIZED now64(),
    pkgset_ruuid UUID,
    pkgset_name  String,
    pkgset_date  DateTime
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY pkgset_ruuid;

CREATE TABLE IF NOT EXISTS StaticLastPackages ON CLUSTER altrepo
(
    pkgset_name       String,
    pkgset_date       DateTime,
    pkg_hash          UInt64,
    pkg_name          String,
    pkg_version       String,
    pkg_release       String,
    pkg_sourcepackage UInt8
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (pkgset_name, pkg_name)
ORDER BY (pkgset_name, pkg_name, pkg_sourcepackage);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_last_packages_stage1 ON CLUSTER altrepo TO last_packages_stage1
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

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_last_packages_stage2 ON CLUSTER altrepo TO StaticLastPackages
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

CREATE VIEW IF NOT EXISTS static_last_packages ON CLUSTER altrepo AS
SELECT *
FROM StaticLastPackages
WHERE (pkgset_name, pkgset_date) IN
(
    SELECT pkgset_name, max(pkgset_date)
    FROM StaticLastPackages
    GROUP BY pkgset_name
);

CREATE VIEW IF NOT EXISTS last_packages ON CLUSTER altrepo AS
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

CREATE VIEW IF NOT EXISTS lv_pkgset_stat ON CLUSTER altrepo
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

CREATE VIEW IF NOT EXISTS last_depends ON CLUSTER altrepo AS
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

CREATE VIEW IF NOT EXISTS all_pkgnames_without_pname ON CLUSTER altrepo AS
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

CREATE VIEW IF NOT EXISTS all_pkgnames ON CLUSTER altrepo AS
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

CREATE VIEW IF NOT EXISTS all_pkgset ON CLUSTER altrepo AS
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

CREATE VIEW IF NOT EXISTS all_packages ON CLUSTER altrepo AS
SELECT
    S.pkg_hash AS pkg_hash,
    S.* EXCEPT (pkg_hash),
    P.* EXCEPT (pkg_hash, pkg_cs),
    lower(hex(P.pkg_cs)) AS pkg_cs
FROM all_pkgset AS S
INNER JOIN Packages_buffer AS P ON P.pkg_hash = S.pkg_hash;

CREATE VIEW IF NOT EXISTS last_packages_with_source ON CLUSTER altrepo AS
SELECT
    PKG.pkg_hash AS `pkg.pkg_hash`,
    PKG.* EXCEPT (pkg_hash),
    L.pkgset_name AS pkgset_name,
    L.pkgset_date AS pkgset_date,
    L.pkg_hash AS pkg_hash
FROM last_pkgset AS L
INNER JOIN all_packages_with_source AS PKG ON PKG.pkg_hash = L.pkg_hash;


-- 0003_tasks.sql
CREATE TABLE IF NOT EXISTS Tasks ON CLUSTER altrepo
(
    task_id            UInt32,
    subtask_id         UInt32,
    task_repo          LowCardinality(String),
    task_owner         LowCardinality(String),
    task_changed       DateTime,
    subtask_changed    DateTime,
    subtask_deleted    UInt8,
    subtask_userid     LowCardinality(String),
    subtask_dir        String,
    subtask_package    String,
    subtask_type       Enum8('unknown' = 0, 'srpm' = 1, 'gear' = 2, 'copy' = 3, 'delete' = 4, 'rebuild' = 5),
    subtask_pkg_from   LowCardinality(String),
    subtask_sid        String,
    subtask_tag_author String,
    subtask_tag_id     String,
    subtask_tag_name   String,
    subtask_srpm       String,
    subtask_srpm_name  String,
    subtask_srpm_evr   String,
    ts                 DateTime MATERIALIZED now()
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (task_id, subtask_id)
ORDER BY (task_id, subtask_id, task_changed, subtask_changed, subtask_deleted);

CREATE TABLE IF NOT EXISTS Tasks_buffer ON CLUSTER altrepo AS Tasks
ENGINE = Buffer('repodb', 'Tasks', 16, 10, 100, 1000, 100000, 100000, 1000000);

CREATE TABLE IF NOT EXISTS TaskStates ON CLUSTER altrepo
(
    task_changed       DateTime,
    task_id            UInt32,
    task_state         LowCardinality(String),
    task_runby         LowCardinality(String),
    task_depends       Array(UInt32),
    task_try           UInt16,
    task_testonly      UInt8,
    task_failearly     UInt8,
    task_shared        UInt8,
    task_message       String,
    task_version       String,
    task_prev          UInt32,
    task_eventlog_hash Array(UInt64),
    ts                 DateTime MATERIALIZED now()
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (task_changed, task_id)
ORDER BY (task_changed, task_id, task_state, task_try);

CREATE TABLE IF NOT EXISTS TaskStates_buffer ON CLUSTER altrepo AS TaskStates
ENGINE = Buffer('repodb', 'TaskStates', 16, 10, 100, 1000, 100000, 100000, 1000000);

CREATE TABLE IF NOT EXISTS TaskApprovals ON CLUSTER altrepo
(
    task_id      UInt32,
    subtask_id   UInt32,
    tapp_type    Enum8('approve' = 0, 'disapprove' = 1),
    tapp_revoked UInt8,
    tapp_date    DateTime,
    tapp_name    LowCardinality(String),
    tapp_message String,
    ts           DateTime MATERIALIZED now()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (tapp_date, task_id, subtask_id);

CREATE TABLE IF NOT EXISTS TaskIterations ON CLUSTER altrepo
(
    task_id             UInt32,
    task_changed        DateTime,
    subtask_id          UInt32,
    subtask_arch        LowCardinality(String),
    titer_ts            DateTime,
    titer_status        LowCardinality(String),
    task_try            UInt16,
    task_iter           UInt8,
    titer_srcrpm_hash   UInt64,
    titer_pkgs_hash     Array(UInt64),
    titer_chroot_base   UInt64,
    titer_chroot_br     UInt64,
    titer_buildlog_hash UInt64,
    titer_srpmlog_hash  UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (task_id, subtask_id)
ORDER BY (task_id, subtask_id, subtask_arch, task_changed, titer_ts, titer_status, task_try, task_iter);

CREATE TABLE IF NOT EXISTS TaskIterations_buffer ON CLUSTER altrepo AS TaskIterations
ENGINE = Buffer('repodb', 'TaskIterations', 16, 10, 100, 1000, 100000, 1000000, 10000000);

CREATE TABLE IF NOT EXISTS TaskChroots ON CLUSTER altrepo
(
    tch_hash   UInt64 MATERIALIZED murmurHash3_64(tch_chroot),
    tch_chroot Array(UInt64)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (tch_chroot);

CREATE TABLE IF NOT EXISTS TaskChroots_buffer ON CLUSTER altrepo AS TaskChroots
ENGINE = Buffer('repodb', 'TaskChroots', 16, 10, 100, 1000, 100000, 1000000, 10000000);

CREATE TABLE IF NOT EXISTS TaskLogs ON CLUSTER altrepo
(
    tlog_hash    UInt64,
    tlog_line    UInt32,
    tlog_ts      DateTime,
    tlog_message String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (tlog_message, tlog_line, tlog_hash);

CREATE TABLE IF NOT EXISTS TaskLogs_buffer ON CLUSTER altrepo AS TaskLogs
ENGINE = Buffer('repodb', 'TaskLogs', 16, 10, 100, 1000, 100000, 1000000, 10000000);

CREATE TABLE IF NOT EXISTS TaskPlanPackages ON CLUSTER altrepo
(
    tplan_hash     UInt64,
    tplan_action   Enum8('add' = 0, 'delete' = 1),
    tplan_pkg_name String,
    tplan_pkg_evr  String,
    tplan_bin_file String,
    tplan_src_file String,
    tplan_arch     LowCardinality(String),
    tplan_comp     LowCardinality(String),
    tplan_subtask  UInt32
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (tplan_hash, tplan_action, tplan_src_file, tplan_bin_file);

CREATE TABLE IF NOT EXISTS TaskPlanPkgHash ON CLUSTER altrepo
(
    tplan_hash   UInt64,
    tplan_action Enum8('add' = 0, 'delete' = 1),
    tplan_sha256 FixedString(32)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (tplan_hash, tplan_action, tplan_sha256);

CREATE VIEW IF NOT EXISTS task_plan_hashes ON CLUSTER altrepo
(
    task_id    UInt32,
    tplan_hash UInt64,
    tplan_arch String
)
AS SELECT DISTINCT
    task_id,
    murmurHash3_64(concat(toString(task_id), toString(task_try), toString(task_iter), arch)) AS tplan_hash,
    arch AS tplan_arch
FROM
(
    SELECT
        task_id,
        argMax(task_try, task_changed) AS task_try,
        argMax(task_iter, task_changed) AS task_iter,
        arrayConcat(
            arrayMap(a -> toString(a), groupUniqArray(subtask_arch)),
            ['src', 'noarch', 'x86_64-i586']
        ) AS archs
    FROM TaskIterations
    WHERE task_id IN
    (
        SELECT task_id
        FROM TaskStates
        WHERE task_state = 'DONE'
    )
    GROUP BY task_id
)
ARRAY JOIN archs AS arch;

CREATE TABLE IF NOT EXISTS BranchPackageHistory ON CLUSTER altrepo
(
    pkgset_name       LowCardinality(String),
    task_id           UInt32,
    task_changed      DateTime,
    task_message      String,
    tplan_action      Enum8('add' = 0, 'delete' = 1),
    pkg_hash          UInt64,
    pkg_name          String,
    pkg_epoch         UInt32,
    pkg_version       String,
    pkg_release       String,
    pkg_arch          LowCardinality(String),
    pkg_sourcepackage UInt8,
    chlog_date        DateTime,
    chlog_name        String,
    chlog_nick        LowCardinality(String),
    chlog_evr         String,
    chlog_text        String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (pkg_hash, pkgset_name, pkg_name, pkg_sourcepackage, task_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_package_history ON CLUSTER altrepo TO BranchPackageHistory
(
    pkgset_name       LowCardinality(String),
    task_id           UInt32,
    task_changed      DateTime,
    task_message      String,
    tplan_action      Enum8('add' = 0, 'delete' = 1),
    pkg_hash          UInt64,
    pkg_name          String,
    pkg_epoch         UInt32,
    pkg_version       String,
    pkg_release       String,
    pkg_arch          LowCardinality(String),
    pkg_sourcepackage UInt8,
    chlog_date        DateTime,
    chlog_name        String,
    chlog_nick        LowCardinality(String),
    chlog_evr         String,
    chlog_text        String
)
AS WITH
plan_hashes AS
(
    SELECT
        task_id,
        murmurHash3_64(concat(toString(task_id), toString(task_try), toString(task_iter), arch)) AS tplan_hash
    FROM
    (
        SELECT
            task_id,
            argMax(task_try, task_changed) AS task_try,
            argMax(task_iter, task_changed) AS task_iter,
            arrayConcat(
                arrayMap(a -> toString(a), groupUniqArray(subtask_arch)),
                ['src', 'noarch', 'x86_64-i586']
            ) AS archs
        FROM TaskIterations_buffer
        WHERE task_id IN (SELECT task_id FROM TaskStates WHERE task_state = 'DONE')
        GROUP BY task_id
    )
    ARRAY JOIN archs AS arch
),
plan_files AS
(
    SELECT tplan_hash, tplan_action, tplan_sha256
    FROM TaskPlanPkgHash
    WHERE tplan_hash IN (SELECT tplan_hash FROM plan_hashes)
),
plan_packages AS
(
    SELECT DISTINCT
        PH.task_id AS task_id,
        PF.tplan_action AS tplan_action,
        HS.pkgh_mmh AS pkg_hash
    FROM plan_hashes AS PH
    INNER JOIN plan_files AS PF ON PF.tplan_hash = PH.tplan_hash
    INNER JOIN
    (
        SELECT pkgh_mmh, pkgh_sha256
        FROM PackageHash_buffer
        WHERE pkgh_sha256 IN (SELECT tplan_sha256 FROM plan_files)
    ) AS HS ON HS.pkgh_sha256 = PF.tplan_sha256
    WHERE HS.pkgh_mmh != 0
),
package_info AS
(
    SELECT
        pkg_hash,
        pkg_name,
        pkg_epoch,
        pkg_version,
        pkg_release,
        pkg_arch,
        pkg_sourcepackage,
        `pkg_changelog.date`[1] AS chlog_date,
        `pkg_changelog.name`[1] AS chlog_name,
        `pkg_changelog.evr`[1] AS chlog_evr,
        `pkg_changelog.hash`[1] AS chlog_hash
    FROM Packages_buffer
    WHERE pkg_hash IN (SELECT pkg_hash FROM plan_packages)
)
SELECT DISTINCT
    TR.task_repo AS pkgset_name,
    TS.task_id AS task_id,
    TS.task_changed AS task_changed,
    TS.task_message AS task_message,
    PP.tplan_action AS tplan_action,
    PP.pkg_hash AS pkg_hash,
    PKG.pkg_name AS pkg_name,
    PKG.pkg_epoch AS pkg_epoch,
    PKG.pkg_version AS pkg_version,
    PKG.pkg_release AS pkg_release,
    PKG.pkg_arch AS pkg_arch,
    PKG.pkg_sourcepackage AS pkg_sourcepackage,
    PKG.chlog_date AS chlog_date,
    PKG.chlog_name AS chlog_name,
    extract(replaceOne(extract(PKG.chlog_name, '<(.+)>'), ' at ', '@'), '(.*)@') AS chlog_nick,
    PKG.chlog_evr AS chlog_evr,
    CT.chlog_text AS chlog_text
FROM TaskStates AS TS
LEFT JOIN
(
    SELECT task_id, any(task_repo) AS task_repo
    FROM Tasks_buffer
    WHERE task_id IN (SELECT task_id FROM TaskStates WHERE task_state = 'DONE')
    GROUP BY task_id
) AS TR ON TR.task_id = TS.task_id
LEFT JOIN plan_packages AS PP ON PP.task_id = TS.task_id
LEFT JOIN package_info AS PKG ON PKG.pkg_hash = PP.pkg_hash
LEFT JOIN
(
    SELECT chlog_hash, chlog_text
    FROM Changelog_buffer
    WHERE chlog_hash IN (SELECT chlog_hash FROM package_info)
) AS CT ON CT.chlog_hash = PKG.chlog_hash
WHERE TS.task_state = 'DONE';


-- 0004_images.sql
CREATE TABLE IF NOT EXISTS ImagePackageSetName ON CLUSTER altrepo
(
    pkgset_uuid       UUID,
    pkgset_date       DateTime,
    img_tag           String,
    img_branch        LowCardinality(String),
    img_edition       LowCardinality(String),
    img_flavor        LowCardinality(String),
    img_platform      LowCardinality(String),
    img_release       LowCardinality(String),
    img_version_major UInt32,
    img_version_minor UInt32,
    img_version_sub   UInt32,
    img_arch          LowCardinality(String),
    img_variant       LowCardinality(String),
    img_type          LowCardinality(String),
    img_kv            Map(String, String),
    ts                DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (pkgset_date, img_branch, img_edition)
ORDER BY (pkgset_date, img_branch, img_edition, img_arch, img_variant, img_release);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_image_pkgset ON CLUSTER altrepo TO ImagePackageSetName
(
    pkgset_uuid       UUID,
    pkgset_date       DateTime,
    img_tag           String,
    img_branch        LowCardinality(String),
    img_edition       LowCardinality(String),
    img_flavor        LowCardinality(String),
    img_platform      LowCardinality(String),
    img_release       LowCardinality(String),
    img_version_major UInt32,
    img_version_minor UInt32,
    img_version_sub   UInt32,
    img_arch          LowCardinality(String),
    img_variant       LowCardinality(String),
    img_type          LowCardinality(String),
    img_kv            Map(String, String)
)
AS SELECT
    pkgset_uuid,
    pkgset_date,
    pkgset_tag AS img_tag,
    `pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'branch')] AS img_branch,
    `pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'edition')] AS img_edition,
    `pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'flavor')] AS img_flavor,
    `pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'platform')] AS img_platform,
    `pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'release')] AS img_release,
    toUInt32OrZero(`pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'version_major')]) AS img_version_major,
    toUInt32OrZero(`pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'version_minor')]) AS img_version_minor,
    toUInt32OrZero(`pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'version_sub')]) AS img_version_sub,
    `pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'arch')] AS img_arch,
    `pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'variant')] AS img_variant,
    `pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'image_type')] AS img_type,
    mapFilter(
        (k, v) -> NOT has(['branch', 'edition', 'flavor', 'platform', 'release', 'version_major',
                           'version_minor', 'version_sub', 'arch', 'variant', 'image_type'], k),
        mapFromArrays(`pkgset_kv.k`, `pkgset_kv.v`)
    ) AS img_kv
FROM PackageSetName
WHERE pkgset_depth = 0
    AND `pkgset_kv.v`[indexOf(`pkgset_kv.k`, 'class')] != 'repository';

CREATE TABLE IF NOT EXISTS ImageStatus ON CLUSTER altrepo
(
    img_branch         LowCardinality(String),
    img_edition        LowCardinality(String),
    img_name           String,
    img_show           Enum8('hide' = 0, 'show' = 1),
    img_start_date     DateTime,
    img_end_date       DateTime,
    img_summary_ru     String,
    img_summary_en     String,
    img_description_ru String,
    img_description_en String,
    img_mailing_list   LowCardinality(String),
    img_name_bugzilla  LowCardinality(String),
    img_json           String,
    ts                 DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (img_branch, img_edition)
ORDER BY (img_branch, img_edition, img_show);

CREATE TABLE IF NOT EXISTS ImageTagStatus ON CLUSTER altrepo
(
    img_tag  String,
    img_show Enum8('hide' = 0, 'show' = 1),
    ts       DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY img_tag;


-- 0005_feeds.sql
CREATE TABLE IF NOT EXISTS Acl ON CLUSTER altrepo
(
    acl_date   DateTime,
    acl_for    String,
    acl_branch String,
    acl_list   Array(String)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (acl_date, acl_branch)
ORDER BY (acl_date, acl_branch, acl_for, acl_list);

CREATE VIEW IF NOT EXISTS last_acl ON CLUSTER altrepo AS
SELECT
    acl_branch,
    max(acl_date) AS acl_date_last,
    acl_for,
    argMax(acl_list, acl_date) AS acl_list
FROM Acl
GROUP BY
    acl_branch,
    acl_for;

CREATE TABLE IF NOT EXISTS last_acl_stage1 ON CLUSTER altrepo
(
    acl_branch    String,
    acl_date_last SimpleAggregateFunction(max, DateTime),
    acl_for       String,
    acl_list      SimpleAggregateFunction(anyLast, Array(String))
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (acl_branch, acl_for);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_last_acl ON CLUSTER altrepo TO last_acl_stage1
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

CREATE VIEW IF NOT EXISTS last_acl_with_groups ON CLUSTER altrepo
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

CREATE TABLE IF NOT EXISTS PackagesRepocop ON CLUSTER altrepo
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (pkg_name, pkg_version, pkg_release, pkg_arch, pkgset_name, rc_test_name, rc_test_date);

CREATE TABLE IF NOT EXISTS Bugzilla ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (bz_id)
ORDER BY (bz_id, bz_component, bz_assignee);

CREATE TABLE IF NOT EXISTS BeehiveStatus ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (pkgset_name, pkg_name)
ORDER BY (pkgset_name, pkg_name, bh_updated, bh_arch, pkg_hash);

CREATE TABLE IF NOT EXISTS PackagesWatch ON CLUSTER altrepo
(
    acl         String,
    pkg_name    String,
    old_version String,
    new_version String,
    url         String,
    date_update DateTime
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(date_update)
ORDER BY (acl, date_update, pkg_name, old_version, new_version, url);

CREATE TABLE IF NOT EXISTS SPDXLicenses ON CLUSTER altrepo
(
    spdx_id     String,
    spdx_name   String,
    spdx_text   String,
    spdx_header String,
    spdx_urls   Array(String),
    spdx_type   Enum8('license' = 0, 'exception' = 1)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (spdx_id, spdx_type, spdx_name, spdx_text);

CREATE TABLE IF NOT EXISTS LicenseAliases ON CLUSTER altrepo
(
    alias   String,
    spdx_id String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (alias, spdx_id);


-- 0006_vulns.sql
CREATE TABLE IF NOT EXISTS Cve ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (pkg_hash, cve_id, cve_modifieddate, cve_parsingdate);

CREATE TABLE IF NOT EXISTS CveAbsentPackages ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (cap_product_name, cve_id, cve_modifieddate, cve_parsingdate);

CREATE TABLE IF NOT EXISTS CveChecked ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (cve_id, pkg_name)
ORDER BY (cve_id, pkg_name, cc_checkdate);

CREATE TABLE IF NOT EXISTS FstecBduList ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PRIMARY KEY (bdu_identifier, bdu_identify_date)
ORDER BY (bdu_identifier, bdu_identify_date, bdu_name);

CREATE VIEW IF NOT EXISTS last_cve ON CLUSTER altrepo AS
SELECT
    C.*,
    LP.* EXCEPT (pkg_hash)
FROM Cve AS C
LEFT JOIN last_packages AS LP ON LP.pkg_hash = C.pkg_hash;


-- 0007_progress_search.sql
CREATE TABLE IF NOT EXISTS TaskProgress ON CLUSTER altrepo
(
    task_id       UInt32,
    task_repo     LowCardinality(String),
    task_owner    LowCardinality(String),
    task_state    LowCardinality(String),
    task_try      UInt16,
    task_iter     UInt8,
    task_testonly UInt8,
    task_changed  DateTime,
    task_message  String,
    task_depends  Array(UInt32),
    type          LowCardinality(String),
    stage         String,
    stage_status  String,
    ts            DateTime64(3) DEFAULT now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (task_id, ts);

CREATE TABLE IF NOT EXISTS TaskSubtaskProgress ON CLUSTER altrepo
(
    task_id            UInt32,
    subtask_id         UInt32,
    task_repo          LowCardinality(String),
    task_owner         LowCardinality(String),
    subtask_type       Enum8('unknown' = 0, 'srpm' = 1, 'gear' = 2, 'copy' = 3, 'delete' = 4, 'rebuild' = 5),
    subtask_srpm       String,
    subtask_srpm_name  String,
    subtask_srpm_evr   String,
    subtask_dir        String,
    subtask_tag_id     String,
    subtask_tag_name   String,
    subtask_tag_author String,
    subtask_package    String,
    subtask_pkg_from   LowCardinality(String),
    subtask_changed    DateTime,
    type               String,
    arch               String,
    status             String,
    stage              String,
    stage_status       String,
    ts                 DateTime64(3) DEFAULT now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (task_id, subtask_id, arch, ts);

CREATE TABLE IF NOT EXISTS GlobalSearch ON CLUSTER altrepo
(
    type          LowCardinality(String),
    lead          String,
    search_string String,
    ts            DateTime64(3) DEFAULT now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (type, lead, ts);

CREATE TABLE IF NOT EXISTS FileSearch ON CLUSTER altrepo
(
    search_string String,
    lead          UInt64,
    ts            DateTime64(3) DEFAULT now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (search_string, lead);


-- 0008_security.sql
CREATE TABLE IF NOT EXISTS AntivirusScanStatus ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (av_scanner, pkgset_name, av_date, pkg_name);

CREATE TABLE IF NOT EXISTS Vulnerabilities ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (vuln_id, ts);

CREATE TABLE IF NOT EXISTS CpeMatch ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (vuln_id, vuln_hash, cpe_hash);

CREATE TABLE IF NOT EXISTS PackagesNameConversion ON CLUSTER altrepo
(
    pkg_name   String,
    pnc_state  String,
    pnc_result String,
    pnc_type   String,
    pnc_source String,
    ts         DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (pkg_name, pnc_type, pnc_result, ts);

CREATE TABLE IF NOT EXISTS PncChangeHistory ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (ts, transaction_id);

CREATE TABLE IF NOT EXISTS PackagesCveMatch ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (pkg_name, vuln_id, pkg_hash, cpm_cpe_hash, ts);

CREATE TABLE IF NOT EXISTS PackagesVulnerabilityStatus ON CLUSTER altrepo
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (pkgset_name, pkg_name, vuln_id, pkg_hash);


-- 0009_errata.sql
CREATE FUNCTION IF NOT EXISTS extractErrataIdNoVersion ON CLUSTER altrepo AS (errata_id) ->
    arrayStringConcat(arrayPopBack(splitByChar('-', errata_id)), '-');

CREATE FUNCTION IF NOT EXISTS extractErrataIdVersion ON CLUSTER altrepo AS (errata_id) ->
    toUInt32OrZero(arrayElement(splitByChar('-', errata_id), -1));

CREATE TABLE IF NOT EXISTS ErrataHistory ON CLUSTER altrepo
(
    errata_id           String,
    eh_created          DateTime,
    eh_updated          DateTime,
    eh_hash             UInt64,
    eh_type             String,
    eh_source           String,
    eh_references       Nested(type String, link String),
    pkg_hash            UInt64,
    pkg_name            String,
    pkg_version         String,
    pkg_release         String,
    pkgset_name         String,
    task_id             UInt32,
    subtask_id          UInt32,
    task_state          String,
    eh_json             String DEFAULT '',
    ts                  DateTime64(3) DEFAULT now64(),
    errata_id_noversion String MATERIALIZED arrayStringConcat(arrayPopBack(splitByChar('-', errata_id)), '-'),
    errata_id_version   UInt32 MATERIALIZED toUInt32OrZero(arrayElement(splitByChar('-', errata_id), -1))
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (errata_id, eh_updated);

CREATE TABLE IF NOT EXISTS ErrataChangeHistory ON CLUSTER altrepo
(
    ec_id           String,
    ec_created      DateTime,
    ec_updated      DateTime,
    ec_user         String,
    ec_user_ip      String,
    ec_reason       String,
    ec_type         Enum8('create' = 0, 'update' = 1, 'discard' = 2, 'hide' = 3, 'show' = 4),
    ec_source       Enum8('auto' = 0, 'manual' = 1),
    ec_origin       Enum8('parent' = 0, 'child' = 1),
    errata_id       String,
    transaction_id  UUID,
    ts              DateTime64(3) DEFAULT now64(),
    ec_id_noversion String MATERIALIZED arrayStringConcat(arrayPopBack(splitByChar('-', ec_id)), '-')
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (ec_id, ec_updated);

CREATE VIEW IF NOT EXISTS last_discarded_erratas ON CLUSTER altrepo
(
    errata_id String
)
AS SELECT last_errata_id AS errata_id
FROM
(
    SELECT
        arrayStringConcat(arrayPopBack(splitByChar('-', errata_id)), '-') AS lineage,
        argMax(errata_id, (ec_updated, ts)) AS last_errata_id,
        argMax(ec_type, (ec_updated, ts)) AS last_change
    FROM ErrataChangeHistory
    GROUP BY lineage
)
WHERE last_change = 'discard';


-- 0010_management.sql
CREATE TABLE IF NOT EXISTS VulnerabilityStatus ON CLUSTER altrepo
(
    vuln_id        String,
    vs_author      String,
    vs_status      String,
    vs_resolution  String,
    vs_reason      String,
    vs_subscribers Array(String),
    vs_json        String,
    vs_updated     DateTime64(3) DEFAULT now64(),
    ts             DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (vuln_id, vs_updated);

CREATE TABLE IF NOT EXISTS Comments ON CLUSTER altrepo
(
    comment_id          UInt64,
    comment_pid         UInt64,
    comment_rid         UInt64,
    comment_entity_type String,
    comment_entity_link String,
    comment_author      String,
    comment_text        String,
    comment_references  Nested(type String, link String),
    comment_created     DateTime64(3) DEFAULT now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (comment_entity_type, comment_entity_link, comment_id);

CREATE TABLE IF NOT EXISTS CommentsChangeHistory ON CLUSTER altrepo
(
    comment_id UInt64,
    cc_user    String,
    cc_user_ip String,
    cc_reason  String,
    cc_action  Enum8('create' = 0, 'update' = 1, 'discard' = 2, 'hide' = 3, 'show' = 4),
    ts         DateTime64(3) DEFAULT now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (comment_id, ts);

CREATE TABLE IF NOT EXISTS DefaultReasons ON CLUSTER altrepo
(
    dr_text       String,
    dr_source     String,
    dr_action     String,
    dr_is_active  UInt8,
    dr_is_deleted UInt8,
    ts            DateTime64(3) DEFAULT now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (dr_source, dr_action, dr_text, ts);

CREATE TABLE IF NOT EXISTS ErrataUsers ON CLUSTER altrepo
(
    user         String,
    display_name String,
    `group`      String,
    roles        Array(String),
    ts           DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (user, ts);

CREATE TABLE IF NOT EXISTS ErrataUsersAliases ON CLUSTER altrepo
(
    user    String,
    aliases Array(String),
    ts      DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (user, ts);

CREATE TABLE IF NOT EXISTS ErrataUsersSubscriptions ON CLUSTER altrepo
(
    user        String,
    entity_type String,
    entity_link String,
    state       String,
    assigner    String,
    date        DateTime
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (user, entity_type, entity_link, date);

CREATE FUNCTION IF NOT EXISTS get_errata_user_original_name ON CLUSTER altrepo AS (errata_user_name) ->
    arrayFirst(
        n -> notEmpty(n),
        [
            (
                SELECT any(user)
                FROM
                (
                    SELECT user, argMax(aliases, ts) AS current_aliases
                    FROM ErrataUsersAliases
                    GROUP BY user
                )
                WHERE has(current_aliases, errata_user_name)
            ),
            errata_user_name
        ]
    );

CREATE FUNCTION IF NOT EXISTS get_errata_user_aliases ON CLUSTER altrepo AS (errata_user_name) ->
    arrayDistinct(
        arrayConcat(
            [get_errata_user_original_name(errata_user_name)],
            (
                SELECT argMax(aliases, ts)
                FROM ErrataUsersAliases
                WHERE user = get_errata_user_original_name(errata_user_name)
            )
        )
    );


-- 0011_derived_views.sql
CREATE VIEW IF NOT EXISTS lv_all_image_packages ON CLUSTER altrepo AS
SELECT DISTINCT
    IMG.pkgset_uuid AS pkgset_uuid,
    IMG.pkgset_date AS pkgset_date,
    IMG.img_tag AS img_tag,
    IMG.img_branch AS img_branch,
    IMG.img_edition AS img_edition,
    IMG.img_file AS img_file,
    PKG.pkg_hash AS pkg_hash,
    PKG.pkg_name AS pkg_name,
    PKG.pkg_version AS pkg_version,
    PKG.pkg_release AS pkg_release,
    PKG.pkg_arch AS pkg_arch
FROM
(
    SELECT
        pkgset_uuid,
        argMax(pkgset_date, ts) AS pkgset_date,
        argMax(img_tag, ts) AS img_tag,
        argMax(img_branch, ts) AS img_branch,
        argMax(img_edition, ts) AS img_edition,
        argMax(img_kv['file'], ts) AS img_file
    FROM ImagePackageSetName
    GROUP BY pkgset_uuid
) AS IMG
INNER JOIN
(
    SELECT DISTINCT
        N.pkgset_ruuid AS root_uuid,
        PS.pkg_hash AS pkg_hash
    FROM PackageSet_buffer AS PS
    INNER JOIN
    (
        SELECT pkgset_uuid, pkgset_ruuid
        FROM PackageSetName
        WHERE pkgset_depth > 0
            AND pkgset_ruuid IN (SELECT pkgset_uuid FROM ImagePackageSetName)
    ) AS N ON N.pkgset_uuid = PS.pkgset_uuid
    WHERE PS.pkgset_uuid IN
    (
        SELECT pkgset_uuid
        FROM PackageSetName
        WHERE pkgset_depth > 0
            AND pkgset_ruuid IN (SELECT pkgset_uuid FROM ImagePackageSetName)
    )
) AS C ON C.root_uuid = IMG.pkgset_uuid
INNER JOIN
(
    SELECT pkg_hash, pkg_name, pkg_version, pkg_release, pkg_arch
    FROM Packages_buffer
    WHERE pkg_sourcepackage = 0
) AS PKG ON PKG.pkg_hash = C.pkg_hash;

CREATE VIEW IF NOT EXISTS lv_image_packageset ON CLUSTER altrepo AS
SELECT DISTINCT img_branch
FROM ImagePackageSetName;

CREATE VIEW IF NOT EXISTS lv_branch_deleted_packages ON CLUSTER altrepo
(
    pkgset_name String,
    pkg_name    String,
    task        UInt32,
    changed     DateTime,
    hash        UInt64
)
AS SELECT
    branch AS pkgset_name,
    name AS pkg_name,
    last_task AS task,
    last_changed AS changed,
    last_hash AS hash
FROM
(
    SELECT
        toString(pkgset_name) AS branch,
        pkg_name AS name,
        argMax(task_id, (task_changed, tplan_action = 'add', task_id)) AS last_task,
        max(task_changed) AS last_changed,
        argMax(tplan_action, (task_changed, tplan_action = 'add', task_id)) AS last_action,
        argMax(pkg_hash, (task_changed, tplan_action = 'add', task_id)) AS last_hash
    FROM BranchPackageHistory
    WHERE pkg_sourcepackage = 1
        AND pkg_hash != 0
    GROUP BY
        branch,
        name
)
WHERE last_action = 'delete'
    AND (branch, name) NOT IN
    (
        SELECT pkgset_name, pkg_name
        FROM static_last_packages
        WHERE pkg_sourcepackage = 1
    );

CREATE VIEW IF NOT EXISTS lv_repository_statistics ON CLUSTER altrepo
(
    branch      String,
    branch_date DateTime,
    stats       Array(Tuple(arch String, component String, count UInt64, size UInt64, uuid UUID))
)
AS SELECT
    pkgset_name AS branch,
    max(pkgset_date) AS branch_date,
    arraySort(
        s -> (s.arch, s.component),
        groupArray(CAST((node_arch, node_component, node_count, node_size, node_uuid),
                        'Tuple(arch String, component String, count UInt64, size UInt64, uuid UUID)'))
    ) AS stats
FROM
(
    SELECT
        N.pkgset_name AS pkgset_name,
        any(N.pkgset_date) AS pkgset_date,
        if(N.pkgset_depth = 1, 'srpm', any(N.pkgset_pname)) AS node_arch,
        N.pkgset_nodename AS node_component,
        count() AS node_count,
        sum(P.pkg_filesize) AS node_size,
        N.pkgset_uuid AS node_uuid
    FROM
    (
        SELECT pkgset_uuid, pkgset_name, pkgset_date, pkgset_depth, pkgset_nodename, pkgset_pname
        FROM last_pkgnames
        WHERE pkgset_class = 'repository'
            AND pkgset_depth > 0
    ) AS N
    INNER JOIN
    (
        SELECT DISTINCT pkgset_uuid, pkg_hash
        FROM PackageSet_buffer
        WHERE pkgset_uuid IN
        (
            SELECT pkgset_uuid
            FROM last_pkgnames
            WHERE pkgset_class = 'repository'
                AND pkgset_depth > 0
        )
    ) AS PS ON PS.pkgset_uuid = N.pkgset_uuid
    INNER JOIN
    (
        SELECT pkg_hash, any(pkg_filesize) AS pkg_filesize
        FROM Packages_buffer
        WHERE pkg_hash IN
        (
            SELECT pkg_hash
            FROM PackageSet_buffer
            WHERE pkgset_uuid IN
            (
                SELECT pkgset_uuid
                FROM last_pkgnames
                WHERE pkgset_class = 'repository'
                    AND pkgset_depth > 0
            )
        )
        GROUP BY pkg_hash
    ) AS P ON P.pkg_hash = PS.pkg_hash
    GROUP BY
        pkgset_name,
        node_uuid,
        N.pkgset_depth,
        node_component
)
GROUP BY branch;

