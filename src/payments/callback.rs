//! A PayGov callback as received: read strictly, verified in the platform's rule order
//! (`shared/domain/paygov.md`): checksum over the exact received strings in the callback order,
//! then our partner code; the store checks the reference, amount and currency.

use lienthong_paygov::checksum;
use serde_json::{Map, Value};

/// Why a callback was refused (answered `99`, nothing changed). `code()` is the stable machine
/// code operators find in the audit log and the `X-Lienthong-Reason` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Source(String),
    Malformed(String),
    Checksum,
    Partner,
    UnknownReference,
    Amount,
    Currency,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Source(_) => "paygov_source_denied",
            Refusal::Malformed(_) => "paygov_malformed",
            Refusal::Checksum => "paygov_bad_checksum",
            Refusal::Partner => "paygov_wrong_partner",
            Refusal::UnknownReference => "paygov_unknown_reference",
            Refusal::Amount => "paygov_amount_mismatch",
            Refusal::Currency => "paygov_currency_mismatch",
        }
    }

    /// For the operator, in Vietnamese.
    pub fn detail(&self) -> String {
        match self {
            Refusal::Source(ip) => format!("Lời gọi lại từ địa chỉ {ip} không nằm trong danh sách adapters.paygov.callback_sources."),
            Refusal::Malformed(why) => format!("Nội dung lời gọi lại không đọc được: {why}."),
            Refusal::Checksum => "MaXacThuc không khớp (sai khoá bí mật, sai thứ tự trường hoặc nội dung bị sửa).".into(),
            Refusal::Partner => "MaDoiTac không phải mã đối tác của cổng (adapters.paygov.partner_code).".into(),
            Refusal::UnknownReference => "MaThamChieu không phải giao dịch do cổng khởi tạo.".into(),
            Refusal::Amount => "SoTien khác số tiền đã khởi tạo cho giao dịch.".into(),
            Refusal::Currency => "MaTienTe khác đơn vị tiền đã khởi tạo cho giao dịch.".into(),
        }
    }
}

/// Fields a callback must carry.
const REQUIRED: [&str; 7] = [
    "MaLoi",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "MaTienTe",
    "MaGiaoDich",
    "MaXacThuc",
];

/// A callback whose shape is right (not yet verified).
#[derive(Clone, Debug)]
pub struct Callback {
    /// Every field as received (what the checksum is computed over).
    pub fields: Map<String, Value>,
}

impl Callback {
    /// The text of field `k` ("" when absent).
    pub fn text(&self, k: &str) -> String {
        match self.fields.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    }

    /// `MaLoi` 00: the citizen paid.
    pub fn paid(&self) -> bool {
        self.text("MaLoi") == "00"
    }

    /// SHA-256 of the fields in a canonical order (to tell a true duplicate from a different
    /// message under the same transaction code).
    pub fn digest(&self) -> String {
        let v = Value::Object(self.fields.clone());
        hex::encode(openssl::sha::sha256(v.to_string().as_bytes()))
    }
}

/// Read a callback body: a JSON object of strings (numbers accepted for `SoTien`), every
/// required field present and non-empty.
pub fn parse(body: &[u8]) -> Result<Callback, Refusal> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::Malformed(format!("không phải JSON ({e})")))?;
    let Value::Object(fields) = v else {
        return Err(Refusal::Malformed("không phải một đối tượng JSON".into()));
    };
    for (k, v) in &fields {
        let ok = match v {
            Value::String(s) => s.len() <= 2048,
            Value::Number(_) => k == "SoTien",
            Value::Null => true,
            _ => false,
        };
        if !ok {
            return Err(Refusal::Malformed(format!(
                "trường {k} có giá trị không hợp lệ"
            )));
        }
    }
    let cb = Callback { fields };
    for k in REQUIRED {
        if cb.text(k).trim().is_empty() {
            return Err(Refusal::Malformed(format!("thiếu trường {k}")));
        }
    }
    Ok(cb)
}

/// Checksum (constant-time), then partner code.
pub fn verify(cb: &Callback, partner: &str, secret: &[u8]) -> Result<(), Refusal> {
    if !checksum::verify(
        &cb.fields,
        checksum::CALLBACK,
        secret,
        &cb.text("MaXacThuc"),
    ) {
        return Err(Refusal::Checksum);
    }
    if cb.text("MaDoiTac") != partner {
        return Err(Refusal::Partner);
    }
    Ok(())
}

/// Whether `SoTien` as received is exactly `amount` đồng (`50000`, or `50000.00` with a zero
/// fraction: the platform's rendering is not documented).
pub fn amount_is(text: &str, amount: u64) -> bool {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b == b'0')
        && int.parse::<u64>().ok() == Some(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Map<String, Value> {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/domain/samples/paygov-callback.json"
            ))
            .unwrap(),
        )
        .unwrap();
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_shared_sample_verifies_and_any_change_breaks_it() {
        let m = sample();
        let body = serde_json::to_vec(&m).unwrap();
        let cb = parse(&body).unwrap();
        assert_eq!(verify(&cb, "VIDU01", b"sandbox-secret"), Ok(()));
        assert!(cb.paid());
        assert_eq!(
            verify(&cb, "OTHER", b"sandbox-secret"),
            Err(Refusal::Partner)
        );
        assert_eq!(verify(&cb, "VIDU01", b"other"), Err(Refusal::Checksum));
        let mut changed = m.clone();
        changed.insert("SoTien".into(), json!("500000"));
        let cb = parse(&serde_json::to_vec(&changed).unwrap()).unwrap();
        assert_eq!(
            verify(&cb, "VIDU01", b"sandbox-secret"),
            Err(Refusal::Checksum)
        );
    }

    #[test]
    fn shapes_that_are_refused() {
        assert!(matches!(parse(b"not json"), Err(Refusal::Malformed(_))));
        assert!(matches!(parse(b"[1]"), Err(Refusal::Malformed(_))));
        let mut m = sample();
        m.remove("MaGiaoDich");
        assert!(matches!(
            parse(&serde_json::to_vec(&m).unwrap()),
            Err(Refusal::Malformed(_))
        ));
        let mut m = sample();
        m.insert("MaLoi".into(), json!({"x": 1}));
        assert!(matches!(
            parse(&serde_json::to_vec(&m).unwrap()),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn amounts_compare_as_written_numbers() {
        assert!(amount_is("50000", 50_000));
        assert!(amount_is("50000.00", 50_000));
        assert!(!amount_is("50000.50", 50_000));
        assert!(!amount_is("5e4", 50_000));
        assert!(!amount_is("", 0));
        assert!(!amount_is("-50000", 50_000));
        assert!(!amount_is("50001", 50_000));
    }
}
