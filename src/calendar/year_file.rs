//! Year files: `DIR/YYYY.toml`, one per year the government has decreed, authoritative for
//! their year. Plain on purpose — operators edit them every year:
//!
//! ```toml
//! source = "Thông báo … của Bộ Nội vụ"   # the legal source (optional, shown by `calendar year`)
//!
//! [[day]]
//! date = 2026-01-02        # or "2026-01-02"
//! kind = "off"             # "off" | "work"
//! reason = "nghỉ hoán đổi, làm bù thứ Bảy 10/01"
//! ```
//!
//! A file lists every exception to the weekly rest days for its year — holidays (also those on
//! a rest day, for the record), compensatory and bridge days off, and swapped working
//! Saturdays. Days it does not list follow the weekly pattern; the rules are not consulted.

use super::lunar;
use super::year::{Day, DayKind};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// One approved year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YearFile {
    pub year: i32,
    pub path: PathBuf,
    /// The legal source the file names.
    pub source: Option<String>,
    pub days: Vec<Day>,
}

#[derive(Debug, thiserror::Error)]
pub enum YearFileError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error("{}: line {line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: [[day]] #{index} ({date}): {reason}", path.display())]
    Day {
        path: PathBuf,
        /// 1-based position of the `[[day]]` table in the file.
        index: usize,
        date: String,
        reason: String,
    },
}

/// Every problem found in a directory of year files.
#[derive(Debug)]
pub struct YearFileErrors(pub Vec<YearFileError>);

impl fmt::Display for YearFileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for YearFileErrors {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    year: Option<i32>,
    source: Option<String>,
    #[serde(default)]
    day: Vec<RawDay>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDay {
    date: RawDate,
    kind: DayKind,
    reason: String,
}

/// `date = 2026-01-01` (a TOML date) or `date = "2026-01-01"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawDate {
    Literal(toml::value::Datetime),
    Text(String),
    Other(toml::Value),
}

impl RawDate {
    fn date(&self) -> Option<NaiveDate> {
        match self {
            RawDate::Text(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok(),
            RawDate::Literal(dt) if dt.time.is_none() && dt.offset.is_none() => {
                let d = dt.date?;
                NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
            }
            _ => None,
        }
    }

    fn shown(&self) -> String {
        match self {
            RawDate::Literal(dt) => dt.to_string(),
            RawDate::Text(s) => s.clone(),
            RawDate::Other(v) => v.to_string(),
        }
    }
}

/// Parse the text of the year file for `year` found at `path`.
pub fn parse(path: &Path, year: i32, text: &str) -> Result<YearFile, Vec<YearFileError>> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        vec![YearFileError::Syntax {
            path: path.to_owned(),
            line,
            message: e.message().to_owned(),
        }]
    })?;
    let mut errors = Vec::new();
    if let Some(y) = raw.year.filter(|&y| y != year) {
        errors.push(YearFileError::File {
            path: path.to_owned(),
            reason: format!("year = {y}, but the file is named for {year}"),
        });
    }
    let mut seen = BTreeSet::new();
    let mut days = Vec::with_capacity(raw.day.len());
    for (i, d) in raw.day.into_iter().enumerate() {
        let shown = d.date.shown();
        let mut bad = |reason: String| {
            errors.push(YearFileError::Day {
                path: path.to_owned(),
                index: i + 1,
                date: shown.clone(),
                reason,
            })
        };
        let Some(date) = d.date.date() else {
            bad("date must be a calendar date YYYY-MM-DD, e.g. 2026-02-16".into());
            continue;
        };
        if date.year() != year {
            bad(format!("the date is not in {year}"));
        } else if !seen.insert(date) {
            bad("this date is listed twice".into());
        } else if d.reason.trim().is_empty() {
            bad("reason must say why, e.g. \"Tết Nguyên đán\" or \"làm bù cho 02/01\"".into());
        } else {
            days.push(Day {
                date,
                kind: d.kind,
                reason: d.reason.trim().to_owned(),
            });
        }
    }
    if errors.is_empty() {
        days.sort_by_key(|d| d.date);
        Ok(YearFile {
            year,
            path: path.to_owned(),
            source: raw.source.filter(|s| !s.trim().is_empty()),
            days,
        })
    } else {
        Err(errors)
    }
}

/// The year a file name stands for: `YYYY.toml` within the calendar's years.
fn year_of(path: &Path) -> Option<Result<i32, String>> {
    if path.extension().and_then(|e| e.to_str()) != Some("toml") {
        return None;
    }
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let year = stem
        .parse::<i32>()
        .ok()
        .filter(|_| stem.len() == 4 && stem.bytes().all(|b| b.is_ascii_digit()));
    Some(match year {
        Some(y) if lunar::YEARS.contains(&y) => Ok(y),
        Some(y) => Err(format!(
            "year {y} is outside the years the calendar covers ({}–{})",
            lunar::YEARS.start(),
            lunar::YEARS.end()
        )),
        None => Err("a year file is named YYYY.toml, e.g. 2026.toml".into()),
    })
}

/// Every year file in `dir` (none if `dir` does not exist). Other files than `*.toml` are
/// ignored; a `.toml` not named `YYYY.toml` is an error (it would otherwise be ignored
/// silently).
pub fn load_dir(dir: &Path) -> Result<BTreeMap<i32, YearFile>, YearFileErrors> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(YearFileErrors(vec![YearFileError::Read {
                path: dir.to_owned(),
                source,
            }]))
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut files = BTreeMap::new();
    let mut errors = Vec::new();
    for path in paths {
        let year = match year_of(&path) {
            None => continue,
            Some(Err(reason)) => {
                errors.push(YearFileError::File { path, reason });
                continue;
            }
            Some(Ok(y)) => y,
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(source) => {
                errors.push(YearFileError::Read { path, source });
                continue;
            }
        };
        match parse(&path, year, &text) {
            Ok(f) => {
                files.insert(year, f);
            }
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(YearFileErrors(errors))
    }
}

