//! A simulator of the PayGov platform: init (checksum and partner checked, a payment URL
//! answered), status checks (answer signed in the callback order, with `TrangThaiGD`), receipts
//! (a PDF), and, on demand, the citizen paying, failing or leaving the payment pending, with the
//! callbacks the platform sends — duplicated, delayed or out of order when asked.
//!
//! Controls: `POST /_sim/pay {"reference", "outcome": "paid"|"failed"|"pending", "callbacks": n,
//! "delay_ms": ms}` (n callbacks, each after `delay_ms`: duplicates; different delays for different
//! references: out of order), `GET /_sim/transactions`, `GET /_sim/callback/{reference}` (the
//! callback the platform would send now, signed, for tests that deliver it themselves).

use crate::checksum;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub partner: String,
    pub secret: Vec<u8>,
    /// Where callbacks go (the gateway's `/callbacks/paygov`).
    pub callback_url: Option<String>,
    /// `LoaiBanTin` of callbacks (the real value is unknown).
    pub callback_kind: String,
}

#[derive(Debug, Clone, serde::Serialize)]
struct Txn {
    amount: String,
    time: String,
    description: String,
    /// 0 initiated (never paid), 1 paid, 3 pending, 4 failed (`TrangThaiGD`).
    state: u8,
    txn_code: String,
}

/// Builds an HTTP client trusting a PEM bundle (for callbacks over TLS to a gateway whose CA is
/// only known at run time).
pub type ClientForCa = Arc<dyn Fn(&str) -> Result<reqwest::Client, String> + Send + Sync>;

/// Where callbacks go: URL and the client to send them with.
struct Target {
    url: Option<String>,
    http: reqwest::Client,
}

pub struct Sim {
    cfg: SimConfig,
    txns: Mutex<BTreeMap<String, Txn>>,
    target: Mutex<Target>,
    client_for_ca: Option<ClientForCa>,
}

impl Sim {
    pub fn new(cfg: SimConfig, http: reqwest::Client) -> Arc<Sim> {
        Arc::new(Sim {
            target: Mutex::new(Target {
                url: cfg.callback_url.clone(),
                http,
            }),
            cfg,
            txns: Mutex::new(BTreeMap::new()),
            client_for_ca: None,
        })
    }

    /// A simulator whose callback target can be set at run time with a CA
    /// (`POST /_sim/target {"url", "ca_pem"}`), using `f` to build the client.
    pub fn with_client_for_ca(cfg: SimConfig, http: reqwest::Client, f: ClientForCa) -> Arc<Sim> {
        let mut s = Arc::into_inner(Sim::new(cfg, http)).expect("fresh");
        s.client_for_ca = Some(f);
        Arc::new(s)
    }

    fn txns(&self) -> MutexGuard<'_, BTreeMap<String, Txn>> {
        self.txns.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/init", post(init))
            .route("/check", post(check))
            .route("/receipt", post(receipt))
            .route("/_sim/pay", post(pay))
            .route("/_sim/transactions", get(transactions))
            .route("/_sim/callback/{reference}", get(callback))
            .route("/_sim/target", post(target))
            .with_state(self.clone())
    }

    /// The callback of `reference` as the platform signs it.
    pub fn callback(&self, reference: &str) -> Option<Map<String, Value>> {
        let t = self.txns().get(reference)?.clone();
        let ma_loi = if t.state == 1 { "00" } else { "99" };
        let mut m = Map::new();
        for (k, v) in [
            ("LoaiBanTin", self.cfg.callback_kind.as_str()),
            ("MaLoi", ma_loi),
            ("MaDoiTac", &self.cfg.partner),
            ("MaThamChieu", reference),
            ("SoTien", &t.amount),
            ("MaTienTe", "VND"),
            ("MaGiaoDich", &t.txn_code),
            ("MaNganHang", "VDBANK"),
            ("ThoiGianGD", &t.time),
            ("ThongTinGiaoDich", &t.description),
        ] {
            m.insert(k.into(), Value::String(v.to_owned()));
        }
        checksum::sign(&mut m, checksum::CALLBACK, &self.cfg.secret);
        Some(m)
    }
}

fn signed_ok(sim: &Sim, m: &Map<String, Value>, order: &[&str]) -> bool {
    let given = m.get("MaXacThuc").and_then(Value::as_str).unwrap_or("");
    checksum::verify(m, order, &sim.cfg.secret, given)
        && m.get("MaDoiTac").and_then(Value::as_str) == Some(sim.cfg.partner.as_str())
}

