//! The VNPost NGSP simulator as its own process (`lienthong sim vnpost`) and its controls.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::process::Child;

pub const CUSTOMER: &str = "VIDU_SNV";

pub struct VnpostSim {
    child: Child,
    pub url: String,
    http: reqwest::Client,
}

impl Drop for VnpostSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl VnpostSim {
    pub fn start(args: &[&str]) -> VnpostSim {
        let mut all = vec!["vnpost", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let (child, url) = super::spawn_sim(&all);
        VnpostSim {
            child,
            url,
            http: reqwest::Client::new(),
        }
    }

    /// `[adapters.vnpost]` pointing at this simulator; `extra` adds or overrides keys.
    pub fn config(&self, extra: &str) -> String {
        config_for(&self.url, extra)
    }

    pub async fn control(&self, path: &str, body: &Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    /// A carrier event for `order` with `code`; its `$oid`.
    pub async fn advance(&self, order: &str, code: &str) -> String {
        self.advance_for(CUSTOMER, order, code).await
    }

    pub async fn advance_for(&self, customer: &str, order: &str, code: &str) -> String {
        let v = self
            .control(
                "/_sim/advance",
                &json!({ "order_number": order, "status_code": code, "customer_code": customer }),
            )
            .await;
        v["id"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The simulator's view of order `n`.
    pub async fn order(&self, n: &str) -> Option<Value> {
        self.get("/_sim/orders")
            .await
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["order_number"] == n)
            .cloned()
    }
}

/// `[adapters.vnpost]` for the NGSP at `url` (the simulator's paths).
pub fn config_for(url: &str, extra: &str) -> String {
    format!(
        r#"
[adapters.vnpost]
enabled = true
token_url = "{url}/token"
order_url = "{url}/order/post"
tracking_url = "{url}/order/tracking"
cancel_url = "{url}/order/cancel"
customer_key = {{ value = "sandbox-key" }}
secret_key = {{ value = "sandbox-secret" }}
customer_code = "{CUSTOMER}"
agency_name = "Sở Nội vụ tỉnh Ví Dụ"
agency_address = "Số 1 đường Mẫu, phường Thử Nghiệm, tỉnh Ví Dụ"
agency_tel = "0299000001"
agency_province = 99
agency_district = 9901
poll_ms = 200
timeout_ms = 2000
retry = {{ initial_ms = 100, max_ms = 400, max_attempts = 50, max_age_secs = 3600 }}
{extra}
"#
    )
}

/// A result-delivery (or pickup) order body for dossier `code`.
pub fn order_body(code: &str, direction: &str) -> Value {
    json!({
        "dossier_code": code,
        "direction": direction,
        "citizen": {
            "name": "Đỗ Thị Thử",
            "address": "Số 9 ngõ Giả Lập, phường Thử Nghiệm, tỉnh Ví Dụ",
            "phone": "0900000003",
            "email": "do.thi.thu@mail.example",
            "province_code": 99,
            "district_code": 9902
        },
        "contents": "Giấy xác nhận thử nghiệm (01 bản chính)",
        "cod_amount": 0
    })
}
