//! `lienthong serve`: assemble the gateway from a validated configuration and run it until
//! SIGTERM or Ctrl-C.

use crate::audit::{self, Event};
use crate::config::{Config, Secret};
use crate::edge::{
    self, listener::MemberListener, rate_limit::RateLimits, token::TokenIssuer, AppState, Inner,
};
use crate::members::Registry;
use crate::pki::dev;
use crate::store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("dev PKI: {0}")]
    Pki(#[from] dev::DevPkiError),
    #[error("TLS: {0}")]
    Tls(#[from] edge::tls::TlsSetupError),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        addr: String,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Create the sandbox's dev PKI on first start.
/// Create the sandbox's dev PKI on first start; later, issue certificates to members added since.
pub fn ensure_sandbox_pki(c: &Config) -> Result<bool, dev::DevPkiError> {
    if !c.sandbox {
        return Ok(false);
    }
    let spec = dev::DevPkiSpec {
        members: &c.members,
        org: SANDBOX_ORG,
    };
    if c.pki_dir().join("ca.pem").exists() {
        if c.pki_dir().join("intermediate.key").exists() {
            for id in dev::ensure_members(&c.pki_dir(), &spec)? {
                tracing::info!(member = %id, "sandbox: issued a client certificate for a new member");
            }
        }
        return Ok(false);
    }
    dev::init(&c.pki_dir(), &spec, false)?;
    Ok(true)
}

/// Organisation name in the dev PKI's subjects (sandbox members bind to it).
pub const SANDBOX_ORG: &str = "lienthong sandbox";

/// A key from configuration (`key` names the setting), or, when unset, 32 random bytes
/// created once in `data_dir/file`.
fn configured_or_created_key(
    c: &Config,
    src: Option<&crate::config::SecretSource>,
    key: &str,
    file: &str,
) -> Result<Secret, ServeError> {
    if let Some(src) = src {
        return src
            .resolve()
            .map_err(|e| ServeError::Other(format!("{key}: {e}")));
    }
    let path = c.data_dir.join(file);
    if let Ok(bytes) = std::fs::read(&path) {
        if bytes.len() >= 32 {
            return Ok(Secret::new(bytes));
        }
    }
    let mut key = vec![0u8; 32];
    openssl::rand::rand_bytes(&mut key).map_err(|e| ServeError::Other(e.to_string()))?;
    write_private(&path, &key)
        .map_err(|e| ServeError::Other(format!("{}: {e}", path.display())))?;
    Ok(Secret::new(key))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

async fn bind(addr: &str, what: &'static str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_owned(),
            what,
            source,
        })
}

fn abs(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned())
}

/// The working calendar of `[calendar]`, with its year files.
fn working_calendar(config: &Config) -> Result<crate::calendar::Calendar, ServeError> {
    let settings = crate::calendar::Settings::from_config(&config.calendar).map_err(|errs| {
        let list: Vec<String> = errs
            .iter()
            .map(|e| format!("calendar.{}: {}", e.key, e.reason))
            .collect();
        ServeError::Other(list.join("; "))
    })?;
    let calendar = crate::calendar::Calendar::load(settings)
        .map_err(|e| ServeError::Other(format!("calendar.dir: {e}")))?;
    let years: Vec<i32> = calendar.file_years().collect();
    let dir = calendar.settings().dir.display().to_string();
    if years.is_empty() {
        tracing::warn!(dir = %dir, "calendar: no year files; every year's days come from the rules (due times provisional)");
    } else {
        tracing::info!(dir = %dir, years = ?years, "calendar: approved year files");
    }
    Ok(calendar)
}

/// Simulators started inside this gateway (sandbox), by system name → URL: written to
/// `data/run/listeners.json` and printed in the banner, so scripts and tests can drive them.
static SIMULATORS: std::sync::Mutex<std::collections::BTreeMap<&'static str, String>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Record an in-process simulator's URL (see [`SIMULATORS`]).
pub fn simulator_started(system: &'static str, url: &str) {
    SIMULATORS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(system, url.to_owned());
}

/// Start simulator `system` on a loopback port with `serve` (given the listener), record its URL
/// (see [`SIMULATORS`]) and answer it.
pub async fn start_simulator<F, Fut>(system: &'static str, serve: F) -> Result<String, String>
where
    F: FnOnce(TcpListener) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("{system} simulator: {e}"))?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let fut = serve(listener);
    tokio::spawn(async move {
        if let Err(e) = fut.await {
            tracing::warn!(error = %e, system, "simulator stopped");
        }
    });
    tracing::info!(%url, system, "sandbox: simulator started (controls under /_sim/)");
    simulator_started(system, &url);
    Ok(url)
}

