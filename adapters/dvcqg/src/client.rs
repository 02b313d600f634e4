//! The portal's session client: login, one re-login when the portal says the session is gone,
//! and one method per service. It holds no queue and never retries on its own beyond that
//! re-login: the gateway's job queue decides when to try again.

use crate::wire::{Answer, Login, OnlineDossier, WireDossier, WireProgress};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::Mutex;

/// Where and how to reach the portal.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `adapter_url`, e.g. `https://dichvucong.gov.vn/adapter` (no trailing slash needed).
    pub base_url: String,
    /// `auth_endpoint`, appended to `base_url`.
    pub auth_endpoint: String,
    /// `integration_endpoint`, appended to `base_url`.
    pub integration_endpoint: String,
    pub username: String,
    pub password: String,
    /// `error_code` values meaning "log in again" (assumed: the real codes are not published).
    pub session_error_codes: Vec<i64>,
    /// Service that lists online dossiers for the province (assumed name).
    pub online_service: String,
    /// Time allowed for one call, connection included.
    pub timeout: Duration,
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("cổng DVCQG không trả lời kịp (quá {0:?})")]
    Timeout(Duration),
    #[error("không kết nối được cổng DVCQG: {0}")]
    Transport(String),
    #[error("cổng DVCQG trả HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("cổng DVCQG từ chối đăng nhập (error_code {code}): {message}")]
    LoginRefused { code: i64, message: String },
    #[error("cổng DVCQG trả error_code {code} cho {service}: {message}")]
    Rejected {
        service: String,
        code: i64,
        message: String,
    },
    #[error("câu trả lời của cổng DVCQG không đọc được: {0}")]
    BadAnswer(String),
}

impl Error {
    /// A short stable name for metrics and job records.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Timeout(_) => "timeout",
            Error::Transport(_) => "transport",
            Error::Http { .. } => "http",
            Error::LoginRefused { .. } => "login_refused",
            Error::Rejected { .. } => "rejected",
            Error::BadAnswer(_) => "bad_answer",
        }
    }
}

/// A client of one portal endpoint. Cheap to share (`Arc`); the session is shared by all calls.
pub struct Client {
    http: reqwest::Client,
    s: Settings,
    session: Mutex<Option<String>>,
}

fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

