//! The SOAP 1.1 wire shape of integration "037" (*tra cứu thông tin công dân*): the request the
//! gateway sends, the answer it reads — and, for the simulator, the other way round. Vietnamese
//! element names stay here; everything above speaks `lienthong_contract::citizen`.

use crate::name::normalise;
use crate::xml::{self, escape, Element, Limits};
use lienthong_contract::citizen::{Address, Citizen, HouseholdHead, LookupAnswer, Relative};
use std::fmt::Write;

/// SOAP 1.1 envelope namespace.
pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// Request namespace (prefix `dan`).
pub const REQUEST_NS: &str = "http://dancuquocgia.bca";
/// Response namespace (`CongdanCollection/CongDan`).
pub const RESPONSE_NS: &str = "http://www.mic.gov.vn/dancu/1.0";
/// Integration code of the citizen lookup (`MaTichHop`).
pub const INTEGRATION_CODE: &str = "037";

/// A birth date as the request carries it (`NgayThangNamSinh`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Birth {
    /// Only the year (`Nam`, `yyyy`).
    Year(i32),
    /// The full date (`NgayThangNam`, `yyyyMMdd`).
    Date(chrono::NaiveDate),
}

impl Birth {
    pub fn year(&self) -> i32 {
        use chrono::Datelike;
        match self {
            Birth::Year(y) => *y,
            Birth::Date(d) => d.year(),
        }
    }
}

/// One lookup question (`dan:TraCuuThongTinCongDan`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Request id (`MaYeuCau`), unique per request.
    pub request_id: String,
    /// Calling service code (`MaDVC`).
    pub service_code: String,
    /// Personal ID of the officer asking (`MaCanBo`).
    pub officer_id: String,
    /// The officer's unit (`MaDonVi`).
    pub unit_code: String,
    /// The officer's account (`TaiKhoan`).
    pub officer_account: String,
    /// The ID being checked (`SoDinhDanh`).
    pub id_number: String,
    /// Full name; sent normalised (`HoVaTen`).
    pub full_name: String,
    /// Birth date or year (`NgayThangNamSinh`).
    pub birth: Birth,
}

