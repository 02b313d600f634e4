//! Document exchange core: accept a package (verify → check the caller speaks for `From` →
//! route → store durably with its deliveries, receipt and audit record, in one transaction),
//! and the views members read (inbox, package, deliveries, receipt) and acknowledgements.
//!
//! Invariants: a 202 means the package, every delivery and the audit record are committed; the
//! bytes stored (and later delivered) are exactly the bytes whose signature was verified.

pub mod body;
pub mod receipt;

use crate::audit::{self, Event};
use crate::config::{Config, EdocsCfg};
use crate::dsig::verify::{verify_with, DsigError};
use crate::edge::guard::PendingAllow;
use crate::edge::Problem;
use crate::edxml::{self, Package, ReadOptions};
use crate::members::{Member, Registry};
use crate::pki::trust::Trust;
use crate::routing::{Route, Routes};
use crate::store::{Store, Tx};
use axum::http::StatusCode;
use body::{BodyError, Spooled, Upload};
use lienthong_contract::edoc::{BusinessAction, DocumentHeader};
use lienthong_contract::OrganId;
use receipt::{GatewaySigner, ReceiptFacts};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything the exchange needs, shared by handlers and delivery workers.
pub struct Exchange {
    pub store: Store,
    pub trust: Arc<Trust>,
    pub routes: Routes,
    pub registry: Arc<Registry>,
    pub cfg: EdocsCfg,
    pub spool_dir: PathBuf,
    pub signer: GatewaySigner,
    /// Wakes the delivery workers when new push deliveries are committed.
    pub wake: tokio::sync::Notify,
    /// Verification is CPU work: at most one package per core is inspected at a time. With one
    /// thread per connection, 64 uploads would crowd out the single store writer (and the TLS
    /// workers) on the scheduler; queued here they wait without competing for a core.
    inspecting: tokio::sync::Semaphore,
}

fn problem(status: StatusCode, code: &'static str, title: &'static str, detail: String) -> Problem {
    Problem::new(status, code, title, detail)
}

fn unprocessable(code: &'static str, detail: String) -> Problem {
    problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        code,
        "Package refused",
        detail,
    )
}

fn store_error(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "edocs: store error");
    Problem::store_unavailable()
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// What inspection of a package found.
struct Inspected {
    package: Package,
    signer: Option<String>,
    warnings: Vec<String>,
}

/// An inspected package on its way into the store.
struct Pending {
    caller: Arc<Member>,
    upload: Upload,
    inspected: Inspected,
    kind: &'static str,
    from: String,
    document_id: String,
    status_code: Option<String>,
    header_json: String,
    response_for: Option<lienthong_contract::edoc::ResponseFor>,
    dedup_key: String,
    request_id: String,
    /// The guard's allow record, committed with the package.
    allow: Option<Arc<PendingAllow>>,
    /// Unix milliseconds at which the upload was complete and inspected.
    received_at: i64,
    /// Recipients decided without the store (new documents, statuses to another organ) and
    /// the receipt stating them, both before the transaction; `None` when routing needs the
    /// store (business actions, the sender's own status 13).
    routed: Option<(Vec<Recipient>, Vec<u8>)>,
}

/// A package routed and with its (unsigned) receipt, ready to be written.
struct Ready {
    p: Pending,
    recipients: Vec<Recipient>,
    receipt: Vec<u8>,
}

/// The store's group commit hands every ready package of a batch to the exchange at once.
impl crate::store::Bulk for Exchange {
    fn write<'c>(
        &'c self,
        tx: &'c mut Tx,
        items: Vec<crate::store::Erased>,
    ) -> crate::store::BoxFuture<'c, Result<Vec<crate::store::BulkOut>, String>> {
        Box::pin(async move {
            let ready = items
                .into_iter()
                .map(|i| i.downcast::<Ready>().map(|r| *r))
                .collect::<Result<Vec<Ready>, _>>()
                .map_err(|_| "edocs: bulk item of another type".to_owned())?;
            let outs = self.write_ready(tx, ready).await?;
            Ok(outs
                .into_iter()
                .map(|(result, audit)| crate::store::BulkOut {
                    result: match result {
                        Ok(a) => Ok(Box::new(a) as crate::store::Erased),
                        Err(p) => Err(Box::new(p) as crate::store::Erased),
                    },
                    audit,
                })
                .collect())
        })
    }
}

/// A recipient as decided at acceptance.
#[derive(Debug, Clone, Serialize)]
pub struct Recipient {
    pub organ: String,
    /// `queued` or `unroutable` at acceptance; the current delivery state in a resubmission's answer.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    #[serde(skip)]
    mode: &'static str,
    #[serde(skip)]
    order_key: Option<String>,
}

/// The answer to an accepted (or re-submitted) package.
#[derive(Debug, Serialize)]
pub struct Accepted {
    pub id: i64,
    pub kind: &'static str,
    pub document_id: String,
    pub sha256: String,
    pub recipients: Vec<Recipient>,
    /// True when this was a re-submission of a package already accepted.
    pub duplicate: bool,
}

impl Exchange {
    pub fn new(c: &Config, store: Store, registry: Arc<Registry>) -> Result<Exchange, String> {
        let trust = Trust::from_config(c)?;
        let routes = Routes::from_config(c, &registry)?;
        let signer = GatewaySigner::load(&c.edocs_client_cert(), &c.edocs_client_key())?;
        Ok(Exchange {
            store,
            trust: Arc::new(trust),
            routes,
            registry,
            cfg: c.edocs.clone(),
            spool_dir: c.data_dir.join("spool"),
            signer,
            wake: tokio::sync::Notify::new(),
            inspecting: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
        })
    }

