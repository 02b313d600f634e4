//! Online fee payment through PayGov (`[adapters.paygov]`, `shared/domain/paygov.md`).
//!
//! - `POST /v1/payments`: a one-stop-shop installation starts a payment for one of its dossiers.
//!   The payment is recorded (`initiated`, with its merchant reference `MaThamChieu` and the
//!   init time status checks need) and committed **before** the platform is called, so a
//!   payment the platform knows is never unknown here.
//! - `POST /callbacks/paygov`: the platform's callback, checked in the platform's rule order
//!   ([`callback`]), applied once per `MaThamChieu` + `MaGiaoDich` (the answer is stored with
//!   the effect and given again to a duplicate), with the payment's history, the audit record,
//!   the dossier's step and the installation's notice in the same transaction.
//! - [`reconcile`]: payments without a final word are asked about with the status call.
//! - [`state`]: the state machine.

pub mod callback;
pub mod reconcile;
pub mod state;

use crate::audit::{self, Event};
use crate::config::{PaygovCfg, Secret};
use crate::dossiers::Dossiers;
use crate::edge::Problem;
use crate::members::Member;
use crate::store::{Store, StoreError, Tx};
use axum::http::StatusCode;
use callback::{Callback, Refusal};
use lienthong_contract::dossier::DossierStatus;
use lienthong_paygov::client::{Client, Paths};
use lienthong_paygov::wire::{self, Init, Partner};
use serde_json::{json, Map, Value};
use sqlx::Row;
use state::{Effect, Outcome, PayState};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The payment service.
pub struct Payments {
    store: Store,
    dossiers: Arc<Dossiers>,
    client: Client,
    cfg: PaygovCfg,
    secret: Secret,
    sources: Vec<Network>,
    /// Wakes the reconciler (tests shorten its windows; operators may ask for a pass).
    pub(crate) wake: tokio::sync::Notify,
}

/// An allowed callback source: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Network(IpAddr, u8);

impl Network {
    fn parse(s: &str) -> Result<Network, String> {
        let (addr, len) = s.split_once('/').unwrap_or((s, ""));
        let ip: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or network"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len = if len.is_empty() {
            max
        } else {
            len.parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("{s:?}: bad prefix length"))?
        };
        Ok(Network(ip, len))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let bits = |a: IpAddr| -> u128 {
            match a {
                IpAddr::V4(v) => u128::from(u32::from(v)) << 96,
                IpAddr::V6(v) => u128::from(v),
            }
        };
        if self.0.is_ipv4() != ip.is_ipv4() {
            return false;
        }
        let mask = if self.1 == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.1))
        };
        bits(self.0) & mask == bits(ip) & mask
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn vn_now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Utc::now().with_timezone(&crate::calendar::instant::VIETNAM)
}

fn store_problem(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "payments: store error");
    Problem::store_unavailable()
}

fn invalid(field: &str, detail: String) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_payment",
        "Invalid payment request",
        detail,
    )
    .with_extra("field", field)
}

fn not_found(reference: &str) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "payment_not_found",
        "No such payment",
        format!("Không có giao dịch thanh toán {reference:?} của đơn vị này."),
    )
}

/// A `POST /v1/payments` body, checked.
struct Request {
    dossier_code: String,
    amount: u64,
    description: String,
    fees: Vec<Value>,
}

