//! Free slots and bookings. A booking claims, in one transaction with the
//! visit, every 15-minute cell of the provider's calendar that the visit
//! covers (a conditional put each: the cell must not exist), so two
//! bookings of overlapping time cannot both land. Free slots are the
//! provider's availability less the booked cells of the range, read with
//! one query of the provider's cell partition.

use std::collections::BTreeSet;

use crate::app::App;
use crate::domain::clinic::availability::{cells, free_slots as slots_of};
use crate::domain::clinic::{Room, VisitType};
use crate::domain::{Franchise, UserId, VisitId};
use crate::error::{Error, Result};
use crate::store::clinic_items::{cell_claim, cell_release, cell_start};
use crate::store::{Index, Query, SortCond, Write, keys};

/// At most this long a range of free slots (31 days).
pub const MAX_RANGE_MS: i64 = 31 * 24 * 3_600_000;
/// At most this many slots in one answer.
pub const MAX_SLOTS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub provider_id: UserId,
    pub start: i64,
    pub end: i64,
}

/// The booked cells of a provider from `from` to `to` (one query; a range
/// holds at most 31 days of 96 cells, read page after page).
pub async fn booked_cells(
    app: &App,
    franchise: &Franchise,
    provider: &UserId,
    from: i64,
    to: i64,
) -> Result<BTreeSet<i64>> {
    let mut q = Query::partition(
        Index::Table,
        keys::cells_partition(&franchise.tenant_key, provider),
    );
    q.sort = SortCond::Between(keys::cell_sort(from.max(0)), keys::cell_sort(to.max(0)));
    q.limit = 1000;
    let mut out = BTreeSet::new();
    loop {
        let page = app.store.query(&q).await?;
        out.extend(page.items.iter().filter_map(cell_start));
        match page.next {
            Some(next) => q.start_after = Some(next),
            None => return Ok(out),
        }
    }
}

/// `GET /v2/availability`: the free slots of `duration` minutes (default:
/// the room's scheduled duration) of the room's providers (or one of them)
/// from `from` to `to`, never one already booked nor in the past.
pub async fn free_slots(
    app: &App,
    franchise: &Franchise,
    room: &Room,
    provider: Option<&UserId>,
    from: i64,
    to: i64,
    duration_min: Option<u32>,
) -> Result<Vec<Slot>> {
    if to <= from || to - from > MAX_RANGE_MS {
        return Err(Error::invalid(
            "to must be after from, at most 31 days later",
        ));
    }
    let duration = duration_min.unwrap_or(room.durations.of(VisitType::Scheduled));
    if !crate::domain::clinic::Durations::valid(duration) {
        return Err(Error::invalid(format!(
            "duration {}",
            crate::domain::clinic::Durations::RULE
        )));
    }
    let providers: Vec<UserId> = match provider {
        Some(p) if room.has_provider(p) => vec![p.clone()],
        Some(_) => return Ok(Vec::new()),
        None => room.provider_ids.clone(),
    };
    let avails =
        super::rooms::availabilities(app, &franchise.tenant_key, &room.code, &providers).await?;
    let now = app.now_ms();
    let mut out = Vec::new();
    for a in &avails {
        let booked = booked_cells(app, franchise, &a.provider_id, from, to).await?;
        let windows = a.windows(from, to, &franchise.time_zone);
        let room_left = MAX_SLOTS.saturating_sub(out.len());
        for (start, end) in slots_of(
            windows,
            &booked,
            now,
            i64::from(duration) * 60_000,
            room_left,
        ) {
            out.push(Slot {
                provider_id: a.provider_id.clone(),
                start,
                end,
            });
        }
    }
    out.sort_by(|a, b| (a.start, &a.provider_id).cmp(&(b.start, &b.provider_id)));
    Ok(out)
}

/// The claims of the cells `start`..`end` of `provider` by `visit`.
pub fn claims(
    franchise: &Franchise,
    provider: &UserId,
    start: i64,
    end: i64,
    visit: &VisitId,
) -> Vec<Write> {
    cells(start, end)
        .into_iter()
        .map(|c| cell_claim(&franchise.tenant_key, provider, c, visit))
        .collect()
}

/// Their release (a cancelled booking frees its time).
pub fn releases(
    franchise: &Franchise,
    provider: &UserId,
    start: i64,
    end: i64,
    visit: &VisitId,
) -> Vec<Write> {
    cells(start, end)
        .into_iter()
        .map(|c| cell_release(&franchise.tenant_key, provider, c, visit))
        .collect()
}
