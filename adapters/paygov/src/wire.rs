//! PayGov messages: the init request, the callback and its answer, the status check. Field
//! names are PayGov's (`MaThamChieu`, `SoTien`, …); every value is a string; times are
//! `yyyyMMddHHmmss` in Vietnam time (24-hour: the 12-hour `hh` bug of public clients is not
//! repeated).

use crate::checksum;
use chrono::{DateTime, FixedOffset};
use serde_json::{json, Map, Value};

/// `yyyyMMddHHmmss`, UTC+7, whatever the offset of `t`.
pub fn time(t: &DateTime<FixedOffset>) -> String {
    let vn = FixedOffset::east_opt(7 * 3600).expect("UTC+7");
    t.with_timezone(&vn).format("%Y%m%d%H%M%S").to_string()
}

/// The partner's settings every message needs.
#[derive(Debug, Clone)]
pub struct Partner {
    /// `MaDoiTac`.
    pub code: String,
    /// The shared secret (`MaBiMat`).
    pub secret: Vec<u8>,
    /// `PhienBan` (one client: `1.0.6`).
    pub version: String,
    /// `LoaiBanTin` of status checks (unknown: configurable).
    pub check_kind: String,
}

/// A payment to start.
#[derive(Debug, Clone)]
pub struct Init {
    /// `MaThamChieu`: the merchant reference, unique.
    pub reference: String,
    /// `SoTien`: integer VND.
    pub amount: u64,
    /// `ThongTinGiaoDich`.
    pub description: String,
    /// `ThoiGianGD`.
    pub time: String,
    /// `Ip`: the gateway's IPv4.
    pub ip: String,
    /// `ThongTinBienLai`: receipt data, passed through.
    pub receipt: Value,
}

impl Init {
    /// The signed init message (order A).
    pub fn message(&self, p: &Partner) -> Map<String, Value> {
        let mut m = json!({
            "LoaiBanTin": "INIT",
            "PhienBan": p.version,
            "MaDoiTac": p.code,
            "MaThamChieu": self.reference,
            "SoTien": self.amount.to_string(),
            "LoaiHinhThanhToan": "PAY",
            "MaKenhThanhToan": "1",
            "MaThietBi": "1",
            "NgonNgu": "vi-VN",
            "MaTienTe": "VND",
            "MaNganHang": "PAYMENT",
            "ThongTinGiaoDich": self.description,
            "ThoiGianGD": self.time,
            "Ip": self.ip,
            "ThongTinBienLai": self.receipt,
        });
        let m = m.as_object_mut().map(std::mem::take).unwrap_or_default();
        let mut m = m;
        checksum::sign(&mut m, checksum::INIT, &p.secret);
        m
    }
}

/// A status check or receipt request for `reference` initiated at `time` (order C).
pub fn check(p: &Partner, kind: &str, reference: &str, time: &str) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("LoaiBanTin", kind),
        ("PhienBan", &p.version),
        ("MaDoiTac", &p.code),
        ("MaThamChieu", reference),
        ("ThoiGianGD", time),
    ] {
        m.insert(k.into(), Value::String(v.to_owned()));
    }
    checksum::sign(&mut m, checksum::CHECK, &p.secret);
    m
}

/// The answer to a callback: `00` accepted (also for a duplicate), `99` refused. The received
/// `MaXacThuc` is echoed (as both public clients do; whether PayGov expects a fresh checksum is
/// unknown).
pub fn answer(ok: bool, partner: &str, received: &Map<String, Value>) -> Value {
    let text = |k: &str| received.get(k).and_then(Value::as_str).unwrap_or("");
    json!({
        "MaLoi": if ok { "00" } else { "99" },
        "MoTaLoi": if ok { "Thành công" } else { "Các lỗi khác" },
        "MaDoiTac": partner,
        "MaThamChieu": text("MaThamChieu"),
        "ThoiGianGD": text("ThoiGianGD"),
        "MaXacThuc": text("MaXacThuc"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_24_hour_vietnam_time() {
        let t = DateTime::parse_from_rfc3339("2026-03-02T07:30:05Z").unwrap();
        assert_eq!(time(&t), "20260302143005", "14:30, not 02:30");
    }

    #[test]
    fn init_is_signed_in_its_own_order() {
        let p = Partner {
            code: "VIDU01".into(),
            secret: b"s".to_vec(),
            version: "1.0.6".into(),
            check_kind: "CHECK".into(),
        };
        let m = Init {
            reference: "dvc1".into(),
            amount: 50_000,
            description: "Lệ phí".into(),
            time: "20260302143000".into(),
            ip: "127.0.0.1".into(),
            receipt: json!({}),
        }
        .message(&p);
        assert_eq!(m["SoTien"], "50000");
        let sig = m["MaXacThuc"].as_str().unwrap();
        assert!(checksum::verify(&m, checksum::INIT, b"s", sig));
        assert!(!checksum::verify(&m, checksum::CALLBACK, b"s", sig));
    }
}
