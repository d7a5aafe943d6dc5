//! The daemon end to end: a child process with real RabbitMQ and the embedded ClickHouse.
//!
//! Each test uses its own exchanges and queues (unique names) on 127.0.0.1:5672 and its own
//! embedded database; every wait is bounded.

mod common;

use std::time::{Duration, Instant};

use altrepodb_daemon::amqpfire::{fire, FireConfig};
use common::*;
use serde_json::{json, Value};

#[test]
fn daemon_child() {
    common::child_main();
}

fn fire_config(dir: &std::path::Path, exchange: &str, branches: &[&str]) -> FireConfig {
    let path = dir.join("amqpfire.json");
    std::fs::write(
        &path,
        json!({"host": "127.0.0.1", "port": 5672, "vhost": "/", "exchange": exchange,
               "username": "guest", "password": "guest", "known_branches": branches})
        .to_string(),
    )
    .unwrap();
    FireConfig::load(&path).unwrap()
}

fn job_done_count(d: &DaemonProc) -> usize {
    d.with_message("job done").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqpfire_loads_a_snapshot_poison_is_rejected_health_and_metrics_follow() {
    if !rabbit() {
        return;
    }
    let Some(rpms) = corpus() else {
        return;
    };
    let t0 = Instant::now();
    let snap = tempfile::tempdir().unwrap();
    let n = snapshot_from_rpms(snap.path(), &rpms);
    let tdb = TestDb::new().await;
    let conn = amqp().await;
    let ex = unique("repodb-ex");
    let nex = unique("notify-ex");
    let queue = unique("repo-loader-q");
    let notes = watch_queue(&conn, &nex, "#").await;
    // Done messages go to their own exchange, as uploaded-ex in the original's examples.
    let uploaded = unique("uploaded-ex");
    let mut amqp_cfg = service_amqp(&queue, &ex, "repo.#");
    amqp_cfg["exchange"] = json!(uploaded);
    let done_watch = watch_queue(&conn, &uploaded, "repo.load").await;
    let setup = write_config(
        json!({"notifier": {"amqp": {"host": "127.0.0.1", "exchange": nex}}, "http": {"port": 0}}),
        &[(
            "repo_loader",
            json!({"database": tdb.database_json(), "amqp": amqp_cfg,
                   "workers_count": 1, "threads_count": 2, "publish_on_done": true,
                   "repo_dirs": {"testbranch": snap.path(), "gone": "/nonexistent/snapshot"}}),
        )],
    );
    let mut d = DaemonProc::start(&setup);
    assert!(
        d.wait_log("consuming", Duration::from_secs(30)),
        "{}",
        d.log_text()
    );
    assert!(
        d.wait_until(Duration::from_secs(30), || d.get("/health").0 == 200),
        "{}",
        d.get("/health").1
    );
    assert_eq!(
        d.metric("altrepodb_messages_received_total{service=\"repo_loader\"}"),
        0.0
    );

    // A load through amqpfire.
    let fc = fire_config(setup.dir.path(), &ex, &["testbranch", "gone"]);
    fire(&fc, "repo", &["testbranch".into(), "2024-03-01".into()])
        .await
        .unwrap();
    assert!(
        d.wait_until(Duration::from_secs(180), || job_done_count(&d) >= 1),
        "{}",
        d.log_text()
    );
    let roots = "SELECT count() FROM PackageSetName WHERE pkgset_depth = 0 AND pkgset_nodename = 'testbranch' AND pkgset_date = '2024-03-01'";
    assert_eq!(tdb.count(roots).await, 1);
    assert_eq!(
        tdb.count("SELECT count() FROM PackageHash_buffer").await as usize,
        n
    );
    assert!(
        d.wait_until(Duration::from_secs(10), || d
            .metric("altrepodb_messages_acked_total{service=\"repo_loader\"}")
            == 1.0),
        "{}\n{}",
        d.get("/metrics").1,
        d.log_text()
    );
    assert_eq!(
        d.metric("altrepodb_messages_received_total{service=\"repo_loader\"}"),
        1.0
    );
    assert!(
        d.metric("altrepodb_rows_written_total{service=\"repo_loader\",table=\"Packages\"}") > 0.0
    );
    assert_eq!(
        d.metric("altrepodb_job_duration_seconds_count{service=\"repo_loader\"}"),
        1.0
    );
    let (code, body) = d.get("/health");
    assert_eq!(code, 200);
    let h: Value = serde_json::from_str(&body).unwrap();
    assert!(h["services"]["repo_loader"]["last_success"]["message"]
        .as_str()
        .unwrap()
        .contains("testbranch"));
    // publish_on_done re-published the message to the service's exchange.
    let (rk, body) = get_one(&conn, &done_watch, Duration::from_secs(10))
        .await
        .expect("done message");
    assert_eq!(rk, "repo.load");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["branch"],
        "testbranch"
    );

    // Poison: not JSON, unknown branch, missing fields: rejected with the reason, no job.
    publish(&conn, &ex, "repo.load", b"{not json").await;
    publish(
        &conn,
        &ex,
        "repo.load",
        br#"{"branch": "p11", "date": "2024-03-01"}"#,
    )
    .await;
    publish(&conn, &ex, "repo.load", br#"{"branch": "testbranch"}"#).await;
    assert!(
        d.wait_count("message rejected", 3, Duration::from_secs(20)),
        "{}",
        d.log_text()
    );
    let reasons: Vec<String> = d
        .with_message("message rejected")
        .iter()
        .map(|v| v["fields"]["reason"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("not JSON")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("unknown branch 'p11'")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("needs both")),
        "{reasons:?}"
    );

    // A missing snapshot directory: the job fails, the message is rejected (no requeue by
    // default) and the notifier reports it.
    fire(&fc, "repo", &["gone".into(), "2024-03-01".into()])
        .await
        .unwrap();
    assert!(
        d.wait_count("job failed; message rejected", 1, Duration::from_secs(30)),
        "{}",
        d.log_text()
    );
    let (rk, body) = get_one(&conn, &notes, Duration::from_secs(15))
        .await
        .expect("notification");
    assert_eq!(rk, "service_worker_error.critical");
    let note: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(note["subject"], "repo_loader");
    assert_eq!(note["severity"], "CRITICAL");
    assert!(
        note["message"].as_str().unwrap().contains("does not exist"),
        "{note}"
    );
    assert!(
        note["payload"].as_str().unwrap().starts_with("b'{"),
        "{note}"
    );
    assert!(d.wait_until(Duration::from_secs(10), || {
        d.metric("altrepodb_messages_rejected_total{service=\"repo_loader\",requeue=\"false\"}")
            == 4.0
    }));

    // The same snapshot again (a duplicate trigger or a redelivery): acknowledged, nothing added.
    fire(&fc, "repo", &["testbranch".into(), "2024-03-01".into()])
        .await
        .unwrap();
    assert!(
        d.wait_until(Duration::from_secs(60), || job_done_count(&d) >= 2),
        "{}",
        d.log_text()
    );
    assert_eq!(tdb.count(roots).await, 1);
    assert_eq!(
        tdb.count("SELECT count() FROM PackageHash_buffer").await as usize,
        n
    );
    assert_eq!(d.get("/health").0, 200);
    let (ready, consumers) = queue_state(&conn, &queue).await.unwrap();
    assert_eq!((ready, consumers), (0, 1));

    assert_eq!(
        d.terminate(Duration::from_secs(30)),
        Some(0),
        "{}",
        d.log_text()
    );
    assert_eq!(queue_state(&conn, &queue).await.unwrap().1, 0);
    cleanup(
        &conn,
        &[&queue, &notes, &done_watch],
        &[&ex, &nex, &uploaded],
    )
    .await;
    eprintln!(
        "amqpfire/poison/health test: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_are_contained_redelivery_is_limited_and_a_database_outage_is_waited_out() {
    if !rabbit() {
        return;
    }
    let t0 = Instant::now();
    let mut tdb = TestDb::new().await;
    let conn = amqp().await;
    let ex = unique("probe-ex");
    let queue = unique("probe-q");
    let setup = write_config(
        json!({"notifier": {"amqp": {"host": "127.0.0.1", "exchange": unique("notify-ex")}}, "http": {"port": 0}}),
        &[(
            "probe_loader",
            json!({"database": tdb.database_json(), "amqp": service_amqp(&queue, &ex, "probe.#"),
                   "workers_count": 2, "requeue_on_reject": true, "max_redeliver_count": 2}),
        )],
    );
    let mut d = DaemonProc::start(&setup);
    assert!(
        d.wait_until(Duration::from_secs(30), || d.get("/health").0 == 200),
        "{}",
        d.log_text()
    );

    // A panicking job: with requeue_on_reject the daemon counts the failure itself and
    // re-publishes the message into the queue with the count (x-altrepodb-failures 1, 2); the
    // third failure exceeds max_redeliver_count and the message is rejected for good.
    publish(&conn, &ex, "probe.run", br#"{"panic": true}"#).await;
    assert!(
        d.wait_until(Duration::from_secs(30), || {
            d.metric(
                "altrepodb_messages_rejected_total{service=\"probe_loader\",requeue=\"false\"}",
            ) == 1.0
        }),
        "{}",
        d.log_text()
    );
    assert_eq!(
        d.metric("altrepodb_jobs_total{service=\"probe_loader\",result=\"panicked\"}"),
        3.0
    );
    assert_eq!(
        d.metric("altrepodb_messages_received_total{service=\"probe_loader\"}"),
        3.0
    );
    assert_eq!(
        d.metric("altrepodb_messages_republished_total{service=\"probe_loader\"}"),
        2.0
    );
    assert_eq!(
        d.metric("altrepodb_messages_rejected_total{service=\"probe_loader\",requeue=\"true\"}"),
        0.0
    );
    let limit = d.with_message("message rejected");
    assert!(
        limit[0]["fields"]["reason"]
            .as_str()
            .unwrap()
            .contains("max_redeliver_count 2"),
        "{limit:?}"
    );
    assert!(d.alive());
    assert_eq!(queue_state(&conn, &queue).await.unwrap().0, 0);

    // Still working after the panics.
    publish(&conn, &ex, "probe.run", br#"{"sleep_ms": 10}"#).await;
    assert!(
        d.wait_count("job done", 1, Duration::from_secs(20)),
        "{}",
        d.log_text()
    );

    // Database away: /health turns 503, a message waits unacknowledged, nothing is lost.
    tdb.stop();
    publish(
        &conn,
        &ex,
        "probe.run",
        br#"{"sleep_ms": 10, "key": "during-outage"}"#,
    )
    .await;
    assert!(
        d.wait_until(Duration::from_secs(40), || d.get("/health").0 == 503),
        "{}",
        d.get("/health").1
    );
    let (_, body) = d.get("/health");
    let h: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h["services"]["probe_loader"]["db_ok"], false);
    assert_eq!(d.metric("altrepodb_db_up{service=\"probe_loader\"}"), 0.0);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        d.with_message("job done").len(),
        1,
        "no job may run without the database"
    );
    // Unacknowledged on the daemon's channel: not ready in the queue.
    assert_eq!(queue_state(&conn, &queue).await.unwrap().0, 0);
    let tdb = tdb.restart().await;
    assert!(
        d.wait_count("job done", 2, Duration::from_secs(60)),
        "{}",
        d.log_text()
    );
    assert!(d.wait_until(Duration::from_secs(20), || d.get("/health").0 == 200));
    assert_eq!(
        d.metric("altrepodb_messages_acked_total{service=\"probe_loader\"}"),
        2.0
    );

    assert_eq!(
        d.terminate(Duration::from_secs(30)),
        Some(0),
        "{}",
        d.log_text()
    );
    drop(tdb);
    cleanup(&conn, &[&queue], &[&ex]).await;
    eprintln!(
        "panic/redelivery/outage test: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_never_printed() {
    if !rabbit() {
        return;
    }
    let t0 = Instant::now();
    let amqp_pw = "Amqp-S3cret-Pw-4711";
    let db_pw = "Db-S3cret-Pw-0815";
    let queue = unique("secret-q");
    let mut amqp_cfg = service_amqp(&queue, "amq.topic", "secret.#");
    amqp_cfg["password"] = json!(amqp_pw);
    let setup = write_config(
        json!({"notifier": {"amqp": {"host": "127.0.0.1", "exchange": "amq.topic", "password": amqp_pw}},
               "http": {"port": 0}}),
        &[(
            "repo_loader",
            json!({"database": {"host": "127.0.0.1", "port": 1, "user": "default", "password": db_pw, "dbname": "x"},
                   "amqp": amqp_cfg, "repo_dirs": {}}),
        )],
    );
    let mut d = DaemonProc::start(&setup);
    // Both fail: the broker refuses the password, the database is not there.
    assert!(
        d.wait_log("AMQP connection lost or refused", Duration::from_secs(30)),
        "{}",
        d.log_text()
    );
    assert!(
        d.wait_log("database unreachable", Duration::from_secs(30)),
        "{}",
        d.log_text()
    );
    assert!(
        d.wait_log("notifier cannot connect", Duration::from_secs(30)),
        "{}",
        d.log_text()
    );
    let (code, health) = d.get("/health");
    assert_eq!(code, 503);
    assert_eq!(d.terminate(Duration::from_secs(30)), Some(0));
    let log = d.log_text();
    for secret in [amqp_pw, db_pw] {
        assert!(!log.contains(secret), "secret in the log:\n{log}");
        assert!(!health.contains(secret), "secret in /health: {health}");
    }
    eprintln!("credentials test: {:.1} s", t0.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_load_requeues_or_completes_and_exits_0() {
    if !rabbit() {
        return;
    }
    let Some(rpms) = corpus() else {
        return;
    };
    let t0 = Instant::now();
    let snap = tempfile::tempdir().unwrap();
    let n = snapshot_from_rpms(snap.path(), &rpms);
    let tdb = TestDb::new().await;
    let conn = amqp().await;
    let ex = unique("repodb-ex");
    let queue = unique("repo-loader-q");
    let service = |timeout: f64| {
        write_config(
            json!({"notifier": {"amqp": {"host": "127.0.0.1", "exchange": unique("notify-ex")}},
                   "http": {"port": 0}, "shutdown_timeout": timeout}),
            &[(
                "repo_loader",
                json!({"database": tdb.database_json(), "amqp": service_amqp(&queue, &ex, "repo.#"),
                       "threads_count": 2, "max_redeliver_count": 5, "repo_dirs": {"testbranch": snap.path()}}),
            )],
        )
    };
    let roots = |date: &str| {
        format!("SELECT count() FROM PackageSetName WHERE pkgset_depth = 0 AND pkgset_nodename = 'testbranch' AND pkgset_date = '{date}'")
    };

    // 1. No time for running jobs: the load is abandoned, the message goes back to the queue,
    //    nothing of the package set is visible.
    let fast = service(0.0);
    let mut d = DaemonProc::start(&fast);
    assert!(d.wait_log("consuming", Duration::from_secs(30)));
    publish(
        &conn,
        &ex,
        "repo.load",
        br#"{"branch": "testbranch", "date": "2024-03-01"}"#,
    )
    .await;
    assert!(
        d.wait_log("job started", Duration::from_secs(30)),
        "{}",
        d.log_text()
    );
    let stopped = Instant::now();
    assert_eq!(
        d.terminate(Duration::from_secs(30)),
        Some(0),
        "{}",
        d.log_text()
    );
    eprintln!(
        "exit after SIGTERM with shutdown_timeout 0: {:.2} s",
        stopped.elapsed().as_secs_f64()
    );
    let visible = tdb.count(&roots("2024-03-01")).await;
    let ready = queue_state(&conn, &queue).await.unwrap().0;
    if d.with_message("job done").is_empty() {
        assert_eq!(visible, 0, "a half-loaded package set is visible");
        assert_eq!(ready, 1, "the interrupted message was not requeued");
    } else {
        assert_eq!(visible, 1);
    }

    // 2. Restarted: the requeued message completes the load, exactly once.
    let normal = service(60.0);
    let mut d = DaemonProc::start(&normal);
    if ready == 1 {
        assert!(
            d.wait_count("job done", 1, Duration::from_secs(180)),
            "{}",
            d.log_text()
        );
    }
    assert_eq!(tdb.count(&roots("2024-03-01")).await, 1);
    assert_eq!(
        tdb.count("SELECT count() FROM PackageHash_buffer").await as usize,
        n
    );

    // 3. Enough time: SIGTERM during a load lets it finish and acknowledges it.
    publish(
        &conn,
        &ex,
        "repo.load",
        br#"{"branch": "testbranch", "date": "2024-03-02"}"#,
    )
    .await;
    let before = d.with_message("job done").len();
    assert!(
        d.wait_until(Duration::from_secs(30), || d
            .with_message("job started")
            .len()
            > before),
        "{}",
        d.log_text()
    );
    assert_eq!(
        d.terminate(Duration::from_secs(90)),
        Some(0),
        "{}",
        d.log_text()
    );
    assert_eq!(
        d.with_message("job done").len(),
        before + 1,
        "{}",
        d.log_text()
    );
    assert_eq!(tdb.count(&roots("2024-03-02")).await, 1);
    assert_eq!(queue_state(&conn, &queue).await.unwrap().0, 0);
    assert_eq!(
        tdb.count("SELECT count() - uniqExact(pkgh_mmh, pkgh_md5) FROM PackageHash_buffer")
            .await,
        0,
        "duplicate PackageHash rows"
    );
    cleanup(&conn, &[&queue], &[&ex]).await;
    eprintln!("sigterm test: {:.1} s", t0.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_runs_jobs_without_overlap_and_systemd_is_notified() {
    if !rabbit() {
        return;
    }
    let t0 = Instant::now();
    let tdb = TestDb::new().await;
    let conn = amqp().await;
    let ex = unique("probe-ex");
    let queue = unique("probe-q");
    // The probe's scheduled job sleeps 1.5 s; ticks come every second.
    let setup = write_config(
        json!({"notifier": {"amqp": {"host": "127.0.0.1", "exchange": unique("notify-ex")}}, "http": {"port": 0}}),
        &[(
            "probe_loader",
            json!({"database": tdb.database_json(), "amqp": service_amqp(&queue, &ex, "probe.#"),
                   "workers_count": 2, "schedule": "1s"}),
        )],
    );
    let sock_dir = tempfile::tempdir().unwrap();
    let sock_path = sock_dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut d = DaemonProc::start_with(
        &setup,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "2000000"),
        ],
    );
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).expect("READY datagram");
    let ready = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(ready.starts_with("READY=1\n"), "{ready}");
    assert!(ready.contains("STATUS=running: probe_loader"), "{ready}");
    let n = sock.recv(&mut buf).expect("WATCHDOG datagram");
    assert_eq!(&buf[..n], b"WATCHDOG=1");

    assert!(
        d.wait_until(Duration::from_secs(30), || {
            d.metric("altrepodb_scheduled_runs_total{service=\"probe_loader\",result=\"started\"}")
                >= 3.0
                && d.metric(
                    "altrepodb_scheduled_runs_total{service=\"probe_loader\",result=\"skipped\"}",
                ) >= 1.0
        }),
        "{}\n{}",
        d.get("/metrics").1,
        d.log_text()
    );
    // Scheduled runs never overlap: starts and ends of the scheduled job alternate.
    let mut running = false;
    for e in d.events() {
        let m = e["fields"]["message"].as_str().unwrap_or("");
        let scheduled = e["fields"]["job"]
            .as_str()
            .is_some_and(|j| j.contains("scheduled"));
        if scheduled && m == "job started" {
            assert!(!running, "overlapping scheduled runs:\n{}", d.log_text());
            running = true;
        } else if scheduled && m == "job done" {
            running = false;
        }
    }
    assert_eq!(
        d.metric("altrepodb_messages_received_total{service=\"probe_loader\"}"),
        0.0
    );

    unsafe {
        libc::kill(d.pid(), libc::SIGTERM);
    }
    let mut stopping = false;
    while let Ok(n) = sock.recv(&mut buf) {
        if &buf[..n] == b"STOPPING=1" {
            stopping = true;
            break;
        }
    }
    assert!(stopping, "no STOPPING=1");
    assert_eq!(
        d.wait_exit(Duration::from_secs(30)),
        Some(0),
        "{}",
        d.log_text()
    );
    cleanup(&conn, &[&queue], &[&ex]).await;
    eprintln!(
        "schedule/sd_notify test: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
