//! The dev/test PKI: `lienthong pki dev-init DIR`.
//!
//! Layout (stable; the sandbox, tests and scripts rely on it):
//!
//! | path | what |
//! |---|---|
//! | `ca.pem` | root CA: the trust anchor for members' certificates and the server certificate |
//! | `intermediate.pem`, `.key` | issuing CA for every leaf below |
//! | `server.pem`, `.key` | gateway server certificate (leaf + intermediate), for `localhost`, `127.0.0.1`, `::1` |
//! | `members/<id>.pem`, `.key` | one TLS client certificate per member (leaf + intermediate), subject `CN=<id>,OU=members,O=lienthong sandbox` |
//! | `signing/<id>.pem`, `.key` | one document-signing certificate per `agency` member, its organ identifier in the subject OU |
//! | `crl.pem` | CRLs of the root (empty) and of the intermediate (lists `test/revoked.pem`) |
//! | `test/revoked.pem`, `test/expired.pem`, `test/foreign.pem` (+ `.key`), `test/foreign-ca.pem` | negative-test material |
//!
//! The root key is kept in `ca.key` because this is a development PKI; a real one never is.

use super::crl::{build_crl, crl_pem};
use crate::config::MemberCfg;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509Name, X509NameBuilder, X509};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DevPkiError {
    #[error("openssl: {0}")]
    Openssl(#[from] ErrorStack),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} already holds a PKI (ca.pem exists); use --force to replace it")]
    Exists(PathBuf),
}

/// An issued certificate with its key.
pub struct Issued {
    pub cert: X509,
    pub key: PKey<Private>,
}

/// Which member certificates and signing certificates to make.
pub struct DevPkiSpec<'a> {
    pub members: &'a [MemberCfg],
    pub org: &'a str,
}

const DAY: i64 = 86_400;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn ec_key() -> Result<PKey<Private>, ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

fn rsa_key() -> Result<PKey<Private>, ErrorStack> {
    PKey::from_rsa(Rsa::generate(2048)?)
}

fn name(parts: &[(&str, &str)]) -> Result<X509Name, ErrorStack> {
    let mut b = X509NameBuilder::new()?;
    for (k, v) in parts {
        b.append_entry_by_text(k, v)?;
    }
    Ok(b.build())
}

fn serial() -> Result<Asn1Integer, ErrorStack> {
    let mut bn = BigNum::new()?;
    bn.rand(127, MsbOption::MAYBE_ZERO, false)?;
    bn.to_asn1_integer()
}

/// What kind of leaf to issue.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Ca { path_len: Option<u32> },
    Server,
    Client,
    DocumentSigning,
    OcspResponder,
}

/// Issue a certificate. `issuer == None` makes it self-signed.
pub fn issue(
    subject: &X509Name,
    key: PKey<Private>,
    issuer: Option<&Issued>,
    profile: Profile,
    not_before: i64,
    not_after: i64,
    sans: &[&str],
) -> Result<Issued, ErrorStack> {
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    b.set_serial_number(&*serial()?)?;
    b.set_subject_name(subject)?;
    b.set_issuer_name(issuer.map(|i| i.cert.subject_name()).unwrap_or(subject))?;
    b.set_pubkey(&key)?;
    b.set_not_before(&*Asn1Time::from_unix(not_before)?)?;
    b.set_not_after(&*Asn1Time::from_unix(not_after)?)?;
    match profile {
        Profile::Ca { path_len } => {
            let mut bc = BasicConstraints::new();
            bc.critical().ca();
            if let Some(p) = path_len {
                bc.pathlen(p);
            }
            b.append_extension(bc.build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()?,
            )?;
        }
        Profile::Server => {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .key_encipherment()
                    .build()?,
            )?;
            // The gateway also presents it as a client when it pushes to members and peers.
            b.append_extension(ExtendedKeyUsage::new().server_auth().client_auth().build()?)?;
        }
        Profile::Client => {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
            b.append_extension(ExtendedKeyUsage::new().client_auth().build()?)?;
        }
        Profile::OcspResponder => {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
            b.append_extension(ExtendedKeyUsage::new().other("OCSPSigning").build()?)?;
        }
        Profile::DocumentSigning => {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .non_repudiation()
                    .build()?,
            )?;
            // id-kp-documentSigning (RFC 9336) and emailProtection, as Vietnamese signing certs carry.
            b.append_extension(
                ExtendedKeyUsage::new()
                    .email_protection()
                    .other("1.3.6.1.5.5.7.3.36")
                    .build()?,
            )?;
        }
    }
    if !sans.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for s in sans {
            if s.parse::<std::net::IpAddr>().is_ok() {
                san.ip(s);
            } else {
                san.dns(s);
            }
        }
        let ctx = b.x509v3_context(issuer.map(|i| i.cert.as_ref()), None);
        let ext = san.build(&ctx)?;
        b.append_extension(ext)?;
    }
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(issuer.map(|i| i.cert.as_ref()), None))?;
    b.append_extension(ski)?;
    if issuer.is_some() {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(issuer.map(|i| i.cert.as_ref()), None))?;
        b.append_extension(aki)?;
    }
    let signer = issuer.map(|i| &i.key).unwrap_or(&key);
    b.sign(signer, MessageDigest::sha256())?;
    Ok(Issued {
        cert: b.build(),
        key,
    })
}

