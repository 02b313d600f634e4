//! The working calendar: which days are worked, and when a processing time that starts at a
//! receipt ends (`ngày hẹn trả`).
//!
//! - [`lunar`]: the Vietnamese lunisolar calendar at UTC+7;
//! - [`rules`]: statutory holidays by rule, for years without an approved file;
//! - [`year_file`]: `config/calendar/YYYY.toml`, authoritative for its year;
//! - [`year`]: a year's exceptions to the weekly rest days, and where they came from;
//! - [`hours`]: sessions, cut-off, rounding, and counting working time over working days;
//! - [`duration`], [`instant`]: `15d` / `4h`, and RFC 3339 in and out;
//! - [`settings`]: the `[calendar]` configuration, checked.
//!
//! [`Calendar::due`] is the one call other rooms need (dossiers: the due time of a dossier
//! received at `from` with a procedure's processing time).

pub mod duration;
pub mod hours;
pub mod instant;
pub mod lunar;
pub mod rules;
pub mod settings;
pub mod year;
pub mod year_file;

pub use duration::{DurationError, WorkDuration};
pub use hours::TimeOfDay;
pub use settings::Settings;
pub use year::{Day, DayKind, YearPlan, YearSource};
pub use year_file::{YearFileError, YearFileErrors};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use year_file::YearFile;

/// A date the calendar cannot answer for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{date} is outside the years the calendar covers ({}–{})", lunar::YEARS.start(), lunar::YEARS.end())]
pub struct OutOfRange {
    pub date: NaiveDate,
}

impl OutOfRange {
    /// Whether the receipt itself lies outside the calendar (else the count ran past its end).
    pub fn at_receipt(&self, received: &DateTime<FixedOffset>) -> bool {
        self.date.year() == received.with_timezone(&instant::VIETNAM).year()
    }
}

/// A computed due time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub received: DateTime<FixedOffset>,
    pub duration: WorkDuration,
    /// The cut-off applied, if any.
    pub cutoff: Option<TimeOfDay>,
    /// The first working moment counted.
    pub counting_from: DateTime<FixedOffset>,
    pub due: DateTime<FixedOffset>,
    /// Years the count crossed that have no approved file (their days came from the rules):
    /// the due time is provisional until they do.
    pub provisional_years: Vec<i32>,
}

impl Due {
    pub fn provisional(&self) -> bool {
        !self.provisional_years.is_empty()
    }

    /// The JSON the HTTP API answers and `calendar due --json` prints.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "received": instant::format(&self.received),
            "duration": self.duration.to_string(),
            "cutoff": self.cutoff.map(|c| c.to_string()),
            "counting_from": instant::format(&self.counting_from),
            "due": instant::format(&self.due),
            "provisional": self.provisional(),
            "provisional_years": self.provisional_years,
        })
    }
}

/// The calendar: settings, the approved year files, and each year's days as computed once.
pub struct Calendar {
    settings: Settings,
    files: BTreeMap<i32, YearFile>,
    plans: Mutex<HashMap<i32, Arc<YearPlan>>>,
}

impl Calendar {
    pub fn new(settings: Settings, files: BTreeMap<i32, YearFile>) -> Calendar {
        Calendar {
            settings,
            files,
            plans: Mutex::new(HashMap::new()),
        }
    }

    /// The calendar of `settings`, with the year files of `settings.dir`.
    pub fn load(settings: Settings) -> Result<Calendar, YearFileErrors> {
        let files = year_file::load_dir(&settings.dir)?;
        Ok(Calendar::new(settings, files))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Years with an approved file.
    pub fn file_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.files.keys().copied()
    }

