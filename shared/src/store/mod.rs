//! The store port: one single-table, DynamoDB-shaped key-value store.
//!
//! Why an item-level port and not one method per entity: the single-table key
//! design (`keys.rs`, and `items.rs` for how entities become items) is ours
//! and must be identical on every adapter, so it lives once in the core; an
//! adapter only has to provide DynamoDB's
//! semantics — conditional writes, all-or-nothing transactions, ordered
//! queries on a partition or an index, and expiry. Every method is one round
//! trip to the backing service, which is what lets the repositories count
//! and bound the round trips of a vendor call.
//!
//! Expiry: an item whose `ttl` attribute (epoch seconds) is at or before
//! "now" is treated as absent by every read and every condition, whether or
//! not the backend has physically removed it yet (DynamoDB's TTL deletion
//! lags by up to two days; moto never deletes).
//!
//! The port depends on nothing but serde_json; the key design on the
//! domain; adapters live in sub-modules. Nothing here knows a service or
//! HTTP.

pub mod clinic_items;
pub mod cursor;
pub mod dynamodb;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod encounter_items;
pub mod items;
pub mod keys;
pub mod metered;
pub mod snapshot_items;
pub mod table;

use async_trait::async_trait;
use serde_json::{Map, Value};

/// Attribute name of the partition key.
pub const PK: &str = "pk";
/// Attribute name of the sort key.
pub const SK: &str = "sk";
/// Attribute holding the expiry instant in epoch seconds (DynamoDB TTL).
pub const TTL: &str = "ttl";

/// DynamoDB's hard limits, respected by every adapter (moto is lenient).
pub const MAX_BATCH_GET: usize = 100;
pub const MAX_TRANSACT_ITEMS: usize = 100;
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// Non-key attributes of an item, top-level names to JSON values.
pub type Attrs = Map<String, Value>;

/// An item: its key and its other attributes (the key attributes `pk`/`sk`
/// are never repeated inside `attrs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: Key,
    pub attrs: Attrs,
}

impl Item {
    pub fn new(key: Key, attrs: Attrs) -> Self {
        Self { key, attrs }
    }

    /// The item's expiry in epoch seconds, if it has one.
    pub fn ttl(&self) -> Option<i64> {
        self.attrs.get(TTL).and_then(Value::as_i64)
    }

    /// True when the item has a `ttl` at or before `now` (epoch seconds).
    pub fn is_expired(&self, now: i64) -> bool {
        self.ttl().is_some_and(|t| t <= now)
    }

    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).and_then(Value::as_str)
    }
}

/// A condition on the current state of the item a write targets. Evaluated
/// against the item as it is at the moment of the write, atomically with it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// The item exists and has not expired.
    Exists,
    /// The item does not exist, or has expired.
    NotExists,
    /// The (live) item has this attribute.
    AttrExists(String),
    /// The item does not exist, or it lacks this attribute.
    AttrNotExists(String),
    /// The (live) item has this attribute with exactly this value.
    AttrEq(String, Value),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

impl Cond {
    /// Shorthand for the optimistic-concurrency check on `version`.
    pub fn version_is(v: u64) -> Self {
        Cond::AttrEq("version".into(), Value::from(v))
    }
}

/// One write. A `Check` writes nothing; it only makes a transaction depend on
/// another item's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Replace the whole item.
    Put {
        item: Item,
        cond: Option<Cond>,
    },
    /// Set and remove top-level attributes, and add to number attributes
    /// (`add`: absent counts as 0, as DynamoDB's `ADD`); creates the item
    /// when it is absent (as `UpdateItem` does) unless `cond` forbids it.
    /// An addition in a transaction is atomic with the transaction's other
    /// writes.
    Update {
        key: Key,
        set: Attrs,
        remove: Vec<String>,
        add: Vec<(String, i64)>,
        cond: Option<Cond>,
    },
    Delete {
        key: Key,
        cond: Option<Cond>,
    },
    Check {
        key: Key,
        cond: Cond,
    },
}

impl Write {
    /// An update that only adds `amounts` to number attributes of the item
    /// at `key`, if `cond` holds.
    pub fn add(key: Key, amounts: &[(&str, i64)], cond: Option<Cond>) -> Self {
        Write::Update {
            key,
            set: Attrs::new(),
            remove: Vec::new(),
            add: amounts.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect(),
            cond,
        }
    }

