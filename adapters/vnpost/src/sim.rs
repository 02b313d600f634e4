//! A simulator of NGSP: the token service (Basic auth, `grant_type=client_credentials`, tokens
//! that expire or are revoked, refused WSO2-style), create order (customer code checked,
//! idempotent by `OrderNumber`, a conflicting body refused), cancel (refused once delivered),
//! and the tracking feed in RESTHeart shape with `lastId` paging. Orders move by
//! `/_sim/advance` or, when `step_interval_ms` > 0, on their own through `steps`.
//!
//! Controls (no auth): `POST /_sim/advance {"order_number", "status_code", "message"?,
//! "notes"?, "customer_code"?}` → `{"id"}`; `POST /_sim/expire_tokens`; `POST /_sim/faults
//! {"order", "tracking", "token", "cancel"}` (the next n calls of each kind answer 503) and
//! `DELETE /_sim/faults`; `GET /_sim/orders`; `GET /_sim/stats`. Each has a method of [`Sim`].

use crate::wire::{Order, FIRST_ID};
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Basic-auth pair the token call must present.
    pub customer_key: String,
    pub secret_key: String,
    /// The customer code orders must carry; the tracking feed is this customer's.
    pub customer_code: String,
    /// `expires_in` of issued tokens; a token is refused (401) once expired.
    pub token_ttl_secs: u64,
    /// `Status` of successful answers (sent as a number when it parses as one).
    pub success_status: String,
    /// The carrier codes an order goes through on its own, with their messages, when
    /// `step_interval_ms` > 0 (default 1 Đã nhận bưu gửi, 2 Đang vận chuyển, 4 Phát thành công).
    pub steps: Vec<(String, String)>,
    /// 0: orders move only by `/_sim/advance`.
    pub step_interval_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        let step = |c: &str, m: &str| (c.to_owned(), m.to_owned());
        SimConfig {
            customer_key: "sandbox-key".into(),
            secret_key: "sandbox-secret".into(),
            customer_code: "VIDU_SNV".into(),
            token_ttl_secs: 3600,
            success_status: "200".into(),
            steps: vec![
                step("1", "Đã nhận bưu gửi"),
                step("2", "Đang vận chuyển"),
                step("4", "Phát thành công"),
            ],
            step_interval_ms: 0,
        }
    }
}

/// An order as the simulator holds it.
struct SimOrder {
    customer_code: String,
    item_code: String,
    /// Create calls made with this `OrderNumber` and this body.
    creates: u64,
    cancelled: bool,
    /// Status codes of its events, in order.
    events: Vec<String>,
    order: Order,
}

/// One tracking event of the feed.
#[derive(Clone)]
struct SimEvent {
    id: String,
    customer_code: String,
    order_number: String,
    item_code: String,
    event_time: String,
    pos_id: String,
    status_code: String,
    status_message: String,
    notes: String,
}

/// What `/_sim/advance` (and [`Sim::advance_with`]) appends to the feed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Advance {
    pub order_number: String,
    pub status_code: String,
    /// Default: the step's message, or `Trạng thái <code>`.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Default: the configured customer code; another one makes a foreign event.
    #[serde(default)]
    pub customer_code: Option<String>,
}

/// Calls still to be answered with 503, by kind.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Faults {
    #[serde(default)]
    pub order: u32,
    #[serde(default)]
    pub tracking: u32,
    #[serde(default)]
    pub token: u32,
    #[serde(default)]
    pub cancel: u32,
}

/// The kinds of call a fault can hit.
#[derive(Clone, Copy)]
enum Kind {
    Token,
    Order,
    Cancel,
    Tracking,
}

impl Faults {
    fn slot(&mut self, kind: Kind) -> &mut u32 {
        match kind {
            Kind::Token => &mut self.token,
            Kind::Order => &mut self.order,
            Kind::Cancel => &mut self.cancel,
            Kind::Tracking => &mut self.tracking,
        }
    }
}

#[derive(Default)]
struct Stats {
    tokens_issued: u64,
    token_rejections: u64,
    tracking_calls: u64,
    order_calls: u64,
    cancel_calls: u64,
}

impl Stats {
    /// Count a call of `kind` (tokens are counted when issued).
    fn count(&mut self, kind: Kind) {
        match kind {
            Kind::Token => {}
            Kind::Order => self.order_calls += 1,
            Kind::Cancel => self.cancel_calls += 1,
            Kind::Tracking => self.tracking_calls += 1,
        }
    }
}