    /// One year's exceptions to the weekly rest days: from its file, else by rule.
    pub fn year(&self, year: i32) -> Result<Arc<YearPlan>, OutOfRange> {
        let out_of_range = || OutOfRange {
            date: NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MAX),
        };
        if !lunar::YEARS.contains(&year) {
            return Err(out_of_range());
        }
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = plans.get(&year) {
            return Ok(p.clone());
        }
        let plan = Arc::new(match self.files.get(&year) {
            Some(f) => YearPlan::new(
                year,
                YearSource::File {
                    path: f.path.clone(),
                    legal_source: f.source.clone(),
                },
                f.days.iter().cloned(),
            ),
            None => {
                let s = &self.settings;
                let days = rules::year(year, &s.rules, s.weekend).map_err(|_| out_of_range())?;
                YearPlan::new(year, YearSource::Rules, days)
            }
        });
        plans.insert(year, plan.clone());
        Ok(plan)
    }

    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, OutOfRange> {
        let plan = self.year(date.year()).map_err(|_| OutOfRange { date })?;
        Ok(plan.is_working_day(date, self.settings.weekend))
    }

    /// The due time of `duration` counted from `received`, with the configured cut-off.
    pub fn due(
        &self,
        received: DateTime<FixedOffset>,
        duration: WorkDuration,
    ) -> Result<Due, OutOfRange> {
        self.due_with_cutoff(received, duration, self.settings.cutoff)
    }

    /// The same with a cut-off of the caller's (a procedure's own rule), or none.
    pub fn due_with_cutoff(
        &self,
        received: DateTime<FixedOffset>,
        duration: WorkDuration,
        cutoff: Option<TimeOfDay>,
    ) -> Result<Due, OutOfRange> {
        let local = received.with_timezone(&instant::VIETNAM).naive_local();
        let hours = &self.settings.hours;
        let mut provisional = BTreeSet::new();
        let span = hours.count(local, duration.seconds(hours.day_seconds()), cutoff, |d| {
            let plan = self.year(d.year()).map_err(|_| OutOfRange { date: d })?;
            if plan.provisional() {
                provisional.insert(d.year());
            }
            Ok(plan.is_working_day(d, self.settings.weekend))
        })?;
        let vn = |t: chrono::NaiveDateTime| {
            t.and_local_timezone(instant::VIETNAM)
                .single()
                .ok_or(OutOfRange { date: t.date() })
        };
        Ok(Due {
            received,
            duration,
            cutoff,
            counting_from: vn(span.start)?,
            due: vn(span.end)?,
            provisional_years: provisional.into_iter().collect(),
        })
    }
}

