//! Revocation answers and their freshness: an in-process, bounded cache of OCSP answers keyed by
//! certificate id, and the time rules shared with CRLs.
//!
//! Rules, all judged at an explicit `now` (unix seconds):
//! - an answer is used until its `nextUpdate` (an answer without one lasts
//!   [`RevocationCache::default_validity`] after its `thisUpdate`); a cached one is served
//!   without asking the source again;
//! - after that the source is asked, and a fresh answer replaces the cached one;
//! - when the source cannot answer, a cached *good* answer is still used up to `grace` seconds
//!   past its `nextUpdate`, with a warning that says how stale it is; beyond that the status is
//!   unknown (fail closed: `revocation_unknown`). `grace = 0` is strictly fail closed;
//! - a *revoked* answer is never rescued or overridden by these rules: revoked stays revoked.
//!
//! Two concurrent misses for the same certificate may both ask the source (the lock is never
//! held across network I/O); the later answer wins.

use openssl::asn1::{Asn1GeneralizedTimeRef, Asn1Time, Asn1TimeRef};
use openssl::error::ErrorStack;
use std::collections::HashMap;
use std::sync::Mutex;

/// Allowance for clocks that disagree: how far in the future a `thisUpdate` may lie, and how far
/// past its `nextUpdate` a response that was just fetched is still taken as fresh.
pub const CLOCK_SKEW: i64 = 300;
/// Default bound on cached answers.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// Default lifetime of an answer that has no `nextUpdate`, counted from its `thisUpdate`.
pub const DEFAULT_VALIDITY: i64 = 3_600;

/// What a source said about a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertStatus {
    Good,
    Revoked,
}

/// One answer from a revocation source (an OCSP response, a CRL), times in unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: CertStatus,
    pub this_update: i64,
    /// `None` when the source did not say (the cache's default validity applies).
    pub next_update: Option<i64>,
}

/// Why a source gave no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// It could not answer (down, timeout, bad signature, error status, stale response): a
    /// cached answer may be used within grace.
    Unavailable(String),
    /// It answered that it does not know the certificate: unknown, no grace.
    Unknown(String),
}

/// Where `now` falls in an answer's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// `thisUpdate` is further in the future than the clock-skew allowance.
    NotYetValid,
    Fresh,
    /// Past `nextUpdate` by `by` seconds, within grace.
    StaleWithinGrace {
        by: i64,
    },
    /// Past `nextUpdate` by `by` seconds, beyond grace.
    Expired {
        by: i64,
    },
}

/// An answer's validity window: `[this_update, next_update)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub this_update: i64,
    pub next_update: i64,
}

impl Window {
    /// Where `now` falls: before `thisUpdate` (beyond [`CLOCK_SKEW`]), before `nextUpdate` +
    /// `late`, within `grace` after that, or beyond.
    pub fn at(&self, now: i64, late: i64, grace: i64) -> Freshness {
        let end = self.next_update.saturating_add(late);
        if self.this_update > now.saturating_add(CLOCK_SKEW) {
            Freshness::NotYetValid
        } else if now < end {
            Freshness::Fresh
        } else if now < end.saturating_add(grace) {
            Freshness::StaleWithinGrace {
                by: now - self.next_update,
            }
        } else {
            Freshness::Expired {
                by: now - self.next_update,
            }
        }
    }
}

/// The resulting status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked,
    Unknown,
}

/// A revocation verdict for one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// Served from the cache rather than from an answer fetched just now.
    pub cached: bool,
    /// `nextUpdate` of the answer the verdict rests on.
    pub next_update: Option<i64>,
    /// Seconds past `nextUpdate` when a stale answer was used within grace.
    pub stale_by: Option<i64>,
    /// A warning (stale within grace) or why the status is unknown.
    pub note: Option<String>,
}

impl Verdict {
    /// No status: fail closed.
    pub fn unknown(why: impl Into<String>) -> Self {
        Verdict {
            status: Status::Unknown,
            cached: false,
            next_update: None,
            stale_by: None,
            note: Some(why.into()),
        }
    }

    fn from_answer(a: &Window, status: CertStatus, cached: bool) -> Self {
        Verdict {
            status: match status {
                CertStatus::Good => Status::Good,
                CertStatus::Revoked => Status::Revoked,
            },
            cached,
            next_update: Some(a.next_update),
            stale_by: None,
            note: None,
        }
    }
}

