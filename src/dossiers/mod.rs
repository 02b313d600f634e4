//! Dossiers (hồ sơ một cửa): one-stop-shop installations file dossiers and report their status
//! changes here, each in its own vendor's dialect; the gateway keeps them in one canonical form
//! with a due time from its working calendar, and refuses what the national status table does
//! not allow.
//!
//! - [`dialect`]: vendor mapping files (`adapters/dialects/<name>.toml`) → canonical JSON;
//! - [`canonical`]: canonical JSON → the contract's [`Dossier`] / [`StatusChange`], strictly;
//! - [`reject`]: refusals, each naming its field (the wire field for a dialect's member);
//! - [`on_time`]: the national on-time rule on one dossier; [`report`]: the same rule in SQL,
//!   counted per organ or procedure and month (`GET /v1/reports/on-time`);
//! - here: the procedure table, due times, and the store (dossier, status history and audit
//!   record in one transaction).

pub mod canonical;
pub mod dialect;
pub mod on_time;
pub mod reject;
pub mod report;

pub use dialect::{Body, Dialect, DialectError, Dialects};
pub use reject::{Rejection, Why};

use crate::audit::{self, Event};
use crate::calendar::{instant, Calendar, TimeOfDay, WorkDuration};
use crate::config::{Config, ProcedureCfg};
use crate::edge::guard::PendingAllow;
use crate::edge::Problem;
use crate::members::Member;
use crate::store::{Store, Tx};
use lienthong_contract::dossier::{Dossier, DossierStatus, Instant, StatusChange};
use serde_json::{json, Value};
use sqlx::Row;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A procedure dossiers may be filed for.
#[derive(Clone, Debug, PartialEq)]
pub struct Procedure {
    pub code: String,
    pub name: String,
    pub processing_time: WorkDuration,
    /// `None`: the calendar's cut-off; `Some(None)`: no cut-off for this procedure.
    pub cutoff: Option<Option<TimeOfDay>>,
}

/// The procedure table (`[[dossiers.procedures]]`), by national code.
#[derive(Clone, Debug, Default)]
pub struct Procedures(BTreeMap<String, Procedure>);

impl Procedures {
    /// Build the table; every mistake as (`[i].key`, reason).
    pub fn from_config(list: &[ProcedureCfg]) -> Result<Procedures, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut table = BTreeMap::new();
        for (i, p) in list.iter().enumerate() {
            let mut err = |key: &str, reason: String| errors.push((format!("[{i}].{key}"), reason));
            if p.code.trim().is_empty() || p.code.trim() != p.code {
                err(
                    "code",
                    format!("{:?} must be a procedure code such as 1.009999", p.code),
                );
            }
            let processing_time = match p.processing_time.parse::<WorkDuration>() {
                Ok(d) => Some(d),
                Err(e) => {
                    err("processing_time", e.to_string());
                    None
                }
            };
            let cutoff = match p
                .cutoff
                .as_deref()
                .map(crate::calendar::hours::parse_cutoff)
            {
                None => Some(None),
                Some(Ok(c)) => Some(Some(c)),
                Some(Err(e)) => {
                    err("cutoff", e.to_string());
                    None
                }
            };
            if let (Some(processing_time), Some(cutoff)) = (processing_time, cutoff) {
                let proc = Procedure {
                    code: p.code.clone(),
                    name: p.name.clone(),
                    processing_time,
                    cutoff,
                };
                if table.insert(p.code.clone(), proc).is_some() {
                    err("code", format!("procedure {:?} is listed twice", p.code));
                }
            }
        }
        if errors.is_empty() {
            Ok(Procedures(table))
        } else {
            Err(errors)
        }
    }

    pub fn get(&self, code: &str) -> Option<&Procedure> {
        self.0.get(code)
    }
}

/// How a dossier's due time was fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DueBy {
    /// Given in the request (the desk's receipt).
    Request,
    /// Computed by the gateway's calendar from the procedure's processing time.
    Calendar { provisional: bool },
}

/// What went wrong inside a store job.
enum TxError {
    Refused(Rejection),
    Store(String),
}

impl From<sqlx::Error> for TxError {
    fn from(e: sqlx::Error) -> Self {
        TxError::Store(e.to_string())
    }
}

impl From<crate::store::StoreError> for TxError {
    fn from(e: crate::store::StoreError) -> Self {
        TxError::Store(e.to_string())
    }
}

fn store_problem(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "dossiers: store error");
    Problem::store_unavailable()
}

