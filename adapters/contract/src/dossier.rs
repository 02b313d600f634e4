//! Dossiers (hồ sơ thủ tục hành chính): the canonical model every one-stop-shop dialect and the
//! national portal adapter translate to and from.
//!
//! Field docs give the Vietnamese wire names of the national sync (`DongBoHoSoMC`, OpenCPS
//! generation) and, where they differ, of the iGate-style flow (see `shared/domain/dvcqg.md`).
//! Times are instants; the gateway writes them in Vietnam time (UTC+7).

use crate::OrganId;
use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use std::fmt;

/// An instant, kept with its offset (the gateway uses +07:00).
pub type Instant = DateTime<FixedOffset>;

/// A dossier as the gateway holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dossier {
    /// `MaHoSo`: the nationally unique dossier number, e.g. `000.00.12.H99-20260302-0000123`.
    /// Treated as an opaque string (its exact format is not published).
    pub code: String,
    /// `MaTTHC`: the national procedure code, e.g. `1.009999`.
    pub procedure: String,
    /// `TrichYeuHoSo`: what the dossier asks for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// `ChuHoSo` and its details (iGate: `ThongTinNguoiNop`).
    pub applicant: Applicant,
    /// `MaDonViTiepNhan` (iGate), `madonvi` of the sync envelope (OpenCPS): the organ whose desk
    /// received the dossier.
    pub receiving_organ: OrganId,
    /// `KENH`: how the dossier was filed.
    pub channel: Channel,
    /// `NgayNop` (iGate): when the applicant submitted it (online dossiers), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Instant>,
    /// `NgayTiepNhan`: when the desk received (accepted) it; processing time counts from here.
    pub received_at: Instant,
    /// `NgayHenTra`: the promised result time (ngày hẹn trả).
    pub due_at: Instant,
    /// `TrangThaiHoSo`: the current status.
    pub status: DossierStatus,
    /// `DanhSachLePhi`: fees and charges (phí, lệ phí).
    pub fees: Vec<Fee>,
    /// `HinhThuc` (OpenCPS: 1 when the result goes by post): how the result is handed over.
    pub result_delivery: ResultDelivery,
    /// `ThanhPhanHoSo` (iGate) / `TaiLieuNop` (OpenCPS): the documents filed, by reference.
    pub components: Vec<Component>,
}

/// The applicant (chủ hồ sơ).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Applicant {
    /// `ChuHoSo` / `TenNguoiNop`.
    pub name: String,
    /// `LoaiDoiTuong` (its numbering differs between vendors: a per-dialect map).
    pub kind: ApplicantKind,
    /// `MaDoiTuong` / `SoDinhDanh`: personal identification number or business code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// `Email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `SoDienThoai`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// `ThongTinKhac`: anything else the desk wrote down (e.g. an address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<String>,
}

/// A dossier component (thành phần hồ sơ) and the files given for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Component {
    /// `MaThanhPhanHoSo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `SoLuong`: number of copies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copies: Option<u32>,
    /// `LoaiBan`: original, copy or electronic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<CopyForm>,
    /// `GiayToDinhKem` (iGate) / the `TaiLieuNop` entry itself (OpenCPS).
    pub attachments: Vec<Attachment>,
}

/// A file held by the one-stop-shop software, referred to, never copied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// `TepDinhKemId` / `IdGiayTo`.
    pub id: String,
    /// `TenTepDinhKem` / `TenGiayTo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `DuongDanTaiTepTin`: where the file can be fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `HashTepTin` (iGate): the vendor's hash of the file, kept verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// `IsDeleted`: withdrawn from the dossier.
    pub deleted: bool,
}

/// A fee or charge (phí, lệ phí).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fee {
    /// `MaPhiLePhi`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `TenPhiLePhi`.
    pub name: String,
    /// `Gia`: amount in đồng.
    pub amount: u64,
    /// `LoaiPhiLePhi`: the vendor's fee type, kept verbatim (its table is not published).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `HinhThucThu`: when it is collected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collected: Option<FeeStage>,
    /// `TrangThaiThanhToan` (iGate): paid or not, when the vendor says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid: Option<bool>,
}

