//! Tracking by polling: `GET apiGetOrderTracking?pagesize=N&lastId=<oid>` from the persisted
//! cursor, page after page while pages come full, then every `poll_ms`.
//!
//! A page is applied in one transaction: each event is stored once (unique by its `$oid`), moves
//! its order (`sent`, or `delivered` for a code in `delivered_codes`), tells the installation
//! (`postal.event`), and a delivered result moves the dossier from 9 to `delivered_status`;
//! the cursor moves past the page in the same transaction, compare-and-set, so two nodes polling
//! at once cannot both apply a page and a crash at any point loses nothing. Events of other
//! customer codes and of orders unknown here are skipped (counted, logged by order number).

use super::{now_ms, Direction, Postal};
use lienthong_contract::dossier::DossierStatus;
use lienthong_vnpost::wire::{Event, Page, FIRST_ID};
use serde_json::json;
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;

/// Pages followed in one round before waiting for the next.
const MAX_PAGES_PER_ROUND: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("{0}")]
    Vnpost(#[from] lienthong_vnpost::client::Error),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// Another node moved the cursor first; its page is applied, ours rolled back.
    #[error("the tracking cursor moved under us (another node polled)")]
    Raced,
}

impl From<sqlx::Error> for PollError {
    fn from(e: sqlx::Error) -> Self {
        PollError::Store(e.into())
    }
}

/// What one page did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Events on the page.
    pub returned: usize,
    /// Applied now (new, ours, for a known order).
    pub applied: usize,
    /// Seen before (already applied).
    pub repeated: usize,
    /// For another customer code, or an order unknown here.
    pub skipped: usize,
    /// Dossiers moved to `delivered_status`.
    pub dossiers_returned: usize,
}

impl Postal {
    /// The cursor: the last `$oid` applied.
    pub async fn cursor(&self) -> Result<String, sqlx::Error> {
        Ok(
            sqlx::query("SELECT last_id FROM postal_cursor WHERE customer_code = $1")
                .bind(self.cfg.customer_code.clone())
                .fetch_optional(self.store.pool())
                .await?
                .map(|r| r.try_get::<String, _>("last_id"))
                .transpose()?
                .unwrap_or_else(|| FIRST_ID.to_owned()),
        )
    }

    /// Fetch and apply one page after the cursor; `more` when another page is waiting.
    pub async fn poll_page(&self) -> Result<(Applied, bool), PollError> {
        let cursor = self.cursor().await?;
        let size = self.cfg.page_size.clamp(1, 1000);
        let page = self.client.tracking(size, &cursor).await?;
        let more = page.total_pages > 1 || (page.events.len() as u32 >= size && size > 0);
        let applied = self.apply(&cursor, &page).await?;
        Ok((applied, more && applied.returned > 0))
    }

    /// Poll until the list is drained (or [`MAX_PAGES_PER_ROUND`]): the totals.
    pub async fn poll_round(&self) -> Result<Applied, PollError> {
        let mut total = Applied::default();
        for _ in 0..MAX_PAGES_PER_ROUND {
            let (a, more) = self.poll_page().await?;
            total.returned += a.returned;
            total.applied += a.applied;
            total.repeated += a.repeated;
            total.skipped += a.skipped;
            total.dossiers_returned += a.dossiers_returned;
            if !more {
                break;
            }
        }
        Ok(total)
    }

