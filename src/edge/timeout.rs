//! Time limit per request: a handler that has not answered in time is answered 503.

use super::{Problem, RequestId};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

pub async fn layer(State(ms): State<u64>, req: Request, next: Next) -> Response {
    let rid = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    match tokio::time::timeout(Duration::from_millis(ms), next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => Problem::timeout(ms).with_request_id(&rid).into_response(),
    }
}
