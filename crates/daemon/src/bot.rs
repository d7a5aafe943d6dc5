//! `altrepobot`: posts the notifier's messages to a Telegram chat (original §2.6, §9.8).
//!
//! One message at a time (prefetch 1): format it as HTML, send it with `sendMessage`, and ack it
//! only after Telegram answered `ok`. Telegram's `429 retry_after`, server errors and network
//! errors are retried with backoff for as long as it takes; a stop while retrying leaves the
//! message unacked, so the broker delivers it again. Between two posts the bot waits
//! `interval` (the original slept 3 s per message, Telegram's per-chat limit).

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{FieldTable, ShortString};
use serde_json::{json, Value};
use thiserror::Error;
use tokio::sync::watch;

use crate::error::Failure;

use crate::amqp;
use crate::backoff::Backoff;
use crate::config::{AmqpConfig, Binding, QueueConfig, Secret};
use crate::sdnotify;

/// Telegram's limit on the text of one message, in characters.
pub const TELEGRAM_TEXT_LIMIT: usize = 4096;

/// Errors of the bot's configuration.
#[derive(Debug, Error)]
pub enum BotError {
    /// The file could not be read or parsed as INI.
    #[error("{path}: {reason}")]
    Config {
        /// Config file.
        path: String,
        /// What is wrong, one line.
        reason: String,
    },
}

/// `/etc/altrepobot.conf`.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// `[TELEGRAM] token`.
    pub token: Secret,
    /// `[TELEGRAM] chatid`.
    pub chat_id: String,
    /// `[TELEGRAM] api_url` (this version's addition; default `https://api.telegram.org`).
    pub api_url: String,
    /// `[TELEGRAM] interval`: seconds between two posts (default 3, as the original).
    pub interval: Duration,
    /// `[AMQP]`: the broker and the queue (`queue`, default `bot-q`, bound with `#` to
    /// `exchange`).
    pub amqp: AmqpConfig,
}

impl BotConfig {
    /// Reads and checks the INI file.
    pub fn load(path: &Path) -> Result<BotConfig, BotError> {
        let text = std::fs::read_to_string(path).map_err(|e| BotError::Config {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        BotConfig::parse(&text).map_err(|reason| BotError::Config {
            path: path.display().to_string(),
            reason: reason.0,
        })
    }

    /// Parses the INI text; the error names the section and key.
    pub fn parse(text: &str) -> Result<BotConfig, Failure> {
        let mut ini = configparser::ini::Ini::new_cs();
        ini.read(text.to_owned())?;
        let get = |s: &str, k: &str| ini.get(s, k).map(|v| v.trim().to_owned());
        let need = |s: &str, k: &str| {
            get(s, k)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("[{s}] {k} is missing"))
        };
        let token = need("TELEGRAM", "token")?;
        let chat_id = need("TELEGRAM", "chatid")?;
        let api_url = get("TELEGRAM", "api_url")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "https://api.telegram.org".to_owned())
            .trim_end_matches('/')
            .to_owned();
        let interval = match get("TELEGRAM", "interval").filter(|v| !v.is_empty()) {
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("[TELEGRAM] interval: '{v}' is not a number of seconds"))?,
            None => Duration::from_secs(3),
        };
        let mut amqp = AmqpConfig::default();
        if let Some(v) = get("AMQP", "host").filter(|v| !v.is_empty()) {
            amqp.host = v;
        }
        if let Some(v) = get("AMQP", "port").filter(|v| !v.is_empty()) {
            amqp.port = v
                .parse()
                .map_err(|_| format!("[AMQP] port: '{v}' is not a port number"))?;
        }
        if let Some(v) = get("AMQP", "vhost").filter(|v| !v.is_empty()) {
            amqp.vhost = v;
        }
        if let Some(v) = get("AMQP", "exchange").filter(|v| !v.is_empty()) {
            amqp.exchange = v;
        }
        if let Some(v) = get("AMQP", "username").filter(|v| !v.is_empty()) {
            amqp.username = v;
        }
        if let Some(v) = get("AMQP", "password") {
            amqp.password = Secret::new(v);
        }
        if let Some(v) = get("AMQP", "cacert") {
            amqp.cacert = v;
        }
        let queue = get("AMQP", "queue")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "bot-q".to_owned());
        amqp.queue = Some(QueueConfig {
            name: queue,
            kind: get("AMQP", "queue_type").filter(|v| !v.is_empty()),
            durable: true,
            exclusive: false,
            auto_delete: false,
            bind_at_startup: vec![Binding {
                exchange: amqp.exchange.clone(),
                routing_key: "#".to_owned(),
            }],
            unbind_at_startup: Vec::new(),
        });
        Ok(BotConfig {
            token: Secret::new(token),
            chat_id,
            api_url,
            interval,
            amqp,
        })
    }
}

