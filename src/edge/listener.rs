//! The accept loop: TCP → TLS (rustls) → HTTP/1.1 or HTTP/2 (hyper-util auto) → axum router,
//! with the verified client certificate attached to every request as [`ConnInfo`].
//! (`axum::serve` would hide the TLS session, hence this loop.)

use super::ConnInfo;
use crate::audit::{self, Event};
use crate::members::ClientCert;
use crate::store::Store;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::Service;

pub struct MemberListener {
    pub listener: TcpListener,
    pub tls: Arc<rustls::ServerConfig>,
    pub router: Router,
    pub store: Store,
    pub handshake_timeout: Duration,
    pub max_connections: usize,
}

/// Why a handshake failed, as a stable short code for logs, metrics and the audit chain.
fn handshake_reason(e: &std::io::Error) -> (&'static str, bool) {
    use rustls::{CertificateError, Error};
    let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) else {
        return ("io", false);
    };
    match inner {
        Error::InvalidCertificate(c) => (
            match c {
                CertificateError::Revoked => "certificate_revoked",
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "certificate_expired"
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "certificate_not_yet_valid"
                }
                CertificateError::UnknownIssuer => "certificate_unknown_issuer",
                CertificateError::BadSignature => "certificate_bad_signature",
                CertificateError::UnknownRevocationStatus => "certificate_revocation_unknown",
                _ => "certificate_invalid",
            },
            true,
        ),
        Error::NoCertificatesPresented => ("no_certificate", false),
        Error::AlertReceived(_) => ("alert_received", false),
        _ => ("protocol", false),
    }
}

impl MemberListener {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let acceptor = TlsAcceptor::from(self.tls);
        let graceful = GracefulShutdown::new();
        let permits = Arc::new(Semaphore::new(self.max_connections));
        loop {
            let accepted = tokio::select! {
                a = self.listener.accept() => a,
                _ = shutdown.changed() => break,
            };
            let (tcp, remote) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                metrics::counter!("lienthong_connections_refused_total").increment(1);
                tracing::warn!(%remote, "connection limit reached; connection refused");
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let router = self.router.clone();
            let store = self.store.clone();
            let timeout = self.handshake_timeout;
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _permit = permit;
                let tls = match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        let (reason, cert_presented) = handshake_reason(&e);
                        metrics::counter!("lienthong_tls_handshake_failures_total", "reason" => reason).increment(1);
                        tracing::info!(%remote, reason, error = %e, "TLS handshake refused");
                        if cert_presented {
                            // A presented certificate was refused: an access decision, audited.
                            let ev = Event {
                                kind: "tls",
                                actor: "-".into(),
                                action: "handshake".into(),
                                outcome: format!("deny:{reason}"),
                                request_id: "-".into(),
                                detail: serde_json::json!({ "remote": remote.ip().to_string() }),
                            };
                            if let Err(e) = audit::append(&store, &ev).await {
                                tracing::error!(error = %e, "audit append failed");
                            }
                        }
                        return;
                    }
                    Err(_) => {
                        metrics::counter!("lienthong_tls_handshake_failures_total", "reason" => "timeout").increment(1);
                        return;
                    }
                };
                let client_cert = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|der| ClientCert::from_der(der).ok())
                    .map(Arc::new);
                let conn = ConnInfo {
                    remote,
                    client_cert,
                };
                let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                    req.extensions_mut().insert(conn.clone());
                    let mut router = router.clone();
                    async move { router.call(req.map(axum::body::Body::new)).await }
                });
                let mut builder = Builder::new(TokioExecutor::new());
                // Slow-header (slowloris) defence on HTTP/1.1; HTTP/2 keep-alive pings find dead peers.
                builder
                    .http1()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10));
                builder
                    .http2()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .keep_alive_interval(Duration::from_secs(30))
                    .max_concurrent_streams(256);
                let connection = builder.serve_connection(TokioIo::new(tls), svc);
                if let Err(e) = watcher.watch(connection.into_owned()).await {
                    tracing::debug!(%remote, error = %e, "connection ended with error");
                }
            });
        }
        drop(self.listener);
        if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after 10 s; closing them");
        }
    }
}

/// Plain-HTTP listener for operators (metrics, health) on loopback.
pub async fn run_plain(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let Ok((tcp, _remote)) = accepted else {
            continue;
        };
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let mut router = router.clone();
                async move { router.call(req.map(axum::body::Body::new)).await }
            });
            let builder = Builder::new(TokioExecutor::new());
            let _ = watcher
                .watch(
                    builder
                        .serve_connection(TokioIo::new(tcp), svc)
                        .into_owned(),
                )
                .await;
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}
