//! Typed configuration: a TOML file, then `LIENTHONG_*` environment variables (`__` separates
//! levels: `LIENTHONG_LISTEN__MEMBERS=0.0.0.0:8443`), then repeated `--set key=value`
//! overrides. [`load`] collects *every* problem, each with its source (file, variable or
//! `--set`), key and reason, so that `check-config` can report them all at once.

mod secret;
mod validate;

pub use secret::{Secret, SecretSource};
pub use validate::{ConfigError, ConfigErrors};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The whole configuration. Every field has a default so that an empty file is a sandbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Sandbox mode: create the dev PKI under `data_dir/pki` on first start and print a
    /// ready-to-paste `curl` command. Off in production.
    pub sandbox: bool,
    /// Where the gateway keeps its SQLite store, dev PKI and generated keys.
    pub data_dir: PathBuf,
    pub listen: Listen,
    pub tls: Tls,
    pub store: StoreCfg,
    pub limits: Limits,
    pub rate_limit: RateLimit,
    pub oauth: OAuth,
    pub log: Log,
    pub trust: TrustCfg,
    pub edocs: EdocsCfg,
    pub calendar: CalendarCfg,
    pub dossiers: DossiersCfg,
    /// The national and external systems (`[adapters.*]`).
    pub adapters: AdaptersCfg,
    /// Citizen lookup policy (`[citizens]`): purposes, ID checks, rate limits, cache, audit key.
    pub citizens: CitizensCfg,
    pub members: Vec<MemberCfg>,
    /// Routes for organs no member owns, tried in order: `[[routes]] organs = ["H41", "*"]`
    /// `member = "axis"` (a peer gateway or a push member).
    pub routes: Vec<RouteCfg>,
}

/// Document exchange (`[edocs]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EdocsCfg {
    /// Largest package accepted on `POST /v1/edocs`, in bytes.
    pub max_package_bytes: u64,
    /// Packages are stored in chunks of this many bytes (memory per request stays bounded).
    pub chunk_bytes: usize,
    /// Certificate and key the gateway presents when it pushes to members and peers, and signs
    /// receipts and status packages with. Default: the server certificate (`tls.cert`/`tls.key`).
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// CA certificates that push endpoints' server certificates must chain to. Default
    /// `tls.client_ca`.
    pub push_ca: Option<PathBuf>,
    /// The gateway's own organ identifier, written as `From` of the status packages it makes
    /// (dead-letter notices). Default: none (notices name no organ).
    pub organ_id: Option<String>,
    pub retry: RetryCfg,
    /// Push workers: deliveries in flight at once per node.
    pub workers: usize,
    /// Seconds a node holds a claimed delivery before another node may take it over.
    pub lease_secs: u64,
    /// Seconds a push may take.
    pub push_timeout_ms: u64,
}

/// The working calendar (`[calendar]`): where the approved year files are, the working
/// sessions, the weekly rest days, the optional cut-off, and the assumed parts of the holiday
/// rules used for years without a file. Parsed and checked by `calendar::Settings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CalendarCfg {
    /// Directory of year files `YYYY.toml`, authoritative for their year.
    pub dir: PathBuf,
    /// Working sessions of a day, Vietnam time, `"HH:MM-HH:MM"`; a working day (`1d`) is their
    /// total length.
    pub sessions: Vec<String>,
    /// Weekly rest days (`mon` … `sun`).
    pub weekend: Vec<String>,
    /// Receipt after this time (`"HH:MM"`) on a working day counts from the next working day.
    /// Default: none (assumed: seen in procedure descriptions, not a general rule).
    pub cutoff: Option<String>,
    /// Due times are rounded up to a multiple of this many minutes (0: not rounded).
    pub round_minutes: u32,
    /// Rules: Tết days before 1/1 lunar (of the five).
    pub tet_days_before: u8,
    /// Rules: the day next to 2/9: `auto`, `before` or `after`.
    pub national_day_adjacent: String,
}

impl Default for CalendarCfg {
    fn default() -> Self {
        CalendarCfg {
            dir: Path::new("config").join("calendar"),
            sessions: vec!["08:00-12:00".into(), "13:00-17:00".into()],
            weekend: vec!["sat".into(), "sun".into()],
            cutoff: None,
            round_minutes: 15,
            tet_days_before: 1,
            national_day_adjacent: "auto".into(),
        }
    }
}

/// Dossiers (`[dossiers]`): where vendor dialects are, and the procedures the gateway knows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DossiersCfg {
    /// Directory of dialect files `<name>.toml` (one per one-stop-shop vendor), read at start.
    pub dialects_dir: PathBuf,
    /// Administrative procedures dossiers may be filed for, with their processing time.
    pub procedures: Vec<ProcedureCfg>,
    /// The on-time rule of `GET /v1/reports/on-time` and of a dossier's view.
    pub on_time: OnTimeCfg,
}

