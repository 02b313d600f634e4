//! Citizen lookup: the latency the gateway adds. In the same run, alternating rounds, the same
//! questions at the same concurrency go (a) straight to the population simulator with the
//! adapter's client (SOAP, auth headers, parsing — what any caller of the service pays) and (b)
//! through a real gateway process (mTLS, guard, input checks, limits, the same adapter call,
//! the audit record committed before the answer). The simulator runs as its own process
//! (`lienthong sim population`) with no artificial latency. Prints p50/p99 of each (medians over
//! the rounds) and the difference.
//!
//! Run: `cargo bench --bench citizen_lookup` (env: LOOKUPS=2000 per round, CONNS=50, ROUNDS=5).

mod common;

use common::*;
use lienthong_population::sim::people::Population;
use lienthong_population::{client, Birth, Client, Credentials, Query, Settings};
use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "bench-population-secret";

/// `n` calls of `f(i)` over `conns` concurrent workers; latencies in ms and failures.
async fn run<F, Fut>(n: usize, conns: usize, f: Arc<F>) -> (Vec<f64>, usize)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (f, next) = (f.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut bad) = (Vec::new(), 0);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                if !f(i).await {
                    bad += 1;
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            (lat, bad)
        }));
    }
    let (mut all, mut bad) = (Vec::new(), 0);
    for t in tasks {
        let (l, b) = t.await.unwrap();
        all.extend(l);
        bad += b;
    }
    (all, bad)
}

fn median(v: &mut [f64]) -> f64 {
    pct(v, 0.5)
}

