//! Crash test: a client sends 2,000 signed packages while the gateway is SIGKILLed at random
//! moments and restarted; the client resubmits whatever got no answer. Afterwards every
//! accepted package is delivered to each recipient exactly once after de-duplication by id (a
//! pull recipient's inbox, a push recipient's endpoint), and no resubmission made a second package.

mod common;

use common::edoc::*;
use common::load::*;
use common::{both_backends, Db, Gateway};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const A: &str = "000.00.00.H99";
const B: &str = "000.00.01.H99";
const C: &str = "000.00.02.H99";
const PACKAGES: usize = 2000;
const KILLS: usize = 6;

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    openssl::rand::rand_bytes(&mut b).unwrap();
    u64::from_le_bytes(b)
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn sigkill_during_2000_submissions_loses_and_duplicates_nothing);
async fn sigkill_during_2000_submissions_loses_and_duplicates_nothing(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let pki = shared_pki(
        dir.path(),
        &[("vpubnd", "agency", A), ("sonv", "agency", B), ("sotc", "agency", C), ("gw", "peer", "H99")],
    );
    let receiver = PushReceiver::start(&pki).await;
    let port = free_port();
    let gdir = dir.path().join("gw");
    let cfg = gateway_config(
        &db,
        &gdir,
        &pki,
        "gw",
        port,
        &[
            member_toml("vpubnd", "agency", &[A], "rate_limit = { per_minute = 1000000, burst = 100000 }"),
            member_toml("sonv", "agency", &[B], "rate_limit = { per_minute = 1000000, burst = 100000 }"),
            member_toml(
                "sotc",
                "agency",
                &[C],
                &format!("delivery = \"push\"\nendpoint = \"{}\"", receiver.url),
            ),
        ]
        .concat(),
        "[edocs.retry]\ninitial_ms = 50\nmax_ms = 500\n",
    );
    let packages = signed_packages(&pki, "vpubnd", A, &[B, C], "CRASH", PACKAGES);
    let gw = Arc::new(Mutex::new(Gateway::spawn(&gdir, &cfg)));
    let url = format!("https://127.0.0.1:{port}/v1/edocs");
    let started = Instant::now();
    let sub = Submission::start(patient_client(&pki, "vpubnd"), vec![url], packages, 8);

    // The killer: SIGKILL at random moments while submissions are under way, then restart.
    let mut kills = 0;
    while kills < KILLS {
        if sub.taken() >= sub.total() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300 + rand_u64() % 900)).await;
        let g = gw.clone();
        let (gdir, cfg) = (gdir.clone(), cfg.clone());
        tokio::task::spawn_blocking(move || {
            let mut g = g.lock().unwrap();
            g.kill9();
            std::thread::sleep(Duration::from_millis(100));
            *g = Gateway::spawn(&gdir, &cfg);
        })
        .await
        .unwrap();
        kills += 1;
    }
    let packages = sub.packages();
    let answers = sub.finish().await;
    assert!(kills >= 5, "only {kills} kills happened before the client finished");

    // B (pull): each accepted id exactly once in its inbox; C (push): every accepted id, and
    // duplicates (a push whose outcome died with the gateway) carry the same id.
    let base = format!("https://127.0.0.1:{port}");
    let inbox = pull_inbox_once_each(&patient_client(&pki, "sonv"), &base, &answers.accepted).await;
    let (pushed, distinct) = pushed_once_each(&receiver, &answers.accepted, &packages).await;
    let out = gw.lock().unwrap().cli(&["audit", "verify"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    println!(
        "crash test: {PACKAGES} packages, {kills} SIGKILLs, {} resubmissions, {} accepted (one id each), pull inbox {inbox} entries (all distinct), push {pushed} deliveries ({distinct} distinct ids, {} duplicates absorbed by id), {:.1}s",
        answers.resubmissions,
        answers.accepted.len(),
        pushed - distinct,
        started.elapsed().as_secs_f64()
    );
}