impl Default for DossiersCfg {
    fn default() -> Self {
        DossiersCfg {
            dialects_dir: Path::new("adapters").join("dialects"),
            procedures: Vec::new(),
            on_time: OnTimeCfg::default(),
        }
    }
}

/// `[dossiers.on_time]`: the national on-time rule (assumed, see `shared/domain/dvcqg.md`), its
/// debatable parts configurable. Checked by `dossiers::on_time::Rule::from_config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OnTimeCfg {
    /// Statuses whose first occurrence ends processing (NgayKetThucXuLy): a subset of
    /// 3, 7, 8, 9, 10.
    pub end_statuses: Vec<u8>,
    /// An outstanding supplement request (status 5, the latest status) stops the clock at its time.
    pub supplement_ends_clock: bool,
    /// More supplement requests than this make a dossier late.
    pub max_supplements: u32,
    /// Dossiers still open past their due time also count as late (in the month of their due
    /// time); they are reported as overdue in progress either way.
    pub open_overdue_is_late: bool,
}

impl Default for OnTimeCfg {
    fn default() -> Self {
        OnTimeCfg {
            end_statuses: vec![3, 7, 8, 9, 10],
            supplement_ends_clock: true,
            max_supplements: 1,
            open_overdue_is_late: false,
        }
    }
}

/// External systems, one table each (`[adapters.dvcqg]`, …).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AdaptersCfg {
    pub dvcqg: DvcqgCfg,
    pub population: PopulationCfg,
    pub paygov: PaygovCfg,
    pub vnpost: VnpostCfg,
}

/// VNPost public-utility post (`[adapters.vnpost]`, `shared/domain/vnpost.md`): result-delivery
/// and dossier-pickup orders go out through a queue, tracking events come in by polling the
/// paged tracking list. One profile (the `VNPOST` profile of the public client); URLs and the
/// success `Status` are not published (assumed: configure).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct VnpostCfg {
    /// Take postal orders. Off: `/v1/postal/*` answers 503 `postal_disabled`.
    pub enabled: bool,
    /// Start the NGSP simulator inside the gateway on a loopback port and use it (the sandbox
    /// does).
    pub simulate: bool,
    /// With `simulate`: milliseconds between an order's carrier events (1, 2, 4); 0: events
    /// only when asked (`POST /_sim/advance` on the simulator).
    pub simulate_step_ms: u64,
    /// `apiGetToken`, `apiPostOrder`, `apiGetOrderTracking`, `apiCancelOrder` (full URLs).
    pub token_url: String,
    pub order_url: String,
    pub tracking_url: String,
    pub cancel_url: String,
    /// `customerKey` and `secretKey` of the token call: `{ value | file | env }`.
    pub customer_key: Option<SecretSource>,
    pub secret_key: Option<SecretSource>,
    /// `customerCode`: the agency's customer code; the tracking feed is filtered on it.
    pub customer_code: String,
    /// Sender defaults of result deliveries (the receiver of dossier pickups).
    pub agency_name: String,
    pub agency_address: String,
    pub agency_email: String,
    pub agency_tel: String,
    /// The agency's VNPost postal codes (`senderProvince`, `senderDistrict`).
    pub agency_province: i64,
    pub agency_district: i64,
    /// GSO area code → VNPost postal code, for installations that send area codes (text)
    /// instead of postal codes (numbers); the LGSP shared code lists carry the pairs.
    pub area_postal_codes: std::collections::BTreeMap<String, i64>,
    /// `Status` values meaning success (assumed).
    pub success_status: Vec<String>,
    /// Carrier `StatusCode`s meaning delivered (the public client uses `4`).
    pub delivered_codes: Vec<String>,
    /// Dossier status a delivered result moves a dossier in status 9 to (0: leave it to the desk).
    pub delivered_status: u8,
    /// `OrderNumber` of a dossier pickup: the dossier code and this suffix (a result delivery
    /// uses the dossier code as it is).
    pub pickup_suffix: String,
    /// Milliseconds between tracking polls (a full page is followed at once).
    pub poll_ms: u64,
    /// `pagesize` of tracking calls.
    pub page_size: u32,
    pub connect_timeout_ms: u64,
    pub timeout_ms: u64,
    /// CA certificates (PEM) VNPost's server certificate must chain to; default: the system's.
    pub ca_file: Option<PathBuf>,
    /// Order and cancel calls: back-off and dead letter.
    pub retry: RetryCfg,
    pub workers: usize,
    pub lease_secs: u64,
}

