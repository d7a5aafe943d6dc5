//! `repodb_amqpfire` (original §1.13, §2.5, §9.7): publishes one trigger message with
//! publisher confirms.
//!
//! | service | routing key | body |
//! |---|---|---|
//! | `repo` | `repo.load` | `{"branch": B, "date": "YYYY-MM-DD"}`, B in `known_branches` |
//! | `watch`, `repocop`, `beehive` | `<service>.load` | `{}` |
//!
//! Configuration keys: `host`, `port`, `vhost`, `exchange`, `username`, `password`,
//! `cacert`, `known_branches`, and (new) `cert`/`key` for a client certificate. TLS is used
//! when `cacert` is set (the original required it). A message that no queue takes is an
//! error (the original printed `OK` regardless).

use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};
use thiserror::Error;

use crate::amqp::{self, Publisher};
use crate::config::{read_json, AmqpConfig, ConfigError, Secret};

/// Why nothing was sent.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FireError {
    /// The configuration file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Bad `-s` or `-p`.
    #[error("{0}")]
    Usage(String),
    /// The broker.
    #[error(transparent)]
    Amqp(#[from] amqp::AmqpError),
}

fn default_branches() -> Vec<String> {
    vec!["p9".into(), "p10".into(), "sisyphus".into()]
}

/// `amqpfire.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct FireConfig {
    /// Broker host.
    #[serde(default = "crate::config::default_host")]
    pub host: String,
    /// Broker port.
    #[serde(default = "crate::config::default_amqp_port")]
    pub port: u16,
    /// Virtual host.
    #[serde(default = "crate::config::default_vhost")]
    pub vhost: String,
    /// Exchange to publish to.
    #[serde(default = "crate::config::default_exchange")]
    pub exchange: String,
    /// User.
    #[serde(default = "crate::config::default_guest")]
    pub username: String,
    /// Password (never printed).
    #[serde(default = "crate::config::default_guest_secret")]
    pub password: Secret,
    /// CA file; set: TLS.
    #[serde(default)]
    pub cacert: String,
    /// Client certificate (new).
    #[serde(default)]
    pub cert: String,
    /// Client key (new).
    #[serde(default)]
    pub key: String,
    /// Branches `repo` accepts.
    #[serde(default = "default_branches")]
    pub known_branches: Vec<String>,
}

impl FireConfig {
    /// Reads the file; `cacert`, when set, must exist.
    pub fn load(path: &Path) -> Result<FireConfig, ConfigError> {
        let v = read_json(path)?;
        let c: FireConfig = serde_json::from_value(v).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if !c.cacert.is_empty() && !Path::new(&c.cacert).is_file() {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                reason: format!("cacert {} is not a file", c.cacert),
            });
        }
        Ok(c)
    }

    /// The connection settings.
    pub fn amqp(&self) -> AmqpConfig {
        AmqpConfig {
            host: self.host.clone(),
            port: self.port,
            vhost: self.vhost.clone(),
            exchange: self.exchange.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            cacert: self.cacert.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            ..AmqpConfig::default()
        }
    }
}

/// The routing key and body for `service` with `params`.
pub fn message_for(
    service: &str,
    params: &[String],
    known_branches: &[String],
) -> Result<(String, Value), FireError> {
    match service {
        "repo" => {
            let [branch, date] = params else {
                return Err(FireError::Usage(format!(
                    "service 'repo' takes exactly two parameters, branch and YYYY-MM-DD (got {})",
                    params.len()
                )));
            };
            if !known_branches.iter().any(|b| b == branch) {
                return Err(FireError::Usage(format!(
                    "unknown branch '{branch}' (known_branches: {})",
                    known_branches.join(", ")
                )));
            }
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            if date.len() != 10 || time::Date::parse(date, &fmt).is_err() {
                return Err(FireError::Usage(format!(
                    "invalid date '{date}': expected YYYY-MM-DD"
                )));
            }
            Ok(("repo.load".into(), json!({"branch": branch, "date": date})))
        }
        "watch" | "repocop" | "beehive" => Ok((format!("{service}.load"), json!({}))),
        other => Err(FireError::Usage(format!(
            "unknown service '{other}' (expected repo, watch, repocop or beehive)"
        ))),
    }
}

/// Publishes the trigger and waits for the broker's confirm.
pub async fn fire(cfg: &FireConfig, service: &str, params: &[String]) -> Result<(), FireError> {
    let (routing_key, body) = message_for(service, params, &cfg.known_branches)?;
    let acfg = cfg.amqp();
    let conn = amqp::connect(&acfg, "ALTRepoDB amqpfire").await?;
    let result = async {
        let p = Publisher::open(&conn, &acfg).await?;
        p.publish(
            &routing_key,
            body.to_string().as_bytes(),
            amqp::json_properties(),
            true,
        )
        .await
    }
    .await;
    let _ = conn.close(200, "bye".into()).await;
    result?;
    tracing::debug!(routing_key = %routing_key, body = %body, exchange = %cfg.exchange, "published");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let known = default_branches();
        let (rk, body) = message_for("repo", &["p10".into(), "2024-03-01".into()], &known).unwrap();
        assert_eq!(rk, "repo.load");
        assert_eq!(body, json!({"branch": "p10", "date": "2024-03-01"}));
        assert_eq!(
            message_for("watch", &[], &known).unwrap(),
            ("watch.load".into(), json!({}))
        );
        assert!(message_for("repo", &["p11".into(), "2024-03-01".into()], &known).is_err());
        assert!(message_for("repo", &["p10".into(), "2024-13-01".into()], &known).is_err());
        assert!(message_for("repo", &["p10".into()], &known).is_err());
        assert!(message_for("acl", &[], &known).is_err());
    }
}
