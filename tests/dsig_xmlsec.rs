//! Differential tests against Debian's `xmlsec1`: what it signs verifies in lienthong, and a
//! single changed byte in a signed part fails in both. xmlsec1 must be installed (`.ci/run`
//! installs it); a missing oracle fails the test.

#[path = "common/xmlsec.rs"]
mod xmlsec;

use lienthong::dsig::verify::{verify, DsigError, Policy};
use std::path::Path;
use std::process::Command;
use xmlsec::{
    dev_pki, sign_with_xmlsec, template, xmlsec1, xmlsec_sign, OcspResponder, C14N, ECDSA_SHA256,
    EXC, RSA_SHA256,
};

fn xmlsec_verifies(pki: &Path, file: &Path) -> bool {
    let out = xmlsec1(&[
        "--verify",
        "--trusted-pem",
        pki.join("ca.pem").to_str().unwrap(),
        "--untrusted-pem",
        pki.join("intermediate.pem").to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    out.status.success()
}

#[test]
fn xmlsec1_signed_documents_verify_and_single_byte_changes_fail_in_both() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dev_pki(dir.path());
    let rsa = (
        pki.join("signing/vpubnd.key"),
        pki.join("signing/vpubnd.pem"),
    );
    let ec = (pki.join("members/sonv.key"), pki.join("members/sonv.pem"));
    let mut checked = 0;
    for (alg, (key, cert)) in [(RSA_SHA256, &rsa), (ECDSA_SHA256, &ec)] {
        for c14n in [C14N, EXC] {
            let what = format!("{alg} {c14n}");
            let signed = xmlsec_sign(dir.path(), key, cert, &template(alg, c14n), "signed");
            assert!(
                xmlsec_verifies(&pki, &signed),
                "{what}: xmlsec1 rejects its own signature"
            );
            let doc = std::fs::read_to_string(&signed).unwrap();
            let v = verify(doc.as_bytes(), &Policy::default())
                .unwrap_or_else(|e| panic!("{what}: {e} ({})", e.code()));
            assert!(v.warnings.is_empty());

            // One changed byte in each signed part: text, attribute, DigestValue, SignatureValue, attachment.
            for (needle, replacement, expect) in [
                ("000.00.01.H99", "000.00.02.H99", "dsig_digest_mismatch"),
                ("ContentId=\"1\"", "ContentId=\"2\"", "dsig_digest_mismatch"),
                (
                    "VsSDbiBi4bqjbiB0aOG7rSBuZ2hp4buHbQ==",
                    "VsSDbiBi4bqjbiB0aOG7rSBuZ2hp4buHbq==",
                    "dsig_digest_mismatch",
                ),
                ("UBND-VP", "UBND-VQ", "dsig_digest_mismatch"),
            ] {
                let tampered = doc.replacen(needle, replacement, 1);
                assert_ne!(tampered, doc, "{needle} not found");
                let f = dir.path().join("tampered.xml");
                std::fs::write(&f, &tampered).unwrap();
                assert!(
                    !xmlsec_verifies(&pki, &f),
                    "{what}: xmlsec1 accepted a change to {needle}"
                );
                let err = verify(tampered.as_bytes(), &Policy::default()).expect_err(needle);
                assert_eq!(err.code(), expect, "{what}: change to {needle}: {err}");
                checked += 1;
            }
            // One base64 character of DigestValue, then of SignatureValue.
            for tag in ["<DigestValue>", "<SignatureValue>"] {
                let at = doc.find(tag).unwrap() + tag.len() + 10;
                let mut bytes = doc.clone().into_bytes();
                bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                let f = dir.path().join("tampered.xml");
                std::fs::write(&f, &bytes).unwrap();
                assert!(
                    !xmlsec_verifies(&pki, &f),
                    "{what}: xmlsec1 accepted a change in {tag}"
                );
                assert!(
                    matches!(
                        verify(&bytes[..], &Policy::default()),
                        Err(DsigError::BadSignature)
                    ),
                    "{what} {tag}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 24);
}

fn lienthong_verify(args: &[&std::ffi::OsStr]) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .arg("verify")
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), v)
}

/// `lienthong verify` on files written by other tools: the Phaos vector and xmlsec1's output.
#[test]
fn verify_command_reports_signer_chain_revocation_and_reasons() {
    let phaos = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/vectors/xmldsig/phaos"
    ));
    let dir = tempfile::tempdir().unwrap();
    let ptrust = dir.path().join("phaos-trust");
    std::fs::create_dir_all(&ptrust).unwrap();
    std::fs::copy(
        phaos.join("certs/rsa-ca-cert.der"),
        ptrust.join("rsa-ca-cert.der"),
    )
    .unwrap();
    let good = phaos.join("signature-rsa-enveloped.xml");
    let os = |s: &str| std::ffi::OsString::from(s);

    let (code, v) = lienthong_verify(&[
        good.as_os_str(),
        &os("--trust"),
        ptrust.as_os_str(),
        &os("--at"),
        &os("2009-01-01T10:00:00Z"),
        &os("--revocation"),
        &os("off"),
    ]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["valid"], true);
    assert!(v["signer"]["subject"]
        .as_str()
        .unwrap()
        .contains("CN=Test Client (RSA)"));
    assert_eq!(
        v["algorithms"]["signature"],
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    );
    assert_eq!(v["chain"].as_array().unwrap().len(), 2);
    assert!(v["warnings"].to_string().contains("rsa-sha1"));
    // Today the certificate has expired; with revocation required and no CRL, status is unknown.
    let (code, v) = lienthong_verify(&[
        good.as_os_str(),
        &os("--trust"),
        ptrust.as_os_str(),
        &os("--revocation"),
        &os("off"),
    ]);
    assert_eq!(
        (code, v["reasons"].clone()),
        (Some(1), serde_json::json!(["certificate_expired"]))
    );
    let (_, v) = lienthong_verify(&[
        good.as_os_str(),
        &os("--trust"),
        ptrust.as_os_str(),
        &os("--at"),
        &os("2009-01-01T10:00:00Z"),
    ]);
    assert_eq!(v["reasons"], serde_json::json!(["revocation_unknown"]));
    let (_, v) = lienthong_verify(&[
        good.as_os_str(),
        &os("--trust"),
        ptrust.as_os_str(),
        &os("--at"),
        &os("2009-01-01T10:00:00Z"),
        &os("--no-sha1"),
    ]);
    assert_eq!(
        v["reasons"],
        serde_json::json!(["dsig_algorithm_forbidden"])
    );
    // Usage errors exit 2.
    let (code, _) = lienthong_verify(&[
        dir.path().join("missing.xml").as_os_str(),
        &os("--trust"),
        ptrust.as_os_str(),
    ]);
    assert_eq!(code, Some(2));
    let (code, _) = lienthong_verify(&[
        good.as_os_str(),
        &os("--trust"),
        ptrust.as_os_str(),
        &os("--at"),
        &os("yesterday"),
    ]);
    assert_eq!(code, Some(2));

    // Dev PKI: anchors + CRLs in one directory, the intermediate in a pool.
    let pki = dev_pki(dir.path());
    let trust = dir.path().join("trust");
    let inter = dir.path().join("inter");
    std::fs::create_dir_all(&trust).unwrap();
    std::fs::create_dir_all(&inter).unwrap();
    std::fs::copy(pki.join("ca.pem"), trust.join("ca.pem")).unwrap();
    std::fs::copy(pki.join("crl.pem"), trust.join("crl.pem")).unwrap();
    std::fs::copy(pki.join("intermediate.pem"), inter.join("intermediate.pem")).unwrap();
    let run = |file: &Path| {
        lienthong_verify(&[
            file.as_os_str(),
            &os("--trust"),
            trust.as_os_str(),
            &os("--intermediates"),
            inter.as_os_str(),
        ])
    };

    let signed = sign_with_xmlsec(
        dir.path(),
        &pki.join("signing/vpubnd.key"),
        &pki.join("signing/vpubnd.pem"),
        "agency",
    );
    let (code, v) = run(&signed);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["signer"]["organs"], serde_json::json!(["000.00.00.H99"]));
    assert_eq!(v["from_organ"], "000.00.00.H99");
    assert_eq!(v["revocation"]["status"], "good");
    assert_eq!(v["chain"].as_array().unwrap().len(), 3);

    // Another agency's valid signing certificate may not speak for the From organ.
    let signed = sign_with_xmlsec(
        dir.path(),
        &pki.join("signing/sonv.key"),
        &pki.join("signing/sonv.pem"),
        "other-agency",
    );
    let (code, v) = run(&signed);
    assert_eq!(
        (code, v["reasons"].clone()),
        (Some(1), serde_json::json!(["signer_not_bound"])),
        "{v}"
    );
    assert_eq!(v["signer"]["organs"], serde_json::json!(["000.00.01.H99"]));

    // A TLS client certificate is not a document-signing certificate.
    let signed = sign_with_xmlsec(
        dir.path(),
        &pki.join("members/sonv.key"),
        &pki.join("members/sonv.pem"),
        "client",
    );
    let (code, v) = run(&signed);
    assert_eq!(
        (code, v["reasons"].clone()),
        // A TLS client certificate carries no organ id either.
        (
            Some(1),
            serde_json::json!(["certificate_wrong_usage", "signer_not_bound"])
        )
    );
    // Revoked (in the intermediate's CRL).
    let signed = sign_with_xmlsec(
        dir.path(),
        &pki.join("test/revoked.key"),
        &pki.join("test/revoked.pem"),
        "revoked",
    );
    let (_, v) = run(&signed);
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("certificate_revoked")),
        "{v}"
    );
    assert_eq!(v["revocation"]["status"], "revoked");
    // Expired, and from an unknown CA.
    let signed = sign_with_xmlsec(
        dir.path(),
        &pki.join("test/expired.key"),
        &pki.join("test/expired.pem"),
        "expired",
    );
    assert!(run(&signed).1["reasons"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("certificate_expired")));
    let signed = sign_with_xmlsec(
        dir.path(),
        &pki.join("test/foreign.key"),
        &pki.join("test/foreign.pem"),
        "foreign",
    );
    assert!(run(&signed).1["reasons"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("certificate_untrusted")));
}