impl Default for VnpostCfg {
    fn default() -> Self {
        VnpostCfg {
            enabled: false,
            simulate: false,
            simulate_step_ms: 0,
            token_url: String::new(),
            order_url: String::new(),
            tracking_url: String::new(),
            cancel_url: String::new(),
            customer_key: None,
            secret_key: None,
            customer_code: String::new(),
            agency_name: String::new(),
            agency_address: String::new(),
            agency_email: String::new(),
            agency_tel: String::new(),
            agency_province: 0,
            agency_district: 0,
            area_postal_codes: Default::default(),
            success_status: vec!["200".into()],
            delivered_codes: vec!["4".into()],
            delivered_status: 10,
            pickup_suffix: "-GOM".into(),
            poll_ms: 60_000,
            page_size: 50,
            connect_timeout_ms: 5_000,
            timeout_ms: 15_000,
            ca_file: None,
            retry: RetryCfg::default(),
            workers: 4,
            lease_secs: 60,
        }
    }
}

/// PayGov, the national payment platform (`[adapters.paygov]`): payments are started here,
/// the platform calls back `/callbacks/paygov`, and reconciliation asks about the ones it did
/// not call back for. Values marked assumed are not published (see `shared/domain/paygov.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PaygovCfg {
    /// Take payments. Off: `/v1/payments` and the callback answer 503 `payments_disabled`.
    pub enabled: bool,
    /// Start the platform simulator inside the gateway on a loopback port and use it instead of
    /// `base_url` (the sandbox does); its callbacks come to this gateway.
    pub simulate: bool,
    /// The platform's base URL; `init_path`, `check_path`, `receipt_path` are appended.
    pub base_url: String,
    pub init_path: String,
    pub check_path: String,
    pub receipt_path: String,
    /// `MaDoiTac`: our partner code.
    pub partner_code: String,
    /// `MaBiMat`, the shared secret: `{ value | file | env }`; or give `secret_file`.
    pub secret: Option<SecretSource>,
    pub secret_file: Option<PathBuf>,
    /// `Authorization: Bearer …` on calls to the platform, when it gives one.
    pub access_token: Option<SecretSource>,
    /// `PhienBan` of init and status messages.
    pub version: String,
    /// `LoaiBanTin` of status checks (assumed).
    pub check_kind: String,
    /// `Ip` in init messages: the gateway's public IPv4.
    pub server_ip: String,
    /// Callbacks only from these addresses or networks (`"203.0.113.7"`, `"10.0.0.0/8"`);
    /// empty: from anywhere (the checksum still decides).
    pub callback_sources: Vec<String>,
    /// Answer callbacks with a fresh `MaXacThuc` over the answer instead of echoing the
    /// received one (assumed: both public clients echo).
    pub sign_answers: bool,
    /// `ThongTinBienLai.MaDichVu` (assumed `2`).
    pub service_code: String,
    /// Dossier status a paid fee moves a dossier in status 6 (financial obligation) to; 0:
    /// leave the status to the desk.
    pub paid_status: u8,
    pub connect_timeout_ms: u64,
    /// Milliseconds one call to the platform may take.
    pub timeout_ms: u64,
    /// CA certificates (PEM) the platform's server certificate must chain to; default: the
    /// system's trust store.
    pub ca_file: Option<PathBuf>,
    /// Reconciliation: a payment without a final answer is checked once it is this old…
    pub reconcile_after_secs: u64,
    /// …until this old; past it, it goes to manual review.
    pub reconcile_until_secs: u64,
    /// First wait between checks of one payment (doubles, up to `reconcile_max_interval_secs`).
    pub reconcile_interval_secs: u64,
    pub reconcile_max_interval_secs: u64,
    /// How often the reconciler looks for due payments.
    pub reconcile_poll_secs: u64,
}

impl Default for PaygovCfg {
    fn default() -> Self {
        PaygovCfg {
            enabled: false,
            simulate: false,
            base_url: String::new(),
            init_path: "/init".into(),
            check_path: "/check".into(),
            receipt_path: "/receipt".into(),
            partner_code: String::new(),
            secret: None,
            secret_file: None,
            access_token: None,
            version: "1.0.6".into(),
            check_kind: "CHECK".into(),
            server_ip: "127.0.0.1".into(),
            callback_sources: Vec::new(),
            sign_answers: false,
            service_code: "2".into(),
            paid_status: 4,
            connect_timeout_ms: 5_000,
            timeout_ms: 15_000,
            ca_file: None,
            reconcile_after_secs: 30 * 60,
            reconcile_until_secs: 3 * 86_400,
            reconcile_interval_secs: 15 * 60,
            reconcile_max_interval_secs: 6 * 3600,
            reconcile_poll_secs: 60,
        }
    }
}

impl PaygovCfg {
    /// The shared secret's source, from `secret` or `secret_file`.
    pub fn secret_source(&self) -> Option<SecretSource> {
        secret_or_file(&self.secret, &self.secret_file)
    }
}

/// A secret given as `secret = { … }` or as `secret_file = "path"`.
fn secret_or_file(secret: &Option<SecretSource>, file: &Option<PathBuf>) -> Option<SecretSource> {
    secret.clone().or_else(|| {
        file.as_ref().map(|f| SecretSource {
            file: Some(f.display().to_string()),
            ..SecretSource::default()
        })
    })
}

