//! AMQP plumbing over lapin: connecting (plain or TLS with the original's `cacert`, `cert`,
//! `key`), declaring and binding a service queue, and publishing with publisher confirms.
//!
//! The URI is built as a struct, never as text, so the password is in no string that could
//! reach a log; every error message is passed through [`redact`] as a second guard.

use std::time::Duration;

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use thiserror::Error;

use crate::config::{AmqpConfig, QueueConfig};

/// Heartbeat asked of the broker: a dead peer is noticed within about two of these.
pub const HEARTBEAT_SECS: u16 = 20;
/// Time allowed to open a connection (TCP, TLS and AMQP handshake).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// An AMQP failure, one line, without credentials.
#[derive(Debug, Clone, Error)]
#[error("{context} ({endpoint}): {message}")]
pub struct AmqpError {
    /// What we were doing.
    pub context: String,
    /// `amqp[s]://host:port/vhost`.
    pub endpoint: String,
    /// The cause.
    pub message: String,
}

/// Replaces every occurrence of the configured secrets in `text` with `***`.
pub fn redact(text: &str, cfg: &AmqpConfig) -> String {
    let mut s = text.to_owned();
    let pw = cfg.password.expose();
    if pw.len() >= 3 {
        s = s.replace(pw, "***");
    }
    s
}

fn err(cfg: &AmqpConfig, context: &str, e: impl std::fmt::Display) -> AmqpError {
    AmqpError {
        context: context.to_owned(),
        endpoint: cfg.endpoint(),
        message: redact(&altrepodb_db::error::one_line(&e.to_string()), cfg),
    }
}

/// The TLS settings from `cacert`, `cert` and `key` (files are read now).
pub fn tls_config(cfg: &AmqpConfig) -> Result<OwnedTLSConfig, AmqpError> {
    if !cfg.tls() {
        return Ok(OwnedTLSConfig::default());
    }
    let read = |what: &str, path: &str| {
        std::fs::read(path).map_err(|e| err(cfg, &format!("reading {what} {path}"), e))
    };
    let ca = read("cacert", &cfg.cacert)?;
    let ca =
        String::from_utf8(ca).map_err(|_| err(cfg, "reading cacert", "not a PEM text file"))?;
    let identity = if !cfg.cert.is_empty() && !cfg.key.is_empty() {
        Some(OwnedIdentity::PKCS8 {
            pem: read("cert", &cfg.cert)?,
            key: read("key", &cfg.key)?,
        })
    } else {
        None
    };
    Ok(OwnedTLSConfig {
        identity,
        cert_chain: Some(ca),
    })
}

/// The connection URI as a struct (no text form is ever made).
fn uri(cfg: &AmqpConfig) -> AMQPUri {
    AMQPUri {
        scheme: if cfg.tls() {
            AMQPScheme::AMQPS
        } else {
            AMQPScheme::AMQP
        },
        authority: AMQPAuthority {
            userinfo: AMQPUserInfo {
                username: cfg.username.clone(),
                password: cfg.password.expose().to_owned(),
            },
            host: cfg.host.clone(),
            port: cfg.port,
        },
        vhost: cfg.vhost.clone(),
        query: AMQPQueryString {
            heartbeat: Some(HEARTBEAT_SECS),
            connection_timeout: Some(CONNECT_TIMEOUT.as_millis() as u64),
            ..AMQPQueryString::default()
        },
    }
}

/// Opens a connection named `information` (client properties as the original's).
pub async fn connect(cfg: &AmqpConfig, information: &str) -> Result<Connection, AmqpError> {
    let tls = tls_config(cfg)?;
    let mut props = ConnectionProperties::default()
        .with_connection_name(LongString::from(information.to_owned()))
        .with_client_property(
            "information".into(),
            LongString::from(information.to_owned()),
        );
    if let Some(p) = &cfg.product {
        props = props.with_client_property("product".into(), LongString::from(p.clone()));
    }
    if let Some(v) = &cfg.version {
        props = props.with_client_property("version".into(), LongString::from(v.clone()));
    }
    let runtime = lapin::runtime::default_runtime().map_err(|e| err(cfg, "connecting", e))?;
    let fut = Connection::connect_uri_with_config(uri(cfg), props, tls, runtime);
    match tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(5), fut).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(err(cfg, "connecting", e)),
        Err(_) => Err(err(cfg, "connecting", "timed out")),
    }
}

