//! Citizen lookup: the latency the gateway adds. In the same run, alternating rounds, the same
//! questions at the same concurrency go (a) straight to the population simulator with the
//! adapter's client (SOAP, auth headers, parsing — what any caller of the service pays) and (b)
//! through a real gateway process (mTLS, guard, input checks, limits, the same adapter call,
//! the audit record committed before the answer). The simulator runs as its own process
//! (`lienthong sim population`).
//!
//! Two service times are measured, each with its own simulator and gateway:
//! - **none** (answers at once): 50 callers then keep 2 shared cores busy, so the difference is
//!   mostly queueing for CPU behind the other callers — a throughput figure;
//! - **50–150 ms**, fixed per person asked about (the national service answers over a WAN; the
//!   spread keeps callers from moving in lockstep): the latency a desk actually sees added.
//!
//! The simulator's service time for question `i` is known (`sim::spread`), so each leg's time
//! is taken as its excess over that service time: what the direct client, the simulator's HTTP
//! handling and timer rounding cost (direct), plus what the gateway adds (gateway). The
//! gateway's added latency at p50/p99 is the difference of those percentiles, per round;
//! medians over the rounds.
//!
//! Run: `cargo bench --bench citizen_lookup` (env: LOOKUPS=2000 per round, CONNS=50, ROUNDS=5,
//! SERVICE="0+0,50+100": base+spread ms per setting; CITIZENS_EXTRA: TOML lines added under the
//! gateway's `[citizens]`, e.g. `audit_commit = "before_answer"`; DEBUG_TAIL=1: print each
//! leg's 25 slowest questions).

mod common;

use common::*;
use lienthong_population::sim::people::Population;
use lienthong_population::sim::spread;
use lienthong_population::{client, Birth, Client, Credentials, Query, Settings};
use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "bench-population-secret";

/// `n` calls of `f(i)` over `conns` concurrent workers, worker `k` starting after `k * stagger`
/// (so that they do not all fire in the same instant, which no set of desks does); latency in
/// ms of each `i`, and failures.
async fn run<F, Fut>(n: usize, conns: usize, stagger: Duration, f: Arc<F>) -> (Vec<f64>, usize)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for k in 0..conns {
        let (f, next) = (f.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(stagger * k as u32).await;
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
                lat.push((i, t.elapsed().as_secs_f64() * 1000.0));
            }
            (lat, bad)
        }));
    }
    let (mut all, mut bad) = (vec![0.0; n], 0);
    for t in tasks {
        let (l, b) = t.await.unwrap();
        for (i, ms) in l {
            all[i] = ms;
        }
        bad += b;
    }
    (all, bad)
}

fn median(v: &mut [f64]) -> f64 {
    pct(v, 0.5)
}