/// Generates a closed enum of snake_case names with `as_str`, `parse`, `ALL` and serde.
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|x| x.as_str() == s)
            }

            /// The accepted names, for error messages.
            pub fn names() -> String {
                $name::ALL.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

    };
}

named_enum! {
    /// How a dossier was filed (`KENH`: 1, 2, 3 in the national tables).
    Channel {
        /// 1: at the desk (trực tiếp).
        InPerson = "in_person",
        /// 2: online (trực tuyến).
        Online = "online",
        /// 3: through the public-utility postal service (qua bưu chính công ích).
        Post = "post",
    }
}

named_enum! {
    /// How the result reaches the applicant.
    ResultDelivery {
        /// At the one-stop desk (trả tại bộ phận một cửa).
        AtDesk = "at_desk",
        /// By the public-utility postal service (trả qua bưu chính công ích).
        Post = "post",
        /// Electronically (trả kết quả điện tử).
        Online = "online",
    }
}

named_enum! {
    /// `LoaiDoiTuong`: who the applicant is.
    ApplicantKind {
        /// Citizen, individual (công dân, cá nhân).
        Individual = "individual",
        /// Business or organisation (doanh nghiệp, tổ chức).
        Business = "business",
        /// Household business (hộ kinh doanh).
        HouseholdBusiness = "household_business",
    }
}

named_enum! {
    /// `LoaiBan`: what kind of copy a component is.
    CopyForm {
        /// Bản chính.
        Original = "original",
        /// Bản sao.
        Copy = "copy",
        /// Bản điện tử.
        Electronic = "electronic",
    }
}

named_enum! {
    /// `HinhThucThu`: when a fee is collected.
    FeeStage {
        /// At acceptance (khi tiếp nhận).
        Acceptance = "acceptance",
        /// With a supplement (khi bổ sung).
        Supplement = "supplement",
        /// When the result is returned (khi trả kết quả).
        Return = "return",
    }
}

