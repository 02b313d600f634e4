//! Members: who may call the gateway, what they may speak for and which services they may use.
//!
//! A member is found from its client certificate (bound by SHA-256 fingerprint or by exact
//! subject) or from an OAuth2 client id. Nothing else identifies a caller.

use crate::config::{Config, RateLimit, Secret};
use lienthong_contract::{OrganId, Service};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

/// SHA-256 of a DER certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    pub fn of_der(der: &[u8]) -> Self {
        Fingerprint(openssl::sha::sha256(der))
    }

    /// Hex with or without `:` separators, any case, optionally prefixed `sha256:`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let body = s.strip_prefix("sha256:").unwrap_or(s);
        let hex: String = body.chars().filter(|c| *c != ':').collect();
        let bytes =
            hex::decode(&hex).map_err(|_| format!("{s:?} is not a hex SHA-256 fingerprint"))?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            format!("{s:?} is not 32 bytes (a SHA-256 fingerprint has 64 hex digits)")
        })?;
        Ok(Fingerprint(arr))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How a member's client certificate is recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertBinding {
    Fingerprint(Fingerprint),
    /// Exact subject as a set of `(attribute, value)` pairs, attribute names upper case.
    Subject(BTreeSet<(String, String)>),
}

impl CertBinding {
    /// Parse `"CN=vpubnd,O=UBND tinh Vi Du"` (RFC 4514 style, `\,` escapes a comma).
    pub fn subject(s: &str) -> Result<Self, String> {
        let pairs = split_dn(s)?;
        if pairs.is_empty() {
            return Err("subject is empty".into());
        }
        Ok(CertBinding::Subject(pairs))
    }

    /// A key that is equal for two bindings that match the same certificates.
    pub fn key(&self) -> String {
        match self {
            CertBinding::Fingerprint(f) => f.to_string(),
            CertBinding::Subject(s) => s
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            CertBinding::Fingerprint(f) => format!("fingerprint {f}"),
            CertBinding::Subject(_) => format!("subject {}", self.key()),
        }
    }
}

fn split_dn(s: &str) -> Result<BTreeSet<(String, String)>, String> {
    let mut out = BTreeSet::new();
    let mut cur = String::new();
    let mut parts = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n)
                }
            }
            ',' | '+' => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("{p:?} is not ATTRIBUTE=value"))?;
        out.insert((k.trim().to_ascii_uppercase(), v.trim().to_owned()));
    }
    Ok(out)
}

/// Short names of the subject attributes bindings use; others are matched by dotted OID.
fn attr_short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.12" => "TITLE",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "EMAILADDRESS",
        _ => return None,
    })
}

/// What the gateway read from a client certificate that passed the TLS handshake.
#[derive(Clone, Debug)]
pub struct ClientCert {
    pub fingerprint: Fingerprint,
    pub subject: BTreeSet<(String, String)>,
    pub subject_text: String,
    pub serial: String,
}

impl ClientCert {
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
        let mut subject = BTreeSet::new();
        for attr in cert.subject().iter_attributes() {
            let oid = attr.attr_type().to_id_string();
            let name = attr_short_name(&oid).map(str::to_owned).unwrap_or(oid);
            let value = attr.as_str().map(str::to_owned).unwrap_or_default();
            subject.insert((name, value));
        }
        Ok(ClientCert {
            fingerprint: Fingerprint::of_der(der),
            subject,
            subject_text: cert.subject().to_string(),
            serial: cert.raw_serial_as_string(),
        })
    }
}

/// A configured member, resolved and ready for lookups.
pub struct Member {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub organs: Vec<OrganId>,
    pub services: BTreeSet<Service>,
    pub binding: Option<CertBinding>,
    pub client_id: Option<String>,
    client_secret_hash: Option<[u8; 32]>,
    pub rate_limit: RateLimit,
    /// `Some(endpoint)` when packages are pushed to the member; `None` for pull (inbox).
    pub push_endpoint: Option<String>,
    pub ordered: bool,
    pub unsigned_status: bool,
    pub edxml_strict: bool,
    /// The dialect of its dossier requests (`None`: canonical JSON).
    pub dialect: Option<String>,
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

impl Member {
    pub fn may_use(&self, s: Service) -> bool {
        self.services.contains(&s)
    }

    pub fn is_peer(&self) -> bool {
        self.kind == "peer"
    }

    /// Whether the member may send on behalf of `organ`: one of its own organs exactly, or, for
    /// a peer gateway, any organ under the organs it serves.
    pub fn speaks_for(&self, organ: &OrganId) -> bool {
        self.organs
            .iter()
            .any(|o| o == organ || (self.is_peer() && organ.is_within(o)))
    }

