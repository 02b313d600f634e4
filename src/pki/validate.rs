//! Signer certificate validation: chain to a trust anchor (intermediates from the message or a
//! pool), validity at the verification time, key usage / extended key usage policy, revocation
//! by CRL or OCSP (fail closed: no status is no trust, except a status past its `nextUpdate` but
//! within the configured grace, which is used with a warning: [`super::cache`]), and the binding
//! of the signer to organ ids.

use super::cache::{self, Answer, CertStatus, RevocationCache, Status, Verdict, Window};
use foreign_types_shared::ForeignTypeRef;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509Crl, X509StoreContext, X509};
use serde::Serialize;
use std::os::raw::c_int;
use std::path::Path;

extern "C" {
    // In libcrypto; not re-exported by openssl-sys.
    fn X509_STORE_add_crl(
        store: *mut openssl_sys::X509_STORE,
        crl: *mut openssl_sys::X509_CRL,
    ) -> c_int;
    fn X509_STORE_set_verify_cb(
        store: *mut openssl_sys::X509_STORE,
        cb: Option<extern "C" fn(c_int, *mut openssl_sys::X509_STORE_CTX) -> c_int>,
    );
}

/// Lets OpenSSL use a CRL whatever its dates (`thisUpdate` / `nextUpdate` against the
/// verification time): their freshness is judged afterwards against the current time, with
/// grace ([`crl_verdict`]). Every other error stands.
extern "C" fn crl_dates_judged_later(ok: c_int, ctx: *mut openssl_sys::X509_STORE_CTX) -> c_int {
    if ok != 0 {
        return ok;
    }
    // SAFETY: OpenSSL passes the live context of the verification in progress.
    let err = unsafe { openssl_sys::X509_STORE_CTX_get_error(ctx) };
    match err {
        openssl_sys::X509_V_ERR_CRL_HAS_EXPIRED | openssl_sys::X509_V_ERR_CRL_NOT_YET_VALID => 1,
        _ => ok,
    }
}

/// id-kp-documentSigning (RFC 9336) and emailProtection: accepted EKUs for document signers.
pub const DEFAULT_SIGNING_EKUS: [&str; 2] = ["1.3.6.1.5.5.7.3.36", "1.3.6.1.5.5.7.3.4"];

/// Anchors, CRLs and an intermediate pool.
#[derive(Default)]
pub struct TrustStore {
    pub anchors: Vec<X509>,
    pub crls: Vec<X509Crl>,
    pub intermediates: Vec<X509>,
    /// Signature checks already done against this store's fixed contents.
    memo: Memo,
}

/// What a [`TrustStore`] has already proven, so that each package does not repeat the same
/// signature checks (about seven ECDSA verifications for a three-level chain with CRLs):
/// - chains that validated, keyed by the SHA-256 of the signer and the certificates the message
///   carried, with the window in which every certificate of the chain is valid: a hit inside
///   that window skips OpenSSL's path building; revocation is still judged on every call
///   against the CRLs (and OCSP), so a positive memo never hides a revocation;
/// - which CRL (index in `crls`) each issuer signed, keyed by the issuer's SHA-256.
///
/// Only successes are kept; the store's anchors, intermediates and CRLs never change after
/// loading (a reload builds a new store, with an empty memo). Bounded: cleared when full.
#[derive(Default)]
struct Memo {
    chains: std::sync::Mutex<std::collections::HashMap<[u8; 32], MemoChain>>,
    crl_of: std::sync::Mutex<std::collections::HashMap<[u8; 32], Option<usize>>>,
}

const MEMO_MAX: usize = 10_000;

#[derive(Clone)]
struct MemoChain {
    chain: Vec<X509>,
    /// Latest notBefore and earliest notAfter of the chain (unix seconds).
    from: i64,
    until: i64,
}