async fn init(State(sim): State<Arc<Sim>>, Json(m): Json<Map<String, Value>>) -> Json<Value> {
    if !signed_ok(&sim, &m, checksum::INIT) {
        return Json(json!({"error_code": "1", "message": "Sai mã xác thực hoặc mã đối tác"}));
    }
    let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let reference = text("MaThamChieu");
    let mut txns = sim.txns();
    if txns.contains_key(&reference) {
        return Json(json!({"error_code": "2", "message": "Mã tham chiếu đã tồn tại"}));
    }
    let n = txns.len() + 1;
    txns.insert(
        reference.clone(),
        Txn {
            amount: text("SoTien"),
            time: text("ThoiGianGD"),
            description: text("ThongTinGiaoDich"),
            state: 0,
            txn_code: format!("PG{n:010}"),
        },
    );
    let inner = json!({ "UrlThanhToan": format!("https://paygov.invalid/pay/{reference}") });
    Json(json!({"error_code": "0", "message": inner.to_string()}))
}

async fn check(State(sim): State<Arc<Sim>>, Json(m): Json<Map<String, Value>>) -> Json<Value> {
    if !signed_ok(&sim, &m, checksum::CHECK) {
        return Json(json!({"MaLoi": "99", "MoTaLoi": "Sai mã xác thực"}));
    }
    let reference = m.get("MaThamChieu").and_then(Value::as_str).unwrap_or("");
    let state = sim.txns().get(reference).map(|t| t.state);
    match (sim.callback(reference), state) {
        (Some(mut a), Some(state)) => {
            // The answer carries the state; `MaLoi` 00 means the check itself succeeded.
            a.insert("MaLoi".into(), json!("00"));
            checksum::sign(&mut a, checksum::CALLBACK, &sim.cfg.secret);
            let shown = if state == 0 { 3 } else { state };
            a.insert("TrangThaiGD".into(), json!(shown.to_string()));
            Json(Value::Object(a))
        }
        _ => Json(json!({"MaLoi": "99", "MoTaLoi": "Không tìm thấy giao dịch"})),
    }
}

async fn receipt(State(sim): State<Arc<Sim>>, Json(m): Json<Map<String, Value>>) -> Response {
    let reference = m.get("MaThamChieu").and_then(Value::as_str).unwrap_or("");
    let paid = sim.txns().get(reference).is_some_and(|t| t.state == 1);
    if !signed_ok(&sim, &m, checksum::CHECK) || !paid {
        return (StatusCode::NOT_FOUND, "no receipt").into_response();
    }
    let pdf = format!("%PDF-1.4\n% Bien lai dien tu {reference}\n%%EOF\n");
    ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response()
}

#[derive(Deserialize)]
struct Pay {
    reference: String,
    outcome: String,
    #[serde(default = "one")]
    callbacks: u32,
    #[serde(default)]
    delay_ms: u64,
}

fn one() -> u32 {
    1
}

async fn pay(State(sim): State<Arc<Sim>>, Json(p): Json<Pay>) -> Response {
    let state = match p.outcome.as_str() {
        "paid" => 1,
        "failed" => 4,
        "pending" => 3,
        _ => return (StatusCode::BAD_REQUEST, "outcome: paid | failed | pending").into_response(),
    };
    match sim.txns().get_mut(&p.reference) {
        Some(t) => t.state = state,
        None => return (StatusCode::NOT_FOUND, "no such reference").into_response(),
    }
    let (url, http) = {
        let t = sim.target.lock().unwrap_or_else(|p| p.into_inner());
        (t.url.clone(), t.http.clone())
    };
    let (Some(url), Some(body)) = (url, sim.callback(&p.reference)) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    if state == 3 {
        return StatusCode::NO_CONTENT.into_response();
    }
    for _ in 0..p.callbacks {
        let (http, url, body) = (http.clone(), url.clone(), body.clone());
        let delay = p.delay_ms;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            if let Err(e) = http.post(&url).json(&body).send().await {
                tracing::info!(error = %e, "paygov sim: callback not delivered");
            }
        });
    }
    StatusCode::ACCEPTED.into_response()
}

async fn transactions(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!(*sim.txns()))
}

async fn callback(
    State(sim): State<Arc<Sim>>,
    axum::extract::Path(reference): axum::extract::Path<String>,
) -> Response {
    match sim.callback(&reference) {
        Some(m) => Json(Value::Object(m)).into_response(),
        None => (StatusCode::NOT_FOUND, "no such reference").into_response(),
    }
}

/// Serve the simulator on `listener` until `stop` completes.
pub async fn serve(
    sim: Arc<Sim>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, sim.router())
        .with_graceful_shutdown(stop)
        .await
}

#[derive(Deserialize)]
struct SetTarget {
    url: String,
    #[serde(default)]
    ca_pem: Option<String>,
}

async fn target(State(sim): State<Arc<Sim>>, Json(t): Json<SetTarget>) -> Response {
    let http = match (&t.ca_pem, &sim.client_for_ca) {
        (Some(pem), Some(f)) => match f(pem) {
            Ok(c) => Some(c),
            Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
        },
        (Some(_), None) => {
            return (StatusCode::BAD_REQUEST, "this simulator cannot take a CA").into_response()
        }
        (None, _) => None,
    };
    let mut cur = sim.target.lock().unwrap_or_else(|p| p.into_inner());
    cur.url = Some(t.url);
    if let Some(h) = http {
        cur.http = h;
    }
    StatusCode::NO_CONTENT.into_response()
}