fn read_request(bytes: &[u8]) -> Result<Request, Problem> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        Problem::bad_request(
            "invalid_json",
            format!("Nội dung yêu cầu không phải JSON hợp lệ: {e}."),
        )
    })?;
    let Value::Object(o) = v else {
        return Err(Problem::bad_request(
            "invalid_json",
            "Nội dung yêu cầu phải là một đối tượng JSON.",
        ));
    };
    const KNOWN: [&str; 4] = ["dossier_code", "amount", "description", "fees"];
    if let Some(k) = o.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(invalid(
            k,
            format!(
                "Trường {k:?} không được hỗ trợ; chỉ dùng dossier_code, amount, description, fees."
            ),
        ));
    }
    let text = |k: &str, max: usize| -> Result<String, Problem> {
        match o.get(k) {
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => {
                Ok(s.clone())
            }
            Some(Value::String(_)) => Err(invalid(
                k,
                format!("Trường {k} không được để trống và dài tối đa {max} ký tự."),
            )),
            Some(_) => Err(invalid(k, format!("Trường {k} phải là chuỗi."))),
            None => Err(invalid(k, format!("Thiếu trường {k}."))),
        }
    };
    let dossier_code = text("dossier_code", 64)?;
    let description = text("description", 210)?;
    let money = |v: Option<&Value>, field: &str| -> Result<u64, Problem> {
        v.and_then(Value::as_u64)
            .filter(|a| (1..=1_000_000_000_000).contains(a))
            .ok_or_else(|| {
                invalid(
                    field,
                    format!(
                        "{field} phải là số tiền nguyên dương tính bằng đồng (không có phần lẻ)."
                    ),
                )
            })
    };
    let amount = money(o.get("amount"), "amount")?;
    let fees =
        match o.get("fees") {
            None => Vec::new(),
            Some(Value::Array(a)) if a.len() <= 50 => a.clone(),
            Some(_) => return Err(invalid(
                "fees",
                "fees phải là danh sách (tối đa 50) các khoản {\"name\", \"amount\", \"code\"}."
                    .into(),
            )),
        };
    let mut sum = 0u64;
    for (i, f) in fees.iter().enumerate() {
        let field = format!("fees[{i}]");
        let Some(f) = f.as_object() else {
            return Err(invalid(&field, format!("{field} phải là một đối tượng.")));
        };
        if let Some(k) = f
            .keys()
            .find(|k| !["name", "amount", "code", "kind"].contains(&k.as_str()))
        {
            return Err(invalid(
                &format!("{field}.{k}"),
                format!("Trường {field}.{k} không được hỗ trợ."),
            ));
        }
        if !f
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.trim().is_empty())
        {
            return Err(invalid(
                &format!("{field}.name"),
                format!("Thiếu tên khoản phí {field}.name."),
            ));
        }
        sum = sum.saturating_add(money(f.get("amount"), &format!("{field}.amount"))?);
    }
    if !fees.is_empty() && sum != amount {
        return Err(invalid(
            "amount",
            format!("amount ({amount}) phải bằng tổng các khoản trong fees ({sum})."),
        ));
    }
    Ok(Request {
        dossier_code,
        amount,
        description,
        fees,
    })
}

/// The merchant reference: `dvc` + the dossier code without non-word characters + the init
/// time (the form one public client uses), with a counter when that is taken.
fn reference(code: &str, time: &str, n: u32) -> String {
    let word: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if n == 0 {
        format!("dvc{word}{time}")
    } else {
        format!("dvc{word}{time}{n:02}")
    }
}

/// Why a callback's transaction was undone.
enum CbError {
    Refused(Refusal),
    Store(StoreError),
}

impl From<sqlx::Error> for CbError {
    fn from(e: sqlx::Error) -> Self {
        CbError::Store(e.into())
    }
}

impl From<StoreError> for CbError {
    fn from(e: StoreError) -> Self {
        CbError::Store(e)
    }
}

impl From<Refusal> for CbError {
    fn from(r: Refusal) -> Self {
        CbError::Refused(r)
    }
}

/// What happened to one callback or status answer.
#[derive(Debug)]
enum Applied {
    Effect(Effect),
    Duplicate(Value),
}

