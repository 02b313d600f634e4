//! The population service simulator: a real HTTP server speaking the "037" SOAP shape over a
//! synthetic population. It checks the authentication headers like the real service (refusing
//! with 401), answers matches and "not found", and injects faults on demand:
//!
//! - `POST /_sim/faults` `{"mode": "none" | "soap_fault" | "http_500" | "auth_refused" |
//!   "garbage", "delay_ms": N, "times": N}` — the next `times` requests (all, when absent) get
//!   the fault and/or the delay; `GET /_sim/faults` shows the plan;
//! - `GET /_sim/stats` — requests seen, answered, refused (to show that a refused input never
//!   reached it);
//! - any other `POST` is the service endpoint.
//!
//! It keeps no record of the questions and logs no personal data.

pub mod people;

use crate::auth::Credentials;
use crate::name::normalise;
use crate::wire::{self, Birth};
use crate::xml::Limits;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use people::Population;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the simulator is set up.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The credentials it expects (the same the gateway is given).
    pub credentials: Credentials,
    /// Allowed clock difference for `Timestamp`.
    pub max_skew_ms: i64,
    /// Delay before every answer.
    pub latency_ms: u64,
    /// Extra delay of 0..=this, fixed per ID number asked about (see [`spread`]).
    pub latency_spread_ms: u64,
    pub people: usize,
    pub seed: u64,
}

impl SimConfig {
    /// Defaults for a simulator expecting `credentials`: 5,000 people, seed 37, no latency.
    pub fn new(credentials: Credentials) -> SimConfig {
        SimConfig {
            credentials,
            max_skew_ms: 300_000,
            latency_ms: 0,
            latency_spread_ms: 0,
            people: 5_000,
            seed: 37,
        }
    }
}

/// What goes wrong on purpose.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// `none`, `soap_fault`, `http_500`, `auth_refused`, `garbage`.
    #[serde(default = "none")]
    pub mode: String,
    /// Extra delay in milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
    /// How many requests it applies to; `None`: until changed.
    #[serde(default)]
    pub times: Option<u64>,
}

fn none() -> String {
    "none".into()
}

/// Counters, for tests.
#[derive(Debug, Default, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub requests: u64,
    pub matches: u64,
    pub not_found: u64,
    pub auth_refused: u64,
    pub faults: u64,
}

struct Sim {
    config: SimConfig,
    population: Population,
    plan: Mutex<FaultPlan>,
    requests: AtomicU64,
    matches: AtomicU64,
    not_found: AtomicU64,
    auth_refused: AtomicU64,
    faults: AtomicU64,
}

type Shared = Arc<Sim>;

/// A running simulator.
pub struct Simulator {
    pub addr: SocketAddr,
    pub task: tokio::task::JoinHandle<()>,
}

impl Simulator {
    /// The endpoint URL the gateway's `adapters.population.base_url` should name.
    pub fn url(&self) -> String {
        format!("http://{}/lgsp/dancu/037", self.addr)
    }
}

/// Bind `addr` (port 0 for any) and serve in a background task.
pub async fn start(addr: &str, config: SimConfig) -> std::io::Result<Simulator> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = router(config);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "population simulator stopped");
        }
    });
    Ok(Simulator { addr, task })
}

/// The simulator's routes.
pub fn router(config: SimConfig) -> Router {
    let population = Population::generate(config.seed, config.people);
    let sim = Arc::new(Sim {
        config,
        population,
        plan: Mutex::new(FaultPlan {
            mode: none(),
            ..FaultPlan::default()
        }),
        requests: AtomicU64::new(0),
        matches: AtomicU64::new(0),
        not_found: AtomicU64::new(0),
        auth_refused: AtomicU64::new(0),
        faults: AtomicU64::new(0),
    });
    Router::new()
        .route("/_sim/faults", post(set_faults).get(get_faults))
        .route("/_sim/stats", get(stats))
        .fallback(post(lookup))
        .with_state(sim)
}

async fn set_faults(State(sim): State<Shared>, Json(plan): Json<FaultPlan>) -> Response {
    if !matches!(
        plan.mode.as_str(),
        "none" | "soap_fault" | "http_500" | "auth_refused" | "garbage"
    ) {
        return (StatusCode::BAD_REQUEST, "unknown mode").into_response();
    }
    if let Ok(mut p) = sim.plan.lock() {
        *p = plan.clone();
    }
    Json(plan).into_response()
}

