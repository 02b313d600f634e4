//! Why a dossier request is refused, and the field it is about. Every refusal becomes an RFC 9457
//! problem with a stable code, a Vietnamese detail an operator can act on, and `field`: the
//! canonical field, or — for a member with a dialect — the vendor's wire field.

use crate::edge::Problem;
use axum::http::StatusCode;
use lienthong_contract::dossier::DossierStatus;

/// A refusal: what is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The field at fault: a canonical path (`applicant.name`, `fees[0].amount`) until a
    /// dialect renames it to its wire path (`ChuHoSo`, `DanhSachLePhi[0].Gia`).
    pub field: String,
    pub why: Why,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// The body is not a JSON object.
    InvalidJson(String),
    /// A field neither the canonical model nor the member's dialect knows.
    UnknownField,
    MissingField,
    /// Wrong type, format or value; the text says what is expected.
    InvalidField(String),
    /// A date not in the format the field is declared with.
    InvalidDate {
        value: String,
        expected: String,
    },
    /// The procedure code is not in `dossiers.procedures`.
    UnknownProcedure(String),
    /// The receiving organ is not one the caller speaks for.
    OrganNotServed(String),
    /// A due time cannot be computed: the receipt lies outside the calendar's years.
    DateOutOfRange(String),
    /// Filing status other than 1 or 2.
    InitialStatus(DossierStatus),
    /// Another dossier with this code exists (different content).
    DossierExists(String),
    NotFound(String),
    /// The body names a dossier code other than the path's.
    CodeMismatch {
        path: String,
        body: String,
    },
    Transition {
        from: DossierStatus,
        to: DossierStatus,
    },
    /// The dossier changed between read and write (another node); retry.
    Changed(String),
}

impl Rejection {
    pub fn new(field: impl Into<String>, why: Why) -> Rejection {
        Rejection {
            field: field.into(),
            why,
        }
    }

