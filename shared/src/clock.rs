//! Time as a port, so that expiry can be tested without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Seconds since the Unix epoch (the unit of the store's `ttl`).
    fn now_s(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let now = OffsetDateTime::now_utc();
        (now.unix_timestamp_nanos() / 1_000_000) as i64
    }
}

/// A clock that only moves when told to. For tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        Self(Arc::new(AtomicI64::new(start_ms)))
    }
    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn date_time(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The UTC day of epoch milliseconds: "today" for every rule that needs one
/// (a birth date is in the past, a follow-up's default due date).
pub fn day_of(ms: i64) -> time::Date {
    date_time(ms).date()
}

/// Formats epoch milliseconds as RFC 3339 UTC with millisecond precision,
/// e.g. `2025-01-15T14:30:00.123Z` (the timestamps of the error body).
pub fn iso_ms(ms: i64) -> String {
    let dt = date_time(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

/// Epoch milliseconds of an RFC 3339 instant (what [`iso_ms`] writes).
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_instants_read_back() {
        assert_eq!(
            parse_iso_ms("2025-01-15T14:30:00.123Z"),
            Some(1_736_951_400_123)
        );
        assert_eq!(parse_iso_ms(&iso_ms(42)), Some(42));
        assert_eq!(parse_iso_ms("yesterday"), None);
    }

    #[test]
    fn iso_ms_has_millisecond_precision_and_z() {
        assert_eq!(iso_ms(1_736_951_400_123), "2025-01-15T14:30:00.123Z");
        assert_eq!(iso_ms(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn the_day_is_the_utc_day() {
        assert_eq!(day_of(1_736_951_400_123).to_string(), "2025-01-15");
        assert_eq!(day_of(1_736_985_599_999).to_string(), "2025-01-15");
        assert_eq!(day_of(1_736_985_600_000).to_string(), "2025-01-16");
    }
}
