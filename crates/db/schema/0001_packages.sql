-- ALTRepo DB schema, file 0001: package inventory.
--
-- RPM headers (Packages), file digests (PackageHash), changelog texts (Changelog),
-- file lists (Files, FileNames), dependencies (Depends), spec files (Specfiles),
-- source/binary name pairs (PackagesSourceAndBinaries) and the views over them.
--
-- Loading contract (same as the 2022 uploader): bulk rows go into the *_buffer
-- tables, file lists go into the Null table Files_insert and spec files into
-- Specfiles_insert, whose materialized views fan the rows out.
-- Buffer tables copy the columns of their destination (AS <table>), so every
-- column added to a destination table must be present before its buffer is made.

-- RPM package headers, one row per package build (pkg_hash = snowflake id).
-- pkg_vcs, pkg_pretrans and pkg_posttrans were added after 2022 (read by the 2026 API),
-- appended after the 2022 columns.
CREATE TABLE IF NOT EXISTS Packages
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
ENGINE = ReplacingMergeTree
PRIMARY KEY (pkg_name, pkg_arch)
ORDER BY (pkg_name, pkg_arch, pkg_hash, pkg_srcrpm_hash, pkg_packager, pkg_packager_email)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS Packages_buffer AS Packages
ENGINE = Buffer(currentDatabase(), 'Packages', 16, 10, 200, 10000, 1000000, 10000000, 100000000);

-- File digests of every loaded package file (pkgh_mmh = pkg_hash).
CREATE TABLE IF NOT EXISTS PackageHash
(
    pkgh_mmh     UInt64,
    pkgh_md5     FixedString(16),
    pkgh_sha1    FixedString(20),
    pkgh_sha256  FixedString(32),
    pkgh_blake2b FixedString(64)
)
ENGINE = ReplacingMergeTree
PRIMARY KEY pkgh_mmh
ORDER BY (pkgh_mmh, pkgh_md5, pkgh_sha256);

CREATE TABLE IF NOT EXISTS PackageHash_buffer AS PackageHash
ENGINE = Buffer(currentDatabase(), 'PackageHash', 16, 10, 100, 10000, 1000000, 1000000, 10000000);

-- The digests as lower-case hex strings.
CREATE VIEW IF NOT EXISTS PackageHash_view AS
SELECT
    pkgh_mmh,
    lower(hex(pkgh_md5))     AS pkgh_md5,
    lower(hex(pkgh_sha1))    AS pkgh_sha1,
    lower(hex(pkgh_sha256))  AS pkgh_sha256,
    lower(hex(pkgh_blake2b)) AS pkgh_blake2b
FROM PackageHash_buffer;

-- Files of packages. file_hashname/file_hashdir = murmurHash3_64 of the path / of its directory,
-- filled by mv_files from Files_insert.
CREATE TABLE IF NOT EXISTS Files
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
ENGINE = ReplacingMergeTree
PRIMARY KEY (pkg_hash, file_hashname)
ORDER BY (pkg_hash, file_hashname, file_class, file_md5);

CREATE TABLE IF NOT EXISTS Files_buffer AS Files
ENGINE = Buffer(currentDatabase(), 'Files', 16, 10, 100, 1000, 100000, 1000000, 10000000);

-- Entry point for file lists: rows are not stored here, the three MVs below fan them out.
CREATE TABLE IF NOT EXISTS Files_insert
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

-- Distinct file and directory paths, fn_hash equals Files.file_hashname / file_hashdir.
CREATE TABLE IF NOT EXISTS FileNames
(
    fn_name String,
    fn_hash UInt64 MATERIALIZED murmurHash3_64(fn_name)
)
ENGINE = ReplacingMergeTree
ORDER BY fn_name;

CREATE TABLE IF NOT EXISTS FileNames_buffer AS FileNames
ENGINE = Buffer(currentDatabase(), 'FileNames', 16, 10, 100, 1000, 100000, 1000000, 10000000);

-- Files_insert -> Files_buffer: the path is replaced by its hash and the hash of its directory
-- (the path with its last '/'-component removed: '/usr/bin/ls' -> '/usr/bin').
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_files TO Files_buffer
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

-- Files_insert -> FileNames_buffer: the full path.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_filenames_filename TO FileNames_buffer
(
    fn_name String
)
AS SELECT file_name AS fn_name
FROM Files_insert;

-- Files_insert -> FileNames_buffer: the directory part of the path.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_filenames_filedir TO FileNames_buffer
(
    fn_name String
)
AS SELECT arrayStringConcat(arrayPopBack(splitByChar('/', file_name)), '/') AS fn_name
FROM Files_insert;

