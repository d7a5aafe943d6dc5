-- ALTRepo DB schema, file 0004: distribution images.
--
-- An image is a package-set tree in PackageSetName/PackageSet whose root has a class other than
-- 'repository'. Inserting the root fires mv_image_pkgset, which copies it to ImagePackageSetName
-- (loaders must not insert there directly). ImageStatus and ImageTagStatus are append-only
-- (latest row by ts). The API admin routes write them with positional INSERT ... (*), so ts
-- must stay MATERIALIZED.

CREATE TABLE IF NOT EXISTS ImagePackageSetName
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
ENGINE = MergeTree
PRIMARY KEY (pkgset_date, img_branch, img_edition)
ORDER BY (pkgset_date, img_branch, img_edition, img_arch, img_variant, img_release);

-- PackageSetName -> ImagePackageSetName: image roots (depth 0, class other than 'repository').
-- img_* come from the pkgset_kv keys branch, edition, flavor, platform, release,
-- version_major/minor/sub (as UInt32, 0 when absent or not a number), arch, variant and
-- image_type. Every other key/value pair (class, file, url, checksums, ...) goes to img_kv.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_image_pkgset TO ImagePackageSetName
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

-- Image editions shown on the site (admin-maintained, latest row per (branch, edition) by ts).
CREATE TABLE IF NOT EXISTS ImageStatus
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
ENGINE = MergeTree
PRIMARY KEY (img_branch, img_edition)
ORDER BY (img_branch, img_edition, img_show);

-- Visibility of single image tags (latest row per tag by ts).
CREATE TABLE IF NOT EXISTS ImageTagStatus
(
    img_tag  String,
    img_show Enum8('hide' = 0, 'show' = 1),
    ts       DateTime64(3) MATERIALIZED now64()
)
ENGINE = ReplacingMergeTree
ORDER BY img_tag;
