//! The canonical JSON of the dossier API, read strictly: every field is checked for its type
//! and format, unknown fields are refused, and each refusal names the field by its path
//! (`applicant.name`, `fees[0].amount`). Dialects translate a vendor's body into this JSON
//! first, so one reader serves every member.

use super::reject::{invalid, missing, unknown, Rejection, Why};
use crate::calendar::instant;
use lienthong_contract::dossier::{
    Applicant, ApplicantKind, Attachment, Channel, Component, CopyForm, Dossier, DossierStatus,
    Fee, FeeStage, Instant, ResultDelivery, StatusChange,
};
use lienthong_contract::OrganId;
use serde_json::{Map, Value};

type Result<T> = std::result::Result<T, Rejection>;

/// Every field of a filed dossier, as a path pattern (`[]` stands for any array index). A
/// dialect may map only to these.
pub const DOSSIER_FIELDS: &[&str] = &[
    "code",
    "procedure",
    "summary",
    "applicant.name",
    "applicant.kind",
    "applicant.id_number",
    "applicant.email",
    "applicant.phone",
    "applicant.other",
    "receiving_organ",
    "channel",
    "submitted_at",
    "received_at",
    "due_at",
    "status",
    "fees[].code",
    "fees[].name",
    "fees[].amount",
    "fees[].kind",
    "fees[].collected",
    "fees[].paid",
    "result_delivery",
    "components[].code",
    "components[].copies",
    "components[].form",
    "components[].attachments[].id",
    "components[].attachments[].name",
    "components[].attachments[].url",
    "components[].attachments[].hash",
    "components[].attachments[].deleted",
];

/// Every field of a status change.
pub const EVENT_FIELDS: &[&str] = &[
    "code",
    "status",
    "at",
    "handler",
    "handler_title",
    "department",
    "note",
];

/// Longest text accepted in any field.
const MAX_TEXT: usize = 2000;

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

/// An object being read: fields are taken one by one; [`Obj::finish`] refuses the rest.
struct Obj<'a> {
    map: Option<&'a Map<String, Value>>,
    path: String,
    taken: Vec<&'static str>,
}

impl<'a> Obj<'a> {
    /// `v` at `path`; an absent or null object reads as empty (its required fields are then
    /// reported missing one by one).
    fn new(v: Option<&'a Value>, path: String) -> Result<Obj<'a>> {
        let map = match v {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => return Err(invalid(path, "phải là một đối tượng JSON {…}")),
        };
        Ok(Obj {
            map,
            path,
            taken: Vec::new(),
        })
    }

    fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The value of `key`, `None` when absent or null.
    fn take(&mut self, key: &'static str) -> Option<&'a Value> {
        self.taken.push(key);
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    fn text(&mut self, key: &'static str) -> Result<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.chars().count() > MAX_TEXT => {
                Err(invalid(self.at(key), format!("dài quá {MAX_TEXT} ký tự")))
            }
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(self.at(key), "phải là chuỗi ký tự")),
        }
    }

    fn required_text(&mut self, key: &'static str) -> Result<String> {
        self.text(key)?.ok_or_else(|| missing(self.at(key)))
    }

    fn int(&mut self, key: &'static str, max: u64) -> Result<Option<u64>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => {
                v.as_u64().filter(|n| *n <= max).map(Some).ok_or_else(|| {
                    invalid(self.at(key), format!("phải là số nguyên từ 0 đến {max}"))
                })
            }
        }
    }

    fn boolean(&mut self, key: &'static str) -> Result<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(self.at(key), "phải là true hoặc false")),
        }
    }

    fn time(&mut self, key: &'static str) -> Result<Option<Instant>> {
        let Some(s) = self.text(key)? else {
            return Ok(None);
        };
        instant::parse(&s)
            .map(|t| Some(t.with_timezone(&instant::VIETNAM)))
            .map_err(|_| {
                Rejection::new(
                    self.at(key),
                    Why::InvalidDate {
                        value: s,
                        expected: "RFC 3339, ví dụ 2026-03-02T09:15:00+07:00".into(),
                    },
                )
            })
    }

    fn named<T>(
        &mut self,
        key: &'static str,
        parse: fn(&str) -> Option<T>,
        names: fn() -> String,
    ) -> Result<Option<T>> {
        match self.text(key)? {
            None => Ok(None),
            Some(s) => parse(&s).map(Some).ok_or_else(|| {
                invalid(
                    self.at(key),
                    format!("{s:?} không thuộc các giá trị {}", names()),
                )
            }),
        }
    }

    fn status(&mut self, key: &'static str) -> Result<Option<DossierStatus>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(DossierStatus::from_code)
                .map(Some)
                .ok_or_else(|| invalid(self.at(key), "phải là mã trạng thái 1–10 (số)")),
        }
    }

    /// The elements of an array field, each with its path.
    fn list(&mut self, key: &'static str) -> Result<Vec<(String, &'a Value)>> {
        match self.take(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{}[{i}]", self.at(key)), v))
                .collect()),
            Some(_) => Err(invalid(self.at(key), "phải là một mảng […]")),
        }
    }

    fn object(&mut self, key: &'static str) -> Result<Obj<'a>> {
        let at = self.at(key);
        Obj::new(self.take(key), at)
    }

    fn finish(self) -> Result<()> {
        let Some(map) = self.map else { return Ok(()) };
        match map.keys().find(|k| !self.taken.contains(&k.as_str())) {
            Some(k) => Err(unknown(join(&self.path, k))),
            None => Ok(()),
        }
    }
}

