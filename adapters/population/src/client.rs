//! The gateway's side: send a [`Query`] to the population service and read the answer. Fresh
//! authentication headers and a unique request id per call; transport failures that never
//! reached the service are retried (bounded), nothing else is — a "not found" is an answer.

use crate::auth::Credentials;
use crate::wire::{self, Query, WireError};
use crate::xml::Limits;
use lienthong_contract::citizen::LookupAnswer;
use std::time::Duration;

/// Where and how to call the service.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The service endpoint (`adapters.population.base_url`).
    pub base_url: String,
    pub credentials: Credentials,
    /// `MaDVC`.
    pub service_code: String,
    pub connect_timeout: Duration,
    /// Whole exchange, from sending to the last byte of the answer.
    pub timeout: Duration,
    /// Extra attempts after a connection failure (the request never reached the service).
    pub retries: u32,
    pub max_response_bytes: usize,
}

/// Why a lookup got no answer. Each maps to a problem+json (`code`, `http_status`,
/// `detail_vi`); none carries personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PopulationError {
    #[error("the population service refused the gateway's credentials (HTTP {0})")]
    AuthRefused(u16),
    #[error("SOAP fault {code}: {message}")]
    Fault { code: String, message: String },
    #[error("the population service answered HTTP {0}")]
    Http(u16),
    #[error("cannot reach the population service: {0}")]
    Unreachable(String),
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("unreadable answer: {0}")]
    BadResponse(String),
}

impl PopulationError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            PopulationError::AuthRefused(_) => "population_auth_refused",
            PopulationError::Fault { .. } => "population_fault",
            PopulationError::Http(_) | PopulationError::Unreachable(_) => "population_unavailable",
            PopulationError::Timeout(_) => "population_timeout",
            PopulationError::BadResponse(_) => "population_bad_response",
        }
    }

    /// 504 for a timeout, 502 for everything else the upstream did wrong.
    pub fn http_status(&self) -> u16 {
        match self {
            PopulationError::Timeout(_) => 504,
            _ => 502,
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            PopulationError::AuthRefused(_) => "Population database refused the gateway",
            PopulationError::Fault { .. } => "Population database reported an error",
            PopulationError::Http(_) | PopulationError::Unreachable(_) => {
                "Population database unavailable"
            }
            PopulationError::Timeout(_) => "Population database did not answer in time",
            PopulationError::BadResponse(_) => "Unreadable answer from the population database",
        }
    }

    /// Vietnamese explanation for the member's operator.
    pub fn detail_vi(&self) -> String {
        match self {
            PopulationError::AuthRefused(s) => format!(
                "Cơ sở dữ liệu quốc gia về dân cư từ chối xác thực của cổng (HTTP {s}). Lỗi nằm ở cấu hình kết nối của cổng (tài khoản, khóa bí mật, X-Road-Client, ApiKey), không phải ở yêu cầu của đơn vị: đề nghị liên hệ quản trị viên cổng LGSP."
            ),
            PopulationError::Fault { code, message } => format!(
                "Cơ sở dữ liệu quốc gia về dân cư trả về lỗi SOAP {code:?}: {}. Yêu cầu chưa được trả lời; hãy thử lại sau, nếu lỗi lặp lại hãy báo quản trị viên cổng.",
                mask_digits(message)
            ),
            PopulationError::Http(s) => format!(
                "Cơ sở dữ liệu quốc gia về dân cư đang lỗi (HTTP {s}). Hãy thử lại sau ít phút."
            ),
            PopulationError::Unreachable(_) => "Không kết nối được tới Cơ sở dữ liệu quốc gia về dân cư. Hãy thử lại sau ít phút; nếu kéo dài hãy báo quản trị viên cổng.".to_owned(),
            PopulationError::Timeout(ms) => format!(
                "Cơ sở dữ liệu quốc gia về dân cư không trả lời trong {ms} ms. Hãy thử lại sau."
            ),
            PopulationError::BadResponse(_) => "Câu trả lời của Cơ sở dữ liệu quốc gia về dân cư không đọc được (sai định dạng SOAP). Đề nghị báo quản trị viên cổng.".to_owned(),
        }
    }
}

