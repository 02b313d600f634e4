//! The guard on every member route: identity → rate limit → access rule → audit, in that
//! order. Access is denied by default: a route states what it needs with [`Access`], and every
//! decision, allow or deny, is appended to the audit chain before the handler runs, so a 2xx
//! implies its audit record is committed. A route whose handler writes in one transaction
//! anyway ([`Access::ServiceInTx`]) has the handler commit the allow record with its own state
//! (one commit per request instead of two); if the handler does not, the guard appends it
//! before answering. Either way no answer leaves without its audit record.

use super::request_id::ServedMember;
use super::token::TokenError;
use super::{AppState, ConnInfo, Problem, RequestId};
use crate::audit::{self, Event};
use crate::members::Member;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lienthong_contract::Service;
use std::sync::Arc;

/// What a route requires.
#[derive(Clone, Copy, Debug)]
pub enum Access {
    /// Any authenticated member.
    Member,
    /// A member granted this service.
    Service(Service),
    /// A member granted this service; the handler commits the allow record in its own
    /// transaction (see [`PendingAllow`]).
    ServiceInTx(Service),
}

/// The allow record of a request on an [`Access::ServiceInTx`] route, as a request extension.
/// The handler appends `event` inside its transaction and calls [`PendingAllow::committed`]
/// after the commit; if it never does (it refused the request early, or its transaction
/// failed), the guard appends the record before the answer leaves, or answers 503.
#[derive(Debug)]
pub struct PendingAllow {
    pub event: Event,
    done: std::sync::atomic::AtomicBool,
}

impl PendingAllow {
    pub fn committed(&self) {
        self.done.store(true, std::sync::atomic::Ordering::Release);
    }

    fn is_committed(&self) -> bool {
        self.done.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// How the caller proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    Certificate,
    Token,
}

/// The authenticated, authorised caller, available to handlers as an extension.
#[derive(Clone, Debug)]
pub struct Caller {
    pub member: Arc<Member>,
    pub method: AuthMethod,
    pub conn: ConnInfo,
}

fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Who is calling, or the problem to answer with.
fn identify(
    state: &AppState,
    req: &Request,
    conn: &ConnInfo,
) -> Result<(Arc<Member>, AuthMethod), Problem> {
    if let Some(token) = bearer(req) {
        let now = chrono::Utc::now().timestamp();
        let claims = state
            .tokens
            .verify(token, now)
            .map_err(|e: TokenError| Problem::invalid_token(e.code(), &e.to_string()))?;
        let member = state
            .registry
            .get(&claims.sub)
            .ok_or_else(|| Problem::invalid_token("invalid_token", "member no longer exists"))?;
        // A token used over a connection with a client certificate must belong to the same member.
        if let Some(cert) = &conn.client_cert {
            if state.registry.by_cert(cert).map(|m| m.id.as_str()) != Some(member.id.as_str()) {
                return Err(Problem::invalid_token(
                    "invalid_token",
                    "token and client certificate name different members",
                ));
            }
        }
        return Ok((member.clone(), AuthMethod::Token));
    }
    match &conn.client_cert {
        Some(cert) => state
            .registry
            .by_cert(cert)
            .map(|m| (m.clone(), AuthMethod::Certificate))
            .ok_or_else(|| Problem::certificate_not_bound(&cert.subject_text)),
        None => Err(Problem::unauthenticated()),
    }
}

pub async fn layer(
    State((state, access)): State<(AppState, Access)>,
    mut req: Request,
    next: Next,
) -> Response {
    let rid = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let Some(conn) = req.extensions().get::<ConnInfo>().cloned() else {
        return Problem::unauthenticated()
            .with_request_id(&rid)
            .into_response();
    };
    let action = format!("{} {}", req.method(), req.uri().path());
    let mut ev = Event {
        kind: "access",
        actor: "-".into(),
        action,
        outcome: String::new(),
        request_id: rid.clone(),
        detail: serde_json::json!({ "remote": conn.remote.ip().to_string() }),
    };

    let decision = (|| {
        let (member, method) = identify(&state, &req, &conn)?;
        ev.actor = member.id.clone();
        ev.detail["auth"] = serde_json::json!(method);
        state
            .limits
            .check(&member.id)
            .map_err(Problem::rate_limited)?;
        if let Access::Service(s) | Access::ServiceInTx(s) = access {
            ev.detail["service"] = serde_json::json!(s.as_str());
            if !member.may_use(s) {
                return Err(Problem::service_not_granted(&member.id, s.as_str()));
            }
        }
        Ok((member, method))
    })();

    match decision {
        Err(problem) => {
            ev.outcome = format!("deny:{}", problem.code);
            metrics::counter!("lienthong_access_denied_total", "code" => problem.code).increment(1);
            if let Err(e) = audit::append(&state.store, &ev).await {
                tracing::error!(request_id = %rid, error = %e, "audit append failed");
            }
            let mut resp = problem.with_request_id(&rid).into_response();
            resp.extensions_mut().insert(ServedMember(ev.actor));
            resp
        }
        Ok((member, method)) => {
            ev.outcome = "allow".into();
            let in_tx = matches!(access, Access::ServiceInTx(_));
            // Fail closed: no audit record, no service.
            if !in_tx {
                if let Err(e) = audit::append(&state.store, &ev).await {
                    tracing::error!(request_id = %rid, error = %e, "audit append failed");
                    return Problem::store_unavailable()
                        .with_request_id(&rid)
                        .into_response();
                }
            }
            let pending = Arc::new(PendingAllow {
                event: ev,
                done: false.into(),
            });
            if in_tx {
                req.extensions_mut().insert(pending.clone());
            }
            let id = member.id.clone();
            req.extensions_mut().insert(Caller {
                member,
                method,
                conn,
            });
            let mut resp = next.run(req).await;
            if in_tx && !pending.is_committed() {
                if let Err(e) = audit::append(&state.store, &pending.event).await {
                    tracing::error!(request_id = %rid, error = %e, "audit append failed");
                    return Problem::store_unavailable()
                        .with_request_id(&rid)
                        .into_response();
                }
            }
            resp.extensions_mut().insert(ServedMember(id));
            resp
        }
    }
}