/// A dossier code: it is a path segment of the API, so it is kept to letters, digits and
/// `. - _` (every published form fits), at most 64 characters.
pub fn check_code(code: &str, field: &str) -> Result<()> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("mã hồ sơ {code:?} chỉ được gồm chữ, số và . - _ (tối đa 64 ký tự)"),
        ))
    }
}

/// What the due-time rule decides from the procedure and the receipt (see
/// [`super::Dossiers::due_time`]): the due time, or a refusal.
pub type DueRule<'r> = dyn Fn(&str, Instant, Option<Instant>) -> Result<Instant> + 'r;

/// Read a filed dossier. `organ` is the receiving organ when the body names none; `due` checks
/// the procedure and fixes the due time.
pub fn dossier(v: &Value, organ: Option<&OrganId>, due: &DueRule<'_>) -> Result<Dossier> {
    let mut o = Obj::new(Some(v), String::new())?;
    let code = o.required_text("code")?;
    check_code(&code, "code")?;
    let procedure = o.required_text("procedure")?;
    let summary = o.text("summary")?;
    let applicant = applicant(o.object("applicant")?)?;
    let receiving_organ = match o.text("receiving_organ")? {
        Some(s) => OrganId::parse(&s).map_err(|e| invalid("receiving_organ", e.to_string()))?,
        None => organ.cloned().ok_or_else(|| missing("receiving_organ"))?,
    };
    let channel = o
        .named("channel", Channel::parse, Channel::names)?
        .ok_or_else(|| missing("channel"))?;
    let submitted_at = o.time("submitted_at")?;
    let received_at = o
        .time("received_at")?
        .ok_or_else(|| missing("received_at"))?;
    let due_given = o.time("due_at")?;
    let status = o.status("status")?.unwrap_or(DossierStatus::Accepted);
    if !DossierStatus::INITIAL.contains(&status) {
        return Err(Rejection::new("status", Why::InitialStatus(status)));
    }
    let fees = o
        .list("fees")?
        .into_iter()
        .map(|(at, v)| fee(Obj::new(Some(v), at)?))
        .collect::<Result<Vec<_>>>()?;
    let result_delivery = o
        .named(
            "result_delivery",
            ResultDelivery::parse,
            ResultDelivery::names,
        )?
        .ok_or_else(|| missing("result_delivery"))?;
    let components = o
        .list("components")?
        .into_iter()
        .map(|(at, v)| component(Obj::new(Some(v), at)?))
        .collect::<Result<Vec<_>>>()?;
    o.finish()?;
    let due_at = due(&procedure, received_at, due_given)?;
    Ok(Dossier {
        code,
        procedure,
        summary,
        applicant,
        receiving_organ,
        channel,
        submitted_at,
        received_at,
        due_at,
        status,
        fees,
        result_delivery,
        components,
    })
}

fn applicant(mut o: Obj<'_>) -> Result<Applicant> {
    let a = Applicant {
        name: o.required_text("name")?,
        kind: o
            .named("kind", ApplicantKind::parse, ApplicantKind::names)?
            .ok_or_else(|| missing(o.at("kind")))?,
        id_number: o.text("id_number")?,
        email: o.text("email")?,
        phone: o.text("phone")?,
        other: o.text("other")?,
    };
    o.finish()?;
    Ok(a)
}

fn fee(mut o: Obj<'_>) -> Result<Fee> {
    let f = Fee {
        code: o.text("code")?,
        name: o.required_text("name")?,
        amount: o
            .int("amount", 1_000_000_000_000)?
            .ok_or_else(|| missing(o.at("amount")))?,
        kind: o.text("kind")?,
        collected: o.named("collected", FeeStage::parse, FeeStage::names)?,
        paid: o.boolean("paid")?,
    };
    o.finish()?;
    Ok(f)
}