#[derive(Default)]
struct Inner {
    /// Issued tokens and when; expiry revokes them all by clearing this.
    tokens: HashMap<String, Instant>,
    /// Orders in creation order.
    orders: Vec<(String, SimOrder)>,
    events: Vec<SimEvent>,
    event_seq: u64,
    item_seq: u64,
    faults: Faults,
    stats: Stats,
}

impl Inner {
    fn order_mut(&mut self, number: &str) -> Option<&mut SimOrder> {
        self.orders
            .iter_mut()
            .find(|(n, _)| n == number)
            .map(|(_, o)| o)
    }
}

/// The fixed first 8 hex digits of event ids; a 16-hex counter follows.
const OID_BASE: &str = "65e2f0a1";

pub struct Sim {
    cfg: SimConfig,
    inner: Mutex<Inner>,
    /// Seeds the token generator (a process-random key).
    random: std::collections::hash_map::RandomState,
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Arc<Sim> {
        Arc::new(Sim {
            cfg,
            inner: Mutex::new(Inner::default()),
            random: std::collections::hash_map::RandomState::new(),
        })
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/token", post(token))
            .route("/order/post", post(create_order))
            .route("/order/cancel", get(cancel_order))
            .route("/order/tracking", get(tracking))
            .route("/_sim/advance", post(advance))
            .route("/_sim/expire_tokens", post(expire_tokens))
            .route("/_sim/faults", post(set_faults).delete(clear_faults))
            .route("/_sim/orders", get(orders))
            .route("/_sim/stats", get(stats))
            .with_state(self.clone())
    }

    /// Append an event with `code` (the step's message) to `order_number`'s; its id.
    pub fn advance(&self, order_number: &str, code: &str) -> String {
        self.advance_with(&Advance {
            order_number: order_number.into(),
            status_code: code.into(),
            ..Advance::default()
        })
    }

    /// Append the event `a` describes to the feed (and to its order's, when the order is
    /// known and the customer code is its own); its id.
    pub fn advance_with(&self, a: &Advance) -> String {
        let customer = a
            .customer_code
            .clone()
            .unwrap_or_else(|| self.cfg.customer_code.clone());
        let message = a
            .message
            .clone()
            .unwrap_or_else(|| self.step_message(&a.status_code));
        let mut inner = self.inner();
        let item_code = match inner.order_mut(&a.order_number) {
            Some(o) if o.customer_code == customer => {
                o.events.push(a.status_code.clone());
                o.item_code.clone()
            }
            _ => String::new(),
        };
        inner.event_seq += 1;
        let id = format!("{OID_BASE}{:016x}", inner.event_seq);
        inner.events.push(SimEvent {
            id: id.clone(),
            customer_code: customer,
            order_number: a.order_number.clone(),
            item_code,
            event_time: now_vn(),
            pos_id: "990000".into(),
            status_code: a.status_code.clone(),
            status_message: message,
            notes: a.notes.clone().unwrap_or_default(),
        });
        id
    }

    /// Revoke every token issued so far.
    pub fn expire_tokens(&self) {
        self.inner().tokens.clear();
    }

    /// Answer the next calls of each kind with 503 (replaces the faults pending).
    pub fn set_faults(&self, f: Faults) {
        self.inner().faults = f;
    }

    pub fn clear_faults(&self) {
        self.inner().faults = Faults::default();
    }

    /// The orders, in creation order: number, customer, item code, create calls, cancelled,
    /// event codes and the body.
    pub fn orders(&self) -> Value {
        let inner = self.inner();
        let list = inner.orders.iter().map(|(number, o)| {
            json!({
                "order_number": number,
                "customer_code": o.customer_code,
                "item_code": o.item_code,
                "creates": o.creates,
                "cancelled": o.cancelled,
                "events": o.events,
                "order": o.order,
            })
        });
        Value::Array(list.collect())
    }

    /// Counters: tokens issued, token rejections, tracking calls, order (create) calls,
    /// cancel calls.
    pub fn stats(&self) -> Value {
        let inner = self.inner();
        let s = &inner.stats;
        json!({
            "tokens_issued": s.tokens_issued,
            "token_rejections": s.token_rejections,
            "tracking_calls": s.tracking_calls,
            "order_calls": s.order_calls,
            "cancel_calls": s.cancel_calls,
        })
    }

