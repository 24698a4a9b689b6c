//! A provider's availability in one room: weekly hours plus dated
//! exceptions (a date's own spans, or none: off that day), in the
//! franchise's zone; and the free slots they leave once the booked cells
//! are taken out.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::hours::{self, CELL_MS, LocalDate, Span, TimeZoneName, WeeklyHours};
use super::room::RoomCode;
use crate::domain::types::{TenantKey, UserId};

/// One date's own spans (empty: not available that day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatedHours {
    pub date: LocalDate,
    pub spans: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    pub tenant_key: TenantKey,
    pub provider_id: UserId,
    pub room_code: RoomCode,
    pub weekly: WeeklyHours,
    #[serde(default)]
    pub exceptions: Vec<DatedHours>,
    pub updated_at: i64,
    pub version: u64,
}

/// At most this many dated exceptions per provider and room.
pub const MAX_EXCEPTIONS: usize = 200;

impl Availability {
    /// The instants (start, end) the provider is available between `from`
    /// and `to`.
    pub fn windows(&self, from: i64, to: i64, zone: &TimeZoneName) -> Vec<(i64, i64)> {
        hours::windows(from, to, zone, |date, day| {
            match self.exceptions.iter().find(|e| e.date.date() == date) {
                Some(e) => e.spans.as_slice(),
                None => self.weekly.spans(day),
            }
        })
    }

    /// Whether `start`..`end` lies inside one window.
    pub fn covers(&self, start: i64, end: i64, zone: &TimeZoneName) -> bool {
        // Windows of adjacent spans touch: merge them first.
        merged(self.windows(start, end, zone))
            .iter()
            .any(|(a, b)| *a <= start && end <= *b)
    }
}

fn merged(mut windows: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    windows.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(windows.len());
    for (a, b) in windows {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The start of the cell that holds `ms`.
pub fn cell_of(ms: i64) -> i64 {
    ms.div_euclid(CELL_MS) * CELL_MS
}

/// Whether `ms` starts a cell.
pub fn on_grid(ms: i64) -> bool {
    ms.rem_euclid(CELL_MS) == 0
}

/// The cells `start`..`end` covers (`start` on the grid).
pub fn cells(start: i64, end: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut c = cell_of(start);
    while c < end {
        out.push(c);
        c += CELL_MS;
    }
    out
}

/// The free slots of `duration_ms` in `windows`, on the grid, starting at
/// or after `not_before`, none of whose cells is in `booked`.
pub fn free_slots(
    windows: Vec<(i64, i64)>,
    booked: &BTreeSet<i64>,
    not_before: i64,
    duration_ms: i64,
    max: usize,
) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for (a, b) in merged(windows) {
        let mut start = cell_of(a.max(not_before) + CELL_MS - 1);
        while start + duration_ms <= b && out.len() < max {
            let end = start + duration_ms;
            if cells(start, end).iter().all(|c| !booked.contains(c)) {
                out.push((start, end));
            }
            start += CELL_MS;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_skip_booked_cells_and_the_past() {
        let h = 3_600_000;
        let windows = vec![(0, h), (h, 2 * h)];
        let booked = BTreeSet::from([CELL_MS, 2 * CELL_MS]);
        let slots = free_slots(windows.clone(), &booked, 0, 2 * CELL_MS, 100);
        // 00:00-00:30 overlaps the booked 00:15; the first free is 00:45.
        assert_eq!(slots.first(), Some(&(3 * CELL_MS, 5 * CELL_MS)));
        assert!(
            slots
                .iter()
                .all(|(a, b)| cells(*a, *b).iter().all(|c| !booked.contains(c)))
        );
        // Merged windows: a slot may span 00:45-01:15.
        assert!(slots.contains(&(3 * CELL_MS, 5 * CELL_MS)));
        assert!(slots.contains(&(h - CELL_MS, h + CELL_MS)));
        let later = free_slots(windows, &BTreeSet::new(), h + 1, CELL_MS, 100);
        assert_eq!(later.first(), Some(&(h + CELL_MS, h + 2 * CELL_MS)));
        assert_eq!(cells(0, CELL_MS * 2), vec![0, CELL_MS]);
        assert!(on_grid(CELL_MS) && !on_grid(CELL_MS + 1));
    }
}
