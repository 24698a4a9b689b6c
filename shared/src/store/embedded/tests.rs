//! The embedded adapter's own checks (the contract suite in `tests/store`
//! holds both adapters to the port).

use serde_json::json;

use super::query::prefix_successor;
use super::*;
use crate::clock::ManualClock;
use crate::store::{Cond, Cursor, Index, Query, SortCond};

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
    assert!(index_entries(&s, &crate::store::table::GSI1).is_empty());

    s.write(put(
        json!({"gsi1pk": "A", "gsi1sk": "1", "gsi2pk": "B", "gsi2sk": "x"}),
    ))
    .await
    .expect("put");
    assert_eq!(
        index_entries(&s, &crate::store::table::GSI1),
        [e("A", "1", "P", "S")]
    );
    assert_eq!(
        index_entries(&s, &crate::store::table::GSI2),
        [e("B", "x", "P", "S")]
    );

    // Update moves gsi1 and removes gsi2.
    s.write(Write::Update {
        key: key.clone(),
        set: attrs(json!({"gsi1sk": "2"})),
        remove: vec!["gsi2sk".into()],
        add: vec![],
        cond: None,
    })
    .await
    .expect("update");
    assert_eq!(
        index_entries(&s, &crate::store::table::GSI1),
        [e("A", "2", "P", "S")]
    );
    assert!(index_entries(&s, &crate::store::table::GSI2).is_empty());

    // A Put without the attributes drops the entry; Delete after re-adding too.
    s.write(put(json!({"x": 1}))).await.expect("put");
    assert!(index_entries(&s, &crate::store::table::GSI1).is_empty());
    s.write(put(json!({"gsi1pk": "A", "gsi1sk": "3"})))
        .await
        .expect("put");
    s.write(Write::Delete { key, cond: None })
        .await
        .expect("delete");
    assert!(index_entries(&s, &crate::store::table::GSI1).is_empty());
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
        index_entries(&s, &crate::store::table::GSI1),
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
        add: vec![],
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
            add: vec![],
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
        add: vec![],
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
