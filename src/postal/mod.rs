//! Postal result delivery and dossier pickup through VNPost's public-utility post
//! (`[adapters.vnpost]`, `shared/domain/vnpost.md`).
//!
//! - `POST /v1/postal/orders`: a one-stop-shop installation orders a result delivered to the
//!   citizen (`result_delivery`: agency → citizen) or a dossier collected from the citizen
//!   (`dossier_pickup`: citizen → agency). The order is recorded with the NGSP body it will be
//!   sent as and committed **before** VNPost is called; the call is a queued job ([`queue`]),
//!   retried with back-off like every outbound call, idempotent by `OrderNumber` (the dossier
//!   code; a pickup adds `pickup_suffix`).
//! - `POST /v1/postal/orders/{number}/cancel`: cancelled here when never sent, else a queued
//!   cancel call.
//! - [`tracking`]: the carrier's events come by polling the paged tracking list; each page's
//!   events are applied (order state, the installation's notice, a delivered result moving the
//!   dossier 9 → 10) in the transaction that moves the persisted cursor past them, so a restart
//!   between polls neither loses nor repeats an event.

pub mod admin;
pub mod queue;
pub mod tracking;

use crate::config::{Secret, VnpostCfg};
use crate::dossiers::Dossiers;
use crate::edge::Problem;
use crate::members::Member;
use crate::store::Store;
use axum::http::StatusCode;
use lienthong_vnpost::client::{Client, Endpoints};
use lienthong_vnpost::wire::Order;
use serde_json::{json, Value};
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The postal service.
pub struct Postal {
    store: Store,
    dossiers: Arc<Dossiers>,
    client: Client,
    cfg: VnpostCfg,
    /// Wakes the order queue (an order or a cancel was committed).
    wake: Notify,
    /// Wakes the tracking poller (tests and operators may ask for a poll now).
    pub(crate) poll_now: Notify,
}

/// Which way the parcel goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Trả kết quả: the agency sends the result to the citizen.
    ResultDelivery,
    /// Gom hồ sơ: the post collects the dossier from the citizen for the agency.
    DossierPickup,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ResultDelivery => "result_delivery",
            Direction::DossierPickup => "dossier_pickup",
        }
    }

    fn parse(s: &str) -> Option<Direction> {
        match s {
            "result_delivery" => Some(Direction::ResultDelivery),
            "dossier_pickup" => Some(Direction::DossierPickup),
            _ => None,
        }
    }
}

/// The citizen end of a parcel (canonical names; NGSP's `Receiver*` of a delivery, `Sender*`
/// of a pickup).
#[derive(Debug, Clone, PartialEq)]
struct Citizen {
    /// `ReceiverName` / `SenderName`.
    name: String,
    /// `ReceiverAddress` / `SenderAddress`.
    address: String,
    /// `ReceiverTel` / `SenderTel`.
    phone: String,
    /// `ReceiverEmail` / `SenderEmail`.
    email: String,
    /// `ReceiverProvince` / `SenderProvince`: VNPost postal code.
    province_code: i64,
    /// `ReceiverDistrict` / `SenderDistrict`: VNPost postal code.
    district_code: i64,
}

/// A `POST /v1/postal/orders` body, checked.
#[derive(Debug, Clone, PartialEq)]
struct Request {
    dossier_code: String,
    direction: Direction,
    citizen: Citizen,
    /// `SenderDesc`: what is in the parcel.
    contents: String,
    /// `Description`.
    description: String,
    /// `CODAmount`: integer VND collected on delivery.
    cod_amount: u64,
}

const MAX_TEXT: usize = 500;

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn store_problem(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "postal: store error");
    Problem::store_unavailable()
}

fn invalid(field: &str, detail: String) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_postal_order",
        "Invalid postal order",
        detail,
    )
    .with_extra("field", field)
}

fn not_found(number: &str) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "postal_order_not_found",
        "No such postal order",
        format!("Không có đơn bưu chính {number:?} của đơn vị này."),
    )
}

