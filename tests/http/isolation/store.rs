//! What the store holds new: a store decorator that keeps the key of every
//! write that took effect (a write, a transaction, an addition that the
//! store accepted; a write whose condition failed changed nothing and is
//! not kept), between two resets.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shared::store::{Cond, Item, Key, Page, Query, Store, StoreResult, Write};

pub struct Committed {
    inner: Arc<dyn Store>,
    keys: Mutex<Vec<Key>>,
}

impl Committed {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            keys: Mutex::new(Vec::new()),
        }
    }

    /// The keys changed since the last reset.
    pub fn changed(&self) -> Vec<Key> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn reset(&self) {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn keep(&self, keys: impl IntoIterator<Item = Key>) {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(keys);
    }
}

/// The keys a write changes (a condition check changes none).
fn changes(w: &Write) -> Option<Key> {
    (!matches!(w, Write::Check { .. })).then(|| w.key().clone())
}

#[async_trait]
impl Store for Committed {
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
        let key = changes(&write);
        self.inner.write(write).await?;
        self.keep(key);
        Ok(())
    }
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        let keys: Vec<Key> = writes.iter().filter_map(changes).collect();
        self.inner.transact(writes).await?;
        self.keep(keys);
        Ok(())
    }
    async fn add(
        &self,
        key: &Key,
        amounts: &[(&str, i64)],
        cond: Option<Cond>,
    ) -> StoreResult<Item> {
        let item = self.inner.add(key, amounts, cond).await?;
        self.keep([key.clone()]);
        Ok(item)
    }
}
