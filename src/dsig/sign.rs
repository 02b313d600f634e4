//! Signing in the profile lienthong sends: enveloped, `URI=""`, exclusive C14N, SHA-256 digest,
//! RSA-SHA256 or ECDSA-SHA256, `Signature` in the XML-DSig namespace as the last child of
//! `edXMLHeader` (or of the root element for other documents). The gateway signs its own receipts
//! and status packages with it, and tests make signed input with it.

use super::c14n::{Algorithm as C14n, Canonicalizer};
use super::verify::{SigAlg, DSIG_NS};
use crate::xml::{Attr, Limits, Reader};
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
    let alg = match key.id() {
        openssl::pkey::Id::RSA => SigAlg::RsaSha256,
        openssl::pkey::Id::EC => SigAlg::EcdsaSha256,
        _ => return Err(SignError::KeyType),
    };
    let at = element_start_of_end_tag(doc, insertion_point(doc)?);

    // Reference digest: the document as it is equals the signed document minus the Signature.
    let mut reader = Reader::new(doc, Limits::default());
    let mut c = Canonicalizer::new(Hasher::new(MessageDigest::sha256())?, C14n::ExcC14n);
    while let Some(n) = reader.next()? {
        c.node(&n)?;
    }
    let digest = c.into_inner().finish()?;

    let exc = C14n::ExcC14n.uri();
    let signed_info = format!(
        "<SignedInfo><CanonicalizationMethod Algorithm=\"{exc}\"></CanonicalizationMethod><SignatureMethod Algorithm=\"{}\"></SignatureMethod><Reference URI=\"\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></Transform><Transform Algorithm=\"{exc}\"></Transform></Transforms><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"></DigestMethod><DigestValue>{}</DigestValue></Reference></SignedInfo>",
        alg.uri(),
        B64.encode(&digest)
    );
    // SignedInfo as the verifier will see it: under a Signature declaring the XML-DSig namespace.
    let mut si = Canonicalizer::new(Vec::new(), C14n::ExcC14n);
    si.push_context(&[Attr {
        name: "xmlns".into(),
        value: DSIG_NS.into(),
    }]);
    let mut r = Reader::new(signed_info.as_bytes(), Limits::default());
    while let Some(n) = r.next()? {
        si.node(&n)?;
    }
    let canonical = si.into_inner();
    let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), key)?;
    signer.update(&canonical)?;
    let mut value = signer.sign_to_vec()?;
    if alg == SigAlg::EcdsaSha256 {
        let ec = key.ec_key()?;
        let width = ec.group().degree().div_ceil(8) as i32;
        let sig = openssl::ecdsa::EcdsaSig::from_der(&value)?;
        let mut raw = sig.r().to_vec_padded(width)?;
        raw.extend(sig.s().to_vec_padded(width)?);
        value = raw;
    }
    let mut certs = String::new();
    for c in chain {
        certs.push_str("<X509Certificate>");
        certs.push_str(&B64.encode(c.to_der()?));
        certs.push_str("</X509Certificate>");
    }
    let signature = format!(
        "<Signature xmlns=\"{DSIG_NS}\">{signed_info}<SignatureValue>{}</SignatureValue><KeyInfo><X509Data>{certs}</X509Data></KeyInfo></Signature>",
        B64.encode(&value)
    );
    let mut out = Vec::with_capacity(doc.len() + signature.len());
    out.extend_from_slice(&doc[..at]);
    out.extend_from_slice(signature.as_bytes());
    out.extend_from_slice(&doc[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsig::verify::{verify, Policy};

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
