//! Directory: who the caller is, and which organs the gateway can reach.

use crate::edge::{AppState, Caller};
use axum::extract::{Extension, State};
use axum::Json;
use serde_json::{json, Value};

/// `GET /v1/whoami`: the member the gateway recognised, how, and what it may do.
pub async fn whoami(Extension(caller): Extension<Caller>) -> Json<Value> {
    let m = &caller.member;
    Json(json!({
        "member": m.id,
        "name": m.name,
        "kind": m.kind,
        "organs": m.organs,
        "services": m.services,
        "authenticated_by": caller.method,
        "certificate": caller.conn.client_cert.as_ref().map(|c| json!({
            "subject": c.subject_text,
            "serial": c.serial,
            "fingerprint": c.fingerprint.to_string(),
        })),
    }))
}

/// `GET /v1/organs`: every organ identifier the gateway serves, with the member that speaks for it.
pub async fn organs(State(state): State<AppState>) -> Json<Value> {
    let mut out = Vec::new();
    for m in state.registry.all() {
        for o in &m.organs {
            out.push(
                json!({ "organ_id": o, "scheme": o.scheme(), "member": m.id, "name": m.name }),
            );
        }
    }
    Json(json!({ "organs": out }))
}
