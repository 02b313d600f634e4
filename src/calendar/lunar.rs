//! The Vietnamese lunisolar calendar (âm lịch): the Chinese rules — a month begins on the day
//! of the new moon, the winter solstice falls in month 11, a solstice year of 13 months repeats
//! its first month without a major solar term as the leap month — computed for UTC+7 instead of China's UTC+8. New moons near
//! midnight therefore start some months a day earlier than in China (Tết 2030 is 2 February in
//! Vietnam, 3 February in China).
//!
//! The astronomy is `calendrical_calculations` (ICU4X) through its public `ChineseBased` trait,
//! implemented here for a constant UTC+7. Two of its functions are used: `YearBounds` (the
//! lunar new years, by the winter-solstice-year rule) and `month_structure_for_year` (month
//! lengths and the leap month). Its `chinese_based_date_from_fixed` is not: it takes the
//! *first* month without a major solar term as the leap month, which labels the months of
//! 2033 wrongly (the "2033 problem": the leap month is 11, not 8). Supported years: [`YEARS`],
//! where every month start and leap month is cross-checked in tests against an independent
//! implementation; outside them a [`LunarError::OutOfRange`] is returned.

use calendrical_calculations::chinese_based::{month_structure_for_year, ChineseBased, YearBounds};
use calendrical_calculations::gregorian::fixed_from_gregorian;
use calendrical_calculations::rata_die::RataDie;
use chrono::{Datelike, Days, NaiveDate};
use std::ops::RangeInclusive;

/// Gregorian years whose lunar new year the calendar computes.
pub const YEARS: RangeInclusive<i32> = 1900..=2100;

/// The Vietnamese calendar for `calendrical_calculations`: new moons and solar terms observed
/// at UTC+7. (Vietnam used UTC+8 in some periods before 1975; holidays are not computed for
/// them.)
struct Vietnam;

impl ChineseBased for Vietnam {
    fn utc_offset(_: RataDie) -> f64 {
        7.0 / 24.0
    }
    // Only used by the crate to number years, which this module does not use.
    const EPOCH: RataDie = fixed_from_gregorian(-2636, 2, 15);
    const DEBUG_NAME: &'static str = "vietnamese";
}

/// A date of the lunar calendar. `year` is the Gregorian year in which this lunar year's
/// first day (Tết) falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LunarDate {
    pub year: i32,
    /// 1..=12
    pub month: u8,
    /// The leap (nhuận) month that repeats `month`.
    pub leap: bool,
    /// 1..=30
    pub day: u8,
}

impl LunarDate {
    pub const fn new(year: i32, month: u8, day: u8) -> Self {
        LunarDate {
            year,
            month,
            leap: false,
            day,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LunarError {
    #[error("year {0} is outside the supported lunar years 1900–2100")]
    OutOfRange(i32),
    #[error("lunar {day}/{month}{} of the year beginning in {year} does not exist", if *.leap { " (leap)" } else { "" })]
    NoSuchDate {
        year: i32,
        month: u8,
        leap: bool,
        day: u8,
    },
}

fn fixed(d: NaiveDate) -> RataDie {
    // Rata Die day 1 is 0001-01-01 of the proleptic Gregorian calendar, as in chrono.
    RataDie::new(i64::from(d.num_days_from_ce()))
}

fn solar(rd: RataDie) -> NaiveDate {
    // Every fixed date reached here lies within YEARS (±1), far inside chrono's range.
    i32::try_from(rd.to_i64_date())
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or(NaiveDate::MIN)
}

fn check_year(year: i32) -> Result<(), LunarError> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(LunarError::OutOfRange(year))
    }
}

/// The first day of the lunar year that begins in Gregorian `year` (mùng 1 Tết).
pub fn new_year(year: i32) -> Result<NaiveDate, LunarError> {
    check_year(year)?;
    Ok(solar(bounds(fixed_from_gregorian(year, 3, 1)).new_year))
}

/// The lunar year holding `rd`. (Tết falls between 21 January and 20 February, so 1 March
/// always lies in the year beginning in its Gregorian year.)
fn bounds(rd: RataDie) -> YearBounds {
    YearBounds::compute::<Vietnam>(rd)
}

/// One lunar year's months: where it starts, how long each month is, which is leap.
struct Year {
    new_year: RataDie,
    /// Days in each month, by position (the leap month in its place); 12 or 13 of them.
    lengths: Vec<u8>,
    /// Position (1-based) of the leap month.
    leap: Option<u8>,
}

impl Year {
    fn of(b: YearBounds) -> Year {
        let (long, leap) = month_structure_for_year::<Vietnam>(b.new_year, b.next_new_year);
        let count = if b.is_leap() { 13 } else { 12 };
        Year {
            new_year: b.new_year,
            lengths: long[..count]
                .iter()
                .map(|&l| if l { 30 } else { 29 })
                .collect(),
            leap: leap.filter(|_| b.is_leap()),
        }
    }

    /// Month number and leap flag of the month at `position` (1-based).
    fn label(&self, position: u8) -> (u8, bool) {
        match self.leap {
            Some(l) if position >= l => (position - 1, position == l),
            _ => (position, false),
        }
    }

