//! RabbitMQ restarts under a running daemon (`rabbitmqctl stop_app` / `start_app`) with
//! queued and in-flight messages: every message is processed, none twice in the database,
//! the daemon stays up and reconnects.
//!
//! Its own test binary: restarting the broker must not disturb the other daemon tests.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[test]
fn daemon_child() {
    common::child_main();
}

fn rabbitmqctl(args: &[&str]) -> bool {
    Command::new("rabbitmqctl")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Puts the broker back whatever happens in the test.
struct StartApp;

impl Drop for StartApp {
    fn drop(&mut self) {
        rabbitmqctl(&["start_app"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_with_queued_and_in_flight_messages() {
    if !rabbit() {
        return;
    }
    if !rabbitmqctl(&["status"]) {
        altrepodb_testdata::corpus::missing(
            "broker_restart_with_queued_and_in_flight_messages",
            "rabbitmqctl cannot control the broker",
        );
        return;
    }
    let Some(rpms) = corpus() else {
        return;
    };
    let t0 = Instant::now();
    let snap = tempfile::tempdir().unwrap();
    let n = snapshot_from_rpms(snap.path(), &rpms);
    let tdb = TestDb::new().await;
    let ex = unique("repodb-ex");
    let queue = unique("repo-loader-q");
    let setup = write_config(
        json!({"notifier": {"amqp": {"host": "127.0.0.1", "exchange": unique("notify-ex")}}, "http": {"port": 0}}),
        &[(
            "repo_loader",
            json!({"database": tdb.database_json(), "amqp": service_amqp(&queue, &ex, "repo.#"),
                   "workers_count": 1, "threads_count": 2, "max_redeliver_count": 10,
                   "repo_dirs": {"testbranch": snap.path()}}),
        )],
    );
    let mut d = DaemonProc::start(&setup);
    assert!(
        d.wait_log("consuming", Duration::from_secs(30)),
        "{}",
        d.log_text()
    );

    // Six snapshots queued at once; one worker takes them one by one.
    let dates: Vec<String> = (1..=6).map(|i| format!("2024-04-{i:02}")).collect();
    {
        let conn = amqp().await;
        for date in &dates {
            publish(
                &conn,
                &ex,
                "repo.load",
                json!({"branch": "testbranch", "date": date})
                    .to_string()
                    .as_bytes(),
            )
            .await;
        }
        let _ = conn.close(200, "".into()).await;
    }
    assert!(
        d.wait_log("job started", Duration::from_secs(30)),
        "{}",
        d.log_text()
    );

    // The broker goes away while a load runs and the rest wait in the queue.
    {
        let _guard = StartApp;
        assert!(rabbitmqctl(&["stop_app"]), "rabbitmqctl stop_app");
        assert!(
            d.wait_log("AMQP connection lost or refused", Duration::from_secs(60)),
            "{}",
            d.log_text()
        );
        let (code, _) = d.get("/health");
        assert_eq!(code, 503, "unhealthy while the broker is away");
        std::thread::sleep(Duration::from_secs(2));
        assert!(d.alive(), "the daemon exited when the broker went away");
    }
    // start_app ran when the guard dropped.
    assert!(
        d.wait_until(Duration::from_secs(120), || d
            .with_message("consuming")
            .len()
            >= 2),
        "{}",
        d.log_text()
    );

    // Every date loaded, each once.
    let all_done = d.wait_until(Duration::from_secs(240), || {
        let done: std::collections::BTreeSet<String> = d
            .with_message("job done")
            .iter()
            .filter_map(|v| v["fields"]["job"].as_str().map(str::to_owned))
            .collect();
        dates
            .iter()
            .all(|date| done.contains(&format!("repo testbranch {date}")))
    });
    assert!(all_done, "{}", d.log_text());
    for date in &dates {
        let roots = tdb
            .count(&format!(
                "SELECT count() FROM PackageSetName WHERE pkgset_depth = 0 AND pkgset_nodename = 'testbranch' AND pkgset_date = '{date}'"
            ))
            .await;
        assert_eq!(roots, 1, "{date}: {roots} root rows");
    }
    assert_eq!(
        tdb.count("SELECT count() FROM PackageHash_buffer").await as usize,
        n,
        "duplicate package rows"
    );
    assert_eq!(
        tdb.count("SELECT count() FROM (SELECT pkgset_uuid, pkg_hash FROM PackageSet_buffer GROUP BY pkgset_uuid, pkg_hash HAVING count() > 1)").await,
        0,
        "duplicate PackageSet rows"
    );
    assert!(d.metric("altrepodb_amqp_reconnects_total{service=\"repo_loader\"}") >= 1.0);
    assert!(d.wait_until(Duration::from_secs(30), || d.get("/health").0 == 200));
    let conn = amqp().await;
    assert!(
        d.wait_until(Duration::from_secs(20), || {
            futures_ready(&conn, &queue) == Some(0)
        }),
        "messages left in the queue"
    );
    assert!(d.alive());
    assert_eq!(
        d.terminate(Duration::from_secs(60)),
        Some(0),
        "{}",
        d.log_text()
    );
    cleanup(&conn, &[&queue], &[&ex]).await;
    eprintln!(
        "broker restart test: {:.1} s, {} deliveries for {} messages",
        t0.elapsed().as_secs_f64(),
        d.with_message("job started").len(),
        dates.len()
    );
}

/// Ready messages of a queue, from a blocking closure.
fn futures_ready(conn: &lapin::Connection, queue: &str) -> Option<u32> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| handle.block_on(queue_state(conn, queue)))
        .map(|(ready, _)| ready)
}