    /// Read the request body under the package limit.
    pub async fn receive(&self, body: axum::body::Body) -> Result<Upload, Problem> {
        body::receive(body, self.cfg.max_package_bytes, &self.spool_dir)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge(n) => Problem::body_too_large(n),
                BodyError::Broken(why) => Problem::bad_request(
                    "body_unreadable",
                    format!("Không đọc được gói tin (kết nối bị ngắt giữa chừng?): {why}. Hãy gửi lại; gói tin chưa được nhận."),
                ),
                BodyError::Spool(why) => {
                    tracing::error!(error = %why, "edocs: spool");
                    Problem::store_unavailable()
                }
            })
    }

    /// Verify signature and signer, optionally the schema, and read the header. Blocking.
    fn inspect(&self, body: &Spooled, member: &Member) -> Result<Inspected, Problem> {
        let io = |e: std::io::Error| store_error(e);
        let now = chrono::Utc::now().timestamp();
        let mut opts = ReadOptions::new(&self.spool_dir);
        opts.limits = self.trust.policy.limits;
        // Only the header is wanted: attachments are checked (base64, sizes) and thrown away
        // without touching the disk; the stored package is the signed bytes, which recipients
        // unzip themselves.
        opts.keep_attachments = false;
        opts.hash_attachments = false;
        opts.sync_spool = false;
        opts.unzip = None;
        // The header is read from the signature check's own pass over the bytes. Its first
        // error is held back: a signature error, then a schema error, come first.
        let mut header = edxml::HeaderReader::new(&opts);
        let mut header_error = None;
        let verified = verify_with(body.reader().map_err(io)?, &self.trust.policy, |n| {
            if header_error.is_none() {
                header_error = header.node(n).err();
            }
        });
        let (signer, mut warnings) = match verified {
            Ok(v) => {
                let a = self.trust.assess(&v, now);
                if !a.valid {
                    // The headline code is the gravest reason; all are listed.
                    const GRAVITY: [&str; 8] = [
                        "certificate_revoked",
                        "certificate_untrusted",
                        "certificate_bad_signature",
                        "certificate_expired",
                        "certificate_not_yet_valid",
                        "certificate_wrong_key_usage",
                        "certificate_wrong_usage",
                        "signer_not_bound",
                    ];
                    let code = GRAVITY
                        .iter()
                        .find(|g| a.reasons.contains(g))
                        .copied()
                        .or_else(|| a.reasons.first().copied())
                        .unwrap_or("signature_invalid");
                    return Err(unprocessable(
                        code,
                        format!(
                            "Chữ ký số hoặc chứng thư số của gói tin không hợp lệ ({}). Kiểm tra chứng thư ký số của đơn vị gửi (còn hạn, chưa bị thu hồi, do CA được tin cậy cấp, gắn với mã định danh cơ quan gửi) rồi ký và gửi lại.",
                            a.reasons.join(", ")
                        ),
                    )
                    .with_extra("reasons", json!(a.reasons)));
                }
                (Some(a.signer.subject), a.warnings)
            }
            Err(DsigError::NoSignature) => (None, Vec::new()),
            Err(e) => {
                return Err(unprocessable(
                    e.code(),
                    format!(
                        "Gói tin bị từ chối khi kiểm tra chữ ký số: {e}. Gói tin không được lưu."
                    ),
                ))
            }
        };
        if member.edxml_strict {
            if let Err(v) = edxml::strict::check(body.reader().map_err(io)?) {
                return Err(unprocessable(
                    "edxml_schema_violation",
                    format!("Gói tin không đúng lược đồ edXML (QCVN 102:2016): {v}. Sửa phần mềm gửi cho đúng lược đồ rồi gửi lại."),
                ));
            }
        }
        let read = match header_error {
            Some(e) => Err(e),
            None => header.finish(),
        };
        let package = read.map_err(|e| {
            unprocessable(
                e.code(),
                format!("Gói tin edXML không đọc được: {e}. Gói tin không được lưu."),
            )
        })?;
        if signer.is_none() {
            let allowed = matches!(package, Package::Status(_)) && member.unsigned_status;
            if !allowed {
                return Err(unprocessable(
                    "signature_required",
                    if matches!(package, Package::Status(_)) {
                        "Gói tin trạng thái chưa được ký số; thành viên này phải ký số gói tin trạng thái.".into()
                    } else {
                        "Văn bản điện tử phải được ký số (chữ ký XML-DSig trong edXMLHeader)."
                            .into()
                    },
                ));
            }
            warnings.push("unsigned status package accepted by member policy".into());
        }
        Ok(Inspected {
            package,
            signer,
            warnings,
        })
    }

    /// Route one recipient organ. `caller` is the member that handed the package over (a
    /// package never goes back to the peer it came from); `None` for the gateway's own notices.
    fn recipient(
        &self,
        organ: &str,
        caller: Option<&Member>,
        sender_organ: &str,
    ) -> Option<Recipient> {
        let Ok(id) = OrganId::parse(organ) else {
            return Some(Recipient {
                organ: organ.to_owned(),
                state: "unroutable",
                member: None,
                mode: "none",
                order_key: None,
            });
        };
        match self.routes.resolve(&id) {
            // Never route a package back to the peer it came from.
            Route::Member(m) if caller.is_some_and(|c| c.id == m.id && c.is_peer()) => None,
            Route::Member(m) => Some(Recipient {
                organ: organ.to_owned(),
                state: "queued",
                member: Some(m.id.clone()),
                mode: if m.push_endpoint.is_some() {
                    "push"
                } else {
                    "pull"
                },
                order_key: m.ordered.then(|| format!("{sender_organ}|{}", m.id)),
            }),
            Route::Unroutable => Some(Recipient {
                organ: organ.to_owned(),
                state: "unroutable",
                member: None,
                mode: "none",
                order_key: None,
            }),
        }
    }

    /// Accept a package from `caller`: the whole pipeline up to the committed transaction.
    pub async fn accept(
        self: &Arc<Self>,
        caller: Arc<Member>,
        upload: Upload,
        request_id: &str,
        allow: Option<Arc<PendingAllow>>,
    ) -> Result<Accepted, Problem> {
        let this = self.clone();
        let rid = request_id.to_owned();
        let allowed = allow.clone();
        let slot = self.inspecting.acquire().await.map_err(store_error)?;
        // A small package is checked where it was read: a hop to a blocking thread and back
        // costs more than the check. A large one must not hold up this worker's other
        // requests, nor may a check that can wait on an OCSP responder.
        let pending = if upload.len <= INLINE_PREPARE_BYTES && !self.trust.may_block() {
            this.prepare(caller, upload, rid, allowed)
        } else {
            tokio::task::spawn_blocking(move || this.prepare(caller, upload, rid, allowed))
                .await
                .map_err(store_error)?
        };
        drop(slot);
        let mut pending = pending?;
        let accepted = match pending.routed.take() {
            // Routed already: written with the batch's other such packages.
            Some((recipients, receipt)) => {
                let ready = Ready { p: pending, recipients, receipt };
                self.store
                    .bulk::<Ready, Accepted, Problem>(self.clone(), ready)
                    .await
            }
            None => {
                let this = self.clone();
                self.store
                    .batched(move |tx| Box::pin(async move { this.accept_in(tx, pending).await }))
                    .await
            }
        }
        .map_err(store_error)??;
        if let Some(a) = allow {
            a.committed();
        }
        if !accepted.duplicate {
            if accepted.recipients.iter().any(|r| r.mode == "push") {
                self.wake.notify_waiters();
            }
            metrics::counter!("lienthong_edocs_accepted_total", "kind" => accepted.kind)
                .increment(1);
        }
        Ok(accepted)
    }

    /// Everything before the transaction, on a blocking thread: verify, check the caller may
    /// speak for `From`, derive the dedup key, route where the store is not needed, and write
    /// the receipt for that routing.
    fn prepare(
        &self,
        caller: Arc<Member>,
        upload: Upload,
        request_id: String,
        allow: Option<Arc<PendingAllow>>,
    ) -> Result<Pending, Problem> {
        let inspected = self.inspect(&upload.body, &caller)?;
        let (kind, from, document_id, status_code, header_json, response_for) =
            match &inspected.package {
                Package::Document { header, .. } => (
                    "document",
                    header.from.id.clone(),
                    header.document_id.clone(),
                    None,
                    serde_json::to_string(header).unwrap_or_default(),
                    None,
                ),
                Package::Status(s) => (
                    "status",
                    s.from.id.clone(),
                    s.response_for.document_id.clone(),
                    s.status.as_ref().map(edxml::write::status_code),
                    serde_json::to_string(s).unwrap_or_default(),
                    Some(s.response_for.clone()),
                ),
            };
        let from_id = OrganId::parse(&from).map_err(|e| {
            unprocessable(
                "edxml_bad_organ_id",
                format!("Mã định danh cơ quan gửi không hợp lệ: {e}"),
            )
        })?;
        if !caller.speaks_for(&from_id) {
            return Err(problem(
                StatusCode::FORBIDDEN,
                "organ_not_allowed",
                "Sender organ not allowed",
                format!(
                    "Thành viên {} không được gửi thay cơ quan có mã định danh {from}. Kiểm tra mã định danh trong From hoặc cấu hình organs của thành viên.",
                    caller.id
                ),
            ));
        }
        let action = match &inspected.package {
            Package::Document { header, .. } => Some(header.action()),
            Package::Status(_) => None,
        };
        let dedup_key = match action {
            Some(BusinessAction::New) => format!("document|{from}|{document_id}"),
            // A revoke, update or replace may reuse the DocumentId it acts on: identical bytes
            // are the same submission, different bytes a new action.
            Some(a) => format!("action|{from}|{document_id}|{a:?}|{}", upload.sha256),
            _ => format!("status|{from}|{}", upload.sha256),
        };
        let received_at = now_ms();
        let organs: Option<Vec<String>> = match &inspected.package {
            Package::Document { header, .. } if header.action() == BusinessAction::New => {
                Some(header.to.iter().map(|t| t.id.clone()).collect())
            }
            Package::Status(s) if s.response_for.organ_id != from => {
                Some(vec![s.response_for.organ_id.clone()])
            }
            _ => None,
        };
        let routed = match organs {
            Some(organs) => {
                let recipients = self.route(&organs, &caller, &from)?;
                let receipt = self.receipt_document(kind, &caller.id, &from, &document_id, &upload, received_at, &recipients);
                Some((recipients, receipt))
            }
            None => None,
        };
        Ok(Pending {
            caller,
            upload,
            inspected,
            kind,
            from,
            document_id,
            status_code,
            header_json,
            response_for,
            dedup_key,
            request_id,
            allow,
            received_at,
            routed,
        })
    }

    /// Recipients for `organs` (duplicates dropped, order kept); an empty list is refused.
    fn route(&self, organs: &[String], caller: &Arc<Member>, from: &str) -> Result<Vec<Recipient>, Problem> {
        let mut seen = std::collections::HashSet::new();
        let recipients: Vec<Recipient> = organs
            .iter()
            .filter(|o| seen.insert(o.as_str()))
            .filter_map(|o| self.recipient(o, Some(caller), from))
            .collect();
        if organs.is_empty() {
            return Err(unprocessable(
                "no_recipients",
                "Gói tin không có cơ quan nhận (To) nào mà cổng có thể xác định.".into(),
            ));
        }
        Ok(recipients)
    }

    /// The receipt for `upload` as accepted at `received_at` (unix ms), unsigned: it is signed
    /// when the sender fetches it (see [`receipt`]).
    #[allow(clippy::too_many_arguments)]
    fn receipt_document(
        &self,
        kind: &str,
        sender: &str,
        from: &str,
        document_id: &str,
        upload: &Upload,
        received_at: i64,
        recipients: &[Recipient],
    ) -> Vec<u8> {
        let states: Vec<(String, &'static str)> =
            recipients.iter().map(|r| (r.organ.clone(), r.state)).collect();
        let facts = ReceiptFacts {
            kind,
            sender,
            from_organ: from,
            document_id,
            sha256: &upload.sha256,
            size: upload.len,
            received_at: &rfc3339(received_at),
            recipients: &states,
        };
        receipt::document(&facts)
    }

    /// The transactional part of [`Exchange::accept`] for a package whose recipients depend on
    /// what is stored (business actions, the sender's own status 13): route from the
    /// document's history and write the receipt inside the transaction, then write it like any
    /// other package. Runs under its own savepoint in a group-commit batch.
    async fn accept_in(&self, tx: &mut Tx, p: Pending) -> Result<Accepted, Problem> {
        let organs = self.organs_from_history(tx, &p.inspected.package, &p.from).await?;
        let recipients = self.route(&organs, &p.caller, &p.from)?;
        let receipt = self.receipt_document(p.kind, &p.caller.id, &p.from, &p.document_id, &p.upload, p.received_at, &recipients);
        let ready = Ready { p, recipients, receipt };
        let (result, events) = self
            .write_ready(tx, vec![ready])
            .await
            .map_err(store_error)?
            .pop()
            .ok_or_else(|| store_error("edocs: no answer for the package"))?;
        let accepted = result?;
        let events: Vec<&Event> = events.iter().collect();
        audit::append_all_in(tx, self.store.backend(), &events)
            .await
            .map_err(store_error)?;
        Ok(accepted)
    }

    /// Write routed packages inside `tx`, many per statement: their rows, bytes and
    /// deliveries; a status package is then recorded on the delivery it answers. For each, in
    /// order: the answer, and the audit records to chain for it (the guard's allow record, then
    /// the accept record; only the allow record for a resubmission; none for a refusal, which
    /// writes nothing). `Err` (a failed statement) fails the whole transaction.
    async fn write_ready(
        &self,
        tx: &mut Tx,
        items: Vec<Ready>,
    ) -> Result<Vec<(Result<Accepted, Problem>, Vec<Event>)>, String> {
        let ids = {
            let mut storing: Vec<Storing<'_>> = Vec::with_capacity(items.len());
            let mut bytes: Vec<Bytes<'_>> = Vec::with_capacity(items.len());
            for it in &items {
                bytes.push(p_reader(&it.p)?);
                let p = &it.p;
                storing.push(Storing {
                    package: NewPackage {
                        kind: p.kind,
                        sender: &p.caller.id,
                        from_organ: &p.from,
                        document_id: &p.document_id,
                        status_code: p.status_code.as_deref(),
                        dedup_key: &p.dedup_key,
                        sha256: &p.upload.sha256,
                        size: p.upload.len,
                        signer: p.inspected.signer.as_deref(),
                        header_json: &p.header_json,
                        received_at: p.received_at,
                        concerns: match &p.inspected.package {
                            Package::Document { header, .. } => Some(header.concerns()),
                            Package::Status(_) => None,
                        },
                        receipt: &it.receipt,
                    },
                    recipients: &it.recipients,
                });
            }
            store_packages(tx, self.store.backend(), storing, bytes, self.cfg.chunk_bytes).await?
        };

        // Statuses, on the deliveries of the documents they answer.
        for (it, id) in items.iter().zip(&ids) {
            let p = &it.p;
            if let (Some(_), Some(rf), Some(code)) = (id, &p.response_for, &p.status_code) {
                const ALL: &str = "UPDATE deliveries SET status_code = $1, status_at = $2 WHERE edoc_id IN (SELECT id FROM edocs WHERE kind = 'document' AND from_organ = $3 AND document_id = $4)";
                const OWN: &str = "UPDATE deliveries SET status_code = $1, status_at = $2 WHERE edoc_id IN (SELECT id FROM edocs WHERE kind = 'document' AND from_organ = $3 AND document_id = $4) AND recipient_organ = $5";
                // A recipient reports on its own delivery; the sender (13) on all of them.
                let own = rf.organ_id != p.from;
                let mut q = sqlx::query(if own { OWN } else { ALL })
                    .bind(code)
                    .bind(p.received_at)
                    .bind(&rf.organ_id)
                    .bind(&rf.document_id);
                if own {
                    q = q.bind(&p.from);
                }
                q.execute(&mut **tx).await.map_err(|e| e.to_string())?;
            }
        }

        let mut outs = Vec::with_capacity(items.len());
        for (it, id) in items.into_iter().zip(ids) {
            let Ready { p, recipients, .. } = it;
            let mut events: Vec<Event> = p.allow.iter().map(|a| a.event.clone()).collect();
            let Some(id) = id else {
                // Seen before (or earlier in this batch): the same bytes are the same
                // submission, other bytes a conflict.
                let answer = match self
                    .resubmitted(tx, &p.dedup_key, &p.upload.sha256, p.kind, &p.from, p.document_id)
                    .await
                {
                    Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => {
                        return Err(e.detail.clone())
                    }
                    other => other,
                };
                if answer.is_err() {
                    events.clear();
                }
                outs.push((answer, events));
                continue;
            };
            events.push(Event {
                kind: "message",
                actor: p.caller.id.clone(),
                action: format!("edoc.accept {}", p.kind),
                outcome: "accepted".into(),
                request_id: p.request_id.clone(),
                detail: json!({
                    "id": id,
                    "from": p.from,
                    "document_id": p.document_id,
                    "sha256": p.upload.sha256,
                    "size": p.upload.len,
                    "signed": p.inspected.signer.is_some(),
                    "recipients": recipients.iter().map(|r| json!([r.organ, r.state])).collect::<Vec<_>>(),
                    "warnings": p.inspected.warnings,
                    "action": match &p.inspected.package {
                        Package::Document { header, .. } => Some(format!("{:?}", header.action()).to_lowercase()),
                        Package::Status(_) => None,
                    },
                }),
            });
            outs.push((
                Ok(Accepted {
                    id,
                    kind: p.kind,
                    document_id: p.document_id,
                    sha256: p.upload.sha256,
                    recipients,
                    duplicate: false,
                }),
                events,
            ));
        }
        Ok(outs)
    }

    /// Organs a package reaches when that depends on what is stored: a business action also
    /// reaches everyone the document it acts on went to and (update) the organs it adds or
    /// removes; the sender's own status (13: take back) reaches every recipient.
    async fn organs_from_history(
        &self,
        tx: &mut Tx,
        package: &Package,
        from: &str,
    ) -> Result<Vec<String>, Problem> {
        let mut organs: Vec<String> = Vec::new();
        match package {
            Package::Document { header, .. } => {
                organs.extend(header.to.iter().map(|t| t.id.clone()));
                match header.action() {
                    BusinessAction::New => {}
                    BusinessAction::Revoke | BusinessAction::Update => {
                        organs.extend(self.current_recipients(tx, from, header.concerns()).await?);
                        organs.extend(header.receiver_changes.iter().map(|r| r.organ_id.clone()));
                    }
                    BusinessAction::Replace => {
                        for r in &header.replacements {
                            organs.extend(r.organs.iter().cloned());
                            organs.extend(self.current_recipients(tx, from, &r.document_id).await?);
                        }
                    }
                }
            }
            Package::Status(s) => {
                let rows = sqlx::query(
                    "SELECT DISTINCT d.recipient_organ FROM deliveries d JOIN edocs e ON e.id = d.edoc_id WHERE e.kind = 'document' AND e.from_organ = $1 AND e.document_id = $2",
                )
                .bind(from)
                .bind(&s.response_for.document_id)
                .fetch_all(&mut **tx)
                .await
                .map_err(store_error)?;
                for r in rows {
                    organs.push(r.try_get("recipient_organ").map_err(store_error)?);
                }
            }
        }
        Ok(organs)
    }

    /// The answer to a package whose dedup key is already stored (writes nothing).
    #[allow(clippy::too_many_arguments)]
    async fn resubmitted(
        &self,
        tx: &mut Tx,
        dedup_key: &str,
        sha256: &str,
        kind: &'static str,
        from: &str,
        document_id: String,
    ) -> Result<Accepted, Problem> {
        let row = sqlx::query("SELECT id, sha256 FROM edocs WHERE dedup_key = $1")
            .bind(dedup_key)
            .fetch_one(&mut **tx)
            .await
            .map_err(store_error)?;
        let id: i64 = row.try_get("id").map_err(store_error)?;
        let sha: String = row.try_get("sha256").map_err(store_error)?;
        if sha != sha256 {
            return Err(problem(
                StatusCode::CONFLICT,
                "document_id_conflict",
                "DocumentId already used",
                format!(
                    "Cơ quan {from} đã gửi một văn bản khác với cùng DocumentId {document_id:?} (gói số {id}). Mỗi văn bản phải có DocumentId riêng."
                ),
            )
            .with_extra("existing_id", id));
        }
        let recipients = self.recipients_of(tx, id).await?;
        Ok(Accepted {
            id,
            kind,
            document_id,
            sha256: sha,
            recipients,
            duplicate: true,
        })
    }

    /// Tell the sender of document `edoc_id` that it could not be delivered to `organ`: a status
    /// package (02, with the reason) signed by the gateway, routed to the sender like any status.
    /// Runs inside the transaction that marks the delivery dead.
    pub async fn dead_letter_notice(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        edoc_id: i64,
        delivery_id: i64,
        organ: &str,
        why: &str,
    ) -> Result<Option<i64>, String> {
        let e = |e: sqlx::Error| e.to_string();
        let row = sqlx::query("SELECT kind, from_organ, document_id FROM edocs WHERE id = $1")
            .bind(edoc_id)
            .fetch_one(&mut **tx)
            .await
            .map_err(e)?;
        let kind: String = row.try_get("kind").map_err(e)?;
        if kind != "document" {
            return Ok(None);
        }
        let from: String = row.try_get("from_organ").map_err(e)?;
        let document_id: String = row.try_get("document_id").map_err(e)?;
        let vn = chrono::FixedOffset::east_opt(7 * 3600).ok_or("offset")?;
        let header = lienthong_contract::edoc::StatusHeader {
            from: lienthong_contract::edoc::Organ {
                id: organ.to_owned(),
                name: Some("Cổng liên thông (thông báo thay cơ quan nhận)".into()),
                ..Default::default()
            },
            response_for: lienthong_contract::edoc::ResponseFor {
                organ_id: from.clone(),
                code: None,
                promulgation_date: None,
                document_id: document_id.clone(),
            },
            status: Some(lienthong_contract::edoc::StatusCode::Rejected),
            description: Some(format!(
                "Cổng liên thông không chuyển được văn bản tới cơ quan {organ} sau nhiều lần thử; văn bản CHƯA đến nơi nhận. Lý do: {why}"
            )),
            timestamp: Some(chrono::Utc::now().with_timezone(&vn).format("%Y/%m/%d %H:%M:%S").to_string()),
        };
        let bytes = self
            .signer
            .sign(&edxml::write::status(&header))
            .map_err(|e| e.to_string())?;
        let sha = hex::encode(openssl::sha::sha256(&bytes));
        let recipients: Vec<Recipient> = self.recipient(&from, None, organ).into_iter().collect();
        let id = store_package(
            tx,
            self.store.backend(),
            NewPackage {
                kind: "status",
                sender: "-",
                from_organ: organ,
                document_id: &document_id,
                status_code: Some("02"),
                // Each time a delivery ends in dead letter (again, after an operator's retry)
                // the sender is told again.
                dedup_key: &format!("notice|{delivery_id}|{}", now_ms()),
                sha256: &sha,
                size: bytes.len() as u64,
                signer: Some("lienthong gateway"),
                header_json: &serde_json::to_string(&header).unwrap_or_default(),
                received_at: now_ms(),
                concerns: None,
                receipt: &[],
            },
            &bytes[..],
            self.cfg.chunk_bytes,
            &recipients,
        )
        .await?;
        Ok(id)
    }

    /// The organs document `document_id` of `from` currently goes to: its history (the
    /// document and the business actions on it) replayed by [`recipient_set`].
    async fn current_recipients(
        &self,
        tx: &mut Tx,
        from: &str,
        document_id: &str,
    ) -> Result<Vec<String>, Problem> {
        let rows = sqlx::query(
            "SELECT header FROM edocs WHERE kind = 'document' AND from_organ = $1 AND (concerns = $2 OR document_id = $2) ORDER BY id",
        )
        .bind(from)
        .bind(document_id)
        .fetch_all(&mut **tx)
        .await
        .map_err(store_error)?;
        let mut history = Vec::with_capacity(rows.len());
        for r in rows {
            let json: String = r.try_get("header").map_err(store_error)?;
            history.push(serde_json::from_str::<DocumentHeader>(&json).map_err(store_error)?);
        }
        Ok(recipient_set(&history))
    }

    async fn recipients_of(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        id: i64,
    ) -> Result<Vec<Recipient>, Problem> {
        let rows = sqlx::query(
            "SELECT recipient_organ, member, state FROM deliveries WHERE edoc_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut **tx)
        .await
        .map_err(store_error)?;
        let mut out = Vec::new();
        for r in rows {
            let state: String = r.try_get("state").map_err(store_error)?;
            out.push(Recipient {
                organ: r.try_get("recipient_organ").map_err(store_error)?,
                // The current state, so a resubmission shows how far delivery has got.
                state: match state.as_str() {
                    "unroutable" => "unroutable",
                    "delivered" => "delivered",
                    "acked" => "acked",
                    "failed" => "failed",
                    "dead" => "dead",
                    _ => "queued",
                },
                member: r.try_get("member").map_err(store_error)?,
                mode: "",
                order_key: None,
            });
        }
        Ok(out)
    }

    /// `GET /v1/edocs/inbox`: packages for the caller, oldest first, after a cursor.
    pub async fn inbox(
        &self,
        member: &Member,
        after: i64,
        limit: i64,
    ) -> Result<serde_json::Value, Problem> {
        let rows = sqlx::query(
            "SELECT d.id AS cursor, d.state, d.recipient_organ, e.id, e.kind, e.from_organ, e.document_id, e.status_code, e.received_at, e.size, e.sha256 FROM deliveries d JOIN edocs e ON e.id = d.edoc_id WHERE d.member = $1 AND d.mode = 'pull' AND d.id > $2 ORDER BY d.id LIMIT $3",
        )
        .bind(&member.id)
        .bind(after)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await
        .map_err(store_error)?;
        let mut items = Vec::with_capacity(rows.len());
        let mut next = after;
        for r in rows {
            let g = |e| store_error(e);
            let cursor: i64 = r.try_get("cursor").map_err(g)?;
            next = cursor;
            items.push(json!({
                "cursor": cursor,
                "id": r.try_get::<i64, _>("id").map_err(g)?,
                "kind": r.try_get::<String, _>("kind").map_err(g)?,
                "from": r.try_get::<String, _>("from_organ").map_err(g)?,
                "to": r.try_get::<String, _>("recipient_organ").map_err(g)?,
                "document_id": r.try_get::<String, _>("document_id").map_err(g)?,
                "status_code": r.try_get::<Option<String>, _>("status_code").map_err(g)?,
                "received_at": rfc3339(r.try_get::<i64, _>("received_at").map_err(g)?),
                "size": r.try_get::<i64, _>("size").map_err(g)?,
                "sha256": r.try_get::<String, _>("sha256").map_err(g)?,
                "state": r.try_get::<String, _>("state").map_err(g)?,
            }));
        }
        Ok(json!({ "items": items, "next_after": next }))
    }

    /// Who may read package `id`: its sender, or a member it is delivered to. Returns the
    /// sender member id.
    async fn authorize_read(&self, member: &Member, id: i64) -> Result<String, Problem> {
        let row = sqlx::query("SELECT sender FROM edocs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await
            .map_err(store_error)?;
        let Some(row) = row else {
            return Err(edoc_not_found(id));
        };
        let sender: String = row.try_get("sender").map_err(store_error)?;
        if sender == member.id {
            return Ok(sender);
        }
        let n: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM deliveries WHERE edoc_id = $1 AND member = $2")
                .bind(id)
                .bind(&member.id)
                .fetch_one(self.store.pool())
                .await
                .map_err(store_error)?
                .try_get("n")
                .map_err(store_error)?;
        if n == 0 {
            // Same answer as a missing package: do not reveal other members' traffic.
            return Err(edoc_not_found(id));
        }
        Ok(sender)
    }

    /// The stored package, chunk by chunk, as a streaming body. Marks pull deliveries fetched.
    pub async fn package(&self, member: &Member, id: i64) -> Result<axum::body::Body, Problem> {
        self.authorize_read(member, id).await?;
        {
            let _w = self.store.writer().await;
            sqlx::query("UPDATE deliveries SET state = 'delivered', delivered_at = $1 WHERE edoc_id = $2 AND member = $3 AND mode = 'pull' AND state = 'queued'")
                .bind(now_ms())
                .bind(id)
                .bind(&member.id)
                .execute(self.store.pool())
                .await
                .map_err(store_error)?;
        }
        Ok(chunk_body(self.store.clone(), id))
    }

    /// `POST /v1/edocs/{id}/ack`.
    pub async fn ack(
        &self,
        member: &Member,
        id: i64,
        done: bool,
        reason: Option<String>,
        request_id: &str,
    ) -> Result<serde_json::Value, Problem> {
        let _w = self.store.writer().await;
        let mut tx = self.store.begin_serial().await.map_err(store_error)?;
        let state = if done { "acked" } else { "failed" };
        let n = sqlx::query("UPDATE deliveries SET state = $1, acked_at = $2, ack_reason = $3, delivered_at = COALESCE(delivered_at, $2) WHERE edoc_id = $4 AND member = $5 AND mode = 'pull'")
            .bind(state)
            .bind(now_ms())
            .bind(&reason)
            .bind(id)
            .bind(&member.id)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?
            .rows_affected();
        if n == 0 {
            return Err(edoc_not_found(id));
        }
        audit::append_in(
            &mut tx,
            self.store.backend(),
            &Event {
                kind: "message",
                actor: member.id.clone(),
                action: "edoc.ack".into(),
                outcome: state.into(),
                request_id: request_id.to_owned(),
                detail: json!({ "id": id, "reason": reason }),
            },
        )
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(json!({ "id": id, "state": state }))
    }

    /// `GET /v1/edocs/{id}/deliveries`, for the sender.
    pub async fn deliveries(&self, member: &Member, id: i64) -> Result<serde_json::Value, Problem> {
        let sender = self.authorize_read(member, id).await?;
        if sender != member.id {
            return Err(edoc_not_found(id));
        }
        let rows = sqlx::query("SELECT recipient_organ, member, mode, state, attempts, last_error, status_code, status_at, created_at, delivered_at, acked_at, ack_reason FROM deliveries WHERE edoc_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(self.store.pool())
            .await
            .map_err(store_error)?;
        let mut out = Vec::new();
        for r in rows {
            let g = |e| store_error(e);
            let t = |k: &str| -> Result<Option<String>, Problem> {
                Ok(r.try_get::<Option<i64>, _>(k)
                    .map_err(store_error)?
                    .map(rfc3339))
            };
            out.push(json!({
                "organ": r.try_get::<String, _>("recipient_organ").map_err(g)?,
                "member": r.try_get::<Option<String>, _>("member").map_err(g)?,
                "mode": r.try_get::<String, _>("mode").map_err(g)?,
                "state": r.try_get::<String, _>("state").map_err(g)?,
                "attempts": r.try_get::<i64, _>("attempts").map_err(g)?,
                "last_error": r.try_get::<Option<String>, _>("last_error").map_err(g)?,
                "status_code": r.try_get::<Option<String>, _>("status_code").map_err(g)?,
                "status_at": t("status_at")?,
                "created_at": t("created_at")?,
                "delivered_at": t("delivered_at")?,
                "acked_at": t("acked_at")?,
                "ack_reason": r.try_get::<Option<String>, _>("ack_reason").map_err(g)?,
            }));
        }
        Ok(json!({ "id": id, "deliveries": out }))
    }

    /// `GET /v1/edocs/{id}/receipt`, for the sender.
    pub async fn receipt(&self, member: &Member, id: i64) -> Result<Vec<u8>, Problem> {
        let sender = self.authorize_read(member, id).await?;
        if sender != member.id {
            return Err(edoc_not_found(id));
        }
        let stored: Vec<u8> = sqlx::query("SELECT receipt FROM edocs WHERE id = $1")
            .bind(id)
            .fetch_one(self.store.pool())
            .await
            .map_err(store_error)?
            .try_get("receipt")
            .map_err(store_error)?;
        self.signer.signed(stored).map_err(store_error)
    }
}

pub fn edoc_not_found(id: i64) -> Problem {
    problem(
        StatusCode::NOT_FOUND,
        "edoc_not_found",
        "Package not found",
        format!("Không có gói tin số {id} mà thành viên này được xem."),
    )
}

/// A response body that reads the package's chunks one at a time.
pub fn chunk_body(store: Store, id: i64) -> axum::body::Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        let mut seq: i64 = 0;
        loop {
            let row = sqlx::query("SELECT bytes FROM edoc_chunks WHERE edoc_id = $1 AND seq = $2")
                .bind(id)
                .bind(seq)
                .fetch_optional(store.pool())
                .await;
            let item = match row {
                Ok(Some(r)) => match r.try_get::<Vec<u8>, _>("bytes") {
                    Ok(b) => Ok(axum::body::Bytes::from(b)),
                    Err(e) => Err(std::io::Error::other(e.to_string())),
                },
                Ok(None) => break,
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
            seq += 1;
        }
    });
    axum::body::Body::new(ChannelBody { rx })
}

struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>,
}

