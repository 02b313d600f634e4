//! `MaXacThuc`: lowercase hex of SHA-256 over the message's fields in a fixed order, joined with
//! `|`, the shared secret last (a plain hash, not an HMAC). The exact received strings are
//! hashed, never re-formatted values.

use serde_json::{Map, Value};

/// Field order of an init message (to PayGov).
pub const INIT: &[&str] = &[
    "LoaiBanTin",
    "PhienBan",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "LoaiHinhThanhToan",
    "MaKenhThanhToan",
    "MaThietBi",
    "NgonNgu",
    "MaTienTe",
    "MaNganHang",
    "ThongTinGiaoDich",
    "ThoiGianGD",
    "Ip",
];
/// Field order of a callback (from PayGov) and of a status-check answer.
pub const CALLBACK: &[&str] = &[
    "LoaiBanTin",
    "MaLoi",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "MaTienTe",
    "MaGiaoDich",
    "MaNganHang",
    "ThoiGianGD",
    "ThongTinGiaoDich",
];
/// Field order of a status check or receipt request (to PayGov).
pub const CHECK: &[&str] = &[
    "LoaiBanTin",
    "PhienBan",
    "MaDoiTac",
    "MaThamChieu",
    "ThoiGianGD",
];

/// The text a field contributes: a string as it is, a number as written, absent as empty.
fn field(m: &Map<String, Value>, k: &str) -> String {
    match m.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// `MaXacThuc` of `m` for field `order` and `secret`.
pub fn compute(m: &Map<String, Value>, order: &[&str], secret: &[u8]) -> String {
    let mut h = openssl::sha::Sha256::new();
    for k in order {
        h.update(field(m, k).as_bytes());
        h.update(b"|");
    }
    h.update(secret);
    h.finish().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given` is the checksum of `m`: constant-time, hex case ignored.
pub fn verify(m: &Map<String, Value>, order: &[&str], secret: &[u8], given: &str) -> bool {
    let want = compute(m, order, secret);
    let given = given.to_ascii_lowercase();
    want.len() == given.len() && openssl::memcmp::eq(want.as_bytes(), given.as_bytes())
}

/// Set `MaXacThuc` on `m`.
pub fn sign(m: &mut Map<String, Value>, order: &[&str], secret: &[u8]) {
    let c = compute(m, order, secret);
    m.insert("MaXacThuc".into(), Value::String(c));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worked_sample_of_the_domain_notes() {
        let v: Value = serde_json::from_str(include_str!(
            "../../../../shared/domain/samples/paygov-callback.json"
        ))
        .unwrap();
        let m = v.as_object().unwrap();
        let given = m["MaXacThuc"].as_str().unwrap();
        assert_eq!(
            compute(m, CALLBACK, b"sandbox-secret"),
            "dbb3b1f86594cba1e127c80e27e724b2ad70d9c9549218bfefeb2331dc3b43f1"
        );
        assert!(verify(m, CALLBACK, b"sandbox-secret", given));
        assert!(verify(
            m,
            CALLBACK,
            b"sandbox-secret",
            &given.to_uppercase()
        ));
        assert!(!verify(m, CALLBACK, b"other-secret", given));
        // The same fields in the init order (ThoiGianGD and ThongTinGiaoDich swapped) differ.
        let mut reordered = CALLBACK.to_vec();
        reordered.swap(8, 9);
        assert!(!verify(m, &reordered, b"sandbox-secret", given));
        let mut changed = m.clone();
        changed.insert("SoTien".into(), Value::String("50001".into()));
        assert!(!verify(&changed, CALLBACK, b"sandbox-secret", given));
    }
}
