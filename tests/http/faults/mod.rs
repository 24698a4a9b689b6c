//! Injected faults (`tests/support/faults.rs`) at every position of every
//! step of a scenario: a consultation's life and a booking through HTTP
//! (`life.rs`), a webhook delivery by the dispatcher (`delivery.rs`), and
//! the relay from the outbox to the bus (`relay.rs`). A scenario runs once
//! without faults (how many calls each step makes, which events it leaves),
//! then once per (step, fault kind, call number) on a fresh app. After every
//! fault the caller got the answer or a `503` with `Retry-After` and a
//! request id (never a `500`), the store is exactly as before the faulted
//! call (compared item by item), and once the fault is gone (the call sent
//! again, the relay or the queue run again) every event reached every
//! channel exactly once after dedup on `id`. Each test prints its tally
//! (runs, faults injected, events lost) and asserts it.
//!
//! `EMBEDCARE_FAULTS_LONG=1` tries every call number of every step; by
//! default the first [`QUICK_POSITIONS`] and the last of each.

mod delivery;
mod life;
mod moto;
mod relay;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use shared::Config;
use shared::app::Ports;
use shared::clock::ManualClock;
use shared::events::redrive::stranded;
use shared::events::relay::{RelayPolicy, StreamRecord, relay, settle};
use shared::http::error::UNAVAILABLE_MESSAGE;
use shared::services::event_list;
use shared::store::embedded::EmbeddedStore;
use shared::store::keys::OutboxState;
use shared::store::{Attrs, Key, PK, SK};

use crate::faulty::{Fault, FaultyStore, Op, RecordingBus};
use crate::helpers::*;

/// Call numbers tried per step and fault kind by default (and the last).
pub const QUICK_POSITIONS: u64 = 6;

pub fn long() -> bool {
    std::env::var("EMBEDCARE_FAULTS_LONG").is_ok_and(|v| v == "1")
}

/// Where a run's fault goes: the `nth` call (of the fault's kinds) of the
/// step numbered `step` (from 0).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub step: usize,
    pub fault: Fault,
    pub nth: u64,
}

/// One run of a scenario: its app on a faulty store, and what happened.
pub struct Run {
    pub t: TestApp,
    pub faults: Arc<FaultyStore>,
    target: Option<Target>,
    steps: AtomicUsize,
    /// Calls each step made: (all, transactions).
    pub calls: std::sync::Mutex<Vec<(u64, u64)>>,
    /// The faulted calls answered `503`.
    pub answered_503: AtomicU64,
    /// The faulted calls answered `409` (a condition failure injected).
    pub answered_409: AtomicU64,
    /// Faulted calls whose write was committed (the store after, not
    /// before), completed by sending them again.
    pub committed: AtomicU64,
}

pub async fn spawn_run(target: Option<Target>) -> Run {
    spawn_run_with(target, |_| Ports::default(), |_| {}).await
}

pub async fn spawn_run_with(
    target: Option<Target>,
    ports: impl FnOnce(&ManualClock) -> Ports,
    configure: impl FnOnce(&mut Config),
) -> Run {
    let clock = ManualClock::new(START_MS);
    let embedded = EmbeddedStore::in_memory(Arc::new(clock.clone())).expect("in-memory store");
    let faults = Arc::new(FaultyStore::new(Arc::new(embedded)));
    let ports = ports(&clock);
    let t = spawn_app_on_with(faults.clone(), clock, ports, configure).await;
    Run {
        t,
        faults,
        target,
        steps: AtomicUsize::new(0),
        calls: std::sync::Mutex::default(),
        answered_503: AtomicU64::new(0),
        answered_409: AtomicU64::new(0),
        committed: AtomicU64::new(0),
    }
}

