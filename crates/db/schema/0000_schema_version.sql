-- ALTRepo DB schema, file 0000: the schema-version table of the Rust uploader.
--
-- Not part of the 2022 altrepodb DDL. One row per applied schema file:
-- version = the number prefix of the file name, name = the file name,
-- checksum = the file checksum as computed by the loader, applied_at = when.
-- ReplacingMergeTree keyed by version keeps the last row written for a file.

CREATE TABLE IF NOT EXISTS altrepodb_schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
ORDER BY version;
