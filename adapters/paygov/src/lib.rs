//! Adapter for PayGov, the payment platform of the national public service portal
//! (`shared/domain/paygov.md`): the `MaXacThuc` checksums in their three field orders
//! ([`checksum`]), the messages ([`wire`]), the gateway's calls — init, status check, receipt —
//! with the platform's answers verified ([`client`]), and a simulator of the platform
//! ([`sim`]). The gateway's side (payments table, `POST /v1/payments`, the callback route,
//! reconciliation) is `src/payments/` of the `lienthong` crate.

pub mod checksum;
pub mod client;
pub mod sim;
pub mod wire;
