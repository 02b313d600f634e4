//! Semantic validation of a loaded [`Config`]: every mistake is collected, none stops the others.

use super::{Config, Loaded, MemberCfg};
use crate::members::{CertBinding, Fingerprint};
use figment::{Figment, Metadata, Source};
use lienthong_contract::{OrganId, Service};
use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// One configuration mistake: where it came from, which key, and why it is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub origin: String,
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(
        origin: impl Into<String>,
        key: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ConfigError {
            origin: origin.into(),
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.origin, self.reason)
        } else {
            write!(f, "{}: {}: {}", self.origin, self.key, self.reason)
        }
    }
}

/// All mistakes found in one load.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} configuration error(s):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

pub(super) fn describe_metadata(m: &Metadata, key: &str) -> String {
    if m.name.contains("environment") {
        return format!(
            "environment variable LIENTHONG_{}",
            key.to_ascii_uppercase().replace('.', "__")
        );
    }
    match &m.source {
        Some(Source::File(p)) => p.display().to_string(),
        Some(Source::Custom(s)) => s.clone(),
        _ => m.name.to_string(),
    }
}

pub(super) fn origin(fig: &Figment, key: &str) -> String {
    // Walk up the key path until a value with metadata is found.
    let mut k = key.to_owned();
    loop {
        if let Some(m) = fig.find_metadata(&k) {
            let d = describe_metadata(m, &k);
            return if d.contains("Config") {
                "built-in default".into()
            } else {
                d
            };
        }
        match k.rfind('.') {
            Some(i) => k.truncate(i),
            None => return "configuration".into(),
        }
    }
}

struct Collector<'a> {
    loaded: &'a Loaded,
    errors: Vec<ConfigError>,
}

impl Collector<'_> {
    fn err(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        let key = key.into();
        // Members are an array: figment tracks provenance for the array as a whole.
        let lookup = match key.split_once('[') {
            Some((array, _)) => array.to_owned(),
            None => key.clone(),
        };
        let origin = self.loaded.origin(&lookup);
        self.errors.push(ConfigError::new(origin, key, reason));
    }
}

/// Keys that were given but that no setting reads: usually a typo (`lisen.members`).
pub(super) fn unknown_keys(loaded: &Loaded) -> Vec<ConfigError> {
    let mut v = Collector {
        loaded,
        errors: Vec::new(),
    };
    let (Ok(raw), Ok(known)) = (
        loaded.figment.extract::<figment::value::Value>(),
        serde_json::to_value(&loaded.config),
    ) else {
        return v.errors;
    };
    let raw = serde_json::to_value(&raw).unwrap_or_default();
    walk_unknown(&raw, &known, "", &mut v);
    v.errors
}

fn walk_unknown(
    raw: &serde_json::Value,
    known: &serde_json::Value,
    path: &str,
    v: &mut Collector<'_>,
) {
    use serde_json::Value;
    match (raw, known) {
        (Value::Object(r), Value::Object(k)) => {
            for (key, rv) in r {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match k.get(key) {
                    Some(kv) => walk_unknown(rv, kv, &here, v),
                    None => {
                        let mut names: Vec<&str> = k.keys().map(String::as_str).collect();
                        names.sort_unstable();
                        v.err(
                            here,
                            format!("unknown key (known here: {})", names.join(", ")),
                        );
                    }
                }
            }
        }
        (Value::Array(r), Value::Array(k)) => {
            for (i, (rv, kv)) in r.iter().zip(k).enumerate() {
                walk_unknown(rv, kv, &format!("{path}[{i}]"), v);
            }
        }
        _ => {}
    }
}