fn der_key<'a>(certs: impl IntoIterator<Item = &'a X509>) -> Option<[u8; 32]> {
    let mut h = openssl::sha::Sha256::new();
    for c in certs {
        let der = c.to_der().ok()?;
        h.update(&(der.len() as u64).to_be_bytes());
        h.update(&der);
    }
    Some(h.finish())
}

fn memo_put<V>(map: &std::sync::Mutex<std::collections::HashMap<[u8; 32], V>>, k: [u8; 32], v: V) {
    if let Ok(mut m) = map.lock() {
        if m.len() >= MEMO_MAX {
            m.clear();
        }
        m.insert(k, v);
    }
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
    /// A store of these anchors, intermediates and CRLs.
    pub fn new(anchors: Vec<X509>, intermediates: Vec<X509>, crls: Vec<X509Crl>) -> Self {
        TrustStore {
            anchors,
            crls,
            intermediates,
            memo: Memo::default(),
        }
    }

    /// Every PEM (or DER `.der`/`.cer`/`.crt`/`.crl`) item in `path` — a file, or every file
    /// directly in a directory: certificates become anchors, CRLs revocation lists.
    pub fn add_anchors(&mut self, path: &Path) -> Result<(), String> {
        self.memo = Memo::default();
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
        self.memo = Memo::default();
        for (label, bytes, name) in read_items(path)? {
            if label == "CERTIFICATE" {
                self.intermediates.push(parse_cert(&bytes, &name)?);
            }
        }
        Ok(())
    }

    /// Every CRL in `path` (file or directory).
    pub fn add_crls(&mut self, path: &Path) -> Result<(), String> {
        self.memo = Memo::default();
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
    /// Where the signer's status came from: `crl`, `ocsp` (asked just now) or `cache` (an OCSP
    /// answer asked earlier). Absent when not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// The earliest `nextUpdate` (RFC 3339) of the answers the status rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_update: Option<String>,
    /// Set when an answer past its `nextUpdate` was used within grace.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

/// How revocation answers are judged: the clock and grace, and the cache of OCSP answers.
#[derive(Clone, Copy)]
pub struct RevocationCheck<'a> {
    pub cache: &'a RevocationCache,
    /// Current unix time: answers are judged at `now`, whatever the verification time.
    pub now: i64,
    /// Seconds past `nextUpdate` an answer may still be used when no fresher one can be had.
    pub grace: i64,
}

/// Revocation verdicts for a chain, folded into one status.
struct Tally {
    status: &'static str,
    next_update: Option<i64>,
    stale: bool,
}

impl Tally {
    /// Fold `v` (about `what`) in; reasons and warnings go to the report.
    fn add(
        &mut self,
        v: Verdict,
        what: &str,
        reasons: &mut Vec<&'static str>,
        warnings: &mut Vec<String>,
    ) {
        if let Some(n) = v.next_update {
            self.next_update = Some(self.next_update.map_or(n, |m| m.min(n)));
        }
        self.stale |= v.stale_by.is_some();
        if let Some(note) = v.note {
            warnings.push(format!("{what}: {note}"));
        }
        match v.status {
            Status::Good => {}
            Status::Revoked => {
                if !reasons.contains(&"certificate_revoked") {
                    reasons.push("certificate_revoked");
                }
                self.status = "revoked";
            }
            Status::Unknown => {
                if !reasons.contains(&"revocation_unknown") {
                    reasons.push("revocation_unknown");
                }
                if self.status == "good" {
                    self.status = "unknown";
                }
            }
        }
    }
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

/// [`build_chain_uncached`] behind the store's memo of chains that validated.
fn build_chain(
    signer: &X509,
    extra: &[X509],
    store: &TrustStore,
    at: i64,
    crl_all: bool,
) -> Result<Built, openssl::error::ErrorStack> {
    let key = {
        let mut h = openssl::sha::Sha256::new();
        h.update(&[u8::from(crl_all)]);
        match der_key(std::iter::once(signer).chain(extra.iter())) {
            Some(k) => {
                h.update(&k);
                Some(h.finish())
            }
            None => None,
        }
    };
    if let Some(k) = key {
        let hit = store.memo.chains.lock().ok().and_then(|m| m.get(&k).cloned());
        if let Some(m) = hit {
            if m.from <= at && at <= m.until {
                return Ok(Built {
                    ok: true,
                    code: 0,
                    text: "ok".into(),
                    chain: m.chain,
                });
            }
        }
    }
    let built = build_chain_uncached(signer, extra, store, at, crl_all)?;
    if let (true, Some(k)) = (built.ok, key) {
        let bounds = built.chain.iter().try_fold((i64::MIN, i64::MAX), |(from, until), c| {
            let nb = cache::unix_of(c.not_before()).ok()?;
            let na = cache::unix_of(c.not_after()).ok()?;
            Some((from.max(nb), until.min(na)))
        });
        if let Some((from, until)) = bounds {
            memo_put(&store.memo.chains, k, MemoChain { chain: built.chain.clone(), from, until });
        }
    }
    Ok(built)
}

fn build_chain_uncached(
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
        // SAFETY: the store is live; the callback is a plain function with no state.
        unsafe { X509_STORE_set_verify_cb(b.as_ptr(), Some(crl_dates_judged_later)) };
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

/// The newest CRL of the store that `issuer` signed (signature checks remembered per issuer).
fn crl_of<'c>(issuer: &X509, store: &'c TrustStore) -> Option<&'c X509Crl> {
    let key = der_key(std::iter::once(issuer));
    if let Some(k) = key {
        if let Some(hit) = store.memo.crl_of.lock().ok().and_then(|m| m.get(&k).copied()) {
            return hit.and_then(|i| store.crls.get(i));
        }
    }
    let name = issuer.subject_name().to_der().ok()?;
    let pkey = issuer.public_key().ok()?;
    let found = store
        .crls
        .iter()
        .enumerate()
        .filter(|(_, crl)| {
            crl.issuer_name().to_der().ok().as_deref() == Some(&name[..])
                && crl.verify(&pkey).unwrap_or(false)
        })
        .max_by_key(|(_, crl)| cache::unix_of(crl.last_update()).unwrap_or(i64::MIN))
        .map(|(i, _)| i);
    if let Some(k) = key {
        memo_put(&store.memo.crl_of, k, found);
    }
    found.and_then(|i| store.crls.get(i))
}

/// Status of `cert` from its issuer's `crl`, judged at `f.now`: revoked whatever the CRL's
/// age; good while fresh or within grace past its `nextUpdate`; else unknown. A CRL without
/// `nextUpdate` lasts the cache's default validity.
fn crl_verdict(cert: &X509, crl: &X509Crl, f: &RevocationCheck<'_>) -> Verdict {
    let times = cache::unix_of(crl.last_update()).and_then(|this_update| {
        Ok(Answer {
            status: match crl.get_by_cert(cert) {
                openssl::x509::CrlStatus::Revoked(_) => CertStatus::Revoked,
                _ => CertStatus::Good,
            },
            this_update,
            next_update: crl.next_update().map(cache::unix_of).transpose()?,
        })
    });
    match times {
        Ok(a) => {
            let w: Window = f.cache.window(&a);
            cache::judge(&w, a.status, false, f.now, f.grace, "")
        }
        Err(e) => Verdict::unknown(format!("unreadable CRL dates: {e}")),
    }
}

/// Status of `cert` from the newest CRL its `issuer` signed; unknown when there is none.
fn crl_status(cert: &X509, issuer: &X509, store: &TrustStore, f: &RevocationCheck<'_>) -> Verdict {
    match crl_of(issuer, store) {
        Some(crl) => crl_verdict(cert, crl, f),
        None => Verdict::unknown("no CRL from this issuer"),
    }
}

/// Status of the signer `chain[0]` (issued by `chain[1]`) by OCSP, through the cache.
fn ocsp_status(
    chain: &[X509],
    url: Option<&str>,
    timeout: std::time::Duration,
    store: &TrustStore,
    f: &RevocationCheck<'_>,
) -> Verdict {
    let (signer, issuer) = (&chain[0], &chain[1]);
    let key = match super::ocsp::cache_key(signer, issuer) {
        Ok(k) => k,
        Err(e) => return Verdict::unknown(e.to_string()),
    };
    f.cache.resolve(&key, f.now, f.grace, || match url {
        Some(url) => super::ocsp::query(
            signer,
            issuer,
            url,
            &store.anchors,
            &chain[1..chain.len() - 1],
            timeout,
        ),
        None => Err(cache::FetchError::Unavailable(
            "no OCSP responder configured and none in the certificate (AIA)".into(),
        )),
    })
}

/// Validate `signer` (with `extra` certificates from the message) at unix time `at`;
/// revocation answers are judged by `fresh` (its clock, grace and cache).
pub fn validate(
    signer: &X509,
    extra: &[X509],
    store: &TrustStore,
    at: i64,
    revocation: &Revocation,
    allowed_ekus: &[&str],
    fresh: &RevocationCheck<'_>,
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
                    source: None,
                    next_update: None,
                    stale: false,
                },
                reasons,
                warnings,
            };
        }
    };
    let chain: Vec<String> = built.chain.iter().map(|c| subject_text(c)).collect();
    let mut tally = Tally {
        status: match revocation {
            Revocation::Off => "not_checked",
            _ => "good",
        },
        next_update: None,
        stale: false,
    };
    let mut source = match revocation {
        Revocation::Crl => Some("crl"),
        _ => None,
    };
    let n = built.chain.len();
    if !built.ok {
        let r = reason_for(built.code);
        warnings.push(format!(
            "chain: {} (openssl error {})",
            built.text, built.code
        ));
        reasons.push(r);
        tally.status = match (revocation, r) {
            (Revocation::Off, _) => "not_checked",
            (_, "certificate_revoked") => "revoked",
            _ => "unknown",
        };
    } else if let Revocation::Crl = revocation {
        // OpenSSL found every CRL and no revocation; judge their dates at `now`. The anchor
        // (last) is checked against its own CRL, as OpenSSL does.
        for i in 0..n {
            let issuer = &built.chain[(i + 1).min(n - 1)];
            if let Some(crl) = crl_of(issuer, store) {
                let v = crl_verdict(&built.chain[i], crl, fresh);
                let what = format!("CRL of {}", subject_text(issuer));
                tally.add(v, &what, &mut reasons, &mut warnings);
            }
        }
    } else if let Revocation::Ocsp { url, timeout } = revocation {
        // Signer by OCSP; each CA certificate below the anchor by its issuer's CRL.
        let url = url.clone().or_else(|| ocsp_url_in_aia(signer));
        if n >= 2 {
            let v = ocsp_status(&built.chain, url.as_deref(), *timeout, store, fresh);
            source = Some(if v.cached { "cache" } else { "ocsp" });
            let what = format!("OCSP {}", url.as_deref().unwrap_or("-"));
            tally.add(v, &what, &mut reasons, &mut warnings);
            for i in 1..n.saturating_sub(1) {
                let issuer = &built.chain[i + 1];
                let v = crl_status(&built.chain[i], issuer, store, fresh);
                let what = format!("CRL of {}", subject_text(issuer));
                tally.add(v, &what, &mut reasons, &mut warnings);
            }
        }
    }
    if matches!(revocation, Revocation::Off) {
        warnings.push("revocation was not checked (--revocation off)".into());
    }
    ChainReport {
        chain,
        revocation: RevocationReport {
            status: tally.status,
            method,
            source,
            next_update: tally.next_update.map(cache::rfc3339),
            stale: tally.stale,
        },
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
