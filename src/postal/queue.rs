//! The calls an order waits for (`postal_orders.job`: `create`, `cancel`), run by the shared
//! outbound queue loop: claimed with a lease, tried, and recorded — done, retried with back-off
//! (timeouts, transport errors, 5xx, 429), or failed (VNPost refused it, or attempts/age ran
//! out). VNPost takes an `OrderNumber` once, so a create retried after a lost answer is harmless.

use super::{now_ms, Postal};
use crate::delivery::backoff_ms;
use lienthong_vnpost::client::Error;
use lienthong_vnpost::wire::Order;
use serde_json::json;
use sqlx::Row;
use tokio::sync::Notify;

/// A claimed order.
pub struct Job {
    number: String,
    dossier: String,
    member: String,
    /// `create` or `cancel`.
    call: String,
    body: String,
    attempts: i64,
    created_at: i64,
    lease_until: i64,
}

/// What an attempt leads to.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The call succeeded: the order's new state.
    Done(&'static str),
    /// Try again at this time.
    Retry(i64),
    /// Give up: the order's state, with the reason.
    GiveUp(&'static str),
}

impl Postal {
    async fn claim_due(&self, n: i64) -> Result<Vec<Job>, sqlx::Error> {
        let now = now_ms();
        let lease_until = now + self.cfg.lease_secs as i64 * 1000;
        // Only a backend-chosen constant is spliced in; values are bound.
        let sql = format!(
            "UPDATE postal_orders SET lease_until = $1, attempts = attempts + 1 WHERE order_number IN (SELECT order_number FROM postal_orders WHERE job <> 'none' AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_attempt_at LIMIT $3{}) RETURNING order_number, dossier_code, member, job, body, attempts, created_at",
            self.store.backend().skip_locked()
        );
        let _w = self.store.writer().await;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(lease_until)
            .bind(now)
            .bind(n)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Job {
                    number: r.try_get("order_number")?,
                    dossier: r.try_get("dossier_code")?,
                    member: r.try_get("member")?,
                    call: r.try_get("job")?,
                    body: r.try_get("body")?,
                    attempts: r.try_get("attempts")?,
                    created_at: r.try_get("created_at")?,
                    lease_until,
                })
            })
            .collect()
    }

    async fn call(&self, job: &Job) -> Result<(), Error> {
        match job.call.as_str() {
            "create" => {
                let order: Order = serde_json::from_str(&job.body)
                    .map_err(|e| Error::BadAnswer(format!("stored order unreadable: {e}")))?;
                self.client.create_order(&order).await.map(|_| ())
            }
            _ => self
                .client
                .cancel_order(&self.cfg.customer_code, &job.number)
                .await
                .map(|_| ()),
        }
    }

    fn next(&self, job: &Job, outcome: &Result<(), Error>) -> Next {
        let now = now_ms();
        let retry = &self.cfg.retry;
        match (outcome, job.call.as_str()) {
            (Ok(()), "create") => Next::Done("sent"),
            (Ok(()), _) => Next::Done("cancelled"),
            (Err(e), call) => {
                let exhausted = job.attempts >= retry.max_attempts as i64
                    || now - job.created_at > retry.max_age_secs as i64 * 1000;
                if e.is_transient() && !exhausted {
                    Next::Retry(now + backoff_ms(job.attempts, retry))
                } else if call == "create" {
                    Next::GiveUp("failed")
                } else {
                    // VNPost would not cancel: the order stands.
                    Next::GiveUp("sent")
                }
            }
        }
    }

    async fn attempt_job(&self, job: Job) {
        let outcome = self.call(&job).await;
        let next = self.next(&job, &outcome);
        let why = outcome.as_ref().err().map(|e| e.to_string());
        if let Some(e) = &why {
            tracing::info!(order = %job.number, call = %job.call, attempts = job.attempts, error = %e, "vnpost: call failed");
        }
        let outcome_label = match &next {
            Next::Done(_) => "done",
            Next::Retry(_) => "retry",
            Next::GiveUp(_) => "gave_up",
        };
        metrics::counter!("lienthong_postal_calls_total", "call" => job.call.clone(), "outcome" => outcome_label)
            .increment(1);
        if let Err(e) = self.record(&job, &next, why.as_deref()).await {
            tracing::warn!(order = %job.number, error = %e, "vnpost: outcome not recorded (the lease will expire and the call be made again)");
        }
    }

    async fn record(&self, job: &Job, next: &Next, why: Option<&str>) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let mut tx = self.store.begin_serial().await?;
        let (state, job_after, at, error): (Option<&str>, &str, i64, Option<String>) = match next {
            Next::Done(s) => (Some(s), "none", now, None),
            Next::Retry(at) => (None, job.call.as_str(), *at, why.map(str::to_owned)),
            Next::GiveUp(s) => (
                Some(s),
                "none",
                now,
                Some(format!(
                    "{} bị dừng; lỗi cuối: {}",
                    if job.call == "create" {
                        "Gửi đơn"
                    } else {
                        "Huỷ đơn"
                    },
                    why.unwrap_or("")
                )),
            ),
        };
        // Only if still ours: same call, same lease. A tracking event may have moved the
        // order meanwhile (e.g. to delivered); that state is kept.
        let updated = sqlx::query(
            "UPDATE postal_orders SET state = CASE WHEN CAST($1 AS TEXT) IS NULL OR state = 'delivered' THEN state ELSE CAST($1 AS TEXT) END, job = $2, next_attempt_at = $3, last_error = $4, lease_until = NULL, updated_at = $5 WHERE order_number = $6 AND job = $7 AND lease_until = $8",
        )
        .bind(state.map(str::to_owned))
        .bind(job_after.to_owned())
        .bind(at)
        .bind(error.clone())
        .bind(now)
        .bind(job.number.clone())
        .bind(job.call.clone())
        .bind(job.lease_until)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 1 {
            if let Some(s) = state {
                let mut detail =
                    json!({ "order_number": job.number, "state": s, "call": job.call });
                if let Some(e) = &error {
                    detail["error"] = json!(e);
                }
                crate::notices::notify_in(
                    &mut tx,
                    &job.member,
                    &job.dossier,
                    "postal.order",
                    &detail,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await
    }
}

impl crate::queue::Queue for Postal {
    type Job = Job;
    const NAME: &'static str = "vnpost";

    async fn claim(&self, n: i64) -> Result<Vec<Job>, sqlx::Error> {
        self.claim_due(n).await
    }

    async fn attempt(&self, job: Job) {
        self.attempt_job(job).await
    }

    fn wake(&self) -> &Notify {
        &self.wake
    }
}
