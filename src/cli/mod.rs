//! The `lienthong` command.

mod calendar;

use crate::audit;
use crate::config::{self, Config, Sources};
use crate::members::Registry;
use crate::pki::dev;
use crate::store::Store;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

const ABOUT: &str =
    "lienthong: the province's secure integration gateway (LGSP) for document exchange \
(edXML, QCVN 102), dossier sync with the national public service portal, fee payment, postal \
result delivery and citizen lookup.";

const AFTER_HELP: &str = "With no command, `lienthong` runs `serve`: in the sandbox (the default \
config/lienthong.toml) it creates a dev PKI under ./data/pki on first start and prints a curl \
command to try.\n\nConfiguration: the TOML file, then LIENTHONG_* environment variables (`__` between \
levels: LIENTHONG_LISTEN__MEMBERS=0.0.0.0:8443), then --set KEY=VALUE, each overriding the one before.";

#[derive(Parser, Debug)]
#[command(name = "lienthong", version, about = ABOUT, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Configuration file [default: config/lienthong.toml; built-in sandbox defaults if it is absent]
    #[arg(
        short,
        long,
        global = true,
        env = "LIENTHONG_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Override one setting, e.g. --set listen.members=0.0.0.0:8443 (repeatable; beats file and environment)
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gateway: the member listener (HTTPS, mTLS/OAuth2) and the operator listener (metrics, health)
    Serve,
    /// Validate the configuration and print every error with its file, key and reason
    CheckConfig,
    /// Certificates for development and tests
    #[command(subcommand)]
    Pki(PkiCommand),
    /// The hash-chained audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The configured members
    #[command(subcommand)]
    Members(MembersCommand),
    /// Document deliveries: list them, re-queue dead letters
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Verify a signed XML document (edXML package): signature, signer chain, revocation, organ binding.
    /// Prints one JSON object; exits 0 when valid, 1 when invalid, 2 on usage or I/O error
    Verify(VerifyArgs),
    /// The working calendar: due times (`calendar due`), a year's days off and extra working
    /// days (`calendar year`)
    #[command(subcommand)]
    Calendar(calendar::CalendarCommand),
    /// Simulators of the national systems, each speaking its system's wire protocol (for
    /// tests and demonstrations; the sandbox starts them itself)
    #[command(subcommand)]
    Sim(SimCommand),
    /// Jobs for the national public service portal (DVCQG): list them, re-queue dead ones
    #[command(subcommand)]
    Portal(PortalCommand),
    /// Postal orders (VNPost): list them, send failed ones again
    #[command(subcommand)]
    Postal(PostalCommand),
}

