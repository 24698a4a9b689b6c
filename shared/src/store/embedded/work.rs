//! The local server's work queue, kept in the database beside the items
//! (what SQS is in AWS): messages by the instant they become visible, so
//! that a restart loses none. Read by `delivery::local`; one consumer.

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::group::{Done, Fault, Step};
use super::{EmbeddedStore, unavailable};
use crate::store::StoreResult;

/// (visible at, epoch ms; message id) → message body.
pub(super) const WORK: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("work");

/// A message of the work table: when it becomes visible, its id, its body.
pub type WorkEntry = (u64, String, Vec<u8>);

impl EmbeddedStore {
    /// Adds messages.
    pub async fn work_push(&self, entries: Vec<WorkEntry>) -> StoreResult<()> {
        self.writer
            .submit(move |txn, _| {
                let push = || {
                    let mut work = txn.open_table(WORK).map_err(unavailable)?;
                    for (at, id, body) in &entries {
                        work.insert((*at, id.as_str()), body.as_slice())
                            .map_err(unavailable)?;
                    }
                    Ok(())
                };
                written(push())
            })
            .await
    }

    /// Up to `limit` messages visible at `now`, the earliest first.
    pub async fn work_due(&self, now: u64, limit: usize) -> StoreResult<Vec<WorkEntry>> {
        self.run(move |inner| {
            let txn = inner.db.begin_read().map_err(unavailable)?;
            let work = txn.open_table(WORK).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in work
                .range(..=(now, "\u{10ffff}"))
                .map_err(unavailable)?
                .take(limit)
            {
                let (k, v) = entry.map_err(unavailable)?;
                let (at, id) = k.value();
                out.push((at, id.to_owned(), v.value().to_vec()));
            }
            Ok(out)
        })
        .await
    }

    /// The earliest instant a message becomes visible, if any.
    pub async fn work_next(&self) -> StoreResult<Option<u64>> {
        self.run(move |inner| {
            let txn = inner.db.begin_read().map_err(unavailable)?;
            let work = txn.open_table(WORK).map_err(unavailable)?;
            let first = work.first().map_err(unavailable)?;
            Ok(first.map(|(k, _)| k.value().0))
        })
        .await
    }

    /// Removes a message, or makes it visible again at `again`.
    pub async fn work_settle(&self, at: u64, id: String, again: Option<u64>) -> StoreResult<()> {
        self.writer
            .submit(move |txn, _| {
                let settle = || {
                    let mut work = txn.open_table(WORK).map_err(unavailable)?;
                    let body = work
                        .remove((at, id.as_str()))
                        .map_err(unavailable)?
                        .map(|v| v.value().to_vec());
                    if let (Some(body), Some(again)) = (body, again) {
                        work.insert((again, id.as_str()), body.as_slice())
                            .map_err(unavailable)?;
                    }
                    Ok(())
                };
                written(settle())
            })
            .await
    }
}

/// A write of the work table, as a request of the writer's batch: an error
/// comes from redb while writing, so it undoes the batch.
fn written(r: StoreResult<()>) -> Step<()> {
    r.map_err(Fault::Broken)?;
    Ok(Done {
        value: (),
        fed: false,
    })
}