impl Run {
    /// Runs one step that must succeed (`ok`: its success statuses). When it
    /// is the target, the fault is armed for it: a faulted answer must be a
    /// `503` with `Retry-After` and a request id, with the store exactly as
    /// before; the step is then sent again, fault-free, and must succeed.
    pub async fn step(&self, name: &str, ok: &[u16], f: impl AsyncFn() -> Reply) -> Reply {
        let i = self.steps.fetch_add(1, Ordering::SeqCst);
        let fault = self.target.filter(|t| t.step == i);
        let before = match fault {
            Some(_) => Some(self.faults.dump().await),
            None => None,
        };
        let (all, writes) = (
            self.faults.count(&Op::ALL),
            self.faults.count(&[Op::Transact]),
        );
        let targeted = fault.map_or(0, |t| self.faults.count(t.fault.ops()));
        if let Some(t) = fault {
            self.faults.arm(t.fault, t.fault.ops(), t.nth);
        }
        let r = f().await;
        self.faults.disarm();
        self.calls.lock().unwrap().push((
            self.faults.count(&Op::ALL) - all,
            self.faults.count(&[Op::Transact]) - writes,
        ));
        let faulted = fault.is_some_and(|t| self.faults.count(t.fault.ops()) - targeted >= t.nth);
        let code = r.status.as_u16();
        if ok.contains(&code) {
            return r;
        }
        assert!(
            faulted,
            "{name}: {code} without a fault ({:?}): {}",
            self.target,
            r.text()
        );
        // A cancellation naming a failed condition is a lost race to the
        // service: a 409 that says what changed (`services::retry`), or the
        // launch's 410 (redeemed by another page), nothing written.
        let lost_race =
            fault.is_some_and(|t| t.fault == Fault::PartialCancel) && [409, 410].contains(&code);
        if lost_race {
            self.answered_409.fetch_add(1, Ordering::SeqCst);
        } else {
            assert_unavailable(&r, name, self.target);
            self.answered_503.fetch_add(1, Ordering::SeqCst);
        }
        let after = self.faults.dump().await;
        let again = f().await;
        assert!(
            ok.contains(&again.status.as_u16()),
            "{name} once the fault is gone: {}",
            again.text()
        );
        // Before the operation, or after it: a step whose write was
        // committed before the fault (a launch redeemed, its page not
        // rendered) is sent again by its page and changes nothing more.
        let before = before.as_ref().expect("a dump");
        if !changed(before, &after).is_empty() {
            let settled = self.faults.dump().await;
            assert_same(&after, &settled, name, self.target);
            self.committed.fetch_add(1, Ordering::SeqCst);
        }
        again
    }
}

/// A `503` with `Retry-After`; an API answer with the error body and its
/// request id (a page is a page, with the header).
pub fn assert_unavailable(r: &Reply, name: &str, target: Option<Target>) {
    assert_eq!(
        r.status.as_u16(),
        503,
        "{name} under {target:?}: {}",
        r.text()
    );
    let retry: u64 = r
        .header("retry-after")
        .parse()
        .unwrap_or_else(|_| panic!("{name}: a Retry-After in seconds"));
    assert!(retry >= 1, "{name}: Retry-After {retry}");
    if r.header("content-type").starts_with("application/json") {
        let body = r.json();
        assert_eq!(body["status"], 503, "{body}");
        assert_eq!(body["error"], "Service Unavailable");
        assert_eq!(body["message"], UNAVAILABLE_MESSAGE);
        assert!(
            body["requestId"].as_str().is_some_and(|id| !id.is_empty()),
            "{name}: a request id: {body}"
        );
        assert!(body["path"].is_string() && body["timestamp"].is_string());
    } else {
        assert!(
            r.header("content-type").starts_with("text/html"),
            "{name}: {}",
            r.header("content-type")
        );
    }
}

/// The store as it was: never half an operation.
pub fn assert_same(
    before: &BTreeMap<Key, Option<Attrs>>,
    after: &BTreeMap<Key, Option<Attrs>>,
    name: &str,
    target: Option<Target>,
) {
    let changed = changed(before, after);
    assert!(
        changed.is_empty(),
        "{name} under {target:?}: half an operation (neither before nor after): {changed:?}"
    );
}

