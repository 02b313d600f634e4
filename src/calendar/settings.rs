//! The calendar's settings, typed and checked from the `[calendar]` configuration section. The
//! same conversion serves `check-config` (every mistake, keyed) and the gateway and CLI.

use super::hours::{parse_cutoff, HoursError, Session, TimeOfDay, WorkingHours};
use super::rules::{Adjacent, Rules};
use super::year::Weekend;
use crate::config::CalendarCfg;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub dir: PathBuf,
    pub hours: WorkingHours,
    pub weekend: Weekend,
    pub cutoff: Option<TimeOfDay>,
    pub rules: Rules,
}

/// One mistake in `[calendar]`: the key under `calendar.` and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingError {
    pub key: String,
    pub reason: String,
}

impl Settings {
    pub fn from_config(c: &CalendarCfg) -> Result<Settings, Vec<SettingError>> {
        let mut errors = Vec::new();
        let mut err = |key: String, reason: String| errors.push(SettingError { key, reason });
        let mut sessions = Vec::new();
        let mut unreadable = false;
        for (i, s) in c.sessions.iter().enumerate() {
            match s.parse::<Session>() {
                Ok(s) => sessions.push(s),
                Err(e) => {
                    unreadable = true;
                    err(format!("sessions[{i}]"), e.to_string());
                }
            }
        }
        let hours = match WorkingHours::new(sessions, c.round_minutes) {
            Ok(h) => Some(h),
            Err(HoursError::Rounding) => {
                err("round_minutes".into(), HoursError::Rounding.to_string());
                None
            }
            Err(e) => {
                if !unreadable {
                    err("sessions".into(), e.to_string());
                }
                None
            }
        };
        let mut days = Vec::new();
        for (i, d) in c.weekend.iter().enumerate() {
            match Weekend::parse_day(d) {
                Some(w) => days.push(w),
                None => err(
                    format!("weekend[{i}]"),
                    format!("{d:?} is not a weekday: mon, tue, wed, thu, fri, sat or sun"),
                ),
            }
        }
        let cutoff = parse_cutoff(c.cutoff.as_deref().unwrap_or_default()).unwrap_or_else(|e| {
            err("cutoff".into(), format!("{e}, or \"none\""));
            None
        });
        if c.tet_days_before > 4 {
            err(
                "tet_days_before".into(),
                "must be 0–4 (of the five Tết days, how many fall before 1/1 lunar)".into(),
            );
        }
        let adjacent = Adjacent::parse(&c.national_day_adjacent);
        if adjacent.is_none() {
            err(
                "national_day_adjacent".into(),
                format!(
                    "{:?} must be auto, before or after",
                    c.national_day_adjacent
                ),
            );
        }
        match (hours, adjacent) {
            (Some(hours), Some(national_day_adjacent)) if errors.is_empty() => Ok(Settings {
                dir: c.dir.clone(),
                hours,
                weekend: Weekend::new(days),
                cutoff,
                rules: Rules {
                    tet_days_before: c.tet_days_before,
                    national_day_adjacent,
                },
            }),
            _ => Err(errors),
        }
    }
}

impl Default for Settings {
    /// The same as an empty `[calendar]` section (tested).
    fn default() -> Self {
        Settings {
            dir: CalendarCfg::default().dir,
            hours: WorkingHours::default(),
            weekend: Weekend::default(),
            cutoff: None,
            rules: Rules::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_agree() {
        assert_eq!(
            Settings::from_config(&CalendarCfg::default()),
            Ok(Settings::default())
        );
        let s = Settings::default();
        assert_eq!(s.hours.day_seconds(), 8 * 3600);
        assert_eq!(s.dir, PathBuf::from("config/calendar"));
    }

    #[test]
    fn every_mistake_is_keyed() {
        let c = CalendarCfg {
            sessions: vec!["08:00-12:00".into(), "8h-12h".into()],
            weekend: vec!["sat".into(), "chủ nhật".into()],
            cutoff: Some("3pm".into()),
            round_minutes: 7,
            tet_days_before: 5,
            national_day_adjacent: "later".into(),
            ..CalendarCfg::default()
        };
        let errs = Settings::from_config(&c).unwrap_err();
        let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sessions[1]",
                "round_minutes",
                "weekend[1]",
                "cutoff",
                "tet_days_before",
                "national_day_adjacent"
            ]
        );
        let overlap = CalendarCfg {
            sessions: vec!["08:00-12:00".into(), "11:00-17:00".into()],
            ..CalendarCfg::default()
        };
        assert_eq!(
            Settings::from_config(&overlap).unwrap_err()[0].key,
            "sessions"
        );
        let cut = CalendarCfg {
            cutoff: Some("15:00".into()),
            ..CalendarCfg::default()
        };
        assert_eq!(
            Settings::from_config(&cut)
                .unwrap()
                .cutoff
                .map(|c| c.to_string()),
            Some("15:00".into())
        );
    }
}
