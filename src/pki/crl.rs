//! Building CRLs with the openssl crate's FFI layer (the safe crate has no CRL builder).

use foreign_types_shared::ForeignType;
use foreign_types_shared::ForeignTypeRef;
use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::BigNum;
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKeyRef, Private};
use openssl::x509::{X509Extension, X509Ref};

fn check(r: std::os::raw::c_int) -> Result<(), ErrorStack> {
    if r <= 0 {
        Err(ErrorStack::get())
    } else {
        Ok(())
    }
}

/// DER of a CRL issued by `issuer` (signed with `key`), valid from `last` for `valid_days`,
/// revoking `revoked` serials.
pub fn build_crl(
    issuer: &X509Ref,
    key: &PKeyRef<Private>,
    crl_number: u32,
    last_update_unix: i64,
    valid_days: u32,
    revoked: &[Vec<u8>],
) -> Result<Vec<u8>, ErrorStack> {
    let last = Asn1Time::from_unix(last_update_unix)?;
    let next = Asn1Time::from_unix(last_update_unix + i64::from(valid_days) * 86_400)?;
    // CRL number extension (2.5.29.20): INTEGER.
    let mut num_der = vec![0x02];
    let n = crl_number.to_be_bytes();
    let first = n.iter().position(|b| *b != 0).unwrap_or(3);
    let mut body = n[first..].to_vec();
    if body[0] & 0x80 != 0 {
        body.insert(0, 0);
    }
    num_der.push(body.len() as u8);
    num_der.extend(body);
    let crl_number_ext = X509Extension::new_from_der(
        &*Asn1Object::from_str("2.5.29.20")?,
        false,
        &*Asn1OctetString::new_from_bytes(&num_der)?,
    )?;
    // Authority key identifier (2.5.29.35): SEQUENCE { [0] keyIdentifier }.
    let aki_ext = match issuer.subject_key_id() {
        Some(ski) => {
            let id = ski.as_slice();
            let mut der = vec![0x30, (id.len() + 2) as u8, 0x80, id.len() as u8];
            der.extend_from_slice(id);
            Some(X509Extension::new_from_der(
                &*Asn1Object::from_str("2.5.29.35")?,
                false,
                &*Asn1OctetString::new_from_bytes(&der)?,
            )?)
        }
        None => None,
    };

    // SAFETY: every pointer comes from a live openssl object; ownership transfers follow the
    // openssl API (add0 takes ownership, set1/add_ext copy); the CRL is freed on every path.
    unsafe {
        let crl = openssl_sys::X509_CRL_new();
        if crl.is_null() {
            return Err(ErrorStack::get());
        }
        struct Guard(*mut openssl_sys::X509_CRL);
        impl Drop for Guard {
            fn drop(&mut self) {
                unsafe { openssl_sys::X509_CRL_free(self.0) }
            }
        }
        let guard = Guard(crl);
        check(openssl_sys::X509_CRL_set_version(crl, 1))?;
        check(openssl_sys::X509_CRL_set_issuer_name(
            crl,
            issuer.subject_name().as_ptr(),
        ))?;
        check(openssl_sys::X509_CRL_set1_lastUpdate(crl, last.as_ptr()))?;
        check(openssl_sys::X509_CRL_set1_nextUpdate(crl, next.as_ptr()))?;
        for serial in revoked {
            let rev = openssl_sys::X509_REVOKED_new();
            if rev.is_null() {
                return Err(ErrorStack::get());
            }
            let sn: Asn1Integer = BigNum::from_slice(serial)?.to_asn1_integer()?;
            let date = Asn1Time::from_unix(last_update_unix)?;
            if openssl_sys::X509_REVOKED_set_serialNumber(rev, sn.as_ptr()) <= 0
                || openssl_sys::X509_REVOKED_set_revocationDate(rev, date.as_ptr()) <= 0
                || openssl_sys::X509_CRL_add0_revoked(crl, rev) <= 0
            {
                openssl_sys::X509_REVOKED_free(rev);
                return Err(ErrorStack::get());
            }
        }
        check(openssl_sys::X509_CRL_add_ext(
            crl,
            crl_number_ext.as_ptr(),
            -1,
        ))?;
        if let Some(aki) = &aki_ext {
            check(openssl_sys::X509_CRL_add_ext(crl, aki.as_ptr(), -1))?;
        }
        check(openssl_sys::X509_CRL_sort(crl))?;
        check(
            openssl_sys::X509_CRL_sign(crl, key.as_ptr(), MessageDigest::sha256().as_ptr()) as i32,
        )?;
        let len = openssl_sys::i2d_X509_CRL(crl, std::ptr::null_mut());
        if len <= 0 {
            return Err(ErrorStack::get());
        }
        let mut buf = vec![0u8; len as usize];
        let mut p = buf.as_mut_ptr();
        check(openssl_sys::i2d_X509_CRL(crl, &mut p))?;
        drop(guard);
        Ok(buf)
    }
}

/// PEM armour for a DER CRL.
pub fn crl_pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN X509 CRL-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END X509 CRL-----\n");
    out
}