#[derive(Subcommand, Debug)]
pub enum PostalCommand {
    /// Postal orders, newest first (one JSON object per line)
    Orders {
        /// Only this state: queued, sent, cancelling, cancelled, delivered, failed
        #[arg(long)]
        state: Option<String>,
        #[arg(short = 'n', long, default_value_t = 50)]
        count: i64,
    },
    /// Send failed orders again: the given order numbers, or with --failed every failed order
    Retry {
        numbers: Vec<String>,
        #[arg(long, conflicts_with = "numbers")]
        failed: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum PortalCommand {
    /// Portal jobs, newest first (one JSON object per line)
    Jobs {
        /// Only this stage: sync, progress, done, dead
        #[arg(long)]
        stage: Option<String>,
        #[arg(short = 'n', long, default_value_t = 50)]
        count: i64,
    },
    /// Re-queue dead jobs: the given job ids, or with --dead every dead job (optionally only
    /// those of --dossier); each starts again from its sync
    Retry {
        ids: Vec<i64>,
        #[arg(long, conflicts_with = "ids")]
        dead: bool,
        #[arg(long, requires = "dead")]
        dossier: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum SimCommand {
    /// The national public service portal (DVCQG) session adapter. Prints
    /// `{"url": "http://…"}` on the first line of stdout once it listens; runs until killed
    Dvcqg {
        /// Address to listen on (port 0: any free port)
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        #[arg(long, default_value = "lienthong")]
        username: String,
        #[arg(long, default_value = "sandbox-password")]
        password: String,
        /// Seconds a session lives
        #[arg(long, default_value_t = 1800)]
        session_ttl_secs: u64,
        /// `error_code` of an expired or unknown session
        #[arg(long, default_value_t = 401)]
        session_error_code: i64,
    },
    /// The national population database's citizen lookup (037): prints its URL, runs until
    /// Ctrl-C. Faults on demand: POST /_sim/faults (see adapters/population)
    Population(lienthong_population::SimArgs),
    /// The PayGov payment platform: init, status checks, receipts, payments on demand with
    /// their callbacks (POST /_sim/pay; callbacks go where POST /_sim/target says, over TLS
    /// trusting the CA given there). Prints `{"url": "http://…"}` first; runs until killed
    Paygov {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// `MaDoiTac` it expects
        #[arg(long, default_value = "VIDU01")]
        partner: String,
        /// Shared secret (`MaBiMat`)
        #[arg(long, env = "PAYGOV_SIM_SECRET", default_value = "sandbox-secret")]
        secret: String,
        /// `LoaiBanTin` of its callbacks (the real value is unknown)
        #[arg(long, default_value = "CONFIRM")]
        callback_kind: String,
    },
    /// VNPost's public-utility post (NGSP): token, orders, cancel, the paged tracking list;
    /// carrier events on demand (POST /_sim/advance) or over time (--step-ms), token expiry
    /// (POST /_sim/expire_tokens), faults (POST /_sim/faults). Prints `{"url": "http://…"}`
    /// first; runs until killed
    Vnpost {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// `customerCode` orders must carry
        #[arg(long, default_value = "VIDU_SNV")]
        customer_code: String,
        /// `customerKey` of the token call
        #[arg(long, env = "VNPOST_SIM_KEY", default_value = "sandbox-key")]
        customer_key: String,
        /// `secretKey` of the token call
        #[arg(long, env = "VNPOST_SIM_SECRET", default_value = "sandbox-secret")]
        secret_key: String,
        /// `expires_in` of its tokens
        #[arg(long, default_value_t = 3600)]
        token_ttl_secs: u64,
        /// Milliseconds between an order's carrier events (0: only on demand)
        #[arg(long, default_value_t = 0)]
        step_ms: u64,
    },
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The signed document
    pub file: PathBuf,
    /// Directory whose PEM/DER certificates are trust anchors and whose CRLs are revocation lists
    /// (replaces the anchors of --config)
    #[arg(long, value_name = "DIR", required_unless_present = "config")]
    pub trust: Option<PathBuf>,
    /// Gateway configuration whose [trust] section gives anchors, intermediates, CRLs,
    /// revocation method, SHA-1 policy and signer ↔ organ bindings
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of intermediate CA certificates to build chains with
    #[arg(long, value_name = "DIR")]
    pub intermediates: Option<PathBuf>,
    /// Verification time (RFC 3339), e.g. 2009-01-01T10:00:00Z [default: now]
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// `require` (default: CRL status needed for every certificate, fail closed) or `off`
    /// (archived documents whose CA no longer publishes status; reported in the output)
    /// [default: require, or trust.revocation of --config]
    #[arg(long, value_parser = ["require", "off"])]
    pub revocation: Option<String>,
    /// OCSP responder (http://host:port/path) for the signer's certificate; the CA certificates
    /// above it are still checked against CRLs from --trust. Status is as of now, whatever --at says
    #[arg(long, value_name = "URL")]
    pub ocsp: Option<String>,
    /// How long past its nextUpdate a CRL (or an OCSP answer cached in this run) may still be
    /// used, with a warning; 0 = strictly fail closed [default: 3600, or trust.grace_secs of
    /// --config]
    #[arg(long, value_name = "SECS")]
    pub grace: Option<u64>,
    /// Refuse legacy RSA-SHA1 / SHA-1 (allowed with a warning by default)
    #[arg(long)]
    pub no_sha1: bool,
}

#[derive(Subcommand, Debug)]
pub enum PkiCommand {
    /// Create a dev/test PKI in DIR: root CA, intermediate, gateway server certificate, a client
    /// certificate per member, a document-signing certificate per agency (organ id in the subject OU),
    /// a CRL, and revoked/expired/foreign certificates for negative tests
    DevInit {
        /// Target directory (the sandbox uses data/pki)
        dir: PathBuf,
        /// Replace an existing PKI in DIR
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk the whole chain, recompute every hash, and name the first broken record (exit 1 if any)
    Verify {
        /// Print the verdict as JSON
        #[arg(long)]
        json: bool,
    },
    /// Print the last records of the chain
    Tail {
        /// How many records
        #[arg(short = 'n', long, default_value_t = 20)]
        count: i64,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum DeliveriesCommand {
    /// Deliveries, newest first (one JSON object per line)
    List {
        /// Only this state: queued, delivered, acked, failed, dead, unroutable
        #[arg(long)]
        state: Option<String>,
        #[arg(short = 'n', long, default_value_t = 50)]
        count: i64,
    },
    /// Re-queue dead letters: the given delivery ids, or with --dead every dead delivery
    /// (optionally only those to --member)
    Retry {
        /// Delivery ids (from `deliveries list --state dead`)
        ids: Vec<i64>,
        /// Every dead delivery
        #[arg(long, conflicts_with = "ids")]
        dead: bool,
        #[arg(long, requires = "dead")]
        member: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum MembersCommand {
    /// Every member with its organ identifiers, services, certificate binding and (sandbox) cert/key paths
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

fn sources(g: &Global) -> Sources {
    match &g.config {
        Some(p) => Sources {
            file: Some(p.clone()),
            file_explicit: true,
            sets: g.sets.clone(),
        },
        None => Sources {
            file: Some(config::default_path()),
            file_explicit: false,
            sets: g.sets.clone(),
        },
    }
}

fn load(g: &Global) -> Result<Config, ExitCode> {
    match config::load(&sources(g)) {
        Ok(l) => Ok(l.config),
        Err(errs) => {
            eprint!("{errs}");
            Err(ExitCode::from(2))
        }
    }
}

fn init_logging(c: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&c.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if c.log.format == "text" {
        let _ = b.try_init();
    } else {
        let _ = b
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::exit(1)
        }
    }
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let c = match load(&cli.global) {
                Ok(c) => c,
                Err(code) => return code,
            };
            init_logging(&c);
            match runtime().block_on(crate::server::serve(c)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "lienthong stopped");
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::CheckConfig => match config::load(&sources(&cli.global)) {
            Ok(l) => {
                println!(
                    "configuration OK: {} member(s), member listener {}, operator listener {}, store {}",
                    l.config.members.len(),
                    l.config.listen.members,
                    l.config.listen.operator,
                    crate::store::redact_url(&l.config.store_url())
                );
                ExitCode::SUCCESS
            }
            Err(errs) => {
                eprint!("{errs}");
                ExitCode::from(2)
            }
        },
        Command::Pki(PkiCommand::DevInit { dir, force }) => {
            // Members come from the configuration when it loads; a broken config is reported.
            let c = match load(&cli.global) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match dev::init(
                &dir,
                &dev::DevPkiSpec {
                    members: &c.members,
                    org: crate::server::SANDBOX_ORG,
                },
                force,
            ) {
                Ok(p) => {
                    println!("dev PKI created in {}", p.dir.display());
                    println!("  trust anchor : {}", p.dir.join("ca.pem").display());
                    println!("  server       : {}", p.dir.join("server.pem").display());
                    for m in &p.members {
                        println!(
                            "  member       : {}",
                            p.dir.join("members").join(format!("{m}.pem")).display()
                        );
                    }
                    for (m, organ) in &p.signers {
                        println!(
                            "  signer       : {} (OU={organ})",
                            p.dir.join("signing").join(format!("{m}.pem")).display()
                        );
                    }
                    println!("  CRL          : {}", p.dir.join("crl.pem").display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Audit(cmd) => {
            let c = match load(&cli.global) {
                Ok(c) => c,
                Err(code) => return code,
            };
            runtime().block_on(audit_cmd(&c, cmd))
        }
        Command::Verify(args) => crate::verify_cmd::run(&args),
        Command::Calendar(cmd) => calendar::run(&cli.global, cmd),
        Command::Sim(cmd) => runtime().block_on(sim_cmd(cmd)),
        Command::Portal(cmd) => {
            let c = match load(&cli.global) {
                Ok(c) => c,
                Err(code) => return code,
            };
            runtime().block_on(portal_cmd(&c, cmd))
        }
        Command::Postal(cmd) => {
            let c = match load(&cli.global) {
                Ok(c) => c,
                Err(code) => return code,
            };
            runtime().block_on(postal_cmd(&c, cmd))
        }
        Command::Deliveries(cmd) => {
            let c = match load(&cli.global) {
                Ok(c) => c,
                Err(code) => return code,
            };
            runtime().block_on(deliveries_cmd(&c, cmd))
        }
        Command::Members(MembersCommand::List { json }) => {
            let c = match load(&cli.global) {
                Ok(c) => c,
                Err(code) => return code,
            };
            members_list(&c, json)
        }
    }
}

async fn sim_cmd(cmd: SimCommand) -> ExitCode {
    use std::io::Write;
    let (listen, username, password, session_ttl_secs, session_error_code) = match cmd {
        SimCommand::Dvcqg {
            listen,
            username,
            password,
            session_ttl_secs,
            session_error_code,
        } => (listen, username, password, session_ttl_secs, session_error_code),
        SimCommand::Paygov {
            listen,
            partner,
            secret,
            callback_kind,
        } => return paygov_sim(listen, partner, secret, callback_kind).await,
        SimCommand::Vnpost {
            listen,
            customer_code,
            customer_key,
            secret_key,
            token_ttl_secs,
            step_ms,
        } => {
            let sim = lienthong_vnpost::sim::Sim::new(lienthong_vnpost::sim::SimConfig {
                customer_key,
                secret_key,
                customer_code,
                token_ttl_secs,
                step_interval_ms: step_ms,
                ..lienthong_vnpost::sim::SimConfig::default()
            });
            let listener = match bind_and_announce(&listen).await {
                Ok(l) => l,
                Err(code) => return code,
            };
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            return match lienthong_vnpost::sim::serve(sim, listener, stop).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        SimCommand::Population(args) => {
            return match args.run().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: population simulator: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    };
    let sim = lienthong_dvcqg::Sim::new(lienthong_dvcqg::SimConfig {
        username,
        password,
        session_ttl: std::time::Duration::from_secs(session_ttl_secs),
        session_error_code,
        ..Default::default()
    });
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let url = match listener.local_addr() {
        Ok(a) => format!("http://{a}"),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", serde_json::json!({ "url": url }));
    let _ = std::io::stdout().flush();
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match sim.serve(listener, stop).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn paygov_sim(listen: String, partner: String, secret: String, kind: String) -> ExitCode {
    crate::edge::tls::install_crypto_provider();
    let client_for_ca: lienthong_paygov::sim::ClientForCa = std::sync::Arc::new(|pem: &str| {
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pki_certs(pem.as_bytes())? {
            roots.add(c).map_err(|e| e.to_string())?;
        }
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .build()
            .map_err(|e| e.to_string())
    });
    let sim = lienthong_paygov::sim::Sim::with_client_for_ca(
        lienthong_paygov::sim::SimConfig {
            partner,
            secret: secret.into_bytes(),
            callback_url: None,
            callback_kind: kind,
        },
        reqwest::Client::new(),
        client_for_ca,
    );
    let listener = match bind_and_announce(&listen).await {
        Ok(l) => l,
        Err(code) => return code,
    };
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match lienthong_paygov::sim::serve(sim, listener, stop).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Listen on `listen` and print `{"url": "http://…"}` (a simulator's first line).
async fn bind_and_announce(listen: &str) -> Result<tokio::net::TcpListener, ExitCode> {
    use std::io::Write;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        eprintln!("error: cannot listen on {listen}: {e}");
        ExitCode::FAILURE
    })?;
    let a = listener.local_addr().map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })?;
    println!("{}", serde_json::json!({ "url": format!("http://{a}") }));
    let _ = std::io::stdout().flush();
    Ok(listener)
}

/// Certificates in a PEM bundle.
fn rustls_pki_certs(pem: &[u8]) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("CA PEM: {e}"))
}

/// The configured store, for an operator command (a small pool: one command, one connection).
async fn open_store(c: &Config) -> Result<Store, ExitCode> {
    Store::open(&c.store_url(), 2).await.map_err(|e| {
        eprintln!(
            "error: cannot open the store {}: {e}",
            crate::store::redact_url(&c.store_url())
        );
        ExitCode::FAILURE
    })
}

/// Print list rows (one JSON object per line), or the error.
fn print_rows(rows: Result<Vec<serde_json::Value>, sqlx::Error>) -> ExitCode {
    match rows {
        Ok(rows) => {
            for r in rows {
                println!("{r}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Print how many dead items were re-queued, or the error.
fn print_requeued(n: Result<u64, sqlx::Error>, what: (&str, &str)) -> ExitCode {
    match n {
        Ok(n) => {
            println!("re-queued {n} dead {}", if n == 1 { what.0 } else { what.1 });
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn deliveries_cmd(c: &Config, cmd: DeliveriesCommand) -> ExitCode {
    use crate::delivery::admin;
    let store = match open_store(c).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match cmd {
        DeliveriesCommand::List { state, count } => {
            print_rows(admin::list(&store, state.as_deref(), count).await)
        }
        DeliveriesCommand::Retry { ids, dead, member } => {
            if ids.is_empty() && !dead {
                eprintln!("error: give delivery ids, or --dead to re-queue every dead letter");
                return ExitCode::from(2);
            }
            let n = admin::retry(&store, &ids, member.as_deref()).await;
            print_requeued(n, ("delivery", "deliveries"))
        }
    }
}

async fn portal_cmd(c: &Config, cmd: PortalCommand) -> ExitCode {
    use crate::portal::admin;
    let store = match open_store(c).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match cmd {
        PortalCommand::Jobs { stage, count } => {
            print_rows(admin::list(&store, stage.as_deref(), count).await)
        }
        PortalCommand::Retry { ids, dead, dossier } => {
            if ids.is_empty() && !dead {
                eprintln!("error: give job ids, or --dead to re-queue every dead job");
                return ExitCode::from(2);
            }
            let n = admin::retry(&store, &ids, dossier.as_deref()).await;
            print_requeued(n, ("job", "jobs"))
        }
    }
}

async fn postal_cmd(c: &Config, cmd: PostalCommand) -> ExitCode {
    use crate::postal::admin;
    let store = match open_store(c).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match cmd {
        PostalCommand::Orders { state, count } => {
            print_rows(admin::list(&store, state.as_deref(), count).await)
        }
        PostalCommand::Retry { numbers, failed } => {
            if numbers.is_empty() && !failed {
                eprintln!("error: give order numbers, or --failed to send every failed order again");
                return ExitCode::from(2);
            }
            match admin::retry(&store, &numbers).await {
                Ok(n) => {
                    println!("re-queued {n} failed order{}", if n == 1 { "" } else { "s" });
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn audit_cmd(c: &Config, cmd: AuditCommand) -> ExitCode {
    let store = match open_store(c).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match cmd {
        AuditCommand::Verify { json } => match audit::verify(&store).await {
            Ok(v) => {
                if json {
                    println!("{}", serde_json::to_string(&v).unwrap_or_default());
                } else if let Some(b) = &v.first_broken {
                    println!(
                        "audit chain BROKEN at record {}: {} ({} record(s) before it verify)",
                        b.seq, b.reason, v.records
                    );
                } else {
                    println!("audit chain OK: {} record(s), head {}", v.records, v.head);
                }
                if v.valid {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        AuditCommand::Tail { count, json } => match audit::tail(&store, count).await {
            Ok(recs) => {
                for r in recs {
                    if json {
                        println!("{}", serde_json::to_string(&r).unwrap_or_default());
                    } else {
                        println!(
                            "{:>8} {} {:<7} {:<12} {:<28} {:<32} {}",
                            r.seq, r.at, r.kind, r.actor, r.action, r.outcome, r.request_id
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn members_list(c: &Config, json: bool) -> ExitCode {
    let reg = match Registry::from_config(c) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rows: Vec<serde_json::Value> = reg
        .all()
        .iter()
        .map(|m| {
            let cert = c.member_cert_path(&m.id);
            let key = c.member_key_path(&m.id);
            let sandbox_files = c.sandbox && cert.exists();
            serde_json::json!({
                "id": m.id,
                "name": m.name,
                "kind": m.kind,
                "organs": m.organs,
                "services": m.services,
                "certificate_binding": m.binding.as_ref().map(|b| b.describe()),
                "oauth_client_id": m.client_id,
                "rate_limit": { "per_minute": m.rate_limit.per_minute, "burst": m.rate_limit.burst },
                "cert_path": sandbox_files.then(|| cert.display().to_string()),
                "key_path": sandbox_files.then(|| key.display().to_string()),
            })
        })
        .collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    for r in &rows {
        println!(
            "{} ({}) — {}",
            r["id"].as_str().unwrap_or_default(),
            r["kind"].as_str().unwrap_or_default(),
            r["name"].as_str().unwrap_or_default()
        );
        let list = |v: &serde_json::Value| {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        println!("    organs   : {}", list(&r["organs"]));
        println!("    services : {}", list(&r["services"]));
        println!(
            "    binding  : {}",
            r["certificate_binding"]
                .as_str()
                .unwrap_or("none (OAuth2 only)")
        );
        if let Some(id) = r["oauth_client_id"].as_str() {
            println!("    oauth2   : client_id {id}");
        }
        if let (Some(cert), Some(key)) = (r["cert_path"].as_str(), r["key_path"].as_str()) {
            println!("    cert     : {cert}");
            println!("    key      : {key}");
        }
    }
    ExitCode::SUCCESS
}
