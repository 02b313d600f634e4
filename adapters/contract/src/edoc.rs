//! Official documents exchanged as edXML packages (văn bản điện tử, QCVN 102:2016). Wire names
//! (Vietnamese-English as QCVN 102 spells them) are given in each field's doc comment.

use serde::{Deserialize, Serialize};

/// An organ as a package names it (`From`, `To`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Organ {
    /// `OrganId` (mã định danh).
    pub id: String,
    /// `OrganName`.
    pub name: Option<String>,
    /// `OrganizationInCharge` (cơ quan chủ quản).
    pub in_charge: Option<String>,
    /// `OrganAdd`.
    pub address: Option<String>,
    pub email: Option<String>,
    pub telephone: Option<String>,
    pub fax: Option<String>,
    pub website: Option<String>,
}

/// Urgency (`OtherInfo/Priority`, độ khẩn). Unknown values are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// 0 thường
    Normal,
    /// 1 khẩn
    Urgent,
    /// 2 thượng khẩn
    VeryUrgent,
    /// 3 hỏa tốc
    Express,
    /// 4 hỏa tốc hẹn giờ
    ExpressTimed,
    Other(String),
}

impl Priority {
    pub fn from_code(c: &str) -> Self {
        match c.trim() {
            "0" => Priority::Normal,
            "1" => Priority::Urgent,
            "2" => Priority::VeryUrgent,
            "3" => Priority::Express,
            "4" => Priority::ExpressTimed,
            other => Priority::Other(other.to_owned()),
        }
    }
}

/// Status codes carried by status packages (`StatusCode`). Unknown codes are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    /// 01 đã đến, văn thư chưa xử lý
    Received,
    /// 02 từ chối
    Rejected,
    /// 03 đã tiếp nhận, vào sổ văn bản đến
    Accepted,
    /// 04 đã phân công xử lý
    Assigned,
    /// 05 đang xử lý
    Processing,
    /// 06 hoàn thành
    Done,
    /// 13 bên gửi đề nghị lấy lại / thu hồi
    RevokeRequested,
    /// 15 bên nhận đồng ý cập nhật / thu hồi
    RevokeAgreed,
    /// 16 bên nhận từ chối cập nhật / thu hồi
    RevokeRefused,
    Other(String),
}

impl StatusCode {
    pub fn from_code(c: &str) -> Self {
        match c.trim() {
            "01" => StatusCode::Received,
            "02" => StatusCode::Rejected,
            "03" => StatusCode::Accepted,
            "04" => StatusCode::Assigned,
            "05" => StatusCode::Processing,
            "06" => StatusCode::Done,
            "13" => StatusCode::RevokeRequested,
            "15" => StatusCode::RevokeAgreed,
            "16" => StatusCode::RevokeRefused,
            other => StatusCode::Other(other.to_owned()),
        }
    }
}

/// The document a status package (or a reply) answers (`ResponseFor`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseFor {
    /// `OrganId` of the original sender.
    pub organ_id: String,
    /// `Code` (số/ký hiệu as one string).
    pub code: Option<String>,
    /// `PromulgationDate`, `yyyy/MM/dd` as written.
    pub promulgation_date: Option<String>,
    /// `DocumentId`.
    pub document_id: String,
}

/// An attachment streamed out of a package.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// `ContentId` (matches the manifest's `Reference/ContentId`).
    pub content_id: String,
    /// `AttachmentName`.
    pub name: String,
    /// `ContentType`.
    pub content_type: String,
    /// `Description`.
    pub description: Option<String>,
    /// Decoded size in bytes.
    pub size: u64,
    /// SHA-256 (hex) of the decoded bytes.
    pub sha256: String,
}

