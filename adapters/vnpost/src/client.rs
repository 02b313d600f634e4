//! The gateway's calls to NGSP. TO BE IMPLEMENTED (see the crate's task description).

use crate::wire::{Answer, Order, Page};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("VNPost không trả lời kịp")]
    Timeout,
    #[error("không kết nối được VNPost: {0}")]
    Transport(String),
    #[error("VNPost không cấp token (HTTP {status}): {body}")]
    Token { status: u16, body: String },
    #[error("VNPost trả lỗi HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("VNPost từ chối (Status {status}): {message}")]
    Refused { status: String, message: String },
    #[error("câu trả lời của VNPost không đọc được: {0}")]
    BadAnswer(String),
}

impl Error {
    /// Worth trying again later (timeouts, transport, 5xx, 429, token service trouble);
    /// false for refusals and 4xx other than 401/408/429.
    pub fn is_transient(&self) -> bool {
        todo!()
    }
}

/// The four NGSP URLs, full (the profile gives them full: `apiGetToken`, `apiPostOrder`,
/// `apiGetOrderTracking`, `apiCancelOrder`).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub token: String,
    pub order: String,
    pub tracking: String,
    pub cancel: String,
}

impl Endpoints {
    /// `base` + `/token`, `/order/post`, `/order/tracking`, `/order/cancel` (the simulator's).
    pub fn under(base: &str) -> Endpoints {
        todo!()
    }
}

pub struct Client {
    _p: (),
}

impl Client {
    /// `customer_key`/`secret_key` for the token call's Basic auth; `success` lists the
    /// `Status` values meaning success (assumed: configurable); `timeout` per call.
    pub fn new(
        http: reqwest::Client,
        endpoints: Endpoints,
        customer_key: &str,
        secret_key: &str,
        success: Vec<String>,
        timeout: Duration,
    ) -> Client {
        todo!()
    }

    /// Create an order. Ok only when `Status` is a success value.
    pub async fn create_order(&self, order: &Order) -> Result<Answer, Error> {
        todo!()
    }

    /// Cancel an order.
    pub async fn cancel_order(&self, customer_code: &str, order_number: &str) -> Result<Answer, Error> {
        todo!()
    }

    /// Events after `last_id`, at most `page_size`.
    pub async fn tracking(&self, page_size: u32, last_id: &str) -> Result<Page, Error> {
        todo!()
    }

    /// Tokens fetched so far (for tests and metrics).
    pub fn tokens_fetched(&self) -> u64 {
        todo!()
    }
}
