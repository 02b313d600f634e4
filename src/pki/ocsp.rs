//! OCSP (RFC 6960) over plain HTTP POST: request for one certificate, response signature and
//! responder authorisation checked by openssl, freshness checked, status returned. Any failure
//! is `Unknown`, which callers treat as "no trust" (fail closed).

use openssl::hash::MessageDigest;
use openssl::ocsp::{
    OcspCertId, OcspCertStatus, OcspFlag, OcspRequest, OcspResponse, OcspResponseStatus,
};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcspOutcome {
    Good,
    Revoked,
    /// No usable answer (responder down, error status, bad signature, stale, unknown cert).
    Unknown(String),
}

const MAX_RESPONSE: u64 = 1 << 20;

/// POST `body` to an `http://host:port/path` URL; returns the response body.
fn http_post(url: &str, body: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// OCSP URLs are supported")?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:80")
    };
    let addrs: Vec<_> = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .map_err(|e| format!("{addr}: {e}"))?
        .collect();
    let sock = addrs.first().ok_or_else(|| format!("{addr}: no address"))?;
    let mut s = TcpStream::connect_timeout(sock, timeout).map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let head = format!(
        "POST {path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Type: application/ocsp-request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|_| s.write_all(body))
        .map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.take(MAX_RESPONSE)
        .read_to_end(&mut resp)
        .map_err(|e| e.to_string())?;
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let status_line = String::from_utf8_lossy(
        &resp[..resp[..split]
            .iter()
            .position(|b| *b == b'\r')
            .unwrap_or(split)],
    )
    .into_owned();
    if !status_line
        .split_whitespace()
        .nth(1)
        .is_some_and(|c| c == "200")
    {
        return Err(format!("responder answered {status_line}"));
    }
    Ok(resp[split + 4..].to_vec())
}

/// Ask `url` about `cert` (issued by `issuer`). `anchors` and `intermediates` verify the
/// response's signature and the responder's authority.
pub fn check(
    cert: &X509,
    issuer: &X509,
    url: &str,
    anchors: &[X509],
    intermediates: &[X509],
    timeout: Duration,
) -> OcspOutcome {
    match check_inner(cert, issuer, url, anchors, intermediates, timeout) {
        Ok(o) => o,
        Err(e) => OcspOutcome::Unknown(e),
    }
}

fn check_inner(
    cert: &X509,
    issuer: &X509,
    url: &str,
    anchors: &[X509],
    intermediates: &[X509],
    timeout: Duration,
) -> Result<OcspOutcome, String> {
    let e = |e: openssl::error::ErrorStack| e.to_string();
    let id = || OcspCertId::from_cert(MessageDigest::sha1(), cert, issuer).map_err(e);
    let mut req = OcspRequest::new().map_err(e)?;
    req.add_id(id()?).map_err(e)?;
    let der = req.to_der().map_err(e)?;
    let body = http_post(url, &der, timeout)?;
    let resp = OcspResponse::from_der(&body).map_err(e)?;
    if resp.status() != OcspResponseStatus::SUCCESSFUL {
        return Err(format!("OCSP response status {}", resp.status().as_raw()));
    }
    let basic = resp.basic().map_err(e)?;
    let mut sb = X509StoreBuilder::new().map_err(e)?;
    for a in anchors {
        sb.add_cert(a.clone()).map_err(e)?;
    }
    let store = sb.build();
    let mut certs = Stack::new().map_err(e)?;
    for c in intermediates.iter().chain(std::iter::once(issuer)) {
        certs.push(c.clone()).map_err(e)?;
    }
    basic
        .verify(&certs, &store, OcspFlag::empty())
        .map_err(|err| format!("response signature: {err}"))?;
    let id = id()?;
    let status = basic
        .find_status(&id)
        .ok_or("response does not cover the certificate")?;
    status
        .check_validity(300, None)
        .map_err(|err| format!("stale response: {err}"))?;
    Ok(match status.status {
        OcspCertStatus::GOOD => OcspOutcome::Good,
        OcspCertStatus::REVOKED => OcspOutcome::Revoked,
        _ => OcspOutcome::Unknown("responder does not know the certificate".into()),
    })
}