fn text(
    o: &serde_json::Map<String, Value>,
    key: &str,
    path: &str,
    required: bool,
) -> Result<String, Problem> {
    match o.get(key) {
        None | Some(Value::Null) if !required => Ok(String::new()),
        None | Some(Value::Null) => Err(invalid(path, format!("Thiếu trường {path}."))),
        Some(Value::String(s)) => {
            let s = s.trim();
            if required && s.is_empty() {
                return Err(invalid(path, format!("Trường {path} không được để trống.")));
            }
            if s.chars().count() > MAX_TEXT || s.chars().any(|c| c.is_control()) {
                return Err(invalid(
                    path,
                    format!("Trường {path} dài quá {MAX_TEXT} ký tự hoặc có ký tự điều khiển."),
                ));
            }
            Ok(s.to_owned())
        }
        Some(_) => Err(invalid(path, format!("Trường {path} phải là chuỗi."))),
    }
}

/// A VNPost postal code: given as a number, or as a GSO area code (text) found in `areas`
/// (`adapters.vnpost.area_postal_codes`).
fn postal_code(
    o: &serde_json::Map<String, Value>,
    key: &str,
    path: &str,
    areas: &std::collections::BTreeMap<String, i64>,
) -> Result<i64, Problem> {
    match o.get(key) {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(n) if (1..=999_999).contains(&n) => Ok(n),
            _ => Err(invalid(
                path,
                format!("Trường {path} phải là mã bưu chính VNPost (số nguyên dương)."),
            )),
        },
        Some(Value::String(area)) => areas.get(area.trim()).copied().ok_or_else(|| {
            invalid(
                path,
                format!(
                    "Mã địa bàn {area:?} ở trường {path} chưa có trong bảng đổi sang mã bưu chính VNPost (adapters.vnpost.area_postal_codes); gửi mã bưu chính (số) hoặc bổ sung bảng."
                ),
            )
        }),
        _ => Err(invalid(
            path,
            format!("Thiếu trường {path}: mã bưu chính VNPost (số) hoặc mã địa bàn hành chính (chuỗi)."),
        )),
    }
}

fn read_request(
    bytes: &[u8],
    areas: &std::collections::BTreeMap<String, i64>,
) -> Result<Request, Problem> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        Problem::bad_request(
            "invalid_json",
            format!("Nội dung yêu cầu không phải JSON hợp lệ: {e}."),
        )
    })?;
    let o = v
        .as_object()
        .ok_or_else(|| invalid("", "Nội dung yêu cầu phải là một đối tượng JSON.".into()))?;
    let dossier_code = text(o, "dossier_code", "dossier_code", true)?;
    let direction = o
        .get("direction")
        .and_then(Value::as_str)
        .and_then(Direction::parse)
        .ok_or_else(|| {
            invalid(
                "direction",
                "Trường direction phải là \"result_delivery\" (trả kết quả) hoặc \"dossier_pickup\" (gom hồ sơ).".into(),
            )
        })?;
    let c = o
        .get("citizen")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("citizen", "Thiếu thông tin người dân (citizen).".into()))?;
    let citizen = Citizen {
        name: text(c, "name", "citizen.name", true)?,
        address: text(c, "address", "citizen.address", true)?,
        phone: text(c, "phone", "citizen.phone", true)?,
        email: text(c, "email", "citizen.email", false)?,
        province_code: postal_code(c, "province_code", "citizen.province_code", areas)?,
        district_code: postal_code(c, "district_code", "citizen.district_code", areas)?,
    };
    let digits = citizen.phone.trim_start_matches('+');
    if !(9..=12).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "citizen.phone",
            "Số điện thoại người dân không hợp lệ (9–12 chữ số).".into(),
        ));
    }
    let cod_amount = match o.get("cod_amount") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_u64().filter(|n| *n <= 1_000_000_000).ok_or_else(|| {
            invalid(
                "cod_amount",
                "Tiền thu hộ (cod_amount) phải là số nguyên đồng, từ 0 đến 1 tỷ.".into(),
            )
        })?,
    };
    Ok(Request {
        contents: text(o, "contents", "contents", false)?,
        description: text(o, "description", "description", false)?,
        dossier_code,
        direction,
        citizen,
        cod_amount,
    })
}

