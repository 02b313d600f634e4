//! Per-member rate limits (GCRA, `governor`), keyed by member identity, never by IP address.

use crate::config::RateLimit;
use crate::members::Registry;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;

pub struct RateLimits {
    by_member: HashMap<String, DefaultDirectRateLimiter>,
    clock: DefaultClock,
}

fn quota(r: RateLimit) -> Quota {
    let per_minute = NonZeroU32::new(r.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(r.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

/// Seconds until `not_until` (at least 1), for `Retry-After`.
fn wait_secs(not_until: NotUntil<<DefaultClock as Clock>::Instant>, clock: &DefaultClock) -> u64 {
    let wait = not_until.wait_time_from(clock.now());
    (wait.as_secs_f64().ceil() as u64).max(1)
}

/// One quota applied to each key separately (a member's lookups, an officer's lookups). Keys
/// not seen for a while are pruned, so memory stays bounded by the active keys.
pub struct KeyedLimits {
    limiter: DefaultKeyedRateLimiter<String, NoOpMiddleware<<DefaultClock as Clock>::Instant>>,
    clock: DefaultClock,
    checks: std::sync::atomic::AtomicU64,
}

impl KeyedLimits {
    pub fn new(r: RateLimit) -> Self {
        KeyedLimits {
            limiter: RateLimiter::keyed(quota(r)),
            clock: DefaultClock::default(),
            checks: 0.into(),
        }
    }

    /// `Ok(())` if `key` may proceed, else the seconds to wait (at least 1).
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let n = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|nu| wait_secs(nu, &self.clock))
    }
}

impl RateLimits {
    pub fn new(reg: &Registry) -> Self {
        let by_member = reg
            .all()
            .iter()
            .map(|m| (m.id.clone(), RateLimiter::direct(quota(m.rate_limit))))
            .collect();
        RateLimits {
            by_member,
            clock: DefaultClock::default(),
        }
    }

    /// `Ok(())` if the member may proceed, else the seconds to wait (at least 1).
    pub fn check(&self, member: &str) -> Result<(), u64> {
        let Some(l) = self.by_member.get(member) else {
            return Ok(());
        };
        l.check().map_err(|nu| wait_secs(nu, &self.clock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, MemberCfg};

    #[test]
    fn burst_then_wait_and_members_independent() {
        let mut c = Config::default();
        for id in ["a", "b"] {
            c.members.push(MemberCfg {
                id: id.into(),
                kind: "agency".into(),
                cert_subject: Some(format!("CN={id}")),
                rate_limit: Some(RateLimit {
                    per_minute: 2,
                    burst: 2,
                }),
                ..Default::default()
            });
        }
        let r = RateLimits::new(&Registry::from_config(&c).unwrap());
        assert!(r.check("a").is_ok());
        assert!(r.check("a").is_ok());
        let wait = r.check("a").unwrap_err();
        assert!((1..=30).contains(&wait), "{wait}");
        assert!(r.check("b").is_ok());
    }
}
