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
//! All redb work runs on tokio's blocking pool: redb blocks, and every commit
//! fsyncs (`Durability::Immediate`, redb's default), so a restart loses
//! nothing that was acknowledged.
//!
//! Depended on by the local server (file-backed) and by the tests
//! (in memory, through [`EmbeddedStore::in_memory`]).

use std::cmp::Ordering;
use std::fmt::Display;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::backends::InMemoryBackend;
use redb::{
    Database, DatabaseError, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};
use serde_json::Value;

use super::table::{GSIS, GsiDef, gsi};
use super::{
    Attrs, Cond, Cursor, Index, Item, Key, MAX_BATCH_GET, MAX_ITEM_BYTES, PK, Page, Query, SK,
    SortCond, Store, StoreError, StoreResult, Write, item_size, validate_transaction,
    validate_write,
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
            for def in &GSIS {
                txn.open_table(index_table(def)).map_err(unavailable)?;
            }
        }
        txn.commit().map_err(unavailable)?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                clock,
                changed: Arc::new(tokio::sync::Notify::new()),
            }),
        })
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
        self.run(move |inner| {
            let txn = inner.db.begin_write().map_err(unavailable)?;
            {
                let mut meta = txn.open_table(META).map_err(unavailable)?;
                let current = meta
                    .get(CHECKPOINT)
                    .map_err(unavailable)?
                    .map_or(0, |v| v.value());
                if seq > current {
                    meta.insert(CHECKPOINT, seq).map_err(unavailable)?;
                }
                let mut stream = txn.open_table(STREAM).map_err(unavailable)?;
                stream
                    .retain_in(..=seq, |_, _| false)
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
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
        validate_attrs(&write)?;
        self.run(move |inner| apply(inner, vec![write], Mode::Single))
            .await
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        validate_transaction(&writes)?;
        writes.iter().try_for_each(validate_attrs)?;
        self.run(move |inner| apply(inner, writes, Mode::Transaction))
            .await
    }
}

// ---------------------------------------------------------------------------
// Validation beyond `validate_write`: what DynamoDB rejects as a
// ValidationException and the port does not check itself.

fn check_key(key: &Key) -> StoreResult<()> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(StoreError::Invalid("empty key attribute".into()));
    }
    Ok(())
}

