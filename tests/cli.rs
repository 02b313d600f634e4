//! The `lienthong` command: help, check-config, members list, pki dev-init, and the sandbox
//! started exactly as the README says, with its printed curl command run as printed.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn help_lists_every_command_and_option() {
    let dir = tempfile::tempdir().unwrap();
    let top = String::from_utf8(run(&["--help"], dir.path()).stdout).unwrap();
    for word in [
        "serve",
        "check-config",
        "pki",
        "audit",
        "members",
        "--config",
        "--set",
        "LIENTHONG_",
    ] {
        assert!(top.contains(word), "--help lacks {word}:\n{top}");
    }
    let pki = String::from_utf8(run(&["pki", "dev-init", "--help"], dir.path()).stdout).unwrap();
    assert!(
        pki.contains("<DIR>") && pki.contains("--force") && pki.contains("CRL"),
        "{pki}"
    );
    let audit = String::from_utf8(run(&["audit", "--help"], dir.path()).stdout).unwrap();
    assert!(
        audit.contains("verify") && audit.contains("tail"),
        "{audit}"
    );
    let members =
        String::from_utf8(run(&["members", "list", "--help"], dir.path()).stdout).unwrap();
    assert!(members.contains("--json"), "{members}");
}

#[test]
fn check_config_reports_every_mistake_with_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(
        &path,
        r#"
[listen]
members = "not-an-address"

[[members]]
id = "a"
kind = "agency"
sevices = ["directory"]
organs = ["H99", "Sở Nội vụ"]
services = ["directory"]
cert_subject = "CN=a"

[[members]]
id = "b"
kind = "onestop"
services = ["teleport"]
oauth = { client_id = "b", client_secret = { env = "LIENTHONG_TEST_UNSET_SECRET" } }
"#,
    )
    .unwrap();
    let out = run(
        &["--config", path.to_str().unwrap(), "check-config"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let file = path.display().to_string();
    for (key, reason) in [
        ("listen.members", "not an address"),
        ("members[0].organs[1]", "neither QCVN 102"),
        ("members[1].services[0]", "unknown service"),
        (
            "members[1].oauth.client_secret",
            "LIENTHONG_TEST_UNSET_SECRET is not set",
        ),
        ("members[0].sevices", "unknown key"),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(&format!(": {key}: ")))
            .unwrap_or_else(|| panic!("{key} not reported:\n{err}"));
        assert!(line.contains(&file), "{line}");
        assert!(line.contains(reason), "{line}");
    }
    assert!(err.starts_with("5 configuration error(s)"), "{err}");

    // Environment and --set are named as the source of their mistakes.
    let out = Command::new(BIN)
        .args([
            "--config",
            path.to_str().unwrap(),
            "--set",
            "limits.body_bytes=0",
            "check-config",
        ])
        .env("LIENTHONG_LOG__FORMAT", "xml")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.lines().any(|l| l
            .trim_start()
            .starts_with("--set: limits.body_bytes: must be greater than 0")),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l
            .trim_start()
            .starts_with("environment variable LIENTHONG_LOG__FORMAT: log.format:")),
        "{err}"
    );

    // A good configuration passes, and secrets never show.
    let good = write_config(&Db::sqlite(), dir.path(), "");
    let out = run(
        &["--config", good.to_str().unwrap(), "check-config"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("sandbox-secret-vpubnd") && !all.contains(SIGNING_KEY));
}

#[test]
fn members_list_shows_bindings_and_sandbox_paths() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(&Db::sqlite(), dir.path(), "");
    let out = run(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "pki",
            "dev-init",
            "data/pki",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "members",
            "list",
            "--json",
        ],
        dir.path(),
    );
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vp = v
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "vpubnd")
        .unwrap();
    assert_eq!(vp["organs"], serde_json::json!(["000.00.00.H99", "H99"]));
    assert_eq!(vp["services"], serde_json::json!(["directory", "edocs"]));
    assert_eq!(vp["oauth_client_id"], "vpubnd");
    assert!(vp["certificate_binding"]
        .as_str()
        .unwrap()
        .contains("CN=vpubnd"));
    let cert = vp["cert_path"].as_str().unwrap();
    assert!(
        cert.ends_with("pki/members/vpubnd.pem") && std::path::Path::new(cert).exists(),
        "{cert}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("sandbox-secret"));
    let text = String::from_utf8(
        run(
            &["--config", cfg.to_str().unwrap(), "members", "list"],
            dir.path(),
        )
        .stdout,
    )
    .unwrap();
    assert!(
        text.contains("limited (onestop)") && text.contains("services : payments"),
        "{text}"
    );
    // dev-init refuses to overwrite without --force.
    let again = run(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "pki",
            "dev-init",
            "data/pki",
        ],
        dir.path(),
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    // Document-signing certificates carry the organ id in the subject OU.
    assert!(dir.path().join("data/pki/signing/vpubnd.pem").exists());
    assert!(!dir.path().join("data/pki/signing/paygov.pem").exists());
}

both_backends!(#[test] fn sandbox_prints_a_curl_command_that_works);
/// The README's run command, in a copy of the repository's sandbox config: it creates the PKI,
/// prints a curl command, and that command, run as printed, returns 200.
fn sandbox_prints_a_curl_command_that_works(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/config/lienthong.toml"),
        dir.path().join("config/lienthong.toml"),
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    if let Some(url) = db.store_url() {
        cmd.env("LIENTHONG_STORE__URL", url);
    }
    let mut child = cmd
        .current_dir(dir.path())
        .env("LIENTHONG_LISTEN__MEMBERS", "127.0.0.1:0")
        .env("LIENTHONG_LISTEN__OPERATOR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let start = Instant::now();
    let mut curl = None;
    let mut banner = String::new();
    while curl.is_none() && start.elapsed() < Duration::from_secs(60) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            banner.push_str(&line);
            banner.push('\n');
            if line.trim_start().starts_with("curl ") {
                curl = Some(line.trim().to_owned());
            }
        }
    }
    let curl = curl.unwrap_or_else(|| panic!("no curl command printed:\n{banner}"));
    assert!(dir.path().join("data/pki/ca.pem").exists());
    assert!(
        dir.path().join("data/pki/members/vpubnd.pem").exists()
            && dir.path().join("data/pki/members/vpubnd.key").exists()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{curl} -sS -w '\\n%{{http_code}}'"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        text.trim_end().ends_with("200"),
        "curl said: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("000.00.00.H99"), "{text}");
}