pub(super) fn validate(loaded: &Loaded) -> Vec<ConfigError> {
    let c: &Config = &loaded.config;
    let mut v = Collector {
        loaded,
        errors: Vec::new(),
    };

    for (key, addr) in [
        ("listen.members", &c.listen.members),
        ("listen.operator", &c.listen.operator),
    ] {
        if addr.parse::<SocketAddr>().is_err() {
            v.err(
                key,
                format!("{addr:?} is not an address:port such as 127.0.0.1:8443"),
            );
        }
    }
    if c.listen.members == c.listen.operator && !c.listen.members.ends_with(":0") {
        v.err("listen.operator", "must differ from listen.members");
    }
    let url = c.store_url();
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        v.err("store.url", "must start with sqlite: or postgres://");
    }
    if c.store.max_connections == 0 {
        v.err("store.max_connections", "must be at least 1");
    }
    if c.limits.body_bytes == 0 {
        v.err("limits.body_bytes", "must be greater than 0");
    }
    if c.limits.request_timeout_ms < 100 {
        v.err("limits.request_timeout_ms", "must be at least 100");
    }
    if c.limits.max_connections == 0 {
        v.err("limits.max_connections", "must be at least 1");
    }
    if c.tls.handshake_timeout_secs == 0 {
        v.err("tls.handshake_timeout_secs", "must be at least 1");
    }
    check_rate("rate_limit", c.rate_limit, &mut v);
    if !(30..=3600).contains(&c.oauth.token_ttl_secs) {
        v.err(
            "oauth.token_ttl_secs",
            "must be between 30 and 3600 seconds",
        );
    }
    if let Some(src) = &c.oauth.signing_key {
        match src.resolve() {
            Ok(s) if s.expose().len() < 32 => {
                v.err("oauth.signing_key", "must be at least 32 bytes")
            }
            Ok(_) => {}
            Err(e) => v.err("oauth.signing_key", e),
        }
    }
    if !matches!(c.log.format.as_str(), "json" | "text") {
        v.err("log.format", "must be \"json\" or \"text\"");
    }
    if tracing_subscriber::EnvFilter::try_new(&c.log.level).is_err() {
        v.err(
            "log.level",
            format!("{:?} is not a log level or filter", c.log.level),
        );
    }
    if !c.sandbox {
        for (key, path) in [
            ("tls.cert", c.tls_cert()),
            ("tls.key", c.tls_key()),
            ("tls.client_ca", c.client_ca()),
        ] {
            if !path.exists() {
                v.err(key, format!("file {} does not exist", path.display()));
            }
        }
        for path in c.crls() {
            if !path.exists() {
                v.err(
                    "tls.crls",
                    format!("file {} does not exist", path.display()),
                );
            }
        }
    }

    validate_trust(&c.trust, &mut v);
    validate_edocs(c, &mut v);
    validate_calendar(c, &mut v);
    validate_dossiers(c, &mut v);
    validate_dvcqg(&c.adapters.dvcqg, &mut v);
    validate_vnpost(&c.adapters.vnpost, &mut v);
    validate_citizens(c, &mut v);

    let mut ids = HashSet::new();
    let mut client_ids = HashSet::new();
    let mut bindings = HashSet::new();
    for (i, m) in c.members.iter().enumerate() {
        validate_member(i, m, &mut v, &mut ids, &mut client_ids, &mut bindings);
    }
    v.errors
}

fn validate_trust(t: &super::TrustCfg, v: &mut Collector<'_>) {
    if !matches!(t.revocation.as_str(), "crl" | "ocsp" | "off") {
        v.err(
            "trust.revocation",
            format!("{:?} must be one of crl, ocsp, off", t.revocation),
        );
    }
    if let Some(u) = &t.ocsp_url {
        if !u.starts_with("http://") {
            v.err("trust.ocsp_url", "OCSP responders are reached over http://");
        }
    }
    if t.ocsp_timeout_ms < 100 {
        v.err("trust.ocsp_timeout_ms", "must be at least 100");
    }
    for (i, b) in t.bindings.iter().enumerate() {
        let at = |f: &str| format!("trust.bindings[{i}].{f}");
        match (&b.fingerprint, &b.subject) {
            (Some(fp), None) => {
                if let Err(e) = Fingerprint::parse(fp) {
                    v.err(at("fingerprint"), e);
                }
            }
            (None, Some(s)) => {
                if let Err(e) = CertBinding::subject(s) {
                    v.err(at("subject"), e);
                }
            }
            _ => v.err(at("fingerprint"), "give exactly one of fingerprint or subject"),
        }
        if b.organs.is_empty() {
            v.err(at("organs"), "must name at least one organ identifier");
        }
        for (j, o) in b.organs.iter().enumerate() {
            if let Err(e) = OrganId::parse(o) {
                v.err(format!("trust.bindings[{i}].organs[{j}]"), e.to_string());
            }
        }
    }
}

