//! The canonical model of lienthong and the contract between the gateway core and its adapters.
//!
//! Adapter crates (`adapters/<system>`) and the gateway both depend on this crate, so it depends
//! on nothing of ours. Wire names (Vietnamese) stay at the adapter edge; here every type has an
//! English name and a doc comment giving the Vietnamese term.

pub mod citizen;
pub mod dossier;
pub mod edoc;
pub mod organ;
pub mod service;

pub use organ::{OrganId, OrganIdError, OrganScheme};
pub use service::{Service, UnknownService};
