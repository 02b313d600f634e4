//! Statutory holidays by rule (Labour Code 2019, Art. 111–112), for years without an approved
//! year file. The rules only propose: the Prime Minister fixes the concrete Tết and National
//! Day days each year, and swaps are decreed, so those parts are settings here and the year
//! files are authoritative.
//!
//! - 1/1 (Tết Dương lịch), 30/4, 1/5: one day each;
//! - Tết Nguyên đán: 5 days around 1/1 lunar, by default the eve and the first four days
//!   ([`Rules::tet_days_before`] = 1);
//! - Giỗ Tổ Hùng Vương: 10/3 lunar;
//! - Quốc khánh: 2/9 and one adjacent day ([`Adjacent`]);
//! - Art. 111(3): a holiday that falls on a weekly rest day (or on another holiday) gives a
//!   compensatory day off on the next working day.

use super::lunar::{self, LunarDate, LunarError};
use super::year::{Day, DayKind, Weekend};
use chrono::{Datelike, Days, NaiveDate};

/// Which day next to 2/9 is the second National Day holiday.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjacent {
    Before,
    After,
    /// The one that gives the longer run of days off, preferring a day that is not already a
    /// rest day, then 1/9: reproduces the decrees of 2021–2025.
    Auto,
}

impl Adjacent {
    pub fn parse(s: &str) -> Option<Adjacent> {
        match s {
            "before" => Some(Adjacent::Before),
            "after" => Some(Adjacent::After),
            "auto" => Some(Adjacent::Auto),
            _ => None,
        }
    }
}

/// The rule settings (the assumed parts of the holiday rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Tết days before 1/1 lunar (1: the eve and 1/1–4/1; 2: from 28 or 29 Chạp to 3/1).
    pub tet_days_before: u8,
    pub national_day_adjacent: Adjacent,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            tet_days_before: 1,
            national_day_adjacent: Adjacent::Auto,
        }
    }
}

/// Tết Nguyên đán lasts five days (Art. 112(1)(b)).
pub const TET_DAYS: u8 = 5;

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    // Only called with real calendar dates (1/1, 30/4, 1/5, 1–3/9).
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn day(date: NaiveDate, reason: impl Into<String>) -> Day {
    Day {
        date,
        kind: DayKind::Off,
        reason: reason.into(),
    }
}

/// The days off `year` gets by rule, compensatory days included, in date order.
pub fn year(year: i32, rules: &Rules, weekend: Weekend) -> Result<Vec<Day>, LunarError> {
    let mut holidays = vec![day(ymd(year, 1, 1), "Tết Dương lịch")];
    holidays.extend(tet(year, rules.tet_days_before)?);
    holidays.push(day(
        lunar::to_solar(LunarDate::new(year, 3, 10))?,
        "Giỗ Tổ Hùng Vương (10/3 âm lịch)",
    ));
    holidays.push(day(ymd(year, 4, 30), "Ngày Chiến thắng (30/4)"));
    holidays.push(day(ymd(year, 5, 1), "Ngày Quốc tế Lao động (1/5)"));
    holidays.extend(national_day(year, rules.national_day_adjacent, weekend));
    Ok(with_compensation(holidays, weekend))
}

/// The five Tết days, each named by its lunar date.
fn tet(year: i32, before: u8) -> Result<Vec<Day>, LunarError> {
    let first = lunar::new_year(year)?
        .checked_sub_days(Days::new(u64::from(before)))
        .ok_or(LunarError::OutOfRange(year))?;
    first
        .iter_days()
        .take(usize::from(TET_DAYS))
        .map(|d| {
            let l = lunar::from_solar(d)?;
            let name = if l.month == 12 {
                format!("Tết Nguyên đán ({} tháng Chạp)", l.day)
            } else {
                format!("Tết Nguyên đán (mùng {} tháng Giêng)", l.day)
            };
            Ok(day(d, name))
        })
        .collect()
}

