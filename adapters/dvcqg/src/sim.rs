//! A simulator of the portal's session adapter: the same endpoints and answers as the real one
//! (login, `TraCuuHoSo`, `DongBoHoSoMC`, `CapNhatTienDoHoSoMC`, `LayThuTuc`, the online
//! dossier list), checking what it is sent the way a strict portal would, and faults on demand.
//!
//! Control endpoints under `/_sim/` (never called by the gateway): the journal of every call,
//! the dossiers it holds, scripted faults, expiring every session, injecting online dossiers,
//! and the protocol violations it saw (a progress step for a dossier it does not know, a
//! progress step whose status differs from the dossier's synced status, a create for a dossier
//! it already has, …).

use crate::wire::{parse_date, Answer, Login, OnlineDossier, WireDossier, WireProgress};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The simulator's settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub auth_endpoint: String,
    pub integration_endpoint: String,
    pub username: String,
    pub password: String,
    /// A session expires this long after login.
    pub session_ttl: Duration,
    /// `error_code` of an unknown or expired session.
    pub session_error_code: i64,
    /// Name of the online dossier list service.
    pub online_service: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            auth_endpoint: "/auth".into(),
            integration_endpoint: "/integration".into(),
            username: "lienthong".into(),
            password: "sandbox-password".into(),
            session_ttl: Duration::from_secs(1800),
            session_error_code: 401,
            online_service: "LayDanhSachHoSoTrucTuyen".into(),
        }
    }
}

/// A scripted fault: applies to the next `times` calls of `service` (any call, login included,
/// when absent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default = "one")]
    pub times: u32,
    /// Answer this non-zero `error_code` (HTTP 200) instead of doing the work.
    #[serde(default)]
    pub error_code: Option<i64>,
    /// Answer this HTTP status with a plain-text body.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Wait this long before handling the call (longer than the client's timeout: a timeout).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// With `delay_ms`: do the work after the delay (the client may have given up already:
    /// the "answered too late" case). Default: the work is not done.
    #[serde(default)]
    pub then_apply: bool,
}

fn one() -> u32 {
    1
}

/// One call as the simulator saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    pub n: u64,
    /// `login` or the service name.
    pub service: String,
    pub madonvi: String,
    pub session_valid: bool,
    pub error_code: i64,
    /// The request body, session and password removed.
    pub body: Value,
}

#[derive(Default)]
struct World {
    sessions: HashMap<String, Instant>,
    dossiers: BTreeMap<String, WireDossier>,
    progress: BTreeMap<String, Vec<WireProgress>>,
    procedures: BTreeMap<String, Value>,
    online: Vec<OnlineDossier>,
    journal: Vec<Call>,
    faults: VecDeque<Fault>,
    violations: Vec<String>,
    counter: u64,
}

/// The simulator: shared state behind its HTTP routes.
pub struct Sim {
    cfg: SimConfig,
    world: Mutex<World>,
}

const DOSSIER_KEYS: &[&str] = &[
    "MaHoSo",
    "MaTTHC",
    "TenTTHC",
    "MaLinhVuc",
    "TenLinhVuc",
    "ChuHoSo",
    "LoaiDoiTuong",
    "MaDoiTuong",
    "ThongTinKhac",
    "Email",
    "Fax",
    "SoDienThoai",
    "TrichYeuHoSo",
    "NgayTiepNhan",
    "NgayHenTra",
    "TrangThaiHoSo",
    "NgayTra",
    "ThongTinTra",
    "HinhThuc",
    "NgayKetThucXuLy",
    "DonViXuLy",
    "GhiChu",
    "TaiLieuNop",
    "DanhSachLePhi",
    "DanhSachTepDinhKemKhac",
    "DanhSachHoSoBoSung",
    "DanhSachGiayToKetQua",
];
const PROGRESS_KEYS: &[&str] = &[
    "MaHoSo",
    "NguoiXuLy",
    "ChucDanh",
    "ThoiDiemXuLy",
    "PhongBanXuLy",
    "NoiDungXuLy",
    "TrangThai",
    "NgayBatDau",
    "NgayKetThucTheoQuyDinh",
];

