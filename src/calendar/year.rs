//! What kind of day a date is: the weekly rest days, and a year's exceptions to them (holidays,
//! compensatory and bridge days off, swapped working Saturdays), each with its reason and
//! whether it came from an approved year file or from the rules.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An exception to the weekly pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayKind {
    /// Not worked: a holiday, a compensatory day (nghỉ bù) or a bridge day off.
    Off,
    /// Worked although a weekly rest day (làm bù).
    Work,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Off => "off",
            DayKind::Work => "work",
        }
    }
}

/// One exception: a date, its kind and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Day {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub reason: String,
}

/// The weekly rest days (public servants: Saturday and Sunday; configurable per agency group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weekend(u8);

impl Weekend {
    pub fn new(days: impl IntoIterator<Item = Weekday>) -> Weekend {
        Weekend(
            days.into_iter()
                .fold(0, |bits, d| bits | 1 << d.num_days_from_monday()),
        )
    }

    pub fn contains(self, d: Weekday) -> bool {
        self.0 & (1 << d.num_days_from_monday()) != 0
    }

    /// `sat`, `sunday`, … (English, any case).
    pub fn parse_day(s: &str) -> Option<Weekday> {
        s.trim().parse::<Weekday>().ok()
    }
}

impl Default for Weekend {
    fn default() -> Self {
        Weekend::new([Weekday::Sat, Weekday::Sun])
    }
}

/// Where a year's exceptions come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum YearSource {
    /// An approved year file (authoritative), with the legal source it names.
    File {
        path: PathBuf,
        legal_source: Option<String>,
    },
    /// Computed by rule: a proposal, so deadlines that depend on it are provisional.
    Rules,
}

/// One year's exceptions to the weekly pattern.
#[derive(Clone, Debug)]
pub struct YearPlan {
    pub year: i32,
    pub source: YearSource,
    days: BTreeMap<NaiveDate, Day>,
}

impl YearPlan {
    pub fn new(year: i32, source: YearSource, days: impl IntoIterator<Item = Day>) -> YearPlan {
        YearPlan {
            year,
            source,
            days: days.into_iter().map(|d| (d.date, d)).collect(),
        }
    }

    pub fn provisional(&self) -> bool {
        self.source == YearSource::Rules
    }

    /// The exceptions, in date order.
    pub fn days(&self) -> impl Iterator<Item = &Day> {
        self.days.values()
    }

    pub fn get(&self, date: NaiveDate) -> Option<&Day> {
        self.days.get(&date)
    }

    /// Whether `date` (in this year) is a working day.
    pub fn is_working_day(&self, date: NaiveDate, weekend: Weekend) -> bool {
        match self.days.get(&date) {
            Some(d) => d.kind == DayKind::Work,
            None => !weekend.contains(date.weekday()),
        }
    }
}

/// Short Vietnamese weekday name: T2 … T7, CN.
pub fn weekday_vi(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "T2",
        Weekday::Tue => "T3",
        Weekday::Wed => "T4",
        Weekday::Thu => "T5",
        Weekday::Fri => "T6",
        Weekday::Sat => "T7",
        Weekday::Sun => "CN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::ymd;

    #[test]
    fn exceptions_beat_the_weekly_pattern() {
        let plan = YearPlan::new(
            2026,
            YearSource::Rules,
            [
                Day {
                    date: ymd(2026, 1, 1),
                    kind: DayKind::Off,
                    reason: "Tết Dương lịch".into(),
                },
                Day {
                    date: ymd(2026, 1, 10),
                    kind: DayKind::Work,
                    reason: "làm bù".into(),
                },
            ],
        );
        let w = Weekend::default();
        assert!(!plan.is_working_day(ymd(2026, 1, 1), w)); // Thursday, holiday
        assert!(plan.is_working_day(ymd(2026, 1, 5), w)); // Monday
        assert!(!plan.is_working_day(ymd(2026, 1, 3), w)); // Saturday
        assert!(plan.is_working_day(ymd(2026, 1, 10), w)); // swapped Saturday
        assert!(plan.provisional());
    }

    #[test]
    fn weekend_days_parse() {
        assert_eq!(Weekend::parse_day("sat"), Some(Weekday::Sat));
        assert_eq!(Weekend::parse_day("Sunday"), Some(Weekday::Sun));
        assert_eq!(Weekend::parse_day("caturday"), None);
        let fri_only = Weekend::new([Weekday::Fri]);
        assert!(fri_only.contains(Weekday::Fri) && !fri_only.contains(Weekday::Sat));
    }
}
