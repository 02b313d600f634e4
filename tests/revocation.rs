//! Revocation answers over time, in-process so that the cache of one `Trust` lives across
//! calls: a real `openssl ocsp` responder behind a loopback proxy that counts the requests it
//! gets, and CRLs with chosen dates from the dev PKI's CAs. The clock (`now`) is moved by the
//! test; the verification time stays at the signing time.

#[path = "common/xmlsec.rs"]
mod xmlsec;

use lienthong::dsig::verify::{verify, Verified};
use lienthong::pki::crl::build_crl;
use lienthong::pki::trust::{Assessment, Trust};
use lienthong::pki::validate::{Revocation, TrustStore};
use openssl::x509::{X509Crl, X509};
use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use xmlsec::{dev_pki, sign_with_xmlsec, OcspResponder};

const GRACE: i64 = 3_600;

/// A loopback TCP proxy to `upstream` that counts the connections it accepts; when the
/// upstream is gone it closes the client's connection unanswered.
fn counting_proxy(upstream: u16) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let (Ok(mut from_client), Ok(mut to_server)) = (client.try_clone(), server.try_clone())
            else {
                continue;
            };
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_client, &mut to_server);
                let _ = to_server.shutdown(Shutdown::Write);
            });
            let _ = std::io::copy(&mut server, &mut client);
            let _ = client.flush();
            let _ = client.shutdown(Shutdown::Both);
        }
    });
    (format!("http://127.0.0.1:{port}/"), count)
}

fn cert(path: &Path) -> X509 {
    X509::from_pem(&std::fs::read(path).unwrap()).unwrap()
}

/// The root's CRL from the dev PKI's `crl.pem` (the first of the two).
fn root_crl(pki: &Path) -> X509Crl {
    let crls = std::fs::read_to_string(pki.join("crl.pem")).unwrap();
    let first = crls
        .split_inclusive("-----END X509 CRL-----\n")
        .next()
        .unwrap();
    X509Crl::from_pem(first.as_bytes()).unwrap()
}

/// Anchors: the root; CRLs: the root's and `extra`; the intermediate in the pool.
fn store(pki: &Path, extra: Vec<X509Crl>) -> TrustStore {
    let mut crls = vec![root_crl(pki)];
    crls.extend(extra);
    TrustStore::new(
        vec![cert(&pki.join("ca.pem"))],
        vec![cert(&pki.join("intermediate.pem"))],
        crls,
    )
}

fn signed(dir: &Path, pki: &Path, stem: &str) -> Verified {
    let file = sign_with_xmlsec(
        dir,
        &pki.join(format!("{stem}.key")),
        &pki.join(format!("{stem}.pem")),
        &stem.replace('/', "-"),
    );
    verify(std::fs::read(file).unwrap().as_slice(), &Default::default()).unwrap()
}

/// A dev PKI (in a temporary directory, kept alive by the first item) and documents signed by
/// a good and by a revoked certificate.
fn fixture() -> (tempfile::TempDir, PathBuf, Verified, Verified) {
    let dir = tempfile::tempdir().unwrap();
    let pki = dev_pki(dir.path());
    let good = signed(dir.path(), &pki, "signing/vpubnd");
    let revoked = signed(dir.path(), &pki, "test/revoked");
    (dir, pki, good, revoked)
}