/// Signature-wrapping variants that xmlsec1 accepts and lienthong refuses, each with its code.
#[test]
fn wrapping_variants_accepted_by_xmlsec1_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dev_pki(dir.path());
    let (key, cert) = (
        pki.join("signing/vpubnd.key"),
        pki.join("signing/vpubnd.pem"),
    );
    let sign = |tmpl_text: String, name: &str| -> String {
        std::fs::read_to_string(xmlsec_sign(dir.path(), &key, &cert, &tmpl_text, name)).unwrap()
    };
    let fake_header = "<edXML:MessageHeader><edXML:From><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:From></edXML:MessageHeader>";
    let signed = sign(template(RSA_SHA256, EXC), "base");
    assert_eq!(
        verify(signed.as_bytes(), &Policy::default())
            .map(|_| ())
            .map_err(|e| e.code()),
        Ok(())
    );

    // 1. A forged MessageHeader in an Object inside the Signature (outside the signed node-set).
    let object = signed.replace(
        "</Signature>",
        &format!("<Object>{fake_header}</Object></Signature>"),
    );
    // 2. The same inside KeyInfo.
    let keyinfo = signed.replace("<KeyInfo>", &format!("<KeyInfo>{fake_header}"));
    // 3. A document signed with its Signature at the end of the body instead of the header.
    let moved = template(RSA_SHA256, EXC);
    let s0 = moved.find("<Signature").unwrap();
    let s1 = moved.find("</Signature>").unwrap() + "</Signature>".len();
    let sig = moved[s0..s1].to_owned();
    let moved = moved
        .replacen(&sig, "", 1)
        .replace("</edXML:edXMLBody>", &format!("{sig}</edXML:edXMLBody>"));
    let moved = sign(moved, "moved");

    for (name, doc, code) in [
        ("object", object, "dsig_signature_content"),
        ("keyinfo", keyinfo, "dsig_signature_content"),
        ("moved", moved, "dsig_signature_position"),
    ] {
        let f = dir.path().join(format!("{name}.check.xml"));
        std::fs::write(&f, &doc).unwrap();
        assert!(
            xmlsec_verifies(&pki, &f),
            "{name}: expected xmlsec1 to accept this wrapping variant"
        );
        let err = verify(doc.as_bytes(), &Policy::default()).expect_err(name);
        assert_eq!(err.code(), code, "{name}: {err}");
    }
}