impl Payments {
    /// Build the service: the platform client (starting the simulator on a loopback port when
    /// `simulate` is on, its callbacks sent to `callback_url`, trusting `callback_ca`).
    pub async fn connect(
        cfg: &PaygovCfg,
        store: Store,
        dossiers: Arc<Dossiers>,
        callback_url: &str,
        callback_ca: &std::path::Path,
    ) -> Result<Arc<Payments>, String> {
        let (base_url, partner_code, secret) = if cfg.simulate {
            let secret = b"sandbox-secret".to_vec();
            let partner = if cfg.partner_code.is_empty() {
                "VIDU01".to_owned()
            } else {
                cfg.partner_code.clone()
            };
            let http = crate::edge::tls::trusting(reqwest::Client::builder(), callback_ca)?
                .build()
                .map_err(|e| e.to_string())?;
            let sim = lienthong_paygov::sim::Sim::new(
                lienthong_paygov::sim::SimConfig {
                    partner: partner.clone(),
                    secret: secret.clone(),
                    callback_url: Some(callback_url.to_owned()),
                    callback_kind: "CONFIRM".into(),
                },
                http,
            );
            let url = crate::server::start_simulator("paygov", |l| {
                lienthong_paygov::sim::serve(sim, l, std::future::pending())
            })
            .await?;
            (url, partner, Secret::new(secret))
        } else {
            if cfg.base_url.is_empty() || cfg.partner_code.is_empty() {
                return Err("base_url and partner_code must be set (or simulate = true)".into());
            }
            let src = cfg
                .secret_source()
                .ok_or("secret (or secret_file) must be set")?;
            (
                cfg.base_url.clone(),
                cfg.partner_code.clone(),
                src.resolve()?,
            )
        };
        let sources = cfg
            .callback_sources
            .iter()
            .map(|s| Network::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("callback_sources: {e}"))?;
        let mut http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms));
        if let Some(ca) = &cfg.ca_file {
            http = crate::edge::tls::trusting(http, ca)?;
        }
        let http = http.build().map_err(|e| format!("PayGov client: {e}"))?;
        let bearer = match &cfg.access_token {
            Some(s) => Some(
                String::from_utf8(s.resolve()?.expose().to_vec())
                    .map_err(|_| "access_token: not UTF-8".to_owned())?,
            ),
            None => None,
        };
        let client = Client::new(
            http,
            &base_url,
            Partner {
                code: partner_code,
                secret: secret.expose().to_vec(),
                version: cfg.version.clone(),
                check_kind: cfg.check_kind.clone(),
            },
            Duration::from_millis(cfg.timeout_ms),
        )
        .with_paths(Paths {
            init: cfg.init_path.clone(),
            check: cfg.check_path.clone(),
            receipt: cfg.receipt_path.clone(),
        })
        .with_bearer(bearer);
        Ok(Arc::new(Payments {
            store,
            dossiers,
            client,
            cfg: cfg.clone(),
            secret,
            sources,
            wake: tokio::sync::Notify::new(),
        }))
    }

    fn partner(&self) -> &Partner {
        self.client.partner()
    }

    /// `POST /v1/payments`.
    pub async fn initiate(
        &self,
        caller: &Member,
        bytes: &[u8],
        request_id: &str,
    ) -> Result<Value, Problem> {
        let req = read_request(bytes)?;
        let dossier = sqlx::query(
            "SELECT procedure_code, receiving_organ, created_by, body FROM dossiers WHERE code = $1",
        )
        .bind(req.dossier_code.clone())
        .fetch_optional(self.store.pool())
        .await
        .map_err(store_problem)?
        .filter(|r| may_see(caller, r));
        let Some(dossier) = dossier else {
            return Err(invalid(
                "dossier_code",
                format!(
                    "Không có hồ sơ {:?} mà đơn vị này được xem; nộp hồ sơ trước khi thu phí.",
                    req.dossier_code
                ),
            )
            .with_extra("code", "dossier_not_found"));
        };
        let text = |k: &str| dossier.try_get::<String, _>(k).unwrap_or_default();
        let body: Value = serde_json::from_str(&text("body")).unwrap_or_default();
        let procedure = text("procedure_code");
        let names = self.dossiers.procedure_names();
        let time = wire::time(&vn_now());
        let receipt = json!({
            "MaDichVu": self.cfg.service_code,
            "MaDVC": format!("{procedure}.01"),
            "MaTTHC": procedure,
            "TenTTHC": names.get(&procedure).cloned().unwrap_or_default(),
            "MaDonVi": text("receiving_organ"),
            "MaHoSo": req.dossier_code,
            "NoiDungThanhToan": req.description,
            "HoTenNguoiNop": body["applicant"]["name"].as_str().unwrap_or_default(),
            "PhiLePhi": req.fees.iter().map(|f| json!({
                "LoaiPhiLePhi": f["kind"].as_str().unwrap_or_default(),
                "MaPhiLePhi": f["code"].as_str().unwrap_or_default(),
                "TenPhiLePhi": f["name"],
                "SoTien": f["amount"],
            })).collect::<Vec<_>>(),
        });
        // Recorded first: whatever happens to the call, the reference is known here.
        let now = now_ms();
        let mut reference_taken = None;
        for n in 0..100 {
            let r = reference(&req.dossier_code, &time, n);
            let mut tx = self.store.begin_serial().await.map_err(store_problem)?;
            let inserted = sqlx::query(
                "INSERT INTO payments (reference, dossier_code, member, amount, currency, description, fees, init_time, state, checks, next_check_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'VND', $5, $6, $7, 'initiated', 0, $8, $9, $9) ON CONFLICT (reference) DO NOTHING",
            )
            .bind(r.clone())
            .bind(req.dossier_code.clone())
            .bind(caller.id.clone())
            .bind(req.amount as i64)
            .bind(req.description.clone())
            .bind(Value::Array(req.fees.clone()).to_string())
            .bind(time.clone())
            .bind(now + (self.cfg.reconcile_after_secs as i64) * 1000)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(store_problem)?
            .rows_affected();
            if inserted == 0 {
                continue;
            }
            event_in(
                &mut tx,
                &r,
                now,
                "init",
                PayState::Initiated,
                None,
                &json!({}),
            )
            .await
            .map_err(store_problem)?;
            let ev = Event {
                kind: "message",
                actor: caller.id.clone(),
                action: "payment.init".into(),
                outcome: "accepted".into(),
                request_id: request_id.to_owned(),
                detail: json!({ "reference": r, "dossier": req.dossier_code, "amount": req.amount }),
            };
            audit::append_all_in(&mut tx, self.store.backend(), &[&ev])
                .await
                .map_err(store_problem)?;
            tx.commit().await.map_err(store_problem)?;
            reference_taken = Some(r);
            break;
        }
        let Some(reference) = reference_taken else {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "payment_reference_taken",
                "Payment reference taken",
                "Đã có quá nhiều giao dịch cho hồ sơ này trong cùng một giây; thử lại sau.",
            ));
        };
        let init = Init {
            reference: reference.clone(),
            amount: req.amount,
            description: req.description.clone(),
            time: time.clone(),
            ip: self.cfg.server_ip.clone(),
            receipt,
        };
        match self.client.init(&init).await {
            Ok(url) => {
                sqlx::query(
                    "UPDATE payments SET payment_url = $1, updated_at = $2 WHERE reference = $3",
                )
                .bind(url.clone())
                .bind(now_ms())
                .bind(reference.clone())
                .execute(self.store.pool())
                .await
                .map_err(store_problem)?;
                metrics::counter!("lienthong_payments_initiated_total").increment(1);
                Ok(json!({
                    "reference": reference,
                    "payment_url": url,
                    "state": "initiated",
                    "amount": req.amount,
                    "dossier_code": req.dossier_code,
                }))
            }
            Err(e) => {
                let refused = matches!(e, lienthong_paygov::client::Error::Refused { .. });
                // Refused: the platform has no such payment. Otherwise it may have one: keep it
                // initiated, reconciliation will ask.
                if refused {
                    let detail = json!({ "init_error": e.to_string() });
                    let mut tx = self.store.begin_serial().await.map_err(store_problem)?;
                    sqlx::query("UPDATE payments SET state = 'failed', updated_at = $1 WHERE reference = $2")
                        .bind(now_ms())
                        .bind(reference.clone())
                        .execute(&mut *tx)
                        .await
                        .map_err(store_problem)?;
                    event_in(
                        &mut tx,
                        &reference,
                        now_ms(),
                        "init",
                        PayState::Failed,
                        None,
                        &detail,
                    )
                    .await
                    .map_err(store_problem)?;
                    tx.commit().await.map_err(store_problem)?;
                }
                tracing::warn!(%reference, error = %e, "PayGov init failed");
                Err(Problem::new(
                    StatusCode::BAD_GATEWAY,
                    if refused { "paygov_refused" } else { "paygov_unavailable" },
                    "Payment platform error",
                    format!("Nền tảng thanh toán PayGov: {e}. Giao dịch {reference} chưa thể thanh toán; thử lại sau."),
                )
                .with_extra("reference", reference))
            }
        }
    }

    /// `GET /v1/payments/{reference}`: state, amounts and history.
    pub async fn view(&self, caller: &Member, reference: &str) -> Result<Value, Problem> {
        let pool = self.store.pool();
        let row = sqlx::query(
            "SELECT p.*, d.receiving_organ, d.created_by, (SELECT COUNT(*) FROM payment_receipts r WHERE r.reference = p.reference) AS receipts FROM payments p JOIN dossiers d ON d.code = p.dossier_code WHERE p.reference = $1",
        )
        .bind(reference.to_owned())
        .fetch_optional(pool)
        .await
        .map_err(store_problem)?
        .filter(|r| may_see(caller, r) || r.try_get::<String, _>("member").is_ok_and(|m| m == caller.id))
        .ok_or_else(|| not_found(reference))?;
        let history = sqlx::query(
            "SELECT at, source, state, txn_code, detail FROM payment_events WHERE reference = $1 ORDER BY id",
        )
        .bind(reference.to_owned())
        .fetch_all(pool)
        .await
        .map_err(store_problem)?;
        let view = || -> Result<Value, sqlx::Error> {
            let mut h = Vec::new();
            for e in &history {
                h.push(json!({
                    "at": fmt_ms(e.try_get("at")?),
                    "source": e.try_get::<String, _>("source")?,
                    "state": e.try_get::<String, _>("state")?,
                    "transaction_code": e.try_get::<Option<String>, _>("txn_code")?,
                    "detail": serde_json::from_str::<Value>(&e.try_get::<String, _>("detail")?).unwrap_or(Value::Null),
                }));
            }
            Ok(json!({
                "reference": row.try_get::<String, _>("reference")?,
                "dossier_code": row.try_get::<String, _>("dossier_code")?,
                "amount": row.try_get::<i64, _>("amount")?,
                "currency": row.try_get::<String, _>("currency")?,
                "description": row.try_get::<String, _>("description")?,
                "fees": serde_json::from_str::<Value>(&row.try_get::<String, _>("fees")?).unwrap_or(Value::Null),
                "state": row.try_get::<String, _>("state")?,
                "payment_url": row.try_get::<Option<String>, _>("payment_url")?,
                "transaction_code": row.try_get::<Option<String>, _>("txn_code")?,
                "status_checks": row.try_get::<i64, _>("checks")?,
                "receipt_stored": row.try_get::<i64, _>("receipts")? > 0,
                "created_at": fmt_ms(row.try_get("created_at")?),
                "updated_at": fmt_ms(row.try_get("updated_at")?),
                "history": h,
            }))
        };
        view().map_err(store_problem)
    }

    /// `GET /v1/payments/{reference}/receipt`: the platform's electronic receipt (PDF), fetched
    /// once and stored.
    pub async fn receipt(&self, caller: &Member, reference: &str) -> Result<Vec<u8>, Problem> {
        let v = self.view(caller, reference).await?;
        let pool = self.store.pool();
        if let Some(r) = sqlx::query("SELECT pdf FROM payment_receipts WHERE reference = $1")
            .bind(reference.to_owned())
            .fetch_optional(pool)
            .await
            .map_err(store_problem)?
        {
            return r.try_get::<Vec<u8>, _>("pdf").map_err(store_problem);
        }
        if v["state"] != "paid" {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "payment_not_paid",
                "Payment not paid",
                format!("Giao dịch {reference} chưa được thanh toán nên chưa có biên lai."),
            ));
        }
        let time: String = sqlx::query("SELECT init_time FROM payments WHERE reference = $1")
            .bind(reference.to_owned())
            .fetch_one(pool)
            .await
            .and_then(|r| r.try_get("init_time"))
            .map_err(store_problem)?;
        let pdf = self.client.receipt(reference, &time).await.map_err(|e| {
            Problem::new(
                StatusCode::BAD_GATEWAY,
                "paygov_unavailable",
                "Payment platform error",
                format!("Không lấy được biên lai từ PayGov: {e}. Thử lại sau."),
            )
        })?;
        sqlx::query("INSERT INTO payment_receipts (reference, pdf, fetched_at) VALUES ($1, $2, $3) ON CONFLICT (reference) DO NOTHING")
            .bind(reference.to_owned())
            .bind(pdf.clone())
            .bind(now_ms())
            .execute(pool)
            .await
            .map_err(store_problem)?;
        Ok(pdf)
    }

    /// `POST /callbacks/paygov`: the answer in the platform's format, and the refusal's code
    /// when it was refused.
    pub async fn callback(
        self: &Arc<Self>,
        remote: IpAddr,
        body: &[u8],
        request_id: &str,
    ) -> (Value, Option<&'static str>) {
        let received = serde_json::from_slice::<Map<String, Value>>(body).unwrap_or_default();
        let refuse = |r: Refusal| {
            metrics::counter!("lienthong_paygov_callbacks_total", "outcome" => r.code())
                .increment(1);
            tracing::warn!(code = r.code(), %remote, "PayGov callback refused");
            (r, wire::answer(false, &self.partner().code, &received))
        };
        let checked = (|| {
            if !self.sources.is_empty() && !self.sources.iter().any(|n| n.contains(remote)) {
                return Err(Refusal::Source(remote.to_string()));
            }
            let cb = callback::parse(body)?;
            callback::verify(&cb, &self.partner().code, self.secret.expose())?;
            Ok(cb)
        })();
        let cb = match checked {
            Ok(cb) => cb,
            Err(r) => {
                let (r, answer) = refuse(r);
                self.audit_refusal(&r, &received, remote, request_id).await;
                return (answer, Some(r.code()));
            }
        };
        let answer = self.answer(&cb);
        let this = self.clone();
        let (cb2, answer2, rid) = (cb.clone(), answer.clone(), request_id.to_owned());
        let done = self
            .store
            .batched(move |tx| {
                Box::pin(async move { this.callback_in(tx, &cb2, &answer2, &rid).await })
            })
            .await;
        match done {
            Ok(Ok(Applied::Duplicate(stored))) => {
                metrics::counter!("lienthong_paygov_callbacks_total", "outcome" => "duplicate")
                    .increment(1);
                (stored, None)
            }
            Ok(Ok(Applied::Effect(e))) => {
                let label = match e {
                    Effect::Move(_) => "applied",
                    Effect::Keep => "kept",
                    Effect::PaidTwice => "paid_twice",
                };
                metrics::counter!("lienthong_paygov_callbacks_total", "outcome" => label)
                    .increment(1);
                self.dossiers.wake_portal();
                (answer, None)
            }
            Ok(Err(CbError::Refused(r))) => {
                let (r, answer) = refuse(r);
                self.audit_refusal(&r, &received, remote, request_id).await;
                (answer, Some(r.code()))
            }
            Ok(Err(CbError::Store(e))) => {
                tracing::error!(error = %e, "PayGov callback: store error");
                (
                    wire::answer(false, &self.partner().code, &received),
                    Some("store_unavailable"),
                )
            }
            Err(e) => {
                // Not applied and not acknowledged: the platform will call again.
                tracing::error!(error = %e, "PayGov callback: store error");
                (
                    wire::answer(false, &self.partner().code, &received),
                    Some("store_unavailable"),
                )
            }
        }
    }

    /// The `00` answer to a verified callback.
    fn answer(&self, cb: &Callback) -> Value {
        let mut a = wire::answer(true, &self.partner().code, &cb.fields);
        if self.cfg.sign_answers {
            if let Value::Object(m) = &mut a {
                lienthong_paygov::checksum::sign(
                    m,
                    &["MaLoi", "MaDoiTac", "MaThamChieu", "ThoiGianGD"],
                    self.secret.expose(),
                );
            }
        }
        a
    }

    async fn audit_refusal(
        &self,
        r: &Refusal,
        received: &Map<String, Value>,
        remote: IpAddr,
        request_id: &str,
    ) {
        let text = |k: &str| {
            received
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let ev = Event {
            kind: "message",
            actor: "paygov".into(),
            action: "payment.callback".into(),
            outcome: format!("deny:{}", r.code()),
            request_id: request_id.to_owned(),
            detail: json!({
                "reference": text("MaThamChieu"),
                "transaction": text("MaGiaoDich"),
                "remote": remote.to_string(),
            }),
        };
        if let Err(e) = audit::append(&self.store, &ev).await {
            tracing::error!(error = %e, "audit append failed");
        }
    }

    /// Steps 2–5 of the platform's rule, in one transaction.
    async fn callback_in(
        &self,
        tx: &mut Tx,
        cb: &Callback,
        answer: &Value,
        request_id: &str,
    ) -> Result<Applied, CbError> {
        let reference = cb.text("MaThamChieu");
        let txn = cb.text("MaGiaoDich");
        let row = sqlx::query("SELECT amount, currency FROM payments WHERE reference = $1")
            .bind(reference.clone())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(CbError::Refused(Refusal::UnknownReference))?;
        let amount: i64 = row.try_get("amount")?;
        let currency: String = row.try_get("currency")?;
        if !callback::amount_is(&cb.text("SoTien"), amount as u64) {
            return Err(Refusal::Amount.into());
        }
        if cb.text("MaTienTe") != currency {
            return Err(Refusal::Currency.into());
        }
        let claimed = sqlx::query(
            "INSERT INTO payment_callbacks (reference, txn_code, sha256, answer, received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (reference, txn_code) DO NOTHING",
        )
        .bind(reference.clone())
        .bind(txn.clone())
        .bind(cb.digest())
        .bind(answer.to_string())
        .bind(now_ms())
        .execute(&mut **tx)
        .await
        ?
        .rows_affected();
        if claimed == 0 {
            let prev = sqlx::query(
                "SELECT sha256, answer FROM payment_callbacks WHERE reference = $1 AND txn_code = $2",
            )
            .bind(reference.clone())
            .bind(txn.clone())
            .fetch_one(&mut **tx)
            .await
            ?;
            let sha: String = prev.try_get("sha256")?;
            if sha != cb.digest() {
                tracing::warn!(%reference, %txn, "PayGov callback: a different message under a transaction code already answered; the first one stands");
            }
            let stored: String = prev.try_get("answer")?;
            return Ok(Applied::Duplicate(
                serde_json::from_str(&stored).unwrap_or(Value::Null),
            ));
        }
        let ma_loi = cb.text("MaLoi");
        let outcome = if cb.paid() {
            Outcome::Paid
        } else {
            Outcome::Failed
        };
        let mut detail = json!({ "MaLoi": ma_loi, "ThoiGianGD": cb.text("ThoiGianGD"), "MaNganHang": cb.text("MaNganHang") });
        if !cb.paid() && ma_loi != "99" {
            // Codes other than 00/99 are not published: failed, and flagged for review.
            detail["review"] = json!(format!("unknown MaLoi {ma_loi:?}"));
        }
        let effect = self
            .apply_in(
                tx, &reference, outcome, &txn, "callback", &detail, request_id,
            )
            .await?;
        Ok(Applied::Effect(effect))
    }

    /// Apply a verified outcome to a payment: state, history, audit, the dossier's step and the
    /// installation's notice, all in `tx`.
    #[allow(clippy::too_many_arguments)]
    async fn apply_in(
        &self,
        tx: &mut Tx,
        reference: &str,
        outcome: Outcome,
        txn: &str,
        source: &str,
        detail: &Value,
        request_id: &str,
    ) -> Result<Effect, StoreError> {
        let row = sqlx::query(
            "SELECT state, txn_code, amount, dossier_code, member FROM payments WHERE reference = $1",
        )
        .bind(reference.to_owned())
        .fetch_one(&mut **tx)
        .await?;
        let state_text: String = row.try_get("state")?;
        let from = PayState::parse(&state_text).ok_or_else(|| {
            StoreError::Io(format!("payment {reference}: bad state {state_text}"))
        })?;
        let applied: Option<String> = row.try_get("txn_code")?;
        let dossier: String = row.try_get("dossier_code")?;
        let member: String = row.try_get("member")?;
        let amount: i64 = row.try_get("amount")?;
        let effect = state::apply(from, applied.as_deref(), outcome, txn);
        let now = now_ms();
        let to = match effect {
            Effect::Move(to) => to,
            Effect::Keep if source == "check" => return Ok(effect),
            Effect::Keep | Effect::PaidTwice => from,
        };
        let mut detail = detail.clone();
        detail["effect"] = json!(match effect {
            Effect::Move(_) => "moved",
            Effect::Keep => "kept",
            Effect::PaidTwice => "paid_twice",
        });
        if let Effect::Move(to) = effect {
            let txn_set = (outcome != Outcome::Pending).then(|| txn.to_owned());
            let moved = sqlx::query(
                "UPDATE payments SET state = $1, txn_code = COALESCE($2, txn_code), updated_at = $3 WHERE reference = $4 AND state = $5",
            )
            .bind(to.as_str())
            .bind(txn_set)
            .bind(now)
            .bind(reference.to_owned())
            .bind(from.as_str())
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if moved != 1 {
                return Err(StoreError::Io(format!(
                    "payment {reference} changed under us"
                )));
            }
        }
        let txn_opt = (!txn.is_empty()).then_some(txn);
        event_in(tx, reference, now, source, to, txn_opt, &detail).await?;
        let mut notice = json!({
            "reference": reference,
            "amount": amount,
            "state": to.as_str(),
            "transaction_code": txn_opt,
            "source": source,
        });
        if effect == Effect::PaidTwice {
            notice["review"] = json!("paid twice: an operator must refund one");
        }
        if effect == Effect::Move(PayState::Paid) && self.cfg.paid_status != 0 {
            let status = sqlx::query("SELECT status FROM dossiers WHERE code = $1")
                .bind(dossier.clone())
                .fetch_one(&mut **tx)
                .await?
                .try_get::<i64, _>("status")?;
            let to_status = DossierStatus::from_code(i64::from(self.cfg.paid_status));
            if let (Some(DossierStatus::FinancialObligation), Some(to_status)) =
                (DossierStatus::from_code(status), to_status)
            {
                let note = format!("Đã nộp phí qua PayGov, mã giao dịch {txn}");
                if let Some(seq) = self
                    .dossiers
                    .advance_in(tx, &dossier, to_status, "paygov", request_id, &note)
                    .await?
                {
                    notice["dossier_status"] = json!(to_status.code());
                    notice["dossier_seq"] = json!(seq);
                }
            }
        }
        let kind = match (effect, to) {
            (Effect::PaidTwice, _) => "payment.review",
            (_, PayState::Paid) => "payment.paid",
            (_, PayState::Failed) => "payment.failed",
            (_, PayState::Pending) => "payment.pending",
            (_, PayState::Review) => "payment.review",
            (_, PayState::Initiated) => "payment.initiated",
        };
        if effect != Effect::Keep {
            crate::notices::notify_in(tx, &member, &dossier, kind, &notice, now).await?;
        }
        let ev = Event {
            kind: "message",
            actor: "paygov".into(),
            action: format!("payment.{source}"),
            outcome: format!(
                "{}:{}",
                detail["effect"].as_str().unwrap_or(""),
                to.as_str()
            ),
            request_id: request_id.to_owned(),
            detail: json!({ "reference": reference, "transaction": txn, "dossier": dossier }),
        };
        audit::append_all_in(tx, self.store.backend(), &[&ev]).await?;
        Ok(effect)
    }
}

