//! The feed services end to end: the daemon as a child process with real RabbitMQ and the
//! embedded ClickHouse, feeds served by a local HTTP server.
//!
//! * `acl_loader` and `bugzilla_loader` turn messages written here into rows (checked field by
//!   field against the messages), write nothing for a repeated state, acknowledge Bugzilla
//!   keys they do not handle and reject malformed messages with the reason;
//! * `beehive_loader`, `repocop_loader` and `watch_loader` load their feeds on a trigger
//!   message, and on their `schedule` without any message.
//!
//! Every wait is bounded; each test has its own exchanges, queues and database.

mod common;

use std::sync::Arc;
use std::time::Duration;

use altrepodb_load::repo::{load_repo, RepoLoadOptions};
use altrepodb_load::NoObserver;
use altrepodb_testdata::http_server::FeedServer;
use altrepodb_testdata::manifest::{PackageKind, PackageRecord};
use common::*;
use serde_json::{json, Value};

#[test]
fn daemon_child() {
    common::child_main();
}

/// Jobs `service` finished.
fn done(d: &DaemonProc, service: &str) -> usize {
    d.with_message("job done")
        .iter()
        .filter(|v| v["fields"]["service"] == service)
        .count()
}

/// Waits until `service` finished `n` jobs.
fn wait_done(d: &DaemonProc, service: &str, n: usize) {
    assert!(
        d.wait_until(Duration::from_secs(60), || done(d, service) >= n),
        "{service}: fewer than {n} jobs done\n{}",
        d.log_text()
    );
}

