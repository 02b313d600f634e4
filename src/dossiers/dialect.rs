//! Vendor dialects: how one-stop-shop software of one vendor writes dossiers and status changes,
//! as a mapping file `DIR/<name>.toml` read at start. A new vendor is a new file; the core does
//! not change. The format (README "Dossier dialects" has the operator's version):
//!
//! ```toml
//! name = "opencps"                  # = the file name; members say dialect = "opencps"
//! description = "…"
//! empty_is_absent = true            # "" means "not given" (vendors that send every key)
//!
//! [values.status]                   # a named value table, reusable by several fields
//! "1" = 1
//!
//! [dossier]                         # the body of POST /v1/dossiers
//! ignore = ["TenLinhVuc"]           # wire fields accepted and dropped (a whole subtree)
//! [dossier.defaults]                # canonical values the vendor's body never carries
//! channel = "in_person"
//! [dossier.fields]                  # wire field → canonical field
//! MaHoSo = "code"
//! NgayTiepNhan = { to = "received_at", date = "yyyyMMddHHmmss" }          # zone = "+07:00"
//! TrangThaiHoSo = { to = "status", values = "status" }
//! LoaiDoiTuong = { to = "applicant.kind", values = { "1" = "individual" } }
//! "DanhSachLePhi[].Gia" = { to = "fees[].amount", type = "integer" }
//! "TaiLieuNop[].TepDinhKemId" = "components[].attachments[0].id"
//!
//! [event]                           # the body of POST /v1/dossiers/{code}/events
//! [event.fields]
//! TrangThai = { to = "status", values = "status" }
//! ```
//!
//! Paths: `.` enters an object, `[]` is any element of an array; the n-th `[]` of a wire path
//! gives the index of the n-th `[]` of its canonical path, and a canonical path may also fix an
//! index (`[0]`). Dates: `yyyy MM dd HH mm ss SSS` and literal characters, or `rfc3339`; read in
//! `zone` (default Vietnam time) and checked exactly (a value that does not print back the same
//! is refused). Any wire field not listed under `fields` or `ignore` is refused, naming it.

use super::canonical::{DOSSIER_FIELDS, EVENT_FIELDS};
use super::reject::{invalid, unknown, Rejection, Why};
use crate::calendar::instant;
use chrono::{FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which body a mapping reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// `POST /v1/dossiers`.
    Dossier,
    /// `POST /v1/dossiers/{code}/events`.
    Event,
}

impl Body {
    fn section(self) -> &'static str {
        match self {
            Body::Dossier => "dossier",
            Body::Event => "event",
        }
    }

    fn canonical_fields(self) -> &'static [&'static str] {
        match self {
            Body::Dossier => DOSSIER_FIELDS,
            Body::Event => EVENT_FIELDS,
        }
    }
}

/// A mistake in a dialect file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialectError {
    pub path: PathBuf,
    /// The key in the file (`dossier.fields.NgayTiepNhan`), empty for the whole file.
    pub key: String,
    pub reason: String,
}

impl fmt::Display for DialectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.path.display(), self.reason)
        } else {
            write!(f, "{}: {}: {}", self.path.display(), self.key, self.reason)
        }
    }
}

// ---- the file as written ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    empty_is_absent: bool,
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, toml::Value>>,
    dossier: SectionFile,
    event: SectionFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionFile {
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    defaults: BTreeMap<String, toml::Value>,
    fields: BTreeMap<String, SpecFile>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SpecFile {
    To(String),
    Full(FullSpec),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullSpec {
    to: String,
    date: Option<String>,
    zone: Option<String>,
    values: Option<ValuesFile>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ValuesFile {
    Named(String),
    Inline(BTreeMap<String, toml::Value>),
}

// ---- the mapping as used ----

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    /// `[]`: any element.
    Any,
    /// `[n]`: one element (canonical side only).
    At(usize),
}

fn parse_path(p: &str) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    for part in p.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() || name.contains(']') {
            return None;
        }
        segs.push(Seg::Key(name.to_owned()));
        while !rest.is_empty() {
            let close = rest.find(']')?;
            let inside = rest.get(1..close)?;
            segs.push(if inside.is_empty() {
                Seg::Any
            } else {
                Seg::At(inside.parse().ok()?)
            });
            rest = &rest[close + 1..];
            if !(rest.is_empty() || rest.starts_with('[')) {
                return None;
            }
        }
    }
    Some(segs)
}