/// Checks an object has exactly the expected keys, every value a string (or a list for the
/// lists) and dates in `yyyyMMddHHmmss` (empty allowed where `optional_dates` says).
fn check_object(
    v: &Value,
    keys: &[&str],
    dates: &[&str],
    optional_dates: &[&str],
) -> Result<(), String> {
    let o = v.as_object().ok_or("cần một đối tượng")?;
    for k in keys {
        let Some(x) = o.get(*k) else {
            return Err(format!("thiếu trường {k}"));
        };
        let list = k.starts_with("TaiLieu") || k.starts_with("DanhSach");
        if list && !x.is_array() || !list && !x.is_string() {
            return Err(format!("trường {k} sai kiểu"));
        }
    }
    if let Some(k) = o.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(format!("trường không biết: {k}"));
    }
    for k in dates.iter().chain(optional_dates) {
        let s = o.get(*k).and_then(Value::as_str).unwrap_or("");
        let allowed_empty = optional_dates.contains(k);
        if !(s.is_empty() && allowed_empty) && parse_date(s).is_none() {
            return Err(format!("{k} không đúng định dạng yyyyMMddHHmmss: {s:?}"));
        }
    }
    Ok(())
}

fn status_of(s: &str) -> Option<u8> {
    s.parse::<u8>().ok().filter(|c| (1..=10).contains(c))
}

