//! ALTRepo DB upload daemon (`altrepod`, the original `uploaderd`) and `amqpfire`.
//!
//! # Brief overview
//! * [`config`]: `config.json` and `services.d/*.json` with the original's keys;
//! * [`daemon::Daemon`]: starts the [`notifier`], one [`service::Service`] per configured
//!   service, the [`http`] endpoint (`/health`, `/metrics`) and the systemd notifications
//!   ([`sdnotify`]), and stops them in order;
//! * [`service`]: the framework every service shares: consuming, acknowledgement rules,
//!   reconnects, the database gate, schedules ([`schedule`]), panics contained;
//! * [`services`]: what each kind of service does with a message (`repo_loader`,
//!   `task_loader`);
//! * [`amqpfire`]: publish one trigger message;
//! * [`bot`]: `altrepobot`, the notifier's messages posted to Telegram.
//!
//! Data flow: queue → [`service::Handler::check`] → [`service::Job`] → database commit →
//! ack (or reject and notify).
#![deny(missing_docs)]

pub mod amqp;
pub mod amqpfire;
pub mod backoff;
pub mod bot;
pub mod config;
pub mod daemon;
pub mod error;
pub mod health;
pub mod http;
pub mod metrics;
pub mod notifier;
pub mod schedule;
pub mod sdnotify;
pub mod service;
pub mod services;

pub use daemon::{Daemon, DaemonError, Registry};
