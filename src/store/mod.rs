//! The durable store: one sqlx code path over SQLite (default, WAL, `synchronous=FULL`) and
//! PostgreSQL. Backend differences are confined to this module: [`Backend`]'s SQL fragments,
//! the connection setup, the migration texts and the lock that serialises migrations.
//! Everything else writes `$N` placeholders and the types the `Any` driver shares (BIGINT /
//! INTEGER as `i64`, TEXT, BYTEA / BLOB as `Vec<u8>`).
//!
//! Invariant: a caller answers 2xx only after the transaction that records the request has
//! committed; with `synchronous=FULL` a committed SQLite transaction survives a crash.

mod batch;
pub use batch::{BoxFuture, Bulk, BulkOut, Erased};
mod migrations;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Appended to a `SELECT` that claims rows for work: on PostgreSQL, rows another node is
    /// claiming at the same moment are skipped rather than waited for; SQLite has one writer
    /// (the in-process lock), so there is nothing to skip.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }

    /// Inside the current transaction of `conn`, wait for and take lock `key` until the
    /// transaction ends: on PostgreSQL an advisory lock shared by every node on the database;
    /// on SQLite nothing, its single writer already excludes the others.
    pub async fn lock_until_commit(
        self,
        conn: &mut sqlx::AnyConnection,
        key: i64,
    ) -> Result<(), sqlx::Error> {
        if self == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(key)
                .execute(conn)
                .await?;
        }
        Ok(())
    }

    /// Starts a transaction that will write: SQLite takes its write lock at once (waiting for
    /// another process's writer under `busy_timeout`), so what the transaction read cannot
    /// turn stale before it writes; PostgreSQL locks rows as it goes.
    pub fn begin_write(self) -> &'static str {
        match self {
            Backend::Postgres => "BEGIN",
            Backend::Sqlite => "BEGIN IMMEDIATE",
        }
    }

    /// The calendar month (`YYYY-MM`) in Vietnam time (UTC+7, no daylight saving) of the
    /// expression `ms`, a time in unix milliseconds; NULL stays NULL.
    pub fn month_vn(self, ms: &str) -> String {
        match self {
            Backend::Postgres => format!(
                "to_char(to_timestamp(CAST(({ms}) + 25200000 AS DOUBLE PRECISION) / 1000) AT TIME ZONE 'UTC', 'YYYY-MM')"
            ),
            Backend::Sqlite => format!("strftime('%Y-%m', (({ms}) + 25200000) / 1000, 'unixepoch')"),
        }
    }
}

/// Keys of the advisory locks the nodes sharing a PostgreSQL database take (one number per
/// thing serialised across nodes).
pub mod locks {
    /// Writing what other nodes number or read in order — packages, deliveries, audit records
    /// (transaction-scoped; see [`super::Store::begin_serial`]).
    pub const WRITERS: i64 = 7_171_717;
    /// Migrating the schema (session-scoped, while a node starts).
    pub const MIGRATIONS: i64 = 7_171_716;
}

async fn begin_serial(pool: &AnyPool, backend: Backend) -> Result<Tx, sqlx::Error> {
    let mut tx = pool.begin_with(backend.begin_write()).await?;
    backend.lock_until_commit(&mut tx, locks::WRITERS).await?;
    Ok(tx)
}

/// `url` with any password replaced by `***`, for messages and banners.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The user info ends at the last `@` before the query (a password may hold `/` or `@`).
    let query = rest.find('?').unwrap_or(rest.len());
    let Some(at) = rest[..query].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration {version} ({name}): {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: sqlx::Error,
    },
    #[error("store url must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("{0}")]
    Io(String),
}

