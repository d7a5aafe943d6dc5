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

    /// Publishes and waits for the broker's confirm. With `mandatory`, a message no queue
    /// takes is an error.
    pub async fn publish(
        &self,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
        mandatory: bool,
    ) -> Result<(), AmqpError> {
        let confirm = self
            .channel
            .basic_publish(
                ShortString::from(self.exchange.clone()),
                ShortString::from(routing_key.to_owned()),
                BasicPublishOptions {
                    mandatory,
                    ..BasicPublishOptions::default()
                },
                body,
                properties,
            )
            .await
            .map_err(|e| err(&self.cfg, &format!("publishing to {}", self.exchange), e))?;
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
                &format!("publishing to {}", self.exchange),
                "the broker refused the message (nack)",
            ));
        }
        if let Some(returned) = confirmation.take_message() {
            return Err(err(
                &self.cfg,
                &format!(
                    "publishing to {} with routing key {routing_key}",
                    self.exchange
                ),
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
pub fn delivery_count(props: &BasicProperties) -> Option<i64> {
    let headers = props.headers().as_ref()?;
    let v = headers
        .inner()
        .iter()
        .find(|(k, _)| k.as_str() == "x-delivery-count")?
        .1;
    match v {
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
    fn delivery_count_from_headers() {
        let mut h = FieldTable::default();
        h.insert("x-delivery-count".into(), AMQPValue::LongLongInt(3));
        let p = BasicProperties::default().with_headers(h);
        assert_eq!(delivery_count(&p), Some(3));
        assert_eq!(delivery_count(&BasicProperties::default()), None);
    }
}
