//! Online fee payment through PayGov with real processes: a gateway, the platform simulator
//! (`lienthong sim paygov`) and a one-stop-shop installation (`motcua`). Callbacks are refused
//! (answer 99, nothing changes) for every way they can be wrong; a real one is applied once,
//! also when it comes again; a failure marks the payment failed; a pending payment is resolved
//! by reconciliation, one without any answer goes to manual review; a burst of 1,000 callbacks
//! with duplicates, shuffled, through two SIGKILLs, leaves every payment right and none twice.

mod common;

use common::edoc::wait_for;
use common::onestop::{extra, sample, Member};
use common::paygov::{callback, post_callback, resign, PaygovSim, PARTNER, SECRET};
use common::{both_backends, Db, Gateway};
use serde_json::{json, Map, Value};
use sqlx::Row;

const CODE: &str = "000.00.20.H99-20260302-0000123";

struct Desk(Member);

impl std::ops::Deref for Desk {
    type Target = Member;
    fn deref(&self) -> &Member {
        &self.0
    }
}

impl Desk {
    fn new(g: &Gateway) -> Desk {
        Desk(Member::new(g, "motcua"))
    }

    /// File dossier `code` (the OpenCPS sample under another number) and move it to status 6.
    async fn dossier_owing_fees(&self, code: &str) {
        let mut d = sample("opencps-dossier.json");
        d["MaHoSo"] = json!(code);
        let (s, v) = self.post("/v1/dossiers", &d).await;
        assert!(s == 201 || s == 200, "{s} {v}");
        let step = json!({
            "MaHoSo": code, "NguoiXuLy": "Nguyễn Văn Xử Lý", "ChucDanh": "Chuyên viên",
            "ThoiDiemXuLy": "20260302100000", "PhongBanXuLy": "Một cửa",
            "NoiDungXuLy": "Yêu cầu nộp lệ phí", "TrangThai": "6"
        });
        let (s, v) = self
            .post(&format!("/v1/dossiers/{code}/events"), &step)
            .await;
        assert!(s == 201 || s == 200, "{s} {v}");
    }

