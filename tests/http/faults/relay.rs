//! The relay (outbox → bus, `shared/src/events/relay.rs`) and the re-drive
//! (`shared/src/events/redrive.rs`) under a fault of the bus at every
//! `PutEvents`, and of the store at every call of the relay's settling and
//! of the re-drive: the stream gives back what was not acknowledged, the
//! re-drive puts what was left pending, and every event is on the bus
//! exactly once after dedup on `id`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use shared::events::redrive::redrive;

use super::*;
use crate::faulty::{BusFault, FaultyBus};

const EVENTS: usize = 12;
const MINUTES_10: i64 = 10 * 60_000;

/// An app with `EVENTS` new consultations (their events pending in the outbox).
async fn with_events() -> (Run, BTreeSet<String>) {
    let run = spawn_run(None).await;
    for i in 0..EVENTS {
        let body = json!({"patient": {"keys": [{"subSystem": "pms", "key": format!("relay-{i}")}],
                                      "firstName": "Ann", "lastName": "Lee"}});
        let r = run.t.post_json("/v2/consultations", &[], &body).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let ids = pending_records(&run.t)
        .await
        .iter()
        .filter_map(|r| {
            r.new_image.as_ref()?["detail"]["id"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    (run, ids)
}

/// The stream's way: relay, settle, and give back from the first failure,
/// until nothing fails (at most `rounds`). Returns the rounds run.
async fn stream(
    run: &Run,
    mut records: Vec<StreamRecord>,
    bus: &dyn shared::events::EventBus,
    rounds: usize,
) -> usize {
    let policy = RelayPolicy {
        attempts: 1,
        backoff: Duration::from_millis(1),
    };
    for round in 1..=rounds {
        let done = relay(&records, bus, policy).await;
        settle(run.t.store.as_ref(), &done, START_MS).await;
        if done.failed.is_empty() {
            return round;
        }
        records.retain(|r| done.failed.contains(&r.id));
    }
    rounds
}

/// Then the re-drive, fault-free, of what is still pending.
async fn redrive_rest(run: &Run, bus: &dyn shared::events::EventBus) {
    run.t.clock.advance_ms(MINUTES_10);
    let now = shared::clock::Clock::now_ms(&run.t.clock);
    redrive(run.t.store.as_ref(), bus, now, MINUTES_10, false)
        .await
        .expect("the re-drive, fault-free");
    assert!(
        pending_records(&run.t).await.is_empty(),
        "nothing left pending"
    );
}

/// Every expected event on the bus; returns (delivered after dedup, lost,
/// duplicates).
fn on_bus(bus: &RecordingBus, expected: &BTreeSet<String>) -> (u64, u64, u64) {
    let ids = bus.ids();
    let seen: BTreeSet<String> = ids.iter().cloned().collect();
    assert!(seen.is_subset(expected), "only the outbox's events");
    let lost = expected.difference(&seen).count() as u64;
    (seen.len() as u64, lost, (ids.len() - seen.len()) as u64)
}

#[tokio::test]
async fn the_relay_loses_nothing_under_a_bus_or_store_fault_at_every_call() {
    let mut tally = Tally::default();
    let mut duplicates = 0;
    // Fault-free: how many puts and store calls one pass makes.
    let (run, expected) = with_events().await;
    assert_eq!(expected.len(), EVENTS);
    let bus = FaultyBus::new(std::sync::Arc::new(RecordingBus::default()));
    bus.arm(BusFault::Unavailable, u64::MAX);
    let records = pending_records(&run.t).await;
    let (all, writes) = (
        run.faults.count(&Op::ALL),
        run.faults.count(&[Op::Transact]),
    );
    stream(&run, records, &bus, 1).await;
    let puts = bus.disarm();
    let settle_calls = (
        run.faults.count(&Op::ALL) - all,
        run.faults.count(&[Op::Transact]) - writes,
    );
    assert!(puts >= 2, "{EVENTS} events: two puts of ten");
    tally.runs += 1;

    for fault in BusFault::ALL {
        for nth in 1..=puts {
            let (run, expected) = with_events().await;
            let recording = std::sync::Arc::new(RecordingBus::default());
            let bus = FaultyBus::new(recording.clone());
            bus.arm(fault, nth);
            let records = pending_records(&run.t).await;
            let rounds = stream(&run, records, &bus, 4).await;
            assert!(
                rounds >= 2,
                "{fault:?} #{nth}: the stream gave the batch back"
            );
            redrive_rest(&run, recording.as_ref()).await;
            let (delivered, lost, dup) = on_bus(&recording, &expected);
            tally.runs += 1;
            tally.faults += bus.injected();
            tally.delivered += delivered;
            tally.lost += lost;
            duplicates += dup;
        }
    }
    for fault in Fault::ALL {
        let n = match fault {
            Fault::PartialCancel => settle_calls.1,
            _ => settle_calls.0,
        };
        for nth in (1..=n).filter(|k| long() || *k <= QUICK_POSITIONS || *k == n) {
            let (run, expected) = with_events().await;
            let recording = std::sync::Arc::new(RecordingBus::default());
            let records = pending_records(&run.t).await;
            run.faults.arm(fault, fault.ops(), nth);
            stream(&run, records, recording.as_ref(), 4).await;
            run.faults.disarm();
            // A fault in the re-drive itself, then a re-drive fault-free.
            run.t.clock.advance_ms(MINUTES_10);
            let now = shared::clock::Clock::now_ms(&run.t.clock);
            run.faults.arm(fault, fault.ops(), 1);
            let _ = redrive(
                run.t.store.as_ref(),
                recording.as_ref(),
                now,
                MINUTES_10,
                false,
            )
            .await;
            run.faults.disarm();
            redrive_rest(&run, recording.as_ref()).await;
            let (delivered, lost, dup) = on_bus(&recording, &expected);
            tally.runs += 1;
            tally.faults += run.faults.injected();
            tally.delivered += delivered;
            tally.lost += lost;
            duplicates += dup;
        }
    }
    tally.print("relay");
    println!(
        "faults[relay]: duplicates dropped by id={duplicates} puts per pass={puts} settle calls={settle_calls:?}"
    );
    assert_eq!(tally.lost, 0, "events lost");
    assert!(
        tally.faults >= tally.runs - 1,
        "every faulted run had its fault"
    );
    assert_eq!(tally.delivered, (tally.runs - 1) * EVENTS as u64);
}