/// Declares `q` (with `x-queue-type` when set) and applies its unbindings and bindings; the
/// exchanges bound to are declared (durable topic) when missing.
pub async fn declare_queue(
    ch: &Channel,
    q: &QueueConfig,
    cfg: &AmqpConfig,
) -> Result<(), AmqpError> {
    let mut args = FieldTable::default();
    if let Some(kind) = q.kind.as_ref().filter(|k| !k.is_empty()) {
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString(LongString::from(kind.clone())),
        );
    }
    let opts = QueueDeclareOptions {
        durable: q.durable,
        exclusive: q.exclusive,
        auto_delete: q.auto_delete,
        ..QueueDeclareOptions::default()
    };
    ch.queue_declare(ShortString::from(q.name.clone()), opts, args)
        .await
        .map_err(|e| err(cfg, &format!("declaring queue {}", q.name), e))?;
    for b in &q.unbind_at_startup {
        ch.queue_unbind(
            ShortString::from(q.name.clone()),
            ShortString::from(b.exchange.clone()),
            ShortString::from(b.routing_key.clone()),
            FieldTable::default(),
        )
        .await
        .map_err(|e| {
            err(
                cfg,
                &format!(
                    "unbinding {} from {} ({})",
                    q.name, b.exchange, b.routing_key
                ),
                e,
            )
        })?;
    }
    for b in &q.bind_at_startup {
        // The source exchange may not exist yet when the daemon starts before the publisher.
        declare_exchange(ch, &b.exchange, cfg).await?;
        ch.queue_bind(
            ShortString::from(q.name.clone()),
            ShortString::from(b.exchange.clone()),
            ShortString::from(b.routing_key.clone()),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| {
            err(
                cfg,
                &format!("binding {} to {} ({})", q.name, b.exchange, b.routing_key),
                e,
            )
        })?;
    }
    Ok(())
}

/// Declares `exchange` as a durable topic exchange (passively for the reserved `amq.*` names).
pub async fn declare_exchange(
    ch: &Channel,
    exchange: &str,
    cfg: &AmqpConfig,
) -> Result<(), AmqpError> {
    if exchange.is_empty() {
        return Ok(());
    }
    let opts = ExchangeDeclareOptions {
        durable: true,
        passive: exchange.starts_with("amq."),
        ..ExchangeDeclareOptions::default()
    };
    ch.exchange_declare(
        ShortString::from(exchange.to_owned()),
        ExchangeKind::Topic,
        opts,
        FieldTable::default(),
    )
    .await
    .map_err(|e| err(cfg, &format!("declaring exchange {exchange}"), e))
}

/// A channel in publisher-confirm mode with its exchange declared.
pub struct Publisher {
    channel: Channel,
    exchange: String,
    cfg: AmqpConfig,
}

impl Publisher {
    /// Opens a channel on `conn`, enables confirms and declares the configured exchange.
    pub async fn open(conn: &Connection, cfg: &AmqpConfig) -> Result<Publisher, AmqpError> {
        let channel = conn
            .create_channel()
            .await
            .map_err(|e| err(cfg, "opening a channel", e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| err(cfg, "enabling publisher confirms", e))?;
        declare_exchange(&channel, &cfg.exchange, cfg).await?;
        Ok(Publisher {
            channel,
            exchange: cfg.exchange.clone(),
            cfg: cfg.clone(),
        })
    }

    /// True while the channel can be used.
    pub fn usable(&self) -> bool {
        self.channel.status().connected()
    }

    /// Publishes to the configured exchange and waits for the broker's confirm. With
    /// `mandatory`, a message no queue takes is an error.
    pub async fn publish(
        &self,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
        mandatory: bool,
    ) -> Result<(), AmqpError> {
        let exchange = self.exchange.clone();
        self.publish_to(&exchange, routing_key, body, properties, mandatory)
            .await
    }

    /// Publishes straight into `queue` (through the default exchange), waiting for the
    /// confirm; a missing queue is an error.
    pub async fn publish_to_queue(
        &self,
        queue: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), AmqpError> {
        self.publish_to("", queue, body, properties, true).await
    }

    async fn publish_to(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
        mandatory: bool,
    ) -> Result<(), AmqpError> {
        let exchange_name = if exchange.is_empty() {
            "the default exchange"
        } else {
            exchange
        };
        let confirm = self
            .channel
            .basic_publish(
                ShortString::from(exchange.to_owned()),
                ShortString::from(routing_key.to_owned()),
                BasicPublishOptions {
                    mandatory,
                    ..BasicPublishOptions::default()
                },
                body,
                properties,
            )
            .await
            .map_err(|e| err(&self.cfg, &format!("publishing to {exchange_name}"), e))?;
        let confirmation = tokio::time::timeout(Duration::from_secs(10), confirm)
            .await
            .map_err(|_| {
                err(
                    &self.cfg,
                    "waiting for the publish confirm",
                    "timed out after 10 s",
                )
            })?
            .map_err(|e| err(&self.cfg, "waiting for the publish confirm", e))?;
        if confirmation.is_nack() {
            return Err(err(
                &self.cfg,
                &format!("publishing to {exchange_name}"),
                "the broker refused the message (nack)",
            ));
        }
        if let Some(returned) = confirmation.take_message() {
            return Err(err(
                &self.cfg,
                &format!("publishing to {exchange_name} with routing key {routing_key}"),
                format!(
                    "no queue is bound for it ({} {})",
                    returned.reply_code, returned.reply_text
                ),
            ));
        }
        Ok(())
    }
}

/// Properties for a JSON message: `application/json`, persistent, with a timestamp.
pub fn json_properties() -> BasicProperties {
    BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        )
}

