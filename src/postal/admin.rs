//! Operator actions on postal orders (`lienthong postal orders|retry`): list by state, and send
//! again orders whose create call gave up (VNPost refused it or the retries ran out) once the
//! cause is fixed. VNPost takes an `OrderNumber` once, so sending again is safe. Running
//! gateways pick them up within their poll interval.

use crate::audit::{self, Event};
use crate::store::Store;
use serde_json::{json, Value};
use sqlx::Row;

/// Orders in `state` (all when `None`), newest first.
pub async fn list(
    store: &Store,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<Value>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT order_number, dossier_code, member, direction, state, job, attempts, last_error, carrier_status, created_at, updated_at FROM postal_orders WHERE ($1 = '' OR state = $1) ORDER BY created_at DESC, order_number LIMIT $2",
    )
    .bind(state.unwrap_or(""))
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let s = |k: &str| r.try_get::<String, _>(k);
            Ok(json!({
                "order_number": s("order_number")?,
                "dossier": s("dossier_code")?,
                "member": s("member")?,
                "direction": s("direction")?,
                "state": s("state")?,
                "pending_call": s("job")?,
                "attempts": r.try_get::<i64, _>("attempts")?,
                "last_error": r.try_get::<Option<String>, _>("last_error")?,
                "carrier_status": r.try_get::<Option<String>, _>("carrier_status")?,
                "created_at": r.try_get::<i64, _>("created_at")?,
                "updated_at": r.try_get::<i64, _>("updated_at")?,
            }))
        })
        .collect()
}

/// Queue the create call again for failed orders: the given numbers, or every failed one.
/// Returns how many. Audited.
pub async fn retry(store: &Store, numbers: &[String]) -> Result<u64, sqlx::Error> {
    let _w = store.writer().await;
    let mut tx = store.begin_serial().await?;
    let now = crate::postal::now_ms();
    let sql = "UPDATE postal_orders SET state = 'queued', job = 'create', attempts = 0, next_attempt_at = $1, created_at = $1, lease_until = NULL, last_error = NULL, updated_at = $1 WHERE state = 'failed' AND job = 'none' AND ($2 = '' OR order_number = $2)";
    let mut n = 0;
    let all = [String::new()];
    for number in if numbers.is_empty() {
        &all[..]
    } else {
        numbers
    } {
        n += sqlx::query(sql)
            .bind(now)
            .bind(number.clone())
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    audit::append_in(
        &mut tx,
        store.backend(),
        &Event {
            kind: "system",
            actor: "operator".into(),
            action: "postal.retry".into(),
            outcome: format!("requeued:{n}"),
            request_id: "-".into(),
            detail: json!({ "orders": numbers }),
        },
    )
    .await
    .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    tx.commit().await?;
    Ok(n)
}