fn ms(t: &Instant) -> i64 {
    t.timestamp_millis()
}

fn from_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| instant::format(&t.fixed_offset()))
        .unwrap_or_default()
}

fn at_ms(ms: i64) -> Instant {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&instant::VIETNAM)
}

fn now() -> Instant {
    chrono::Utc::now().with_timezone(&instant::VIETNAM)
}

/// The dossier service.
pub struct Dossiers {
    store: Store,
    calendar: Arc<Calendar>,
    dialects: Dialects,
    procedures: Procedures,
    /// Set when the national portal adapter is on: every step queues a portal job, and this
    /// wakes its workers once the step is committed.
    portal: Option<Arc<tokio::sync::Notify>>,
    rule: on_time::Rule,
}

/// A filed dossier: its view, and whether it had been filed before with the same content.
pub struct Filed {
    pub code: String,
    pub view: Value,
    pub again: bool,
}

impl Dossiers {
    pub fn new(config: &Config, store: Store, calendar: Arc<Calendar>) -> Result<Dossiers, String> {
        let list = |errs: Vec<String>| errs.join("; ");
        let dialects = Dialects::load_dir(&config.dossiers.dialects_dir)
            .map_err(|e| list(e.iter().map(|e| e.to_string()).collect()))?;
        for m in &config.members {
            if let Some(d) = &m.dialect {
                if dialects.get(d).is_none() {
                    return Err(format!("member {}: no dialect {d:?}", m.id));
                }
            }
        }
        let procedures = Procedures::from_config(&config.dossiers.procedures).map_err(|e| {
            list(
                e.into_iter()
                    .map(|(k, r)| format!("dossiers.procedures{k}: {r}"))
                    .collect(),
            )
        })?;
        let rule = on_time::Rule::from_config(&config.dossiers.on_time)
            .map_err(|(k, r)| format!("dossiers.on_time.{k}: {r}"))?;
        Ok(Dossiers {
            store,
            calendar,
            dialects,
            procedures,
            portal: None,
            rule,
        })
    }

    /// Queue every step for the national portal; `wake` is notified after each commit.
    pub fn with_portal(mut self, wake: Arc<tokio::sync::Notify>) -> Dossiers {
        self.portal = Some(wake);
        self
    }

    /// Procedure names of the procedure table, by code.
    pub fn procedure_names(&self) -> std::collections::HashMap<String, String> {
        self.procedures
            .0
            .values()
            .map(|p| (p.code.clone(), p.name.clone()))
            .collect()
    }

    /// Queue the portal job of step `seq`, when the portal adapter is on.
    async fn queue_portal(
        &self,
        tx: &mut Tx,
        code: &str,
        seq: i64,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        if self.portal.is_some() {
            crate::portal::enqueue_in(tx, code, seq, now).await?;
        }
        Ok(())
    }

    /// Wake the portal workers (after committing a step made with [`Dossiers::advance_in`]).
    pub fn wake_portal(&self) {
        if let Some(w) = &self.portal {
            w.notify_one();
        }
    }

    fn dialect_of(&self, member: &Member) -> Option<&Dialect> {
        member
            .dialect
            .as_deref()
            .and_then(|d| self.dialects.get(d))
            .map(|d| d.as_ref())
    }

    /// A refusal found in canonical terms, named as the member writes it.
    fn refuse(&self, member: &Member, body: Body, mut r: Rejection) -> Problem {
        if let Some(w) = self
            .dialect_of(member)
            .and_then(|d| d.wire_field(body, &r.field))
        {
            r.field = w;
        }
        r.into_problem()
    }

    /// The body as canonical JSON: parsed, and translated when the member has a dialect.
    fn canonical_body(&self, member: &Member, body: Body, bytes: &[u8]) -> Result<Value, Problem> {
        let wire: Value = serde_json::from_slice(bytes)
            .map_err(|e| Rejection::new("", Why::InvalidJson(e.to_string())).into_problem())?;
        if !wire.is_object() {
            return Err(
                Rejection::new("", Why::InvalidJson("cần một đối tượng JSON {…}".into()))
                    .into_problem(),
            );
        }
        match self.dialect_of(member) {
            Some(d) => d.translate(body, &wire).map_err(Rejection::into_problem),
            None => Ok(wire),
        }
    }