/// A self-signed document-signing certificate for `key` (empty subject), for tests and benches
/// that need a signer but no chain.
pub fn self_signed_signer(key: &PKey<Private>) -> Result<X509, ErrorStack> {
    let name = X509NameBuilder::new()?.build();
    Ok(issue(
        &name,
        key.clone(),
        None,
        Profile::DocumentSigning,
        0,
        4_000_000_000,
        &[],
    )?
    .cert)
}

fn write(path: &Path, bytes: &[u8], private: bool) -> Result<(), DevPkiError> {
    let io = |source| DevPkiError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

fn write_leaf(dir: &Path, stem: &str, leaf: &Issued, chain: &[&X509]) -> Result<(), DevPkiError> {
    let mut pem = leaf.cert.to_pem()?;
    for c in chain {
        pem.extend(c.to_pem()?);
    }
    write(&dir.join(format!("{stem}.pem")), &pem, false)?;
    write(
        &dir.join(format!("{stem}.key")),
        &leaf.key.private_key_to_pem_pkcs8()?,
        true,
    )
}

fn unix_of(t: &openssl::asn1::Asn1TimeRef) -> Result<i64, DevPkiError> {
    Ok(super::cache::unix_of(t)?)
}

fn index_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.format("%y%m%d%H%M%SZ").to_string())
        .unwrap_or_default()
}

/// `ocsp/index.txt` in the format of `openssl ca`'s database, for `openssl ocsp -index`: every
/// leaf the intermediate issued, `R` for the ones its CRL revokes.
fn write_ocsp_index(dir: &Path) -> Result<(), DevPkiError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| DevPkiError::Io { path, source }
    };
    let mut files = vec![
        dir.join("server.pem"),
        dir.join("test/revoked.pem"),
        dir.join("test/expired.pem"),
    ];
    for sub in ["members", "signing"] {
        let d = dir.join(sub);
        if let Ok(rd) = std::fs::read_dir(&d) {
            let mut v: Vec<_> = rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "pem"))
                .collect();
            v.sort();
            files.extend(v);
        }
    }
    let revoked_serial = X509::stack_from_pem(
        &std::fs::read(dir.join("test/revoked.pem")).map_err(io(&dir.join("test/revoked.pem")))?,
    )?
    .first()
    .map(|c| {
        c.serial_number()
            .to_bn()
            .and_then(|b| b.to_hex_str().map(|s| s.to_string()))
    })
    .transpose()?
    .unwrap_or_default();
    let mut index = String::new();
    for f in files {
        let Some(cert) = X509::stack_from_pem(&std::fs::read(&f).map_err(io(&f))?)?
            .into_iter()
            .next()
        else {
            continue;
        };
        let mut serial = cert.serial_number().to_bn()?.to_hex_str()?.to_string();
        let is_revoked = serial == revoked_serial;
        if serial.len() % 2 == 1 {
            serial.insert(0, '0');
        }
        let expiry = index_time(unix_of(cert.not_after())?);
        let subject: String = cert
            .subject_name()
            .entries()
            .map(|e| {
                format!(
                    "/{}={}",
                    e.object().nid().short_name().unwrap_or("?"),
                    String::from_utf8_lossy(e.data().as_slice())
                )
            })
            .collect();
        let (status, revoked_at) = if is_revoked {
            ("R", index_time(unix_of(cert.not_before())? + DAY))
        } else {
            ("V", String::new())
        };
        index.push_str(&format!(
            "{status}\t{expiry}\t{revoked_at}\t{serial}\tunknown\t{subject}\n"
        ));
    }
    // The revoked and expired test certificates share a member's subject.
    write(
        &dir.join("ocsp/index.txt.attr"),
        b"unique_subject = no\n",
        false,
    )?;
    write(&dir.join("ocsp/index.txt"), index.as_bytes(), false)
}

