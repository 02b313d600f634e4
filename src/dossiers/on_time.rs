//! The on-time rule (đúng hạn) of the national service-quality indicators, as assumed in
//! `shared/domain/dvcqg.md`, with its debatable parts in `[dossiers.on_time]`:
//!
//! - the end of processing (`NgayKetThucXuLy`) is the time of the first status change, in the
//!   order the changes were recorded, to one of `end_statuses` (3, 7, 8, 9, 10). Status 10 can
//!   only follow 9, so when both occur the time of 9 is the end, whatever their times say;
//! - with `supplement_ends_clock`, an outstanding supplement request (the latest status is 5)
//!   also ends the clock, at the request's time; once the applicant supplements, the dossier is
//!   open again;
//! - a dossier is on time when its end is not after its due time (`NgayHenTra`), comparing full
//!   instants, and it had at most `max_supplements` supplement requests;
//! - a dossier not ended is in progress: overdue once the moment of the report (`as_of`) is past
//!   its due time.
//!
//! Only changes dated (`at`) at or before `as_of` count. [`classify`] is the rule on one
//! dossier's history (the dossier view uses it); `report` applies the same rule in SQL.

use crate::config::OnTimeCfg;
use lienthong_contract::dossier::{DossierStatus, Instant};
use serde_json::{json, Value};

/// The rule, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Statuses whose first occurrence ends processing, sorted.
    pub end_statuses: Vec<DossierStatus>,
    pub supplement_ends_clock: bool,
    pub max_supplements: u32,
    pub open_overdue_is_late: bool,
}

impl Default for Rule {
    fn default() -> Self {
        Rule::from_config(&OnTimeCfg::default()).expect("the default rule is valid")
    }
}

impl Rule {
    /// The rule from `[dossiers.on_time]`; a mistake as (key, reason).
    pub fn from_config(c: &OnTimeCfg) -> Result<Rule, (String, String)> {
        let mut end_statuses = Vec::new();
        for &code in &c.end_statuses {
            match DossierStatus::from_code(code.into()) {
                Some(s) if s.ends_processing() => end_statuses.push(s),
                _ => {
                    return Err((
                        "end_statuses".into(),
                        format!(
                            "{code} is not a status that ends processing (choose among 3, 7, 8, 9, 10; an outstanding supplement request is supplement_ends_clock)"
                        ),
                    ))
                }
            }
        }
        end_statuses.sort();
        end_statuses.dedup();
        if end_statuses.is_empty() {
            return Err((
                "end_statuses".into(),
                "at least one status must end processing (default [3, 7, 8, 9, 10])".into(),
            ));
        }
        Ok(Rule {
            end_statuses,
            supplement_ends_clock: c.supplement_ends_clock,
            max_supplements: c.max_supplements,
            open_overdue_is_late: c.open_overdue_is_late,
        })
    }

    pub fn ends(&self, s: DossierStatus) -> bool {
        self.end_statuses.contains(&s)
    }

    /// Statuses that stop the clock when they are where a history stops: the end statuses,
    /// and 5 when an outstanding supplement request ends the clock.
    pub fn stops(&self) -> Vec<DossierStatus> {
        let mut v = self.end_statuses.clone();
        if self.supplement_ends_clock {
            v.push(DossierStatus::SupplementRequested);
            v.sort();
        }
        v
    }

    pub fn to_json(&self) -> Value {
        json!({
            "end_statuses": self.end_statuses.iter().map(|s| s.code()).collect::<Vec<_>>(),
            "supplement_ends_clock": self.supplement_ends_clock,
            "max_supplements": self.max_supplements,
            "open_overdue_is_late": self.open_overdue_is_late,
        })
    }
}

/// Where a dossier stands under the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Processing ended not after the due time, with few enough supplement requests.
    OnTime,
    /// Processing ended after the due time, or after too many supplement requests.
    Late,
    /// Not ended, due time not passed.
    InProgress,
    /// Not ended, due time passed ("quá hạn, đang xử lý").
    Overdue,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::OnTime => "on_time",
            Standing::Late => "late",
            Standing::InProgress => "in_progress",
            Standing::Overdue => "overdue",
        }
    }
}

