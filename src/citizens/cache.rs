//! An answer cache that is off by default. When enabled it lives in memory only, keyed by a
//! keyed hash of the question (never the ID or name in clear), each answer kept at most
//! `ttl`, at most `max_entries` answers (oldest evicted first).

use lienthong_contract::citizen::LookupAnswer;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub type Key = [u8; 32];

pub struct Cache {
    ttl: Duration,
    max: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, (Instant, Arc<LookupAnswer>)>,
    order: VecDeque<(Instant, Key)>,
}

impl Cache {
    pub fn new(ttl: Duration, max: usize) -> Cache {
        Cache {
            ttl,
            max: max.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn get(&self, k: &Key) -> Option<Arc<LookupAnswer>> {
        let mut g = self.inner.lock().ok()?;
        Self::expire(&mut g, self.ttl);
        g.map.get(k).map(|(_, a)| a.clone())
    }

    pub fn put(&self, k: Key, a: LookupAnswer) {
        let Ok(mut g) = self.inner.lock() else { return };
        Self::expire(&mut g, self.ttl);
        let now = Instant::now();
        g.map.insert(k, (now, Arc::new(a)));
        g.order.push_back((now, k));
        while g.map.len() > self.max {
            let Some((at, old)) = g.order.pop_front() else {
                break;
            };
            if g.map.get(&old).is_some_and(|(t, _)| *t == at) {
                g.map.remove(&old);
            }
        }
        // Stale order entries of replaced keys never outnumber the live ones by much.
        if g.order.len() > 2 * self.max {
            let map = &g.map;
            let live: VecDeque<(Instant, Key)> = g
                .order
                .iter()
                .filter(|(t, k)| map.get(k).is_some_and(|(at, _)| at == t))
                .copied()
                .collect();
            g.order = live;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().map(|g| g.map.len()).unwrap_or(0)
    }

    fn expire(g: &mut Inner, ttl: Duration) {
        let now = Instant::now();
        while let Some((at, k)) = g.order.front().copied() {
            if now.duration_since(at) < ttl {
                break;
            }
            g.order.pop_front();
            if g.map.get(&k).is_some_and(|(t, _)| *t == at) {
                g.map.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_in_entries_and_time() {
        let c = Cache::new(Duration::from_millis(50), 2);
        c.put([1; 32], LookupAnswer::NotFound);
        c.put([2; 32], LookupAnswer::NotFound);
        c.put([3; 32], LookupAnswer::NotFound);
        assert_eq!(c.len(), 2);
        assert!(c.get(&[1; 32]).is_none());
        assert!(c.get(&[3; 32]).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get(&[3; 32]).is_none());
        assert_eq!(c.len(), 0);
    }
}