    /// Position (1-based) of a month number / leap flag, if the year has that month.
    fn position(&self, month: u8, leap: bool) -> Option<u8> {
        match (self.leap, leap) {
            (Some(l), true) if l == month + 1 => Some(l),
            (_, true) => None,
            (Some(l), false) if month >= l => Some(month + 1),
            _ => Some(month),
        }
    }
}

/// The lunar date of a solar (Gregorian) date.
pub fn from_solar(date: NaiveDate) -> Result<LunarDate, LunarError> {
    check_year(date.year())?;
    let rd = fixed(date);
    let y = Year::of(bounds(rd));
    let mut offset = rd - y.new_year;
    for (i, &len) in y.lengths.iter().enumerate() {
        if offset < i64::from(len) {
            let (month, leap) = y.label(i as u8 + 1);
            return Ok(LunarDate {
                year: solar(y.new_year).year(),
                month,
                leap,
                day: offset as u8 + 1,
            });
        }
        offset -= i64::from(len);
    }
    // The month lengths add up to the year's length (tested for every year in YEARS).
    Err(LunarError::OutOfRange(date.year()))
}

/// The solar (Gregorian) date of a lunar date.
pub fn to_solar(d: LunarDate) -> Result<NaiveDate, LunarError> {
    check_year(d.year)?;
    let missing = LunarError::NoSuchDate {
        year: d.year,
        month: d.month,
        leap: d.leap,
        day: d.day,
    };
    if !(1..=12).contains(&d.month) || d.day == 0 {
        return Err(missing);
    }
    let y = Year::of(bounds(fixed_from_gregorian(d.year, 3, 1)));
    let position = usize::from(y.position(d.month, d.leap).ok_or(missing.clone())?);
    match y.lengths.get(position - 1) {
        Some(&len) if d.day <= len => {
            let before: i64 = y.lengths[..position - 1]
                .iter()
                .map(|&l| i64::from(l))
                .sum();
            Ok(solar(y.new_year + before + i64::from(d.day - 1)))
        }
        _ => Err(missing),
    }
}

/// The last day of the lunar year before the one beginning in `year` (giao thừa: 29 or 30
/// tháng Chạp).
pub fn new_years_eve(year: i32) -> Result<NaiveDate, LunarError> {
    let tet = new_year(year)?;
    tet.checked_sub_days(Days::new(1))
        .ok_or(LunarError::OutOfRange(year))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::ymd;

    #[test]
    fn rata_die_matches_the_crates_gregorian() {
        for d in [ymd(1900, 1, 1), ymd(2026, 2, 17), ymd(2100, 12, 31)] {
            assert_eq!(
                fixed(d),
                fixed_from_gregorian(d.year(), d.month() as u8, d.day() as u8)
            );
            assert_eq!(solar(fixed(d)), d);
        }
    }

    #[test]
    fn tet_at_utc7_differs_from_china() {
        // calendar.md: Vietnam vs China.
        assert_eq!(new_year(2030).unwrap(), ymd(2030, 2, 2));
        assert_eq!(new_year(1985).unwrap(), ymd(1985, 1, 21));
        assert_eq!(new_year(2007).unwrap(), ymd(2007, 2, 17));
        assert_eq!(new_years_eve(2026).unwrap(), ymd(2026, 2, 16));
    }

    #[test]
    fn leap_month_2023_is_month_2() {
        let d = from_solar(ymd(2023, 3, 22)).unwrap();
        assert_eq!(
            d,
            LunarDate {
                year: 2023,
                month: 2,
                leap: true,
                day: 1
            }
        );
        let back = to_solar(d).unwrap();
        assert_eq!(back, ymd(2023, 3, 22));
        // Month 3 comes after the leap month: Giỗ Tổ 2023 is 29 April.
        assert_eq!(
            to_solar(LunarDate::new(2023, 3, 10)).unwrap(),
            ymd(2023, 4, 29)
        );
        // There is no leap month 3 in 2023, nor any leap month in 2024.
        assert!(to_solar(LunarDate {
            leap: true,
            ..LunarDate::new(2023, 3, 1)
        })
        .is_err());
        assert!(to_solar(LunarDate {
            leap: true,
            ..LunarDate::new(2024, 2, 1)
        })
        .is_err());
    }

    #[test]
    fn month_lengths_fill_every_year() {
        for y in YEARS {
            let b = bounds(fixed_from_gregorian(y, 3, 1));
            let year = Year::of(b);
            let days: i64 = year.lengths.iter().map(|&l| i64::from(l)).sum();
            assert_eq!(days, b.next_new_year - b.new_year, "{y}");
            assert_eq!(year.leap.is_some(), year.lengths.len() == 13, "{y}");
        }
    }

    #[test]
    fn leap_month_2033_is_11() {
        // The "2033 problem": two months without a major solar term in one lunar year; only
        // the one in the 13-month solstice year (after month 11) is leap.
        let d = from_solar(ymd(2033, 12, 22)).unwrap();
        assert_eq!((d.month, d.leap, d.day), (11, true, 1));
        let d = from_solar(ymd(2033, 9, 23)).unwrap();
        assert_eq!((d.month, d.leap, d.day), (9, false, 1));
    }

    #[test]
    fn round_trip_every_day_of_a_year() {
        let mut d = ymd(2025, 1, 1);
        while d.year() == 2025 {
            let l = from_solar(d).unwrap();
            assert_eq!(to_solar(l).unwrap(), d, "{l:?}");
            d = d.succ_opt().unwrap();
        }
    }

    #[test]
    fn impossible_dates_and_years_are_errors() {
        assert_eq!(new_year(1899), Err(LunarError::OutOfRange(1899)));
        assert_eq!(new_year(2101), Err(LunarError::OutOfRange(2101)));
        assert!(to_solar(LunarDate::new(2026, 13, 1)).is_err());
        assert!(to_solar(LunarDate::new(2026, 1, 0)).is_err());
        // Tháng Chạp of Ất Tỵ (the lunar year beginning in 2025) has 29 days: eve is 16/2/2026.
        assert!(to_solar(LunarDate::new(2025, 12, 30)).is_err());
        assert_eq!(
            to_solar(LunarDate::new(2025, 12, 29)).unwrap(),
            ymd(2026, 2, 16)
        );
    }
}
