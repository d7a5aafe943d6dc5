-- ALTRepo DB schema, file 0003: girar build tasks and the branch package history built from them.
--
-- Loading contract: TaskStates_buffer, Tasks_buffer, TaskIterations_buffer, TaskChroots_buffer,
-- TaskLogs_buffer get the bulk rows. TaskPlanPackages, TaskPlanPkgHash and TaskApprovals are
-- written directly. TaskStates reaches its MergeTree last (flush order), because
-- mv_package_history fires on TaskStates inserts and reads the other task tables.
-- The task progress tables of the AMQP feed (TaskProgress, TaskSubtaskProgress) are in 0007.

-- Subtasks of every task state that was loaded.
CREATE TABLE IF NOT EXISTS Tasks
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
ENGINE = ReplacingMergeTree
PRIMARY KEY (task_id, subtask_id)
ORDER BY (task_id, subtask_id, task_changed, subtask_changed, subtask_deleted);

CREATE TABLE IF NOT EXISTS Tasks_buffer AS Tasks
ENGINE = Buffer(currentDatabase(), 'Tasks', 16, 10, 100, 1000, 100000, 100000, 1000000);

-- Task states (one row per loaded state change).
CREATE TABLE IF NOT EXISTS TaskStates
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
ENGINE = ReplacingMergeTree
PRIMARY KEY (task_changed, task_id)
ORDER BY (task_changed, task_id, task_state, task_try);

CREATE TABLE IF NOT EXISTS TaskStates_buffer AS TaskStates
ENGINE = Buffer(currentDatabase(), 'TaskStates', 16, 10, 100, 1000, 100000, 100000, 1000000);

-- Subtask approvals/disapprovals (latest per (task, subtask, name) by ts).
CREATE TABLE IF NOT EXISTS TaskApprovals
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
ENGINE = MergeTree
ORDER BY (tapp_date, task_id, subtask_id);

-- Build results per (task, subtask, arch, try, iteration).
CREATE TABLE IF NOT EXISTS TaskIterations
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
ENGINE = ReplacingMergeTree
PRIMARY KEY (task_id, subtask_id)
ORDER BY (task_id, subtask_id, subtask_arch, task_changed, titer_ts, titer_status, task_try, task_iter);

CREATE TABLE IF NOT EXISTS TaskIterations_buffer AS TaskIterations
ENGINE = Buffer(currentDatabase(), 'TaskIterations', 16, 10, 100, 1000, 100000, 1000000, 10000000);

-- Build chroot package sets, tch_hash = murmurHash3_64 of the array (TaskIterations.titer_chroot_*).
CREATE TABLE IF NOT EXISTS TaskChroots
(
    tch_hash   UInt64 MATERIALIZED murmurHash3_64(tch_chroot),
    tch_chroot Array(UInt64)
)
ENGINE = ReplacingMergeTree
ORDER BY (tch_chroot);

CREATE TABLE IF NOT EXISTS TaskChroots_buffer AS TaskChroots
ENGINE = Buffer(currentDatabase(), 'TaskChroots', 16, 10, 100, 1000, 100000, 1000000, 10000000);

-- Task log lines (events, build and srpm logs), tlog_hash identifies the log file.
CREATE TABLE IF NOT EXISTS TaskLogs
(
    tlog_hash    UInt64,
    tlog_line    UInt32,
    tlog_ts      DateTime,
    tlog_message String
)
ENGINE = ReplacingMergeTree
ORDER BY (tlog_message, tlog_line, tlog_hash);

CREATE TABLE IF NOT EXISTS TaskLogs_buffer AS TaskLogs
ENGINE = Buffer(currentDatabase(), 'TaskLogs', 16, 10, 100, 1000, 100000, 1000000, 10000000);

-- Task plan: packages added to / deleted from the branch per plan hash.
CREATE TABLE IF NOT EXISTS TaskPlanPackages
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
ENGINE = ReplacingMergeTree
ORDER BY (tplan_hash, tplan_action, tplan_src_file, tplan_bin_file);

-- Task plan: SHA-256 of the package files added / deleted per plan hash.
CREATE TABLE IF NOT EXISTS TaskPlanPkgHash
(
    tplan_hash   UInt64,
    tplan_action Enum8('add' = 0, 'delete' = 1),
    tplan_sha256 FixedString(32)
)
ENGINE = ReplacingMergeTree
ORDER BY (tplan_hash, tplan_action, tplan_sha256);

-- Plan hashes of DONE tasks: murmurHash3_64(task_id || task_try || task_iter || arch) (decimal
-- numbers, no separators) for every build arch of the task's last iteration and for
-- 'src', 'noarch' and 'x86_64-i586'.
CREATE VIEW IF NOT EXISTS task_plan_hashes
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

-- Packages added to / deleted from branches by DONE tasks, with the newest changelog entry.
CREATE TABLE IF NOT EXISTS BranchPackageHistory
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
ENGINE = ReplacingMergeTree
ORDER BY (pkg_hash, pkgset_name, pkg_name, pkg_sourcepackage, task_id);

-- TaskStates (DONE rows) -> BranchPackageHistory: the task's branch (Tasks.task_repo), its plan
-- hashes (computed like task_plan_hashes, for the inserted DONE rows), the planned package
-- files (TaskPlanPkgHash, SHA-256) resolved to packages through PackageHash, the package
-- headers and their newest changelog entry. Task and package tables are read through their
-- buffers, so rows not yet flushed are seen. Inside the view every TaskStates reference (also
-- in the WITH subqueries) reads the inserted block, which keeps the other reads on their keys.
-- The joins from the DONE rows outwards are LEFT joins as in 2022: a DONE task whose plan
-- resolves to no package still gets one row (pkg_hash 0), so it is listed in branch histories.
-- Back-filling existing data is done with INSERT INTO BranchPackageHistory SELECT ... of the
-- same query, not through this view.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_package_history TO BranchPackageHistory
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
