//! `GET /v1/reports/on-time`: on-time statistics from the synced statuses, per organ or per
//! procedure and per month, by the [`on_time`](super::on_time) rule.
//!
//! The database does the counting: one query classifies each candidate dossier from its
//! `dossier_events` (the same rule as [`classify`](super::on_time::classify)) and groups them
//! by receiving organ, procedure and month, so what comes back is bounded by organs ×
//! procedures × months, never by the number of dossiers. Candidates are the dossiers with a
//! clock-stopping change dated in the period (found through the `dossier_events (at)` index),
//! and those that were open at `as_of` (current status does not stop the clock, or changed
//! after `as_of`).
//!
//! - a finished dossier counts in the month (Vietnam time) of its end of processing, when that
//!   end lies in [from, to);
//! - in progress: every dossier open at `as_of`, whenever received, per group (not per month):
//!   on time, or overdue (past its due time);
//! - with `open_overdue_is_late`, a dossier open and past its due time at `as_of` also counts as
//!   late in the month of its due time (`overdue_counted_late`), when that lies in [from, to).

use super::on_time::Rule;
use super::Procedures;
use crate::calendar::instant;
use crate::members::Member;
use crate::store::{Backend, Store};
use lienthong_contract::dossier::{DossierStatus, Instant};
use lienthong_contract::OrganId;
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::BTreeMap;

/// How rows are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Organ,
    Procedure,
}

impl By {
    pub fn parse(s: &str) -> Option<By> {
        match s {
            "organ" => Some(By::Organ),
            "procedure" => Some(By::Procedure),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            By::Organ => "organ",
            By::Procedure => "procedure",
        }
    }
}

/// A report request: the period [from, to), the grouping, and the moment it is made at.
#[derive(Clone, Debug)]
pub struct Request {
    pub from: Instant,
    pub to: Instant,
    pub by: By,
    pub as_of: Instant,
}

/// Counts of one month, one group or the whole report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    finished: i64,
    on_time: i64,
    open_on_time: i64,
    open_overdue: i64,
    overdue_late: i64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.finished += o.finished;
        self.on_time += o.on_time;
        self.open_on_time += o.open_on_time;
        self.open_overdue += o.open_overdue;
        self.overdue_late += o.overdue_late;
    }

    /// The counted columns; `open`: with the in-progress snapshot.
    fn to_json(self, open: bool) -> Value {
        let denominator = self.finished + self.overdue_late;
        let mut v = json!({
            "finished": self.finished,
            "finished_on_time": self.on_time,
            "finished_late": self.finished - self.on_time,
            "overdue_counted_late": self.overdue_late,
            "on_time_rate": {
                "numerator": self.on_time,
                "denominator": denominator,
                "percent": percent(self.on_time, denominator),
            },
        });
        if open {
            v["in_progress"] = json!({
                "on_time": self.open_on_time,
                "overdue": self.open_overdue,
            });
        }
        v
    }
}

/// `n / d` in percent with two decimals, rounded half up (`"66.67"`); `None` when `d` is 0.
pub fn percent(n: i64, d: i64) -> Option<String> {
    if d <= 0 {
        return None;
    }
    let hundredths = (n * 20_000 + d) / (2 * d);
    Some(format!("{}.{:02}", hundredths / 100, hundredths % 100))
}

