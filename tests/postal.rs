//! Postal result delivery through VNPost with real processes: a gateway, the NGSP simulator
//! (`lienthong sim vnpost`) and a one-stop-shop installation (`motcua`). Orders are checked,
//! recorded and sent once (also when asked twice or retried after 503s); the tracking list is
//! followed across several pages, through a token expiry, skipping other customers' events and
//! unknown orders; a delivered result returns the dossier (9 → 10) and the installation hears of
//! every event; a restart (SIGKILL and SIGTERM) between polls neither loses nor repeats an
//! event; cancellation before and after delivery.

mod common;

use common::edoc::wait_for;
use common::onestop::{extra, sample, Member};
use common::vnpost::{order_body, VnpostSim};
use common::{both_backends, Db, Gateway};
use serde_json::{json, Value};
use sqlx::Row;

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

    /// File dossier `code` (the OpenCPS sample under another number) and move it through
    /// `statuses`.
    async fn dossier(&self, code: &str, statuses: &[u8]) {
        let mut d = sample("opencps-dossier.json");
        d["MaHoSo"] = json!(code);
        let (s, v) = self.post("/v1/dossiers", &d).await;
        assert!(s == 201 || s == 200, "{s} {v}");
        for (i, st) in statuses.iter().enumerate() {
            let step = json!({
                "MaHoSo": code, "NguoiXuLy": "Nguyễn Văn Xử Lý", "ChucDanh": "Chuyên viên",
                "ThoiDiemXuLy": format!("202603021{i}0000"), "PhongBanXuLy": "Một cửa",
                "NoiDungXuLy": "Xử lý", "TrangThai": st.to_string()
            });
            let (s, v) = self
                .post(&format!("/v1/dossiers/{code}/events"), &step)
                .await;
            assert!(s == 201 || s == 200, "{s} {v}");
        }
    }

    async fn order(&self, code: &str, direction: &str) -> Value {
        let (s, v) = self
            .post("/v1/postal/orders", &order_body(code, direction))
            .await;
        assert_eq!(s, 202, "{v}");
        // The answer shows the order as it is now: the sender may already have handed it
        // over (its worker was busy with an earlier order and claimed this one at once).
        assert!(v["state"] == "queued" || v["state"] == "sent", "{v}");
        v
    }

    async fn view(&self, number: &str) -> Value {
        self.get(&format!("/v1/postal/orders/{number}")).await
    }

    async fn notices(&self, kind: &str) -> Vec<Value> {
        self.get("/v1/notices?limit=1000").await["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == kind)
            .cloned()
            .collect()
    }
}

fn gateway_config(sim: &VnpostSim, vnpost_extra: &str) -> String {
    format!(
        "{}\n{}",
        extra().replace(
            r#"services = ["dossiers"]
dialect = "opencps""#,
            r#"services = ["dossiers", "postal"]
dialect = "opencps""#,
        ),
        sim.config(vnpost_extra)
    )
}

async fn dossier_status(g: &Gateway, code: &str) -> i64 {
    let store = g.open_store().await;
    let s = sqlx::query("SELECT status FROM dossiers WHERE code = $1")
        .bind(code.to_owned())
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get("status")
        .unwrap();
    store.close().await;
    s
}

async fn count(g: &Gateway, sql: &str) -> i64 {
    let store = g.open_store().await;
    let n = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap();
    store.close().await;
    n
}

async fn wait_state(desk: &Desk, number: &str, state: &str) {
    wait_for(&format!("order {number} {state}"), || async {
        desk.view(number).await["state"] == state
    })
    .await;
}

const D1: &str = "000.00.20.H99-20260302-0000201";
const D2: &str = "000.00.20.H99-20260302-0000202";
const D3: &str = "000.00.20.H99-20260302-0000203";
const D4: &str = "000.00.20.H99-20260302-0000204";

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn orders_and_tracking);