/// The national public service portal (`[adapters.dvcqg]`): dossiers and their progress go up,
/// online dossiers come down. Names and paths marked assumed are not published.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DvcqgCfg {
    /// Sync dossiers with the portal. Off: nothing is queued for it.
    pub enabled: bool,
    /// Start the portal simulator inside the gateway on a loopback port and use it instead of
    /// `base_url` (the sandbox does).
    pub simulate: bool,
    /// `adapter_url`: the portal adapter's base URL.
    pub base_url: String,
    /// `auth_endpoint` (assumed path), appended to `base_url`.
    pub auth_endpoint: String,
    /// `integration_endpoint` (assumed path), appended to `base_url`.
    pub integration_endpoint: String,
    pub username: String,
    pub password: SecretSource,
    /// `error_code` values that mean "log in again" (assumed).
    pub session_error_codes: Vec<i64>,
    /// Milliseconds one call may take.
    pub timeout_ms: u64,
    /// CA certificates (PEM) the portal's server certificate must chain to; default: the
    /// system's trust store.
    pub ca_file: Option<PathBuf>,
    /// `LoaiDoiTuong` codes this endpoint uses: individual, business, household business
    /// (OpenCPS numbering by default; the iGate flow uses 0, 1, 2).
    pub applicant_kind_codes: [String; 3],
    /// `DonViXuLy`: the handling unit's name, per organ identifier (default: the organ id).
    pub unit_names: std::collections::BTreeMap<String, String>,
    pub retry: RetryCfg,
    /// Portal calls in flight at once per node (each dossier's calls stay in order).
    pub workers: usize,
    /// Seconds a node holds a claimed job before another node may take it over.
    pub lease_secs: u64,
    /// Online dossiers: the list service (assumed name), the organ the province asks as
    /// (`madonvi`), and how often to ask (0: never).
    pub online_service: String,
    pub online_organ: String,
    pub online_poll_secs: u64,
}

impl Default for DvcqgCfg {
    fn default() -> Self {
        DvcqgCfg {
            enabled: false,
            simulate: false,
            base_url: String::new(),
            auth_endpoint: "/auth".into(),
            integration_endpoint: "/integration".into(),
            username: String::new(),
            password: SecretSource::default(),
            session_error_codes: vec![401],
            timeout_ms: 10_000,
            ca_file: None,
            applicant_kind_codes: ["1".into(), "2".into(), "2".into()],
            unit_names: Default::default(),
            retry: RetryCfg {
                initial_ms: 1000,
                max_ms: 300_000,
                max_attempts: 50,
                max_age_secs: 3 * 86_400,
            },
            workers: 8,
            lease_secs: 60,
            online_service: "LayDanhSachHoSoTrucTuyen".into(),
            online_organ: String::new(),
            online_poll_secs: 30,
        }
    }
}

/// One `[[dossiers.procedures]]` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcedureCfg {
    /// National procedure code (mã TTHC), e.g. `1.009999`.
    pub code: String,
    /// Its name (tên TTHC), for operators.
    pub name: String,
    /// Processing time (thời hạn giải quyết): `15d` working days or `4h` working hours.
    pub processing_time: String,
    /// This procedure's cut-off (`"HH:MM"` or `"none"`); default `calendar.cutoff`.
    pub cutoff: Option<String>,
}

/// The national population database, citizen lookup "037" (`[adapters.population]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PopulationCfg {
    /// Start the population simulator inside the gateway on a loopback port and call it. Also
    /// happens in sandbox mode when `base_url` is not set.
    pub simulate: bool,
    /// The service endpoint (SOAP, `POST`), e.g. `https://lgsp.example.vn/dancu/037`.
    pub base_url: Option<String>,
    /// Account name (`userName` of the Authorization formula).
    pub username: String,
    /// Shared secret (`secretKey`): `{ value | file | env }`; or give `secret_file`.
    pub secret: Option<SecretSource>,
    /// File holding the shared secret (same as `secret = { file = … }`).
    pub secret_file: Option<PathBuf>,
    /// `url_xacthuc`: the URL string hashed into the Authorization header.
    pub auth_url: String,
    /// `X-Road-Client` header.
    pub client_id: String,
    /// `ApiKey` header, when the deployment has one.
    pub api_key: Option<SecretSource>,
    /// Calling service code (`MaDVC`).
    pub service_code: String,
    /// Officer's unit code (`MaDonVi`); default: the calling member's first organ.
    pub unit_code: Option<String>,
    pub connect_timeout_ms: u64,
    /// Whole exchange with the service; past it the member gets 504 `population_timeout`.
    pub timeout_ms: u64,
    /// Extra attempts after a connection failure (never after an answer or a timeout).
    pub retries: u32,
    pub max_response_bytes: usize,
}

