//! One-stop-shop installations for the dossier tests: [`super::dossiers_toml`] (calendar,
//! dialects, procedures) and three members (OpenCPS-style `motcua`, iGate-style
//! `dvctt`, canonical `canon`); the sample bodies under `tests/data/dossiers/`.
#![allow(dead_code)]

use serde_json::Value;
use std::path::Path;

pub fn repo(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .display()
        .to_string()
}

pub fn extra() -> String {
    format!(
        r#"
{dossiers}
[[members]]
id = "motcua"
name = "Một cửa tỉnh Ví Dụ (OpenCPS)"
kind = "onestop"
organs = ["000.00.20.H99", "H99.20"]
services = ["dossiers"]
dialect = "opencps"
cert_subject = "CN=motcua,OU=members,O=lienthong sandbox,C=VN"

[[members]]
id = "dvctt"
name = "Cổng dịch vụ công sở (iGate)"
kind = "onestop"
organs = ["000.00.21.H99", "H99.21"]
services = ["dossiers"]
dialect = "igate"
cert_subject = "CN=dvctt,OU=members,O=lienthong sandbox,C=VN"

[[members]]
id = "canon"
name = "Một cửa huyện (canonical JSON)"
kind = "onestop"
organs = ["H99.22"]
services = ["dossiers"]
cert_subject = "CN=canon,OU=members,O=lienthong sandbox,C=VN"
"#,
        dossiers = super::dossiers_toml(),
    )
}

pub fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(repo(&format!("tests/data/dossiers/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A one-stop-shop installation talking to a gateway with its client certificate.
pub struct Member {
    pub http: reqwest::Client,
    pub base: String,
}

impl Member {
    pub fn new(g: &super::Gateway, id: &str) -> Member {
        Member {
            http: g.client(Some(id)),
            base: g.url(""),
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn must(&self, path: &str, body: &Value) -> Value {
        let (status, v) = self.post(path, body).await;
        assert!(status == 200 || status == 201, "{path}: {status} {v}");
        v
    }

    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }
}
