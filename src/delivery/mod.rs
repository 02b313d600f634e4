//! Push delivery workers. A worker claims due push deliveries (a lease, so a node that dies
//! mid-delivery loses them after `edocs.lease_secs`), POSTs the stored package to the member's
//! endpoint over mTLS with the gateway's certificate, and records the outcome: delivered;
//! retried with exponential backoff and jitter; or dead letter when the budget is spent or the
//! recipient refuses for good (4xx other than 408/429). Deliveries to a member that asks for
//! order are claimed one at a time per (sender organ, member), in acceptance order.
//!
//! Delivery states: `queued` → (claimed: leased, still `queued`) → `delivered` | `dead`; pull
//! deliveries move `queued` → `delivered` (fetched) → `acked` | `failed` by the recipient.

pub mod admin;

use crate::audit::{self, Event};
use crate::edocs::{now_ms, package_bytes, Exchange};
use serde_json::json;
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;

/// A claimed delivery.
#[derive(Debug)]
pub struct Job {
    id: i64,
    edoc_id: i64,
    member: String,
    organ: String,
    attempts: i64,
    created_at: i64,
}

/// What a push attempt came to.
enum Outcome {
    Delivered,
    /// Worth retrying (network, timeout, 5xx, 408, 429).
    Retry(String),
    /// The recipient refused the package; retrying will not help.
    Refused(String),
}

pub struct Deliverer {
    ex: Arc<Exchange>,
    client: reqwest::Client,
    node: String,
}

impl Deliverer {
    pub fn new(ex: Arc<Exchange>, tls: rustls::ClientConfig) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(Duration::from_millis(ex.cfg.push_timeout_ms))
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(ex.cfg.workers)
            .build()
            .map_err(|e| format!("push client: {e}"))?;
        let node = format!(
            "{}-{}",
            std::process::id(),
            crate::edge::request_id::generate()
        );
        Ok(Deliverer { ex, client, node })
    }

    /// Run until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, shutdown: tokio::sync::watch::Receiver<bool>) {
        let workers = self.ex.cfg.workers;
        crate::queue::run(self, workers, shutdown).await
    }

    async fn claim_due(&self, n: i64) -> Result<Vec<Job>, sqlx::Error> {
        let store = &self.ex.store;
        let now = now_ms();
        let lease_until = now + self.ex.cfg.lease_secs as i64 * 1000;
        // Only a backend-chosen constant is spliced in; values are bound.
        let sql = format!(
            "UPDATE deliveries SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 WHERE id IN (SELECT d.id FROM deliveries d WHERE d.mode = 'push' AND d.state = 'queued' AND d.next_attempt_at <= $3 AND (d.lease_until IS NULL OR d.lease_until < $3) AND (d.order_key IS NULL OR NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.order_key = d.order_key AND p.id < d.id AND p.state = 'queued')) ORDER BY d.id LIMIT $4{}) RETURNING id, edoc_id, member, recipient_organ, attempts, created_at",
            store.backend().skip_locked()
        );
        let _w = store.writer().await;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.node)
            .bind(lease_until)
            .bind(now)
            .bind(n)
            .fetch_all(store.pool())
            .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for r in rows {
            jobs.push(Job {
                id: r.try_get("id")?,
                edoc_id: r.try_get("edoc_id")?,
                member: r.try_get::<Option<String>, _>("member")?.unwrap_or_default(),
                organ: r.try_get("recipient_organ")?,
                attempts: r.try_get("attempts")?,
                created_at: r.try_get("created_at")?,
            });
        }
        // Ordered deliveries: the claim query saw a snapshot; keep only the first per order key.
        Ok(jobs)
    }

    async fn push(&self, job: &Job) -> Outcome {
        let Some(member) = self.ex.registry.get(&job.member) else {
            return Outcome::Refused(format!("member {} is no longer configured", job.member));
        };
        let Some(endpoint) = &member.push_endpoint else {
            return Outcome::Refused(format!("member {} no longer takes pushes", job.member));
        };
        let bytes = match package_bytes(&self.ex.store, job.edoc_id).await {
            Ok(b) => b,
            Err(e) => return Outcome::Retry(format!("store: {e}")),
        };
        let resp = self
            .client
            .post(endpoint)
            .header("content-type", "application/xml")
            .header("x-lienthong-edoc-id", job.edoc_id.to_string())
            .header("x-lienthong-recipient", &job.organ)
            .body(bytes)
            .send()
            .await;
        match resp {
            Ok(r) if r.status().is_success() => Outcome::Delivered,
            Ok(r) => {
                let status = r.status();
                let text: String = r
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(300)
                    .collect();
                let why = format!("HTTP {}: {text}", status.as_u16());
                if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
                    Outcome::Refused(why)
                } else {
                    Outcome::Retry(why)
                }
            }
            Err(e) => Outcome::Retry(error_chain(&e)),
        }
    }

    async fn attempt_push(&self, job: Job) {
        let outcome = self.push(&job).await;
        let now = now_ms();
        let retry = &self.ex.cfg.retry;
        let (state, next, error) = match outcome {
            Outcome::Delivered => ("delivered", now, None),
            Outcome::Refused(why) => ("dead", now, Some(why)),
            Outcome::Retry(why) => {
                let age_ms = now - job.created_at;
                if job.attempts >= retry.max_attempts as i64
                    || age_ms > retry.max_age_secs as i64 * 1000
                {
                    ("dead", now, Some(format!("retry budget spent; last error: {why}")))
                } else {
                    ("queued", now + backoff_ms(job.attempts, retry), Some(why))
                }
            }
        };
        let store = &self.ex.store;
        let _w = store.writer().await;
        let result = async {
            // An outcome that is audited (and a dead letter's notice) writes in order with
            // every node's other writers; a retry only moves the delivery's own row.
            let mut tx = if state == "queued" {
                store.pool().begin().await?
            } else {
                store.begin_serial().await?
            };
            let n = sqlx::query("UPDATE deliveries SET state = $1, next_attempt_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL, delivered_at = CASE WHEN $4 = 1 THEN $5 ELSE delivered_at END WHERE id = $6 AND lease_owner = $7")
                .bind(state)
                .bind(next)
                .bind(&error)
                .bind(if state == "delivered" { 1i64 } else { 0i64 })
                .bind(now)
                .bind(job.id)
                .bind(&self.node)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 && state == "dead" {
                let why = error.as_deref().unwrap_or("-");
                self.ex
                    .dead_letter_notice(&mut tx, job.edoc_id, job.id, &job.organ, why)
                    .await
                    .map_err(sqlx::Error::Protocol)?;
            }
            if n == 1 && state != "queued" {
                audit::append_in(
                    &mut tx,
                    store.backend(),
                    &Event {
                        kind: "message",
                        actor: "-".into(),
                        action: "edoc.push".into(),
                        outcome: state.into(),
                        request_id: "-".into(),
                        detail: json!({
                            "id": job.edoc_id,
                            "delivery": job.id,
                            "member": job.member,
                            "organ": job.organ,
                            "attempts": job.attempts,
                            "error": error,
                        }),
                    },
                )
                .await
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            }
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(n)
        }
        .await;
        match result {
            Ok(1) => {
                if state == "dead" {
                    // The notice may itself be a push.
                    self.ex.wake.notify_one();
                }
                metrics::counter!("lienthong_deliveries_total", "outcome" => state).increment(1);
                if state == "dead" {
                    tracing::warn!(delivery = job.id, edoc = job.edoc_id, member = %job.member, error = ?error, "delivery: dead letter");
                }
            }
            Ok(_) => tracing::info!(delivery = job.id, "delivery: lease lost; another node owns it"),
            Err(e) => tracing::warn!(delivery = job.id, error = %e, "delivery: cannot record outcome"),
        }
    }
}

