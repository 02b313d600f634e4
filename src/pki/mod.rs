//! Certificates: the dev/test PKI (`lienthong pki dev-init`), signer validation (chain,
//! usage, CRL/OCSP, with cached answers and a grace period: [`cache`]), and the trust decision
//! with signer ↔ organ bindings ([`trust`]).

pub mod cache;
pub mod crl;
pub mod dev;
pub mod ocsp;
pub mod trust;
pub mod validate;