/// Summary of what `dev-init` made, for printing.
pub struct DevPki {
    pub dir: PathBuf,
    pub members: Vec<String>,
    pub signers: Vec<(String, String)>,
}

fn member_subject(org: &str, id: &str) -> Result<X509Name, ErrorStack> {
    name(&[("C", "VN"), ("O", org), ("OU", "members"), ("CN", id)])
}

/// Issue the client certificate (and, for agencies, the document-signing certificate) of every
/// member in `spec` that does not have one in `dir` yet. Returns what was issued.
fn issue_members(
    dir: &Path,
    inter: &Issued,
    spec: &DevPkiSpec<'_>,
    t: i64,
) -> Result<(Vec<String>, Vec<(String, String)>), DevPkiError> {
    let mut members = Vec::new();
    let mut signers = Vec::new();
    for m in spec.members {
        if !dir.join("members").join(format!("{}.pem", m.id)).exists() {
            let leaf = issue(
                &member_subject(spec.org, &m.id)?,
                ec_key()?,
                Some(inter),
                Profile::Client,
                t - DAY,
                t + 825 * DAY,
                &[],
            )?;
            write_leaf(&dir.join("members"), &m.id, &leaf, &[&inter.cert])?;
            members.push(m.id.clone());
        }
        if m.kind != "agency" || dir.join("signing").join(format!("{}.pem", m.id)).exists() {
            continue;
        }
        if let Some(organ) = m.organs.first() {
            let cn = if m.name.is_empty() {
                m.id.as_str()
            } else {
                m.name.as_str()
            };
            let signer = issue(
                &name(&[("C", "VN"), ("O", spec.org), ("OU", organ), ("CN", cn)])?,
                rsa_key()?,
                Some(inter),
                Profile::DocumentSigning,
                t - DAY,
                t + 825 * DAY,
                &[],
            )?;
            write_leaf(&dir.join("signing"), &m.id, &signer, &[&inter.cert])?;
            signers.push((m.id.clone(), organ.clone()));
        }
    }
    Ok((members, signers))
}

/// In an existing dev PKI, issue certificates for members added to the configuration since.
pub fn ensure_members(dir: &Path, spec: &DevPkiSpec<'_>) -> Result<Vec<String>, DevPkiError> {
    let read = |f: &str| {
        std::fs::read(dir.join(f)).map_err(|source| DevPkiError::Io {
            path: dir.join(f),
            source,
        })
    };
    let inter = Issued {
        cert: X509::from_pem(&read("intermediate.pem")?)?,
        key: PKey::private_key_from_pem(&read("intermediate.key")?)?,
    };
    let (members, _) = issue_members(dir, &inter, spec, now())?;
    if !members.is_empty() && dir.join("ocsp").exists() {
        write_ocsp_index(dir)?;
    }
    Ok(members)
}

