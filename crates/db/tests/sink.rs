//! The shared sink against the real embedded server: checks keyed on columns with bound
//! parameters (UInt64, DateTime, UUID, FixedString and tuple keys), writes, dry runs,
//! staged rows committed and Buffers flushed by `before_root`, counts in one round trip.

mod common;

use std::collections::HashSet;

use altrepodb_db::rows::{Fixed64, PackageHashRow, PackageSetNameRow, PackageSetRow};
use altrepodb_db::rows_task::{TaskLogsRow, TaskStatesRow};
use altrepodb_db::sink::Sink;
use altrepodb_db::{schema, Db, DbSettings};
use common::TestServer;
use uuid::Uuid;

async fn connect(t: &TestServer) -> Db {
    let mut s = DbSettings::with_fallbacks();
    s.host = Some("127.0.0.1".into());
    s.port = Some(t.port());
    s.dbname = "sinktest".into();
    s.password = t.password();
    let db = Db::connect(&s, &t.opts, false).await.expect("connect");
    schema::init(&db).await.expect("db init");
    db
}

async fn scalar(db: &Db, sql: &str) -> String {
    String::from_utf8(db.fetch_text(sql, "TabSeparated").await.unwrap())
        .unwrap()
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_writes_and_counts() {
    let t = tokio::task::spawn_blocking(TestServer::start)
        .await
        .unwrap();
    let db = connect(&t).await;
    let node = Uuid::from_u128(0x1234);

    // A dry run counts and writes nothing.
    let mut dry = Sink::new(&db, "dry", true);
    dry.write(vec![PackageSetRow {
        pkgset_uuid: node,
        pkg_hash: 1,
    }])
    .await
    .unwrap();
    assert_eq!(dry.rows().get("PackageSet"), Some(&1));
    assert_eq!(
        scalar(&db, "SELECT count() FROM PackageSet_buffer").await,
        "0"
    );

    let mut sink = Sink::new(&db, "load-1", false);
    sink.write(
        (1..=3)
            .map(|h| PackageSetRow {
                pkgset_uuid: node,
                pkg_hash: h,
            })
            .collect(),
    )
    .await
    .unwrap();
    // UUID filter + UInt64 key on the sorting key (pkgset_uuid, pkg_hash).
    let have = sink
        .check::<PackageSetRow>()
        .eq_uuid("pkgset_uuid", node)
        .present("pkg_hash", &[2u64, 3, 4])
        .await
        .unwrap();
    assert_eq!(have, HashSet::from([2, 3]));
    let other = sink
        .check::<PackageSetRow>()
        .eq_uuid("pkgset_uuid", Uuid::from_u128(7))
        .present("pkg_hash", &[2u64])
        .await
        .unwrap();
    assert!(other.is_empty());

    // FixedString compared as lower-case hex, both ways.
    let md5 = [0xab; 16];
    sink.write(vec![PackageHashRow {
        pkgh_mmh: 42,
        pkgh_md5: md5,
        pkgh_sha1: [1; 20],
        pkgh_sha256: [2; 32],
        pkgh_blake2b: Fixed64([3; 64]),
    }])
    .await
    .unwrap();
    let by_md5: Vec<(String, u64)> = sink
        .check::<PackageHashRow>()
        .pairs("pkgh_md5", "pkgh_mmh", &[hex::encode(md5), "00".repeat(16)])
        .await
        .unwrap();
    assert_eq!(by_md5, [(hex::encode(md5), 42)]);
    let by_hash: Vec<(u64, String)> = sink
        .check::<PackageHashRow>()
        .pairs("pkgh_mmh", "pkgh_md5", &[42u64, 43])
        .await
        .unwrap();
    assert_eq!(by_hash, [(42, hex::encode(md5))]);
    // An MD5 whose last byte is zero is found too (an untyped IN set loses it).
    let mut md5_zero = [0xcd; 16];
    md5_zero[15] = 0;
    let mut zero = Sink::new(&db, "load-zero", false);
    zero.write(vec![PackageHashRow {
        pkgh_mmh: 44,
        pkgh_md5: md5_zero,
        pkgh_sha1: [1; 20],
        pkgh_sha256: [2; 32],
        pkgh_blake2b: Fixed64([3; 64]),
    }])
    .await
    .unwrap();
    let by_md5: Vec<(String, u64)> = sink
        .check::<PackageHashRow>()
        .pairs("pkgh_md5", "pkgh_mmh", &[hex::encode(md5_zero)])
        .await
        .unwrap();
    assert_eq!(by_md5, [(hex::encode(md5_zero), 44)]);

    // DateTime filter from seconds; rows read back whole.
    let state = TaskStatesRow {
        task_changed: 1_700_000_000,
        task_id: 5,
        task_state: "DONE".into(),
        ..TaskStatesRow::default()
    };
    // Staged rows are not visible before `before_root`.
    sink.stage(vec![state.clone()]).await.unwrap();
    assert_eq!(
        scalar(&db, "SELECT count() FROM TaskStates_buffer").await,
        "0"
    );
    // `before_root` commits what is staged and flushes the Buffers it is given: the
    // membership rows written above reach the MergeTree table itself.
    assert_eq!(scalar(&db, "SELECT count() FROM PackageSet").await, "0");
    sink.before_root(&["PackageSet_buffer"]).await.unwrap();
    assert_eq!(scalar(&db, "SELECT count() FROM PackageSet").await, "3");
    let back = sink
        .check::<TaskStatesRow>()
        .eq("task_id", 5u32)
        .eq("task_changed", 1_700_000_000u32)
        .rows()
        .await
        .unwrap();
    assert_eq!(back, [state]);
    let none = sink
        .check::<TaskStatesRow>()
        .eq("task_id", 5u32)
        .eq("task_changed", 1_700_000_001u32)
        .count()
        .await
        .unwrap();
    assert_eq!(none, 0);

    // Tuple keys on TaskLogs' sorting key.
    sink.write(vec![TaskLogsRow {
        tlog_hash: 9,
        tlog_line: 1,
        tlog_ts: 0,
        tlog_message: "hello".into(),
    }])
    .await
    .unwrap();
    let keys = vec![("hello".to_owned(), 1u32, 9u64), ("hello".to_owned(), 2, 9)];
    let have = sink
        .check::<TaskLogsRow>()
        .present(&["tlog_message", "tlog_line", "tlog_hash"], &keys)
        .await
        .unwrap();
    assert_eq!(have, HashSet::from([("hello".to_owned(), 1, 9)]));

    // Several counts in one round trip, in order.
    let counts = sink
        .count_each(
            vec![
                sink.check::<PackageSetRow>()
                    .eq_uuid("pkgset_uuid", node)
                    .counted(),
                sink.check::<TaskStatesRow>().eq("task_id", 5u32).counted(),
                sink.check::<PackageSetNameRow>().counted(),
            ],
            "counting",
        )
        .await
        .unwrap();
    assert_eq!(counts, [3, 1, 0]);

    let rows = sink.finish().await.unwrap();
    assert_eq!(rows.get("PackageSet"), Some(&3));
    assert_eq!(rows.get("PackageHash"), Some(&1));
    assert_eq!(rows.get("TaskStates"), Some(&1));
    assert_eq!(rows.get("TaskLogs"), Some(&1));
}