    /// One clock tick: every order neither cancelled nor at its last step moves one step.
    pub fn step_all(&self) {
        let due: Vec<(String, String)> = {
            let inner = self.inner();
            inner
                .orders
                .iter()
                .filter(|(_, o)| !o.cancelled)
                .filter_map(|(n, o)| self.next_step(&o.events).map(|c| (n.clone(), c)))
                .collect()
        };
        for (number, code) in due {
            self.advance(&number, &code);
        }
    }

    /// The step after the furthest one among `events`; none once at the last step.
    fn next_step(&self, events: &[String]) -> Option<String> {
        let reached = events
            .iter()
            .filter_map(|c| self.cfg.steps.iter().position(|(s, _)| s == c))
            .max();
        let next = reached.map_or(0, |i| i + 1);
        self.cfg.steps.get(next).map(|(c, _)| c.clone())
    }

    /// The message of step `code`, or `Trạng thái <code>`.
    fn step_message(&self, code: &str) -> String {
        self.cfg
            .steps
            .iter()
            .find(|(c, _)| c == code)
            .map_or_else(|| format!("Trạng thái {code}"), |(_, m)| m.clone())
    }

    /// The code meaning delivered: the last step's (`4` when there are no steps).
    fn delivered_code(&self) -> &str {
        self.cfg.steps.last().map_or("4", |(c, _)| c.as_str())
    }

    /// Whether the next call of `kind` is to fail (and count it down).
    fn take_fault(&self, kind: Kind) -> bool {
        let mut inner = self.inner();
        let left = inner.faults.slot(kind);
        if *left == 0 {
            return false;
        }
        *left -= 1;
        true
    }

    /// Whether `headers` carry a known, unexpired `Bearer` token (a refusal is counted).
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_owned());
        let ttl = Duration::from_secs(self.cfg.token_ttl_secs);
        let mut inner = self.inner();
        let ok = token
            .and_then(|t| inner.tokens.get(&t).copied())
            .is_some_and(|issued| issued.elapsed() < ttl);
        if !ok {
            inner.stats.token_rejections += 1;
        }
        ok
    }

    /// A fresh token, remembered with its issue time.
    fn issue_token(&self) -> String {
        let mut inner = self.inner();
        inner.stats.tokens_issued += 1;
        let n = inner.stats.tokens_issued;
        let mut h = self.random.build_hasher();
        h.write_u64(n);
        let token = format!("sim{n:06}{:016x}", h.finish());
        inner.tokens.insert(token.clone(), Instant::now());
        token
    }

    /// The success answer.
    fn success(&self) -> Json<Value> {
        Json(json!({"Status": number_or_text(&self.cfg.success_status), "Message": "Thành công"}))
    }
}

/// `s` as a JSON number when it is one, else as a string.
fn number_or_text(s: &str) -> Value {
    s.parse::<i64>()
        .map_or_else(|_| Value::String(s.to_owned()), Value::from)
}

/// An NGSP answer `{"Status", "Message"}` with HTTP 200.
fn refusal(status: u16, message: &str) -> Response {
    Json(json!({"Status": status, "Message": message})).into_response()
}

/// Now in Vietnam (UTC+7), `yyyy-MM-dd HH:mm:ss`.
fn now_vn() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(7))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The injected fault: 503 with a text body.
fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable (mô phỏng)",
    )
        .into_response()
}

/// WSO2's refusal of a missing, unknown, expired or revoked token.
fn invalid_credentials() -> Response {
    let fault = json!({"fault": {
        "code": 900901,
        "message": "Invalid Credentials",
        "description": "Access failure for API: /apiVNPostNGSP/p1.0, version: p1.0 status: \
            (900901) - Invalid Credentials. Make sure your provided token is valid",
    }});
    (StatusCode::UNAUTHORIZED, Json(fault)).into_response()
}

/// The checks every wire call but the token's goes through (and is counted by): an injected
/// fault, then the token.
fn gate(sim: &Sim, kind: Kind, headers: &HeaderMap) -> Option<Response> {
    sim.inner().stats.count(kind);
    if sim.take_fault(kind) {
        return Some(unavailable());
    }
    (!sim.authorized(headers)).then(invalid_credentials)
}

/// The refusal of a customer code other than the configured one.
fn wrong_customer(sim: &Sim, code: Option<&str>) -> Option<Response> {
    (code != Some(sim.cfg.customer_code.as_str())).then(|| refusal(400, "Sai mã khách hàng"))
}

