//! The edge over real TLS on loopback, with certificates from `pki dev-init`.

mod common;
#[path = "common/problem.rs"]
mod problem;

use common::*;
use problem::problem;
use reqwest::StatusCode;
use serde_json::Value;

/// GET `url` and return only the status.
async fn status(client: &reqwest::Client, url: String) -> StatusCode {
    client.get(url).send().await.unwrap().status()
}

const GET_WHOAMI: &[u8] =
    b"GET /v1/whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

both_backends!(#[tokio::test] async fn valid_member_over_http2_and_http1);
async fn valid_member_over_http2_and_http1(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&db, dir.path());
    let resp = gw
        .client(Some("vpubnd"))
        .get(gw.url("/v1/organs"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert!(resp.headers().contains_key("x-request-id"));
    let body: Value = resp.json().await.unwrap();
    let organs: Vec<&str> = body["organs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["organ_id"].as_str().unwrap())
        .collect();
    assert!(
        organs.contains(&"000.00.00.H99") && organs.contains(&"H99.01"),
        "{organs:?}"
    );

    let h1 = gw.client_alpn(Some("sonv"), &[b"http/1.1"]);
    let resp = h1.get(gw.url("/v1/whoami")).send().await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["member"], "sonv");
    assert_eq!(me["authenticated_by"], "certificate");
    assert_eq!(me["organs"][0], "000.00.01.H99");
}

both_backends!(#[tokio::test] async fn no_client_certificate_is_rejected);
async fn no_client_certificate_is_rejected(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&db, dir.path());
    let resp = gw
        .client(None)
        .get(gw.url("/v1/organs"))
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    problem(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // Public probes need no identity.
    assert_eq!(
        status(&gw.client(None), gw.url("/healthz")).await,
        StatusCode::OK
    );
}

both_backends!(#[tokio::test] async fn unknown_ca_revoked_and_expired_certificates_fail_the_handshake);
async fn unknown_ca_revoked_and_expired_certificates_fail_the_handshake(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&db, dir.path());
    let test = gw.pki().join("test");
    for (stem, alert) in [
        ("foreign", rustls::AlertDescription::UnknownCA),
        ("revoked", rustls::AlertDescription::CertificateRevoked),
        ("expired", rustls::AlertDescription::CertificateExpired),
    ] {
        let cfg = client_config(&gw.pki(), Some(test.join(stem)), &[b"http/1.1"]);
        let err = raw_exchange(&gw.members_addr, cfg, GET_WHOAMI)
            .await
            .expect_err(stem);
        assert_eq!(alert_of(&err), Some(alert), "{stem}: {err}");
    }
    // The same subject with the current, valid certificate is accepted.
    let cfg = client_config(
        &gw.pki(),
        Some(gw.pki().join("members/vpubnd")),
        &[b"http/1.1"],
    );
    let ok = raw_exchange(&gw.members_addr, cfg, GET_WHOAMI)
        .await
        .unwrap();
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    // Refused certificates are audited.
    let out = gw.cli(&["audit", "tail", "-n", "20", "--json"]);
    let tail = String::from_utf8_lossy(&out.stdout);
    for reason in [
        "certificate_unknown_issuer",
        "certificate_revoked",
        "certificate_expired",
    ] {
        assert!(
            tail.contains(&format!("deny:{reason}")),
            "{reason} not audited:\n{tail}"
        );
    }
}

both_backends!(#[tokio::test] async fn service_not_granted_is_403_problem);
async fn service_not_granted_is_403_problem(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&db, dir.path());
    let resp = gw
        .client(Some("paygov"))
        .get(gw.url("/v1/organs"))
        .send()
        .await
        .unwrap();
    let body = problem(resp, StatusCode::FORBIDDEN, "service_not_granted").await;
    assert!(body["detail"].as_str().unwrap().contains("directory"));
    // The same member may use what needs no service grant.
    let resp = gw
        .client(Some("paygov"))
        .get(gw.url("/v1/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Unknown routes are 404 problems, not silently allowed.
    let resp = gw
        .client(Some("vpubnd"))
        .get(gw.url("/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::NOT_FOUND, "not_found").await;
}

both_backends!(#[tokio::test] async fn bearer_token_flow_and_bad_tokens);
async fn bearer_token_flow_and_bad_tokens(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&db, dir.path());
    let anon = gw.client(None);
    // Wrong secret.
    let resp = anon
        .post(gw.url("/oauth2/token"))
        .basic_auth("vpubnd", Some("wrong-secret-0000"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body = problem(resp, StatusCode::UNAUTHORIZED, "invalid_client").await;
    assert_eq!(body["error"], "invalid_client");
    // Right secret (client_secret_post).
    let resp = anon
        .post(gw.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "vpubnd"),
            ("client_secret", "sandbox-secret-vpubnd"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let tok: Value = resp.json().await.unwrap();
    assert_eq!(tok["token_type"], "Bearer");
    let access = tok["access_token"].as_str().unwrap().to_owned();
    assert!(tok["expires_in"].as_i64().unwrap() > 0);

    let resp = anon
        .get(gw.url("/v1/organs"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = anon
        .get(gw.url("/v1/whoami"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["member"], "vpubnd");
    assert_eq!(me["authenticated_by"], "token");

    // Forged: the payload claims another member, the signature is the original one.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = access.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = "sonv".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    let resp = anon
        .get(gw.url("/v1/whoami"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::UNAUTHORIZED, "invalid_token").await;

    // Expired: correctly signed with the gateway's key, but past its exp.
    let issuer =
        lienthong::edge::token::TokenIssuer::new(SIGNING_KEY.as_bytes(), "lienthong", 300).unwrap();
    let (expired, _) = issuer
        .issue("vpubnd", chrono::Utc::now().timestamp() - 3600)
        .unwrap();
    let resp = anon
        .get(gw.url("/v1/whoami"))
        .bearer_auth(&expired)
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::UNAUTHORIZED, "token_expired").await;
    // The same signer with a fresh time is accepted: the refusal above was the expiry.
    let (fresh, _) = issuer
        .issue("vpubnd", chrono::Utc::now().timestamp())
        .unwrap();
    assert_eq!(
        anon.get(gw.url("/v1/whoami"))
            .bearer_auth(&fresh)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // Neither the client secret nor a token ever reaches the logs.
    let logs = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(logs.contains("\"request_id\""), "no request log lines?");
    for secret in [
        "sandbox-secret-vpubnd",
        "wrong-secret-0000",
        access.as_str(),
        SIGNING_KEY,
    ] {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
    }

    // A token for one member over another member's certificate is refused.
    let resp = gw
        .client(Some("sonv"))
        .get(gw.url("/v1/whoami"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

both_backends!(#[tokio::test] async fn rate_limit_is_per_member);
async fn rate_limit_is_per_member(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&db, dir.path());
    let limited = gw.client(Some("limited"));
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let resp = limited.get(gw.url("/v1/organs")).send().await.unwrap();
        statuses.push(resp.status().as_u16());
        last = Some(resp);
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    let resp = last.unwrap();
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    problem(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Another member is unaffected.
    let other = gw.client(Some("vpubnd"));
    for _ in 0..5 {
        assert_eq!(status(&other, gw.url("/v1/organs")).await, StatusCode::OK);
    }
}

both_backends!(#[tokio::test] async fn oversize_body_is_413_without_reading_it);
async fn oversize_body_is_413_without_reading_it(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&db, dir.path());
    // Declares 1 GB and sends none of it: the answer must come from the header alone.
    let cfg = client_config(
        &gw.pki(),
        Some(gw.pki().join("members/vpubnd")),
        &[b"http/1.1"],
    );
    let req = b"POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000000\r\n\r\n";
    let resp = raw_exchange(&gw.members_addr, cfg, req).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    assert!(resp.contains("body_too_large"), "{resp}");

    // Chunked, no length: cut off at the limit (4096 in the test config).
    let cfg = client_config(
        &gw.pki(),
        Some(gw.pki().join("members/vpubnd")),
        &[b"http/1.1"],
    );
    let mut req = b"POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"1000\r\n");
        req.extend(std::iter::repeat_n(b'a', 4096));
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let resp = raw_exchange(&gw.members_addr, cfg, &req).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
}

both_backends!(#[tokio::test] async fn operator_listener_serves_metrics_and_readiness);
async fn operator_listener_serves_metrics_and_readiness(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&db, dir.path());
    let _ = gw
        .client(Some("vpubnd"))
        .get(gw.url("/v1/organs"))
        .send()
        .await
        .unwrap();
    let _ = gw
        .client(Some("paygov"))
        .get(gw.url("/v1/organs"))
        .send()
        .await
        .unwrap();
    let plain = reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(&gw.pki(), None, &[]))
        .build()
        .unwrap();
    let m = plain
        .get(format!("{}/metrics", gw.operator_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains(
            r#"lienthong_http_requests_total{route="/v1/organs",method="GET",status="200"} 1"#
        ),
        "{m}"
    );
    assert!(
        m.contains(r#"lienthong_access_denied_total{code="service_not_granted"} 1"#),
        "{m}"
    );
    let r = plain
        .get(format!("{}/readyz", gw.operator_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

both_backends!(#[tokio::test] async fn missing_crl_fails_closed);
/// Revocation fails closed: with the root's CRL missing, the intermediate's status is unknown and
/// even a good member certificate is refused.
async fn missing_crl_fails_closed(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(&db, dir.path(), "");
    let out = std::process::Command::new(BIN)
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "pki",
            "dev-init",
            "data/pki",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let all = std::fs::read_to_string(dir.path().join("data/pki/crl.pem")).unwrap();
    let blocks: Vec<&str> = all.split_inclusive("-----END X509 CRL-----\n").collect();
    assert_eq!(blocks.len(), 2);
    std::fs::write(dir.path().join("only-intermediate.crl.pem"), blocks[1]).unwrap();
    let cfg = write_config(
        &db,
        dir.path(),
        &format!(
            "[tls]\ncrls = [\"{}\"]",
            dir.path().join("only-intermediate.crl.pem").display()
        ),
    );
    let gw = Gateway::spawn(dir.path(), &cfg);
    let good = client_config(
        &gw.pki(),
        Some(gw.pki().join("members/vpubnd")),
        &[b"http/1.1"],
    );
    let err = raw_exchange(&gw.members_addr, good, GET_WHOAMI)
        .await
        .expect_err("accepted without revocation data");
    assert!(alert_of(&err).is_some(), "{err}");
    // Bearer-token callers (no certificate) are not affected.
    let resp = gw
        .client(None)
        .get(gw.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
