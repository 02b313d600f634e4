//! Adapter for the national public service portal (Cổng Dịch vụ công quốc gia, DVCQG): the
//! session adapter protocol of the provincial one-stop systems (`shared/domain/dvcqg.md` (A)).
//!
//! - [`wire`]: the portal's dossier and progress objects (Vietnamese field names, every value a
//!   string, dates `yyyyMMddHHmmss` Vietnam time) and their translation to and from the
//!   canonical model of `lienthong-contract`;
//! - [`client`]: login, re-login once when the session is gone, one method per service
//!   (`TraCuuHoSo`, `DongBoHoSoMC`, `CapNhatTienDoHoSoMC`, `LayThuTuc`, the online list);
//! - [`sim`]: a simulator speaking the same protocol, strict about what it is sent, with faults
//!   on demand (the sandbox runs it; the tests run it as its own process).
//!
//! Assumed (kept configurable by the gateway): the endpoints' paths, the `error_code` of an
//! expired session, and the service through which the portal hands online dossiers to the
//! province (`LayDanhSachHoSoTrucTuyen` with `sauId` / `soLuong`, answering
//! `[{Id, MaDonViTiepNhan, NgayNop, HoSo}]`): the public material does not show the inbound
//! direction.

pub mod client;
pub mod sim;
pub mod wire;

pub use client::{Client, Error, Settings};
pub use sim::{Sim, SimConfig};
