//! lienthong: a secure integration gateway for Vietnamese e-government (the LGSP role).
//!
//! See `docs/architecture.md` for the rooms and the doors between them.

pub mod audit;
pub mod calendar;
pub mod citizens;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod dossiers;
pub mod dsig;
pub mod edge;
pub mod edocs;
pub mod edxml;
pub mod http;
pub mod members;
pub mod notices;
pub mod payments;
pub mod postal;
pub mod pki;
pub mod portal;
pub mod queue;
pub mod routing;
pub mod server;
pub mod store;
pub mod verify_cmd;
pub mod xml;

pub use lienthong_contract as contract;
