//! Adapter for VNPost's public-utility postal service (NGSP, `shared/domain/vnpost.md`): the
//! messages ([`wire`]), the gateway's calls — token (OAuth2 client credentials, cached and
//! renewed), create order, cancel, tracking list — ([`client`]), and a simulator of the service
//! with token expiry, paging and delivery events over time ([`sim`]). The gateway's side (orders
//! table, `POST /v1/postal/orders`, the order queue, the tracking poller) is `src/postal/` of the
//! `lienthong` crate.

pub mod client;
pub mod sim;
pub mod wire;

#[cfg(test)]
mod testkit;