    async fn pay(&self, code: &str, amount: u64) -> String {
        let (s, v) = self
            .post(
                "/v1/payments",
                &json!({
                    "dossier_code": code, "amount": amount, "description": "Lệ phí cấp giấy xác nhận",
                    "fees": [{"name": "Lệ phí cấp giấy xác nhận", "code": "LP01", "amount": amount}]
                }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        assert!(v["payment_url"]
            .as_str()
            .unwrap()
            .contains(v["reference"].as_str().unwrap()));
        v["reference"].as_str().unwrap().to_owned()
    }

    async fn payment(&self, reference: &str) -> Value {
        self.get(&format!("/v1/payments/{reference}")).await
    }

    async fn notices(&self) -> Vec<Value> {
        self.get("/v1/notices?limit=1000").await["items"]
            .as_array()
            .unwrap()
            .clone()
    }
}

fn gateway_config(sim: &PaygovSim, paygov_extra: &str) -> String {
    format!(
        "{}\n{}",
        extra().replace(
            r#"services = ["dossiers"]
dialect = "opencps""#,
            r#"services = ["dossiers", "payments", "postal"]
dialect = "opencps"
rate_limit = { per_minute = 600000, burst = 10000 }"#,
        ),
        sim.config(paygov_extra)
    )
}

fn body(m: &Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(m).unwrap()
}

/// The callbacks applied to a payment (history lines from callbacks).
fn from_callbacks(p: &Value) -> usize {
    p["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["source"] == "callback")
        .count()
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn callbacks);

async fn callbacks(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let sim = PaygovSim::start();
    let cfg = gateway_config(
        &sim,
        "reconcile_after_secs = 2\nreconcile_until_secs = 25\nreconcile_interval_secs = 1\nreconcile_max_interval_secs = 2\nreconcile_poll_secs = 1",
    );
    let g = Gateway::start_with(&db, dir.path(), &cfg);
    sim.target(&g).await;
    let desk = Desk::new(&g);
    desk.dossier_owing_fees(CODE).await;
    let paid = desk.pay(CODE, 50_000).await;
    let url = g.url("/callbacks/paygov");
    let platform = g.client(None);

    // Every way a callback can be wrong: answer 99, its reason, nothing changes.
    let good = callback(&paid, "50000", "00", "PG0000000001");
    let mut wrong_sum = good.clone();
    wrong_sum.insert("MaXacThuc".into(), json!("0".repeat(64)));
    let mut reordered = good.clone();
    let order = [
        "LoaiBanTin",
        "MaLoi",
        "MaDoiTac",
        "MaThamChieu",
        "SoTien",
        "MaTienTe",
        "MaGiaoDich",
        "MaNganHang",
        "ThongTinGiaoDich",
        "ThoiGianGD",
    ];
    let sum = lienthong_paygov::checksum::compute(&good, &order, SECRET.as_bytes());
    reordered.insert("MaXacThuc".into(), json!(sum));
    let mut unknown = good.clone();
    unknown.insert(
        "MaThamChieu".into(),
        json!("dvc00000020H99NOSUCH20260302143000"),
    );
    resign(&mut unknown);
    let mut amount = good.clone();
    amount.insert("SoTien".into(), json!("5000"));
    resign(&mut amount);
    let mut currency = good.clone();
    currency.insert("MaTienTe".into(), json!("USD"));
    resign(&mut currency);
    let mut partner = good.clone();
    partner.insert("MaDoiTac".into(), json!("KHAC01"));
    resign(&mut partner);
    let mut missing = good.clone();
    missing.remove("MaGiaoDich");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("paygov_bad_checksum", body(&wrong_sum)),
        ("paygov_bad_checksum", body(&reordered)),
        ("paygov_unknown_reference", body(&unknown)),
        ("paygov_amount_mismatch", body(&amount)),
        ("paygov_currency_mismatch", body(&currency)),
        ("paygov_wrong_partner", body(&partner)),
        ("paygov_malformed", b"{\"MaLoi\": \"00\", ".to_vec()),
        ("paygov_malformed", body(&missing)),
        ("paygov_malformed", b"[]".to_vec()),
    ];
    for (why, b) in cases {
        let (status, answer, reason) = post_callback(&platform, &url, b).await.unwrap();
        assert_eq!(status, 200, "{why}");
        assert_eq!(answer["MaLoi"], "99", "{why}: {answer}");
        assert_eq!(answer["MoTaLoi"], "Các lỗi khác");
        assert_eq!(answer["MaDoiTac"], PARTNER);
        assert_eq!(reason.as_deref(), Some(why));
    }
    let p = desk.payment(&paid).await;
    assert!(p["state"] == "initiated" || p["state"] == "pending", "{p}");
    assert_eq!(from_callbacks(&p), 0, "{p}");
    assert!(p["transaction_code"].is_null());
    assert!(desk.notices().await.is_empty());
    let d = desk.get(&format!("/v1/dossiers/{CODE}")).await;
    assert_eq!(d["dossier"]["status"], 6, "{d}");

    // The real one (checksum in upper-case hex: case is ignored): 00, paid, the dossier moves
    // from 6 to 4, the desk is told. Sent again: the same answer, nothing more.
    let mut upper = good.clone();
    let s = upper["MaXacThuc"].as_str().unwrap().to_ascii_uppercase();
    upper.insert("MaXacThuc".into(), json!(s));
    let (_, first, reason) = post_callback(&platform, &url, body(&upper)).await.unwrap();
    assert_eq!(first["MaLoi"], "00", "{first}");
    assert_eq!(first["MoTaLoi"], "Thành công");
    assert_eq!(first["MaThamChieu"], paid.as_str());
    assert_eq!(
        first["MaXacThuc"],
        s.as_str(),
        "the received checksum is echoed"
    );
    assert!(reason.is_none());
    for _ in 0..3 {
        let (_, again, _) = post_callback(&platform, &url, body(&upper)).await.unwrap();
        assert_eq!(again, first, "a duplicate is answered identically");
    }
    let p = desk.payment(&paid).await;
    assert_eq!(p["state"], "paid", "{p}");
    assert_eq!(p["transaction_code"], "PG0000000001");
    assert_eq!(from_callbacks(&p), 1, "one effect: {p}");
    let d = desk.get(&format!("/v1/dossiers/{CODE}")).await;
    assert_eq!(d["dossier"]["status"], 4, "{d}");
    assert_eq!(d["fees_paid"], 50_000, "{d}");
    assert_eq!(d["payments"][0]["transaction_code"], "PG0000000001");
    let by_paygov = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| {
            h["member"] == "paygov"
                || h["handler"] == "paygov"
                || h["detail"]["handler"] == "paygov"
        })
        .count();
    assert_eq!(by_paygov, 1, "{d}");
    let n = desk.notices().await;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["kind"], "payment.paid");
    assert_eq!(n[0]["dossier_code"], CODE);
    assert_eq!(n[0]["detail"]["reference"], paid.as_str());
    assert_eq!(n[0]["detail"]["dossier_status"], 4);