    pub fn code(&self) -> &'static str {
        match &self.why {
            Why::InvalidJson(_) => "invalid_json",
            Why::UnknownField => "unknown_field",
            Why::MissingField => "missing_field",
            Why::InvalidField(_) => "invalid_field",
            Why::InvalidDate { .. } => "invalid_date",
            Why::UnknownProcedure(_) => "unknown_procedure",
            Why::OrganNotServed(_) => "organ_not_served",
            Why::DateOutOfRange(_) => "date_out_of_range",
            Why::InitialStatus(_) => "invalid_initial_status",
            Why::DossierExists(_) => "dossier_exists",
            Why::NotFound(_) => "dossier_not_found",
            Why::CodeMismatch { .. } => "code_mismatch",
            Why::Transition { .. } => "status_transition_not_allowed",
            Why::Changed(_) => "dossier_changed",
        }
    }

    fn status(&self) -> StatusCode {
        match &self.why {
            Why::InvalidJson(_)
            | Why::UnknownField
            | Why::MissingField
            | Why::InvalidField(_)
            | Why::InvalidDate { .. }
            | Why::CodeMismatch { .. } => StatusCode::BAD_REQUEST,
            Why::UnknownProcedure(_) | Why::DateOutOfRange(_) | Why::InitialStatus(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Why::OrganNotServed(_) => StatusCode::FORBIDDEN,
            Why::NotFound(_) => StatusCode::NOT_FOUND,
            Why::DossierExists(_) | Why::Transition { .. } | Why::Changed(_) => {
                StatusCode::CONFLICT
            }
        }
    }

    fn title(&self) -> &'static str {
        match self.status() {
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::UNPROCESSABLE_ENTITY => "Dossier refused",
            StatusCode::FORBIDDEN => "Organ not served by this member",
            StatusCode::NOT_FOUND => "Dossier not found",
            _ => "Conflicts with the dossier's state",
        }
    }

    /// The Vietnamese explanation, naming the field.
    pub fn detail(&self) -> String {
        let f = &self.field;
        match &self.why {
            Why::InvalidJson(e) => format!(
                "Nội dung yêu cầu phải là một đối tượng JSON (UTF-8): {e}."
            ),
            Why::UnknownField => format!(
                "Trường \"{f}\" không có trong mô hình hồ sơ (hoặc trong bảng ánh xạ của phần mềm một cửa đang dùng). Bỏ trường này, hoặc đề nghị quản trị viên bổ sung vào tệp ánh xạ (dialect)."
            ),
            Why::MissingField => format!("Thiếu trường bắt buộc \"{f}\"."),
            Why::InvalidField(what) => format!("Trường \"{f}\" không hợp lệ: {what}."),
            Why::InvalidDate { value, expected } => format!(
                "Trường \"{f}\" = {value:?} không đúng định dạng ngày giờ {expected}."
            ),
            Why::UnknownProcedure(code) => format!(
                "Mã thủ tục hành chính {code:?} (trường \"{f}\") chưa được khai báo trên cổng, nên chưa tính được ngày hẹn trả. Kiểm tra lại mã TTHC, hoặc đề nghị quản trị viên khai báo thủ tục trong [[dossiers.procedures]]."
            ),
            Why::OrganNotServed(organ) => format!(
                "Hệ thống thành viên không được gửi hồ sơ thay cho cơ quan {organ:?} (trường \"{f}\"): chỉ dùng mã định danh của cơ quan mình."
            ),
            Why::DateOutOfRange(what) => format!(
                "Không tính được ngày hẹn trả: {what} (trường \"{f}\"). Kiểm tra lại ngày tiếp nhận."
            ),
            Why::InitialStatus(s) => format!(
                "Hồ sơ mới chỉ được gửi với trạng thái 1 (mới đăng ký) hoặc 2 (được tiếp nhận), không phải {} ({}). Gửi hồ sơ trước, rồi cập nhật trạng thái qua /v1/dossiers/{{mã hồ sơ}}/events.",
                s.code(),
                s.name_vi()
            ),
            Why::DossierExists(code) => format!(
                "Mã hồ sơ {code:?} đã được dùng cho một hồ sơ có nội dung khác. Mỗi hồ sơ phải có mã riêng; để đổi trạng thái hãy dùng /v1/dossiers/{code}/events."
            ),
            Why::NotFound(code) => format!(
                "Không có hồ sơ mã {code:?} mà hệ thống thành viên được xem. Kiểm tra lại mã hồ sơ."
            ),
            Why::CodeMismatch { path, body } => format!(
                "Mã hồ sơ trong nội dung ({body:?}, trường \"{f}\") khác mã hồ sơ trên đường dẫn ({path:?})."
            ),
            Why::Transition { from, to } => {
                let next: Vec<String> = from
                    .next()
                    .iter()
                    .map(|s| format!("{} ({})", s.code(), s.name_vi()))
                    .collect();
                let allowed = if next.is_empty() {
                    "hồ sơ đã ở trạng thái cuối, không chuyển tiếp được".to_owned()
                } else {
                    format!("chỉ được chuyển sang {}", next.join(", "))
                };
                format!(
                    "Không thể chuyển hồ sơ từ trạng thái {} ({}) sang {} ({}) (trường \"{f}\"): {allowed}.",
                    from.code(),
                    from.name_vi(),
                    to.code(),
                    to.name_vi()
                )
            }
            Why::Changed(code) => format!(
                "Hồ sơ {code:?} vừa được cập nhật bởi một yêu cầu khác. Đọc lại hồ sơ rồi gửi lại."
            ),
        }
    }

    /// The problem document; `field` is left out only when no field is at fault (a body that
    /// is not JSON).
    pub fn into_problem(self) -> Problem {
        let p = Problem::new(self.status(), self.code(), self.title(), self.detail());
        if self.field.is_empty() {
            p
        } else {
            p.with_extra("field", self.field)
        }
    }
}

/// Shorthands for the parsers.
pub fn missing(field: impl Into<String>) -> Rejection {
    Rejection::new(field, Why::MissingField)
}

pub fn invalid(field: impl Into<String>, what: impl Into<String>) -> Rejection {
    Rejection::new(field, Why::InvalidField(what.into()))
}

pub fn unknown(field: impl Into<String>) -> Rejection {
    Rejection::new(field, Why::UnknownField)
}
