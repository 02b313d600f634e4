//! Test harness: starts the real `lienthong` binary on loopback with a fresh data directory and
//! a dev PKI, and talks to it over real TLS.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const BIN: &str = env!("CARGO_BIN_EXE_lienthong");
pub const SIGNING_KEY: &str = "test-signing-key-0123456789abcdef-0123456789";

/// Members every test gateway has. `limited` has a tiny rate limit.
pub const MEMBERS: &str = r#"
[[members]]
id = "vpubnd"
name = "Văn phòng UBND tỉnh Ví Dụ"
kind = "agency"
organs = ["000.00.00.H99", "H99"]
services = ["directory", "edocs"]
cert_subject = "CN=vpubnd,OU=members,O=lienthong sandbox,C=VN"
oauth = { client_id = "vpubnd", client_secret = { value = "sandbox-secret-vpubnd" } }

[[members]]
id = "sonv"
name = "Sở Nội vụ tỉnh Ví Dụ"
kind = "agency"
organs = ["000.00.01.H99", "H99.01"]
services = ["directory", "edocs"]
cert_subject = "CN=sonv,OU=members,O=lienthong sandbox,C=VN"

[[members]]
id = "paygov"
name = "PayGov"
kind = "platform"
services = ["payments"]
cert_subject = "CN=paygov,OU=members,O=lienthong sandbox,C=VN"

[[members]]
id = "limited"
name = "Rate-limited test member"
kind = "onestop"
organs = ["H99.30"]
services = ["directory"]
cert_subject = "CN=limited,OU=members,O=lienthong sandbox,C=VN"
rate_limit = { per_minute = 1, burst = 3 }
"#;

/// The procedures dossier tests file for: code, name, processing time.
pub const PROCEDURES: [(&str, &str, &str); 2] = [
    (
        "1.009999",
        "Thủ tục mẫu cấp giấy xác nhận thử nghiệm",
        "10d",
    ),
    ("1.009998", "Thủ tục mẫu cấp giấy phép thử nghiệm", "15d"),
];

/// Configuration for dossier tests: the shipped calendar and dialects, and [`PROCEDURES`].
pub fn dossiers_toml() -> String {
    let repo = env!("CARGO_MANIFEST_DIR");
    let mut t = format!(
        "[calendar]\ndir = \"{repo}/config/calendar\"\n\n[dossiers]\ndialects_dir = \"{repo}/adapters/dialects\"\n"
    );
    for (code, name, time) in PROCEDURES {
        t += &format!(
            "\n[[dossiers.procedures]]\ncode = \"{code}\"\nname = \"{name}\"\nprocessing_time = \"{time}\"\n"
        );
    }
    t
}

/// The store backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test's gateways keep their stores: the default SQLite file in each gateway's data
/// directory, or a database of their own on a PostgreSQL server started for this test (and
/// stopped when the `Db` is dropped, after the gateways the test started).
pub struct Db {
    pub backend: Backend,
    pub pg: Option<pg::PgServer>,
    /// Set by [`Db::one_database`]: every gateway gets this one.
    shared: Option<String>,
}

impl Db {
    pub fn new(backend: Backend) -> Db {
        Db {
            backend,
            pg: (backend == Backend::Postgres).then(pg::PgServer::start),
            shared: None,
        }
    }

    /// Every gateway configured from now on shares one database (nodes of one deployment).
    pub fn one_database(mut self) -> Db {
        self.shared = self.store_url();
        self
    }

    pub fn sqlite() -> Db {
        Db::new(Backend::Sqlite)
    }

    /// `store.url` for one more gateway: `None` on SQLite (the default file in its data
    /// directory), a new database on PostgreSQL.
    pub fn store_url(&self) -> Option<String> {
        if self.shared.is_some() {
            return self.shared.clone();
        }
        self.pg.as_ref().map(|pg| pg.url(&pg.create_database()))
    }

    /// The same as a `[store]` table (empty on SQLite).
    pub fn store_toml(&self) -> String {
        self.store_url()
            .map(|url| format!("[store]\nurl = \"{url}\"\n"))
            .unwrap_or_default()
    }
}