/// Handle to the store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer: serialising writers in-process avoids busy retries.
    write_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Group commit: jobs sent here run in a shared transaction (one commit, one fsync).
    batch: tokio::sync::mpsc::Sender<batch::Job>,
}

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Open (creating the SQLite file and its directory if needed) and migrate.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        Store::open_with(url, max_connections, CATCH_UP_FRAMES).await
    }

    /// [`Store::open`], with SQLite's log made to restart once it passes `catch_up_frames`
    /// frames (see [`checkpoints`]).
    pub async fn open_with(
        url: &str,
        max_connections: u32,
        catch_up_frames: i64,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let mut url = url.to_owned();
        if backend == Backend::Sqlite {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or_default().to_owned();
            if let Some(parent) = std::path::Path::new(&path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| StoreError::Io(format!("{}: {e}", parent.display())))?;
                }
            }
            if !url.contains('?') {
                url.push_str("?mode=rwc");
            }
        }
        let opts = AnyPoolOptions::new()
            .max_connections(max_connections)
            // A SQLite connection is a file handle in this process: nothing to test (the ping
            // would be one more round trip to its thread on every acquire).
            .test_before_acquire(backend == Backend::Postgres)
            .acquire_timeout(Duration::from_secs(10));
        let opts = if backend == Backend::Sqlite {
            opts.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode=WAL").await?;
                    conn.execute("PRAGMA synchronous=FULL").await?;
                    // Checkpoints run beside the writer (see `checkpoints`), not inside
                    // whichever commit crosses the threshold: that commit would wait for
                    // pages to be copied and the database file to be synced.
                    conn.execute("PRAGMA wal_autocheckpoint=0").await?;
                    conn.execute("PRAGMA busy_timeout=10000").await?;
                    // A multi-row statement inside a transaction keeps a statement journal;
                    // past 64 KiB SQLite spills it to a temporary file, created and deleted for
                    // each such statement. Keep it in memory (bounded by the statement's size).
                    conn.execute("PRAGMA temp_store=MEMORY").await?;
                    // Up to 32 MiB of pages per connection (allocated as used; SQLite's
                    // default is 2 MiB), so indexes keyed by senders' ids are read from memory
                    // rather than the file.
                    conn.execute("PRAGMA cache_size=-32768").await?;
                    // When the log restarts, a file grown past this is cut back to it.
                    conn.execute("PRAGMA journal_size_limit=67108864").await?;
                    conn.execute("PRAGMA foreign_keys=ON").await?;
                    Ok(())
                })
            })
        } else {
            opts
        };
        let pool = opts.connect(&url).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let store = Store {
            pool,
            backend,
            write_lock: Default::default(),
            batch: tx,
        };
        // Set by the checkpoint task when the log has grown large; the writer then lets it
        // restart (SQLite only).
        let catch_up = Arc::new(AtomicBool::new(false));
        let writer = batch::run(
            store.pool.clone(),
            store.backend,
            store.write_lock.clone(),
            rx,
            catch_up.clone(),
        );
        match store.backend {
            // The single SQLite writer is latency-bound: each statement is a round trip to
            // sqlx's connection thread. On its own thread and runtime it is woken at once
            // instead of queueing behind every connection task on the shared workers.
            Backend::Sqlite => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| StoreError::Io(e.to_string()))?;
                std::thread::Builder::new()
                    .name("store-writer".into())
                    .spawn(move || rt.block_on(writer))
                    .map_err(|e| StoreError::Io(e.to_string()))?;
                tokio::spawn(checkpoints(store.pool.clone(), catch_up, catch_up_frames));
            }
            Backend::Postgres => {
                tokio::spawn(writer);
            }
        }
        migrations::run(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Take the in-process writer lock (needed on SQLite; harmless on PostgreSQL, where the
    /// audit chain additionally takes a transaction-scoped advisory lock).
    pub async fn writer(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write_lock.lock().await
    }

    /// Begin a transaction that writes packages, deliveries or audit records. Such
    /// transactions run one at a time across every node sharing the database: on PostgreSQL
    /// each first takes the [`locks::WRITERS`] lock until it ends, so rows are numbered (ids
    /// from sequences, the chain's `seq`) in the order they become visible — a reader paging
    /// by id never skips one — and the lock always comes before any row lock, so two such
    /// transactions cannot deadlock. On SQLite it takes the write lock at once.
    pub async fn begin_serial(&self) -> Result<Tx, sqlx::Error> {
        begin_serial(&self.pool, self.backend).await
    }

    /// Run `f` inside a transaction shared with other concurrent writers (group commit): it
    /// gets its own savepoint, so its `Err` undoes only its own writes; its `Ok` is returned
    /// once the shared transaction has committed. Use it for hot, short write paths.
    pub async fn batched<T, E, F>(&self, f: F) -> Result<Result<T, E>, StoreError>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: for<'c> FnOnce(&'c mut Tx) -> batch::BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        let (done, wait) = tokio::sync::oneshot::channel();
        let job = batch::Job {
            linger: Duration::ZERO,
            work: batch::Work::Run(Box::new(move |tx| {
                Box::pin(async move {
                    match f(tx).await {
                        Ok(t) => Ok(Box::new(t) as Box<dyn std::any::Any + Send>),
                        Err(e) => Err(Box::new(e) as Box<dyn std::any::Any + Send>),
                    }
                })
            })),
            done,
        };
        self.submit(job, wait).await
    }

    /// Hand `item` to `writer`, which writes it together with the other items it gets in the
    /// same group commit (see [`batch::Bulk`]); returns once that commit is done. The writer
    /// answers `Ok(T)` or `Err(E)` for the item.
    pub async fn bulk<I, T, E>(
        &self,
        writer: std::sync::Arc<dyn batch::Bulk>,
        item: I,
    ) -> Result<Result<T, E>, StoreError>
    where
        I: Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let (done, wait) = tokio::sync::oneshot::channel();
        let job = batch::Job {
            linger: Duration::ZERO,
            work: batch::Work::Bulk(writer, Box::new(item)),
            done,
        };
        self.submit(job, wait).await
    }

    async fn submit<T: 'static, E: 'static>(
        &self,
        job: batch::Job,
        wait: tokio::sync::oneshot::Receiver<batch::Outcome>,
    ) -> Result<Result<T, E>, StoreError> {
        self.batch
            .send(job)
            .await
            .map_err(|_| StoreError::Io("the store's writer has stopped".into()))?;
        match wait.await {
            Ok(batch::Outcome::Ok(t)) => Ok(Ok(*t
                .downcast::<T>()
                .map_err(|_| StoreError::Io("batch result type".into()))?)),
            Ok(batch::Outcome::JobErr(e)) => Ok(Err(*e
                .downcast::<E>()
                .map_err(|_| StoreError::Io("batch error type".into()))?)),
            Ok(batch::Outcome::Failed(why)) => Err(StoreError::Io(why)),
            Err(_) => Err(StoreError::Io("the store's writer has stopped".into())),
        }
    }

    /// Chain `events` onto the audit log in the next group commit, which may wait up to
    /// `linger` for other writes to share it (see [`batch`]); returns once committed.
    pub async fn append_audit(
        &self,
        events: Vec<crate::audit::Event>,
        linger: Duration,
    ) -> Result<Vec<crate::audit::Record>, StoreError> {
        self.enqueue_audit(events, linger).await?.committed().await
    }

    /// Queue `events` for the audit log and return at once; the records are committed in
    /// queue order, so anything appended after this returns comes after them on the chain
    /// (the gateway's `stop` record included).
    pub async fn enqueue_audit(
        &self,
        events: Vec<crate::audit::Event>,
        linger: Duration,
    ) -> Result<AuditPending, StoreError> {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.batch
            .send(batch::Job {
                work: batch::Work::Audit(events),
                done,
                linger,
            })
            .await
            .map_err(|_| StoreError::Io("the store's writer has stopped".into()))?;
        Ok(AuditPending(wait))
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let row: AnyRow = sqlx::query("SELECT 1 AS one").fetch_one(&self.pool).await?;
        let _: i32 = row
            .try_get::<i32, _>("one")
            .or_else(|_| row.try_get::<i64, _>("one").map(|v| v as i32))?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLite: copy the write-ahead log into the database every [`CHECKPOINT_EVERY`], without
/// blocking writers (`PASSIVE`: frames committed so far). The log restarts from its beginning
/// only when a write transaction starts with every frame copied, which never happens while
/// commits keep coming during the checkpoints: the log would grow without end. So when it has
/// passed `catch_up_frames` ([`CATCH_UP_FRAMES`] by default), `catch_up` asks the group-commit writer to copy the few frames
/// committed since, between two batches (see [`batch::run`]): a pause of a few milliseconds
/// for the requests waiting on the next commit, every 64 MiB of log. Ends when the pool is
/// closed.
async fn checkpoints(pool: AnyPool, catch_up: Arc<AtomicBool>, catch_up_frames: i64) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        match checkpoint(&pool).await {
            Ok((frames, _)) if frames >= catch_up_frames => catch_up.store(true, Ordering::Release),
            Ok(_) => {}
            Err(e) => {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "store: checkpoint");
            }
        }
    }
}