/// The status enum, its codes, list and Vietnamese names from one table.
macro_rules! status_table {
    ($($(#[$m:meta])* $v:ident = $code:literal, $vi:literal;)+) => {
        /// `TrangThaiHoSo` / `TrangThai`: the national status table, codes 1–10.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum DossierStatus { $($(#[$m])* $v = $code),+ }

        impl DossierStatus {
            pub const ALL: [DossierStatus; 10] = [$(DossierStatus::$v),+];

            /// Vietnamese name, for messages.
            pub fn name_vi(self) -> &'static str {
                match self { $(DossierStatus::$v => $vi),+ }
            }
        }
    };
}

status_table! {
    /// 1: submitted, not yet accepted (online dossiers).
    Submitted = 1, "mới đăng ký";
    /// 2: accepted at the desk.
    Accepted = 2, "được tiếp nhận";
    /// 3: not accepted.
    NotAccepted = 3, "không được tiếp nhận";
    /// 4: being processed.
    Processing = 4, "đang xử lý";
    /// 5: supplement requested.
    SupplementRequested = 5, "yêu cầu bổ sung";
    /// 6: fees or taxes requested.
    FinancialObligation = 6, "yêu cầu thực hiện nghĩa vụ tài chính";
    /// 7: withdrawn by the applicant.
    Withdrawn = 7, "công dân rút hồ sơ";
    /// 8: processing stopped.
    Stopped = 8, "dừng xử lý";
    /// 9: processed.
    Processed = 9, "đã xử lý xong";
    /// 10: result returned.
    Returned = 10, "đã trả kết quả";
}

use DossierStatus::*;

impl DossierStatus {
    /// The national code, 1–10.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Option<DossierStatus> {
        Self::ALL.into_iter().find(|s| i64::from(s.code()) == code)
    }

    /// Statuses a dossier may be filed in: 1 (submitted online, awaiting the desk) or 2
    /// (accepted at the desk).
    pub const INITIAL: [DossierStatus; 2] = [Submitted, Accepted];

    /// The statuses a dossier in `self` may move to next (the gateway's transition table):
    ///
    /// | from | to |
    /// |---|---|
    /// | 1 submitted | 2, 3, 5, 7 |
    /// | 2 accepted | 4, 5, 6, 7, 8 |
    /// | 4 processing | 4 (a further processing step), 5, 6, 7, 8, 9 |
    /// | 5 supplement requested | 2 (supplemented at the desk), 4, 7, 8 |
    /// | 6 financial obligation | 4, 7, 8, 9 |
    /// | 9 processed | 10 |
    /// | 3, 7, 8, 10 | none: final |
    pub fn next(self) -> &'static [DossierStatus] {
        match self {
            Submitted => &[Accepted, NotAccepted, SupplementRequested, Withdrawn],
            Accepted => &[
                Processing,
                SupplementRequested,
                FinancialObligation,
                Withdrawn,
                Stopped,
            ],
            Processing => &[
                Processing,
                SupplementRequested,
                FinancialObligation,
                Withdrawn,
                Stopped,
                Processed,
            ],
            SupplementRequested => &[Accepted, Processing, Withdrawn, Stopped],
            FinancialObligation => &[Processing, Withdrawn, Stopped, Processed],
            Processed => &[Returned],
            NotAccepted | Withdrawn | Stopped | Returned => &[],
        }
    }

    pub fn may_move_to(self, to: DossierStatus) -> bool {
        self.next().contains(&to)
    }

    /// Ends processing for the national on-time rule (3, 7, 8, 9, 10; 5 also stops the clock
    /// while it is outstanding, which the statistics treat separately).
    pub fn ends_processing(self) -> bool {
        matches!(
            self,
            NotAccepted | Withdrawn | Stopped | Processed | Returned
        )
    }
}

impl fmt::Display for DossierStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl Serialize for DossierStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// One status change (`CapNhatTienDoHoSoMC` progress object / iGate `CapNhatTienTrinh`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    /// `TrangThai`: the new status.
    pub status: DossierStatus,
    /// `ThoiDiemXuLy`: when it happened.
    pub at: Instant,
    /// `NguoiXuLy`: who handled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// `ChucDanh`: the handler's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler_title: Option<String>,
    /// `PhongBanXuLy`: the handling department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// `NoiDungXuLy`: what was done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in DossierStatus::ALL {
            assert_eq!(DossierStatus::from_code(s.code().into()), Some(s));
        }
        assert_eq!(DossierStatus::from_code(0), None);
        assert_eq!(DossierStatus::from_code(11), None);
        assert_eq!(DossierStatus::from_code(-1), None);
    }

    #[test]
    fn the_national_path_and_final_states() {
        let path = [Accepted, Processing, Processing, Processed, Returned];
        for w in path.windows(2) {
            assert!(w[0].may_move_to(w[1]), "{} → {}", w[0], w[1]);
        }
        for fin in [NotAccepted, Withdrawn, Stopped, Returned] {
            assert!(fin.next().is_empty() && fin.ends_processing());
        }
        assert!(!Accepted.may_move_to(Returned));
        assert!(!Accepted.may_move_to(Accepted));
        assert!(!Processed.may_move_to(Processing));
        assert!(Processed.ends_processing() && !SupplementRequested.ends_processing());
        // Nothing leads back to 1, and 1 is only left forward.
        assert!(DossierStatus::ALL.iter().all(|s| !s.may_move_to(Submitted)));
    }

    #[test]
    fn enum_names() {
        assert_eq!(Channel::parse("post"), Some(Channel::Post));
        assert_eq!(Channel::parse("Post"), None);
        assert_eq!(ResultDelivery::names(), "at_desk, post, online");
    }
}
