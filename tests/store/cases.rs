//! The contract cases: what every adapter of the store port must do. Each
//! takes a fresh harness.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use shared::store::{
    Cond, Cursor, Index, Item, Key, MAX_BATCH_GET, MAX_ITEM_BYTES, MAX_TRANSACT_ITEMS, Page, Query,
    SortCond, StoreError, Write,
};

use crate::harness::{Harness, assert_condition_failed, assert_invalid, delete, obj, put, update};

fn sks(page: &Page) -> Vec<&str> {
    page.items.iter().map(|i| i.key.sk.as_str()).collect()
}

fn query(
    h: &Harness,
    index: Index,
    pk: &str,
    sort: SortCond,
    forward: bool,
    limit: usize,
) -> Query {
    Query {
        index,
        pk: h.p(pk),
        sort,
        forward,
        limit,
        start_after: None,
    }
}

async fn run(h: &Harness, q: &Query) -> Page {
    h.store
        .query(q)
        .await
        .unwrap_or_else(|e| panic!("query {q:?}: {e}"))
}

/// Every page of a query, following `next` until it is absent.
async fn all_pages(h: &Harness, mut q: Query) -> Vec<Page> {
    let mut pages = Vec::new();
    loop {
        let page = run(h, &q).await;
        let next = page.next.clone();
        pages.push(page);
        match next {
            Some(c) => q.start_after = Some(c),
            None => return pages,
        }
        assert!(pages.len() < 100, "pagination does not end");
    }
}

pub async fn put_get_round_trips_nested_json(h: Harness) {
    let key = h.key("round", "trip");
    let value = json!({
        "s": "text ✓",
        "empty": "",
        "int": 42,
        "neg": -17,
        "frac": 3.25,
        "negfrac": -0.5,
        "big": 9_007_199_254_740_993_i64,
        "t": true,
        "f": false,
        "nothing": null,
        "list": [1, "two", [3.5, null], {"four": 4}],
        "emptylist": [],
        "map": {"a": {"b": {"c": [true, -1]}}, "e": ""},
        "emptymap": {}
    });
    h.put(&key, value.clone()).await;
    let item = h.get(&key).await.expect("item present");
    assert_eq!(item.key, key);
    assert_eq!(Value::Object(item.attrs), value);
}

pub async fn get_of_a_missing_key_is_none(h: Harness) {
    h.put(&h.key("there", "a"), json!({"x": 1})).await;
    assert_eq!(h.get(&h.key("there", "b")).await, None);
    assert_eq!(h.get(&h.key("not-there", "a")).await, None);
    assert!(h.get(&h.key("there", "a")).await.is_some());
}

pub async fn put_if_not_exists_twice_fails_and_keeps_the_first(h: Harness) {
    let key = h.key("unique", "u");
    let first = h
        .store
        .write(put(&key, json!({"v": "first"}), Some(Cond::NotExists)))
        .await;
    assert!(first.is_ok(), "{first:?}");
    let second = h
        .store
        .write(put(&key, json!({"v": "second"}), Some(Cond::NotExists)))
        .await;
    assert_condition_failed(second);
    assert_eq!(h.attrs(&key).await, Some(obj(json!({"v": "first"}))));
}

pub async fn update_creates_when_absent_and_sets_and_removes(h: Harness) {
    let key = h.key("upd", "u");
    h.store
        .write(update(&key, json!({"a": 1, "b": "x"}), &[], None))
        .await
        .expect("update creates");
    assert_eq!(h.attrs(&key).await, Some(obj(json!({"a": 1, "b": "x"}))));
    h.store
        .write(update(&key, json!({"c": [1]}), &["a", "absent"], None))
        .await
        .expect("update modifies");
    assert_eq!(h.attrs(&key).await, Some(obj(json!({"b": "x", "c": [1]}))));
    // A condition that needs the item forbids creating it.
    let other = h.key("upd", "absent");
    assert_condition_failed(
        h.store
            .write(update(&other, json!({"a": 1}), &[], Some(Cond::Exists)))
            .await,
    );
    assert_eq!(h.get(&other).await, None);
}

pub async fn update_with_version_check(h: Harness) {
    let key = h.key("ver", "v");
    h.put(&key, json!({"version": 1, "name": "one"})).await;
    h.store
        .write(update(
            &key,
            json!({"version": 2, "name": "two"}),
            &[],
            Some(Cond::version_is(1)),
        ))
        .await
        .expect("right version");
    assert_condition_failed(
        h.store
            .write(update(
                &key,
                json!({"version": 2, "name": "stale"}),
                &[],
                Some(Cond::version_is(1)),
            ))
            .await,
    );
    assert_eq!(
        h.attrs(&key).await,
        Some(obj(json!({"version": 2, "name": "two"})))
    );
}

