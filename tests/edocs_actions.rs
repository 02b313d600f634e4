//! Business actions (`BussinessDocType` 1 revoke, 2 update, 3 replace) reach every affected
//! recipient: the organs the document went to, organs an update adds, and organs it removes (who
//! must hear that they are removed), over real processes and TLS.

mod common;

use common::edoc::*;
use common::{both_backends, Db, Gateway};
use lienthong::contract::edoc::{ReceiverChange, Replacement};
use serde_json::Value;

const A: &str = "000.00.00.H99"; // vpubnd, the sender
const B: &str = "000.00.01.H99"; // sonv
const C: &str = "000.00.02.H99"; // sotp: removed by the update
const D: &str = "000.00.03.H99"; // soyt: added by the update

fn organs(v: &Value) -> Vec<String> {
    let mut o: Vec<String> = v["recipients"]
        .as_array()
        .unwrap_or_else(|| panic!("no recipients in {v}"))
        .iter()
        .map(|r| r["organ"].as_str().unwrap().to_owned())
        .collect();
    o.sort();
    o
}

async fn inbox_ids(c: &reqwest::Client, g: &Gateway) -> Vec<i64> {
    let v = get_json(c, &g.url("/v1/edocs/inbox?limit=100")).await;
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("inbox: {v}"))
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn revoke_update_and_replace_reach_every_affected_recipient);
async fn revoke_update_and_replace_reach_every_affected_recipient(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let pki = shared_pki(
        dir.path(),
        &[
            ("vpubnd", "agency", A),
            ("sonv", "agency", B),
            ("sotp", "agency", C),
            ("soyt", "agency", D),
            ("gw", "peer", "H99"),
        ],
    );
    let gdir = dir.path().join("gw");
    let cfg = gateway_config(
        &db,
        &gdir,
        &pki,
        "gw",
        free_port(),
        &[
            member_toml("vpubnd", "agency", &[A], ""),
            member_toml("sonv", "agency", &[B], ""),
            member_toml("sotp", "agency", &[C], ""),
            member_toml("soyt", "agency", &[D], ""),
        ]
        .concat(),
        "",
    );
    let g = Gateway::spawn(&gdir, &cfg);
    let a = client(&pki, "vpubnd");
    let (b, c, d) = (client(&pki, "sonv"), client(&pki, "sotp"), client(&pki, "soyt"));
    let url = g.url("/v1/edocs");
    let x = document_id(A, "45/UBND-VP");

    // 1. The document goes to B and C.
    let new = sign_as(&pki, "vpubnd", &document(A, &[B, C], "45/UBND-VP", "Bản gốc"));
    let (s, v) = post(&a, &url, new).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(organs(&v), [B, C]);
    let original = v["id"].as_i64().unwrap();

    // 2. An update under the same DocumentId adds D and removes C: B, C (told) and D get it.
    let update = sign_as(
        &pki,
        "vpubnd",
        &document_with(A, &[B], "45/UBND-VP", "Bản cập nhật", |h| {
            h.business_doc_type = Some("2".into());
            h.receiver_changes = vec![
                ReceiverChange { organ_id: D.into(), added: true },
                ReceiverChange { organ_id: C.into(), added: false },
            ];
        }),
    );
    let (s, v) = post(&a, &url, update.clone()).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(organs(&v), [B, C, D], "update reaches the kept, removed and added organs");
    let updated = v["id"].as_i64().unwrap();
    assert_eq!(v["document_id"], x);
    // The same update again is the same submission.
    let (s, v) = post(&a, &url, update).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"].as_i64(), Some(updated));

    // 3. A revoke reaches the document's current recipients: B and D, no longer C.
    let revoke = sign_as(
        &pki,
        "vpubnd",
        &document_with(A, &[B], "45/UBND-VP", "Thu hồi", |h| {
            h.business_doc_type = Some("1".into());
        }),
    );
    let (s, v) = post(&a, &url, revoke).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(organs(&v), [B, D]);
    let revoked = v["id"].as_i64().unwrap();

    // 4. A replacement (its own DocumentId) reaches what it names and everyone the replaced
    //    document currently goes to.
    let replace = sign_as(
        &pki,
        "vpubnd",
        &document_with(A, &[B], "46/UBND-VP", "Văn bản thay thế", |h| {
            h.business_doc_type = Some("3".into());
            h.replacements = vec![Replacement { document_id: x.clone(), organs: vec![B.into()] }];
        }),
    );
    let (s, v) = post(&a, &url, replace).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(organs(&v), [B, D]);
    let replaced = v["id"].as_i64().unwrap();

    // 5. A *new* document reusing the DocumentId with other content is still a conflict.
    let clash = sign_as(&pki, "vpubnd", &document(A, &[B], "45/UBND-VP", "Nội dung khác"));
    let (s, v) = post(&a, &url, clash).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["code"], "document_id_conflict");

    // Each inbox holds exactly what reached it.
    assert_eq!(inbox_ids(&b, &g).await, [original, updated, revoked, replaced]);
    assert_eq!(inbox_ids(&c, &g).await, [original, updated]);
    assert_eq!(inbox_ids(&d, &g).await, [updated, revoked, replaced]);

    // The sender's deliveries view of the revoke names B and D.
    let v = get_json(&a, &g.url(&format!("/v1/edocs/{revoked}/deliveries"))).await;
    let mut seen: Vec<&str> = v["deliveries"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|d| d["organ"].as_str().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, [B, D]);

    // Every POST has its allow record — committed with the package when one was stored, by the
    // guard otherwise (duplicate, conflict) — and each stored package's record follows its
    // allow record in the same chain. The chain verifies.
    let out = g.cli(&["audit", "tail", "-n", "200", "--json"]);
    assert!(out.status.success());
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let posts: Vec<&Value> = records
        .iter()
        .filter(|r| r["action"] == "POST /v1/edocs" && r["actor"] == "vpubnd")
        .collect();
    assert_eq!(posts.len(), 6, "{records:#?}");
    assert!(posts.iter().all(|r| r["outcome"] == "allow"));
    let accepts: Vec<usize> = (0..records.len())
        .filter(|&i| records[i]["action"] == "edoc.accept document")
        .collect();
    assert_eq!(accepts.len(), 4);
    for i in accepts {
        let allow = &records[i - 1];
        assert_eq!(allow["action"], "POST /v1/edocs");
        assert_eq!(allow["request_id"], records[i]["request_id"]);
    }
    assert!(g.cli(&["audit", "verify"]).status.success());
}