fn validate_edocs(c: &Config, v: &mut Collector<'_>) {
    let e = &c.edocs;
    if e.max_package_bytes < 1024 {
        v.err("edocs.max_package_bytes", "must be at least 1024");
    }
    if !(4096..=(16 << 20)).contains(&e.chunk_bytes) {
        v.err("edocs.chunk_bytes", "must be between 4096 and 16777216");
    }
    check_queue("edocs", e.workers, e.lease_secs, &e.retry, v);
    if let Some(o) = &e.organ_id {
        if let Err(err) = OrganId::parse(o) {
            v.err("edocs.organ_id", err.to_string());
        }
    }
    let ids: HashSet<&str> = c.members.iter().map(|m| m.id.as_str()).collect();
    for (i, r) in c.routes.iter().enumerate() {
        if !ids.contains(r.member.as_str()) {
            v.err(
                format!("routes[{i}].member"),
                format!("{:?} is not a configured member id", r.member),
            );
        }
        if r.organs.is_empty() {
            v.err(format!("routes[{i}].organs"), "must name at least one organ or \"*\"");
        }
        for (j, o) in r.organs.iter().enumerate() {
            if o != "*" {
                if let Err(err) = OrganId::parse(o) {
                    v.err(format!("routes[{i}].organs[{j}]"), err.to_string());
                }
            }
        }
    }
}

/// Workers, lease and retry budget of an outbound queue (`edocs`, `adapters.dvcqg`, …).
fn check_queue(
    prefix: &str,
    workers: usize,
    lease_secs: u64,
    retry: &super::RetryCfg,
    v: &mut Collector<'_>,
) {
    if workers == 0 {
        v.err(format!("{prefix}.workers"), "must be at least 1");
    }
    if lease_secs < 5 {
        v.err(format!("{prefix}.lease_secs"), "must be at least 5");
    }
    if retry.initial_ms == 0 || retry.max_ms < retry.initial_ms {
        v.err(
            format!("{prefix}.retry.max_ms"),
            "retry.initial_ms must be > 0 and retry.max_ms at least retry.initial_ms",
        );
    }
    if retry.max_attempts == 0 {
        v.err(format!("{prefix}.retry.max_attempts"), "must be at least 1");
    }
}

fn validate_dvcqg(d: &super::DvcqgCfg, v: &mut Collector<'_>) {
    if !d.enabled {
        return;
    }
    check_queue("adapters.dvcqg", d.workers, d.lease_secs, &d.retry, v);
    if d.timeout_ms < 100 {
        v.err("adapters.dvcqg.timeout_ms", "must be at least 100");
    }
    if !d.online_organ.is_empty() {
        if let Err(e) = OrganId::parse(&d.online_organ) {
            v.err("adapters.dvcqg.online_organ", e.to_string());
        }
    } else if d.online_poll_secs > 0 {
        v.err(
            "adapters.dvcqg.online_organ",
            "the organ the province asks for online dossiers as (madonvi) is needed when online_poll_secs > 0",
        );
    }
    if d.simulate {
        return;
    }
    if !(d.base_url.starts_with("https://") || d.base_url.starts_with("http://")) {
        v.err(
            "adapters.dvcqg.base_url",
            "must be the portal adapter's URL (https://…), or set simulate = true",
        );
    }
    if d.username.is_empty() {
        v.err("adapters.dvcqg.username", "must be set");
    }
    if let Err(e) = d.password.resolve() {
        v.err("adapters.dvcqg.password", e);
    }
}