/// The simulator as its own process; its endpoint URL.
fn start_sim(latency_ms: usize, spread_ms: usize) -> (Child, String) {
    let mut sim = Command::new(BIN)
        .args([
            "sim",
            "population",
            "--listen",
            "127.0.0.1:0",
            "--latency-ms",
        ])
        .arg(latency_ms.to_string())
        .arg("--latency-spread-ms")
        .arg(spread_ms.to_string())
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

/// What one service-time setting gave (medians over the rounds), in ms; CPU in µs per lookup.
struct Summary {
    direct: [f64; 2],
    gateway: [f64; 2],
    added: [f64; 2],
    gw_cpu_us: f64,
}

fn main() {
    let lookups = env_usize("LOOKUPS", 2000);
    let conns = env_usize("CONNS", 50);
    let rounds = env_usize("ROUNDS", 5);
    let settings: Vec<(usize, usize)> = std::env::var("SERVICE")
        .unwrap_or_else(|_| "0+0,50+100".into())
        .split(',')
        .map(|s| {
            let (b, d) = s.split_once('+').unwrap_or((s, "0"));
            (b.trim().parse().unwrap(), d.trim().parse().unwrap())
        })
        .collect();
    lienthong::edge::tls::install_crypto_provider();
    let root = tempfile::tempdir().unwrap();
    let pki = dev_pki(root.path());
    let mut results = Vec::new();
    for (n, &(latency, spread)) in settings.iter().enumerate() {
        let s = measure(
            root.path(),
            &pki,
            &format!("gw{n}"),
            lookups,
            conns,
            rounds,
            latency,
            spread,
        );
        results.push(((latency, spread), s));
    }
    println!();
    println!(
        "citizen lookup at {conns} concurrent: medians over {rounds} rounds of {lookups}, in ms"
    );
    println!(
        "{:<14} {:>20}  {:>20}  {:>20}  {:>8}",
        "service time", "direct p50 / p99", "gateway p50 / p99", "added p50 / p99", "gw CPU"
    );
    for ((latency, spread), s) in &results {
        let service = if *spread > 0 {
            format!("{}–{} ms", latency, latency + spread)
        } else {
            format!("{latency} ms")
        };
        println!(
            "{:<14} {:>8.3} / {:>8.3}  {:>8.3} / {:>8.3}  {:>8.3} / {:>8.3}  {:>5.0} µs",
            service,
            s.direct[0],
            s.direct[1],
            s.gateway[0],
            s.gateway[1],
            s.added[0],
            s.added[1],
            s.gw_cpu_us
        );
    }
    println!("(direct, gateway: time beyond the simulated service time; added: gateway minus direct, per round; gw CPU: the gateway process's CPU per lookup, on 2 cores shared with the load generator and the simulator)");
}

#[allow(clippy::too_many_arguments)]
fn measure(
    root: &std::path::Path,
    pki: &std::path::Path,
    name: &str,
    lookups: usize,
    conns: usize,
    rounds: usize,
    latency: usize,
    spread_ms: usize,
) -> Summary {
    let (mut sim, sim_url) = start_sim(latency, spread_ms);

    let citizens_extra = std::env::var("CITIZENS_EXTRA").unwrap_or_default();
    let rest = format!(
        r#"[adapters.population]
base_url = "{sim_url}"
username = "bench"
secret = {{ value = "{SECRET}" }}
client_id = "VN/GOV/H99/BENCH"
[citizens]
extra_province_codes = ["099"]
{citizens_extra}
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
    let cfg = gateway_config_with(root, pki, name, None, &rest);
    let (mut gw, edocs_url) = start_gateway(root, name, &cfg);
    let gw_url = edocs_url.replace("/v1/edocs", "/v1/citizens/lookup");

    // Questions about real (synthetic) people: half full dates, half years.
    let pop = Population::generate(37, 5000);
    let people: Vec<_> = pop
        .people
        .iter()
        .filter(|c| c.id_number.starts_with("099"))
        .take(1000)
        .collect();
    // Callers start spread over one mean service time.
    let stagger =
        Duration::from_secs_f64((latency as f64 + spread_ms as f64 / 2.0) / 1000.0 / conns as f64);
    // The simulator's service time for each question, in ms.
    let service: Vec<f64> = people
        .iter()
        .map(|c| (latency as u64 + spread(&c.id_number, spread_ms as u64)) as f64)
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
    let http = tls_client(pki, conns);

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

    println!("citizen lookup: {lookups} lookups per round at {conns} concurrent, {rounds} rounds (alternating), service time {latency} ms + 0..{spread_ms} ms per person");
    // Warm-up: connections, TLS sessions, caches.
    rt.block_on(async {
        let (_, bad) = run(conns * 4, conns, stagger, direct_fn.clone()).await;
        assert_eq!(bad, 0, "direct warm-up failed");
        let (_, bad) = run(conns * 4, conns, stagger, gateway_fn.clone()).await;
        assert_eq!(bad, 0, "gateway warm-up failed");
    });
    let (gw_pid, sim_pid) = (gw.id(), sim.id());
    let (mut gw_cpu, mut sim_cpu, mut gw_n) = (0.0, 0.0, 0usize);
    let mut cols: [Vec<f64>; 6] = Default::default();
    println!("time beyond the service time:");
    println!(
        "{:>5}  {:>12} {:>12}  {:>12} {:>12}  {:>12} {:>12}",
        "round", "direct p50", "direct p99", "gateway p50", "gateway p99", "added p50", "added p99"
    );
    for r in 0..rounds {
        let mut row = [0.0; 6];
        for leg in [r % 2, 1 - r % 2] {
            let (g0, s0) = (cpu_secs(gw_pid), cpu_secs(sim_pid));
            let (mut lat, bad) = if leg == 0 {
                rt.block_on(run(lookups, conns, stagger, direct_fn.clone()))
            } else {
                rt.block_on(run(lookups, conns, stagger, gateway_fn.clone()))
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
            for (i, ms) in lat.iter_mut().enumerate() {
                *ms -= service[i % service.len()];
            }
            if std::env::var("DEBUG_TAIL").is_ok() {
                let mut idx: Vec<usize> = (0..lat.len()).collect();
                idx.sort_by(|a, b| lat[*b].total_cmp(&lat[*a]));
                let top: Vec<String> = idx
                    .iter()
                    .take(25)
                    .map(|&i| format!("{i}:{:.1}", lat[i]))
                    .collect();
                println!("leg {leg} tail: {}", top.join(" "));
            }
            row[leg * 2] = pct(&mut lat, 0.5);
            row[leg * 2 + 1] = pct(&mut lat, 0.99);
        }
        row[4] = row[2] - row[0];
        row[5] = row[3] - row[1];
        println!(
            "{r:>5}  {:>9.3} ms {:>9.3} ms  {:>9.3} ms {:>9.3} ms  {:>9.3} ms {:>9.3} ms",
            row[0], row[1], row[2], row[3], row[4], row[5]
        );
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
    }
    let [d50, d99, g50, g99, p50, p99] = cols.map(|mut c| median(&mut c));
    println!(
        "CPU per lookup through the gateway: gateway {:.0} µs, simulator {:.0} µs",
        gw_cpu / gw_n as f64 * 1e6,
        sim_cpu / gw_n as f64 * 1e6
    );
    let _ = gw.kill();
    let _ = gw.wait();
    let _ = sim.kill();
    let _ = sim.wait();
    Summary {
        direct: [d50, d99],
        gateway: [g50, g99],
        added: [p50, p99],
        gw_cpu_us: gw_cpu / gw_n as f64 * 1e6,
    }
}