    pub fn key(&self) -> &Key {
        match self {
            Write::Put { item, .. } => &item.key,
            Write::Update { key, .. } | Write::Delete { key, .. } | Write::Check { key, .. } => key,
        }
    }
}

/// Which key a query walks: the table's own, or a global secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Table,
    Gsi1,
    Gsi2,
    Gsi3,
}

/// A condition on the sort key of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum SortCond {
    All,
    BeginsWith(String),
    /// Inclusive on both ends, like DynamoDB's `BETWEEN`.
    Between(String, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Index,
    /// The partition key value (of the table or of the index).
    pub pk: String,
    pub sort: SortCond,
    /// Ascending by sort key when true.
    pub forward: bool,
    /// At most this many items are examined (1..=1000).
    pub limit: usize,
    /// Continue after this item (the `next` of a previous page).
    pub start_after: Option<Cursor>,
}

impl Query {
    pub fn partition(index: Index, pk: impl Into<String>) -> Self {
        Self {
            index,
            pk: pk.into(),
            sort: SortCond::All,
            forward: true,
            limit: 100,
            start_after: None,
        }
    }
}

/// Where a page ended: the last examined item's table key and, for an index
/// query, its index key. Callers only hand it back, sealed (`cursor.rs`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    pub pk: String,
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isk: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// Live items only (expired ones are skipped, as a filter would).
    pub items: Vec<Item>,
    /// Present when more items may follow.
    pub next: Option<Cursor>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A single write's condition did not hold. Nothing was written.
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was cancelled: `failed` lists the indexes of the writes
    /// whose conditions did not hold (empty when cancelled for another
    /// reason, e.g. a conflicting concurrent transaction). Nothing was written.
    #[error("transaction cancelled")]
    TransactionCancelled { failed: Vec<usize> },
    /// The request breaks a limit of the store (item size, batch size, two
    /// writes to one item in a transaction). A bug in our code, not the client's.
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// The backend failed or could not be reached.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// True when this error means "a condition did not hold" (of a single
    /// write, or of any write of a transaction).
    pub fn is_condition_failure(&self) -> bool {
        matches!(
            self,
            StoreError::ConditionFailed | StoreError::TransactionCancelled { .. }
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a store failure means to the core: a condition that did not hold
/// is a lost race (`Contention`, retried or turned into a `409` by
/// `services::retry`); a request that breaks a limit is our bug.
impl From<StoreError> for crate::error::Error {
    fn from(e: StoreError) -> Self {
        use crate::error::Error;
        match e {
            StoreError::ConditionFailed => Error::Contention { failed: Vec::new() },
            StoreError::TransactionCancelled { failed } => Error::Contention { failed },
            StoreError::Invalid(m) => Error::Internal(format!("invalid store request: {m}")),
            StoreError::Unavailable(m) => Error::Unavailable(format!("store: {m}")),
        }
    }
}

/// The store port. Every call is one round trip.
#[async_trait]
pub trait Store: Send + Sync {
    /// `GetItem`, strongly consistent. Expired items read as absent.
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>>;

    /// `BatchGetItem` of at most [`MAX_BATCH_GET`] distinct keys. Returns
    /// the live items found, in no particular order.
    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>>;

    /// `Query` on the table or an index.
    async fn query(&self, query: &Query) -> StoreResult<Page>;

    /// One conditional write (`PutItem`, `UpdateItem`, `DeleteItem`).
    /// A `Check` alone is rejected as [`StoreError::Invalid`].
    async fn write(&self, write: Write) -> StoreResult<()>;

    /// `TransactWriteItems`: all writes happen or none does. At most
    /// [`MAX_TRANSACT_ITEMS`] writes, each on a distinct key.
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()>;

    /// An atomic addition: adds each `(attribute, amount)` to a number
    /// attribute (absent: 0) of the item at `key`, if `cond` holds, and
    /// returns the item as it is after the addition — what no other call
    /// can see between (`UpdateItem ADD … ReturnValues ALL_NEW`). Creates
    /// the item when it is absent, unless `cond` forbids it.
    async fn add(
        &self,
        key: &Key,
        amounts: &[(&str, i64)],
        cond: Option<Cond>,
    ) -> StoreResult<Item>;
}

/// What every adapter refuses in an addition: nothing to add, a key
/// attribute, an index key attribute (a string), or `ttl`.
pub fn validate_add(key: &Key, amounts: &[(&str, i64)]) -> StoreResult<()> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(StoreError::Invalid("empty key attribute".into()));
    }
    if amounts.is_empty() {
        return Err(StoreError::Invalid("an addition adds something".into()));
    }
    validate_add_names(amounts.iter().map(|(n, _)| *n))
}

