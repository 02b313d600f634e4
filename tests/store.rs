//! The store itself, on both backends: values round-trip through the `Any` driver unchanged,
//! several handles (nodes) opening one database at once migrate it once, and their concurrent
//! audit appends make one gapless chain.

mod common;

use common::{both_backends, Db};
use lienthong::audit::{self, Event};
use lienthong::store::Store;
use sqlx::Row;

fn url(db: &Db, dir: &std::path::Path) -> String {
    db.store_url()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("lienthong.db").display()))
}

fn event(node: usize, i: usize) -> Event {
    Event {
        kind: "system",
        actor: format!("node{node}"),
        action: "test.append".into(),
        outcome: "ok".into(),
        request_id: format!("n{node}-{i}"),
        detail: serde_json::json!({ "node": node, "i": i }),
    }
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn values_round_trip_unchanged);
async fn values_round_trip_unchanged(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&url(&db, dir.path()), 2).await.unwrap();
    audit::append(&store, &event(0, 0)).await.unwrap();
    let blob: Vec<u8> = (0..=255u8).chain([0, 0, 255]).collect();
    let big = 1i64 << 53;
    let mut tx = store.pool().begin().await.unwrap();
    let id: i64 = sqlx::query(
        "INSERT INTO edocs (kind, sender, from_organ, document_id, status_code, dedup_key, sha256, size, signer, received_at, header, receipt) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind("document")
    .bind("vpubnd")
    .bind("000.00.00.H99")
    .bind("000.00.00.H99,2026/11/23,1/VP")
    .bind(None::<String>)
    .bind("document|x")
    .bind("ab")
    .bind(big)
    .bind(Some("CN=Nguyễn Văn A, O=Ủy ban"))
    .bind(-big)
    .bind("{\"trích_yếu\": \"Văn bản\"}")
    .bind(Vec::<u8>::new())
    .fetch_one(&mut *tx)
    .await
    .unwrap()
    .try_get("id")
    .unwrap();
    sqlx::query("INSERT INTO edoc_chunks (edoc_id, seq, bytes) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(0i64)
        .bind(blob.clone())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let r = sqlx::query(
        "SELECT e.status_code, e.size, e.signer, e.received_at, e.header, e.receipt, c.bytes, COUNT(*) OVER () AS n \
         FROM edocs e JOIN edoc_chunks c ON c.edoc_id = e.id WHERE e.id = $1",
    )
    .bind(id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(r.try_get::<Option<String>, _>("status_code").unwrap(), None);
    assert_eq!(r.try_get::<i64, _>("size").unwrap(), big);
    assert_eq!(r.try_get::<i64, _>("received_at").unwrap(), -big);
    assert_eq!(r.try_get::<String, _>("signer").unwrap(), "CN=Nguyễn Văn A, O=Ủy ban");
    assert_eq!(r.try_get::<String, _>("header").unwrap(), "{\"trích_yếu\": \"Văn bản\"}");
    assert_eq!(r.try_get::<Vec<u8>, _>("receipt").unwrap(), Vec::<u8>::new());
    assert_eq!(r.try_get::<Vec<u8>, _>("bytes").unwrap(), blob);
    assert_eq!(r.try_get::<i64, _>("n").unwrap(), 1);
    store.ping().await.unwrap();
    store.close().await;
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn nodes_opening_together_migrate_once_and_share_one_chain);
/// Three handles opened at the same moment on one fresh database (three nodes starting
/// together) migrate it once; appending concurrently, they build one chain without gaps.
async fn nodes_opening_together_migrate_once_and_share_one_chain(db: Db) {
    const NODES: usize = 3;
    const EACH: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let url = url(&db, dir.path());
    let opened = futures_join(NODES, |_| {
        let url = url.clone();
        async move { Store::open(&url, 4).await }
    })
    .await;
    let stores: Vec<Store> = opened.into_iter().map(|s| s.unwrap()).collect();
    let versions: i64 = sqlx::query("SELECT COUNT(*) AS n FROM schema_migrations")
        .fetch_one(stores[0].pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    // Each migration once: as many rows as there are migration files.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count() as i64;
    assert_eq!(versions, files);
    let mut tasks = Vec::new();
    for (node, store) in stores.iter().enumerate() {
        for i in 0..EACH {
            let store = store.clone();
            tasks.push(tokio::spawn(async move { audit::append(&store, &event(node, i)).await }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let v = audit::verify(&stores[0]).await.unwrap();
    assert!(v.valid, "{v:?}");
    assert_eq!(v.records, (NODES * EACH) as u64);
    let tail = audit::tail(&stores[1], 1000).await.unwrap();
    let seqs: Vec<i64> = tail.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=(NODES * EACH) as i64).collect::<Vec<_>>());
    for s in &stores {
        s.close().await;
    }
}

/// Run `n` futures made by `f` concurrently, results in order.
async fn futures_join<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Nodes reach a PostgreSQL on another machine over verified TLS
/// (`sslmode=verify-full&sslrootcert=…`); a server that takes TLS only refuses a plain
/// connection, and a certificate from another CA is refused by the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_verified_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = common::edoc::shared_pki(tmp.path(), &[]);
    let other_dir = tmp.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = common::edoc::shared_pki(&other_dir, &[]);
    let pg = common::pg::PgServer::start_tls_only(&pki.join("server.pem"), &pki.join("server.key"));
    let base = pg.url(&pg.create_database());
    let verified = |ca: &std::path::Path| {
        format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display())
    };

    let store = Store::open(&verified(&pki.join("ca.pem")), 2).await.unwrap();
    audit::append(&store, &event(0, 0)).await.unwrap();
    assert!(audit::verify(&store).await.unwrap().valid);
    store.close().await;

    let plain = Store::open(&format!("{base}?sslmode=disable"), 2).await;
    let e = plain.err().expect("a plain connection was let in").to_string();
    assert!(e.contains("no encryption") || e.contains("pg_hba.conf"), "{e}");

    let foreign = Store::open(&verified(&other.join("ca.pem")), 2).await;
    let e = foreign.err().expect("a server certificate from another CA was trusted").to_string();
    assert!(e.to_lowercase().contains("certificate") || e.contains("tls"), "{e}");
}

/// Inserts a package row; its id.
async fn insert_edoc(tx: &mut lienthong::store::Tx, key: &str) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO edocs (kind, sender, from_organ, document_id, dedup_key, sha256, size, received_at, header, receipt) \
         VALUES ('document', 'm', 'o', 'd', $1, 's', 0, 0, '{}', $2) RETURNING id",
    )
    .bind(key)
    .bind(Vec::<u8>::new())
    .fetch_one(&mut **tx)
    .await?;
    row.try_get("id")
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn writers_of_two_nodes_commit_in_the_order_they_number_rows);
/// Two nodes' group commits do not overlap: the second waits for the first's commit before it
/// writes anything. Otherwise a row numbered later (a delivery) could become visible before
/// one numbered earlier, and a reader paging by id (the inbox cursor) would skip the earlier.
async fn writers_of_two_nodes_commit_in_the_order_they_number_rows(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = url(&db, dir.path());
    let (a, b) = (Store::open(&url, 2).await.unwrap(), Store::open(&url, 2).await.unwrap());
    audit::append(&a, &event(0, 0)).await.unwrap();
    // Node A numbers its row, then takes its time before committing.
    let slow = tokio::spawn(async move {
        let id = a
            .batched(move |tx| {
                Box::pin(async move {
                    let id = insert_edoc(tx, "a").await?;
                    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                    Ok::<i64, sqlx::Error>(id)
                })
            })
            .await
            .unwrap()
            .unwrap();
        (id, std::time::Instant::now())
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Node B writes meanwhile: it must not commit before A.
    let id_b = b
        .batched(move |tx| Box::pin(async move { insert_edoc(tx, "b").await }))
        .await
        .unwrap()
        .unwrap();
    let b_done = std::time::Instant::now();
    let (id_a, a_done) = slow.await.unwrap();
    assert!(id_a < id_b, "A numbered {id_a}, B {id_b}");
    assert!(a_done <= b_done, "B committed row {id_b} before A committed row {id_a}");
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn lingering_audit_writes_share_a_commit_and_others_do_not_wait);
/// Audit writes that may linger share one commit (one batch: one `at`, consecutive `seq`);
/// a write in between with no linger and a failing job change neither that nor the chain.
async fn lingering_audit_writes_share_a_commit_and_others_do_not_wait(db: Db) {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&url(&db, dir.path()), 2).await.unwrap();
    audit::append(&store, &event(0, 0)).await.unwrap();

    // Ten writers, 20 ms apart, each willing to wait 2 s for company, two records each: the
    // writer is idle between them, so without lingering each would take its own commit.
    let mut tasks = Vec::new();
    for i in 1..=10 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append_audit(vec![event(1, i), event(2, i)], Duration::from_secs(2))
                .await
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A job with no linger, which fails under its own savepoint: it closes the batch.
    let failed = store
        .batched(|tx| {
            Box::pin(async move {
                sqlx::query("INSERT INTO no_such_table VALUES (1)")
                    .execute(&mut **tx)
                    .await
                    .map(|_| ())
            })
        })
        .await
        .unwrap();
    assert!(failed.is_err());
    let mut seqs = Vec::new();
    for t in tasks {
        let recs = t.await.unwrap().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].seq, recs[0].seq + 1, "a writer's records are consecutive");
        assert_eq!(recs[0].request_id, recs[1].request_id.replace("n2", "n1"));
        seqs.push(recs[0].seq);
    }
    let rows = sqlx::query("SELECT at FROM audit_log WHERE action = 'test.append' AND seq > 1")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let ats: std::collections::BTreeSet<String> = rows.iter().map(|r| r.get("at")).collect();
    assert_eq!(rows.len(), 20);
    assert_eq!(ats.len(), 1, "the lingering writes took {} commits", ats.len());
    let v = audit::verify(&store).await.unwrap();
    assert!(v.valid, "{v:?}");
    assert_eq!(v.records, 21);
    store.close().await;
}
