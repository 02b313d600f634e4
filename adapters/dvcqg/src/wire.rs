//! The portal's wire shapes (session adapter protocol, OpenCPS generation; see
//! `shared/domain/dvcqg.md` (A)) and their translation to and from the canonical model.
//!
//! Field names are the portal's (`MaHoSo`, `NgayHenTra`, …); every value is a string, dates are
//! `yyyyMMddHHmmss` in Vietnam time and an unset value is the empty string. Every key is sent
//! (which ones are required is not documented).

use chrono::{FixedOffset, NaiveDateTime, TimeZone};
use lienthong_contract::dossier::{
    Applicant, ApplicantKind, Attachment, Channel, Component, Dossier, DossierStatus, Fee,
    FeeStage, Instant, ResultDelivery, StatusChange,
};
use lienthong_contract::OrganId;
use serde::{Deserialize, Serialize};

/// Vietnam time (UTC+7, no daylight saving): every portal date is written in it.
pub fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("UTC+7 is a valid offset")
}

/// `yyyyMMddHHmmss`, Vietnam time, whatever offset `t` carries.
pub fn format_date(t: &Instant) -> String {
    t.with_timezone(&vietnam())
        .format("%Y%m%d%H%M%S")
        .to_string()
}

/// An optional date: the empty string when unset.
pub fn format_opt(t: Option<&Instant>) -> String {
    t.map(format_date).unwrap_or_default()
}

/// Reads `yyyyMMddHHmmss` (exactly 14 digits) as Vietnam time.
pub fn parse_date(s: &str) -> Option<Instant> {
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S").ok()?;
    vietnam().from_local_datetime(&naive).single()
}

/// Request of the login call: `POST {base}{auth_endpoint}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// Every answer: `error_code` 0 is success; `session` on login, `result` on calls.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Answer {
    pub error_code: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

/// One submitted document (`TaiLieuNop[]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FiledDocument {
    #[serde(rename = "TepDinhKemId")]
    pub id: String,
    #[serde(rename = "TenTepDinhKem")]
    pub name: String,
    /// `"True"` / `"False"`.
    #[serde(rename = "IsDeleted")]
    pub deleted: String,
    #[serde(rename = "MaThanhPhanHoSo")]
    pub component: String,
    #[serde(rename = "DuongDanTaiTepTin")]
    pub url: String,
}

/// One fee (`DanhSachLePhi[]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WireFee {
    #[serde(rename = "TenPhiLePhi")]
    pub name: String,
    #[serde(rename = "MaPhiLePhi")]
    pub code: String,
    /// `HinhThucThu`: 1 at acceptance, 2 with a supplement, 4 at return (assumed table).
    #[serde(rename = "HinhThucThu")]
    pub collected: String,
    /// `Gia`: amount in đồng, as a string.
    #[serde(rename = "Gia")]
    pub amount: String,
    #[serde(rename = "LoaiPhiLePhi")]
    pub kind: String,
}

