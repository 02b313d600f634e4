//! The gateway's calls to PayGov: init, status check, receipt. Answers from the platform are
//! verified before anything is believed (a status answer's checksum in the callback order).

use crate::checksum;
use crate::wire::{self, Init, Partner};
use serde_json::{Map, Value};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("PayGov không trả lời kịp")]
    Timeout,
    #[error("không kết nối được PayGov: {0}")]
    Transport(String),
    #[error("PayGov từ chối (mã {code}): {message}")]
    Refused { code: String, message: String },
    #[error("câu trả lời của PayGov không đọc được hoặc sai mã xác thực: {0}")]
    BadAnswer(String),
}

/// `TrangThaiGD` of a status check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnState {
    Paid,
    Pending,
    Failed,
}

/// A verified status-check answer.
#[derive(Debug, Clone)]
pub struct Status {
    pub state: TxnState,
    /// The answer as received (callback fields, `MaXacThuc` verified).
    pub fields: Map<String, Value>,
}

/// Where the platform's three calls live, relative to the base URL.
#[derive(Debug, Clone)]
pub struct Paths {
    pub init: String,
    pub check: String,
    pub receipt: String,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            init: "/init".into(),
            check: "/check".into(),
            receipt: "/receipt".into(),
        }
    }
}

pub struct Client {
    http: reqwest::Client,
    base_url: String,
    partner: Partner,
    timeout: Duration,
    paths: Paths,
    /// `AccessToken`, sent as `Authorization: Bearer …` when set.
    bearer: Option<String>,
}

