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
}

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
        }
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
        let mut reasons = report.reasons;
        if let Some(from) = &v.from_organ {
            if !organs.iter().any(|o| o == from) {
                reasons.push("signer_not_bound");
            }
        }
        let mut warnings = v.warnings.clone();
        warnings.extend(report.warnings);
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
