//! Citizen lookup in the national population database (`POST /v1/citizens/lookup`): check the
//! question (ID structure, birth date, name, purpose, dossier, officer) before anything leaves
//! the gateway, apply the per-member and per-officer limits, ask the population service
//! through `lienthong-population`, and record who asked what for which purpose — never the
//! answer. The queried ID appears in the audit record only as a keyed hash
//! (HMAC-SHA-256 with `citizens.audit_key`); names never.

pub mod cache;
pub mod input;

use crate::audit::Event;
use crate::config::{AuditCommit, Config, Secret};
use crate::edge::guard::PendingAllow;
use crate::edge::rate_limit::KeyedLimits;
use crate::edge::Problem;
use crate::members::Member;
use crate::store::Store;
use axum::http::StatusCode;
use input::LookupRequest;
use lienthong_contract::citizen::LookupAnswer;
use lienthong_population::id::mask;
use lienthong_population::{client, sim, Client, Credentials, Query, Settings};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Fields of the canonical citizen record, for `citizens.purposes[].fields`.
pub const FIELDS: &[&str] = &[
    "id_number",
    "old_id_number",
    "full_name",
    "family_name",
    "middle_name",
    "given_name",
    "birth_date",
    "sex_code",
    "ethnicity_code",
    "religion_code",
    "marital_status_code",
    "blood_group_code",
    "nationality",
    "birth_registration",
    "home_town",
    "permanent_address",
    "current_address",
    "father",
    "mother",
    "spouse",
    "representative",
    "household_head",
    "household_book",
];

/// The lookup service of one gateway node.
pub struct Citizens {
    client: Option<Client>,
    /// Purpose code → fields answered (empty: all).
    purposes: HashMap<String, Vec<String>>,
    provinces: HashSet<String>,
    member_limits: KeyedLimits,
    officer_limits: KeyedLimits,
    cache: Option<cache::Cache>,
    audit_key: Secret,
    audit_commit: AuditCommit,
    unit_code: Option<String>,
    store: Store,
    /// The in-process simulator (sandbox), kept running while the gateway runs.
    simulator: Option<sim::Simulator>,
}

impl Drop for Citizens {
    fn drop(&mut self) {
        if let Some(s) = &self.simulator {
            s.task.abort();
        }
    }
}

/// The credentials of `[adapters.population]`; a random secret when the gateway simulates the
/// service and none is configured.
fn credentials(config: &Config) -> Result<Credentials, String> {
    let p = &config.adapters.population;
    let secret = match p.secret_source() {
        Some(src) => src.resolve()?.expose().to_vec(),
        None => {
            let mut b = [0u8; 24];
            openssl::rand::rand_bytes(&mut b).map_err(|e| e.to_string())?;
            hex::encode(b).into_bytes()
        }
    };
    let api_key = match &p.api_key {
        Some(src) => Some(
            String::from_utf8(src.resolve()?.expose().to_vec())
                .map_err(|_| "adapters.population.api_key is not UTF-8".to_owned())?,
        ),
        None => None,
    };
    Ok(Credentials {
        username: p.username.clone(),
        secret,
        auth_url: p.auth_url.clone(),
        client_id: p.client_id.clone(),
        api_key,
    })
}