/// One passive checkpoint; returns the log's length and how much of it is now copied, in
/// frames.
pub(crate) async fn checkpoint(pool: &AnyPool) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(pool).await?;
    // (busy, frames in the log, frames copied)
    Ok((row.try_get::<i64, _>(1)?, row.try_get::<i64, _>(2)?))
}

/// A log past this many frames (64 MiB of 4 KiB pages) is made to restart.
const CATCH_UP_FRAMES: i64 = 16384;

const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Audit records queued by [`Store::enqueue_audit`].
pub struct AuditPending(tokio::sync::oneshot::Receiver<batch::Outcome>);

impl AuditPending {
    /// Wait for the commit that holds them.
    pub async fn committed(self) -> Result<Vec<crate::audit::Record>, StoreError> {
        match self.0.await {
            Ok(batch::Outcome::Ok(t)) => t
                .downcast::<Vec<crate::audit::Record>>()
                .map(|r| *r)
                .map_err(|_| StoreError::Io("batch result type".into())),
            Ok(batch::Outcome::JobErr(_)) => Err(StoreError::Io("audit append".into())),
            Ok(batch::Outcome::Failed(why)) => Err(StoreError::Io(why)),
            Err(_) => Err(StoreError::Io("the store's writer has stopped".into())),
        }
    }
}

