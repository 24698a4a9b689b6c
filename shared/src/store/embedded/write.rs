//! Writes: every condition checked and every new item computed, then every
//! write applied, with the index tables and the change feed, as one request
//! of a batch's redb write transaction (`group.rs`).

use redb::{ReadableTable, WriteTransaction};
use serde_json::Value;

use super::group::{Done, Fault, Step};
use super::{ITEMS, META, NEXT_SEQ, STREAM, index_table, read_attrs, unavailable};
use crate::store::items::{OUTBOX, TYPE};
use crate::store::table::{GSIS, GsiDef};
use crate::store::{
    Attrs, Cond, Item, Key, MAX_ITEM_BYTES, PK, SK, StoreError, StoreResult, TTL, Write, item_size,
};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Single,
    Transaction,
}

/// A request of the batch (`group.rs`): checks every condition and computes
/// every new item (refused: nothing written), then applies every write.
/// `writes` is validated (distinct keys, limits).
pub(super) fn apply(txn: &WriteTransaction, writes: Vec<Write>, mode: Mode, now: i64) -> Step<()> {
    let planned = plan(txn, writes, mode, now).map_err(Fault::Refused)?;
    let fed = store(txn, planned, now).map_err(Fault::Broken)?;
    Ok(Done { value: (), fed })
}

/// An atomic addition, answered with the item as written: an update
/// applied by the single writer, in the state its batch has reached.
pub(super) fn add(
    txn: &WriteTransaction,
    key: Key,
    amounts: Vec<(String, i64)>,
    cond: Option<Cond>,
    now: i64,
) -> Step<Item> {
    let write = Write::Update {
        key: key.clone(),
        set: Attrs::new(),
        remove: vec![],
        add: amounts,
        cond,
    };
    let planned = plan(txn, vec![write], Mode::Single, now).map_err(Fault::Refused)?;
    let attrs = planned
        .first()
        .and_then(|p| p.new.clone())
        .unwrap_or_default();
    let fed = store(txn, planned, now).map_err(Fault::Broken)?;
    Ok(Done {
        value: Item::new(key, attrs),
        fed,
    })
}

/// Adds each amount to its number attribute (absent: 0), as DynamoDB's
/// `ADD` does; a value that is not a whole number is refused.
fn add_to(attrs: &mut Attrs, add: Vec<(String, i64)>) -> StoreResult<()> {
    for (name, amount) in add {
        let base = match attrs.get(&name) {
            None => 0,
            Some(v) => v.as_i64().ok_or_else(|| {
                StoreError::Invalid(format!("attribute {name} is not a whole number"))
            })?,
        };
        let sum = base
            .checked_add(amount)
            .ok_or_else(|| StoreError::Invalid(format!("attribute {name} overflows")))?;
        attrs.insert(name, Value::from(sum));
    }
    Ok(())
}

/// A write, checked and computed: the stored attributes before (expired or
/// not) and the attributes after (`None`: deleted).
struct Planned {
    key: Key,
    old: Option<Attrs>,
    new: Option<Attrs>,
}

/// Checks every condition and computes every new item, writing nothing:
/// every error of a request is found here, before any of its writes.
fn plan(
    txn: &WriteTransaction,
    writes: Vec<Write>,
    mode: Mode,
    now: i64,
) -> StoreResult<Vec<Planned>> {
    let items = txn.open_table(ITEMS).map_err(unavailable)?;

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

    let mut planned = Vec::with_capacity(writes.len());
    for (w, old) in writes.into_iter().zip(stored) {
        let (key, new) = match w {
            Write::Check { .. } => continue,
            Write::Put { item, .. } => (item.key, Some(item.attrs)),
            Write::Delete { key, .. } => (key, None),
            Write::Update {
                key,
                set,
                remove,
                add,
                ..
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
                add_to(&mut attrs, add)?;
                let size = item_size(&Item::new(key.clone(), attrs.clone()));
                if size > MAX_ITEM_BYTES {
                    return Err(StoreError::Invalid(format!(
                        "updated item of {size} bytes exceeds {MAX_ITEM_BYTES}"
                    )));
                }
                (key, Some(attrs))
            }
        };
        planned.push(Planned { key, old, new });
    }
    Ok(planned)
}

/// Applies planned writes, with the index tables and the change feed; true
/// when something was added to the change feed. An error here leaves the
/// transaction half-written: the caller's batch must not commit.
fn store(txn: &WriteTransaction, planned: Vec<Planned>, now: i64) -> StoreResult<bool> {
    let mut items = txn.open_table(ITEMS).map_err(unavailable)?;
    let mut fed = false;
    let mut indexes = Vec::with_capacity(GSIS.len());
    for def in &GSIS {
        indexes.push((def, txn.open_table(index_table(def)).map_err(unavailable)?));
    }

    for Planned { key, old, new } in planned {
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
            .filter(|a| inserted && a.get(TYPE) == Some(&Value::from(OUTBOX)))
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
        .get(TTL)
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