fn answer(code: i64, message: &str, result: Option<Value>) -> Response {
    Json(Answer {
        error_code: code,
        message: (!message.is_empty()).then(|| message.to_owned()),
        session: None,
        result,
    })
    .into_response()
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Arc<Sim> {
        let mut world = World::default();
        for (code, name, days) in [
            ("1.009999", "Thủ tục mẫu cấp giấy xác nhận thử nghiệm", 10),
            ("1.001234", "Thủ tục mẫu đăng ký thử nghiệm", 15),
            ("2.000001", "Thủ tục mẫu cấp phép thử nghiệm", 20),
        ] {
            world
                .procedures
                .insert(code.into(), procedure(code, name, days));
        }
        Arc::new(Sim {
            cfg,
            world: Mutex::new(world),
        })
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// The routes: the portal's two endpoints and `/_sim/…`.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(&self.cfg.auth_endpoint, post(login))
            .route(&self.cfg.integration_endpoint, post(integration))
            .route("/_sim/journal", get(journal))
            .route("/_sim/dossiers/{code}", get(dossier))
            .route("/_sim/faults", post(add_faults).delete(clear_faults))
            .route("/_sim/expire", post(expire))
            .route("/_sim/online", post(add_online))
            .route("/_sim/violations", get(violations))
            .with_state(self.clone())
    }

    /// Serve on `listener` until the future completes.
    pub async fn serve(
        self: &Arc<Self>,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// The next fault for `service`, if one is scripted.
    fn fault(&self, service: &str) -> Option<Fault> {
        let mut w = self.world();
        let i = w
            .faults
            .iter()
            .position(|f| f.service.as_deref().is_none_or(|s| s == service))?;
        let f = w.faults[i].clone();
        if w.faults[i].times <= 1 {
            w.faults.remove(i);
        } else {
            w.faults[i].times -= 1;
        }
        Some(f)
    }

    fn record(&self, service: &str, madonvi: &str, valid: bool, code: i64, mut body: Value) {
        if let Some(o) = body.as_object_mut() {
            o.remove("session");
            o.remove("password");
        }
        let mut w = self.world();
        w.counter += 1;
        let n = w.counter;
        w.journal.push(Call {
            n,
            service: service.into(),
            madonvi: madonvi.into(),
            session_valid: valid,
            error_code: code,
            body,
        });
    }

    /// The work of one call, once the session is known good: (error_code, message, result).
    fn handle(&self, service: &str, body: &Value) -> (i64, String, Option<Value>) {
        let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let mut w = self.world();
        match service {
            "TraCuuHoSo" => {
                let code = text("mahoso");
                let found: Vec<Value> = w
                    .dossiers
                    .get(&code)
                    .map(|d| serde_json::to_value(d).unwrap_or_default())
                    .into_iter()
                    .collect();
                (0, String::new(), Some(Value::Array(found)))
            }
            "DongBoHoSoMC" => {
                let updating = match text("isUpdating").as_str() {
                    "True" => true,
                    "False" => false,
                    other => {
                        return (
                            2,
                            format!("isUpdating phải là \"True\" hoặc \"False\", nhận {other:?}"),
                            None,
                        )
                    }
                };
                let Some(list) = body.get("data").and_then(Value::as_array) else {
                    return (2, "thiếu danh sách data".into(), None);
                };
                let mut parsed = Vec::new();
                for v in list {
                    if let Err(e) = check_object(
                        v,
                        DOSSIER_KEYS,
                        &["NgayTiepNhan", "NgayHenTra"],
                        &["NgayTra", "NgayKetThucXuLy"],
                    ) {
                        return (2, e, None);
                    }
                    let Ok(d) = serde_json::from_value::<WireDossier>(v.clone()) else {
                        return (2, "hồ sơ không đọc được".into(), None);
                    };
                    if status_of(&d.status).is_none() {
                        return (2, format!("TrangThaiHoSo sai: {:?}", d.status), None);
                    }
                    let known = w.dossiers.contains_key(&d.code);
                    if known != updating {
                        let why = if known {
                            format!("hồ sơ {} đã tồn tại (isUpdating=False)", d.code)
                        } else {
                            format!("hồ sơ {} chưa có trên cổng (isUpdating=True)", d.code)
                        };
                        w.violations.push(format!("DongBoHoSoMC: {why}"));
                        return (3, why, None);
                    }
                    parsed.push(d);
                }
                for d in parsed {
                    w.dossiers.insert(d.code.clone(), d);
                }
                (0, String::new(), Some(json!([])))
            }
            "CapNhatTienDoHoSoMC" => {
                let Some(list) = body.get("data").and_then(Value::as_array) else {
                    return (2, "thiếu danh sách data".into(), None);
                };
                let mut parsed = Vec::new();
                for v in list {
                    if let Err(e) = check_object(
                        v,
                        PROGRESS_KEYS,
                        &["ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh"],
                        &[],
                    ) {
                        return (2, e, None);
                    }
                    let Ok(p) = serde_json::from_value::<WireProgress>(v.clone()) else {
                        return (2, "tiến độ không đọc được".into(), None);
                    };
                    let Some(d) = w.dossiers.get(&p.code) else {
                        let why = format!("tiến độ cho hồ sơ {} chưa được đồng bộ", p.code);
                        w.violations.push(format!("CapNhatTienDoHoSoMC: {why}"));
                        return (3, why, None);
                    };
                    if d.status != p.status {
                        let why = format!(
                            "tiến độ trạng thái {} cho hồ sơ {} đang ở trạng thái {} trên cổng",
                            p.status, p.code, d.status
                        );
                        w.violations.push(format!("CapNhatTienDoHoSoMC: {why}"));
                    }
                    parsed.push(p);
                }
                for p in parsed {
                    w.progress.entry(p.code.clone()).or_default().push(p);
                }
                (0, String::new(), Some(json!([])))
            }
            "LayThuTuc" => match w.procedures.get(&text("maTTHC")) {
                Some(p) => (0, String::new(), Some(json!([p]))),
                None => (
                    4,
                    format!("không tìm thấy thủ tục {}", text("maTTHC")),
                    None,
                ),
            },
            s if s == self.cfg.online_service => {
                let after: i64 = text("sauId").parse().unwrap_or(0);
                let limit: usize = text("soLuong").parse().unwrap_or(50).clamp(1, 500);
                let page: Vec<&OnlineDossier> = w
                    .online
                    .iter()
                    .filter(|o| o.id > after)
                    .take(limit)
                    .collect();
                (0, String::new(), Some(json!(page)))
            }
            other => (5, format!("dịch vụ {other} không tồn tại"), None),
        }
    }
}

fn procedure(code: &str, name: &str, days: u32) -> Value {
    json!({
        "MATTHC": code,
        "TENTTHC": name,
        "MALINHVUC": "VD01",
        "LINHVUCTHUCHIEN": "Lĩnh vực thử nghiệm",
        "CACHTHUCTHUCHIEN": [{
            "KENH": "1",
            "THOIGIAN": [{ "THOIGIANGIAIQUYET": days.to_string(), "DONVITINH": "Ngày làm việc", "PHILEPHI": [] }]
        }],
        "THANHPHANHOSO": [],
        "KETQUATHUCHIEN": [],
        "CANCUPHAPLY": [],
        "COQUANTHUCHIEN": [],
    })
}

async fn apply_fault(f: &Fault) -> Option<Response> {
    if let Some(ms) = f.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if !f.then_apply && f.error_code.is_none() && f.http_status.is_none() {
            return Some(answer(99, "hết thời gian xử lý", None));
        }
    }
    if let Some(s) = f.http_status {
        let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Some((status, "Service Unavailable (simulated)").into_response());
    }
    f.error_code
        .map(|c| answer(c, "lỗi giả lập của cổng DVCQG", None))
}

