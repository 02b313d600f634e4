//! Liveness and readiness.

use crate::edge::{AppState, Problem};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready when the store answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready", "store": "ok" })),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: store not answering");
            Problem::store_unavailable().into_response()
        }
    }
}