fn validate_vnpost(d: &super::VnpostCfg, v: &mut Collector<'_>) {
    if !d.enabled {
        return;
    }
    check_queue("adapters.vnpost", d.workers, d.lease_secs, &d.retry, v);
    if d.timeout_ms < 100 {
        v.err("adapters.vnpost.timeout_ms", "must be at least 100");
    }
    if d.page_size == 0 || d.page_size > 1000 {
        v.err("adapters.vnpost.page_size", "must be 1–1000");
    }
    if d.delivered_codes.is_empty() {
        v.err(
            "adapters.vnpost.delivered_codes",
            "at least one carrier StatusCode must mean delivered (the public client uses \"4\")",
        );
    }
    if d.simulate {
        return;
    }
    for (key, url) in [
        ("token_url", &d.token_url),
        ("order_url", &d.order_url),
        ("tracking_url", &d.tracking_url),
        ("cancel_url", &d.cancel_url),
    ] {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            v.err(
                format!("adapters.vnpost.{key}"),
                "must be the NGSP URL from the VNPost profile (https://…), or set simulate = true",
            );
        }
    }
    if d.customer_code.is_empty() {
        v.err("adapters.vnpost.customer_code", "must be set");
    }
    for (key, s) in [("customer_key", &d.customer_key), ("secret_key", &d.secret_key)] {
        match s {
            None => v.err(format!("adapters.vnpost.{key}"), "must be set"),
            Some(s) => {
                if let Err(e) = s.resolve() {
                    v.err(format!("adapters.vnpost.{key}"), e);
                }
            }
        }
    }
    if d.agency_name.is_empty() || d.agency_address.is_empty() {
        v.err(
            "adapters.vnpost.agency_name",
            "the agency's name and address (sender of results) must be set",
        );
    }
    if d.agency_province <= 0 || d.agency_district <= 0 {
        v.err(
            "adapters.vnpost.agency_province",
            "the agency's VNPost postal codes (agency_province, agency_district) must be set",
        );
    }
}

fn validate_calendar(c: &Config, v: &mut Collector<'_>) {
    if let Err(errs) = crate::calendar::Settings::from_config(&c.calendar) {
        for e in errs {
            v.err(format!("calendar.{}", e.key), e.reason);
        }
    }
    let dir = &c.calendar.dir;
    if dir.exists() {
        if let Err(errs) = crate::calendar::year_file::load_dir(dir) {
            for e in errs.0 {
                v.err("calendar.dir", e.to_string());
            }
        }
    } else if v.loaded.origin("calendar.dir") != "built-in default" {
        // The default directory may be absent (every year then comes from the rules); a
        // directory named on purpose must exist.
        v.err(
            "calendar.dir",
            format!("directory {} does not exist", dir.display()),
        );
    }
}

fn validate_dossiers(c: &Config, v: &mut Collector<'_>) {
    let dir = &c.dossiers.dialects_dir;
    let (dialects, errors) = crate::dossiers::Dialects::read_dir(dir);
    let broken: HashSet<PathBuf> = errors.iter().map(|e| e.path.clone()).collect();
    for e in errors {
        v.err("dossiers.dialects_dir", e.to_string());
    }
    for (i, m) in c.members.iter().enumerate() {
        let Some(name) = &m.dialect else { continue };
        let file = dir.join(format!("{name}.toml"));
        if dialects.get(name).is_none() && !broken.contains(&file) {
            let mut known: Vec<&str> = dialects.names().collect();
            if known.is_empty() {
                known.push("none");
            }
            v.err(
                format!("members[{i}].dialect"),
                format!(
                    "no dialect file {} (found: {})",
                    file.display(),
                    known.join(", ")
                ),
            );
        }
    }
    if let Err(errs) = crate::dossiers::Procedures::from_config(&c.dossiers.procedures) {
        for (key, reason) in errs {
            v.err(format!("dossiers.procedures{key}"), reason);
        }
    }
    if let Err((key, reason)) = crate::dossiers::on_time::Rule::from_config(&c.dossiers.on_time) {
        v.err(format!("dossiers.on_time.{key}"), reason);
    }
}