pub async fn attribute_conditions(h: Harness) {
    let key = h.key("cond", "c");
    h.put(&key, json!({"status": "open", "owner": "ann"})).await;
    let set = |n: i64| json!({"n": n});

    // AttrNotExists
    h.store
        .write(update(
            &key,
            set(1),
            &[],
            Some(Cond::AttrNotExists("closedAt".into())),
        ))
        .await
        .expect("attr not exists holds");
    assert_condition_failed(
        h.store
            .write(update(
                &key,
                set(2),
                &[],
                Some(Cond::AttrNotExists("owner".into())),
            ))
            .await,
    );
    // AttrExists
    assert_condition_failed(
        h.store
            .write(update(
                &key,
                set(2),
                &[],
                Some(Cond::AttrExists("closedAt".into())),
            ))
            .await,
    );
    // AttrEq
    assert_condition_failed(
        h.store
            .write(update(
                &key,
                set(2),
                &[],
                Some(Cond::AttrEq("status".into(), json!("closed"))),
            ))
            .await,
    );
    // Or: one side holds.
    h.store
        .write(update(
            &key,
            set(3),
            &[],
            Some(Cond::Or(vec![
                Cond::AttrEq("status".into(), json!("closed")),
                Cond::AttrEq("owner".into(), json!("ann")),
            ])),
        ))
        .await
        .expect("or holds");
    // And: one side fails.
    assert_condition_failed(
        h.store
            .write(update(
                &key,
                set(4),
                &[],
                Some(Cond::And(vec![
                    Cond::AttrEq("status".into(), json!("open")),
                    Cond::AttrEq("owner".into(), json!("bob")),
                ])),
            ))
            .await,
    );
    // Or: neither side holds.
    assert_condition_failed(
        h.store
            .write(update(
                &key,
                set(5),
                &[],
                Some(Cond::Or(vec![
                    Cond::AttrExists("closedAt".into()),
                    Cond::AttrEq("owner".into(), json!("bob")),
                ])),
            ))
            .await,
    );
    // And: both hold.
    h.store
        .write(update(
            &key,
            set(6),
            &[],
            Some(Cond::And(vec![
                Cond::AttrEq("status".into(), json!("open")),
                Cond::AttrExists("owner".into()),
            ])),
        ))
        .await
        .expect("and holds");
    assert_eq!(
        h.attrs(&key).await.and_then(|a| a.get("n").cloned()),
        Some(json!(6))
    );

    // On an absent item: AttrNotExists holds, AttrEq and AttrExists do not.
    let absent = h.key("cond", "absent");
    assert_condition_failed(
        h.store
            .write(put(
                &absent,
                json!({}),
                Some(Cond::AttrEq("owner".into(), json!("ann"))),
            ))
            .await,
    );
    assert_condition_failed(
        h.store
            .write(put(
                &absent,
                json!({}),
                Some(Cond::AttrExists("owner".into())),
            ))
            .await,
    );
    h.store
        .write(put(
            &absent,
            json!({"k": 1}),
            Some(Cond::AttrNotExists("owner".into())),
        ))
        .await
        .expect("attr not exists on absent item");
    assert!(h.get(&absent).await.is_some());
}

pub async fn delete_with_condition(h: Harness) {
    let key = h.key("del", "d");
    h.put(&key, json!({"version": 3})).await;
    assert_condition_failed(h.store.write(delete(&key, Some(Cond::version_is(2)))).await);
    assert!(h.get(&key).await.is_some());
    h.store
        .write(delete(&key, Some(Cond::version_is(3))))
        .await
        .expect("delete");
    assert_eq!(h.get(&key).await, None);
    // Deleting what is absent: fine without condition, fails with Exists.
    h.store
        .write(delete(&key, None))
        .await
        .expect("idempotent delete");
    assert_condition_failed(h.store.write(delete(&key, Some(Cond::Exists))).await);
}

