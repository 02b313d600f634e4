//! Receipts: for each accepted package the gateway signs a small XML statement — what it
//! received (SHA-256 and size of the exact bytes), from whom, when, for which recipients — with
//! its own certificate. The sender can fetch it as evidence of hand-over.

use crate::dsig::sign::{sign, SignError};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

/// The gateway's signing identity (key and chain, signer first).
pub struct GatewaySigner {
    pub key: PKey<Private>,
    pub chain: Vec<X509>,
}

impl GatewaySigner {
    pub fn load(cert: &std::path::Path, key: &std::path::Path) -> Result<Self, String> {
        let pem = std::fs::read(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
        let chain = X509::stack_from_pem(&pem).map_err(|e| format!("{}: {e}", cert.display()))?;
        if chain.is_empty() {
            return Err(format!("{}: no certificate", cert.display()));
        }
        let kpem = std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?;
        let key = PKey::private_key_from_pem(&kpem).map_err(|e| format!("{}: {e}", key.display()))?;
        Ok(GatewaySigner { key, chain })
    }

    pub fn sign(&self, doc: &[u8]) -> Result<Vec<u8>, SignError> {
        sign(doc, &self.key, &self.chain)
    }
}

/// Facts a receipt states.
pub struct ReceiptFacts<'a> {
    pub kind: &'a str,
    pub sender: &'a str,
    pub from_organ: &'a str,
    pub document_id: &'a str,
    pub sha256: &'a str,
    pub size: u64,
    pub received_at: &'a str,
    pub recipients: &'a [(String, &'static str)],
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The unsigned receipt document.
pub fn document(f: &ReceiptFacts<'_>) -> Vec<u8> {
    let mut r = String::new();
    for (organ, state) in f.recipients {
        r.push_str(&format!(
            "<Recipient organ=\"{}\" state=\"{state}\"/>",
            esc(organ)
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Receipt xmlns=\"urn:lienthong:receipt:1\"><Kind>{}</Kind><Sender>{}</Sender><From>{}</From><DocumentId>{}</DocumentId><Sha256>{}</Sha256><Size>{}</Size><ReceivedAt>{}</ReceivedAt><Recipients>{r}</Recipients></Receipt>\n",
        esc(f.kind),
        esc(f.sender),
        esc(f.from_organ),
        esc(f.document_id),
        f.sha256,
        f.size,
        esc(f.received_at),
    )
    .into_bytes()
}
