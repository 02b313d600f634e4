//! Shared by the tests that sign with Debian's `xmlsec1` and ask a real `openssl ocsp`
//! responder: the dev PKI, the edXML template, signing, and the responder process.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
pub const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

pub fn template(sig_alg: &str, c14n: &str) -> String {
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

pub fn xmlsec1(args: &[&str]) -> std::process::Output {
    Command::new("xmlsec1")
        .args(args)
        .output()
        .expect("xmlsec1 not found: install the xmlsec1 package (the oracle)")
}

/// A dev PKI (`lienthong pki dev-init`) for the repository's sandbox members, in `dir/pki`.
pub fn dev_pki(dir: &Path) -> PathBuf {
    let pki = dir.join("pki");
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
    pki
}

/// `xmlsec1 --sign` the template text with `key`/`cert` (PEM files); returns the signed file.
pub fn xmlsec_sign(
    dir: &Path,
    key: &Path,
    cert: &Path,
    template_text: &str,
    name: &str,
) -> PathBuf {
    let tmpl = dir.join(format!("{name}.tmpl.xml"));
    std::fs::write(&tmpl, template_text).unwrap();
    let signed = dir.join(format!("{name}.xml"));
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
    signed
}

/// Sign the edXML template with xmlsec1; the dev PKI's signing keys are RSA, its TLS keys EC.
pub fn sign_with_xmlsec(dir: &Path, key: &Path, cert: &Path, name: &str) -> PathBuf {
    let pem = std::fs::read(key).unwrap();
    let is_rsa = openssl::pkey::PKey::private_key_from_pem(&pem)
        .unwrap()
        .rsa()
        .is_ok();
    xmlsec_sign(
        dir,
        key,
        cert,
        &template(if is_rsa { RSA_SHA256 } else { ECDSA_SHA256 }, EXC),
        name,
    )
}

/// `openssl ocsp` serving the dev PKI's index on a loopback port, killed on drop.
pub struct OcspResponder {
    child: Child,
    pub port: u16,
}

impl OcspResponder {
    /// Start the responder for `pki` (answers valid for `nmin` minutes) and wait until it
    /// listens.
    pub fn start(pki: &Path, nmin: u32) -> OcspResponder {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("openssl")
            .args(["ocsp", "-index"])
            .arg(pki.join("ocsp/index.txt"))
            .args(["-port", &port.to_string(), "-rsigner"])
            .arg(pki.join("ocsp/responder.pem"))
            .arg("-rkey")
            .arg(pki.join("ocsp/responder.key"))
            .arg("-CA")
            .arg(pki.join("intermediate.pem"))
            .args(["-nmin", &nmin.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("openssl not found: install the openssl package (the OCSP responder)");
        // The responder serves one connection at a time: wait for its own "ready" line instead
        // of probing the port (a probe connection would hold it up).
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        loop {
            let line = rx
                .recv_timeout(std::time::Duration::from_secs(10))
                .expect("openssl ocsp did not start");
            if line.contains("waiting for OCSP client connections") {
                break;
            }
        }
        OcspResponder { child, port }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Stop it (its port then refuses connections).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OcspResponder {
    fn drop(&mut self) {
        self.kill();
    }
}
