//! A decorator that counts the calls made to a store, by kind, and keeps the
//! writes it passed on. Tests use it to prove the round-trip and write
//! budgets of a vendor call (at most two round trips, no write for an
//! unchanged user; and which items a call wrote); benchmarks use it to
//! report round trips per vendor call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{Cond, Item, Key, Page, Query, Store, StoreResult, Write};

#[derive(Debug, Default)]
pub struct Counts {
    pub gets: AtomicU64,
    pub batch_gets: AtomicU64,
    pub queries: AtomicU64,
    pub writes: AtomicU64,
    pub transactions: AtomicU64,
}

/// A snapshot of [`Counts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallCounts {
    pub gets: u64,
    pub batch_gets: u64,
    pub queries: u64,
    pub writes: u64,
    pub transactions: u64,
}

impl CallCounts {
    /// Calls that read (each one round trip).
    pub fn reads(&self) -> u64 {
        self.gets + self.batch_gets + self.queries
    }
    /// Calls that write (single writes and transactions).
    pub fn write_calls(&self) -> u64 {
        self.writes + self.transactions
    }
    pub fn round_trips(&self) -> u64 {
        self.reads() + self.write_calls()
    }
}

pub struct MeteredStore {
    inner: Arc<dyn Store>,
    counts: Arc<Counts>,
    written: Mutex<Vec<Write>>,
}

impl MeteredStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            counts: Arc::default(),
            written: Mutex::default(),
        }
    }

    pub fn snapshot(&self) -> CallCounts {
        let c = &self.counts;
        CallCounts {
            gets: c.gets.load(Ordering::SeqCst),
            batch_gets: c.batch_gets.load(Ordering::SeqCst),
            queries: c.queries.load(Ordering::SeqCst),
            writes: c.writes.load(Ordering::SeqCst),
            transactions: c.transactions.load(Ordering::SeqCst),
        }
    }

    pub fn reset(&self) {
        let c = &self.counts;
        for n in [
            &c.gets,
            &c.batch_gets,
            &c.queries,
            &c.writes,
            &c.transactions,
        ] {
            n.store(0, Ordering::SeqCst);
        }
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Every write passed on since the last reset (those of transactions
    /// included), whether or not it succeeded.
    pub fn written(&self) -> Vec<Write> {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn record(&self, writes: &[Write]) {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(writes);
    }
}

#[async_trait]
impl Store for MeteredStore {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.counts.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        self.counts.batch_gets.fetch_add(1, Ordering::SeqCst);
        self.inner.batch_get(keys).await
    }
    async fn query(&self, query: &Query) -> StoreResult<Page> {
        self.counts.queries.fetch_add(1, Ordering::SeqCst);
        self.inner.query(query).await
    }
    async fn write(&self, write: Write) -> StoreResult<()> {
        self.counts.writes.fetch_add(1, Ordering::SeqCst);
        self.record(std::slice::from_ref(&write));
        self.inner.write(write).await
    }
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.counts.transactions.fetch_add(1, Ordering::SeqCst);
        self.record(&writes);
        self.inner.transact(writes).await
    }
    async fn add(
        &self,
        key: &Key,
        amounts: &[(&str, i64)],
        cond: Option<Cond>,
    ) -> StoreResult<Item> {
        self.counts.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.add(key, amounts, cond).await
    }
}
