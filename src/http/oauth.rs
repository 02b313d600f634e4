//! `POST /oauth2/token`: the OAuth2 client-credentials grant (RFC 6749 §4.4) for members that
//! cannot use mTLS. Client authentication by HTTP Basic or by `client_id`/`client_secret` in the
//! form. Every issue and refusal is audited. Errors are problem+json with OAuth2's `error` member.

use crate::audit::{self, Event};
use crate::edge::body_limit::{read_body, BodyLimit};
use crate::edge::{AppState, ConnInfo, Problem, RequestId};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use std::collections::HashMap;

fn oauth_error(status: StatusCode, error: &'static str, detail: &str) -> Problem {
    let mut p = Problem::new(status, error, "OAuth2 token request refused", detail)
        .with_extra("error", error);
    if status == StatusCode::UNAUTHORIZED {
        p = p.with_header(header::WWW_AUTHENTICATE, "Basic realm=\"lienthong\"");
    }
    p
}

fn basic_credentials(req: &Request) -> Option<(String, String)> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

pub async fn token(State(state): State<AppState>, req: Request) -> Response {
    let rid = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let remote = req
        .extensions()
        .get::<ConnInfo>()
        .map(|c| c.remote.ip().to_string())
        .unwrap_or_default();
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .copied()
        .unwrap_or(BodyLimit(state.config.limits.body_bytes));
    let basic = basic_credentials(&req);
    let body = match read_body(req.into_body(), limit, &rid).await {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();

    let mut ev = Event {
        kind: "access",
        actor: "-".into(),
        action: "POST /oauth2/token".into(),
        outcome: String::new(),
        request_id: rid.clone(),
        detail: serde_json::json!({ "remote": remote }),
    };
    let result = (|| {
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Chỉ hỗ trợ grant_type=client_credentials.",
            ));
        }
        let (id, secret) = basic
            .clone()
            .or_else(|| {
                Some((
                    form.get("client_id")?.clone(),
                    form.get("client_secret")?.clone(),
                ))
            })
            .ok_or_else(|| {
                oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Thiếu client_id/client_secret.",
                )
            })?;
        ev.detail["client_id"] = serde_json::json!(id);
        let bad = || {
            oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client_id hoặc client_secret không đúng. Kiểm tra thông tin xác thực được cấp cho hệ thống.",
            )
        };
        let member = state.registry.by_client_id(&id).ok_or_else(bad)?.clone();
        ev.actor = member.id.clone();
        if !member.client_secret_matches(secret.as_bytes()) {
            return Err(bad());
        }
        state
            .limits
            .check(&member.id)
            .map_err(Problem::rate_limited)?;
        Ok(member)
    })();

    match result {
        Err(p) => {
            ev.outcome = format!("deny:{}", p.code);
            if let Err(e) = audit::append(&state.store, &ev).await {
                tracing::error!(error = %e, "audit append failed");
            }
            p.with_request_id(&rid).into_response()
        }
        Ok(member) => {
            let now = chrono::Utc::now().timestamp();
            let (tok, claims) = match state.tokens.issue(&member.id, now) {
                Ok(x) => x,
                Err(e) => {
                    tracing::error!(error = %e, "token signing failed");
                    return Problem::store_unavailable()
                        .with_request_id(&rid)
                        .into_response();
                }
            };
            ev.outcome = "allow".into();
            ev.detail["jti"] = serde_json::json!(claims.jti);
            ev.detail["exp"] = serde_json::json!(claims.exp);
            if let Err(e) = audit::append(&state.store, &ev).await {
                tracing::error!(error = %e, "audit append failed");
                return Problem::store_unavailable()
                    .with_request_id(&rid)
                    .into_response();
            }
            let scope: Vec<&str> = member.services.iter().map(|s| s.as_str()).collect();
            let mut resp = axum::Json(serde_json::json!({
                "access_token": tok,
                "token_type": "Bearer",
                "expires_in": state.tokens.ttl_secs(),
                "scope": scope.join(" "),
            }))
            .into_response();
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            resp
        }
    }
}
