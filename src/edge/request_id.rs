//! Request ids (taken from `x-request-id` when well-formed, else generated), one log line per
//! request, and the HTTP metrics.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// The id of the request being served, in extensions, logs, problem bodies and the audit chain.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn acceptable(v: &str) -> bool {
    (8..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

pub fn generate() -> String {
    let mut b = [0u8; 16];
    if openssl::rand::rand_bytes(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        b = t.as_nanos().to_le_bytes();
    }
    hex::encode(b)
}

/// The member a request was served for, set by the guard so this layer can log it.
#[derive(Clone, Debug)]
pub struct ServedMember(pub String);

pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(generate);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let path = req.uri().path().to_owned();
    let version = req.version();
    let start = Instant::now();
    let mut resp = next.run(req).await;
    let elapsed = start.elapsed();
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let status = resp.status().as_u16();
    let member = resp
        .extensions()
        .get::<ServedMember>()
        .map(|m| m.0.clone())
        .unwrap_or_else(|| "-".into());
    metrics::counter!("lienthong_http_requests_total", "route" => route.clone(), "method" => method.to_string(), "status" => status.to_string()).increment(1);
    metrics::histogram!("lienthong_http_request_duration_seconds", "route" => route)
        .record(elapsed.as_secs_f64());
    tracing::info!(
        request_id = %id,
        method = %method,
        path = %path,
        version = ?version,
        status,
        member = %member,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_sane_ids_are_taken() {
        assert!(super::acceptable("abcdef12-3456"));
        assert!(!super::acceptable("short"));
        assert!(!super::acceptable("has space in it"));
        assert!(!super::acceptable(&"a".repeat(65)));
        assert_eq!(super::generate().len(), 32);
    }
}
