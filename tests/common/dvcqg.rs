//! The national portal simulator as its own process (`lienthong sim dvcqg`), and its controls.
#![allow(dead_code)]

use serde_json::Value;
use std::process::Child;

pub struct PortalSim {
    child: Child,
    pub url: String,
    http: reqwest::Client,
}

impl PortalSim {
    /// Start the simulator on a free loopback port; its sessions live `session_ttl_secs`.
    pub fn start(session_ttl_secs: u64) -> PortalSim {
        let ttl = session_ttl_secs.to_string();
        let (child, url) = super::spawn_sim(&[
            "dvcqg",
            "--listen",
            "127.0.0.1:0",
            "--session-ttl-secs",
            &ttl,
        ]);
        PortalSim {
            child,
            url,
            http: reqwest::Client::new(),
        }
    }

    /// `[adapters.dvcqg]` pointing at this simulator.
    pub fn config(&self, extra: &str) -> String {
        format!(
            r#"
[adapters.dvcqg]
enabled = true
base_url = "{url}"
username = "lienthong"
password = {{ value = "sandbox-password" }}
timeout_ms = 1000
online_organ = "H99"
online_poll_secs = 1
retry = {{ initial_ms = 100, max_ms = 1000, max_attempts = 1000, max_age_secs = 600 }}
{extra}
"#,
            url = self.url
        )
    }

    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return Value::Null;
        }
        r.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Value {
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

    /// Drop every scripted fault not yet used.
    pub async fn clear_faults(&self) {
        let r = self
            .http
            .delete(format!("{}/_sim/faults", self.url))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "clear faults: {}", r.status());
    }

    /// Every call the simulator saw, in order.
    pub async fn journal(&self) -> Vec<Value> {
        self.get("/_sim/journal")
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The progress steps the portal holds for `code` (their `TrangThai`).
    pub async fn progress(&self, code: &str) -> Vec<String> {
        let d = self.get(&format!("/_sim/dossiers/{code}")).await;
        d["progress"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| p["TrangThai"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn violations(&self) -> Vec<String> {
        serde_json::from_value(self.get("/_sim/violations").await).unwrap()
    }
}

impl Drop for PortalSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