/// Row counts for a multi-row insert of `n` rows: powers of two no larger than `max`, largest
/// first (23 → 16, 4, 2, 1). A statement's text depends on its row count, and each connection
/// keeps 100 prepared statements: with these counts a table needs at most log2(max) + 1
/// statements, which stay prepared, where any count would mean preparing statements of hundreds
/// of parameters again and again.
pub fn row_groups(n: usize, max: usize) -> impl Iterator<Item = usize> {
    let top = |k: usize| 1usize << (usize::BITS - 1 - k.max(1).leading_zeros());
    let cap = top(max);
    let mut left = n;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let size = top(left.min(cap));
        left -= size;
        Some(size)
    })
}

/// `items` cut by [`row_groups`].
pub fn in_row_groups<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    row_groups(items.len(), max).map(move |size| {
        let (group, r) = rest.split_at(size);
        rest = r;
        group
    })
}

/// The `VALUES` list of a multi-row insert: `rows` tuples, each `template` with `{}` replaced by
/// that row's `width` placeholders, numbered from `$first`. E.g. `values(Postgres, 2, "($1, {})",
/// 2, 2)` is `($1, $2, $3), ($1, $4, $5)`. On SQLite, a template without numbered parameters of
/// its own gets anonymous `?` placeholders (bound in order): SQLite looks named ones up in a
/// list, once per parameter when preparing and again when binding, which costs more than the
/// insert itself once a statement has hundreds of them.
pub fn values(backend: Backend, rows: usize, template: &str, width: usize, first: usize) -> String {
    let anonymous = backend == Backend::Sqlite && first == 1 && !template.contains('$');
    (0..rows)
        .map(|r| {
            let ps: Vec<String> = (0..width)
                .map(|c| {
                    if anonymous {
                        "?".to_owned()
                    } else {
                        format!("${}", first + r * width + c)
                    }
                })
                .collect();
            template.replace("{}", &ps.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod values_tests {
    #[test]
    fn row_groups_are_powers_of_two_up_to_max() {
        let g = |n, max| super::row_groups(n, max).collect::<Vec<_>>();
        assert_eq!(g(23, 64), vec![16, 4, 2, 1]);
        assert_eq!(g(64, 64), vec![64]);
        assert_eq!(g(130, 64), vec![64, 64, 2]);
        assert_eq!(g(5, 3), vec![2, 2, 1]);
        assert_eq!(g(0, 64), Vec::<usize>::new());
        for n in 0..300 {
            let sizes = g(n, 100);
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= 64));
        }
        let items: Vec<u32> = (0..7).collect();
        let parts: Vec<&[u32]> = super::in_row_groups(&items, 64).collect();
        assert_eq!(parts, vec![&[0, 1, 2, 3][..], &[4, 5], &[6]]);
    }

    #[test]
    fn numbers_rows_from_first() {
        use super::Backend::{Postgres, Sqlite};
        assert_eq!(
            super::values(Postgres, 2, "($1, {})", 2, 2),
            "($1, $2, $3), ($1, $4, $5)"
        );
        assert_eq!(super::values(Postgres, 1, "({})", 3, 1), "($1, $2, $3)");
        // SQLite: anonymous placeholders, unless the template numbers its own.
        assert_eq!(super::values(Sqlite, 2, "({}, 0)", 2, 1), "(?, ?, 0), (?, ?, 0)");
        assert_eq!(
            super::values(Sqlite, 2, "($1, {})", 2, 2),
            "($1, $2, $3), ($1, $4, $5)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_in_store_urls_are_hidden() {
        assert_eq!(
            redact_url("postgres://lienthong:s3cr:et@db.h99.gov.vn:5432/lienthong?sslmode=disable"),
            "postgres://lienthong:***@db.h99.gov.vn:5432/lienthong?sslmode=disable"
        );
        assert_eq!(
            redact_url("postgres://a:b@c/d@host/db"),
            "postgres://a:***@host/db"
        );
        for same in [
            "postgres://lienthong@127.0.0.1/lienthong",
            "postgresql://host/db",
            "sqlite://data/lienthong.db",
            "sqlite:data/x.db",
        ] {
            assert_eq!(redact_url(same), same);
        }
    }
}

#[cfg(test)]
mod checkpoint_tests {
    use super::Store;

    /// A SQLite store in `dir` (file `x.db`) with a `blobs` table; its log restarts past
    /// `catch_up_frames`.
    async fn blobs(dir: &std::path::Path, catch_up_frames: i64) -> Store {
        let url = format!("sqlite://{}", dir.join("x.db").display());
        let store = Store::open_with(&url, 4, catch_up_frames).await.unwrap();
        sqlx::query("CREATE TABLE blobs (b BLOB NOT NULL)")
            .execute(store.pool())
            .await
            .unwrap();
        store
    }

    /// Commits never checkpoint (`wal_autocheckpoint=0`); the background task copies the log
    /// into the database file all the same. Without it the file would stay at its first pages.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_reaches_the_database_file_without_any_commit_checkpointing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let store = blobs(dir.path(), super::CATCH_UP_FRAMES).await;
        let before = std::fs::metadata(&db).unwrap().len();
        for _ in 0..200 {
            sqlx::query("INSERT INTO blobs (b) VALUES ($1)")
                .bind(vec![7u8; 8192])
                .execute(store.pool())
                .await
                .unwrap();
        }
        let t = std::time::Instant::now();
        loop {
            let len = std::fs::metadata(&db).unwrap().len();
            if len >= before + 1_500_000 {
                break;
            }
            assert!(
                t.elapsed() < std::time::Duration::from_secs(10),
                "database file {len} bytes (was {before}): the log was not checkpointed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        store.close().await;
    }

    /// Under commits that never pause, the log still restarts from its beginning once it has
    /// passed the catch-up size, so it stays bounded. Without the writer's catch-up
    /// checkpoint it grows by everything written (checked: 437 MB of log for 385 MB written).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_stays_bounded_under_commits_that_never_pause() {
        let dir = tempfile::tempdir().unwrap();
        // The log restarts past 16 MiB here (64 MiB by default).
        let store = blobs(dir.path(), 4096).await;
        // Four writers commit 32 KiB rows through the group commit with no pause, 160 MiB in
        // all: ten times the catch-up size (16 MiB of log), and past the file limit (64 MiB).
        const ROW: usize = 32 << 10;
        const TOTAL: u64 = 160 << 20;
        let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut writers = Vec::new();
        for _ in 0..4 {
            let (store, written) = (store.clone(), written.clone());
            writers.push(tokio::spawn(async move {
                while written.fetch_add(ROW as u64, std::sync::atomic::Ordering::Relaxed) < TOTAL {
                    store
                        .batched(|tx| {
                            Box::pin(async move {
                                sqlx::query("INSERT INTO blobs (b) VALUES ($1)")
                                    .bind(vec![7u8; ROW])
                                    .execute(&mut **tx)
                                    .await
                                    .map(|_| ())
                            })
                        })
                        .await
                        .unwrap()
                        .unwrap();
                }
            }));
        }
        for w in writers {
            w.await.unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("x.db-wal")).unwrap().len();
        assert!(
            wal < 64 << 20,
            "log file {wal} bytes after {TOTAL} bytes written: it did not restart"
        );
        store.close().await;
    }
}