async fn get_faults(State(sim): State<Shared>) -> Json<FaultPlan> {
    Json(sim.plan.lock().map(|p| p.clone()).unwrap_or_default())
}

async fn stats(State(sim): State<Shared>) -> Json<Stats> {
    Json(Stats {
        requests: sim.requests.load(Ordering::Relaxed),
        matches: sim.matches.load(Ordering::Relaxed),
        not_found: sim.not_found.load(Ordering::Relaxed),
        auth_refused: sim.auth_refused.load(Ordering::Relaxed),
        faults: sim.faults.load(Ordering::Relaxed),
    })
}

/// The plan for this request (and one use of it spent).
fn take_plan(sim: &Sim) -> FaultPlan {
    let Ok(mut p) = sim.plan.lock() else {
        return FaultPlan::default();
    };
    let now = p.clone();
    match p.times {
        Some(0) => {
            return FaultPlan {
                mode: none(),
                delay_ms: 0,
                times: None,
            }
        }
        Some(n) => p.times = Some(n - 1),
        None => {}
    }
    now
}

/// The extra delay for a question about `id_number`: 0..=`max` ms, the same for the same ID
/// (FNV-1a), so two runs asking the same questions meet the same service times.
pub fn spread(id_number: &str, max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let h = id_number.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    h % (max + 1)
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "text/xml; charset=utf-8")], body).into_response()
}

async fn lookup(State(sim): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    sim.requests.fetch_add(1, Ordering::Relaxed);
    let plan = take_plan(&sim);
    if plan.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(plan.delay_ms)).await;
    }
    let get = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let now = chrono::Utc::now().timestamp_millis();
    let auth = sim
        .config
        .credentials
        .verify(get, now, sim.config.max_skew_ms);
    if auth.is_err() || plan.mode == "auth_refused" {
        sim.auth_refused.fetch_add(1, Ordering::Relaxed);
        return xml(
            StatusCode::UNAUTHORIZED,
            wire::fault_xml("soapenv:Client.Authentication", "Xác thực không thành công"),
        );
    }
    match plan.mode.as_str() {
        "soap_fault" => {
            sim.faults.fetch_add(1, Ordering::Relaxed);
            return xml(
                StatusCode::INTERNAL_SERVER_ERROR,
                wire::fault_xml("soapenv:Server", "Hệ thống đang bận, vui lòng thử lại sau"),
            );
        }
        "http_500" => {
            sim.faults.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
        }
        "garbage" => {
            sim.faults.fetch_add(1, Ordering::Relaxed);
            return xml(
                StatusCode::OK,
                "<html><body>gateway page</body></html>".into(),
            );
        }
        _ => {}
    }
    let q = match wire::parse_request(
        &body,
        Limits {
            max_bytes: 64 << 10,
            ..Limits::default()
        },
    ) {
        Ok(q) => q,
        Err(e) => {
            sim.faults.fetch_add(1, Ordering::Relaxed);
            return xml(
                StatusCode::INTERNAL_SERVER_ERROR,
                wire::fault_xml("soapenv:Client", &format!("Yêu cầu không hợp lệ: {e}")),
            );
        }
    };
    let delay = sim.config.latency_ms + spread(&q.id_number, sim.config.latency_spread_ms);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let found = sim.population.get(&q.id_number).filter(|c| {
        normalise(&c.full_name) == normalise(&q.full_name)
            && match q.birth {
                Birth::Date(d) => c.birth_date == d.format("%Y-%m-%d").to_string(),
                Birth::Year(y) => c.birth_date.get(..4) == Some(format!("{y:04}").as_str()),
            }
    });
    if found.is_some() {
        sim.matches.fetch_add(1, Ordering::Relaxed);
    } else {
        sim.not_found.fetch_add(1, Ordering::Relaxed);
    }
    xml(StatusCode::OK, wire::response_xml(found))
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn spread_is_per_id_and_bounded() {
        assert_eq!(spread("099188000123", 0), 0);
        let ids: Vec<String> = (0..1000).map(|i| format!("0991880{i:05}")).collect();
        let d: Vec<u64> = ids.iter().map(|id| spread(id, 100)).collect();
        assert!(d.iter().all(|&x| x <= 100));
        assert_eq!(d, ids.iter().map(|id| spread(id, 100)).collect::<Vec<_>>());
        // Spread over the range, not bunched: every tenth of it is used.
        for tenth in 0..10 {
            assert!(
                d.iter().any(|&x| x / 10 == tenth),
                "no delay in tenth {tenth}"
            );
        }
    }
}