/// The pattern of a path: every index written `[]`.
fn pattern(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Any | Seg::At(_) => s.push_str("[]"),
        }
    }
    s
}

/// A date format of a field.
#[derive(Clone, Debug)]
enum DateFormat {
    Rfc3339,
    /// As written in the file, its chrono form, whether it has a time, and its zone.
    Pattern {
        written: String,
        chrono: String,
        has_time: bool,
        zone: FixedOffset,
    },
}

impl DateFormat {
    fn new(written: &str, zone: Option<&str>) -> Result<DateFormat, String> {
        if written == "rfc3339" {
            return match zone {
                None => Ok(DateFormat::Rfc3339),
                Some(_) => Err("rfc3339 dates carry their own offset: remove zone".into()),
            };
        }
        let mut chrono = String::new();
        let mut rest = written;
        let mut seen = HashSet::new();
        'outer: while !rest.is_empty() {
            for (token, spec) in [
                ("yyyy", "%Y"),
                ("SSS", "%3f"),
                ("MM", "%m"),
                ("dd", "%d"),
                ("HH", "%H"),
                ("mm", "%M"),
                ("ss", "%S"),
            ] {
                if let Some(r) = rest.strip_prefix(token) {
                    if !seen.insert(token) {
                        return Err(format!("{token} appears twice in {written:?}"));
                    }
                    chrono.push_str(spec);
                    rest = r;
                    continue 'outer;
                }
            }
            let Some(c) = rest.chars().next() else { break };
            if c.is_ascii_alphabetic() && c != 'T' {
                return Err(format!(
                    "{written:?}: {c:?} is not a date token (use yyyy MM dd HH mm ss SSS, or rfc3339)"
                ));
            }
            if c == '%' {
                chrono.push('%');
            }
            chrono.push(c);
            rest = &rest[c.len_utf8()..];
        }
        for needed in ["yyyy", "MM", "dd"] {
            if !seen.contains(needed) {
                return Err(format!("{written:?} lacks {needed}"));
            }
        }
        let has_time = seen.contains("HH");
        if has_time != seen.contains("mm") || (seen.contains("ss") && !has_time) {
            return Err(format!(
                "{written:?}: a time needs HH and mm (ss, SSS optional)"
            ));
        }
        let zone = match zone {
            None => instant::VIETNAM,
            Some(z) => parse_zone(z).ok_or_else(|| format!("zone {z:?} is not ±HH:MM"))?,
        };
        Ok(DateFormat::Pattern {
            written: written.to_owned(),
            chrono,
            has_time,
            zone,
        })
    }

    fn written(&self) -> &str {
        match self {
            DateFormat::Rfc3339 => "RFC 3339 (2026-03-02T09:15:00+07:00)",
            DateFormat::Pattern { written, .. } => written,
        }
    }

    /// The instant written `s`, as canonical RFC 3339 in Vietnam time; `None` unless `s` is
    /// exactly in format.
    fn read(&self, s: &str) -> Option<String> {
        let t = match self {
            DateFormat::Rfc3339 => instant::parse(s).ok()?,
            DateFormat::Pattern {
                chrono,
                has_time,
                zone,
                ..
            } => {
                let local = if *has_time {
                    NaiveDateTime::parse_from_str(s, chrono).ok()?
                } else {
                    NaiveDate::parse_from_str(s, chrono)
                        .ok()?
                        .and_hms_opt(0, 0, 0)?
                };
                if local.format(chrono).to_string() != s {
                    return None;
                }
                local.and_local_timezone(*zone).single()?
            }
        };
        Some(
            t.with_timezone(&instant::VIETNAM)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        )
    }
}

