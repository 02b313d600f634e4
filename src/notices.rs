//! Notices: what the gateway tells a one-stop-shop installation about its dossiers when the news
//! comes from elsewhere (a payment confirmed by PayGov, a parcel delivered by VNPost, a step the
//! gateway recorded itself). Each notice is written in the same transaction as the change it
//! reports, so an installation never hears of something that did not happen, nor misses
//! something that did. Installations read them oldest first with `GET /v1/notices?after=ID`.

use crate::store::Tx;
use serde_json::{json, Value};
use sqlx::Row;

/// Queue a notice for `member` about dossier `dossier_code` (may be empty), in `tx`.
pub async fn notify_in(
    tx: &mut Tx,
    member: &str,
    dossier_code: &str,
    kind: &str,
    detail: &Value,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notices (member, dossier_code, kind, detail, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(member.to_owned())
    .bind(dossier_code.to_owned())
    .bind(kind.to_owned())
    .bind(detail.to_string())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queue a notice for the installation that filed dossier `code` (none when it is unknown).
pub async fn notify_owner_in(
    tx: &mut Tx,
    code: &str,
    kind: &str,
    detail: &Value,
    now_ms: i64,
) -> Result<Option<String>, sqlx::Error> {
    let owner: Option<String> = sqlx::query("SELECT created_by FROM dossiers WHERE code = $1")
        .bind(code.to_owned())
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get("created_by"))
        .transpose()?;
    if let Some(m) = &owner {
        notify_in(tx, m, code, kind, detail, now_ms).await?;
    }
    Ok(owner)
}

/// `member`'s notices after `after`, oldest first, at most `limit`.
pub async fn list(
    pool: &sqlx::AnyPool,
    member: &str,
    after: i64,
    limit: i64,
) -> Result<Value, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, dossier_code, kind, detail, created_at FROM notices WHERE member = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(member.to_owned())
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let detail: String = r.try_get("detail")?;
        let at: i64 = r.try_get("created_at")?;
        items.push(json!({
            "id": r.try_get::<i64, _>("id")?,
            "dossier_code": r.try_get::<String, _>("dossier_code")?,
            "kind": r.try_get::<String, _>("kind")?,
            "detail": serde_json::from_str::<Value>(&detail).unwrap_or(Value::Null),
            "at": crate::calendar::instant::format(
                &chrono::DateTime::from_timestamp_millis(at)
                    .unwrap_or_default()
                    .with_timezone(&crate::calendar::instant::VIETNAM),
            ),
        }));
    }
    let next = items.last().and_then(|i| i["id"].as_i64()).unwrap_or(after);
    Ok(json!({ "items": items, "next": next }))
}
