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
