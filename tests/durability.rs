//! What the gateway acknowledged survives SIGKILL; the audit chain detects tampering.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::Value;

fn audit_tail(gw: &Gateway) -> Vec<Value> {
    let out = gw.cli(&["audit", "tail", "-n", "1000", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

both_backends!(#[tokio::test] async fn acknowledged_request_survives_sigkill);
async fn acknowledged_request_survives_sigkill(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let mut gw = Gateway::start(&db, dir.path());
    let client = gw.client(Some("vpubnd"));
    let resp = client.get(gw.url("/v1/whoami")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    // Kill right after the 2xx: no shutdown code runs, nothing is flushed on the way out.
    gw.kill9();

    let cfg = gw.config();
    let gw = Gateway::spawn(dir.path(), &cfg);
    let records = audit_tail(&gw);
    let rec = records
        .iter()
        .find(|r| r["request_id"] == rid.as_str())
        .unwrap_or_else(|| panic!("request {rid} not in the audit log"));
    assert_eq!(rec["actor"], "vpubnd");
    assert_eq!(rec["outcome"], "allow");
    assert_eq!(rec["action"], "GET /v1/whoami");
    // The chain is intact across the crash and the restart.
    let out = gw.cli(&["audit", "verify", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true, "{v}");
    assert!(out.status.success());
    // And the restarted gateway serves again.
    assert_eq!(
        gw.client(Some("vpubnd"))
            .get(gw.url("/v1/whoami"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

/// Flip the last character of one record's request id (`0` ↔ `1`) the way someone with access
/// to the store could: in the bytes of the SQLite file itself; on PostgreSQL as a superuser
/// switching the append-only trigger off around the UPDATE (which the trigger refuses otherwise).
fn tamper(db: &Db, gw: &Gateway, needle: &str) {
    let last = needle.len() - 1;
    let flipped = format!("{}{}", &needle[..last], if needle.ends_with('0') { '1' } else { '0' });
    let Some(pg) = &db.pg else {
        return flip_in_sqlite_files(&gw.dir.join("data"), needle, &flipped);
    };
    let url = gw.store_url();
    let name = url.rsplit('/').next().unwrap();
    let update = format!("UPDATE audit_log SET request_id = '{flipped}' WHERE request_id = '{needle}'");
    let refused = pg.try_psql(name, &update).expect_err("the trigger allowed an UPDATE");
    assert!(refused.contains("append-only"), "{refused}");
    pg.psql(
        name,
        &format!(
            "BEGIN; ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change; {update}; \
             ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change; COMMIT;"
        ),
    );
}

fn flip_in_sqlite_files(data: &std::path::Path, needle: &str, flipped: &str) {
    for name in ["lienthong.db", "lienthong.db-wal"] {
        let path = data.join(name);
        let Ok(mut bytes) = std::fs::read(&path) else {
            continue;
        };
        if let Some(pos) = bytes
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
        {
            bytes[pos..pos + needle.len()].copy_from_slice(flipped.as_bytes());
            std::fs::write(&path, bytes).unwrap();
            return;
        }
    }
    panic!("{needle} not found in the store files");
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn audit_verify_names_the_first_tampered_record);
async fn audit_verify_names_the_first_tampered_record(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let mut gw = Gateway::start(&db, dir.path());
    let vp = gw.client(Some("vpubnd"));
    let pg = gw.client(Some("paygov"));
    for i in 0..6 {
        let c = if i % 2 == 0 { &vp } else { &pg };
        let _ = c.get(gw.url("/v1/organs")).send().await.unwrap();
    }
    drop((vp, pg));
    gw.stop();
    let out = gw.cli(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("audit chain OK"));

    let records = audit_tail(&gw);
    assert!(records.len() >= 8, "{}", records.len());
    // Tamper with a record in the middle: its request id, one byte.
    let victim = records
        .iter()
        .find(|r| r["kind"] == "access" && r["outcome"] == "deny:service_not_granted")
        .unwrap();
    let seq = victim["seq"].as_i64().unwrap();
    tamper(&db, &gw, victim["request_id"].as_str().unwrap());

    let out = gw.cli(&["audit", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["first_broken"]["seq"], seq, "{v}");
    assert_eq!(v["records"], seq - 1);
    let human = gw.cli(&["audit", "verify"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains(&format!("BROKEN at record {seq}")));
}