impl Citizens {
    /// Build from configuration; starts the simulator when `[adapters.population]` asks for
    /// it (or in sandbox mode without `base_url`).
    pub async fn start(
        config: &Config,
        store: Store,
        audit_key: Secret,
    ) -> Result<Citizens, String> {
        let p = &config.adapters.population;
        let z = &config.citizens;
        let credentials = credentials(config)?;
        let mut simulator = None;
        let base_url = if p.simulated(config.sandbox) {
            let s = sim::start("127.0.0.1:0", sim::SimConfig::new(credentials.clone()))
                .await
                .map_err(|e| format!("cannot start the population simulator: {e}"))?;
            tracing::info!(url = %s.url(), "population: the sandbox simulator is answering citizen lookups");
            crate::server::simulator_started("population", &s.url());
            let url = s.url();
            simulator = Some(s);
            Some(url)
        } else {
            p.base_url.clone()
        };
        let client = match base_url {
            Some(base_url) => Some(Client::new(Settings {
                base_url,
                credentials,
                service_code: p.service_code.clone(),
                connect_timeout: Duration::from_millis(p.connect_timeout_ms),
                timeout: Duration::from_millis(p.timeout_ms),
                retries: p.retries,
                max_response_bytes: p.max_response_bytes,
            })?),
            None => None,
        };
        let provinces: HashSet<String> = match &z.province_codes {
            Some(list) => list.iter().cloned().collect(),
            None => lienthong_population::id::PROVINCE_CODES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let provinces = provinces
            .into_iter()
            .chain(z.extra_province_codes.iter().cloned())
            .collect();
        Ok(Citizens {
            client,
            purposes: z
                .purposes
                .iter()
                .map(|p| (p.code.clone(), p.fields.clone()))
                .collect(),
            provinces,
            member_limits: KeyedLimits::new(z.member_rate_limit),
            officer_limits: KeyedLimits::new(z.officer_rate_limit),
            cache: z.cache.enabled.then(|| {
                cache::Cache::new(Duration::from_secs(z.cache.ttl_secs), z.cache.max_entries)
            }),
            audit_key,
            audit_commit: z.audit_commit,
            unit_code: p.unit_code.clone(),
            store,
            simulator,
        })
    }

    /// HMAC-SHA-256 with the audit key over the parts (each length-prefixed).
    fn keyed_hash(&self, parts: &[&str]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mac = (|| {
            let key = openssl::pkey::PKey::hmac(self.audit_key.expose())?;
            let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key)?;
            for p in parts {
                s.update(&(p.len() as u64).to_be_bytes())?;
                s.update(p.as_bytes())?;
            }
            s.sign_to_vec()
        })();
        if let Ok(m) = mac {
            out.copy_from_slice(&m[..32]);
        }
        out
    }

    /// The keyed hash of an ID as written in audit records: `hmac-sha256:<hex>`. Whoever holds
    /// the audit key can check whether a given ID was asked about; nobody can read it back.
    pub fn subject(&self, id_number: &str) -> String {
        format!(
            "hmac-sha256:{}",
            hex::encode(self.keyed_hash(&["id", id_number]))
        )
    }