impl crate::queue::Queue for Deliverer {
    type Job = Job;
    const NAME: &'static str = "delivery";

    async fn claim(&self, n: i64) -> Result<Vec<Job>, sqlx::Error> {
        self.claim_due(n).await
    }

    async fn attempt(&self, job: Job) {
        self.attempt_push(job).await
    }

    fn wake(&self) -> &tokio::sync::Notify {
        &self.ex.wake
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// Exponential backoff with "equal jitter": half fixed, half random, capped.
pub fn backoff_ms(attempts: i64, r: &crate::config::RetryCfg) -> i64 {
    let exp = attempts.clamp(1, 30) - 1;
    let base = (r.initial_ms as i64)
        .saturating_mul(1i64 << exp)
        .min(r.max_ms as i64);
    let mut b = [0u8; 8];
    let _ = openssl::rand::rand_bytes(&mut b);
    let jitter = (u64::from_le_bytes(b) % (base as u64 / 2 + 1)) as i64;
    base / 2 + jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let r = crate::config::RetryCfg {
            initial_ms: 1000,
            max_ms: 60_000,
            max_attempts: 10,
            max_age_secs: 60,
        };
        for a in 1..=20 {
            let base = (1000i64 << (a - 1).min(29)).min(60_000);
            let b = backoff_ms(a, &r);
            assert!(b >= base / 2 && b <= base, "attempt {a}: {b} not in [{}, {base}]", base / 2);
        }
        let samples: std::collections::HashSet<i64> = (0..50).map(|_| backoff_ms(5, &r)).collect();
        assert!(samples.len() > 10, "no jitter: {samples:?}");
    }
}