fn parse_zone(z: &str) -> Option<FixedOffset> {
    let b = z.as_bytes();
    if b.len() != 6 || b[3] != b':' {
        return None;
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h: i32 = z.get(1..3)?.parse().ok()?;
    let m: i32 = z.get(4..6)?.parse().ok()?;
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[derive(Clone, Debug)]
enum Convert {
    /// The wire value as it is.
    Copy,
    Date(DateFormat),
    /// Looked up (by its text) in a value table.
    Values(Arc<BTreeMap<String, Value>>),
    /// Text of digits to a number.
    Integer,
    /// Any scalar to its text.
    Text,
}

#[derive(Clone, Debug)]
struct FieldMap {
    wire: Vec<Seg>,
    to: Vec<Seg>,
    convert: Convert,
}

#[derive(Clone, Debug, Default)]
struct Mapping {
    /// By wire pattern.
    fields: HashMap<String, FieldMap>,
    ignore: HashSet<String>,
    /// Patterns that lead to a mapped or ignored field (objects and arrays worth entering).
    containers: HashSet<String>,
    defaults: Vec<(Vec<Seg>, Value)>,
}

/// One vendor's dialect.
#[derive(Clone, Debug)]
pub struct Dialect {
    pub name: String,
    pub description: String,
    empty_is_absent: bool,
    dossier: Mapping,
    event: Mapping,
}

fn to_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

impl Dialect {
    /// Read and check one dialect file; every mistake is reported.
    pub fn load(path: &Path) -> Result<Dialect, Vec<DialectError>> {
        let err = |key: &str, reason: String| DialectError {
            path: path.to_owned(),
            key: key.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| vec![err("", format!("cannot read: {e}"))])?;
        let file: File = toml::from_str(&text)
            .map_err(|e| vec![err("", e.to_string().trim_end().replace('\n', " "))])?;
        let mut errors = Vec::new();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if file.name != stem {
            errors.push(err(
                "name",
                format!("{:?} must equal the file name ({stem:?})", file.name),
            ));
        }
        let tables: BTreeMap<String, Arc<BTreeMap<String, Value>>> = file
            .values
            .iter()
            .map(|(k, t)| {
                let t = t.iter().map(|(w, c)| (w.clone(), to_json(c))).collect();
                (k.clone(), Arc::new(t))
            })
            .collect();
        let mut report = |body: Body, k: &str, r: String| {
            errors.push(err(&format!("{}.{k}", body.section()), r))
        };
        let dossier = Self::section(Body::Dossier, &file.dossier, &tables, &mut |k, r| {
            report(Body::Dossier, k, r)
        });
        let event = Self::section(Body::Event, &file.event, &tables, &mut |k, r| {
            report(Body::Event, k, r)
        });
        if errors.is_empty() {
            Ok(Dialect {
                name: file.name,
                description: file.description,
                empty_is_absent: file.empty_is_absent,
                dossier,
                event,
            })
        } else {
            Err(errors)
        }
    }

    fn section(
        body: Body,
        s: &SectionFile,
        tables: &BTreeMap<String, Arc<BTreeMap<String, Value>>>,
        err: &mut dyn FnMut(&str, String),
    ) -> Mapping {
        let mut m = Mapping::default();
        let canonical = body.canonical_fields();
        let note_containers = |m: &mut Mapping, segs: &[Seg]| {
            for i in 1..segs.len() {
                m.containers.insert(pattern(&segs[..i]));
            }
        };
        for (wire, spec) in &s.fields {
            let key = format!("fields.{wire:?}");
            let Some(wire_segs) =
                parse_path(wire).filter(|p| !p.iter().any(|s| matches!(s, Seg::At(_))))
            else {
                err(&key, "not a wire path such as A, A.B or A[].B".into());
                continue;
            };
            let (to, convert) = match spec {
                SpecFile::To(to) => (to, Ok(Convert::Copy)),
                SpecFile::Full(f) => (&f.to, Self::convert(f, tables)),
            };
            let convert = match convert {
                Ok(c) => c,
                Err(e) => {
                    err(&key, e);
                    continue;
                }
            };
            let Some(to_segs) = parse_path(to) else {
                err(&key, format!("{to:?} is not a canonical path"));
                continue;
            };
            if !canonical.contains(&pattern(&to_segs).as_str()) {
                err(
                    &key,
                    format!(
                        "{to:?} is not a canonical {} field (known: {})",
                        body.section(),
                        canonical.join(", ")
                    ),
                );
                continue;
            }
            let count = |p: &[Seg]| p.iter().filter(|s| **s == Seg::Any).count();
            if count(&wire_segs) != count(&to_segs) {
                err(
                    &key,
                    format!(
                        "{wire:?} and {to:?} must have as many [] each (fix the others with [0])"
                    ),
                );
                continue;
            }
            note_containers(&mut m, &wire_segs);
            m.fields.insert(
                pattern(&wire_segs),
                FieldMap {
                    wire: wire_segs,
                    to: to_segs,
                    convert,
                },
            );
        }
        for w in &s.ignore {
            match parse_path(w) {
                Some(segs) if !segs.iter().any(|s| matches!(s, Seg::At(_))) => {
                    note_containers(&mut m, &segs);
                    m.ignore.insert(pattern(&segs));
                }
                _ => err("ignore", format!("{w:?} is not a wire path")),
            }
        }
        for (k, v) in &s.defaults {
            match parse_path(k) {
                Some(segs)
                    if segs.iter().all(|s| matches!(s, Seg::Key(_)))
                        && canonical.contains(&pattern(&segs).as_str()) =>
                {
                    m.defaults.push((segs, to_json(v)))
                }
                _ => err(
                    &format!("defaults.{k}"),
                    "not a canonical field outside arrays".into(),
                ),
            }
        }
        m
    }

    fn convert(
        f: &FullSpec,
        tables: &BTreeMap<String, Arc<BTreeMap<String, Value>>>,
    ) -> Result<Convert, String> {
        match (&f.date, &f.values, f.kind.as_deref()) {
            (Some(d), None, None) => DateFormat::new(d, f.zone.as_deref()).map(Convert::Date),
            (None, Some(ValuesFile::Named(n)), None) => tables
                .get(n)
                .map(|t| Convert::Values(t.clone()))
                .ok_or_else(|| format!("no value table [values.{n}]")),
            (None, Some(ValuesFile::Inline(t)), None) => Ok(Convert::Values(Arc::new(
                t.iter().map(|(w, c)| (w.clone(), to_json(c))).collect(),
            ))),
            (None, None, Some("integer")) => Ok(Convert::Integer),
            (None, None, Some("string")) => Ok(Convert::Text),
            (None, None, Some(other)) => Err(format!("type {other:?} must be integer or string")),
            (None, None, None) if f.zone.is_none() => Ok(Convert::Copy),
            (None, None, None) => Err("zone belongs with date".into()),
            _ => Err("give at most one of date, values, type".into()),
        }
    }

    fn mapping(&self, body: Body) -> &Mapping {
        match body {
            Body::Dossier => &self.dossier,
            Body::Event => &self.event,
        }
    }

    /// Translate a wire body to the canonical JSON, or refuse naming the wire field.
    pub fn translate(&self, body: Body, wire: &Value) -> Result<Value, Rejection> {
        let Value::Object(top) = wire else {
            return Err(Rejection::new(
                "",
                Why::InvalidJson("cần một đối tượng JSON {…}".into()),
            ));
        };
        let m = self.mapping(body);
        let mut out = Value::Object(Map::new());
        let mut walk = Walk {
            dialect: self,
            m,
            out: &mut out,
            indices: Vec::new(),
        };
        for (k, v) in top {
            walk.visit(v, k.clone(), k.clone())?;
        }
        for (segs, v) in &m.defaults {
            if let Some(slot) = slot(&mut out, segs, &[]) {
                if slot.is_null() {
                    *slot = v.clone();
                }
            }
        }
        Ok(out)
    }

    /// The wire name of a canonical field (concrete path), for refusals found after
    /// translation: `received_at` → `NgayTiepNhan`, `fees[1].amount` → `DanhSachLePhi[1].Gia`.
    pub fn wire_field(&self, body: Body, canonical: &str) -> Option<String> {
        let path = parse_path(canonical)?;
        let m = self.mapping(body);
        let mut best: Option<(&FieldMap, Vec<usize>)> = None;
        for f in m.fields.values() {
            if let Some(found) = capture(&f.to, &path) {
                // Deterministic choice when several wire fields feed one canonical field.
                if best
                    .as_ref()
                    .is_none_or(|(b, _)| pattern(&f.wire) < pattern(&b.wire))
                {
                    best = Some((f, found));
                }
            }
        }
        let (f, found) = best?;
        let mut found = found.into_iter();
        let mut out = String::new();
        for seg in &f.wire {
            match seg {
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Any => out.push_str(&format!("[{}]", found.next()?)),
                Seg::At(n) => out.push_str(&format!("[{n}]")),
            }
        }
        Some(out)
    }
}

impl Dialect {
    /// The canonical JSON written back in this dialect (the opposite of [`Dialect::translate`]):
    /// every mapped canonical field that has a value, converted back (dates in the field's
    /// format and zone, table values to their first wire spelling, numbers as text). Canonical
    /// fields the dialect does not map are left out.
    pub fn render(&self, body: Body, canonical: &Value) -> Value {
        let m = self.mapping(body);
        let mut fields: Vec<&FieldMap> = m.fields.values().collect();
        fields.sort_by_key(|f| pattern(&f.wire));
        let mut out = Value::Object(Map::new());
        for f in fields {
            let mut found = Vec::new();
            instances(canonical, &f.to, &mut Vec::new(), &mut found);
            for (indices, v) in found {
                let Some(w) = f.convert.back(v) else { continue };
                if let Some(slot) = slot(&mut out, &f.wire, &indices) {
                    if slot.is_null() {
                        *slot = w;
                    }
                }
            }
        }
        out
    }
}

/// Every non-null value of `v` at `segs`, with the indices its `[]`s took.
fn instances<'v>(
    v: &'v Value,
    segs: &[Seg],
    indices: &mut Vec<usize>,
    out: &mut Vec<(Vec<usize>, &'v Value)>,
) {
    let Some((first, rest)) = segs.split_first() else {
        if !v.is_null() {
            out.push((indices.clone(), v));
        }
        return;
    };
    match first {
        Seg::Key(k) => {
            if let Some(child) = v.get(k) {
                instances(child, rest, indices, out);
            }
        }
        Seg::At(n) => {
            if let Some(child) = v.get(*n) {
                instances(child, rest, indices, out);
            }
        }
        Seg::Any => {
            for (i, child) in v.as_array().into_iter().flatten().enumerate() {
                indices.push(i);
                instances(child, rest, indices, out);
                indices.pop();
            }
        }
    }
}

impl Convert {
    /// The wire value of canonical `v`; `None` when it has none (not in the value table).
    fn back(&self, v: &Value) -> Option<Value> {
        let text = || match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match self {
            Convert::Copy => Some(v.clone()),
            Convert::Text | Convert::Integer => Some(Value::String(text())),
            Convert::Values(t) => t
                .iter()
                .find(|(_, c)| *c == v)
                .map(|(w, _)| Value::String(w.clone())),
            Convert::Date(d) => {
                let t = instant::parse(v.as_str()?).ok()?;
                Some(Value::String(d.write(&t)))
            }
        }
    }
}

impl DateFormat {
    /// `t` written in this format (and zone).
    fn write(&self, t: &chrono::DateTime<FixedOffset>) -> String {
        match self {
            DateFormat::Rfc3339 => t
                .with_timezone(&instant::VIETNAM)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            DateFormat::Pattern { chrono, zone, .. } => {
                t.with_timezone(zone).format(chrono).to_string()
            }
        }
    }
}

/// Whether concrete `path` is an instance of `pat`; the indices the `[]`s stand for.
fn capture(pat: &[Seg], path: &[Seg]) -> Option<Vec<usize>> {
    if pat.len() != path.len() {
        return None;
    }
    let mut found = Vec::new();
    for (p, c) in pat.iter().zip(path) {
        match (p, c) {
            (Seg::Key(a), Seg::Key(b)) if a == b => {}
            (Seg::Any, Seg::At(n)) => found.push(*n),
            (Seg::At(a), Seg::At(b)) if a == b => {}
            _ => return None,
        }
    }
    Some(found)
}

/// The slot at `segs` in `root`, created as needed; `[]` takes the next of `indices`.
fn slot<'v>(root: &'v mut Value, segs: &[Seg], indices: &[usize]) -> Option<&'v mut Value> {
    let mut cur = root;
    let mut indices = indices.iter();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if cur.is_null() {
                    *cur = Value::Object(Map::new());
                }
                cur = cur.as_object_mut()?.entry(k.clone()).or_insert(Value::Null);
            }
            Seg::Any | Seg::At(_) => {
                let i = match seg {
                    Seg::At(n) => *n,
                    _ => *indices.next()?,
                };
                if cur.is_null() {
                    *cur = Value::Array(Vec::new());
                }
                let arr = cur.as_array_mut()?;
                if arr.len() <= i {
                    arr.resize(i + 1, Value::Null);
                }
                cur = &mut arr[i];
            }
        }
    }
    Some(cur)
}

