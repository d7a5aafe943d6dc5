-- ALTRepo DB schema, file 0012: insert deduplication on the tables the loaders write directly
-- and no materialized view reads.
--
-- Not part of the 2022 altrepodb DDL. A plain MergeTree keeps no record of inserted blocks,
-- so a batch resent after an ambiguous network failure (the server committed it, the answer
-- was lost) would be stored twice. With non_replicated_deduplication_window = N the table
-- remembers the insert_deduplication_token (or, without one, the content hash) of its last N
-- inserted blocks and drops a block it has seen. The loaders send a token that names the
-- load, the table, the inserter and the batch, the same for every attempt of one batch and
-- never reused (crates/db/src/inserter.rs).
-- Buffer tables cannot deduplicate; the inserter re-checks those instead, and also
-- PackageSetName and TaskStates: they fire materialized views, which the engine feeds with
-- a resent block even when the table itself drops it (measured on ClickHouse 26.9).
-- ALTER ... MODIFY SETTING is idempotent, so applying this file again changes nothing.

ALTER TABLE TaskPlanPackages MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE TaskPlanPkgHash MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE TaskApprovals MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE TaskProgress MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE TaskSubtaskProgress MODIFY SETTING non_replicated_deduplication_window = 1000;
