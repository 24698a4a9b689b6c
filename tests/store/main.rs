//! The store port's contract suite. Every case in `cases.rs` runs against
//! every adapter listed at the bottom; adding an adapter is one line:
//! `contract_tests!(name, factory);` where `factory` is an `async fn() ->
//! Harness` giving a store no other case writes to (or a fresh namespace).

mod cases;
#[path = "../support/dynamo.rs"]
mod dynamo;
mod harness;

use std::sync::Arc;

use harness::{Harness, START_MS};
use shared::clock::ManualClock;
use shared::store::Store;
use shared::store::embedded::EmbeddedStore;

/// One `#[tokio::test]` per contract case, in a module named after the adapter.
macro_rules! contract_tests {
    ($adapter:ident, $factory:path) => {
        mod $adapter {
            #[allow(unused_imports)]
            use super::*;
            contract_tests!(@cases $factory;
                put_get_round_trips_nested_json,
                get_of_a_missing_key_is_none,
                put_if_not_exists_twice_fails_and_keeps_the_first,
                update_creates_when_absent_and_sets_and_removes,
                update_with_version_check,
                attribute_conditions,
                delete_with_condition,
                expiry,
                expired_items_count_toward_the_query_limit,
                transaction_is_all_or_nothing,
                transaction_with_a_check,
                transaction_limits,
                batch_get,
                item_size_limit,
                query_table_sort_conditions,
                query_table_pagination,
                query_global_secondary_indexes,
                start_after_continues_strictly_after_the_cursor,
                concurrent_puts_if_not_exists,
                concurrent_version_checked_updates,
                nested_conditions_and_unusual_attribute_names,
                additions_are_atomic_and_return_the_new_item,
            );
        }
    };
    (@cases $factory:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let harness = $factory().await;
                $crate::cases::$case(harness).await;
            }
        )+
    };
}

async fn make_embedded_harness() -> Harness {
    let clock = ManualClock::new(START_MS);
    let store = EmbeddedStore::in_memory(Arc::new(clock.clone())).expect("in-memory store");
    Harness {
        store: Arc::new(store),
        clock,
        ns: String::new(),
    }
}

contract_tests!(embedded, make_embedded_harness);

/// DynamoDB (moto server), a table per case.
async fn make_dynamo_harness() -> Harness {
    let clock = ManualClock::new(START_MS);
    let (store, _) = dynamo::store(Arc::new(clock.clone())).await;
    Harness {
        store: dynamo::serialized(store),
        clock,
        ns: String::new(),
    }
}

contract_tests!(dynamodb, make_dynamo_harness);

/// The file-backed embedded store keeps what it acknowledged across a restart.
#[tokio::test]
async fn embedded_store_file_survives_reopen() {
    use serde_json::json;
    use shared::store::{Index, Query};

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.redb");
    let clock = ManualClock::new(START_MS);
    let key = shared::store::Key::new("reopen", "k");
    let attrs = harness::obj(json!({"v": [1, 2.5, "three"], "gsi2pk": "R", "gsi2sk": "1"}));
    {
        let store = EmbeddedStore::open(&path, Arc::new(clock.clone())).expect("open");
        store
            .write(harness::put(
                &key,
                serde_json::Value::Object(attrs.clone()),
                None,
            ))
            .await
            .expect("put");
    }
    let store = EmbeddedStore::open(&path, Arc::new(clock)).expect("reopen");
    let item = store
        .get(&key)
        .await
        .expect("get")
        .expect("present after reopen");
    assert_eq!(item.attrs, attrs);
    let page = store
        .query(&Query::partition(Index::Gsi2, "R"))
        .await
        .expect("query");
    assert_eq!(page.items, vec![item]);
}