/// The dossier object of `DongBoHoSoMC` (hồ sơ). English names, Vietnamese wire names.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WireDossier {
    /// `MaHoSo`: dossier code.
    #[serde(rename = "MaHoSo")]
    pub code: String,
    /// `MaTTHC`: national procedure code.
    #[serde(rename = "MaTTHC")]
    pub procedure: String,
    /// `TenTTHC`: procedure name.
    #[serde(rename = "TenTTHC")]
    pub procedure_name: String,
    /// `MaLinhVuc`: field of work code.
    #[serde(rename = "MaLinhVuc")]
    pub field_code: String,
    /// `TenLinhVuc`: field of work name.
    #[serde(rename = "TenLinhVuc")]
    pub field_name: String,
    /// `ChuHoSo`: applicant.
    #[serde(rename = "ChuHoSo")]
    pub applicant: String,
    /// `LoaiDoiTuong`: applicant kind (per-endpoint table).
    #[serde(rename = "LoaiDoiTuong")]
    pub applicant_kind: String,
    /// `MaDoiTuong`: applicant's identification number or business code.
    #[serde(rename = "MaDoiTuong")]
    pub applicant_id: String,
    /// `ThongTinKhac`: anything else.
    #[serde(rename = "ThongTinKhac")]
    pub other: String,
    #[serde(rename = "Email")]
    pub email: String,
    #[serde(rename = "Fax")]
    pub fax: String,
    /// `SoDienThoai`: phone.
    #[serde(rename = "SoDienThoai")]
    pub phone: String,
    /// `TrichYeuHoSo`: summary.
    #[serde(rename = "TrichYeuHoSo")]
    pub summary: String,
    /// `NgayTiepNhan`: received.
    #[serde(rename = "NgayTiepNhan")]
    pub received_at: String,
    /// `NgayHenTra`: due.
    #[serde(rename = "NgayHenTra")]
    pub due_at: String,
    /// `TrangThaiHoSo`: status 1–10.
    #[serde(rename = "TrangThaiHoSo")]
    pub status: String,
    /// `NgayTra`: result returned.
    #[serde(rename = "NgayTra")]
    pub returned_at: String,
    /// `ThongTinTra`: how the result was returned.
    #[serde(rename = "ThongTinTra")]
    pub return_info: String,
    /// `HinhThuc`: 1 when the result goes by post, else 0 (OpenCPS).
    #[serde(rename = "HinhThuc")]
    pub by_post: String,
    /// `NgayKetThucXuLy`: end of processing.
    #[serde(rename = "NgayKetThucXuLy")]
    pub ended_at: String,
    /// `DonViXuLy`: the handling unit.
    #[serde(rename = "DonViXuLy")]
    pub unit: String,
    /// `GhiChu`: note.
    #[serde(rename = "GhiChu")]
    pub note: String,
    /// `TaiLieuNop`: documents filed.
    #[serde(rename = "TaiLieuNop")]
    pub documents: Vec<FiledDocument>,
    /// `DanhSachLePhi`: fees.
    #[serde(rename = "DanhSachLePhi")]
    pub fees: Vec<WireFee>,
    /// `DanhSachTepDinhKemKhac`, `DanhSachHoSoBoSung`, `DanhSachGiayToKetQua`: not modelled,
    /// sent empty and kept verbatim when received.
    #[serde(rename = "DanhSachTepDinhKemKhac")]
    pub other_papers: Vec<serde_json::Value>,
    #[serde(rename = "DanhSachHoSoBoSung")]
    pub supplements: Vec<serde_json::Value>,
    #[serde(rename = "DanhSachGiayToKetQua")]
    pub results: Vec<serde_json::Value>,
}

/// The progress object of `CapNhatTienDoHoSoMC` (tiến độ).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WireProgress {
    #[serde(rename = "MaHoSo")]
    pub code: String,
    /// `NguoiXuLy`: handler.
    #[serde(rename = "NguoiXuLy")]
    pub handler: String,
    /// `ChucDanh`: handler's title.
    #[serde(rename = "ChucDanh")]
    pub handler_title: String,
    /// `ThoiDiemXuLy`: when.
    #[serde(rename = "ThoiDiemXuLy")]
    pub at: String,
    /// `PhongBanXuLy`: department.
    #[serde(rename = "PhongBanXuLy")]
    pub department: String,
    /// `NoiDungXuLy`: what was done.
    #[serde(rename = "NoiDungXuLy")]
    pub note: String,
    /// `TrangThai`: status 1–10.
    #[serde(rename = "TrangThai")]
    pub status: String,
    /// `NgayBatDau`: the dossier's received time.
    #[serde(rename = "NgayBatDau")]
    pub started_at: String,
    /// `NgayKetThucTheoQuyDinh`: the dossier's due time.
    #[serde(rename = "NgayKetThucTheoQuyDinh")]
    pub due_at: String,
}

