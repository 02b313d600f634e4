//! Reconciliation: payments the platform has not called back about are asked about with the
//! status call, from `reconcile_after_secs` after they started until `reconcile_until_secs`
//! (30 minutes and 3 days by default), with back-off between checks. The answer's checksum is
//! verified by the client before anything is believed; `1` is applied exactly like a verified
//! callback, `4` marks the payment failed, `3` or no answer keeps it open. Past the window it
//! goes to manual review (`review`), audited and told to the installation.

use super::state::{Outcome, PayState};
use super::{event_in, now_ms, Payments};
use crate::audit::{self, Event};
use crate::store::StoreError;
use lienthong_paygov::client::TxnState;
use serde_json::json;
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;

/// Milliseconds to wait after the `checks`-th check: the interval doubling, capped, ±20 %.
fn next_wait_ms(checks: i64, interval_secs: u64, max_secs: u64) -> i64 {
    let base = interval_secs
        .saturating_mul(1u64 << checks.clamp(0, 20))
        .min(max_secs.max(interval_secs))
        .saturating_mul(1000) as f64;
    let jitter = 0.8 + 0.4 * (rand_unit());
    (base * jitter) as i64
}

/// A number in [0, 1) (enough randomness to spread checks apart).
fn rand_unit() -> f64 {
    let mut b = [0u8; 4];
    if openssl::rand::rand_bytes(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

impl Payments {
    /// Check due payments until `shutdown`.
    pub async fn run_reconciler(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let every = Duration::from_secs(self.cfg.reconcile_poll_secs.max(1));
        loop {
            match self.reconcile_once().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(checked = n, "PayGov reconciliation"),
                Err(e) => tracing::warn!(error = %e, "PayGov reconciliation: store error"),
            }
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// One pass: every open payment whose next check is due. Answers how many were looked at.
    pub async fn reconcile_once(self: &Arc<Self>) -> Result<usize, StoreError> {
        let now = now_ms();
        let rows = sqlx::query(
            "SELECT reference, init_time, created_at, checks FROM payments WHERE state IN ('initiated', 'pending') AND next_check_at <= $1 AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_check_at LIMIT 50",
        )
        .bind(now)
        .fetch_all(self.store.pool())
        .await?;
        let mut n = 0;
        for r in rows {
            let reference: String = r.try_get("reference")?;
            let lease = now_ms() + (self.cfg.timeout_ms as i64) * 2 + 60_000;
            let claimed = sqlx::query(
                "UPDATE payments SET lease_until = $1 WHERE reference = $2 AND (lease_until IS NULL OR lease_until < $3)",
            )
            .bind(lease)
            .bind(reference.clone())
            .bind(now_ms())
            .execute(self.store.pool())
            .await?
            .rows_affected();
            if claimed != 1 {
                continue;
            }
            n += 1;
            let created: i64 = r.try_get("created_at")?;
            let checks: i64 = r.try_get("checks")?;
            let time: String = r.try_get("init_time")?;
            if now_ms() > created + (self.cfg.reconcile_until_secs as i64) * 1000 {
                self.to_review(&reference).await?;
                continue;
            }
            let answer = self.client.status(&reference, &time).await;
            let (outcome, txn, detail) = match &answer {
                Ok(s) => {
                    let txn = s
                        .fields
                        .get("MaGiaoDich")
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_owned();
                    let (o, code) = match s.state {
                        TxnState::Paid => (Outcome::Paid, "1"),
                        TxnState::Failed => (Outcome::Failed, "4"),
                        TxnState::Pending => (Outcome::Pending, "3"),
                    };
                    (Some(o), txn, json!({ "TrangThaiGD": code }))
                }
                Err(e) => {
                    tracing::info!(%reference, error = %e, "PayGov status check: no answer");
                    (None, String::new(), json!({}))
                }
            };
            let wait = next_wait_ms(
                checks,
                self.cfg.reconcile_interval_secs,
                self.cfg.reconcile_max_interval_secs,
            );
            let this = self.clone();
            let rf = reference.clone();
            self.store
                .batched(move |tx| {
                    Box::pin(async move {
                        if let Some(o) = outcome {
                            this.apply_in(tx, &rf, o, &txn, "check", &detail, "-").await?;
                        }
                        sqlx::query(
                            "UPDATE payments SET checks = checks + 1, next_check_at = $1, lease_until = NULL WHERE reference = $2",
                        )
                        .bind(now_ms() + wait)
                        .bind(rf.clone())
                        .execute(&mut **tx)
                        .await?;
                        Ok::<_, StoreError>(())
                    })
                })
                .await??;
            self.dossiers.wake_portal();
        }
        Ok(n)
    }

    /// Past the window without a final answer: manual review.
    async fn to_review(self: &Arc<Self>, reference: &str) -> Result<(), StoreError> {
        let this = self.clone();
        let rf = reference.to_owned();
        self.store
            .batched(move |tx| {
                Box::pin(async move {
                    let row = sqlx::query("SELECT state, member, dossier_code, amount FROM payments WHERE reference = $1")
                        .bind(rf.clone())
                        .fetch_one(&mut **tx)
                        .await?;
                    let from: String = row.try_get("state")?;
                    if !PayState::parse(&from).is_some_and(PayState::open) {
                        return Ok(());
                    }
                    let now = now_ms();
                    sqlx::query("UPDATE payments SET state = 'review', lease_until = NULL, updated_at = $1 WHERE reference = $2 AND state = $3")
                        .bind(now)
                        .bind(rf.clone())
                        .bind(from.clone())
                        .execute(&mut **tx)
                        .await?;
                    let detail = json!({ "why": "no final answer within reconcile_until_secs", "was": from });
                    event_in(tx, &rf, now, "check", PayState::Review, None, &detail).await?;
                    let member: String = row.try_get("member")?;
                    let dossier: String = row.try_get("dossier_code")?;
                    let notice = json!({ "reference": rf, "amount": row.try_get::<i64, _>("amount")?, "state": "review", "source": "check" });
                    crate::notices::notify_in(tx, &member, &dossier, "payment.review", &notice, now).await?;
                    let ev = Event {
                        kind: "message",
                        actor: "paygov".into(),
                        action: "payment.check".into(),
                        outcome: "review".into(),
                        request_id: "-".into(),
                        detail: json!({ "reference": rf, "dossier": dossier }),
                    };
                    audit::append_all_in(tx, this.store.backend(), &[&ev]).await?;
                    tracing::warn!(reference = %rf, "PayGov payment without a final answer: manual review");
                    Ok::<_, StoreError>(())
                })
            })
            .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_with_jitter() {
        for (checks, base) in [
            (0, 60_000.0),
            (1, 120_000.0),
            (2, 240_000.0),
            (10, 600_000.0),
        ] {
            let w = next_wait_ms(checks, 60, 600) as f64;
            assert!(w >= base * 0.8 && w <= base * 1.2, "{checks}: {w}");
        }
    }
}
