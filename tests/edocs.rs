//! Document exchange end to end, with real processes: two gateways (province H99 and province
//! H98) on one test PKI, agencies that pull and an agency that is pushed to.

mod common;

use common::edoc::*;
use common::{both_backends, Db, Gateway};
use std::time::Duration;

const A: &str = "000.00.00.H99"; // vpubnd, province H99, pull
const B: &str = "000.00.01.H99"; // sonv, province H99, pull
const C: &str = "000.00.05.H98"; // sotc98, province H98, push (behind the second gateway)

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn two_gateways_exchange_a_document_and_statuses_come_back);
async fn two_gateways_exchange_a_document_and_statuses_come_back(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let pki = shared_pki(
        dir.path(),
        &[
            ("vpubnd", "agency", A),
            ("sonv", "agency", B),
            ("sotc98", "agency", C),
            ("gw99", "peer", "H99"),
            ("gw98", "peer", "H98"),
        ],
    );
    let receiver = PushReceiver::start(&pki).await;
    let (p1, p2) = (free_port(), free_port());
    let cfg1 = gateway_config(
        &db,
        &dir.path().join("gw99"),
        &pki,
        "gw99",
        p1,
        &[
            member_toml("vpubnd", "agency", &[A], ""),
            member_toml("sonv", "agency", &[B], "unsigned_status = true"),
            member_toml(
                "gw98",
                "peer",
                &["H98"],
                &format!("delivery = \"push\"\nendpoint = \"https://127.0.0.1:{p2}/v1/edocs\""),
            ),
        ]
        .concat(),
        "",
    );
    let cfg2 = gateway_config(
        &db,
        &dir.path().join("gw98"),
        &pki,
        "gw98",
        p2,
        &[
            member_toml(
                "sotc98",
                "agency",
                &[C],
                &format!("delivery = \"push\"\nendpoint = \"{}\"", receiver.url),
            ),
            member_toml(
                "gw99",
                "peer",
                &["H99"],
                &format!("delivery = \"push\"\nendpoint = \"https://127.0.0.1:{p1}/v1/edocs\""),
            ),
        ]
        .concat(),
        "",
    );
    let g1 = Gateway::spawn(&dir.path().join("gw99"), &cfg1);
    let g2 = Gateway::spawn(&dir.path().join("gw98"), &cfg2);

    let a = client(&pki, "vpubnd");
    let b = client(&pki, "sonv");
    let c = client(&pki, "sotc98");

    // A sends one signed package to B (same province, pull) and C (other province, push).
    let signed = sign_as(&pki, "vpubnd", &document(A, &[B, C], "45/UBND-VP", "Kính gửi các cơ quan"));
    let (status, v) = post(&a, &g1.url("/v1/edocs"), signed.clone()).await;
    assert_eq!(status, 202, "{v}");
    let id = v["id"].as_i64().unwrap();
    let doc_id = document_id(A, "45/UBND-VP");
    assert_eq!(v["document_id"], doc_id);
    let recipients: Vec<(String, String)> = v["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["organ"].as_str().unwrap().into(), r["member"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        recipients,
        vec![(B.to_string(), "sonv".to_string()), (C.to_string(), "gw98".to_string())]
    );
    // The same package again: the original id, nothing new.
    let (status, again) = post(&a, &g1.url("/v1/edocs"), signed.clone()).await;
    assert_eq!((status, again["id"].as_i64()), (200, Some(id)), "{again}");

    // B pulls it: identical bytes.
    let inbox = get_json(&b, &g1.url("/v1/edocs/inbox")).await;
    let items = inbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{inbox}");
    assert_eq!(items[0]["id"].as_i64(), Some(id));
    assert_eq!(items[0]["from"], A);
    let got = b.get(g1.url(&format!("/v1/edocs/{id}"))).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), signed, "B received different bytes");
    let ack = b
        .post(g1.url(&format!("/v1/edocs/{id}/ack")))
        .json(&serde_json::json!({"result": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 200);

    // C is pushed to through the second gateway: identical bytes.
    wait_for("the push to C", || {
        let got = receiver.got.clone();
        async move { !got.lock().unwrap().is_empty() }
    })
    .await;
    assert_eq!(receiver.got.lock().unwrap()[0].1, signed, "C received different bytes");

    // B answers 01 then 03 (unsigned, allowed by its member policy); C answers 01 then 03 signed.
    for code in ["01", "03"] {
        let (s, v) = post(&b, &g1.url("/v1/edocs"), status_package(B, A, &doc_id, code)).await;
        assert_eq!(s, 202, "{v}");
        let st = sign_as(&pki, "sotc98", &status_package(C, A, &doc_id, code));
        let (s, v) = post(&c, &g2.url("/v1/edocs"), st).await;
        assert_eq!(s, 202, "{v}");
        assert_eq!(v["recipients"][0]["member"], "gw99", "{v}");
    }
    // A's deliveries view shows both recipients at 03.
    let deliveries_url = g1.url(&format!("/v1/edocs/{id}/deliveries"));
    wait_for("both recipients at status 03", || {
        let (a, u) = (a.clone(), deliveries_url.clone());
        async move {
            let v = get_json(&a, &u).await;
            v["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["status_code"] == "03")
        }
    })
    .await;
    let v = get_json(&a, &deliveries_url).await;
    let d = v["deliveries"].as_array().unwrap();
    assert_eq!(d[0]["organ"], B);
    assert_eq!(d[0]["state"], "acked");
    assert_eq!(d[1]["organ"], C);
    assert_eq!(d[1]["state"], "delivered");
    // A can pull the four status packages, and its receipt verifies against the gateway's CA.
    let inbox = get_json(&a, &g1.url("/v1/edocs/inbox")).await;
    let kinds: Vec<&str> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["status"; 4], "{inbox}");
    let receipt = a
        .get(g1.url(&format!("/v1/edocs/{id}/receipt")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&receipt);
    let sha = hex::encode(openssl::sha::sha256(&signed));
    assert!(text.contains(&sha), "{text}");
    assert_xmlsec_verifies(dir.path(), &pki, "receipt.xml", &receipt, "receipt");
    // Other members see nothing of it.
    let c_on_g1 = b.get(g1.url(&format!("/v1/edocs/{id}/deliveries"))).send().await.unwrap();
    assert_eq!(c_on_g1.status(), 404);

    for g in [&g1, &g2] {
        let out = g.cli(&["audit", "verify"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn outage_then_recovery_in_order_and_dead_letters_told_and_retried);
/// A push recipient down for a while gets everything, in acceptance order (it asked for
/// order); a recipient that never comes back ends in dead letter, the sender is told by a
/// gateway-signed status package, and an operator can re-queue the dead letters later.
async fn outage_then_recovery_in_order_and_dead_letters_told_and_retried(db: Db) {
    const D: &str = "000.00.09.H99";
    let dir = tempfile::tempdir().unwrap();
    let pki = shared_pki(
        dir.path(),
        &[("vpubnd", "agency", A), ("sotc", "agency", C), ("soyt", "agency", D), ("gw", "peer", "H99")],
    );
    let flaky = PushReceiver::start(&pki).await;
    flaky.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let gone_port = free_port();
    let port = free_port();
    let gdir = dir.path().join("gw");
    let cfg = gateway_config(
        &db,
        &gdir,
        &pki,
        "gw",
        port,
        &[
            member_toml("vpubnd", "agency", &[A], ""),
            member_toml(
                "sotc",
                "agency",
                &[C],
                &format!("delivery = \"push\"\nordered = true\nendpoint = \"{}\"", flaky.url),
            ),
            member_toml(
                "soyt",
                "agency",
                &[D],
                &format!("delivery = \"push\"\nendpoint = \"https://127.0.0.1:{gone_port}/receive\""),
            ),
        ]
        .concat(),
        // 25 attempts at most 300 ms apart: C's first package survives at least 3.3 s of
        // failures (posting the 20 below plus C's outage), D's packages die within ~8 s.
        "[edocs.retry]\ninitial_ms = 50\nmax_ms = 300\nmax_attempts = 25\n",
    );
    let g = Gateway::spawn(&gdir, &cfg);
    let a = client(&pki, "vpubnd");
    let mut ids = Vec::new();
    for i in 0..20 {
        let doc = sign_as(&pki, "vpubnd", &document(A, &[C, D], &format!("{i}/OUT"), "x"));
        let (s, v) = post(&a, &g.url("/v1/edocs"), doc).await;
        assert_eq!(s, 202, "{v}");
        ids.push(v["id"].as_i64().unwrap());
    }
    // C is down (503) for a while; nothing gets through, then it comes back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(flaky.got.lock().unwrap().is_empty());
    flaky.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    wait_for("all 20 at the recovered recipient", || {
        let got = flaky.got.clone();
        async move { got.lock().unwrap().len() >= 20 }
    })
    .await;
    let order: Vec<i64> = flaky
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(id, _)| id.parse().unwrap())
        .collect();
    assert_eq!(order, ids, "ordered recipient got packages out of order");

    // D never answers: every delivery to it ends dead, and A hears of each by a status 02.
    let last = g.url(&format!("/v1/edocs/{}/deliveries", ids[19]));
    wait_for("dead letters for D", || {
        let (a, u) = (a.clone(), last.clone());
        async move { get_json(&a, &u).await["deliveries"][1]["state"] == "dead" }
    })
    .await;
    let v = get_json(&a, &last).await;
    assert_eq!(v["deliveries"][0]["state"], "delivered", "{v}");
    assert!(v["deliveries"][1]["last_error"].as_str().unwrap().contains("retry budget"), "{v}");
    let mut notices = Vec::new();
    wait_for("20 dead-letter notices in A's inbox", || {
        let (a, u) = (a.clone(), g.url("/v1/edocs/inbox?limit=1000"));
        async move { get_json(&a, &u).await["items"].as_array().unwrap().len() >= 20 }
    })
    .await;
    for item in get_json(&a, &g.url("/v1/edocs/inbox?limit=1000")).await["items"].as_array().unwrap() {
        assert_eq!(item["kind"], "status");
        assert_eq!(item["status_code"], "02");
        assert_eq!(item["from"], D);
        notices.push(item["id"].as_i64().unwrap());
    }
    // A notice is signed by the gateway: it verifies with xmlsec1 against the CA.
    let bytes = a
        .get(g.url(&format!("/v1/edocs/{}", notices[0])))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("CHƯA đến nơi nhận"));
    assert_xmlsec_verifies(dir.path(), &pki, "notice.xml", &bytes, "dead-letter notice");

    // The operator fixes D and re-queues its dead letters; they arrive.
    let out = g.cli(&["deliveries", "list", "--state", "dead", "-n", "100"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 20);
    let back = PushReceiver::start_on(&pki, &format!("127.0.0.1:{gone_port}")).await;
    let out = g.cli(&["deliveries", "retry", "--dead", "--member", "soyt"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-queued 20"), "{out:?}");
    wait_for("re-queued dead letters delivered", || {
        let got = back.got.clone();
        async move { got.lock().unwrap().len() >= 20 }
    })
    .await;
    let out = g.cli(&["audit", "verify"]);
    assert!(out.status.success());
}
