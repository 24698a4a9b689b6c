//! The re-drive: every outbox item still pending some minutes after it was
//! written (its stream record was given up on, or outlived the stream's
//! 24 h, or the relay died before marking it) is put on the bus again and
//! marked relayed. Run on a schedule by the `outbox-redrive` function, every
//! minute by the local server, and by hand with `embedcare outbox redrive`
//! (which can take the dead letters too, once their cause is fixed).
//!
//! Found through the outbox's sparse index, shard by shard (`Query`, never
//! a Scan). An item the bus refuses at every re-drive is dead-lettered
//! after [`MAX_ATTEMPTS`]. Consumers may see an event twice (the relay may
//! have delivered it without marking it): they deduplicate on its `id`.

use serde::Serialize;
use serde_json::Value;

use super::outbox::{self, ATTEMPTS, DEAD_LETTER};
use super::relay::{count_relayed, created_at, dead_letter, entry_of_item};
use super::{BusEntry, EventBus};
use crate::error::Result;
use crate::metrics::Sample;
use crate::store::keys::{self, OUTBOX_SHARDS, OutboxState};
use crate::store::{Index, Item, Query, SortCond, Store};

/// Failed re-drives of one item before it is dead-lettered.
pub const MAX_ATTEMPTS: u64 = 5;

/// What one re-drive did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redriven {
    /// Put on the bus and marked relayed.
    pub delivered: usize,
    /// Refused or not put (left pending for the next re-drive).
    pub failed: usize,
    /// Given up on now (malformed, or refused [`MAX_ATTEMPTS`] times).
    pub dead_lettered: usize,
}

/// The outbox items in `state` written at or before `upto` (epoch ms),
/// oldest first within each shard.
pub async fn stranded(store: &dyn Store, state: OutboxState, upto: i64) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    for shard in 0..OUTBOX_SHARDS {
        let mut q = Query::partition(Index::Gsi1, keys::outbox_index(state, shard));
        q.sort = SortCond::Between("0".into(), keys::outbox_sort_upto(upto));
        loop {
            let page = store.query(&q).await?;
            out.extend(page.items);
            match page.next {
                Some(next) => q.start_after = Some(next),
                None => break,
            }
        }
    }
    Ok(out)
}

/// Re-drives every pending item written at least `older_than_ms` before
/// `now` (and the dead letters too with `dead_letters`).
pub async fn redrive(
    store: &dyn Store,
    bus: &dyn EventBus,
    now: i64,
    older_than_ms: i64,
    dead_letters: bool,
) -> Result<Redriven> {
    measure_oldest_pending(store, now).await;
    let upto = now - older_than_ms;
    let mut items = stranded(store, OutboxState::Pending, upto).await?;
    if dead_letters {
        items.extend(stranded(store, OutboxState::Dead, now).await?);
    }
    let mut done = Redriven::default();
    let mut ready: Vec<(Item, BusEntry)> = Vec::new();
    for item in items {
        match entry_of_item(&item.attrs) {
            Ok(entry) => ready.push((item, entry)),
            Err(reason) => {
                if item.attrs.contains_key(DEAD_LETTER) {
                    continue; // already a dead letter, still malformed
                }
                let at = created_at(&item.attrs);
                dead_letter(store, &item.key.pk, Some(&item.key), at, &reason, now).await;
                done.dead_lettered += 1;
            }
        }
    }
    for chunk in ready.chunks(10) {
        let entries: Vec<BusEntry> = chunk.iter().map(|(_, e)| e.clone()).collect();
        let outcomes = match bus.put(&entries).await {
            Ok(o) => o,
            Err(reason) => {
                tracing::warn!(%reason, "bus unavailable: the re-drive stops here");
                done.failed += chunk.len();
                continue;
            }
        };
        for (j, (item, _)) in chunk.iter().enumerate() {
            match outcomes.get(j) {
                Some(None) => {
                    record(store, outbox::relayed(&item.key, now)).await?;
                    done.delivered += 1;
                    count_relayed(created_at(&item.attrs), now);
                }
                refused => {
                    let reason = refused
                        .and_then(Option::as_deref)
                        .unwrap_or("NoOutcome")
                        .to_owned();
                    done.failed += 1;
                    let attempts = item
                        .attrs
                        .get(ATTEMPTS)
                        .and_then(Value::as_u64)
                        .unwrap_or(0)
                        + 1;
                    if attempts >= MAX_ATTEMPTS && !item.attrs.contains_key(DEAD_LETTER) {
                        let why = format!("refused by the bus at {attempts} re-drives: {reason}");
                        let at = created_at(&item.attrs);
                        dead_letter(store, &item.key.pk, Some(&item.key), at, &why, now).await;
                        done.dead_lettered += 1;
                    } else {
                        record(store, outbox::attempted(&item.key, attempts)).await?;
                    }
                }
            }
        }
    }
    if done != Redriven::default() {
        tracing::warn!(
            delivered = done.delivered,
            failed = done.failed,
            dead_lettered = done.dead_lettered,
            "outbox re-drive"
        );
    }
    Ok(done)
}

/// The age of the oldest pending outbox item, as found before a re-drive
/// (`OutboxOldestPending`, seconds; 0 when none): the first item of each
/// shard of the pending index, which is sorted by time. Not measured when
/// the store cannot be read (the re-drive then fails on its own).
async fn measure_oldest_pending(store: &dyn Store, now: i64) {
    let mut oldest: Option<i64> = None;
    for shard in 0..OUTBOX_SHARDS {
        let mut q = Query::partition(Index::Gsi1, keys::outbox_index(OutboxState::Pending, shard));
        q.limit = 1;
        match store.query(&q).await {
            Ok(page) => {
                let first = page.items.first().and_then(|i| created_at(&i.attrs));
                oldest = match (oldest, first) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            Err(_) => return,
        }
    }
    let age_s = oldest.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
    crate::metrics::global().sample(Sample::OutboxOldestPending, age_s);
}

/// Writes what became of an item; one that expired meanwhile is no matter.
async fn record(store: &dyn Store, write: crate::store::Write) -> Result<()> {
    match store.write(write).await {
        Err(e) if e.is_condition_failure() => Ok(()),
        other => Ok(other?),
    }
}