    async fn apply(&self, cursor: &str, page: &Page) -> Result<Applied, PollError> {
        let mut out = Applied {
            returned: page.events.len(),
            ..Applied::default()
        };
        let Some(last) = page.events.last() else {
            return Ok(out);
        };
        let now = now_ms();
        let mut tx = self.store.begin_serial().await?;
        for ev in &page.events {
            match self.apply_event(&mut tx, ev, now).await? {
                EventOutcome::Applied { dossier_returned } => {
                    out.applied += 1;
                    out.dossiers_returned += usize::from(dossier_returned);
                }
                EventOutcome::Repeated => out.repeated += 1,
                EventOutcome::Skipped => out.skipped += 1,
            }
        }
        let moved = if cursor == FIRST_ID {
            sqlx::query(
                "INSERT INTO postal_cursor (customer_code, last_id, updated_at) VALUES ($1, $2, $3) ON CONFLICT (customer_code) DO UPDATE SET last_id = excluded.last_id, updated_at = excluded.updated_at WHERE postal_cursor.last_id = $4",
            )
            .bind(self.cfg.customer_code.clone())
            .bind(last.id.clone())
            .bind(now)
            .bind(FIRST_ID)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query(
                "UPDATE postal_cursor SET last_id = $1, updated_at = $2 WHERE customer_code = $3 AND last_id = $4",
            )
            .bind(last.id.clone())
            .bind(now)
            .bind(self.cfg.customer_code.clone())
            .bind(cursor.to_owned())
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if moved != 1 {
            return Err(PollError::Raced);
        }
        tx.commit().await?;
        if out.dossiers_returned > 0 {
            self.dossiers.wake_portal();
        }
        metrics::counter!("lienthong_postal_events_total", "outcome" => "applied")
            .increment(out.applied as u64);
        metrics::counter!("lienthong_postal_events_total", "outcome" => "skipped")
            .increment(out.skipped as u64);
        Ok(out)
    }

    async fn apply_event(
        &self,
        tx: &mut crate::store::Tx,
        ev: &Event,
        now: i64,
    ) -> Result<EventOutcome, PollError> {
        if ev.customer_code != self.cfg.customer_code {
            tracing::info!(customer = %ev.customer_code, event = %ev.id, "vnpost: event of another customer code skipped");
            return Ok(EventOutcome::Skipped);
        }
        let Some(order) = sqlx::query(
            "SELECT dossier_code, member, direction, state FROM postal_orders WHERE order_number = $1",
        )
        .bind(ev.order_number.clone())
        .fetch_optional(&mut **tx)
        .await?
        else {
            tracing::info!(order = %ev.order_number, event = %ev.id, "vnpost: event for an order unknown here skipped");
            return Ok(EventOutcome::Skipped);
        };
        let inserted = sqlx::query(
            "INSERT INTO postal_events (event_id, order_number, status_code, status_message, item_code, event_time, pos_id, notes, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(ev.id.clone())
        .bind(ev.order_number.clone())
        .bind(ev.status_code.clone())
        .bind(ev.status_message.clone())
        .bind(ev.item_code.clone())
        .bind(ev.event_time.clone())
        .bind(ev.pos_id.clone())
        .bind(ev.notes.clone())
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(EventOutcome::Repeated);
        }
        let dossier: String = order.try_get("dossier_code")?;
        let member: String = order.try_get("member")?;
        let direction: String = order.try_get("direction")?;
        let state: String = order.try_get("state")?;
        let delivered = self.cfg.delivered_codes.contains(&ev.status_code);
        // The carrier has the parcel: a create still queued, retried or given up on is done; a
        // cancelled order keeps its word (the event is recorded all the same).
        let new_state = if delivered && state != "cancelled" {
            "delivered".to_owned()
        } else if state == "queued" || state == "failed" {
            // VNPost has the parcel: a create still waiting, or one given up on after a lost
            // answer, was made after all.
            "sent".to_owned()
        } else {
            state
        };
        sqlx::query(
            "UPDATE postal_orders SET state = $1, carrier_status = $2, item_code = CASE WHEN $3 = '' THEN item_code ELSE $3 END, job = CASE WHEN job = 'create' THEN 'none' ELSE job END, updated_at = $4 WHERE order_number = $5",
        )
        .bind(new_state.clone())
        .bind(ev.status_code.clone())
        .bind(ev.item_code.clone())
        .bind(now)
        .bind(ev.order_number.clone())
        .execute(&mut **tx)
        .await?;
        let mut notice = json!({
            "order_number": ev.order_number,
            "direction": direction,
            "state": new_state,
            "status_code": ev.status_code,
            "status_message": ev.status_message,
            "event_time": ev.event_time,
            "item_code": ev.item_code,
            "delivered": delivered,
        });
        let mut dossier_returned = false;
        if delivered
            && direction == Direction::ResultDelivery.as_str()
            && self.cfg.delivered_status != 0
        {
            let status: i64 = sqlx::query("SELECT status FROM dossiers WHERE code = $1")
                .bind(dossier.clone())
                .fetch_one(&mut **tx)
                .await?
                .try_get("status")?;
            if let (Some(DossierStatus::Processed), Some(to)) = (
                DossierStatus::from_code(status),
                DossierStatus::from_code(i64::from(self.cfg.delivered_status)),
            ) {
                let note = format!(
                    "Đã phát kết quả qua bưu chính công ích, mã bưu gửi {}",
                    ev.item_code
                );
                let rid = format!("vnpost-{}", ev.id);
                if let Some(seq) = self
                    .dossiers
                    .advance_in(tx, &dossier, to, "vnpost", &rid, &note)
                    .await?
                {
                    notice["dossier_status"] = json!(to.code());
                    notice["dossier_seq"] = json!(seq);
                    dossier_returned = true;
                }
            }
        }
        crate::notices::notify_in(tx, &member, &dossier, "postal.event", &notice, now).await?;
        Ok(EventOutcome::Applied { dossier_returned })
    }

    /// Poll every `poll_ms` (at once when woken) until shutdown.
    pub async fn run_tracker(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let every = Duration::from_millis(self.cfg.poll_ms.max(100));
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.poll_round().await {
                Ok(a) if a.returned > 0 => {
                    tracing::info!(
                        applied = a.applied,
                        repeated = a.repeated,
                        skipped = a.skipped,
                        returned = a.dossiers_returned,
                        "vnpost: tracking events"
                    )
                }
                Ok(_) => {}
                Err(PollError::Raced) => {}
                Err(e) => tracing::warn!(error = %e, "vnpost: tracking poll failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.poll_now.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

enum EventOutcome {
    Applied { dossier_returned: bool },
    Repeated,
    Skipped,
}
