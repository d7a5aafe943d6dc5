-- ALTRepo DB schema, file 0011: derived objects the 2026 API reads like tables (lv_*).
--
-- Their column sets come from the API. How upstream maintains them (LIVE VIEWs, refreshable
-- MVs or tables) is unknown. Here they are plain views over the tables of 0001-0004, so the
-- loaders have nothing to write or refresh (semantics inferred, schema.md section 2.2).

-- Binary packages contained in each image: image roots (newest ImagePackageSetName row per
-- root uuid) with the packages of all their components, img_file = img_kv['file'].
CREATE VIEW IF NOT EXISTS lv_all_image_packages AS
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

-- Branches that have images.
CREATE VIEW IF NOT EXISTS lv_image_packageset AS
SELECT DISTINCT img_branch
FROM ImagePackageSetName;

-- Source packages deleted from a branch and not back in its current state: per
-- (branch, source package name) the newest BranchPackageHistory event (by task_changed, an
-- 'add' wins over a 'delete' of the same task, i.e. an update is not a deletion) is a
-- 'delete'. task/changed = the deleting task and its DONE time, hash = the deleted package.
CREATE VIEW IF NOT EXISTS lv_branch_deleted_packages
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

-- Current state of every branch by component: for the newest branch tree (class
-- 'repository') one tuple per package-holding node: the 'srpm' node as
-- (arch 'srpm', component 'srpm') and every arch/component node as (arch, component), with
-- the number of packages, the sum of their file sizes and the node uuid.
CREATE VIEW IF NOT EXISTS lv_repository_statistics
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