/// What lienthong signs, xmlsec1 verifies (RSA-SHA256 and ECDSA-SHA256, exclusive C14N); a
/// changed byte fails in both.
#[test]
fn lienthong_signed_documents_verify_in_xmlsec1() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dev_pki(dir.path());
    let unsigned = {
        let t = template(RSA_SHA256, EXC);
        let s0 = t.find("<Signature").unwrap();
        let s1 = t.find("</Signature>").unwrap() + "</Signature>".len();
        format!("{}{}", &t[..s0], &t[s1..])
    };
    for stem in ["signing/vpubnd", "members/sonv"] {
        let key = openssl::pkey::PKey::private_key_from_pem(
            &std::fs::read(pki.join(format!("{stem}.key"))).unwrap(),
        )
        .unwrap();
        let chain = openssl::x509::X509::stack_from_pem(
            &std::fs::read(pki.join(format!("{stem}.pem"))).unwrap(),
        )
        .unwrap();
        let signed = lienthong::dsig::sign::sign(unsigned.as_bytes(), &key, &chain).unwrap();
        let f = dir.path().join("ours.xml");
        std::fs::write(&f, &signed).unwrap();
        assert!(
            xmlsec_verifies(&pki, &f),
            "{stem}: xmlsec1 rejects lienthong's signature:\n{}",
            String::from_utf8_lossy(&signed)
        );
        verify(&signed[..], &Policy::default()).unwrap();
        let text = String::from_utf8(signed).unwrap();
        for (needle, replacement) in [
            ("000.00.01.H99", "000.00.01.H98"),
            ("Về việc", "Vè việc"),
            ("<DigestValue>", "<DigestValue>x"),
        ] {
            let tampered = text.replacen(needle, replacement, 1);
            std::fs::write(&f, &tampered).unwrap();
            assert!(
                !xmlsec_verifies(&pki, &f),
                "{stem}: xmlsec1 accepted a change to {needle}"
            );
            assert!(
                verify(tampered.as_bytes(), &Policy::default()).is_err(),
                "{stem}: {needle}"
            );
        }
    }
}

