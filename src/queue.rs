//! The worker loop shared by the outbound queues (document push deliveries, national portal
//! jobs): claim as many due jobs as there are free workers, run each on its own task, sleep
//! until woken (new work committed, a job finished) or a quarter second passed, stop on
//! shutdown. What a job is, how it is claimed (a lease in the store) and what an attempt does
//! belong to the queue; and the operators' re-queue of dead jobs, audited.

use crate::audit::{self, Event};
use crate::store::Store;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// An outbound queue in the store.
pub trait Queue: Send + Sync + 'static {
    type Job: Send + 'static;
    /// For logs: `delivery`, `dvcqg`.
    const NAME: &'static str;
    /// Claim (lease) up to `n` due jobs.
    fn claim(&self, n: i64) -> impl Future<Output = Result<Vec<Self::Job>, sqlx::Error>> + Send;
    /// One attempt at a job, its outcome recorded.
    fn attempt(&self, job: Self::Job) -> impl Future<Output = ()> + Send;
    /// Notified when work may be due.
    fn wake(&self) -> &Notify;
}

/// Run `q` with `workers` jobs in flight at most, until `shutdown` turns true.
pub async fn run<Q: Queue>(
    q: Arc<Q>,
    workers: usize,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let sem = Arc::new(tokio::sync::Semaphore::new(workers));
    loop {
        if *shutdown.borrow() {
            break;
        }
        let free = sem.available_permits();
        let jobs = if free > 0 {
            q.claim(free as i64).await.unwrap_or_else(|e| {
                tracing::warn!(queue = Q::NAME, error = %e, "claim failed");
                Vec::new()
            })
        } else {
            Vec::new()
        };
        let idle = jobs.is_empty();
        for job in jobs {
            let Ok(permit) = sem.clone().acquire_owned().await else {
                return;
            };
            let q = q.clone();
            tokio::spawn(async move {
                q.attempt(job).await;
                drop(permit);
                q.wake().notify_one();
            });
        }
        if idle {
            tokio::select! {
                _ = q.wake().notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Re-queue dead jobs in one audited transaction: `set` is the `UPDATE … WHERE <dead>` of the
/// queue (binding `$1` = now); then either each of `ids` (`AND id = $2`) or every dead one,
/// optionally only where `column` equals `only`. Returns how many.
pub async fn requeue(
    store: &Store,
    set: &str,
    column: &str,
    ids: &[i64],
    only: Option<&str>,
    action: &str,
    detail: Value,
) -> Result<u64, sqlx::Error> {
    let _w = store.writer().await;
    let mut tx = store.begin_serial().await?;
    let now = crate::edocs::now_ms();
    let mut n = 0;
    if ids.is_empty() {
        // Only the queue's own constant SQL and column name are spliced in; values are bound.
        let sql = format!("{set} AND ($2 = '' OR {column} = $2)");
        n += sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(only.unwrap_or(""))
            .execute(&mut *tx)
            .await?
            .rows_affected();
    } else {
        let sql = format!("{set} AND id = $2");
        for id in ids {
            n += sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
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
            action: action.into(),
            outcome: format!("requeued:{n}"),
            request_id: "-".into(),
            detail,
        },
    )
    .await
    .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    tx.commit().await?;
    Ok(n)
}