fn component(mut o: Obj<'_>) -> Result<Component> {
    let c = Component {
        code: o.text("code")?,
        copies: o.int("copies", 1000)?.map(|n| n as u32),
        form: o.named("form", CopyForm::parse, CopyForm::names)?,
        attachments: o
            .list("attachments")?
            .into_iter()
            .map(|(at, v)| attachment(Obj::new(Some(v), at)?))
            .collect::<Result<Vec<_>>>()?,
    };
    o.finish()?;
    Ok(c)
}

fn attachment(mut o: Obj<'_>) -> Result<Attachment> {
    let a = Attachment {
        id: o.required_text("id")?,
        name: o.text("name")?,
        url: o.text("url")?,
        hash: o.text("hash")?,
        deleted: o.boolean("deleted")?.unwrap_or(false),
    };
    o.finish()?;
    Ok(a)
}

/// Read a status change for dossier `code` (the path's); `now` is its time when the body
/// gives none.
pub fn status_change(v: &Value, code: &str, now: Instant) -> Result<StatusChange> {
    let mut o = Obj::new(Some(v), String::new())?;
    if let Some(body) = o.text("code")? {
        if body != code {
            return Err(Rejection::new(
                "code",
                Why::CodeMismatch {
                    path: code.to_owned(),
                    body,
                },
            ));
        }
    }
    let change = StatusChange {
        status: o.status("status")?.ok_or_else(|| missing("status"))?,
        at: o.time("at")?.unwrap_or(now),
        handler: o.text("handler")?,
        handler_title: o.text("handler_title")?,
        department: o.text("department")?,
        note: o.text("note")?,
    };
    o.finish()?;
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_due(_: &str, received: Instant, given: Option<Instant>) -> Result<Instant> {
        Ok(given.unwrap_or(received))
    }

    fn minimal() -> Value {
        json!({
            "code": "H99.20-20260302-0000001",
            "procedure": "1.009999",
            "applicant": {"name": "Đỗ Thị Thử", "kind": "individual"},
            "receiving_organ": "H99.20",
            "channel": "in_person",
            "received_at": "2026-03-02T09:15:00+07:00",
            "result_delivery": "at_desk"
        })
    }

    fn refused(v: Value) -> Rejection {
        dossier(&v, None, &no_due).unwrap_err()
    }

    #[test]
    fn reads_a_minimal_dossier_with_defaults() {
        let d = dossier(&minimal(), None, &no_due).unwrap();
        assert_eq!(d.status, DossierStatus::Accepted);
        assert!(d.fees.is_empty() && d.components.is_empty());
        assert_eq!(d.receiving_organ.as_str(), "H99.20");
    }

    #[test]
    fn names_the_field_at_fault() {
        let mut v = minimal();
        v["applicant"]["nickname"] = json!("x");
        assert_eq!(refused(v).field, "applicant.nickname");
        let mut v = minimal();
        v["fees"] = json!([{"name": "Lệ phí", "amount": 1}, {"name": "Phí", "amount": "50000"}]);
        let r = refused(v);
        assert_eq!(
            (r.field.as_str(), r.code()),
            ("fees[1].amount", "invalid_field")
        );
        let mut v = minimal();
        v["components"] = json!([{"attachments": [{"name": "a.pdf"}]}]);
        let r = refused(v);
        assert_eq!(
            (r.field.as_str(), r.code()),
            ("components[0].attachments[0].id", "missing_field")
        );
        let mut v = minimal();
        v.as_object_mut().unwrap().remove("applicant");
        assert_eq!(refused(v).field, "applicant.name");
        let mut v = minimal();
        v["received_at"] = json!("02/03/2026");
        assert_eq!(refused(v).code(), "invalid_date");
        let mut v = minimal();
        v["status"] = json!(4);
        assert_eq!(refused(v).code(), "invalid_initial_status");
        let mut v = minimal();
        v["code"] = json!("a/b");
        assert_eq!(refused(v).field, "code");
    }

    #[test]
    fn a_status_change_must_name_its_own_dossier() {
        let now = instant::parse("2026-03-03T10:00:00+07:00").unwrap();
        let c = status_change(&json!({"status": 4}), "X", now).unwrap();
        assert_eq!((c.status, c.at), (DossierStatus::Processing, now));
        let r = status_change(&json!({"status": 4, "code": "Y"}), "X", now).unwrap_err();
        assert_eq!(r.code(), "code_mismatch");
        let r = status_change(&json!({"status": 11}), "X", now).unwrap_err();
        assert_eq!(r.field, "status");
    }
}
