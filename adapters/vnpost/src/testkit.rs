//! Test helpers: a simulator on 127.0.0.1:0 and a client for it.

use crate::client::{Client, Endpoints};
use crate::sim::{serve, Sim, SimConfig};
use crate::wire::Order;
use std::sync::Arc;
use std::time::Duration;

/// A simulator being served; stopped when dropped.
pub struct Running {
    pub url: String,
    pub sim: Arc<Sim>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Running {
    /// A client with the default sandbox credentials and `"200"` as success.
    pub fn client(&self) -> Client {
        self.client_with("sandbox-key", "sandbox-secret")
    }

    pub fn client_with(&self, key: &str, secret: &str) -> Client {
        Client::new(
            reqwest::Client::new(),
            Endpoints::under(&format!("{}/", self.url)),
            key,
            secret,
            vec!["200".into()],
            Duration::from_secs(5),
        )
    }

    /// POST a control (`/_sim/...`) with a JSON body; the HTTP status.
    pub async fn control(&self, path: &str, body: serde_json::Value) -> u16 {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("control call");
        r.status().as_u16()
    }
}

/// Serve a simulator with `cfg` on a free local port.
pub async fn start(cfg: SimConfig) -> Running {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let sim = Sim::new(cfg);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(sim.clone(), l, async move {
        let _ = rx.await;
    }));
    Running {
        url,
        sim,
        stop: Some(tx),
    }
}

/// An order of the default customer numbered `number`.
pub fn order(number: &str) -> Order {
    Order {
        customer_code: "VIDU_SNV".into(),
        order_number: number.into(),
        cod_amount: 0.0,
        sender_province: 99,
        sender_district: 9901,
        sender_address: "Số 1 đường Mẫu, phường Thử Nghiệm, tỉnh Ví Dụ".into(),
        sender_name: "Sở Nội vụ tỉnh Ví Dụ".into(),
        sender_email: "motcua.snv@vidu.example".into(),
        sender_tel: "0299000001".into(),
        sender_desc: "Giấy xác nhận thử nghiệm (01 bản chính)".into(),
        description: format!("Trả kết quả hồ sơ {number}"),
        receiver_name: "Đỗ Thị Thử".into(),
        receiver_address: "Số 9 ngõ Giả Lập, phường Thử Nghiệm, tỉnh Ví Dụ".into(),
        receiver_tel: "0900000003".into(),
        receiver_email: "do.thi.thu@mail.example".into(),
        receiver_province: 99,
        receiver_district: 9902,
    }
}

/// The text of `shared/domain/samples/<name>`, or `None` (with a note) when `shared/` is not
/// next to the repository, so that tests using it skip.
pub fn shared_sample(name: &str) -> Option<String> {
    let path = format!(
        "{}/../../../shared/domain/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).ok();
    if text.is_none() {
        eprintln!("skipped: {path} absent");
    }
    text
}
