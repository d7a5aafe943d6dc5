//! The observability endpoint: `GET /health` (JSON, 200 or 503) and `GET /metrics`
//! (Prometheus text). HTTP/1.1 only, one small task per connection, on 127.0.0.1 by default.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::health::HealthBoard;
use crate::metrics::Metrics;

/// What the endpoint serves.
#[derive(Clone)]
pub struct Endpoint {
    /// Health of the services.
    pub health: Arc<HealthBoard>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

impl Endpoint {
    /// Answers one request.
    pub fn answer(&self, method: &Method, path: &str) -> Response<Full<Bytes>> {
        if method != Method::GET && method != Method::HEAD {
            return respond(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "only GET\n".into(),
            );
        }
        match path {
            "/health" | "/healthz" => {
                let (ok, body) = self.health.report();
                let status = if ok {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                respond(status, "application/json", format!("{body}\n"))
            }
            "/metrics" => respond(
                StatusCode::OK,
                "text/plain; version=0.0.4",
                self.metrics.render(),
            ),
            _ => respond(
                StatusCode::NOT_FOUND,
                "text/plain",
                "try /health or /metrics\n".into(),
            ),
        }
    }

    /// Binds `addr` (port 0 picks one) and returns the bound address.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        Ok((listener, local))
    }

    /// Serves until `stop` turns true.
    pub async fn serve(self, listener: TcpListener, mut stop: watch::Receiver<bool>) {
        loop {
            let accepted = tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                a = listener.accept() => a,
            };
            let (stream, _) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let ep = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let r = ep.answer(req.method(), req.uri().path());
                    async move { Ok::<_, Infallible>(r) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let _ = tokio::time::timeout(std::time::Duration::from_secs(30), conn).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::State;

    #[test]
    fn routes() {
        let ep = Endpoint {
            health: Arc::new(HealthBoard::new()),
            metrics: Arc::new(Metrics::new()),
        };
        assert_eq!(ep.answer(&Method::GET, "/health").status(), StatusCode::OK);
        ep.health.register("s", "repo_loader", State::Starting);
        assert_eq!(
            ep.answer(&Method::GET, "/health").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(ep.answer(&Method::GET, "/metrics").status(), StatusCode::OK);
        assert_eq!(
            ep.answer(&Method::GET, "/x").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ep.answer(&Method::POST, "/health").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}
