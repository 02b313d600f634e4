//! Working-time arithmetic (the OpenCPS model): working seconds are consumed session by
//! session over working days; receipt outside a session counts from the next session; an
//! optional cut-off moves receipt later in a working day to the next working day; the result is
//! rounded up to the next multiple of `round_minutes`. Dates and times here are Vietnam local
//! time; which dates are working days is the caller's.

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use std::fmt;
use std::str::FromStr;

const DAY: u32 = 24 * 3600;

/// A time of day, `HH:MM` (00:00–24:00), in seconds since midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("{0:?} is not a time of day HH:MM such as 15:00")]
    Time(String),
    #[error("{0:?} is not a session HH:MM-HH:MM such as 08:00-12:00")]
    Session(String),
    #[error("session {0:?} must end after it starts")]
    Empty(String),
    #[error("session {0:?} must start after the session before it ends")]
    Order(String),
    #[error("at least one working session is needed")]
    NoSessions,
    #[error("round_minutes must be 0 (no rounding) or divide 60, e.g. 15")]
    Rounding,
}

impl TimeOfDay {
    pub fn seconds(self) -> u32 {
        self.0
    }
}

impl FromStr for TimeOfDay {
    type Err = HoursError;
    fn from_str(s: &str) -> Result<Self, HoursError> {
        let err = || HoursError::Time(s.to_owned());
        let (h, m) = s.trim().split_once(':').ok_or_else(err)?;
        let num = |x: &str| {
            (x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit()))
                .then(|| x.parse::<u32>().ok())
                .flatten()
        };
        let (h, m) = (num(h).ok_or_else(err)?, num(m).ok_or_else(err)?);
        if m > 59 || h > 24 || (h == 24 && m > 0) {
            return Err(err());
        }
        Ok(TimeOfDay(h * 3600 + m * 60))
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 3600, self.0 % 3600 / 60)
    }
}

/// A cut-off as written in configuration, on the command line or in a query: `HH:MM`, or
/// `none` (or empty) for no cut-off.
pub fn parse_cutoff(s: &str) -> Result<Option<TimeOfDay>, HoursError> {
    match s.trim() {
        "" | "none" => Ok(None),
        t => t.parse().map(Some),
    }
}

/// One working session of a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

impl FromStr for Session {
    type Err = HoursError;
    fn from_str(s: &str) -> Result<Self, HoursError> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| HoursError::Session(s.to_owned()))?;
        let time = |x: &str| {
            x.parse::<TimeOfDay>()
                .map_err(|_| HoursError::Session(s.to_owned()))
        };
        let (start, end) = (time(a)?, time(b)?);
        if end <= start {
            return Err(HoursError::Empty(s.to_owned()));
        }
        Ok(Session { start, end })
    }
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// A working day's sessions and the rounding of due times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingHours {
    sessions: Vec<Session>,
    round_minutes: u32,
}

impl Default for WorkingHours {
    /// 08:00–12:00 and 13:00–17:00, rounded up to the quarter hour.
    fn default() -> Self {
        let session = |a: u32, b: u32| Session {
            start: TimeOfDay(a * 3600),
            end: TimeOfDay(b * 3600),
        };
        WorkingHours {
            sessions: vec![session(8, 12), session(13, 17)],
            round_minutes: 15,
        }
    }
}