    /// The due time of a dossier for `procedure` received at `received`: the one given, else
    /// the procedure's processing time counted by the working calendar.
    fn due_time(
        &self,
        procedure: &str,
        received: Instant,
        given: Option<Instant>,
        by: &Cell<DueBy>,
    ) -> Result<Instant, Rejection> {
        let p = self
            .procedures
            .get(procedure)
            .ok_or_else(|| Rejection::new("procedure", Why::UnknownProcedure(procedure.into())))?;
        if let Some(due) = given {
            if due <= received {
                return Err(reject::invalid(
                    "due_at",
                    "ngày hẹn trả phải sau thời điểm tiếp nhận",
                ));
            }
            by.set(DueBy::Request);
            return Ok(due);
        }
        let cutoff = p.cutoff.unwrap_or(self.calendar.settings().cutoff);
        let due = self
            .calendar
            .due_with_cutoff(received, p.processing_time, cutoff)
            .map_err(|e| Rejection::new("received_at", Why::DateOutOfRange(e.to_string())))?;
        by.set(DueBy::Calendar {
            provisional: due.provisional(),
        });
        Ok(due.due)
    }

    /// `POST /v1/dossiers`.
    pub async fn file(
        self: &Arc<Self>,
        caller: Arc<Member>,
        bytes: &[u8],
        request_id: &str,
        allow: Option<Arc<PendingAllow>>,
    ) -> Result<Filed, Problem> {
        let v = self.canonical_body(&caller, Body::Dossier, bytes)?;
        let by = Cell::new(DueBy::Request);
        let read = canonical::dossier(&v, caller.organs.first(), &|p, r, g| {
            self.due_time(p, r, g, &by)
        });
        let by = by.get();
        let dossier = read
            .and_then(|d| {
                if caller.speaks_for(&d.receiving_organ) {
                    Ok(d)
                } else {
                    Err(Rejection::new(
                        "receiving_organ",
                        Why::OrganNotServed(d.receiving_organ.to_string()),
                    ))
                }
            })
            .map_err(|r| self.refuse(&caller, Body::Dossier, r))?;
        let code = dossier.code.clone();
        let this = self.clone();
        let (member, rid, pending) = (caller.clone(), request_id.to_owned(), allow.clone());
        let again = self
            .store
            .batched(move |tx| {
                Box::pin(async move {
                    this.file_in(tx, &member, &dossier, by, &rid, pending.as_deref())
                        .await
                })
            })
            .await
            .map_err(store_problem)?;
        let again = match again {
            Ok(again) => again,
            Err(TxError::Refused(r)) => return Err(self.refuse(&caller, Body::Dossier, r)),
            Err(TxError::Store(e)) => return Err(store_problem(e)),
        };
        if let Some(a) = allow {
            a.committed();
        }
        self.wake_portal();
        metrics::counter!("lienthong_dossiers_filed_total").increment(u64::from(!again));
        let view = self.view(&caller, &code).await?;
        Ok(Filed { code, view, again })
    }

    /// The filing, in the shared transaction: the dossier, its first history row, the audit
    /// records. `Ok(true)` when the same dossier had been filed before (nothing new written).
    async fn file_in(
        &self,
        tx: &mut Tx,
        member: &Member,
        d: &Dossier,
        by: DueBy,
        request_id: &str,
        allow: Option<&PendingAllow>,
    ) -> Result<bool, TxError> {
        let body = serde_json::to_string(d).map_err(|e| TxError::Store(e.to_string()))?;
        let sha = hex::encode(openssl::sha::sha256(body.as_bytes()));
        let at = ms(&now());
        let (due_by, provisional) = match by {
            DueBy::Request => ("request", 0i64),
            DueBy::Calendar { provisional } => ("calendar", i64::from(provisional)),
        };
        let inserted = sqlx::query(
            "INSERT INTO dossiers (code, procedure_code, receiving_organ, channel, status, received_at, due_at, due_by, provisional, ended_at, last_seq, created_by, created_at, updated_at, sha256, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, 1, $10, $11, $11, $12, $13) ON CONFLICT (code) DO NOTHING",
        )
        .bind(d.code.clone())
        .bind(d.procedure.clone())
        .bind(d.receiving_organ.to_string())
        .bind(d.channel.as_str())
        .bind(i64::from(d.status.code()))
        .bind(ms(&d.received_at))
        .bind(ms(&d.due_at))
        .bind(due_by)
        .bind(provisional)
        .bind(member.id.clone())
        .bind(at)
        .bind(sha.clone())
        .bind(body)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        let mut events: Vec<&Event> = allow.iter().map(|a| &a.event).collect();
        if inserted == 0 {
            let row = sqlx::query("SELECT sha256, created_by FROM dossiers WHERE code = $1")
                .bind(d.code.clone())
                .fetch_one(&mut **tx)
                .await?;
            let same = row.try_get::<String, _>("sha256")? == sha
                && row.try_get::<String, _>("created_by")? == member.id;
            if !same {
                return Err(TxError::Refused(Rejection::new(
                    "code",
                    Why::DossierExists(d.code.clone()),
                )));
            }
            audit::append_all_in(tx, self.store.backend(), &events).await?;
            return Ok(true);
        }
        insert_history(
            tx,
            &d.code,
            1,
            d.status,
            None,
            ms(&d.received_at),
            at,
            &member.id,
            request_id,
            "{}",
        )
        .await?;
        self.queue_portal(tx, &d.code, 1, at).await?;
        let filed = Event {
            kind: "message",
            actor: member.id.clone(),
            action: "dossier.file".into(),
            outcome: "accepted".into(),
            request_id: request_id.to_owned(),
            detail: json!({
                "code": d.code,
                "procedure": d.procedure,
                "organ": d.receiving_organ,
                "status": d.status.code(),
                "due_at": instant::format(&d.due_at),
                "due_by": due_by,
            }),
        };
        events.push(&filed);
        audit::append_all_in(tx, self.store.backend(), &events).await?;
        Ok(false)
    }

