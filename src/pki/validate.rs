//! Signer certificate validation: chain to a trust anchor (intermediates from the message or a
//! pool), validity at the verification time, key usage / extended key usage policy, revocation
//! by CRL (fail closed: no status is no trust), and the binding of the signer to organ ids.

use foreign_types_shared::ForeignTypeRef;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509Crl, X509StoreContext, X509};
use serde::Serialize;
use std::path::Path;

extern "C" {
    // In libcrypto; not re-exported by openssl-sys.
    fn X509_STORE_add_crl(
        store: *mut openssl_sys::X509_STORE,
        crl: *mut openssl_sys::X509_CRL,
    ) -> std::os::raw::c_int;
}

/// id-kp-documentSigning (RFC 9336) and emailProtection: accepted EKUs for document signers.
pub const DEFAULT_SIGNING_EKUS: [&str; 2] = ["1.3.6.1.5.5.7.3.36", "1.3.6.1.5.5.7.3.4"];

/// Anchors, CRLs and an intermediate pool.
#[derive(Default)]
pub struct TrustStore {
    pub anchors: Vec<X509>,
    pub crls: Vec<X509Crl>,
    pub intermediates: Vec<X509>,
}

fn pem_blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(b) = rest.find("-----BEGIN ") {
        let after = &rest[b + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].to_owned();
        let end_marker = format!("-----END {label}-----");
        let Some(e) = rest[b..].find(&end_marker) else {
            break;
        };
        let block = &rest[b..b + e + end_marker.len()];
        out.push((label, block.to_owned()));
        rest = &rest[b + e + end_marker.len()..];
    }
    out
}

impl TrustStore {
    /// Every PEM (or DER `.der`/`.cer`/`.crt`/`.crl`) item in `path` — a file, or every file
    /// directly in a directory: certificates become anchors, CRLs revocation lists.
    pub fn add_anchors(&mut self, path: &Path) -> Result<(), String> {
        for (label, bytes, name) in read_items(path)? {
            match label.as_str() {
                "CERTIFICATE" => self.anchors.push(parse_cert(&bytes, &name)?),
                "X509 CRL" => self.crls.push(parse_crl(&bytes, &name)?),
                _ => {}
            }
        }
        Ok(())
    }

    /// Every certificate in `path` (file or directory) joins the intermediate pool.
    pub fn add_intermediates(&mut self, path: &Path) -> Result<(), String> {
        for (label, bytes, name) in read_items(path)? {
            if label == "CERTIFICATE" {
                self.intermediates.push(parse_cert(&bytes, &name)?);
            }
        }
        Ok(())
    }

    /// Every CRL in `path` (file or directory).
    pub fn add_crls(&mut self, path: &Path) -> Result<(), String> {
        for (label, bytes, name) in read_items(path)? {
            if label == "X509 CRL" {
                self.crls.push(parse_crl(&bytes, &name)?);
            }
        }
        Ok(())
    }

    /// `--trust DIR`: anchors and CRLs from `dir`, which must hold at least one anchor.
    pub fn load_trust_dir(&mut self, dir: &Path) -> Result<(), String> {
        self.add_anchors(dir)?;
        if self.anchors.is_empty() {
            return Err(format!(
                "{}: no trust anchor certificate found",
                dir.display()
            ));
        }
        Ok(())
    }
}

fn parse_crl(bytes: &[u8], path: &str) -> Result<X509Crl, String> {
    X509Crl::from_pem(bytes)
        .or_else(|_| X509Crl::from_der(bytes))
        .map_err(|e| format!("{path}: {e}"))
}

fn parse_cert(bytes: &[u8], path: &str) -> Result<X509, String> {
    X509::from_pem(bytes)
        .or_else(|_| X509::from_der(bytes))
        .map_err(|e| format!("{path}: {e}"))
}

fn read_items(path: &Path) -> Result<Vec<(String, Vec<u8>, String)>, String> {
    let mut items = Vec::new();
    let mut entries: Vec<_> = if path.is_dir() {
        std::fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect()
    } else {
        vec![path.to_path_buf()]
    };
    entries.sort();
    for p in entries {
        let name = p.display().to_string();
        let bytes = std::fs::read(&p).map_err(|e| format!("{name}: {e}"))?;
        match std::str::from_utf8(&bytes) {
            Ok(text) if text.contains("-----BEGIN ") => {
                for (label, block) in pem_blocks(text) {
                    items.push((label, block.into_bytes(), name.clone()));
                }
            }
            _ => {
                let ext = p
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                match ext.as_str() {
                    "der" | "cer" | "crt" => items.push(("CERTIFICATE".into(), bytes, name)),
                    "crl" => items.push(("X509 CRL".into(), bytes, name)),
                    _ => {}
                }
            }
        }
    }
    Ok(items)
}

/// Result of validating a signer.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// Subjects from the signer to the anchor, when a chain was built.
    pub chain: Vec<String>,
    pub revocation: RevocationReport,
    /// Stable reason codes; empty when valid.
    pub reasons: Vec<&'static str>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RevocationReport {
    /// `good`, `revoked`, `unknown` or `not_checked`.
    pub status: &'static str,
    pub method: &'static str,
}