struct Walk<'a> {
    dialect: &'a Dialect,
    m: &'a Mapping,
    out: &'a mut Value,
    indices: Vec<usize>,
}

impl Walk<'_> {
    /// `v` at wire pattern `pat` (concrete path `at`).
    fn visit(&mut self, v: &Value, pat: String, at: String) -> Result<(), Rejection> {
        if self.m.ignore.contains(&pat) {
            return Ok(());
        }
        if let Some(f) = self.m.fields.get(&pat) {
            return self.leaf(f, v, at);
        }
        if !self.m.containers.contains(&pat) {
            return Err(unknown(at));
        }
        match v {
            Value::Null => Ok(()),
            Value::Object(o) => {
                for (k, child) in o {
                    self.visit(child, format!("{pat}.{k}"), format!("{at}.{k}"))?;
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    self.indices.push(i);
                    let r = self.visit(child, format!("{pat}[]"), format!("{at}[{i}]"));
                    self.indices.pop();
                    r?;
                }
                Ok(())
            }
            _ => Err(invalid(at, "phải là một đối tượng {…} hoặc mảng […]")),
        }
    }

    fn leaf(&mut self, f: &FieldMap, v: &Value, at: String) -> Result<(), Rejection> {
        let text = match v {
            Value::Null => return Ok(()),
            Value::String(s) if s.is_empty() && self.dialect.empty_is_absent => return Ok(()),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Object(_) | Value::Array(_) => {
                return Err(invalid(at, "phải là một giá trị đơn (chuỗi, số)"))
            }
        };
        let value = match &f.convert {
            Convert::Copy => v.clone(),
            Convert::Text => Value::String(text),
            Convert::Integer => text
                .parse::<u64>()
                .map(Value::from)
                .map_err(|_| invalid(&at, format!("{text:?} phải là số nguyên không âm")))?,
            Convert::Date(d) => match v.as_str().and_then(|s| d.read(s)) {
                Some(t) => Value::String(t),
                None => {
                    return Err(Rejection::new(
                        at,
                        Why::InvalidDate {
                            value: text,
                            expected: d.written().to_owned(),
                        },
                    ))
                }
            },
            Convert::Values(t) => t.get(&text).cloned().ok_or_else(|| {
                let keys: Vec<&str> = t.keys().map(String::as_str).collect();
                invalid(
                    &at,
                    format!("{text:?} không thuộc các giá trị {}", keys.join(", ")),
                )
            })?,
        };
        let slot = slot(self.out, &f.to, &self.indices)
            .ok_or_else(|| invalid(&at, "không ghép được vào mô hình hồ sơ"))?;
        if !slot.is_null() && *slot != value {
            return Err(invalid(
                at,
                "mâu thuẫn với một trường khác cùng ý nghĩa trong nội dung gửi",
            ));
        }
        *slot = value;
        Ok(())
    }
}