/// Reasons of the rejected messages so far.
fn rejections(d: &DaemonProc) -> Vec<String> {
    d.with_message("message rejected")
        .iter()
        .map(|v| v["fields"]["reason"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Waits until every service of `kinds` reports `running` on /health.
fn wait_running(d: &DaemonProc, kinds: &[&str]) {
    let running = || {
        let (code, body) = d.get("/health");
        let h: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        code == 200
            && kinds
                .iter()
                .all(|k| h["services"][k]["state"] == "running" && h["services"][k]["kind"] == *k)
    };
    assert!(
        d.wait_until(Duration::from_secs(60), running),
        "{}\n{}",
        d.get("/health").1,
        d.log_text()
    );
}

async fn tsv(tdb: &TestDb, sql: &str) -> Vec<Vec<String>> {
    let text = tdb.scalar(sql).await;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn row(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|s| (*s).to_owned()).collect()
}

/// A bug as Bugzilla's messages carry it (synthetic values).
fn bug(id: u32, status: &str, assignee: &str, summary: &str) -> Value {
    json!({"id": id, "status": {"label": status}, "resolution": "",
           "severity": "normal", "priority": "P3", "product": {"name": "Sisyphus"},
           "component": {"name": "foo"}, "version": "unstable", "platform": "x86_64",
           "assigned_to": {"login": assignee}, "reporter": {"login": "bob@example.org"},
           "summary": summary})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_and_bugzilla_messages_become_rows() {
    if !rabbit() {
        return;
    }
    let tdb = TestDb::new().await;
    let conn = amqp().await;
    let girar = unique("girar-ex");
    let bz_ex = unique("bugzilla-ex");
    let nex = unique("notify-ex");
    let acl_q = unique("acl-loader-q");
    let bz_q = unique("bugzilla-loader-q");
    // Done ACL messages are re-published to their own exchange (uploaded-ex in the examples).
    let uploaded = unique("uploaded-ex");
    let done_q = watch_queue(&conn, &uploaded, "acl.#").await;
    let mut acl_amqp = service_amqp(&acl_q, &girar, "acl.#");
    acl_amqp["exchange"] = json!(uploaded);
    let setup = write_config(
        json!({"notifier": {"amqp": {"host": "127.0.0.1", "exchange": nex}}, "http": {"port": 0}}),
        &[
            (
                "acl_loader",
                json!({"database": tdb.database_json(), "amqp": acl_amqp,
                       "routing_key_pattern": "acl.", "publish_on_done": true}),
            ),
            (
                "bugzilla_loader",
                json!({"database": tdb.database_json(),
                       "amqp": service_amqp(&bz_q, &bz_ex, "bugzilla.#"),
                       "routing_key_pattern": "bugzilla."}),
            ),
        ],
    );
    let d = DaemonProc::start(&setup);
    wait_running(&d, &["acl_loader", "bugzilla_loader"]);

    // ---- ACL -----------------------------------------------------------------------------
    let acl_msg = json!({"_timestamp": 1709296200.75, "repo": "sisyphus", "target": "foo",
                         "new_owners": ["alice", "@qa", "bob"]});
    publish(&conn, &girar, "acl.changed", acl_msg.to_string().as_bytes()).await;
    wait_done(&d, "acl_loader", 1);
    let acl_q_sql = "SELECT toUnixTimestamp(acl_date), acl_for, acl_branch, acl_list FROM Acl \
                     ORDER BY acl_date, acl_for";
    assert_eq!(
        tsv(&tdb, acl_q_sql).await,
        vec![row(&[
            "1709296200",
            "foo",
            "sisyphus",
            "['alice','@qa','bob']"
        ])]
    );
    // The same list again (a redelivery, or a later message repeating it): nothing written.
    let again = json!({"_timestamp": 1709300000, "repo": "sisyphus", "target": "foo",
                       "new_owners": ["alice", "@qa", "bob"]});
    publish(&conn, &girar, "acl.changed", again.to_string().as_bytes()).await;
    wait_done(&d, "acl_loader", 2);
    assert_eq!(tdb.count("SELECT count() FROM Acl").await, 1);
    // A changed list: a second row, which last_acl now returns.
    let changed = json!({"_timestamp": "1709300000", "repo": "sisyphus", "target": "foo",
                         "new_owners": ["carol"]});
    publish(&conn, &girar, "acl.changed", changed.to_string().as_bytes()).await;
    wait_done(&d, "acl_loader", 3);
    assert_eq!(
        tsv(&tdb, acl_q_sql).await[1],
        row(&["1709300000", "foo", "sisyphus", "['carol']"])
    );
    assert_eq!(
        tdb.scalar(
            "SELECT acl_list FROM last_acl WHERE acl_branch = 'sisyphus' AND acl_for = 'foo'"
        )
        .await,
        "['carol']"
    );

    // ---- Bugzilla ------------------------------------------------------------------------
    let t1 = "2024-03-01T10:20:30"; // 1709288430
    let changed_msg =
        |b: Value, time: &str| json!({"_meta": {"time": time}, "payload": {"bug": b}});
    publish(
        &conn,
        &bz_ex,
        "bugzilla.bug.changed.status",
        changed_msg(
            bug(40001, "NEW", "alice@altlinux.org", "crash on start"),
            t1,
        )
        .to_string()
        .as_bytes(),
    )
    .await;
    wait_done(&d, "bugzilla_loader", 1);
    let bz_sql = "SELECT bz_id, bz_status, bz_resolution, bz_severity, bz_priority, bz_product, \
                  bz_version, bz_platform, bz_component, bz_assignee, bz_reporter, bz_summary, \
                  toUnixTimestamp(bz_last_changed), bz_assignee_full, bz_reporter_full \
                  FROM Bugzilla ORDER BY bz_id, ts";
    let bug_row = |id: &str, status: &str, nick: &str, login: &str, summary: &str, t: &str| {
        row(&[
            id,
            status,
            "",
            "normal",
            "P3",
            "Sisyphus",
            "unstable",
            "x86_64",
            "foo",
            nick,
            "bob",
            summary,
            t,
            login,
            "bob@example.org",
        ])
    };
    assert_eq!(
        tsv(&tdb, bz_sql).await,
        vec![bug_row(
            "40001",
            "NEW",
            "alice",
            "alice@altlinux.org",
            "crash on start",
            "1709288430"
        )]
    );
    // The same state again: no new row.
    publish(
        &conn,
        &bz_ex,
        "bugzilla.bug.changed.status",
        changed_msg(
            bug(40001, "NEW", "alice@altlinux.org", "crash on start"),
            t1,
        )
        .to_string()
        .as_bytes(),
    )
    .await;
    wait_done(&d, "bugzilla_loader", 2);
    assert_eq!(tdb.count("SELECT count() FROM Bugzilla").await, 1);
    // A new comment on the bug, which was reassigned meanwhile: its bug is in
    // payload.comment.bug and differs, so a second row.
    let comment = json!({"_meta": {"time": "2024-03-02T08:00:00Z"},
                         "payload": {"comment": {"id": 7, "body": "me too",
                            "bug": bug(40001, "ASSIGNED", "carol@altlinux.org", "crash on start")}}});
    publish(
        &conn,
        &bz_ex,
        "bugzilla.comment.new",
        comment.to_string().as_bytes(),
    )
    .await;
    wait_done(&d, "bugzilla_loader", 3);
    assert_eq!(
        tsv(&tdb, bz_sql).await[1],
        bug_row(
            "40001",
            "ASSIGNED",
            "carol",
            "carol@altlinux.org",
            "crash on start",
            "1709366400"
        )
    );
    // A bug stored by the CSV loader (no *_full columns), then a message with the same state:
    // compared like with like, nothing written.
    tdb.db()
        .execute(
            "INSERT INTO Bugzilla (bz_id, bz_status, bz_resolution, bz_severity, bz_priority, \
             bz_product, bz_version, bz_platform, bz_component, bz_assignee, bz_reporter, \
             bz_summary, bz_last_changed) VALUES (40002, 'NEW', '', 'normal', 'P3', 'Sisyphus', \
             'unstable', 'x86_64', 'foo', 'dave', 'bob', 'typo', 1709288430)",
            "inserting a CSV bug",
        )
        .await
        .unwrap();
    publish(
        &conn,
        &bz_ex,
        "bugzilla.bug.changed.summary",
        changed_msg(bug(40002, "NEW", "dave@altlinux.org", "typo"), t1)
            .to_string()
            .as_bytes(),
    )
    .await;
    wait_done(&d, "bugzilla_loader", 4);
    assert_eq!(
        tdb.count("SELECT count() FROM Bugzilla WHERE bz_id = 40002")
            .await,
        1
    );
    // A key the service does not handle: acknowledged without work.
    publish(
        &conn,
        &bz_ex,
        "bugzilla.bug.create",
        br#"{"_meta": {"time": "2024-03-02T09:00:00"}, "payload": {"bug": {"id": 1}}}"#,
    )
    .await;
    assert!(
        d.wait_until(Duration::from_secs(30), || d
            .with_message("message acknowledged without work")
            .iter()
            .any(|v| v["fields"]["routing_key"] == "bugzilla.bug.create")),
        "{}",
        d.log_text()
    );

    // ---- poison --------------------------------------------------------------------------
    publish(
        &conn,
        &girar,
        "acl.changed",
        br#"{"_timestamp": 1709296200, "repo": "p10", "target": "bar"}"#,
    )
    .await;
    publish(&conn, &bz_ex, "bugzilla.bug.changed.status", b"{not json").await;
    publish(
        &conn,
        &bz_ex,
        "bugzilla.comment.new",
        br#"{"_meta": {"time": "2024-03-02T09:00:00"}, "payload": {"bug": {"id": 1}}}"#,
    )
    .await;
    let mut no_login = bug(40003, "NEW", "x@y", "z");
    no_login["assigned_to"] = json!({});
    publish(
        &conn,
        &bz_ex,
        "bugzilla.bug.changed.x",
        changed_msg(no_login, t1).to_string().as_bytes(),
    )
    .await;
    assert!(
        d.wait_count("message rejected", 4, Duration::from_secs(30)),
        "{}",
        d.log_text()
    );
    let reasons = rejections(&d);
    for needle in [
        "ACL message: message has no 'new_owners'",
        "body is not JSON",
        "Bugzilla message: message has no 'payload.comment.bug'",
        "Bugzilla message: bug has no 'assigned_to.login'",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "{needle}: {reasons:?}"
        );
    }
    assert!(d.wait_until(Duration::from_secs(10), || {
        d.metric("altrepodb_messages_rejected_total{service=\"bugzilla_loader\",requeue=\"false\"}")
            == 3.0
            && d.metric(
                "altrepodb_messages_rejected_total{service=\"acl_loader\",requeue=\"false\"}",
            ) == 1.0
    }));
    // Nothing more was written; every other message was acknowledged (jobs, and the key
    // without work).
    assert_eq!(tdb.count("SELECT count() FROM Acl").await, 2);
    assert_eq!(tdb.count("SELECT count() FROM Bugzilla").await, 3);
    assert!(d.wait_until(Duration::from_secs(10), || {
        d.metric("altrepodb_messages_acked_total{service=\"acl_loader\"}") == 3.0
            && d.metric("altrepodb_messages_acked_total{service=\"bugzilla_loader\"}") == 5.0
    }));
    assert_eq!(
        d.metric("altrepodb_rows_written_total{service=\"bugzilla_loader\",table=\"Bugzilla\"}"),
        2.0
    );
    // publish_on_done: every done ACL message, the unchanged one too (as the original, which
    // inserted every message), and not the rejected one.
    let mut republished = Vec::new();
    while let Some((rk, body)) = get_one(&conn, &done_q, Duration::from_secs(3)).await {
        assert_eq!(rk, "acl.changed");
        republished.push(serde_json::from_slice::<Value>(&body).unwrap());
    }
    assert_eq!(republished, vec![acl_msg, again, changed]);
    cleanup(
        &conn,
        &[&acl_q, &bz_q, &done_q],
        &[&girar, &bz_ex, &nex, &uploaded],
    )
    .await;
}

// ---- beehive, repocop, watch ----------------------------------------------------------------

const T1: i64 = 1_709_294_400; // 2024-03-01 12:00:00 UTC
const T2: i64 = 1_709_380_800; // 2024-03-02 12:00:00 UTC

fn bz2(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn repocop_doc(name: &str, status: &str) -> Vec<u8> {
    bz2(format!(
        r#"[{{"pkg_name": "{name}", "pkg_version": "1.0", "pkg_release": "alt1", "pkg_arch": "x86_64",
            "pkgset_name": "sisyphus", "rc_srcpkg_name": "{name}", "rc_srcpkg_version": "1.0",
            "rc_srcpkg_release": "alt1", "rc_test_name": "rpm-filesystem-conflict",
            "rc_test_status": "{status}", "rc_test_message": ""}}]"#
    )
    .as_bytes())
}

fn nginx_dir(entries: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "<html>\r\n<head><title>Index of /</title></head>\r\n<body>\r\n<h1>Index</h1><hr><pre><a href=\"../\">../</a>\r\n",
    );
    for (name, date) in entries {
        s.push_str(&format!(
            "<a href=\"{name}\">{name}</a>                 {date}       -\r\n"
        ));
    }
    s.push_str("</pre><hr></body>\r\n</html>\r\n");
    s
}