/// Additions go to plain number attributes: never a key attribute, an
/// index key attribute (a string) or `ttl`.
fn validate_add_names<'a>(mut names: impl Iterator<Item = &'a str>) -> StoreResult<()> {
    let reserved = |n: &str| {
        n == PK || n == SK || n == TTL || table::GSIS.iter().any(|g| g.pk == n || g.sk == n)
    };
    match names.find(|n| reserved(n)) {
        Some(name) => Err(StoreError::Invalid(format!("cannot add to {name}"))),
        None => Ok(()),
    }
}

/// Approximate stored size of an item, as DynamoDB counts it closely enough
/// to enforce [`MAX_ITEM_BYTES`]: attribute names plus JSON-encoded values.
pub fn item_size(item: &Item) -> usize {
    let attrs: usize = item
        .attrs
        .iter()
        .map(|(k, v)| k.len() + v.to_string().len())
        .sum();
    PK.len() + item.key.pk.len() + SK.len() + item.key.sk.len() + attrs
}

/// Checks the limits every adapter must enforce before a transaction.
pub fn validate_transaction(writes: &[Write]) -> StoreResult<()> {
    if writes.is_empty() || writes.len() > MAX_TRANSACT_ITEMS {
        return Err(StoreError::Invalid(format!(
            "a transaction holds 1 to {MAX_TRANSACT_ITEMS} writes, not {}",
            writes.len()
        )));
    }
    let mut keys: Vec<&Key> = writes.iter().map(Write::key).collect();
    keys.sort();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(StoreError::Invalid(
            "two writes in one transaction target the same item".into(),
        ));
    }
    writes.iter().try_for_each(validate_write)
}

/// Checks what every adapter refuses in one write, as DynamoDB does: an
/// empty key attribute, key attributes among the attributes, an item over
/// the size limit, an index key attribute that is not a non-empty string,
/// an update that removes a key attribute or both sets and removes one, or
/// that adds to an attribute it also sets or removes, or to a reserved one.
pub fn validate_write(write: &Write) -> StoreResult<()> {
    let (key, attrs) = match write {
        Write::Put { item, .. } => (&item.key, Some(&item.attrs)),
        Write::Update {
            key,
            set,
            remove,
            add,
            ..
        } => {
            validate_add_names(add.iter().map(|(n, _)| n.as_str()))?;
            if let Some((name, _)) = add
                .iter()
                .find(|(n, _)| set.contains_key(n) || remove.contains(n))
            {
                return Err(StoreError::Invalid(format!(
                    "attribute {name} is both added to and set or removed"
                )));
            }
            if set.is_empty() && remove.is_empty() && add.is_empty() {
                return Err(StoreError::Invalid(
                    "an update sets, removes or adds something".into(),
                ));
            }
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
            (key, Some(set))
        }
        Write::Delete { key, .. } | Write::Check { key, .. } => (key, None),
    };
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(StoreError::Invalid("empty key attribute".into()));
    }
    if let Some(attrs) = attrs {
        validate_index_attrs(attrs)?;
        if attrs.contains_key(PK) || attrs.contains_key(SK) {
            return Err(StoreError::Invalid(
                "key attributes cannot be set as attributes".into(),
            ));
        }
        let size = item_size(&Item::new(key.clone(), attrs.clone()));
        if size > MAX_ITEM_BYTES {
            return Err(StoreError::Invalid(format!(
                "item of {size} bytes exceeds {MAX_ITEM_BYTES}"
            )));
        }
    }
    Ok(())
}

/// Index key attributes are non-empty strings (an item without them is
/// simply not in that index).
fn validate_index_attrs(attrs: &Attrs) -> StoreResult<()> {
    for def in &table::GSIS {
        for name in [def.pk, def.sk] {
            match attrs.get(name) {
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