pub async fn expiry(h: Harness) {
    let now = h.now_s();
    let key = h.key("exp", "e");
    let attrs = json!({"ttl": now + 60, "gsi1pk": h.p("exp-index"), "gsi1sk": "e", "v": 1});
    h.put(&key, attrs).await;
    let tq = query(&h, Index::Table, "exp", SortCond::All, true, 10);
    let iq = query(&h, Index::Gsi1, "exp-index", SortCond::All, true, 10);

    assert!(h.get(&key).await.is_some(), "visible before its ttl");
    assert_eq!(
        h.store
            .batch_get(std::slice::from_ref(&key))
            .await
            .expect("batch")
            .len(),
        1
    );
    assert_eq!(run(&h, &tq).await.items.len(), 1);
    assert_eq!(run(&h, &iq).await.items.len(), 1);

    h.clock.advance_ms(60_000); // now == ttl: expired
    assert_eq!(h.get(&key).await, None, "invisible at its ttl");
    assert!(
        h.store
            .batch_get(std::slice::from_ref(&key))
            .await
            .expect("batch")
            .is_empty()
    );
    assert!(run(&h, &tq).await.items.is_empty());
    assert!(run(&h, &iq).await.items.is_empty());

    // Conditions see it as absent.
    assert_condition_failed(h.store.write(delete(&key, Some(Cond::Exists))).await);
    assert_condition_failed(
        h.store
            .write(update(
                &key,
                json!({"v": 2}),
                &[],
                Some(Cond::AttrExists("v".into())),
            ))
            .await,
    );
    assert_condition_failed(
        h.store
            .write(update(
                &key,
                json!({"v": 2}),
                &[],
                Some(Cond::AttrEq("v".into(), json!(1))),
            ))
            .await,
    );
    h.store
        .write(put(&key, json!({"v": 3}), Some(Cond::NotExists)))
        .await
        .expect("put if not exists over an expired item");
    assert_eq!(h.attrs(&key).await, Some(obj(json!({"v": 3}))));
    assert!(
        run(&h, &iq).await.items.is_empty(),
        "the new item has no index attributes"
    );

    // An item whose ttl is already past is never visible.
    let past = h.key("exp", "past");
    h.put(&past, json!({"ttl": h.now_s() - 1})).await;
    assert_eq!(h.get(&past).await, None);
    h.store
        .write(update(
            &past,
            json!({"a": 1}),
            &[],
            Some(Cond::AttrNotExists("ttl".into())),
        ))
        .await
        .expect("an expired item lacks every attribute");
}

pub async fn expired_items_count_toward_the_query_limit(h: Harness) {
    let now = h.now_s();
    h.put(&h.key("lim", "1"), json!({})).await;
    h.put(&h.key("lim", "2"), json!({"ttl": now - 10})).await;
    h.put(&h.key("lim", "3"), json!({})).await;
    let q = query(&h, Index::Table, "lim", SortCond::All, true, 2);
    let page = run(&h, &q).await;
    assert_eq!(sks(&page), ["1"]);
    let next = page.next.expect("a next cursor after a full page");
    let page = run(
        &h,
        &Query {
            start_after: Some(next),
            ..q
        },
    )
    .await;
    assert_eq!(sks(&page), ["3"]);
}

pub async fn transaction_is_all_or_nothing(h: Harness) {
    let a = h.key("tx", "a");
    let b = h.key("tx", "b");
    let c = h.key("tx", "c");
    let d = h.key("tx", "d");
    h.put(&b, json!({"version": 1})).await;
    h.put(&d, json!({"keep": true})).await;
    let writes = vec![
        put(
            &a,
            json!({"new": true, "gsi1pk": h.p("tx-index"), "gsi1sk": "a"}),
            Some(Cond::NotExists),
        ),
        update(&b, json!({"version": 2}), &[], Some(Cond::version_is(1))),
        put(&c, json!({}), Some(Cond::Exists)), // c is absent: fails
        delete(&d, None),
    ];
    match h.store.transact(writes).await {
        Err(StoreError::TransactionCancelled { failed }) => assert_eq!(failed, vec![2]),
        other => panic!("expected TransactionCancelled, got {other:?}"),
    }
    assert_eq!(h.get(&a).await, None);
    assert_eq!(h.attrs(&b).await, Some(obj(json!({"version": 1}))));
    assert_eq!(h.get(&c).await, None);
    assert_eq!(h.attrs(&d).await, Some(obj(json!({"keep": true}))));
    let iq = query(&h, Index::Gsi1, "tx-index", SortCond::All, true, 10);
    assert!(run(&h, &iq).await.items.is_empty());

    // The same transaction with c present goes through entirely.
    h.put(&c, json!({})).await;
    let writes = vec![
        put(
            &a,
            json!({"new": true, "gsi1pk": h.p("tx-index"), "gsi1sk": "a"}),
            Some(Cond::NotExists),
        ),
        update(&b, json!({"version": 2}), &[], Some(Cond::version_is(1))),
        put(&c, json!({"c": 1}), Some(Cond::Exists)),
        delete(&d, None),
    ];
    h.store.transact(writes).await.expect("transaction");
    assert!(h.get(&a).await.is_some());
    assert_eq!(h.attrs(&b).await, Some(obj(json!({"version": 2}))));
    assert_eq!(h.attrs(&c).await, Some(obj(json!({"c": 1}))));
    assert_eq!(h.get(&d).await, None);
    assert_eq!(run(&h, &iq).await.items.len(), 1);
}