fn nvr(p: &PackageRecord) -> String {
    format!("{}-{}-{}", p.name, p.version, p.release)
}

/// Serves a Beehive tree for Sisyphus/x86_64 dated `date`: `ok` built, `bad` failed.
fn serve_beehive(srv: &FeedServer, date: &str, ok: &PackageRecord, bad: &PackageRecord) {
    let logs = "/beehive/logs/Sisyphus/x86_64";
    srv.put(&format!("{logs}/"), nginx_dir(&[("latest/", date)]), None);
    srv.put(
        &format!("{logs}/latest/time.list"),
        format!("{}.src.rpm\t12.5\n{}.src.rpm\t3\n", nvr(ok), nvr(bad)),
        None,
    );
    srv.put(
        &format!("{logs}/latest/success/"),
        nginx_dir(&[(&nvr(ok), date)]),
        None,
    );
    srv.put(
        &format!("{logs}/latest/error/"),
        nginx_dir(&[(&nvr(bad), date)]),
        None,
    );
    srv.put(
        "/beehive/stats/Sisyphus/x86_64/ftbfs-since",
        format!("{}\t1709000000\n", bad.name),
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beehive_repocop_watch_load_on_a_trigger_and_on_a_schedule() {
    if !rabbit() {
        return;
    }
    let tdb = TestDb::new().await;
    // A generated branch snapshot, loaded as sisyphus of 2024-03-01: Beehive's packages.
    let snap = tempfile::tempdir().unwrap();
    let m =
        altrepodb_testdata::generate_repo(snap.path(), &altrepodb_testdata::RepoSpec::new(4, 3))
            .unwrap();
    load_repo(
        tdb.db(),
        &RepoLoadOptions::new("sisyphus", snap.path(), "2024-03-01"),
        Arc::new(NoObserver),
    )
    .await
    .unwrap();
    let mut srcs: Vec<PackageRecord> = m
        .load_packages()
        .unwrap()
        .into_iter()
        .filter(|p| matches!(p.kind, PackageKind::Source))
        .collect();
    srcs.sort_by(|a, b| a.name.cmp(&b.name));
    let (ok, bad) = (srcs[0].clone(), srcs[1].clone());

    let srv = FeedServer::start().unwrap();
    serve_beehive(&srv, "05-Mar-2024 04:10", &ok, &bad);
    let t_bh1 = 1_709_611_800i64; // 2024-03-05 04:10 UTC
    let rc_path = "/repocop/packages.altlinux-sisyphus.json.bz2";
    srv.put(rc_path, repocop_doc("foo", "ok"), Some(T1));
    let w_path = "/watch/watch-total.txt";
    srv.put(
        w_path,
        "alice\tfoo\t1.0\t1.2\thttps://example.org/foo-1.2.tar.gz\n",
        Some(T1),
    );

    let conn = amqp().await;
    let ex = unique("repodb-ex");
    let nex = unique("notify-ex");
    let queues = [
        unique("beehive-loader-q"),
        unique("repocop-loader-q"),
        unique("watch-loader-q"),
    ];
    let services = |schedule: Option<&str>| {
        let mut s = vec![
            (
                "beehive_loader",
                json!({"database": tdb.database_json(),
                       "amqp": service_amqp(&queues[0], &ex, "beehive.#"),
                       "routing_key": "beehive.load", "base_url": srv.url("/beehive"),
                       "branches": ["Sisyphus"], "archs": ["x86_64"], "timeout": 10}),
            ),
            (
                "repocop_loader",
                json!({"database": tdb.database_json(),
                       "amqp": service_amqp(&queues[1], &ex, "repocop.#"),
                       "routing_key": "repocop.load", "url": srv.url(rc_path), "timeout": 10}),
            ),
            (
                "watch_loader",
                json!({"database": tdb.database_json(),
                       "amqp": service_amqp(&queues[2], &ex, "watch.#"),
                       "routing_key": "watch.load", "url": srv.url(w_path), "timeout": 10.5}),
            ),
        ];
        if let Some(sch) = schedule {
            for (_, v) in &mut s {
                v["schedule"] = json!(sch);
            }
        }
        s
    };
    let kinds = ["beehive_loader", "repocop_loader", "watch_loader"];
    let top =
        json!({"notifier": {"amqp": {"host": "127.0.0.1", "exchange": nex}}, "http": {"port": 0}});

    // ---- triggers (no schedule) ----------------------------------------------------------
    let setup = write_config(top.clone(), &services(None));
    let mut d = DaemonProc::start(&setup);
    wait_running(&d, &kinds);
    for (key, service) in [
        ("beehive.load", "beehive_loader"),
        ("repocop.load", "repocop_loader"),
        ("watch.load", "watch_loader"),
    ] {
        publish(&conn, &ex, key, b"{}").await;
        wait_done(&d, service, 1);
    }
    let bh_sql = "SELECT pkg_hash, pkg_name, pkgset_name, bh_arch, toString(bh_status), \
                  bh_build_time, toUnixTimestamp(bh_updated), toUnixTimestamp(bh_ftbfs_since) \
                  FROM BeehiveStatus ORDER BY bh_updated, pkg_name";
    let bh_row = |p: &PackageRecord, status: &str, time: &str, upd: i64, since: i64| {
        vec![
            p.pkg_hash.to_string(),
            p.name.clone(),
            "sisyphus".into(),
            "x86_64".into(),
            status.into(),
            time.into(),
            upd.to_string(),
            since.to_string(),
        ]
    };
    let mut want_bh = vec![
        bh_row(&ok, "success", "12.5", t_bh1, t_bh1),
        bh_row(&bad, "error", "3", t_bh1, 1_709_000_000),
    ];
    want_bh.sort_by(|a, b| a[1].cmp(&b[1]));
    assert_eq!(tsv(&tdb, bh_sql).await, want_bh);
    let rc_sql = "SELECT pkg_name, rc_test_status, toUnixTimestamp(rc_test_date) \
                  FROM PackagesRepocop ORDER BY rc_test_date";
    assert_eq!(
        tsv(&tdb, rc_sql).await,
        vec![row(&["foo", "ok", &T1.to_string()])]
    );
    let w_sql = "SELECT acl, pkg_name, new_version, toUnixTimestamp(date_update) \
                 FROM PackagesWatch ORDER BY date_update";
    assert_eq!(
        tsv(&tdb, w_sql).await,
        vec![row(&["alice", "foo", "1.2", &T1.to_string()])]
    );
    // A second trigger finds nothing new: done, nothing written.
    publish(&conn, &ex, "watch.load", b"{}").await;
    wait_done(&d, "watch_loader", 2);
    assert_eq!(tdb.count("SELECT count() FROM PackagesWatch").await, 1);
    // Poison: a trigger that is not JSON is rejected with the reason.
    publish(&conn, &ex, "repocop.load", b"load please").await;
    assert!(
        d.wait_count("message rejected", 1, Duration::from_secs(30)),
        "{}",
        d.log_text()
    );
    assert!(rejections(&d)[0].contains("body is not JSON"));
    assert_eq!(d.terminate(Duration::from_secs(60)), Some(0));

    // ---- schedule (no message) -----------------------------------------------------------
    // Newer feeds; a daemon whose services run every 2 s picks them up on its own.
    let t_bh2 = 1_709_697_600i64; // 2024-03-06 04:00 UTC
    serve_beehive(&srv, "06-Mar-2024 04:00", &ok, &bad);
    srv.put(rc_path, repocop_doc("foo", "fail"), Some(T2));
    srv.put(
        w_path,
        "alice\tfoo\t1.0\t1.3\thttps://example.org/foo-1.3.tar.gz\n",
        Some(T2),
    );
    let setup = write_config(top, &services(Some("2s")));
    let d = DaemonProc::start(&setup);
    wait_running(&d, &kinds);
    for service in kinds {
        wait_done(&d, service, 1);
    }
    assert!(d
        .with_message("scheduled run")
        .iter()
        .any(|v| v["fields"]["service"] == "beehive_loader"));
    let got = tsv(&tdb, bh_sql).await;
    assert_eq!(got.len(), 4, "{got:?}");
    let mut want_new = [
        bh_row(&ok, "success", "12.5", t_bh2, t_bh2),
        bh_row(&bad, "error", "3", t_bh2, 1_709_000_000),
    ];
    want_new.sort_by(|a, b| a[1].cmp(&b[1]));
    assert_eq!(got[2..], want_new[..]);
    assert_eq!(
        tsv(&tdb, rc_sql).await[1],
        row(&["foo", "fail", &T2.to_string()])
    );
    assert_eq!(
        tsv(&tdb, w_sql).await[1],
        row(&["alice", "foo", "1.3", &T2.to_string()])
    );
    // Later ticks find nothing new.
    for service in kinds {
        wait_done(&d, service, 2);
    }
    assert_eq!(tdb.count("SELECT count() FROM BeehiveStatus").await, 4);
    assert_eq!(tdb.count("SELECT count() FROM PackagesRepocop").await, 2);
    assert_eq!(tdb.count("SELECT count() FROM PackagesWatch").await, 2);
    assert!(
        d.metric("altrepodb_scheduled_runs_total{service=\"watch_loader\",result=\"started\"}")
            >= 2.0
    );
    let qs: Vec<&str> = queues.iter().map(String::as_str).collect();
    cleanup(&conn, &qs, &[&ex, &nex]).await;
}
