//! Group commit. Writers on the hot path (audit records of access decisions, accepted
//! packages) hand their work to one task, which runs whatever has queued up — up to
//! [`MAX_BATCH`] jobs — in one transaction, each job under its own savepoint, and commits once.
//! With `synchronous=FULL` one fsync then covers many requests; nobody is answered before the
//! commit that holds their writes.
//!
//! Audit-only jobs ([`Work::Audit`]) need no savepoint: the records of all of them in a batch
//! are chained with one read of the chain's head and one multi-row insert. A job may say how
//! long it can wait for company ([`Job::linger`]): the batch then stays open until the
//! earliest such deadline among its jobs (or [`MAX_BATCH`]), so that writes nobody is waiting
//! on right now share one commit instead of paying one each.

use sqlx::{AnyPool, Executor};
pub use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type Erased = Box<dyn Any + Send>;
type RunFn =
    Box<dyn for<'c> FnOnce(&'c mut super::Tx) -> BoxFuture<'c, Result<Erased, Erased>> + Send>;

pub const MAX_BATCH: usize = 64;

pub struct Job {
    pub work: Work,
    pub done: tokio::sync::oneshot::Sender<Outcome>,
    /// How long this job may wait for others to share its commit; zero: commit with whatever
    /// has already queued up.
    pub linger: Duration,
}

pub enum Work {
    /// Arbitrary writes, under their own savepoint.
    Run(RunFn),
    /// Audit records to chain; the job's result is their `Vec<audit::Record>`.
    Audit(Vec<crate::audit::Event>),
    /// One item for a [`Bulk`] writer, which writes every such item of the batch at once.
    Bulk(Arc<dyn Bulk>, Erased),
}

/// A writer that takes all of a batch's items together, so that many requests share each
/// statement (multi-row inserts) and no savepoint is needed. It must leave nothing of an
/// item it refuses (answer `Err` for it before writing it); any `Err` of the whole call
/// fails the batch.
pub trait Bulk: Send + Sync {
    fn write<'c>(
        &'c self,
        tx: &'c mut super::Tx,
        items: Vec<Erased>,
    ) -> BoxFuture<'c, Result<Vec<BulkOut>, String>>;
}

/// What a [`Bulk`] writer made of one item, in the order the items were given.
pub struct BulkOut {
    pub result: Result<Erased, Erased>,
    /// Audit records for the item, chained with the batch's others before the commit.
    pub audit: Vec<crate::audit::Event>,
}

type Done = tokio::sync::oneshot::Sender<Outcome>;

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
    catch_up: Arc<std::sync::atomic::AtomicBool>,
) {
    while let Some(first) = rx.recv().await {
        let mut deadline = Instant::now() + first.linger;
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            let next = match rx.try_recv() {
                Ok(j) => Some(j),
                Err(_) if Instant::now() < deadline => tokio::time::timeout_at(deadline, rx.recv())
                    .await
                    .ok()
                    .flatten(),
                Err(_) => None,
            };
            match next {
                Some(j) => {
                    deadline = deadline.min(Instant::now() + j.linger);
                    jobs.push(j);
                }
                None => break,
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
        let mut audits: Vec<(
            tokio::sync::oneshot::Sender<Outcome>,
            Vec<crate::audit::Event>,
        )> = Vec::new();
        // Bulk items, by writer (in order of first appearance).
        let mut bulks: Vec<(Arc<dyn Bulk>, Vec<Done>, Vec<Erased>)> = Vec::new();
        for job in jobs {
            let run = match job.work {
                Work::Audit(events) => {
                    audits.push((job.done, events));
                    continue;
                }
                Work::Bulk(writer, item) => {
                    match bulks.iter_mut().find(|(w, _, _)| Arc::ptr_eq(w, &writer)) {
                        Some((_, dones, items)) => {
                            dones.push(job.done);
                            items.push(item);
                        }
                        None => bulks.push((writer, vec![job.done], vec![item])),
                    }
                    continue;
                }
                Work::Run(run) => run,
            };
            if let Some(why) = &broken {
                let _ = job.done.send(Outcome::Failed(why.clone()));
                continue;
            }
            if let Err(e) = (&mut *tx).execute("SAVEPOINT job").await {
                broken = Some(e.to_string());
                let _ = job.done.send(Outcome::Failed(e.to_string()));
                continue;
            }
            match run(&mut tx).await {
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
                        Ok(_) => (&mut *tx)
                            .execute("RELEASE SAVEPOINT job")
                            .await
                            .map(|_| ()),
                        Err(e) => Err(e),
                    };
                    if let Err(err) = released {
                        broken = Some(err.to_string());
                    }
                    let _ = job.done.send(Outcome::JobErr(e));
                }
            }
        }
        // Audit records of bulk items, chained after the audit jobs' own.
        let mut bulk_events: Vec<crate::audit::Event> = Vec::new();
        for (writer, dones, items) in bulks {
            if let Some(why) = &broken {
                for done in dones {
                    let _ = done.send(Outcome::Failed(why.clone()));
                }
                continue;
            }
            let n = items.len();
            match writer.write(&mut tx, items).await {
                Ok(outs) if outs.len() == n => {
                    for (done, out) in dones.into_iter().zip(outs) {
                        match out.result {
                            Ok(v) => {
                                bulk_events.extend(out.audit);
                                pending.push((done, v));
                            }
                            Err(e) => {
                                let _ = done.send(Outcome::JobErr(e));
                            }
                        }
                    }
                }
                outcome => {
                    let why = match outcome {
                        Err(why) => why,
                        Ok(_) => "bulk writer: one answer per item expected".to_owned(),
                    };
                    for done in dones {
                        let _ = done.send(Outcome::Failed(why.clone()));
                    }
                    broken = Some(why);
                }
            }
        }
        if !audits.is_empty() || !bulk_events.is_empty() {
            let appended = match &broken {
                Some(why) => Err(why.clone()),
                None => {
                    let all: Vec<&crate::audit::Event> = audits
                        .iter()
                        .flat_map(|(_, evs)| evs.iter())
                        .chain(bulk_events.iter())
                        .collect();
                    crate::audit::append_all_in(&mut tx, backend, &all)
                        .await
                        .map_err(|e| e.to_string())
                }
            };
            match appended {
                Ok(recs) => {
                    let mut recs = recs.into_iter();
                    for (done, evs) in audits {
                        let mine: Vec<crate::audit::Record> =
                            recs.by_ref().take(evs.len()).collect();
                        pending.push((done, Box::new(mine)));
                    }
                }
                Err(why) => {
                    for (done, _) in audits {
                        let _ = done.send(Outcome::Failed(why.clone()));
                    }
                    broken = Some(why);
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
                metrics::histogram!("lienthong_store_commit_seconds")
                    .record(t.elapsed().as_secs_f64());
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
        if catch_up.swap(false, std::sync::atomic::Ordering::AcqRel) {
            // SQLite's log has grown: copy what the last checkpoint left while no writer can
            // add to it (a few milliseconds), so the next batch restarts the log from its
            // beginning.
            let _w = lock.lock().await;
            if let Err(e) = super::checkpoint(&pool).await {
                tracing::warn!(error = %e, "store: catch-up checkpoint");
            }
        }
    }
}