/// Where counting started and where it ended (local time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl WorkingHours {
    pub fn new(sessions: Vec<Session>, round_minutes: u32) -> Result<WorkingHours, HoursError> {
        if sessions.is_empty() {
            return Err(HoursError::NoSessions);
        }
        if let Some(w) = sessions.windows(2).find(|w| w[1].start < w[0].end) {
            return Err(HoursError::Order(w[1].to_string()));
        }
        if round_minutes > 60 || (round_minutes > 0 && 60 % round_minutes != 0) {
            return Err(HoursError::Rounding);
        }
        Ok(WorkingHours {
            sessions,
            round_minutes,
        })
    }

    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// Length of a working day, seconds (what `1d` means).
    pub fn day_seconds(&self) -> u64 {
        self.sessions
            .iter()
            .map(|s| u64::from(s.end.0 - s.start.0))
            .sum()
    }

    /// Count `seconds` of working time from `received`. `cutoff`: receipt after it on a
    /// working day counts from the next working day. `working` says whether a date is a
    /// working day; its error (a date the calendar cannot answer for) stops the count.
    pub fn count<E>(
        &self,
        received: NaiveDateTime,
        seconds: u64,
        cutoff: Option<TimeOfDay>,
        mut working: impl FnMut(NaiveDate) -> Result<bool, E>,
    ) -> Result<Span, E> {
        let mut date = received.date();
        // Whole seconds, rounded up: counting never starts before the receipt.
        let mut t = received.num_seconds_from_midnight() + u32::from(received.nanosecond() > 0);
        if let Some(c) = cutoff {
            if t > c.0 && working(date)? {
                t = DAY;
            }
        }
        let mut start = None;
        let mut remaining = seconds;
        loop {
            if t < DAY && working(date)? {
                for s in &self.sessions {
                    let from = t.max(s.start.0);
                    if from >= s.end.0 {
                        continue;
                    }
                    let start = *start.get_or_insert(at(date, from));
                    let available = u64::from(s.end.0 - from);
                    if remaining <= available {
                        // remaining ≤ available < one day: fits in u32.
                        let end = self.round_up(date, from + remaining as u32);
                        return Ok(Span { start, end });
                    }
                    remaining -= available;
                }
            }
            date = next(date, &mut working)?;
            t = 0;
        }
    }

    fn round_up(&self, date: NaiveDate, secs: u32) -> NaiveDateTime {
        let step = self.round_minutes * 60;
        at(
            date,
            if step == 0 {
                secs
            } else {
                secs.div_ceil(step) * step
            },
        )
    }
}

fn at(date: NaiveDate, secs: u32) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN) + chrono::Duration::seconds(i64::from(secs))
}

