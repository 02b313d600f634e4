//! The lookup request as members send it, checked before anything leaves the gateway. Every
//! refusal names its field and never echoes the value (it may be personal data).

use crate::edge::Problem;
use axum::http::StatusCode;
use chrono::{Datelike, NaiveDate};
use lienthong_population::id::{self, IdError};
use lienthong_population::Birth;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// A checked request.
#[derive(Debug, Clone)]
pub struct LookupRequest {
    pub id_number: String,
    pub full_name: String,
    pub birth: Birth,
    pub purpose: String,
    pub dossier_code: String,
    pub officer_id: String,
    pub officer_account: Option<String>,
}

/// Why a request is refused before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("body is not a JSON object: {0}")]
    Json(String),
    #[error("unknown field")]
    Unknown(String),
    #[error("missing field")]
    Missing(&'static str),
    #[error("not a string")]
    NotString(&'static str),
    #[error("{1}")]
    CitizenId(&'static str, IdError),
    #[error("full name")]
    FullName,
    #[error("birth date")]
    BirthDate,
    #[error("purpose")]
    Purpose,
    #[error("dossier code")]
    DossierCode,
    #[error("officer id: {0}")]
    OfficerId(IdError),
    #[error("officer account")]
    OfficerAccount,
}

const KNOWN: &[&str] = &[
    "id_number",
    "full_name",
    "birth_date",
    "purpose",
    "dossier_code",
    "officer_id",
    "officer_account",
];

impl InputError {
    pub fn field(&self) -> Option<&str> {
        Some(match self {
            InputError::Json(_) => return None,
            InputError::Unknown(f) => f,
            InputError::Missing(f) | InputError::NotString(f) | InputError::CitizenId(f, _) => f,
            InputError::FullName => "full_name",
            InputError::BirthDate => "birth_date",
            InputError::Purpose => "purpose",
            InputError::DossierCode => "dossier_code",
            InputError::OfficerId(_) => "officer_id",
            InputError::OfficerAccount => "officer_account",
        })
    }

    pub fn code(&self) -> &'static str {
        match self {
            InputError::Json(_) => "invalid_json",
            InputError::Unknown(_) => "unknown_field",
            InputError::Missing(_) => "missing_field",
            InputError::NotString(_) => "invalid_field",
            InputError::CitizenId(_, IdError::Province(_)) => "citizen_id_province_unknown",
            InputError::CitizenId(_, IdError::Century { .. } | IdError::Year { .. }) => {
                "citizen_id_birth_mismatch"
            }
            InputError::CitizenId(..) => "citizen_id_invalid",
            InputError::FullName => "full_name_invalid",
            InputError::BirthDate => "birth_date_invalid",
            InputError::Purpose => "purpose_unknown",
            InputError::DossierCode => "dossier_code_invalid",
            InputError::OfficerId(_) => "officer_id_invalid",
            InputError::OfficerAccount => "officer_account_invalid",
        }
    }

    fn detail(&self) -> String {
        match self {
            InputError::Json(e) => format!("Nội dung yêu cầu phải là một đối tượng JSON (UTF-8): {e}."),
            InputError::Unknown(f) => format!(
                "Trường \"{f}\" không thuộc yêu cầu tra cứu công dân (các trường: {}).",
                KNOWN.join(", ")
            ),
            InputError::Missing(f) => format!("Thiếu trường bắt buộc \"{f}\"."),
            InputError::NotString(f) => format!("Trường \"{f}\" phải là chuỗi ký tự."),
            InputError::CitizenId(_, e) => format!(
                "Số định danh cá nhân (trường \"id_number\") không hợp lệ: {}. Kiểm tra lại số trên giấy tờ của công dân; yêu cầu chưa được gửi đi.",
                id_reason(e)
            ),
            InputError::FullName => "Họ và tên (trường \"full_name\") phải có từ 1 đến 100 ký tự, gồm chữ cái (có dấu), khoảng trắng, dấu gạch nối hoặc dấu nháy; ghi đúng như trên giấy tờ.".into(),
            InputError::BirthDate => "Ngày sinh (trường \"birth_date\") phải có dạng YYYY-MM-DD hoặc chỉ năm YYYY, từ năm 1900 đến hôm nay.".into(),
            InputError::Purpose => "Mục đích tra cứu (trường \"purpose\") không nằm trong danh mục mục đích được phép ([[citizens.purposes]]). Chọn đúng mã mục đích, hoặc đề nghị quản trị viên cổng bổ sung.".into(),
            InputError::DossierCode => "Mã hồ sơ (trường \"dossier_code\") phải có 1–64 ký tự gồm chữ không dấu, chữ số và . _ - /: mỗi lần tra cứu phải gắn với một hồ sơ.".into(),
            InputError::OfficerId(e) => format!(
                "Số định danh của cán bộ tra cứu (trường \"officer_id\") không hợp lệ: {}. Mỗi lần tra cứu phải ghi rõ cán bộ thực hiện.",
                id_reason(e)
            ),
            InputError::OfficerAccount => "Tài khoản cán bộ (trường \"officer_account\") phải có 1–64 ký tự không dấu (chữ, số, . _ - @).".into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            InputError::Purpose => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn into_problem(self) -> Problem {
        let title = if self.status() == StatusCode::BAD_REQUEST {
            "Bad request"
        } else {
            "Purpose not allowed"
        };
        let p = Problem::new(self.status(), self.code(), title, self.detail());
        match self.field() {
            Some(f) => {
                let f = f.to_owned();
                p.with_extra("field", f)
            }
            None => p,
        }
    }
}

fn id_reason(e: &IdError) -> String {
    match e {
        IdError::Shape => "phải gồm đúng 12 chữ số".into(),
        IdError::Province(p) => format!("mã tỉnh nơi đăng ký khai sinh {p} (3 chữ số đầu) không có trong danh mục"),
        IdError::Century { digit, from, to, .. } => format!(
            "chữ số thứ 4 ({digit}) ứng với người sinh trong khoảng {from}–{to}, không khớp với năm sinh đã nhập"
        ),
        IdError::Year { .. } => "chữ số thứ 5–6 phải là hai số cuối của năm sinh đã nhập".into(),
        IdError::YearRange(_) => "năm sinh nằm ngoài khoảng mã hoá được".into(),
    }
}

fn string(obj: &Map<String, Value>, f: &'static str) -> Result<Option<String>, InputError> {
    match obj.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(InputError::NotString(f)),
    }
}

fn required(obj: &Map<String, Value>, f: &'static str) -> Result<String, InputError> {
    string(obj, f)?
        .filter(|s| !s.is_empty())
        .ok_or(InputError::Missing(f))
}

fn birth(s: &str, today: NaiveDate) -> Result<Birth, InputError> {
    let b = match s.len() {
        4 if s.bytes().all(|b| b.is_ascii_digit()) => {
            Birth::Year(s.parse().map_err(|_| InputError::BirthDate)?)
        }
        10 => Birth::Date(
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| InputError::BirthDate)?,
        ),
        _ => return Err(InputError::BirthDate),
    };
    let plausible = match b {
        Birth::Year(y) => (1900..=today.year()).contains(&y),
        Birth::Date(d) => d.year() >= 1900 && d <= today,
    };
    plausible.then_some(b).ok_or(InputError::BirthDate)
}

fn name_ok(s: &str) -> bool {
    let n = s.chars().count();
    (1..=100).contains(&n)
        && s.chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.'))
        && !lienthong_population::name::normalise(s).is_empty()
}

fn token_ok(s: &str, extra: &[u8]) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// Check a body against the policy. `today` is the date in Vietnam.
pub fn parse(
    body: &[u8],
    purposes: &dyn Fn(&str) -> bool,
    provinces: &HashSet<String>,
    today: NaiveDate,
) -> Result<LookupRequest, InputError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| InputError::Json(e.to_string()))?;
    let Value::Object(obj) = v else {
        return Err(InputError::Json("not an object".into()));
    };
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(InputError::Unknown(k.clone()));
    }
    let id_number = required(&obj, "id_number")?;
    let full_name = required(&obj, "full_name")?;
    let birth_text = required(&obj, "birth_date")?;
    let purpose = required(&obj, "purpose")?;
    let dossier_code = required(&obj, "dossier_code")?;
    let officer_id = required(&obj, "officer_id")?;
    let officer_account = string(&obj, "officer_account")?.filter(|s| !s.is_empty());

    let birth = birth(&birth_text, today)?;
    id::check(&id_number, Some(provinces), Some(birth.year()))
        .map_err(|e| InputError::CitizenId("id_number", e))?;
    if !name_ok(&full_name) {
        return Err(InputError::FullName);
    }
    if !purposes(&purpose) {
        return Err(InputError::Purpose);
    }
    if !token_ok(&dossier_code, b"._-/") {
        return Err(InputError::DossierCode);
    }
    id::check(&officer_id, Some(provinces), None).map_err(InputError::OfficerId)?;
    if let Some(a) = &officer_account {
        if !token_ok(a, b"._-@") {
            return Err(InputError::OfficerAccount);
        }
    }
    Ok(LookupRequest {
        id_number,
        full_name,
        birth,
        purpose,
        dossier_code,
        officer_id,
        officer_account,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(v: Value) -> Result<LookupRequest, InputError> {
        let provinces: HashSet<String> = ["099".to_owned(), "001".to_owned()].into();
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        parse(
            v.to_string().as_bytes(),
            &|p| p == "tthc",
            &provinces,
            today,
        )
    }

    fn good() -> Value {
        json!({"id_number": "099188000123", "full_name": "Đỗ Thị Thử", "birth_date": "1988-07-15",
               "purpose": "tthc", "dossier_code": "H99.20-20260302-0001", "officer_id": "099085000777"})
    }

    fn with(k: &str, v: Value) -> Value {
        let mut g = good();
        g[k] = v;
        g
    }

    #[test]
    fn each_check_names_its_field() {
        assert!(run(good()).is_ok());
        assert!(run(with("birth_date", json!("1988"))).is_ok());
        let cases = [
            (
                with("id_number", json!("09918800012")),
                "citizen_id_invalid",
                "id_number",
            ),
            (
                with("id_number", json!("002188000123")),
                "citizen_id_province_unknown",
                "id_number",
            ),
            (
                with("id_number", json!("099388000123")),
                "citizen_id_birth_mismatch",
                "id_number",
            ),
            (
                with("birth_date", json!("1988-02-30")),
                "birth_date_invalid",
                "birth_date",
            ),
            (
                with("birth_date", json!("2030-01-01")),
                "birth_date_invalid",
                "birth_date",
            ),
            (
                with("full_name", json!("Đỗ <b>")),
                "full_name_invalid",
                "full_name",
            ),
            (
                with("purpose", json!("curiosity")),
                "purpose_unknown",
                "purpose",
            ),
            (
                with("dossier_code", json!("Đỗ Thị Thử")),
                "dossier_code_invalid",
                "dossier_code",
            ),
            (
                with("officer_id", json!("12345")),
                "officer_id_invalid",
                "officer_id",
            ),
            (
                with("officer_id", json!(99085000777u64)),
                "invalid_field",
                "officer_id",
            ),
            (with("extra", json!(1)), "unknown_field", "extra"),
        ];
        for (body, code, field) in cases {
            let e = run(body).unwrap_err();
            assert_eq!((e.code(), e.field()), (code, Some(field)), "{e:?}");
        }
        let mut missing = good();
        missing.as_object_mut().unwrap().remove("purpose");
        assert_eq!(run(missing).unwrap_err().code(), "missing_field");
    }
}
