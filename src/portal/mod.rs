//! The national public service portal (DVCQG), gateway side: every dossier status step becomes
//! a job, queued in the same transaction as the step; workers do each dossier's jobs in order:
//! `TraCuuHoSo` (new or update?) → `DongBoHoSoMC` (the dossier as of that step) → only after a
//! successful sync, `CapNhatTienDoHoSoMC` (the step). A job remembers that its sync succeeded
//! (`stage` `sync` → `progress` → `done`), is retried with backoff and jitter, and goes `dead`
//! when its budget is spent; a dead job holds back its dossier's later jobs until an operator
//! re-queues it, so the portal never sees a step before the steps and sync that precede it.
//!
//! [`online`]: the portal's online dossiers, polled and handed to the installation of the
//! receiving organ.

pub mod admin;
pub mod online;

use crate::audit::{self, Event};
use crate::config::DvcqgCfg;
use crate::delivery::backoff_ms;
use crate::dossiers::canonical;
use crate::edocs::now_ms;
use crate::store::{Store, Tx};
use lienthong_contract::dossier::{Dossier, DossierStatus, StatusChange};
use lienthong_dvcqg::wire::{KindCodes, SyncFacts, WireDossier, WireProgress};
use lienthong_dvcqg::{Client, Error};
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify};

/// Queue the portal job for step `seq` of dossier `code`, inside the step's transaction.
pub async fn enqueue_in(tx: &mut Tx, code: &str, seq: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO portal_jobs (dossier_code, seq, stage, attempts, next_attempt_at, created_at) VALUES ($1, $2, 'sync', 0, $3, $3) ON CONFLICT (dossier_code, seq) DO NOTHING",
    )
    .bind(code.to_owned())
    .bind(seq)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A claimed job.
#[derive(Debug)]
pub struct Job {
    id: i64,
    code: String,
    seq: i64,
    stage: String,
    attempts: i64,
    created_at: i64,
}

/// Procedure details from `LayThuTuc`, cached per code.
#[derive(Clone, Default)]
struct ProcedureFacts {
    name: String,
    field_code: String,
    field_name: String,
}

/// A dossier as of one step: the canonical dossier, what the sync adds, the step.
struct AsOf {
    dossier: Dossier,
    organ: String,
    /// First status that ended processing, and status 10, up to this step.
    ended_at: Option<lienthong_contract::dossier::Instant>,
    returned_at: Option<lienthong_contract::dossier::Instant>,
    step: StatusChange,
}

pub struct Portal {
    store: Store,
    client: Arc<Client>,
    cfg: DvcqgCfg,
    kinds: KindCodes,
    /// Names from the gateway's procedure table (`[[dossiers.procedures]]`).
    names: HashMap<String, String>,
    procedures: Mutex<HashMap<String, ProcedureFacts>>,
    pub wake: Arc<Notify>,
    node: String,
}

impl Portal {
    pub fn new(
        store: Store,
        client: Arc<Client>,
        cfg: DvcqgCfg,
        names: HashMap<String, String>,
        wake: Arc<Notify>,
    ) -> Portal {
        let [individual, business, household_business] = cfg.applicant_kind_codes.clone();
        Portal {
            store,
            client,
            kinds: KindCodes {
                individual,
                business,
                household_business,
            },
            cfg,
            names,
            procedures: Mutex::new(HashMap::new()),
            wake,
            node: format!(
                "{}-{}",
                std::process::id(),
                crate::edge::request_id::generate()
            ),
        }
    }

    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    pub fn kinds(&self) -> &KindCodes {
        &self.kinds
    }