/// Judge an answer that cannot be refreshed (a local CRL, or a cached answer while its source
/// is down) at `now`: revoked stays revoked; good is good while fresh, good with a warning
/// within `grace` past `nextUpdate`, unknown beyond. `why` says why no fresher answer exists.
pub fn judge(
    window: &Window,
    status: CertStatus,
    cached: bool,
    now: i64,
    grace: i64,
    why: &str,
) -> Verdict {
    let mut v = Verdict::from_answer(window, status, cached);
    if status == CertStatus::Revoked {
        return v;
    }
    match window.at(now, 0, grace) {
        Freshness::Fresh => {}
        Freshness::StaleWithinGrace { by } => {
            v.stale_by = Some(by);
            v.note = Some(format!(
                "revocation status is stale within grace: answer of {}, {by} s past its nextUpdate {} (grace {grace} s){}",
                rfc3339(window.this_update),
                rfc3339(window.next_update),
                suffix(why),
            ));
        }
        Freshness::Expired { by } => {
            return Verdict::unknown(format!(
                "revocation status expired {by} s ago at {} (grace {grace} s){}",
                rfc3339(window.next_update),
                suffix(why),
            ))
        }
        Freshness::NotYetValid => {
            return Verdict::unknown(format!(
                "revocation status is not valid before {}{}",
                rfc3339(window.this_update),
                suffix(why),
            ))
        }
    }
    v
}

fn suffix(why: &str) -> String {
    if why.is_empty() {
        String::new()
    } else {
        format!(": {why}")
    }
}

/// RFC 3339 text of a unix time (the number itself when out of range).
pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string())
}

/// Unix seconds of an ASN.1 time.
pub fn unix_of(t: &Asn1TimeRef) -> Result<i64, ErrorStack> {
    let epoch = Asn1Time::from_unix(0)?;
    let d = epoch.diff(t)?;
    Ok(i64::from(d.days) * 86_400 + i64::from(d.secs))
}

/// Unix seconds of an ASN.1 GeneralizedTime (OCSP `thisUpdate` / `nextUpdate`).
pub fn unix_of_generalized(t: &Asn1GeneralizedTimeRef) -> Result<i64, ErrorStack> {
    use foreign_types_shared::ForeignTypeRef;
    // SAFETY: ASN1_GENERALIZEDTIME and ASN1_TIME are the same C type (asn1_string_st), and
    // ASN1_TIME_diff accepts GeneralizedTime; the reference lives as long as `t`.
    let t = unsafe { Asn1TimeRef::from_ptr(t.as_ptr().cast()) };
    unix_of(t)
}

struct Entry {
    status: CertStatus,
    window: Window,
    /// Insertion order, for eviction.
    seq: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Vec<u8>, Entry>,
    seq: u64,
}

/// Revocation answers by certificate id, bounded (the oldest entry goes first), shared between
/// threads.
pub struct RevocationCache {
    inner: Mutex<Inner>,
    max_entries: usize,
    default_validity: i64,
}

impl Default for RevocationCache {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_ENTRIES, DEFAULT_VALIDITY)
    }
}

impl RevocationCache {
    /// A cache of at most `max_entries` answers (at least one); answers without `nextUpdate`
    /// last `default_validity` seconds.
    pub fn new(max_entries: usize, default_validity: i64) -> Self {
        RevocationCache {
            inner: Mutex::new(Inner::default()),
            max_entries: max_entries.max(1),
            default_validity,
        }
    }

    /// Lifetime given to answers that have no `nextUpdate`.
    pub fn default_validity(&self) -> i64 {
        self.default_validity
    }

    /// The validity window of `a`.
    pub fn window(&self, a: &Answer) -> Window {
        Window {
            this_update: a.this_update,
            next_update: a
                .next_update
                .unwrap_or(a.this_update.saturating_add(self.default_validity)),
        }
    }