fn reason_for(code: i32) -> &'static str {
    use openssl_sys as s;
    match code {
        s::X509_V_ERR_CERT_HAS_EXPIRED => "certificate_expired",
        s::X509_V_ERR_CERT_NOT_YET_VALID => "certificate_not_yet_valid",
        s::X509_V_ERR_CERT_REVOKED => "certificate_revoked",
        s::X509_V_ERR_UNABLE_TO_GET_CRL
        | s::X509_V_ERR_CRL_HAS_EXPIRED
        | s::X509_V_ERR_CRL_NOT_YET_VALID => "revocation_unknown",
        s::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        | s::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
        | s::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
        | s::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT => "certificate_untrusted",
        s::X509_V_ERR_CERT_SIGNATURE_FAILURE => "certificate_bad_signature",
        _ => "certificate_invalid",
    }
}

/// Key usage must allow signatures; an EKU, when present, must name an allowed purpose.
pub fn usage_reasons(cert: &X509, allowed_ekus: &[&str]) -> Vec<&'static str> {
    let mut reasons = Vec::new();
    let der = match cert.to_der() {
        Ok(d) => d,
        Err(_) => return vec!["certificate_invalid"],
    };
    let Ok((_, c)) = x509_parser::parse_x509_certificate(&der) else {
        return vec!["certificate_invalid"];
    };
    if let Ok(Some(ku)) = c.key_usage() {
        if !(ku.value.digital_signature() || ku.value.non_repudiation()) {
            reasons.push("certificate_wrong_key_usage");
        }
    }
    if let Ok(Some(eku)) = c.extended_key_usage() {
        let v = &eku.value;
        let mut oids: Vec<String> = v.other.iter().map(|o| o.to_id_string()).collect();
        if v.email_protection {
            oids.push("1.3.6.1.5.5.7.3.4".into());
        }
        if !v.any && !oids.iter().any(|o| allowed_ekus.contains(&o.as_str())) {
            reasons.push("certificate_wrong_usage");
        }
    }
    reasons
}

/// Where revocation status comes from.
#[derive(Clone, Debug)]
pub enum Revocation {
    /// CRLs for every certificate in the chain; missing or stale status is a failure.
    Crl,
    /// OCSP for the signer (at `url`, or the URL in its AIA extension), CRLs for the CA
    /// certificates above it.
    Ocsp {
        url: Option<String>,
        timeout: std::time::Duration,
    },
    /// Not checked (archived documents whose CA no longer publishes status); reported.
    Off,
}

struct Built {
    ok: bool,
    code: i32,
    text: String,
    chain: Vec<X509>,
}

fn build_chain(
    signer: &X509,
    extra: &[X509],
    store: &TrustStore,
    at: i64,
    crl_all: bool,
) -> Result<Built, openssl::error::ErrorStack> {
    let mut b = X509StoreBuilder::new()?;
    for a in &store.anchors {
        b.add_cert(a.clone())?;
    }
    let mut param = X509VerifyParam::new()?;
    if crl_all {
        for crl in &store.crls {
            // SAFETY: both pointers are live; the store takes its own reference to the CRL.
            if unsafe { X509_STORE_add_crl(b.as_ptr(), crl.as_ptr()) } <= 0 {
                return Err(openssl::error::ErrorStack::get());
            }
        }
        param.set_flags(X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL)?;
    }
    param.set_time(at as _);
    b.set_param(&param)?;
    let st = b.build();
    let mut pool = Stack::new()?;
    for c in extra.iter().chain(store.intermediates.iter()) {
        pool.push(c.clone())?;
    }
    let mut ctx = X509StoreContext::new()?;
    ctx.init(&st, signer, &pool, |c| {
        let ok = c.verify_cert()?;
        let chain = c
            .chain()
            .map(|ch| ch.iter().map(|x| x.to_owned()).collect())
            .unwrap_or_default();
        Ok(Built {
            ok,
            code: c.error().as_raw(),
            text: c.error().error_string().to_owned(),
            chain,
        })
    })
}

/// Status of `cert` from a CRL its `issuer` signed, fresh at `at`. `Err` when no such CRL.
fn crl_revoked(cert: &X509, issuer: &X509, crls: &[X509Crl], at: i64) -> Result<bool, String> {
    let issuer_name = issuer.subject_name().to_der().map_err(|e| e.to_string())?;
    let key = issuer.public_key().map_err(|e| e.to_string())?;
    let now = openssl::asn1::Asn1Time::from_unix(at).map_err(|e| e.to_string())?;
    for crl in crls {
        if crl.issuer_name().to_der().ok().as_deref() != Some(&issuer_name[..])
            || !crl.verify(&key).unwrap_or(false)
        {
            continue;
        }
        let fresh = crl
            .next_update()
            .is_some_and(|n| n.compare(&now).is_ok_and(|o| o.is_ge()));
        if !fresh {
            return Err(format!("CRL of {} is stale", subject_text(issuer)));
        }
        return Ok(matches!(
            crl.get_by_cert(cert),
            openssl::x509::CrlStatus::Revoked(_)
        ));
    }
    Err(format!("no CRL from {}", subject_text(issuer)))
}