impl Drop for Db {
    /// A PostgreSQL test whose gateways never wrote to PostgreSQL would prove nothing about it:
    /// fail it (unless it is failing already).
    fn drop(&mut self) {
        let Some(pg) = &self.pg else { return };
        if std::thread::panicking() {
            return;
        }
        let written: i64 = pg
            .databases()
            .iter()
            .filter(|db| pg.psql(db, "SELECT to_regclass('audit_log') IS NOT NULL") == "t")
            .map(|db| {
                pg.psql(db, "SELECT count(*) FROM audit_log")
                    .parse::<i64>()
                    .unwrap_or(0)
            })
            .sum();
        assert!(
            written > 0,
            "this test ran no gateway on its PostgreSQL databases"
        );
    }
}

/// Runs a test once per store backend, as `name::sqlite` and `name::postgres`: `name` is an
/// ordinary function taking the [`Db`] (which outlives everything the function creates).
///
/// ```ignore
/// both_backends!(#[tokio::test] async fn survives_a_crash);
/// async fn survives_a_crash(db: Db) { let gw = Gateway::start(&db, dir.path()); … }
/// ```
#[allow(unused_macros)]
macro_rules! both_backends {
    ($(#[$m:meta])* async fn $name:ident) => {
        mod $name {
            use $crate::common::{Backend, Db};
            $(#[$m])*
            async fn sqlite() {
                super::$name(Db::new(Backend::Sqlite)).await
            }
            $(#[$m])*
            async fn postgres() {
                super::$name(Db::new(Backend::Postgres)).await
            }
        }
    };
    ($(#[$m:meta])* fn $name:ident) => {
        mod $name {
            use $crate::common::{Backend, Db};
            $(#[$m])*
            fn sqlite() {
                super::$name(Db::new(Backend::Sqlite))
            }
            $(#[$m])*
            fn postgres() {
                super::$name(Db::new(Backend::Postgres))
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use both_backends;

pub struct Gateway {
    pub dir: PathBuf,
    /// Environment given to the gateway and to its `cli` commands (configuration overrides).
    pub env: Vec<(String, String)>,
    pub child: Option<Child>,
    pub members_url: String,
    pub members_addr: String,
    pub operator_url: String,
}

pub fn write_config(db: &Db, dir: &Path, extra: &str) -> PathBuf {
    let cfg = format!(
        r#"sandbox = true
data_dir = "{data}"
{store}
[listen]
members = "127.0.0.1:0"
operator = "127.0.0.1:0"
[limits]
body_bytes = 4096
[oauth]
signing_key = {{ value = "{SIGNING_KEY}" }}
{extra}
{MEMBERS}
"#,
        data = dir.join("data").display(),
        store = db.store_toml(),
    );
    let path = dir.join("lienthong.toml");
    std::fs::write(&path, cfg).unwrap();
    path
}

impl Gateway {
    /// A fresh gateway in a new directory.
    pub fn start(db: &Db, dir: &Path) -> Gateway {
        Self::start_with(db, dir, "")
    }

    pub fn start_with(db: &Db, dir: &Path, extra: &str) -> Gateway {
        let cfg = write_config(db, dir, extra);
        Self::spawn(dir, &cfg)
    }

    /// Start (or restart) on an existing directory and config.
    pub fn spawn(dir: &Path, cfg: &Path) -> Gateway {
        Self::spawn_env(dir, cfg, Vec::new())
    }

    /// Start in `dir` (working directory, data in `dir/data`) with environment `env`.
    pub fn spawn_env(dir: &Path, cfg: &Path, env: Vec<(String, String)>) -> Gateway {
        let run_file = dir.join("data/run/listeners.json");
        let _ = std::fs::remove_file(&run_file);
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("stdout.log"))
            .unwrap();
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("stderr.log"))
            .unwrap();
        let mut child = Command::new(BIN)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .arg("--config")
            .arg(cfg)
            .arg("serve")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn lienthong");
        let start = Instant::now();
        let listeners: serde_json::Value = loop {
            if let Ok(s) = std::fs::read_to_string(&run_file) {
                if let Ok(v) = serde_json::from_str(&s) {
                    break v;
                }
            }
            let exited = child.try_wait().unwrap();
            if exited.is_some() || start.elapsed() > Duration::from_secs(30) {
                let log = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
                panic!("gateway did not start ({exited:?}); stderr:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let members_url = listeners["members"].as_str().unwrap().to_owned();
        Gateway {
            dir: dir.to_owned(),
            env,
            child: Some(child),
            members_addr: members_url.trim_start_matches("https://").to_owned(),
            members_url,
            operator_url: listeners["operator"].as_str().unwrap().to_owned(),
        }
    }

    pub fn pki(&self) -> PathBuf {
        self.dir.join("data/pki")
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("lienthong.toml")
    }

    /// The store this gateway's configuration names (`store.url`, else the default file).
    pub fn store_url(&self) -> String {
        if let Some((_, url)) = self.env.iter().find(|(k, _)| k == "LIENTHONG_STORE__URL") {
            return url.clone();
        }
        let text = std::fs::read_to_string(self.config()).unwrap();
        let cfg: toml::Value = toml::from_str(&text).unwrap();
        match cfg
            .get("store")
            .and_then(|s| s.get("url"))
            .and_then(|u| u.as_str())
        {
            Some(url) => url.to_owned(),
            None => {
                let data = cfg
                    .get("data_dir")
                    .and_then(|d| d.as_str())
                    .unwrap_or("data");
                format!(
                    "sqlite://{}",
                    self.dir.join(data).join("lienthong.db").display()
                )
            }
        }
    }

    /// Open this gateway's store directly (as another process would).
    pub async fn open_store(&self) -> lienthong::store::Store {
        lienthong::store::Store::open(&self.store_url(), 2)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.store_url()))
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status()
                .unwrap();
            let status = c.wait().unwrap();
            assert!(status.success(), "gateway exited with {status}");
        }
    }

    /// Run a `lienthong` subcommand against this gateway's configuration.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("--config")
            .arg(self.config())
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }

    /// An HTTPS client trusting the dev CA, optionally presenting a member's certificate.
    pub fn client(&self, identity: Option<&str>) -> reqwest::Client {
        self.client_alpn(identity, &[b"h2", b"http/1.1"])
    }

    pub fn client_alpn(&self, identity: Option<&str>, alpn: &[&[u8]]) -> reqwest::Client {
        let cfg = client_config(
            &self.pki(),
            identity.map(|id| self.pki().join("members").join(id)),
            alpn,
        );
        reqwest::Client::builder()
            .tls_backend_preconfigured(cfg)
            .build()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.members_url, path)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A rustls client config trusting `pki/ca.pem`, with the client chain/key at `stem.pem/.key`.
pub fn client_config(pki: &Path, stem: Option<PathBuf>, alpn: &[&[u8]]) -> rustls::ClientConfig {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    lienthong::edge::tls::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(pki.join("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let b = rustls::ClientConfig::builder().with_root_certificates(roots);
    let mut cfg = match stem {
        Some(stem) => {
            let chain: Vec<_> = CertificateDer::pem_file_iter(stem.with_extension("pem"))
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
            let key = PrivateKeyDer::from_pem_file(stem.with_extension("key")).unwrap();
            b.with_client_auth_cert(chain, key).unwrap()
        }
        None => b.with_no_client_auth(),
    };
    cfg.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    cfg
}

/// Open a TLS connection, send raw HTTP/1.1 bytes, return what came back (or the TLS error).
pub async fn raw_exchange(
    addr: &str,
    cfg: rustls::ClientConfig,
    request: &[u8],
) -> Result<String, std::io::Error> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(request).await?;
    tls.flush().await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read until the head and a little body are in, or the peer closes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let n = tokio::time::timeout_at(deadline, tls.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer"))??;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let s = String::from_utf8_lossy(&buf);
        if let Some(i) = s.find("\r\n\r\n") {
            if s[i..].contains('}') {
                break;
            }
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The TLS alert the server sent, if the exchange failed with one.
pub fn alert_of(e: &std::io::Error) -> Option<rustls::AlertDescription> {
    match e.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::AlertReceived(a) => Some(*a),
        _ => None,
    }
}
pub mod dvcqg;
pub mod edoc;
pub mod load;
pub mod onestop;
pub mod paygov;

/// Start `lienthong sim <args…>` on a free loopback port: the child and the URL it printed first.
pub fn spawn_sim(args: &[&str]) -> (Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(BIN)
        .arg("sim")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn lienthong sim {args:?}: {e}"));
    let mut line = String::new();
    let out = child.stdout.take().expect("stdout");
    std::io::BufReader::new(out).read_line(&mut line).unwrap();
    let first: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("simulator's first line {line:?}: {e}"));
    let _ = rustls::crypto::ring::default_provider().install_default();
    (child, first["url"].as_str().unwrap().to_owned())
}
pub mod pg;
pub mod vnpost;
