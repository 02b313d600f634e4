//! The trust decision for a verified signature, in one place for the gateway and for
//! `lienthong verify`: chain and revocation ([`super::validate`]), then the binding of the
//! signer to organ identifiers (default rule: organ ids in the subject OU; plus configured
//! bindings by fingerprint or subject), then whether the signer speaks for the `From` organ.

use super::cache::RevocationCache;
use super::validate::{
    self, ChainReport, Revocation, RevocationCheck, TrustStore, DEFAULT_SIGNING_EKUS,
};
use crate::config::{Config, TrustCfg};
use crate::dsig::verify::{Policy, Verified};
use crate::members::{CertBinding, ClientCert, Fingerprint};
use foreign_types_shared::ForeignType;
use openssl::x509::X509;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// Anchors, revocation method, signature policy and signer bindings.
pub struct Trust {
    pub store: TrustStore,
    pub revocation: Revocation,
    /// How long past its `nextUpdate` an OCSP answer or CRL may still be used when no fresher
    /// one can be had (`trust.grace_secs`); zero is strictly fail closed.
    pub grace: Duration,
    pub policy: Policy,
    pub ou_binding: bool,
    bindings: Vec<(CertBinding, Vec<String>)>,
    cache: Arc<RevocationCache>,
    /// Verdicts already reached, see [`Verdicts`].
    verdicts: Verdicts,
}

/// Verdicts on signer certificates already judged, so that a gateway seeing the same signers
/// all day does not rebuild the same report for each package (chain, key usage, revocation
/// against the CRLs, subject and organ binding: about 70 µs). Only with CRLs or no revocation
/// checking (an OCSP answer has its own cache and life). An entry holds the certificates it
/// was reached for — keyed by their addresses, which stay theirs while it holds them — and is
/// used only inside a window in which nothing it rests on can change: no certificate of the
/// store or the message expires, no CRL passes its `nextUpdate`, and at most
/// [`VERDICT_SECS`] after it was reached. Bounded: cleared when full.
#[derive(Default)]
struct Verdicts {
    map: std::sync::Mutex<std::collections::HashMap<Vec<usize>, Verdict>>,
}

struct Verdict {
    _held: Vec<X509>,
    from: i64,
    until: i64,
    base: Assessment,
}

const VERDICT_SECS: i64 = 300;
const VERDICT_MAX: usize = 4096;

/// Who signed, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct Signer {
    pub subject: String,
    pub serial: String,
    pub issuer: String,
    pub fingerprint: String,
    /// Organ identifiers this certificate is bound to.
    pub organs: Vec<String>,
}

/// The verdict on a verified signature.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub valid: bool,
    pub signer: Signer,
    pub chain: Vec<String>,
    pub revocation: validate::RevocationReport,
    /// Stable codes; empty when valid.
    pub reasons: Vec<&'static str>,
    pub warnings: Vec<String>,
}

impl Trust {
    /// An empty trust (no anchors: nothing validates) with the default policy.
    pub fn new(store: TrustStore, revocation: Revocation) -> Self {
        Trust {
            store,
            revocation,
            grace: Duration::from_secs(TrustCfg::default().grace_secs),
            policy: Policy::default(),
            ou_binding: true,
            bindings: Vec::new(),
            cache: Arc::new(RevocationCache::default()),
            verdicts: Verdicts::default(),
        }
    }

    /// Whether judging a message may wait on the network (an OCSP responder): such a check
    /// must run on a blocking thread, never on an async worker.
    pub fn may_block(&self) -> bool {
        matches!(self.revocation, Revocation::Ocsp { .. })
    }

    /// The cache of OCSP answers, shared by every assessment with this trust.
    pub fn cache(&self) -> &Arc<RevocationCache> {
        &self.cache
    }

    /// From the `[trust]` section (paths as configured, defaults from the dev PKI).
    pub fn from_config(c: &Config) -> Result<Self, String> {
        let mut store = TrustStore::default();
        for p in c.trust_anchors() {
            store.add_anchors(&p)?;
        }
        for p in c.trust_intermediates() {
            if p.exists() || c.trust.intermediates.is_some() {
                store.add_intermediates(&p)?;
            }
        }
        for p in c.trust_crls() {
            if p.exists() || c.trust.crls.is_some() {
                store.add_crls(&p)?;
            }
        }
        if store.anchors.is_empty() {
            return Err("trust.anchors: no trust anchor certificate found".into());
        }
        let mut t = Trust::new(store, revocation_of(&c.trust));
        t.apply_policy(&c.trust)?;
        Ok(t)
    }

    /// Signature policy, grace and bindings from `[trust]` (anchors untouched).
    pub fn apply_policy(&mut self, t: &TrustCfg) -> Result<(), String> {
        self.grace = Duration::from_secs(t.grace_secs);
        self.policy.allow_sha1 = t.allow_sha1;
        self.ou_binding = t.ou_binding;
        self.bindings.clear();
        for b in &t.bindings {
            let binding = match (&b.fingerprint, &b.subject) {
                (Some(fp), None) => CertBinding::Fingerprint(Fingerprint::parse(fp)?),
                (None, Some(s)) => CertBinding::subject(s)?,
                _ => {
                    return Err("trust.bindings: give exactly one of fingerprint or subject".into())
                }
            };
            self.bindings.push((binding, b.organs.clone()));
        }
        Ok(())
    }