    /// `POST /v1/dossiers/{code}/events`: a status change.
    pub async fn change_status(
        self: &Arc<Self>,
        caller: Arc<Member>,
        code: &str,
        bytes: &[u8],
        request_id: &str,
        allow: Option<Arc<PendingAllow>>,
    ) -> Result<Value, Problem> {
        let not_found = || Rejection::new("code", Why::NotFound(code.to_owned()));
        canonical::check_code(code, "code").map_err(|_| not_found().into_problem())?;
        let v = self.canonical_body(&caller, Body::Event, bytes)?;
        let change = canonical::status_change(&v, code, now())
            .map_err(|r| self.refuse(&caller, Body::Event, r))?;
        let this = self.clone();
        let (member, rid, pending, code_owned) = (
            caller.clone(),
            request_id.to_owned(),
            allow.clone(),
            code.to_owned(),
        );
        let done = self
            .store
            .batched(move |tx| {
                Box::pin(async move {
                    this.change_in(tx, &member, &code_owned, &change, &rid, pending.as_deref())
                        .await
                })
            })
            .await
            .map_err(store_problem)?;
        match done {
            Ok(v) => {
                if let Some(a) = allow {
                    a.committed();
                }
                self.wake_portal();
                metrics::counter!("lienthong_dossier_status_changes_total").increment(1);
                Ok(v)
            }
            Err(TxError::Refused(r)) => Err(self.refuse(&caller, Body::Event, r)),
            Err(TxError::Store(e)) => Err(store_problem(e)),
        }
    }

