//! The gateway's calls to NGSP: the token (OAuth2 client credentials, WSO2 style, cached until
//! shortly before expiry and renewed once on a 401), create order, cancel, and the tracking list
//! (RESTHeart paging). Answers are read leniently where VNPost's types are undocumented
//! (`Status` and `StatusCode` as number or text) and strictly where the gateway depends on them
//! (an event without an id is a bad answer: it would break the cursor).

use crate::wire::{Answer, Event, Order, Page, Token};
use base64::Engine as _;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
        match self {
            Error::Timeout | Error::Transport(_) => true,
            // A 401 from the token service means wrong credentials: retrying will not help.
            Error::Token { status, .. } => *status == 0 || transient_status(*status),
            // A 401 on a call survived one token renewal; a later try gets a fresh token.
            Error::Http { status, .. } => *status == 401 || transient_status(*status),
            Error::Refused { .. } | Error::BadAnswer(_) => false,
        }
    }
}

/// 5xx, 429 (too many requests) and 408 (request timeout).
fn transient_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

/// How much of an error body is kept in an [`Error`].
const BODY_CHARS: usize = 300;

/// `body` cut to [`BODY_CHARS`] characters (on a character boundary).
fn truncate(body: &str) -> String {
    match body.char_indices().nth(BODY_CHARS) {
        Some((at, _)) => format!("{}…", &body[..at]),
        None => body.to_owned(),
    }
}

/// A transport error as [`Error::Timeout`] or [`Error::Transport`].
fn transport(e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout
    } else {
        Error::Transport(e.to_string())
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
        let base = base.trim_end_matches('/');
        Endpoints {
            token: format!("{base}/token"),
            order: format!("{base}/order/post"),
            tracking: format!("{base}/order/tracking"),
            cancel: format!("{base}/order/cancel"),
        }
    }
}

/// The token in use: the `Authorization` value to send and when to fetch another.
struct Cached {
    authorization: String,
    renew_at: Instant,
}

/// `expires_in` taken as 1 hour when the service sends 0 (or nothing).
const DEFAULT_TTL_SECS: u64 = 3600;

/// When a token of `expires_in` seconds fetched at `now` should be renewed: when less than
/// min(30 s, a tenth of its life) remains.
fn renew_at(now: Instant, expires_in: u64) -> Instant {
    let ttl = Duration::from_secs(if expires_in == 0 {
        DEFAULT_TTL_SECS
    } else {
        expires_in
    });
    let margin = (ttl / 10).min(Duration::from_secs(30));
    now + (ttl - margin)
}

pub struct Client {
    http: reqwest::Client,
    endpoints: Endpoints,
    /// `Basic base64(customerKey:secretKey)`.
    basic: String,
    success: Vec<String>,
    timeout: Duration,
    /// One fetch at a time: concurrent callers wait for the same token.
    token: tokio::sync::Mutex<Option<Cached>>,
    fetched: AtomicU64,
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
        let pair = base64::engine::general_purpose::STANDARD
            .encode(format!("{customer_key}:{secret_key}"));
        Client {
            http,
            endpoints,
            basic: format!("Basic {pair}"),
            success,
            timeout,
            token: tokio::sync::Mutex::new(None),
            fetched: AtomicU64::new(0),
        }
    }

    /// Create an order. Ok only when `Status` is a success value.
    pub async fn create_order(&self, order: &Order) -> Result<Answer, Error> {
        let r = self
            .call(|auth| {
                self.http
                    .post(&self.endpoints.order)
                    .json(order)
                    .header("Authorization", auth)
            })
            .await?;
        self.answer(r).await
    }

    /// Cancel an order.
    pub async fn cancel_order(
        &self,
        customer_code: &str,
        order_number: &str,
    ) -> Result<Answer, Error> {
        let url = with_query(
            &self.endpoints.cancel,
            &[
                ("CustomerCode", customer_code),
                ("OrderNumber", order_number),
            ],
        )?;
        let r = self
            .call(|auth| self.http.get(url.clone()).header("Authorization", auth))
            .await?;
        self.answer(r).await
    }

    /// Events after `last_id`, at most `page_size`.
    pub async fn tracking(&self, page_size: u32, last_id: &str) -> Result<Page, Error> {
        let size = page_size.to_string();
        let url = with_query(
            &self.endpoints.tracking,
            &[("pagesize", size.as_str()), ("lastId", last_id)],
        )?;
        let r = self
            .call(|auth| self.http.get(url.clone()).header("Authorization", auth))
            .await?;
        let body = success_body(r).await?;
        let v: Value = serde_json::from_str(&body).map_err(|e| Error::BadAnswer(e.to_string()))?;
        parse_page(&v)
    }

    /// Tokens fetched so far (for tests and metrics).
    pub fn tokens_fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    /// Send the request `build` makes with the current token; on a 401, drop that token, fetch
    /// another and send once more.
    async fn call(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let auth = self.authorization().await?;
        let r = self.send(build(&auth)).await?;
        if r.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(r);
        }
        tracing::debug!("vnpost: token refused, renewing");
        self.forget(&auth).await;
        let auth = self.authorization().await?;
        self.send(build(&auth)).await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
        req.timeout(self.timeout).send().await.map_err(transport)
    }

    /// The `Authorization` value of a valid token, fetched when none is cached or it is due.
    async fn authorization(&self) -> Result<String, Error> {
        let mut slot = self.token.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(c.authorization.clone());
        }
        let t = self.fetch_token().await?;
        let cached = Cached {
            authorization: format!("{} {}", t.token_type, t.access_token),
            renew_at: renew_at(Instant::now(), t.expires_in),
        };
        let auth = cached.authorization.clone();
        *slot = Some(cached);
        Ok(auth)
    }

    /// Drop the cached token if it is still `used` (another caller may have renewed it already).
    async fn forget(&self, used: &str) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|c| c.authorization == used) {
            *slot = None;
        }
    }

    /// `POST apiGetToken` with Basic auth and `grant_type=client_credentials`.
    async fn fetch_token(&self) -> Result<Token, Error> {
        let r = self
            .send(
                self.http
                    .post(&self.endpoints.token)
                    .header("Authorization", &self.basic)
                    .form(&[("grant_type", "client_credentials")]),
            )
            .await?;
        let status = r.status();
        let body = r.text().await.map_err(transport)?;
        if !status.is_success() {
            return Err(Error::Token {
                status: status.as_u16(),
                body: truncate(&body),
            });
        }
        let t: Token =
            serde_json::from_str(&body).map_err(|e| Error::BadAnswer(format!("token: {e}")))?;
        if t.access_token.is_empty() {
            return Err(Error::BadAnswer("token: access_token rỗng".into()));
        }
        self.fetched.fetch_add(1, Ordering::Relaxed);
        Ok(t)
    }

    /// A create or cancel answer: `Ok` when its `Status` is a success value.
    async fn answer(&self, r: reqwest::Response) -> Result<Answer, Error> {
        let body = success_body(r).await?;
        let a: Answer = serde_json::from_str(&body).map_err(|e| Error::BadAnswer(e.to_string()))?;
        let status = a.status();
        if self.success.contains(&status) {
            Ok(a)
        } else {
            Err(Error::Refused {
                status,
                message: a.message,
            })
        }
    }
}

