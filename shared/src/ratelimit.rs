//! Per-API-key rate limits: a token bucket per key, in the memory of each
//! process (each Lambda instance), so one vendor cannot use up what every
//! tenant shares. `EMBEDCARE_RATE_LIMIT_PER_SECOND` tokens a second refill
//! a bucket of `EMBEDCARE_RATE_LIMIT_BURST`; each authenticated call takes
//! one, and a call that finds none is a `429` with `Retry-After`.
//!
//! Per instance: a key served by N warm instances gets up to N times the
//! rate. The HTTP API's route throttles bound the total; this bounds what
//! one key takes of it.

use std::collections::HashMap;
use std::sync::Mutex;

/// Buckets kept at most; beyond, the full ones (the same as no bucket) are
/// dropped first.
const MAX_BUCKETS: usize = 10_000;

pub struct RateLimiter {
    /// Tokens added per millisecond; 0 disables the limiter.
    per_ms: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

impl RateLimiter {
    /// `per_second` tokens a second into buckets of `burst`; `per_second`
    /// 0: no limit.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_ms: f64::from(per_second) / 1000.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token of `key`'s bucket at `now_ms`, or says in how many
    /// milliseconds one will be there.
    pub fn take(&self, key: &str, now_ms: i64) -> Result<(), u64> {
        if self.per_ms <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets.retain(|_, b| self.level(b, now_ms) < self.burst);
            if buckets.len() >= MAX_BUCKETS {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at_ms: now_ms,
        });
        bucket.tokens = self.level(bucket, now_ms);
        bucket.at_ms = bucket.at_ms.max(now_ms);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - bucket.tokens;
        Err((missing / self.per_ms).ceil() as u64)
    }

    /// The tokens of `b` at `now_ms` (a clock that went back adds none).
    fn level(&self, b: &Bucket, now_ms: i64) -> f64 {
        let elapsed = (now_ms - b.at_ms).max(0) as f64;
        (b.tokens + elapsed * self.per_ms).min(self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate_per_key() {
        let l = RateLimiter::new(10, 3);
        for _ in 0..3 {
            assert!(l.take("a", 0).is_ok());
        }
        assert_eq!(l.take("a", 0), Err(100), "one token every 100 ms");
        assert!(l.take("b", 0).is_ok(), "another key has its own bucket");
        assert_eq!(l.take("a", 50), Err(50));
        assert!(l.take("a", 100).is_ok());
        assert!(l.take("a", 100).is_err());
        assert!(l.take("a", 10_000).is_ok(), "refilled, up to the burst");
        assert!(l.take("a", 10_000).is_ok());
        assert!(l.take("a", 10_000).is_ok());
        assert!(l.take("a", 10_000).is_err());
    }

    #[test]
    fn zero_disables_and_buckets_are_bounded() {
        let off = RateLimiter::new(0, 1);
        for _ in 0..100 {
            assert!(off.take("a", 0).is_ok());
        }
        let l = RateLimiter::new(1, 1);
        for i in 0..(MAX_BUCKETS + 10) {
            let _ = l.take(&format!("k{i}"), 0);
        }
        assert!(l.buckets.lock().unwrap().len() <= MAX_BUCKETS);
    }
}