    // The receipt: fetched from the platform (which knows the payment) once, then served from
    // the store.
    sim.pay(&paid, "paid", 0, 0).await;
    let r = desk
        .http
        .get(g.url(&format!("/v1/payments/{paid}/receipt")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
    assert_eq!(desk.payment(&paid).await["receipt_stored"], true);

    // A failure, through the simulator's own callback over TLS (twice, delayed): failed, once.
    let failed = desk.pay(CODE, 20_000).await;
    sim.pay(&failed, "failed", 2, 200).await;
    wait_for("the failure callback", || async {
        desk.payment(&failed).await["state"] == "failed"
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let p = desk.payment(&failed).await;
    assert_eq!(from_callbacks(&p), 1, "{p}");
    assert_eq!(
        p["history"].as_array().unwrap().last().unwrap()["detail"]["MaLoi"],
        "99"
    );

    // Pending at the platform (no callback), then paid without a callback: reconciliation
    // asks, verifies the answer and applies it.
    let pending = desk.pay(CODE, 30_000).await;
    sim.pay(&pending, "pending", 0, 0).await;
    wait_for("a status check finding it pending", || async {
        desk.payment(&pending).await["state"] == "pending"
    })
    .await;
    sim.pay(&pending, "paid", 0, 0).await;
    wait_for("reconciliation", || async {
        desk.payment(&pending).await["state"] == "paid"
    })
    .await;
    let p = desk.payment(&pending).await;
    assert!(p["status_checks"].as_i64().unwrap() >= 2, "{p}");
    let last = p["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last["source"].as_str(),
            last["detail"]["TrangThaiGD"].as_str()
        ),
        (Some("check"), Some("1"))
    );
    // Its callback arriving late changes nothing more.
    let late = callback(
        &pending,
        "30000",
        "00",
        p["transaction_code"].as_str().unwrap(),
    );
    let (_, a, _) = post_callback(&platform, &url, body(&late)).await.unwrap();
    assert_eq!(a["MaLoi"], "00");
    let after = desk.payment(&pending).await;
    assert_eq!(after["state"], "paid");
    assert_eq!(
        desk.notices()
            .await
            .iter()
            .filter(|n| n["detail"]["reference"] == pending.as_str() && n["kind"] == "payment.paid")
            .count(),
        1
    );

    // Never paid, never answered: after the window (25 s here), manual review.
    let silent = desk.pay(CODE, 10_000).await;
    let start = std::time::Instant::now();
    loop {
        let p = desk.payment(&silent).await;
        if p["state"] == "review" {
            break;
        }
        assert!(start.elapsed().as_secs() < 45, "not sent to review: {p}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(desk
        .notices()
        .await
        .iter()
        .any(|n| n["kind"] == "payment.review" && n["detail"]["reference"] == silent.as_str()));

    // Another member cannot see the payment; the audit chain verifies.
    let other = g.client(Some("dvctt"));
    let r = other
        .get(g.url(&format!("/v1/payments/{paid}")))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 403 || r.status() == 404, "{}", r.status());
    let out = g.cli(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A small deterministic generator (the test's shuffle must be reproducible).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn burst_with_crashes);

/// 900 payments; 1,000 callbacks (every payment's once, 100 of them twice), shuffled, sent 16 at
/// a time; the gateway is SIGKILLed after a third and after two thirds of them and restarted;
/// whatever got no answer is sent again (as the platform would). Afterwards every payment is in
/// the state its callback says, with exactly one effect, one notice, and one dossier step per
/// dossier.
async fn burst_with_crashes(db: Db) {
    const DOSSIERS: usize = 20;
    const PAYMENTS: usize = 900;
    const DUPLICATES: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let sim = PaygovSim::start();
    let cfg_text = gateway_config(&sim, "reconcile_after_secs = 86400");
    let mut g = Gateway::start_with(&db, dir.path(), &cfg_text);
    let desk = Desk::new(&g);
    let codes: Vec<String> = (0..DOSSIERS)
        .map(|i| format!("000.00.20.H99-20260302-{:07}", 9000 + i))
        .collect();
    for c in &codes {
        desk.dossier_owing_fees(c).await;
    }
    // Start the payments, 8 at a time, round robin over the dossiers.
    let desk = std::sync::Arc::new(desk);
    let mut refs = Vec::with_capacity(PAYMENTS);
    for chunk in (0..PAYMENTS).collect::<Vec<_>>().chunks(8) {
        let mut tasks = Vec::new();
        for &i in chunk {
            let (desk, code) = (desk.clone(), codes[i % DOSSIERS].clone());
            tasks.push(tokio::spawn(async move {
                desk.pay(&code, 10_000 + i as u64).await
            }));
        }
        for t in tasks {
            refs.push(t.await.unwrap());
        }
    }
    // Outcomes: every fifth fails (MaLoi 99, or an unpublished code), the rest are paid.
    let expected: Vec<&str> = (0..PAYMENTS)
        .map(|i| if i % 5 == 0 { "failed" } else { "paid" })
        .collect();
    let mut rng = Lcg(20261123);
    let mut sends: Vec<usize> = (0..PAYMENTS).collect();
    for _ in 0..DUPLICATES {
        let i = (rng.next() as usize) % PAYMENTS;
        sends.push(i);
    }
    for i in (1..sends.len()).rev() {
        let j = (rng.next() as usize) % (i + 1);
        sends.swap(i, j);
    }
    assert_eq!(sends.len(), 1000);
    let bodies: Vec<Vec<u8>> = (0..PAYMENTS)
        .map(|i| {
            let ma_loi = match (expected[i], i % 10) {
                ("paid", _) => "00",
                (_, 0) => "99",
                _ => "07",
            };
            body(&callback(
                &refs[i],
                &(10_000 + i).to_string(),
                ma_loi,
                &format!("PG{i:010}"),
            ))
        })
        .collect();

    let mut answers: Vec<Vec<Value>> = vec![Vec::new(); PAYMENTS];
    let mut unanswered = 0usize;
    let mut queue: Vec<usize> = sends.clone();
    let mut kills = 0;
    let thirds = [sends.len() / 3, 2 * sends.len() / 3];
    let mut sent = 0usize;
    while !queue.is_empty() {
        let batch: Vec<usize> = queue.drain(..queue.len().min(16)).collect();
        let platform = g.client(None);
        let url = g.url("/callbacks/paygov");
        let mut tasks = Vec::new();
        for i in batch {
            let (platform, url, b) = (platform.clone(), url.clone(), bodies[i].clone());
            tasks.push(tokio::spawn(async move {
                (i, post_callback(&platform, &url, b).await)
            }));
        }
        if kills < 2 && sent >= thirds[kills] {
            // Kill while this batch is in flight.
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            g.kill9();
            kills += 1;
        }
        for t in tasks {
            let (i, r) = t.await.unwrap();
            match r {
                Ok((200, a, None)) if a["MaLoi"] == "00" => answers[i].push(a),
                Ok((s, a, reason)) => panic!("callback {i} refused: {s} {a} {reason:?}"),
                Err(_) => {
                    unanswered += 1;
                    queue.push(i);
                }
            }
        }
        sent += 16;
        if g.child.is_none() {
            g = Gateway::spawn(dir.path(), &g.config());
        }
    }
    assert_eq!(kills, 2);

    // Every duplicate got the same answer as its original.
    for (i, a) in answers.iter().enumerate() {
        assert!(!a.is_empty(), "payment {i} never acknowledged");
        assert!(
            a.iter().all(|x| x == &a[0]),
            "payment {i}: answers differ: {a:?}"
        );
    }
    let store = g.open_store().await;
    let pool = store.pool();
    let mut wrong = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        let row = sqlx::query("SELECT state, txn_code FROM payments WHERE reference = $1")
            .bind(r.clone())
            .fetch_one(pool)
            .await
            .unwrap();
        let state: String = row.try_get("state").unwrap();
        let txn: Option<String> = row.try_get("txn_code").unwrap();
        if state != expected[i] || txn.as_deref() != Some(format!("PG{i:010}").as_str()) {
            wrong.push((i, state, txn));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} payments in the wrong state: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    let count = |sql: &'static str| async move {
        sqlx::query(sql)
            .fetch_one(pool)
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap()
    };
    let effects = count("SELECT COUNT(*) FROM payment_events WHERE source = 'callback'").await;
    let answered = count("SELECT COUNT(*) FROM payment_callbacks").await;
    let notices =
        count("SELECT COUNT(*) FROM notices WHERE kind IN ('payment.paid', 'payment.failed')")
            .await;
    let steps = count("SELECT COUNT(*) FROM dossier_events WHERE member = 'paygov'").await;
    let at_4 = count("SELECT COUNT(*) FROM dossiers WHERE status = 4").await;
    println!(
        "burst: {} callbacks ({} duplicates), {} unanswered and sent again, 2 SIGKILLs; {} effects, {} answers stored, {} notices, {} dossier steps",
        sends.len(),
        DUPLICATES,
        unanswered,
        effects,
        answered,
        notices,
        steps
    );
    assert_eq!(effects, PAYMENTS as i64, "one effect per payment");
    assert_eq!(answered, PAYMENTS as i64);
    assert_eq!(notices, PAYMENTS as i64, "one notice per payment");
    let with_a_payment = (0..DOSSIERS)
        .filter(|d| (0..PAYMENTS).any(|i| i % DOSSIERS == *d && expected[i] == "paid"))
        .count() as i64;
    assert_eq!(
        steps, with_a_payment,
        "one paid step (6 → 4) per dossier with a payment"
    );
    assert_eq!(at_4, with_a_payment);
    store.close().await;
    let out = g.cli(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
