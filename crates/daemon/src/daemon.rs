//! The manager: reads the configuration, starts the notifier, one [`Service`] per configured
//! service, the HTTP endpoint and the systemd notifications, supervises the services and
//! shuts everything down in order on SIGTERM/SIGINT.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{ConfigError, DaemonConfig, ServiceConfig};
use crate::health::{HealthBoard, State};
use crate::http::Endpoint;
use crate::metrics::Metrics;
use crate::notifier::{self, Kind, Note, Notifier, Severity};
use crate::sdnotify;
use crate::service::{Handler, Service, Shared};
use crate::services::acl::AclService;
use crate::services::bugzilla::BugzillaService;
use crate::services::feeds::FeedService;
use crate::services::repo::RepoService;
use crate::services::task::{DirTaskLoader, TaskLoader, TaskService};

/// Why the daemon could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// A configuration file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP endpoint could not listen.
    #[error("cannot listen on {addr} for /health and /metrics: {reason}")]
    Http {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(String),
}

/// Makes a service's handler from its configuration.
pub type Factory =
    Box<dyn Fn(&ServiceConfig) -> Result<Arc<dyn Handler>, ConfigError> + Send + Sync>;

/// The kinds of service the daemon can run.
pub struct Registry {
    factories: BTreeMap<String, Factory>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Registry {
        Registry {
            factories: BTreeMap::new(),
        }
    }

    /// `repo_loader`, `task_loader` (with `tasks` as its task loader), `acl_loader`,
    /// `bugzilla_loader`, `beehive_loader`, `repocop_loader` and `watch_loader`.
    pub fn standard(tasks: Arc<dyn TaskLoader>) -> Registry {
        let mut r = Registry::empty();
        r.register(
            "repo_loader",
            Box::new(|c| Ok(Arc::new(RepoService::from_config(c)?))),
        );
        r.register(
            "task_loader",
            Box::new(move |c| Ok(Arc::new(TaskService::from_config(c, tasks.clone())?))),
        );
        r.register(
            "acl_loader",
            Box::new(|c| Ok(Arc::new(AclService::from_config(c)?))),
        );
        r.register(
            "bugzilla_loader",
            Box::new(|c| Ok(Arc::new(BugzillaService::from_config(c)?))),
        );
        r.register(
            "beehive_loader",
            Box::new(|c| Ok(Arc::new(FeedService::beehive(c)?))),
        );
        r.register(
            "repocop_loader",
            Box::new(|c| Ok(Arc::new(FeedService::repocop(c)?))),
        );
        r.register(
            "watch_loader",
            Box::new(|c| Ok(Arc::new(FeedService::watch(c)?))),
        );
        r
    }

    /// Adds (or replaces) a kind of service.
    pub fn register(&mut self, kind: &str, factory: Factory) {
        self.factories.insert(kind.to_owned(), factory);
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::standard(Arc::new(DirTaskLoader::default()))
    }
}

/// A started daemon.
pub struct Daemon {
    stop: watch::Sender<bool>,
    /// Health of the services.
    pub health: Arc<HealthBoard>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Where /health and /metrics answer, if configured.
    pub http_addr: Option<SocketAddr>,
    supervisor: JoinHandle<()>,
    notifier: JoinHandle<()>,
    http: Option<JoinHandle<()>>,
}

struct Slot {
    service: Arc<Service>,
    prefetch: u16,
    task: JoinHandle<()>,
}

