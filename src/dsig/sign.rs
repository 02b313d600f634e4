//! Signing in the profile lienthong sends: enveloped, `URI=""`, exclusive C14N, SHA-256 digest,
//! RSA-SHA256 or ECDSA-SHA256, `Signature` in the XML-DSig namespace as the last child of
//! `edXMLHeader` (or of the root element for other documents). The gateway signs its own receipts
//! and status packages with it, and tests make signed input with it.

use super::c14n::{Algorithm as C14n, Canonicalizer};
use super::verify::{SigAlg, DSIG_NS};
use crate::xml::{Limits, Reader};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use openssl::hash::{Hasher, MessageDigest};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("canonicalization: {0}")]
    C14n(#[from] super::c14n::C14nError),
    #[error("XML: {0}")]
    Xml(#[from] crate::xml::XmlError),
    #[error("the document already has a Signature")]
    AlreadySigned,
    #[error("no place for the Signature (no edXMLHeader end tag and no root end tag)")]
    NoPlace,
    #[error("unsupported key type (RSA or EC P-256/P-384)")]
    KeyType,
    #[error("crypto: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// Byte offset of the end tag that the Signature goes in front of.
fn insertion_point(doc: &[u8]) -> Result<usize, SignError> {
    let mut r = Reader::new(doc, Limits::default());
    let mut header_end = None;
    let mut last_end = None;
    let mut before = 0u64;
    while let Some(n) = r.next()? {
        if let crate::xml::Node::Start { name, .. } = &n {
            if name.rsplit(':').next() == Some("Signature") {
                return Err(SignError::AlreadySigned);
            }
        }
        if let crate::xml::Node::End { name } = &n {
            // `before` is where this end tag starts (the reader's position before reading it).
            if name.rsplit(':').next() == Some("edXMLHeader") && header_end.is_none() {
                header_end = Some(before as usize);
            }
            if r.depth() == 0 {
                last_end = Some(before as usize);
            }
        }
        before = r.position();
    }
    header_end.or(last_end).ok_or(SignError::NoPlace)
}

fn element_start_of_end_tag(doc: &[u8], hint: usize) -> usize {
    // The reader's position before an End node may sit before text already consumed; find the `</`.
    doc[hint..]
        .windows(2)
        .position(|w| w == b"</")
        .map(|p| hint + p)
        .unwrap_or(hint)
}

/// Sign `doc` with `key`; `chain` (signer first) goes into KeyInfo.
pub fn sign(doc: &[u8], key: &PKey<Private>, chain: &[X509]) -> Result<Vec<u8>, SignError> {
    Prepared::new(key.clone(), chain)?.sign(doc)
}

/// A signing identity made ready once: the key, its algorithm and the `KeyInfo` element (the
/// chain, base64) rendered once, for a signer that signs many documents (the gateway's
/// receipts).
pub struct Prepared {
    key: PKey<Private>,
    alg: SigAlg,
    key_info: String,
}

impl Prepared {
    pub fn new(key: PKey<Private>, chain: &[X509]) -> Result<Self, SignError> {
        let alg = match key.id() {
            openssl::pkey::Id::RSA => SigAlg::RsaSha256,
            openssl::pkey::Id::EC => SigAlg::EcdsaSha256,
            _ => return Err(SignError::KeyType),
        };
        let mut key_info = String::from("<KeyInfo><X509Data>");
        for c in chain {
            key_info.push_str("<X509Certificate>");
            key_info.push_str(&B64.encode(c.to_der()?));
            key_info.push_str("</X509Certificate>");
        }
        key_info.push_str("</X509Data></KeyInfo>");
        Ok(Prepared { key, alg, key_info })
    }

    /// Sign any document: its canonical form is computed by parsing it.
    pub fn sign(&self, doc: &[u8]) -> Result<Vec<u8>, SignError> {
        let at = element_start_of_end_tag(doc, insertion_point(doc)?);
        // Reference digest: the document as it is equals the signed document minus the Signature.
        let mut reader = Reader::new(doc, Limits::default());
        let mut c = Canonicalizer::new(Hasher::new(MessageDigest::sha256())?, C14n::ExcC14n);
        while let Some(n) = reader.next()? {
            c.node(&n)?;
        }
        let digest = c.into_inner().finish()?;
        self.enveloped(doc, at, &digest)
    }

    /// Sign a document the caller wrote in canonical form: `doc` is `prolog` (an XML
    /// declaration, whitespace: outside the signed content) followed by the root element exactly
    /// as Exclusive C14N renders it (start and end tags for empty elements, attributes in
    /// canonical order, text and attribute values escaped with [`super::c14n::escape_text`] and
    /// [`super::c14n::escape_attr`], namespace declarations only where first used), then
    /// optional whitespace. The digest is then the SHA-256 of the root element's bytes, with no
    /// parse. The Signature goes in front of the root's end tag.
    pub fn sign_canonical(&self, doc: &[u8], root_start: usize) -> Result<Vec<u8>, SignError> {
        let body = doc.get(root_start..).ok_or(SignError::NoPlace)?;
        let root_len = body.len() - body.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
        let at = doc[..root_start + root_len]
            .windows(2)
            .rposition(|w| w == b"</")
            .ok_or(SignError::NoPlace)?;
        let digest = openssl::hash::hash(MessageDigest::sha256(), &doc[root_start..root_start + root_len])?;
        self.enveloped(doc, at, &digest)
    }

    /// Insert the Signature over `digest` (of the document's canonical form) at byte `at`.
    fn enveloped(&self, doc: &[u8], at: usize, digest: &[u8]) -> Result<Vec<u8>, SignError> {
        let signed_info = signed_info(self.alg, digest);
        // SignedInfo as the verifier will see it: under a Signature declaring the XML-DSig
        // namespace, its canonical form declares that namespace on itself (see the test).
        let canonical = canonical_signed_info(&signed_info);
        let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), &self.key)?;
        signer.update(canonical.as_bytes())?;
        let mut value = signer.sign_to_vec()?;
        if self.alg == SigAlg::EcdsaSha256 {
            let ec = self.key.ec_key()?;
            let width = ec.group().degree().div_ceil(8) as i32;
            let sig = openssl::ecdsa::EcdsaSig::from_der(&value)?;
            let mut raw = sig.r().to_vec_padded(width)?;
            raw.extend(sig.s().to_vec_padded(width)?);
            value = raw;
        }
        let signature = format!(
            "<Signature xmlns=\"{DSIG_NS}\">{signed_info}<SignatureValue>{}</SignatureValue>{}</Signature>",
            B64.encode(&value),
            self.key_info
        );
        let mut out = Vec::with_capacity(doc.len() + signature.len());
        out.extend_from_slice(&doc[..at]);
        out.extend_from_slice(signature.as_bytes());
        out.extend_from_slice(&doc[at..]);
        Ok(out)
    }
}

