//! The embedded adapter of the store port, on [redb].
//!
//! Why redb: it is pure Rust (no C toolchain, so the local server and the
//! tests build anywhere `cargo` does), it is ACID with serializable write
//! transactions — only one write transaction runs at a time, so a conditional
//! write or a `TransactWriteItems` is simply "check every condition, then
//! apply every write" inside one write transaction — its MVCC readers never
//! block nor are blocked by the writer, and its file format is stable.
//!
//! Layout: table `items` maps the composite key `(pk, sk)` to the JSON bytes
//! of the item's non-key attributes; one table per index of
//! [`table::GSIS`](super::table::GSIS), named after it, maps
//! `(ipk, isk, pk, sk)` to `()`. The index tables are maintained in the same
//! write transaction as the items. An item is in an index only when it has
//! both key attributes of that index as strings (DynamoDB's sparse indexes).
//! Expired items stay on disk until overwritten or deleted; every read and
//! every condition treats them as absent, as the port requires.
//!
//! Reads run on tokio's blocking pool (redb blocks). Writes go to one
//! writer thread that groups the requests queued while the previous commit
//! was flushing into one write transaction and one durable commit (every
//! commit fsyncs: `Durability::Immediate`, redb's default), and answers them
//! only after it (`group.rs`), so a restart loses nothing that was
//! acknowledged.
//!
//! Depended on by the local server (file-backed) and by the tests
//! (in memory, through [`EmbeddedStore::in_memory`]). Writes are in
//! `write.rs`, their batching in `group.rs`, queries in `query.rs`.

mod group;
#[cfg(test)]
mod group_tests;
mod query;
#[cfg(test)]
mod tests;
mod work;
mod write;

use std::fmt::Display;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::backends::InMemoryBackend;
use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::Value;

pub use self::work::WorkEntry;

use self::group::{Done, Fault, Writer};
use self::query::{QueryPlan, query_index, query_table};
use self::write::{Mode, add, apply};
use super::table::{GSIS, GsiDef};
use super::{
    Attrs, Cond, Index, Item, Key, MAX_BATCH_GET, PK, Page, Query, SK, Store, StoreError,
    StoreResult, Write, validate_add, validate_transaction, validate_write,
};
use crate::clock::Clock;

type ItemKey<'a> = (&'a str, &'a str);
type IndexKey<'a> = (&'a str, &'a str, &'a str, &'a str);

const ITEMS: TableDefinition<ItemKey<'static>, &[u8]> = TableDefinition::new("items");
/// The change feed: sequence number → the new image of an inserted outbox
/// item (what the DynamoDB stream, filtered as the relay's event source
/// mapping filters it, carries in AWS).
const STREAM: TableDefinition<u64, &[u8]> = TableDefinition::new("stream");
/// Counters: the next stream sequence number, the relay's checkpoint.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const NEXT_SEQ: &str = "stream.next";
const CHECKPOINT: &str = "stream.checkpoint";

const fn index_table(def: &GsiDef) -> TableDefinition<'static, IndexKey<'static>, ()> {
    TableDefinition::new(def.name)
}

/// Largest number of items a query examines.
const MAX_QUERY_LIMIT: usize = 1000;

/// Cache of the file-backed database (redb's default is 1 GiB).
const FILE_CACHE_BYTES: usize = 64 * 1024 * 1024;
/// Cache of an in-memory database: the data is in memory already.
const MEMORY_CACHE_BYTES: usize = 4 * 1024 * 1024;

fn unavailable(e: impl Display) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {e}"))
}

/// The store port on a redb database. Cheap to clone (shares the database).
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
    writer: Arc<Writer>,
}

