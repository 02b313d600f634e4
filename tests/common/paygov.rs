//! The PayGov simulator as its own process (`lienthong sim paygov`), its controls, and
//! callbacks signed the way the platform signs them.
#![allow(dead_code)]

use lienthong_paygov::checksum;
use serde_json::{json, Map, Value};
use std::process::Child;

pub const PARTNER: &str = "VIDU01";
pub const SECRET: &str = "sandbox-secret";

pub struct PaygovSim {
    child: Child,
    pub url: String,
    http: reqwest::Client,
}

impl Drop for PaygovSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PaygovSim {
    pub fn start() -> PaygovSim {
        let (child, url) = super::spawn_sim(&[
            "paygov",
            "--listen",
            "127.0.0.1:0",
            "--partner",
            PARTNER,
            "--secret",
            SECRET,
        ]);
        PaygovSim {
            child,
            url,
            http: reqwest::Client::new(),
        }
    }

    /// `[adapters.paygov]` pointing at this simulator; `extra` adds or overrides keys.
    pub fn config(&self, extra: &str) -> String {
        format!(
            r#"
[adapters.paygov]
enabled = true
base_url = "{url}"
partner_code = "{PARTNER}"
secret = {{ value = "{SECRET}" }}
timeout_ms = 2000
{extra}
"#,
            url = self.url
        )
    }

    /// Send callbacks to gateway `g` (trusting its dev CA).
    pub async fn target(&self, g: &super::Gateway) {
        let pem = std::fs::read_to_string(g.pki().join("ca.pem")).unwrap();
        let r = self
            .http
            .post(format!("{}/_sim/target", self.url))
            .json(&json!({ "url": g.url("/callbacks/paygov"), "ca_pem": pem }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }

    /// The citizen pays (`paid`), fails (`failed`) or leaves it `pending`; `callbacks` copies.
    pub async fn pay(&self, reference: &str, outcome: &str, callbacks: u32, delay_ms: u64) {
        let r = self
            .http
            .post(format!("{}/_sim/pay", self.url))
            .json(&json!({ "reference": reference, "outcome": outcome, "callbacks": callbacks, "delay_ms": delay_ms }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
}

/// A callback as the platform sends it, signed with [`SECRET`] in the callback field order.
pub fn callback(reference: &str, amount: &str, ma_loi: &str, txn: &str) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("LoaiBanTin", "CONFIRM"),
        ("MaLoi", ma_loi),
        ("MaDoiTac", PARTNER),
        ("MaThamChieu", reference),
        ("SoTien", amount),
        ("MaTienTe", "VND"),
        ("MaGiaoDich", txn),
        ("MaNganHang", "VDBANK"),
        ("ThoiGianGD", "20260302143000"),
        ("ThongTinGiaoDich", "Thanh toan le phi"),
    ] {
        m.insert(k.into(), Value::String(v.into()));
    }
    resign(&mut m);
    m
}

/// Sign `m` again after a change (what a forger with the secret could do).
pub fn resign(m: &mut Map<String, Value>) {
    checksum::sign(m, checksum::CALLBACK, SECRET.as_bytes());
}

/// Post a callback body; (HTTP status, answer, refusal reason header).
pub async fn post_callback(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
) -> Result<(u16, Value, Option<String>), reqwest::Error> {
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    let reason = r
        .headers()
        .get("x-lienthong-reason")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let answer = r.json().await.unwrap_or(Value::Null);
    Ok((status, answer, reason))
}