fn next_update(a: &Assessment) -> i64 {
    let s = a.revocation.next_update.as_deref().expect("next_update");
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

fn summary(a: &Assessment) -> (bool, &'static str, Option<&'static str>, bool) {
    (
        a.valid,
        a.revocation.status,
        a.revocation.source,
        a.revocation.stale,
    )
}

fn warned_stale(a: &Assessment) -> bool {
    a.warnings
        .iter()
        .any(|w| w.contains("stale within grace") && w.contains("s past its nextUpdate"))
}

#[test]
fn ocsp_answers_are_cached_until_next_update_then_used_within_grace() {
    let (_dir, pki, good, revoked) = fixture();
    let mut responder = OcspResponder::start(&pki, 5);
    let (url, asked) = counting_proxy(responder.port);
    let asked = || asked.load(Ordering::SeqCst);
    let mut trust = Trust::new(
        store(&pki, Vec::new()),
        Revocation::Ocsp {
            url: Some(url),
            timeout: Duration::from_secs(5),
        },
    );
    trust.grace = Duration::from_secs(GRACE as u64);
    let at = chrono::Utc::now().timestamp();

    // First: asked.
    let a = trust.assess_as_of(&good, at, at);
    assert_eq!(summary(&a), (true, "good", Some("ocsp"), false), "{a:?}");
    assert_eq!(asked(), 1);
    let next = next_update(&a);
    assert!((at + 250..=at + 330).contains(&(next)), "-nmin 5: {a:?}");

    // Within nextUpdate: from the cache, the responder is not asked.
    let a = trust.assess_as_of(&good, at, next - 1);
    assert_eq!(summary(&a), (true, "good", Some("cache"), false), "{a:?}");
    assert_eq!(next_update(&a), next);
    assert_eq!(asked(), 1);

    // Past nextUpdate: asked again, the fresh answer replaces the cached one.
    let a = trust.assess_as_of(&good, at, next + 1);
    assert_eq!(summary(&a), (true, "good", Some("ocsp"), false), "{a:?}");
    assert_eq!(asked(), 2);
    let next = next_update(&a);

    let r = trust.assess_as_of(&revoked, at, at);
    assert_eq!((r.valid, r.revocation.status), (false, "revoked"), "{r:?}");
    assert!(r.reasons.contains(&"certificate_revoked"));
    assert_eq!(asked(), 3);
    let revoked_next = next_update(&r);

    responder.kill();

    // Responder down, within grace: good, from the cache, marked stale, with a warning.
    let a = trust.assess_as_of(&good, at, next + GRACE / 2);
    assert_eq!(summary(&a), (true, "good", Some("cache"), true), "{a:?}");
    assert!(warned_stale(&a), "{:?}", a.warnings);
    assert_eq!(asked(), 4, "the responder is asked first");

    // Beyond grace: unknown, fail closed.
    let a = trust.assess_as_of(&good, at, next + GRACE + 1);
    assert_eq!((a.valid, a.revocation.status), (false, "unknown"), "{a:?}");
    assert_eq!(a.reasons, vec!["revocation_unknown"], "{a:?}");
    assert!(a.warnings.iter().any(|w| w.starts_with("OCSP ")), "{a:?}");
    assert_eq!(asked(), 5);

    // Revoked stays revoked, whatever its age.
    let r = trust.assess_as_of(&revoked, at, revoked_next + 10 * GRACE);
    assert_eq!(r.revocation.status, "revoked", "{r:?}");
    assert!(r.reasons.contains(&"certificate_revoked"));
    assert!(!r.reasons.contains(&"revocation_unknown"));

    // No grace: strictly fail closed one second past nextUpdate.
    trust.grace = Duration::ZERO;
    let a = trust.assess_as_of(&good, at, next + 1);
    assert_eq!(a.reasons, vec!["revocation_unknown"], "{a:?}");
    assert!(!a.revocation.stale);
}

#[test]
fn stale_crl_is_used_within_grace_and_refused_beyond() {
    let (_dir, pki, good, revoked) = fixture();
    let inter = cert(&pki.join("intermediate.pem"));
    let key = openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(pki.join("intermediate.key")).unwrap(),
    )
    .unwrap();
    let revoked_serial = cert(&pki.join("test/revoked.pem"))
        .serial_number()
        .to_bn()
        .unwrap()
        .to_vec();
    let at = chrono::Utc::now().timestamp();
    // The intermediate's CRL: issued an hour ago, nextUpdate one day later.
    let last = at - 3_600;
    let next = last + 86_400;
    let crl = build_crl(&inter, &key, 7, last, 1, &[revoked_serial]).unwrap();
    let mut trust = Trust::new(
        store(&pki, vec![X509Crl::from_der(&crl).unwrap()]),
        Revocation::Crl,
    );
    trust.grace = Duration::from_secs(GRACE as u64);

    let a = trust.assess_as_of(&good, at, at);
    assert_eq!(summary(&a), (true, "good", Some("crl"), false), "{a:?}");
    assert_eq!(
        next_update(&a),
        next,
        "the earliest nextUpdate: the intermediate's CRL"
    );
    // Verification time before the CRL was issued: its dates are judged at now, not at `at`.
    let a = trust.assess_as_of(&good, last - 600, at);
    assert_eq!(summary(&a), (true, "good", Some("crl"), false), "{a:?}");

    let a = trust.assess_as_of(&good, at, next + GRACE / 2);
    assert_eq!(summary(&a), (true, "good", Some("crl"), true), "{a:?}");
    assert!(warned_stale(&a), "{:?}", a.warnings);

    let a = trust.assess_as_of(&good, at, next + GRACE + 1);
    assert_eq!((a.valid, a.revocation.status), (false, "unknown"), "{a:?}");
    assert_eq!(a.reasons, vec!["revocation_unknown"]);

    // A stale CRL that lists the certificate still revokes it.
    let r = trust.assess_as_of(&revoked, at, next + GRACE + 1);
    assert_eq!(r.revocation.status, "revoked", "{r:?}");
    assert!(r.reasons.contains(&"certificate_revoked"));

    trust.grace = Duration::ZERO;
    let a = trust.assess_as_of(&good, at, next + 1);
    assert_eq!(a.reasons, vec!["revocation_unknown"], "{a:?}");

    // The store remembers the chain it validated above; that memory ends with the chain's
    // validity: judged one second past the signer's notAfter, it is expired.
    let epoch = openssl::asn1::Asn1Time::from_unix(0).unwrap();
    let d = epoch.diff(good.certificates[0].not_after()).unwrap();
    let not_after = i64::from(d.days) * 86_400 + i64::from(d.secs);
    trust.grace = Duration::from_secs(GRACE as u64);
    assert!(trust.assess_as_of(&good, not_after - 1, at).valid);
    let a = trust.assess_as_of(&good, not_after + 1, at);
    assert!(a.reasons.contains(&"certificate_expired"), "{a:?}");
}

