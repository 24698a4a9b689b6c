//! The tasks time makes due: the moves time makes by itself (a scheduled
//! visit nobody started by its end is `NO_SHOW`; a walk-in still waiting
//! when its room closes, an eConsult nobody accepted in time, `EXPIRED`),
//! and the reminders the local scheduler keeps (`schedule::store`).
//!
//! Every visit that time may move has a lapse task, written with the
//! visit and removed by the move that ends it (`visits`); a read also
//! lapses a visit (`visits::with_lapse`), and this sweep moves those
//! nobody reads, with their events: the `visit-sweeper` function on a
//! schedule in AWS, a loop of the local server on one machine. It reads
//! the tasks by the hour they are due in (gsi1 `DUE#{hour}`), for the
//! hours of the last [`LOOKBACK_MS`], up to now: by index, never by scan,
//! in bounded pages. A task whose visit did not move (its room still
//! open: its hours changed) is armed again for later; one whose visit is
//! gone or final is dropped.

use serde::Serialize;

use super::reminders;
use super::rooms;
use super::visits::{VISIT_NOT_FOUND, with_lapse};
use crate::app::App;
use crate::domain::clinic::{DueTask, Visit, VisitStatus};
use crate::error::Result;
use crate::notify::Notifier;
use crate::store::clinic_items::{Due, due_of, due_removal};
use crate::store::{Cond, Index, Query, SortCond, Write, keys};

/// How far back a sweep looks for tasks not done yet (a sweep that did not
/// run for longer leaves older tasks to the reads that lapse them).
pub const LOOKBACK_MS: i64 = 24 * 3_600_000;
/// Tasks read per query.
const PAGE: usize = 100;
/// Tasks done per sweep at most: the next sweep does the rest.
pub const MAX_PER_SWEEP: usize = 1000;
const HOUR_MS: i64 = 3_600_000;

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Swept {
    /// Visits moved by time (with their events).
    pub lapsed: u32,
    /// Lapse tasks armed again for later (their visit did not move yet).
    pub rearmed: u32,
    /// Tasks dropped: their visit is gone, final, or started.
    pub dropped: u32,
    /// Reminders sent (or found sent already).
    pub reminded: u32,
    /// Tasks that failed, left for the next sweep.
    pub failed: u32,
}

/// The tasks due at or before `now`, of the last [`LOOKBACK_MS`], oldest
/// first, at most `max`.
pub async fn due_tasks(app: &App, now: i64, max: usize) -> Result<Vec<Due>> {
    let mut out = Vec::new();
    let first = (now - LOOKBACK_MS).div_euclid(HOUR_MS);
    for hour in first..=now.div_euclid(HOUR_MS) {
        let mut q = Query::partition(Index::Gsi1, keys::due_hour(hour * HOUR_MS));
        q.sort = SortCond::Between("0".to_owned(), keys::due_sort_upto(now));
        q.limit = PAGE;
        loop {
            let page = app.store.query(&q).await?;
            out.extend(page.items.iter().filter_map(due_of));
            if out.len() >= max {
                out.truncate(max);
                return Ok(out);
            }
            match page.next {
                Some(next) => q.start_after = Some(next),
                None => break,
            }
        }
    }
    Ok(out)
}

/// Does what is due now: the lapses, and, with a `notifier` (the local
/// server), the reminders the store keeps.
pub async fn sweep(app: &App, notifier: Option<&dyn Notifier>) -> Result<Swept> {
    let now = app.now_ms();
    let mut swept = Swept::default();
    for due in due_tasks(app, now, MAX_PER_SWEEP).await? {
        let done = match (due.task, notifier) {
            (DueTask::Lapse, _) => lapse(app, &due, now, &mut swept).await,
            (DueTask::Remind(kind), Some(n)) => {
                match reminders::send_reminder(app, n, &due.tenant, &due.visit_id, kind).await {
                    Ok(_) => {
                        swept.reminded += 1;
                        drop_task(app, &due).await
                    }
                    Err(e) => Err(e),
                }
            }
            // A reminder is the local server's to send.
            (DueTask::Remind(_), None) => Ok(()),
        };
        if let Err(e) = done {
            swept.failed += 1;
            tracing::warn!(
                tenant = %due.tenant, visit = %due.visit_id, task = due.task.as_str(), error = %e,
                "a due task failed; the next sweep tries again"
            );
        }
    }
    Ok(swept)
}

/// Removes a task (unless it was armed again meanwhile).
async fn drop_task(app: &App, due: &Due) -> Result<()> {
    let write = due_removal(&due.tenant, &due.visit_id, due.task, Some(due.at));
    match app.store.write(write).await {
        Err(e) if e.is_condition_failure() => Ok(()),
        other => Ok(other?),
    }
}

/// A visit's lapse task: the visit moved by time (the move removes the
/// task), armed again for later, or dropped.
async fn lapse(app: &App, due: &Due, now: i64, swept: &mut Swept) -> Result<()> {
    let franchise = crate::services::auth::franchise(app, &due.tenant).await?;
    let visit: Option<Visit> =
        crate::services::find(app, &keys::visit_key(&due.tenant, &due.visit_id)).await?;
    let (Some(franchise), Some(v)) = (franchise, visit) else {
        swept.dropped += 1;
        return drop_task(app, due).await;
    };
    let before = v.status;
    let after = match with_lapse(app, &franchise, v).await {
        Err(crate::error::Error::NotFound(m)) if m == VISIT_NOT_FOUND => {
            swept.dropped += 1;
            return drop_task(app, due).await;
        }
        other => other?,
    };
    if after.status != before {
        swept.lapsed += 1;
        return Ok(());
    }
    let closes = match after.status {
        VisitStatus::Waiting => rooms::room(app, &after.tenant_key, &after.room_code)
            .await?
            .closes_after(now, &franchise.time_zone),
        _ => None,
    };
    match after.lapse_due(now, closes).filter(|at| *at > due.at) {
        Some(at) => {
            // Only over the task read: a move that removed it meanwhile
            // leaves nothing to arm again.
            let mut item = crate::store::clinic_items::due_item(
                &due.tenant,
                &due.visit_id,
                DueTask::Lapse,
                at,
            );
            item.attrs.insert("rearmedAt".into(), now.into());
            let write = Write::Put {
                item,
                cond: Some(Cond::AttrEq("at".into(), due.at.into())),
            };
            match app.store.write(write).await {
                Err(e) if e.is_condition_failure() => {}
                other => other?,
            }
            swept.rearmed += 1;
            Ok(())
        }
        None => {
            swept.dropped += 1;
            drop_task(app, due).await
        }
    }
}
