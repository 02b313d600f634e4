//! Body-size limit: a declared `Content-Length` over the limit is answered 413 before a byte of
//! the body is read; a streamed (chunked) body is cut off at the limit by [`read_body`].

use super::{Problem, RequestId};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The configured limit, carried in request extensions for [`read_body`].
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub u64);

fn rid(req: &Request) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// Limits by route: packages (`POST /v1/edocs`) may be far larger than API requests.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub default: u64,
    pub packages: u64,
}

pub async fn layer(State(limits): State<Limits>, mut req: Request, next: Next) -> Response {
    let limit = if req.method() == axum::http::Method::POST && req.uri().path() == "/v1/edocs" {
        limits.packages
    } else {
        limits.default
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        let mut resp = Problem::body_too_large(limit)
            .with_request_id(&rid(&req))
            .into_response();
        // The body is never read: tell HTTP/1.1 clients the connection will not be reused.
        resp.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return resp;
    }
    req.extensions_mut().insert(BodyLimit(limit));
    let (parts, body) = req.into_parts();
    let limited = Body::new(http_body_util::Limited::new(body, limit as usize));
    next.run(Request::from_parts(parts, limited)).await
}

/// Read a whole (small) body under the limit, or answer 413.
pub async fn read_body(body: Body, limit: BodyLimit, request_id: &str) -> Result<Bytes, Problem> {
    axum::body::to_bytes(body, limit.0 as usize)
        .await
        .map_err(|e| {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if s.is::<http_body_util::LengthLimitError>() {
                    return Problem::body_too_large(limit.0).with_request_id(request_id);
                }
                source = s.source();
            }
            Problem::bad_request(
                "body_unreadable",
                "Không đọc được nội dung yêu cầu (kết nối bị ngắt giữa chừng?). Hãy gửi lại.",
            )
            .with_request_id(request_id)
        })
}