pub async fn transaction_with_a_check(h: Harness) {
    let guard = h.key("chk", "guard");
    let target = h.key("chk", "target");
    h.put(&guard, json!({"version": 1})).await;
    let tx = |v: i64| {
        vec![
            Write::Check {
                key: guard.clone(),
                cond: Cond::version_is(1),
            },
            put(&target, json!({"v": v}), None),
        ]
    };
    h.store.transact(tx(1)).await.expect("check holds");
    assert_eq!(h.attrs(&target).await, Some(obj(json!({"v": 1}))));
    assert_eq!(
        h.attrs(&guard).await,
        Some(obj(json!({"version": 1}))),
        "a check writes nothing"
    );

    h.put(&guard, json!({"version": 2})).await;
    match h.store.transact(tx(2)).await {
        Err(StoreError::TransactionCancelled { failed }) => assert_eq!(failed, vec![0]),
        other => panic!("expected TransactionCancelled, got {other:?}"),
    }
    assert_eq!(h.attrs(&target).await, Some(obj(json!({"v": 1}))));

    // A check on an absent item.
    let absent = h.key("chk", "absent");
    let r = h
        .store
        .transact(vec![
            put(&target, json!({"v": 3}), None),
            Write::Check {
                key: absent,
                cond: Cond::Exists,
            },
        ])
        .await;
    assert!(
        matches!(&r, Err(StoreError::TransactionCancelled { failed }) if failed == &[1]),
        "{r:?}"
    );
    assert_eq!(h.attrs(&target).await, Some(obj(json!({"v": 1}))));

    // A check alone is not a single write.
    assert_invalid(
        h.store
            .write(Write::Check {
                key: guard.clone(),
                cond: Cond::Exists,
            })
            .await,
    );
}

pub async fn transaction_limits(h: Harness) {
    let too_many: Vec<Write> = (0..=MAX_TRANSACT_ITEMS)
        .map(|i| put(&h.key("lim", &format!("{i:03}")), json!({}), None))
        .collect();
    assert_invalid(h.store.transact(too_many).await);
    assert_eq!(h.get(&h.key("lim", "000")).await, None);

    let key = h.key("dup", "x");
    let dup = vec![
        put(&key, json!({"a": 1}), None),
        put(&h.key("dup", "y"), json!({}), None),
        update(&key, json!({"b": 2}), &[], None),
    ];
    assert_invalid(h.store.transact(dup).await);
    assert_eq!(h.get(&key).await, None);
    assert_eq!(h.get(&h.key("dup", "y")).await, None);

    assert_invalid(h.store.transact(vec![]).await);

    let max: Vec<Write> = (0..MAX_TRANSACT_ITEMS)
        .map(|i| put(&h.key("max", &format!("{i:03}")), json!({}), None))
        .collect();
    h.store.transact(max).await.expect("100 writes");
    assert!(h.get(&h.key("max", "099")).await.is_some());
}

pub async fn batch_get(h: Harness) {
    let present: Vec<Key> = (0..3).map(|i| h.key("bg", &i.to_string())).collect();
    for (i, k) in present.iter().enumerate() {
        h.put(k, json!({"i": i})).await;
    }
    let mut keys = present.clone();
    keys.push(h.key("bg", "missing"));
    keys.push(h.key("bg-missing", "0"));
    let mut got = h.store.batch_get(&keys).await.expect("batch get");
    got.sort_by(|a, b| a.key.cmp(&b.key));
    let expected: Vec<Item> = present
        .iter()
        .enumerate()
        .map(|(i, k)| Item::new(k.clone(), obj(json!({"i": i}))))
        .collect();
    assert_eq!(got, expected);

    let too_many: Vec<Key> = (0..=MAX_BATCH_GET)
        .map(|i| h.key("bg", &format!("{i:03}")))
        .collect();
    assert_invalid(h.store.batch_get(&too_many).await);

    let dup = vec![present[0].clone(), present[1].clone(), present[0].clone()];
    assert_invalid(h.store.batch_get(&dup).await);

    let max: Vec<Key> = (0..MAX_BATCH_GET)
        .map(|i| h.key("bg", &format!("{i:03}")))
        .collect();
    assert!(h.store.batch_get(&max).await.expect("100 keys").is_empty());
}

pub async fn item_size_limit(h: Harness) {
    let key = h.key("big", "b");
    let huge = "x".repeat(MAX_ITEM_BYTES + 1024);
    assert_invalid(h.store.write(put(&key, json!({"blob": huge}), None)).await);
    assert_eq!(h.get(&key).await, None);
    assert_invalid(
        h.store
            .write(update(&key, json!({"blob": huge}), &[], None))
            .await,
    );
    assert_invalid(
        h.store
            .transact(vec![put(&key, json!({"blob": huge}), None)])
            .await,
    );
    assert_eq!(h.get(&key).await, None);

    let large = "y".repeat(300 * 1024);
    h.put(&key, json!({"blob": large})).await;
    assert_eq!(h.attrs(&key).await, Some(obj(json!({"blob": large}))));
}