/// A real OCSP responder (`openssl ocsp`) on loopback: good, revoked, and responder down.
#[test]
fn ocsp_status_from_openssl_responder() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dev_pki(dir.path());
    // Trust: the root and only the root's CRL. The signer's status must come from OCSP.
    let trust = dir.path().join("trust");
    let inter = dir.path().join("inter");
    std::fs::create_dir_all(&trust).unwrap();
    std::fs::create_dir_all(&inter).unwrap();
    std::fs::copy(pki.join("ca.pem"), trust.join("ca.pem")).unwrap();
    let crls = std::fs::read_to_string(pki.join("crl.pem")).unwrap();
    let root_crl = crls
        .split_inclusive("-----END X509 CRL-----\n")
        .next()
        .unwrap();
    std::fs::write(trust.join("root.crl.pem"), root_crl).unwrap();
    std::fs::copy(pki.join("intermediate.pem"), inter.join("intermediate.pem")).unwrap();

    let mut responder = OcspResponder::start(&pki, 5);
    let url = responder.url();
    let os = |s: &str| std::ffi::OsString::from(s);
    let run = |file: &Path, url: &str| {
        lienthong_verify(&[
            file.as_os_str(),
            &os("--trust"),
            trust.as_os_str(),
            &os("--intermediates"),
            inter.as_os_str(),
            &os("--ocsp"),
            &os(url),
        ])
    };

    let good = sign_with_xmlsec(
        dir.path(),
        &pki.join("signing/vpubnd.key"),
        &pki.join("signing/vpubnd.pem"),
        "good",
    );
    let (code, v) = run(&good, &url);
    assert_eq!(code, Some(0), "{v}");
    // The responder's answer (-nmin 5) carries a nextUpdate; the intermediate's CRL (30 days)
    // lasts longer, so the report's nextUpdate is the OCSP one.
    let next = v["revocation"]["next_update"].as_str().unwrap_or_default();
    let next = chrono::DateTime::parse_from_rfc3339(next).expect("next_update in RFC 3339");
    let in_secs = next.timestamp() - chrono::Utc::now().timestamp();
    assert!((200..=330).contains(&in_secs), "{v}");
    assert_eq!(
        v["revocation"],
        serde_json::json!({"status": "good", "method": "ocsp+crl", "source": "ocsp",
            "next_update": v["revocation"]["next_update"].clone()})
    );
    // Without OCSP the intermediate's CRL is missing from --trust: fail closed.
    let (code, v) = lienthong_verify(&[
        good.as_os_str(),
        &os("--trust"),
        trust.as_os_str(),
        &os("--intermediates"),
        inter.as_os_str(),
    ]);
    assert_eq!(
        (code, v["reasons"].clone()),
        (Some(1), serde_json::json!(["revocation_unknown"]))
    );

    let revoked = sign_with_xmlsec(
        dir.path(),
        &pki.join("test/revoked.key"),
        &pki.join("test/revoked.pem"),
        "revoked",
    );
    let (_, v) = run(&revoked, &url);
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("certificate_revoked")),
        "{v}"
    );
    assert_eq!(v["revocation"]["status"], "revoked");

    responder.kill();
    // Responder down: no status, no trust.
    let (code, v) = run(&good, &url);
    assert_eq!(
        (code, v["reasons"].clone()),
        (Some(1), serde_json::json!(["revocation_unknown"])),
        "{v}"
    );
    assert!(v["warnings"].to_string().contains("OCSP"));
}