    /// Run until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, shutdown: tokio::sync::watch::Receiver<bool>) {
        let workers = self.cfg.workers;
        crate::queue::run(self, workers, shutdown).await
    }

    /// Claim up to `n` due jobs, each the first unfinished job of its dossier.
    async fn claim_due(&self, n: i64) -> Result<Vec<Job>, sqlx::Error> {
        let now = now_ms();
        let lease_until = now + self.cfg.lease_secs as i64 * 1000;
        // Only a backend-chosen constant is spliced in; values are bound.
        let sql = format!(
            "UPDATE portal_jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 WHERE id IN (SELECT j.id FROM portal_jobs j WHERE j.stage IN ('sync', 'progress') AND j.next_attempt_at <= $3 AND (j.lease_until IS NULL OR j.lease_until < $3) AND NOT EXISTS (SELECT 1 FROM portal_jobs p WHERE p.dossier_code = j.dossier_code AND p.seq < j.seq AND p.stage <> 'done') ORDER BY j.id LIMIT $4{}) RETURNING id, dossier_code, seq, stage, attempts, created_at",
            self.store.backend().skip_locked()
        );
        let _w = self.store.writer().await;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.node)
            .bind(lease_until)
            .bind(now)
            .bind(n)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Job {
                    id: r.try_get("id")?,
                    code: r.try_get("dossier_code")?,
                    seq: r.try_get("seq")?,
                    stage: r.try_get("stage")?,
                    attempts: r.try_get("attempts")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// The dossier as it stood at step `seq`, read from the store.
    async fn as_of(&self, code: &str, seq: i64) -> Result<AsOf, String> {
        let pool = self.store.pool();
        let row = sqlx::query("SELECT body, receiving_organ FROM dossiers WHERE code = $1")
            .bind(code.to_owned())
            .fetch_one(pool)
            .await
            .map_err(|e| format!("store: {e}"))?;
        let body: String = row.try_get("body").map_err(|e| e.to_string())?;
        let organ: String = row.try_get("receiving_organ").map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let dossier = canonical::dossier(&v, None, &|_, _, given| {
            given.ok_or_else(|| canonical_missing_due())
        })
        .map_err(|r| format!("stored dossier {code}: {}", r.field))?;
        let rows = sqlx::query(
            "SELECT seq, status, at, detail FROM dossier_events WHERE dossier_code = $1 AND seq <= $2 ORDER BY seq",
        )
        .bind(code.to_owned())
        .bind(seq)
        .fetch_all(pool)
        .await
        .map_err(|e| format!("store: {e}"))?;
        let mut ended_at = None;
        let mut returned_at = None;
        let mut step = None;
        for r in &rows {
            let status = DossierStatus::from_code(r.try_get("status").map_err(|e| e.to_string())?)
                .ok_or("stored status out of range")?;
            let at = chrono::DateTime::from_timestamp_millis(
                r.try_get("at").map_err(|e| e.to_string())?,
            )
            .ok_or("stored time out of range")?
            .with_timezone(&lienthong_dvcqg::wire::vietnam());
            if status.ends_processing() && ended_at.is_none() {
                ended_at = Some(at);
            }
            if status == DossierStatus::Returned {
                returned_at = Some(at);
            }
            let detail: Value = serde_json::from_str(
                &r.try_get::<String, _>("detail")
                    .map_err(|e| e.to_string())?,
            )
            .unwrap_or_default();
            let text = |k: &str| detail.get(k).and_then(Value::as_str).map(str::to_owned);
            step = Some(StatusChange {
                status,
                at,
                handler: text("handler"),
                handler_title: text("handler_title"),
                department: text("department"),
                // The filing has no note: the status's name says what happened.
                note: text("note").or_else(|| Some(status.name_vi().to_owned())),
            });
        }
        let step = step.ok_or_else(|| format!("dossier {code} has no step {seq}"))?;
        Ok(AsOf {
            dossier,
            organ,
            ended_at,
            returned_at,
            step,
        })
    }

    /// What the sync adds to the dossier as of a step.
    async fn facts(&self, s: &AsOf) -> SyncFacts {
        let p = self.procedure_facts(&s.organ, &s.dossier.procedure).await;
        SyncFacts {
            procedure_name: p.name,
            field_code: p.field_code,
            field_name: p.field_name,
            unit: self
                .cfg
                .unit_names
                .get(&s.organ)
                .cloned()
                .unwrap_or_else(|| s.organ.clone()),
            status: s.step.status,
            ended_at: s.ended_at,
            returned_at: s.returned_at,
        }
    }

    /// Procedure name and field of work: `LayThuTuc` once per code (cached), else the
    /// gateway's procedure table. A failing `LayThuTuc` never holds a sync back.
    async fn procedure_facts(&self, organ: &str, code: &str) -> ProcedureFacts {
        if let Some(p) = self.procedures.lock().await.get(code) {
            return p.clone();
        }
        let table = self.names.get(code).cloned().unwrap_or_default();
        match self.client.procedure(organ, code).await {
            Ok(v) => {
                let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                let name = text("TENTTHC");
                let p = ProcedureFacts {
                    name: if name.is_empty() { table } else { name },
                    field_code: text("MALINHVUC"),
                    field_name: text("LINHVUCTHUCHIEN"),
                };
                self.procedures.lock().await.insert(code.into(), p.clone());
                p
            }
            Err(e) => {
                tracing::info!(procedure = code, error = %e, "dvcqg: LayThuTuc failed; using the procedure table");
                let p = ProcedureFacts {
                    name: table,
                    ..Default::default()
                };
                // The portal's answer (it does not know the procedure) holds; a timeout or a
                // network fault is asked again next time.
                if matches!(e, Error::Rejected { .. }) {
                    self.procedures.lock().await.insert(code.into(), p.clone());
                }
                p
            }
        }
    }

    /// Mark the sync of `job` done (the progress call comes next, also after a restart).
    async fn synced(&self, job: &Job) -> Result<u64, sqlx::Error> {
        let _w = self.store.writer().await;
        Ok(sqlx::query(
            "UPDATE portal_jobs SET stage = 'progress' WHERE id = $1 AND lease_owner = $2",
        )
        .bind(job.id)
        .bind(&self.node)
        .execute(self.store.pool())
        .await?
        .rows_affected())
    }

    /// Run the job's remaining calls; `Err` carries the failure.
    async fn work(&self, job: &Job) -> Result<(), Error> {
        let s = self
            .as_of(&job.code, job.seq)
            .await
            .map_err(|e| Error::Transport(format!("store: {e}")))?;
        if job.stage == "sync" {
            let updating = self.client.exists(&s.organ, &job.code).await?;
            let facts = self.facts(&s).await;
            let wire = WireDossier::from_canonical(&s.dossier, &facts, &self.kinds);
            self.client.sync(&s.organ, updating, &wire).await?;
            match self.synced(job).await {
                Ok(1) => {}
                Ok(_) => return Err(Error::Transport("lease lost".into())),
                Err(e) => return Err(Error::Transport(format!("store: {e}"))),
            }
        }
        let step = WireProgress::from_change(&s.dossier, &s.step);
        self.client.progress(&s.organ, &[step]).await
    }

    async fn attempt_job(&self, job: Job) {
        let outcome = self.work(&job).await;
        let now = now_ms();
        let retry = &self.cfg.retry;
        let (stage, next, error) = match &outcome {
            Ok(()) => ("done", now, None),
            Err(e) => {
                let age_ms = now - job.created_at;
                let why = e.to_string();
                if job.attempts >= retry.max_attempts as i64
                    || age_ms > retry.max_age_secs as i64 * 1000
                {
                    (
                        "dead",
                        now,
                        Some(format!("hết lượt thử lại; lỗi cuối: {why}")),
                    )
                } else {
                    ("retry", now + backoff_ms(job.attempts, retry), Some(why))
                }
            }
        };
        if let Err(e) = &outcome {
            metrics::counter!("lienthong_dvcqg_errors_total", "kind" => e.kind()).increment(1);
            tracing::info!(dossier = %job.code, seq = job.seq, attempts = job.attempts, error = %e, "dvcqg: call failed");
        }
        let result = self.record(&job, stage, next, error.as_deref()).await;
        match result {
            Ok(1) => {
                metrics::counter!("lienthong_dvcqg_jobs_total", "outcome" => stage).increment(1);
                if stage == "dead" {
                    tracing::warn!(dossier = %job.code, seq = job.seq, error = ?error, "dvcqg: job dead; the dossier's later steps wait for an operator");
                }
            }
            Ok(_) => tracing::info!(job = job.id, "dvcqg: lease lost; another node owns it"),
            Err(e) => tracing::warn!(job = job.id, error = %e, "dvcqg: cannot record outcome"),
        }
    }

    /// Record an attempt's outcome: `done`, `dead` (audited) or `retry` (back to its stage).
    async fn record(
        &self,
        job: &Job,
        stage: &str,
        next: i64,
        error: Option<&str>,
    ) -> Result<u64, sqlx::Error> {
        let store = &self.store;
        let _w = store.writer().await;
        let mut tx = if stage == "retry" {
            store.pool().begin().await?
        } else {
            store.begin_serial().await?
        };
        let n = sqlx::query(
            "UPDATE portal_jobs SET stage = CASE WHEN $1 = 'retry' THEN stage ELSE $1 END, next_attempt_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL, done_at = CASE WHEN $1 = 'done' THEN $2 ELSE done_at END WHERE id = $4 AND lease_owner = $5",
        )
        .bind(stage)
        .bind(next)
        .bind(error)
        .bind(job.id)
        .bind(&self.node)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 && stage != "retry" {
            audit::append_in(
                &mut tx,
                store.backend(),
                &Event {
                    kind: "message",
                    actor: "-".into(),
                    action: "dossier.portal_sync".into(),
                    outcome: stage.into(),
                    request_id: "-".into(),
                    detail: json!({
                        "code": job.code,
                        "seq": job.seq,
                        "attempts": job.attempts,
                        "error": error,
                    }),
                },
            )
            .await
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        }
        tx.commit().await?;
        Ok(n)
    }
}