impl Default for PopulationCfg {
    fn default() -> Self {
        PopulationCfg {
            simulate: false,
            base_url: None,
            username: "lienthong-sandbox".into(),
            secret: None,
            secret_file: None,
            auth_url: "https://sandbox.invalid/xacthuc".into(),
            client_id: "VN/GOV/H99/LIENTHONG".into(),
            api_key: None,
            service_code: "VPCP".into(),
            unit_code: None,
            connect_timeout_ms: 2_000,
            timeout_ms: 10_000,
            retries: 1,
            max_response_bytes: 256 << 10,
        }
    }
}

impl PopulationCfg {
    /// Whether the gateway runs the simulator itself.
    pub fn simulated(&self, sandbox: bool) -> bool {
        self.simulate || (sandbox && self.base_url.is_none())
    }

    /// The shared secret's source, from `secret` or `secret_file`.
    pub fn secret_source(&self) -> Option<SecretSource> {
        secret_or_file(&self.secret, &self.secret_file)
    }
}

/// Citizen lookup policy (`[citizens]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CitizensCfg {
    /// Purposes a lookup may name; anything else is refused.
    pub purposes: Vec<PurposeCfg>,
    /// Province codes (first three digits of an ID) accepted; default: the built-in table of the
    /// 63 provinces.
    pub province_codes: Option<Vec<String>>,
    /// Codes added to the table (the sandbox's invented `099`).
    pub extra_province_codes: Vec<String>,
    /// Lookups per member, on top of the member's general rate limit.
    pub member_rate_limit: RateLimit,
    /// Lookups per officer (`officer_id`).
    pub officer_rate_limit: RateLimit,
    pub cache: CitizenCacheCfg,
    /// Key of the keyed hash (HMAC-SHA-256) of the queried ID in audit records. If unset, a
    /// random key is created in `data_dir/citizens-audit.key` on first start.
    pub audit_key: Option<SecretSource>,
    /// When a lookup's audit records are committed relative to its answer.
    pub audit_commit: AuditCommit,
}

/// `citizens.audit_commit`: either way no answer leaves before its question is on the chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditCommit {
    /// The question's record (`citizens.lookup.asked`) is committed while the population
    /// service is asked; the answer waits for it; the outcome record (`citizens.lookup`)
    /// follows the answer in the next group commit. No commit on the answer's path.
    #[default]
    Overlapped,
    /// One record with the outcome, committed after the service answered and before the
    /// answer leaves: one group commit (an fsync) added to every lookup.
    BeforeAnswer,
}

/// One `[[citizens.purposes]]` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PurposeCfg {
    pub code: String,
    pub name: String,
    /// Fields of the citizen record answered for this purpose (minimisation); empty: all.
    pub fields: Vec<String>,
}

/// Answer cache (`[citizens.cache]`): off unless enabled; in memory only, bounded in time and
/// entries.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct CitizenCacheCfg {
    pub enabled: bool,
    /// At most 600.
    pub ttl_secs: u64,
    /// At most 100,000.
    pub max_entries: usize,
}

impl Default for CitizenCacheCfg {
    fn default() -> Self {
        CitizenCacheCfg {
            enabled: false,
            ttl_secs: 60,
            max_entries: 1_000,
        }
    }
}

impl Default for CitizensCfg {
    fn default() -> Self {
        CitizensCfg {
            purposes: Vec::new(),
            province_codes: None,
            extra_province_codes: Vec::new(),
            member_rate_limit: RateLimit {
                per_minute: 600,
                burst: 60,
            },
            officer_rate_limit: RateLimit {
                per_minute: 30,
                burst: 10,
            },
            cache: CitizenCacheCfg::default(),
            audit_key: None,
            audit_commit: AuditCommit::default(),
        }
    }
}

/// Retry budget of a delivery: exponential backoff with jitter, then dead letter.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryCfg {
    pub initial_ms: u64,
    pub max_ms: u64,
    /// Attempts before dead letter.
    pub max_attempts: u32,
    /// Age (seconds since acceptance) after which a delivery goes to dead letter.
    pub max_age_secs: u64,
}

impl Default for EdocsCfg {
    fn default() -> Self {
        EdocsCfg {
            max_package_bytes: 64 << 20,
            chunk_bytes: 1 << 20,
            client_cert: None,
            client_key: None,
            push_ca: None,
            organ_id: None,
            retry: RetryCfg::default(),
            workers: 16,
            lease_secs: 60,
            push_timeout_ms: 30_000,
        }
    }
}