    async fn change_in(
        &self,
        tx: &mut Tx,
        member: &Member,
        code: &str,
        c: &StatusChange,
        request_id: &str,
        allow: Option<&PendingAllow>,
    ) -> Result<Value, TxError> {
        let row = sqlx::query(
            "SELECT status, last_seq, receiving_organ, created_by FROM dossiers WHERE code = $1",
        )
        .bind(code.to_owned())
        .fetch_optional(&mut **tx)
        .await?;
        let not_found = || TxError::Refused(Rejection::new("code", Why::NotFound(code.to_owned())));
        let Some(row) = row else {
            return Err(not_found());
        };
        if !may_see(member, &row)? {
            return Err(not_found());
        }
        let from = DossierStatus::from_code(row.try_get("status")?)
            .ok_or_else(|| TxError::Store(format!("dossier {code}: stored status out of range")))?;
        let last: i64 = row.try_get("last_seq")?;
        let detail = json!({
            "handler": c.handler,
            "handler_title": c.handler_title,
            "department": c.department,
            "note": c.note,
        });
        // The same change again (a desk retrying after a lost answer): answered with the step
        // already recorded, nothing new.
        let prev = sqlx::query(
            "SELECT status, previous_status, at, detail FROM dossier_events WHERE dossier_code = $1 AND seq = $2",
        )
        .bind(code.to_owned())
        .bind(last)
        .fetch_one(&mut **tx)
        .await?;
        let same = prev.try_get::<i64, _>("status")? == i64::from(c.status.code())
            && prev.try_get::<i64, _>("at")? == ms(&c.at)
            && serde_json::from_str::<Value>(&prev.try_get::<String, _>("detail")?).ok()
                == Some(detail.clone());
        if same {
            let events: Vec<&Event> = allow.iter().map(|a| &a.event).collect();
            audit::append_all_in(tx, self.store.backend(), &events).await?;
            return Ok(json!({
                "code": code,
                "seq": last,
                "status": c.status.code(),
                "previous_status": prev.try_get::<Option<i64>, _>("previous_status")?,
                "at": instant::format(&c.at),
                "again": true,
            }));
        }
        if !from.may_move_to(c.status) {
            return Err(TxError::Refused(Rejection::new(
                "status",
                Why::Transition { from, to: c.status },
            )));
        }
        let seq = last + 1;
        let at = ms(&c.at);
        let recorded = ms(&now());
        let ends = c.status.ends_processing().then_some(at);
        let updated = sqlx::query(
            "UPDATE dossiers SET status = $1, last_seq = $2, updated_at = $3, ended_at = COALESCE(ended_at, $4) WHERE code = $5 AND last_seq = $6",
        )
        .bind(i64::from(c.status.code()))
        .bind(seq)
        .bind(recorded)
        .bind(ends)
        .bind(code.to_owned())
        .bind(last)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Err(TxError::Refused(Rejection::new(
                "code",
                Why::Changed(code.to_owned()),
            )));
        }
        insert_history(
            tx,
            code,
            seq,
            c.status,
            Some(from),
            at,
            recorded,
            &member.id,
            request_id,
            &detail.to_string(),
        )
        .await?;
        self.queue_portal(tx, code, seq, recorded).await?;
        let changed = Event {
            kind: "message",
            actor: member.id.clone(),
            action: "dossier.status".into(),
            outcome: "accepted".into(),
            request_id: request_id.to_owned(),
            detail: json!({ "code": code, "seq": seq, "from": from.code(), "to": c.status.code() }),
        };
        let mut events: Vec<&Event> = allow.iter().map(|a| &a.event).collect();
        events.push(&changed);
        audit::append_all_in(tx, self.store.backend(), &events).await?;
        Ok(json!({
            "code": code,
            "seq": seq,
            "status": c.status.code(),
            "previous_status": from.code(),
            "at": instant::format(&c.at),
        }))
    }

    /// A step the gateway records itself, in the caller's transaction `tx` (a fee paid through
    /// PayGov, a result delivered by VNPost): moves dossier `code` to `to` when the transition
    /// table allows it, with `actor` (e.g. `paygov`) as the step's member and `note` in its
    /// details, queues the portal job and audits it. Answers the new step's seq, or `None` when
    /// the dossier is unknown or may not move to `to` from where it is (left as it is; the
    /// caller decides whether that matters). Call [`Dossiers::wake_portal`] after the commit.
    pub async fn advance_in(
        &self,
        tx: &mut Tx,
        code: &str,
        to: DossierStatus,
        actor: &str,
        request_id: &str,
        note: &str,
    ) -> Result<Option<i64>, crate::store::StoreError> {
        let Some(row) = sqlx::query("SELECT status, last_seq FROM dossiers WHERE code = $1")
            .bind(code.to_owned())
            .fetch_optional(&mut **tx)
            .await?
        else {
            return Ok(None);
        };
        let Some(from) = DossierStatus::from_code(row.try_get("status")?) else {
            return Ok(None);
        };
        if !from.may_move_to(to) {
            return Ok(None);
        }
        let last: i64 = row.try_get("last_seq")?;
        let seq = last + 1;
        let at = ms(&now());
        let ends = to.ends_processing().then_some(at);
        let updated = sqlx::query(
            "UPDATE dossiers SET status = $1, last_seq = $2, updated_at = $3, ended_at = COALESCE(ended_at, $4) WHERE code = $5 AND last_seq = $6",
        )
        .bind(i64::from(to.code()))
        .bind(seq)
        .bind(at)
        .bind(ends)
        .bind(code.to_owned())
        .bind(last)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Ok(None);
        }
        let detail = json!({ "handler": actor, "note": note });
        insert_history(
            tx,
            code,
            seq,
            to,
            Some(from),
            at,
            at,
            actor,
            request_id,
            &detail.to_string(),
        )
        .await?;
        self.queue_portal(tx, code, seq, at).await?;
        let changed = Event {
            kind: "message",
            actor: actor.to_owned(),
            action: "dossier.status".into(),
            outcome: "accepted".into(),
            request_id: request_id.to_owned(),
            detail: json!({ "code": code, "seq": seq, "from": from.code(), "to": to.code(), "by": "gateway" }),
        };
        audit::append_all_in(tx, self.store.backend(), &[&changed]).await?;
        Ok(Some(seq))
    }

    /// `GET /v1/dossiers/{code}`: the canonical dossier with its current status, how its due
    /// time was fixed, and its status history.
    pub async fn view(&self, caller: &Member, code: &str) -> Result<Value, Problem> {
        let not_found = || Rejection::new("code", Why::NotFound(code.to_owned()));
        let refuse = |r: Rejection| self.refuse(caller, Body::Event, r);
        canonical::check_code(code, "code").map_err(|_| refuse(not_found()))?;
        let pool = self.store.pool();
        let row = sqlx::query(
            "SELECT body, status, due_at, due_by, provisional, ended_at, receiving_organ, created_by, created_at, updated_at FROM dossiers WHERE code = $1",
        )
        .bind(code.to_owned())
        .fetch_optional(pool)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| refuse(not_found()))?;
        if !may_see(caller, &row).map_err(|_| Problem::store_unavailable())? {
            return Err(refuse(not_found()));
        }
        let get_i64 = |k: &str| row.try_get::<i64, _>(k).map_err(store_problem);
        let get_str = |k: &str| row.try_get::<String, _>(k).map_err(store_problem);
        let mut dossier: Value = serde_json::from_str(&get_str("body")?).map_err(store_problem)?;
        dossier["status"] = json!(get_i64("status")?);
        let ended: Option<i64> = row.try_get("ended_at").map_err(store_problem)?;
        let rows = sqlx::query(
            "SELECT seq, status, previous_status, at, recorded_at, member, detail FROM dossier_events WHERE dossier_code = $1 ORDER BY seq",
        )
        .bind(code.to_owned())
        .fetch_all(pool)
        .await
        .map_err(store_problem)?;
        let mut history = Vec::with_capacity(rows.len());
        let mut steps = Vec::with_capacity(rows.len());
        for r in rows {
            if let (Ok(status), Ok(at)) = (r.try_get("status"), r.try_get("at")) {
                if let Some(s) = DossierStatus::from_code(status) {
                    steps.push((s, at_ms(at)));
                }
            }
            let step = || -> Result<Value, sqlx::Error> {
                let mut e = json!({
                    "seq": r.try_get::<i64, _>("seq")?,
                    "status": r.try_get::<i64, _>("status")?,
                    "previous_status": r.try_get::<Option<i64>, _>("previous_status")?,
                    "at": from_ms(r.try_get("at")?),
                    "recorded_at": from_ms(r.try_get("recorded_at")?),
                    "member": r.try_get::<String, _>("member")?,
                });
                let detail: Value =
                    serde_json::from_str(&r.try_get::<String, _>("detail")?).unwrap_or_default();
                if let (Some(e), Some(d)) = (e.as_object_mut(), detail.as_object()) {
                    e.extend(
                        d.iter()
                            .filter(|(_, v)| !v.is_null())
                            .map(|(k, v)| (k.clone(), v.clone())),
                    );
                }
                Ok(e)
            };
            history.push(step().map_err(store_problem)?);
        }
        // Fees paid online (PayGov): each payment's state, amount and transaction.
        let mut payments = Vec::new();
        for p in sqlx::query(
            "SELECT reference, amount, state, txn_code, fees, updated_at FROM payments WHERE dossier_code = $1 ORDER BY created_at",
        )
        .bind(code.to_owned())
        .fetch_all(pool)
        .await
        .map_err(store_problem)?
        {
            let one = || -> Result<Value, sqlx::Error> {
                Ok(json!({
                    "reference": p.try_get::<String, _>("reference")?,
                    "amount": p.try_get::<i64, _>("amount")?,
                    "state": p.try_get::<String, _>("state")?,
                    "transaction_code": p.try_get::<Option<String>, _>("txn_code")?,
                    "fees": serde_json::from_str::<Value>(&p.try_get::<String, _>("fees")?).unwrap_or(Value::Null),
                    "updated_at": from_ms(p.try_get("updated_at")?),
                }))
            };
            payments.push(one().map_err(store_problem)?);
        }
        // Postal orders (VNPost): each order's direction, state and the carrier's last word.
        let mut postal = Vec::new();
        for o in sqlx::query(
            "SELECT order_number, direction, state, carrier_status, item_code, updated_at FROM postal_orders WHERE dossier_code = $1 ORDER BY created_at",
        )
        .bind(code.to_owned())
        .fetch_all(pool)
        .await
        .map_err(store_problem)?
        {
            let one = || -> Result<Value, sqlx::Error> {
                Ok(json!({
                    "order_number": o.try_get::<String, _>("order_number")?,
                    "direction": o.try_get::<String, _>("direction")?,
                    "state": o.try_get::<String, _>("state")?,
                    "carrier_status": o.try_get::<Option<String>, _>("carrier_status")?,
                    "item_code": o.try_get::<Option<String>, _>("item_code")?,
                    "updated_at": from_ms(o.try_get("updated_at")?),
                }))
            };
            postal.push(one().map_err(store_problem)?);
        }
        let paid: i64 = payments
            .iter()
            .filter(|p| p["state"] == "paid")
            .filter_map(|p| p["amount"].as_i64())
            .sum();
        Ok(json!({
            "dossier": dossier,
            "payments": payments,
            "fees_paid": paid,
            "postal_orders": postal,
            "due_by": get_str("due_by")?,
            "due_provisional": get_i64("provisional")? != 0,
            "ended_at": ended.map(from_ms),
            "on_time": on_time::classify(&self.rule, &steps, at_ms(get_i64("due_at")?), now())
                .to_json(),
            "filed_by": get_str("created_by")?,
            "filed_at": from_ms(get_i64("created_at")?),
            "updated_at": from_ms(get_i64("updated_at")?),
            "history": history,
        }))
    }
}