/// `--config`: anchors, intermediates and CRLs from `[trust]`, and signer ↔ organ bindings by
/// fingerprint or subject beside (or instead of) the default OU rule.
#[test]
fn verify_config_binds_signers_by_fingerprint_and_subject() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dev_pki(dir.path());
    // sonv's signing certificate names 000.00.01.H99 in its OU; the package is From 000.00.00.H99.
    let by_sonv = sign_with_xmlsec(
        dir.path(),
        &pki.join("signing/sonv.key"),
        &pki.join("signing/sonv.pem"),
        "by-sonv",
    );
    let by_vpubnd = sign_with_xmlsec(
        dir.path(),
        &pki.join("signing/vpubnd.key"),
        &pki.join("signing/vpubnd.pem"),
        "by-vpubnd",
    );
    let sonv = openssl::x509::X509::from_pem(&std::fs::read(pki.join("signing/sonv.pem")).unwrap())
        .unwrap();
    let fp = hex::encode(openssl::sha::sha256(&sonv.to_der().unwrap()));
    let config = |name: &str, extra: &str| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                "[trust]\nanchors = [{:?}]\nintermediates = [{:?}]\ncrls = [{:?}]\n{extra}",
                pki.join("ca.pem"),
                pki.join("intermediate.pem"),
                pki.join("crl.pem"),
            ),
        )
        .unwrap();
        p
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    let run = |file: &Path, cfg: &Path| {
        lienthong_verify(&[file.as_os_str(), &os("--config"), cfg.as_os_str()])
    };

    let plain = config("plain.toml", "");
    let (code, v) = run(&by_vpubnd, &plain);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["signer"]["organs"], serde_json::json!(["000.00.00.H99"]));
    let (code, v) = run(&by_sonv, &plain);
    assert_eq!(
        (code, v["reasons"].clone()),
        (Some(1), serde_json::json!(["signer_not_bound"])),
        "{v}"
    );

    let by_fp = config(
        "fp.toml",
        &format!("[[trust.bindings]]\nfingerprint = \"{fp}\"\norgans = [\"000.00.00.H99\"]\n"),
    );
    let (code, v) = run(&by_sonv, &by_fp);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        v["signer"]["organs"],
        serde_json::json!(["000.00.01.H99", "000.00.00.H99"])
    );
    assert_eq!(v["signer"]["fingerprint"], format!("sha256:{fp}"));

    let subject = "CN=Sở Nội vụ tỉnh Ví Dụ, OU=000.00.01.H99, O=lienthong sandbox, C=VN";
    let by_subject = config(
        "subject.toml",
        &format!(
            "ou_binding = false\n[[trust.bindings]]\nsubject = \"{subject}\"\norgans = [\"000.00.00.H99\"]\n"
        ),
    );
    let (code, v) = run(&by_sonv, &by_subject);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["signer"]["organs"], serde_json::json!(["000.00.00.H99"]));
    // OU rule off: vpubnd's own certificate no longer speaks for its organ.
    let (code, v) = run(&by_vpubnd, &by_subject);
    assert_eq!(
        (code, v["reasons"].clone()),
        (Some(1), serde_json::json!(["signer_not_bound"])),
        "{v}"
    );

    // A broken binding is a usage error naming the key, not a verdict.
    let bad = config(
        "bad.toml",
        "[[trust.bindings]]\nfingerprint = \"abc\"\norgans = [\"000.00.00.H99\"]\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .arg("verify")
        .arg(&by_sonv)
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trust.bindings[0].fingerprint"));
}