/// Orders checked and sent once; tracking across pages through a token expiry; delivered
/// results return their dossiers.
async fn orders_and_tracking(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let sim = VnpostSim::start(&[]);
    let g = Gateway::start_with(&db, dir.path(), &gateway_config(&sim, "page_size = 3"));
    let desk = Desk::new(&g);
    for d in [D1, D2, D3] {
        desk.dossier(d, &[4, 9]).await;
    }
    desk.dossier(D4, &[]).await;

    // Refusals name the field; nothing is recorded.
    let mut bad = order_body(D1, "result_delivery");
    bad["citizen"]["province_code"] = json!("Hà Nội");
    let (s, v) = desk.post("/v1/postal/orders", &bad).await;
    assert_eq!(
        (s, v["code"].as_str(), v["field"].as_str()),
        (
            422,
            Some("invalid_postal_order"),
            Some("citizen.province_code")
        ),
        "{v}"
    );
    let (s, v) = desk
        .post(
            "/v1/postal/orders",
            &order_body("000.00.20.H99-20260302-9999999", "result_delivery"),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (422, Some("dossier_not_found")),
        "{v}"
    );
    assert_eq!(count(&g, "SELECT COUNT(*) FROM postal_orders").await, 0);

    for d in [D1, D2, D3] {
        desk.order(d, "result_delivery").await;
    }
    let pickup = desk.order(D4, "dossier_pickup").await;
    let pickup_no = format!("{D4}-GOM");
    assert_eq!(pickup["order_number"], pickup_no);
    // The same order again is the same order; other content under the same number is refused.
    let (s, v) = desk
        .post("/v1/postal/orders", &order_body(D1, "result_delivery"))
        .await;
    assert_eq!((s, v["order_number"].as_str()), (200, Some(D1)), "{v}");
    let mut other = order_body(D1, "result_delivery");
    other["contents"] = json!("Bản sao");
    let (s, v) = desk.post("/v1/postal/orders", &other).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("postal_order_exists")),
        "{v}"
    );

    for n in [D1, D2, D3, pickup_no.as_str()] {
        wait_state(&desk, n, "sent").await;
        let o = sim.order(n).await.expect("order at VNPost");
        assert_eq!(o["creates"], 1, "{o}");
    }
    // Both directions: the citizen receives a result, sends a dossier.
    let o = sim.order(D1).await.unwrap();
    assert_eq!(
        (
            o["order"]["ReceiverName"].as_str(),
            o["order"]["SenderProvince"].as_i64()
        ),
        (Some("Đỗ Thị Thử"), Some(99))
    );
    let o = sim.order(&pickup_no).await.unwrap();
    assert_eq!(
        (
            o["order"]["SenderName"].as_str(),
            o["order"]["ReceiverName"].as_str()
        ),
        (Some("Đỗ Thị Thử"), Some("Sở Nội vụ tỉnh Ví Dụ"))
    );
    assert_eq!(o["order"]["ReceiverDistrict"], 9901);

    // The token expires mid-run: the gateway gets a new one and goes on.
    let before = sim.get("/_sim/stats").await;
    sim.control("/_sim/expire_tokens", &json!({})).await;
    // Nine events (three pages of three): two steps per delivery, one pickup step, one event of
    // another customer code and one of an order unknown here (both skipped).
    for d in [D1, D2, D3] {
        sim.advance(d, "1").await;
        sim.advance(d, "2").await;
    }
    sim.advance_for("KHACH_KHAC", D1, "2").await;
    sim.advance("000.00.20.H99-20260302-0000999", "1").await;
    sim.advance(&pickup_no, "1").await;
    // Then the deliveries: a fourth page.
    for d in [D1, D2, D3] {
        sim.advance(d, "4").await;
    }
    let last = sim.advance(&pickup_no, "2").await;
    for d in [D1, D2, D3] {
        wait_state(&desk, d, "delivered").await;
    }
    wait_for("the cursor at the last event", || async {
        let store = g.open_store().await;
        let c: Option<String> = sqlx::query("SELECT last_id FROM postal_cursor")
            .fetch_optional(store.pool())
            .await
            .unwrap()
            .map(|r| r.try_get("last_id").unwrap());
        store.close().await;
        c.as_deref() == Some(last.as_str())
    })
    .await;
    let after = sim.get("/_sim/stats").await;
    assert!(
        after["token_rejections"].as_u64() > before["token_rejections"].as_u64(),
        "{before} {after}"
    );
    assert!(
        after["tokens_issued"].as_u64() > before["tokens_issued"].as_u64(),
        "{before} {after}"
    );

    for d in [D1, D2, D3] {
        let v = desk.view(d).await;
        let codes: Vec<&str> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status_code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["1", "2", "4"], "{v}");
        assert_eq!(v["carrier_status"], "4");
        assert_eq!(dossier_status(&g, d).await, 10, "{d}");
    }
    assert_eq!(
        desk.view(&pickup_no).await["events"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        dossier_status(&g, D4).await,
        2,
        "a pickup does not return a dossier"
    );
    assert_eq!(count(&g, "SELECT COUNT(*) FROM postal_events").await, 11);
    // The installation heard of each event once, and of each returned dossier.
    let events = desk.notices("postal.event").await;
    assert_eq!(events.len(), 11);
    let returned: Vec<&Value> = events
        .iter()
        .filter(|n| n["detail"]["dossier_status"] == 10)
        .collect();
    assert_eq!(returned.len(), 3);
    // And the dossier's step 10 is the gateway's, once.
    assert_eq!(
        count(&g, "SELECT COUNT(*) FROM dossier_events WHERE status = 10").await,
        3
    );
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn restart_between_polls);

