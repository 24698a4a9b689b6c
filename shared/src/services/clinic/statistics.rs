//! The statistics of a franchise's visits (`GET /v2/statistics/visits`,
//! the embedded visits statistics view): counts by status and by type,
//! waiting and visit times (median, p90), top concerns, over a range of
//! at most 366 days, optionally one room.
//!
//! No Scan, no index: every visit has a small statistics row
//! (`store::encounter_items::VisitStatRow`) in its franchise's month
//! partition (`T#{tenant}#VSTAT#{yyyy-mm}`, by the visit's time), written
//! in the same transaction as every write of the visit — its creation
//! ([`row_put`]), each move ([`row_update`], in `visits::save_move_with`)
//! and its intake (`concerns::put_intake`). A range is one `Query` per
//! month partition and page; the work is bounded ([`MAX_ROWS`]).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::app::App;
use crate::domain::TenantKey;
use crate::domain::clinic::TimeZoneName;
use crate::domain::clinic::{Concern, RoomCode, Visit, VisitStatus, VisitType};
use crate::error::{Error, Result};
use crate::store::Write;
use crate::store::clinic_items::entities;
use crate::store::encounter_items::{
    VisitStatRow, visit_stat_put, visit_stat_update, visit_stats_query,
};

/// A range is at most this long.
pub const MAX_RANGE_DAYS: i64 = 366;
const DAY_MS: i64 = 86_400_000;
/// At most this many visits are counted in one call (then a `400`: ask
/// for a shorter range or one room).
pub const MAX_ROWS: usize = 50_000;
/// The top concerns shown.
pub const TOP_CONCERNS: usize = 10;
/// The code a free-text ("other") concern counts as.
pub const OTHER: &str = "other";

/// What a visit counts as now.
fn row_of(v: &Visit, concerns: Option<&[Concern]>) -> VisitStatRow {
    let (waiting_ms, visit_ms) = match v.durations {
        Some(d) => (Some(d.waiting_ms), Some(d.visit_ms)),
        None => (
            v.actual_start.map(|s| (s - v.arrived_at(None)).max(0)),
            v.actual_start
                .zip(v.actual_end)
                .map(|(s, e)| (e - s).max(0)),
        ),
    };
    let concerns = concerns.map(|list| {
        let mut codes: Vec<String> = Vec::new();
        for c in list {
            let code = c.code.clone().unwrap_or_else(|| OTHER.to_owned());
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        codes
    });
    VisitStatRow {
        visit_id: v.visit_id.clone(),
        visit_type: v.visit_type,
        status: v.status,
        room_code: v.room_code.clone(),
        at: v.start.unwrap_or(v.created_at),
        waiting_ms,
        visit_ms,
        concerns,
    }
}

/// The row of a new visit, with its intake's concerns.
pub fn row_put(v: &Visit, concerns: &[Concern]) -> Result<Write> {
    visit_stat_put(&v.tenant_key, &row_of(v, Some(concerns)))
}

/// The row of a visit that moved (its concerns untouched), or whose
/// intake changed (`concerns`).
pub fn row_update(v: &Visit, concerns: Option<&[Concern]>) -> Result<Write> {
    visit_stat_update(&v.tenant_key, &row_of(v, concerns))
}

/// A bound of a range as given: an ISO date (`2026-12-01`, a day of the
/// franchise's time zone: its first instant for `from`, its last for
/// `to`) or an RFC 3339 instant. `None`: neither.
pub fn bound(raw: &str, zone: &TimeZoneName, end: bool) -> Option<i64> {
    let raw = raw.trim();
    if raw.len() == 10 {
        let date: Date = raw.parse().ok()?;
        let day = if end { date.tomorrow().ok()? } else { date };
        let first = day
            .at(0, 0, 0, 0)
            .to_zoned_datetime(zone.zone())
            .ok()?
            .timestamp()
            .as_millisecond();
        return Some(if end { first - 1 } else { first });
    }
    let t: Timestamp = raw.parse().ok()?;
    Some(t.as_millisecond())
}

/// The range of a request, checked: `from` ≤ `to`, at most
/// [`MAX_RANGE_DAYS`].
pub fn range(from: i64, to: i64) -> Result<(i64, i64)> {
    if from < 0 || to < from {
        return Err(Error::invalid("from must be before to"));
    }
    if to - from >= MAX_RANGE_DAYS * DAY_MS {
        return Err(Error::invalid(format!(
            "from and to are at most {MAX_RANGE_DAYS} days apart"
        )));
    }
    Ok((from, to))
}

/// Median and 90th percentile of some durations, in milliseconds
/// (nearest rank: the smallest value with at least that share of the
/// values at or below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Times {
    pub count: usize,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

impl Times {
    fn of(mut values: Vec<i64>) -> Self {
        values.sort_unstable();
        let n = values.len();
        let rank = |p: usize| -> Option<i64> {
            let k = (p * n).div_ceil(100).max(1);
            values.get(k - 1).copied()
        };
        Times {
            count: n,
            median_ms: rank(50),
            p90_ms: rank(90),
        }
    }
}

/// The statistics of a range.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VisitStatistics {
    pub total: usize,
    /// Every status, in the state machine's order (0 included).
    pub by_status: Vec<(VisitStatus, usize)>,
    /// Every type (0 included).
    pub by_type: Vec<(VisitType, usize)>,
    pub waiting: Times,
    pub visit: Times,
    /// The most frequent concern codes (each counted once per visit), most
    /// frequent first, then by code.
    pub top_concerns: Vec<(String, usize)>,
}