fn simulators() -> serde_json::Value {
    serde_json::json!(*SIMULATORS.lock().unwrap_or_else(|p| p.into_inner()))
}

/// Run the gateway. Returns when a shutdown signal has been handled.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    edge::tls::install_crypto_provider();
    let created = ensure_sandbox_pki(&config)?;
    if created {
        tracing::info!(dir = %config.pki_dir().display(), "sandbox: created the dev PKI");
    }
    let tls = edge::tls::server_config(&config)?;
    let store = Store::open(&config.store_url(), config.store.max_connections).await?;
    let registry = Arc::new(Registry::from_config(&config).map_err(ServeError::Other)?);
    let key = configured_or_created_key(
        &config,
        config.oauth.signing_key.as_ref(),
        "oauth.signing_key",
        "oauth-signing.key",
    )?;
    let tokens = TokenIssuer::new(
        key.expose(),
        &config.oauth.issuer,
        config.oauth.token_ttl_secs,
    )
    .map_err(|e| ServeError::Other(e.to_string()))?;
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| ServeError::Other(format!("metrics: {e}")))?;

    let exchange = Arc::new(
        crate::edocs::Exchange::new(&config, store.clone(), registry.clone())
            .map_err(|e| ServeError::Other(format!("document exchange: {e}")))?,
    );
    let push_tls = edge::tls::push_client_config(&config)?;
    let deliverer = Arc::new(
        crate::delivery::Deliverer::new(exchange.clone(), push_tls).map_err(ServeError::Other)?,
    );

    let calendar = Arc::new(working_calendar(&config)?);
    let mut dossiers = crate::dossiers::Dossiers::new(&config, store.clone(), calendar.clone())
        .map_err(|e| ServeError::Other(format!("dossiers: {e}")))?;
    let portal = if config.adapters.dvcqg.enabled {
        let wake = Arc::new(tokio::sync::Notify::new());
        dossiers = dossiers.with_portal(wake.clone());
        let names = dossiers.procedure_names();
        Some(
            crate::portal::connect(&config.adapters.dvcqg, store.clone(), names, wake)
                .await
                .map_err(|e| ServeError::Other(format!("adapters.dvcqg: {e}")))?,
        )
    } else {
        None
    };
    let dossiers = Arc::new(dossiers);

    let audit_key = configured_or_created_key(
        &config,
        config.citizens.audit_key.as_ref(),
        "citizens.audit_key",
        "citizens-audit.key",
    )?;
    let citizens = Arc::new(
        crate::citizens::Citizens::start(&config, store.clone(), audit_key)
            .await
            .map_err(|e| ServeError::Other(format!("citizen lookup: {e}")))?,
    );

    let member_l = bind(&config.listen.members, "listen.members").await?;
    let operator_l = bind(&config.listen.operator, "listen.operator").await?;
    let member_addr = member_l
        .local_addr()
        .map_err(|e| ServeError::Other(e.to_string()))?;
    let operator_addr = operator_l
        .local_addr()
        .map_err(|e| ServeError::Other(e.to_string()))?;
    let payments = if config.adapters.paygov.enabled {
        let callback_url = format!("https://{member_addr}/callbacks/paygov");
        Some(
            crate::payments::Payments::connect(
                &config.adapters.paygov,
                store.clone(),
                dossiers.clone(),
                &callback_url,
                &config.pki_dir().join("ca.pem"),
            )
            .await
            .map_err(|e| ServeError::Other(format!("adapters.paygov: {e}")))?,
        )
    } else {
        None
    };

    let postal = if config.adapters.vnpost.enabled {
        Some(
            crate::postal::Postal::connect(&config.adapters.vnpost, store.clone(), dossiers.clone())
                .await
                .map_err(|e| ServeError::Other(format!("adapters.vnpost: {e}")))?,
        )
    } else {
        None
    };

    let config = Arc::new(config);
    let state = AppState {
        inner: Arc::new(Inner {
            config: config.clone(),
            limits: RateLimits::new(&registry),
            registry: registry.clone(),
            store: store.clone(),
            tokens,
            exchange,
            calendar,
            dossiers: dossiers.clone(),
            citizens,
            payments: payments.clone(),
            postal: postal.clone(),
        }),
    };


    let (tx, rx) = tokio::sync::watch::channel(false);
    let members = MemberListener {
        listener: member_l,
        tls,
        router: crate::http::member_router(state.clone()),
        store: store.clone(),
        handshake_timeout: Duration::from_secs(config.tls.handshake_timeout_secs),
        max_connections: config.limits.max_connections,
    };
    let m_task = tokio::spawn(members.run(rx.clone()));
    let o_task = tokio::spawn(edge::listener::run_plain(
        operator_l,
        crate::http::operator_router(state.clone(), recorder),
        rx.clone(),
    ));
    let p_tasks = portal
        .map(|p| crate::portal::spawn(p, dossiers, registry.clone(), rx.clone()))
        .unwrap_or_default();
    let s_tasks = postal
        .map(|p| p.spawn(rx.clone()))
        .unwrap_or_default();
    let r_task = payments.map(|p| tokio::spawn(p.run_reconciler(rx.clone())));
    let d_task = tokio::spawn(deliverer.run(rx));

    audit::append(
        &store,
        &Event {
            kind: "system",
            actor: "-".into(),
            action: "start".into(),
            outcome: "ok".into(),
            request_id: "-".into(),
            detail: serde_json::json!({ "version": env!("CARGO_PKG_VERSION"), "members": registry.all().len() }),
        },
    )
    .await?;

    // Where the listeners really are (useful with port 0), for scripts and tests.
    let run_file = config.data_dir.join("run").join("listeners.json");
    let listeners = serde_json::json!({
        "members": format!("https://{member_addr}"),
        "operator": format!("http://{operator_addr}"),
        "pid": std::process::id(),
        "simulators": simulators(),
    });
    if let Err(e) = write_private(&run_file, listeners.to_string().as_bytes()) {
        tracing::warn!(error = %e, "cannot write {}", run_file.display());
    }
    tracing::info!(members = %member_addr, operator = %operator_addr, "lienthong is listening");
    print_banner(&config, &registry, member_addr, operator_addr);

    wait_for_signal().await;
    tracing::info!("shutting down");
    let _ = tx.send(true);
    let _ = m_task.await;
    let _ = o_task.await;
    let _ = d_task.await;
    if let Some(t) = r_task {
        let _ = t.await;
    }
    for t in p_tasks.into_iter().chain(s_tasks) {
        let _ = t.await;
    }
    let _ = audit::append(
        &store,
        &Event {
            kind: "system",
            actor: "-".into(),
            action: "stop".into(),
            outcome: "ok".into(),
            request_id: "-".into(),
            detail: serde_json::json!({}),
        },
    )
    .await;
    store.close().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn print_banner(
    c: &Config,
    reg: &Registry,
    members: std::net::SocketAddr,
    operator: std::net::SocketAddr,
) {
    let host = if members.ip().is_unspecified() {
        format!("127.0.0.1:{}", members.port())
    } else {
        members.to_string()
    };
    println!(
        "lienthong {} is running{}",
        env!("CARGO_PKG_VERSION"),
        if c.sandbox { " (sandbox)" } else { "" }
    );
    println!("  member API : https://{host}   (mTLS or OAuth2 bearer tokens)");
    println!("  operator   : http://{operator}/metrics  /healthz  /readyz");
    println!("  store      : {}", crate::store::redact_url(&c.store_url()));
    for (system, url) in SIMULATORS.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        println!("  simulator  : {system:<10} {url}/_sim/   (sandbox)");
    }
    if c.sandbox {
        println!("  dev PKI    : {}", abs(&c.pki_dir()).display());
        let demo = reg.all().iter().find(|m| {
            m.may_use(lienthong_contract::Service::Directory) && c.member_cert_path(&m.id).exists()
        });
        if let Some(m) = demo {
            println!();
            println!("Try it (as demo member \"{}\"):", m.id);
            println!(
                "  curl --cacert {} --cert {} --key {} https://{host}/v1/organs",
                abs(&c.client_ca()).display(),
                abs(&c.member_cert_path(&m.id)).display(),
                abs(&c.member_key_path(&m.id)).display(),
            );
        }
    }
    println!();
    use std::io::Write;
    let _ = std::io::stdout().flush();
}
