//! What the exchange benchmarks share: a dev PKI, a gateway configuration, signed 10 KB
//! packages, an HTTPS client presenting a member certificate, and the load loop.
#![allow(dead_code)]

use lienthong::contract::edoc::{DocumentHeader, Organ};
use lienthong::edxml::write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_lienthong");
pub const A: &str = "000.00.00.H99";
pub const B: &str = "000.00.01.H99";

pub fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn members_toml() -> String {
    format!(
        "[[members]]\nid = \"vpubnd\"\nkind = \"agency\"\norgans = [\"{A}\"]\nservices = [\"edocs\"]\ncert_subject = \"CN=vpubnd,OU=members,O=lienthong sandbox,C=VN\"\nrate_limit = {{ per_minute = 100000000, burst = 1000000 }}\n[[members]]\nid = \"sonv\"\nkind = \"agency\"\norgans = [\"{B}\"]\nservices = [\"edocs\"]\ncert_subject = \"CN=sonv,OU=members,O=lienthong sandbox,C=VN\"\n"
    )
}

/// `lienthong pki dev-init` into `root/pki` for the benchmark's members.
pub fn dev_pki(root: &Path) -> PathBuf {
    std::fs::write(root.join("pki.toml"), members_toml()).unwrap();
    let pki = root.join("pki");
    let out = Command::new(BIN).arg("--config").arg(root.join("pki.toml")).args(["pki", "dev-init"]).arg(&pki).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    pki
}

/// A gateway configuration at `root/<name>.toml`, data in `root/<name>/`, on `store_url`
/// (its own SQLite file when `None`).
pub fn gateway_config(root: &Path, pki: &Path, name: &str, store_url: Option<&str>) -> PathBuf {
    gateway_config_with(root, pki, name, store_url, &members_toml())
}

/// The same with other settings and members (`rest`, TOML appended after the common part).
pub fn gateway_config_with(root: &Path, pki: &Path, name: &str, store_url: Option<&str>, rest: &str) -> PathBuf {
    let cfg = root.join(format!("{name}.toml"));
    let p = |f: &str| format!("{:?}", pki.join(f));
    let store = store_url.map(|u| format!("[store]\nurl = {u:?}\n")).unwrap_or_default();
    std::fs::write(
        &cfg,
        format!(
            "sandbox = false\ndata_dir = {:?}\n{store}[listen]\nmembers = \"127.0.0.1:0\"\noperator = \"127.0.0.1:0\"\n[limits]\nmax_connections = 4096\n[log]\nlevel = \"warn\"\n[tls]\ncert = {}\nkey = {}\nclient_ca = {}\ncrls = [{}]\n[oauth]\nsigning_key = {{ value = \"bench-signing-key-0123456789abcdef-0123456789\" }}\n[trust]\nanchors = [{}]\nintermediates = [{}]\ncrls = [{}]\n{}",
            root.join(name), p("server.pem"), p("server.key"), p("ca.pem"), p("crl.pem"), p("ca.pem"), p("intermediate.pem"), p("crl.pem"), rest
        ),
    )
    .unwrap();
    cfg
}

/// Start a gateway on `cfg` (data in `root/<name>`); the process and its `…/v1/edocs` URL.
pub fn start_gateway(root: &Path, name: &str, cfg: &Path) -> (Child, String) {
    let gw = Command::new(BIN).arg("--config").arg(cfg).arg("serve").current_dir(root).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let listeners: serde_json::Value = serde_json::from_str(&wait_file(&root.join(name).join("run/listeners.json"))).unwrap();
    (gw, format!("{}/v1/edocs", listeners["members"].as_str().unwrap()))
}

/// Signed 10 KB document packages from A to B numbered `from..to`, distinct DocumentIds.
pub fn signed_packages(pki: &Path, tag: &str, from: usize, to: usize) -> Arc<Vec<Vec<u8>>> {
    let key = openssl::pkey::PKey::private_key_from_pem(&std::fs::read(pki.join("signing/vpubnd.key")).unwrap()).unwrap();
    let chain = openssl::x509::X509::stack_from_pem(&std::fs::read(pki.join("signing/vpubnd.pem")).unwrap()).unwrap();
    let text: String = "Nội dung văn bản thử nghiệm. ".repeat(140);
    let make = |i: usize| {
        let h = DocumentHeader {
            from: Organ { id: A.into(), name: Some("UBND tỉnh Ví Dụ".into()), ..Default::default() },
            to: vec![Organ { id: B.into(), ..Default::default() }],
            document_id: format!("{A},2026/11/23,{i}/{tag}"),
            subject: Some("Đo thông lượng".into()),
            ..Default::default()
        };
        let doc = write::document(&h, &[write::NewAttachment { name: "vb.txt", content_type: "text/plain", bytes: text.as_bytes() }]);
        lienthong::dsig::sign::sign(&doc, &key, &chain).unwrap()
    };
    // Signing is the slow part of setting up: two threads, as the machine has two cores.
    let mid = from + (to - from) / 2;
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| (from..mid).map(make).collect::<Vec<_>>());
        let b: Vec<Vec<u8>> = (mid..to).map(make).collect();
        (a.join().unwrap(), b)
    });
    Arc::new(a.into_iter().chain(b).collect())
}

pub fn tls_client(pki: &Path, conns: usize) -> reqwest::Client {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(pki.join("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let chain: Vec<_> = CertificateDer::pem_file_iter(pki.join("members/vpubnd.pem"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(pki.join("members/vpubnd.key")).unwrap();
    let mut cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .pool_max_idle_per_host(conns)
        .http1_only()
        .build()
        .unwrap()
}

/// Fire `bodies` over `conns` connections (one request in flight per connection), connection
/// `k` to `urls[k % urls.len()]`. Returns (seconds, latencies in ms, successes).
pub async fn load(client: &reqwest::Client, urls: &[String], bodies: Arc<Vec<Vec<u8>>>, conns: usize) -> (f64, Vec<f64>, usize) {
    let n = bodies.len();
    load_n(client, urls, bodies, n, conns).await
}

/// The same with `requests` requests, going round `bodies` as often as needed.
pub async fn load_n(client: &reqwest::Client, urls: &[String], bodies: Arc<Vec<Vec<u8>>>, requests: usize, conns: usize) -> (f64, Vec<f64>, usize) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..conns {
        let (c, u, b, n) = (client.clone(), urls[k % urls.len()].clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut ok = 0;
            loop {
                let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let t = Instant::now();
                let r = c.post(&u).header("content-type", "application/xml").body(b[i % b.len()].clone()).send().await;
                if let Ok(r) = r {
                    let good = r.status().is_success();
                    let _ = r.bytes().await;
                    if good {
                        ok += 1;
                    }
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            (lat, ok)
        }));
    }
    let mut all = Vec::new();
    let mut ok = 0;
    for t in tasks {
        let (l, o) = t.await.unwrap();
        all.extend(l);
        ok += o;
    }
    (started.elapsed().as_secs_f64(), all, ok)
}

/// CPU time (user + system, seconds) a process has used so far, from /proc (Linux).
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12].iter().filter_map(|&i| f.get(i)?.parse::<f64>().ok()).sum();
    ticks / 100.0 // USER_HZ is 100 on Linux
}

pub fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

pub fn wait_file(p: &Path) -> String {
    let t = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(p) {
            if !s.is_empty() {
                return s;
            }
        }
        assert!(t.elapsed() < Duration::from_secs(30), "{} never appeared", p.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}