impl http_body::Body for ChannelBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|o| o.map(|r| r.map(http_body::Frame::data)))
    }
}

/// A package about to be stored.
/// The recipients of a document after its history of business actions, in order of first
/// appearance: every package adds its `To`; an update then adds and removes per `ReceiverList`.
pub fn recipient_set(history: &[DocumentHeader]) -> Vec<String> {
    let mut set: Vec<String> = Vec::new();
    for h in history {
        for t in &h.to {
            if !set.contains(&t.id) {
                set.push(t.id.clone());
            }
        }
        if h.action() == BusinessAction::Update {
            for c in &h.receiver_changes {
                set.retain(|o| o != &c.organ_id);
                if c.added {
                    set.push(c.organ_id.clone());
                }
            }
        }
    }
    set
}

pub struct NewPackage<'a> {
    pub kind: &'a str,
    pub sender: &'a str,
    pub from_organ: &'a str,
    pub document_id: &'a str,
    pub status_code: Option<&'a str>,
    pub dedup_key: &'a str,
    pub sha256: &'a str,
    pub size: u64,
    pub signer: Option<&'a str>,
    pub header_json: &'a str,
    pub received_at: i64,
    /// The DocumentId a business action acts on (`Bussiness/DocumentId`); None for statuses.
    pub concerns: Option<&'a str>,
    /// The gateway's signed receipt (empty for packages the gateway wrote itself).
    pub receipt: &'a [u8],
}

