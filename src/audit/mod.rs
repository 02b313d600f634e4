//! The audit chain: an append-only log in which every record carries the SHA-256 of the
//! previous record, so that any edit, insertion or removal inside the chain is detected by
//! [`verify`], which names the first broken record.

use crate::store::{Backend, Store, StoreError};
use serde::Serialize;
use sqlx::Row;

/// The hash the first record points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is chained.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// `access` (an access decision), `tls` (a handshake refused), `message`, `system`.
    pub kind: &'static str,
    /// Member id, or `-` when the caller is not known.
    pub actor: String,
    /// What was attempted, e.g. `GET /v1/organs` or `token`.
    pub action: String,
    /// `allow`, or `deny:<problem code>`, or an event-specific outcome.
    pub outcome: String,
    pub request_id: String,
    /// Further facts as a JSON object. Never personal data or secrets — with one deliberate
    /// exception: a citizen lookup records the asking officer's ID (`officer_id`); the citizen
    /// asked about appears only as a keyed hash.
    pub detail: serde_json::Value,
}

/// A chained record as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Record {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub action: String,
    pub outcome: String,
    pub request_id: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Record {
    /// SHA-256 over an unambiguous encoding (a JSON array of the fields) of everything but `hash`.
    pub fn compute_hash(&self) -> String {
        let fields = serde_json::json!([
            self.seq,
            self.at,
            self.kind,
            self.actor,
            self.action,
            self.outcome,
            self.request_id,
            self.detail,
            self.prev_hash
        ]);
        let bytes = serde_json::to_vec(&fields).unwrap_or_default();
        hex::encode(openssl::sha::sha256(&bytes))
    }
}

fn row_to_record(r: &sqlx::any::AnyRow) -> Result<Record, sqlx::Error> {
    Ok(Record {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        kind: r.try_get("kind")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        outcome: r.try_get("outcome")?,
        request_id: r.try_get("request_id")?,
        detail: r.try_get("detail")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// Append one event inside an open transaction, so that it commits with the state it records.
pub async fn append_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    ev: &Event,
) -> Result<Record, StoreError> {
    let mut recs = append_all_in(tx, backend, &[ev]).await?;
    recs.pop().ok_or(StoreError::Db(sqlx::Error::RowNotFound))
}

/// Records per insert statement (see [`crate::store::row_groups`]).
const AUDIT_ROWS: usize = 64;

/// Append `events`, in order, inside an open transaction: one read of the chain's head, then
/// multi-row inserts of up to [`AUDIT_ROWS`] records.
pub async fn append_all_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    events: &[&Event],
) -> Result<Vec<Record>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    // One writer at a time across every node sharing the database, from reading the head of
    // the chain until the record is committed (a no-op when `tx` came from `begin_serial`).
    backend
        .lock_until_commit(tx, crate::store::locks::WRITERS)
        .await?;
    let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut **tx)
        .await?;
    let (mut seq, mut prev_hash) = match last {
        Some(r) => (
            r.try_get::<i64, _>("seq")? + 1,
            r.try_get::<String, _>("hash")?,
        ),
        None => (1, GENESIS.to_owned()),
    };
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut recs = Vec::with_capacity(events.len());
    for ev in events {
        let mut rec = Record {
            seq,
            at: at.clone(),
            kind: ev.kind.to_owned(),
            actor: ev.actor.clone(),
            action: ev.action.clone(),
            outcome: ev.outcome.clone(),
            request_id: ev.request_id.clone(),
            detail: ev.detail.to_string(),
            prev_hash,
            hash: String::new(),
        };
        rec.hash = rec.compute_hash();
        seq += 1;
        prev_hash = rec.hash.clone();
        recs.push(rec);
    }
    for group in crate::store::in_row_groups(&recs, AUDIT_ROWS) {
        let sql = format!(
            "INSERT INTO audit_log (seq, at, kind, actor, action, outcome, request_id, detail, prev_hash, hash) VALUES {}",
            crate::store::values(backend, group.len(), "({})", 10, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for rec in group {
            q = q
                .bind(rec.seq)
                .bind(rec.at.clone())
                .bind(rec.kind.clone())
                .bind(rec.actor.clone())
                .bind(rec.action.clone())
                .bind(rec.outcome.clone())
                .bind(rec.request_id.clone())
                .bind(rec.detail.clone())
                .bind(rec.prev_hash.clone())
                .bind(rec.hash.clone());
        }
        q.execute(&mut **tx).await?;
    }
    for ev in events {
        metrics::counter!("lienthong_audit_records_total", "kind" => ev.kind).increment(1);
    }
    Ok(recs)
}

/// Append one event in the next group commit; returns after the commit.
pub async fn append(store: &Store, ev: &Event) -> Result<Record, StoreError> {
    store
        .append_audit(vec![ev.clone()], std::time::Duration::ZERO)
        .await?
        .pop()
        .ok_or_else(|| StoreError::Io("audit append: no record".into()))
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    pub valid: bool,
    pub records: u64,
    /// The head of the chain (hash of the last record), to note down out of band.
    pub head: String,
    /// The first record that does not verify, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<Broken>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Broken {
    pub seq: i64,
    pub reason: String,
}

/// Walk the whole chain in order, page by page, recomputing every hash.
pub async fn verify(store: &Store) -> Result<Verdict, StoreError> {
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_owned();
    let mut count = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT seq, at, kind, actor, action, outcome, request_id, detail, prev_hash, hash \
             FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 1000",
        )
        .bind(expected_seq)
        .fetch_all(store.pool())
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let rec = row_to_record(row)?;
            let broken = |reason: String| Verdict {
                valid: false,
                records: count,
                head: prev.clone(),
                first_broken: Some(Broken {
                    seq: rec.seq,
                    reason,
                }),
            };
            if rec.seq != expected_seq {
                return Ok(broken(format!(
                    "record {expected_seq} is missing (next is {})",
                    rec.seq
                )));
            }
            if rec.prev_hash != prev {
                return Ok(broken(
                    "prev_hash does not match the hash of the previous record".into(),
                ));
            }
            if rec.compute_hash() != rec.hash {
                return Ok(broken(
                    "content does not match its hash (the record was altered)".into(),
                ));
            }
            prev = rec.hash.clone();
            expected_seq += 1;
            count += 1;
        }
    }
    // Records below 1 or any seq gap at the start were caught above; a chain starting later is a gap.
    Ok(Verdict {
        valid: true,
        records: count,
        head: prev,
        first_broken: None,
    })
}