fn amqp_err(cfg: &AmqpConfig, context: &str, e: impl std::fmt::Display) -> amqp::AmqpError {
    amqp::AmqpError {
        context: context.to_owned(),
        endpoint: cfg.endpoint(),
        message: amqp::redact(&e.to_string(), cfg),
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The payload as the notifier sends it (`b'…'`, Python's bytes repr) without the wrapper,
/// pretty-printed when it is JSON.
fn payload_text(payload: &Value) -> String {
    let raw = match payload {
        Value::Null => return String::new(),
        Value::String(s) => s.as_str(),
        other => return serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    let inner = raw
        .strip_prefix("b'")
        .and_then(|r| r.strip_suffix('\''))
        .or_else(|| raw.strip_prefix("b\"").and_then(|r| r.strip_suffix('"')))
        .unwrap_or(raw);
    match serde_json::from_str::<Value>(inner) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| inner.to_owned()),
        Err(_) => inner.to_owned(),
    }
}

fn cut(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The HTML text of one notifier message: date, severity, type, subject, message and the
/// pretty-printed payload; a body that is not a JSON object is posted as escaped text.
pub fn format_message(body: &[u8]) -> String {
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        return format!(
            "<pre>{}</pre>",
            escape_html(&cut(&text, TELEGRAM_TEXT_LIMIT - 100))
        );
    };
    let field = |k: &str| match m.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    };
    let mut text = format!(
        "<b>{}</b>\n<b>Severity:</b> {}\n<b>Type:</b> {}\n<b>Subject:</b> {}\n<b>Message:</b> {}",
        escape_html(&field("timestamp")),
        escape_html(&field("severity")),
        escape_html(&field("type")),
        escape_html(&field("subject")),
        escape_html(&cut(&field("message"), 1500)),
    );
    let payload = payload_text(m.get("payload").unwrap_or(&Value::Null));
    if !payload.is_empty() {
        // Room for the tags and the escaping of a few characters; cut before escaping so a
        // cut never splits an entity.
        let room = TELEGRAM_TEXT_LIMIT.saturating_sub(text.chars().count() + 200);
        text.push_str(&format!(
            "\n<b>Payload:</b>\n<pre>{}</pre>",
            escape_html(&cut(&payload, room))
        ));
    }
    text
}

/// What one `sendMessage` call came to.
#[derive(Debug, PartialEq)]
enum Outcome {
    Sent,
    /// Wait at least this long, then try again.
    RetryAfter(Option<Duration>),
    /// Telegram refused the request itself (4xx other than 429).
    Refused(String),
}

/// A Telegram Bot API client on the workspace's HTTP stack (hyper + rustls with ring).
pub struct Telegram {
    client: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Full<Bytes>,
    >,
    url: String,
    chat_id: String,
}

impl Telegram {
    /// A client for `cfg`'s API URL, token and chat.
    pub fn new(cfg: &BotConfig) -> Result<Telegram, Failure> {
        let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(Duration::from_secs(10)));
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("TLS set-up: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(Telegram {
            client,
            url: format!("{}/bot{}/sendMessage", cfg.api_url, cfg.token.expose()),
            chat_id: cfg.chat_id.clone(),
        })
    }

    async fn send(&self, text: &str, html: bool) -> Outcome {
        let mut body = json!({"chat_id": self.chat_id, "text": text,
                              "disable_web_page_preview": true});
        if html {
            body["parse_mode"] = json!("HTML");
        }
        let req = match hyper::Request::post(&self.url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
        {
            Ok(r) => r,
            Err(e) => return Outcome::Refused(format!("bad request: {e}")),
        };
        let call = async {
            let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, bytes))
        };
        let (status, bytes) = match tokio::time::timeout(Duration::from_secs(30), call).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "telegram unreachable; retrying");
                return Outcome::RetryAfter(None);
            }
            Err(_) => {
                tracing::warn!("telegram timed out; retrying");
                return Outcome::RetryAfter(None);
            }
        };
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let description = answer["description"].as_str().unwrap_or("").to_owned();
        match status {
            200..=299 if answer["ok"] != json!(false) => Outcome::Sent,
            429 => Outcome::RetryAfter(
                answer["parameters"]["retry_after"]
                    .as_f64()
                    .map(Duration::from_secs_f64),
            ),
            400..=499 => Outcome::Refused(format!("HTTP {status}: {description}")),
            _ => {
                tracing::warn!(status, %description, "telegram server error; retrying");
                Outcome::RetryAfter(None)
            }
        }
    }

    /// Posts `text` until Telegram takes it; `false` when `stop` came first.
    ///
    /// A refused HTML text is tried once as plain text (its markup may be what Telegram
    /// rejects); a refused plain text (bad token, unknown chat) is retried with backoff, since
    /// dropping the message is not an option and the operator can fix the configuration.
    pub async fn post(&self, text: &str, stop: &mut watch::Receiver<bool>) -> bool {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let mut html = true;
        loop {
            if *stop.borrow() {
                return false;
            }
            let wait = match self.send(text, html).await {
                Outcome::Sent => return true,
                Outcome::RetryAfter(Some(d)) => d,
                Outcome::RetryAfter(None) => backoff.next_delay(),
                Outcome::Refused(reason) if html => {
                    tracing::warn!(%reason, "telegram refused the HTML text; sending it as plain text");
                    html = false;
                    continue;
                }
                Outcome::Refused(reason) => {
                    tracing::error!(%reason, "telegram refused the message; retrying (check token and chatid)");
                    backoff.next_delay()
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return false,
            }
        }
    }
}

