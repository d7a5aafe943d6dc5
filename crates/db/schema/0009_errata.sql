-- ALTRepo DB schema, file 0009: ALT errata (ALT-PU package updates, ALT-BU branch bulletins,
-- ALT-SA advisories), their change history and the errata id helper functions.
--
-- Not in the 2022 DDL: column names and positions come from the API. Types, engines and keys
-- are inferred (schema.md sections 2.2, 2.3). Errata ids have the form
-- PREFIX-KIND-YEAR-NUMBER-VERSION (e.g. ALT-PU-2024-1234-2). Every new version of an errata is
-- a new row. User-defined functions are server-global in ClickHouse: CREATE FUNCTION IF NOT
-- EXISTS keeps an existing definition of the same name.

-- 'ALT-PU-2024-1234-2' -> 'ALT-PU-2024-1234' (the id without its trailing '-VERSION').
CREATE FUNCTION IF NOT EXISTS extractErrataIdNoVersion AS (errata_id) ->
    arrayStringConcat(arrayPopBack(splitByChar('-', errata_id)), '-');

-- 'ALT-PU-2024-1234-2' -> 2 (UInt32, 0 when the last part is not a number).
CREATE FUNCTION IF NOT EXISTS extractErrataIdVersion AS (errata_id) ->
    toUInt32OrZero(arrayElement(splitByChar('-', errata_id), -1));

-- Errata versions. The 16 ordinary columns up to task_state are read by position
-- (SELECT DISTINCT * EXCEPT (ts, eh_json)), inserts use (* EXCEPT (ts, eh_json)), hence the
-- defaults. errata_id_noversion/errata_id_version are MATERIALIZED (not part of *).
-- eh_type 'task'/'branch'/'bulletin', eh_references types 'vuln', 'bug', 'errata', 'package', ...
CREATE TABLE IF NOT EXISTS ErrataHistory
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
ENGINE = MergeTree
ORDER BY (errata_id, eh_updated);

-- Changes of errata (ec_id = 'ALT-EC-...' with its own version). errata_id = the errata
-- version produced by the change. ec_reason is JSON (actor, user, message, details).
-- Inserted with (* EXCEPT ts). ec_id_noversion is MATERIALIZED (not part of *).
CREATE TABLE IF NOT EXISTS ErrataChangeHistory
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
ENGINE = MergeTree
ORDER BY (ec_id, ec_updated);

-- Errata excluded from all listings: errata whose newest change record (by ec_updated, then
-- ts) is a 'discard'. errata_id is the errata version that change produced.
CREATE VIEW IF NOT EXISTS last_discarded_erratas
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
