-- ALTRepo DB schema, file 0007: live task progress (girar AMQP feed) and the search indexes.
--
-- Not in the 2022 DDL: column names and their use are taken from the 2026 API. Types, engines
-- and keys are inferred (schema.md section 2.2). All four are append-only histories: readers
-- take the newest row per key by ts, so ts has a DEFAULT (now64()) that a loader may override
-- with the message receive time, keeping the order of several messages inserted in one batch.
-- TaskProgress replaces the unused 2022 layout (tp_* columns) of the same table.

-- Task-level progress messages (type 'state' carries the task state, stage/stage_status
-- describe build stages, e.g. stage_status 'started' while task_state is 'BUILDING').
-- Types match TaskStates/TaskIterations, with which the API UNIONs these rows.
CREATE TABLE IF NOT EXISTS TaskProgress
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
ENGINE = MergeTree
ORDER BY (task_id, ts);

-- Subtask-level progress messages: type 'progress' rows carry the per-arch build status
-- (arch = build arch or 'all', status/stage_status e.g. 'excluded'), other types (create,
-- delete, ...) carry subtask metadata. subtask_type uses the Tasks.subtask_type enum.
CREATE TABLE IF NOT EXISTS TaskSubtaskProgress
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
ENGINE = MergeTree
ORDER BY (task_id, subtask_id, arch, ts);

-- Task search index: type 'task', lead = task id (as text, read with toUInt32(lead)),
-- search_string = 'repo|owner|<task id>|STATE|comp1,comp2,...' (fields split on '|').
CREATE TABLE IF NOT EXISTS GlobalSearch
(
    type          LowCardinality(String),
    lead          String,
    search_string String,
    ts            DateTime64(3) DEFAULT now64()
)
ENGINE = MergeTree
ORDER BY (type, lead, ts);

-- File-name search index per branch: search_string = 'branch|/path/file|pkg_name|binary|arch'
-- (field 2 is the path, the API matches LIKE '<branch>|%<input>%|%|binary|%'),
-- lead = pkg_hash of the binary package containing the file.
CREATE TABLE IF NOT EXISTS FileSearch
(
    search_string String,
    lead          UInt64,
    ts            DateTime64(3) DEFAULT now64()
)
ENGINE = MergeTree
ORDER BY (search_string, lead);
