//! Enveloped-signature verification in one streaming pass, for the restricted profile QCVN 102
//! uses: exactly one `Signature`, one `Reference URI=""`, the enveloped transform optionally
//! followed by a C14N transform, no DTD, bounded sizes.
//!
//! The reference digest is computed while the document streams by. Until the `Signature` has
//! been read, its algorithms are unknown, so the prefix before it is canonicalized both ways
//! (inclusive, exclusive) into every allowed digest at once; from the `Signature` on, only the
//! chosen pair runs. In edXML the `Signature` closes the header, so this prefix is small.

use super::c14n::{Algorithm as C14n, Canonicalizer};
use crate::xml::{Attr, Limits, Node, Reader, XmlError};
use base64::Engine;
use openssl::hash::{Hasher, MessageDigest};
use openssl::pkey::{PKey, Public};
use openssl::x509::X509;
use std::io::{BufRead, Write};

pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const MAX_SIGNATURE_NODES: usize = 4096;

/// Digest algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Digest {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    const ALL: [Digest; 4] = [Digest::Sha1, Digest::Sha256, Digest::Sha384, Digest::Sha512];

    fn from_uri(u: &str) -> Option<Self> {
        Some(match u {
            "http://www.w3.org/2000/09/xmldsig#sha1" => Digest::Sha1,
            "http://www.w3.org/2001/04/xmlenc#sha256" => Digest::Sha256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => Digest::Sha384,
            "http://www.w3.org/2001/04/xmlenc#sha512" => Digest::Sha512,
            _ => return None,
        })
    }

    fn md(self) -> MessageDigest {
        match self {
            Digest::Sha1 => MessageDigest::sha1(),
            Digest::Sha256 => MessageDigest::sha256(),
            Digest::Sha384 => MessageDigest::sha384(),
            Digest::Sha512 => MessageDigest::sha512(),
        }
    }
}

/// Signature algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SigAlg {
    RsaSha1,
    RsaSha256,
    RsaSha384,
    RsaSha512,
    EcdsaSha256,
    EcdsaSha384,
}

impl SigAlg {
    fn from_uri(u: &str) -> Option<Self> {
        Some(match u {
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => SigAlg::RsaSha1,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => SigAlg::RsaSha256,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => SigAlg::RsaSha384,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => SigAlg::RsaSha512,
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => SigAlg::EcdsaSha256,
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => SigAlg::EcdsaSha384,
            _ => return None,
        })
    }

    pub fn uri(self) -> &'static str {
        match self {
            SigAlg::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            SigAlg::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            SigAlg::RsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            SigAlg::RsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            SigAlg::EcdsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            SigAlg::EcdsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        }
    }

    fn md(self) -> MessageDigest {
        match self {
            SigAlg::RsaSha1 => MessageDigest::sha1(),
            SigAlg::RsaSha256 | SigAlg::EcdsaSha256 => MessageDigest::sha256(),
            SigAlg::RsaSha384 | SigAlg::EcdsaSha384 => MessageDigest::sha384(),
            SigAlg::RsaSha512 => MessageDigest::sha512(),
        }
    }

    fn is_ecdsa(self) -> bool {
        matches!(self, SigAlg::EcdsaSha256 | SigAlg::EcdsaSha384)
    }

    fn is_sha1(self) -> bool {
        self == SigAlg::RsaSha1
    }
}

/// Verification policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Accept RSA-SHA1 / SHA-1 digests (legacy traffic), with a warning.
    pub allow_sha1: bool,
    /// Require the signature as the last child of `edXMLHeader` when the root is an edXML envelope.
    pub edxml_position: bool,
    pub limits: Limits,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allow_sha1: true,
            edxml_position: true,
            limits: Limits::default(),
        }
    }
}