/// The header of a document package (`MessageHeader`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DocumentHeader {
    /// `From`.
    pub from: Organ,
    /// `To` (one or more).
    pub to: Vec<Organ>,
    /// `DocumentId`: `<OrganId>,<yyyy/MM/dd>,<số/ký hiệu>`, treated as opaque.
    pub document_id: String,
    /// `Code/CodeNumber` (số).
    pub code_number: Option<String>,
    /// `Code/CodeNotation` (ký hiệu).
    pub code_notation: Option<String>,
    /// `PromulgationInfo/Place`.
    pub place: Option<String>,
    /// `PromulgationInfo/PromulgationDate`.
    pub promulgation_date: Option<String>,
    /// `DocumentType/Type` (table unknown; kept verbatim).
    pub document_type: Option<String>,
    /// `DocumentType/TypeName`, e.g. "Công văn".
    pub document_type_name: Option<String>,
    /// `Subject` (trích yếu).
    pub subject: Option<String>,
    /// `Content`.
    pub content: Option<String>,
    /// `SignerInfo/FullName`.
    pub signer_name: Option<String>,
    /// `SignerInfo/Position`.
    pub signer_position: Option<String>,
    /// `DueDate`.
    pub due_date: Option<String>,
    /// `OtherInfo/Priority`.
    pub priority: Option<Priority>,
    /// `SteeringType` (1 not a directive, 2 directive, 3 report on a directive).
    pub steering_type: Option<String>,
    /// `ResponseFor`.
    pub response_for: Vec<ResponseFor>,
    /// `TraceHeaderList/Bussiness/BussinessDocType` (0 new, 1 revoke, 2 update, 3 replace).
    pub business_doc_type: Option<String>,
    /// `Bussiness/DocumentId`: the document a business action (revoke, update, replace) concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_document_id: Option<String>,
    /// `Bussiness/BussinessDocumentInfo/ReceiverList/Receiver`: recipients an update adds or removes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receiver_changes: Vec<ReceiverChange>,
    /// `Bussiness/ReplacementInfoList/ReplacementInfo`: documents a replacement supersedes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacements: Vec<Replacement>,
}

/// What a document package does (`BussinessDocType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusinessAction {
    /// 0 (or absent): a new document.
    New,
    /// 1: revoke (thu hồi) an earlier document.
    Revoke,
    /// 2: update (cập nhật) an earlier document, possibly changing its recipients.
    Update,
    /// 3: replace (thay thế) earlier documents.
    Replace,
}

impl BusinessAction {
    /// The action for a `BussinessDocType` value; `None` for a code outside the table.
    pub fn from_code(code: Option<&str>) -> Option<Self> {
        match code.map(str::trim) {
            None | Some("") | Some("0") => Some(Self::New),
            Some("1") => Some(Self::Revoke),
            Some("2") => Some(Self::Update),
            Some("3") => Some(Self::Replace),
            Some(_) => None,
        }
    }
}

impl DocumentHeader {
    /// The business action of this package (`New` when the code is absent or unknown).
    pub fn action(&self) -> BusinessAction {
        BusinessAction::from_code(self.business_doc_type.as_deref()).unwrap_or(BusinessAction::New)
    }

    /// The document this package acts on: `Bussiness/DocumentId`, else its own `DocumentId`.
    pub fn concerns(&self) -> &str {
        self.business_document_id
            .as_deref()
            .filter(|d| !d.is_empty())
            .unwrap_or(&self.document_id)
    }
}

/// `ReceiverList/Receiver`: `OrganId` + `ReceiverType` (0 removed from recipients, 1 added).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiverChange {
    /// `OrganId`.
    pub organ_id: String,
    /// `ReceiverType` = 1 (added); `false` for 0 (removed).
    pub added: bool,
}

/// `ReplacementInfo`: the replaced `DocumentId` and the organs it went to (`OrganIdList/OrganId`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    /// `DocumentId` of the replaced document.
    pub document_id: String,
    /// `OrganIdList/OrganId`.
    pub organs: Vec<String>,
}

/// The header of a status package.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusHeader {
    /// `From`: the organ reporting the status.
    pub from: Organ,
    /// `ResponseFor`: the document the status is about.
    pub response_for: ResponseFor,
    /// `StatusCode`.
    pub status: Option<StatusCode>,
    /// `Description`.
    pub description: Option<String>,
    /// `Timestamp`, `yyyy/MM/dd HH:mm:ss` as written.
    pub timestamp: Option<String>,
}
