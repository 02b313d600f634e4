//! The member listener's TLS configuration: server chain and key, client verification against
//! the members' trust anchors and CRLs. Client certificates are optional at the TLS layer (so
//! that bearer-token callers can connect), but a certificate that is presented must chain to a
//! trust anchor, be within its validity period and not be revoked: otherwise the handshake fails.

use crate::config::Config;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("TLS configuration: {0}")]
    Rustls(String),
}

fn file_err(path: &Path, reason: impl ToString) -> TlsSetupError {
    TlsSetupError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

pub fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let v: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(path, e))?;
    if v.is_empty() {
        return Err(file_err(path, "no certificate in file"));
    }
    Ok(v)
}

/// `builder` trusting only the certificates (PEM) in `ca` for servers it calls (an adapter's
/// `ca_file`, or the sandbox's dev CA for a simulator calling the gateway back).
pub fn trusting(
    builder: reqwest::ClientBuilder,
    ca: &Path,
) -> Result<reqwest::ClientBuilder, String> {
    let mut roots = RootCertStore::empty();
    for c in certs(ca).map_err(|e| e.to_string())? {
        roots.add(c).map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    Ok(builder.use_preconfigured_tls(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

pub fn server_config(c: &Config) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    let chain = certs(&c.tls_cert())?;
    let key_path = c.tls_key();
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| file_err(&key_path, e))?;
    let mut roots = RootCertStore::empty();
    let ca_path = c.client_ca();
    for ca in certs(&ca_path)? {
        roots.add(ca).map_err(|e| file_err(&ca_path, e))?;
    }
    let mut crls = Vec::new();
    for p in c.crls() {
        for crl in CertificateRevocationListDer::pem_file_iter(&p).map_err(|e| file_err(&p, e))? {
            crls.push(crl.map_err(|e| file_err(&p, e))?);
        }
    }
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
        .with_crls(crls)
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    let mut cfg = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Install the process-wide crypto provider (ring). Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// TLS for the gateway's own outbound calls (pushes to members and peer gateways): server
/// certificates must chain to `edocs.push_ca`; the gateway presents `edocs.client_cert`.
pub fn push_client_config(c: &Config) -> Result<rustls::ClientConfig, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    let ca_path = c.push_ca();
    for ca in certs(&ca_path)? {
        roots.add(ca).map_err(|e| file_err(&ca_path, e))?;
    }
    let chain = certs(&c.edocs_client_cert())?;
    let key_path = c.edocs_client_key();
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| file_err(&key_path, e))?;
    let mut cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}
