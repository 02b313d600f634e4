//! A citizen's record in the national population database (*Cơ sở dữ liệu quốc gia về dân cư*),
//! as the gateway answers it to one-stop-shop members. English names here; the adapter
//! (`adapters/population`) maps the Vietnamese wire fields onto them.

use serde::{Deserialize, Serialize};

/// One citizen (*công dân*). Codes are the population database's own code lists and are
/// passed through unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citizen {
    /// Personal identification number, 12 digits (*số định danh cá nhân*, `SoDinhDanh`).
    pub id_number: String,
    /// Old 9-digit identity card number (*số CMND*, `SoCMND`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_id_number: Option<String>,
    /// Full name as registered, with diacritics (*họ và tên*).
    pub full_name: String,
    /// Family name (*họ*, `Ho`); empty when the register keeps the whole name in `given_name`.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub family_name: String,
    /// Middle name (*chữ đệm*, `ChuDem`).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub middle_name: String,
    /// Given name (*tên*, `Ten`).
    pub given_name: String,
    /// Birth date `YYYY-MM-DD`, or `YYYY` when only the year is registered (*ngày tháng năm sinh*).
    pub birth_date: String,
    /// Sex code (*giới tính*, `GioiTinh`).
    pub sex_code: String,
    /// Ethnicity code (*dân tộc*, `DanToc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethnicity_code: Option<String>,
    /// Religion code (*tôn giáo*, `TonGiao`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub religion_code: Option<String>,
    /// Marital status code (*tình trạng hôn nhân*, `TinhTrangHonNhan`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marital_status_code: Option<String>,
    /// Blood group code (*nhóm máu*, `NhomMau`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blood_group_code: Option<String>,
    /// Nationality (*quốc tịch*, `QuocTich`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// Place of birth registration (*nơi đăng ký khai sinh*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_registration: Option<Address>,
    /// Home town (*quê quán*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_town: Option<Address>,
    /// Permanent residence (*thường trú*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permanent_address: Option<Address>,
    /// Current residence (*nơi ở hiện tại*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_address: Option<Address>,
    /// Father (*cha*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub father: Option<Relative>,
    /// Mother (*mẹ*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mother: Option<Relative>,
    /// Spouse (*vợ/chồng*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spouse: Option<Relative>,
    /// Legal representative (*người đại diện*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub representative: Option<Relative>,
    /// Head of household and the citizen's relation to them (*chủ hộ*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household_head: Option<HouseholdHead>,
    /// Household book number (*số sổ hộ khẩu*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household_book: Option<String>,
}

/// An address with administrative codes (GSO codes; the district level was abolished in 2025,
/// so `district_code` may be absent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Province code, 2 digits (*mã tỉnh/thành*, `MaTinhThanh`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province_code: Option<String>,
    /// District code, 3 digits (*mã quận/huyện*, `MaQuanHuyen`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district_code: Option<String>,
    /// Commune code, 5 digits (*mã phường/xã*, `MaPhuongXa`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commune_code: Option<String>,
    /// The address in words (*chi tiết*, `ChiTiet`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Country (*quốc gia*, `QuocGia`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A relative named in the record (father, mother, spouse, representative).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relative {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_id_number: Option<String>,
}

/// The head of the citizen's household (*chủ hộ*).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdHead {
    /// Relation of the citizen to the head (*quan hệ với chủ hộ*, `QuanHe`), e.g. `CH01` (is the head).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_id_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
}

/// What the population database answered to a verified-match question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupAnswer {
    /// The ID, name and birth date match this record.
    Match(Box<Citizen>),
    /// No record matches all three (*không tìm thấy*). Never retried.
    NotFound,
}
