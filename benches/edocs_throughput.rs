//! Document-exchange throughput: signed 10 KB packages `POST`ed to a real gateway process at 64
//! concurrent connections, next to a bare TLS echo server built with the same stack (tokio-rustls
//! + hyper-util + axum, run as its own process, answering each body back) in the same run: the
//! ceiling. Prints accepted packages per second, p50/p99 latency, and the ratio.
//!
//! A third target, the floor, is what any gateway meeting the issue must at least do on the
//! same stack: verify each signature (lienthong's verifier) and make the package durable (one
//! file, group `fdatasync`) before answering. The gateway does strictly more (trust chain,
//! routing, idempotency, database, audit), so its ratio cannot exceed the floor's.
//!
//! Run: `cargo bench --bench edocs_throughput` (optional env: PACKAGES=3000 CONNS=64 ROUNDS=5
//! ECHO_REPEAT=8, KEEP=1 to keep the gateway's data for inspection);
//! the rounds take the targets in turn and the summary gives medians.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

/// The ceiling: the same TLS + HTTP stack answering each body back, nothing else.
async fn echo_server(pki: &Path, port_file: &Path) {
    let router = axum::Router::new().route(
        "/v1/edocs",
        axum::routing::post(|body: axum::body::Bytes| async move { body }),
    );
    serve(pki, port_file, router).await
}

/// The floor of any gateway meeting the issue: the same stack, each package's signature
/// verified by lienthong's verifier (RSA plus the digest of its canonical form), appended to one
/// file with a group `fdatasync`, and answered `202` only once that sync returned. No routing,
/// trust chain, database, audit or idempotency. What this costs is what no design can avoid.
async fn floor_server(pki: &Path, port_file: &Path, dir: &Path) {
    use std::io::Write;
    type Job = (axum::body::Bytes, tokio::sync::oneshot::Sender<()>);
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("floor.log")).unwrap();
    std::thread::spawn(move || {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            batch.extend(rx.try_iter());
            for (body, _) in &batch {
                file.write_all(&(body.len() as u64).to_le_bytes()).unwrap();
                file.write_all(body).unwrap();
            }
            file.sync_data().unwrap();
            for (_, done) in batch {
                let _ = done.send(());
            }
        }
    });
    let policy = Arc::new(lienthong::dsig::verify::Policy::default());
    let router = axum::Router::new().route(
        "/v1/edocs",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (tx, policy) = (tx.clone(), policy.clone());
            async move {
                use axum::http::StatusCode;
                if let Err(e) = lienthong::dsig::verify::verify(std::io::Cursor::new(&body[..]), &policy) {
                    return (StatusCode::UNPROCESSABLE_ENTITY, e.code().to_owned());
                }
                let (done, synced) = tokio::sync::oneshot::channel();
                if tx.send((body, done)).is_err() || synced.await.is_err() {
                    return (StatusCode::SERVICE_UNAVAILABLE, String::new());
                }
                (StatusCode::ACCEPTED, "{}".to_owned())
            }
        }),
    );
    serve(pki, port_file, router).await
}

