//! Accepted packages per second for one gateway node and for two nodes on the same PostgreSQL,
//! in the same run (a fresh database each), with the ratio: signed 10 KB packages `POST`ed at
//! 64 concurrent connections, spread evenly over the nodes. Beside each row: where the CPU went
//! (seconds per 1,000 packages in the nodes, the PostgreSQL server and the load generator,
//! against the machine's cores × the wall time) and how many of the database's sessions were
//! waiting, on average, for the writers' lock (`store::locks::WRITERS`).
//!
//! Other work on the machine moves such numbers a lot: the runs alternate (1, 2, 2, 1, 1, 2, …)
//! for ROUNDS rounds, every run is printed, and the ratio is that of the medians; the load
//! average before and after is printed too.
//!
//! Run: `cargo bench --bench cluster_throughput` (optional env: PACKAGES=3000 CONNS=64 ROUNDS=3).
//! Needs the PostgreSQL server binaries, found as the tests find them.

mod common;
#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;

use common::*;
use std::time::Duration;

/// CPU seconds (user + system) used so far by process `pid` and, with `children`, by its
/// direct children (PostgreSQL's backends).
fn cpu_secs(pid: u32, children: bool) -> f64 {
    let ticks = |stat: &str| -> Option<(u32, f64)> {
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ppid = f.get(1)?.parse().ok()?;
        let t: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
        Some((ppid, t / 100.0))
    };
    let mut total = 0.0;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        if let Some((ppid, secs)) = ticks(&stat) {
            if p == pid || (children && ppid == pid) {
                total += secs;
            }
        }
    }
    total
}

struct Row {
    nodes: usize,
    ok: usize,
    rate: f64,
    p50: f64,
    p99: f64,
    cpu_nodes: f64,
    cpu_pg: f64,
    cpu_client: f64,
    busy: f64,
    waiting: f64,
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes with --list
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    lienthong::edge::tls::install_crypto_provider();
    sqlx::any::install_default_drivers();
    let packages = env_usize("PACKAGES", 3000);
    let conns = env_usize("CONNS", 64);
    let rounds = env_usize("ROUNDS", 3).max(1);
    let loadavg = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load_before = loadavg();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pki = dev_pki(root);
    let server = pg::PgServer::start();
    let pg_pid = server.pid().unwrap();
    let me = std::process::id();
    let client = tls_client(&pki, conns);
    let mut rows = Vec::new();
    let order = (0..rounds).flat_map(|r| if r % 2 == 0 { [1, 2] } else { [2, 1] });
    for (run, nodes) in order.enumerate() {
        let db = server.create_database();
        let url = server.url(&db);
        let mut gateways = Vec::new();
        let mut urls = Vec::new();
        for i in 0..nodes {
            let name = format!("run{run}-node{i}");
            let cfg = gateway_config(root, &pki, &name, Some(&url));
            let (child, u) = start_gateway(root, &name, &cfg);
            gateways.push(child);
            urls.push(u);
        }
        let tag = format!("R{run}");
        let warm = signed_packages(&pki, &tag, packages, packages + 200);
        let bodies = signed_packages(&pki, &tag, 0, packages);
        let row = rt.block_on(async {
            let _ = load(&client, &urls, warm, conns).await;
            // Sample the database's sessions while the load runs.
            let watch = sqlx::AnyPool::connect(&url).await.unwrap();
            let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
            let db2 = db.clone();
            let sampler = tokio::spawn(async move {
                let (mut n, mut busy, mut waiting) = (0.0f64, 0.0f64, 0.0f64);
                while !*stop_rx.borrow() {
                    let r = sqlx::query(
                        "SELECT count(*) FILTER (WHERE state = 'active' AND pid <> pg_backend_pid()) AS busy, \
                         count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory') AS waiting \
                         FROM pg_stat_activity WHERE datname = $1",
                    )
                    .bind(&db2)
                    .fetch_one(&watch)
                    .await;
                    if let Ok(r) = r {
                        use sqlx::Row;
                        busy += r.get::<i64, _>("busy") as f64;
                        waiting += r.get::<i64, _>("waiting") as f64;
                        n += 1.0;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                        _ = stop_rx.changed() => {}
                    }
                }
                (busy / n.max(1.0), waiting / n.max(1.0))
            });
            let cpu = |gw: &[std::process::Child]| {
                (
                    gw.iter().map(|c| cpu_secs(c.id(), false)).sum::<f64>(),
                    cpu_secs(pg_pid, true),
                    cpu_secs(me, false),
                )
            };
            let before = cpu(&gateways);
            let (secs, mut lat, ok) = load(&client, &urls, bodies, conns).await;
            let after = cpu(&gateways);
            assert_eq!(ok, packages, "run {run}: not every package was accepted");
            let _ = stop_tx.send(true);
            let (busy, waiting) = sampler.await.unwrap();
            let per_k = |a: f64, b: f64| (a - b) / ok.max(1) as f64 * 1000.0;
            println!(
                "run {run}, {nodes} node(s): {ok} accepted in {secs:.1} s, {:.0}/s; CPU used {:.1} s of {:.1} s available",
                ok as f64 / secs,
                (after.0 - before.0) + (after.1 - before.1) + (after.2 - before.2),
                secs * cores as f64
            );
            Row {
                nodes,
                ok,
                rate: ok as f64 / secs,
                p50: pct(&mut lat, 0.5),
                p99: pct(&mut lat, 0.99),
                cpu_nodes: per_k(after.0, before.0),
                cpu_pg: per_k(after.1, before.1),
                cpu_client: per_k(after.2, before.2),
                busy,
                waiting,
            }
        });
        for mut g in gateways {
            let _ = g.kill();
            let _ = g.wait();
        }
        rows.push(row);
    }
    let median = |n: usize| {
        let mut v: Vec<&Row> = rows.iter().filter(|r| r.nodes == n).collect();
        v.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        v[v.len() / 2]
    };
    println!();
    println!("signed 10 KB packages, {packages} per run, {conns} connections spread over the nodes, one PostgreSQL, {cores} cores shared by everything; median of {rounds} runs each");
    println!("load average before: {}after: {}", load_before, loadavg());
    println!("| nodes | accepted | per second | p50 ms | p99 ms | CPU s / 1000: nodes | postgres | client | active sessions | waiting for writers' lock |");
    println!("|------:|---------:|-----------:|-------:|-------:|--------------------:|---------:|-------:|----------------:|--------------------------:|");
    for r in [median(1), median(2)] {
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} |",
            r.nodes, r.ok, r.rate, r.p50, r.p99, r.cpu_nodes, r.cpu_pg, r.cpu_client, r.busy, r.waiting
        );
    }
    println!("ratio two nodes / one node: {:.2}", median(2).rate / median(1).rate);
}