/// The dialects of a directory, by name.
#[derive(Clone, Debug, Default)]
pub struct Dialects {
    by_name: BTreeMap<String, Arc<Dialect>>,
}

impl Dialects {
    /// Every `*.toml` of `dir`. A directory that does not exist holds no dialect.
    pub fn load_dir(dir: &Path) -> Result<Dialects, Vec<DialectError>> {
        match Self::read_dir(dir) {
            (d, errors) if errors.is_empty() => Ok(d),
            (_, errors) => Err(errors),
        }
    }

    /// The dialects of `dir` that load, and the mistakes of those that do not.
    pub fn read_dir(dir: &Path) -> (Dialects, Vec<DialectError>) {
        let mut d = Dialects::default();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (d, Vec::new()),
            Err(e) => {
                let err = DialectError {
                    path: dir.to_owned(),
                    key: String::new(),
                    reason: format!("cannot read: {e}"),
                };
                return (d, vec![err]);
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut errors = Vec::new();
        for p in paths {
            match Dialect::load(&p) {
                Ok(dialect) => {
                    d.by_name.insert(dialect.name.clone(), Arc::new(dialect));
                }
                Err(e) => errors.extend(e),
            }
        }
        (d, errors)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Dialect>> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shipped(name: &str) -> Arc<Dialect> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/dialects");
        let all = Dialects::load_dir(&dir).unwrap_or_else(|e| {
            panic!(
                "{}",
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        all.get(name).unwrap().clone()
    }

    #[test]
    fn paths_and_patterns() {
        let p = parse_path("a[].b[0].c").unwrap();
        assert_eq!(
            p,
            [
                Seg::Key("a".into()),
                Seg::Any,
                Seg::Key("b".into()),
                Seg::At(0),
                Seg::Key("c".into())
            ]
        );
        assert_eq!(pattern(&p), "a[].b[].c");
        for bad in ["", "a.", ".a", "a[", "a[x]", "a[]b", "[]"] {
            assert!(parse_path(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn date_formats_are_exact() {
        let f = DateFormat::new("yyyyMMddHHmmss", None).unwrap();
        assert_eq!(
            f.read("20260302091500").unwrap(),
            "2026-03-02T09:15:00+07:00"
        );
        for bad in [
            "2026030209150",
            "2026-03-02 09:15:00",
            "20260230091500",
            " 20260302091500",
        ] {
            assert!(f.read(bad).is_none(), "{bad}");
        }
        let f = DateFormat::new("yyyy-MM-ddTHH:mm:ss.SSS", None).unwrap();
        assert_eq!(
            f.read("2026-06-08T07:47:28.329").unwrap(),
            "2026-06-08T07:47:28.329+07:00"
        );
        assert!(f.read("2026-06-08T07:47:28").is_none());
        let f = DateFormat::new("dd/MM/yyyy", Some("+00:00")).unwrap();
        assert_eq!(f.read("02/03/2026").unwrap(), "2026-03-02T07:00:00+07:00");
        for bad in ["yyyyMMdd HHmmsx", "MMdd", "yyyyMMddHH", "yyyyyyyyMMdd"] {
            assert!(DateFormat::new(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn opencps_sample_translates_and_names_wire_fields() {
        let d = shipped("opencps");
        let sample: Value = serde_json::from_str(include_str!(
            "../../tests/data/dossiers/opencps-dossier.json"
        ))
        .unwrap();
        let c = d.translate(Body::Dossier, &sample).unwrap();
        assert_eq!(c["code"], "000.00.20.H99-20260302-0000123");
        assert_eq!(c["received_at"], "2026-03-02T09:15:00+07:00");
        assert_eq!(c["status"], 2);
        assert_eq!(c["fees"][0]["amount"], 50000);
        assert_eq!(c["components"][0]["attachments"][0]["deleted"], false);
        assert_eq!(c["result_delivery"], "post");
        assert!(c.get("due_at").is_none_or(Value::is_null), "{c}");
        assert_eq!(
            d.wire_field(Body::Dossier, "fees[0].amount").as_deref(),
            Some("DanhSachLePhi[0].Gia")
        );
        assert_eq!(
            d.wire_field(Body::Dossier, "components[3].attachments[0].id")
                .as_deref(),
            Some("TaiLieuNop[3].TepDinhKemId")
        );
        let mut bad = sample.clone();
        bad["TaiLieuNop"][0]["KichThuoc"] = json!(1);
        let r = d.translate(Body::Dossier, &bad).unwrap_err();
        assert_eq!(
            (r.code(), r.field.as_str()),
            ("unknown_field", "TaiLieuNop[0].KichThuoc")
        );
        let mut bad = sample;
        bad["NgayTiepNhan"] = json!("2026-03-02 09:15:00");
        let r = d.translate(Body::Dossier, &bad).unwrap_err();
        assert_eq!(
            (r.code(), r.field.as_str()),
            ("invalid_date", "NgayTiepNhan")
        );
    }

    #[test]
    fn rendering_is_the_inverse_of_translating() {
        for (name, body) in [
            (
                "opencps",
                serde_json::json!({
                    "MaHoSo": "000.00.12.H99-20260302-0000123", "MaTTHC": "1.009999",
                    "ChuHoSo": "Đỗ Thị Thử", "LoaiDoiTuong": "1", "NgayTiepNhan": "20260302091500",
                    "NgayHenTra": "20260316091500", "TrangThaiHoSo": "2", "HinhThuc": "1",
                    "SoDienThoai": "0900000003",
                    "TaiLieuNop": [{"TepDinhKemId": "a1", "TenTepDinhKem": "don.pdf", "IsDeleted": "False", "MaThanhPhanHoSo": "TP01"},
                                   {"TepDinhKemId": "a2", "IsDeleted": "True", "MaThanhPhanHoSo": "TP02"}],
                    "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "MaPhiLePhi": "LP01", "Gia": "50000", "HinhThucThu": "1"}],
                }),
            ),
            (
                "igate",
                serde_json::json!({
                    "MaHoSo": "G09.20-20260609-0092637", "MaTTHC": "1.009999", "ChuHoSo": "Lê Văn Mẫu",
                    "LoaiDoiTuong": "0", "MaDonViTiepNhan": "G09.20", "NgayNop": "2026-06-09 07:40:00",
                    "NgayTiepNhan": "2026-06-09 08:05:00", "NgayHenTra": "2026-06-23 08:05:00", "TrangThaiHoSo": "2",
                    "ThanhPhanHoSo": [{"MaThanhPhanHoSo": "TP01", "SoLuong": "1", "LoaiBan": "0",
                                       "GiayToDinhKem": [{"IdGiayTo": "g1", "TenGiayTo": "to-khai.pdf", "HashTepTin": "ab12"}]}],
                }),
            ),
        ] {
            let d = shipped(name);
            let canonical = d.translate(Body::Dossier, &body).unwrap();
            let wire = d.render(Body::Dossier, &canonical);
            assert_eq!(wire, body, "{name}: rendered back");
            assert_eq!(
                d.translate(Body::Dossier, &wire).unwrap(),
                canonical,
                "{name}"
            );
        }
    }

    #[test]
    fn igate_nested_body_translates() {
        let d = shipped("igate");
        let sample: Value =
            serde_json::from_str(include_str!("../../tests/data/dossiers/igate-dossier.json"))
                .unwrap();
        let c = d.translate(Body::Dossier, &sample).unwrap();
        assert_eq!(c["received_at"], "2026-02-10T09:00:00+07:00");
        assert_eq!(c["applicant"]["kind"], "individual");
        assert_eq!(c["applicant"]["name"], "Trần Văn Mẫu");
        assert_eq!(c["components"][0]["attachments"][1]["id"], "F-0002");
        assert_eq!(c["components"][0]["form"], "copy");
        let e = d
            .translate(
                Body::Event,
                &json!({"MaHoSo": "X", "TrangThai": 4, "ThoiDiemXuLy": "2026-02-11T10:30:00.000"}),
            )
            .unwrap();
        assert_eq!(
            e,
            json!({"code": "X", "status": 4, "at": "2026-02-11T10:30:00+07:00"})
        );
        let mut bad = sample;
        bad["ThongTinNguoiNop"]["ThongTinChiTiet"]["BietDanh"] = json!("x");
        let r = d.translate(Body::Dossier, &bad).unwrap_err();
        assert_eq!(r.field, "ThongTinNguoiNop.ThongTinChiTiet.BietDanh");
    }

    #[test]
    fn file_mistakes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.toml");
        std::fs::write(
            &p,
            r#"name = "w"
[dossier.fields]
A = "nowhere"
"B[]" = "code"
C = { to = "received_at", date = "yyyyMMddXX" }
D = { to = "status", values = "missing" }
[event.fields]
"#,
        )
        .unwrap();
        let errs = Dialect::load(&p).unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 5, "{text:#?}");
        for want in [
            "name",
            "fields.\"A\"",
            "fields.\"B[]\"",
            "fields.\"C\"",
            "fields.\"D\"",
        ] {
            assert!(text.iter().any(|t| t.contains(want)), "{want}: {text:#?}");
        }
    }
}
