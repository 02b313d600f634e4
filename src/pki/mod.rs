//! Certificates. For now: the dev/test PKI (`lienthong pki dev-init`). The trust core (chain
//! building for signers, CRL/OCSP with cache, signer ↔ organ binding) lands here next.

pub mod crl;
pub mod dev;
pub mod ocsp;
pub mod validate;
