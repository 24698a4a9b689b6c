//! The outbox does not rest on the stream alone: every item is pending in
//! a sparse, sharded index until it is relayed; the relay marks what it
//! delivered; the re-drive puts on the bus what is still pending some
//! minutes later, and dead-letters what the bus refuses every time.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Value, json};
use shared::clock::Clock;
use shared::events::outbox::OUTBOX_TTL_MS;
use shared::events::redrive::{MAX_ATTEMPTS, Redriven, redrive, stranded};
use shared::events::relay::{RelayPolicy, StreamRecord, relay, settle};
use shared::events::{BusEntry, EventBus};
use shared::store::keys::OutboxState;
use shared::store::{Item, PK, SK, Store};

use crate::helpers::*;

const MINUTES_10: i64 = 10 * 60_000;

/// A bus that keeps what it accepts and refuses the events whose id is in
/// `refuse`.
#[derive(Default)]
struct Recording {
    accepted: Mutex<Vec<Value>>,
    refuse: Mutex<HashSet<String>>,
}

#[async_trait]
impl EventBus for Recording {
    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, String> {
        assert!(entries.len() <= 10);
        let refuse = self.refuse.lock().unwrap().clone();
        Ok(entries
            .iter()
            .map(|e| {
                let detail: Value = serde_json::from_str(&e.detail).unwrap();
                if refuse.contains(detail["id"].as_str().unwrap()) {
                    return Some("InvalidArgument".to_owned());
                }
                self.accepted.lock().unwrap().push(detail);
                None
            })
            .collect())
    }
}

impl Recording {
    fn ids(&self) -> Vec<String> {
        let accepted = self.accepted.lock().unwrap();
        accepted
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// `n` consultations created through the API: `n` outbox items.
async fn changes(t: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let r = t
            .post_json(
                "/v2/consultations",
                &[],
                &json!({"patient": {"keys": [{"subSystem": "pms", "key": format!("ob-{i}")}],
                                    "firstName": "Ann", "lastName": "Lee"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(
            r.json()["consultation"]["consultationId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids
}

async fn pending(t: &TestApp) -> Vec<Item> {
    stranded(t.store.as_ref(), OutboxState::Pending, i64::MAX / 2)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_event_the_stream_lost_is_redriven_once_it_is_old_enough() {
    let t = spawn_app().await;
    changes(&t, 12).await;
    let items = pending(&t).await;
    assert_eq!(items.len(), 12, "every new event is pending");
    for item in &items {
        assert_eq!(
            item.ttl(),
            Some((START_MS + OUTBOX_TTL_MS) / 1000),
            "kept 30 days"
        );
        assert_eq!(OUTBOX_TTL_MS, 30 * 24 * 3600 * 1000);
    }
    let bus = Recording::default();
    let store = t.store.as_ref();
    // Young events are the stream relay's: the re-drive leaves them.
    let done = redrive(store, &bus, t.clock.now_ms(), MINUTES_10, false)
        .await
        .unwrap();
    assert_eq!(done, Redriven::default());
    t.clock.advance_ms(MINUTES_10);
    let done = redrive(store, &bus, t.clock.now_ms(), MINUTES_10, false)
        .await
        .unwrap();
    assert_eq!(done.delivered, 12);
    assert_eq!(bus.ids().len(), 12);
    let expected: HashSet<String> = items
        .iter()
        .map(|i| i.attrs["detail"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bus.ids().into_iter().collect::<HashSet<_>>(), expected);
    assert!(pending(&t).await.is_empty(), "marked relayed");
    let item = t.store.get(&items[0].key).await.unwrap().unwrap();
    assert!(item.attrs.contains_key("relayedAt"));
    assert!(
        !item.attrs.contains_key("gsi1pk"),
        "out of the sparse index"
    );
    // Nothing twice.
    let again = redrive(store, &bus, t.clock.now_ms(), MINUTES_10, false)
        .await
        .unwrap();
    assert_eq!(again, Redriven::default());
}

#[tokio::test]
async fn the_stream_relay_marks_what_it_delivered() {
    let t = spawn_app().await;
    changes(&t, 3).await;
    // The stream's records of the new outbox items.
    let records: Vec<StreamRecord> = pending(&t)
        .await
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut image = item.attrs.clone();
            image.insert(PK.into(), item.key.pk.clone().into());
            image.insert(SK.into(), item.key.sk.clone().into());
            StreamRecord {
                id: i.to_string(),
                event_name: "INSERT".into(),
                new_image: Some(image),
            }
        })
        .collect();
    let bus = Recording::default();
    let relayed = relay(&records, &bus, RelayPolicy::default()).await;
    assert!(relayed.failed.is_empty());
    settle(t.store.as_ref(), &relayed, t.clock.now_ms()).await;
    assert!(pending(&t).await.is_empty());
    t.clock.advance_ms(MINUTES_10);
    let done = redrive(t.store.as_ref(), &bus, t.clock.now_ms(), MINUTES_10, false)
        .await
        .unwrap();
    assert_eq!(done.delivered, 0, "relayed events are not re-driven");
    assert_eq!(bus.ids().len(), 3);
}

#[tokio::test]
async fn an_event_the_bus_always_refuses_is_dead_lettered_and_can_be_redriven_later() {
    let t = spawn_app().await;
    changes(&t, 3).await;
    let items = pending(&t).await;
    let poison = items[1].attrs["detail"]["id"].as_str().unwrap().to_owned();
    let bus = Recording::default();
    bus.refuse.lock().unwrap().insert(poison.clone());
    let store = t.store.as_ref();
    let mut dead = 0;
    for round in 1..=MAX_ATTEMPTS {
        t.clock.advance_ms(MINUTES_10);
        let done = redrive(store, &bus, t.clock.now_ms(), MINUTES_10, false)
            .await
            .unwrap();
        assert_eq!(done.failed, 1, "round {round}");
        dead += done.dead_lettered;
    }
    assert_eq!(dead, 1);
    assert_eq!(bus.ids().len(), 2, "the others went through at once");
    assert!(pending(&t).await.is_empty());
    let letters = stranded(store, OutboxState::Dead, t.clock.now_ms())
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attrs["detail"]["id"], poison.as_str());
    let why = letters[0].attrs["deadLetter"]["reason"].as_str().unwrap();
    assert!(why.contains("InvalidArgument"), "{why}");
    // The scheduled re-drive leaves dead letters alone; the operator's
    // takes them once the cause is fixed.
    bus.refuse.lock().unwrap().clear();
    t.clock.advance_ms(MINUTES_10);
    let done = redrive(store, &bus, t.clock.now_ms(), MINUTES_10, false)
        .await
        .unwrap();
    assert_eq!(done.delivered, 0);
    let done = redrive(store, &bus, t.clock.now_ms(), MINUTES_10, true)
        .await
        .unwrap();
    assert_eq!(done.delivered, 1);
    assert!(bus.ids().contains(&poison));
    assert!(
        stranded(store, OutboxState::Dead, t.clock.now_ms())
            .await
            .unwrap()
            .is_empty()
    );
}
