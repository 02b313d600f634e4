//! Crash test: a client sends 2,000 signed packages while the gateway is SIGKILLed at random
//! moments and restarted; the client resubmits whatever got no answer. Afterwards every
//! accepted package is delivered to each recipient exactly once after de-duplication by id (a
//! pull recipient's inbox, a push recipient's endpoint), and no resubmission made a second package.

mod common;

use common::edoc::*;
use common::{both_backends, client_config, Db, Gateway};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const A: &str = "000.00.00.H99";
const B: &str = "000.00.01.H99";
const C: &str = "000.00.02.H99";
const PACKAGES: usize = 2000;
const KILLS: usize = 6;

fn client(pki: &std::path::Path, member: &str) -> reqwest::Client {
    let cfg = client_config(pki, Some(pki.join("members").join(member)), &[b"http/1.1"]);
    reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

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
    // Signed packages, made up front.
    let packages: Vec<(String, Vec<u8>)> = (0..PACKAGES)
        .map(|i| {
            let number = format!("{i}/CRASH");
            let doc = document(A, &[B, C], &number, &format!("Gói số {i}"));
            (document_id(A, &number), sign_as(&pki, "vpubnd", &doc))
        })
        .collect();
    let packages = Arc::new(packages);

    let gw = Arc::new(Mutex::new(Gateway::spawn(&gdir, &cfg)));
    let url = format!("https://127.0.0.1:{port}/v1/edocs");
    let a = client(&pki, "vpubnd");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // document id → every id the gateway answered with (must be exactly one).
    let answers: Arc<Mutex<HashMap<String, BTreeSet<i64>>>> = Default::default();
    let resubmissions = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();

    let mut senders = Vec::new();
    for _ in 0..8 {
        let (a, url, packages, next, answers, resub) = (
            a.clone(),
            url.clone(),
            packages.clone(),
            next.clone(),
            answers.clone(),
            resubmissions.clone(),
        );
        senders.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= packages.len() {
                    break;
                }
                let (doc_id, body) = &packages[i];
                let mut tries = 0;
                loop {
                    tries += 1;
                    assert!(tries < 500, "package {i} never answered");
                    let r = a
                        .post(&url)
                        .header("content-type", "application/xml")
                        .body(body.clone())
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 202 || r.status() == 200 => {
                            let v: serde_json::Value = match r.json().await {
                                Ok(v) => v,
                                Err(_) => continue, // cut off mid-answer: resubmit
                            };
                            answers
                                .lock()
                                .unwrap()
                                .entry(doc_id.clone())
                                .or_default()
                                .insert(v["id"].as_i64().unwrap());
                            break;
                        }
                        Ok(r) if r.status().is_server_error() => {}
                        Ok(r) => panic!("package {i}: unexpected {}", r.status()),
                        Err(_) => {}
                    }
                    resub.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }

    // The killer: SIGKILL at random moments while submissions are under way, then restart.
    let mut kills = 0;
    while kills < KILLS {
        let done = next.load(std::sync::atomic::Ordering::SeqCst);
        if done >= PACKAGES {
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
    for s in senders {
        s.await.unwrap();
    }
    assert!(kills >= 5, "only {kills} kills happened before the client finished");

    // Every package answered with exactly one id; ids distinct across packages.
    let answers = answers.lock().unwrap().clone();
    assert_eq!(answers.len(), PACKAGES);
    let mut accepted: BTreeMap<i64, String> = BTreeMap::new();
    for (doc, ids) in &answers {
        assert_eq!(ids.len(), 1, "{doc} got several ids: {ids:?}");
        let id = *ids.iter().next().unwrap();
        assert!(accepted.insert(id, doc.clone()).is_none(), "id {id} answered for two packages");
    }

    // B (pull): page through the inbox; each accepted id exactly once, nothing else.
    let b = client(&pki, "sonv");
    let base = format!("https://127.0.0.1:{port}");
    let mut inbox: Vec<i64> = Vec::new();
    let mut after = 0;
    loop {
        let v: serde_json::Value = b
            .get(format!("{base}/v1/edocs/inbox?after={after}&limit=500"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = v["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        inbox.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        after = v["next_after"].as_i64().unwrap();
    }
    let inbox_set: BTreeSet<i64> = inbox.iter().copied().collect();
    assert_eq!(inbox.len(), inbox_set.len(), "duplicate inbox entries");
    assert_eq!(inbox_set, accepted.keys().copied().collect::<BTreeSet<_>>());

    // C (push): wait until every accepted id has arrived; duplicates are de-duplicated by id.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (pushed, distinct) = loop {
        let got = receiver.got.lock().unwrap();
        let distinct: BTreeSet<i64> = got.iter().map(|(id, _)| id.parse().unwrap()).collect();
        if distinct.len() >= accepted.len() || Instant::now() > deadline {
            break (got.len(), distinct);
        }
        drop(got);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(distinct, accepted.keys().copied().collect::<BTreeSet<_>>());
    // Identical bytes for a sample.
    {
        let got = receiver.got.lock().unwrap();
        let by_doc: HashMap<&String, &Vec<u8>> = packages.iter().map(|(d, b)| (d, b)).collect();
        for (id, body) in got.iter().take(50) {
            let doc = &accepted[&id.parse::<i64>().unwrap()];
            assert_eq!(&body, by_doc.get(doc).unwrap(), "pushed bytes differ for {doc}");
        }
    }
    let g = gw.lock().unwrap();
    let out = g.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    println!(
        "crash test: {PACKAGES} packages, {kills} SIGKILLs, {} resubmissions, {} accepted (one id each), pull inbox {} entries ({} distinct), push {} deliveries ({} distinct ids, {} duplicates absorbed by id), {:.1}s",
        resubmissions.load(std::sync::atomic::Ordering::SeqCst),
        accepted.len(),
        inbox.len(),
        inbox_set.len(),
        pushed,
        distinct.len(),
        pushed - distinct.len(),
        started.elapsed().as_secs_f64()
    );
}