/// The statistics of `tenant`'s visits from `from` to `to` (inclusive,
/// epoch ms, checked by [`range`]), of one room when asked.
pub async fn visits(
    app: &App,
    tenant: &TenantKey,
    from: i64,
    to: i64,
    room: Option<&RoomCode>,
) -> Result<VisitStatistics> {
    let (from, to) = range(from, to)?;
    let mut rows: Vec<VisitStatRow> = Vec::new();
    let mut read = 0usize;
    let mut month = from;
    while month <= to {
        let mut q = visit_stats_query(tenant, month, from, to);
        loop {
            let page = app.store.query(&q).await?;
            read += page.items.len();
            if read > MAX_ROWS {
                return Err(Error::invalid(format!(
                    "This range holds more than {MAX_ROWS} visits: ask for a shorter one"
                )));
            }
            let found: Vec<VisitStatRow> = entities(&page.items)?;
            rows.extend(
                found
                    .into_iter()
                    .filter(|r| room.is_none_or(|c| *c == r.room_code)),
            );
            match page.next {
                Some(next) => q.start_after = Some(next),
                None => break,
            }
        }
        month = next_month(month);
    }
    Ok(summarize(&rows))
}

/// The first instant (UTC) of the month after the one of `at`.
fn next_month(at: i64) -> i64 {
    let d = crate::clock::day_of(at);
    let (y, m) = match d.month() {
        time::Month::December => (d.year() + 1, time::Month::January),
        m => (d.year(), m.next()),
    };
    time::Date::from_calendar_date(y, m, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
        .unwrap_or(i64::MAX)
}

fn summarize(rows: &[VisitStatRow]) -> VisitStatistics {
    let count = |f: &dyn Fn(&VisitStatRow) -> bool| rows.iter().filter(|r| f(r)).count();
    let by_status = VisitStatus::ALL
        .into_iter()
        .map(|s| (s, count(&|r| r.status == s)))
        .collect();
    let by_type = VisitType::ALL
        .into_iter()
        .map(|t| (t, count(&|r| r.visit_type == t)))
        .collect();
    let mut concerns: BTreeMap<&str, usize> = BTreeMap::new();
    for code in rows.iter().flat_map(|r| r.concerns.iter().flatten()) {
        *concerns.entry(code.as_str()).or_default() += 1;
    }
    let mut top: Vec<(String, usize)> = concerns
        .into_iter()
        .map(|(c, n)| (c.to_owned(), n))
        .collect();
    // Stable: equal counts stay in code order.
    top.sort_by_key(|t| std::cmp::Reverse(t.1));
    top.truncate(TOP_CONCERNS);
    VisitStatistics {
        total: rows.len(),
        by_status,
        by_type,
        waiting: Times::of(rows.iter().filter_map(|r| r.waiting_ms).collect()),
        visit: Times::of(rows.iter().filter_map(|r| r.visit_ms).collect()),
        top_concerns: top,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let t = Times::of(vec![50, 10, 40, 30, 20, 60, 70, 80, 90, 100]);
        assert_eq!((t.count, t.median_ms, t.p90_ms), (10, Some(50), Some(90)));
        let one = Times::of(vec![7]);
        assert_eq!((one.median_ms, one.p90_ms), (Some(7), Some(7)));
        let three = Times::of(vec![3, 1, 2]);
        assert_eq!((three.median_ms, three.p90_ms), (Some(2), Some(3)));
        assert_eq!(Times::of(Vec::new()), Times::default());
    }

    #[test]
    fn bounds_dates_in_the_zone_and_instants() {
        let utc = TimeZoneName::parse("UTC").unwrap();
        let mtl = TimeZoneName::parse("America/Toronto").unwrap();
        let day = crate::clock::parse_iso_ms("2026-12-01T00:00:00Z").unwrap();
        assert_eq!(bound("2026-12-01", &utc, false), Some(day));
        assert_eq!(bound("2026-12-01", &utc, true), Some(day + DAY_MS - 1));
        assert_eq!(bound("2026-12-01", &mtl, false), Some(day + 5 * 3_600_000));
        assert_eq!(
            bound("2026-12-01T10:00:00+01:00", &mtl, false),
            Some(day + 9 * 3_600_000)
        );
        for bad in [
            "2026-13-01",
            "2026-12-1",
            "yesterday",
            "",
            "2026-12-01T10:00:00",
        ] {
            assert_eq!(bound(bad, &utc, false), None, "{bad}");
        }
        assert!(range(day, day - 1).is_err());
        assert!(range(day, day + MAX_RANGE_DAYS * DAY_MS).is_err());
        assert!(range(day, day + MAX_RANGE_DAYS * DAY_MS - 1).is_ok());
        assert_eq!(next_month(day + 5), day + 31 * DAY_MS);
    }
}