/// An online dossier the portal hands to the province (assumed: `LayDanhSachHoSoTrucTuyen`,
/// see the crate docs): its position in the portal's list, the receiving organ, the dossier.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OnlineDossier {
    /// `Id`: position in the portal's list (the poller's cursor).
    #[serde(rename = "Id")]
    pub id: i64,
    /// `MaDonViTiepNhan`: the organ whose desk must receive it.
    #[serde(rename = "MaDonViTiepNhan")]
    pub organ: String,
    /// `NgayNop`: when the citizen submitted it.
    #[serde(rename = "NgayNop")]
    pub submitted_at: String,
    /// `HoSo`: the dossier.
    #[serde(rename = "HoSo")]
    pub dossier: WireDossier,
}

/// What the portal's dossier object does not carry and the sync adds.
#[derive(Debug, Clone)]
pub struct SyncFacts {
    /// `TenTTHC`.
    pub procedure_name: String,
    /// `MaLinhVuc`, `TenLinhVuc` (from `LayThuTuc`, when known).
    pub field_code: String,
    pub field_name: String,
    /// `DonViXuLy`.
    pub unit: String,
    /// The status as of the reported step.
    pub status: DossierStatus,
    /// First status that ended processing, if any (`NgayKetThucXuLy`).
    pub ended_at: Option<Instant>,
    /// Status 10 (`NgayTra`).
    pub returned_at: Option<Instant>,
}

/// `LoaiDoiTuong` as this endpoint numbers it (the numbering differs between generations).
#[derive(Debug, Clone)]
pub struct KindCodes {
    pub individual: String,
    pub business: String,
    pub household_business: String,
}

impl Default for KindCodes {
    /// OpenCPS numbering: 1 individual, 2 business (household business as business, assumed).
    fn default() -> Self {
        KindCodes {
            individual: "1".into(),
            business: "2".into(),
            household_business: "2".into(),
        }
    }
}

impl KindCodes {
    fn code(&self, k: ApplicantKind) -> &str {
        match k {
            ApplicantKind::Individual => &self.individual,
            ApplicantKind::Business => &self.business,
            ApplicantKind::HouseholdBusiness => &self.household_business,
        }
    }

    fn kind(&self, code: &str) -> Option<ApplicantKind> {
        ApplicantKind::ALL
            .iter()
            .copied()
            .find(|k| self.code(*k) == code)
    }
}

fn fee_stage_code(s: FeeStage) -> &'static str {
    match s {
        FeeStage::Acceptance => "1",
        FeeStage::Supplement => "2",
        FeeStage::Return => "4",
    }
}

fn yes_no(b: bool) -> String {
    if b { "True" } else { "False" }.into()
}

impl WireDossier {
    /// The dossier object for `DongBoHoSoMC`, as of the step described by `facts`.
    pub fn from_canonical(d: &Dossier, facts: &SyncFacts, kinds: &KindCodes) -> WireDossier {
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        let mut documents = Vec::new();
        for c in &d.components {
            for a in &c.attachments {
                documents.push(FiledDocument {
                    id: a.id.clone(),
                    name: opt(&a.name),
                    deleted: yes_no(a.deleted),
                    component: opt(&c.code),
                    url: opt(&a.url),
                });
            }
        }
        WireDossier {
            code: d.code.clone(),
            procedure: d.procedure.clone(),
            procedure_name: facts.procedure_name.clone(),
            field_code: facts.field_code.clone(),
            field_name: facts.field_name.clone(),
            applicant: d.applicant.name.clone(),
            applicant_kind: kinds.code(d.applicant.kind).to_owned(),
            applicant_id: opt(&d.applicant.id_number),
            other: opt(&d.applicant.other),
            email: opt(&d.applicant.email),
            fax: String::new(),
            phone: opt(&d.applicant.phone),
            summary: opt(&d.summary),
            received_at: format_date(&d.received_at),
            due_at: format_date(&d.due_at),
            status: facts.status.code().to_string(),
            returned_at: format_opt(facts.returned_at.as_ref()),
            return_info: String::new(),
            by_post: if d.result_delivery == ResultDelivery::Post {
                "1"
            } else {
                "0"
            }
            .into(),
            ended_at: format_opt(facts.ended_at.as_ref()),
            unit: facts.unit.clone(),
            note: String::new(),
            documents,
            fees: d
                .fees
                .iter()
                .map(|f| WireFee {
                    name: f.name.clone(),
                    code: opt(&f.code),
                    collected: f.collected.map(fee_stage_code).unwrap_or("").into(),
                    amount: f.amount.to_string(),
                    kind: opt(&f.kind),
                })
                .collect(),
            other_papers: Vec::new(),
            supplements: Vec::new(),
            results: Vec::new(),
        }
    }

