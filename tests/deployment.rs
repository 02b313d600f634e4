//! Several nodes on one PostgreSQL, each started from `config/lienthong.postgres.toml` as
//! docs/deployment.md says (its own copy of `pki/` and `secrets/`, the environment naming the
//! database, the data directory and the listeners): what one node accepts, the others serve;
//! a token one node issues, the others accept; the nodes write one audit chain.

mod common;

use common::edoc::*;
use common::{Backend, Db, Gateway};
use std::path::Path;

const A: &str = "000.00.00.H99"; // vpubnd
const B: &str = "000.00.01.H99"; // sonv
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/lienthong.postgres.toml");
const OAUTH_SECRET: &str = "node-test-secret-vpubnd";

/// A node's directory (its working directory, like /etc/lienthong): the example config, and
/// `pki/` and `secrets/` copied from `from` (or made there first).
fn node_dir(dir: &Path, from: Option<&Path>) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(EXAMPLE, dir.join("lienthong.toml")).unwrap();
    match from {
        Some(src) => {
            let cp = std::process::Command::new("cp")
                .arg("-a")
                .arg(src.join("pki"))
                .arg(src.join("secrets"))
                .arg(dir)
                .status()
                .unwrap();
            assert!(cp.success());
        }
        None => {
            std::fs::create_dir_all(dir.join("secrets")).unwrap();
            std::fs::write(
                dir.join("secrets/oauth-signing.key"),
                "shared-by-every-node-0123456789abcdef-0123456789",
            )
            .unwrap();
            // A production configuration insists its files exist: make the test PKI as a sandbox.
            let out = std::process::Command::new(common::BIN)
                .env("VPUBND_OAUTH_SECRET", OAUTH_SECRET)
                .args(["--config", "lienthong.toml", "--set", "sandbox=true", "pki", "dev-init", "pki"])
                .current_dir(dir)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    dir.to_owned()
}

fn node_env(dir: &Path, store_url: &str) -> Vec<(String, String)> {
    [
        ("LIENTHONG_STORE__URL", store_url.to_owned()),
        ("LIENTHONG_DATA_DIR", dir.join("data").display().to_string()),
        ("LIENTHONG_LISTEN__MEMBERS", "127.0.0.1:0".into()),
        ("LIENTHONG_LISTEN__OPERATOR", "127.0.0.1:0".into()),
        ("VPUBND_OAUTH_SECRET", OAUTH_SECRET.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_config_runs_two_nodes_on_one_postgresql() {
    let db = Db::new(Backend::Postgres);
    let url = db.store_url().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d1 = node_dir(&tmp.path().join("node1"), None);
    let d2 = node_dir(&tmp.path().join("node2"), Some(&d1));
    let cfg = |d: &Path| d.join("lienthong.toml");

    // The example, with the environment a node gets, is a valid configuration.
    let check = std::process::Command::new(common::BIN)
        .envs(node_env(&d1, &url))
        .args(["--config", "lienthong.toml", "check-config"])
        .current_dir(&d1)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    let n1 = Gateway::spawn_env(&d1, &cfg(&d1), node_env(&d1, &url));
    let n2 = Gateway::spawn_env(&d2, &cfg(&d2), node_env(&d2, &url));
    let pki = d1.join("pki");
    let (a, b) = (client(&pki, "vpubnd"), client(&pki, "sonv"));

    // vpubnd hands a package to node 1; node 2 knows it (the same id for the same package).
    let signed = sign_as(&pki, "vpubnd", &document(A, &[B], "7/NODES", "Hai nút, một cơ sở dữ liệu"));
    let (s, v) = post(&a, &n1.url("/v1/edocs"), signed.clone()).await;
    assert_eq!(s, 202, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, again) = post(&a, &n2.url("/v1/edocs"), signed.clone()).await;
    assert_eq!((s, again["id"].as_i64()), (200, Some(id)), "{again}");

    // sonv pulls and acknowledges it through node 2; node 1 shows the acknowledgement.
    let inbox = get_json(&b, &n2.url("/v1/edocs/inbox")).await;
    assert_eq!(inbox["items"][0]["id"].as_i64(), Some(id), "{inbox}");
    let got = b.get(n2.url(&format!("/v1/edocs/{id}"))).send().await.unwrap();
    assert_eq!(got.bytes().await.unwrap().to_vec(), signed);
    let ack = b
        .post(n2.url(&format!("/v1/edocs/{id}/ack")))
        .json(&serde_json::json!({"result": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 200);
    let d = get_json(&a, &n1.url(&format!("/v1/edocs/{id}/deliveries"))).await;
    assert_eq!(d["deliveries"][0]["state"], "acked", "{d}");

    // A token node 1 issues is good on node 2 (one signing key for every node).
    let plain = reqwest::Client::builder()
        .tls_backend_preconfigured(common::client_config(&pki, None, &[b"http/1.1"]))
        .build()
        .unwrap();
    let issued = plain
        .post(n1.url("/oauth2/token"))
        .basic_auth("vpubnd", Some(OAUTH_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let token: serde_json::Value = issued.json().await.unwrap();
    let bearer = token["access_token"].as_str().unwrap_or_else(|| panic!("{token}"));
    let who = plain
        .get(n2.url("/v1/whoami"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(who.status(), 200);

    // Both nodes wrote into one chain, which verifies from either.
    for n in [&n1, &n2] {
        let out = n.cli(&["audit", "verify", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["valid"], true, "{v}");
        assert!(v["records"].as_u64().unwrap() >= 8, "{v}");
    }
    let banner = std::fs::read_to_string(d1.join("stdout.log")).unwrap();
    assert!(banner.contains(&format!("store      : {url}")), "{banner}");
}