/// Consumes the bot queue and posts every message until `stop`; reconnects with backoff.
pub async fn run(cfg: BotConfig, mut stop: watch::Receiver<bool>) -> Result<(), Failure> {
    let telegram = Telegram::new(&cfg)?;
    let queue = cfg.amqp.queue.clone().ok_or("no queue configured")?;
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let mut ready_sent = false;
    let watchdog = sdnotify::watchdog_interval().map(|i| {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(i / 2);
            loop {
                tick.tick().await;
                sdnotify::watchdog();
            }
        })
    });
    let mut last_post: Option<Instant> = None;
    while !*stop.borrow() {
        let session = async {
            let conn = amqp::connect(&cfg.amqp, "ALTRepoDB altrepobot").await?;
            let ch = conn
                .create_channel()
                .await
                .map_err(|e| amqp_err(&cfg.amqp, "opening a channel", e))?;
            amqp::declare_queue(&ch, &queue, &cfg.amqp).await?;
            ch.basic_qos(1, BasicQosOptions::default())
                .await
                .map_err(|e| amqp_err(&cfg.amqp, "setting prefetch", e))?;
            let consumer = ch
                .basic_consume(
                    ShortString::from(queue.name.clone()),
                    ShortString::from("altrepobot"),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| amqp_err(&cfg.amqp, "consuming", e))?;
            Ok::<_, amqp::AmqpError>((conn, ch, consumer))
        };
        let (conn, _ch, mut consumer) = match session.await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "bot cannot reach the broker; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_delay()) => continue,
                    _ = stop.wait_for(|s| *s) => break,
                }
            }
        };
        backoff.reset();
        tracing::info!(endpoint = %cfg.amqp.endpoint(), queue = %queue.name, "bot consuming");
        if !ready_sent {
            sdnotify::ready("consuming");
            ready_sent = true;
        }
        // true: stop; false: reconnect. The connection is closed either way, so an unacked
        // message goes back to the queue at once.
        let stopping = loop {
            let delivery = tokio::select! {
                d = consumer.next() => d,
                _ = stop.wait_for(|s| *s) => break true,
            };
            let delivery = match delivery {
                Some(Ok(d)) => d,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "bot lost the broker; reconnecting");
                    break false;
                }
                None => break false,
            };
            if let Some(last) = last_post {
                let due = last + cfg.interval;
                tokio::select! {
                    _ = tokio::time::sleep_until(due.into()) => {}
                    _ = stop.wait_for(|s| *s) => break true,
                }
            }
            let text = format_message(&delivery.data);
            if !telegram.post(&text, &mut stop).await {
                break true; // unacked: the broker delivers it again
            }
            last_post = Some(Instant::now());
            if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
                // Posted but not acked: it will be posted again (at least once, never lost).
                tracing::warn!(error = %e, "ack failed after posting; reconnecting");
                break false;
            }
        };
        let _ = conn.close(200, "".into()).await;
        if stopping {
            break;
        }
    }
    sdnotify::stopping();
    if let Some(w) = watchdog {
        w.abort();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_the_original_keys() {
        let c = BotConfig::parse(
            "[TELEGRAM]\ntoken = 123:abc\nchatid = -100\n[AMQP]\nhost = mq\nport = 5671\n\
             vhost = /x\nqueue = q1\nqueue_type = quorum\nexchange = ex\nusername = u\n\
             password = p\ncacert = /ca.pem\n",
        )
        .unwrap();
        assert_eq!(c.token.expose(), "123:abc");
        assert_eq!(c.chat_id, "-100");
        assert_eq!(c.interval, Duration::from_secs(3));
        assert_eq!(c.amqp.host, "mq");
        assert_eq!(c.amqp.port, 5671);
        assert!(c.amqp.tls());
        let q = c.amqp.queue.unwrap();
        assert_eq!((q.name.as_str(), q.kind.as_deref()), ("q1", Some("quorum")));
        assert_eq!(q.bind_at_startup[0].exchange, "ex");
        assert_eq!(q.bind_at_startup[0].routing_key, "#");
        let err = BotConfig::parse("[TELEGRAM]\ntoken = x\n").unwrap_err();
        assert_eq!(err.0, "[TELEGRAM] chatid is missing");
        let err =
            BotConfig::parse("[TELEGRAM]\ntoken=x\nchatid=1\n[AMQP]\nport=http\n").unwrap_err();
        assert!(err.0.contains("[AMQP] port"), "{err}");
    }

    #[test]
    fn messages_are_escaped_and_payloads_unwrapped() {
        let body = json!({"subject": "repo <p10>", "severity": "CRITICAL",
            "type": "SERVICE_WORKER_ERROR", "message": "a & b", "timestamp": "2026-12-03 10:00:00",
            "payload": "b'{\"branch\": \"p10\"}'"});
        let text = format_message(body.to_string().as_bytes());
        assert_eq!(
            text,
            "<b>2026-12-03 10:00:00</b>\n<b>Severity:</b> CRITICAL\n<b>Type:</b> \
             SERVICE_WORKER_ERROR\n<b>Subject:</b> repo &lt;p10&gt;\n<b>Message:</b> a &amp; b\n\
             <b>Payload:</b>\n<pre>{\n  \"branch\": \"p10\"\n}</pre>"
        );
        assert_eq!(format_message(b"not <json>"), "<pre>not &lt;json&gt;</pre>");
        let long = json!({"message": "m", "payload": "x".repeat(10_000)});
        assert!(format_message(long.to_string().as_bytes()).chars().count() <= TELEGRAM_TEXT_LIMIT);
    }
}