    /// The canonical dossier of an online dossier received from the portal, for `organ`.
    /// Every refusal names the wire field.
    pub fn to_canonical(
        &self,
        organ: &OrganId,
        submitted_at: Option<Instant>,
        kinds: &KindCodes,
    ) -> Result<Dossier, FieldError> {
        let req = |field: &'static str, v: &str| {
            if v.trim().is_empty() {
                Err(FieldError::new(field, "thiếu giá trị"))
            } else {
                Ok(v.to_owned())
            }
        };
        let some = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        let date = |field: &'static str, v: &str| {
            parse_date(v).ok_or_else(|| FieldError::new(field, "cần dạng yyyyMMddHHmmss"))
        };
        let status = self
            .status
            .parse::<i64>()
            .ok()
            .and_then(DossierStatus::from_code)
            .ok_or_else(|| FieldError::new("TrangThaiHoSo", "cần một mã 1–10"))?;
        let kind = kinds
            .kind(&self.applicant_kind)
            .ok_or_else(|| FieldError::new("LoaiDoiTuong", "mã đối tượng không có trong bảng"))?;
        let mut components: Vec<Component> = Vec::new();
        for (i, doc) in self.documents.iter().enumerate() {
            let deleted = match doc.deleted.as_str() {
                "True" | "true" => true,
                "False" | "false" | "" => false,
                _ => {
                    return Err(FieldError::at(
                        "TaiLieuNop",
                        i,
                        "IsDeleted",
                        "cần True/False",
                    ))
                }
            };
            if doc.id.is_empty() {
                return Err(FieldError::at(
                    "TaiLieuNop",
                    i,
                    "TepDinhKemId",
                    "thiếu giá trị",
                ));
            }
            components.push(Component {
                code: some(&doc.component),
                copies: None,
                form: None,
                attachments: vec![Attachment {
                    id: doc.id.clone(),
                    name: some(&doc.name),
                    url: some(&doc.url),
                    hash: None,
                    deleted,
                }],
            });
        }
        let mut fees = Vec::new();
        for (i, f) in self.fees.iter().enumerate() {
            let amount = f
                .amount
                .parse::<u64>()
                .map_err(|_| FieldError::at("DanhSachLePhi", i, "Gia", "cần số đồng"))?;
            let collected = match f.collected.as_str() {
                "" => None,
                "1" => Some(FeeStage::Acceptance),
                "2" => Some(FeeStage::Supplement),
                "4" => Some(FeeStage::Return),
                _ => {
                    return Err(FieldError::at(
                        "DanhSachLePhi",
                        i,
                        "HinhThucThu",
                        "cần 1, 2 hoặc 4",
                    ))
                }
            };
            fees.push(Fee {
                code: some(&f.code),
                name: f.name.clone(),
                amount,
                kind: some(&f.kind),
                collected,
                paid: None,
            });
        }
        Ok(Dossier {
            code: req("MaHoSo", &self.code)?,
            procedure: req("MaTTHC", &self.procedure)?,
            summary: some(&self.summary),
            applicant: Applicant {
                name: req("ChuHoSo", &self.applicant)?,
                kind,
                id_number: some(&self.applicant_id),
                email: some(&self.email),
                phone: some(&self.phone),
                other: some(&self.other),
            },
            receiving_organ: organ.clone(),
            channel: Channel::Online,
            submitted_at,
            received_at: date("NgayTiepNhan", &self.received_at)?,
            due_at: date("NgayHenTra", &self.due_at)?,
            status,
            fees,
            result_delivery: if self.by_post == "1" {
                ResultDelivery::Post
            } else {
                ResultDelivery::Online
            },
            components,
        })
    }
}