/// Create the dev PKI in `dir`.
pub fn init(dir: &Path, spec: &DevPkiSpec<'_>, force: bool) -> Result<DevPki, DevPkiError> {
    if dir.join("ca.pem").exists() && !force {
        return Err(DevPkiError::Exists(dir.to_owned()));
    }
    let t = now();
    let org = spec.org;
    let root = issue(
        &name(&[("C", "VN"), ("O", org), ("CN", "lienthong dev root CA")])?,
        ec_key()?,
        None,
        Profile::Ca { path_len: Some(1) },
        t - DAY,
        t + 3650 * DAY,
        &[],
    )?;
    let inter = issue(
        &name(&[("C", "VN"), ("O", org), ("CN", "lienthong dev issuing CA")])?,
        ec_key()?,
        Some(&root),
        Profile::Ca { path_len: Some(0) },
        t - DAY,
        t + 1825 * DAY,
        &[],
    )?;
    write(&dir.join("ca.pem"), &root.cert.to_pem()?, false)?;
    write(
        &dir.join("ca.key"),
        &root.key.private_key_to_pem_pkcs8()?,
        true,
    )?;
    write(&dir.join("intermediate.pem"), &inter.cert.to_pem()?, false)?;
    write(
        &dir.join("intermediate.key"),
        &inter.key.private_key_to_pem_pkcs8()?,
        true,
    )?;

    let server = issue(
        &name(&[("C", "VN"), ("O", org), ("CN", "localhost")])?,
        ec_key()?,
        Some(&inter),
        Profile::Server,
        t - DAY,
        t + 825 * DAY,
        &["localhost", "127.0.0.1", "::1"],
    )?;
    write_leaf(dir, "server", &server, &[&inter.cert])?;

    let (members, signers) = issue_members(dir, &inter, spec, t)?;

    // Negative-test material. The revoked and expired certificates carry the subject of the
    // first member, so a test shows that revocation and expiry (not an unknown binding) reject them.
    let member_name = |id: &str| member_subject(org, id);
    let first = spec
        .members
        .first()
        .map(|m| m.id.as_str())
        .unwrap_or("nobody");
    let test_dir = dir.join("test");
    let revoked = issue(
        &member_name(first)?,
        ec_key()?,
        Some(&inter),
        Profile::Client,
        t - DAY,
        t + 825 * DAY,
        &[],
    )?;
    write_leaf(&test_dir, "revoked", &revoked, &[&inter.cert])?;
    let expired = issue(
        &member_name(first)?,
        ec_key()?,
        Some(&inter),
        Profile::Client,
        t - 400 * DAY,
        t - DAY,
        &[],
    )?;
    write_leaf(&test_dir, "expired", &expired, &[&inter.cert])?;
    let foreign_root = issue(
        &name(&[("C", "VN"), ("O", "Unknown CA"), ("CN", "foreign root")])?,
        ec_key()?,
        None,
        Profile::Ca { path_len: Some(1) },
        t - DAY,
        t + 3650 * DAY,
        &[],
    )?;
    write(
        &test_dir.join("foreign-ca.pem"),
        &foreign_root.cert.to_pem()?,
        false,
    )?;
    let foreign = issue(
        &member_name(first)?,
        ec_key()?,
        Some(&foreign_root),
        Profile::Client,
        t - DAY,
        t + 825 * DAY,
        &[],
    )?;
    write_leaf(&test_dir, "foreign", &foreign, &[&foreign_root.cert])?;

    let revoked_serial = revoked.cert.serial_number().to_bn()?.to_vec();
    let root_crl = build_crl(&root.cert, &root.key, 1, t - 60, 30, &[])?;
    let inter_crl = build_crl(&inter.cert, &inter.key, 1, t - 60, 30, &[revoked_serial])?;
    let mut crl = crl_pem(&root_crl);
    crl.push_str(&crl_pem(&inter_crl));
    write(&dir.join("crl.pem"), crl.as_bytes(), false)?;

    // OCSP: a delegated responder certificate and the index `openssl ocsp -index` serves.
    let responder = issue(
        &name(&[
            ("C", "VN"),
            ("O", org),
            ("CN", "lienthong dev OCSP responder"),
        ])?,
        ec_key()?,
        Some(&inter),
        Profile::OcspResponder,
        t - DAY,
        t + 825 * DAY,
        &[],
    )?;
    write_leaf(&dir.join("ocsp"), "responder", &responder, &[])?;
    write_ocsp_index(dir)?;

    Ok(DevPki {
        dir: dir.to_owned(),
        members,
        signers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::verify::X509VerifyFlags;
    use openssl::x509::{X509Crl, X509StoreContext};

    fn member(id: &str, kind: &str, organ: &str) -> MemberCfg {
        MemberCfg {
            id: id.into(),
            kind: kind.into(),
            organs: vec![organ.into()],
            ..Default::default()
        }
    }

    /// Cross-check with openssl's own verifier: chains verify, the revoked leaf is revoked per
    /// the CRL, the expired leaf is expired, the foreign leaf does not chain.
    #[test]
    fn dev_pki_verifies_with_openssl() {
        let dir = tempfile::tempdir().unwrap();
        let members = [
            member("vpubnd", "agency", "000.00.00.H99"),
            member("motcua", "onestop", "H99"),
        ];
        let out = init(
            dir.path(),
            &DevPkiSpec {
                members: &members,
                org: "test",
            },
            false,
        )
        .unwrap();
        assert_eq!(
            out.signers,
            vec![("vpubnd".to_string(), "000.00.00.H99".to_string())]
        );
        assert!(matches!(
            init(
                dir.path(),
                &DevPkiSpec {
                    members: &members,
                    org: "t"
                },
                false
            ),
            Err(DevPkiError::Exists(_))
        ));

        let load =
            |p: &str| X509::stack_from_pem(&std::fs::read(dir.path().join(p)).unwrap()).unwrap();
        let crl_pem = std::fs::read_to_string(dir.path().join("crl.pem")).unwrap();
        let crls: Vec<X509Crl> = crl_pem
            .split_inclusive("-----END X509 CRL-----\n")
            .map(|p| X509Crl::from_pem(p.as_bytes()).unwrap())
            .collect();
        assert_eq!(crls.len(), 2);

        let verify = |leaf_file: &str| -> (bool, i32) {
            let chain = load(leaf_file);
            let mut sb = X509StoreBuilder::new().unwrap();
            sb.add_cert(load("ca.pem").remove(0)).unwrap();
            // openssl's store takes CRLs through a lookup; write them to a file it can load.
            let lookup = sb
                .add_lookup(openssl::x509::store::X509Lookup::file())
                .unwrap();
            lookup
                .load_crl_file(dir.path().join("crl.pem"), openssl::ssl::SslFiletype::PEM)
                .unwrap();
            sb.set_flags(X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL)
                .unwrap();
            let store = sb.build();
            let mut inter = Stack::new().unwrap();
            for c in &chain[1..] {
                inter.push(c.clone()).unwrap();
            }
            let mut ctx = X509StoreContext::new().unwrap();
            ctx.init(&store, &chain[0], &inter, |c| {
                Ok((c.verify_cert()?, c.error().as_raw()))
            })
            .unwrap()
        };
        assert_eq!(verify("members/vpubnd.pem"), (true, 0));
        assert_eq!(verify("server.pem"), (true, 0));
        assert_eq!(verify("signing/vpubnd.pem"), (true, 0));
        assert_eq!(
            verify("test/revoked.pem").1,
            openssl_sys::X509_V_ERR_CERT_REVOKED
        );
        assert_eq!(
            verify("test/expired.pem").1,
            openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED
        );
        assert!(!verify("test/foreign.pem").0);

        // A member added later gets its certificates from the same intermediate.
        let more = [
            member("vpubnd", "agency", "000.00.00.H99"),
            member("sotp", "agency", "000.00.02.H99"),
        ];
        let issued = ensure_members(
            dir.path(),
            &DevPkiSpec {
                members: &more,
                org: "test",
            },
        )
        .unwrap();
        assert_eq!(issued, vec!["sotp".to_string()]);
        assert_eq!(verify("members/sotp.pem"), (true, 0));
        assert_eq!(verify("signing/sotp.pem"), (true, 0));

        let signer = load("signing/vpubnd.pem").remove(0);
        let ou: Vec<String> = signer
            .subject_name()
            .entries_by_nid(Nid::ORGANIZATIONALUNITNAME)
            .map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
            .collect();
        assert_eq!(ou, vec!["000.00.00.H99"]);
    }
}