/// Validate `signer` (with `extra` certificates from the message) at unix time `at`.
pub fn validate(
    signer: &X509,
    extra: &[X509],
    store: &TrustStore,
    at: i64,
    revocation: &Revocation,
    allowed_ekus: &[&str],
) -> ChainReport {
    let mut reasons = usage_reasons(signer, allowed_ekus);
    let mut warnings = Vec::new();
    let method = match revocation {
        Revocation::Crl => "crl",
        Revocation::Ocsp { .. } => "ocsp+crl",
        Revocation::Off => "none",
    };
    let built = match build_chain(
        signer,
        extra,
        store,
        at,
        matches!(revocation, Revocation::Crl),
    ) {
        Ok(b) => b,
        Err(e) => {
            reasons.push("certificate_invalid");
            warnings.push(e.to_string());
            return ChainReport {
                chain: Vec::new(),
                revocation: RevocationReport {
                    status: "unknown",
                    method,
                },
                reasons,
                warnings,
            };
        }
    };
    let chain: Vec<String> = built.chain.iter().map(|c| subject_text(c)).collect();
    let mut status = match revocation {
        Revocation::Off => "not_checked",
        _ => "good",
    };
    if !built.ok {
        let r = reason_for(built.code);
        warnings.push(format!(
            "chain: {} (openssl error {})",
            built.text, built.code
        ));
        reasons.push(r);
        status = match (revocation, r) {
            (Revocation::Off, _) => "not_checked",
            (_, "certificate_revoked") => "revoked",
            _ => "unknown",
        };
    } else if let Revocation::Ocsp { url, timeout } = revocation {
        // Signer by OCSP; each CA certificate below the anchor by its issuer's CRL.
        let n = built.chain.len();
        let url = url.clone().or_else(|| ocsp_url_in_aia(signer));
        if n >= 2 {
            let outcome = match &url {
                Some(url) => super::ocsp::check(
                    &built.chain[0],
                    &built.chain[1],
                    url,
                    &store.anchors,
                    &built.chain[1..n - 1],
                    *timeout,
                ),
                None => super::ocsp::OcspOutcome::Unknown(
                    "no OCSP responder configured and none in the certificate (AIA)".into(),
                ),
            };
            let url = url.as_deref().unwrap_or("-");
            match outcome {
                super::ocsp::OcspOutcome::Good => {}
                super::ocsp::OcspOutcome::Revoked => {
                    reasons.push("certificate_revoked");
                    status = "revoked";
                }
                super::ocsp::OcspOutcome::Unknown(why) => {
                    warnings.push(format!("OCSP {url}: {why}"));
                    reasons.push("revocation_unknown");
                    status = "unknown";
                }
            }
            for i in 1..n.saturating_sub(1) {
                match crl_revoked(&built.chain[i], &built.chain[i + 1], &store.crls, at) {
                    Ok(false) => {}
                    Ok(true) => {
                        reasons.push("certificate_revoked");
                        status = "revoked";
                    }
                    Err(why) => {
                        warnings.push(why);
                        if !reasons.contains(&"revocation_unknown") {
                            reasons.push("revocation_unknown");
                        }
                        if status == "good" {
                            status = "unknown";
                        }
                    }
                }
            }
        }
    }
    if matches!(revocation, Revocation::Off) {
        warnings.push("revocation was not checked (--revocation off)".into());
    }
    ChainReport {
        chain,
        revocation: RevocationReport { status, method },
        reasons,
        warnings,
    }
}

/// The first OCSP responder URL in the certificate's Authority Information Access extension.
pub fn ocsp_url_in_aia(c: &openssl::x509::X509Ref) -> Option<String> {
    c.ocsp_responders()
        .ok()
        .and_then(|s| s.iter().next().map(|u| u.to_string()))
}

fn with_parsed(
    c: &openssl::x509::X509Ref,
    f: fn(&x509_parser::certificate::X509Certificate<'_>) -> String,
) -> String {
    c.to_der()
        .ok()
        .and_then(|d| {
            x509_parser::parse_x509_certificate(&d)
                .ok()
                .map(|(_, x)| f(&x))
        })
        .unwrap_or_default()
}

/// RFC 4514-style text of a certificate's subject.
pub fn subject_text(c: &openssl::x509::X509Ref) -> String {
    with_parsed(c, |x| x.subject().to_string())
}

/// RFC 4514-style text of a certificate's issuer.
pub fn issuer_text(c: &openssl::x509::X509Ref) -> String {
    with_parsed(c, |x| x.issuer().to_string())
}

/// Organ identifiers written in the subject OU (the default binding rule).
pub fn organs_in_subject(c: &openssl::x509::X509Ref) -> Vec<String> {
    c.subject_name()
        .entries_by_nid(openssl::nid::Nid::ORGANIZATIONALUNITNAME)
        .map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
        .filter(|s| lienthong_contract::OrganId::parse(s).is_ok())
        .collect()
}