pub async fn query_table_sort_conditions(h: Harness) {
    for sk in ["a#1", "a#2", "a#3", "b#1", "b#2", "c"] {
        h.put(&h.key("q", sk), json!({"label": sk.replace('#', "-")}))
            .await;
    }
    h.put(&h.key("q-other", "a#1"), json!({})).await;
    let q = |sort: SortCond, forward: bool, limit: usize| {
        query(&h, Index::Table, "q", sort, forward, limit)
    };

    let page = run(&h, &q(SortCond::All, true, 100)).await;
    assert_eq!(sks(&page), ["a#1", "a#2", "a#3", "b#1", "b#2", "c"]);
    assert_eq!(page.next, None);
    assert_eq!(page.items[0].attrs, obj(json!({"label": "a-1"})));
    assert_eq!(page.items[0].key, h.key("q", "a#1"));

    let page = run(&h, &q(SortCond::BeginsWith("a#".into()), true, 100)).await;
    assert_eq!(sks(&page), ["a#1", "a#2", "a#3"]);
    let page = run(&h, &q(SortCond::BeginsWith("b".into()), false, 100)).await;
    assert_eq!(sks(&page), ["b#2", "b#1"]);
    let page = run(&h, &q(SortCond::BeginsWith("z".into()), true, 100)).await;
    assert!(page.items.is_empty());
    // Every key begins with the empty prefix (a list by provider without
    // bounds asks for it: `services/clinic/reads.rs`).
    let page = run(&h, &q(SortCond::BeginsWith(String::new()), true, 100)).await;
    assert_eq!(sks(&page), ["a#1", "a#2", "a#3", "b#1", "b#2", "c"]);

    let page = run(
        &h,
        &q(SortCond::Between("a#2".into(), "b#1".into()), true, 100),
    )
    .await;
    assert_eq!(sks(&page), ["a#2", "a#3", "b#1"], "between is inclusive");
    let page = run(
        &h,
        &q(SortCond::Between("a#2".into(), "b#1".into()), false, 100),
    )
    .await;
    assert_eq!(sks(&page), ["b#1", "a#3", "a#2"]);

    let page = run(&h, &q(SortCond::All, false, 100)).await;
    assert_eq!(sks(&page), ["c", "b#2", "b#1", "a#3", "a#2", "a#1"]);

    let page = run(&h, &q(SortCond::All, true, 2)).await;
    assert_eq!(sks(&page), ["a#1", "a#2"]);
    let next = page.next.expect("more follow");
    assert_eq!(
        (next.pk.as_str(), next.sk.as_str()),
        (h.p("q").as_str(), "a#2")
    );

    let page = run(
        &h,
        &Query {
            start_after: Some(next),
            ..q(SortCond::BeginsWith("a".into()), true, 2)
        },
    )
    .await;
    assert_eq!(sks(&page), ["a#3"]);

    let reverse_pages = all_pages(&h, q(SortCond::BeginsWith("a#".into()), false, 2)).await;
    let all: Vec<&str> = reverse_pages.iter().flat_map(sks).collect();
    assert_eq!(all, ["a#3", "a#2", "a#1"]);
}

pub async fn query_table_pagination(h: Harness) {
    for i in 0..25 {
        h.put(&h.key("pages", &format!("item#{i:02}")), json!({"i": i}))
            .await;
    }
    let pages = all_pages(
        &h,
        query(&h, Index::Table, "pages", SortCond::All, true, 10),
    )
    .await;
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    let all: Vec<&str> = pages.iter().flat_map(sks).collect();
    let expected: Vec<String> = (0..25).map(|i| format!("item#{i:02}")).collect();
    assert_eq!(all, expected);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 25);

    let pages = all_pages(
        &h,
        query(&h, Index::Table, "pages", SortCond::All, false, 10),
    )
    .await;
    let all: Vec<&str> = pages.iter().flat_map(sks).collect();
    let reversed: Vec<String> = expected.iter().rev().cloned().collect();
    assert_eq!(all, reversed);
}

