//! `/v1/dossiers`: one-stop-shop dossiers — file, change status, read. Bodies are canonical JSON,
//! or the member's vendor dialect (`dialect = "…"` in its configuration).

use crate::edge::body_limit::{read_body, BodyLimit};
use crate::edge::guard::PendingAllow;
use crate::edge::{AppState, Caller, Problem, RequestId};
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

type Result<T> = std::result::Result<T, Problem>;

fn location(code: &str) -> [(header::HeaderName, String); 1] {
    [(header::LOCATION, format!("/v1/dossiers/{code}"))]
}

/// The request body within the route's limit (1 MiB when the edge set none).
pub(super) async fn bytes(
    body: Body,
    limit: Option<Extension<BodyLimit>>,
    rid: &RequestId,
) -> Result<axum::body::Bytes> {
    let limit = limit.map(|l| l.0).unwrap_or(BodyLimit(1 << 20));
    read_body(body, limit, &rid.0).await
}

/// `POST /v1/dossiers`: file a dossier. 201 with the dossier as stored; the same filing again
/// answers 200.
pub async fn file(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    allow: Option<Extension<Arc<PendingAllow>>>,
    limit: Option<Extension<BodyLimit>>,
    body: Body,
) -> Result<Response> {
    let bytes = bytes(body, limit, &rid).await?;
    let filed = state
        .dossiers
        .file(caller.member.clone(), &bytes, &rid.0, allow.map(|a| a.0))
        .await
        .map_err(|p| p.with_request_id(&rid.0))?;
    let status = if filed.again {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, location(&filed.code), Json(filed.view)).into_response())
}

/// `POST /v1/dossiers/{code}/events`: a status change, refused unless the transition table
/// allows it; the same change again (status, time and details) answers `200` with the step
/// already recorded.
pub async fn change_status(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    allow: Option<Extension<Arc<PendingAllow>>>,
    limit: Option<Extension<BodyLimit>>,
    Path(code): Path<String>,
    body: Body,
) -> Result<Response> {
    let bytes = bytes(body, limit, &rid).await?;
    let change = state
        .dossiers
        .change_status(
            caller.member.clone(),
            &code,
            &bytes,
            &rid.0,
            allow.map(|a| a.0),
        )
        .await
        .map_err(|p| p.with_request_id(&rid.0))?;
    let status = if change["again"] == true {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, location(&code), Json(change)).into_response())
}

/// `GET /v1/dossiers/{code}`.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    Path(code): Path<String>,
) -> Result<Json<serde_json::Value>> {
    state
        .dossiers
        .view(&caller.member, &code)
        .await
        .map(Json)
        .map_err(|p| p.with_request_id(&rid.0))
}

/// `GET /v1/dossiers/inbox?after=CURSOR&limit=N`: online dossiers from the national portal
/// handed to the caller's installation, in its dialect.
pub async fn inbox(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Result<Json<serde_json::Value>> {
    let limit = super::edocs::query_int(&q, "limit", &rid)?
        .unwrap_or(100)
        .clamp(1, 1000);
    let after = super::edocs::query_int(&q, "after", &rid)?
        .unwrap_or(0)
        .max(0);
    state
        .dossiers
        .inbox(&caller.member, after, limit)
        .await
        .map(Json)
        .map_err(|p| p.with_request_id(&rid.0))
}

/// `GET /v1/notices?after=ID&limit=N`: news about the caller's dossiers from elsewhere (fees
/// paid through PayGov, parcels carried by VNPost, steps the gateway recorded), oldest first.
pub async fn notices(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Result<Json<serde_json::Value>> {
    let limit = super::edocs::query_int(&q, "limit", &rid)?
        .unwrap_or(100)
        .clamp(1, 1000);
    let after = super::edocs::query_int(&q, "after", &rid)?
        .unwrap_or(0)
        .max(0);
    crate::notices::list(state.store.pool(), &caller.member.id, after, limit)
        .await
        .map(Json)
        .map_err(|e| {
            tracing::error!(error = %e, "notices: store error");
            Problem::store_unavailable().with_request_id(&rid.0)
        })
}