/// `x-delivery-count` of a delivery's headers (quorum queues set it on redelivery).
///
/// Only logged: the broker counts every return, also the one after a consumer died, so it
/// says nothing about how often the work itself failed ([`FAILURES_HEADER`] does).
pub fn delivery_count(props: &BasicProperties) -> Option<i64> {
    header_int(props, "x-delivery-count")
}

/// Header of a message the daemon re-published after a failed job: how many times its job
/// failed (a consumer that died is no failure).
pub const FAILURES_HEADER: &str = "x-altrepodb-failures";
/// Header of a re-published message: the routing key it first came with (the re-published
/// copy goes straight to the queue, so its own routing key is the queue's name).
pub const ROUTING_KEY_HEADER: &str = "x-altrepodb-routing-key";

fn header<'a>(props: &'a BasicProperties, name: &str) -> Option<&'a AMQPValue> {
    let headers = props.headers().as_ref()?;
    headers
        .inner()
        .iter()
        .find(|(k, _)| k.as_str() == name)
        .map(|(_, v)| v)
}

/// An integer header (any AMQP integer width).
pub fn header_int(props: &BasicProperties, name: &str) -> Option<i64> {
    match header(props, name)? {
        AMQPValue::ShortShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongLongInt(n) => Some(*n),
        _ => None,
    }
}

