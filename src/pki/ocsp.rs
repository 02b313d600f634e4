//! OCSP (RFC 6960) over plain HTTP POST: request for one certificate, response signature and
//! responder authorisation checked by openssl, status returned with its `thisUpdate` and
//! `nextUpdate`. Freshness is judged by the caller against its own clock
//! ([`super::cache::RevocationCache::resolve`]); any failure is a [`FetchError`], which callers
//! treat as "no trust" (fail closed) unless a cached answer is still within grace.

use super::cache::{unix_of_generalized, Answer, CertStatus, FetchError};
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
/// response's signature and the responder's authority. The answer's times are not judged here.
pub fn query(
    cert: &X509,
    issuer: &X509,
    url: &str,
    anchors: &[X509],
    intermediates: &[X509],
    timeout: Duration,
) -> Result<Answer, FetchError> {
    let e = |e: openssl::error::ErrorStack| FetchError::Unavailable(e.to_string());
    let id = || OcspCertId::from_cert(MessageDigest::sha1(), cert, issuer).map_err(e);
    let mut req = OcspRequest::new().map_err(e)?;
    req.add_id(id()?).map_err(e)?;
    let der = req.to_der().map_err(e)?;
    let body = http_post(url, &der, timeout).map_err(FetchError::Unavailable)?;
    let resp = OcspResponse::from_der(&body).map_err(e)?;
    if resp.status() != OcspResponseStatus::SUCCESSFUL {
        return Err(FetchError::Unavailable(format!(
            "OCSP response status {}",
            resp.status().as_raw()
        )));
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
        .map_err(|err| FetchError::Unavailable(format!("response signature: {err}")))?;
    let id = id()?;
    let status = basic
        .find_status(&id)
        .ok_or_else(|| FetchError::Unavailable("response does not cover the certificate".into()))?;
    let status_of = match status.status {
        OcspCertStatus::GOOD => CertStatus::Good,
        OcspCertStatus::REVOKED => CertStatus::Revoked,
        _ => {
            return Err(FetchError::Unknown(
                "responder does not know the certificate".into(),
            ))
        }
    };
    Ok(Answer {
        status: status_of,
        this_update: unix_of_generalized(status.this_update).map_err(e)?,
        next_update: status
            .next_update()
            .map(unix_of_generalized)
            .transpose()
            .map_err(e)?,
    })
}

/// The cache key of `cert`'s status: its issuer's name and public key and its serial number
/// (what an OCSP CertID names), hashed.
pub fn cache_key(cert: &X509, issuer: &X509) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let mut h = openssl::sha::Sha256::new();
    for part in [
        issuer.subject_name().to_der()?,
        issuer.public_key()?.public_key_to_der()?,
        cert.serial_number().to_bn()?.to_vec(),
    ] {
        h.update(&(part.len() as u64).to_be_bytes());
        h.update(&part);
    }
    Ok(h.finish().to_vec())
}