impl Default for RetryCfg {
    fn default() -> Self {
        RetryCfg {
            initial_ms: 1_000,
            max_ms: 300_000,
            max_attempts: 50,
            max_age_secs: 3 * 24 * 3600,
        }
    }
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteCfg {
    /// Organ identifiers or ancestors (`H41`, `000.00.00.H41`, `G22.3`), or `*` for everything.
    pub organs: Vec<String>,
    /// The member (usually `kind = "peer"`) that receives packages for them.
    pub member: String,
}

/// Whom signed documents are trusted from (`[trust]`): anchors, revocation, signature policy
/// and the binding of signer certificates to organ identifiers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TrustCfg {
    /// Trust anchors: PEM/DER files or directories (every certificate in them is an anchor,
    /// every CRL a revocation list). Default `data_dir/pki/ca.pem` (the dev PKI); production
    /// names the Vietnamese roots, e.g. `["certs/anchors"]`.
    pub anchors: Option<Vec<PathBuf>>,
    /// Intermediate CA certificates (files or directories) used to build chains when the
    /// message does not carry them. Default `data_dir/pki/intermediate.pem`.
    pub intermediates: Option<Vec<PathBuf>>,
    /// CRL files or directories. Default `data_dir/pki/crl.pem`.
    pub crls: Option<Vec<PathBuf>>,
    /// `crl` (CRLs for every certificate), `ocsp` (OCSP for the signer, CRLs above it) or `off`.
    pub revocation: String,
    /// OCSP responder; when unset, the signer certificate's AIA OCSP URL.
    pub ocsp_url: Option<String>,
    pub ocsp_timeout_ms: u64,
    /// How long past its `nextUpdate` a cached OCSP answer or CRL may still be used while the
    /// responder / distribution point is unreachable. 0 = strictly fail closed.
    pub grace_secs: u64,
    /// Accept RSA-SHA1 / SHA-1 digests from legacy software (with a warning).
    pub allow_sha1: bool,
    /// Default binding rule: an organ identifier written in the signer certificate's subject OU
    /// is bound to that certificate (assumed about real certificates; switch off to rely only
    /// on `bindings`).
    pub ou_binding: bool,
    /// Extra signer ↔ organ bindings, by certificate fingerprint or exact subject.
    pub bindings: Vec<SignerBinding>,
}

/// One `[[trust.bindings]]` entry: certificates matching `fingerprint` (SHA-256 of the DER) or
/// `subject` (exact, order-insensitive) may sign for `organs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SignerBinding {
    pub fingerprint: Option<String>,
    pub subject: Option<String>,
    pub organs: Vec<String>,
}