/// Whether `headers` carry `Basic base64(customer_key:secret_key)`.
fn basic_ok(sim: &Sim, headers: &HeaderMap) -> bool {
    let expected = format!("{}:{}", sim.cfg.customer_key, sim.cfg.secret_key);
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b)| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .is_some_and(|pair| pair == expected.as_bytes())
}

async fn token(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    if sim.take_fault(Kind::Token) {
        return unavailable();
    }
    if !basic_ok(&sim, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let grant = form.ok().and_then(|Form(f)| f.get("grant_type").cloned());
    if grant.as_deref() != Some("client_credentials") {
        let e = json!({"error": "unsupported_grant_type"});
        return (StatusCode::BAD_REQUEST, Json(e)).into_response();
    }
    Json(json!({
        "access_token": sim.issue_token(),
        "token_type": "Bearer",
        "expires_in": sim.cfg.token_ttl_secs,
    }))
    .into_response()
}

async fn create_order(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = gate(&sim, Kind::Order, &headers) {
        return r;
    }
    if let Some(r) = wrong_customer(&sim, body["CustomerCode"].as_str()) {
        return r;
    }
    let number = body["OrderNumber"].as_str().unwrap_or_default().to_owned();
    if number.is_empty() {
        return refusal(400, "Thiếu OrderNumber");
    }
    let order: Order = match serde_json::from_value(body) {
        Ok(o) => o,
        Err(e) => return refusal(400, &format!("Dữ liệu đơn hàng không hợp lệ: {e}")),
    };
    let mut inner = sim.inner();
    if let Some(o) = inner.order_mut(&number) {
        if o.order != order {
            return refusal(409, "Đơn hàng đã tồn tại");
        }
        o.creates += 1;
        return sim.success().into_response();
    }
    inner.item_seq += 1;
    let item_code = format!("EV{:09}VN", inner.item_seq);
    inner.orders.push((
        number,
        SimOrder {
            customer_code: order.customer_code.clone(),
            item_code,
            creates: 1,
            cancelled: false,
            events: Vec::new(),
            order,
        },
    ));
    sim.success().into_response()
}

#[derive(Deserialize)]
struct CancelQuery {
    #[serde(rename = "CustomerCode", default)]
    customer_code: String,
    #[serde(rename = "OrderNumber", default)]
    order_number: String,
}

async fn cancel_order(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Query(q): Query<CancelQuery>,
) -> Response {
    if let Some(r) = gate(&sim, Kind::Cancel, &headers) {
        return r;
    }
    if let Some(r) = wrong_customer(&sim, Some(&q.customer_code)) {
        return r;
    }
    let delivered = sim.delivered_code().to_owned();
    let mut inner = sim.inner();
    let Some(o) = inner.order_mut(&q.order_number) else {
        return refusal(404, "Không tìm thấy đơn hàng");
    };
    if o.events.contains(&delivered) {
        return refusal(400, "Đơn hàng đã phát, không huỷ được");
    }
    o.cancelled = true;
    sim.success().into_response()
}

#[derive(Deserialize)]
struct TrackingQuery {
    #[serde(default)]
    pagesize: Option<String>,
    #[serde(rename = "lastId", default)]
    last_id: Option<String>,
}

/// Page size when none (or no number) is given, and the largest allowed.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 100;

async fn tracking(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Query(q): Query<TrackingQuery>,
) -> Response {
    if let Some(r) = gate(&sim, Kind::Tracking, &headers) {
        return r;
    }
    let n = q
        .pagesize
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    let last_id = q.last_id.unwrap_or_else(|| FIRST_ID.to_owned());
    // Ids are fixed-width lowercase hex, increasing: text order is feed order.
    let after: Vec<SimEvent> = sim
        .inner()
        .events
        .iter()
        .filter(|e| e.id.as_str() > last_id.as_str())
        .cloned()
        .collect();
    let docs: Vec<Value> = after.iter().take(n).map(event_doc).collect();
    Json(json!({
        "_size": after.len(),
        "_total_pages": after.len().div_ceil(n),
        "_returned": docs.len(),
        "_embedded": {"rh:doc": docs},
    }))
    .into_response()
}

/// An event as a RESTHeart document.
fn event_doc(e: &SimEvent) -> Value {
    json!({
        "_id": {"$oid": e.id},
        "CustomerCode": e.customer_code,
        "OrderNumber": e.order_number,
        "EventTime": e.event_time,
        "POSID": e.pos_id,
        "ItemCode": e.item_code,
        "StatusCode": number_or_text(&e.status_code),
        "StatusMessage": e.status_message,
        "Notes": e.notes,
    })
}

async fn advance(State(sim): State<Arc<Sim>>, Json(a): Json<Advance>) -> Json<Value> {
    Json(json!({"id": sim.advance_with(&a)}))
}

async fn expire_tokens(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.expire_tokens();
    StatusCode::NO_CONTENT
}

async fn set_faults(State(sim): State<Arc<Sim>>, Json(f): Json<Faults>) -> StatusCode {
    sim.set_faults(f);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

async fn orders(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(sim.orders())
}

async fn stats(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(sim.stats())
}

/// Aborts the clock task when dropped (the server stopped, or its future was dropped).
struct Clock(Option<tokio::task::JoinHandle<()>>);

impl Drop for Clock {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
        }
    }
}

