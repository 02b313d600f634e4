//! End to end in the sandbox (the repository's `config/lienthong.toml`, its in-process PayGov,
//! VNPost and national-portal simulators): a one-stop-shop installation files a dossier whose
//! result goes by post, the fee is paid through the simulated platform (its callbacks over TLS
//! to the gateway), the result is processed and handed to the simulated post, whose carrier
//! events come over time; the dossier reaches status 10, here and on the national portal, and
//! the installation hears of every step through its notices.

mod common;

use common::edoc::wait_for;
use common::onestop::Member;
use common::vnpost::order_body;
use common::{both_backends, Db, Gateway};
use serde_json::{json, Value};

const CODE: &str = "H99.20-20261123-0000001";

async fn sim_get(url: &str) -> Value {
    reqwest::get(url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or(Value::Null)
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn paid_and_delivered);

async fn paid_and_delivered(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("lienthong.toml");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/config/lienthong.toml"),
        &cfg,
    )
    .unwrap();
    let mut env = vec![
        (
            "LIENTHONG_LISTEN__MEMBERS".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
        (
            "LIENTHONG_LISTEN__OPERATOR".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
    ];
    if let Some(url) = db.store_url() {
        env.push(("LIENTHONG_STORE__URL".into(), url));
    }
    let g = Gateway::spawn_env(dir.path(), &cfg, env);
    let listeners: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("data/run/listeners.json")).unwrap(),
    )
    .unwrap();
    let sims = &listeners["simulators"];
    let (paygov, dvcqg) = (
        sims["paygov"]
            .as_str()
            .expect("paygov simulator")
            .to_owned(),
        sims["dvcqg"].as_str().expect("dvcqg simulator").to_owned(),
    );
    let vnpost = sims["vnpost"]
        .as_str()
        .expect("vnpost simulator")
        .to_owned();
    let desk = Member::new(&g, "motcua");

    // Filed at the desk, the citizen asking for the result by post.
    let filed = desk
        .must(
            "/v1/dossiers",
            &json!({
                "code": CODE,
                "procedure": "1.009999",
                "applicant": {"name": "Đỗ Thị Thử", "kind": "individual"},
                "channel": "in_person",
                "received_at": "2026-11-23T09:15:00+07:00",
                "result_delivery": "post",
                "fees": [{"name": "Lệ phí cấp giấy xác nhận", "amount": 50000, "collected": "acceptance"}]
            }),
        )
        .await;
    assert_eq!(filed["dossier"]["status"], 2, "{filed}");
    let step =
        |status: u8, at: &str, note: &str| json!({ "status": status, "at": at, "note": note });
    desk.must(
        &format!("/v1/dossiers/{CODE}/events"),
        &step(4, "2026-11-23T10:00:00+07:00", "Chuyển phòng chuyên môn"),
    )
    .await;
    desk.must(
        &format!("/v1/dossiers/{CODE}/events"),
        &step(6, "2026-11-23T11:00:00+07:00", "Yêu cầu nộp lệ phí"),
    )
    .await;

    // Paid through PayGov: the platform calls back (twice: one effect).
    let (s, p) = desk
        .post(
            "/v1/payments",
            &json!({
                "dossier_code": CODE, "amount": 50000, "description": "Lệ phí cấp giấy xác nhận",
                "fees": [{"name": "Lệ phí cấp giấy xác nhận", "code": "LP01", "amount": 50000}]
            }),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let reference = p["reference"].as_str().unwrap().to_owned();
    let r = reqwest::Client::new()
        .post(format!("{paygov}/_sim/pay"))
        .json(&json!({ "reference": reference, "outcome": "paid", "callbacks": 2, "delay_ms": 50 }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    wait_for("payment paid", || async {
        desk.get(&format!("/v1/payments/{reference}")).await["state"] == "paid"
    })
    .await;
    let d = desk.get(&format!("/v1/dossiers/{CODE}")).await;
    assert_eq!(
        d["dossier"]["status"], 4,
        "a paid fee resumes processing: {d}"
    );

    // Processed; the result goes by post and is delivered over time.
    desk.must(
        &format!("/v1/dossiers/{CODE}/events"),
        &step(9, "2026-11-23T15:00:00+07:00", "Đã có kết quả"),
    )
    .await;
    let (s, o) = desk
        .post("/v1/postal/orders", &{
            // The desk knows GSO area codes; the sandbox maps them to VNPost postal codes.
            let mut b = order_body(CODE, "result_delivery");
            b["citizen"]["province_code"] = json!("99");
            b["citizen"]["district_code"] = json!("991");
            b
        })
        .await;
    assert_eq!(s, 202, "{o}");
    wait_for("the dossier returned (10)", || async {
        desk.get(&format!("/v1/dossiers/{CODE}")).await["dossier"]["status"] == 10
    })
    .await;
    let d = desk.get(&format!("/v1/dossiers/{CODE}")).await;
    assert_eq!(
        (
            d["fees_paid"].as_i64(),
            d["postal_orders"][0]["state"].as_str()
        ),
        (Some(50000), Some("delivered")),
        "{d}"
    );
    let at_post = sim_get(&format!("{vnpost}/_sim/orders")).await;
    assert_eq!(
        (
            at_post[0]["order"]["ReceiverProvince"].as_i64(),
            at_post[0]["order"]["ReceiverDistrict"].as_i64(),
            at_post[0]["creates"].as_i64()
        ),
        (Some(99), Some(9902), Some(1)),
        "{at_post}"
    );
    let order = desk.get(&format!("/v1/postal/orders/{CODE}")).await;
    assert_eq!(order["state"], "delivered", "{order}");
    let codes: Vec<&str> = order["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["1", "2", "4"]);

    // The installation heard of each step, in order.
    let notices = desk.get("/v1/notices?limit=100").await;
    let heard: Vec<String> = notices["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["dossier_code"] == CODE)
        .map(|n| {
            let d = &n["detail"];
            match n["kind"].as_str().unwrap() {
                "postal.event" => format!("postal.event {}", d["status_code"].as_str().unwrap()),
                "postal.order" => format!("postal.order {}", d["state"].as_str().unwrap()),
                k => format!("{k} {}", d["dossier_status"]),
            }
        })
        .collect();
    assert_eq!(
        heard,
        [
            "payment.paid 4",
            "postal.order queued",
            "postal.order sent",
            "postal.event 1",
            "postal.event 2",
            "postal.event 4"
        ],
        "{notices}"
    );
    let last = notices["items"].as_array().unwrap().last().unwrap();
    assert_eq!(last["detail"]["dossier_status"], 10, "{last}");

    // The national portal has every step, the last one 10.
    wait_for("the portal at 10", || async {
        let d = sim_get(&format!("{dvcqg}/_sim/dossiers/{CODE}")).await;
        d["progress"]
            .as_array()
            .and_then(|p| p.last())
            .is_some_and(|p| p["TrangThai"] == "10")
    })
    .await;
    drop(g);
}