fn validate_citizens(c: &Config, v: &mut Collector<'_>) {
    let p = &c.adapters.population;
    if let Some(url) = &p.base_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            v.err(
                "adapters.population.base_url",
                "must be an http:// or https:// URL",
            );
        }
    }
    if p.simulate && p.base_url.is_some() {
        v.err(
            "adapters.population.simulate",
            "simulate = true would ignore base_url: set simulate = false to call the real service",
        );
    }
    if p.secret.is_some() && p.secret_file.is_some() {
        v.err(
            "adapters.population.secret",
            "give `secret` or `secret_file`, not both",
        );
    }
    if let Some(src) = p.secret_source() {
        if let Err(e) = src.resolve() {
            v.err("adapters.population.secret", e);
        }
    } else if p.base_url.is_some() && !p.simulate {
        v.err(
            "adapters.population.secret",
            "required with base_url: { file = \"…\" } or { env = \"…\" } (or secret_file)",
        );
    }
    if let Some(k) = &p.api_key {
        if let Err(e) = k.resolve() {
            v.err("adapters.population.api_key", e);
        }
    }
    for (key, ms) in [
        ("adapters.population.timeout_ms", p.timeout_ms),
        (
            "adapters.population.connect_timeout_ms",
            p.connect_timeout_ms,
        ),
    ] {
        if ms == 0 || ms > 120_000 {
            v.err(key, "must be 1–120000 ms");
        }
    }
    if p.retries > 5 {
        v.err("adapters.population.retries", "at most 5");
    }
    let z = &c.citizens;
    let mut seen = HashSet::new();
    for (i, purpose) in z.purposes.iter().enumerate() {
        let key = format!("citizens.purposes[{i}]");
        if purpose.code.trim().is_empty() {
            v.err(format!("{key}.code"), "must not be empty");
        } else if !seen.insert(purpose.code.clone()) {
            v.err(
                format!("{key}.code"),
                format!("duplicate purpose {:?}", purpose.code),
            );
        }
        for f in &purpose.fields {
            if !crate::citizens::FIELDS.contains(&f.as_str()) {
                v.err(
                    format!("{key}.fields"),
                    format!(
                        "unknown field {f:?} (known: {})",
                        crate::citizens::FIELDS.join(", ")
                    ),
                );
            }
        }
    }
    let codes = z
        .province_codes
        .iter()
        .flatten()
        .chain(&z.extra_province_codes);
    for code in codes {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            v.err(
                "citizens.province_codes",
                format!("{code:?} is not a 3-digit province code"),
            );
        }
    }
    check_rate("citizens.member_rate_limit", z.member_rate_limit, v);
    check_rate("citizens.officer_rate_limit", z.officer_rate_limit, v);
    if z.cache.ttl_secs == 0 || z.cache.ttl_secs > 600 {
        v.err("citizens.cache.ttl_secs", "must be 1–600");
    }
    if z.cache.max_entries == 0 || z.cache.max_entries > 100_000 {
        v.err("citizens.cache.max_entries", "must be 1–100000");
    }
    if let Some(k) = &z.audit_key {
        match k.resolve() {
            Ok(s) if s.expose().len() < 32 => {
                v.err("citizens.audit_key", "must be at least 32 bytes")
            }
            Ok(_) => {}
            Err(e) => v.err("citizens.audit_key", e),
        }
    }
}