/// Why a signature does not verify. Each has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum DsigError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("no Signature element")]
    NoSignature,
    #[error("more than one Signature element")]
    MultipleSignatures,
    #[error("Signature is not where the profile puts it (last child of edXMLHeader)")]
    SignaturePosition,
    #[error("Signature element is malformed: {0}")]
    Malformed(String),
    #[error("unexpected element in the signature: {0}")]
    SignatureContent(String),
    #[error("reference must be exactly one Reference with URI=\"\"")]
    Reference,
    #[error("transform {0} is not allowed")]
    Transform(String),
    #[error("algorithm {0} is not supported")]
    UnsupportedAlgorithm(String),
    #[error("algorithm {0} is forbidden by policy")]
    ForbiddenAlgorithm(String),
    #[error("duplicate ID attribute value {0:?}")]
    DuplicateId(String),
    #[error("digest of the signed content does not match DigestValue")]
    DigestMismatch,
    #[error("SignatureValue does not verify over SignedInfo with the signer's key (SignedInfo, DigestValue or SignatureValue altered)")]
    BadSignature,
    #[error("no signer certificate in KeyInfo")]
    NoCertificate,
    #[error("crypto: {0}")]
    Crypto(String),
}

impl DsigError {
    pub fn code(&self) -> &'static str {
        match self {
            DsigError::Xml(e) => e.code(),
            DsigError::NoSignature => "dsig_no_signature",
            DsigError::MultipleSignatures => "dsig_multiple_signatures",
            DsigError::SignaturePosition => "dsig_signature_position",
            DsigError::Malformed(_) => "dsig_malformed",
            DsigError::Reference => "dsig_reference_not_allowed",
            DsigError::SignatureContent(_) => "dsig_signature_content",
            DsigError::Transform(_) => "dsig_transform_not_allowed",
            DsigError::UnsupportedAlgorithm(_) => "dsig_algorithm_unsupported",
            DsigError::ForbiddenAlgorithm(_) => "dsig_algorithm_forbidden",
            DsigError::DuplicateId(_) => "dsig_duplicate_id",
            DsigError::DigestMismatch => "dsig_digest_mismatch",
            DsigError::BadSignature => "dsig_bad_signature",
            DsigError::NoCertificate => "dsig_no_certificate",
            DsigError::Crypto(_) => "dsig_crypto_error",
        }
    }
}

fn crypto(e: openssl::error::ErrorStack) -> DsigError {
    DsigError::Crypto(e.to_string())
}

/// A verified signature.
#[derive(Debug)]
pub struct Verified {
    pub canonicalization: C14n,
    pub signature: SigAlg,
    pub digest: Digest,
    /// Certificates from KeyInfo, signer first.
    pub certificates: Vec<X509>,
    pub warnings: Vec<String>,
    /// The sending organ of an edXML package (`edXMLHeader/MessageHeader/From/OrganId`), read
    /// from the verified bytes in the same pass.
    pub from_organ: Option<String>,
}

/// A small tree of the captured `Signature` element.
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<Attr>,
    children: Vec<El>,
    text: String,
    /// Index into the captured node list where this element starts (for re-canonicalizing).
    start: usize,
    end: usize,
}

fn local(q: &str) -> &str {
    q.rsplit_once(':').map(|(_, l)| l).unwrap_or(q)
}

impl El {
    fn child(&self, l: &str) -> Option<&El> {
        self.children.iter().find(|c| local(&c.name) == l)
    }
    fn children_named<'a>(&'a self, l: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| local(&c.name) == l)
    }
    fn attr(&self, n: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == n)
            .map(|a| a.value.as_str())
    }
    fn req(&self, l: &str) -> Result<&El, DsigError> {
        self.child(l)
            .ok_or_else(|| DsigError::Malformed(format!("{} lacks {l}", local(&self.name))))
    }
}

