-- ALTRepo DB schema, file 0010: tables written by the API's management routes (vulnerability
-- triage, comments, default reasons, errata users) and the user-name functions.
--
-- Not in the 2022 DDL: column names and positions come from the API. Types, engines and keys
-- are inferred (schema.md section 2.2, 2.3). All are append-only histories (newest row per key
-- by ts or date). The uploader does not write them. They must exist for the API.

-- Manual triage status history per vulnerability. Exactly 8 ordinary columns: the API reads
-- tuple(*) by position (1 vuln_id, 2 vs_author, 3 vs_status, 5 text, 8 vs_updated) and inserts
-- (* EXCEPT(vs_updated)), ts is MATERIALIZED so it is not part of *.
-- vs_status 'new'/'analyzing'/'working'/'resolved', vs_resolution ''/'not_for_us'/
-- 'not_affected'/'wont_fix'/'our', vs_json keys note, project_name, cpes.
CREATE TABLE IF NOT EXISTS VulnerabilityStatus
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
ENGINE = MergeTree
ORDER BY (vuln_id, vs_updated);

-- Comments on entities (vulnerabilities, errata, packages, ...). comment_id is a snowflake id,
-- comment_pid/comment_rid the parent and root comment. SELECT * is read as 10 positions and
-- the API inserts all of them (INSERT INTO Comments VALUES), so there is no ts column.
CREATE TABLE IF NOT EXISTS Comments
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
ENGINE = MergeTree
ORDER BY (comment_entity_type, comment_entity_link, comment_id);

-- Comment actions (latest argMax(cc_action, ts) per comment, 'discard' hides a comment).
-- Inserted with (* EXCEPT(ts)).
CREATE TABLE IF NOT EXISTS CommentsChangeHistory
(
    comment_id UInt64,
    cc_user    String,
    cc_user_ip String,
    cc_reason  String,
    cc_action  Enum8('create' = 0, 'update' = 1, 'discard' = 2, 'hide' = 3, 'show' = 4),
    ts         DateTime64(3) DEFAULT now64()
)
ENGINE = MergeTree
ORDER BY (comment_id, ts);

-- Predefined reason texts per source (vuln, errata, task, pnc, cpe, exclusion, comment,
-- vuln_status) and action (create/discard/update). Inserted with (* EXCEPT(ts)).
CREATE TABLE IF NOT EXISTS DefaultReasons
(
    dr_text       String,
    dr_source     String,
    dr_action     String,
    dr_is_active  UInt8,
    dr_is_deleted UInt8,
    ts            DateTime64(3) DEFAULT now64()
)
ENGINE = MergeTree
ORDER BY (dr_source, dr_action, dr_text, ts);

-- Users of the errata management (latest row per user by ts). Inserted positionally as
-- (*) VALUES ('user', 'display_name', 'group', [roles]), so ts is MATERIALIZED.
CREATE TABLE IF NOT EXISTS ErrataUsers
(
    user         String,
    display_name String,
    `group`      String,
    roles        Array(String),
    ts           DateTime64(3) MATERIALIZED now64()
)
ENGINE = MergeTree
ORDER BY (user, ts);

-- Other names of a user (latest aliases per user by ts). Inserted as (user, aliases).
CREATE TABLE IF NOT EXISTS ErrataUsersAliases
(
    user    String,
    aliases Array(String),
    ts      DateTime64(3) MATERIALIZED now64()
)
ENGINE = MergeTree
ORDER BY (user, ts);

-- Subscriptions of users to entities ('vuln', 'package', 'errata'), latest
-- argMax(state, date) per (user, entity_type, entity_link), state 'active'/'inactive'.
-- Inserted with (*), no ts.
CREATE TABLE IF NOT EXISTS ErrataUsersSubscriptions
(
    user        String,
    entity_type String,
    entity_link String,
    state       String,
    assigner    String,
    date        DateTime
)
ENGINE = MergeTree
ORDER BY (user, entity_type, entity_link, date);

-- Canonical user name of a name: the user whose current alias list (newest
-- ErrataUsersAliases row) contains it, otherwise the name itself. Reads the table of the
-- current database, the API calls it with constant arguments.
CREATE FUNCTION IF NOT EXISTS get_errata_user_original_name AS (errata_user_name) ->
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

-- The canonical user name of a name followed by all current aliases of that user.
CREATE FUNCTION IF NOT EXISTS get_errata_user_aliases AS (errata_user_name) ->
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
