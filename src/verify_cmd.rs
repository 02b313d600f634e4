//! `lienthong verify FILE`: the trust core from the command line, one JSON object out.

use crate::cli::VerifyArgs;
use crate::dsig::verify::{verify, Policy};
use crate::pki::validate::{self, Revocation, TrustStore, DEFAULT_SIGNING_EKUS};
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
    let mut store = TrustStore::default();
    if let Err(e) = store.load_trust_dir(&args.trust) {
        return usage(e);
    }
    if let Some(d) = &args.intermediates {
        if let Err(e) = store.load_intermediates_dir(d) {
            return usage(e);
        }
    }
    let file = match std::fs::File::open(&args.file) {
        Ok(f) => std::io::BufReader::with_capacity(64 * 1024, f),
        Err(e) => return usage(format!("{}: {e}", args.file.display())),
    };
    let policy = Policy {
        allow_sha1: !args.no_sha1,
        ..Policy::default()
    };
    let revocation = match (args.revocation.as_str(), &args.ocsp) {
        ("off", _) => Revocation::Off,
        (_, Some(url)) => Revocation::Ocsp {
            url: url.clone(),
            timeout: std::time::Duration::from_secs(10),
        },
        _ => Revocation::Crl,
    };

    let out = match verify(file, &policy) {
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
            let signer = &v.certificates[0];
            let report = validate::validate(
                signer,
                &v.certificates[1..],
                &store,
                at,
                &revocation,
                &DEFAULT_SIGNING_EKUS,
            );
            let mut warnings = v.warnings.clone();
            let organs = validate::organs_in_subject(signer);
            let mut reasons = report.reasons.clone();
            // The signer must be entitled to speak for the sending organ (default rule: the
            // organ id written in its subject OU).
            if let Some(from) = &v.from_organ {
                if !organs.iter().any(|o| o == from) {
                    reasons.push("signer_not_bound");
                }
            }
            warnings.extend(report.warnings.iter().cloned());
            let serial = signer
                .serial_number()
                .to_bn()
                .and_then(|b| b.to_hex_str().map(|s| s.to_string()))
                .unwrap_or_default();
            json!({
                "valid": reasons.is_empty(),
                "signer": {
                    "subject": validate::subject_text(signer),
                    "serial": serial,
                    "issuer": validate::issuer_text(signer),
                    "organs": organs,
                },
                "algorithms": {
                    "canonicalization": v.canonicalization.uri(),
                    "signature": v.signature.uri(),
                    "digest": v.digest,
                },
                "chain": report.chain,
                "revocation": report.revocation,
                "reasons": reasons,
                "from_organ": v.from_organ,
                "warnings": warnings,
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