fn national_day(year: i32, adjacent: Adjacent, weekend: Weekend) -> [Day; 2] {
    let main = day(ymd(year, 9, 2), "Quốc khánh (2/9)");
    let side = |d: u32| day(ymd(year, 9, d), format!("Quốc khánh (ngày liền kề, {d}/9)"));
    let (before, after) = (side(1), side(3));
    let chosen = match adjacent {
        Adjacent::Before => before,
        Adjacent::After => after,
        Adjacent::Auto => {
            // The longer run of days off; then a day that is not a rest day already; then 1/9.
            let score = |other: &Day| {
                let off = with_compensation(vec![main.clone(), other.clone()], weekend);
                (
                    run_length(main.date, &off, weekend),
                    !weekend.contains(other.date.weekday()),
                )
            };
            if score(&after) > score(&before) {
                after
            } else {
                before
            }
        }
    };
    [main, chosen]
}

/// Days in the run of non-working days around `date`.
fn run_length(date: NaiveDate, off: &[Day], weekend: Weekend) -> usize {
    let is_off = |d: &NaiveDate| weekend.contains(d.weekday()) || off.iter().any(|o| o.date == *d);
    let later = date.iter_days().take_while(is_off).count();
    let earlier = date.iter_days().rev().skip(1).take_while(is_off).count();
    later + earlier
}

