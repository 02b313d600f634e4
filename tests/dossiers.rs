//! Dossiers end to end, through the real gateway: one-stop-shop clients in the OpenCPS-style and
//! iGate-style dialects (and one speaking the canonical JSON) file dossiers and move them
//! 2 → 4 → 9 → 10; due times come from the working calendar; bad input is refused with its own
//! code, naming the wire field, and leaves nothing in the store.

mod common;
#[path = "common/problem.rs"]
mod problem;

use common::onestop::{extra, repo, sample};
use common::{both_backends, Db, Gateway};
use problem::problem;
use reqwest::StatusCode;
use serde_json::{json, Value};

const OPENCPS_CODE: &str = "000.00.20.H99-20260302-0000123";
const IGATE_CODE: &str = "H99.21-20260210-0000007";
const OTHER_CODE: &str = "000.00.20.H99-20260302-0000999";

/// `v` changed by `f`.
fn with(v: &Value, f: impl FnOnce(&mut Value)) -> Value {
    let mut v = v.clone();
    f(&mut v);
    v
}

/// Rows in the store, read beside the running gateway.
async fn count(g: &Gateway, sql: &'static str) -> i64 {
    let store = g.open_store().await;
    let row = sqlx::query(sql).fetch_one(store.pool()).await.unwrap();
    let n: i64 = sqlx::Row::try_get(&row, 0).unwrap();
    store.close().await;
    n
}

struct Client {
    member: &'static str,
    http: reqwest::Client,
    g: String,
}

impl Client {
    fn new(g: &Gateway, member: &'static str) -> Client {
        Client {
            member,
            http: g.client(Some(member)),
            g: g.url(""),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.g))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn file(&self, body: &Value) -> reqwest::Response {
        self.post("/v1/dossiers", body).await
    }

    async fn event(&self, code: &str, body: &Value) -> reqwest::Response {
        self.post(&format!("/v1/dossiers/{code}/events"), body)
            .await
    }

    async fn get(&self, code: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/v1/dossiers/{code}", self.g))
            .send()
            .await
            .unwrap()
    }
}