/// The last `n` records, oldest first.
pub async fn tail(store: &Store, n: i64) -> Result<Vec<Record>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, kind, actor, action, outcome, request_id, detail, prev_hash, hash \
         FROM audit_log ORDER BY seq DESC LIMIT $1",
    )
    .bind(n)
    .fetch_all(store.pool())
    .await?;
    let mut out = rows
        .iter()
        .map(row_to_record)
        .collect::<Result<Vec<_>, _>>()?;
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: usize) -> Event {
        Event {
            kind: "access",
            actor: format!("m{i}"),
            action: "GET /v1/whoami".into(),
            outcome: "allow".into(),
            request_id: format!("r{i}"),
            detail: serde_json::json!({"i": i}),
        }
    }

    #[tokio::test]
    async fn chain_verifies_and_names_first_tampered_record() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("a.db").display());
        let store = Store::open(&url, 2).await.unwrap();
        for i in 0..5 {
            append(&store, &ev(i)).await.unwrap();
        }
        let v = verify(&store).await.unwrap();
        assert!(v.valid);
        assert_eq!(v.records, 5);
        // The table refuses updates...
        assert!(
            sqlx::query("UPDATE audit_log SET actor = 'x' WHERE seq = 3")
                .execute(store.pool())
                .await
                .is_err()
        );
        // ...but someone with the file can drop the trigger; the chain still tells.
        sqlx::query("DROP TRIGGER audit_log_no_update")
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'm9' WHERE seq = 3")
            .execute(store.pool())
            .await
            .unwrap();
        let v = verify(&store).await.unwrap();
        assert!(!v.valid);
        assert_eq!(v.first_broken.as_ref().unwrap().seq, 3);
        assert_eq!(v.records, 2);
    }

    #[tokio::test]
    async fn removed_record_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("a.db").display());
        let store = Store::open(&url, 2).await.unwrap();
        for i in 0..4 {
            append(&store, &ev(i)).await.unwrap();
        }
        sqlx::query("DROP TRIGGER audit_log_no_delete")
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query("DELETE FROM audit_log WHERE seq = 2")
            .execute(store.pool())
            .await
            .unwrap();
        let v = verify(&store).await.unwrap();
        assert_eq!(v.first_broken.unwrap().seq, 3);
    }
}