async fn login(State(sim): State<Arc<Sim>>, body: axum::body::Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(f) = sim.fault("login") {
        if let Some(r) = apply_fault(&f).await {
            sim.record("login", "", false, -1, v);
            return r;
        }
    }
    let ok = serde_json::from_value::<Login>(v.clone())
        .is_ok_and(|l| l.username == sim.cfg.username && l.password == sim.cfg.password);
    if !ok {
        sim.record("login", "", false, 1, v);
        return answer(1, "sai tên đăng nhập hoặc mật khẩu", None);
    }
    let token = {
        let mut w = sim.world();
        w.counter += 1;
        let t = format!("S{}-{}", w.counter, std::process::id());
        w.sessions
            .insert(t.clone(), Instant::now() + sim.cfg.session_ttl);
        t
    };
    sim.record("login", "", true, 0, v);
    Json(Answer {
        error_code: 0,
        message: None,
        session: Some(token),
        result: None,
    })
    .into_response()
}

async fn integration(State(sim): State<Arc<Sim>>, body: axum::body::Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid JSON").into_response();
    };
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let (service, madonvi, session) = (text("service"), text("madonvi"), text("session"));
    let valid = {
        let mut w = sim.world();
        let now = Instant::now();
        w.sessions.retain(|_, exp| *exp > now);
        w.sessions.contains_key(&session)
    };
    if !valid {
        sim.record(&service, &madonvi, false, sim.cfg.session_error_code, v);
        return answer(
            sim.cfg.session_error_code,
            "phiên làm việc không hợp lệ hoặc đã hết hạn",
            None,
        );
    }
    if let Some(f) = sim.fault(&service) {
        if let Some(r) = apply_fault(&f).await {
            sim.record(&service, &madonvi, true, f.error_code.unwrap_or(-1), v);
            return r;
        }
    }
    if madonvi.is_empty() {
        sim.record(&service, &madonvi, true, 2, v);
        return answer(2, "thiếu madonvi", None);
    }
    let (code, message, result) = sim.handle(&service, &v);
    sim.record(&service, &madonvi, true, code, v);
    answer(code, &message, result)
}

async fn journal(State(sim): State<Arc<Sim>>) -> Json<Vec<Call>> {
    Json(sim.world().journal.clone())
}

async fn dossier(State(sim): State<Arc<Sim>>, Path(code): Path<String>) -> Response {
    let w = sim.world();
    match w.dossiers.get(&code) {
        Some(d) => Json(json!({
            "dossier": d,
            "progress": w.progress.get(&code).cloned().unwrap_or_default(),
        }))
        .into_response(),
        None => (StatusCode::NOT_FOUND, "no such dossier").into_response(),
    }
}

async fn add_faults(State(sim): State<Arc<Sim>>, Json(list): Json<Vec<Fault>>) -> StatusCode {
    sim.world().faults.extend(list);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.world().faults.clear();
    StatusCode::NO_CONTENT
}

async fn expire(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.world().sessions.clear();
    StatusCode::NO_CONTENT
}

/// `POST /_sim/online` `{"organ": "...", "submitted_at": "yyyyMMddHHmmss", "dossier": {…}}`.
#[derive(Deserialize)]
struct NewOnline {
    organ: String,
    #[serde(default)]
    submitted_at: String,
    dossier: WireDossier,
}

async fn add_online(State(sim): State<Arc<Sim>>, Json(n): Json<NewOnline>) -> Json<Value> {
    let mut w = sim.world();
    let id = w.online.len() as i64 + 1;
    // The portal knows its own online dossiers: a later sync of one is an update.
    w.dossiers.insert(n.dossier.code.clone(), n.dossier.clone());
    w.online.push(OnlineDossier {
        id,
        organ: n.organ,
        submitted_at: n.submitted_at,
        dossier: n.dossier,
    });
    Json(json!({ "Id": id }))
}

async fn violations(State(sim): State<Arc<Sim>>) -> Json<Vec<String>> {
    Json(sim.world().violations.clone())
}