/// A date in tests.
#[cfg(test)]
pub(crate) fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CalendarCfg;

    /// The shipped 2026 file, read from the repository.
    fn shipped() -> Calendar {
        let settings = Settings {
            dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/calendar"),
            ..Settings::default()
        };
        Calendar::load(settings).unwrap()
    }

    fn due(cal: &Calendar, from: &str, d: &str) -> Due {
        cal.due(instant::parse(from).unwrap(), d.parse().unwrap())
            .unwrap()
    }

    #[test]
    fn fifteen_working_days_across_tet_2026() {
        // From Tue 10/2/2026 09:00, 15 working days = 120 working hours. 2026.toml: Tết off
        // Mon 16/2 – Fri 20/2 (with the weekends, 14–22/2). Counted: 10/2 7 h, 11–13/2 24 h
        // (31), 23–27/2 40 h (71), 2–6/3 40 h (111), 9/3 8 h (119), 10/3 08:00–09:00 (120).
        let cal = shipped();
        let d = due(&cal, "2026-02-10T09:00+07:00", "15d");
        assert_eq!(instant::format(&d.due), "2026-03-10T09:00:00+07:00");
        assert!(!d.provisional());
        for day in 14..=22 {
            assert!(!cal.is_working_day(ymd(2026, 2, day)).unwrap(), "{day}/2");
        }
        assert!(cal.is_working_day(ymd(2026, 2, 23)).unwrap());
    }

    #[test]
    fn swapped_saturday_is_worked_and_its_friday_is_not() {
        // 2026: Fri 2/1 off (hoán đổi), Sat 10/1 worked (làm bù).
        let cal = shipped();
        assert!(!cal.is_working_day(ymd(2026, 1, 2)).unwrap());
        assert!(cal.is_working_day(ymd(2026, 1, 10)).unwrap());
        assert!(!cal.is_working_day(ymd(2026, 1, 17)).unwrap()); // an ordinary Saturday
                                                                 // Received Fri 9/1 16:00, 2 working hours: 1 h on Friday, 1 h on the swapped Saturday.
        let d = due(&cal, "2026-01-09T16:00+07:00", "2h");
        assert_eq!(instant::format(&d.due), "2026-01-10T09:00:00+07:00");
        // Received Wed 31/12/2025 16:00 (2025 by rule: provisional), 1 day: 1/1 and 2/1 off.
        let d = due(&cal, "2025-12-31T16:00+07:00", "1d");
        assert_eq!(instant::format(&d.due), "2026-01-05T16:00:00+07:00");
        assert_eq!(d.provisional_years, [2025]);
    }

    #[test]
    fn weekend_holiday_gives_a_compensatory_day() {
        // 2026 (file) and 2037 (rules): Giỗ Tổ on Sunday 26/4/2026 → Monday 27/4 off; Giỗ Tổ
        // 2037 is Friday 24/4 (China: Saturday 25/4).
        let cal = shipped();
        assert!(!cal.is_working_day(ymd(2026, 4, 27)).unwrap());
        let d = due(&cal, "2026-04-24T17:00+07:00", "1h");
        assert_eq!(instant::format(&d.due), "2026-04-28T09:00:00+07:00");
        assert!(!cal.is_working_day(ymd(2037, 4, 24)).unwrap());
        assert!(cal.is_working_day(ymd(2037, 4, 27)).unwrap());
        // 2/9/2023 was a Saturday: 1–4/9 off (calendar.md, confirmed), by rule.
        for day in 1..=4 {
            assert!(
                !cal.is_working_day(ymd(2023, 9, day)).unwrap(),
                "{day}/9/2023"
            );
        }
        assert!(cal.is_working_day(ymd(2023, 9, 5)).unwrap());
    }

    #[test]
    fn cut_off_at_15_00() {
        let settings = Settings::from_config(&CalendarCfg {
            cutoff: Some("15:00".into()),
            ..CalendarCfg::default()
        })
        .unwrap();
        let cal = Calendar::new(settings, BTreeMap::new());
        // Monday 2/3/2026 14:59 → counted from 14:59; 15:30 → from Tuesday 08:00.
        let before = due(&cal, "2026-03-02T14:59+07:00", "1d");
        assert_eq!(
            instant::format(&before.counting_from),
            "2026-03-02T14:59:00+07:00"
        );
        assert_eq!(instant::format(&before.due), "2026-03-03T15:00:00+07:00");
        let after = due(&cal, "2026-03-02T15:30+07:00", "1d");
        assert_eq!(
            instant::format(&after.counting_from),
            "2026-03-03T08:00:00+07:00"
        );
        assert_eq!(instant::format(&after.due), "2026-03-03T17:00:00+07:00");
        // A caller's own rule beats the setting.
        let none = cal
            .due_with_cutoff(
                instant::parse("2026-03-02T15:30+07:00").unwrap(),
                WorkDuration::hours(1),
                None,
            )
            .unwrap();
        assert_eq!(instant::format(&none.due), "2026-03-02T16:30:00+07:00");
    }

    #[test]
    fn other_offsets_and_the_edge_of_the_range() {
        let cal = Calendar::new(Settings::default(), BTreeMap::new());
        // 02:00Z is 09:00 in Vietnam.
        let d = due(&cal, "2026-03-02T02:00:00Z", "1h");
        assert_eq!(instant::format(&d.due), "2026-03-02T10:00:00+07:00");
        assert_eq!(d.provisional_years, [2026]);
        let past = cal.due(
            instant::parse("1899-12-29T09:00").unwrap(),
            WorkDuration::days(1),
        );
        assert_eq!(
            past,
            Err(OutOfRange {
                date: ymd(1899, 12, 29)
            })
        );
        let far = cal.due(
            instant::parse("2100-12-30T09:00").unwrap(),
            WorkDuration::days(5),
        );
        assert_eq!(far.unwrap_err().date, ymd(2101, 1, 1));
    }
}