    /// Constant-time check of an OAuth2 client secret.
    pub fn client_secret_matches(&self, given: &[u8]) -> bool {
        match &self.client_secret_hash {
            Some(h) => openssl::memcmp::eq(h, &openssl::sha::sha256(given)),
            None => false,
        }
    }
}

/// All members, indexed for the lookups the edge makes on every request.
#[derive(Default)]
pub struct Registry {
    members: Vec<Arc<Member>>,
    by_id: HashMap<String, Arc<Member>>,
    by_fingerprint: HashMap<Fingerprint, Arc<Member>>,
    by_subject: HashMap<BTreeSet<(String, String)>, Arc<Member>>,
    by_client_id: HashMap<String, Arc<Member>>,
}

impl Registry {
    /// Build from a validated configuration (validation has already rejected bad values).
    pub fn from_config(c: &Config) -> Result<Self, String> {
        let mut r = Registry::default();
        for m in &c.members {
            let binding = match (&m.cert_fingerprint, &m.cert_subject) {
                (Some(fp), _) => Some(CertBinding::Fingerprint(Fingerprint::parse(fp)?)),
                (None, Some(s)) => Some(CertBinding::subject(s)?),
                (None, None) => None,
            };
            let (client_id, client_secret_hash) = match &m.oauth {
                Some(o) => {
                    let secret: Secret = o
                        .client_secret
                        .resolve()
                        .map_err(|e| format!("member {}: {e}", m.id))?;
                    (
                        Some(o.client_id.clone()),
                        Some(openssl::sha::sha256(secret.expose())),
                    )
                }
                None => (None, None),
            };
            let member = Arc::new(Member {
                id: m.id.clone(),
                name: m.name.clone(),
                kind: m.kind.clone(),
                organs: m
                    .organs
                    .iter()
                    .map(|o| OrganId::parse(o).map_err(|e| e.to_string()))
                    .collect::<Result<_, _>>()?,
                services: m
                    .services
                    .iter()
                    .map(|s| {
                        s.parse()
                            .map_err(|e: lienthong_contract::UnknownService| e.to_string())
                    })
                    .collect::<Result<_, _>>()?,
                binding: binding.clone(),
                client_id: client_id.clone(),
                client_secret_hash,
                rate_limit: c.member_rate_limit(m),
                push_endpoint: (m.delivery == "push")
                    .then(|| m.endpoint.clone())
                    .flatten(),
                ordered: m.ordered,
                unsigned_status: m.unsigned_status,
                edxml_strict: m.edxml_strict,
                dialect: m.dialect.clone(),
            });
            match binding {
                Some(CertBinding::Fingerprint(f)) => {
                    r.by_fingerprint.insert(f, member.clone());
                }
                Some(CertBinding::Subject(s)) => {
                    r.by_subject.insert(s, member.clone());
                }
                None => {}
            }
            if let Some(cid) = client_id {
                r.by_client_id.insert(cid, member.clone());
            }
            r.by_id.insert(m.id.clone(), member.clone());
            r.members.push(member);
        }
        Ok(r)
    }

    pub fn all(&self) -> &[Arc<Member>] {
        &self.members
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Member>> {
        self.by_id.get(id)
    }

    /// The member a certificate is bound to: by fingerprint first, then by exact subject.
    pub fn by_cert(&self, c: &ClientCert) -> Option<&Arc<Member>> {
        self.by_fingerprint
            .get(&c.fingerprint)
            .or_else(|| self.by_subject.get(&c.subject))
    }

    pub fn by_client_id(&self, id: &str) -> Option<&Arc<Member>> {
        self.by_client_id.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_forms() {
        let hex = "ab".repeat(32);
        let colon = vec!["AB"; 32].join(":");
        assert_eq!(
            Fingerprint::parse(&hex).unwrap(),
            Fingerprint::parse(&colon).unwrap()
        );
        assert_eq!(
            Fingerprint::parse(&format!("sha256:{hex}")).unwrap().0,
            [0xab; 32]
        );
        assert!(Fingerprint::parse("abcd").is_err());
        assert!(Fingerprint::parse(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn subject_binding_is_order_insensitive_and_escapes() {
        let a = CertBinding::subject("CN=vpubnd, O=UBND tinh Vi Du").unwrap();
        let b = CertBinding::subject("o=UBND tinh Vi Du,CN=vpubnd").unwrap();
        assert_eq!(a, b);
        let c = CertBinding::subject(r"CN=a\,b").unwrap();
        assert_eq!(c.key(), "CN=a,b");
        assert!(CertBinding::subject("garbage").is_err());
    }
}