/// A package to insert: its row and its recipients (its bytes come beside it).
struct Storing<'a> {
    package: NewPackage<'a>,
    recipients: &'a [Recipient],
}

type Bytes<'a> = Box<dyn std::io::Read + Send + 'a>;

/// Packages up to this size are checked on the async worker that read them (about 0.2 ms of
/// CPU for a signed 10 KB package); larger ones on a blocking thread.
const INLINE_PREPARE_BYTES: u64 = 64 * 1024;

/// Rows per multi-row statement: within every backend's parameter limit (13 per package,
/// 8 per delivery, 3 per chunk).
const PACKAGE_ROWS: usize = 64;
const DELIVERY_ROWS: usize = 1000;
const CHUNK_ROWS: usize = 256;
/// Bytes of package content per statement, so that many large packages are not all held.
const CHUNK_STATEMENT_BYTES: usize = 8 << 20;

/// Insert a package (its bytes from `bytes`, in chunks) and its deliveries inside `tx`.
/// `None` (and nothing written) when a package with the same dedup key is already stored.
async fn store_package(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::store::Backend,
    package: NewPackage<'_>,
    bytes: &[u8],
    chunk_bytes: usize,
    recipients: &[Recipient],
) -> Result<Option<i64>, String> {
    let one = Storing { package, recipients };
    Ok(store_packages(tx, backend, vec![one], vec![Box::new(bytes)], chunk_bytes)
        .await?
        .pop()
        .flatten())
}