impl Postal {
    /// Build the service: the NGSP client (starting the simulator on a loopback port when
    /// `simulate` is on).
    pub async fn connect(
        cfg: &VnpostCfg,
        store: Store,
        dossiers: Arc<Dossiers>,
    ) -> Result<Arc<Postal>, String> {
        let mut cfg = cfg.clone();
        let (endpoints, key, secret) = if cfg.simulate {
            if cfg.customer_code.is_empty() {
                cfg.customer_code = "VIDU_SNV".into();
            }
            let sim = lienthong_vnpost::sim::Sim::new(lienthong_vnpost::sim::SimConfig {
                customer_code: cfg.customer_code.clone(),
                step_interval_ms: cfg.simulate_step_ms,
                success_status: cfg
                    .success_status
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "200".into()),
                ..lienthong_vnpost::sim::SimConfig::default()
            });
            let url = crate::server::start_simulator("vnpost", |l| {
                lienthong_vnpost::sim::serve(sim, l, std::future::pending())
            })
            .await?;
            (Endpoints::under(&url), sim_key(), sim_secret())
        } else {
            let missing: Vec<&str> = [
                ("token_url", cfg.token_url.is_empty()),
                ("order_url", cfg.order_url.is_empty()),
                ("tracking_url", cfg.tracking_url.is_empty()),
                ("cancel_url", cfg.cancel_url.is_empty()),
                ("customer_code", cfg.customer_code.is_empty()),
                ("customer_key", cfg.customer_key.is_none()),
                ("secret_key", cfg.secret_key.is_none()),
            ]
            .into_iter()
            .filter_map(|(k, m)| m.then_some(k))
            .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "{} must be set (or simulate = true)",
                    missing.join(", ")
                ));
            }
            let resolve = |s: &Option<crate::config::SecretSource>| -> Result<Secret, String> {
                s.as_ref().ok_or("missing secret")?.resolve()
            };
            (
                Endpoints {
                    token: cfg.token_url.clone(),
                    order: cfg.order_url.clone(),
                    tracking: cfg.tracking_url.clone(),
                    cancel: cfg.cancel_url.clone(),
                },
                resolve(&cfg.customer_key)?,
                resolve(&cfg.secret_key)?,
            )
        };
        let mut http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms));
        if let Some(ca) = &cfg.ca_file {
            http = crate::edge::tls::trusting(http, ca)?;
        }
        let http = http.build().map_err(|e| format!("VNPost client: {e}"))?;
        let as_text = |s: &Secret, what: &str| {
            String::from_utf8(s.expose().to_vec()).map_err(|_| format!("{what}: not UTF-8"))
        };
        let client = Client::new(
            http,
            endpoints,
            &as_text(&key, "customer_key")?,
            &as_text(&secret, "secret_key")?,
            cfg.success_status.clone(),
            Duration::from_millis(cfg.timeout_ms),
        );
        if cfg.simulate && cfg.agency_name.is_empty() {
            cfg.agency_name = "Trung tâm Phục vụ hành chính công tỉnh Ví Dụ".into();
            cfg.agency_address = "Số 1 đường Mẫu, phường Thử Nghiệm, tỉnh Ví Dụ".into();
            cfg.agency_tel = "0299000001".into();
            cfg.agency_province = 99;
            cfg.agency_district = 9901;
        }
        Ok(Arc::new(Postal {
            store,
            dossiers,
            client,
            cfg,
            wake: Notify::new(),
            poll_now: Notify::new(),
        }))
    }

    /// The NGSP body of `req` as order `number`.
    fn wire_order(&self, req: &Request, number: &str) -> Order {
        let c = &self.cfg;
        let citizen = &req.citizen;
        let description = if req.description.is_empty() {
            match req.direction {
                Direction::ResultDelivery => format!("Trả kết quả hồ sơ {}", req.dossier_code),
                Direction::DossierPickup => format!("Gom hồ sơ {}", req.dossier_code),
            }
        } else {
            req.description.clone()
        };
        let mut o = Order {
            customer_code: c.customer_code.clone(),
            order_number: number.to_owned(),
            cod_amount: req.cod_amount as f64,
            sender_province: c.agency_province,
            sender_district: c.agency_district,
            sender_address: c.agency_address.clone(),
            sender_name: c.agency_name.clone(),
            sender_email: c.agency_email.clone(),
            sender_tel: c.agency_tel.clone(),
            sender_desc: req.contents.clone(),
            description,
            receiver_name: citizen.name.clone(),
            receiver_address: citizen.address.clone(),
            receiver_tel: citizen.phone.clone(),
            receiver_email: citizen.email.clone(),
            receiver_province: citizen.province_code,
            receiver_district: citizen.district_code,
        };
        if req.direction == Direction::DossierPickup {
            std::mem::swap(&mut o.sender_province, &mut o.receiver_province);
            std::mem::swap(&mut o.sender_district, &mut o.receiver_district);
            std::mem::swap(&mut o.sender_address, &mut o.receiver_address);
            std::mem::swap(&mut o.sender_name, &mut o.receiver_name);
            std::mem::swap(&mut o.sender_email, &mut o.receiver_email);
            std::mem::swap(&mut o.sender_tel, &mut o.receiver_tel);
        }
        o
    }

    /// `POST /v1/postal/orders`: `202` with the order when it is new, `200` with it when the
    /// same order was asked for before.
    pub async fn order(
        &self,
        caller: &Member,
        bytes: &[u8],
        request_id: &str,
    ) -> Result<(StatusCode, Value), Problem> {
        let req = read_request(bytes, &self.cfg.area_postal_codes)?;
        let dossier =
            sqlx::query("SELECT status, created_by, receiving_organ FROM dossiers WHERE code = $1")
                .bind(req.dossier_code.clone())
                .fetch_optional(self.store.pool())
                .await
                .map_err(store_problem)?;
        let dossier = match dossier {
            Some(r) if crate::dossiers::may_see(caller, &r).map_err(store_problem)? => r,
            _ => {
                return Err(invalid(
                    "dossier_code",
                    format!(
                        "Không có hồ sơ {:?} mà đơn vị này được xem; nộp hồ sơ trước khi gửi bưu chính.",
                        req.dossier_code
                    ),
                )
                .with_extra("code", "dossier_not_found"))
            }
        };
        let status: i64 = dossier.try_get("status").map_err(store_problem)?;
        if matches!(status, 3 | 7 | 8 | 10) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "dossier_closed",
                "Dossier closed",
                format!(
                    "Hồ sơ {} đang ở trạng thái {status} (đã kết thúc hoặc đã trả kết quả): không gửi bưu chính được.",
                    req.dossier_code
                ),
            ));
        }
        let number = match req.direction {
            Direction::ResultDelivery => req.dossier_code.clone(),
            Direction::DossierPickup => format!("{}{}", req.dossier_code, self.cfg.pickup_suffix),
        };
        let order = self.wire_order(&req, &number);
        let body = serde_json::to_string(&order).map_err(store_problem)?;
        let sha = hex::encode(openssl::sha::sha256(body.as_bytes()));
        let now = now_ms();
        let mut tx = self.store.begin_serial().await.map_err(store_problem)?;
        let inserted = sqlx::query(
            "INSERT INTO postal_orders (order_number, dossier_code, member, direction, request_sha256, body, state, job, attempts, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'queued', 'create', 0, $7, $7, $7) ON CONFLICT (order_number) DO NOTHING",
        )
        .bind(number.clone())
        .bind(req.dossier_code.clone())
        .bind(caller.id.clone())
        .bind(req.direction.as_str())
        .bind(sha.clone())
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(store_problem)?
        .rows_affected();
        if inserted == 0 {
            drop(tx);
            let same: Option<String> =
                sqlx::query("SELECT request_sha256 FROM postal_orders WHERE order_number = $1")
                    .bind(number.clone())
                    .fetch_optional(self.store.pool())
                    .await
                    .map_err(store_problem)?
                    .map(|r| r.try_get("request_sha256"))
                    .transpose()
                    .map_err(store_problem)?;
            if same.as_deref() == Some(sha.as_str()) {
                return Ok((StatusCode::OK, self.view(caller, &number).await?));
            }
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "postal_order_exists",
                "Postal order exists",
                format!(
                    "Đã có đơn bưu chính {number} cho hồ sơ này với nội dung khác; VNPost nhận mỗi mã đơn một lần. Huỷ hoặc xem đơn cũ (GET /v1/postal/orders/{number})."
                ),
            )
            .with_extra("order_number", number));
        }
        let notice = json!({ "order_number": number, "direction": req.direction.as_str(), "state": "queued" });
        let change = Change {
            member: &caller.id,
            dossier: &req.dossier_code,
            action: "postal.order",
            outcome: "accepted",
            request_id,
        };
        self.record_in(&mut tx, change, &notice, now).await?;
        tx.commit().await.map_err(store_problem)?;
        metrics::counter!("lienthong_postal_orders_total", "direction" => req.direction.as_str())
            .increment(1);
        let view = self.view(caller, &number).await;
        self.wake.notify_one();
        Ok((StatusCode::ACCEPTED, view?))
    }

    /// `GET /v1/postal/orders/{number}`: the order, its state and the carrier's events.
    pub async fn view(&self, caller: &Member, number: &str) -> Result<Value, Problem> {
        let pool = self.store.pool();
        let row = sqlx::query(
            "SELECT o.*, d.created_by, d.receiving_organ FROM postal_orders o JOIN dossiers d ON d.code = o.dossier_code WHERE o.order_number = $1",
        )
        .bind(number.to_owned())
        .fetch_optional(pool)
        .await
        .map_err(store_problem)?;
        let row = match row {
            Some(r)
                if r.try_get::<String, _>("member")
                    .is_ok_and(|m| m == caller.id)
                    || crate::dossiers::may_see(caller, &r).map_err(store_problem)? =>
            {
                r
            }
            _ => return Err(not_found(number)),
        };
        let events = sqlx::query(
            "SELECT event_id, status_code, status_message, item_code, event_time, pos_id, notes, received_at FROM postal_events WHERE order_number = $1 ORDER BY id",
        )
        .bind(number.to_owned())
        .fetch_all(pool)
        .await
        .map_err(store_problem)?;
        let view = || -> Result<Value, sqlx::Error> {
            let mut ev = Vec::new();
            for e in &events {
                let s = |k: &str| e.try_get::<String, _>(k);
                ev.push(json!({
                    "id": s("event_id")?,
                    "status_code": s("status_code")?,
                    "status_message": s("status_message")?,
                    "item_code": s("item_code")?,
                    "event_time": s("event_time")?,
                    "post_office": s("pos_id")?,
                    "notes": s("notes")?,
                    "received_at": crate::payments::fmt_ms(e.try_get("received_at")?),
                }));
            }
            let body: Value =
                serde_json::from_str(&row.try_get::<String, _>("body")?).unwrap_or(Value::Null);
            Ok(json!({
                "order_number": row.try_get::<String, _>("order_number")?,
                "dossier_code": row.try_get::<String, _>("dossier_code")?,
                "direction": row.try_get::<String, _>("direction")?,
                "state": row.try_get::<String, _>("state")?,
                "pending_call": match row.try_get::<String, _>("job")?.as_str() { "none" => Value::Null, j => json!(j) },
                "attempts": row.try_get::<i64, _>("attempts")?,
                "last_error": row.try_get::<Option<String>, _>("last_error")?,
                "carrier_status": row.try_get::<Option<String>, _>("carrier_status")?,
                "item_code": row.try_get::<Option<String>, _>("item_code")?,
                "order": body,
                "events": ev,
                "created_at": crate::payments::fmt_ms(row.try_get("created_at")?),
                "updated_at": crate::payments::fmt_ms(row.try_get("updated_at")?),
            }))
        };
        view().map_err(store_problem)
    }

    /// `POST /v1/postal/orders/{number}/cancel`: an order never sent is cancelled here; one VNPost
    /// may have gets a queued cancel call. Cancelling a cancelled order answers it again.
    pub async fn cancel(
        &self,
        caller: &Member,
        number: &str,
        request_id: &str,
    ) -> Result<(StatusCode, Value), Problem> {
        let current = self.view(caller, number).await?;
        let state = current["state"].as_str().unwrap_or_default().to_owned();
        let conflict = |code: &'static str, detail: String| {
            Err(Problem::new(
                StatusCode::CONFLICT,
                code,
                "Postal order cannot be cancelled",
                detail,
            )
            .with_extra("state", state.clone()))
        };
        match state.as_str() {
            "cancelled" | "cancelling" => return Ok((StatusCode::OK, current)),
            "delivered" => {
                return conflict(
                    "postal_order_delivered",
                    format!("Đơn {number} đã phát xong, không huỷ được."),
                )
            }
            "failed" => {
                return conflict(
                    "postal_order_failed",
                    format!("Đơn {number} chưa được VNPost nhận (gửi lỗi); không cần huỷ."),
                )
            }
            _ => {}
        }
        let now = now_ms();
        let mut tx = self.store.begin_serial().await.map_err(store_problem)?;
        // Never sent and not being sent: cancelled here. Otherwise VNPost is told.
        let local = sqlx::query(
            "UPDATE postal_orders SET state = 'cancelled', job = 'none', updated_at = $1 WHERE order_number = $2 AND state = 'queued' AND attempts = 0 AND (lease_until IS NULL OR lease_until < $1)",
        )
        .bind(now)
        .bind(number.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(store_problem)?
        .rows_affected();
        let queued = if local == 1 {
            0
        } else {
            sqlx::query(
                "UPDATE postal_orders SET state = 'cancelling', job = 'cancel', attempts = 0, next_attempt_at = $1, last_error = NULL, updated_at = $1 WHERE order_number = $2 AND state IN ('queued', 'sent') AND (lease_until IS NULL OR lease_until < $1)",
            )
            .bind(now)
            .bind(number.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(store_problem)?
            .rows_affected()
        };
        if local + queued == 0 {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "postal_order_busy",
                "Postal order busy",
                format!("Đơn {number} đang được gửi tới VNPost; thử huỷ lại sau ít giây."),
            )
            .with_header(axum::http::header::RETRY_AFTER, "5"));
        }
        let new_state = if local == 1 {
            "cancelled"
        } else {
            "cancelling"
        };
        let dossier = current["dossier_code"].as_str().unwrap_or_default();
        let notice = json!({ "order_number": number, "state": new_state });
        let change = Change {
            member: &caller.id,
            dossier,
            action: "postal.cancel",
            outcome: new_state,
            request_id,
        };
        self.record_in(&mut tx, change, &notice, now).await?;
        tx.commit().await.map_err(store_problem)?;
        self.wake.notify_one();
        Ok((StatusCode::ACCEPTED, self.view(caller, number).await?))
    }

    /// A member's change to an order, in `tx`: the installation's `postal.order` notice
    /// (`notice`, which also goes to the audit record) and the audit record.
    async fn record_in(
        &self,
        tx: &mut crate::store::Tx,
        c: Change<'_>,
        notice: &Value,
        now: i64,
    ) -> Result<(), Problem> {
        crate::notices::notify_in(tx, c.member, c.dossier, "postal.order", notice, now)
            .await
            .map_err(store_problem)?;
        let mut detail = notice.clone();
        detail["dossier"] = json!(c.dossier);
        crate::audit::append_all_in(
            tx,
            self.store.backend(),
            &[&crate::audit::Event {
                kind: "message",
                actor: c.member.to_owned(),
                action: c.action.into(),
                outcome: c.outcome.into(),
                request_id: c.request_id.to_owned(),
                detail,
            }],
        )
        .await
        .map_err(store_problem)?;
        Ok(())
    }

    /// Start the order queue and the tracking poller.
    pub fn spawn(
        self: Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let workers = self.cfg.workers.max(1);
        vec![
            tokio::spawn(crate::queue::run(self.clone(), workers, shutdown.clone())),
            tokio::spawn(self.run_tracker(shutdown)),
        ]
    }
}