    /// Number of cached answers.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-updated: keep using it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self, key: &[u8]) -> Option<(CertStatus, Window)> {
        self.lock().map.get(key).map(|e| (e.status, e.window))
    }

    fn insert(&self, key: &[u8], status: CertStatus, window: Window) {
        let mut inner = self.lock();
        inner.seq += 1;
        let seq = inner.seq;
        if !inner.map.contains_key(key) && inner.map.len() >= self.max_entries {
            let oldest = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.seq)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                inner.map.remove(&k);
            }
        }
        inner.map.insert(
            key.to_vec(),
            Entry {
                status,
                window,
                seq,
            },
        );
    }

    /// The status of the certificate `key` names at `now`: from the cache while fresh, else
    /// from `fetch` (cached when fresh), else from the cached answer within `grace` seconds.
    pub fn resolve(
        &self,
        key: &[u8],
        now: i64,
        grace: i64,
        fetch: impl FnOnce() -> Result<Answer, FetchError>,
    ) -> Verdict {
        let cached = self.cached(key);
        if let Some((status, window)) = cached {
            if window.at(now, 0, 0) == Freshness::Fresh {
                return Verdict::from_answer(&window, status, true);
            }
        }
        let why = match fetch() {
            Ok(a) => {
                let window = self.window(&a);
                match window.at(now, CLOCK_SKEW, 0) {
                    Freshness::Fresh => {
                        self.insert(key, a.status, window);
                        return Verdict::from_answer(&window, a.status, false);
                    }
                    Freshness::NotYetValid => format!(
                        "response thisUpdate {} is in the future",
                        rfc3339(a.this_update)
                    ),
                    Freshness::StaleWithinGrace { .. } | Freshness::Expired { .. } => format!(
                        "stale response: nextUpdate {} has passed",
                        rfc3339(window.next_update)
                    ),
                }
            }
            Err(FetchError::Unavailable(why)) => why,
            Err(FetchError::Unknown(why)) => {
                return match cached {
                    Some((CertStatus::Revoked, w)) => {
                        Verdict::from_answer(&w, CertStatus::Revoked, true)
                    }
                    _ => Verdict::unknown(why),
                }
            }
        };
        match cached {
            Some((status, window)) => judge(&window, status, true, now, grace, &why),
            None => Verdict::unknown(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const T0: i64 = 1_700_000_000;
    const HOUR: i64 = 3_600;

    fn good(this: i64, next: i64) -> Result<Answer, FetchError> {
        Ok(Answer {
            status: CertStatus::Good,
            this_update: this,
            next_update: Some(next),
        })
    }

    fn revoked(this: i64, next: i64) -> Result<Answer, FetchError> {
        Ok(Answer {
            status: CertStatus::Revoked,
            ..good(this, next).unwrap()
        })
    }

    fn down() -> Result<Answer, FetchError> {
        Err(FetchError::Unavailable("connection refused".into()))
    }

    /// A fetch that counts its calls.
    struct Source {
        calls: Cell<u32>,
    }

    impl Source {
        fn new() -> Self {
            Source {
                calls: Cell::new(0),
            }
        }
        fn ask(
            &self,
            r: Result<Answer, FetchError>,
        ) -> impl FnOnce() -> Result<Answer, FetchError> + '_ {
            move || {
                self.calls.set(self.calls.get() + 1);
                r
            }
        }
    }

    #[test]
    fn fresh_answer_is_served_from_cache_without_asking() {
        let c = RevocationCache::default();
        let s = Source::new();
        let v = c.resolve(b"k", T0, HOUR, s.ask(good(T0, T0 + HOUR)));
        assert_eq!(
            (v.status, v.cached, s.calls.get()),
            (Status::Good, false, 1)
        );
        let v = c.resolve(b"k", T0 + HOUR - 1, HOUR, s.ask(down()));
        assert_eq!((v.status, v.cached, s.calls.get()), (Status::Good, true, 1));
        assert_eq!(v.next_update, Some(T0 + HOUR));
        assert_eq!(v.note, None);
    }

    #[test]
    fn expired_answer_is_refreshed_and_replaced() {
        let c = RevocationCache::default();
        let s = Source::new();
        c.resolve(b"k", T0, HOUR, s.ask(good(T0, T0 + HOUR)));
        let v = c.resolve(
            b"k",
            T0 + HOUR,
            HOUR,
            s.ask(revoked(T0 + HOUR, T0 + 2 * HOUR)),
        );
        assert_eq!(
            (v.status, v.cached, s.calls.get()),
            (Status::Revoked, false, 2)
        );
        // The new answer is the cached one now.
        let v = c.resolve(b"k", T0 + HOUR + 10, HOUR, s.ask(down()));
        assert_eq!(
            (v.status, v.cached, s.calls.get()),
            (Status::Revoked, true, 2)
        );
        assert_eq!(v.next_update, Some(T0 + 2 * HOUR));
    }

    #[test]
    fn source_down_within_grace_is_good_with_a_warning() {
        let c = RevocationCache::default();
        c.resolve(b"k", T0, HOUR, || good(T0, T0 + HOUR));
        let v = c.resolve(b"k", T0 + HOUR + 1800, HOUR, down);
        assert_eq!((v.status, v.cached), (Status::Good, true));
        assert_eq!(v.stale_by, Some(1800));
        let note = v.note.unwrap();
        assert!(note.contains("stale within grace"), "{note}");
        assert!(note.contains("1800 s past"), "{note}");
        assert!(note.contains("connection refused"), "{note}");
    }

    #[test]
    fn source_down_beyond_grace_is_unknown() {
        let c = RevocationCache::default();
        c.resolve(b"k", T0, HOUR, || good(T0, T0 + HOUR));
        let v = c.resolve(b"k", T0 + 2 * HOUR, HOUR, down);
        assert_eq!(v.status, Status::Unknown);
        assert!(v.note.unwrap().contains("expired 3600 s ago"));
        // Nothing cached at all: unknown too.
        let v = c.resolve(b"other", T0, HOUR, down);
        assert_eq!(v.status, Status::Unknown);
    }

    #[test]
    fn revoked_is_never_rescued_or_overridden() {
        let c = RevocationCache::default();
        c.resolve(b"k", T0, HOUR, || revoked(T0, T0 + HOUR));
        for now in [T0 + HOUR + 1, T0 + 100 * HOUR] {
            let v = c.resolve(b"k", now, HOUR, down);
            assert_eq!((v.status, v.stale_by), (Status::Revoked, None), "{now}");
        }
        let v = c.resolve(b"k", T0 + 2 * HOUR, 0, || {
            Err(FetchError::Unknown("unknown certificate".into()))
        });
        assert_eq!(v.status, Status::Revoked);
    }

    #[test]
    fn grace_zero_is_strictly_fail_closed() {
        let c = RevocationCache::default();
        c.resolve(b"k", T0, 0, || good(T0, T0 + HOUR));
        assert_eq!(c.resolve(b"k", T0 + HOUR - 1, 0, down).status, Status::Good);
        assert_eq!(c.resolve(b"k", T0 + HOUR, 0, down).status, Status::Unknown);
    }

    #[test]
    fn new_answers_are_judged_at_now_with_skew() {
        let c = RevocationCache::default();
        // Issued in the future beyond the skew: refused, nothing cached.
        let v = c.resolve(b"k", T0, HOUR, || good(T0 + CLOCK_SKEW + 1, T0 + HOUR));
        assert_eq!(v.status, Status::Unknown);
        assert!(v.note.unwrap().contains("in the future"));
        assert!(c.is_empty());
        // Within the skew: taken.
        let v = c.resolve(b"k", T0, HOUR, || good(T0 + 10, T0 + HOUR));
        assert_eq!(v.status, Status::Good);
        // A stale new answer is no answer: the cached one within grace is used instead.
        let v = c.resolve(b"k", T0 + HOUR + 600, HOUR, || good(T0, T0 + HOUR));
        assert_eq!((v.status, v.stale_by), (Status::Good, Some(600)));
        assert!(v.note.unwrap().contains("stale response"));
        // Just past nextUpdate but within the skew: fresh.
        let c = RevocationCache::default();
        let v = c.resolve(b"k", T0 + HOUR + 100, 0, || good(T0, T0 + HOUR));
        assert_eq!((v.status, v.cached), (Status::Good, false));
    }

    #[test]
    fn answer_without_next_update_lasts_the_default() {
        let c = RevocationCache::new(10, 600);
        let s = Source::new();
        let none = || {
            Ok(Answer {
                status: CertStatus::Good,
                this_update: T0,
                next_update: None,
            })
        };
        let v = c.resolve(b"k", T0, 0, s.ask(none()));
        assert_eq!(v.next_update, Some(T0 + 600));
        c.resolve(b"k", T0 + 599, 0, s.ask(down()));
        assert_eq!(s.calls.get(), 1);
        assert_eq!(
            c.resolve(b"k", T0 + 600, 0, s.ask(down())).status,
            Status::Unknown
        );
        assert_eq!(s.calls.get(), 2);
    }

    #[test]
    fn entries_are_bounded_and_the_oldest_goes_first() {
        let c = RevocationCache::new(3, HOUR);
        for k in 0u8..5 {
            c.resolve(&[k], T0, 0, || good(T0, T0 + HOUR));
        }
        assert_eq!(c.len(), 3);
        let s = Source::new();
        for k in 2u8..5 {
            c.resolve(&[k], T0 + 1, 0, s.ask(down()));
        }
        assert_eq!(s.calls.get(), 0, "the newest three are cached");
        assert_eq!(c.resolve(&[0], T0 + 1, 0, down).status, Status::Unknown);
    }

    #[test]
    fn local_answers_follow_the_same_rules() {
        let w = Window {
            this_update: T0,
            next_update: T0 + HOUR,
        };
        let j = |now, grace| judge(&w, CertStatus::Good, false, now, grace, "CRL");
        assert_eq!(j(T0 + 10, 0).status, Status::Good);
        assert_eq!(j(T0 + HOUR + 10, 60).stale_by, Some(10));
        assert_eq!(j(T0 + HOUR + 60, 60).status, Status::Unknown);
        assert_eq!(j(T0 - CLOCK_SKEW - 1, HOUR).status, Status::Unknown);
        let r = judge(&w, CertStatus::Revoked, false, T0 + 100 * HOUR, 0, "CRL");
        assert_eq!(r.status, Status::Revoked);
    }
}