impl Daemon {
    /// Starts everything; returns once the services are launched (they connect on their own).
    pub async fn start(cfg: DaemonConfig, registry: Registry) -> Result<Daemon, DaemonError> {
        let health = Arc::new(HealthBoard::new());
        let metrics = Arc::new(Metrics::new());
        let (stop_tx, stop_rx) = watch::channel(false);
        for k in cfg.file.unknown.keys() {
            tracing::warn!(key = %k, "config.json: unknown key ignored");
        }

        // Handlers first: a configuration error stops the start-up before anything connects.
        let mut planned = Vec::new();
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for sc in &cfg.services {
            for w in &sc.warnings {
                tracing::warn!(service = %sc.kind, file = %sc.path.display(), "{w}");
            }
            let n = names.entry(sc.kind.clone()).or_default();
            *n += 1;
            let name = if *n == 1 {
                sc.kind.clone()
            } else {
                format!("{}#{}", sc.kind, n)
            };
            match registry.factories.get(&sc.kind) {
                Some(f) => {
                    sc.queue()?;
                    let handler = f(sc)?;
                    let batch = sc.int_key("amqp_batch_size", 1, 1..=100).unwrap_or(1) as usize;
                    let prefetch = sc.workers_count.max(batch).min(u16::MAX as usize) as u16;
                    planned.push((name, sc.clone(), handler, prefetch));
                }
                None => {
                    tracing::error!(service = %name, "this version of altrepodb has no '{}' service; it is not started", sc.kind);
                    health.register(&name, &sc.kind, State::Unsupported);
                }
            }
        }

        let http = match &cfg.file.http {
            Some(h) => {
                let addr: SocketAddr = format!("{}:{}", h.host, h.port)
                    .parse()
                    .or_else(|_| format!("[{}]:{}", h.host, h.port).parse())
                    .map_err(|e: std::net::AddrParseError| DaemonError::Http {
                        addr: format!("{}:{}", h.host, h.port),
                        reason: e.to_string(),
                    })?;
                let (listener, local) =
                    Endpoint::bind(addr).await.map_err(|e| DaemonError::Http {
                        addr: addr.to_string(),
                        reason: e.to_string(),
                    })?;
                tracing::info!(addr = %local, "http endpoint listening (/health, /metrics)");
                let ep = Endpoint {
                    health: health.clone(),
                    metrics: metrics.clone(),
                };
                Some((local, tokio::spawn(ep.serve(listener, stop_rx.clone()))))
            }
            None => None,
        };

        let (notifier, rx) = Notifier::channel(metrics.clone());
        let notifier_task = tokio::spawn(notifier::run(
            cfg.file.notifier.amqp.clone(),
            rx,
            health.clone(),
            metrics.clone(),
            stop_rx.clone(),
        ));
        let shared = Shared {
            health: health.clone(),
            metrics: metrics.clone(),
            notifier: notifier.clone(),
            stop: stop_rx.clone(),
            shutdown_timeout: cfg.shutdown_timeout(),
        };
        let mut slots = Vec::new();
        for (name, sc, handler, prefetch) in planned {
            health.register(&name, &sc.kind, State::Starting);
            tracing::info!(service = %name, file = %sc.path.display(), workers = sc.workers_count, schedule = ?sc.schedule, "starting service");
            let service = Service::new(&name, sc, handler, shared.clone());
            let task = tokio::spawn(service.clone().run(prefetch));
            slots.push(Slot {
                service,
                prefetch,
                task,
            });
        }
        let services: Vec<String> = slots.iter().map(|s| s.service.name().to_owned()).collect();
        sdnotify::ready(&format!("running: {}", services.join(", ")));
        tracing::info!(services = %services.join(", "), "daemon started");
        let supervisor = tokio::spawn(supervise(slots, stop_rx.clone(), notifier));
        Ok(Daemon {
            stop: stop_tx,
            health,
            metrics,
            http_addr: http.as_ref().map(|(a, _)| *a),
            supervisor,
            notifier: notifier_task,
            http: http.map(|(_, t)| t),
        })
    }

    /// Stops taking messages, lets running jobs finish (within `shutdown_timeout`), closes
    /// the connections.
    pub async fn shutdown(self) {
        sdnotify::stopping();
        tracing::info!("stopping");
        let _ = self.stop.send(true);
        let _ = self.supervisor.await;
        let _ = self.notifier.await;
        if let Some(h) = self.http {
            let _ = h.await;
        }
        tracing::info!("stopped");
    }

    /// Runs until SIGTERM or SIGINT, then shuts down.
    pub async fn run_until_signal(self) -> Result<(), DaemonError> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| DaemonError::Signals(e.to_string()))?;
        let mut int =
            signal(SignalKind::interrupt()).map_err(|e| DaemonError::Signals(e.to_string()))?;
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
        self.shutdown().await;
        Ok(())
    }
}

/// Restarts a service whose task ended without a stop (it cannot, short of a bug), sends the
/// systemd watchdog, and on stop waits for every service.
async fn supervise(mut slots: Vec<Slot>, mut stop: watch::Receiver<bool>, notifier: Notifier) {
    let watchdog = sdnotify::watchdog_interval();
    let tick = watchdog
        .unwrap_or(Duration::from_secs(5))
        .min(Duration::from_secs(5));
    let mut interval = tokio::time::interval(tick);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        if watchdog.is_some() {
            sdnotify::watchdog();
        }
        for slot in &mut slots {
            if slot.task.is_finished() && !*stop.borrow() {
                let name = slot.service.name().to_owned();
                tracing::error!(service = %name, "service stopped unexpectedly; restarting it");
                notifier.send(Note::new(
                    &name,
                    Severity::Warning,
                    Kind::ServiceError,
                    "service stopped unexpectedly; restarted",
                    serde_json::Value::Null,
                ));
                slot.task = tokio::spawn(slot.service.clone().run(slot.prefetch));
            }
        }
    }
    for slot in slots {
        let _ = slot.task.await;
    }
}
