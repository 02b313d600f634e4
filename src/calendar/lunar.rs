//! The Vietnamese lunisolar calendar (âm lịch): the Chinese rules — a month begins on the day
//! of the new moon, the winter solstice falls in month 11, the first month without a major
//! solar term is the leap month — computed for UTC+7 instead of China's UTC+8. New moons near
//! midnight therefore start some months a day earlier than in China (Tết 2030 is 2 February in
//! Vietnam, 3 February in China).
//!
//! The astronomy is `calendrical_calculations` (ICU4X) through its public `ChineseBased` trait,
//! implemented here for a constant UTC+7. Only fixed date → (year bounds, month, day, leap
//! month) is used; lunar → solar is found by searching with it, so both directions agree by
//! construction. Supported years: [`YEARS`] (cross-checked in tests against an independent
//! implementation); outside them a [`LunarError::OutOfRange`] is returned.

use calendrical_calculations::chinese_based::{
    chinese_based_date_from_fixed, get_leap_month_from_new_year, ChineseBased, YearBounds,
};
use calendrical_calculations::gregorian::fixed_from_gregorian;
use calendrical_calculations::rata_die::RataDie;
use chrono::{Datelike, Days, NaiveDate};
use std::ops::RangeInclusive;

/// Gregorian years whose lunar new year the calendar computes.
pub const YEARS: RangeInclusive<i32> = 1900..=2100;

/// Mean length of a lunar month, days.
const SYNODIC_MONTH: f64 = 29.530_588_853;

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
    Ok(solar(bounds(year)?.new_year))
}

/// The lunar year beginning in Gregorian `year`. Tết falls between 21 January and 20
/// February, so 1 March always lies inside it.
fn bounds(year: i32) -> Result<YearBounds, LunarError> {
    check_year(year)?;
    Ok(YearBounds::compute::<Vietnam>(fixed_from_gregorian(year, 3, 1)))
}

/// Month position within the lunar year: 1..=13, the leap month counted in its place.
struct Position {
    ordinal: u8,
    day: u8,
    new_year: RataDie,
}

fn position(rd: RataDie) -> Position {
    let r = chinese_based_date_from_fixed::<Vietnam>(rd);
    Position {
        ordinal: r.month,
        day: r.day,
        new_year: r.year_bounds.new_year,
    }
}

/// The lunar date of a solar (Gregorian) date.
pub fn from_solar(date: NaiveDate) -> Result<LunarDate, LunarError> {
    check_year(date.year())?;
    let r = chinese_based_date_from_fixed::<Vietnam>(fixed(date));
    let (month, leap) = match r.leap_month.map(|l| l.get()) {
        Some(l) if r.month >= l => (r.month - 1, r.month == l),
        _ => (r.month, false),
    };
    Ok(LunarDate {
        year: solar(r.year_bounds.new_year).year(),
        month,
        leap,
        day: r.day,
    })
}

/// The solar (Gregorian) date of a lunar date.
pub fn to_solar(d: LunarDate) -> Result<NaiveDate, LunarError> {
    let missing = LunarError::NoSuchDate {
        year: d.year,
        month: d.month,
        leap: d.leap,
        day: d.day,
    };
    if !(1..=12).contains(&d.month) || !(1..=30).contains(&d.day) {
        return Err(missing);
    }
    let b = bounds(d.year)?;
    let leap_ordinal = b
        .is_leap()
        .then(|| get_leap_month_from_new_year::<Vietnam>(b.new_year));
    let ordinal = match (leap_ordinal, d.leap) {
        (Some(l), true) if l == d.month + 1 => l,
        (_, true) => return Err(missing),
        (Some(l), false) if d.month >= l => d.month + 1,
        _ => d.month,
    };
    // The month starts within a couple of days of its mean position: find its day 1.
    let estimate = b.new_year + (f64::from(ordinal - 1) * SYNODIC_MONTH).round() as i64;
    let start = (-3..=3)
        .map(|k| estimate + k)
        .find(|&rd| {
            let p = position(rd);
            p.day == 1 && p.ordinal == ordinal && p.new_year == b.new_year
        })
        .ok_or(missing.clone())?;
    let date = start + i64::from(d.day - 1);
    let p = position(date);
    if p.ordinal == ordinal && p.new_year == b.new_year {
        Ok(solar(date))
    } else {
        Err(missing)
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

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

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
        assert_eq!(to_solar(LunarDate::new(2023, 3, 10)).unwrap(), ymd(2023, 4, 29));
        // There is no leap month 3 in 2023, nor any leap month in 2024.
        assert!(to_solar(LunarDate { leap: true, ..LunarDate::new(2023, 3, 1) }).is_err());
        assert!(to_solar(LunarDate { leap: true, ..LunarDate::new(2024, 2, 1) }).is_err());
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
        assert_eq!(to_solar(LunarDate::new(2025, 12, 29)).unwrap(), ymd(2026, 2, 16));
    }
}