/// Art. 111(3): each holiday on a weekly rest day, or on a date another holiday already holds,
/// adds a compensatory day on the next day that is neither a rest day nor taken.
fn with_compensation(mut holidays: Vec<Day>, weekend: Weekend) -> Vec<Day> {
    holidays.sort_by_key(|d| d.date);
    let mut out: Vec<Day> = Vec::with_capacity(holidays.len() + 4);
    let taken = |out: &[Day], d: NaiveDate| out.iter().any(|o| o.date == d);
    let mut owed = Vec::new();
    for h in holidays {
        let lost = weekend.contains(h.date.weekday()) || taken(&out, h.date);
        if lost {
            owed.push(h.clone());
        }
        if !taken(&out, h.date) {
            out.push(h);
        }
    }
    // Every holiday is placed before compensation is given, so that a compensatory day
    // never lands on a later holiday of the same run.
    for h in owed {
        let free = h
            .date
            .iter_days()
            .skip(1)
            .find(|d| !weekend.contains(d.weekday()) && !taken(&out, *d));
        if let Some(d) = free {
            out.push(day(
                d,
                format!("nghỉ bù {} ({})", h.reason, h.date.format("%d/%m")),
            ));
        }
    }
    out.sort_by_key(|d| d.date);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off_dates(y: i32) -> Vec<String> {
        year(y, &Rules::default(), Weekend::default())
            .unwrap()
            .into_iter()
            .map(|d| d.date.format("%d/%m").to_string())
            .collect()
    }

    #[test]
    fn national_day_2023_on_a_saturday_gives_1_to_4_september() {
        // calendar.md (confirmed): 2/9/2023 was a Saturday, 1–4/9 were off.
        let days = year(2023, &Rules::default(), Weekend::default()).unwrap();
        let sept: Vec<_> = days.iter().filter(|d| d.date.month() == 9).collect();
        assert_eq!(
            sept.iter().map(|d| d.date.day()).collect::<Vec<_>>(),
            [1, 2, 4]
        );
        assert_eq!(sept[2].reason, "nghỉ bù Quốc khánh (2/9) (02/09)");
    }

    #[test]
    fn national_day_adjacent_matches_recent_decrees() {
        // 2021 (Thu): 2–3/9; 2022 (Fri): 1–2/9; 2024 (Mon): 2–3/9; 2025 (Tue): 1–2/9.
        for (y, want) in [
            (2021, [2, 3]),
            (2022, [1, 2]),
            (2024, [2, 3]),
            (2025, [1, 2]),
        ] {
            let days: Vec<u32> = national_day(y, Adjacent::Auto, Weekend::default())
                .iter()
                .map(|d| d.date.day())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            assert_eq!(days, want, "{y}");
        }
        let fixed = national_day(2021, Adjacent::Before, Weekend::default());
        assert_eq!(fixed[1].date, ymd(2021, 9, 1));
    }

    #[test]
    fn gio_to_on_a_sunday_gives_monday_off() {
        // 2026: Giỗ Tổ is Sunday 26/4 → nghỉ bù Monday 27/4.
        let days = year(2026, &Rules::default(), Weekend::default()).unwrap();
        let comp = days.iter().find(|d| d.date == ymd(2026, 4, 27)).unwrap();
        assert_eq!(
            comp.reason,
            "nghỉ bù Giỗ Tổ Hùng Vương (10/3 âm lịch) (26/04)"
        );
    }

    #[test]
    fn tet_2023_compensates_after_the_block() {
        // Tết 22/1/2023 (Sunday): eve Saturday 21/1 and 1/1 Sunday fall on rest days; the
        // compensation follows the block (26, 27/1).
        let dates = off_dates(2023);
        for d in [
            "21/01", "22/01", "23/01", "24/01", "25/01", "26/01", "27/01",
        ] {
            assert!(dates.contains(&d.to_string()), "{d} in {dates:?}");
        }
        // Giỗ Tổ Sat 29/4, 30/4 Sun, 1/5 Mon: compensated on 2/5 and 3/5.
        for d in ["29/04", "30/04", "01/05", "02/05", "03/05"] {
            assert!(dates.contains(&d.to_string()), "{d} in {dates:?}");
        }
    }

    #[test]
    fn rules_for_2026_name_tet_days_by_lunar_date() {
        let days = year(2026, &Rules::default(), Weekend::default()).unwrap();
        let tet: Vec<_> = days
            .iter()
            .filter(|d| d.reason.starts_with("Tết Nguyên đán"))
            .collect();
        assert_eq!(tet.len(), 5);
        assert_eq!(tet[0].date, ymd(2026, 2, 16));
        assert_eq!(tet[0].reason, "Tết Nguyên đán (29 tháng Chạp)");
        assert_eq!(tet[1].reason, "Tết Nguyên đán (mùng 1 tháng Giêng)");
        assert_eq!(tet[4].date, ymd(2026, 2, 20));
        // Eleven statutory days, one compensatory (Giỗ Tổ on Sunday).
        assert_eq!(days.len(), 12);
        let two_before = Rules {
            tet_days_before: 2,
            ..Rules::default()
        };
        let days = year(2026, &two_before, Weekend::default()).unwrap();
        assert!(days.iter().any(|d| d.date == ymd(2026, 2, 15)));
        // 15/2 is a Sunday: compensated after the block, on Friday 20/2.
        assert!(days
            .iter()
            .any(|d| d.date == ymd(2026, 2, 20) && d.reason.starts_with("nghỉ bù")));
    }

    #[test]
    fn every_supported_year_loses_exactly_eleven_working_days() {
        // Each of the 11 holidays costs one working day: on its own date, or through a
        // compensatory day when it falls on a rest day or on another holiday (Giỗ Tổ was
        // 30/4 in 1947).
        for y in lunar::YEARS {
            let days = year(y, &Rules::default(), Weekend::default()).unwrap();
            let weekdays = days
                .iter()
                .filter(|d| !Weekend::default().contains(d.date.weekday()))
                .count();
            assert_eq!(weekdays, 11, "{y}: {days:?}");
            assert!(days.iter().all(|d| d.date.year() == y), "{y}");
        }
        let y1947 = year(1947, &Rules::default(), Weekend::default()).unwrap();
        assert!(y1947
            .iter()
            .any(|d| d.reason == "nghỉ bù Ngày Chiến thắng (30/4) (30/04)"));
    }
}