    /// Organ identifiers `cert` may sign for.
    pub fn organs_of(&self, cert: &X509) -> Vec<String> {
        let mut organs = if self.ou_binding {
            validate::organs_in_subject(cert)
        } else {
            Vec::new()
        };
        if self.bindings.is_empty() {
            return organs;
        }
        let Ok(der) = cert.to_der() else {
            return organs;
        };
        let fp = Fingerprint::of_der(&der);
        let subject = ClientCert::from_der(&der).map(|c| c.subject).ok();
        for (b, bound) in &self.bindings {
            let hit = match b {
                CertBinding::Fingerprint(f) => *f == fp,
                CertBinding::Subject(s) => subject.as_ref() == Some(s),
            };
            if hit {
                for o in bound {
                    if !organs.contains(o) {
                        organs.push(o.clone());
                    }
                }
            }
        }
        organs
    }

    /// Judge a verified signature at unix time `at`, revocation status as of the real clock.
    pub fn assess(&self, v: &Verified, at: i64) -> Assessment {
        self.assess_as_of(v, at, chrono::Utc::now().timestamp())
    }

    /// Judge a verified signature at unix time `at`, revocation status as of unix time `now`.
    pub fn assess_as_of(&self, v: &Verified, at: i64, now: i64) -> Assessment {
        let base = match self.remembered(v, at, now) {
            Some(b) => b,
            None => {
                let b = self.judge(v, at, now);
                self.remember(v, at, now, &b);
                b
            }
        };
        self.finish(base, v)
    }

    /// A verdict reached earlier for these certificates, if still good at `at` and `now`.
    fn remembered(&self, v: &Verified, at: i64, now: i64) -> Option<Assessment> {
        if matches!(self.revocation, Revocation::Ocsp { .. }) {
            return None;
        }
        let key: Vec<usize> = v.certificates.iter().map(|c| c.as_ptr() as usize).collect();
        let map = self.verdicts.map.lock().ok()?;
        let hit = map.get(&key)?;
        let inside = |t: i64| hit.from <= t && t < hit.until;
        (inside(at) && inside(now)).then(|| hit.base.clone())
    }

    /// Keep a valid verdict for the window in which it cannot change.
    fn remember(&self, v: &Verified, at: i64, now: i64, base: &Assessment) {
        if matches!(self.revocation, Revocation::Ocsp { .. }) || !base.reasons.is_empty() {
            return;
        }
        let not_after = |c: &X509| super::cache::unix_of(c.not_after()).unwrap_or(i64::MIN);
        let mut until = at.min(now).saturating_add(VERDICT_SECS);
        let certs = (self.store.anchors.iter())
            .chain(&self.store.intermediates)
            .chain(&v.certificates);
        for c in certs {
            until = until.min(not_after(c));
        }
        for crl in &self.store.crls {
            until = until.min(match crl.next_update().map(super::cache::unix_of) {
                Some(Ok(t)) => t,
                Some(Err(_)) => i64::MIN,
                None => i64::MAX,
            });
        }
        let from = at.max(now);
        if from >= until {
            return;
        }
        let key: Vec<usize> = v.certificates.iter().map(|c| c.as_ptr() as usize).collect();
        if let Ok(mut map) = self.verdicts.map.lock() {
            if map.len() >= VERDICT_MAX {
                map.clear();
            }
            map.insert(
                key,
                Verdict {
                    _held: v.certificates.clone(),
                    from,
                    until,
                    base: base.clone(),
                },
            );
        }
    }

    /// What the message adds to a verdict on its certificates: its own warnings, and whether
    /// the signer is bound to the `From` organ.
    fn finish(&self, mut a: Assessment, v: &Verified) -> Assessment {
        if let Some(from) = &v.from_organ {
            if !a.signer.organs.iter().any(|o| o == from) {
                a.reasons.push("signer_not_bound");
            }
        }
        if !v.warnings.is_empty() {
            let mut warnings = v.warnings.clone();
            warnings.append(&mut a.warnings);
            a.warnings = warnings;
        }
        a.valid = a.reasons.is_empty();
        a
    }

    /// The verdict on `v`'s certificates alone (chain, usage, revocation, organs).
    fn judge(&self, v: &Verified, at: i64, now: i64) -> Assessment {
        let signer = &v.certificates[0];
        let report: ChainReport = validate::validate(
            signer,
            &v.certificates[1..],
            &self.store,
            at,
            &self.revocation,
            &DEFAULT_SIGNING_EKUS,
            &RevocationCheck {
                cache: &self.cache,
                now,
                grace: i64::try_from(self.grace.as_secs()).unwrap_or(i64::MAX),
            },
        );
        let organs = self.organs_of(signer);
        let reasons = report.reasons;
        let warnings = report.warnings;
        let serial = signer
            .serial_number()
            .to_bn()
            .and_then(|b| b.to_hex_str().map(|s| s.to_string()))
            .unwrap_or_default();
        let fingerprint = signer
            .to_der()
            .map(|d| Fingerprint::of_der(&d).to_string())
            .unwrap_or_default();
        Assessment {
            valid: reasons.is_empty(),
            signer: Signer {
                subject: validate::subject_text(signer),
                serial,
                issuer: validate::issuer_text(signer),
                fingerprint,
                organs,
            },
            chain: report.chain,
            revocation: report.revocation,
            reasons,
            warnings,
        }
    }
}

/// The revocation method `[trust]` asks for.
pub fn revocation_of(t: &TrustCfg) -> Revocation {
    match t.revocation.as_str() {
        "off" => Revocation::Off,
        "ocsp" => Revocation::Ocsp {
            url: t.ocsp_url.clone(),
            timeout: Duration::from_millis(t.ocsp_timeout_ms),
        },
        _ => Revocation::Crl,
    }
}
