//! The task_loader service end to end: girar's messages on a real queue, tasks made by the
//! task generator (`altrepodb_testdata::task`), rows in the embedded ClickHouse.

mod common;

use std::time::{Duration, Instant};

use altrepodb_testdata::task::{generate_task, TaskSpec};
use base64::Engine as _;
use common::*;
use serde_json::json;

#[test]
fn daemon_child() {
    common::child_main();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_messages_fill_the_task_tables_once() {
    if !rabbit() {
        return;
    }
    let t0 = Instant::now();
    let tasks = tempfile::tempdir().unwrap();
    let archive = tempfile::tempdir().unwrap();
    let live = generate_task(
        tasks.path(),
        &TaskSpec {
            id: 4242,
            state: "DONE".into(),
            subtasks: 2,
            seed: 7,
            ..TaskSpec::default()
        },
    )
    .unwrap();
    let archived = generate_task(
        archive.path(),
        &TaskSpec {
            id: 5000,
            state: "DONE".into(),
            subtasks: 1,
            seed: 8,
            archived: true,
            ..TaskSpec::default()
        },
    )
    .unwrap();
    let tdb = TestDb::new().await;
    let conn = amqp().await;
    let ex = unique("girar-ex");
    let queue = unique("task-loader-q");
    let mut amqp_cfg = service_amqp(&queue, &ex, "task.#");
    amqp_cfg["queue"]["bind_at_startup"] = json!([
        {"exchange": ex, "routing_key": "task.state"}, {"exchange": ex, "routing_key": "task.progress"},
        {"exchange": ex, "routing_key": "task.subtask.approve"}, {"exchange": ex, "routing_key": "task.subtask.disapprove"}
    ]);
    let setup = write_config(
        json!({"notifier": {"amqp": {"host": "127.0.0.1", "exchange": unique("notify-ex")}}, "http": {"port": 0}}),
        &[(
            "task_loader",
            json!({"database": tdb.database_json(), "amqp": amqp_cfg, "workers_count": 2,
                   "tasks_dir": tasks.path(), "tasks_archive_dir": archive.path(),
                   "routing_keys_dict": {"TASK_STATE": "task.state", "TASK_PROGRESS": "task.progress",
                                         "TASK_APPROVE": "task.subtask.approve", "TASK_DISAPPROVE": "task.subtask.disapprove"}}),
        )],
    );
    let mut d = DaemonProc::start(&setup);
    assert!(
        d.wait_log("consuming", Duration::from_secs(30)),
        "{}",
        d.log_text()
    );

    let ts = 1_709_296_200.25;
    let msg = |v: serde_json::Value| v.to_string().into_bytes();
    // A state girar is still working on: a progress row, no load.
    publish(&conn, &ex, "task.state", &msg(json!({"taskid": 4242, "state": "BUILDING", "repo": "sisyphus", "owner": "bob", "try": 1, "iter": 1, "_timestamp": ts}))).await;
    // Progress of a subtask.
    publish(&conn, &ex, "task.progress", &msg(json!({"taskid": 4242, "subtaskid": 100, "state": "building", "arch": "x86_64", "status": "built", "stage": "build", "stage_status": "processed", "_timestamp": ts + 1.0}))).await;
    // DONE: the whole task from tasks_dir; the archived one from tasks_archive_dir.
    publish(
        &conn,
        &ex,
        "task.state",
        &msg(json!({"taskid": 4242, "state": "DONE", "_timestamp": ts + 2.0})),
    )
    .await;
    publish(
        &conn,
        &ex,
        "task.state",
        &msg(json!({"taskid": 5000, "state": "DONE", "_timestamp": ts + 3.0})),
    )
    .await;
    // An approval, twice (a redelivery): one row.
    let text = base64::engine::general_purpose::STANDARD
        .encode("2024-Mar-01 12:30:00 :: approved by alice\nok\n");
    let approval = msg(
        json!({"taskid": 4242, "subtaskid": 100, "state": "TESTED", "base64_message": text, "_routing_key": "task.subtask.approve"}),
    );
    publish(&conn, &ex, "task.subtask.approve", &approval).await;
    publish(&conn, &ex, "task.subtask.approve", &approval).await;
    // Deleted.
    publish(
        &conn,
        &ex,
        "task.state",
        &msg(json!({"taskid": 7777, "state": "DELETED", "_timestamp": ts + 4.0})),
    )
    .await;
    // Poison: no task id.
    publish(&conn, &ex, "task.state", &msg(json!({"state": "DONE"}))).await;

    assert!(
        d.wait_count("job done", 7, Duration::from_secs(180)),
        "{}",
        d.log_text()
    );
    assert!(
        d.wait_count("message rejected", 1, Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
    assert!(d.with_message("message rejected")[0]["fields"]["reason"]
        .as_str()
        .unwrap()
        .contains("taskid"));
    assert_eq!(
        d.with_message("job failed; message rejected").len(),
        0,
        "{}",
        d.log_text()
    );

    let c = |sql: String| {
        let tdb = &tdb;
        async move { tdb.count(&sql).await }
    };
    assert_eq!(c("SELECT count() FROM TaskProgress WHERE task_id = 4242 AND type = 'state' AND task_state = 'BUILDING' AND task_owner = 'bob'".into()).await, 1);
    assert_eq!(c("SELECT count() FROM TaskSubtaskProgress WHERE task_id = 4242 AND subtask_id = 100 AND arch = 'x86_64' AND status = 'built' AND stage = 'build' AND stage_status = 'processed'".into()).await, 1);
    assert_eq!(c(format!("SELECT count() FROM TaskStates_buffer WHERE task_id = 4242 AND task_state = 'DONE' AND task_changed = {}", live.changed)).await, 1);
    assert_eq!(c(format!("SELECT count() FROM TaskStates_buffer WHERE task_id = 5000 AND task_state = 'DONE' AND task_changed = {}", archived.changed)).await, 1);
    // One Tasks row per subtask the generator wrote (its manifest), once.
    assert_eq!(
        c("SELECT count() FROM Tasks_buffer WHERE task_id = 4242".into()).await,
        live.subtasks.len() as u64
    );
    assert_eq!(c("SELECT count() FROM TaskApprovals WHERE task_id = 4242 AND subtask_id = 100 AND tapp_name = 'alice' AND tapp_message = 'ok'".into()).await, 1);
    assert_eq!(c("SELECT count() FROM TaskStates_buffer WHERE task_id = 7777 AND task_state = 'DELETED' AND task_message = 'task deleted'".into()).await, 1);

    // The DONE message again: nothing new.
    let before = c("SELECT count() FROM TaskStates_buffer".into()).await;
    let packages = c("SELECT count() FROM PackageHash_buffer".into()).await;
    publish(
        &conn,
        &ex,
        "task.state",
        &msg(json!({"taskid": 4242, "state": "DONE", "_timestamp": ts + 2.0})),
    )
    .await;
    assert!(
        d.wait_count("job done", 8, Duration::from_secs(60)),
        "{}",
        d.log_text()
    );
    assert_eq!(
        c("SELECT count() FROM TaskStates_buffer".into()).await,
        before
    );
    assert_eq!(
        c("SELECT count() FROM PackageHash_buffer".into()).await,
        packages
    );
    assert_eq!(queue_state(&conn, &queue).await.unwrap().0, 0);
    assert_eq!(
        d.terminate(Duration::from_secs(30)),
        Some(0),
        "{}",
        d.log_text()
    );
    cleanup(&conn, &[&queue], &[&ex]).await;
    eprintln!("task service test: {:.1} s", t0.elapsed().as_secs_f64());
}

/// Approvals and progress whose texts hold what once broke the SQL built from them (`?` taken
/// for a bind, `??` collapsing, quotes, backslashes, newlines, non-ASCII): each message, sent
/// twice, gives exactly one row with exactly its text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_texts_give_exactly_one_row_each() {
    if !rabbit() {
        return;
    }
    let tasks = tempfile::tempdir().unwrap();
    let tdb = TestDb::new().await;
    let conn = amqp().await;
    let ex = unique("girar-ex");
    let queue = unique("task-loader-q");
    let mut amqp_cfg = service_amqp(&queue, &ex, "task.#");
    amqp_cfg["queue"]["bind_at_startup"] = json!([
        {"exchange": ex, "routing_key": "task.state"}, {"exchange": ex, "routing_key": "task.progress"},
        {"exchange": ex, "routing_key": "task.subtask.approve"}, {"exchange": ex, "routing_key": "task.subtask.disapprove"}
    ]);
    let setup = write_config(
        json!({"notifier": {"amqp": {"host": "127.0.0.1", "exchange": unique("notify-ex")}}, "http": {"port": 0}}),
        &[(
            "task_loader",
            json!({"database": tdb.database_json(), "amqp": amqp_cfg, "workers_count": 2,
                   "tasks_dir": tasks.path(), "tasks_archive_dir": tasks.path(),
                   "routing_keys_dict": {"TASK_STATE": "task.state", "TASK_PROGRESS": "task.progress",
                                         "TASK_APPROVE": "task.subtask.approve", "TASK_DISAPPROVE": "task.subtask.disapprove"}}),
        )],
    );
    let mut d = DaemonProc::start(&setup);
    assert!(
        d.wait_log("consuming", Duration::from_secs(30)),
        "{}",
        d.log_text()
    );

    let hostile = [
        "why? because?? it's \\ fine",
        "line one\nline two: 'quoted' \"double\" `back`",
        "ünïcødé — 日本語 ?? \\' \\n (literal backslash-n)",
        "{x:String} ?fields ? ; DROP TABLE TaskApprovals; --",
    ];
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let msg = |v: serde_json::Value| v.to_string().into_bytes();
    let ts = 1_709_296_200.5;
    let mut sent = 0;
    for (i, text) in hostile.iter().enumerate() {
        let sub = 100 + i as u64;
        // The approver's name is the last word of the first line: make it hostile too.
        let name = format!("o'br?en{i}\\");
        let approval = msg(json!({
            "taskid": 4343, "subtaskid": sub, "state": "TESTED",
            "base64_message": b64(&format!("2024-Mar-01 12:30:0{i} :: approved by {name}\n{text}\n")),
            "_routing_key": if i % 2 == 0 { "task.subtask.approve" } else { "task.subtask.disapprove" },
        }));
        let key = if i % 2 == 0 {
            "task.subtask.approve"
        } else {
            "task.subtask.disapprove"
        };
        let progress = msg(json!({
            "taskid": 4343, "subtaskid": sub, "state": "building", "arch": format!("x86_64?{i}"),
            "status": text, "stage": "build", "stage_status": format!("{text}'"), "_timestamp": ts + i as f64,
        }));
        let state = msg(json!({
            "taskid": 4343, "state": "BUILDING", "repo": "sisyphus", "owner": "bob",
            "message": text, "stage": text, "stage_status": "??", "_timestamp": ts + 10.0 + i as f64,
        }));
        // Each message twice, as a redelivery would bring it.
        for _ in 0..2 {
            publish(&conn, &ex, key, &approval).await;
            publish(&conn, &ex, "task.progress", &progress).await;
            publish(&conn, &ex, "task.state", &state).await;
            sent += 3;
        }
    }
    assert!(
        d.wait_count("job done", sent, Duration::from_secs(180)),
        "{}",
        d.log_text()
    );
    assert_eq!(
        d.with_message("message rejected").len(),
        0,
        "{}",
        d.log_text()
    );
    assert_eq!(
        d.with_message("job failed; message rejected").len(),
        0,
        "{}",
        d.log_text()
    );

    let client = tdb.db().client();
    let approvals: Vec<(u32, String, String, i8)> = client
        .query_raw(
            "SELECT subtask_id, tapp_name, tapp_message, toInt8(tapp_type) FROM TaskApprovals \
             WHERE task_id = 4343 ORDER BY subtask_id",
        )
        .fetch_all()
        .await
        .expect("approvals");
    let progress: Vec<(u32, String, String, String)> = client
        .query_raw(
            "SELECT subtask_id, arch, status, stage_status FROM TaskSubtaskProgress \
             WHERE task_id = 4343 ORDER BY subtask_id",
        )
        .fetch_all()
        .await
        .expect("subtask progress");
    let states: Vec<(String, String, String)> = client
        .query_raw(
            "SELECT task_message, stage, stage_status FROM TaskProgress \
             WHERE task_id = 4343 AND type = 'state' ORDER BY ts",
        )
        .fetch_all()
        .await
        .expect("task progress");
    let want_approvals: Vec<_> = hostile
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                100 + i as u32,
                format!("o'br?en{i}\\"),
                (*t).to_owned(),
                if i % 2 == 0 { 0 } else { 1 },
            )
        })
        .collect();
    let want_progress: Vec<_> = hostile
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                100 + i as u32,
                format!("x86_64?{i}"),
                (*t).to_owned(),
                format!("{t}'"),
            )
        })
        .collect();
    let want_states: Vec<_> = hostile
        .iter()
        .map(|t| ((*t).to_owned(), (*t).to_owned(), "??".to_owned()))
        .collect();
    assert_eq!(approvals, want_approvals);
    assert_eq!(progress, want_progress);
    assert_eq!(states, want_states);
    assert_eq!(queue_state(&conn, &queue).await.unwrap().0, 0);
    assert_eq!(
        d.terminate(Duration::from_secs(30)),
        Some(0),
        "{}",
        d.log_text()
    );
    cleanup(&conn, &[&queue], &[&ex]).await;
}