/// A year file's text for `days`: what `lienthong calendar year YYYY --toml` prints for an
/// operator to check against the decree, edit and save as `YYYY.toml`.
pub fn render(year: i32, source: Option<&str>, days: &[Day]) -> String {
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut out = format!(
        "# Ngày nghỉ và ngày làm bù năm {year}: mọi ngoại lệ so với nghỉ hằng tuần (thứ Bảy, Chủ nhật).\n\
         # kind = \"off\": ngày nghỉ (lễ, Tết, nghỉ bù, nghỉ hoán đổi); kind = \"work\": ngày nghỉ hằng tuần phải đi làm (làm bù).\n"
    );
    out.push_str(&format!(
        "source = {}\n",
        quote(source.unwrap_or("ĐIỀN số, ngày của văn bản công bố lịch nghỉ năm nay"))
    ));
    for d in days {
        out.push_str(&format!(
            "\n[[day]]\ndate = {}\nkind = {}\nreason = {}\n",
            d.date.format("%Y-%m-%d"),
            quote(d.kind.as_str()),
            quote(&d.reason)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::ymd;

    #[test]
    fn plain_file_parses_with_either_date_form() {
        let f = parse(
            Path::new("2026.toml"),
            2026,
            r#"
source = "Thông báo của Bộ Nội vụ"
[[day]]
date = 2026-01-10
kind = "work"
reason = "làm bù cho thứ Sáu 02/01"
[[day]]
date = "2026-01-01"
kind = "off"
reason = "Tết Dương lịch"
"#,
        )
        .unwrap();
        assert_eq!(f.source.as_deref(), Some("Thông báo của Bộ Nội vụ"));
        assert_eq!(f.days.len(), 2);
        assert_eq!(f.days[0].date, ymd(2026, 1, 1)); // sorted
        assert_eq!(f.days[1].kind, DayKind::Work);
    }

    #[test]
    fn mistakes_name_the_file_line_and_entry() {
        let p = Path::new("cal/2026.toml");
        let typo = parse(
            p,
            2026,
            "[[day]]\ndate = 2026-01-01\nkind = \"off\"\nresaon = \"x\"\n",
        )
        .unwrap_err();
        let msg = typo[0].to_string();
        assert!(msg.starts_with("cal/2026.toml: line "), "{msg}");
        assert!(msg.contains("resaon"), "{msg}");
        let kind = parse(
            p,
            2026,
            "[[day]]\ndate = 2026-01-01\nkind = \"holiday\"\nreason = \"x\"\n",
        )
        .unwrap_err();
        assert!(kind[0].to_string().contains("off"), "{}", kind[0]);
        let many = parse(
            p,
            2026,
            r#"
year = 2025
[[day]]
date = 2025-12-31
kind = "off"
reason = "x"
[[day]]
date = "2026-02-30"
kind = "off"
reason = "x"
[[day]]
date = 2026-02-16
kind = "off"
reason = "Tết"
[[day]]
date = 2026-02-16
kind = "off"
reason = "Tết"
[[day]]
date = 2026-02-17
kind = "off"
reason = "  "
"#,
        )
        .unwrap_err();
        let msgs: Vec<String> = many.iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 5, "{msgs:#?}");
        assert!(msgs[0].contains("year = 2025, but the file is named for 2026"));
        assert!(
            msgs[1].contains("[[day]] #1 (2025-12-31): the date is not in 2026"),
            "{}",
            msgs[1]
        );
        assert!(msgs[2].contains("[[day]] #2 (2026-02-30): date must be"));
        assert!(msgs[3].contains("[[day]] #4 (2026-02-16): this date is listed twice"));
        assert!(msgs[4].contains("[[day]] #5 (2026-02-17): reason must say why"));
    }

    #[test]
    fn directory_loading() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_dir(&dir.path().join("absent")).unwrap().is_empty());
        std::fs::write(dir.path().join("README.md"), "ignored").unwrap();
        std::fs::write(
            dir.path().join("2027.toml"),
            "[[day]]\ndate = 2027-01-01\nkind = \"off\"\nreason = \"Tết Dương lịch\"\n",
        )
        .unwrap();
        let files = load_dir(dir.path()).unwrap();
        assert_eq!(files.keys().copied().collect::<Vec<_>>(), [2027]);
        std::fs::write(dir.path().join("lich-2028.toml"), "").unwrap();
        std::fs::write(dir.path().join("2101.toml"), "").unwrap();
        let errs = load_dir(dir.path()).unwrap_err().to_string();
        assert!(errs.contains("2101.toml: year 2101 is outside"), "{errs}");
        assert!(
            errs.contains("lich-2028.toml: a year file is named YYYY.toml"),
            "{errs}"
        );
    }

    #[test]
    fn rendered_file_reads_back() {
        let days = vec![
            Day {
                date: ymd(2027, 1, 1),
                kind: DayKind::Off,
                reason: "Tết Dương lịch".into(),
            },
            Day {
                date: ymd(2027, 1, 9),
                kind: DayKind::Work,
                reason: "làm bù \"thử\"".into(),
            },
        ];
        let text = render(2027, Some("Thông báo số …"), &days);
        let back = parse(Path::new("2027.toml"), 2027, &text).unwrap();
        assert_eq!(back.days, days);
        assert_eq!(back.source.as_deref(), Some("Thông báo số …"));
    }
}
