//! Group commit. Writers on the hot path (audit records of access decisions, accepted
//! packages) hand their work to one task, which runs whatever has queued up — up to
//! [`MAX_BATCH`] jobs — in one transaction, each job under its own savepoint, and commits once.
//! With `synchronous=FULL` one fsync then covers many requests; nobody is answered before the
//! commit that holds their writes.

use sqlx::{AnyPool, Executor};
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
type Erased = Box<dyn Any + Send>;
type RunFn =
    Box<dyn for<'c> FnOnce(&'c mut super::Tx) -> BoxFuture<'c, Result<Erased, Erased>> + Send>;

pub const MAX_BATCH: usize = 64;

pub struct Job {
    pub run: RunFn,
    pub done: tokio::sync::oneshot::Sender<Outcome>,
}

pub enum Outcome {
    /// Committed.
    Ok(Erased),
    /// The job failed; its savepoint was rolled back, nothing of it is stored.
    JobErr(Erased),
    /// The shared transaction could not be committed; nothing of the job is stored.
    Failed(String),
}

pub async fn run(
    pool: AnyPool,
    backend: super::Backend,
    lock: Arc<tokio::sync::Mutex<()>>,
    mut rx: tokio::sync::mpsc::Receiver<Job>,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        metrics::histogram!("lienthong_store_batch_jobs").record(jobs.len() as f64);
        let _w = lock.lock().await;
        let mut tx = match super::begin_serial(&pool, backend).await {
            Ok(t) => t,
            Err(e) => {
                for j in jobs {
                    let _ = j.done.send(Outcome::Failed(e.to_string()));
                }
                continue;
            }
        };
        let mut pending: Vec<(tokio::sync::oneshot::Sender<Outcome>, Erased)> = Vec::new();
        let mut broken: Option<String> = None;
        for job in jobs {
            if let Some(why) = &broken {
                let _ = job.done.send(Outcome::Failed(why.clone()));
                continue;
            }
            if let Err(e) = (&mut *tx).execute("SAVEPOINT job").await {
                broken = Some(e.to_string());
                let _ = job.done.send(Outcome::Failed(e.to_string()));
                continue;
            }
            match (job.run)(&mut tx).await {
                Ok(v) => match (&mut *tx).execute("RELEASE SAVEPOINT job").await {
                    Ok(_) => pending.push((job.done, v)),
                    Err(e) => {
                        broken = Some(e.to_string());
                        let _ = job.done.send(Outcome::Failed(e.to_string()));
                    }
                },
                Err(e) => {
                    let rolled = (&mut *tx).execute("ROLLBACK TO SAVEPOINT job").await;
                    let released = match rolled {
                        Ok(_) => (&mut *tx).execute("RELEASE SAVEPOINT job").await.map(|_| ()),
                        Err(e) => Err(e),
                    };
                    if let Err(err) = released {
                        broken = Some(err.to_string());
                    }
                    let _ = job.done.send(Outcome::JobErr(e));
                }
            }
        }
        let result = match broken {
            Some(why) => {
                let _ = tx.rollback().await;
                Err(why)
            }
            None => {
                let t = std::time::Instant::now();
                let r = tx.commit().await.map_err(|e| e.to_string());
                metrics::histogram!("lienthong_store_commit_seconds").record(t.elapsed().as_secs_f64());
                r
            }
        };
        drop(_w);
        for (done, v) in pending {
            let _ = done.send(match &result {
                Ok(()) => Outcome::Ok(v),
                Err(why) => Outcome::Failed(why.clone()),
            });
        }
    }
}
