//! Online dossiers (hồ sơ trực tuyến) submitted on the national portal: polled from the portal's
//! list after the last position taken, each filed as a dossier of its receiving organ and handed
//! to that organ's one-stop-shop installation (the member granted `dossiers` that speaks for the
//! organ), which reads it from `GET /v1/dossiers/inbox` in its own dialect. The dossier, the
//! hand-over and the new position are written in one transaction: a restart re-reads at most
//! the item being written, and filing the same dossier twice writes nothing new.

use super::Portal;
use crate::dossiers::Dossiers;
use crate::members::Registry;
use lienthong_contract::{OrganId, Service};
use lienthong_dvcqg::wire::{parse_date, OnlineDossier};
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;

/// Name of the poller's position in `cursors`.
pub const CURSOR: &str = "dvcqg.online";
const PAGE: u32 = 50;

pub struct Online {
    pub portal: Arc<Portal>,
    pub dossiers: Arc<Dossiers>,
    pub registry: Arc<Registry>,
    /// `madonvi` the province asks as.
    pub organ: String,
    pub every: Duration,
}

/// What became of one online dossier.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// Filed and handed to this member.
    Handed(String),
    /// Filed; no installation serves the organ (an operator must configure one).
    Unrouted,
    /// Refused (unreadable field); recorded in the audit chain with the field.
    Refused(String),
    /// Already filed before.
    Again,
}

impl Online {
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let full = match self.poll_once().await {
                Ok(n) => n == PAGE as usize,
                Err(e) => {
                    tracing::warn!(error = %e, "dvcqg: online dossier poll failed");
                    false
                }
            };
            if !full {
                tokio::select! {
                    _ = tokio::time::sleep(self.every) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    async fn cursor(&self) -> Result<i64, String> {
        let store = self.portal.store.clone();
        let row = sqlx::query("SELECT value FROM cursors WHERE name = $1")
            .bind(CURSOR)
            .fetch_optional(store.pool())
            .await
            .map_err(|e| format!("store: {e}"))?;
        Ok(match row {
            Some(r) => r.try_get("value").map_err(|e| e.to_string())?,
            None => 0,
        })
    }

    /// One page: the number of items read.
    pub async fn poll_once(&self) -> Result<usize, String> {
        let after = self.cursor().await?;
        let page = self
            .portal
            .client()
            .online_after(&self.organ, after, PAGE)
            .await
            .map_err(|e| e.to_string())?;
        let n = page.len();
        for item in page {
            if item.id <= after {
                continue;
            }
            let taken = self.take(&item).await?;
            metrics::counter!("lienthong_dvcqg_online_total", "outcome" => match &taken {
                Taken::Handed(_) => "handed",
                Taken::Unrouted => "unrouted",
                Taken::Refused(_) => "refused",
                Taken::Again => "again",
            })
            .increment(1);
            if taken == Taken::Unrouted {
                tracing::warn!(item = item.id, organ = %item.organ, "dvcqg: online dossier for an organ no installation serves");
            }
        }
        Ok(n)
    }

    async fn take(&self, item: &OnlineDossier) -> Result<Taken, String> {
        let organ = OrganId::parse(&item.organ);
        let read = organ
            .as_ref()
            .map_err(|e| format!("MaDonViTiepNhan: {e}"))
            .and_then(|organ| {
                item.dossier
                    .to_canonical(organ, parse_date(&item.submitted_at), self.portal.kinds())
                    .map_err(|e| e.to_string())
            });
        let installation = organ.as_ref().ok().and_then(|o| {
            self.registry
                .all()
                .iter()
                .find(|m| m.may_use(Service::Dossiers) && m.speaks_for(o))
                .cloned()
        });
        self.dossiers
            .file_online(item.id, CURSOR, read, installation.as_deref())
            .await
    }
}
