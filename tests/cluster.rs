//! Three nodes on one PostgreSQL; a client spreads 5,000 signed packages across them and one
//! node is SIGKILLed mid-run (and stays down). Every package the client got an answer for is
//! in the pull recipient's inbox exactly once and reaches the push recipient (exactly once
//! after de-duplication by id: the killed node's leased pushes are redone by the others once
//! their lease runs out), no resubmission made a second package, and the nodes wrote one
//! audit chain, which verifies.

mod common;

use common::edoc::*;
use common::load::*;
use common::{Backend, Db, Gateway};
use std::time::{Duration, Instant};

const A: &str = "000.00.00.H99";
const B: &str = "000.00.01.H99";
const C: &str = "000.00.02.H99";
const PACKAGES: usize = 5000;
const NODES: usize = 3;
/// The node killed, once this share of the packages has been taken up.
const VICTIM: usize = 1;
const KILL_AT: f64 = 0.4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_one_killed_every_acknowledged_package_delivered_once() {
    let db = Db::new(Backend::Postgres).one_database();
    let dir = tempfile::tempdir().unwrap();
    let pki = shared_pki(
        dir.path(),
        &[("vpubnd", "agency", A), ("sonv", "agency", B), ("sotc", "agency", C), ("gw", "peer", "H99")],
    );
    let receiver = PushReceiver::start(&pki).await;
    let unlimited = "rate_limit = { per_minute = 1000000, burst = 100000 }";
    let members = [
        member_toml("vpubnd", "agency", &[A], unlimited),
        member_toml("sonv", "agency", &[B], unlimited),
        member_toml("sotc", "agency", &[C], &format!("delivery = \"push\"\nendpoint = \"{}\"", receiver.url)),
    ]
    .concat();
    let ports: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
    let mut nodes: Vec<Gateway> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let ndir = dir.path().join(format!("node{i}"));
            // Short leases: the killed node's claimed pushes go to the others within seconds.
            let extra = "lease_secs = 5\n[edocs.retry]\ninitial_ms = 50\nmax_ms = 500\n";
            let cfg = gateway_config(&db, &ndir, &pki, "gw", *port, &members, extra);
            Gateway::spawn(&ndir, &cfg)
        })
        .collect();
    let urls: Vec<String> = ports.iter().map(|p| format!("https://127.0.0.1:{p}/v1/edocs")).collect();
    let packages = signed_packages(&pki, "vpubnd", A, &[B, C], "CLUSTER", PACKAGES);

    let started = Instant::now();
    let sub = Submission::start(patient_client(&pki, "vpubnd"), urls, packages, 12);
    while (sub.taken() as f64) < KILL_AT * sub.total() as f64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let killed_at = sub.taken();
    nodes[VICTIM].kill9();
    let packages = sub.packages();
    let answers = sub.finish().await;
    let submitted = started.elapsed();

    let live = &nodes[0];
    let inbox = pull_inbox_once_each(&patient_client(&pki, "sonv"), &live.members_url, &answers.accepted).await;
    let (pushed, distinct) = pushed_once_each(&receiver, &answers.accepted, &packages).await;
    let out = live.cli(&["audit", "verify", "--json"]);
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["valid"], true, "{verdict}");
    println!(
        "cluster test: {NODES} nodes on one PostgreSQL, {PACKAGES} packages; node {VICTIM} SIGKILLed after {killed_at} were taken up; \
         answered per node {:?}, {} resubmissions, {} accepted (one id each) in {:.1}s ({:.0}/s); \
         pull inbox {inbox} entries (all distinct); push {pushed} deliveries ({distinct} distinct ids, {} duplicates absorbed by id); \
         audit chain valid, {} records; {:.1}s in all",
        answers.answered_by,
        answers.resubmissions,
        answers.accepted.len(),
        submitted.as_secs_f64(),
        answers.accepted.len() as f64 / submitted.as_secs_f64(),
        pushed - distinct,
        verdict["records"],
        started.elapsed().as_secs_f64()
    );
}
