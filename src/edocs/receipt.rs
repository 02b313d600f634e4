//! Receipts: for each accepted package the gateway signs a small XML statement — what it
//! received (SHA-256 and size of the exact bytes), from whom, when, for which recipients — with
//! its own certificate. The sender can fetch it as evidence of hand-over.
//!
//! The statement is fixed when the package is accepted: its unsigned document is written in
//! the same transaction as the package (and the accept record in the audit chain holds the same
//! digest). It is signed when the sender asks for it, so acceptance spends no signature and
//! stores ≈ 0.5 KB instead of ≈ 3 KB; every copy fetched is a valid signature over the same
//! bytes. Receipts stored signed by earlier versions are served as they are.

use crate::dsig::c14n::{escape_attr, escape_text};
use crate::dsig::sign::{Prepared, SignError};
use openssl::pkey::PKey;
use openssl::x509::X509;

/// The gateway's signing identity (key and chain, signer first), made ready once.
pub struct GatewaySigner {
    prepared: Prepared,
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
        Ok(GatewaySigner {
            prepared: Prepared::new(key, &chain).map_err(|e| e.to_string())?,
        })
    }

    /// Sign any document (the gateway's own status packages).
    pub fn sign(&self, doc: &[u8]) -> Result<Vec<u8>, SignError> {
        self.prepared.sign(doc)
    }

    /// The stored receipt `doc`, signed: a [`document`] gets its signature; anything else (a
    /// receipt stored signed, or nothing) is returned as it is.
    pub fn signed(&self, doc: Vec<u8>) -> Result<Vec<u8>, SignError> {
        if is_unsigned(&doc) {
            self.prepared.sign_canonical(&doc, PROLOG.len())
        } else {
            Ok(doc)
        }
    }
}

/// Whether `doc` is an unsigned receipt as [`document`] writes it. A signed one ends with its
/// `Signature` element before `</Receipt>`.
pub fn is_unsigned(doc: &[u8]) -> bool {
    doc.starts_with(PROLOG.as_bytes()) && doc.ends_with(UNSIGNED_END)
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

const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// The unsigned receipt document: [`PROLOG`], then the `Receipt` element already in Exclusive
/// C14N form (so it is signed without a parse), then a newline.
pub fn document(f: &ReceiptFacts<'_>) -> Vec<u8> {
    let mut d = Vec::with_capacity(512 + 96 * f.recipients.len());
    d.extend_from_slice(PROLOG.as_bytes());
    d.extend_from_slice(b"<Receipt xmlns=\"urn:lienthong:receipt:1\">");
    let size = f.size.to_string();
    for (tag, value) in [
        ("Kind", f.kind),
        ("Sender", f.sender),
        ("From", f.from_organ),
        ("DocumentId", f.document_id),
        ("Sha256", f.sha256),
        ("Size", &size),
        ("ReceivedAt", f.received_at),
    ] {
        element(&mut d, tag, value);
    }
    d.extend_from_slice(b"<Recipients>");
    for (organ, state) in f.recipients {
        // Attributes in canonical order (by name): organ, state. Writing to a Vec cannot fail.
        d.extend_from_slice(b"<Recipient organ=\"");
        let _ = escape_attr(organ, &mut d);
        d.extend_from_slice(b"\" state=\"");
        let _ = escape_attr(state, &mut d);
        d.extend_from_slice(b"\"></Recipient>");
    }
    d.extend_from_slice(UNSIGNED_END);
    d
}

const UNSIGNED_END: &[u8] = b"</Recipients></Receipt>\n";

fn element(d: &mut Vec<u8>, tag: &str, value: &str) {
    d.push(b'<');
    d.extend_from_slice(tag.as_bytes());
    d.push(b'>');
    let _ = escape_text(value, d);
    d.extend_from_slice(b"</");
    d.extend_from_slice(tag.as_bytes());
    d.push(b'>');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsig::c14n::{Algorithm, Canonicalizer};
    use crate::xml::{Limits, Reader};

    /// The receipt's root element is byte for byte its own Exclusive C14N form, whatever the
    /// values hold, so signing it without a parse is sound.
    #[test]
    fn receipt_is_written_in_canonical_form() {
        let odd = "a&b<c>d\"e'f\tg\nh\ri ấ";
        let recipients = vec![(odd.to_owned(), "pull"), ("000.00.01.H53".to_owned(), "push")];
        let facts = ReceiptFacts {
            kind: "document",
            sender: odd,
            from_organ: "000.00.00.G22",
            document_id: odd,
            sha256: "ab",
            size: 10993,
            received_at: "2026-11-23T08:00:00.000Z",
            recipients: &recipients,
        };
        let doc = document(&facts);
        let mut c = Canonicalizer::new(Vec::new(), Algorithm::ExcC14n);
        let mut r = Reader::new(&doc[..], Limits::default());
        while let Some(n) = r.next().unwrap() {
            c.node(&n).unwrap();
        }
        let root = &doc[PROLOG.len()..doc.len() - 1];
        assert_eq!(String::from_utf8_lossy(&c.into_inner()), String::from_utf8_lossy(root));
    }

    /// A stored receipt is signed when fetched, and verifies; one stored signed (by an earlier
    /// version) is served unchanged, and so is anything that is not a receipt document.
    #[test]
    fn stored_receipt_is_signed_when_fetched() {
        use openssl::ec::{EcGroup, EcKey};
        use openssl::nid::Nid;
        let key = PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()).unwrap();
        let cert = crate::pki::dev::self_signed_signer(&key).unwrap();
        let signer = GatewaySigner { prepared: Prepared::new(key, &[cert]).unwrap() };
        let recipients = vec![("000.00.01.H53".to_owned(), "queued")];
        let facts = ReceiptFacts {
            kind: "document",
            sender: "agency-a",
            from_organ: "000.00.00.G22",
            document_id: "d-1",
            sha256: "ab",
            size: 10,
            received_at: "2026-11-23T08:00:00.000Z",
            recipients: &recipients,
        };
        let stored = document(&facts);
        assert!(is_unsigned(&stored));
        let served = signer.signed(stored.clone()).unwrap();
        assert!(!is_unsigned(&served));
        crate::dsig::verify::verify(&served[..], &crate::dsig::verify::Policy::default()).unwrap();
        assert_eq!(signer.signed(served.clone()).unwrap(), served);
        assert_eq!(signer.signed(Vec::new()).unwrap(), Vec::<u8>::new());
        // The signature sits inside the receipt, over exactly the stored statement.
        let text = String::from_utf8(served).unwrap();
        let cut = text.find("<Signature").unwrap();
        let end = text.find("</Signature>").unwrap() + "</Signature>".len();
        assert_eq!(format!("{}{}", &text[..cut], &text[end..]).into_bytes(), stored);
    }
}