    /// Answer `POST /v1/citizens/lookup`. No answer leaves without its question on the audit
    /// chain: if the record cannot be committed, the answer is 503 and the body is dropped.
    ///
    /// With [`AuditCommit::Overlapped`] (default) a question that goes upstream is recorded
    /// twice: `citizens.lookup.asked` (who, for what, which dossier, which subject) is committed
    /// — with the guard's allow record — while the service is being asked, and the answer waits
    /// for that commit; `citizens.lookup` with the outcome is committed in the next group
    /// commit after the answer. A crash in between leaves an `asked` record without an outcome:
    /// "possibly answered". With [`AuditCommit::BeforeAnswer`], and for every question that
    /// never goes upstream, one `citizens.lookup` record is committed before the answer.
    pub async fn lookup(
        &self,
        member: &Member,
        body: &[u8],
        request_id: &str,
        allow: Option<Arc<PendingAllow>>,
    ) -> Result<Value, Problem> {
        let started = Instant::now();
        let mut ev = Event {
            kind: "citizens",
            actor: member.id.clone(),
            action: "citizens.lookup".into(),
            outcome: String::new(),
            request_id: request_id.to_owned(),
            detail: json!({}),
        };
        let step = self.prepare(member, body, &mut ev.detail).await;
        let (result, asked) = match step {
            Err(p) => (Err(p), false),
            Ok(Step::Cached(a, purpose)) => (Ok((a, purpose)), false),
            Ok(Step::Ask(ask)) => match self.audit_commit {
                AuditCommit::BeforeAnswer => (self.ask(ask).await, false),
                AuditCommit::Overlapped => {
                    let mut first = ev.clone();
                    first.action = "citizens.lookup.asked".into();
                    first.outcome = "asked".into();
                    let (result, committed) = tokio::join!(
                        self.ask(ask),
                        record_in(&self.store, allow.clone(), first, ASKED_LINGER)
                    );
                    committed?;
                    (result, true)
                }
            },
        };
        ev.outcome = match &result {
            Ok((a, _)) => match **a {
                LookupAnswer::Match(_) => "match".into(),
                LookupAnswer::NotFound => "not_found".into(),
            },
            Err(p) if p.status.is_client_error() => format!("refused:{}", p.code),
            Err(p) => format!("error:{}", p.code),
        };
        ev.detail["elapsed_ms"] = json!(started.elapsed().as_millis() as u64);
        metrics::counter!("lienthong_citizen_lookups_total", "outcome" => ev.outcome.split(':').next().unwrap_or("-").to_owned()).increment(1);
        tracing::info!(
            request_id,
            member = %member.id,
            outcome = %ev.outcome,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "citizen lookup"
        );
        if asked {
            // The question is on the chain; its outcome follows the answer. Queued before the
            // answer leaves (so a graceful stop commits it before its `stop` record), committed
            // without anyone waiting.
            match self.store.enqueue_audit(vec![ev], OUTCOME_LINGER).await {
                Ok(pending) => {
                    tokio::spawn(async move {
                        if let Err(e) = pending.committed().await {
                            tracing::error!(error = %e, "citizen lookup: the outcome record was not written");
                        }
                    });
                }
                Err(e) => {
                    tracing::error!(error = %e, "citizen lookup: the outcome record was not written")
                }
            }
        } else {
            self.record(allow, ev).await?;
        }
        let (answer, purpose) = result?;
        Ok(match &*answer {
            LookupAnswer::NotFound => json!({ "match": false }),
            LookupAnswer::Match(c) => {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                let fields = self.purposes.get(&purpose).filter(|f| !f.is_empty());
                if let (Some(fields), Some(obj)) = (fields, v.as_object_mut()) {
                    obj.retain(|k, _| k == "id_number" || fields.iter().any(|f| f == k));
                }
                json!({ "match": true, "citizen": v })
            }
        })
    }

    /// Check and limit; fills the audit detail as facts become known. Ends with the question
    /// to send, or a cached answer.
    async fn prepare(
        &self,
        member: &Member,
        body: &[u8],
        detail: &mut Value,
    ) -> Result<Step, Problem> {
        self.member_limits
            .check(&member.id)
            .map_err(|s| rate_limited("citizens_rate_limited", s, None))?;
        let today = (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive();
        let req: LookupRequest = input::parse(
            body,
            &|p| self.purposes.contains_key(p),
            &self.provinces,
            today,
        )
        .map_err(|e| {
            tracing::debug!(code = e.code(), field = ?e.field(), "citizen lookup refused");
            e.into_problem()
        })?;
        let unit_code = self
            .unit_code
            .clone()
            .or_else(|| member.organs.first().map(|o| o.to_string()))
            .unwrap_or_default();
        let account = req
            .officer_account
            .clone()
            .unwrap_or_else(|| member.id.clone());
        *detail = json!({
            "officer_id": req.officer_id,
            "officer_account": account,
            "unit_code": unit_code,
            "purpose": req.purpose,
            "dossier_code": req.dossier_code,
            "subject": self.subject(&req.id_number),
        });
        self.officer_limits
            .check(&req.officer_id)
            .map_err(|s| rate_limited("officer_rate_limited", s, Some("officer_id")))?;
        let client = self.client.as_ref().ok_or_else(not_configured)?;
        let cache_key = self.cache.as_ref().map(|_| {
            let birth = format!("{:?}", req.birth);
            let name = lienthong_population::name::normalise(&req.full_name);
            self.keyed_hash(&["q", &req.id_number, &name, &birth])
        });
        if let (Some(c), Some(k)) = (&self.cache, &cache_key) {
            if let Some(hit) = c.get(k) {
                detail["cached"] = json!(true);
                return Ok(Step::Cached(hit, req.purpose));
            }
        }
        let query = Query {
            request_id: client::request_id(),
            service_code: client.settings().service_code.clone(),
            officer_id: req.officer_id.clone(),
            unit_code,
            officer_account: account,
            id_number: req.id_number,
            full_name: req.full_name,
            birth: req.birth,
        };
        detail["upstream_request_id"] = json!(query.request_id);
        Ok(Step::Ask(Box::new(Ask {
            query,
            purpose: req.purpose,
            cache_key,
        })))
    }

    /// Ask the population service.
    async fn ask(&self, ask: Box<Ask>) -> Result<(Arc<LookupAnswer>, String), Problem> {
        let client = self.client.as_ref().ok_or_else(not_configured)?;
        let answer = client.lookup(&ask.query).await.map_err(|e| {
            tracing::warn!(
                code = e.code(),
                subject = %mask(&ask.query.id_number),
                error = %client::mask_digits(&e.to_string()),
                "population service: no answer"
            );
            Problem::new(
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_GATEWAY),
                e.code(),
                e.title(),
                e.detail_vi(),
            )
        })?;
        if let (Some(c), Some(k)) = (&self.cache, ask.cache_key) {
            c.put(k, answer.clone());
        }
        Ok((Arc::new(answer), ask.purpose))
    }