-- Files with their path names restored.
CREATE VIEW IF NOT EXISTS Files_view AS
SELECT
    FN.fn_name AS file_name,
    F.*
FROM FileNames_buffer AS FN
INNER JOIN Files_buffer AS F ON F.file_hashname = FN.fn_hash;

-- Changelog texts, chlog_hash = murmurHash3_64(text), referenced by Packages.pkg_changelog.hash.
CREATE TABLE IF NOT EXISTS Changelog
(
    chlog_hash UInt64,
    chlog_text String
)
ENGINE = ReplacingMergeTree
PRIMARY KEY chlog_hash
ORDER BY (chlog_hash, chlog_text);

CREATE TABLE IF NOT EXISTS Changelog_buffer AS Changelog
ENGINE = Buffer(currentDatabase(), 'Changelog', 16, 10, 100, 1000, 1000000, 1000000, 10000000);

-- Whole changelog of every package: (date, name, evr, text), newest entry first.
CREATE VIEW IF NOT EXISTS PackageChangelog_view AS
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

-- Newest changelog entry of every source package, filled on insert into Packages.
CREATE TABLE IF NOT EXISTS SrcPackagesLastChangelog
(
    pkg_hash   UInt64,
    chlog_nick String,
    chlog_name String,
    chlog_date DateTime,
    chlog_evr  String,
    chlog_text String
)
ENGINE = ReplacingMergeTree
ORDER BY pkg_hash;

-- Packages (source rows) -> SrcPackagesLastChangelog. chlog_nick is the local part of the
-- e-mail in '<...>' of the changelog name (' at ' read as '@'). The text is looked up through
-- Changelog_buffer, so texts still waiting in the buffer are found too (only the hashes of the
-- inserted block: inside the view, Packages reads the block).
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_src_packages_last_changelog TO SrcPackagesLastChangelog
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

-- Packages without the Nested changelog, plus the newest changelog entry and its text.
CREATE VIEW IF NOT EXISTS PackagesWithLastChangelog_view AS
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

-- Package dependencies (require/conflict/obsolete/provide), dp_flag = raw RPM sense flags.
CREATE TABLE IF NOT EXISTS Depends
(
    pkg_hash   UInt64,
    dp_name    String,
    dp_version String,
    dp_flag    UInt32,
    dp_type    Enum8('require' = 1, 'conflict' = 2, 'obsolete' = 3, 'provide' = 4)
)
ENGINE = ReplacingMergeTree
PRIMARY KEY dp_name
ORDER BY (dp_name, dp_version, dp_type, dp_flag, pkg_hash);

CREATE TABLE IF NOT EXISTS Depends_buffer AS Depends
ENGINE = Buffer(currentDatabase(), 'Depends', 16, 10, 200, 10000, 1000000, 1000000, 10000000);

-- Entry point for spec files of source packages (content base64-encoded).
CREATE TABLE IF NOT EXISTS Specfiles_insert
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

CREATE TABLE IF NOT EXISTS Specfiles
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
ENGINE = ReplacingMergeTree
ORDER BY (pkg_hash, specfile_content);

CREATE TABLE IF NOT EXISTS Specfiles_buffer AS Specfiles
ENGINE = Buffer(currentDatabase(), 'Specfiles', 16, 10, 100, 1000, 100000, 100000, 1000000);

-- Specfiles_insert -> Specfiles_buffer: decodes the base64 content.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_specfiles TO Specfiles_buffer
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

-- Source package name -> binary package names built from it, with the newest build time.
CREATE TABLE IF NOT EXISTS PackagesSourceAndBinaries
(
    buildtime    SimpleAggregateFunction(max, UInt32),
    src_pkg_name String,
    bin_pkg_name String
)
ENGINE = AggregatingMergeTree
ORDER BY (src_pkg_name, bin_pkg_name);

-- Packages (rows that know their source package, except i586-* compat packages)
-- -> PackagesSourceAndBinaries. The source name is pkg_sourcerpm without its last two
-- '-'-separated parts ('foo-bar-1.0-alt1.src.rpm' -> 'foo-bar'). Source rows carry their own
-- hash in pkg_srcrpm_hash, so every source name is also paired with itself (as in 2022).
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_packages_source_and_binaries TO PackagesSourceAndBinaries
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

-- Binary packages with the name of their source package (sourcepkgname, '' when unknown).
CREATE VIEW IF NOT EXISTS all_packages_with_source AS
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