/// The next date; at the end of chrono's range, the caller's own answer for the last date
/// (its calendar ends long before).
fn next<E>(
    date: NaiveDate,
    working: &mut impl FnMut(NaiveDate) -> Result<bool, E>,
) -> Result<NaiveDate, E> {
    match date.checked_add_days(Days::new(1)) {
        Some(d) => Ok(d),
        None => working(date).map(|_| date),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Weekday};
    use std::convert::Infallible;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn hours() -> WorkingHours {
        WorkingHours::new(
            vec![
                "08:00-12:00".parse().unwrap(),
                "13:00-17:00".parse().unwrap(),
            ],
            15,
        )
        .unwrap()
    }

    fn weekdays(d: NaiveDate) -> Result<bool, Infallible> {
        Ok(!matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
    }

    fn count(from: &str, secs: u64, cutoff: Option<&str>) -> Span {
        hours()
            .count(dt(from), secs, cutoff.map(|c| c.parse().unwrap()), weekdays)
            .unwrap()
    }

    const H: u64 = 3600;

    #[test]
    fn domain_worked_example() {
        // calendar.md: accepted Mon 2026-03-02 09:15, 10 working days = 80 h → Mon 2026-03-16 09:15.
        let s = count("2026-03-02 09:15", 80 * H, None);
        assert_eq!(s.start, dt("2026-03-02 09:15"));
        assert_eq!(s.end, dt("2026-03-16 09:15"));
        assert_eq!(hours().day_seconds(), 8 * H);
    }

    #[test]
    fn sessions_and_boundaries() {
        // Ending exactly at a session's end stays there.
        assert_eq!(
            count("2026-03-02 08:00", 8 * H, None).end,
            dt("2026-03-02 17:00")
        );
        assert_eq!(
            count("2026-03-02 08:00", 4 * H, None).end,
            dt("2026-03-02 12:00")
        );
        // One second more goes into the afternoon (and rounds up to the quarter hour).
        assert_eq!(
            count("2026-03-02 08:00", 4 * H + 1, None).end,
            dt("2026-03-02 13:15")
        );
        // Lunch, evening, weekend: counting starts at the next session.
        let s = count("2026-03-02 12:30", H, None);
        assert_eq!(
            (s.start, s.end),
            (dt("2026-03-02 13:00"), dt("2026-03-02 14:00"))
        );
        let s = count("2026-03-06 18:00", 4 * H, None); // Friday evening
        assert_eq!(
            (s.start, s.end),
            (dt("2026-03-09 08:00"), dt("2026-03-09 12:00"))
        );
        let s = count("2026-03-07 10:00", H, None); // Saturday
        assert_eq!(s.start, dt("2026-03-09 08:00"));
        assert_eq!(
            count("2026-03-02 06:00", H, None).start,
            dt("2026-03-02 08:00")
        );
    }

    #[test]
    fn cut_off_moves_late_receipt_to_the_next_working_day() {
        // 15:00 cut-off: at 15:00 still today; after it, from the next working day.
        let at_cutoff = count("2026-03-02 15:00", 2 * H, Some("15:00"));
        assert_eq!(at_cutoff.end, dt("2026-03-02 17:00"));
        let late = count("2026-03-02 15:01", 8 * H, Some("15:00"));
        assert_eq!(
            (late.start, late.end),
            (dt("2026-03-03 08:00"), dt("2026-03-03 17:00"))
        );
        // Friday after the cut-off → Monday; without a cut-off the same receipt counts today.
        let fri = count("2026-03-06 16:00", H, Some("15:00"));
        assert_eq!(fri.start, dt("2026-03-09 08:00"));
        assert_eq!(
            count("2026-03-06 16:00", H, None).end,
            dt("2026-03-06 17:00")
        );
        // A cut-off means nothing on a rest day: Saturday 16:00 counts from Monday anyway.
        assert_eq!(
            count("2026-03-07 16:00", H, Some("15:00")).start,
            dt("2026-03-09 08:00")
        );
    }

    #[test]
    fn rounding_is_configurable() {
        let exact = WorkingHours::new(vec!["08:00-17:00".parse().unwrap()], 0).unwrap();
        let s = exact
            .count(dt("2026-03-02 08:07"), 60, None, weekdays)
            .unwrap();
        assert_eq!(s.end, dt("2026-03-02 08:08"));
        assert_eq!(
            count("2026-03-02 08:07", 60, None).end,
            dt("2026-03-02 08:15")
        );
        assert_eq!(
            WorkingHours::new(vec!["08:00-17:00".parse().unwrap()], 7),
            Err(HoursError::Rounding)
        );
    }

    #[test]
    fn sessions_and_times_parse_strictly() {
        assert_eq!("15:00".parse::<TimeOfDay>().unwrap().to_string(), "15:00");
        assert_eq!(parse_cutoff(" none "), Ok(None));
        assert_eq!(
            parse_cutoff("15:00").unwrap().map(|t| t.seconds()),
            Some(15 * 3600)
        );
        assert!(parse_cutoff("3pm").is_err());
        assert!("24:00".parse::<TimeOfDay>().is_ok());
        for bad in ["15", "3:00", "15:60", "24:01", "15h00", ""] {
            assert!(bad.parse::<TimeOfDay>().is_err(), "{bad}");
        }
        assert_eq!(
            "12:00-08:00".parse::<Session>(),
            Err(HoursError::Empty("12:00-08:00".into()))
        );
        assert!("08:00–12:00".parse::<Session>().is_err()); // en dash
        let overlap = vec![
            "08:00-12:00".parse().unwrap(),
            "11:00-17:00".parse().unwrap(),
        ];
        assert_eq!(
            WorkingHours::new(overlap, 15),
            Err(HoursError::Order("11:00-17:00".into()))
        );
        assert_eq!(WorkingHours::new(vec![], 15), Err(HoursError::NoSessions));
    }

    #[test]
    fn a_calendar_error_stops_the_count() {
        let r = hours().count(dt("2026-03-02 09:00"), 100 * H, None, |d| {
            if d.day() > 5 {
                Err(d)
            } else {
                weekdays(d).map_err(|e| match e {})
            }
        });
        assert_eq!(r, Err(NaiveDate::from_ymd_opt(2026, 3, 6).unwrap()));
    }
}
