//! `EventsWritten` counted where an event is committed: a store decorator
//! (every app's store is wrapped in it, `app.rs`) that counts the outbox
//! items (`type` `outbox`, `events::outbox`) of every write and
//! transaction that succeeded. Whichever service writes an event, it is
//! counted once, and only when its change was committed with it.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{Counter, Slot};
use crate::store::items::{OUTBOX, TYPE};
use crate::store::{Cond, Item, Key, Page, Query, Store, StoreResult, Write};

pub struct EventCounting {
    inner: Arc<dyn Store>,
    metrics: Arc<Slot>,
}

impl EventCounting {
    pub fn new(inner: Arc<dyn Store>, metrics: Arc<Slot>) -> Self {
        Self { inner, metrics }
    }

    fn count(&self, events: u64) {
        if events > 0 {
            self.metrics.get().count(Counter::EventsWritten, events);
        }
    }
}

/// A put of an outbox item (an event written; the relay's marks are
/// updates).
fn is_new_event(w: &Write) -> bool {
    matches!(w, Write::Put { item, .. }
        if item.attrs.get(TYPE).and_then(Value::as_str) == Some(OUTBOX))
}

#[async_trait]
impl Store for EventCounting {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        self.inner.batch_get(keys).await
    }
    async fn query(&self, query: &Query) -> StoreResult<Page> {
        self.inner.query(query).await
    }
    async fn write(&self, write: Write) -> StoreResult<()> {
        let events = u64::from(is_new_event(&write));
        self.inner.write(write).await?;
        self.count(events);
        Ok(())
    }
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        let events = writes.iter().filter(|w| is_new_event(w)).count() as u64;
        self.inner.transact(writes).await?;
        self.count(events);
        Ok(())
    }
    async fn add(
        &self,
        key: &Key,
        amounts: &[(&str, i64)],
        cond: Option<Cond>,
    ) -> StoreResult<Item> {
        self.inner.add(key, amounts, cond).await
    }
}