fn check_rate(key: &str, r: super::RateLimit, v: &mut Collector<'_>) {
    if r.per_minute == 0 {
        v.err(format!("{key}.per_minute"), "must be at least 1");
    }
    if r.burst == 0 {
        v.err(format!("{key}.burst"), "must be at least 1");
    }
}

fn validate_member(
    i: usize,
    m: &MemberCfg,
    v: &mut Collector<'_>,
    ids: &mut HashSet<String>,
    client_ids: &mut HashSet<String>,
    bindings: &mut HashSet<String>,
) {
    let at = |field: &str| format!("members[{i}].{field}");
    if m.id.is_empty()
        || !m
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        v.err(
            at("id"),
            format!(
                "{:?} must be non-empty lowercase letters, digits, '-' or '_'",
                m.id
            ),
        );
    } else if !ids.insert(m.id.clone()) {
        v.err(at("id"), format!("duplicate member id {:?}", m.id));
    }
    if !matches!(m.kind.as_str(), "agency" | "onestop" | "platform" | "peer") {
        v.err(
            at("kind"),
            format!(
                "{:?} must be one of agency, onestop, platform, peer",
                m.kind
            ),
        );
    }
    for (j, o) in m.organs.iter().enumerate() {
        if let Err(e) = OrganId::parse(o) {
            v.err(format!("members[{i}].organs[{j}]"), e.to_string());
        }
    }
    for (j, s) in m.services.iter().enumerate() {
        if let Err(e) = s.parse::<Service>() {
            v.err(format!("members[{i}].services[{j}]"), e.to_string());
        }
    }
    match (&m.cert_fingerprint, &m.cert_subject) {
        (Some(_), Some(_)) => v.err(
            at("cert_fingerprint"),
            "give cert_fingerprint or cert_subject, not both",
        ),
        (None, None) if m.oauth.is_none() => v.err(
            at("cert_subject"),
            "member has no way to authenticate: set cert_fingerprint, cert_subject or oauth",
        ),
        _ => {}
    }
    if let Some(fp) = &m.cert_fingerprint {
        match Fingerprint::parse(fp) {
            Ok(f) => {
                if !bindings.insert(CertBinding::Fingerprint(f).key()) {
                    v.err(
                        at("cert_fingerprint"),
                        "another member is bound to the same certificate",
                    );
                }
            }
            Err(e) => v.err(at("cert_fingerprint"), e),
        }
    }
    if let Some(subj) = &m.cert_subject {
        match CertBinding::subject(subj) {
            Ok(b) => {
                if !bindings.insert(b.key()) {
                    v.err(
                        at("cert_subject"),
                        "another member is bound to the same subject",
                    );
                }
            }
            Err(e) => v.err(at("cert_subject"), e),
        }
    }
    if let Some(o) = &m.oauth {
        if o.client_id.is_empty() {
            v.err(at("oauth.client_id"), "must not be empty");
        } else if !client_ids.insert(o.client_id.clone()) {
            v.err(
                at("oauth.client_id"),
                format!("duplicate client id {:?}", o.client_id),
            );
        }
        match o.client_secret.resolve() {
            Ok(s) if s.expose().len() < 16 => {
                v.err(at("oauth.client_secret"), "must be at least 16 bytes")
            }
            Ok(_) => {}
            Err(e) => v.err(at("oauth.client_secret"), e),
        }
    }
    if let Some(r) = m.rate_limit {
        check_rate(&at("rate_limit"), r, v);
    }
    match (m.delivery.as_str(), &m.endpoint) {
        ("" | "pull", _) => {}
        ("push", Some(u)) if u.starts_with("https://") => {}
        ("push", _) => v.err(
            at("endpoint"),
            "a push member needs endpoint = \"https://…\"",
        ),
        (other, _) => v.err(
            at("delivery"),
            format!("{other:?} must be \"pull\" or \"push\""),
        ),
    }
}
