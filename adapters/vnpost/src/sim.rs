//! A simulator of NGSP. TO BE IMPLEMENTED (see the crate's task description).

use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Basic-auth pair the token call must present.
    pub customer_key: String,
    pub secret_key: String,
    /// The customer code orders must carry; the tracking feed is this customer's.
    pub customer_code: String,
    /// `expires_in` of issued tokens; a token is refused (401) once expired.
    pub token_ttl_secs: u64,
    /// `Status` of successful answers (sent as a number when it parses as one).
    pub success_status: String,
    /// The carrier codes an order goes through on its own, with their messages, when
    /// `step_interval_ms` > 0 (default 1 Đã nhận bưu gửi, 2 Đang vận chuyển, 4 Phát thành công).
    pub steps: Vec<(String, String)>,
    /// 0: orders move only by `/_sim/advance`.
    pub step_interval_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        todo!()
    }
}

pub struct Sim {
    _p: (),
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Arc<Sim> {
        todo!()
    }

    pub fn router(self: &Arc<Self>) -> axum::Router {
        todo!()
    }
}

/// Serve the simulator on `listener` until `stop` completes (and run its clock when
/// `step_interval_ms` > 0).
pub async fn serve(
    sim: Arc<Sim>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    todo!()
}