/// Insert packages, their bytes (`bytes`, one reader each, stored in `chunk_bytes` pieces)
/// and their deliveries inside `tx`,
/// many rows per statement. For each, its new id, or `None` (and nothing of it written) when
/// a package with the same dedup key is already stored or comes earlier in `items`.
async fn store_packages(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::store::Backend,
    items: Vec<Storing<'_>>,
    bytes: Vec<Bytes<'_>>,
    chunk_bytes: usize,
) -> Result<Vec<Option<i64>>, String> {
    use crate::store::values;
    let e = |e: sqlx::Error| e.to_string();
    let mut new_ids: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for group in crate::store::in_row_groups(&items, PACKAGE_ROWS) {
        let sql = format!(
            "INSERT INTO edocs (kind, sender, from_organ, document_id, status_code, dedup_key, sha256, size, signer, received_at, header, receipt, concerns) VALUES {} ON CONFLICT (dedup_key) DO NOTHING RETURNING id, dedup_key",
            values(backend, group.len(), "({})", 13, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for it in group {
            let p = &it.package;
            q = q
                .bind(p.kind)
                .bind(p.sender)
                .bind(p.from_organ)
                .bind(p.document_id)
                .bind(p.status_code)
                .bind(p.dedup_key)
                .bind(p.sha256)
                .bind(p.size as i64)
                .bind(p.signer)
                .bind(p.received_at)
                .bind(p.header_json)
                .bind(p.receipt.to_vec())
                .bind(p.concerns);
        }
        for row in q.fetch_all(&mut **tx).await.map_err(e)? {
            new_ids.insert(row.try_get("dedup_key").map_err(e)?, row.try_get("id").map_err(e)?);
        }
    }
    // The first item with a new dedup key is the one inserted.
    let ids: Vec<Option<i64>> = items
        .iter()
        .map(|it| new_ids.remove(it.package.dedup_key))
        .collect();

    // The exact bytes, in chunks, many chunks per statement.
    let mut rows: Vec<(i64, i64, Vec<u8>)> = Vec::new();
    let mut held = 0usize;
    for ((reader, id), it) in bytes.into_iter().zip(&ids).zip(&items) {
        let Some(id) = *id else { continue };
        let mut reader = std::io::Read::take(reader, u64::MAX);
        let mut left = it.package.size as usize;
        let mut seq: i64 = 0;
        loop {
            // Sized to what is left (a 1 MiB chunk size must not cost 1 MiB per small package).
            let mut buf = Vec::with_capacity(chunk_bytes.min(left.max(1)));
            reader.set_limit(chunk_bytes as u64);
            std::io::Read::read_to_end(&mut reader, &mut buf).map_err(|e| e.to_string())?;
            let filled = buf.len();
            if filled == 0 {
                break;
            }
            left = left.saturating_sub(filled);
            held += filled;
            rows.push((id, seq, buf));
            seq += 1;
            if rows.len() >= CHUNK_ROWS || held >= CHUNK_STATEMENT_BYTES {
                insert_chunks(tx, backend, std::mem::take(&mut rows)).await?;
                held = 0;
            }
            if filled < chunk_bytes {
                break;
            }
        }
    }
    insert_chunks(tx, backend, rows).await?;

    // The recipients, many per statement.
    let deliveries: Vec<(i64, i64, &Recipient)> = items
        .iter()
        .zip(&ids)
        .filter_map(|(it, id)| id.map(|id| (id, it.package.received_at, it.recipients)))
        .flat_map(|(id, at, rs)| rs.iter().map(move |r| (id, at, r)))
        .collect();
    for group in crate::store::in_row_groups(&deliveries, DELIVERY_ROWS) {
        let sql = format!(
            "INSERT INTO deliveries (edoc_id, recipient_organ, member, mode, state, order_key, next_attempt_at, created_at, attempts) VALUES {}",
            values(backend, group.len(), "({}, 0)", 8, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, at, r) in group {
            q = q
                .bind(*id)
                .bind(r.organ.clone())
                .bind(r.member.clone())
                .bind(r.mode)
                .bind(r.state)
                .bind(r.order_key.clone())
                .bind(*at)
                .bind(*at);
        }
        q.execute(&mut **tx).await.map_err(e)?;
    }
    Ok(ids)
}

/// The bytes of a pending package, from where its upload was kept.
fn p_reader(p: &Pending) -> Result<Bytes<'_>, String> {
    Ok(Box::new(p.upload.body.reader().map_err(|e| e.to_string())?))
}

/// Multi-row inserts of package chunks `(edoc_id, seq, bytes)`.
async fn insert_chunks(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::store::Backend,
    mut rows: Vec<(i64, i64, Vec<u8>)>) -> Result<(), String> {
    for size in crate::store::row_groups(rows.len(), CHUNK_ROWS).collect::<Vec<_>>() {
        let sql = format!(
            "INSERT INTO edoc_chunks (edoc_id, seq, bytes) VALUES {}",
            crate::store::values(backend, size, "({})", 3, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, seq, bytes) in rows.drain(..size) {
            q = q.bind(id).bind(seq).bind(bytes);
        }
        q.execute(&mut **tx).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// All bytes of a stored package (for pushes).
pub async fn package_bytes(store: &Store, id: i64) -> Result<Vec<u8>, sqlx::Error> {
    let rows = sqlx::query("SELECT bytes FROM edoc_chunks WHERE edoc_id = $1 ORDER BY seq")
        .bind(id)
        .fetch_all(store.pool())
        .await?;
    let mut out = Vec::new();
    for r in rows {
        out.extend_from_slice(&r.try_get::<Vec<u8>, _>("bytes")?);
    }
    Ok(out)
}
#[cfg(test)]
mod tests {
    use super::*;
    use lienthong_contract::edoc::{Organ, ReceiverChange};

    fn doc(action: &str, to: &[&str], changes: &[(&str, bool)]) -> DocumentHeader {
        DocumentHeader {
            to: to
                .iter()
                .map(|t| Organ {
                    id: (*t).into(),
                    ..Default::default()
                })
                .collect(),
            business_doc_type: Some(action.into()),
            receiver_changes: changes
                .iter()
                .map(|(o, added)| ReceiverChange {
                    organ_id: (*o).into(),
                    added: *added,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn recipient_set_replays_updates() {
        let history = [
            doc("0", &["B", "C"], &[]),
            doc("2", &["B", "C"], &[("D", true), ("C", false)]),
        ];
        assert_eq!(recipient_set(&history), ["B", "D"]);
        // A later update can bring a removed organ back; a revoke changes nothing.
        let mut more = history.to_vec();
        more.push(doc("2", &[], &[("C", true)]));
        more.push(doc("1", &["B"], &[]));
        assert_eq!(recipient_set(&more), ["B", "D", "C"]);
        // Changes on a package that is not an update are ignored.
        assert_eq!(recipient_set(&[doc("0", &["B"], &[("B", false)])]), ["B"]);
    }
}