/// Verdicts on a signer are remembered between packages; what they rest on still decides: the
/// verification time (expiry), and the message's own `From` organ.
#[test]
fn remembered_verdicts_follow_the_clock_and_the_message() {
    let (_dir, pki, mut good, revoked) = fixture();
    let pem = std::fs::read(pki.join("crl.pem")).unwrap();
    let crls: Vec<X509Crl> = String::from_utf8(pem)
        .unwrap()
        .split_inclusive("-----END X509 CRL-----\n")
        .map(|c| X509Crl::from_pem(c.as_bytes()).unwrap())
        .collect();
    assert_eq!(crls.len(), 2);
    let trust = Trust::new(
        TrustStore::new(
            vec![cert(&pki.join("ca.pem"))],
            vec![cert(&pki.join("intermediate.pem"))],
            crls,
        ),
        Revocation::Crl,
    );
    let at = chrono::Utc::now().timestamp();
    let first = trust.assess_as_of(&good, at, at);
    assert!(first.valid, "{first:?}");
    let again = trust.assess_as_of(&good, at + 1, at + 1);
    assert!(again.valid, "{again:?}");
    assert_eq!(again.signer.fingerprint, first.signer.fingerprint);
    assert_eq!(again.revocation.next_update, first.revocation.next_update);
    assert_eq!(again.chain, first.chain);

    // Another From organ in the message: not bound, whatever was remembered.
    let from = good.from_organ.replace("000.00.99.H99".into());
    let other = trust.assess_as_of(&good, at + 2, at + 2);
    assert_eq!(other.reasons, vec!["signer_not_bound"], "{other:?}");
    good.from_organ = from;
    assert!(trust.assess_as_of(&good, at + 3, at + 3).valid);

    // Verified after the signer's certificate expired: refused, though a verdict is held.
    let not_after = good.certificates[0].not_after().to_owned();
    let expiry = lienthong::pki::cache::unix_of(&not_after).unwrap();
    let late = trust.assess_as_of(&good, expiry + 10, at + 4);
    assert!(late.reasons.contains(&"certificate_expired"), "{late:?}");
    assert!(trust.assess_as_of(&good, at + 5, at + 5).valid);

    // A revoked signer is refused every time.
    for t in [at, at + 1] {
        let r = trust.assess_as_of(&revoked, t, t);
        assert!(r.reasons.contains(&"certificate_revoked"), "{r:?}");
    }
}
