//! The national public service portal (DVCQG) end to end, with real processes: a gateway, the
//! portal simulator (`lienthong sim dvcqg`) and one-stop-shop clients in the OpenCPS-style and
//! iGate-style dialects. Dossiers and their steps reach the portal in the portal's protocol
//! (login, `TraCuuHoSo`, `DongBoHoSoMC`, then `CapNhatTienDoHoSoMC`, dates `yyyyMMddHHmmss`);
//! online dossiers injected at the portal reach the installation of their organ in its dialect;
//! faults (expired sessions, `error_code` ≠ 0, HTTP errors, timeouts, a SIGKILLed gateway) lose
//! no step and never let a step reach the portal before its dossier's sync.

mod common;

use common::dvcqg::PortalSim;
use common::edoc::wait_for;
use common::onestop::{extra, sample, Member};
use common::{both_backends, Db, Gateway};
use serde_json::{json, Value};

const OPENCPS_CODE: &str = "000.00.20.H99-20260302-0000123";
const IGATE_CODE: &str = "H99.21-20260210-0000007";

fn opencps_step(code: &str, status: &str, at: &str) -> Value {
    json!({
        "MaHoSo": code, "NguoiXuLy": "Nguyễn Văn Xử Lý", "ChucDanh": "Chuyên viên",
        "ThoiDiemXuLy": at, "PhongBanXuLy": "Phòng Thử nghiệm", "NoiDungXuLy": format!("Bước {status}"),
        "TrangThai": status
    })
}