/// The items that differ between two dumps.
fn changed(
    before: &BTreeMap<Key, Option<Attrs>>,
    after: &BTreeMap<Key, Option<Attrs>>,
) -> Vec<String> {
    let keys: BTreeSet<&Key> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k).cloned().flatten() != after.get(*k).cloned().flatten())
        .map(|k| format!("{} {}", k.pk, k.sk))
        .collect()
}

/// Every target of a scenario whose fault-free run made `calls` (all,
/// writes) per step: every fault kind at every position in the long mode,
/// else at the first few and the last.
pub fn targets(calls: &[(u64, u64)]) -> Vec<Target> {
    let mut out = Vec::new();
    for fault in Fault::ALL {
        for (step, (all, writes)) in calls.iter().enumerate() {
            let n = match fault {
                Fault::PartialCancel => *writes,
                _ => *all,
            };
            for nth in 1..=n {
                if long() || nth <= QUICK_POSITIONS || nth == n {
                    out.push(Target { step, fault, nth });
                }
            }
        }
    }
    out
}

/// The events of the demo franchise's list, in order (ids and types).
pub async fn listed(t: &TestApp) -> Vec<(String, String)> {
    let tenant = demo_tenant();
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = event_list::list(&t.app, &tenant, after.as_deref(), &[], 100)
            .await
            .expect("the event list");
        out.extend(
            page.events
                .iter()
                .map(|e| (e.id.to_string(), e.type_name.to_string())),
        );
        after = page.cursor;
        if !page.has_more {
            return out;
        }
    }
}

/// The outbox's pending items as the table's stream shows them.
pub async fn pending_records(t: &TestApp) -> Vec<StreamRecord> {
    let items = stranded(t.store.as_ref(), OutboxState::Pending, i64::MAX / 2)
        .await
        .expect("the pending outbox");
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut image = item.attrs.clone();
            image.insert(PK.into(), item.key.pk.clone().into());
            image.insert(SK.into(), item.key.sk.clone().into());
            StreamRecord {
                id: format!("seq-{i}"),
                event_name: "INSERT".into(),
                new_image: Some(image),
            }
        })
        .collect()
}

/// What reached the list and the bus: every listed event once on the
/// list, and on the bus once after dedup on `id` (the relay run until the
/// outbox has nothing pending). Returns (events delivered on both, lost).
pub async fn check_channels(t: &TestApp, expected_types: &[String]) -> (u64, u64) {
    let list = listed(t).await;
    let ids: Vec<&String> = list.iter().map(|(id, _)| id).collect();
    let unique: BTreeSet<&String> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an event twice in the list");
    // Of one instant (the test's clock stands still): compared as a multiset.
    let mut types: Vec<String> = list.iter().map(|(_, ty)| ty.clone()).collect();
    let mut expected: Vec<String> = expected_types.to_vec();
    types.sort();
    expected.sort();
    assert_eq!(types, expected, "the events of the fault-free run");
    let bus = RecordingBus::default();
    let quick = RelayPolicy {
        attempts: 2,
        backoff: std::time::Duration::from_millis(1),
    };
    for _ in 0..3 {
        let records = pending_records(t).await;
        if records.is_empty() {
            break;
        }
        let done = relay(&records, &bus, quick).await;
        settle(t.store.as_ref(), &done, START_MS).await;
    }
    assert!(pending_records(t).await.is_empty(), "all relayed");
    let on_bus: BTreeSet<String> = bus.ids().into_iter().collect();
    let lost = unique.iter().filter(|id| !on_bus.contains(**id)).count() as u64;
    let strangers = on_bus.iter().filter(|id| !unique.contains(id)).count();
    assert_eq!(strangers, 0, "an event on the bus that is not in the list");
    (unique.len() as u64 - lost, lost)
}

pub use crate::faulty::Tally;
