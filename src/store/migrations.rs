//! Schema migrations, embedded in the binary, one text per backend where the dialects differ.

use super::{Backend, Store, StoreError};
use sqlx::Executor;

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
];

pub(super) async fn run(store: &Store) -> Result<(), StoreError> {
    let _w = store.writer().await;
    store
        .pool
        .execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .await?;
    for m in MIGRATIONS {
        let done: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&store.pool)
                .await?;
        if done.is_some() {
            continue;
        }
        let sql = match store.backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let wrap = |source| StoreError::Migration {
            version: m.version,
            name: m.name,
            source,
        };
        let mut tx = store.pool.begin().await.map_err(wrap)?;
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