/// Who changed which order how (for [`Postal::record_in`]).
struct Change<'a> {
    member: &'a str,
    dossier: &'a str,
    action: &'static str,
    outcome: &'a str,
    request_id: &'a str,
}

/// The simulator's Basic-auth pair (sandbox only).
fn sim_key() -> Secret {
    Secret::new(b"sandbox-key".to_vec())
}

fn sim_secret() -> Secret {
    Secret::new(b"sandbox-secret".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({
            "dossier_code": "000.00.20.H99-261123-0001",
            "direction": "result_delivery",
            "citizen": {
                "name": "Đỗ Thị Thử", "address": "Số 9 ngõ Giả Lập", "phone": "0900000003",
                "email": "thu@mail.example", "province_code": 99, "district_code": 9902
            },
            "contents": "Giấy xác nhận (01 bản chính)",
            "cod_amount": 0
        })
    }

    fn areas() -> std::collections::BTreeMap<String, i64> {
        [("99".to_owned(), 99), ("991".to_owned(), 9902)].into()
    }

    #[test]
    fn area_codes_map_to_postal_codes() {
        let mut b = body();
        b["citizen"]["province_code"] = json!("99");
        b["citizen"]["district_code"] = json!("991");
        let r = read_request(b.to_string().as_bytes(), &areas()).expect("mapped");
        assert_eq!(
            (r.citizen.province_code, r.citizen.district_code),
            (99, 9902)
        );
        b["citizen"]["district_code"] = json!("992");
        assert_eq!(refused(b), "invalid_postal_order:citizen.district_code");
    }

    fn refused(v: Value) -> String {
        match read_request(v.to_string().as_bytes(), &areas()) {
            Ok(_) => "accepted".into(),
            Err(p) => format!(
                "{}:{}",
                p.code,
                p.extra.get("field").and_then(Value::as_str).unwrap_or("")
            ),
        }
    }

    #[test]
    fn reads_a_good_order() {
        let r = read_request(body().to_string().as_bytes(), &areas()).expect("valid");
        assert_eq!(r.direction, Direction::ResultDelivery);
        assert_eq!(r.citizen.district_code, 9902);
        assert_eq!(r.cod_amount, 0);
    }

    #[test]
    fn refuses_bad_orders_naming_the_field() {
        let mut b = body();
        b["direction"] = json!("teleport");
        assert_eq!(refused(b), "invalid_postal_order:direction");
        let mut b = body();
        b["citizen"]["province_code"] = json!("Hà Nội");
        assert_eq!(refused(b), "invalid_postal_order:citizen.province_code");
        let mut b = body();
        b["citizen"]["phone"] = json!("09x");
        assert_eq!(refused(b), "invalid_postal_order:citizen.phone");
        let mut b = body();
        b["citizen"]["name"] = json!("  ");
        assert_eq!(refused(b), "invalid_postal_order:citizen.name");
        let mut b = body();
        b["cod_amount"] = json!(-5);
        assert_eq!(refused(b), "invalid_postal_order:cod_amount");
        let mut b = body();
        b["contents"] = json!("x".repeat(MAX_TEXT + 1));
        assert_eq!(refused(b), "invalid_postal_order:contents");
        assert_eq!(
            match read_request(b"{not json", &areas()) {
                Err(p) => p.code,
                Ok(_) => "accepted",
            },
            "invalid_json"
        );
    }
}
