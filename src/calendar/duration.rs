//! Processing times: `15d` working days or `4h` working hours (decimals allowed: `0.5d`,
//! `1.5h`). A working day is as long as the day's sessions together (8 hours by default).

use std::fmt;
use std::str::FromStr;

/// Largest duration accepted, in working days (and the same span in hours).
pub const MAX_DAYS: u64 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Working days (`d`).
    Days,
    /// Working hours (`h`).
    Hours,
}

/// A processing time, kept as written (hundredths of its unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkDuration {
    hundredths: u64,
    unit: Unit,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("{0:?} has no unit: write d (working days) or h (working hours), e.g. 15d or 4h")]
    NoUnit(String),
    #[error("{0:?} is not a number of working days or hours such as 15d, 4h or 0.5d")]
    Malformed(String),
    #[error("the duration must be greater than zero")]
    Zero,
    #[error("{0:?} is longer than the {MAX_DAYS} working days accepted")]
    TooLong(String),
}

impl WorkDuration {
    pub fn days(n: u64) -> WorkDuration {
        WorkDuration {
            hundredths: n * 100,
            unit: Unit::Days,
        }
    }

    pub fn hours(n: u64) -> WorkDuration {
        WorkDuration {
            hundredths: n * 100,
            unit: Unit::Hours,
        }
    }

    pub fn unit(&self) -> Unit {
        self.unit
    }

    /// Working seconds, given the length of a working day in seconds (rounded up to a second).
    pub fn seconds(&self, day_seconds: u64) -> u64 {
        let per_unit = match self.unit {
            Unit::Days => day_seconds,
            Unit::Hours => 3600,
        };
        (self.hundredths * per_unit).div_ceil(100)
    }
}

impl FromStr for WorkDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, DurationError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(DurationError::Empty);
        }
        let (number, unit) = match t.char_indices().last() {
            Some((i, 'd' | 'D')) => (&t[..i], Unit::Days),
            Some((i, 'h' | 'H')) => (&t[..i], Unit::Hours),
            Some((_, c)) if c.is_ascii_digit() => return Err(DurationError::NoUnit(t.into())),
            _ => return Err(DurationError::Malformed(t.into())),
        };
        let malformed = || DurationError::Malformed(t.into());
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        let digits =
            |x: &str| !x.is_empty() && x.len() <= 6 && x.bytes().all(|b| b.is_ascii_digit());
        let frac_ok = frac.is_empty() || (frac.len() <= 2 && digits(frac));
        if !digits(whole) || !frac_ok {
            return Err(malformed());
        }
        let whole: u64 = whole.parse().map_err(|_| malformed())?;
        let frac: u64 = format!("{frac:0<2}").parse().map_err(|_| malformed())?;
        let hundredths = whole * 100 + frac;
        if hundredths == 0 {
            return Err(DurationError::Zero);
        }
        let max = match unit {
            Unit::Days => MAX_DAYS * 100,
            Unit::Hours => MAX_DAYS * 8 * 100,
        };
        if hundredths > max {
            return Err(DurationError::TooLong(t.into()));
        }
        Ok(WorkDuration { hundredths, unit })
    }
}

impl fmt::Display for WorkDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (w, h) = (self.hundredths / 100, self.hundredths % 100);
        let unit = match self.unit {
            Unit::Days => 'd',
            Unit::Hours => 'h',
        };
        match h {
            0 => write!(f, "{w}{unit}"),
            _ if h % 10 == 0 => write!(f, "{w}.{}{unit}", h / 10),
            _ => write!(f, "{w}.{h:02}{unit}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_hours_parse() {
        assert_eq!("15d".parse(), Ok(WorkDuration::days(15)));
        assert_eq!(" 4h ".parse(), Ok(WorkDuration::hours(4)));
        let half: WorkDuration = "0.5d".parse().unwrap();
        assert_eq!(half.seconds(8 * 3600), 4 * 3600);
        assert_eq!(half.to_string(), "0.5d");
        let d: WorkDuration = "1.25h".parse().unwrap();
        assert_eq!(d.seconds(0), 4500);
        assert_eq!(d.to_string(), "1.25h");
        assert_eq!(WorkDuration::days(15).seconds(8 * 3600), 15 * 8 * 3600);
    }

    #[test]
    fn bad_durations_say_why() {
        assert_eq!("".parse::<WorkDuration>(), Err(DurationError::Empty));
        assert!(matches!(
            "15".parse::<WorkDuration>(),
            Err(DurationError::NoUnit(_))
        ));
        for bad in [
            "d", "15 ngày", "1.5.5d", "-3d", "1.234h", "x4h", "15w", "1e3d", ".5d",
        ] {
            assert!(
                matches!(
                    bad.parse::<WorkDuration>(),
                    Err(DurationError::Malformed(_))
                ),
                "{bad}"
            );
        }
        assert_eq!("0d".parse::<WorkDuration>(), Err(DurationError::Zero));
        assert_eq!("0.00h".parse::<WorkDuration>(), Err(DurationError::Zero));
        assert!(matches!(
            "1001d".parse::<WorkDuration>(),
            Err(DurationError::TooLong(_))
        ));
        assert!("1000d".parse::<WorkDuration>().is_ok());
    }
}
