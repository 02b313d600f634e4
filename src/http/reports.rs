//! `GET /v1/reports/on-time?from=…&to=…[&by=organ|procedure][&as_of=…]`: on-time statistics of
//! the dossiers received by the organs the caller speaks for (service `dossiers`).

use super::query::{self, bad};
use crate::calendar::instant;
use crate::dossiers::report::{By, Request};
use crate::edge::{AppState, Caller, Problem, RequestId};
use axum::extract::{Extension, RawQuery, State};
use axum::Json;
use chrono::{Months, NaiveDate, TimeDelta};
use lienthong_contract::dossier::Instant;

const EXAMPLE: &str = "/v1/reports/on-time?from=2026-03&to=2026-06&by=organ";

/// The longest period one report covers.
const MAX_YEARS: u32 = 10;

/// A period bound or `as_of`: `YYYY-MM` (the month's first day), `YYYY-MM-DD` (its start), or an
/// instant in RFC 3339; Vietnam time unless an offset is given.
fn moment(text: &str) -> Option<Instant> {
    let t = text.trim();
    let day = match t.len() {
        7 => NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d").ok(),
        10 => NaiveDate::parse_from_str(t, "%Y-%m-%d").ok(),
        _ => None,
    };
    match day {
        Some(d) => d
            .and_hms_opt(0, 0, 0)?
            .and_local_timezone(instant::VIETNAM)
            .single(),
        None if t.len() <= 10 => None,
        None => instant::parse(t).ok(),
    }
}

fn moment_param(q: &query::Params, field: &str) -> Result<Option<Instant>, Problem> {
    let Some(text) = q.get(field) else {
        return Ok(None);
    };
    let code = match field {
        "from" => "invalid_from",
        "to" => "invalid_to",
        _ => "invalid_as_of",
    };
    moment(text).map(Some).ok_or_else(|| {
        bad(
            code,
            field,
            format!(
                "Tham số \"{field}\" = {text:?} không đọc được. Ghi tháng (2026-03), ngày (2026-03-15) hoặc thời điểm RFC 3339 (2026-03-15T08:00:00+07:00, trong URL viết dấu + là %2B); không ghi múi giờ thì hiểu là giờ Việt Nam."
            ),
        )
    })
}

fn request(raw: Option<&str>) -> Result<Request, Problem> {
    let q = query::parse(raw, &["from", "to", "by", "as_of"], EXAMPLE)?;
    q.required("from")?;
    q.required("to")?;
    let (Some(from), Some(to)) = (moment_param(&q, "from")?, moment_param(&q, "to")?) else {
        unreachable!("both required above");
    };
    let as_of = moment_param(&q, "as_of")?
        .unwrap_or_else(|| chrono::Utc::now().with_timezone(&instant::VIETNAM));
    let by = match q.get("by") {
        None => By::Organ,
        Some(text) => By::parse(text).ok_or_else(|| {
            bad(
                "invalid_by",
                "by",
                format!(
                    "Tham số \"by\" = {text:?} không hợp lệ: chỉ nhận organ (theo cơ quan tiếp nhận) hoặc procedure (theo thủ tục hành chính)."
                ),
            )
        })?,
    };
    let longest = from
        .checked_add_months(Months::new(12 * MAX_YEARS))
        .unwrap_or(from + TimeDelta::days(3653));
    if to <= from || to > longest {
        return Err(bad(
            "invalid_period",
            "to",
            format!(
                "Khoảng thống kê [from, to) phải có \"to\" sau \"from\" và dài không quá {MAX_YEARS} năm (from = {}, to = {}). \"to\" không tính vào khoảng: tháng 3 đến hết tháng 5 là from=2026-03&to=2026-06.",
                instant::format(&from),
                instant::format(&to)
            ),
        ));
    }
    Ok(Request {
        from,
        to,
        by,
        as_of,
    })
}

/// `GET /v1/reports/on-time`.
pub async fn on_time(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(rid): Extension<RequestId>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, Problem> {
    let with_rid = |p: Problem| p.with_request_id(&rid.0);
    let req = request(raw.as_deref()).map_err(with_rid)?;
    state
        .dossiers
        .on_time_report(&caller.member, &req)
        .await
        .map(Json)
        .map_err(with_rid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments() {
        let f = |s: &str| moment(s).map(|t| instant::format(&t));
        assert_eq!(f("2026-03").as_deref(), Some("2026-03-01T00:00:00+07:00"));
        assert_eq!(
            f("2026-03-15").as_deref(),
            Some("2026-03-15T00:00:00+07:00")
        );
        assert_eq!(
            f("2026-03-31T17:00:00Z").as_deref(),
            Some("2026-04-01T00:00:00+07:00")
        );
        assert_eq!(
            f("2026-03-15T08:00").as_deref(),
            Some("2026-03-15T08:00:00+07:00")
        );
        for bad in ["2026-13", "2026-02-30", "2026", "tháng 3", "", "2026-3"] {
            assert_eq!(f(bad), None, "{bad}");
        }
    }

    #[test]
    fn periods() {
        let r = request(Some("from=2026-03&to=2026-06")).unwrap();
        assert_eq!(r.by, By::Organ);
        assert_eq!(instant::format(&r.to), "2026-06-01T00:00:00+07:00");
        let code = |q: &str| {
            request(Some(q))
                .err()
                .map(|p| (p.code, p.extra["field"].clone()))
        };
        assert_eq!(code("from=2026-06&to=2026-03").unwrap().0, "invalid_period");
        assert_eq!(code("from=2026-03&to=2026-03").unwrap().0, "invalid_period");
        assert_eq!(
            code("from=2016-03&to=2026-03-01T00:00:01").unwrap().0,
            "invalid_period"
        );
        assert!(code("from=2016-03&to=2026-03").is_none());
        assert_eq!(code("to=2026-03").unwrap().0, "missing_parameter");
        assert_eq!(
            code("from=2026-03&to=x").unwrap(),
            ("invalid_to", "to".into())
        );
        assert_eq!(
            code("from=2026-03&to=2026-04&by=month").unwrap().0,
            "invalid_by"
        );
        assert_eq!(
            code("from=2026-03&to=2026-04&as_of=now").unwrap().0,
            "invalid_as_of"
        );
        assert_eq!(
            code("from=2026-03&to=2026-04&organ=H99").unwrap().0,
            "unknown_parameter"
        );
    }
}