/// One line of a payment's history.
async fn event_in(
    tx: &mut Tx,
    reference: &str,
    at: i64,
    source: &str,
    state: PayState,
    txn: Option<&str>,
    detail: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payment_events (reference, at, source, state, txn_code, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(reference.to_owned())
    .bind(at)
    .bind(source.to_owned())
    .bind(state.as_str())
    .bind(txn.map(str::to_owned))
    .bind(detail.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn may_see(member: &Member, row: &sqlx::any::AnyRow) -> bool {
    let by: String = row.try_get("created_by").unwrap_or_default();
    let organ: String = row.try_get("receiving_organ").unwrap_or_default();
    by == member.id
        || lienthong_contract::OrganId::parse(&organ).is_ok_and(|o| member.speaks_for(&o))
}

pub(crate) fn fmt_ms(ms: i64) -> String {
    crate::calendar::instant::format(
        &chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&crate::calendar::instant::VIETNAM),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_follow_the_public_clients_form() {
        assert_eq!(
            reference("000.00.12.H99-20260302-0000123", "20260302143000", 0),
            "dvc0000012H9920260302000012320260302143000"
        );
        assert!(reference("A-1", "20260302143000", 3).ends_with("03"));
    }

    #[test]
    fn callback_sources() {
        let n = Network::parse("10.1.0.0/16").unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.9.9".parse().unwrap()));
        let one = Network::parse("203.0.113.7").unwrap();
        assert!(one.contains("203.0.113.7".parse().unwrap()));
        assert!(!one.contains("203.0.113.8".parse().unwrap()));
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("example.org").is_err());
    }

    #[test]
    fn requests_are_read_strictly() {
        let ok = read_request(br#"{"dossier_code":"X-1","amount":50000,"description":"Le phi","fees":[{"name":"Le phi","amount":50000}]}"#).unwrap();
        assert_eq!((ok.amount, ok.fees.len()), (50_000, 1));
        let field = |b: &[u8]| read_request(b).err().map(|p| p.extra["field"].clone());
        assert_eq!(
            field(br#"{"dossier_code":"X","amount":1.5,"description":"d"}"#),
            Some(json!("amount"))
        );
        assert_eq!(
            field(br#"{"dossier_code":"X","amount":-1,"description":"d"}"#),
            Some(json!("amount"))
        );
        assert_eq!(field(br#"{"dossier_code":"X","amount":10,"description":"d","fees":[{"name":"a","amount":5}]}"#), Some(json!("amount")));
        assert_eq!(
            field(br#"{"dossier_code":"X","amount":10,"description":"","x":1}"#),
            Some(json!("x"))
        );
        assert_eq!(
            field(br#"{"amount":10,"description":"d"}"#),
            Some(json!("dossier_code"))
        );
    }
}
