//! Queries: a partition of the table or of an index, in order, from a
//! cursor, at most a limit of examined items.

use std::cmp::Ordering;
use std::ops::Bound;

use redb::ReadTransaction;

use super::{
    ITEMS, IndexKey, ItemKey, MAX_QUERY_LIMIT, decode, index_table, read_attrs, unavailable,
};
use crate::store::table::gsi;
use crate::store::{Cursor, Index, Item, Key, Page, Query, SortCond, StoreError, StoreResult};

/// A validated query: its bounds on the partition's ordering key, which is
/// `(sk)` for the table and `(isk, pk, sk)` for an index.
pub(super) struct QueryPlan {
    pub(super) index: Index,
    pk: String,
    forward: bool,
    limit: usize,
    lower: Bound<(String, String, String)>,
    upper: Bound<(String, String, String)>,
}

impl QueryPlan {
    pub(super) fn new(q: &Query) -> StoreResult<Self> {
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

/// The mirror of [`tighter_lower`] (alike by design: one bound each way).
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
pub(super) fn prefix_successor(p: &str) -> Option<String> {
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

pub(super) fn query_table(txn: &ReadTransaction, plan: &QueryPlan, now: i64) -> StoreResult<Page> {
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

pub(super) fn query_index(txn: &ReadTransaction, plan: &QueryPlan, now: i64) -> StoreResult<Page> {
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