impl Default for TrustCfg {
    fn default() -> Self {
        TrustCfg {
            anchors: None,
            intermediates: None,
            crls: None,
            revocation: "crl".into(),
            ocsp_url: None,
            ocsp_timeout_ms: 5_000,
            grace_secs: 3_600,
            allow_sha1: true,
            ou_binding: true,
            bindings: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Listen {
    /// Member listener (HTTPS, mTLS or bearer tokens).
    pub members: String,
    /// Operator listener (plain HTTP on loopback: `/metrics`, `/healthz`, `/readyz`).
    pub operator: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Tls {
    /// Server certificate chain (PEM, leaf first). Default `data_dir/pki/server.pem`.
    pub cert: Option<PathBuf>,
    /// Server private key (PEM). Default `data_dir/pki/server.key`.
    pub key: Option<PathBuf>,
    /// Trust anchors for members' client certificates. Default `data_dir/pki/ca.pem`.
    pub client_ca: Option<PathBuf>,
    /// CRLs (PEM) checked at the handshake. Default `[data_dir/pki/crl.pem]`.
    pub crls: Option<Vec<PathBuf>>,
    /// Seconds a client has to finish the TLS handshake.
    pub handshake_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreCfg {
    /// `sqlite://path` (default `sqlite://<data_dir>/lienthong.db`) or `postgres://…`.
    pub url: Option<String>,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub body_bytes: u64,
    /// Time a request may take, in milliseconds, before it is answered 503.
    pub request_timeout_ms: u64,
    /// Most concurrent connections on the member listener.
    pub max_connections: usize,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RateLimit {
    /// Sustained requests per minute per member.
    pub per_minute: u32,
    /// Requests a member may send at once before the sustained rate applies.
    pub burst: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuth {
    /// `iss` of the tokens the gateway issues.
    pub issuer: String,
    /// Lifetime of an access token, seconds (30..=3600).
    pub token_ttl_secs: u64,
    /// HMAC key for tokens (≥ 32 bytes). If unset, a random key is created in
    /// `data_dir/oauth-signing.key` on first start (set it explicitly for several nodes).
    pub signing_key: Option<SecretSource>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Log {
    /// `error`, `warn`, `info`, `debug` or `trace` (or a tracing filter directive).
    pub level: String,
    /// `json` (default) or `text`.
    pub format: String,
}

/// One member: a system that calls the gateway (an agency's document software, a one-stop-shop
/// installation, the payment platform, a peer gateway…).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberCfg {
    pub id: String,
    /// Human name, e.g. "Văn phòng UBND tỉnh Ví Dụ".
    pub name: String,
    /// `agency`, `onestop`, `platform` or `peer`. The dev PKI gives every `agency` a
    /// document-signing certificate.
    pub kind: String,
    /// Organ identifiers (mã định danh) the member may speak for, in either scheme.
    pub organs: Vec<String>,
    /// Services granted; everything else is denied.
    pub services: Vec<String>,
    /// Client-certificate binding by SHA-256 fingerprint of the DER certificate (hex, colons optional).
    pub cert_fingerprint: Option<String>,
    /// Client-certificate binding by exact subject, e.g. "CN=vpubnd,O=UBND tinh Vi Du".
    pub cert_subject: Option<String>,
    pub oauth: Option<MemberOAuth>,
    /// Per-member override of the rate limit.
    pub rate_limit: Option<RateLimit>,
    /// How packages reach this member: `pull` (it reads its inbox; default) or `push` (the
    /// gateway POSTs each package to `endpoint`).
    pub delivery: String,
    /// Push endpoint, e.g. `https://vanban.sonv.example.vn/lienthong/receive` or a peer
    /// gateway's `https://…/v1/edocs`.
    pub endpoint: Option<String>,
    /// Deliver packages from one sender organ to this member in acceptance order.
    pub ordered: bool,
    /// Accept this member's unsigned status packages (real document software often sends them
    /// unsigned); documents always need a valid signature.
    pub unsigned_status: bool,
    /// Check this member's packages against `schemas/edxml.xsd` (strict mode).
    pub edxml_strict: bool,
    /// The one-stop-shop dialect its dossier requests are written in (a file
    /// `dossiers.dialects_dir/<dialect>.toml`); none: the canonical JSON.
    pub dialect: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberOAuth {
    pub client_id: String,
    pub client_secret: SecretSource,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sandbox: true,
            data_dir: PathBuf::from("data"),
            listen: Listen::default(),
            tls: Tls {
                handshake_timeout_secs: 10,
                ..Tls::default()
            },
            store: StoreCfg::default(),
            limits: Limits::default(),
            rate_limit: RateLimit::default(),
            oauth: OAuth::default(),
            log: Log::default(),
            trust: TrustCfg::default(),
            edocs: EdocsCfg::default(),
            calendar: CalendarCfg::default(),
            dossiers: DossiersCfg::default(),
            adapters: AdaptersCfg::default(),
            citizens: CitizensCfg::default(),
            members: Vec::new(),
            routes: Vec::new(),
        }
    }
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            members: "127.0.0.1:8443".into(),
            operator: "127.0.0.1:9090".into(),
        }
    }
}

impl Default for StoreCfg {
    fn default() -> Self {
        StoreCfg {
            url: None,
            max_connections: 8,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 1 << 20,
            request_timeout_ms: 30_000,
            max_connections: 1024,
        }
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_minute: 600,
            burst: 60,
        }
    }
}

impl Default for OAuth {
    fn default() -> Self {
        OAuth {
            issuer: "lienthong".into(),
            token_ttl_secs: 300,
            signing_key: None,
        }
    }
}

impl Default for Log {
    fn default() -> Self {
        Log {
            level: "info".into(),
            format: "json".into(),
        }
    }
}

impl Config {
    pub fn pki_dir(&self) -> PathBuf {
        self.data_dir.join("pki")
    }
    pub fn tls_cert(&self) -> PathBuf {
        self.tls
            .cert
            .clone()
            .unwrap_or_else(|| self.pki_dir().join("server.pem"))
    }
    pub fn tls_key(&self) -> PathBuf {
        self.tls
            .key
            .clone()
            .unwrap_or_else(|| self.pki_dir().join("server.key"))
    }
    pub fn client_ca(&self) -> PathBuf {
        self.tls
            .client_ca
            .clone()
            .unwrap_or_else(|| self.pki_dir().join("ca.pem"))
    }
    pub fn crls(&self) -> Vec<PathBuf> {
        self.tls
            .crls
            .clone()
            .unwrap_or_else(|| vec![self.pki_dir().join("crl.pem")])
    }
    pub fn store_url(&self) -> String {
        self.store
            .url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("lienthong.db").display()))
    }
    pub fn member_cert_path(&self, id: &str) -> PathBuf {
        self.pki_dir().join("members").join(format!("{id}.pem"))
    }
    pub fn member_key_path(&self, id: &str) -> PathBuf {
        self.pki_dir().join("members").join(format!("{id}.key"))
    }
    pub fn trust_anchors(&self) -> Vec<PathBuf> {
        self.trust
            .anchors
            .clone()
            .unwrap_or_else(|| vec![self.pki_dir().join("ca.pem")])
    }
    pub fn trust_intermediates(&self) -> Vec<PathBuf> {
        self.trust
            .intermediates
            .clone()
            .unwrap_or_else(|| vec![self.pki_dir().join("intermediate.pem")])
    }
    pub fn trust_crls(&self) -> Vec<PathBuf> {
        self.trust
            .crls
            .clone()
            .unwrap_or_else(|| vec![self.pki_dir().join("crl.pem")])
    }
    pub fn edocs_client_cert(&self) -> PathBuf {
        self.edocs
            .client_cert
            .clone()
            .unwrap_or_else(|| self.tls_cert())
    }
    pub fn edocs_client_key(&self) -> PathBuf {
        self.edocs
            .client_key
            .clone()
            .unwrap_or_else(|| self.tls_key())
    }
    pub fn push_ca(&self) -> PathBuf {
        self.edocs
            .push_ca
            .clone()
            .unwrap_or_else(|| self.client_ca())
    }
    pub fn member_rate_limit(&self, m: &MemberCfg) -> RateLimit {
        m.rate_limit.unwrap_or(self.rate_limit)
    }
}

/// Where configuration comes from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The TOML file. `None`, or a default path that does not exist, means built-in defaults.
    pub file: Option<PathBuf>,
    /// Whether `file` was named explicitly (then it must exist).
    pub file_explicit: bool,
    /// `--set key=value` overrides, in order.
    pub sets: Vec<String>,
}