/// Who files the national portal's online dossiers (`created_by`, `dossier_events.member`).
pub const PORTAL_ACTOR: &str = "dvcqg";

impl Dossiers {
    /// An online dossier from the national portal (its list position `item`): filed (due time
    /// as the portal set it), handed to `installation`, and the poller's `cursor` moved past
    /// `item`, in one transaction. A dossier the portal sent unreadable is recorded (audit,
    /// with the field) and passed over.
    pub async fn file_online(
        self: &Arc<Self>,
        item: i64,
        cursor: &'static str,
        read: Result<Dossier, String>,
        installation: Option<&Member>,
    ) -> Result<crate::portal::online::Taken, String> {
        let inst = installation.map(|m| m.id.clone());
        let this = self.clone();
        let taken = self
            .store
            .batched(move |tx| {
                Box::pin(async move {
                    this.file_online_in(tx, item, cursor, read, inst.as_deref())
                        .await
                })
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| match e {
                TxError::Store(s) => s,
                TxError::Refused(r) => r.field,
            })?;
        self.wake_portal();
        Ok(taken)
    }

    async fn file_online_in(
        &self,
        tx: &mut Tx,
        item: i64,
        cursor: &str,
        read: Result<Dossier, String>,
        installation: Option<&str>,
    ) -> Result<crate::portal::online::Taken, TxError> {
        use crate::portal::online::Taken;
        let at = ms(&now());
        let (taken, detail) = match read {
            Err(why) => (
                Taken::Refused(why.clone()),
                json!({ "item": item, "error": why }),
            ),
            Ok(d) => {
                let body = serde_json::to_string(&d).map_err(|e| TxError::Store(e.to_string()))?;
                let sha = hex::encode(openssl::sha::sha256(body.as_bytes()));
                let inserted = sqlx::query(
                    "INSERT INTO dossiers (code, procedure_code, receiving_organ, channel, status, received_at, due_at, due_by, provisional, ended_at, last_seq, created_by, created_at, updated_at, sha256, body) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'request', 0, NULL, 1, $8, $9, $9, $10, $11) ON CONFLICT (code) DO NOTHING",
                )
                .bind(d.code.clone())
                .bind(d.procedure.clone())
                .bind(d.receiving_organ.to_string())
                .bind(d.channel.as_str())
                .bind(i64::from(d.status.code()))
                .bind(ms(&d.received_at))
                .bind(ms(&d.due_at))
                .bind(PORTAL_ACTOR)
                .bind(at)
                .bind(sha)
                .bind(body)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    (Taken::Again, Value::Null)
                } else {
                    let rid = format!("dvcqg-online-{item}");
                    insert_history(
                        tx,
                        &d.code,
                        1,
                        d.status,
                        None,
                        ms(&d.received_at),
                        at,
                        PORTAL_ACTOR,
                        &rid,
                        "{}",
                    )
                    .await?;
                    let taken = match installation {
                        Some(m) => {
                            sqlx::query(
                                "INSERT INTO dossier_inbox (member, dossier_code, created_at) VALUES ($1, $2, $3) ON CONFLICT (member, dossier_code) DO NOTHING",
                            )
                            .bind(m.to_owned())
                            .bind(d.code.clone())
                            .bind(at)
                            .execute(&mut **tx)
                            .await?;
                            Taken::Handed(m.to_owned())
                        }
                        None => Taken::Unrouted,
                    };
                    let detail = json!({
                        "item": item,
                        "code": d.code,
                        "organ": d.receiving_organ,
                        "member": installation,
                    });
                    (taken, detail)
                }
            }
        };
        if !detail.is_null() {
            let outcome = match &taken {
                Taken::Handed(_) => "handed",
                Taken::Unrouted => "unrouted",
                _ => "refused",
            };
            let ev = Event {
                kind: "message",
                actor: PORTAL_ACTOR.into(),
                action: "dossier.online".into(),
                outcome: outcome.into(),
                request_id: format!("dvcqg-online-{item}"),
                detail,
            };
            audit::append_all_in(tx, self.store.backend(), &[&ev]).await?;
        }
        sqlx::query(
            "INSERT INTO cursors (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE cursors.value < excluded.value",
        )
        .bind(cursor.to_owned())
        .bind(item)
        .execute(&mut **tx)
        .await?;
        Ok(taken)
    }