fn codes(list: &[DossierStatus]) -> String {
    list.iter()
        .map(|s| s.code().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The query: `$1` from, `$2` to, `$3` as_of (unix ms), `$4` max supplements, then `organs`
/// receiving organs to keep (`None`: every organ).
fn sql(backend: Backend, rule: &Rule, organs: Option<usize>) -> String {
    let ends = codes(&rule.end_statuses);
    let stops = codes(&rule.stops());
    let organ_filter = match organs {
        Some(n) => {
            let params: Vec<String> = (0..n).map(|i| format!("${}", i + 5)).collect();
            format!(" AND d.receiving_organ IN ({})", params.join(", "))
        }
        None => String::new(),
    };
    let end_month = backend.month_vn("s.at");
    let due_month = backend.month_vn("c.due_at");
    let counted_late = if rule.open_overdue_is_late {
        "UNION ALL \
         SELECT organ, proc_code, due_month, CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(COUNT(*) AS BIGINT) \
         FROM k WHERE end_at IS NULL AND due_at < $3 AND due_at >= $1 AND due_at < $2 GROUP BY organ, proc_code, due_month"
    } else {
        ""
    };
    format!(
        "WITH c AS ( \
           SELECT d.code, d.receiving_organ AS organ, d.procedure_code AS proc_code, d.due_at, \
             COALESCE( \
               (SELECT MIN(e.seq) FROM dossier_events e WHERE e.dossier_code = d.code AND e.at <= $3 AND e.status IN ({ends})), \
               (SELECT MAX(e.seq) FROM dossier_events e WHERE e.dossier_code = d.code AND e.at <= $3)) AS stop_seq, \
             (SELECT COUNT(*) FROM dossier_events e WHERE e.dossier_code = d.code AND e.at <= $3 AND e.status = 5) AS supplements \
           FROM dossiers d \
           WHERE d.received_at <= $3{organ_filter} \
             AND (d.status NOT IN ({stops}) OR d.updated_at > $3 \
                  OR d.code IN (SELECT e.dossier_code FROM dossier_events e WHERE e.at >= $1 AND e.at < $2 AND e.status IN ({stops}))) \
         ), k AS ( \
           SELECT c.organ, c.proc_code, c.due_at, c.supplements, s.at AS end_at, \
             {end_month} AS end_month, {due_month} AS due_month \
           FROM c LEFT JOIN dossier_events s \
             ON s.dossier_code = c.code AND s.seq = c.stop_seq AND s.status IN ({stops}) \
         ) \
         SELECT organ, proc_code, end_month AS month, CAST(COUNT(*) AS BIGINT) AS finished, \
           CAST(SUM(CASE WHEN end_at <= due_at AND supplements <= $4 THEN 1 ELSE 0 END) AS BIGINT) AS on_time, \
           CAST(0 AS BIGINT) AS open_on_time, CAST(0 AS BIGINT) AS open_overdue, CAST(0 AS BIGINT) AS overdue_late \
         FROM k WHERE end_at >= $1 AND end_at < $2 GROUP BY organ, proc_code, end_month \
         UNION ALL \
         SELECT organ, proc_code, NULL, CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
           CAST(SUM(CASE WHEN due_at < $3 THEN 0 ELSE 1 END) AS BIGINT), \
           CAST(SUM(CASE WHEN due_at < $3 THEN 1 ELSE 0 END) AS BIGINT), CAST(0 AS BIGINT) \
         FROM k WHERE end_at IS NULL GROUP BY organ, proc_code \
         {counted_late}"
    )
}

/// One group of the answer.
#[derive(Default)]
struct Group {
    months: BTreeMap<String, Counts>,
    total: Counts,
}

/// Run the report for `caller`: only dossiers received by organs it speaks for.
pub async fn run(
    store: &Store,
    rule: &Rule,
    procedures: &Procedures,
    caller: &Member,
    req: &Request,
) -> Result<Value, sqlx::Error> {
    let organs: Vec<String> = caller.organs.iter().map(|o| o.to_string()).collect();
    // A peer speaks for organs under its own too: filtered below, by `speaks_for`.
    let filter = (!caller.is_peer()).then_some(organs.len());
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    if filter != Some(0) {
        // Audited: the text holds only status codes from the checked rule, `$N` placeholders
        // and the backend's month expression; every value is bound.
        let text = sql(store.backend(), rule, filter);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(text))
            .bind(req.from.timestamp_millis())
            .bind(req.to.timestamp_millis())
            .bind(req.as_of.timestamp_millis())
            .bind(i64::from(rule.max_supplements));
        if filter.is_some() {
            for o in &organs {
                q = q.bind(o.clone());
            }
        }
        for row in q.fetch_all(store.pool()).await? {
            let organ: String = row.try_get("organ")?;
            if !OrganId::parse(&organ).is_ok_and(|o| caller.speaks_for(&o)) {
                continue;
            }
            let counts = Counts {
                finished: row.try_get("finished")?,
                on_time: row.try_get("on_time")?,
                open_on_time: row.try_get("open_on_time")?,
                open_overdue: row.try_get("open_overdue")?,
                overdue_late: row.try_get("overdue_late")?,
            };
            let key = match req.by {
                By::Organ => organ,
                By::Procedure => row.try_get("proc_code")?,
            };
            let g = groups.entry(key).or_default();
            g.total.add(&counts);
            if let Some(month) = row.try_get::<Option<String>, _>("month")? {
                g.months.entry(month).or_default().add(&counts);
            }
        }
    }
    let mut total = Counts::default();
    let list: Vec<Value> = groups
        .into_iter()
        .map(|(key, g)| {
            total.add(&g.total);
            let mut v = json!({ req.by.as_str(): key });
            if req.by == By::Procedure {
                v["name"] = json!(procedures.get(&key).map(|p| p.name.clone()));
            }
            let months: Vec<Value> = g
                .months
                .into_iter()
                .map(|(month, c)| {
                    let mut m = c.to_json(false);
                    m["month"] = json!(month);
                    m
                })
                .collect();
            v["months"] = json!(months);
            v["total"] = g.total.to_json(true);
            v
        })
        .collect();
    Ok(json!({
        "from": instant::format(&req.from),
        "to": instant::format(&req.to),
        "as_of": instant::format(&req.as_of),
        "by": req.by.as_str(),
        "rule": rule.to_json(),
        "groups": list,
        "total": total.to_json(true),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_rounded_half_up_to_two_decimals() {
        assert_eq!(percent(2, 3).as_deref(), Some("66.67"));
        assert_eq!(percent(1, 3).as_deref(), Some("33.33"));
        assert_eq!(percent(1, 8).as_deref(), Some("12.50"));
        assert_eq!(percent(1, 16).as_deref(), Some("6.25"));
        // 1/32 = 3.125 % → 3.13 (half up).
        assert_eq!(percent(1, 32).as_deref(), Some("3.13"));
        assert_eq!(percent(5, 5).as_deref(), Some("100.00"));
        assert_eq!(percent(0, 4).as_deref(), Some("0.00"));
        assert_eq!(percent(0, 0), None);
    }

    #[test]
    fn the_query_names_the_rule() {
        let rule = Rule::default();
        let q = sql(Backend::Sqlite, &rule, Some(2));
        assert!(q.contains("e.status IN (3, 7, 8, 9, 10)"), "{q}");
        assert!(q.contains("NOT IN (3, 5, 7, 8, 9, 10)"), "{q}");
        assert!(q.contains("IN ($5, $6)"), "{q}");
        assert!(!q.contains("due_month GROUP"), "{q}");
        let late = Rule {
            open_overdue_is_late: true,
            supplement_ends_clock: false,
            ..Rule::default()
        };
        let q = sql(Backend::Postgres, &late, None);
        assert!(q.contains("NOT IN (3, 7, 8, 9, 10)"), "{q}");
        assert!(q.contains("GROUP BY organ, proc_code, due_month"), "{q}");
        assert!(!q.contains("receiving_organ IN"), "{q}");
    }
}