/// A string header.
pub fn header_str(props: &BasicProperties, name: &str) -> Option<String> {
    match header(props, name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// `props` without the daemon's own headers (and without the broker's `x-delivery-count`).
pub fn without_daemon_headers(props: &BasicProperties) -> BasicProperties {
    let Some(headers) = props.headers().as_ref() else {
        return props.clone();
    };
    let mut kept = FieldTable::default();
    for (k, v) in headers.inner() {
        if ![FAILURES_HEADER, ROUTING_KEY_HEADER, "x-delivery-count"].contains(&k.as_str()) {
            kept.insert(k.clone(), v.clone());
        }
    }
    props.clone().with_headers(kept)
}

/// `props` for the re-published copy of a message whose job failed `failures` times; it
/// first came with `routing_key`.
pub fn with_failures(props: &BasicProperties, routing_key: &str, failures: i64) -> BasicProperties {
    let mut headers = without_daemon_headers(props)
        .headers()
        .clone()
        .unwrap_or_default();
    headers.insert(FAILURES_HEADER.into(), AMQPValue::LongLongInt(failures));
    headers.insert(
        ROUTING_KEY_HEADER.into(),
        AMQPValue::LongString(LongString::from(routing_key.to_owned())),
    );
    props.clone().with_headers(headers)
}

/// The queue whose exclusive declaration is the broker-wide lock of a job key.
pub fn lock_queue_name(key: &str) -> String {
    const PREFIX: &str = "altrepodb.lock.";
    // Queue names are at most 255 bytes; long keys are named by a hash.
    if key.len() <= 200 {
        format!("{PREFIX}{key}")
    } else {
        let digest = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes());
        let mut cut = 100;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{PREFIX}{}.{digest}", &key[..cut])
    }
}

/// A job key locked across every daemon on the broker: an exclusive, server-named-by-key
/// queue that lives as long as the connection that declared it (the broker removes it when
/// that connection closes or dies, exactly when it requeues the connection's messages).
pub struct BrokerLock {
    channel: Channel,
    queue: String,
}

/// What an attempt to take a [`BrokerLock`] found.
pub enum LockAttempt {
    /// Taken.
    Held(BrokerLock),
    /// Another connection holds it.
    Busy,
}

impl BrokerLock {
    /// Tries once to take the lock of `key` on `conn`.
    pub async fn try_acquire(
        conn: &Connection,
        key: &str,
        cfg: &AmqpConfig,
    ) -> Result<LockAttempt, AmqpError> {
        let queue = lock_queue_name(key);
        let channel = conn
            .create_channel()
            .await
            .map_err(|e| err(cfg, "opening a lock channel", e))?;
        let mut args = FieldTable::default();
        // Exclusive queues are classic queues whatever the server's default type is.
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString(LongString::from("classic")),
        );
        let opts = QueueDeclareOptions {
            exclusive: true,
            durable: false,
            auto_delete: false,
            ..QueueDeclareOptions::default()
        };
        match channel
            .queue_declare(ShortString::from(queue.clone()), opts, args)
            .await
        {
            Ok(_) => Ok(LockAttempt::Held(BrokerLock { channel, queue })),
            Err(e) if is_resource_locked(&e) => Ok(LockAttempt::Busy),
            Err(e) => Err(err(cfg, &format!("declaring lock queue {queue}"), e)),
        }
    }

    /// The lock queue's name.
    pub fn name(&self) -> &str {
        &self.queue
    }

    /// Gives the lock up (deletes the queue); when the connection is gone it is given up
    /// already.
    pub async fn release(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            let _ = self
                .channel
                .queue_delete(
                    ShortString::from(self.queue.clone()),
                    lapin::options::QueueDeleteOptions::default(),
                )
                .await;
            let _ = self.channel.close(200, "lock released".into()).await;
        })
        .await;
    }
}

/// True for the broker's 405 RESOURCE_LOCKED (an exclusive queue of another connection).
fn is_resource_locked(e: &lapin::Error) -> bool {
    match e.kind() {
        lapin::ErrorKind::ProtocolError(p) => p.get_id() == 405,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn redacts_password() {
        let cfg = AmqpConfig {
            password: Secret::new("s3cr3t-pw"),
            ..AmqpConfig::default()
        };
        assert_eq!(
            redact("auth failed for s3cr3t-pw", &cfg),
            "auth failed for ***"
        );
        assert!(!format!("{:?}", cfg).contains("s3cr3t"));
    }

    #[test]
    fn failure_headers_round_trip() {
        let mut h = FieldTable::default();
        h.insert("x-delivery-count".into(), AMQPValue::LongLongInt(3));
        h.insert("keep".into(), AMQPValue::LongInt(7));
        let p = BasicProperties::default().with_headers(h);
        let q = with_failures(&p, "repo.load", 2);
        assert_eq!(header_int(&q, FAILURES_HEADER), Some(2));
        assert_eq!(
            header_str(&q, ROUTING_KEY_HEADER).as_deref(),
            Some("repo.load")
        );
        assert_eq!(header_int(&q, "keep"), Some(7));
        assert_eq!(delivery_count(&q), None);
        let r = without_daemon_headers(&q);
        assert_eq!(header_int(&r, FAILURES_HEADER), None);
        assert_eq!(header_str(&r, ROUTING_KEY_HEADER), None);
        assert_eq!(header_int(&r, "keep"), Some(7));
    }

    #[test]
    fn lock_names_fit_a_queue_name() {
        assert_eq!(
            lock_queue_name("repo:p10:2024-03-01"),
            "altrepodb.lock.repo:p10:2024-03-01"
        );
        let long = "é".repeat(300);
        let n = lock_queue_name(&long);
        assert!(n.len() <= 255, "{}", n.len());
        assert_ne!(n, lock_queue_name(&"é".repeat(301)));
    }

    #[test]
    fn delivery_count_from_headers() {
        let mut h = FieldTable::default();
        h.insert("x-delivery-count".into(), AMQPValue::LongLongInt(3));
        let p = BasicProperties::default().with_headers(h);
        assert_eq!(delivery_count(&p), Some(3));
        assert_eq!(delivery_count(&BasicProperties::default()), None);
    }
}
