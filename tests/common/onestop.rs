//! One-stop-shop installations for the dossier tests: the calendar and dialect directories of
//! the repository, two procedures, and three members (OpenCPS-style `motcua`, iGate-style
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
[calendar]
dir = "{calendar}"

[dossiers]
dialects_dir = "{dialects}"

[[dossiers.procedures]]
code = "1.009999"
name = "Thủ tục mẫu cấp giấy xác nhận thử nghiệm"
processing_time = "10d"

[[dossiers.procedures]]
code = "1.009998"
name = "Thủ tục mẫu cấp giấy phép thử nghiệm"
processing_time = "15d"

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
        calendar = repo("config/calendar"),
        dialects = repo("adapters/dialects"),
    )
}

pub fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(repo(&format!("tests/data/dossiers/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}
