//! `altrepobot` against the real RabbitMQ on 127.0.0.1:5672 and a local HTTP server playing the
//! Telegram Bot API: every message is posted once, in order, through 429 and 500 answers, at
//! most one per `interval`; a message Telegram never took stays in the queue.

mod common;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use altrepodb_daemon::bot::{self, BotConfig};
use bytes::Bytes;
use common::{cleanup, publish, queue_state, rabbit, unique};
use http_body_util::{BodyExt, Full};
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use serde_json::{json, Value};

/// One request the fake Telegram received: when, path, JSON body, and the status it answered.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    path: String,
    body: Value,
    status: u16,
}

#[derive(Default)]
struct Fake {
    seen: Vec<Seen>,
    /// Answers to give first, in order; afterwards `default_status`.
    script: VecDeque<(u16, Value)>,
    default_status: u16,
}

async fn fake_telegram(state: Arc<Mutex<Fake>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let state = state.clone();
                        async move {
                            let path = req.uri().path().to_owned();
                            let bytes = req.into_body().collect().await.unwrap().to_bytes();
                            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            let mut s = state.lock().unwrap();
                            let (status, answer) = s.script.pop_front().unwrap_or_else(|| {
                            let st = s.default_status;
                            (st, if st == 200 { json!({"ok": true, "result": {}}) }
                                 else { json!({"ok": false, "error_code": st, "description": "test"}) })
                        });
                            s.seen.push(Seen {
                                at: Instant::now(),
                                path,
                                body,
                                status,
                            });
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(answer.to_string())))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    port
}

fn config(port: u16, exchange: &str, queue: &str, interval: &str) -> BotConfig {
    BotConfig::parse(&format!(
        "[TELEGRAM]\ntoken = 123:secret\nchatid = -42\napi_url = http://127.0.0.1:{port}\n\
         interval = {interval}\n[AMQP]\nhost = 127.0.0.1\nport = 5672\nqueue = {queue}\n\
         exchange = {exchange}\nusername = guest\npassword = guest\n"
    ))
    .unwrap()
}