impl Client {
    /// `http` carries the TLS setup (trust anchors, client certificate) chosen by the gateway.
    pub fn new(http: reqwest::Client, s: Settings) -> Client {
        Client {
            http,
            s,
            session: Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.s
    }

    async fn post(&self, url: &str, body: &Value) -> Result<Answer, Error> {
        let resp = self
            .http
            .post(url)
            .timeout(self.s.timeout)
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
        if !status.is_success() {
            let body: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
            return Err(Error::Http {
                status: status.as_u16(),
                body,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::BadAnswer(e.to_string()))
    }

    fn transport(&self, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout(self.s.timeout);
        }
        let mut s = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(x) = src {
            s.push_str(": ");
            s.push_str(&x.to_string());
            src = x.source();
        }
        Error::Transport(s)
    }

    async fn login(&self) -> Result<String, Error> {
        let body = serde_json::to_value(Login {
            username: self.s.username.clone(),
            password: self.s.password.clone(),
        })
        .map_err(|e| Error::BadAnswer(e.to_string()))?;
        let a = self
            .post(&join(&self.s.base_url, &self.s.auth_endpoint), &body)
            .await?;
        match (a.error_code, a.session) {
            (0, Some(s)) if !s.is_empty() => Ok(s),
            (0, _) => Err(Error::BadAnswer("login answered without a session".into())),
            (code, _) => Err(Error::LoginRefused {
                code,
                message: a.message.unwrap_or_default(),
            }),
        }
    }

    async fn session(&self) -> Result<String, Error> {
        let mut s = self.session.lock().await;
        if let Some(x) = s.as_ref() {
            return Ok(x.clone());
        }
        let fresh = self.login().await?;
        *s = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forget `used` (only if no other call has renewed it already).
    async fn drop_session(&self, used: &str) {
        let mut s = self.session.lock().await;
        if s.as_deref() == Some(used) {
            *s = None;
        }
    }

    /// One service call for `organ` (`madonvi`): the `result` of a zero `error_code`. A session
    /// error (HTTP 401 or one of `session_error_codes`) logs in again, once.
    pub async fn call(&self, organ: &str, service: &str, params: Value) -> Result<Value, Error> {
        let url = join(&self.s.base_url, &self.s.integration_endpoint);
        let mut renewed = false;
        loop {
            let session = self.session().await?;
            let mut body = json!({ "session": session, "madonvi": organ, "service": service });
            if let (Some(b), Value::Object(p)) = (body.as_object_mut(), &params) {
                b.extend(p.clone());
            }
            let answer = self.post(&url, &body).await;
            let session_gone = match &answer {
                Err(Error::Http { status: 401, .. }) => true,
                Ok(a) => self.s.session_error_codes.contains(&a.error_code),
                Err(_) => false,
            };
            if session_gone && !renewed {
                tracing::info!(service, "dvcqg: session expired, logging in again");
                self.drop_session(&session).await;
                renewed = true;
                continue;
            }
            let a = answer?;
            if a.error_code != 0 {
                return Err(Error::Rejected {
                    service: service.into(),
                    code: a.error_code,
                    message: a.message.unwrap_or_default(),
                });
            }
            return Ok(a.result.unwrap_or(Value::Null));
        }
    }

    /// `TraCuuHoSo`: whether the portal already knows the dossier (then a sync is an update).
    pub async fn exists(&self, organ: &str, code: &str) -> Result<bool, Error> {
        let r = self
            .call(organ, "TraCuuHoSo", json!({ "mahoso": code }))
            .await?;
        Ok(match r {
            Value::Array(a) => !a.is_empty(),
            Value::Null => false,
            Value::Object(o) => !o.is_empty(),
            _ => true,
        })
    }

    /// `DongBoHoSoMC`: create (`updating == false`) or update the dossier.
    pub async fn sync(&self, organ: &str, updating: bool, d: &WireDossier) -> Result<(), Error> {
        let flag = if updating { "True" } else { "False" };
        self.call(
            organ,
            "DongBoHoSoMC",
            json!({ "isUpdating": flag, "data": [d] }),
        )
        .await
        .map(drop)
    }

    /// `CapNhatTienDoHoSoMC`: append processing steps.
    pub async fn progress(&self, organ: &str, steps: &[WireProgress]) -> Result<(), Error> {
        self.call(organ, "CapNhatTienDoHoSoMC", json!({ "data": steps }))
            .await
            .map(drop)
    }

    /// `LayThuTuc`: the procedure's details, UPPERCASE keys as the portal sends them.
    pub async fn procedure(&self, organ: &str, code: &str) -> Result<Value, Error> {
        let r = self
            .call(organ, "LayThuTuc", json!({ "maTTHC": code }))
            .await?;
        match r {
            Value::Array(mut a) if !a.is_empty() => Ok(a.swap_remove(0)),
            Value::Object(o) => Ok(Value::Object(o)),
            other => Err(Error::BadAnswer(format!(
                "LayThuTuc {code}: no procedure in {other}"
            ))),
        }
    }

    /// Online dossiers after position `after` (at most `limit`), oldest first.
    pub async fn online_after(
        &self,
        organ: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<OnlineDossier>, Error> {
        let r = self
            .call(
                organ,
                &self.s.online_service,
                json!({ "sauId": after.to_string(), "soLuong": limit.to_string() }),
            )
            .await?;
        match r {
            Value::Null => Ok(Vec::new()),
            v => serde_json::from_value(v).map_err(|e| Error::BadAnswer(e.to_string())),
        }
    }
}