/// Why an answer (or, in the simulator, a request) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("SOAP fault {code}: {message}")]
    Fault { code: String, message: String },
    #[error("{0}")]
    Xml(#[from] xml::XmlError),
    #[error("not a SOAP 1.1 envelope")]
    NotEnvelope,
    #[error("unexpected element {{{ns}}}{name} in the body")]
    Unexpected { ns: String, name: String },
    #[error("missing or empty {0}")]
    Missing(&'static str),
    #[error("{0}")]
    Invalid(String),
}

fn el(out: &mut String, prefix: &str, name: &str, value: &str) {
    let _ = write!(out, "<{prefix}:{name}>{}</{prefix}:{name}>", escape(value));
}

/// The request envelope.
pub fn request_xml(q: &Query) -> String {
    let mut s = String::with_capacity(1024);
    s.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:dan="http://dancuquocgia.bca"><soapenv:Header/><soapenv:Body><dan:TraCuuThongTinCongDan>"#);
    el(&mut s, "dan", "MaYeuCau", &q.request_id);
    el(&mut s, "dan", "MaDVC", &q.service_code);
    el(&mut s, "dan", "MaTichHop", INTEGRATION_CODE);
    el(&mut s, "dan", "MaCanBo", &q.officer_id);
    el(&mut s, "dan", "MaDonVi", &q.unit_code);
    el(&mut s, "dan", "TaiKhoan", &q.officer_account);
    el(&mut s, "dan", "SoDienThoai", "0");
    el(&mut s, "dan", "SoDinhDanh", &q.id_number);
    el(&mut s, "dan", "HoVaTen", &normalise(&q.full_name));
    s.push_str("<dan:NgayThangNamSinh>");
    match q.birth {
        Birth::Year(y) => el(&mut s, "dan", "Nam", &format!("{y:04}")),
        Birth::Date(d) => el(
            &mut s,
            "dan",
            "NgayThangNam",
            &d.format("%Y%m%d").to_string(),
        ),
    }
    s.push_str(
        "</dan:NgayThangNamSinh></dan:TraCuuThongTinCongDan></soapenv:Body></soapenv:Envelope>",
    );
    s
}

/// The `Body` of a SOAP 1.1 envelope, or the fault it carries.
fn body(doc: &[u8], limits: Limits) -> Result<Element, WireError> {
    let root = xml::parse(doc, limits)?;
    if root.ns != SOAP_NS || root.name != "Envelope" {
        return Err(WireError::NotEnvelope);
    }
    let body = root
        .children
        .into_iter()
        .find(|c| c.ns == SOAP_NS && c.name == "Body")
        .ok_or(WireError::NotEnvelope)?;
    if let Some(f) = body.child(SOAP_NS, "Fault") {
        // SOAP 1.1: faultcode and faultstring are unqualified.
        return Err(WireError::Fault {
            code: f.child_text("", "faultcode").unwrap_or_default(),
            message: f.child_text("", "faultstring").unwrap_or_default(),
        });
    }
    Ok(body)
}

/// Read the answer to a question about `asked_id`. A record for another ID is refused (the
/// service answers a verified match, never a search).
pub fn parse_response(
    doc: &[u8],
    asked_id: &str,
    limits: Limits,
) -> Result<LookupAnswer, WireError> {
    let body = body(doc, limits)?;
    let mut found: Option<&Element> = None;
    for c in &body.children {
        if c.ns == RESPONSE_NS && c.name == "CongdanCollection" {
            found = c
                .children
                .iter()
                .find(|d| d.ns == RESPONSE_NS && d.name == "CongDan");
        } else {
            return Err(WireError::Unexpected {
                ns: c.ns.clone(),
                name: c.name.clone(),
            });
        }
    }
    let Some(cd) = found else {
        return Ok(LookupAnswer::NotFound);
    };
    let citizen = citizen(cd);
    if citizen.given_name.is_empty() {
        return Ok(LookupAnswer::NotFound);
    }
    if citizen.id_number != asked_id {
        return Err(WireError::Invalid(
            "the record returned is for another ID number than the one asked".into(),
        ));
    }
    Ok(LookupAnswer::Match(Box::new(citizen)))
}

fn t(e: &Element, name: &str) -> Option<String> {
    e.child_text(RESPONSE_NS, name)
}

/// A name that is either text or nested `Ho`/`ChuDem`/`Ten`.
fn name_of(e: &Element) -> Option<String> {
    if e.children.is_empty() {
        let s = e.text.trim();
        return (!s.is_empty()).then(|| s.to_owned());
    }
    let parts: Vec<String> = ["Ho", "ChuDem", "Ten"]
        .iter()
        .filter_map(|n| t(e, n))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn address(e: Option<&Element>) -> Option<Address> {
    let e = e?;
    let a = Address {
        province_code: t(e, "MaTinhThanh"),
        district_code: t(e, "MaQuanHuyen"),
        commune_code: t(e, "MaPhuongXa"),
        detail: t(e, "ChiTiet"),
        country: t(e, "QuocGia"),
    };
    (a != Address::default()).then_some(a)
}

fn relative(e: Option<&Element>) -> Option<Relative> {
    let e = e?;
    let r = Relative {
        full_name: e.child(RESPONSE_NS, "HoVaTen").and_then(name_of),
        nationality: t(e, "QuocTich"),
        id_number: t(e, "SoDinhDanh"),
        old_id_number: t(e, "SoCMND"),
    };
    (r != Relative::default()).then_some(r)
}

fn citizen(cd: &Element) -> Citizen {
    let name = cd.child(RESPONSE_NS, "HoVaTen");
    let part = |n: &str| name.and_then(|h| t(h, n)).unwrap_or_default();
    let (family, middle, given) = (part("Ho"), part("ChuDem"), part("Ten"));
    let full = [family.as_str(), middle.as_str(), given.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let birth = cd.child(RESPONSE_NS, "NgayThangNamSinh");
    let birth_date = match birth.and_then(|b| t(b, "NgayThangNam")) {
        Some(d) if d.len() == 8 => format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]),
        _ => birth.and_then(|b| t(b, "Nam")).unwrap_or_default(),
    };
    let head = cd.child(RESPONSE_NS, "ChuHo").map(|h| HouseholdHead {
        relation: t(h, "QuanHe"),
        id_number: t(h, "SoDinhDanh"),
        old_id_number: t(h, "SoCMND"),
        full_name: h.child(RESPONSE_NS, "HoVaTen").and_then(name_of),
    });
    Citizen {
        id_number: t(cd, "SoDinhDanh").unwrap_or_default(),
        old_id_number: t(cd, "SoCMND"),
        full_name: full,
        family_name: family,
        middle_name: middle,
        given_name: given,
        birth_date,
        sex_code: t(cd, "GioiTinh").unwrap_or_default(),
        ethnicity_code: t(cd, "DanToc"),
        religion_code: t(cd, "TonGiao"),
        marital_status_code: t(cd, "TinhTrangHonNhan"),
        blood_group_code: t(cd, "NhomMau"),
        nationality: t(cd, "QuocTich"),
        birth_registration: address(cd.child(RESPONSE_NS, "NoiDangKyKhaiSinh")),
        home_town: address(cd.child(RESPONSE_NS, "QueQuan")),
        permanent_address: address(cd.child(RESPONSE_NS, "ThuongTru")),
        current_address: address(cd.child(RESPONSE_NS, "NoiOHienTai")),
        father: relative(cd.child(RESPONSE_NS, "Cha")),
        mother: relative(cd.child(RESPONSE_NS, "Me")),
        spouse: relative(cd.child(RESPONSE_NS, "VoChong")),
        representative: relative(cd.child(RESPONSE_NS, "NguoiDaiDien")),
        household_head: head.filter(|h| *h != HouseholdHead::default()),
        household_book: t(cd, "SoSoHoKhau"),
    }
}

// ---- the service side (simulator) ----

/// Read a request envelope (the simulator's side).
pub fn parse_request(doc: &[u8], limits: Limits) -> Result<Query, WireError> {
    let body = body(doc, limits)?;
    let op = body
        .child(REQUEST_NS, "TraCuuThongTinCongDan")
        .ok_or(WireError::Missing("dan:TraCuuThongTinCongDan"))?;
    let get = |n: &'static str| op.child_text(REQUEST_NS, n).ok_or(WireError::Missing(n));
    if get("MaTichHop")? != INTEGRATION_CODE {
        return Err(WireError::Invalid("MaTichHop is not 037".into()));
    }
    let b = op
        .child(REQUEST_NS, "NgayThangNamSinh")
        .ok_or(WireError::Missing("NgayThangNamSinh"))?;
    let birth = if let Some(d) = b.child_text(REQUEST_NS, "NgayThangNam") {
        Birth::Date(
            chrono::NaiveDate::parse_from_str(&d, "%Y%m%d")
                .map_err(|_| WireError::Invalid("NgayThangNam is not yyyyMMdd".into()))?,
        )
    } else {
        let y = b
            .child_text(REQUEST_NS, "Nam")
            .ok_or(WireError::Missing("Nam"))?;
        Birth::Year(
            y.parse()
                .map_err(|_| WireError::Invalid("Nam is not a year".into()))?,
        )
    };
    Ok(Query {
        request_id: get("MaYeuCau")?,
        service_code: get("MaDVC")?,
        officer_id: get("MaCanBo")?,
        unit_code: get("MaDonVi")?,
        officer_account: get("TaiKhoan")?,
        id_number: get("SoDinhDanh")?,
        full_name: get("HoVaTen")?,
        birth,
    })
}

fn opt(out: &mut String, name: &str, v: &Option<String>) {
    el(out, "ns1", name, v.as_deref().unwrap_or(""));
}

fn write_address(out: &mut String, name: &str, a: &Option<Address>) {
    let a = a.clone().unwrap_or_default();
    let _ = write!(out, "<ns1:{name}>");
    opt(out, "MaTinhThanh", &a.province_code);
    opt(out, "MaQuanHuyen", &a.district_code);
    opt(out, "MaPhuongXa", &a.commune_code);
    opt(out, "ChiTiet", &a.detail);
    opt(out, "QuocGia", &a.country);
    let _ = write!(out, "</ns1:{name}>");
}

fn write_relative(out: &mut String, name: &str, r: &Option<Relative>) {
    let r = r.clone().unwrap_or_default();
    let _ = write!(out, "<ns1:{name}>");
    opt(out, "HoVaTen", &r.full_name);
    opt(out, "QuocTich", &r.nationality);
    opt(out, "SoDinhDanh", &r.id_number);
    opt(out, "SoCMND", &r.old_id_number);
    let _ = write!(out, "</ns1:{name}>");
}

/// The answer envelope: the record, or an empty collection (not found).
pub fn response_xml(c: Option<&Citizen>) -> String {
    let mut s = String::with_capacity(4096);
    s.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body xmlns:dan="http://dancuquocgia.bca"><ns1:CongdanCollection xmlns:ns1="http://www.mic.gov.vn/dancu/1.0">"#);
    if let Some(c) = c {
        s.push_str("<ns1:CongDan>");
        el(&mut s, "ns1", "SoDinhDanh", &c.id_number);
        opt(&mut s, "SoCMND", &c.old_id_number);
        s.push_str("<ns1:HoVaTen>");
        el(&mut s, "ns1", "Ho", &c.family_name);
        el(&mut s, "ns1", "ChuDem", &c.middle_name);
        el(&mut s, "ns1", "Ten", &c.given_name);
        s.push_str("</ns1:HoVaTen>");
        el(&mut s, "ns1", "GioiTinh", &c.sex_code);
        opt(&mut s, "DanToc", &c.ethnicity_code);
        opt(&mut s, "TonGiao", &c.religion_code);
        opt(&mut s, "TinhTrangHonNhan", &c.marital_status_code);
        opt(&mut s, "NhomMau", &c.blood_group_code);
        s.push_str("<ns1:NgayThangNamSinh>");
        el(&mut s, "ns1", "Nam", c.birth_date.get(..4).unwrap_or(""));
        el(
            &mut s,
            "ns1",
            "NgayThangNam",
            &c.birth_date.replace('-', ""),
        );
        s.push_str("</ns1:NgayThangNamSinh>");
        write_address(&mut s, "NoiDangKyKhaiSinh", &c.birth_registration);
        opt(&mut s, "QuocTich", &c.nationality);
        write_address(&mut s, "QueQuan", &c.home_town);
        write_address(&mut s, "ThuongTru", &c.permanent_address);
        write_address(&mut s, "NoiOHienTai", &c.current_address);
        write_relative(&mut s, "Cha", &c.father);
        write_relative(&mut s, "Me", &c.mother);
        write_relative(&mut s, "VoChong", &c.spouse);
        write_relative(&mut s, "NguoiDaiDien", &c.representative);
        let h = c.household_head.clone().unwrap_or_default();
        s.push_str("<ns1:ChuHo>");
        opt(&mut s, "QuanHe", &h.relation);
        opt(&mut s, "SoDinhDanh", &h.id_number);
        opt(&mut s, "SoCMND", &h.old_id_number);
        opt(&mut s, "HoVaTen", &h.full_name);
        s.push_str("</ns1:ChuHo>");
        opt(&mut s, "SoSoHoKhau", &c.household_book);
        s.push_str("</ns1:CongDan>");
    }
    s.push_str("</ns1:CongdanCollection></soapenv:Body></soapenv:Envelope>");
    s
}

/// A SOAP 1.1 fault envelope.
pub fn fault_xml(code: &str, message: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>{}</faultcode><faultstring>{}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#,
        escape(code),
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE_RESPONSE: &str = include_str!("../samples/population-037-response.xml");
    const SAMPLE_REQUEST: &str = include_str!("../samples/population-037-request.xml");

    fn query() -> Query {
        Query {
            request_id: "01JNQ3V6K8Z2X4C7B9D1F3H5J7".into(),
            service_code: "VPCP".into(),
            officer_id: "099085000777".into(),
            unit_code: "000.00.12.H99".into(),
            officer_account: "cb.motcua.snv".into(),
            id_number: "099188000123".into(),
            full_name: "Đỗ Thị Thử".into(),
            birth: Birth::Date(chrono::NaiveDate::from_ymd_opt(1988, 7, 15).unwrap()),
        }
    }

    #[test]
    fn sample_response_is_a_match() {
        let LookupAnswer::Match(c) = parse_response(
            SAMPLE_RESPONSE.as_bytes(),
            "099188000123",
            Limits::default(),
        )
        .unwrap() else {
            panic!("not a match")
        };
        assert_eq!(c.full_name, "ĐỖ THỊ THỬ");
        assert_eq!(c.birth_date, "1988-07-15");
        assert_eq!(c.sex_code, "2");
        let home = c.permanent_address.as_ref().unwrap();
        assert_eq!(home.commune_code.as_deref(), Some("99101"));
        assert_eq!(
            c.father.as_ref().unwrap().full_name.as_deref(),
            Some("ĐỖ VĂN MẪU")
        );
        assert_eq!(
            c.household_head.as_ref().unwrap().relation.as_deref(),
            Some("CH01")
        );
        assert!(c.spouse.is_none());
        // Another ID than asked: refused.
        assert!(parse_response(
            SAMPLE_RESPONSE.as_bytes(),
            "099188000124",
            Limits::default()
        )
        .is_err());
    }

    #[test]
    fn request_matches_the_sample_and_round_trips() {
        let ours = parse_request(request_xml(&query()).as_bytes(), Limits::default()).unwrap();
        let sample = parse_request(SAMPLE_REQUEST.as_bytes(), Limits::default()).unwrap();
        assert_eq!(ours.full_name, "DOTHITHU");
        assert_eq!(
            ours,
            Query {
                full_name: "DOTHITHU".into(),
                ..sample
            }
        );
    }

    #[test]
    fn not_found_shapes_faults_and_foreign_namespaces() {
        let empty = response_xml(None);
        assert_eq!(
            parse_response(empty.as_bytes(), "x", Limits::default()),
            Ok(LookupAnswer::NotFound)
        );
        let no_ten = SAMPLE_RESPONSE.replace("<ns1:Ten>ĐỖ THỊ THỬ</ns1:Ten>", "<ns1:Ten/>");
        assert_eq!(
            parse_response(no_ten.as_bytes(), "099188000123", Limits::default()),
            Ok(LookupAnswer::NotFound)
        );
        let f = fault_xml("soapenv:Server", "Lỗi hệ thống");
        assert!(matches!(
            parse_response(f.as_bytes(), "x", Limits::default()),
            Err(WireError::Fault { code, .. }) if code == "soapenv:Server"
        ));
        let wrong_ns = SAMPLE_RESPONSE.replace("http://www.mic.gov.vn/dancu/1.0", "urn:other");
        assert!(matches!(
            parse_response(wrong_ns.as_bytes(), "099188000123", Limits::default()),
            Err(WireError::Unexpected { .. })
        ));
    }

    #[test]
    fn simulator_answer_reads_back() {
        let LookupAnswer::Match(c) = parse_response(
            SAMPLE_RESPONSE.as_bytes(),
            "099188000123",
            Limits::default(),
        )
        .unwrap() else {
            panic!()
        };
        let again = response_xml(Some(&c));
        assert_eq!(
            parse_response(again.as_bytes(), "099188000123", Limits::default()),
            Ok(LookupAnswer::Match(c))
        );
    }
}