pub async fn query_global_secondary_indexes(h: Harness) {
    let g1 = h.p("G#1");
    let item = |sk: &str| h.key("gsi-items", sk);
    h.put(
        &item("A"),
        json!({"gsi1pk": g1, "gsi1sk": "b", "gsi2pk": h.p("H"), "gsi2sk": "2", "name": "A"}),
    )
    .await;
    h.put(
        &item("B"),
        json!({"gsi1pk": g1, "gsi1sk": "a", "name": "B"}),
    )
    .await;
    h.put(
        &item("C"),
        json!({"gsi1pk": g1, "gsi1sk": "c", "gsi2pk": h.p("H"), "gsi2sk": "1"}),
    )
    .await;
    h.put(&item("D"), json!({"name": "no index attributes"}))
        .await;
    h.put(
        &item("E"),
        json!({"gsi1pk": g1, "name": "half an index key"}),
    )
    .await;
    h.put(
        &h.key("gsi-other", "F"),
        json!({"gsi1pk": h.p("G#2"), "gsi1sk": "a"}),
    )
    .await;

    let gq = |index: Index, pk: &str, sort: SortCond, forward: bool, limit: usize| {
        query(&h, index, pk, sort, forward, limit)
    };
    let page = run(&h, &gq(Index::Gsi1, "G#1", SortCond::All, true, 100)).await;
    assert_eq!(sks(&page), ["B", "A", "C"]);
    assert_eq!(page.next, None);
    // Indexes project every attribute.
    assert_eq!(Some(&page.items[1]), h.get(&item("A")).await.as_ref());

    let page = run(&h, &gq(Index::Gsi1, "G#1", SortCond::All, false, 100)).await;
    assert_eq!(sks(&page), ["C", "A", "B"]);
    let page = run(
        &h,
        &gq(
            Index::Gsi1,
            "G#1",
            SortCond::Between("b".into(), "c".into()),
            true,
            100,
        ),
    )
    .await;
    assert_eq!(sks(&page), ["A", "C"]);
    let page = run(
        &h,
        &gq(
            Index::Gsi1,
            "G#1",
            SortCond::BeginsWith("a".into()),
            true,
            100,
        ),
    )
    .await;
    assert_eq!(sks(&page), ["B"]);
    let page = run(&h, &gq(Index::Gsi1, "G#2", SortCond::All, true, 100)).await;
    assert_eq!(
        page.items.iter().map(|i| i.key.clone()).collect::<Vec<_>>(),
        [h.key("gsi-other", "F")]
    );

    let page = run(&h, &gq(Index::Gsi2, "H", SortCond::All, true, 100)).await;
    assert_eq!(sks(&page), ["C", "A"]);

    // Pagination on an index: the cursor carries the index key.
    let page = run(&h, &gq(Index::Gsi1, "G#1", SortCond::All, true, 1)).await;
    assert_eq!(sks(&page), ["B"]);
    let next = page.next.clone().expect("more follow");
    assert_eq!(next.ipk.as_deref(), Some(g1.as_str()));
    assert_eq!(next.isk.as_deref(), Some("a"));
    let pages = all_pages(&h, gq(Index::Gsi1, "G#1", SortCond::All, true, 1)).await;
    let all: Vec<&str> = pages.iter().flat_map(sks).collect();
    assert_eq!(all, ["B", "A", "C"]);

    // The entry moves when its sort key changes...
    h.store
        .write(update(&item("A"), json!({"gsi1sk": "d"}), &[], None))
        .await
        .expect("move");
    let page = run(&h, &gq(Index::Gsi1, "G#1", SortCond::All, true, 100)).await;
    assert_eq!(sks(&page), ["B", "C", "A"]);
    // ...and disappears when it is removed, leaving the other index alone.
    h.store
        .write(update(&item("A"), json!({}), &["gsi1sk"], None))
        .await
        .expect("remove");
    let page = run(&h, &gq(Index::Gsi1, "G#1", SortCond::All, true, 100)).await;
    assert_eq!(sks(&page), ["B", "C"]);
    let page = run(&h, &gq(Index::Gsi2, "H", SortCond::All, true, 100)).await;
    assert_eq!(sks(&page), ["C", "A"]);
    // An item joins an index when it gains both attributes.
    h.store
        .write(update(
            &item("D"),
            json!({"gsi2pk": h.p("H"), "gsi2sk": "0"}),
            &[],
            None,
        ))
        .await
        .expect("join");
    let page = run(&h, &gq(Index::Gsi2, "H", SortCond::All, true, 100)).await;
    assert_eq!(sks(&page), ["D", "C", "A"]);
    // Deleting the item removes its entries.
    h.store
        .write(delete(&item("C"), None))
        .await
        .expect("delete");
    let page = run(&h, &gq(Index::Gsi2, "H", SortCond::All, true, 100)).await;
    assert_eq!(sks(&page), ["D", "A"]);
    let page = run(&h, &gq(Index::Gsi1, "G#1", SortCond::All, true, 100)).await;
    assert_eq!(sks(&page), ["B"]);
}

