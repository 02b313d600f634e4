//! Schema migrations, embedded in the binary, one text per backend where the dialects differ.

use super::{Backend, Store, StoreError};
use sqlx::{Connection, Executor};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "audit_log",
        sqlite: include_str!("../../migrations/sqlite/0001_audit_log.sql"),
        postgres: include_str!("../../migrations/postgres/0001_audit_log.sql"),
    },
    Migration {
        version: 2,
        name: "edocs",
        sqlite: include_str!("../../migrations/sqlite/0002_edocs.sql"),
        postgres: include_str!("../../migrations/postgres/0002_edocs.sql"),
    },
    Migration {
        version: 3,
        name: "edoc_concerns",
        sqlite: include_str!("../../migrations/sqlite/0003_edoc_concerns.sql"),
        postgres: include_str!("../../migrations/postgres/0003_edoc_concerns.sql"),
    },
    Migration {
        version: 4,
        name: "dossiers",
        sqlite: include_str!("../../migrations/sqlite/0004_dossiers.sql"),
        postgres: include_str!("../../migrations/postgres/0004_dossiers.sql"),
    },
    Migration {
        version: 5,
        name: "dossier_events_at",
        sqlite: include_str!("../../migrations/sqlite/0005_dossier_events_at.sql"),
        postgres: include_str!("../../migrations/postgres/0005_dossier_events_at.sql"),
    },
    Migration {
        version: 6,
        name: "portal",
        sqlite: include_str!("../../migrations/sqlite/0006_portal.sql"),
        postgres: include_str!("../../migrations/postgres/0006_portal.sql"),
    },
    Migration {
        version: 7,
        name: "payments",
        sqlite: include_str!("../../migrations/sqlite/0007_payments.sql"),
        postgres: include_str!("../../migrations/postgres/0007_payments.sql"),
    },
    Migration {
        version: 8,
        name: "postal",
        sqlite: include_str!("../../migrations/sqlite/0008_postal.sql"),
        postgres: include_str!("../../migrations/postgres/0008_postal.sql"),
    },
];

pub(super) async fn run(store: &Store) -> Result<(), StoreError> {
    let _w = store.writer().await;
    let mut conn = store.pool.acquire().await?;
    // Nodes starting together on one PostgreSQL database migrate one after the other (the
    // later ones find the work done).
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(super::locks::MIGRATIONS)
            .execute(&mut *conn)
            .await?;
    }
    let result = apply(store.backend, &mut conn).await;
    if store.backend == Backend::Postgres {
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(super::locks::MIGRATIONS)
            .execute(&mut *conn)
            .await;
        if unlocked.is_err() {
            // Never hand a connection that may still hold the lock back to the pool.
            conn.close_on_drop();
        }
    }
    result
}

async fn apply(backend: Backend, conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .await?;
    for m in MIGRATIONS {
        let wrap = |source| StoreError::Migration {
            version: m.version,
            name: m.name,
            source,
        };
        // Checked inside a writing transaction: another process opening the same store at
        // the same moment either finished this migration before, or waits until it is done.
        let mut tx = conn.begin_with(backend.begin_write()).await.map_err(wrap)?;
        let done: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(wrap)?;
        if done.is_some() {
            tx.commit().await.map_err(wrap)?;
            continue;
        }
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        (&mut *tx).execute(sql).await.map_err(wrap)?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&mut *tx)
        .await
        .map_err(wrap)?;
        tx.commit().await.map_err(wrap)?;
    }
    Ok(())
}