/// A dossier classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classified {
    pub standing: Standing,
    /// The end of processing and the status that made it.
    pub end: Option<(DossierStatus, Instant)>,
    /// Supplement requests (status 5) counted.
    pub supplements: u32,
}

impl Classified {
    pub fn to_json(&self) -> Value {
        json!({
            "standing": self.standing.as_str(),
            "end_of_processing": self.end.map(|(_, at)| crate::calendar::instant::format(&at)),
            "end_status": self.end.map(|(s, _)| s.code()),
            "supplement_requests": self.supplements,
        })
    }
}

/// Classify one dossier: its status changes in the order recorded (the filing first), its due
/// time, at `as_of`.
pub fn classify(
    rule: &Rule,
    history: &[(DossierStatus, Instant)],
    due: Instant,
    as_of: Instant,
) -> Classified {
    let known: Vec<&(DossierStatus, Instant)> =
        history.iter().filter(|(_, at)| *at <= as_of).collect();
    let supplements = known
        .iter()
        .filter(|(s, _)| *s == DossierStatus::SupplementRequested)
        .count() as u32;
    let end = known
        .iter()
        .find(|(s, _)| rule.ends(*s))
        .or_else(|| {
            known.last().filter(|(s, _)| {
                rule.supplement_ends_clock && *s == DossierStatus::SupplementRequested
            })
        })
        .map(|&&e| e);
    let standing = match end {
        Some((_, at)) if at <= due && supplements <= rule.max_supplements => Standing::OnTime,
        Some(_) => Standing::Late,
        None if as_of > due => Standing::Overdue,
        None => Standing::InProgress,
    };
    Classified {
        standing,
        end,
        supplements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::instant;
    use DossierStatus::*;

    fn t(s: &str) -> Instant {
        instant::parse(s).unwrap()
    }

    /// A history from (status code, time) pairs.
    fn h(steps: &[(i64, &str)]) -> Vec<(DossierStatus, Instant)> {
        steps
            .iter()
            .map(|&(c, at)| (DossierStatus::from_code(c).unwrap(), t(at)))
            .collect()
    }

    const DUE: &str = "2026-03-16T09:15";
    const LATER: &str = "2026-06-01T00:00";

    fn standing(rule: &Rule, steps: &[(i64, &str)], as_of: &str) -> Standing {
        classify(rule, &h(steps), t(DUE), t(as_of)).standing
    }

    #[test]
    fn the_national_rule() {
        let r = Rule::default();
        let filed = (2, "2026-03-02T09:15");
        // Ended by 9 before the due time; 10 after it changes nothing.
        let c = classify(
            &r,
            &h(&[
                filed,
                (4, "2026-03-03T08:00"),
                (9, "2026-03-13T10:00"),
                (10, "2026-03-20T08:00"),
            ]),
            t(DUE),
            t(LATER),
        );
        assert_eq!(c.standing, Standing::OnTime);
        assert_eq!(c.end, Some((Processed, t("2026-03-13T10:00"))));
        // 9 after the due time.
        assert_eq!(
            standing(
                &r,
                &[filed, (4, "2026-03-03T08:00"), (9, "2026-03-16T09:16")],
                LATER
            ),
            Standing::Late
        );
        // Exactly at the due instant: on time (compare instants, not dates).
        assert_eq!(
            standing(&r, &[filed, (4, "2026-03-03T08:00"), (9, DUE)], LATER),
            Standing::OnTime
        );
        // Not accepted, withdrawn, stopped: ended.
        assert_eq!(
            standing(
                &r,
                &[(1, "2026-03-02T09:15"), (3, "2026-03-02T10:00")],
                LATER
            ),
            Standing::OnTime
        );
        assert_eq!(
            standing(&r, &[filed, (7, "2026-03-17T10:00")], LATER),
            Standing::Late
        );
        assert_eq!(
            standing(&r, &[filed, (8, "2026-03-05T10:00")], LATER),
            Standing::OnTime
        );
        // 9 recorded before 10 but dated after it: 9 is still the end.
        let c = classify(
            &r,
            &h(&[
                filed,
                (4, "2026-03-03T08:00"),
                (9, "2026-03-17T08:00"),
                (10, "2026-03-16T08:00"),
            ]),
            t(DUE),
            t(LATER),
        );
        assert_eq!((c.standing, c.end.unwrap().0), (Standing::Late, Processed));
    }

    #[test]
    fn supplement_requests() {
        let r = Rule::default();
        let filed = (2, "2026-03-02T09:15");
        // Outstanding, requested before the due time: the clock stopped on time.
        let c = classify(&r, &h(&[filed, (5, "2026-03-04T10:00")]), t(DUE), t(LATER));
        assert_eq!(c.standing, Standing::OnTime);
        assert_eq!(c.end, Some((SupplementRequested, t("2026-03-04T10:00"))));
        assert_eq!(c.supplements, 1);
        // Supplemented and processing again: open, then overdue past the due time.
        let resumed = [filed, (5, "2026-03-04T10:00"), (2, "2026-03-05T10:00")];
        assert_eq!(
            standing(&r, &resumed, "2026-03-10T00:00"),
            Standing::InProgress
        );
        assert_eq!(standing(&r, &resumed, LATER), Standing::Overdue);
        // Once supplemented, then ended in time: on time.
        let once = [
            filed,
            (5, "2026-03-04T10:00"),
            (4, "2026-03-05T10:00"),
            (9, "2026-03-12T10:00"),
        ];
        assert_eq!(standing(&r, &once, LATER), Standing::OnTime);
        // Twice: late, even when ended in time.
        let twice = [
            filed,
            (5, "2026-03-04T10:00"),
            (2, "2026-03-05T10:00"),
            (5, "2026-03-06T10:00"),
            (4, "2026-03-09T10:00"),
            (9, "2026-03-12T10:00"),
        ];
        let c = classify(&r, &h(&twice), t(DUE), t(LATER));
        assert_eq!((c.standing, c.supplements), (Standing::Late, 2));
        // A second request still outstanding: ended, late.
        assert_eq!(standing(&r, &twice[..4], LATER), Standing::Late);
        // Without supplement_ends_clock an outstanding request leaves the dossier open.
        let open = Rule {
            supplement_ends_clock: false,
            ..Rule::default()
        };
        assert_eq!(
            standing(&open, &[filed, (5, "2026-03-04T10:00")], LATER),
            Standing::Overdue
        );
        // With max_supplements = 2, twice is fine.
        let lenient = Rule {
            max_supplements: 2,
            ..Rule::default()
        };
        assert_eq!(standing(&lenient, &twice, LATER), Standing::OnTime);
    }

    #[test]
    fn as_of_sees_only_what_had_happened() {
        let r = Rule::default();
        let steps = [
            (2, "2026-03-02T09:15"),
            (4, "2026-03-03T08:00"),
            (9, "2026-03-20T10:00"),
        ];
        assert_eq!(
            standing(&r, &steps, "2026-03-10T00:00"),
            Standing::InProgress
        );
        // At the due instant it is not yet overdue; a second later it is.
        assert_eq!(standing(&r, &steps, DUE), Standing::InProgress);
        assert_eq!(
            standing(&r, &steps, "2026-03-16T09:15:01"),
            Standing::Overdue
        );
        assert_eq!(standing(&r, &steps, LATER), Standing::Late);
    }

    #[test]
    fn configured_end_statuses() {
        // Only the result returned (10) ends processing.
        let cfg = OnTimeCfg {
            end_statuses: vec![10],
            ..OnTimeCfg::default()
        };
        let r = Rule::from_config(&cfg).unwrap();
        let steps = [
            (2, "2026-03-02T09:15"),
            (4, "2026-03-03T08:00"),
            (9, "2026-03-13T10:00"),
            (10, "2026-03-17T08:00"),
        ];
        assert_eq!(standing(&r, &steps, LATER), Standing::Late);
        assert_eq!(standing(&Rule::default(), &steps, LATER), Standing::OnTime);
        for bad in [vec![], vec![5], vec![2, 9], vec![11]] {
            let cfg = OnTimeCfg {
                end_statuses: bad.clone(),
                ..OnTimeCfg::default()
            };
            let (key, _) = Rule::from_config(&cfg).unwrap_err();
            assert_eq!(key, "end_statuses", "{bad:?}");
        }
        assert_eq!(
            Rule::default().stops(),
            [
                NotAccepted,
                SupplementRequested,
                Withdrawn,
                Stopped,
                Processed,
                Returned
            ]
        );
    }
}
