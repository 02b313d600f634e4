//! `/v1/payments` (one-stop-shop installations) and `/callbacks/paygov` (the platform).

use super::dossiers::bytes;
use crate::edge::body_limit::BodyLimit;
use crate::edge::{AppState, Caller, ConnInfo, Problem, RequestId};
use crate::payments::Payments;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

type Result<T> = std::result::Result<T, Problem>;

fn service(state: &AppState, rid: &RequestId) -> Result<Arc<Payments>> {
    state.payments.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "payments_disabled",
            "Payments are not enabled",
            "Cổng chưa bật thanh toán trực tuyến (adapters.paygov.enabled = false).",
        )
        .with_request_id(&rid.0)
    })
}

/// `POST /v1/payments`: start a payment for a dossier; `201` with the reference and the URL the
/// citizen pays at.
pub async fn initiate(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    limit: Option<Extension<BodyLimit>>,
    body: Body,
) -> Result<Response> {
    let p = service(&state, &rid)?;
    let bytes = bytes(body, limit, &rid).await?;
    let v = p
        .initiate(&caller.member, &bytes, &rid.0)
        .await
        .map_err(|e| e.with_request_id(&rid.0))?;
    let loc = format!(
        "/v1/payments/{}",
        v["reference"].as_str().unwrap_or_default()
    );
    Ok((StatusCode::CREATED, [(header::LOCATION, loc)], Json(v)).into_response())
}

/// `GET /v1/payments/{reference}`.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    Path(reference): Path<String>,
) -> Result<Json<serde_json::Value>> {
    service(&state, &rid)?
        .view(&caller.member, &reference)
        .await
        .map(Json)
        .map_err(|e| e.with_request_id(&rid.0))
}

/// `GET /v1/payments/{reference}/receipt`: the electronic receipt (PDF).
pub async fn receipt(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    Path(reference): Path<String>,
) -> Result<Response> {
    let pdf = service(&state, &rid)?
        .receipt(&caller.member, &reference)
        .await
        .map_err(|e| e.with_request_id(&rid.0))?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

/// `POST /callbacks/paygov`: answered in the platform's format (`MaLoi` 00 / 99); a refusal's
/// machine code is in `X-Lienthong-Reason`.
pub async fn paygov(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    conn: Option<Extension<ConnInfo>>,
    body: Body,
) -> Result<Response> {
    let p = service(&state, &rid)?;
    let bytes = bytes(body, Some(Extension(BodyLimit(64 << 10))), &rid).await?;
    let remote = conn
        .map(|c| c.0.remote.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let (answer, refused) = p.callback(remote, &bytes, &rid.0).await;
    let mut r = Json(answer).into_response();
    if let Some(code) = refused {
        r.headers_mut()
            .insert("x-lienthong-reason", HeaderValue::from_static(code));
    }
    Ok(r)
}
