//! What a contract case needs: a store, the clock it reads, and a namespace
//! for keys (empty for a fresh embedded store; a unique prefix lets cases of
//! an adapter on a shared backend, such as one DynamoDB table, stay apart).

use std::sync::Arc;

use serde_json::Value;
use shared::clock::{Clock, ManualClock};
use shared::store::{Attrs, Cond, Item, Key, Store, StoreError, Write};

/// 2026-01-01T00:00:00Z, where every harness clock starts.
pub const START_MS: i64 = 1_767_225_600_000;

pub struct Harness {
    pub store: Arc<dyn Store>,
    pub clock: ManualClock,
    pub ns: String,
}

impl Harness {
    /// A partition (or index partition) key value in this harness's namespace.
    pub fn p(&self, pk: &str) -> String {
        format!("{}{pk}", self.ns)
    }

    pub fn key(&self, pk: &str, sk: &str) -> Key {
        Key::new(self.p(pk), sk)
    }

    pub fn now_s(&self) -> i64 {
        self.clock.now_s()
    }

    pub async fn put(&self, key: &Key, attrs: Value) {
        self.store
            .write(put(key, attrs, None))
            .await
            .unwrap_or_else(|e| panic!("put {key:?}: {e}"));
    }

    pub async fn get(&self, key: &Key) -> Option<Item> {
        self.store
            .get(key)
            .await
            .unwrap_or_else(|e| panic!("get {key:?}: {e}"))
    }

    /// The attributes of a live item, or `None`.
    pub async fn attrs(&self, key: &Key) -> Option<Attrs> {
        self.get(key).await.map(|i| i.attrs)
    }
}

/// The object's members; panics on anything but a JSON object.
pub fn obj(v: Value) -> Attrs {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

pub fn put(key: &Key, attrs: Value, cond: Option<Cond>) -> Write {
    Write::Put {
        item: Item::new(key.clone(), obj(attrs)),
        cond,
    }
}

pub fn update(key: &Key, set: Value, remove: &[&str], cond: Option<Cond>) -> Write {
    Write::Update {
        key: key.clone(),
        set: obj(set),
        remove: remove.iter().map(|s| s.to_string()).collect(),
        add: vec![],
        cond,
    }
}

pub fn delete(key: &Key, cond: Option<Cond>) -> Write {
    Write::Delete {
        key: key.clone(),
        cond,
    }
}

#[track_caller]
pub fn assert_condition_failed(r: Result<(), StoreError>) {
    assert!(
        matches!(r, Err(StoreError::ConditionFailed)),
        "expected ConditionFailed, got {r:?}"
    );
}

#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(
        matches!(r, Err(StoreError::Invalid(_))),
        "expected Invalid, got {r:?}"
    );
}