/// The calls of the journal about dossier `code`: (service, isUpdating, status, error_code).
fn calls_about(journal: &[Value], code: &str) -> Vec<(String, String, String, i64)> {
    journal
        .iter()
        .filter(|c| {
            let b = &c["body"];
            b["mahoso"] == code || b["data"][0]["MaHoSo"] == code
        })
        .map(|c| {
            let b = &c["body"];
            let item = &b["data"][0];
            let status = item["TrangThaiHoSo"]
                .as_str()
                .or(item["TrangThai"].as_str())
                .unwrap_or("")
                .to_owned();
            (
                c["service"].as_str().unwrap().to_owned(),
                b["isUpdating"].as_str().unwrap_or("").to_owned(),
                status,
                c["error_code"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The portal holds exactly the steps `want` for `code` (consecutive repeats allowed: a step
/// whose answer was lost is sent again).
async fn progress_is(sim: &PortalSim, code: &str, want: &[&str]) -> bool {
    let mut got = sim.progress(code).await;
    got.dedup();
    got == want
}

/// Independent of the simulator's own checks: in journal order, every progress call for a
/// dossier carries the status of that dossier's last successful sync.
fn assert_sync_before_progress(journal: &[Value]) {
    let mut synced: std::collections::HashMap<String, String> = Default::default();
    for c in journal {
        let item = &c["body"]["data"][0];
        let code = item["MaHoSo"].as_str().unwrap_or("").to_owned();
        match c["service"].as_str().unwrap() {
            "DongBoHoSoMC" if c["error_code"] == 0 => {
                synced.insert(code, item["TrangThaiHoSo"].as_str().unwrap().to_owned());
            }
            "CapNhatTienDoHoSoMC" => {
                let status = item["TrangThai"].as_str().unwrap();
                assert_eq!(
                    synced.get(&code).map(String::as_str),
                    Some(status),
                    "call {}: progress {status} for {code} before its sync",
                    c["n"]
                );
            }
            _ => {}
        }
    }
}

/// The member's dossier inbox once it holds something (30 s at most).
async fn first_inbox(m: &Member) -> Value {
    let start = std::time::Instant::now();
    loop {
        let v = m.get("/v1/dossiers/inbox").await;
        if v["items"].as_array().is_some_and(|a| !a.is_empty()) {
            return v;
        }
        assert!(
            start.elapsed().as_secs() < 30,
            "the inbox stayed empty: {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn is_portal_date(s: &Value) -> bool {
    s.as_str()
        .is_some_and(|s| s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()))
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn both_dialects_reach_the_portal_and_online_dossiers_reach_their_installation);
async fn both_dialects_reach_the_portal_and_online_dossiers_reach_their_installation(db: Db) {
    let sim = PortalSim::start(3600);
    let dir = tempfile::tempdir().unwrap();
    let g = Gateway::start_with(&db, dir.path(), &(extra() + &sim.config("")));
    let motcua = Member::new(&g, "motcua");
    let dvctt = Member::new(&g, "dvctt");

    // OpenCPS-style desk: 2 → 4 → 9 → 10.
    motcua
        .must("/v1/dossiers", &sample("opencps-dossier.json"))
        .await;
    for (status, at) in [
        ("4", "20260303143000"),
        ("9", "20260313100000"),
        ("10", "20260316090000"),
    ] {
        let path = format!("/v1/dossiers/{OPENCPS_CODE}/events");
        motcua
            .must(&path, &opencps_step(OPENCPS_CODE, status, at))
            .await;
    }
    // iGate-style desk, its own date formats: 2 → 4 → 9 → 10.
    dvctt
        .must("/v1/dossiers", &sample("igate-dossier.json"))
        .await;
    for (status, at) in [
        (4, "2026-02-11T10:30:00.000"),
        (9, "2026-03-09T16:45:12.250"),
        (10, "2026-03-10T08:05:00.000"),
    ] {
        let step = json!({"IDHoSo": "88001", "MaHoSo": IGATE_CODE, "NguoiXuLy": "Lê Thị Xử Lý",
            "ThoiDiemXuLy": at, "PhongBanXuLy": "Phòng Thử nghiệm", "NoiDungXuLy": "Xử lý", "TrangThai": status});
        dvctt
            .must(&format!("/v1/dossiers/{IGATE_CODE}/events"), &step)
            .await;
    }

    let want = ["2", "4", "9", "10"];
    wait_for("both dossiers' four steps at the portal", || async {
        progress_is(&sim, OPENCPS_CODE, &want).await && progress_is(&sim, IGATE_CODE, &want).await
    })
    .await;
    let journal = sim.journal().await;
    assert_eq!(journal[0]["service"], "login", "{:?}", journal[0]);
    assert!(journal.iter().all(|c| c["session_valid"] == true));
    // Each step: look up, sync (create, then updates), then the step; nothing failed.
    for code in [OPENCPS_CODE, IGATE_CODE] {
        let mut expected = Vec::new();
        for (i, s) in want.iter().enumerate() {
            let updating = if i == 0 { "False" } else { "True" };
            expected.push(("TraCuuHoSo".to_owned(), String::new(), String::new(), 0));
            expected.push(("DongBoHoSoMC".into(), updating.into(), s.to_string(), 0));
            expected.push((
                "CapNhatTienDoHoSoMC".into(),
                String::new(),
                s.to_string(),
                0,
            ));
        }
        assert_eq!(calls_about(&journal, code), expected, "{code}");
    }
    assert_sync_before_progress(&journal);
    assert_eq!(sim.violations().await, Vec::<String>::new());

    // What the portal holds, field by field, in its date format.
    let o = sim.get(&format!("/_sim/dossiers/{OPENCPS_CODE}")).await;
    let d = &o["dossier"];
    assert_eq!(d["NgayTiepNhan"], "20260302091500");
    assert_eq!(d["NgayHenTra"], "20260316091500", "the calendar's due time");
    assert_eq!(d["TrangThaiHoSo"], "10");
    assert_eq!(
        d["NgayKetThucXuLy"], "20260313100000",
        "first ending status: 9"
    );
    assert_eq!(d["NgayTra"], "20260316090000");
    assert_eq!(d["TenTTHC"], "Thủ tục mẫu cấp giấy xác nhận thử nghiệm");
    assert_eq!(d["MaLinhVuc"], "VD01", "from LayThuTuc");
    assert_eq!(d["LoaiDoiTuong"], "1");
    assert_eq!(d["HinhThuc"], "1", "result by post");
    assert_eq!(d["DanhSachLePhi"][0]["Gia"], "50000");
    assert_eq!(d["TaiLieuNop"][0]["IsDeleted"], "False");
    let p = &o["progress"][1];
    assert_eq!(p["ThoiDiemXuLy"], "20260303143000");
    assert_eq!(p["NguoiXuLy"], "Nguyễn Văn Xử Lý");
    assert_eq!(p["NgayBatDau"], "20260302091500");
    assert_eq!(p["NgayKetThucTheoQuyDinh"], "20260316091500");
    let i = sim.get(&format!("/_sim/dossiers/{IGATE_CODE}")).await;
    let d = &i["dossier"];
    assert_eq!(
        d["NgayTiepNhan"], "20260210090000",
        "iGate's 2026-02-10 09:00:00"
    );
    assert_eq!(
        d["NgayHenTra"], "20260310090000",
        "15 working days across Tết"
    );
    assert_eq!(
        d["LoaiDoiTuong"], "1",
        "iGate's 0 (citizen) in the portal's numbering"
    );
    assert_eq!(
        d["TenTTHC"], "Thủ tục mẫu cấp giấy phép thử nghiệm",
        "LayThuTuc does not know it: the procedure table's name"
    );
    // LayThuTuc once per procedure, its answer kept — also "no such procedure".
    for code in ["1.009999", "1.009998"] {
        let asked = journal
            .iter()
            .filter(|c| c["service"] == "LayThuTuc" && c["body"]["maTTHC"] == code)
            .count();
        assert_eq!(asked, 1, "LayThuTuc {code}");
    }
    let steps: Vec<&Value> = i["progress"].as_array().unwrap().iter().collect();
    assert_eq!(steps[2]["ThoiDiemXuLy"], "20260309164512");
    for c in journal.iter().filter(|c| c["service"] != "login") {
        let item = &c["body"]["data"][0];
        for k in ["NgayTiepNhan", "NgayHenTra", "ThoiDiemXuLy", "NgayBatDau"] {
            if !item[k].is_null() {
                assert!(
                    is_portal_date(&item[k]),
                    "{k} in call {}: {}",
                    c["n"],
                    item[k]
                );
            }
        }
    }
    let madonvi: Vec<&str> = journal
        .iter()
        .filter(|c| calls_about(std::slice::from_ref(c), IGATE_CODE).len() == 1)
        .map(|c| c["madonvi"].as_str().unwrap())
        .collect();
    assert!(madonvi.iter().all(|m| *m == "H99.21"), "{madonvi:?}");

    // Online dossiers submitted on the portal reach the installation of their organ, in its
    // dialect.
    let online = |code: &str, organ: &str| {
        json!({"organ": organ, "submitted_at": "20261119213000", "dossier": {
            "MaHoSo": code, "MaTTHC": "1.009999", "TenTTHC": "", "MaLinhVuc": "", "TenLinhVuc": "",
            "ChuHoSo": "Phạm Thị Trực Tuyến", "LoaiDoiTuong": "1", "MaDoiTuong": "", "ThongTinKhac": "",
            "Email": "", "Fax": "", "SoDienThoai": "0900000099", "TrichYeuHoSo": "Nộp trực tuyến",
            "NgayTiepNhan": "20261120080000", "NgayHenTra": "20261204170000", "TrangThaiHoSo": "1",
            "NgayTra": "", "ThongTinTra": "", "HinhThuc": "0", "NgayKetThucXuLy": "", "DonViXuLy": "",
            "GhiChu": "", "TaiLieuNop": [], "DanhSachLePhi": [], "DanhSachTepDinhKemKhac": [],
            "DanhSachHoSoBoSung": [], "DanhSachGiayToKetQua": []}})
    };
    let to_motcua = "000.00.20.H99-20261120-0000001";
    let to_dvctt = "H99.21-20261120-0000002";
    sim.post("/_sim/online", &online(to_motcua, "000.00.20.H99"))
        .await;
    sim.post("/_sim/online", &online(to_dvctt, "H99.21")).await;
    let inbox = first_inbox(&motcua).await;
    let items = inbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{inbox}");
    assert_eq!(items[0]["dialect"], "opencps");
    let w = &items[0]["dossier"];
    assert_eq!(w["MaHoSo"], to_motcua);
    assert_eq!(w["NgayTiepNhan"], "20261120080000");
    assert_eq!(w["NgayHenTra"], "20261204170000");
    assert_eq!(w["TrangThaiHoSo"], "1");
    assert_eq!(w["ChuHoSo"], "Phạm Thị Trực Tuyến");
    let theirs = first_inbox(&dvctt).await;
    let w = &theirs["items"][0]["dossier"];
    assert_eq!(theirs["items"][0]["dialect"], "igate");
    assert_eq!(w["MaHoSo"], to_dvctt);
    assert_eq!(w["MaDonViTiepNhan"], "H99.21");
    assert_eq!(
        w["NgayTiepNhan"], "2026-11-20 08:00:00",
        "iGate's date format"
    );
    assert_eq!(w["NgayNop"], "2026-11-19 21:30:00");
    assert_eq!(w["LoaiDoiTuong"], "0", "iGate's numbering");
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    // Nothing more after the cursor.
    let next = inbox["next"].as_i64().unwrap();
    let later = motcua
        .get(&format!("/v1/dossiers/inbox?after={next}"))
        .await;
    assert_eq!(later["items"], json!([]));

    // The desk accepts it (1 → 2): the portal knew it, so the sync is an update.
    motcua
        .must(
            &format!("/v1/dossiers/{to_motcua}/events"),
            &opencps_step(to_motcua, "2", "20261120090000"),
        )
        .await;
    wait_for("the acceptance at the portal", || async {
        progress_is(&sim, to_motcua, &["2"]).await
    })
    .await;
    let journal = sim.journal().await;
    let calls = calls_about(&journal, to_motcua);
    assert_eq!(
        calls[1],
        ("DongBoHoSoMC".into(), "True".into(), "2".into(), 0),
        "{calls:?}"
    );
    assert_eq!(sim.violations().await, Vec::<String>::new());

    let out = g.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{out:?}");
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn faults_and_a_restart_lose_no_step_and_keep_sync_before_progress);
async fn faults_and_a_restart_lose_no_step_and_keep_sync_before_progress(db: Db) {
    let sim = PortalSim::start(3600);
    let dir = tempfile::tempdir().unwrap();
    let cfg = extra() + &sim.config("lease_secs = 5");
    let mut g = Gateway::start_with(&db, dir.path(), &cfg);
    // Faults from the start: HTTP errors on the lookup, error_code ≠ 0 on the sync, timeouts
    // (the portal gives up too) on the progress call and on LayThuTuc.
    sim.post(
        "/_sim/faults",
        &json!([
            {"service": "TraCuuHoSo", "http_status": 503, "times": 2},
            {"service": "DongBoHoSoMC", "error_code": 7, "times": 3},
            {"service": "CapNhatTienDoHoSoMC", "delay_ms": 1500, "times": 2},
            {"service": "LayThuTuc", "delay_ms": 1500, "times": 1},
        ]),
    )
    .await;
    let codes: Vec<String> = (1..=6)
        .map(|i| format!("000.00.20.H99-20260302-{i:07}"))
        .collect();
    let steps = [
        ("4", "20260303143000"),
        ("9", "20260313100000"),
        ("10", "20260316090000"),
    ];
    {
        let m = Member::new(&g, "motcua");
        for code in &codes {
            let mut body = sample("opencps-dossier.json");
            body["MaHoSo"] = json!(code);
            m.must("/v1/dossiers", &body).await;
            m.must(
                &format!("/v1/dossiers/{code}/events"),
                &opencps_step(code, steps[0].0, steps[0].1),
            )
            .await;
        }
        // Every session ends while jobs are queued.
        sim.post("/_sim/expire", &json!({})).await;
        m.must(
            &format!("/v1/dossiers/{}/events", codes[0]),
            &opencps_step(&codes[0], steps[1].0, steps[1].1),
        )
        .await;
    }
    // The expired session is met and a fresh login follows.
    wait_for(
        "a call meeting the expired session, then a login",
        || async {
            let j = sim.journal().await;
            let met = j
                .iter()
                .position(|c| c["service"] != "login" && c["session_valid"] == false);
            met.is_some_and(|i| j[i..].iter().any(|c| c["service"] == "login"))
        },
    )
    .await;
    // The portal now refuses every progress step, so work is certainly pending at the kill.
    sim.post(
        "/_sim/faults",
        &json!([{"service": "CapNhatTienDoHoSoMC", "http_status": 503, "times": 100000}]),
    )
    .await;
    Member::new(&g, "motcua")
        .must(
            &format!("/v1/dossiers/{}/events", codes[1]),
            &opencps_step(&codes[1], steps[1].0, steps[1].1),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let store = g.open_store().await;
    let row = sqlx::query("SELECT COUNT(*) FROM portal_jobs WHERE stage <> 'done'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let pending: i64 = sqlx::Row::try_get(&row, 0).unwrap();
    store.close().await;
    eprintln!("portal jobs pending at the kill: {pending}");
    assert!(pending > 0, "the kill must find work queued");
    // SIGKILL mid-stream, then restart on the same store; the portal recovers.
    g.kill9();
    sim.clear_faults().await;
    let g = Gateway::spawn(dir.path(), &g.config());
    let m = Member::new(&g, "motcua");
    sim.post("/_sim/expire", &json!({})).await;
    for (i, code) in codes.iter().enumerate() {
        let from = if i <= 1 { 2 } else { 1 };
        for (status, at) in &steps[from..] {
            m.must(
                &format!("/v1/dossiers/{code}/events"),
                &opencps_step(code, status, at),
            )
            .await;
        }
    }
    sim.post("/_sim/expire", &json!({})).await;

    let want = ["2", "4", "9", "10"];
    wait_for("every dossier's four steps at the portal", || async {
        for c in &codes {
            if !progress_is(&sim, c, &want).await {
                return false;
            }
        }
        true
    })
    .await;
    let journal = sim.journal().await;
    assert_sync_before_progress(&journal);
    assert_eq!(sim.violations().await, Vec::<String>::new());
    let count = |pred: &dyn Fn(&Value) -> bool| journal.iter().filter(|c| pred(c)).count();
    let logins = count(&|c| c["service"] == "login");
    let refused_sessions = count(&|c| c["session_valid"] == false && c["service"] != "login");
    let failed_syncs = count(&|c| {
        c["service"] == "DongBoHoSoMC" && c["session_valid"] == true && c["error_code"] != 0
    });
    eprintln!(
        "calls {}, logins {logins}, expired-session answers {refused_sessions}, failed syncs {failed_syncs}",
        journal.len()
    );
    assert!(
        logins >= 3,
        "a login after each expiry (and the restart): {logins}"
    );
    assert!(
        refused_sessions >= 1,
        "an expired session was met mid-stream"
    );
    // (An expired session met by a sync is counted apart, above.)
    assert_eq!(failed_syncs, 3, "each error_code answer was retried");
    // Every job done, none dead.
    let store = g.open_store().await;
    let rows = sqlx::query("SELECT stage, COUNT(*) AS n FROM portal_jobs GROUP BY stage")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let stages: Vec<(String, i64)> = rows
        .iter()
        .map(|r| {
            (
                sqlx::Row::try_get(r, "stage").unwrap(),
                sqlx::Row::try_get(r, "n").unwrap(),
            )
        })
        .collect();
    assert_eq!(stages, [("done".to_owned(), 24)]);
    store.close().await;
    // A step is sent again only when the gateway died between the portal's answer and its
    // own record of it (at least once, in order); count them.
    let mut repeats = 0;
    for c in &codes {
        repeats += sim.progress(c).await.len() - want.len();
    }
    eprintln!("steps repeated at the portal: {repeats}");
    let out = g.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{out:?}");
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn a_dead_job_holds_its_dossier_back_until_an_operator_requeues_it);
async fn a_dead_job_holds_its_dossier_back_until_an_operator_requeues_it(db: Db) {
    let sim = PortalSim::start(3600);
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(&db, dir.path(), &(extra() + &sim.config("")));
    let budget = (
        "LIENTHONG_ADAPTERS__DVCQG__RETRY__MAX_ATTEMPTS".to_owned(),
        "3".to_owned(),
    );
    let g = Gateway::spawn_env(dir.path(), &cfg, vec![budget]);
    // The portal refuses the first three syncs: the budget is spent on the filing's job.
    sim.post(
        "/_sim/faults",
        &json!([{"service": "DongBoHoSoMC", "error_code": 9, "times": 3}]),
    )
    .await;
    let m = Member::new(&g, "motcua");
    m.must("/v1/dossiers", &sample("opencps-dossier.json"))
        .await;
    let path = format!("/v1/dossiers/{OPENCPS_CODE}/events");
    m.must(&path, &opencps_step(OPENCPS_CODE, "4", "20260303143000"))
        .await;
    let dead_jobs = || {
        let out = g.cli(&["portal", "jobs", "--stage", "dead"]);
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines().map(str::to_owned).collect::<Vec<_>>()
    };
    wait_for("the filing's job dead", || {
        let found = !dead_jobs().is_empty();
        async move { found }
    })
    .await;
    let dead = dead_jobs();
    let job: Value = serde_json::from_str(&dead[0]).unwrap();
    assert_eq!(job["dossier"], OPENCPS_CODE);
    assert_eq!(job["seq"], 1);
    assert_eq!(job["attempts"], 3);
    assert!(
        job["last_error"].as_str().unwrap().contains("error_code 9"),
        "{job}"
    );
    // The later step waits: nothing about the dossier reaches the portal meanwhile.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(sim.progress(OPENCPS_CODE).await, Vec::<String>::new());
    let out = g.cli(&["portal", "jobs", "--stage", "sync"]);
    let waiting = String::from_utf8(out.stdout).unwrap();
    assert_eq!(waiting.lines().count(), 1, "{waiting}");
    assert!(waiting.contains("\"seq\":2"), "{waiting}");

    let out = g.cli(&["portal", "retry", "--dead"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "re-queued 1 dead job"
    );
    wait_for("both steps at the portal", || async {
        progress_is(&sim, OPENCPS_CODE, &["2", "4"]).await
    })
    .await;
    assert_sync_before_progress(&sim.journal().await);
    assert_eq!(sim.violations().await, Vec::<String>::new());
    let out = g.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{out:?}");
}