/// The clock moving orders every `step_interval_ms` (none when it is 0).
fn start_clock(sim: &Arc<Sim>) -> Clock {
    if sim.cfg.step_interval_ms == 0 {
        return Clock(None);
    }
    let sim = sim.clone();
    let every = Duration::from_millis(sim.cfg.step_interval_ms);
    Clock(Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            sim.step_all();
        }
    })))
}

/// Serve the simulator on `listener` until `stop` completes (and run its clock when
/// `step_interval_ms` > 0).
pub async fn serve(
    sim: Arc<Sim>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let _clock = start_clock(&sim);
    axum::serve(listener, sim.router())
        .with_graceful_shutdown(stop)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{order, start};

    /// A raw GET with an optional `Authorization`; status and JSON body (null when not JSON).
    async fn get_json(url: &str, auth: Option<&str>) -> (u16, Value) {
        let mut req = reqwest::Client::new().get(url);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let r = req.send().await.expect("call");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A token from the simulator's token service, as an `Authorization` value.
    async fn bearer(url: &str) -> String {
        let r = reqwest::Client::new()
            .post(format!("{url}/token"))
            .basic_auth("sandbox-key", Some("sandbox-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token call");
        let t: crate::wire::Token = r.json().await.expect("token answer");
        assert_eq!((t.token_type.as_str(), t.expires_in), ("Bearer", 3600));
        format!("Bearer {}", t.access_token)
    }

    #[tokio::test]
    async fn the_token_service_refuses_bad_clients_grants_and_tokens() {
        let s = start(SimConfig::default()).await;
        let http = reqwest::Client::new();
        let token = format!("{}/token", s.url);
        let grant = [("grant_type", "client_credentials")];
        let r = http
            .post(&token)
            .basic_auth("sandbox-key", Some("x"))
            .form(&grant)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"error": "invalid_client"})
        );
        let r = http
            .post(&token)
            .basic_auth("sandbox-key", Some("sandbox-secret"))
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"error": "unsupported_grant_type"})
        );
        let (a, b) = (bearer(&s.url).await, bearer(&s.url).await);
        assert_ne!(a, b, "tokens are unique");
        let tracking = format!("{}/order/tracking", s.url);
        for auth in [
            None,
            Some("Bearer nope"),
            Some("Basic c2FuZGJveC1rZXk6c2FuZGJveC1zZWNyZXQ="),
        ] {
            let (status, body) = get_json(&tracking, auth).await;
            assert_eq!(status, 401);
            assert_eq!(body["fault"]["code"], 900901);
        }
        assert_eq!(get_json(&tracking, Some(&a)).await.0, 200);
        s.sim.expire_tokens();
        assert_eq!(get_json(&tracking, Some(&a)).await.0, 401);
        assert_eq!(s.sim.stats()["token_rejections"], 4);
        assert_eq!(s.sim.stats()["tokens_issued"], 2);
    }

    /// The feed in RESTHeart shape: counters, `_id.$oid`, numeric and textual codes, foreign
    /// customers' events and events of unknown orders included; page size clamped.
    #[tokio::test]
    async fn the_tracking_feed_has_the_restheart_shape() {
        let s = start(SimConfig::default()).await;
        let auth = bearer(&s.url).await;
        s.client().create_order(&order("H99-1")).await.unwrap();
        let own = s.sim.advance("H99-1", "1");
        assert_eq!(
            s.control(
                "/_sim/advance",
                json!({"order_number": "H99-1", "status_code": "X9", "notes": "ghi chú", "customer_code": "KHAC"})
            )
            .await,
            200
        );
        s.sim.advance("không-có", "2");
        let (status, page) = get_json(
            &format!("{}/order/tracking?pagesize=2&lastId={FIRST_ID}", s.url),
            Some(&auth),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            (
                page["_size"].clone(),
                page["_total_pages"].clone(),
                page["_returned"].clone()
            ),
            (json!(3), json!(2), json!(2))
        );
        let docs = page["_embedded"]["rh:doc"].as_array().unwrap();
        let first = docs[0].as_object().unwrap();
        let keys: Vec<&str> = first.keys().map(String::as_str).collect();
        for k in [
            "_id",
            "CustomerCode",
            "OrderNumber",
            "EventTime",
            "POSID",
            "ItemCode",
            "StatusCode",
            "StatusMessage",
            "Notes",
        ] {
            assert!(keys.contains(&k), "{k} in {keys:?}");
        }
        assert_eq!(first["_id"], json!({"$oid": own}));
        assert_eq!(first["StatusCode"], json!(1));
        assert_eq!(first["ItemCode"], "EV000000001VN");
        assert_eq!(first["StatusMessage"], "Đã nhận bưu gửi");
        let time = first["EventTime"].as_str().unwrap();
        assert!(
            chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S").is_ok(),
            "{time}"
        );
        let foreign = &docs[1];
        assert_eq!(
            (
                foreign["CustomerCode"].clone(),
                foreign["StatusCode"].clone()
            ),
            (json!("KHAC"), json!("X9"))
        );
        assert_eq!(
            (foreign["StatusMessage"].clone(), foreign["Notes"].clone()),
            (json!("Trạng thái X9"), json!("ghi chú"))
        );
        assert_eq!(
            s.sim.orders()[0]["events"],
            json!(["1"]),
            "a foreign event is not the order's"
        );
        let (_, all) = get_json(
            &format!("{}/order/tracking?pagesize=1000", s.url),
            Some(&auth),
        )
        .await;
        assert_eq!(
            (all["_returned"].clone(), all["_total_pages"].clone()),
            (json!(3), json!(1))
        );
        let last = docs[1]["_id"]["$oid"].as_str().unwrap();
        let (_, rest) = get_json(
            &format!("{}/order/tracking?pagesize=0&lastId={last}", s.url),
            Some(&auth),
        )
        .await;
        assert_eq!(rest["_embedded"]["rh:doc"][0]["OrderNumber"], "không-có");
        assert_eq!(rest["_embedded"]["rh:doc"][0]["ItemCode"], "");
    }

    /// Orders with a missing number are refused with Status 400 (HTTP 200).
    #[tokio::test]
    async fn an_order_without_a_number_is_refused() {
        let s = start(SimConfig::default()).await;
        let auth = bearer(&s.url).await;
        let mut body = serde_json::to_value(order("H99-1")).unwrap();
        body.as_object_mut().unwrap().remove("OrderNumber");
        let r = reqwest::Client::new()
            .post(format!("{}/order/post", s.url))
            .header("Authorization", auth)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["Status"], 400);
        assert_eq!(s.sim.orders(), json!([]));
    }

    /// With a 50 ms clock an order goes 1, 2, 4 on its own and stops there; a cancelled one
    /// stops moving.
    #[tokio::test]
    async fn the_clock_delivers_orders() {
        let s = start(SimConfig {
            step_interval_ms: 50,
            ..SimConfig::default()
        })
        .await;
        let c = s.client();
        c.create_order(&order("H99-1")).await.unwrap();
        c.create_order(&order("H99-2")).await.unwrap();
        c.cancel_order("VIDU_SNV", "H99-2").await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while s.sim.orders()[0]["events"] != json!(["1", "2", "4"]) {
            assert!(
                Instant::now() < deadline,
                "not delivered: {}",
                s.sim.orders()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        let orders = s.sim.orders();
        assert_eq!(orders[0]["events"], json!(["1", "2", "4"]));
        assert_eq!(orders[1]["events"], json!([]));
        let page = c.tracking(50, FIRST_ID).await.unwrap();
        let codes: Vec<&str> = page.events.iter().map(|e| e.status_code.as_str()).collect();
        assert_eq!(codes, ["1", "2", "4"]);
        assert_eq!(page.events[2].status_message, "Phát thành công");
    }

    #[test]
    fn steps_resume_after_the_furthest_reached() {
        let sim = Sim::new(SimConfig::default());
        let codes = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(sim.next_step(&[]).as_deref(), Some("1"));
        assert_eq!(sim.next_step(&codes(&["2", "X"])).as_deref(), Some("4"));
        assert_eq!(sim.next_step(&codes(&["1", "4"])), None);
    }
}