impl Client {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        partner: Partner,
        timeout: Duration,
    ) -> Client {
        Client {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            partner,
            timeout,
            paths: Paths::default(),
            bearer: None,
        }
    }

    /// Use these paths instead of `/init`, `/check`, `/receipt`.
    pub fn with_paths(mut self, paths: Paths) -> Client {
        self.paths = paths;
        self
    }

    /// Send `Authorization: Bearer <token>` on every call.
    pub fn with_bearer(mut self, token: Option<String>) -> Client {
        self.bearer = token;
        self
    }

    pub fn partner(&self) -> &Partner {
        &self.partner
    }

    async fn post(
        &self,
        path: &str,
        body: &Map<String, Value>,
    ) -> Result<reqwest::Response, Error> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base_url))
            .timeout(self.timeout)
            .json(body);
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t);
        }
        req.send().await.map_err(|e| {
            if e.is_timeout() {
                Error::Timeout
            } else {
                Error::Transport(e.to_string())
            }
        })
    }

    /// Start a payment: the URL the citizen is sent to (`UrlThanhToan`).
    pub async fn init(&self, i: &Init) -> Result<String, Error> {
        let a: Value = self
            .post(&self.paths.init, &i.message(&self.partner))
            .await?
            .json()
            .await
            .map_err(|e| Error::BadAnswer(e.to_string()))?;
        let code = a["error_code"].as_str().unwrap_or("").to_owned();
        let message = a["message"].as_str().unwrap_or("").to_owned();
        if code != "0" {
            return Err(Error::Refused { code, message });
        }
        let inner: Value =
            serde_json::from_str(&message).map_err(|e| Error::BadAnswer(e.to_string()))?;
        inner["UrlThanhToan"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::BadAnswer("no UrlThanhToan".into()))
    }

    /// Ask for the state of `reference` (initiated at `time`); the answer's checksum is checked.
    pub async fn status(&self, reference: &str, time: &str) -> Result<Status, Error> {
        let req = wire::check(&self.partner, &self.partner.check_kind, reference, time);
        let a: Value = self
            .post(&self.paths.check, &req)
            .await?
            .json()
            .await
            .map_err(|e| Error::BadAnswer(e.to_string()))?;
        let m = a.as_object().cloned().unwrap_or_default();
        let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        if text("MaLoi") != "00" {
            return Err(Error::Refused {
                code: text("MaLoi"),
                message: text("MoTaLoi"),
            });
        }
        if !checksum::verify(
            &m,
            checksum::CALLBACK,
            &self.partner.secret,
            &text("MaXacThuc"),
        ) || text("MaThamChieu") != reference
        {
            return Err(Error::BadAnswer("status answer checksum".into()));
        }
        let state = match text("TrangThaiGD").as_str() {
            "1" => TxnState::Paid,
            "3" => TxnState::Pending,
            "4" => TxnState::Failed,
            other => return Err(Error::BadAnswer(format!("TrangThaiGD {other:?}"))),
        };
        Ok(Status { state, fields: m })
    }

    /// The electronic receipt (PDF) of a paid `reference`.
    pub async fn receipt(&self, reference: &str, time: &str) -> Result<Vec<u8>, Error> {
        let req = wire::check(&self.partner, "RECEIPT", reference, time);
        let r = self.post(&self.paths.receipt, &req).await?;
        if !r.status().is_success() {
            return Err(Error::Refused {
                code: r.status().as_u16().to_string(),
                message: "no receipt".into(),
            });
        }
        let bytes = r
            .bytes()
            .await
            .map_err(|e| Error::BadAnswer(e.to_string()))?;
        if !bytes.starts_with(b"%PDF-") {
            return Err(Error::BadAnswer("not a PDF".into()));
        }
        Ok(bytes.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Sim, SimConfig};
    use serde_json::json;

    fn partner(secret: &[u8]) -> Partner {
        Partner {
            code: "VIDU01".into(),
            secret: secret.to_vec(),
            version: "1.0.6".into(),
            check_kind: "CHECK".into(),
        }
    }

    /// The client against the simulator over real HTTP: init, a pending status, payment, a
    /// paid status with a verified checksum, the receipt; a wrong secret is refused.
    #[tokio::test]
    async fn client_and_simulator_speak_the_same_protocol() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = Sim::new(
            SimConfig {
                partner: "VIDU01".into(),
                secret: b"sandbox-secret".to_vec(),
                callback_url: None,
                callback_kind: "CONFIRM".into(),
            },
            reqwest::Client::new(),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let app = sim.router();
        tokio::spawn(async move { axum::serve(l, app).await });
        let c = Client::new(
            reqwest::Client::new(),
            &url,
            partner(b"sandbox-secret"),
            Duration::from_secs(5),
        );
        let i = Init {
            reference: "dvc0001".into(),
            amount: 50_000,
            description: "Lệ phí hồ sơ".into(),
            time: "20260302143000".into(),
            ip: "127.0.0.1".into(),
            receipt: json!({"MaHoSo": "H99-1"}),
        };
        let pay_url = c.init(&i).await.unwrap();
        assert!(pay_url.ends_with("/dvc0001"), "{pay_url}");
        assert!(
            matches!(c.init(&i).await, Err(Error::Refused { .. })),
            "reference reused"
        );
        let s = c.status("dvc0001", "20260302143000").await.unwrap();
        assert_eq!(s.state, TxnState::Pending);
        assert!(c.receipt("dvc0001", "20260302143000").await.is_err());
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{url}/_sim/pay"))
            .json(&json!({"reference": "dvc0001", "outcome": "paid"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let s = c.status("dvc0001", "20260302143000").await.unwrap();
        assert_eq!(s.state, TxnState::Paid);
        assert_eq!(s.fields["SoTien"], "50000");
        let pdf = c.receipt("dvc0001", "20260302143000").await.unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let wrong = Client::new(http, &url, partner(b"wrong"), Duration::from_secs(5));
        assert!(matches!(
            wrong
                .init(&Init {
                    reference: "dvc0002".into(),
                    ..i
                })
                .await,
            Err(Error::Refused { .. })
        ));
        assert!(matches!(
            wrong.status("dvc0001", "20260302143000").await,
            Err(Error::Refused { .. })
        ));
    }
}