/// Runs of 9 or more digits (ID or card numbers an upstream message might echo) hidden.
pub fn mask_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 9 {
            out.push_str(&crate::id::mask(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

impl From<WireError> for PopulationError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Fault { code, message } => PopulationError::Fault { code, message },
            other => PopulationError::BadResponse(other.to_string()),
        }
    }
}

/// A client for one configured service.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    settings: Settings,
}

impl Client {
    pub fn new(settings: Settings) -> Result<Client, String> {
        // reqwest needs a process-wide rustls provider; the gateway installs ring already.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .pool_max_idle_per_host(256)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Client { http, settings })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Ask one question. `Ok(NotFound)` is an answer, not an error.
    pub async fn lookup(&self, q: &Query) -> Result<LookupAnswer, PopulationError> {
        let body = wire::request_xml(q);
        let mut attempt = 0;
        loop {
            match self.send(&body).await {
                Err(PopulationError::Unreachable(why)) if attempt < self.settings.retries => {
                    attempt += 1;
                    tracing::warn!(attempt, error = %why, "population service unreachable, retrying");
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                Err(e) => return Err(e),
                Ok((status, bytes)) => return self.read(status, &bytes, &q.id_number),
            }
        }
    }

    fn timeout_ms(&self) -> u64 {
        self.settings.timeout.as_millis() as u64
    }

    async fn send(&self, body: &str) -> Result<(u16, Vec<u8>), PopulationError> {
        let now = chrono::Utc::now().timestamp_millis();
        let mut req = self
            .http
            .post(&self.settings.base_url)
            .header("Content-Type", "application/xml")
            .header("SOAPAction", "\"\"")
            .body(body.to_owned());
        for (k, v) in self.settings.credentials.headers(now) {
            req = req.header(k, v);
        }
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                PopulationError::Timeout(self.timeout_ms())
            } else if e.is_connect() {
                PopulationError::Unreachable(e.to_string())
            } else {
                PopulationError::Http(0)
            }
        };
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let max = self.settings.max_response_bytes;
        if resp.content_length().is_some_and(|n| n > max as u64) {
            return Err(PopulationError::BadResponse(format!(
                "answer over {max} bytes"
            )));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > max {
                return Err(PopulationError::BadResponse(format!(
                    "answer over {max} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, bytes))
    }

    fn read(
        &self,
        status: u16,
        bytes: &[u8],
        asked: &str,
    ) -> Result<LookupAnswer, PopulationError> {
        let limits = Limits {
            max_bytes: self.settings.max_response_bytes,
            ..Limits::default()
        };
        match status {
            401 | 403 => Err(PopulationError::AuthRefused(status)),
            200 => Ok(wire::parse_response(bytes, asked, limits)?),
            // SOAP 1.1 sends faults with 500; a 500 that is not a fault is an outage.
            _ => match wire::parse_response(bytes, asked, limits) {
                Err(WireError::Fault { code, message }) => {
                    Err(PopulationError::Fault { code, message })
                }
                _ => Err(PopulationError::Http(status)),
            },
        }
    }
}

/// A unique request id (`MaYeuCau`): a ULID (48-bit milliseconds + 80 random bits, Crockford
/// base32, 26 characters).
pub fn request_id() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let ms = chrono::Utc::now().timestamp_millis().max(0) as u128;
    let mut rnd = [0u8; 10];
    if openssl::rand::rand_bytes(&mut rnd).is_err() {
        // Fall back to the clock's nanoseconds; uniqueness within a process still holds.
        let n = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) as u128;
        rnd.copy_from_slice(&n.to_be_bytes()[6..]);
    }
    let mut v: u128 = (ms & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in rnd.iter().enumerate() {
        v |= u128::from(*b) << (8 * (9 - i));
    }
    (0..26)
        .rev()
        .map(|i| ALPHABET[((v >> (5 * i)) & 31) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_ulids() {
        let a = request_id();
        let b = request_id();
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
    }

    #[test]
    fn long_digit_runs_are_masked() {
        assert_eq!(
            mask_digits("SoDinhDanh 099188000123 lỗi 500"),
            "SoDinhDanh 099*******23 lỗi 500"
        );
    }
}