    /// `GET /v1/dossiers/inbox`: online dossiers handed to `member`, oldest first, after
    /// `after`, each in the member's dialect (canonical JSON when it has none).
    pub async fn inbox(&self, member: &Member, after: i64, limit: i64) -> Result<Value, Problem> {
        let rows = sqlx::query(
            "SELECT i.id, i.dossier_code, i.created_at, d.body FROM dossier_inbox i JOIN dossiers d ON d.code = i.dossier_code WHERE i.member = $1 AND i.id > $2 ORDER BY i.id LIMIT $3",
        )
        .bind(member.id.clone())
        .bind(after)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await
        .map_err(store_problem)?;
        let dialect = self.dialect_of(member);
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            let item = || -> Result<Value, sqlx::Error> {
                let body: Value =
                    serde_json::from_str(&r.try_get::<String, _>("body")?).unwrap_or_default();
                let dossier = match dialect {
                    Some(d) => d.render(Body::Dossier, &body),
                    None => body,
                };
                Ok(json!({
                    "id": r.try_get::<i64, _>("id")?,
                    "code": r.try_get::<String, _>("dossier_code")?,
                    "handed_at": from_ms(r.try_get("created_at")?),
                    "dialect": dialect.map(|d| d.name.clone()),
                    "dossier": dossier,
                }))
            };
            items.push(item().map_err(store_problem)?);
        }
        let next = items.last().and_then(|i| i["id"].as_i64()).unwrap_or(after);
        Ok(json!({ "items": items, "next": next }))
    }
}

