//! The edge: everything between a TCP connection and a handler. Each concern is one small
//! module composed as a layer, so that handlers hold only business logic:
//!
//! `listener` (TLS accept loop, client certificate → [`ConnInfo`]) → `request_id` (ids, logs,
//! metrics) → `body_limit` → `timeout` → `guard` (identity → rate limit → access rule → audit)
//! → handler. Rejections are [`Problem`]s.

pub mod body_limit;
pub mod guard;
pub mod listener;
pub mod problem;
pub mod rate_limit;
pub mod request_id;
pub mod timeout;
pub mod tls;
pub mod token;

pub use guard::{Access, AuthMethod, Caller};
pub use problem::Problem;
pub use request_id::RequestId;

use crate::config::Config;
use crate::members::{ClientCert, Registry};
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

/// Facts about the connection a request arrived on, set by the accept loop.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub remote: SocketAddr,
    /// The client certificate, if one was presented; it passed chain, expiry and CRL checks.
    pub client_cert: Option<Arc<ClientCert>>,
}

/// Shared state of the member-facing edge.
#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Inner>,
}

pub struct Inner {
    pub config: Arc<Config>,
    pub registry: Arc<Registry>,
    pub store: Store,
    pub tokens: token::TokenIssuer,
    pub limits: rate_limit::RateLimits,
    pub exchange: std::sync::Arc<crate::edocs::Exchange>,
    pub calendar: Arc<crate::calendar::Calendar>,
    pub dossiers: Arc<crate::dossiers::Dossiers>,
    pub citizens: Arc<crate::citizens::Citizens>,
    /// `None` when `adapters.paygov.enabled` is off.
    pub payments: Option<Arc<crate::payments::Payments>>,
    /// `None` when `adapters.vnpost.enabled` is off.
    pub postal: Option<Arc<crate::postal::Postal>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}
