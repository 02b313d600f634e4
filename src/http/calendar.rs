//! `GET /v1/calendar/due?from=…&duration=…[&cutoff=HH:MM|none]`: the due time of a processing
//! time counted from a receipt, by the gateway's calendar. Any authenticated member may ask:
//! the answer is public knowledge (holidays and office hours), and every one-stop-shop or
//! document system must compute due dates the same way.

use super::query::{self, bad};
use crate::calendar::{hours::parse_cutoff, instant, DurationError, WorkDuration};
use crate::edge::{AppState, Problem, RequestId};
use axum::extract::{Extension, RawQuery, State};
use axum::Json;

const EXAMPLE: &str = "/v1/calendar/due?from=2026-02-10T09:00:00%2B07:00&duration=15d";

fn duration(s: &str) -> Result<WorkDuration, Problem> {
    s.parse().map_err(|e: DurationError| {
        let why = match e {
            DurationError::Empty => "để trống".to_owned(),
            DurationError::NoUnit(_) => "thiếu đơn vị d (ngày làm việc) hoặc h (giờ làm việc)".into(),
            DurationError::Malformed(_) => "không đọc được".into(),
            DurationError::Zero => "phải lớn hơn 0".into(),
            DurationError::TooLong(_) => format!(
                "vượt quá {} ngày làm việc",
                crate::calendar::duration::MAX_DAYS
            ),
        };
        bad(
            "invalid_duration",
            "duration",
            format!(
                "Tham số \"duration\" = {s:?} không hợp lệ ({why}). Ghi thời hạn giải quyết bằng ngày làm việc, ví dụ 15d hoặc 0.5d, hoặc bằng giờ làm việc, ví dụ 4h."
            ),
        )
    })
}

/// `GET /v1/calendar/due`.
pub async fn due(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, Problem> {
    let with_rid = |p: Problem| p.with_request_id(&rid.0);
    let q =
        query::parse(raw.as_deref(), &["from", "duration", "cutoff"], EXAMPLE).map_err(with_rid)?;
    let from_text = q.required("from").map_err(with_rid)?;
    let duration_text = q.required("duration").map_err(with_rid)?;
    let from = instant::parse(from_text).map_err(|_| {
        with_rid(bad(
            "invalid_from",
            "from",
            format!(
                "Tham số \"from\" = {from_text:?} không phải thời điểm hợp lệ. Ghi theo RFC 3339, ví dụ 2026-02-10T09:00:00+07:00 (trong URL viết dấu + là %2B); không ghi múi giờ thì hiểu là giờ Việt Nam."
            ),
        ))
    })?;
    let duration = duration(duration_text).map_err(with_rid)?;
    let calendar = &state.calendar;
    let cutoff = match q.get("cutoff") {
        None => calendar.settings().cutoff,
        Some(t) => parse_cutoff(t).map_err(|_| {
            with_rid(bad(
                "invalid_cutoff",
                "cutoff",
                format!(
                    "Tham số \"cutoff\" = {t:?} phải là giờ dạng HH:MM (ví dụ 15:00: hồ sơ nhận sau 15 giờ tính từ ngày làm việc tiếp theo) hoặc \"none\"."
                ),
            ))
        })?,
    };
    let due = calendar
        .due_with_cutoff(from, duration, cutoff)
        .map_err(|e| {
            let field = if e.at_receipt(&from) { "from" } else { "duration" };
            with_rid(bad(
                "date_out_of_range",
                field,
                format!(
                    "Lịch làm việc chỉ tính được trong các năm {}–{}; ngày {} nằm ngoài khoảng này. Kiểm tra tham số \"{field}\".",
                    crate::calendar::lunar::YEARS.start(),
                    crate::calendar::lunar::YEARS.end(),
                    e.date.format("%d/%m/%Y")
                ),
            ))
        })?;
    Ok(Json(due.to_json()))
}