struct Inner {
    db: Database,
    clock: Arc<dyn Clock>,
    changed: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens the database file at `path`, creating it when missing. Blocks
    /// (call it at startup). Fails with [`StoreError::Unavailable`] when
    /// another process holds the file.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> StoreResult<Self> {
        let db = Database::builder()
            .set_cache_size(FILE_CACHE_BYTES)
            .create(path)
            .map_err(|e| match e {
                DatabaseError::DatabaseAlreadyOpen => StoreError::Unavailable(format!(
                    "the database {} is in use by another embedcare process",
                    path.display()
                )),
                e => StoreError::Unavailable(format!(
                    "embedded store: cannot open {}: {e}",
                    path.display()
                )),
            })?;
        Self::with_database(db, clock)
    }

    /// A fresh, empty database held in memory. For tests.
    pub fn in_memory(clock: Arc<dyn Clock>) -> StoreResult<Self> {
        let db = Database::builder()
            .set_cache_size(MEMORY_CACHE_BYTES)
            .create_with_backend(InMemoryBackend::new())
            .map_err(unavailable)?;
        Self::with_database(db, clock)
    }

    fn with_database(db: Database, clock: Arc<dyn Clock>) -> StoreResult<Self> {
        // Create every table up front, so that read transactions can open them.
        let txn = db.begin_write().map_err(unavailable)?;
        {
            txn.open_table(ITEMS).map_err(unavailable)?;
            txn.open_table(STREAM).map_err(unavailable)?;
            txn.open_table(META).map_err(unavailable)?;
            txn.open_table(work::WORK).map_err(unavailable)?;
            for def in &GSIS {
                txn.open_table(index_table(def)).map_err(unavailable)?;
            }
        }
        txn.commit().map_err(unavailable)?;
        let inner = Arc::new(Inner {
            db,
            clock,
            changed: Arc::new(tokio::sync::Notify::new()),
        });
        let writer = Arc::new(Writer::start(Arc::clone(&inner))?);
        Ok(Self { inner, writer })
    }

    /// Durable commits made since the store was opened, each carrying a
    /// batch of write requests: for tests and benchmarks, to compare with
    /// the number of writes.
    pub fn commits(&self) -> u64 {
        self.writer.commits()
    }

    /// Woken after every commit that added to the change feed.
    pub fn changed(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.inner.changed)
    }

    /// Up to `limit` change-feed records after the relay's checkpoint, in
    /// order: (sequence number, new image).
    pub async fn pending_changes(&self, limit: usize) -> StoreResult<Vec<(u64, Item)>> {
        self.run(move |inner| {
            let txn = inner.db.begin_read().map_err(unavailable)?;
            let meta = txn.open_table(META).map_err(unavailable)?;
            let after = meta
                .get(CHECKPOINT)
                .map_err(unavailable)?
                .map_or(0, |v| v.value());
            let stream = txn.open_table(STREAM).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in stream
                .range((after + 1)..)
                .map_err(unavailable)?
                .take(limit)
            {
                let (seq, bytes) = entry.map_err(unavailable)?;
                let image: Attrs = decode(bytes.value())?;
                let mut attrs = image;
                let key = match (attrs.remove(PK), attrs.remove(SK)) {
                    (Some(Value::String(pk)), Some(Value::String(sk))) => Key::new(pk, sk),
                    _ => {
                        return Err(StoreError::Unavailable(
                            "change record without a key".into(),
                        ));
                    }
                };
                out.push((seq.value(), Item::new(key, attrs)));
            }
            Ok(out)
        })
        .await
    }

    /// Marks every record up to `seq` as relayed, and forgets them.
    pub async fn acknowledge_changes(&self, seq: u64) -> StoreResult<()> {
        self.writer
            .submit(move |txn, _| {
                let ack = || {
                    let mut meta = txn.open_table(META).map_err(unavailable)?;
                    let current = meta
                        .get(CHECKPOINT)
                        .map_err(unavailable)?
                        .map_or(0, |v| v.value());
                    if seq > current {
                        meta.insert(CHECKPOINT, seq).map_err(unavailable)?;
                    }
                    let mut stream = txn.open_table(STREAM).map_err(unavailable)?;
                    stream.retain_in(..=seq, |_, _| false).map_err(unavailable)
                };
                ack().map_err(Fault::Broken)?;
                Ok(Done {
                    value: (),
                    fed: false,
                })
            })
            .await
    }

    /// Runs `f` on the blocking pool.
    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(unavailable)?
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        check_key(key)?;
        let key = key.clone();
        self.run(move |inner| {
            let now = inner.clock.now_s();
            let txn = inner.db.begin_read().map_err(unavailable)?;
            let items = txn.open_table(ITEMS).map_err(unavailable)?;
            Ok(read_attrs(&items, &key)?
                .map(|attrs| Item::new(key, attrs))
                .filter(|item| !item.is_expired(now)))
        })
        .await
    }

    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        if keys.len() > MAX_BATCH_GET {
            return Err(StoreError::Invalid(format!(
                "a batch get reads at most {MAX_BATCH_GET} keys, not {}",
                keys.len()
            )));
        }
        keys.iter().try_for_each(check_key)?;
        let mut sorted: Vec<&Key> = keys.iter().collect();
        sorted.sort();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(StoreError::Invalid(
                "a batch get names the same key twice".into(),
            ));
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = keys.to_vec();
        self.run(move |inner| {
            let now = inner.clock.now_s();
            let txn = inner.db.begin_read().map_err(unavailable)?;
            let items = txn.open_table(ITEMS).map_err(unavailable)?;
            let mut found = Vec::new();
            for key in keys {
                if let Some(attrs) = read_attrs(&items, &key)? {
                    let item = Item::new(key, attrs);
                    if !item.is_expired(now) {
                        found.push(item);
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    async fn query(&self, query: &Query) -> StoreResult<Page> {
        let plan = QueryPlan::new(query)?;
        self.run(move |inner| {
            let now = inner.clock.now_s();
            let txn = inner.db.begin_read().map_err(unavailable)?;
            match plan.index {
                Index::Table => query_table(&txn, &plan, now),
                Index::Gsi1 | Index::Gsi2 | Index::Gsi3 => query_index(&txn, &plan, now),
            }
        })
        .await
    }

    async fn write(&self, write: Write) -> StoreResult<()> {
        if matches!(write, Write::Check { .. }) {
            return Err(StoreError::Invalid(
                "a condition check is only valid inside a transaction".into(),
            ));
        }
        validate_write(&write)?;
        self.writer
            .submit(move |txn, now| apply(txn, vec![write], Mode::Single, now))
            .await
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        validate_transaction(&writes)?;
        self.writer
            .submit(move |txn, now| apply(txn, writes, Mode::Transaction, now))
            .await
    }

    async fn add(
        &self,
        key: &Key,
        amounts: &[(&str, i64)],
        cond: Option<Cond>,
    ) -> StoreResult<Item> {
        validate_add(key, amounts)?;
        let key = key.clone();
        let amounts: Vec<(String, i64)> =
            amounts.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect();
        self.writer
            .submit(move |txn, now| add(txn, key, amounts, cond, now))
            .await
    }
}

fn check_key(key: &Key) -> StoreResult<()> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(StoreError::Invalid("empty key attribute".into()));
    }
    Ok(())
}

fn read_attrs(
    items: &impl ReadableTable<ItemKey<'static>, &'static [u8]>,
    key: &Key,
) -> StoreResult<Option<Attrs>> {
    let guard = items
        .get((key.pk.as_str(), key.sk.as_str()))
        .map_err(unavailable)?;
    guard.map(|g| decode(g.value())).transpose()
}

fn decode(bytes: &[u8]) -> StoreResult<Attrs> {
    serde_json::from_slice(bytes).map_err(|e| unavailable(format!("undecodable stored item: {e}")))
}