/// Events arriving while the gateway is down (killed, then stopped) are applied once after it
/// comes back: none lost, none twice.
async fn restart_between_polls(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let sim = VnpostSim::start(&[]);
    let mut g = Gateway::start_with(&db, dir.path(), &gateway_config(&sim, "page_size = 2"));
    let desk = Desk::new(&g);
    desk.dossier(D1, &[4, 9]).await;
    desk.dossier(D2, &[4, 9]).await;
    desk.order(D1, "result_delivery").await;
    desk.order(D2, "result_delivery").await;
    wait_state(&desk, D1, "sent").await;
    wait_state(&desk, D2, "sent").await;
    sim.advance(D1, "1").await;
    wait_for("first event applied", || async {
        desk.view(D1).await["events"].as_array().unwrap().len() == 1
    })
    .await;

    g.kill9();
    for code in ["2", "3"] {
        sim.advance(D1, code).await;
        sim.advance(D2, code).await;
    }
    g = Gateway::spawn(dir.path(), &g.config());
    let desk = Desk::new(&g);
    wait_for("events of the downtime applied", || async {
        desk.view(D2).await["events"].as_array().unwrap().len() == 2
    })
    .await;

    g.stop();
    sim.advance(D1, "4").await;
    sim.advance(D2, "4").await;
    g = Gateway::spawn(dir.path(), &g.config());
    let desk = Desk::new(&g);
    wait_state(&desk, D1, "delivered").await;
    wait_state(&desk, D2, "delivered").await;
    // A few more polls find nothing new.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;

    assert_eq!(count(&g, "SELECT COUNT(*) FROM postal_events").await, 7);
    for d in [D1, D2] {
        let v = desk.view(d).await;
        let codes: Vec<&str> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status_code"].as_str().unwrap())
            .collect();
        let want: &[&str] = if d == D1 {
            &["1", "2", "3", "4"]
        } else {
            &["2", "3", "4"]
        };
        assert_eq!(codes, want, "{d}");
        assert_eq!(dossier_status(&g, d).await, 10);
    }
    assert_eq!(desk.notices("postal.event").await.len(), 7);
    assert_eq!(
        count(&g, "SELECT COUNT(*) FROM dossier_events WHERE status = 10").await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_retry() {
    let db = Db::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let sim = VnpostSim::start(&[]);
    let cfg = gateway_config(&sim, "").replace("max_attempts = 50", "max_attempts = 4");
    let g = Gateway::start_with(&db, dir.path(), &cfg);
    let desk = Desk::new(&g);
    desk.dossier(D1, &[4, 9]).await;
    desk.dossier(D2, &[4, 9]).await;
    desk.dossier(D3, &[4, 9]).await;

    // VNPost answers 503 twice: the order is retried and made once.
    sim.control("/_sim/faults", &json!({ "order": 2 })).await;
    desk.order(D1, "result_delivery").await;
    wait_state(&desk, D1, "sent").await;
    let v = desk.view(D1).await;
    assert_eq!(v["attempts"], 3, "{v}");
    assert_eq!(sim.order(D1).await.unwrap()["creates"], 1);

    // Cancelled at VNPost; asking again answers the same.
    let (s, v) = desk
        .post(&format!("/v1/postal/orders/{D1}/cancel"), &json!({}))
        .await;
    assert_eq!((s, v["state"].as_str()), (202, Some("cancelling")), "{v}");
    wait_state(&desk, D1, "cancelled").await;
    assert_eq!(sim.order(D1).await.unwrap()["cancelled"], true);
    let (s, v) = desk
        .post(&format!("/v1/postal/orders/{D1}/cancel"), &json!({}))
        .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("cancelled")), "{v}");

    // A delivered order cannot be cancelled; an unknown one is not found.
    desk.order(D2, "result_delivery").await;
    wait_state(&desk, D2, "sent").await;
    sim.advance(D2, "4").await;
    wait_state(&desk, D2, "delivered").await;
    let (s, v) = desk
        .post(&format!("/v1/postal/orders/{D2}/cancel"), &json!({}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("postal_order_delivered")),
        "{v}"
    );
    let (s, v) = desk
        .post("/v1/postal/orders/KHONG-CO/cancel", &json!({}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("postal_order_not_found")),
        "{v}"
    );
    // VNPost down for longer than the retries last: the order fails, the desk hears, and once
    // VNPost is back the operator sends it again.
    sim.control("/_sim/faults", &json!({ "order": 100 })).await;
    desk.order(D3, "result_delivery").await;
    wait_state(&desk, D3, "failed").await;
    let v = desk.view(D3).await;
    assert!(v["last_error"].as_str().unwrap().contains("503"), "{v}");
    assert_eq!(v["attempts"], 4, "{v}");
    assert!(sim.order(D3).await.is_none());
    let out = g.cli(&["postal", "orders", "--state", "failed"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && listed.contains(D3) && !listed.contains(D1),
        "{listed}"
    );
    sim.control("/_sim/faults", &json!({})).await;
    let out = g.cli(&["postal", "retry", D3]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "re-queued 1 failed order"
    );
    wait_state(&desk, D3, "sent").await;
    assert_eq!(sim.order(D3).await.unwrap()["creates"], 1);
    let failed: Vec<Value> = desk
        .notices("postal.order")
        .await
        .into_iter()
        .filter(|n| n["dossier_code"] == D3 && n["detail"]["state"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);

    // A create given up on whose answer was only lost: VNPost's events show it was made.
    desk.dossier(D4, &[4, 9]).await;
    sim.control("/_sim/faults", &json!({ "order": 100 })).await;
    desk.order(D4, "result_delivery").await;
    wait_state(&desk, D4, "failed").await;
    sim.control("/_sim/faults", &json!({})).await;
    sim.advance(D4, "1").await;
    wait_state(&desk, D4, "sent").await;
    assert_eq!(desk.view(D4).await["carrier_status"], "1");


    let states: Vec<String> = desk
        .notices("postal.order")
        .await
        .iter()
        .filter(|n| n["dossier_code"] == D1)
        .map(|n| n["detail"]["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, ["queued", "sent", "cancelling", "cancelled"]);
}

/// Production settings left out are named by `check-config` before anything starts.
#[test]
fn check_config_names_missing_vnpost_settings() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("lienthong.toml");
    std::fs::write(
        &cfg,
        "[adapters.vnpost]\nenabled = true\nsimulate = false\ntoken_url = \"https://ngsp.example/token\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["--config", cfg.to_str().unwrap(), "check-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    for key in [
        "order_url",
        "tracking_url",
        "cancel_url",
        "customer_code",
        "customer_key",
        "secret_key",
        "agency_name",
        "agency_province",
    ] {
        assert!(
            err.contains(&format!("adapters.vnpost.{key}")),
            "{key} not named:\n{err}"
        );
    }
    assert!(!err.contains("adapters.vnpost.token_url"), "{err}");
}

/// Two nodes on one PostgreSQL poll the same tracking list: every event is applied once
/// (the cursor moves compare-and-set with the page's effects), every order is made once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_apply_each_event_once() {
    let db = Db::new(common::Backend::Postgres).one_database();
    let dir = tempfile::tempdir().unwrap();
    let sim = VnpostSim::start(&[]);
    let cfg = gateway_config(&sim, "page_size = 2").replace("poll_ms = 200", "poll_ms = 50");
    let node = |n: &str| {
        let d = dir.path().join(n);
        std::fs::create_dir_all(&d).unwrap();
        Gateway::start_with(&db, &d, &cfg)
    };
    let (g, other) = (node("node0"), node("node1"));
    let desk = Desk::new(&g);
    let codes = ["1", "2", "3", "5", "6", "7", "8", "1", "2", "4"];
    for d in [D1, D2, D3] {
        desk.dossier(d, &[4, 9]).await;
        desk.order(d, "result_delivery").await;
    }
    for d in [D1, D2, D3] {
        wait_state(&desk, d, "sent").await;
    }
    // Events arrive over time, so both nodes find some.
    for code in codes {
        for d in [D1, D2, D3] {
            sim.advance(d, code).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
    for d in [D1, D2, D3] {
        wait_state(&desk, d, "delivered").await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for d in [D1, D2, D3] {
        assert_eq!(sim.order(d).await.unwrap()["creates"], 1, "{d}");
        let v = desk.view(d).await;
        let seen: Vec<&str> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status_code"].as_str().unwrap())
            .collect();
        assert_eq!(seen, codes, "{d}");
    }
    assert_eq!(count(&g, "SELECT COUNT(*) FROM postal_events").await, 30);
    assert_eq!(desk.notices("postal.event").await.len(), 30);
    assert_eq!(
        count(&g, "SELECT COUNT(*) FROM dossier_events WHERE status = 10").await,
        3
    );
    let polled = |n: &Gateway| {
        ["stdout.log", "stderr.log"]
            .iter()
            .map(|f| {
                std::fs::read_to_string(n.dir.join(f))
                    .unwrap_or_default()
                    .matches("vnpost: tracking events")
                    .count()
            })
            .sum::<usize>()
    };
    println!(
        "two nodes: pages applied by node 0: {}, by node 1: {}",
        polled(&g),
        polled(&other)
    );
}
