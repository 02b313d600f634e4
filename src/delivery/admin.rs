//! Operator actions on deliveries (`lienthong deliveries list|retry`): list by state, and
//! re-queue dead letters once the cause is fixed. Running gateways pick re-queued deliveries
//! up within their poll interval.

use crate::audit::{self, Event};
use crate::edocs::now_ms;
use crate::store::Store;
use serde_json::{json, Value};
use sqlx::Row;

/// Deliveries in `state` (all states when `None`), newest first.
pub async fn list(store: &Store, state: Option<&str>, limit: i64) -> Result<Vec<Value>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT d.id, d.edoc_id, d.recipient_organ, d.member, d.mode, d.state, d.attempts, d.last_error, e.from_organ, e.document_id FROM deliveries d JOIN edocs e ON e.id = d.edoc_id WHERE ($1 = '' OR d.state = $1) ORDER BY d.id DESC LIMIT $2",
    )
    .bind(state.unwrap_or(""))
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(json!({
            "delivery": r.try_get::<i64, _>("id")?,
            "edoc": r.try_get::<i64, _>("edoc_id")?,
            "from": r.try_get::<String, _>("from_organ")?,
            "document_id": r.try_get::<String, _>("document_id")?,
            "organ": r.try_get::<String, _>("recipient_organ")?,
            "member": r.try_get::<Option<String>, _>("member")?,
            "mode": r.try_get::<String, _>("mode")?,
            "state": r.try_get::<String, _>("state")?,
            "attempts": r.try_get::<i64, _>("attempts")?,
            "last_error": r.try_get::<Option<String>, _>("last_error")?,
        }));
    }
    Ok(out)
}

/// Re-queue dead deliveries: the given delivery ids, or every dead one (optionally only those
/// to `member`). Returns how many were re-queued. Audited.
pub async fn retry(
    store: &Store,
    ids: &[i64],
    member: Option<&str>,
) -> Result<u64, sqlx::Error> {
    let _w = store.writer().await;
    let mut tx = store.begin_serial().await?;
    let now = now_ms();
    let mut n = 0;
    const ONE: &str = "UPDATE deliveries SET state = 'queued', attempts = 0, next_attempt_at = $1, created_at = $1, lease_owner = NULL, lease_until = NULL WHERE state = 'dead' AND id = $2";
    const ALL: &str = "UPDATE deliveries SET state = 'queued', attempts = 0, next_attempt_at = $1, created_at = $1, lease_owner = NULL, lease_until = NULL WHERE state = 'dead' AND ($2 = '' OR member = $2)";
    if ids.is_empty() {
        n += sqlx::query(ALL)
            .bind(now)
            .bind(member.unwrap_or(""))
            .execute(&mut *tx)
            .await?
            .rows_affected();
    } else {
        for id in ids {
            n += sqlx::query(ONE)
                .bind(now)
                .bind(*id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
    }
    audit::append_in(
        &mut tx,
        store.backend(),
        &Event {
            kind: "system",
            actor: "operator".into(),
            action: "deliveries.retry".into(),
            outcome: format!("requeued:{n}"),
            request_id: "-".into(),
            detail: json!({ "ids": ids, "member": member }),
        },
    )
    .await
    .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    tx.commit().await?;
    Ok(n)
}
