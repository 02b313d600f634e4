//! Adapter for PayGov, the payment platform of the national public service portal
//! (`shared/domain/paygov.md`): the `MaXacThuc` checksums in their three field orders
//! ([`checksum`]), the messages ([`wire`]), the gateway's calls — init, status check, receipt —
//! with the platform's answers verified ([`client`]), and a simulator of the platform
//! ([`sim`]).
//!
//! Not yet wired into the gateway (issue 6): payments table, `POST /v1/payments`, the callback
//! route, reconciliation.

pub mod checksum;
pub mod client;
pub mod sim;
pub mod wire;
