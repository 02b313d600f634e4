//! Differential tests against Debian's `xmlsec1`: what it signs verifies in lienthong, and a
//! single changed byte in a signed part fails in both. xmlsec1 must be installed (`.ci/run`
//! installs it); a missing oracle fails the test.

use lienthong::dsig::verify::{verify, DsigError, Policy};
use std::path::Path;
use std::process::Command;

const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

fn template(sig_alg: &str, c14n: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016" xmlns:xlink="http://www.w3.org/1999/xlink">
  <edXML:edXMLHeader>
    <edXML:MessageHeader>
      <edXML:From><edXML:OrganId>000.00.00.H99</edXML:OrganId><edXML:OrganName>UBND tỉnh Ví Dụ</edXML:OrganName></edXML:From>
      <edXML:To><edXML:OrganId>000.00.01.H99</edXML:OrganId></edXML:To>
      <edXML:Code><edXML:CodeNumber>45</edXML:CodeNumber><edXML:CodeNotation>UBND-VP</edXML:CodeNotation></edXML:Code>
      <edXML:Subject>Về việc thử nghiệm chữ ký số &amp; "liên thông"</edXML:Subject>
    </edXML:MessageHeader>
    <Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="{c14n}"/><SignatureMethod Algorithm="{sig_alg}"/><Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><Transform Algorithm="{c14n}"/></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>
  </edXML:edXMLHeader>
  <edXML:edXMLBody>
    <edXML:AttachmentEncoded ContentId="1" ContentType="text/plain" xlink:title="a.txt">VsSDbiBi4bqjbiB0aOG7rSBuZ2hp4buHbQ==</edXML:AttachmentEncoded>
  </edXML:edXMLBody>
</edXML:edXMLEnvelope>
"#
    )
}

fn xmlsec1(args: &[&str]) -> std::process::Output {
    Command::new("xmlsec1")
        .args(args)
        .output()
        .expect("xmlsec1 not found: install the xmlsec1 package (the oracle)")
}

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
    let pki = dir.path().join("pki");
    let out = Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .args([
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/lienthong.toml"),
            "pki",
            "dev-init",
        ])
        .arg(&pki)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rsa = (
        pki.join("signing/vpubnd.key"),
        pki.join("signing/vpubnd.pem"),
    );
    let ec = (pki.join("members/sonv.key"), pki.join("members/sonv.pem"));
    let mut checked = 0;
    for (alg, (key, cert)) in [(RSA_SHA256, &rsa), (ECDSA_SHA256, &ec)] {
        for c14n in [C14N, EXC] {
            let what = format!("{alg} {c14n}");
            let tmpl = dir.path().join("tmpl.xml");
            std::fs::write(&tmpl, template(alg, c14n)).unwrap();
            let signed = dir.path().join("signed.xml");
            let keyarg = format!("{},{}", key.display(), cert.display());
            let out = xmlsec1(&[
                "--sign",
                "--privkey-pem",
                &keyarg,
                "--output",
                signed.to_str().unwrap(),
                tmpl.to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "xmlsec1 --sign: {}",
                String::from_utf8_lossy(&out.stderr)
            );
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
