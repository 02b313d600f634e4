//! `/v1/edocs`: document exchange for members (the verbs of the national axis: send, list
//! received, get, acknowledge, sent-list).

use crate::edge::guard::PendingAllow;
use crate::edge::{AppState, Caller, Problem, RequestId};
use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

type Result<T> = std::result::Result<T, Problem>;

fn with_rid(rid: &RequestId) -> impl Fn(Problem) -> Problem + '_ {
    move |p| p.with_request_id(&rid.0)
}

/// `POST /v1/edocs`: hand over a signed package.
pub async fn submit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    allow: Option<Extension<Arc<PendingAllow>>>,
    body: Body,
) -> Result<Response> {
    let ex = &state.exchange;
    let upload = ex.receive(body).await.map_err(with_rid(&rid))?;
    let accepted = ex
        .accept(caller.member.clone(), upload, &rid.0, allow.map(|a| a.0))
        .await
        .map_err(with_rid(&rid))?;
    let status = if accepted.duplicate {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((
        status,
        [(header::LOCATION, format!("/v1/edocs/{}", accepted.id))],
        Json(accepted),
    )
        .into_response())
}

fn parse_id(s: &str, rid: &RequestId) -> Result<i64> {
    s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        Problem::bad_request(
            "invalid_edoc_id",
            format!("Số hiệu gói tin {s:?} không hợp lệ (phải là số nguyên dương)."),
        )
        .with_request_id(&rid.0)
    })
}

pub(crate) fn query_int(raw: &Option<String>, key: &str, rid: &RequestId) -> Result<Option<i64>> {
    let Some(q) = raw else { return Ok(None) };
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        if k == key {
            return v.parse::<i64>().map(Some).map_err(|_| {
                Problem::bad_request(
                    "invalid_query",
                    format!("Tham số {key}={v:?} phải là số nguyên."),
                )
                .with_request_id(&rid.0)
            });
        }
    }
    Ok(None)
}

/// `GET /v1/edocs/inbox?after=CURSOR&limit=N`.
pub async fn inbox(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    RawQuery(q): RawQuery,
) -> Result<Json<serde_json::Value>> {
    let limit = query_int(&q, "limit", &rid)?.unwrap_or(100).clamp(1, 1000);
    let after = query_int(&q, "after", &rid)?.unwrap_or(0).max(0);
    state
        .exchange
        .inbox(&caller.member, after, limit)
        .await
        .map(Json)
        .map_err(with_rid(&rid))
}

/// `GET /v1/edocs/{id}`: the package exactly as signed.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_id(&id, &rid)?;
    let body = state
        .exchange
        .package(&caller.member, id)
        .await
        .map_err(with_rid(&rid))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml".to_owned()),
            (
                header::HeaderName::from_static("x-lienthong-edoc-id"),
                id.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct Ack {
    result: String,
    reason: Option<String>,
}

/// `POST /v1/edocs/{id}/ack` with `{"result":"done"|"fail","reason":…}`.
pub async fn ack(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<serde_json::Value>> {
    let id = parse_id(&id, &rid)?;
    let limit = crate::edge::body_limit::BodyLimit(16 * 1024);
    let bytes = crate::edge::body_limit::read_body(body, limit, &rid.0).await?;
    let ack: Ack = serde_json::from_slice(&bytes).map_err(|e| {
        Problem::bad_request(
            "invalid_ack",
            format!(
                "Thân yêu cầu phải là JSON {{\"result\":\"done\"|\"fail\",\"reason\":\"…\"}}: {e}"
            ),
        )
        .with_request_id(&rid.0)
    })?;
    let done = match ack.result.as_str() {
        "done" => true,
        "fail" => false,
        other => {
            return Err(Problem::bad_request(
                "invalid_ack",
                format!("result phải là \"done\" hoặc \"fail\", không phải {other:?}."),
            )
            .with_request_id(&rid.0))
        }
    };
    let reason = ack.reason.map(|r| r.chars().take(1000).collect());
    state
        .exchange
        .ack(&caller.member, id, done, reason, &rid.0)
        .await
        .map(Json)
        .map_err(with_rid(&rid))
}

/// `GET /v1/edocs/{id}/deliveries`: for the sender, each recipient's state and last status.
pub async fn deliveries(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    let id = parse_id(&id, &rid)?;
    state
        .exchange
        .deliveries(&caller.member, id)
        .await
        .map(Json)
        .map_err(with_rid(&rid))
}

/// `GET /v1/edocs/{id}/receipt`: the gateway's signed receipt, for the sender.
pub async fn receipt(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_id(&id, &rid)?;
    let xml = state
        .exchange
        .receipt(&caller.member, id)
        .await
        .map_err(with_rid(&rid))?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml).into_response())
}
