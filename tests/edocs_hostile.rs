//! Hostile input through `POST /v1/edocs`: the trust core's negative corpus, truncated and
//! oversized bodies, slow-loris uploads, a member impersonating another organ. Each answer is
//! problem+json with its own stable code; nothing is stored; other members are served meanwhile.

mod common;

use common::edoc::*;
use common::{both_backends, client_config, raw_exchange, Db, Gateway};
use std::time::{Duration, Instant};

const A: &str = "000.00.00.H99";
const B: &str = "000.00.01.H99";
const M: &str = "000.00.07.H99";

fn replace_once(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(s.contains(from), "{from:?} not in package");
    s.replacen(from, to, 1).into_bytes()
}

async fn count_edocs(g: &Gateway) -> i64 {
    count(g, "SELECT COUNT(*) AS n FROM edocs", None).await
}

/// The `n` that `sql` (with `$1` bound to `id`, if given) counts in the gateway's store.
async fn count(g: &Gateway, sql: &'static str, id: Option<i64>) -> i64 {
    let store = g.open_store().await;
    let mut q = sqlx::query(sql);
    if let Some(id) = id {
        q = q.bind(id);
    }
    let n: i64 = sqlx::Row::try_get(&q.fetch_one(store.pool()).await.unwrap(), "n").unwrap();
    store.close().await;
    n
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn hostile_packages_are_refused_with_their_own_codes_and_nothing_is_stored);
async fn hostile_packages_are_refused_with_their_own_codes_and_nothing_is_stored(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let pki = shared_pki(
        dir.path(),
        &[("vpubnd", "agency", A), ("sonv", "agency", B), ("mallory", "agency", M), ("gw", "peer", "H99")],
    );
    let port = free_port();
    let gdir = dir.path().join("gw");
    let cfg = gateway_config(
        &db,
        &gdir,
        &pki,
        "gw",
        port,
        &[
            member_toml("vpubnd", "agency", &[A], ""),
            member_toml("sonv", "agency", &[B], "unsigned_status = true"),
            member_toml("mallory", "agency", &[M], "edxml_strict = true"),
        ]
        .concat(),
        "max_package_bytes = 262144\n[limits]\nrequest_timeout_ms = 2000\n",
    );
    let g = Gateway::spawn(&gdir, &cfg);
    let a = client(&pki, "vpubnd");
    let mallory = client(&pki, "mallory");
    let url = g.url("/v1/edocs");

    let plain = document(A, &[B], "1/HOSTILE", "Nội dung gốc");
    let good = sign_as(&pki, "vpubnd", &plain);
    let bomb = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE edXML [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>\n<edXML>&c;</edXML>"
    );
    let deep = replace_once(
        &plain,
        "<edXML:Subject>",
        &format!("{}<edXML:Subject>", "<x>".repeat(200) + &"</x>".repeat(200)),
    );
    let sig_start = String::from_utf8_lossy(&good).find("<Signature").unwrap();
    let sig_end = String::from_utf8_lossy(&good).find("</Signature>").unwrap() + 12;
    let signature = String::from_utf8_lossy(&good[sig_start..sig_end]).into_owned();
    let cases: Vec<(&str, &reqwest::Client, Vec<u8>, u16, &str)> = vec![
        ("tampered content", &a, replace_once(&good, "Văn bản thử nghiệm", "Văn bản giả mạo"), 422, "dsig_digest_mismatch"),
        ("tampered attachment", &a, replace_once(&good, "<ContentTransferEncoded>T", "<ContentTransferEncoded>U"), 422, "dsig_digest_mismatch"),
        ("tampered DigestValue", &a, replace_once(&good, "<DigestValue>", "<DigestValue>AAAA"), 422, "dsig_bad_signature"),
        ("wrapping: Object in Signature", &a, replace_once(&good, "</Signature>", "<Object><edXML:MessageHeader><edXML:From><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:From></edXML:MessageHeader></Object></Signature>"), 422, "dsig_signature_content"),
        ("two signatures", &a, replace_once(&good, "</edXML:edXMLHeader>", &format!("{signature}</edXML:edXMLHeader>")), 422, "dsig_multiple_signatures"),
        ("DOCTYPE", &a, replace_once(&good, "<edXML ", "<!DOCTYPE edXML SYSTEM \"http://evil.example/x.dtd\"><edXML "), 422, "xml_doctype_forbidden"),
        ("entity bomb", &a, bomb.into_bytes(), 422, "xml_doctype_forbidden"),
        ("excessive depth", &a, deep, 422, "xml_too_deep"),
        ("unsigned document", &a, plain.clone(), 422, "signature_required"),
        ("revoked signer", &a, sign_with(&pki, "test/revoked", &plain), 422, "certificate_revoked"),
        ("expired signer", &a, sign_with(&pki, "test/expired", &plain), 422, "certificate_expired"),
        ("untrusted signer", &a, sign_with(&pki, "test/foreign", &plain), 422, "certificate_untrusted"),
        ("signer not bound to From", &a, sign_as(&pki, "mallory", &plain), 422, "signer_not_bound"),
        ("member impersonating another organ", &mallory, good.clone(), 403, "organ_not_allowed"),
        ("schema violation (strict member)", &mallory, sign_as(&pki, "mallory", &replace_once(&document(M, &[B], "2/STRICT", "x"), "<edXML:Subject>", "<edXML:Bogus>x</edXML:Bogus><edXML:Subject>")), 422, "edxml_schema_violation"),
        ("truncated body", &a, good[..good.len() / 2].to_vec(), 422, "xml_"),
        ("not XML", &a, b"%PDF-1.4 not a package".to_vec(), 422, "xml_"),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (name, c, body, status, code) in &cases {
        let r = c
            .post(&url)
            .header("content-type", "application/xml")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), *status, "{name}");
        assert_eq!(
            r.headers()["content-type"], "application/problem+json",
            "{name}"
        );
        let v: serde_json::Value = r.json().await.unwrap();
        let got = v["code"].as_str().unwrap();
        let listed = v["reasons"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == code));
        assert!(got.starts_with(code) || listed, "{name}: code {got}, expected {code}: {v}");
        assert!(!v["detail"].as_str().unwrap().is_empty(), "{name}");
        assert!(v["request_id"].is_string(), "{name}");
        seen.insert(got.to_owned());
    }
    println!("refusal codes: {seen:?}");

    // Oversized: refused before the body is read.
    let big = vec![b'<'; 300_000];
    let r = a.post(&url).body(big).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(count_edocs(&g).await, 0, "a refused package was stored");

    // Slow-loris uploads tie up only their own requests: B is served meanwhile, and each slow
    // request is cut off by the request timeout with a problem.
    let mut slow = Vec::new();
    for _ in 0..4 {
        let cfg = client_config(&pki, Some(pki.join("members/mallory")), &[b"http/1.1"]);
        let addr = g.members_addr.clone();
        slow.push(tokio::spawn(async move {
            let started = Instant::now();
            let r = raw_exchange(
                &addr,
                cfg,
                b"POST /v1/edocs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n<?xml version=\"1.0\"?><edXML",
            )
            .await;
            (started.elapsed(), r)
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let b = client(&pki, "sonv");
    let t = Instant::now();
    let r = b
        .post(&url)
        .body(status_package(B, A, &document_id(A, "0/NONE"), "01"))
        .send()
        .await
        .unwrap();
    let took = t.elapsed();
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    assert!(took < Duration::from_millis(1500), "B waited {took:?} behind slow uploads");
    for s in slow {
        let (elapsed, r) = s.await.unwrap();
        let text = r.unwrap_or_else(|e| e.to_string());
        assert!(text.contains("503") && text.contains("request_timeout"), "{text}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }
    // Only B's status package was stored; a good package still goes through; then a different
    // package under the same DocumentId is a conflict.
    assert_eq!(count_edocs(&g).await, 1);
    let r = a.post(&url).body(good.clone()).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let other = sign_as(&pki, "vpubnd", &document(A, &[B], "1/HOSTILE", "Nội dung khác"));
    let r = a.post(&url).body(other).send().await.unwrap();
    assert_eq!(r.status(), 409);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "document_id_conflict");
    assert_eq!(count_edocs(&g).await, 2);
    // The strict member's schema-valid package passes strict mode.
    let fine = sign_as(&pki, "mallory", &document(M, &[B], "3/STRICT", "x"));
    let r = mallory.post(&url).body(fine).send().await.unwrap();
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    assert_eq!(count_edocs(&g).await, 3);

    // Copies of one package and of a rival under the same DocumentId, all at once (they share
    // group commits): one of the two is stored, once; its copies get its id, the rival's a 409.
    let p = sign_as(&pki, "vpubnd", &document(A, &[B], "4/BURST", "Bản thứ nhất"));
    let q = sign_as(&pki, "vpubnd", &document(A, &[B], "4/BURST", "Bản thứ hai"));
    let sends: Vec<_> = (0..12)
        .map(|i| {
            let (a, url) = (a.clone(), url.clone());
            let body = if i % 3 == 2 { q.clone() } else { p.clone() };
            tokio::spawn(async move {
                let r = a.post(&url).body(body).send().await.unwrap();
                let status = r.status().as_u16();
                (i % 3 == 2, status, r.json::<serde_json::Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for s in sends {
        answers.push(s.await.unwrap());
    }
    let won = |rival: bool| answers.iter().filter(|(r, _, _)| *r == rival).all(|(_, s, _)| *s == 202 || *s == 200);
    // The rival won if all its copies were taken; else all of the first one's must have been.
    let rival_won = won(true);
    assert!(won(rival_won), "one of the two wins: {answers:?}");
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .filter(|(r, _, _)| *r == rival_won)
        .map(|(_, _, v)| v["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|(_, s, _)| *s == 202).count(), 1, "{answers:?}");
    for (_, s, v) in answers.iter().filter(|(r, _, _)| *r != rival_won) {
        assert_eq!((*s, v["code"].as_str()), (409, Some("document_id_conflict")), "{v}");
    }
    assert_eq!(count_edocs(&g).await, 4);
    let id: i64 = ids.iter().next().unwrap().parse().unwrap();
    let n = count(&g, "SELECT COUNT(*) AS n FROM deliveries WHERE edoc_id = $1", Some(id)).await;
    assert_eq!(n, 1, "one delivery, to B");

    let spool = gdir.join("data/spool");
    let left: Vec<_> = std::fs::read_dir(&spool)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "spool not cleaned: {left:?}");
    let out = g.cli(&["audit", "verify"]);
    assert!(out.status.success());
}
