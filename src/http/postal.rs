//! `/v1/postal/orders` (one-stop-shop installations): result delivery and dossier pickup
//! through VNPost.

use super::dossiers::bytes;
use crate::edge::body_limit::BodyLimit;
use crate::edge::{AppState, Caller, Problem, RequestId};
use crate::postal::Postal;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

type Result<T> = std::result::Result<T, Problem>;

fn service(state: &AppState, rid: &RequestId) -> Result<Arc<Postal>> {
    state.postal.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "postal_disabled",
            "Postal delivery is not enabled",
            "Cổng chưa bật bưu chính công ích (adapters.vnpost.enabled = false).",
        )
        .with_request_id(&rid.0)
    })
}

/// `POST /v1/postal/orders`: `202` with the order (queued for VNPost), `200` when the same order
/// was made before.
pub async fn order(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    limit: Option<Extension<BodyLimit>>,
    body: Body,
) -> Result<Response> {
    let p = service(&state, &rid)?;
    let bytes = bytes(body, limit, &rid).await?;
    let (status, v) = p
        .order(&caller.member, &bytes, &rid.0)
        .await
        .map_err(|e| e.with_request_id(&rid.0))?;
    let loc = format!(
        "/v1/postal/orders/{}",
        v["order_number"].as_str().unwrap_or_default()
    );
    Ok((status, [(header::LOCATION, loc)], Json(v)).into_response())
}

/// `GET /v1/postal/orders/{number}`.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    Path(number): Path<String>,
) -> Result<Json<serde_json::Value>> {
    service(&state, &rid)?
        .view(&caller.member, &number)
        .await
        .map(Json)
        .map_err(|e| e.with_request_id(&rid.0))
}

/// `POST /v1/postal/orders/{number}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    Path(number): Path<String>,
) -> Result<Response> {
    let (status, v) = service(&state, &rid)?
        .cancel(&caller.member, &number, &rid.0)
        .await
        .map_err(|e| e.with_request_id(&rid.0))?;
    Ok((status, Json(v)).into_response())
}