/// The SignedInfo lienthong writes (enveloped, `URI=""`, exclusive C14N, SHA-256), as it
/// appears inside the Signature element.
fn signed_info(alg: SigAlg, digest: &[u8]) -> String {
    let exc = C14n::ExcC14n.uri();
    format!(
        "<SignedInfo><CanonicalizationMethod Algorithm=\"{exc}\"></CanonicalizationMethod><SignatureMethod Algorithm=\"{}\"></SignatureMethod><Reference URI=\"\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></Transform><Transform Algorithm=\"{exc}\"></Transform></Transforms><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"></DigestMethod><DigestValue>{}</DigestValue></Reference></SignedInfo>",
        alg.uri(),
        B64.encode(digest)
    )
}

/// [`signed_info`]'s Exclusive C14N form as a subset of the Signature: it is already canonical
/// (no empty-element tags, one attribute each, nothing to escape) except that the inherited
/// default namespace is rendered on the apex.
fn canonical_signed_info(signed_info: &str) -> String {
    let rest = signed_info.strip_prefix("<SignedInfo>").unwrap_or(signed_info);
    format!("<SignedInfo xmlns=\"{DSIG_NS}\">{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsig::verify::{verify, Policy};

    /// The canonical SignedInfo written directly is what the canonicalizer makes of it, for
    /// both algorithms.
    #[test]
    fn signed_info_is_written_in_canonical_form() {
        use crate::xml::Attr;
        for alg in [SigAlg::RsaSha256, SigAlg::EcdsaSha256] {
            let si = signed_info(alg, &[7u8; 32]);
            let mut c = Canonicalizer::new(Vec::new(), C14n::ExcC14n);
            c.push_context(&[Attr {
                name: "xmlns".into(),
                value: DSIG_NS.into(),
            }]);
            let mut r = Reader::new(si.as_bytes(), Limits::default());
            while let Some(n) = r.next().unwrap() {
                c.node(&n).unwrap();
            }
            assert_eq!(String::from_utf8(c.into_inner()).unwrap(), canonical_signed_info(&si));
        }
    }

    /// A document written in canonical form, signed without a parse, verifies; and it gets the
    /// same digest and placement as the general path.
    #[test]
    fn canonical_fast_path_matches_the_general_path() {
        let prolog = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
        let doc = format!("{prolog}<R xmlns=\"urn:x\"><A b=\"&amp;&lt;&quot;&#x9;&#xA;&#xD;>\">t &amp; &lt; &gt; &#xD; \"'</A><E></E></R>\n");
        let key = PKey::from_ec_key(
            openssl::ec::EcKey::generate(
                &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        let cert = crate::pki::dev::self_signed_signer(&key).unwrap();
        let p = Prepared::new(key, &[cert]).unwrap();
        let fast = p.sign_canonical(doc.as_bytes(), prolog.len()).unwrap();
        let general = p.sign(doc.as_bytes()).unwrap();
        verify(&fast[..], &Policy::default()).unwrap();
        let digest = |d: &[u8]| {
            let t = String::from_utf8(d.to_vec()).unwrap();
            let a = t.find("<DigestValue>").unwrap();
            let b = t.find("</DigestValue>").unwrap();
            (t[a..b].to_owned(), t.find("<Signature").unwrap())
        };
        assert_eq!(digest(&fast), digest(&general));
        // A document that is not in canonical form gets a digest that does not verify.
        let loose = format!("{prolog}<R xmlns=\"urn:x\"><E/></R>");
        let bad = p.sign_canonical(loose.as_bytes(), prolog.len()).unwrap();
        assert!(verify(&bad[..], &Policy::default()).is_err());
    }

    #[test]
    fn signs_and_verifies_rsa_and_ec() {
        let doc = "<edXML:edXMLEnvelope xmlns:edXML=\"urn:qcvn102\"><edXML:edXMLHeader><edXML:MessageHeader>x</edXML:MessageHeader>\n</edXML:edXMLHeader><edXML:edXMLBody>y</edXML:edXMLBody></edXML:edXMLEnvelope>";
        for key in [
            PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap(),
            PKey::from_ec_key(
                openssl::ec::EcKey::generate(
                    &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                        .unwrap(),
                )
                .unwrap(),
            )
            .unwrap(),
        ] {
            let cert = crate::pki::dev::self_signed_signer(&key).unwrap();
            let signed = sign(doc.as_bytes(), &key, &[cert]).unwrap();
            let text = String::from_utf8(signed.clone()).unwrap();
            assert!(
                text.contains("\n<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">"),
                "{text}"
            );
            assert!(
                text.find("</Signature>").unwrap() < text.find("</edXML:edXMLHeader>").unwrap()
            );
            verify(&signed[..], &Policy::default()).unwrap();
            assert!(matches!(
                sign(&signed, &key, &[]),
                Err(SignError::AlreadySigned)
            ));
        }
    }
}