/// The body of a 2xx answer; any other status is [`Error::Http`].
async fn success_body(r: reqwest::Response) -> Result<String, Error> {
    let status = r.status();
    let body = r.text().await.map_err(transport)?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(Error::Http {
            status: status.as_u16(),
            body: truncate(&body),
        })
    }
}

/// `url` with `pairs` appended to its query, encoded.
fn with_query(url: &str, pairs: &[(&str, &str)]) -> Result<reqwest::Url, Error> {
    let mut u =
        reqwest::Url::parse(url).map_err(|e| Error::Transport(format!("URL {url:?}: {e}")))?;
    u.query_pairs_mut().extend_pairs(pairs);
    Ok(u)
}

/// A tracking page in RESTHeart shape; missing counters are 0 (`_returned`: the events'
/// count), a missing `_embedded["rh:doc"]` is an empty page.
pub fn parse_page(v: &Value) -> Result<Page, Error> {
    if !v.is_object() {
        return Err(Error::BadAnswer("tracking: not an object".into()));
    }
    let docs = match &v["_embedded"]["rh:doc"] {
        Value::Null => &[][..],
        Value::Array(a) => a.as_slice(),
        _ => return Err(Error::BadAnswer("tracking: rh:doc is not a list".into())),
    };
    let events = docs
        .iter()
        .map(parse_event)
        .collect::<Result<Vec<_>, _>>()?;
    let count = |k: &str| v[k].as_u64();
    Ok(Page {
        size: count("_size").unwrap_or(0),
        total_pages: count("_total_pages").unwrap_or(0),
        returned: count("_returned").unwrap_or(events.len() as u64),
        events,
    })
}

/// One `rh:doc` entry; its id is `_id.$oid` or `_id` as a string.
fn parse_event(d: &Value) -> Result<Event, Error> {
    let id = match &d["_id"] {
        Value::String(s) => s.clone(),
        other => other["$oid"].as_str().unwrap_or_default().to_owned(),
    };
    if id.is_empty() {
        return Err(Error::BadAnswer(format!(
            "tracking: event without _id: {}",
            truncate(&d.to_string())
        )));
    }
    let text = |k: &str| text_of(&d[k]);
    Ok(Event {
        id,
        customer_code: text("CustomerCode"),
        order_number: text("OrderNumber"),
        item_code: text("ItemCode"),
        event_time: text("EventTime"),
        pos_id: text("POSID"),
        status_code: text("StatusCode"),
        status_message: text("StatusMessage"),
        notes: text("Notes"),
    })
}

/// A field as text: strings as they are, numbers (and booleans) as written, missing/null empty.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