/// The bot's queue as the bot declares it, so messages published before it starts are kept.
async fn declare(conn: &lapin::Connection, exchange: &str, queue: &str) {
    let ch = conn.create_channel().await.unwrap();
    ch.exchange_declare(
        exchange.into(),
        lapin::ExchangeKind::Topic,
        ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        queue.into(),
        exchange.into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
}

fn note(subject: &str) -> Vec<u8> {
    json!({"subject": subject, "severity": "WARNING", "type": "SERVICE_WORKER_ERROR",
           "message": format!("{subject} failed: <code> & more"), "timestamp": "2026-12-03 09:00:00",
           "payload": "b'{\"branch\": \"p10\", \"date\": \"2026-12-01\"}'"})
    .to_string()
    .into_bytes()
}

async fn wait_for(state: &Arc<Mutex<Fake>>, what: &str, cond: impl Fn(&Fake) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !cond(&state.lock().unwrap()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_posted_once_in_order_through_429_and_500() {
    if !rabbit() {
        return;
    }
    let conn = common::amqp().await;
    let (exchange, queue) = (unique("bot-ex"), unique("bot-q"));
    declare(&conn, &exchange, &queue).await;
    for i in 1..=3 {
        publish(
            &conn,
            &exchange,
            &format!("uploaderd.repo.{i}"),
            &note(&format!("job {i}")),
        )
        .await;
    }
    let state = Arc::new(Mutex::new(Fake {
        default_status: 200,
        ..Default::default()
    }));
    state.lock().unwrap().script = VecDeque::from([
        (
            429,
            json!({"ok": false, "error_code": 429, "description": "Too Many Requests",
                     "parameters": {"retry_after": 1}}),
        ),
        (
            500,
            json!({"ok": false, "error_code": 500, "description": "Internal"}),
        ),
    ]);
    let port = fake_telegram(state.clone()).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let interval = Duration::from_millis(300);
    let bot = tokio::spawn(bot::run(config(port, &exchange, &queue, "0.3"), stop_rx));

    wait_for(&state, "three posts", |f| {
        f.seen.iter().filter(|s| s.status == 200).count() >= 3
    })
    .await;
    // Acked after posting: the queue empties (the ack of the last post may trail it a moment).
    let deadline = Instant::now() + Duration::from_secs(30);
    while queue_state(&conn, &queue).await.map(|(ready, _)| ready) != Some(0)
        || state.lock().unwrap().seen.is_empty()
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    bot.await.unwrap().unwrap();

    let seen = state.lock().unwrap().seen.clone();
    assert_eq!(
        seen.iter().map(|s| s.status).collect::<Vec<_>>(),
        vec![429, 500, 200, 200, 200]
    );
    let posted: Vec<&Seen> = seen.iter().filter(|s| s.status == 200).collect();
    for (i, s) in posted.iter().enumerate() {
        assert_eq!(s.path, "/bot123:secret/sendMessage");
        assert_eq!(s.body["chat_id"], "-42");
        assert_eq!(s.body["parse_mode"], "HTML");
        let text = s.body["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("<b>Subject:</b> job {}", i + 1)),
            "{text}"
        );
        assert!(text.contains("failed: &lt;code&gt; &amp; more"), "{text}");
        assert!(
            text.contains("<pre>{\n  \"branch\": \"p10\",\n  \"date\": \"2026-12-01\"\n}</pre>"),
            "{text}"
        );
    }
    // 429 asked for one second: the retry waited at least that long.
    assert!(seen[1].at - seen[0].at >= Duration::from_secs(1));
    // The rate limit: posts at least `interval` apart.
    for w in posted.windows(2) {
        assert!(w[1].at - w[0].at >= interval, "{:?}", w[1].at - w[0].at);
    }
    assert_eq!(queue_state(&conn, &queue).await, Some((0, 0)));
    cleanup(&conn, &[&queue], &[&exchange]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_telegram_never_took_stays_queued_for_the_next_bot() {
    if !rabbit() {
        return;
    }
    let conn = common::amqp().await;
    let (exchange, queue) = (unique("bot-ex"), unique("bot-q"));
    declare(&conn, &exchange, &queue).await;
    publish(&conn, &exchange, "uploaderd.task", &note("kept")).await;
    let state = Arc::new(Mutex::new(Fake {
        default_status: 502,
        ..Default::default()
    }));
    let port = fake_telegram(state.clone()).await;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let bot1 = tokio::spawn(bot::run(config(port, &exchange, &queue, "0"), stop_rx));
    wait_for(&state, "two failed attempts", |f| f.seen.len() >= 2).await;
    stop_tx.send(true).unwrap();
    bot1.await.unwrap().unwrap();
    // Not acked: back in the queue, ready for whoever consumes next.
    assert_eq!(queue_state(&conn, &queue).await, Some((1, 0)));

    state.lock().unwrap().default_status = 200;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let bot2 = tokio::spawn(bot::run(config(port, &exchange, &queue, "0"), stop_rx));
    wait_for(&state, "the post", |f| {
        f.seen.iter().any(|s| s.status == 200)
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while queue_state(&conn, &queue).await.map(|(ready, _)| ready) != Some(0) {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    bot2.await.unwrap().unwrap();
    let seen = state.lock().unwrap().seen.clone();
    let ok: Vec<_> = seen.iter().filter(|s| s.status == 200).collect();
    assert_eq!(ok.len(), 1);
    assert!(ok[0].body["text"]
        .as_str()
        .unwrap()
        .contains("<b>Subject:</b> kept"));
    assert_eq!(queue_state(&conn, &queue).await, Some((0, 0)));
    cleanup(&conn, &[&queue], &[&exchange]).await;
}
