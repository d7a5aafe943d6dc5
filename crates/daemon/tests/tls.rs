//! TLS to the broker with the original's `cacert`, `cert` and `key`: a TLS terminator that
//! demands a client certificate sits in front of RabbitMQ on 127.0.0.1; amqpfire publishes
//! through it (the same connection code as the daemon's services and notifier).
//!
//! Certificates are made with the `openssl` command in a temporary directory.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use altrepodb_daemon::amqpfire::{fire, FireConfig, FireError};
use common::*;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use tokio_rustls::rustls;

fn openssl(dir: &Path, args: &[&str]) {
    let st = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(st.success(), "openssl {args:?}");
}

/// CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
fn make_certs(dir: &Path) -> bool {
    if Command::new("openssl").arg("version").output().is_err() {
        return false;
    }
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=altrepodb test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for who in ["server", "client"] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={who}"),
                "-keyout",
                &format!("{who}.key"),
                "-out",
                &format!("{who}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{who}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &format!("{who}.pem"),
                "-extfile",
                &format!("{who}.ext"),
            ],
        );
    }
    true
}

/// Accepts TLS on a free port (client certificate required) and forwards to 127.0.0.1:5672.
async fn tls_terminator(dir: &Path) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let ca: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("ca.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in ca {
        roots.add(c).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut up) = tokio::net::TcpStream::connect("127.0.0.1:5672").await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    port
}

fn config(dir: &Path, port: u16, exchange: &str, client_cert: bool) -> FireConfig {
    let d = dir.display();
    let mut v = json!({"host": "127.0.0.1", "port": port, "exchange": exchange, "username": "guest",
                       "password": "guest", "cacert": format!("{d}/ca.pem"), "known_branches": ["p10"]});
    if client_cert {
        v["cert"] = json!(format!("{d}/client.pem"));
        v["key"] = json!(format!("{d}/client.key"));
    }
    let path = dir.join(format!("amqpfire-{client_cert}.json"));
    std::fs::write(&path, v.to_string()).unwrap();
    FireConfig::load(&path).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqpfire_over_tls_with_a_client_certificate() {
    if !rabbit() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if !make_certs(dir.path()) {
        altrepodb_testdata::corpus::missing(
            "amqpfire_over_tls_with_a_client_certificate",
            "openssl is not installed",
        );
        return;
    }
    let port = tls_terminator(dir.path()).await;
    let conn = amqp().await;
    let ex = unique("tls-ex");
    let q = watch_queue(&conn, &ex, "repo.load").await;

    fire(
        &config(dir.path(), port, &ex, true),
        "repo",
        &["p10".into(), "2024-03-01".into()],
    )
    .await
    .expect("publish over TLS with a client certificate");
    let (rk, body) = get_one(&conn, &q, Duration::from_secs(10))
        .await
        .expect("message arrived");
    assert_eq!(rk, "repo.load");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"branch": "p10", "date": "2024-03-01"})
    );

    // Without the client certificate the terminator refuses the handshake.
    let err = fire(
        &config(dir.path(), port, &ex, false),
        "repo",
        &["p10".into(), "2024-03-01".into()],
    )
    .await
    .expect_err("no client certificate");
    assert!(matches!(err, FireError::Amqp(_)), "{err}");
    // A CA that did not sign the server: refused too.
    std::fs::copy(dir.path().join("client.pem"), dir.path().join("ca.pem")).unwrap();
    let err = fire(
        &config(dir.path(), port, &ex, true),
        "repo",
        &["p10".into(), "2024-03-01".into()],
    )
    .await
    .expect_err("untrusted server");
    assert!(err.to_string().contains("amqps://127.0.0.1"), "{err}");
    assert!(get_one(&conn, &q, Duration::from_millis(500))
        .await
        .is_none());
    cleanup(&conn, &[&q], &[&ex]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqpfire_refuses_unroutable_and_invalid_triggers() {
    if !rabbit() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ex = unique("fire-ex");
    let path = dir.path().join("amqpfire.json");
    std::fs::write(
        &path,
        json!({"host": "127.0.0.1", "exchange": ex}).to_string(),
    )
    .unwrap();
    let cfg = FireConfig::load(&path).unwrap();
    assert_eq!(cfg.known_branches, ["p9", "p10", "sisyphus"]);
    // No queue bound: the broker returns the message, which is an error here.
    let err = fire(&cfg, "watch", &[]).await.expect_err("unroutable");
    assert!(err.to_string().contains("no queue is bound"), "{err}");
    let err = fire(&cfg, "repo", &["p11".into(), "2024-03-01".into()])
        .await
        .expect_err("unknown branch");
    assert!(err.to_string().contains("unknown branch"), "{err}");
    // A cacert that does not exist is refused when the file is read (as the original).
    std::fs::write(&path, json!({"cacert": "/nonexistent/ca.pem"}).to_string()).unwrap();
    assert!(FireConfig::load(&path).is_err());
    let conn = amqp().await;
    cleanup(&conn, &[], &[&ex]).await;
}
