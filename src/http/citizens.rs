//! `/v1/citizens/lookup`: a verified-match lookup in the national population database.

use crate::edge::body_limit::BodyLimit;
use crate::edge::guard::PendingAllow;
use crate::edge::{AppState, Caller, Problem, RequestId};
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// `POST /v1/citizens/lookup`: `200 {"match": true, "citizen": {…}}` or `{"match": false}`;
/// never cached by anyone on the way (`Cache-Control: no-store`).
pub async fn lookup(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    allow: Option<Extension<Arc<PendingAllow>>>,
    limit: Option<Extension<BodyLimit>>,
    body: Body,
) -> Result<Response, Problem> {
    let bytes = super::dossiers::bytes(body, limit, &rid).await?;
    let answer = state
        .citizens
        .lookup(&caller.member, &bytes, &rid.0, allow.map(|a| a.0))
        .await
        .map_err(|p| p.with_request_id(&rid.0))?;
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(answer),
    )
        .into_response())
}
