//! `lienthong verify FILE`: the trust core from the command line, one JSON object out.

use crate::cli::VerifyArgs;
use crate::config::{self, Sources};
use crate::dsig::verify::verify;
use crate::pki::trust::{revocation_of, Trust};
use crate::pki::validate::{Revocation, TrustStore};
use serde_json::json;
use std::process::ExitCode;

fn usage(msg: String) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

pub fn run(args: &VerifyArgs) -> ExitCode {
    let at = match &args.at {
        Some(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.timestamp(),
            Err(e) => return usage(format!("--at {s:?}: {e}")),
        },
        None => chrono::Utc::now().timestamp(),
    };
    let mut trust = match load_trust(args) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    if args.no_sha1 {
        trust.policy.allow_sha1 = false;
    }
    if let Some(secs) = args.grace {
        trust.grace = std::time::Duration::from_secs(secs);
    }
    match (args.revocation.as_deref(), &args.ocsp) {
        (Some("off"), _) => trust.revocation = Revocation::Off,
        (_, Some(url)) => {
            trust.revocation = Revocation::Ocsp {
                url: Some(url.clone()),
                timeout: std::time::Duration::from_secs(10),
            }
        }
        (Some(_), None) => trust.revocation = Revocation::Crl,
        (None, None) => {}
    }
    let file = match std::fs::File::open(&args.file) {
        Ok(f) => std::io::BufReader::with_capacity(64 * 1024, f),
        Err(e) => return usage(format!("{}: {e}", args.file.display())),
    };

    let out = match verify(file, &trust.policy) {
        Err(e) => {
            if let crate::dsig::verify::DsigError::Xml(crate::xml::XmlError::Io(m)) = &e {
                return usage(format!("{}: {m}", args.file.display()));
            }
            json!({
                "valid": false,
                "signer": null,
                "algorithms": null,
                "chain": [],
                "revocation": null,
                "reasons": [e.code()],
                "detail": e.to_string(),
            })
        }
        Ok(v) => {
            let a = trust.assess(&v, at);
            json!({
                "valid": a.valid,
                "signer": a.signer,
                "algorithms": {
                    "canonicalization": v.canonicalization.uri(),
                    "signature": v.signature.uri(),
                    "digest": v.digest,
                },
                "chain": a.chain,
                "revocation": a.revocation,
                "reasons": a.reasons,
                "from_organ": v.from_organ,
                "warnings": a.warnings,
            })
        }
    };
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    if out["valid"] == true {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Trust from `--config` (its `[trust]` section), with `--trust` / `--intermediates` replacing
/// or adding to its stores.
fn load_trust(args: &VerifyArgs) -> Result<Trust, String> {
    let mut trust = match &args.config {
        Some(path) => {
            let loaded = config::load(&Sources {
                file: Some(path.clone()),
                file_explicit: true,
                sets: Vec::new(),
            })
            .map_err(|e| e.to_string())?;
            let c = loaded.config;
            match &args.trust {
                Some(_) => {
                    let mut t = Trust::new(TrustStore::default(), revocation_of(&c.trust));
                    t.apply_policy(&c.trust)?;
                    t
                }
                None => Trust::from_config(&c)?,
            }
        }
        None => Trust::new(TrustStore::default(), Revocation::Crl),
    };
    if let Some(dir) = &args.trust {
        trust.store = TrustStore::default();
        trust.store.load_trust_dir(dir)?;
    }
    if let Some(d) = &args.intermediates {
        trust.store.add_intermediates(d)?;
    }
    Ok(trust)
}