async fn json_of(resp: reqwest::Response, status: StatusCode) -> Value {
    let got = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

/// A refusal with its code and field.
async fn refused(resp: reqwest::Response, status: StatusCode, code: &str, field: &str) -> Value {
    let body = problem(resp, status, code).await;
    assert_eq!(body["field"], field, "{body}");
    body
}

fn statuses(view: &Value) -> Vec<i64> {
    view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_i64().unwrap())
        .collect()
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn opencps_client_files_a_dossier_and_moves_it_2_4_9_10);
async fn opencps_client_files_a_dossier_and_moves_it_2_4_9_10(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let g = Gateway::start_with(&db, dir.path(), &extra());
    let c = Client::new(&g, "motcua");
    let body = sample("opencps-dossier.json");

    let resp = c.file(&body).await;
    assert_eq!(
        resp.headers()["location"],
        format!("/v1/dossiers/{OPENCPS_CODE}")
    );
    let filed = json_of(resp, StatusCode::CREATED).await;
    let d = &filed["dossier"];
    // NgayHenTra "" → computed: Mon 2/3/2026 09:15 + 10 working days = Mon 16/3 09:15.
    assert_eq!(d["due_at"], "2026-03-16T09:15:00+07:00", "{filed}");
    assert_eq!(filed["due_by"], "calendar");
    assert_eq!(filed["due_provisional"], false);
    assert_eq!(d["received_at"], "2026-03-02T09:15:00+07:00");
    assert_eq!(d["receiving_organ"], "000.00.20.H99");
    assert_eq!(d["channel"], "in_person");
    assert_eq!(d["result_delivery"], "post");
    assert_eq!(d["applicant"]["kind"], "individual");
    assert_eq!(d["fees"][0]["amount"], 50000);
    assert_eq!(
        d["components"][0]["attachments"][0]["id"],
        "a3f1c2d4-0000-4000-8000-000000000001"
    );
    assert_eq!(d["status"], 2);

    // The same filing again (a retry) is answered with the stored dossier, nothing new.
    json_of(c.file(&body).await, StatusCode::OK).await;

    for (status, at) in [
        ("4", "20260303143000"),
        ("9", "20260313100000"),
        ("10", "20260316090000"),
    ] {
        let step = json!({
            "MaHoSo": OPENCPS_CODE, "NguoiXuLy": "Nguyễn Văn Xử Lý", "ChucDanh": "Chuyên viên",
            "ThoiDiemXuLy": at, "PhongBanXuLy": "Phòng Thử nghiệm", "NoiDungXuLy": "Xử lý",
            "TrangThai": status, "NgayBatDau": "20260302091500",
            "NgayKetThucTheoQuyDinh": "20260316091500"
        });
        let done = json_of(c.event(OPENCPS_CODE, &step).await, StatusCode::CREATED).await;
        assert_eq!(done["status"].to_string(), status);
    }

    let view = json_of(c.get(OPENCPS_CODE).await, StatusCode::OK).await;
    assert_eq!(view["dossier"]["status"], 10);
    assert_eq!(view["dossier"]["due_at"], "2026-03-16T09:15:00+07:00");
    assert_eq!(statuses(&view), [2, 4, 9, 10]);
    // Processing ended at the first final status (9), before the due time: on time.
    assert_eq!(view["ended_at"], "2026-03-13T10:00:00+07:00");
    let h = &view["history"][1];
    assert_eq!(h["at"], "2026-03-03T14:30:00+07:00");
    assert_eq!(h["handler"], "Nguyễn Văn Xử Lý");
    assert_eq!(h["previous_status"], 2);

    // The desk retries its last step (its answer was lost): the step already recorded, 200.
    let last = json!({
        "MaHoSo": OPENCPS_CODE, "NguoiXuLy": "Nguyễn Văn Xử Lý", "ChucDanh": "Chuyên viên",
        "ThoiDiemXuLy": "20260316090000", "PhongBanXuLy": "Phòng Thử nghiệm", "NoiDungXuLy": "Xử lý",
        "TrangThai": "10", "NgayBatDau": "20260302091500", "NgayKetThucTheoQuyDinh": "20260316091500"
    });
    let retried = json_of(c.event(OPENCPS_CODE, &last).await, StatusCode::OK).await;
    assert_eq!(retried["seq"], 4, "{retried}");
    assert_eq!(retried["again"], true);
    // The same status at the same time with other details is a change, and 10 → 10 is not one.
    let other = with(&last, |v| v["NoiDungXuLy"] = json!("Trả kết quả lần hai"));
    refused(
        c.event(OPENCPS_CODE, &other).await,
        StatusCode::CONFLICT,
        "status_transition_not_allowed",
        "TrangThai",
    )
    .await;

    // 10 is final.
    let again = json!({"MaHoSo": OPENCPS_CODE, "TrangThai": "4", "ThoiDiemXuLy": "20260317080000"});
    refused(
        c.event(OPENCPS_CODE, &again).await,
        StatusCode::CONFLICT,
        "status_transition_not_allowed",
        "TrangThai",
    )
    .await;

    assert_eq!(count(&g, "SELECT COUNT(*) FROM dossiers").await, 1);
    assert_eq!(count(&g, "SELECT COUNT(*) FROM dossier_events").await, 4);
    let audited =
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('dossier.file', 'dossier.status')";
    assert_eq!(count(&g, audited).await, 4);
    let out = g.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{out:?}");
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn igate_client_files_with_its_own_dates_and_moves_it_2_4_9_10);
async fn igate_client_files_with_its_own_dates_and_moves_it_2_4_9_10(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let g = Gateway::start_with(&db, dir.path(), &extra());
    let c = Client::new(&g, "dvctt");

    let filed = json_of(
        c.file(&sample("igate-dossier.json")).await,
        StatusCode::CREATED,
    )
    .await;
    let d = &filed["dossier"];
    // 15 working days from Tue 10/2/2026 09:00 across Tết (config/calendar/2026.toml).
    assert_eq!(d["due_at"], "2026-03-10T09:00:00+07:00", "{filed}");
    assert_eq!(d["received_at"], "2026-02-10T09:00:00+07:00");
    assert_eq!(d["submitted_at"], "2026-02-09T20:15:00+07:00");
    assert_eq!(d["receiving_organ"], "H99.21");
    assert_eq!(d["channel"], "online");
    assert_eq!(d["applicant"]["phone"], "0900000007");
    assert_eq!(d["components"][0]["form"], "copy");
    assert_eq!(d["components"][0]["attachments"][1]["id"], "F-0002");

    for (status, at) in [
        (4, "2026-02-11T10:30:00.000"),
        (9, "2026-03-09T16:45:12.250"),
        (10, "2026-03-10T08:05:00.000"),
    ] {
        let step = json!({
            "IDHoSo": "88001", "MaHoSo": IGATE_CODE, "NguoiXuLy": "Lê Thị Xử Lý",
            "ThoiDiemXuLy": at, "PhongBanXuLy": "Phòng Thử nghiệm", "NoiDungXuLy": "Xử lý",
            "TrangThai": status
        });
        json_of(c.event(IGATE_CODE, &step).await, StatusCode::CREATED).await;
    }
    let view = json_of(c.get(IGATE_CODE).await, StatusCode::OK).await;
    assert_eq!(statuses(&view), [2, 4, 9, 10]);
    assert_eq!(view["dossier"]["status"], 10);
    assert_eq!(view["history"][2]["at"], "2026-03-09T16:45:12+07:00");
    assert_eq!(view["filed_by"], "dvctt");

    // Another installation neither filed it nor serves its organ: not found.
    let other = Client::new(&g, "motcua");
    refused(
        other.get(IGATE_CODE).await,
        StatusCode::NOT_FOUND,
        "dossier_not_found",
        "MaHoSo",
    )
    .await;
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn canonical_client_keeps_a_given_due_time);
async fn canonical_client_keeps_a_given_due_time(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let g = Gateway::start_with(&db, dir.path(), &extra());
    let c = Client::new(&g, "canon");
    let body = json!({
        "code": "H99.22-20260302-0000001",
        "procedure": "1.009999",
        "applicant": {"name": "Phạm Văn Thử", "kind": "household_business"},
        "channel": "post",
        "received_at": "2026-03-02T09:15:00+07:00",
        "due_at": "2026-03-20T17:00:00+07:00",
        "result_delivery": "online",
        "fees": [{"name": "Phí thẩm định", "amount": 100000, "collected": "acceptance"}]
    });
    let filed = json_of(c.file(&body).await, StatusCode::CREATED).await;
    assert_eq!(filed["due_by"], "request");
    assert_eq!(filed["dossier"]["due_at"], "2026-03-20T17:00:00+07:00");
    assert_eq!(filed["dossier"]["receiving_organ"], "H99.22");
    let step =
        json!({"status": 4, "at": "2026-03-03T08:00:00+07:00", "note": "Chuyển phòng chuyên môn"});
    json_of(
        c.event("H99.22-20260302-0000001", &step).await,
        StatusCode::CREATED,
    )
    .await;
    let mut typo = body.clone();
    typo["code"] = json!("H99.22-20260302-0000002");
    typo["applicant"]["adress"] = json!("x");
    refused(
        c.file(&typo).await,
        StatusCode::BAD_REQUEST,
        "unknown_field",
        "applicant.adress",
    )
    .await;
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn bad_input_is_refused_naming_the_wire_field_and_nothing_is_stored);
async fn bad_input_is_refused_naming_the_wire_field_and_nothing_is_stored(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let g = Gateway::start_with(&db, dir.path(), &extra());
    let opencps = Client::new(&g, "motcua");
    let igate = Client::new(&g, "dvctt");
    let ok = sample("opencps-dossier.json");

    // Filing: each refusal with its code and the vendor's field name.
    let igate_ok = sample("igate-dossier.json");
    let cases = [
        (
            &opencps,
            with(&ok, |b| b["TaiLieuNop"][0]["KichThuoc"] = json!(1024)),
            StatusCode::BAD_REQUEST,
            "unknown_field",
            "TaiLieuNop[0].KichThuoc",
        ),
        (
            &opencps,
            with(&ok, |b| b["NgayTiepNhan"] = json!("2026-03-02 09:15:00")),
            StatusCode::BAD_REQUEST,
            "invalid_date",
            "NgayTiepNhan",
        ),
        (
            &opencps,
            with(&ok, |b| b["MaTTHC"] = json!("9.999999")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_procedure",
            "MaTTHC",
        ),
        (
            &opencps,
            with(&ok, |b| b["ChuHoSo"] = json!("")),
            StatusCode::BAD_REQUEST,
            "missing_field",
            "ChuHoSo",
        ),
        (
            &opencps,
            with(&ok, |b| b["DanhSachLePhi"][0]["Gia"] = json!("50.000đ")),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "DanhSachLePhi[0].Gia",
        ),
        (
            &opencps,
            with(&ok, |b| b["TrangThaiHoSo"] = json!("4")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_initial_status",
            "TrangThaiHoSo",
        ),
        (
            &igate,
            with(&igate_ok, |b| b["NgayTiepNhan"] = json!("20260210090000")),
            StatusCode::BAD_REQUEST,
            "invalid_date",
            "NgayTiepNhan",
        ),
        (
            &igate,
            with(&igate_ok, |b| {
                b["ThanhPhanHoSo"][0]["GiayToDinhKem"][1]["Kich"] = json!(1)
            }),
            StatusCode::BAD_REQUEST,
            "unknown_field",
            "ThanhPhanHoSo[0].GiayToDinhKem[1].Kich",
        ),
        (
            &igate,
            with(&igate_ok, |b| b["MaDonViTiepNhan"] = json!("H99.20")),
            StatusCode::FORBIDDEN,
            "organ_not_served",
            "MaDonViTiepNhan",
        ),
    ];
    for (client, body, status, code, field) in &cases {
        let p = refused(client.file(body).await, *status, code, field).await;
        if *code == "invalid_date" {
            let format = match client.member {
                "motcua" => "yyyyMMddHHmmss",
                _ => "yyyy-MM-dd HH:mm:ss",
            };
            assert!(p["detail"].as_str().unwrap().contains(format), "{p}");
        }
    }
    let resp = opencps
        .http
        .post(g.url("/v1/dossiers"))
        .body("{\"MaHoSo\": ")
        .send()
        .await
        .unwrap();
    let p = problem(resp, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert!(p.get("field").is_none(), "{p}");
    assert_eq!(count(&g, "SELECT COUNT(*) FROM dossiers").await, 0);
    assert_eq!(count(&g, "SELECT COUNT(*) FROM dossier_events").await, 0);

    // Status changes on a filed dossier (status 2).
    json_of(opencps.file(&ok).await, StatusCode::CREATED).await;
    let step = |status: &str, at: &str| json!({"MaHoSo": OPENCPS_CODE, "TrangThai": status, "ThoiDiemXuLy": at});
    let other = with(&step("4", "20260303080000"), |b| {
        b["MaHoSo"] = json!(OTHER_CODE)
    });
    let cases = [
        (
            OPENCPS_CODE,
            step("10", "20260303080000"),
            StatusCode::CONFLICT,
            "status_transition_not_allowed",
            "TrangThai",
        ),
        (
            OPENCPS_CODE,
            step("4", "2026-03-03T08:00:00"),
            StatusCode::BAD_REQUEST,
            "invalid_date",
            "ThoiDiemXuLy",
        ),
        (
            OPENCPS_CODE,
            step("11", "20260303080000"),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "TrangThai",
        ),
        (
            OPENCPS_CODE,
            other.clone(),
            StatusCode::BAD_REQUEST,
            "code_mismatch",
            "MaHoSo",
        ),
        (
            OTHER_CODE,
            other,
            StatusCode::NOT_FOUND,
            "dossier_not_found",
            "MaHoSo",
        ),
    ];
    for (code_in_path, body, status, code, field) in &cases {
        let p = refused(
            opencps.event(code_in_path, body).await,
            *status,
            code,
            field,
        )
        .await;
        if *code == "status_transition_not_allowed" {
            assert!(
                p["detail"].as_str().unwrap().contains("4 (đang xử lý)"),
                "{p}"
            );
        }
    }
    // The same code with other content.
    let b = with(&ok, |b| b["TrichYeuHoSo"] = json!("Một hồ sơ khác"));
    refused(
        opencps.file(&b).await,
        StatusCode::CONFLICT,
        "dossier_exists",
        "MaHoSo",
    )
    .await;

    // Nothing of the refusals is stored: one dossier, its filing row, one filing audited.
    assert_eq!(count(&g, "SELECT COUNT(*) FROM dossiers").await, 1);
    assert_eq!(count(&g, "SELECT COUNT(*) FROM dossier_events").await, 1);
    assert_eq!(count(&g, "SELECT MAX(status) FROM dossiers").await, 2);
    let audited =
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('dossier.file', 'dossier.status')";
    assert_eq!(count(&g, audited).await, 1);
    // Every refused request still has its access record.
    let denied_or_allowed =
        "SELECT COUNT(*) FROM audit_log WHERE kind = 'access' AND action LIKE 'POST /v1/dossiers%'";
    assert_eq!(count(&g, denied_or_allowed).await, 17);
    let view = json_of(opencps.get(OPENCPS_CODE).await, StatusCode::OK).await;
    assert_eq!(statuses(&view), [2]);
}

#[test]
fn check_config_names_unknown_dialects_bad_dialect_files_and_bad_procedures() {
    let dir = tempfile::tempdir().unwrap();
    let dialects = dir.path().join("dialects");
    std::fs::create_dir(&dialects).unwrap();
    std::fs::copy(
        repo("adapters/dialects/opencps.toml"),
        dialects.join("opencps.toml"),
    )
    .unwrap();
    std::fs::write(
        dialects.join("vendorx.toml"),
        "name = \"vendorx\"\n[dossier.fields]\nNgay = { to = \"received_at\", date = \"dd/MM/yyyy HH:mm:xx\" }\n[event.fields]\n",
    )
    .unwrap();
    let extra = format!(
        r#"
[dossiers]
dialects_dir = "{}"
[[dossiers.procedures]]
code = "1.009999"
processing_time = "10x"
[[members]]
id = "motcua"
kind = "onestop"
organs = ["H99.20"]
services = ["dossiers"]
dialect = "opencsp"
cert_subject = "CN=motcua,OU=members,O=lienthong sandbox,C=VN"
"#,
        dialects.display()
    );
    let cfg = common::write_config(&common::Db::sqlite(), dir.path(), &extra);
    let out = std::process::Command::new(common::BIN)
        .args(["--config", cfg.to_str().unwrap(), "check-config"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    for want in [
        "vendorx.toml: dossier.fields.\"Ngay\"",
        "members[0].dialect",
        "opencsp.toml (found: opencps)",
        "dossiers.procedures[0].processing_time",
    ] {
        assert!(err.contains(want), "{want:?} not in:\n{err}");
    }
}