/// Index key attributes must be non-empty strings; an update may not remove
/// a key attribute nor both set and remove one attribute.
fn validate_attrs(write: &Write) -> StoreResult<()> {
    let set = match write {
        Write::Put { item, .. } => &item.attrs,
        Write::Update { set, remove, .. } => {
            if let Some(name) = remove.iter().find(|n| *n == PK || *n == SK) {
                return Err(StoreError::Invalid(format!(
                    "cannot remove the key attribute {name}"
                )));
            }
            if let Some(name) = remove.iter().find(|n| set.contains_key(n.as_str())) {
                return Err(StoreError::Invalid(format!(
                    "attribute {name} is both set and removed"
                )));
            }
            set
        }
        Write::Delete { .. } | Write::Check { .. } => return Ok(()),
    };
    for def in &GSIS {
        for name in [def.pk, def.sk] {
            match set.get(name) {
                None => {}
                Some(Value::String(s)) if !s.is_empty() => {}
                Some(_) => {
                    return Err(StoreError::Invalid(format!(
                        "index key attribute {name} must be a non-empty string"
                    )));
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Writes.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Single,
    Transaction,
}

/// Checks every condition, then applies every write, in one write
/// transaction. `writes` is validated (distinct keys, limits).
fn apply(inner: &Inner, writes: Vec<Write>, mode: Mode) -> StoreResult<()> {
    let txn = inner.db.begin_write().map_err(unavailable)?;
    let now = inner.clock.now_s();
    let outcome = apply_in(&txn, writes, mode, now);
    match outcome {
        Ok(fed) => {
            txn.commit().map_err(unavailable)?;
            if fed {
                inner.changed.notify_waiters();
                inner.changed.notify_one();
            }
            Ok(())
        }
        Err(e) => {
            txn.abort().map_err(unavailable)?;
            Err(e)
        }
    }
}

/// Applies the writes; true when something was added to the change feed.
fn apply_in(txn: &WriteTransaction, writes: Vec<Write>, mode: Mode, now: i64) -> StoreResult<bool> {
    let mut items = txn.open_table(ITEMS).map_err(unavailable)?;
    let mut fed = false;

    // The stored attributes of every target (expired or not), read once.
    let mut stored = Vec::with_capacity(writes.len());
    for w in &writes {
        stored.push(read_attrs(&items, w.key())?);
    }
    let live = |attrs: &Option<Attrs>, key: &Key| -> Option<Attrs> {
        attrs
            .as_ref()
            .filter(|a| !is_expired(a, now))
            .map(|a| with_key(key, a))
    };

    let failed: Vec<usize> = writes
        .iter()
        .zip(&stored)
        .enumerate()
        .filter(|(_, (w, s))| {
            let cond = match w {
                Write::Put { cond, .. }
                | Write::Update { cond, .. }
                | Write::Delete { cond, .. } => cond.as_ref(),
                Write::Check { cond, .. } => Some(cond),
            };
            cond.is_some_and(|c| !holds(c, live(s, w.key()).as_ref()))
        })
        .map(|(i, _)| i)
        .collect();
    if !failed.is_empty() {
        return Err(match mode {
            Mode::Single => StoreError::ConditionFailed,
            Mode::Transaction => StoreError::TransactionCancelled { failed },
        });
    }

    let mut indexes = Vec::with_capacity(GSIS.len());
    for def in &GSIS {
        indexes.push((def, txn.open_table(index_table(def)).map_err(unavailable)?));
    }

    for (w, old) in writes.into_iter().zip(stored) {
        let (key, new) = match w {
            Write::Check { .. } => continue,
            Write::Put { item, .. } => (item.key, Some(item.attrs)),
            Write::Delete { key, .. } => (key, None),
            Write::Update {
                key, set, remove, ..
            } => {
                // An expired item is absent: the update starts from nothing.
                let mut attrs = old
                    .as_ref()
                    .filter(|a| !is_expired(a, now))
                    .cloned()
                    .unwrap_or_default();
                for name in &remove {
                    attrs.remove(name);
                }
                attrs.extend(set);
                let size = item_size(&Item::new(key.clone(), attrs.clone()));
                if size > MAX_ITEM_BYTES {
                    return Err(StoreError::Invalid(format!(
                        "updated item of {size} bytes exceeds {MAX_ITEM_BYTES}"
                    )));
                }
                (key, Some(attrs))
            }
        };

        for (def, table) in &mut indexes {
            let before = index_key(def, old.as_ref());
            let after = index_key(def, new.as_ref());
            if before == after {
                continue;
            }
            if let Some((ipk, isk)) = before {
                table
                    .remove((ipk, isk, key.pk.as_str(), key.sk.as_str()))
                    .map_err(unavailable)?;
            }
            if let Some((ipk, isk)) = after {
                table
                    .insert((ipk, isk, key.pk.as_str(), key.sk.as_str()), ())
                    .map_err(unavailable)?;
            }
        }

        // An inserted outbox item goes to the change feed, in this transaction.
        let inserted = old.as_ref().is_none_or(|a| is_expired(a, now));
        if let Some(attrs) = new
            .as_ref()
            .filter(|a| inserted && a.get("type") == Some(&Value::from("outbox")))
        {
            let mut meta = txn.open_table(META).map_err(unavailable)?;
            let seq = meta
                .get(NEXT_SEQ)
                .map_err(unavailable)?
                .map_or(1, |v| v.value());
            meta.insert(NEXT_SEQ, seq + 1).map_err(unavailable)?;
            let image = serde_json::to_vec(&with_key(&key, attrs)).map_err(unavailable)?;
            let mut stream = txn.open_table(STREAM).map_err(unavailable)?;
            stream.insert(seq, image.as_slice()).map_err(unavailable)?;
            fed = true;
        }

        let k = (key.pk.as_str(), key.sk.as_str());
        match new {
            Some(attrs) => {
                let bytes = serde_json::to_vec(&attrs).map_err(unavailable)?;
                items.insert(k, bytes.as_slice()).map_err(unavailable)?;
            }
            None => {
                items.remove(k).map_err(unavailable)?;
            }
        }
    }
    Ok(fed)
}

/// The index key of an item with these attributes, if it is in the index.
fn index_key<'a>(def: &GsiDef, attrs: Option<&'a Attrs>) -> Option<(&'a str, &'a str)> {
    let attrs = attrs?;
    let ipk = attrs.get(def.pk)?.as_str()?;
    let isk = attrs.get(def.sk)?.as_str()?;
    Some((ipk, isk))
}

fn is_expired(attrs: &Attrs, now: i64) -> bool {
    attrs
        .get(super::TTL)
        .and_then(Value::as_i64)
        .is_some_and(|t| t <= now)
}

/// The attributes as a condition sees them: with the key attributes.
fn with_key(key: &Key, attrs: &Attrs) -> Attrs {
    let mut all = attrs.clone();
    all.insert(PK.into(), Value::String(key.pk.clone()));
    all.insert(SK.into(), Value::String(key.sk.clone()));
    all
}

/// Evaluates a condition on the live item (`None` when absent or expired).
fn holds(cond: &Cond, live: Option<&Attrs>) -> bool {
    match cond {
        Cond::Exists => live.is_some(),
        Cond::NotExists => live.is_none(),
        Cond::AttrExists(name) => live.is_some_and(|a| a.contains_key(name)),
        Cond::AttrNotExists(name) => !live.is_some_and(|a| a.contains_key(name)),
        Cond::AttrEq(name, value) => live
            .and_then(|a| a.get(name))
            .is_some_and(|v| json_eq(v, value)),
        Cond::And(conds) => conds.iter().all(|c| holds(c, live)),
        Cond::Or(conds) => conds.iter().any(|c| holds(c, live)),
    }
}

/// JSON equality with numbers compared by value (DynamoDB numbers are
/// decimals: `1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------
// Reads.

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

/// A validated query: its bounds on the partition's ordering key, which is
/// `(sk)` for the table and `(isk, pk, sk)` for an index.
struct QueryPlan {
    index: Index,
    pk: String,
    forward: bool,
    limit: usize,
    lower: Bound<(String, String, String)>,
    upper: Bound<(String, String, String)>,
}

impl QueryPlan {
    fn new(q: &Query) -> StoreResult<Self> {
        if q.pk.is_empty() {
            return Err(StoreError::Invalid("empty partition key in a query".into()));
        }
        // Ordering keys: (sk, "", "") for the table, (isk, pk, sk) for an
        // index. The empty strings sort first, so bounds on the first
        // component translate directly.
        let first = |s: &str| (s.to_owned(), String::new(), String::new());
        let (mut lower, mut upper) = match &q.sort {
            SortCond::All => (Bound::Unbounded, Bound::Unbounded),
            SortCond::BeginsWith(p) => (
                Bound::Included(first(p)),
                prefix_successor(p).map_or(Bound::Unbounded, |s| Bound::Excluded(first(&s))),
            ),
            SortCond::Between(a, b) => {
                if a > b {
                    return Err(StoreError::Invalid(format!(
                        "BETWEEN bounds out of order: {a:?} > {b:?}"
                    )));
                }
                // Everything whose first component is `b`: up to `b\0` excluded.
                (
                    Bound::Included(first(a)),
                    Bound::Excluded(first(&format!("{b}\0"))),
                )
            }
        };
        if let Some(c) = &q.start_after {
            let after = match q.index {
                Index::Table => {
                    if c.pk != q.pk {
                        return Err(StoreError::Invalid("cursor of another partition".into()));
                    }
                    first(&c.sk)
                }
                Index::Gsi1 | Index::Gsi2 | Index::Gsi3 => match (&c.ipk, &c.isk) {
                    (Some(ipk), Some(isk)) if *ipk == q.pk => {
                        (isk.clone(), c.pk.clone(), c.sk.clone())
                    }
                    _ => {
                        return Err(StoreError::Invalid(
                            "cursor of another index partition".into(),
                        ));
                    }
                },
            };
            if q.forward {
                lower = tighter_lower(lower, Bound::Excluded(after));
            } else {
                upper = tighter_upper(upper, Bound::Excluded(after));
            }
        }
        Ok(Self {
            index: q.index,
            pk: q.pk.clone(),
            forward: q.forward,
            limit: q.limit.clamp(1, MAX_QUERY_LIMIT),
            lower,
            upper,
        })
    }

    fn is_empty(&self) -> bool {
        match (&self.lower, &self.upper) {
            (Bound::Included(l), Bound::Included(u)) => l > u,
            (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => {
                l >= u
            }
            _ => false,
        }
    }
}

fn bound_value<T>(b: &Bound<T>) -> Option<&T> {
    match b {
        Bound::Included(v) | Bound::Excluded(v) => Some(v),
        Bound::Unbounded => None,
    }
}

fn tighter_lower<T: Ord>(a: Bound<T>, b: Bound<T>) -> Bound<T> {
    match (bound_value(&a), bound_value(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) => match x.cmp(y) {
            Ordering::Less => b,
            Ordering::Greater => a,
            Ordering::Equal if matches!(a, Bound::Excluded(_)) => a,
            Ordering::Equal => b,
        },
    }
}

fn tighter_upper<T: Ord>(a: Bound<T>, b: Bound<T>) -> Bound<T> {
    match (bound_value(&a), bound_value(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) => match x.cmp(y) {
            Ordering::Less => a,
            Ordering::Greater => b,
            Ordering::Equal if matches!(a, Bound::Excluded(_)) => a,
            Ordering::Equal => b,
        },
    }
}

/// The smallest string greater than every string that starts with `p`, if
/// there is one.
fn prefix_successor(p: &str) -> Option<String> {
    let mut chars: Vec<char> = p.chars().collect();
    while let Some(c) = chars.pop() {
        let next = match c {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The first string after `pk` in byte order: the exclusive end of its partition.
fn partition_end(pk: &str) -> String {
    format!("{pk}\0")
}

/// Walks the entries of a range in order, stopping after `limit` examined
/// entries; `visit` returns the live item (if any) and the entry's cursor.
fn collect_page<E>(
    entries: impl DoubleEndedIterator<Item = Result<E, redb::StorageError>>,
    forward: bool,
    limit: usize,
    mut visit: impl FnMut(E) -> StoreResult<(Option<Item>, Cursor)>,
) -> StoreResult<Page> {
    let entries: Box<dyn Iterator<Item = _>> = if forward {
        Box::new(entries)
    } else {
        Box::new(entries.rev())
    };
    let mut page = Page::default();
    let mut last = None;
    for (examined, entry) in entries.enumerate() {
        let entry = entry.map_err(unavailable)?;
        if examined == limit {
            // Another entry follows: the page is full and not the last one.
            page.next = last;
            break;
        }
        let (item, cursor) = visit(entry)?;
        page.items.extend(item);
        last = Some(cursor);
    }
    Ok(page)
}

fn query_table(txn: &ReadTransaction, plan: &QueryPlan, now: i64) -> StoreResult<Page> {
    if plan.is_empty() {
        return Ok(Page::default());
    }
    let items = txn.open_table(ITEMS).map_err(unavailable)?;
    let end = partition_end(&plan.pk);
    let pk = plan.pk.as_str();
    let lower: Bound<ItemKey<'_>> = match &plan.lower {
        Bound::Included(l) => Bound::Included((pk, l.0.as_str())),
        Bound::Excluded(l) => Bound::Excluded((pk, l.0.as_str())),
        Bound::Unbounded => Bound::Included((pk, "")),
    };
    let upper: Bound<ItemKey<'_>> = match &plan.upper {
        Bound::Included(u) => Bound::Included((pk, u.0.as_str())),
        Bound::Excluded(u) => Bound::Excluded((pk, u.0.as_str())),
        Bound::Unbounded => Bound::Excluded((end.as_str(), "")),
    };
    let range = items.range((lower, upper)).map_err(unavailable)?;
    collect_page(range, plan.forward, plan.limit, |(k, v)| {
        let (pk, sk) = k.value();
        let key = Key::new(pk, sk);
        let attrs = decode(v.value())?;
        let cursor = Cursor {
            pk: key.pk.clone(),
            sk: key.sk.clone(),
            ipk: None,
            isk: None,
        };
        let item = Item::new(key, attrs);
        Ok(((!item.is_expired(now)).then_some(item), cursor))
    })
}

fn query_index(txn: &ReadTransaction, plan: &QueryPlan, now: i64) -> StoreResult<Page> {
    let Some(def) = gsi(plan.index) else {
        return Err(StoreError::Invalid("not an index".into()));
    };
    if plan.is_empty() {
        return Ok(Page::default());
    }
    let index = txn.open_table(index_table(def)).map_err(unavailable)?;
    let items = txn.open_table(ITEMS).map_err(unavailable)?;
    let end = partition_end(&plan.pk);
    let ipk = plan.pk.as_str();
    fn full<'a>(ipk: &'a str, t: &'a (String, String, String)) -> IndexKey<'a> {
        (ipk, t.0.as_str(), t.1.as_str(), t.2.as_str())
    }
    let lower: Bound<IndexKey<'_>> = match &plan.lower {
        Bound::Included(l) => Bound::Included(full(ipk, l)),
        Bound::Excluded(l) => Bound::Excluded(full(ipk, l)),
        Bound::Unbounded => Bound::Included((ipk, "", "", "")),
    };
    let upper: Bound<IndexKey<'_>> = match &plan.upper {
        Bound::Included(u) => Bound::Included(full(ipk, u)),
        Bound::Excluded(u) => Bound::Excluded(full(ipk, u)),
        Bound::Unbounded => Bound::Excluded((end.as_str(), "", "", "")),
    };
    let range = index.range((lower, upper)).map_err(unavailable)?;
    collect_page(range, plan.forward, plan.limit, |(k, _)| {
        let (ipk, isk, pk, sk) = k.value();
        let key = Key::new(pk, sk);
        let cursor = Cursor {
            pk: key.pk.clone(),
            sk: key.sk.clone(),
            ipk: Some(ipk.to_owned()),
            isk: Some(isk.to_owned()),
        };
        let item = read_attrs(&items, &key)?
            .map(|attrs| Item::new(key, attrs))
            .filter(|item| !item.is_expired(now));
        Ok((item, cursor))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::clock::ManualClock;

    fn attrs(v: Value) -> Attrs {
        match v {
            Value::Object(m) => m,
            _ => Attrs::new(),
        }
    }

    fn store() -> EmbeddedStore {
        EmbeddedStore::in_memory(Arc::new(ManualClock::new(1_767_225_600_000))).expect("store")
    }

    /// Every entry of an index table, in order.
    fn index_entries(s: &EmbeddedStore, def: &GsiDef) -> Vec<(String, String, String, String)> {
        let txn = s.inner.db.begin_read().expect("read");
        let t = txn.open_table(index_table(def)).expect("table");
        t.iter()
            .expect("iter")
            .map(|e| {
                let (k, _) = e.expect("entry");
                let (a, b, c, d) = k.value();
                (a.into(), b.into(), c.into(), d.into())
            })
            .collect()
    }

    fn e(a: &str, b: &str, c: &str, d: &str) -> (String, String, String, String) {
        (a.into(), b.into(), c.into(), d.into())
    }

    #[tokio::test]
    async fn index_entries_follow_the_gsi_attributes() {
        let s = store();
        let key = Key::new("P", "S");
        let put = |a: Value| Write::Put {
            item: Item::new(key.clone(), attrs(a)),
            cond: None,
        };
        // Only one of the two attributes: not in the index (sparse).
        s.write(put(json!({"gsi1pk": "A"}))).await.expect("put");
        assert!(index_entries(&s, &super::super::table::GSI1).is_empty());

        s.write(put(
            json!({"gsi1pk": "A", "gsi1sk": "1", "gsi2pk": "B", "gsi2sk": "x"}),
        ))
        .await
        .expect("put");
        assert_eq!(
            index_entries(&s, &super::super::table::GSI1),
            [e("A", "1", "P", "S")]
        );
        assert_eq!(
            index_entries(&s, &super::super::table::GSI2),
            [e("B", "x", "P", "S")]
        );

        // Update moves gsi1 and removes gsi2.
        s.write(Write::Update {
            key: key.clone(),
            set: attrs(json!({"gsi1sk": "2"})),
            remove: vec!["gsi2sk".into()],
            cond: None,
        })
        .await
        .expect("update");
        assert_eq!(
            index_entries(&s, &super::super::table::GSI1),
            [e("A", "2", "P", "S")]
        );
        assert!(index_entries(&s, &super::super::table::GSI2).is_empty());

        // A Put without the attributes drops the entry; Delete after re-adding too.
        s.write(put(json!({"x": 1}))).await.expect("put");
        assert!(index_entries(&s, &super::super::table::GSI1).is_empty());
        s.write(put(json!({"gsi1pk": "A", "gsi1sk": "3"})))
            .await
            .expect("put");
        s.write(Write::Delete { key, cond: None })
            .await
            .expect("delete");
        assert!(index_entries(&s, &super::super::table::GSI1).is_empty());
    }

    #[tokio::test]
    async fn a_put_over_an_expired_item_replaces_its_index_entries() {
        let clock = ManualClock::new(1_767_225_600_000);
        let s = EmbeddedStore::in_memory(Arc::new(clock.clone())).expect("store");
        let key = Key::new("P", "S");
        s.write(Write::Put {
            item: Item::new(
                key.clone(),
                attrs(json!({"ttl": 1_767_225_601, "gsi1pk": "A", "gsi1sk": "old"})),
            ),
            cond: None,
        })
        .await
        .expect("put");
        clock.advance_ms(5_000);
        s.write(Write::Put {
            item: Item::new(key.clone(), attrs(json!({"gsi1pk": "A", "gsi1sk": "new"}))),
            cond: Some(Cond::NotExists),
        })
        .await
        .expect("put over expired");
        assert_eq!(
            index_entries(&s, &super::super::table::GSI1),
            [e("A", "new", "P", "S")]
        );
        // An Update over an expired item starts from nothing.
        clock.advance_ms(0);
        s.write(Write::Put {
            item: Item::new(key.clone(), attrs(json!({"ttl": 1, "stale": true}))),
            cond: None,
        })
        .await
        .expect("put");
        s.write(Write::Update {
            key: key.clone(),
            set: attrs(json!({"fresh": true})),
            remove: vec![],
            cond: Some(Cond::AttrNotExists("stale".into())),
        })
        .await
        .expect("update");
        let got = s.get(&key).await.expect("get").expect("present");
        assert_eq!(got.attrs, attrs(json!({"fresh": true})));
    }

    #[tokio::test]
    async fn invalid_index_attributes_and_updates_are_rejected() {
        let s = store();
        let key = Key::new("P", "S");
        for a in [json!({"gsi1pk": 1}), json!({"gsi2sk": ""})] {
            let err = s
                .write(Write::Put {
                    item: Item::new(key.clone(), attrs(a)),
                    cond: None,
                })
                .await;
            assert!(matches!(err, Err(StoreError::Invalid(_))), "{err:?}");
        }
        let err = s
            .write(Write::Update {
                key: key.clone(),
                set: attrs(json!({"a": 1})),
                remove: vec!["a".into()],
                cond: None,
            })
            .await;
        assert!(matches!(err, Err(StoreError::Invalid(_))), "{err:?}");
        let err = s.get(&Key::new("", "S")).await;
        assert!(matches!(err, Err(StoreError::Invalid(_))), "{err:?}");
    }

    #[tokio::test]
    async fn numbers_compare_by_value_in_conditions() {
        let s = store();
        let key = Key::new("P", "S");
        s.write(Write::Put {
            item: Item::new(key.clone(), attrs(json!({"version": 1.0, "n": {"a": [2]}}))),
            cond: None,
        })
        .await
        .expect("put");
        s.write(Write::Update {
            key: key.clone(),
            set: attrs(json!({"version": 2})),
            remove: vec![],
            cond: Some(Cond::And(vec![
                Cond::version_is(1),
                Cond::AttrEq("n".into(), json!({"a": [2.0]})),
                Cond::AttrEq("pk".into(), json!("P")),
            ])),
        })
        .await
        .expect("update");
    }

    #[test]
    fn prefix_successor_is_tight() {
        assert_eq!(prefix_successor("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_successor("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
        assert_eq!(prefix_successor(""), None);
    }

    #[tokio::test]
    async fn queries_with_cursors_outside_the_range_are_empty_not_wider() {
        let s = store();
        for sk in ["a1", "a2", "b1"] {
            s.write(Write::Put {
                item: Item::new(Key::new("P", sk), Attrs::new()),
                cond: None,
            })
            .await
            .expect("put");
        }
        let mut q = Query::partition(Index::Table, "P");
        q.sort = SortCond::BeginsWith("a".into());
        q.start_after = Some(Cursor {
            pk: "P".into(),
            sk: "a9".into(),
            ipk: None,
            isk: None,
        });
        assert!(s.query(&q).await.expect("query").items.is_empty());
        q.forward = false;
        q.start_after = Some(Cursor {
            pk: "P".into(),
            sk: "0".into(),
            ipk: None,
            isk: None,
        });
        assert!(s.query(&q).await.expect("query").items.is_empty());
    }

    #[tokio::test]
    async fn reopening_the_file_keeps_the_data_and_the_lock_is_exclusive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("embedcare.redb");
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(1_767_225_600_000));
        let key = Key::new("P", "S");
        {
            let s = EmbeddedStore::open(&path, clock.clone()).expect("open");
            s.write(Write::Put {
                item: Item::new(
                    key.clone(),
                    attrs(json!({"gsi1pk": "A", "gsi1sk": "1", "v": 7})),
                ),
                cond: None,
            })
            .await
            .expect("put");
            match EmbeddedStore::open(&path, clock.clone()) {
                Err(StoreError::Unavailable(msg)) => {
                    assert!(msg.contains("in use by another embedcare process"), "{msg}")
                }
                other => panic!("second open: {other:?}"),
            }
        }
        let s = EmbeddedStore::open(&path, clock).expect("reopen");
        let got = s.get(&key).await.expect("get").expect("present");
        assert_eq!(got.attrs.get("v"), Some(&json!(7)));
        let page = s
            .query(&Query::partition(Index::Gsi1, "A"))
            .await
            .expect("query");
        assert_eq!(page.items, vec![got]);
    }

    #[tokio::test]
    async fn inserted_outbox_items_feed_the_change_stream_once() {
        let s = store();
        let put = |pk: &str, ty: &str| Write::Put {
            item: Item::new(Key::new(pk, "X"), attrs(json!({"type": ty, "n": 1}))),
            cond: None,
        };
        s.write(put("o1", "outbox")).await.unwrap();
        s.write(put("p1", "patient")).await.unwrap();
        s.transact(vec![put("o2", "outbox"), put("o3", "outbox")])
            .await
            .unwrap();
        // Rewriting an existing outbox item is not a new event.
        s.write(put("o1", "outbox")).await.unwrap();
        let pending = s.pending_changes(10).await.unwrap();
        let keys: Vec<&str> = pending.iter().map(|(_, i)| i.key.pk.as_str()).collect();
        assert_eq!(keys, ["o1", "o2", "o3"]);
        assert_eq!(pending[0].1.attrs["type"], json!("outbox"));
        // A failed transaction feeds nothing.
        let failing = vec![
            put("o4", "outbox"),
            Write::Check {
                key: Key::new("nope", "X"),
                cond: Cond::Exists,
            },
        ];
        assert!(s.transact(failing).await.is_err());
        assert_eq!(s.pending_changes(10).await.unwrap().len(), 3);
        s.acknowledge_changes(pending[1].0).await.unwrap();
        let rest = s.pending_changes(10).await.unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].1.key.pk, "o3");
    }
}
