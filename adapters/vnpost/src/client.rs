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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimConfig;
    use crate::testkit::{order, start};
    use crate::wire::FIRST_ID;
    use serde_json::json;

    #[test]
    fn endpoints_are_under_the_base_without_its_trailing_slash() {
        let e = Endpoints::under("http://sim.local/ngsp/");
        assert_eq!(e.token, "http://sim.local/ngsp/token");
        assert_eq!(e.order, "http://sim.local/ngsp/order/post");
        assert_eq!(e.tracking, "http://sim.local/ngsp/order/tracking");
        assert_eq!(e.cancel, "http://sim.local/ngsp/order/cancel");
    }

    #[test]
    fn tokens_are_renewed_a_little_before_they_expire() {
        let now = Instant::now();
        assert_eq!(renew_at(now, 3600), now + Duration::from_secs(3570));
        assert_eq!(renew_at(now, 10), now + Duration::from_secs(9));
        assert_eq!(renew_at(now, 0), now + Duration::from_secs(3570));
    }

    #[test]
    fn transient_errors_are_the_ones_worth_retrying() {
        let token = |status| Error::Token {
            status,
            body: String::new(),
        };
        let http = |status| Error::Http {
            status,
            body: String::new(),
        };
        for e in [
            Error::Timeout,
            Error::Transport("x".into()),
            token(0),
            token(503),
            token(429),
            token(408),
            http(500),
            http(503),
            http(429),
            http(408),
            http(401),
        ] {
            assert!(e.is_transient(), "{e:?}");
        }
        let refused = Error::Refused {
            status: "400".into(),
            message: String::new(),
        };
        for e in [
            token(401),
            token(400),
            http(400),
            http(404),
            http(409),
            refused,
            Error::BadAnswer("x".into()),
        ] {
            assert!(!e.is_transient(), "{e:?}");
        }
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let body = "đ".repeat(1000);
        let cut = truncate(&body);
        assert_eq!(cut.chars().count(), BODY_CHARS + 1);
        assert_eq!(truncate("ngắn"), "ngắn");
    }

    /// Many calls, some concurrent, share one token; revoked tokens are renewed once and the
    /// call that met the 401 still succeeds.
    #[tokio::test]
    async fn one_token_serves_many_calls_and_is_renewed_after_revocation() {
        let s = start(SimConfig::default()).await;
        let c = s.client();
        // Concurrent first calls: the token mutex makes them share one fetch.
        let (a, b, d, e) = tokio::join!(
            c.tracking(10, FIRST_ID),
            c.tracking(10, FIRST_ID),
            c.tracking(10, FIRST_ID),
            c.tracking(10, FIRST_ID)
        );
        for r in [a, b, d, e] {
            r.unwrap();
        }
        for _ in 0..4 {
            c.tracking(10, FIRST_ID).await.unwrap();
        }
        c.create_order(&order("H99-1")).await.unwrap();
        assert_eq!(c.tokens_fetched(), 1);
        assert_eq!(s.control("/_sim/expire_tokens", json!({})).await, 204);
        c.tracking(10, FIRST_ID).await.unwrap();
        assert_eq!(c.tokens_fetched(), 2);
        let stats = s.sim.stats();
        assert_eq!(stats["tokens_issued"], 2);
        assert_eq!(stats["token_rejections"], 1);
        assert_eq!(stats["tracking_calls"], 10);
    }

    /// A 1-second token is renewed before it runs out (no call is refused), and again after.
    #[tokio::test]
    async fn short_lived_tokens_are_renewed_before_and_after_expiry() {
        let s = start(SimConfig {
            token_ttl_secs: 1,
            ..SimConfig::default()
        })
        .await;
        let c = s.client();
        c.tracking(5, FIRST_ID).await.unwrap();
        tokio::time::sleep(Duration::from_millis(950)).await;
        c.tracking(5, FIRST_ID).await.unwrap();
        assert_eq!(
            c.tokens_fetched(),
            2,
            "renewed in the last tenth of its life"
        );
        tokio::time::sleep(Duration::from_millis(1200)).await;
        c.tracking(5, FIRST_ID).await.unwrap();
        assert_eq!(c.tokens_fetched(), 3, "renewed after expiry");
        assert_eq!(s.sim.stats()["token_rejections"], 0);
    }

    #[tokio::test]
    async fn wrong_credentials_are_a_token_error_not_worth_retrying() {
        let s = start(SimConfig::default()).await;
        let e = s
            .client_with("sandbox-key", "wrong")
            .tracking(5, FIRST_ID)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Token { status: 401, body } if body.contains("invalid_client")),
            "{e:?}"
        );
        assert!(!e.is_transient());
    }

    /// The same order twice makes one order (two create calls); the same number with another
    /// body is refused with 409; another customer code with 400.
    #[tokio::test]
    async fn orders_are_idempotent_by_number_and_conflicts_refused() {
        let s = start(SimConfig::default()).await;
        let c = s.client();
        let o = order("000.00.12.H99-20260302-0000123");
        let a = c.create_order(&o).await.unwrap();
        assert_eq!(a.status(), "200");
        assert_eq!(a.status_raw, json!(200));
        c.create_order(&o).await.unwrap();
        let orders = s.sim.orders();
        assert_eq!(orders.as_array().map(Vec::len), Some(1));
        assert_eq!(orders[0]["creates"], 2);
        assert_eq!(orders[0]["item_code"], "EV000000001VN");
        assert_eq!(orders[0]["order"], serde_json::to_value(&o).unwrap());
        let other = Order {
            receiver_name: "Người Khác".into(),
            ..o.clone()
        };
        let e = c.create_order(&other).await.unwrap_err();
        assert!(
            matches!(&e, Error::Refused { status, .. } if status == "409"),
            "{e:?}"
        );
        assert!(!e.is_transient());
        let foreign = Order {
            customer_code: "KHAC".into(),
            order_number: "H99-2".into(),
            ..o
        };
        let e = c.create_order(&foreign).await.unwrap_err();
        assert!(
            matches!(&e, Error::Refused { status, .. } if status == "400"),
            "{e:?}"
        );
    }

    /// A success `Status` the client is not configured for is a refusal.
    #[tokio::test]
    async fn success_is_what_the_profile_says() {
        let s = start(SimConfig {
            success_status: "OK".into(),
            ..SimConfig::default()
        })
        .await;
        let e = s.client().create_order(&order("H99-1")).await.unwrap_err();
        assert!(
            matches!(&e, Error::Refused { status, .. } if status == "OK"),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn cancel_works_before_delivery_and_is_refused_after() {
        let s = start(SimConfig::default()).await;
        let c = s.client();
        for n in ["H99-1", "H99-2"] {
            c.create_order(&order(n)).await.unwrap();
        }
        s.sim.advance("H99-1", "1");
        c.cancel_order("VIDU_SNV", "H99-1").await.unwrap();
        c.cancel_order("VIDU_SNV", "H99-1").await.unwrap();
        s.sim.advance("H99-2", "4");
        let e = c.cancel_order("VIDU_SNV", "H99-2").await.unwrap_err();
        assert!(
            matches!(&e, Error::Refused { status, .. } if status == "400"),
            "{e:?}"
        );
        let e = c
            .cancel_order("VIDU_SNV", "không có & số?")
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Refused { status, .. } if status == "404"),
            "{e:?}"
        );
        let orders = s.sim.orders();
        assert_eq!(orders[0]["cancelled"], true);
        assert_eq!(orders[1]["cancelled"], false);
    }

    /// Seven events read three at a time: three pages by following the last id, each event
    /// once and in order.
    #[tokio::test]
    async fn tracking_pages_follow_the_last_id() {
        let s = start(SimConfig::default()).await;
        let c = s.client();
        let ids: Vec<String> = (1..=7)
            .map(|i| s.sim.advance(&format!("H99-{i}"), "1"))
            .collect();
        let first = c.tracking(3, FIRST_ID).await.unwrap();
        assert_eq!((first.size, first.total_pages, first.returned), (7, 3, 3));
        let mut seen: Vec<String> = first.events.iter().map(|e| e.id.clone()).collect();
        let mut pages = 1;
        let mut last = seen.last().cloned().unwrap();
        loop {
            let p = c.tracking(3, &last).await.unwrap();
            if p.events.is_empty() {
                break;
            }
            pages += 1;
            seen.extend(p.events.iter().map(|e| e.id.clone()));
            last = seen.last().cloned().unwrap();
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, ids);
        assert!(ids.iter().all(|id| id.len() == 24));
        let e = &first.events[0];
        assert_eq!(
            (e.order_number.as_str(), e.status_code.as_str()),
            ("H99-1", "1")
        );
        assert_eq!(e.status_message, "Đã nhận bưu gửi");
        assert_eq!(e.customer_code, "VIDU_SNV");
    }

    /// Injected 503s are transient HTTP errors (token service: transient token errors), and
    /// the service answers again once they are used up.
    #[tokio::test]
    async fn service_unavailable_is_transient() {
        let s = start(SimConfig::default()).await;
        let c = s.client();
        assert_eq!(
            s.control(
                "/_sim/faults",
                json!({"order": 1, "tracking": 1, "token": 1})
            )
            .await,
            204
        );
        let e = c.tracking(5, FIRST_ID).await.unwrap_err();
        assert!(
            matches!(e, Error::Token { status: 503, .. }) && e.is_transient(),
            "{e:?}"
        );
        let e = c.create_order(&order("H99-1")).await.unwrap_err();
        assert!(
            matches!(e, Error::Http { status: 503, .. }) && e.is_transient(),
            "{e:?}"
        );
        let e = c.tracking(5, FIRST_ID).await.unwrap_err();
        assert!(
            matches!(e, Error::Http { status: 503, .. }) && e.is_transient(),
            "{e:?}"
        );
        c.create_order(&order("H99-1")).await.unwrap();
        s.sim.set_faults(crate::sim::Faults {
            cancel: 5,
            ..Default::default()
        });
        s.sim.clear_faults();
        c.cancel_order("VIDU_SNV", "H99-1").await.unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_service_is_a_transient_transport_error() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        drop(l);
        let c = Client::new(
            reqwest::Client::new(),
            Endpoints::under(&url),
            "k",
            "s",
            vec!["200".into()],
            Duration::from_secs(2),
        );
        let e = c.tracking(5, FIRST_ID).await.unwrap_err();
        assert!(
            matches!(e, Error::Transport(_)) && e.is_transient(),
            "{e:?}"
        );
    }

    /// The shared sample page (skipped when `shared/` is not next to the repository).
    #[test]
    fn the_shared_tracking_sample_parses() {
        let Some(text) = crate::testkit::shared_sample("vnpost-tracking.json") else {
            return;
        };
        let p = parse_page(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(
            (p.size, p.total_pages, p.returned, p.events.len()),
            (50, 1, 2, 2)
        );
        let e = &p.events[1];
        let got = [
            &e.id,
            &e.status_code,
            &e.item_code,
            &e.pos_id,
            &e.event_time,
            &e.notes,
        ];
        let want = ["65e2f0a1c0ffee0000000002", "4", "EV000000001VN", "990100"];
        assert_eq!(got[..4], want);
        assert_eq!(got[4..], ["2026-03-17 10:20:00", "Người nhận: Đỗ Thị Thử"]);
    }

    /// Plain-string ids, codes as text, numbers where text is expected, missing fields and
    /// counters; an event without an id is refused.
    #[test]
    fn tracking_pages_are_read_leniently_but_need_ids() {
        let p = parse_page(&json!({"_embedded": {"rh:doc": [
            {"_id": "65e2f0a10000000000000009", "StatusCode": "A1", "POSID": 990000},
        ]}}))
        .unwrap();
        assert_eq!((p.size, p.total_pages, p.returned), (0, 0, 1));
        let e = &p.events[0];
        assert_eq!(
            (e.id.as_str(), e.status_code.as_str()),
            ("65e2f0a10000000000000009", "A1")
        );
        assert_eq!((e.pos_id.as_str(), e.notes.as_str()), ("990000", ""));
        let empty = parse_page(&json!({"_size": 0, "_total_pages": 0, "_returned": 0})).unwrap();
        assert!(empty.events.is_empty());
        for bad in [
            json!({"_embedded": {"rh:doc": [{"StatusCode": 4}]}}),
            json!({"_embedded": {"rh:doc": [{"_id": {"$oid": 5}}]}}),
            json!({"_embedded": {"rh:doc": {}}}),
            json!([]),
        ] {
            assert!(
                matches!(parse_page(&bad), Err(Error::BadAnswer(_))),
                "{bad}"
            );
        }
    }
}