    /// The allow record and the lookup record, in one commit.
    async fn record(&self, allow: Option<Arc<PendingAllow>>, ev: Event) -> Result<(), Problem> {
        record_in(&self.store, allow, ev, Duration::ZERO).await
    }
}

/// What [`Citizens::prepare`] ends with.
enum Step {
    /// A cached answer (only with `citizens.cache.enabled`) and the purpose.
    Cached(Arc<LookupAnswer>, String),
    Ask(Box<Ask>),
}

/// A checked question for the population service.
struct Ask {
    query: Query,
    purpose: String,
    cache_key: Option<[u8; 32]>,
}

/// How long an outcome record, which nobody waits for, may wait to share a commit.
const OUTCOME_LINGER: Duration = Duration::from_millis(50);
/// How long a question's record may wait to share a commit. The answer waits for that commit,
/// but it is written while the service is asked, and the national service takes tens of
/// milliseconds over the WAN: the wait is hidden, and fewer commits cost less CPU
/// (`cargo bench --bench citizen_lookup`: ≈ 760 against ≈ 950 µs per lookup without).
const ASKED_LINGER: Duration = Duration::from_millis(2);

/// Commit `ev` (after the allow record, if any) in the next group commit, which may wait up to
/// `linger` for company.
async fn record_in(
    store: &Store,
    allow: Option<Arc<PendingAllow>>,
    ev: Event,
    linger: Duration,
) -> Result<(), Problem> {
    let mut events: Vec<Event> = allow.iter().map(|a| a.event.clone()).collect();
    events.push(ev);
    match store.append_audit(events, linger).await {
        Ok(_) => {
            if let Some(a) = allow {
                a.committed();
            }
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "audit append failed: citizen lookup answer withheld");
            Err(Problem::store_unavailable())
        }
    }
}

fn rate_limited(code: &'static str, secs: u64, field: Option<&str>) -> Problem {
    let who = if field.is_some() {
        "Cán bộ này đã tra cứu quá số lần cho phép"
    } else {
        "Hệ thống thành viên đã tra cứu công dân quá số lần cho phép"
    };
    let mut p = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        code,
        "Too many citizen lookups",
        format!("{who}. Hãy thử lại sau {secs} giây."),
    );
    p.retry_after = Some(secs);
    match field {
        Some(f) => p.with_extra("field", f),
        None => p,
    }
}

fn not_configured() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "population_not_configured",
        "Population database not configured",
        "Cổng chưa được cấu hình kết nối tới Cơ sở dữ liệu quốc gia về dân cư ([adapters.population] base_url). Đề nghị liên hệ quản trị viên cổng.",
    )
}
