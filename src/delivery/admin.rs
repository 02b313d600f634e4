//! Operator actions on deliveries (`lienthong deliveries list|retry`): list by state, and
//! re-queue dead letters once the cause is fixed. Running gateways pick re-queued deliveries
//! up within their poll interval.

use crate::store::Store;
use serde_json::{json, Value};
use sqlx::Row;

/// Deliveries in `state` (all states when `None`), newest first.
pub async fn list(
    store: &Store,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<Value>, sqlx::Error> {
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
pub async fn retry(store: &Store, ids: &[i64], member: Option<&str>) -> Result<u64, sqlx::Error> {
    crate::queue::requeue(
        store,
        "UPDATE deliveries SET state = 'queued', attempts = 0, next_attempt_at = $1, created_at = $1, lease_owner = NULL, lease_until = NULL WHERE state = 'dead'",
        "member",
        ids,
        member,
        "deliveries.retry",
        json!({ "ids": ids, "member": member }),
    )
    .await
}