fn build_tree(nodes: &[Node<'static>]) -> Result<El, DsigError> {
    let mut stack: Vec<El> = Vec::new();
    let mut root = None;
    for (i, n) in nodes.iter().enumerate() {
        match n {
            Node::Start { name, attrs } => stack.push(El {
                name: name.to_string(),
                attrs: attrs.clone(),
                start: i,
                ..El::default()
            }),
            Node::End { .. } => {
                let mut el = stack
                    .pop()
                    .ok_or_else(|| DsigError::Malformed("unbalanced".into()))?;
                el.end = i;
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            Node::Text(t) => {
                if let Some(p) = stack.last_mut() {
                    p.text.push_str(t);
                }
            }
            _ => {}
        }
    }
    root.ok_or_else(|| DsigError::Malformed("empty Signature".into()))
}

/// Up to this much canonical output before the Signature is buffered rather than hashed.
const PREFIX_BUFFER: usize = 256 * 1024;

/// Where one candidate canonicalization goes. Before the Signature the digest algorithm is
/// unknown: the output is buffered while small (an edXML header), and hashed into every allowed
/// digest once it grows; after the Signature, one digest.
enum Sink {
    Buffer(Vec<u8>, Vec<Digest>),
    Hashing(Vec<(Digest, Hasher)>),
}

impl Sink {
    fn new(allowed: &[Digest]) -> Self {
        Sink::Buffer(Vec::new(), allowed.to_vec())
    }

    fn hashers(
        digests: &[Digest],
        prefix: &[u8],
    ) -> Result<Vec<(Digest, Hasher)>, openssl::error::ErrorStack> {
        digests
            .iter()
            .map(|d| {
                let mut h = Hasher::new(d.md())?;
                h.update(prefix)?;
                Ok((*d, h))
            })
            .collect()
    }

    /// Keep only `d` from now on.
    fn choose(&mut self, d: Digest) -> Result<(), DsigError> {
        match self {
            Sink::Buffer(buf, _) => {
                *self = Sink::Hashing(Sink::hashers(&[d], buf).map_err(crypto)?)
            }
            Sink::Hashing(hs) => hs.retain(|(x, _)| *x == d),
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>, DsigError> {
        match self {
            Sink::Hashing(mut hs) if hs.len() == 1 => {
                Ok(hs.remove(0).1.finish().map_err(crypto)?.to_vec())
            }
            _ => Err(DsigError::NoSignature),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Buffer(buf, digests) => {
                buf.extend_from_slice(b);
                if buf.len() > PREFIX_BUFFER {
                    let hs = Sink::hashers(digests, buf).map_err(std::io::Error::other)?;
                    *self = Sink::Hashing(hs);
                }
            }
            Sink::Hashing(hs) => {
                for (_, h) in hs {
                    h.update(b).map_err(std::io::Error::other)?;
                }
            }
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Parsed signer certificates, by their base64 text as it stands in `X509Certificate`.
/// Decoding a certificate costs more than verifying a small package (OpenSSL 3's key decoders),
/// and a gateway sees the same few thousand signers again and again, each writing its chain the
/// same way: a hit costs one hash of the text, no base64 decode and no DER parse. Keys are
/// compared whole. Bounded: cleared when full (at most `MAX` texts of a few KiB).
fn cert_cached(text: &str) -> Result<X509, DsigError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    const MAX: usize = 4096;
    static CACHE: OnceLock<Mutex<HashMap<Box<str>, X509>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(c) = cache.lock().ok().and_then(|m| m.get(text).cloned()) {
        return Ok(c);
    }
    let bad = |_| DsigError::Malformed("bad X509Certificate".into());
    let cert = X509::from_der(&b64(text)?).map_err(bad)?;
    // Decode the public key now, so the cached object carries it.
    cert.public_key().map_err(bad)?;
    if let Ok(mut m) = cache.lock() {
        if m.len() >= MAX {
            m.clear();
        }
        m.insert(text.into(), cert.clone());
    }
    Ok(cert)
}

fn is_id_attr(name: &str) -> bool {
    matches!(local(name), "Id" | "ID" | "id")
}

/// Base64 content (`xs:base64Binary`: XML whitespace allowed anywhere), decoded.
fn b64(s: &str) -> Result<Vec<u8>, DsigError> {
    let e = &base64::engine::general_purpose::STANDARD;
    let b = s.as_bytes();
    let decoded = if b.iter().any(u8::is_ascii_whitespace) {
        e.decode(b.iter().copied().filter(|c| !c.is_ascii_whitespace()).collect::<Vec<u8>>())
    } else {
        e.decode(b)
    };
    decoded.map_err(|_| DsigError::Malformed("bad base64".into()))
}

/// XML-DSig ECDSA signatures are r‖s; openssl wants DER.
fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, DsigError> {
    if raw.is_empty() || raw.len() % 2 != 0 {
        return Err(DsigError::BadSignature);
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let r = openssl::bn::BigNum::from_slice(r).map_err(crypto)?;
    let s = openssl::bn::BigNum::from_slice(s).map_err(crypto)?;
    openssl::ecdsa::EcdsaSig::from_private_components(r, s)
        .and_then(|sig| sig.to_der())
        .map_err(crypto)
}

/// Verify the enveloped signature of the document read from `input`.
pub fn verify<R: BufRead>(input: R, policy: &Policy) -> Result<Verified, DsigError> {
    verify_with(input, policy, |_| {})
}

/// [`verify`], showing every node of the document to `tap` as it streams by (all of them, the
/// Signature's included, in order), so another reader of the same bytes needs no pass of its
/// own. After an error the tap has seen only part of the document; after `Ok` or
/// [`DsigError::NoSignature`] it has seen all of it.
pub fn verify_with<R: BufRead>(
    input: R,
    policy: &Policy,
    mut tap: impl FnMut(&Node<'_>),
) -> Result<Verified, DsigError> {
    let mut reader = Reader::new(input, policy.limits);
    let allowed: Vec<Digest> = Digest::ALL
        .into_iter()
        .filter(|d| policy.allow_sha1 || *d != Digest::Sha1)
        .collect();
    // Before the Signature: both canonicalizations into every allowed digest.
    let mut candidates: Vec<Canonicalizer<Sink>> = vec![
        Canonicalizer::new(Sink::new(&allowed), C14n::C14n),
        Canonicalizer::new(Sink::new(&allowed), C14n::ExcC14n),
    ];
    // Ancestors' attributes (for the SignedInfo context) and names (for the position rule).
    let mut ancestors: Vec<(String, Vec<Attr>)> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let mut sig_nodes: Option<Vec<Node<'static>>> = None;
    let mut sig_depth = 0usize;
    let mut sig_context: Vec<Vec<Attr>> = Vec::new();
    let mut chosen: Option<(Verified, Vec<u8>)> = None; // after the Signature: result + expected digest
    let mut signatures = 0;
    let mut after_sig_in_header = false;
    let mut from_organ: Option<String> = None;

    while let Some(node) = reader.next()? {
        tap(&node);
        // Inside the Signature: capture only.
        if let Some(nodes) = sig_nodes.as_mut() {
            match &node {
                Node::Start { .. } => sig_depth += 1,
                Node::End { .. } => sig_depth -= 1,
                _ => {}
            }
            if nodes.len() >= MAX_SIGNATURE_NODES {
                return Err(DsigError::Malformed("Signature too large".into()));
            }
            let done = sig_depth == 0;
            nodes.push(node);
            if done {
                let nodes = sig_nodes.take().unwrap_or_default();
                let (verified, expected, keep) = process_signature(&nodes, &sig_context, policy)?;
                // Keep only the chosen canonicalizer; from now on it feeds one digest.
                let mut c = candidates.swap_remove(keep);
                c.get_mut().choose(verified.digest)?;
                candidates = vec![c];
                chosen = Some((verified, expected));
                after_sig_in_header = ancestors
                    .last()
                    .is_some_and(|(n, _)| local(n) == "edXMLHeader");
            }
            continue;
        }
        match &node {
            Node::Start { name, attrs } => {
                for a in attrs.iter().filter(|a| is_id_attr(&a.name)) {
                    if !ids.insert(a.value.clone()) {
                        return Err(DsigError::DuplicateId(a.value.clone()));
                    }
                }
                if local(name) == "Signature" {
                    signatures += 1;
                    if signatures > 1 {
                        return Err(DsigError::MultipleSignatures);
                    }
                    // QCVN 102 packages have the root `edXML` (envelope inside) or, from some
                    // builders, the envelope itself as root.
                    let root_is_edxml = ancestors
                        .first()
                        .is_some_and(|(n, _)| matches!(local(n), "edXML" | "edXMLEnvelope"));
                    if policy.edxml_position
                        && root_is_edxml
                        && !ancestors
                            .last()
                            .is_some_and(|(n, _)| local(n) == "edXMLHeader")
                    {
                        return Err(DsigError::SignaturePosition);
                    }
                    sig_context = ancestors.iter().map(|(_, a)| a.clone()).collect();
                    sig_nodes = Some(vec![node]);
                    sig_depth = 1;
                    continue;
                }
                if after_sig_in_header
                    && ancestors
                        .last()
                        .is_some_and(|(n, _)| local(n) == "edXMLHeader")
                {
                    // Something follows the Signature inside the header: not the last child.
                    return Err(DsigError::SignaturePosition);
                }
                // Pushed onto `ancestors` below, once canonicalized: moved, not copied.
            }
            Node::End { .. } => {
                ancestors.pop();
            }
            Node::Text(t) => {
                let path = ancestors.iter().rev().take(4).map(|(n, _)| local(n));
                if path.eq(["OrganId", "From", "MessageHeader", "edXMLHeader"]) {
                    from_organ.get_or_insert_with(String::new).push_str(t);
                }
            }
            _ => {}
        }
        for c in &mut candidates {
            c.node(&node).map_err(|e| match e {
                super::c14n::C14nError::Xml(x) => DsigError::Xml(x),
                other => DsigError::Malformed(other.to_string()),
            })?;
        }
        if let Node::Start { name, attrs } = node {
            ancestors.push((name.into_owned(), attrs));
        }
    }

    let (mut verified, expected) = chosen.ok_or(DsigError::NoSignature)?;
    verified.from_organ = from_organ.map(|s| s.trim().to_owned());
    let c = candidates.pop().ok_or(DsigError::NoSignature)?;
    let actual = c.into_inner().finish()?;
    if actual.len() != expected.len() || !openssl::memcmp::eq(&actual, &expected) {
        return Err(DsigError::DigestMismatch);
    }
    Ok(verified)
}

fn check_children(el: &El, allowed: &[&str]) -> Result<(), DsigError> {
    match el
        .children
        .iter()
        .find(|c| !allowed.contains(&local(&c.name)))
    {
        Some(c) => Err(DsigError::SignatureContent(format!(
            "{} inside {}",
            local(&c.name),
            local(&el.name)
        ))),
        None => Ok(()),
    }
}

/// Check the captured Signature: profile, algorithms, SignatureValue. Returns the result, the
/// expected reference digest and which candidate canonicalizer (0 inclusive, 1 exclusive) to keep.
fn process_signature(
    nodes: &[Node<'static>],
    context: &[Vec<Attr>],
    policy: &Policy,
) -> Result<(Verified, Vec<u8>, usize), DsigError> {
    let sig = build_tree(nodes)?;
    // Nothing but the parts the profile uses: content hidden in Object or KeyInfo is outside the
    // signed node-set and a classic wrapping vector.
    check_children(&sig, &["SignedInfo", "SignatureValue", "KeyInfo"])?;
    if let Some(ki) = sig.child("KeyInfo") {
        check_children(ki, &["X509Data", "KeyName", "KeyValue"])?;
        for xd in ki.children_named("X509Data") {
            check_children(
                xd,
                &[
                    "X509Certificate",
                    "X509IssuerSerial",
                    "X509SubjectName",
                    "X509SKI",
                    "X509CRL",
                ],
            )?;
        }
    }
    if sig.children_named("SignedInfo").count() != 1
        || sig.children_named("SignatureValue").count() != 1
    {
        return Err(DsigError::Malformed(
            "exactly one SignedInfo and one SignatureValue".into(),
        ));
    }
    let si = sig.req("SignedInfo")?;
    let cm = si
        .req("CanonicalizationMethod")?
        .attr("Algorithm")
        .unwrap_or_default();
    let si_c14n =
        C14n::from_uri(cm).ok_or_else(|| DsigError::UnsupportedAlgorithm(cm.to_owned()))?;
    let sm = si
        .req("SignatureMethod")?
        .attr("Algorithm")
        .unwrap_or_default();
    let sig_alg =
        SigAlg::from_uri(sm).ok_or_else(|| DsigError::UnsupportedAlgorithm(sm.to_owned()))?;
    let mut warnings = Vec::new();
    if sig_alg.is_sha1() {
        if !policy.allow_sha1 {
            return Err(DsigError::ForbiddenAlgorithm(sm.to_owned()));
        }
        warnings.push("legacy algorithm rsa-sha1 accepted by policy".to_owned());
    }
    let refs: Vec<&El> = si.children_named("Reference").collect();
    if refs.len() != 1 || refs[0].attr("URI") != Some("") {
        return Err(DsigError::Reference);
    }
    let r = refs[0];
    let mut ref_c14n = C14n::C14n;
    let mut saw_enveloped = false;
    if let Some(ts) = r.child("Transforms") {
        for (i, t) in ts.children_named("Transform").enumerate() {
            let alg = t.attr("Algorithm").unwrap_or_default();
            match (i, alg) {
                (0, ENVELOPED) => saw_enveloped = true,
                (1, a) if C14n::from_uri(a).is_some() => {
                    ref_c14n = C14n::from_uri(a).unwrap_or(C14n::C14n);
                    if t.child("InclusiveNamespaces")
                        .and_then(|n| n.attr("PrefixList"))
                        .is_some_and(|p| !p.trim().is_empty())
                    {
                        return Err(DsigError::Transform(
                            "InclusiveNamespaces PrefixList".into(),
                        ));
                    }
                }
                _ => return Err(DsigError::Transform(alg.to_owned())),
            }
        }
    }
    if !saw_enveloped {
        return Err(DsigError::Transform("missing enveloped-signature".into()));
    }
    let dm = r.req("DigestMethod")?.attr("Algorithm").unwrap_or_default();
    let digest =
        Digest::from_uri(dm).ok_or_else(|| DsigError::UnsupportedAlgorithm(dm.to_owned()))?;
    if digest == Digest::Sha1 {
        if !policy.allow_sha1 {
            return Err(DsigError::ForbiddenAlgorithm(dm.to_owned()));
        }
        warnings.push("legacy digest sha1 accepted by policy".to_owned());
    }
    let expected = b64(&r.req("DigestValue")?.text)?;

    // Certificates from KeyInfo/X509Data.
    let mut certs = Vec::new();
    if let Some(x) = sig.child("KeyInfo").and_then(|k| k.child("X509Data")) {
        for c in x.children_named("X509Certificate") {
            certs.push(cert_cached(&c.text)?);
        }
    }
    // The signer is the certificate that issued none of the others (KeyInfo order varies).
    let signer_idx = certs
        .iter()
        .position(|c| {
            !certs
                .iter()
                .any(|o| !std::ptr::eq(o, c) && c.issued(o) == openssl::x509::X509VerifyResult::OK)
        })
        .ok_or(DsigError::NoCertificate)?;
    certs.swap(0, signer_idx);
    let signer = certs.first().ok_or(DsigError::NoCertificate)?;
    let key: PKey<Public> = signer.public_key().map_err(crypto)?;

    // Canonicalize SignedInfo in its context: the document's ancestors and the Signature element.
    let mut c = Canonicalizer::new(Vec::new(), si_c14n);
    for attrs in context {
        c.push_context(attrs);
    }
    c.push_context(&sig.attrs);
    for n in &nodes[si.start..=si.end] {
        c.node(n).map_err(|e| DsigError::Malformed(e.to_string()))?;
    }
    let signed_info = c.into_inner();
    let mut value = b64(&sig.req("SignatureValue")?.text)?;
    if sig_alg.is_ecdsa() {
        value = ecdsa_raw_to_der(&value)?;
    }
    let mut v = openssl::sign::Verifier::new(sig_alg.md(), &key).map_err(crypto)?;
    v.update(&signed_info).map_err(crypto)?;
    if !v.verify(&value).unwrap_or(false) {
        return Err(DsigError::BadSignature);
    }
    let keep = usize::from(ref_c14n.exclusive());
    Ok((
        Verified {
            canonicalization: ref_c14n,
            signature: sig_alg,
            digest,
            certificates: certs,
            warnings,
            from_organ: None,
        },
        expected,
        keep,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base64 content decodes the same wrapped in XML whitespace or not; anything else is
    /// refused.
    #[test]
    fn base64_content_with_and_without_whitespace() {
        assert_eq!(b64("aGVsbG8gd29ybGQ=").unwrap(), b"hello world");
        assert_eq!(b64("\n  aGVs\r\nbG8g\td29y bGQ=\n").unwrap(), b"hello world");
        assert!(b64("aGVs\u{a0}bG8=").is_err());
        assert!(b64("aGVsbG8*").is_err());
    }

    fn phaos(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../shared/vectors/xmldsig/phaos/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn phaos_vectors() {
        let ok = verify(
            &phaos("signature-rsa-enveloped.xml")[..],
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(ok.signature, SigAlg::RsaSha1);
        assert_eq!(ok.digest, Digest::Sha1);
        assert_eq!(ok.warnings.len(), 2);
        // The "bad signature" vector adds a second Reference (MD5) to SignedInfo: the restricted
        // profile refuses it before any cryptography.
        assert!(matches!(
            verify(
                &phaos("signature-rsa-enveloped-bad-sig.xml")[..],
                &Policy::default()
            ),
            Err(DsigError::Reference)
        ));
        // A SignatureValue changed in one character fails as a bad signature.
        let good = String::from_utf8(phaos("signature-rsa-enveloped.xml")).unwrap();
        let forged = good.replace("<dsig:SignatureValue>fbye4", "<dsig:SignatureValue>fbye5");
        assert_ne!(good, forged);
        assert!(matches!(
            verify(forged.as_bytes(), &Policy::default()),
            Err(DsigError::BadSignature)
        ));
        // Signed content changed: digest mismatch.
        let tampered = good.replace("Alfonso Soriano", "Alfonso Sorianp");
        assert!(matches!(
            verify(tampered.as_bytes(), &Policy::default()),
            Err(DsigError::DigestMismatch)
        ));
        // The comment inside the signed content is not covered (URI="" drops comments).
        let commented = good.replace("Here's a comment", "Another comment");
        assert!(verify(commented.as_bytes(), &Policy::default()).is_ok());
    }

    /// The shared synthetic package (root `edXML`, attachments after the envelope), signed by
    /// lienthong: verifies, and the position rule holds for this root too.
    #[test]
    fn shared_sample_signed_and_position_enforced() {
        let doc = std::fs::read(format!(
            "{}/../shared/domain/samples/edoc-new.edxml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let cert = crate::pki::dev::self_signed_signer(&key).unwrap();
        let signed =
            String::from_utf8(crate::dsig::sign::sign(&doc, &key, &[cert]).unwrap()).unwrap();
        let v = verify(signed.as_bytes(), &Policy::default()).unwrap();
        assert_eq!(v.from_organ.as_deref(), Some("000.00.12.H99"));
        // The same signature element placed in the body: refused, whatever the digest says.
        let s0 = signed.find("<Signature").unwrap();
        let s1 = signed.find("</Signature>").unwrap() + "</Signature>".len();
        let moved = format!("{}{}", &signed[..s0], &signed[s1..]).replace(
            "</edXML:edXMLBody>",
            &format!("{}</edXML:edXMLBody>", &signed[s0..s1]),
        );
        assert_eq!(code_of(&moved), "dsig_signature_position");
        // An attachment byte changed (after the envelope): digest mismatch.
        let tampered = signed.replace("VOG7h3Ag", "VOG7h3Ah");
        assert_eq!(code_of(&tampered), "dsig_digest_mismatch");
    }

    fn code_of(doc: &str) -> &'static str {
        match verify(doc.as_bytes(), &Policy::default()) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    /// Hostile variants of a validly signed document, each refused with its own code.
    #[test]
    fn hostile_variants_have_their_own_reasons() {
        let good = String::from_utf8(phaos("signature-rsa-enveloped.xml")).unwrap();
        assert_eq!(code_of(&good), "ok");
        let doctype =
            format!("<!DOCTYPE player [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{good}");
        assert_eq!(code_of(&doctype), "xml_doctype_forbidden");
        let bomb = format!(
            "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>{}",
            good.replace("<name>", "<name>&lol2;")
        );
        assert_eq!(code_of(&bomb), "xml_doctype_forbidden");
        let undefined = good.replace("<name>", "<name>&lol2;");
        assert_eq!(code_of(&undefined), "xml_undefined_entity");
        let deep = good
            .replace("<team>", &format!("{}<team>", "<d>".repeat(70)))
            .replace("</team>", &format!("</team>{}", "</d>".repeat(70)));
        assert_eq!(code_of(&deep), "xml_too_deep");
        let dup = good.replace("<name>", "<name id=\"10012\">");
        assert_eq!(code_of(&dup), "dsig_duplicate_id");
        let md5 = good.replace("xmldsig#rsa-sha1", "xmldsig-more#rsa-md5");
        assert_eq!(code_of(&md5), "dsig_algorithm_unsupported");
        let hmac = good.replace("xmldsig#rsa-sha1", "xmldsig#hmac-sha1");
        assert_eq!(code_of(&hmac), "dsig_algorithm_unsupported");
        let xpath = good.replace(
            "<dsig:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
            "<dsig:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><dsig:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"/>",
        );
        assert_eq!(code_of(&xpath), "dsig_transform_not_allowed");
        let external = good.replace(
            "<dsig:Reference URI=\"\">",
            "<dsig:Reference URI=\"http://example.invalid/x\">",
        );
        assert_eq!(code_of(&external), "dsig_reference_not_allowed");
        // A second signature after the first.
        let sig_start = good.find("<dsig:Signature").unwrap();
        let sig_end = good.find("</dsig:Signature>").unwrap() + "</dsig:Signature>".len();
        let two = good.replace(
            "</player>",
            &format!("{}</player>", &good[sig_start..sig_end]),
        );
        assert_eq!(code_of(&two), "dsig_multiple_signatures");
        // Content hidden where the signature does not cover it (Object, KeyInfo).
        let object = good.replace(
            "</dsig:Signature>",
            "<dsig:Object><name>Someone Else</name></dsig:Object></dsig:Signature>",
        );
        assert_eq!(code_of(&object), "dsig_signature_content");
        let keyinfo = good.replace("<dsig:KeyInfo>", "<dsig:KeyInfo><name>Someone Else</name>");
        assert_eq!(code_of(&keyinfo), "dsig_signature_content");
        let nosig = format!("{}{}", &good[..sig_start], &good[sig_end..]);
        assert_eq!(code_of(&nosig), "dsig_no_signature");
        // DigestValue sits inside SignedInfo: altering it breaks the signature over SignedInfo,
        // which is checked first (content tampering, with SignedInfo intact, is DigestMismatch).
        assert!(matches!(
            verify(
                &phaos("signature-rsa-enveloped-bad-digest-val.xml")[..],
                &Policy::default()
            ),
            Err(DsigError::BadSignature)
        ));
        let strict = Policy {
            allow_sha1: false,
            ..Policy::default()
        };
        assert!(matches!(
            verify(&phaos("signature-rsa-enveloped.xml")[..], &strict),
            Err(DsigError::ForbiddenAlgorithm(_))
        ));
    }
}