impl crate::queue::Queue for Portal {
    type Job = Job;
    const NAME: &'static str = "dvcqg";

    async fn claim(&self, n: i64) -> Result<Vec<Job>, sqlx::Error> {
        self.claim_due(n).await
    }

    async fn attempt(&self, job: Job) {
        self.attempt_job(job).await
    }

    fn wake(&self) -> &Notify {
        &self.wake
    }
}

/// Build the portal's client (starting the simulator on a loopback port when
/// `adapters.dvcqg.simulate` is on) and the job runner.
pub async fn connect(
    cfg: &DvcqgCfg,
    store: Store,
    names: HashMap<String, String>,
    wake: Arc<Notify>,
) -> Result<Arc<Portal>, String> {
    let mut settings = lienthong_dvcqg::Settings {
        base_url: cfg.base_url.clone(),
        auth_endpoint: cfg.auth_endpoint.clone(),
        integration_endpoint: cfg.integration_endpoint.clone(),
        username: cfg.username.clone(),
        password: String::new(),
        session_error_codes: cfg.session_error_codes.clone(),
        online_service: cfg.online_service.clone(),
        timeout: Duration::from_millis(cfg.timeout_ms),
    };
    if cfg.simulate {
        let sim_cfg = lienthong_dvcqg::SimConfig {
            auth_endpoint: cfg.auth_endpoint.clone(),
            integration_endpoint: cfg.integration_endpoint.clone(),
            online_service: cfg.online_service.clone(),
            ..Default::default()
        };
        settings.username = sim_cfg.username.clone();
        settings.password = sim_cfg.password.clone();
        let sim = lienthong_dvcqg::Sim::new(sim_cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("DVCQG simulator: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        settings.base_url = format!("http://{addr}");
        tokio::spawn(async move {
            if let Err(e) = sim.serve(listener, std::future::pending()).await {
                tracing::warn!(error = %e, "DVCQG simulator stopped");
            }
        });
        tracing::info!(url = %settings.base_url, "sandbox: DVCQG simulator (controls under /_sim/)");
        crate::server::simulator_started("dvcqg", &settings.base_url);
    } else {
        let secret = cfg.password.resolve()?;
        settings.password = String::from_utf8(secret.expose().to_vec())
            .map_err(|_| "adapters.dvcqg.password: not UTF-8".to_owned())?;
    }
    let mut http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(cfg.workers);
    if let Some(ca) = &cfg.ca_file {
        let mut roots = rustls::RootCertStore::empty();
        for c in crate::edge::tls::certs(ca).map_err(|e| e.to_string())? {
            roots.add(c).map_err(|e| format!("{}: {e}", ca.display()))?;
        }
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        http = http.use_preconfigured_tls(tls);
    }
    let http = http.build().map_err(|e| format!("DVCQG client: {e}"))?;
    let client = Arc::new(Client::new(http, settings));
    Ok(Arc::new(Portal::new(
        store,
        client,
        cfg.clone(),
        names,
        wake,
    )))
}

/// Start the job workers and, when configured, the online dossier poller.
pub fn spawn(
    portal: Arc<Portal>,
    dossiers: Arc<crate::dossiers::Dossiers>,
    registry: Arc<crate::members::Registry>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![tokio::spawn(portal.clone().run(shutdown.clone()))];
    let cfg = &portal.cfg;
    if cfg.online_poll_secs > 0 && !cfg.online_organ.is_empty() {
        let online = online::Online {
            organ: cfg.online_organ.clone(),
            every: Duration::from_secs(cfg.online_poll_secs),
            portal: portal.clone(),
            dossiers,
            registry,
        };
        tasks.push(tokio::spawn(online.run(shutdown)));
    }
    tasks
}

fn canonical_missing_due() -> crate::dossiers::Rejection {
    crate::dossiers::reject::invalid("due_at", "thiếu ngày hẹn trả")
}
