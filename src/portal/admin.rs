//! Operator actions on portal jobs (`lienthong portal jobs|retry`): list by stage, and re-queue
//! dead jobs once the cause is fixed (a re-queued job starts again from its sync, which the
//! portal takes as an update). Running gateways pick them up within their poll interval.

use crate::store::Store;
use serde_json::{json, Value};
use sqlx::Row;

/// Jobs in `stage` (all when `None`), newest first.
pub async fn list(
    store: &Store,
    stage: Option<&str>,
    limit: i64,
) -> Result<Vec<Value>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, dossier_code, seq, stage, attempts, last_error, created_at, done_at FROM portal_jobs WHERE ($1 = '' OR stage = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(stage.unwrap_or(""))
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(json!({
                "job": r.try_get::<i64, _>("id")?,
                "dossier": r.try_get::<String, _>("dossier_code")?,
                "seq": r.try_get::<i64, _>("seq")?,
                "stage": r.try_get::<String, _>("stage")?,
                "attempts": r.try_get::<i64, _>("attempts")?,
                "last_error": r.try_get::<Option<String>, _>("last_error")?,
                "created_at": r.try_get::<i64, _>("created_at")?,
                "done_at": r.try_get::<Option<i64>, _>("done_at")?,
            }))
        })
        .collect()
}

/// Re-queue dead jobs: the given ids, or every dead one (optionally of one dossier). Returns
/// how many. Audited.
pub async fn retry(store: &Store, ids: &[i64], dossier: Option<&str>) -> Result<u64, sqlx::Error> {
    crate::queue::requeue(
        store,
        "UPDATE portal_jobs SET stage = 'sync', attempts = 0, next_attempt_at = $1, created_at = $1, lease_owner = NULL, lease_until = NULL WHERE stage = 'dead'",
        "dossier_code",
        ids,
        dossier,
        "portal.retry",
        json!({ "ids": ids, "dossier": dossier }),
    )
    .await
}
