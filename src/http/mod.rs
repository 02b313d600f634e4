//! Route handlers, thin: parse the request, call the core, map the result. The router is
//! assembled here with the edge layers; every member route goes through [`guarded`].

mod calendar;
mod citizens;
mod directory;
mod dossiers;
mod edocs;
mod health;
mod oauth;
mod payments;
mod postal;
mod query;
mod reports;

use crate::edge::{self, Access, AppState, Problem, RequestId};
use axum::extract::Extension;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use lienthong_contract::Service;
use metrics_exporter_prometheus::PrometheusHandle;

/// Wrap a route in the guard: identity, rate limit, access rule, audit.
fn guarded(
    state: &AppState,
    access: Access,
    route: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    route.route_layer(from_fn_with_state(
        (state.clone(), access),
        edge::guard::layer,
    ))
}

async fn not_found(rid: Option<Extension<RequestId>>) -> impl IntoResponse {
    let p = Problem::not_found();
    match rid {
        Some(Extension(r)) => p.with_request_id(&r.0),
        None => p,
    }
}

/// The member-facing router (served over TLS by the accept loop).
pub fn member_router(state: AppState) -> Router {
    let limits = state.config.limits.clone();
    let edocs_access = Access::Service(Service::Edocs);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/oauth2/token", post(oauth::token))
        .route(
            "/v1/whoami",
            guarded(&state, Access::Member, get(directory::whoami)),
        )
        .route(
            "/v1/organs",
            guarded(
                &state,
                Access::Service(Service::Directory),
                get(directory::organs),
            ),
        )
        .route(
            "/v1/calendar/due",
            guarded(&state, Access::Member, get(calendar::due)),
        )
        .route(
            "/v1/edocs",
            guarded(
                &state,
                Access::ServiceInTx(Service::Edocs),
                post(edocs::submit),
            ),
        )
        .route(
            "/v1/edocs/inbox",
            guarded(&state, edocs_access, get(edocs::inbox)),
        )
        .route(
            "/v1/edocs/{id}",
            guarded(&state, edocs_access, get(edocs::get)),
        )
        .route(
            "/v1/edocs/{id}/ack",
            guarded(&state, edocs_access, post(edocs::ack)),
        )
        .route(
            "/v1/edocs/{id}/deliveries",
            guarded(&state, edocs_access, get(edocs::deliveries)),
        )
        .route(
            "/v1/edocs/{id}/receipt",
            guarded(&state, edocs_access, get(edocs::receipt)),
        )
        .route(
            "/v1/dossiers",
            guarded(
                &state,
                Access::ServiceInTx(Service::Dossiers),
                post(dossiers::file),
            ),
        )
        .route(
            "/v1/dossiers/inbox",
            guarded(
                &state,
                Access::Service(Service::Dossiers),
                get(dossiers::inbox),
            ),
        )
        .route(
            "/v1/dossiers/{code}",
            guarded(
                &state,
                Access::Service(Service::Dossiers),
                get(dossiers::get),
            ),
        )
        .route(
            "/v1/dossiers/{code}/events",
            guarded(
                &state,
                Access::ServiceInTx(Service::Dossiers),
                post(dossiers::change_status),
            ),
        )
        .route(
            "/v1/payments",
            guarded(
                &state,
                Access::Service(Service::Payments),
                post(payments::initiate),
            ),
        )
        .route(
            "/v1/payments/{reference}",
            guarded(
                &state,
                Access::Service(Service::Payments),
                get(payments::get),
            ),
        )
        .route(
            "/v1/payments/{reference}/receipt",
            guarded(
                &state,
                Access::Service(Service::Payments),
                get(payments::receipt),
            ),
        )
        .route(
            "/v1/postal/orders",
            guarded(&state, Access::Service(Service::Postal), post(postal::order)),
        )
        .route(
            "/v1/postal/orders/{number}",
            guarded(&state, Access::Service(Service::Postal), get(postal::get)),
        )
        .route(
            "/v1/postal/orders/{number}/cancel",
            guarded(&state, Access::Service(Service::Postal), post(postal::cancel)),
        )
        // The platform's callback: no member identity; the checksum (and, when configured,
        // the source address) decides.
        .route("/callbacks/paygov", post(payments::paygov))
        .route(
            "/v1/notices",
            guarded(
                &state,
                Access::Service(Service::Dossiers),
                get(dossiers::notices),
            ),
        )
        .route(
            "/v1/reports/on-time",
            guarded(
                &state,
                Access::Service(Service::Dossiers),
                get(reports::on_time),
            ),
        )
        .route(
            "/v1/citizens/lookup",
            guarded(
                &state,
                Access::ServiceInTx(Service::Citizens),
                post(citizens::lookup),
            ),
        )
        .fallback(not_found)
        .layer(from_fn_with_state(
            limits.request_timeout_ms,
            edge::timeout::layer,
        ))
        .layer(from_fn_with_state(
            edge::body_limit::Limits {
                default: limits.body_bytes,
                packages: state.config.edocs.max_package_bytes,
            },
            edge::body_limit::layer,
        ))
        .layer(axum::middleware::from_fn(edge::request_id::layer))
        .with_state(state)
}

/// The operator router (plain HTTP, loopback by default): metrics and health.
pub fn operator_router(state: AppState, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(move || async move { metrics.render() }))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(not_found)
        .with_state(state)
}