/// The simulator as its own process; its endpoint URL.
fn start_sim() -> (Child, String) {
    let mut sim = Command::new(BIN)
        .args([
            "sim",
            "population",
            "--listen",
            "127.0.0.1:0",
            "--latency-ms",
            "0",
        ])
        .args([
            "--username",
            "bench",
            "--secret",
            SECRET,
            "--client-id",
            "VN/GOV/H99/BENCH",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(sim.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://"), "{line}");
    (sim, url)
}

fn main() {
    let lookups = env_usize("LOOKUPS", 2000);
    let conns = env_usize("CONNS", 50);
    let rounds = env_usize("ROUNDS", 5);
    lienthong::edge::tls::install_crypto_provider();
    let root = tempfile::tempdir().unwrap();
    let pki = dev_pki(root.path());
    let (mut sim, sim_url) = start_sim();

    let rest = format!(
        r#"[adapters.population]
base_url = "{sim_url}"
username = "bench"
secret = {{ value = "{SECRET}" }}
client_id = "VN/GOV/H99/BENCH"
[citizens]
extra_province_codes = ["099"]
member_rate_limit = {{ per_minute = 100000000, burst = 1000000 }}
officer_rate_limit = {{ per_minute = 100000000, burst = 1000000 }}
[[citizens.purposes]]
code = "bench"
[[members]]
id = "vpubnd"
kind = "onestop"
organs = ["000.00.20.H99"]
services = ["citizens"]
cert_subject = "CN=vpubnd,OU=members,O=lienthong sandbox,C=VN"
rate_limit = {{ per_minute = 100000000, burst = 1000000 }}
"#
    );
    let cfg = gateway_config_with(root.path(), &pki, "gw", None, &rest);
    let (mut gw, edocs_url) = start_gateway(root.path(), "gw", &cfg);
    let gw_url = edocs_url.replace("/v1/edocs", "/v1/citizens/lookup");

    // Questions about real (synthetic) people: half full dates, half years.
    let pop = Population::generate(37, 5000);
    let people: Vec<_> = pop
        .people
        .iter()
        .filter(|c| c.id_number.starts_with("099"))
        .take(1000)
        .collect();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        people
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let birth = if i % 2 == 0 { c.birth_date.clone() } else { c.birth_date[..4].to_owned() };
                serde_json::to_vec(&serde_json::json!({
                    "id_number": c.id_number, "full_name": c.full_name, "birth_date": birth,
                    "purpose": "bench", "dossier_code": format!("BENCH-{i}"), "officer_id": "099085000777"
                }))
                .unwrap()
            })
            .collect(),
    );
    let queries: Arc<Vec<Query>> = Arc::new(
        people
            .iter()
            .enumerate()
            .map(|(i, c)| Query {
                request_id: String::new(),
                service_code: "VPCP".into(),
                officer_id: "099085000777".into(),
                unit_code: "000.00.20.H99".into(),
                officer_account: "vpubnd".into(),
                id_number: c.id_number.clone(),
                full_name: c.full_name.clone(),
                birth: if i % 2 == 0 {
                    Birth::Date(
                        chrono::NaiveDate::parse_from_str(&c.birth_date, "%Y-%m-%d").unwrap(),
                    )
                } else {
                    Birth::Year(c.birth_date[..4].parse().unwrap())
                },
            })
            .collect(),
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let direct = Arc::new(
        Client::new(Settings {
            base_url: sim_url.clone(),
            credentials: Credentials {
                username: "bench".into(),
                secret: SECRET.as_bytes().to_vec(),
                auth_url: "https://sandbox.invalid/xacthuc".into(),
                client_id: "VN/GOV/H99/BENCH".into(),
                api_key: None,
            },
            service_code: "VPCP".into(),
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            retries: 0,
            max_response_bytes: 256 << 10,
        })
        .unwrap(),
    );
    let http = tls_client(&pki, conns);

    let direct_fn = {
        let (c, q) = (direct.clone(), queries.clone());
        Arc::new(move |i: usize| {
            let (c, q) = (c.clone(), q.clone());
            async move {
                let mut q = q[i % q.len()].clone();
                q.request_id = client::request_id();
                matches!(
                    c.lookup(&q).await,
                    Ok(lienthong_population::LookupAnswer::Match(_))
                )
            }
        })
    };
    let gateway_fn = {
        let (h, b, u) = (http.clone(), bodies.clone(), gw_url.clone());
        Arc::new(move |i: usize| {
            let (h, b, u) = (h.clone(), b.clone(), u.clone());
            async move {
                let Ok(r) = h
                    .post(&u)
                    .header("content-type", "application/json")
                    .body(b[i % b.len()].clone())
                    .send()
                    .await
                else {
                    return false;
                };
                let ok = r.status().is_success();
                let body = r.bytes().await.unwrap_or_default();
                ok && body.windows(12).any(|w| w == b"\"match\":true")
            }
        })
    };

    println!("citizen lookup: {lookups} lookups per round at {conns} concurrent, {rounds} rounds (alternating), simulator latency 0");
    // Warm-up: connections, TLS sessions, caches.
    rt.block_on(async {
        let (_, bad) = run(conns * 4, conns, direct_fn.clone()).await;
        assert_eq!(bad, 0, "direct warm-up failed");
        let (_, bad) = run(conns * 4, conns, gateway_fn.clone()).await;
        assert_eq!(bad, 0, "gateway warm-up failed");
    });
    let (gw_pid, sim_pid) = (gw.id(), sim.id());
    let (mut gw_cpu, mut sim_cpu, mut gw_n) = (0.0, 0.0, 0usize);
    let (mut d50, mut d99, mut g50, mut g99) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    println!(
        "{:>5}  {:>12} {:>12}  {:>12} {:>12}",
        "round", "direct p50", "direct p99", "gateway p50", "gateway p99"
    );
    for r in 0..rounds {
        let mut row = [0.0; 4];
        for leg in [r % 2, 1 - r % 2] {
            let (g0, s0) = (cpu_secs(gw_pid), cpu_secs(sim_pid));
            let (mut lat, bad) = if leg == 0 {
                rt.block_on(run(lookups, conns, direct_fn.clone()))
            } else {
                rt.block_on(run(lookups, conns, gateway_fn.clone()))
            };
            if leg == 1 {
                gw_cpu += cpu_secs(gw_pid) - g0;
                sim_cpu += cpu_secs(sim_pid) - s0;
                gw_n += lookups;
            }
            assert_eq!(
                bad,
                0,
                "{} lookups failed",
                if leg == 0 { "direct" } else { "gateway" }
            );
            row[leg * 2] = pct(&mut lat, 0.5);
            row[leg * 2 + 1] = pct(&mut lat, 0.99);
        }
        println!(
            "{r:>5}  {:>9.3} ms {:>9.3} ms  {:>9.3} ms {:>9.3} ms",
            row[0], row[1], row[2], row[3]
        );
        d50.push(row[0]);
        d99.push(row[1]);
        g50.push(row[2]);
        g99.push(row[3]);
    }
    let (d50, d99, g50, g99) = (
        median(&mut d50),
        median(&mut d99),
        median(&mut g50),
        median(&mut g99),
    );
    println!();
    println!("{:<24} {:>10} {:>10}", "median of rounds", "p50", "p99");
    println!(
        "{:<24} {:>7.3} ms {:>7.3} ms",
        "direct to simulator", d50, d99
    );
    println!(
        "{:<24} {:>7.3} ms {:>7.3} ms",
        "through the gateway", g50, g99
    );
    println!(
        "{:<24} {:>7.3} ms {:>7.3} ms",
        "added by the gateway",
        g50 - d50,
        g99 - d99
    );
    println!(
        "CPU per lookup through the gateway: gateway {:.0} µs, simulator {:.0} µs (2 cores shared with the load generator)",
        gw_cpu / gw_n as f64 * 1e6,
        sim_cpu / gw_n as f64 * 1e6
    );
    let _ = gw.kill();
    let _ = gw.wait();
    let _ = sim.kill();
    let _ = sim.wait();
}