/// Serve `router` over TLS (client certificates asked for, not required), HTTP/1.1 and h2, on a
/// loopback port written to `port_file`.
async fn serve(pki: &Path, port_file: &Path, router: axum::Router) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    lienthong::edge::tls::install_crypto_provider();
    let chain: Vec<_> = CertificateDer::pem_file_iter(pki.join("server.pem")).unwrap().map(|c| c.unwrap()).collect();
    let key = PrivateKeyDer::from_pem_file(pki.join("server.key")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(pki.join("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots)).allow_unauthenticated().build().unwrap();
    let mut cfg = rustls::ServerConfig::builder().with_client_cert_verifier(verifier).with_single_cert(chain, key).unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    std::fs::write(port_file, listener.local_addr().unwrap().port().to_string()).unwrap();
    loop {
        let (tcp, _) = listener.accept().await.unwrap();
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let mut r = router.clone();
                async move { tower::Service::call(&mut r, req.map(axum::body::Body::new)).await }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                .await;
        });
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if args.len() >= 4 && args[1] == "--echo-server" {
        rt.block_on(echo_server(Path::new(&args[2]), Path::new(&args[3])));
        return;
    }
    if args.len() >= 5 && args[1] == "--floor-server" {
        rt.block_on(floor_server(Path::new(&args[2]), Path::new(&args[3]), Path::new(&args[4])));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return; // `cargo test --benches` probes with --list
    }
    lienthong::edge::tls::install_crypto_provider();
    let packages = env_usize("PACKAGES", 3000);
    let conns = env_usize("CONNS", 64);
    let rounds = env_usize("ROUNDS", 5).max(1);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pki = dev_pki(root);
    let cfg = gateway_config(root, &pki, "data", None);
    // Each round sends packages never seen before (a resubmission is cheaper).
    let bodies: Vec<_> = (0..rounds).map(|r| signed_packages(&pki, "BENCH", r * packages, (r + 1) * packages)).collect();
    let warm = signed_packages(&pki, "BENCH", rounds * packages, rounds * packages + 200);
    let size = bodies[0][0].len();

    // Ceiling: the echo server, as its own process.
    let port_file = root.join("echo.port");
    let me = std::env::current_exe().unwrap();
    let mut echo = Command::new(me).arg("--echo-server").arg(&pki).arg(&port_file).stdout(Stdio::null()).spawn().unwrap();
    let echo_url = format!("https://127.0.0.1:{}/v1/edocs", wait_file(&port_file).trim());
    // The floor, as its own process.
    let floor_port = root.join("floor.port");
    let mut floor = Command::new(std::env::current_exe().unwrap())
        .arg("--floor-server")
        .arg(&pki)
        .arg(&floor_port)
        .arg(root)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let floor_url = format!("https://127.0.0.1:{}/v1/edocs", wait_file(&floor_port).trim());
    // The gateway.
    let (mut gw, gw_url) = start_gateway(root, "data", &cfg);

    let client = tls_client(&pki, conns);
    // The echo answers in a fraction of the gateway's time: it gets more requests per round
    // (the same bodies, repeated), so that both are measured over a comparable stretch.
    let echo_repeat = env_usize("ECHO_REPEAT", 8).max(1);
    let targets = [
        ("TLS echo (ceiling)", echo_url, echo.id(), packages * echo_repeat),
        ("lienthong POST /v1/edocs", gw_url, gw.id(), packages),
        ("floor: verify + fsync only", floor_url, floor.id(), packages),
    ];
    // rows[round][target] = (accepted, per second, p50, p99, server CPU µs per request)
    let rows: Vec<Vec<(usize, f64, f64, f64, f64)>> = rt.block_on(async {
        for (_, url, _, _) in &targets {
            let _ = load(&client, std::slice::from_ref(url), warm.clone(), conns).await;
        }
        let mut rows = Vec::new();
        // Rounds alternate the two targets, so that both see the same machine.
        for round in &bodies {
            let mut row = Vec::new();
            for (_, url, pid, requests) in &targets {
                let cpu0 = cpu_secs(*pid);
                let (secs, mut lat, ok) = load_n(&client, std::slice::from_ref(url), round.clone(), *requests, conns).await;
                let cpu_us = (cpu_secs(*pid) - cpu0) * 1e6 / ok.max(1) as f64;
                row.push((ok, ok as f64 / secs, pct(&mut lat, 0.5), pct(&mut lat, 0.99), cpu_us));
            }
            rows.push(row);
        }
        rows
    });
    // The gateway's own view: how many packages each group commit carried, how long a commit took.
    let listeners: serde_json::Value =
        serde_json::from_str(&wait_file(&root.join("data").join("run/listeners.json"))).unwrap_or_default();
    let ops = listeners["operator"].as_str().unwrap_or_default().to_owned();
    let metrics = rt.block_on(async {
        match reqwest::get(format!("{ops}/metrics")).await {
            Ok(r) => r.text().await.ok(),
            Err(e) => {
                eprintln!("metrics: {e}");
                None
            }
        }
    });
    let metric = |name: &str| -> Option<f64> {
        metrics.as_deref()?.lines().find(|l| l.starts_with(name))?.split_whitespace().last()?.parse().ok()
    };
    if let (Some(js), Some(jc), Some(cs), Some(cc)) = (
        metric("lienthong_store_batch_jobs_sum"),
        metric("lienthong_store_batch_jobs_count"),
        metric("lienthong_store_commit_seconds_sum"),
        metric("lienthong_store_commit_seconds_count"),
    ) {
        println!("group commit: {:.1} jobs per batch on average ({jc} batches), commit {:.2} ms on average", js / jc, cs / cc * 1e3);
    }
    for p in [&mut gw, &mut echo, &mut floor] {
        let _ = p.kill();
        let _ = p.wait();
    }
    if std::env::var_os("KEEP").is_some() {
        println!("gateway data kept in {}", dir.keep().display());
    }
    println!();
    println!("signed packages of {size} bytes, {packages} requests per round ({} to the echo), {conns} concurrent connections, 2 cores shared with the load generator", packages * echo_repeat);
    println!("| round | target                     | accepted | per second | p50 ms | p99 ms | server CPU µs/request |");
    println!("|------:|----------------------------|---------:|-----------:|-------:|-------:|----------------------:|");
    for (i, row) in rows.iter().enumerate() {
        for ((name, _, _, _), (ok, rps, p50, p99, cpu)) in targets.iter().zip(row) {
            println!("| {:>5} | {name:<26} | {ok:>8} | {rps:>10.0} | {p50:>6.1} | {p99:>6.1} | {cpu:>21.0} |", i + 1);
        }
    }
    let median = |f: &dyn Fn(&Vec<(usize, f64, f64, f64, f64)>) -> f64| {
        let mut v: Vec<f64> = rows.iter().map(f).collect();
        pct(&mut v, 0.5)
    };
    println!();
    println!("medians of {rounds} rounds:");
    println!("| target                     | per second | p50 ms | p99 ms | server CPU µs/request |");
    println!("|----------------------------|-----------:|-------:|-------:|----------------------:|");
    for (t, (name, _, _, _)) in targets.iter().enumerate() {
        println!(
            "| {name:<26} | {:>10.0} | {:>6.1} | {:>6.1} | {:>21.0} |",
            median(&|r| r[t].1),
            median(&|r| r[t].2),
            median(&|r| r[t].3),
            median(&|r| r[t].4)
        );
    }
    println!("ratio lienthong / ceiling (median of the rounds' ratios): {:.1} %", median(&|r| r[1].1 / r[0].1 * 100.0));
    println!("lienthong p99 (median of rounds): {:.1} ms, target < 50 ms", median(&|r| r[1].3));
    println!(
        "floor / ceiling: {:.1} %; lienthong / floor: {:.1} % (the floor verifies and syncs, nothing else)",
        median(&|r| r[2].1 / r[0].1 * 100.0),
        median(&|r| r[1].1 / r[2].1 * 100.0)
    );
}