pub async fn concurrent_puts_if_not_exists(h: Harness) {
    let key = h.key("race", "put");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = h.store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                (
                    i,
                    store
                        .write(put(&key, json!({"writer": i}), Some(Cond::NotExists)))
                        .await,
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, r) = t.await.expect("task");
        match r {
            Ok(()) => winners.push(i),
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("writer {i}: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(
        h.attrs(&key).await,
        Some(obj(json!({"writer": winners[0]})))
    );
}

pub async fn concurrent_version_checked_updates(h: Harness) {
    let key = h.key("race", "update");
    h.put(&key, json!({"version": 1})).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = h.store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                let w = update(
                    &key,
                    json!({"version": 2, "writer": i}),
                    &[],
                    Some(Cond::version_is(1)),
                );
                (i, store.write(w).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, r) = t.await.expect("task");
        match r {
            Ok(()) => winners.push(i),
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("writer {i}: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(
        h.attrs(&key).await,
        Some(obj(json!({"version": 2, "writer": winners[0]})))
    );
}

/// A cursor continues strictly after its item, within the sort condition.
pub async fn start_after_continues_strictly_after_the_cursor(h: Harness) {
    for sk in ["a1", "a2", "b1"] {
        h.put(&h.key("cur", sk), json!({})).await;
    }
    let q = Query {
        start_after: Some(Cursor {
            pk: h.p("cur"),
            sk: "a1".into(),
            ipk: None,
            isk: None,
        }),
        ..query(
            &h,
            Index::Table,
            "cur",
            SortCond::BeginsWith("a".into()),
            true,
            10,
        )
    };
    assert_eq!(sks(&run(&h, &q).await), ["a2"]);
}

/// Nested and single-element `And`/`Or`, attribute names that need escaping
/// (`:` and spaces), as the patient-key index writes them. DynamoDB rejects
/// redundant parentheses, so this also checks how an adapter builds them.
pub async fn nested_conditions_and_unusual_attribute_names(h: Harness) {
    let key = h.key("nested", "n");
    let claim = |pid: &str| {
        Cond::And(vec![Cond::Or(vec![
            Cond::AttrNotExists("s:pharmacy system".into()),
            Cond::AttrEq("s:pharmacy system".into(), json!(pid)),
        ])])
    };
    h.store
        .write(update(
            &key,
            json!({"s:pharmacy system": "p1"}),
            &[],
            Some(claim("p1")),
        ))
        .await
        .expect("first claim");
    h.store
        .write(update(
            &key,
            json!({"p:p1": {"v": 2}}),
            &[],
            Some(claim("p1")),
        ))
        .await
        .expect("same owner again");
    assert_condition_failed(
        h.store
            .write(update(
                &key,
                json!({"s:pharmacy system": "p2"}),
                &[],
                Some(claim("p2")),
            ))
            .await,
    );
    let single = Cond::Or(vec![Cond::And(vec![Cond::Exists])]);
    h.store
        .transact(vec![
            update(&key, json!({"x": 1}), &[], Some(single)),
            update(
                &h.key("nested", "other"),
                json!({"y": 1}),
                &[],
                Some(Cond::And(vec![Cond::NotExists])),
            ),
        ])
        .await
        .expect("single-element groups");
    let item = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!(item.attrs["s:pharmacy system"], json!("p1"));
    assert_eq!(item.attrs["p:p1"], json!({"v": 2}));
}

/// `add`: numbers added atomically (absent counts as 0), the item as it is
/// after the addition returned, a condition that fails changes nothing,
/// concurrent additions each see a distinct total, key and index
/// attributes refused.
pub async fn additions_are_atomic_and_return_the_new_item(h: Harness) {
    let key = h.key("counter", "c");
    // The item must exist: nothing is created.
    assert_condition_failed(
        h.store
            .add(&key, &[("n", 1)], Some(Cond::Exists))
            .await
            .map(drop),
    );
    assert_eq!(h.get(&key).await, None);
    h.store
        .write(update(&key, json!({"label": "queue"}), &[], None))
        .await
        .expect("create");
    let item = h
        .store
        .add(&key, &[("n", 1), ("m", 0)], Some(Cond::Exists))
        .await
        .expect("add");
    assert_eq!(item.key, key);
    assert_eq!(item.attrs.get("n"), Some(&json!(1)));
    assert_eq!(item.attrs.get("m"), Some(&json!(0)));
    assert_eq!(item.attrs.get("label"), Some(&json!("queue")));
    let item = h
        .store
        .add(&key, &[("n", 2), ("m", -1)], None)
        .await
        .expect("add");
    assert_eq!(item.attrs.get("n"), Some(&json!(3)));
    assert_eq!(item.attrs.get("m"), Some(&json!(-1)));
    let cond = Cond::AttrEq("label".into(), json!("other"));
    assert_condition_failed(h.store.add(&key, &[("n", 1)], Some(cond)).await.map(drop));
    let seen: Vec<i64> = futures::future::join_all((0..10).map(|_| {
        let (store, key) = (h.store.clone(), key.clone());
        async move {
            let item = store
                .add(&key, &[("n", 1)], Some(Cond::Exists))
                .await
                .expect("add");
            item.attrs
                .get("n")
                .and_then(Value::as_i64)
                .expect("a number")
        }
    }))
    .await;
    let distinct: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(distinct, (4..=13).collect::<BTreeSet<i64>>(), "{seen:?}");
    for bad in ["pk", "sk", "ttl", "gsi1pk"] {
        assert_invalid(h.store.add(&key, &[(bad, 1)], None).await.map(drop));
    }
    assert_invalid(h.store.add(&key, &[], None).await.map(drop));
}

/// An update's additions (`Write::Update::add`, absent counts as 0) in a
/// transaction: applied with the transaction's other writes or not at all,
/// set and removed beside, on a number only; what it may not touch
/// refused.
pub async fn additions_in_a_transaction_are_all_or_nothing(h: Harness) {
    let counter = h.key("counter", "c");
    let other = h.key("visit", "v");
    let add = |n: i64, cond: Option<Cond>| Write::add(counter.clone(), &[("left", n)], cond);
    // The item must exist: a failed condition cancels the whole transaction.
    let r = h
        .store
        .transact(vec![
            put(&other, json!({"status": "STARTED"}), None),
            add(1, Some(Cond::Exists)),
        ])
        .await;
    assert!(
        matches!(&r, Err(StoreError::TransactionCancelled { failed }) if failed == &vec![1]),
        "{r:?}"
    );
    assert_eq!(h.get(&other).await, None, "nothing written");
    assert_eq!(h.get(&counter).await, None);
    h.store
        .write(update(
            &counter,
            json!({"label": "queue", "issued": 5}),
            &[],
            None,
        ))
        .await
        .expect("create");
    h.store
        .transact(vec![
            put(&other, json!({"status": "STARTED"}), None),
            add(1, Some(Cond::Exists)),
        ])
        .await
        .expect("added with the other write");
    let item = h.get(&counter).await.expect("counter");
    assert_eq!(
        item.attrs.get("left"),
        Some(&json!(1)),
        "absent counts as 0"
    );
    assert_eq!(item.attrs.get("issued"), Some(&json!(5)));
    // A failed condition elsewhere: the addition does not happen.
    let r = h
        .store
        .transact(vec![
            put(&other, json!({"status": "DONE"}), Some(Cond::NotExists)),
            add(1, None),
        ])
        .await;
    assert!(
        matches!(r, Err(StoreError::TransactionCancelled { .. })),
        "{r:?}"
    );
    assert_eq!(
        h.get(&counter).await.expect("counter").attrs["left"],
        json!(1)
    );
    // Set, remove and add in one update, single or transactional.
    h.store
        .write(Write::Update {
            key: counter.clone(),
            set: obj(json!({"state": "open"})),
            remove: vec!["label".into()],
            add: vec![("left".into(), 2), ("issued".into(), -1)],
            cond: Some(Cond::AttrEq("issued".into(), json!(5))),
        })
        .await
        .expect("set, remove, add");
    let item = h.get(&counter).await.expect("counter");
    assert_eq!(item.attrs.get("left"), Some(&json!(3)));
    assert_eq!(item.attrs.get("issued"), Some(&json!(4)));
    assert_eq!(item.attrs.get("state"), Some(&json!("open")));
    assert_eq!(item.attrs.get("label"), None);
    // Concurrent transactions each add theirs.
    futures::future::join_all((0..5).map(|i| {
        let store = h.store.clone();
        let (counter, visit) = (counter.clone(), h.key("visit", &format!("w{i}")));
        async move {
            let writes = vec![
                put(&visit, json!({"status": "LEFT"}), Some(Cond::NotExists)),
                Write::add(counter, &[("left", 1)], Some(Cond::Exists)),
            ];
            // A conflicting transaction (DynamoDB) is run again.
            for _ in 0..20 {
                match store.transact(writes.clone()).await {
                    Err(StoreError::TransactionCancelled { failed }) if failed.is_empty() => {
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    }
                    other => return other.expect("added"),
                }
            }
            panic!("never committed");
        }
    }))
    .await;
    assert_eq!(
        h.get(&counter).await.expect("counter").attrs["left"],
        json!(8)
    );
    // What an addition may not touch, and numbers only.
    for bad in ["pk", "ttl", "gsi2sk"] {
        assert_invalid(
            h.store
                .write(Write::add(counter.clone(), &[(bad, 1)], None))
                .await,
        );
    }
    let both = Write::Update {
        key: counter.clone(),
        set: obj(json!({"left": 1})),
        remove: vec![],
        add: vec![("left".into(), 1)],
        cond: None,
    };
    assert_invalid(h.store.write(both).await);
    let nothing = Write::Update {
        key: counter.clone(),
        set: obj(json!({})),
        remove: vec![],
        add: vec![],
        cond: None,
    };
    assert_invalid(h.store.write(nothing).await);
    let r = h
        .store
        .write(Write::add(counter.clone(), &[("state", 1)], None))
        .await;
    assert!(r.is_err(), "adding to a string: {r:?}");
    assert_eq!(
        h.get(&counter).await.expect("counter").attrs["state"],
        json!("open")
    );
}