impl WireProgress {
    /// The progress object for one status change of `d`.
    pub fn from_change(d: &Dossier, c: &StatusChange) -> WireProgress {
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        WireProgress {
            code: d.code.clone(),
            handler: opt(&c.handler),
            handler_title: opt(&c.handler_title),
            at: format_date(&c.at),
            department: opt(&c.department),
            note: opt(&c.note),
            status: c.status.code().to_string(),
            started_at: format_date(&d.received_at),
            due_at: format_date(&d.due_at),
        }
    }
}

/// A refused wire value, by its field path (`TaiLieuNop[0].IsDeleted`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct FieldError {
    pub field: String,
    pub why: String,
}

impl FieldError {
    fn new(field: &str, why: &str) -> FieldError {
        FieldError {
            field: field.into(),
            why: why.into(),
        }
    }

    fn at(list: &str, i: usize, field: &str, why: &str) -> FieldError {
        FieldError::new(&format!("{list}[{i}].{field}"), why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Instant {
        chrono::DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn dates_are_vietnam_time_whatever_the_offset() {
        assert_eq!(format_date(&t("2026-03-02T02:15:00Z")), "20260302091500");
        assert_eq!(
            format_date(&t("2026-03-02T09:15:00+07:00")),
            "20260302091500"
        );
        assert_eq!(
            parse_date("20260302091500"),
            Some(t("2026-03-02T09:15:00+07:00"))
        );
        for bad in [
            "2026030209150",
            "202603020915000",
            "2026-03-02 09:1",
            "20261302091500",
            "20260230091500",
            "2026030224000a",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_shared_sample_reads_and_writes_back() {
        let sample: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../shared/domain/samples/dvcqg-dongbohoso.json"
        ))
        .unwrap();
        let wire: WireDossier = serde_json::from_value(sample["data"][0].clone()).unwrap();
        let organ = OrganId::parse("000.00.12.H99").unwrap();
        let d = wire
            .to_canonical(&organ, None, &KindCodes::default())
            .unwrap();
        assert_eq!(d.received_at, t("2026-03-02T09:15:00+07:00"));
        assert_eq!(d.fees[0].amount, 50_000);
        assert_eq!(d.result_delivery, ResultDelivery::Post);
        let facts = SyncFacts {
            procedure_name: wire.procedure_name.clone(),
            field_code: wire.field_code.clone(),
            field_name: wire.field_name.clone(),
            unit: wire.unit.clone(),
            status: DossierStatus::Accepted,
            ended_at: None,
            returned_at: None,
        };
        let back = WireDossier::from_canonical(&d, &facts, &KindCodes::default());
        // Every key of the sample, with the same value.
        assert_eq!(serde_json::to_value(&back).unwrap(), sample["data"][0]);
    }

    #[test]
    fn refusals_name_the_wire_field() {
        let organ = OrganId::parse("000.00.12.H99").unwrap();
        let mut w = WireDossier {
            code: "X-1".into(),
            procedure: "1.0".into(),
            applicant: "A".into(),
            applicant_kind: "1".into(),
            received_at: "20260302091500".into(),
            due_at: "2026-03-16".into(),
            status: "1".into(),
            ..Default::default()
        };
        let k = KindCodes::default();
        assert_eq!(
            w.to_canonical(&organ, None, &k).unwrap_err().field,
            "NgayHenTra"
        );
        w.due_at = "20260316091500".into();
        w.status = "11".into();
        assert_eq!(
            w.to_canonical(&organ, None, &k).unwrap_err().field,
            "TrangThaiHoSo"
        );
        w.status = "1".into();
        w.fees.push(WireFee {
            amount: "5.000".into(),
            ..Default::default()
        });
        assert_eq!(
            w.to_canonical(&organ, None, &k).unwrap_err().field,
            "DanhSachLePhi[0].Gia"
        );
    }
}