impl Dossiers {
    /// `GET /v1/reports/on-time`: the on-time statistics of the organs `caller` speaks for.
    pub async fn on_time_report(
        &self,
        caller: &Member,
        req: &report::Request,
    ) -> Result<Value, Problem> {
        report::run(&self.store, &self.rule, &self.procedures, caller, req)
            .await
            .map_err(store_problem)
    }
}

/// Whether `member` may see or change a dossier: it filed it, or it speaks for its organ.
pub(crate) fn may_see(member: &Member, row: &sqlx::any::AnyRow) -> Result<bool, sqlx::Error> {
    let by: String = row.try_get("created_by")?;
    let organ: String = row.try_get("receiving_organ")?;
    Ok(by == member.id
        || lienthong_contract::OrganId::parse(&organ).is_ok_and(|o| member.speaks_for(&o)))
}

#[allow(clippy::too_many_arguments)]
async fn insert_history(
    tx: &mut Tx,
    code: &str,
    seq: i64,
    status: DossierStatus,
    previous: Option<DossierStatus>,
    at: i64,
    recorded: i64,
    member: &str,
    request_id: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dossier_events (dossier_code, seq, status, previous_status, at, recorded_at, member, request_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(code.to_owned())
    .bind(seq)
    .bind(i64::from(status.code()))
    .bind(previous.map(|p| i64::from(p.code())))
    .bind(at)
    .bind(recorded)
    .bind(member.to_owned())
    .bind(request_id.to_owned())
    .bind(detail.to_owned())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