/// A loaded configuration, with the figment kept for provenance in error messages.
pub struct Loaded {
    pub config: Config,
    figment: Figment,
}

impl Loaded {
    /// Where `key` came from, for error messages: a file path, "environment variable", "--set".
    pub fn origin(&self, key: &str) -> String {
        validate::origin(&self.figment, key)
    }
}

/// Load and validate configuration. Returns every error found.
pub fn load(src: &Sources) -> Result<Loaded, ConfigErrors> {
    let mut errors = Vec::new();
    let mut fig = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = &src.file {
        if path.exists() {
            fig = fig.merge(Toml::file_exact(path));
        } else if src.file_explicit {
            errors.push(ConfigError::new(
                path.display().to_string(),
                "",
                "configuration file not found",
            ));
        }
    }
    fig = fig.merge(
        Env::prefixed("LIENTHONG_")
            .split("__")
            .filter(|k| !matches!(k.as_str(), "config" | "log_json")),
    );
    for set in &src.sets {
        match set.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                fig = fig.merge(SetOverride {
                    key: k.trim().to_owned(),
                    value: parse_set_value(v),
                });
            }
            _ => errors.push(ConfigError::new(
                "--set",
                set,
                "expected KEY=VALUE, e.g. --set listen.members=0.0.0.0:8443",
            )),
        }
    }
    let config: Config = match fig.extract() {
        Ok(c) => c,
        Err(e) => {
            for err in e {
                let key = err.path.join(".");
                let origin = err
                    .metadata
                    .as_ref()
                    .map(|m| validate::describe_metadata(m, &key))
                    .unwrap_or_else(|| "configuration".into());
                errors.push(ConfigError::new(origin, key, err.kind.to_string()));
            }
            return Err(ConfigErrors(errors));
        }
    };
    let loaded = Loaded {
        config,
        figment: fig,
    };
    errors.extend(validate::unknown_keys(&loaded));
    errors.extend(validate::validate(&loaded));
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// One `--set key=value`, as a figment provider so errors can name "--set" as the source.
struct SetOverride {
    key: String,
    value: toml::Value,
}

impl figment::Provider for SetOverride {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("--set").source(figment::Source::Custom("--set".into()))
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let value = figment::value::Value::serialize(&self.value)?;
        let dict = figment::util::nest(&self.key, value)
            .into_dict()
            .ok_or_else(|| figment::Error::from(format!("--set {}: not a key path", self.key)))?;
        Ok(figment::Profile::Default.collect(dict))
    }
}

/// `--set` values are TOML values when they parse as one (`5`, `true`, `["a","b"]`), strings otherwise.
fn parse_set_value(v: &str) -> toml::Value {
    let v = v.trim();
    match toml::from_str::<toml::Table>(&format!("v = {v}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(v.to_owned())),
        Err(_) => toml::Value::String(v.to_owned()),
    }
}

/// Default configuration file path, `config/lienthong.toml` (the CLI also honours `LIENTHONG_CONFIG`).
pub fn default_path() -> PathBuf {
    Path::new("config").join("lienthong.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_are_typed() {
        assert_eq!(parse_set_value("5"), toml::Value::Integer(5));
        assert_eq!(parse_set_value("true"), toml::Value::Boolean(true));
        assert_eq!(
            parse_set_value("127.0.0.1:1"),
            toml::Value::String("127.0.0.1:1".into())
        );
    }

    #[test]
    fn set_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[limits]\nbody_bytes = 10\n").unwrap();
        let l = load(&Sources {
            file: Some(p),
            file_explicit: true,
            sets: vec!["limits.request_timeout_ms=1234".into()],
        })
        .unwrap();
        assert_eq!(l.config.limits.body_bytes, 10);
        assert_eq!(l.config.limits.request_timeout_ms, 1234);
    }
}
