//! Injected faults: a store and a bus decorator that fail one chosen call
//! (the Nth of the kinds a plan names) the way the real adapters fail —
//! unavailable, timed out, throttled (`ProvisionedThroughputExceeded`), or
//! a transaction cancelled with some of its writes' conditions failed and
//! some not — built with the DynamoDB adapter's own mapping
//! (`shared/src/store/dynamodb/errors.rs`), so that a fault here is what
//! the service sees there. Nothing is written by a faulted call. The store
//! decorator also remembers every key ever written through it, so that a
//! test can dump the whole store and compare before and after.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use shared::events::{BusEntry, EventBus};
use shared::store::dynamodb::errors::{cancellation, of_code};
use shared::store::{Attrs, Cond, Item, Key, Page, Query, Store, StoreError, StoreResult, Write};

/// The kinds of store calls a plan may target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Get,
    BatchGet,
    Query,
    Write,
    Transact,
    Add,
}

impl Op {
    pub const ALL: [Op; 6] = [
        Op::Get,
        Op::BatchGet,
        Op::Query,
        Op::Write,
        Op::Transact,
        Op::Add,
    ];
    pub const WRITES: [Op; 3] = [Op::Write, Op::Transact, Op::Add];
}

/// How a faulted call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service failed (`InternalServerError`).
    Unavailable,
    /// No answer in time (the call waits, then fails; nothing written).
    Timeout,
    /// `ProvisionedThroughputExceededException`.
    Throttle,
    /// A transaction cancelled with one write's condition failed and the
    /// others fine (a single write: its condition failed).
    PartialCancel,
}

impl Fault {
    pub const ALL: [Fault; 4] = [
        Fault::Unavailable,
        Fault::Timeout,
        Fault::Throttle,
        Fault::PartialCancel,
    ];

    /// The calls this fault can hit: a cancellation only ends a
    /// transaction. (A single write's failed condition is not injected: to
    /// DynamoDB it is a fact — another change won — that a service rightly
    /// acts on, never a fault of the dependency.)
    pub fn ops(self) -> &'static [Op] {
        match self {
            Fault::PartialCancel => &[Op::Transact],
            _ => &Op::ALL,
        }
    }

    fn error(self, writes: &[Write]) -> StoreError {
        match self {
            Fault::Unavailable => of_code(
                Some("InternalServerError"),
                "InternalServerError: injected".into(),
            ),
            Fault::Timeout => StoreError::Unavailable("injected: request timed out".into()),
            Fault::Throttle => of_code(
                Some("ProvisionedThroughputExceededException"),
                "ProvisionedThroughputExceededException: injected".into(),
            ),
            Fault::PartialCancel if writes.len() <= 1 => StoreError::ConditionFailed,
            Fault::PartialCancel => {
                // The last write with a condition failed it; the others did not.
                let failing = (0..writes.len())
                    .rev()
                    .find(|i| has_cond(&writes[*i]))
                    .unwrap_or(0);
                let reasons: Vec<Option<&str>> = (0..writes.len())
                    .map(|i| {
                        Some(if i == failing {
                            "ConditionalCheckFailed"
                        } else {
                            "None"
                        })
                    })
                    .collect();
                cancellation(&reasons)
            }
        }
    }
}

fn has_cond(w: &Write) -> bool {
    match w {
        Write::Put { cond, .. } | Write::Update { cond, .. } | Write::Delete { cond, .. } => {
            cond.is_some()
        }
        Write::Check { .. } => true,
    }
}

/// One armed fault: the `nth` (from 1) call of the kinds `ops` fails.
#[derive(Debug, Clone)]
struct Plan {
    fault: Fault,
    ops: Vec<Op>,
    nth: u64,
    seen: u64,
}

/// The store decorator.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    plan: Mutex<Option<Plan>>,
    counts: [AtomicU64; 6],
    injected: AtomicU64,
    keys: Mutex<BTreeSet<Key>>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            plan: Mutex::default(),
            counts: Default::default(),
            injected: AtomicU64::new(0),
            keys: Mutex::default(),
        }
    }

    /// Arms `fault` on the `nth` call of `ops` from now on.
    pub fn arm(&self, fault: Fault, ops: &[Op], nth: u64) {
        *lock(&self.plan) = Some(Plan {
            fault,
            ops: ops.to_vec(),
            nth,
            seen: 0,
        });
    }

    /// Disarms; returns how many calls of the plan's kinds were seen.
    pub fn disarm(&self) -> u64 {
        lock(&self.plan).take().map_or(0, |p| p.seen)
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::SeqCst)
    }

    /// Calls of the kinds `ops` so far.
    pub fn count(&self, ops: &[Op]) -> u64 {
        ops.iter()
            .map(|op| self.counts[*op as usize].load(Ordering::SeqCst))
            .sum()
    }

    /// Every item ever written through this store, as it is now (absent
    /// ones as `None`): what a test compares before and after a fault.
    pub async fn dump(&self) -> BTreeMap<Key, Option<Attrs>> {
        let keys: Vec<Key> = lock(&self.keys).iter().cloned().collect();
        let mut out = BTreeMap::new();
        for key in keys {
            let item = self.inner.get(&key).await.expect("the inner store");
            out.insert(key, item.map(|i| i.attrs));
        }
        out
    }

    /// The fault for this call, if it is the armed one.
    async fn check(&self, op: Op, writes: &[Write]) -> StoreResult<()> {
        self.counts[op as usize].fetch_add(1, Ordering::SeqCst);
        let fault = {
            let mut plan = lock(&self.plan);
            match plan.as_mut() {
                Some(p) if p.ops.contains(&op) => {
                    p.seen += 1;
                    (p.seen == p.nth).then_some(p.fault)
                }
                _ => None,
            }
        };
        let Some(fault) = fault else { return Ok(()) };
        self.injected.fetch_add(1, Ordering::SeqCst);
        if fault == Fault::Timeout {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(fault.error(writes))
    }

    fn remember<'a>(&self, keys: impl IntoIterator<Item = &'a Key>) {
        lock(&self.keys).extend(keys.into_iter().cloned());
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.check(Op::Get, &[]).await?;
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        self.check(Op::BatchGet, &[]).await?;
        self.inner.batch_get(keys).await
    }
    async fn query(&self, query: &Query) -> StoreResult<Page> {
        self.check(Op::Query, &[]).await?;
        self.inner.query(query).await
    }
    async fn write(&self, write: Write) -> StoreResult<()> {
        self.check(Op::Write, std::slice::from_ref(&write)).await?;
        self.remember([write.key()]);
        self.inner.write(write).await
    }
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.check(Op::Transact, &writes).await?;
        self.remember(writes.iter().map(Write::key));
        self.inner.transact(writes).await
    }
    async fn add(
        &self,
        key: &Key,
        amounts: &[(&str, i64)],
        cond: Option<Cond>,
    ) -> StoreResult<Item> {
        let probe = Write::add(key.clone(), amounts, cond.clone());
        self.check(Op::Add, std::slice::from_ref(&probe)).await?;
        self.remember([key]);
        self.inner.add(key, amounts, cond).await
    }
}

/// How a faulted `PutEvents` fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusFault {
    /// The call fails as a whole (unreachable, `InternalException`).
    Unavailable,
    /// Every entry refused with `ThrottlingException`.
    Throttle,
    /// The first entry refused (`InternalFailure`), the others put.
    Partial,
}

impl BusFault {
    pub const ALL: [BusFault; 3] = [BusFault::Unavailable, BusFault::Throttle, BusFault::Partial];
}

/// The bus decorator: the `nth` `put` from arming fails as `fault`.
pub struct FaultyBus {
    inner: Arc<dyn EventBus>,
    plan: Mutex<Option<(BusFault, u64, u64)>>,
    injected: AtomicU64,
}

impl FaultyBus {
    pub fn new(inner: Arc<dyn EventBus>) -> Self {
        Self {
            inner,
            plan: Mutex::default(),
            injected: AtomicU64::new(0),
        }
    }

    pub fn arm(&self, fault: BusFault, nth: u64) {
        *lock(&self.plan) = Some((fault, nth, 0));
    }

    /// Disarms; returns how many puts were seen.
    pub fn disarm(&self) -> u64 {
        lock(&self.plan).take().map_or(0, |(_, _, seen)| seen)
    }

    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl EventBus for FaultyBus {
    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, String> {
        let fault = {
            let mut plan = lock(&self.plan);
            match plan.as_mut() {
                Some((fault, nth, seen)) => {
                    *seen += 1;
                    (*seen == *nth).then_some(*fault)
                }
                None => None,
            }
        };
        let Some(fault) = fault else {
            return self.inner.put(entries).await;
        };
        self.injected.fetch_add(1, Ordering::SeqCst);
        match fault {
            BusFault::Unavailable => Err("InternalException: injected".into()),
            BusFault::Throttle => Ok(vec![Some("ThrottlingException".into()); entries.len()]),
            BusFault::Partial => {
                let mut out = vec![Some("InternalFailure".to_owned())];
                if entries.len() > 1 {
                    out.extend(self.inner.put(&entries[1..]).await?);
                }
                out.truncate(entries.len());
                Ok(out)
            }
        }
    }
}

/// A bus that keeps every event it accepts (the `detail` JSON).
#[derive(Default)]
pub struct RecordingBus {
    pub accepted: Mutex<Vec<serde_json::Value>>,
}

#[async_trait]
impl EventBus for RecordingBus {
    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, String> {
        let mut accepted = lock(&self.accepted);
        for e in entries {
            accepted.push(serde_json::from_str(&e.detail).map_err(|e| e.to_string())?);
        }
        Ok(vec![None; entries.len()])
    }
}

impl RecordingBus {
    /// The ids accepted, in order (duplicates kept).
    pub fn ids(&self) -> Vec<String> {
        lock(&self.accepted)
            .iter()
            .filter_map(|d| d["id"].as_str().map(str::to_owned))
            .collect()
    }
}

/// The tally a fault test prints and asserts.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Runs of the scenario.
    pub runs: u64,
    /// Faults injected.
    pub faults: u64,
    /// Faulted calls answered `503` with `Retry-After` (the others absorbed
    /// the fault: retried inside, or a read that did not matter).
    pub unavailable: u64,
    /// Events expected on a channel and not delivered there.
    pub lost: u64,
    /// Events seen on every channel (after dedup on `id`), summed.
    pub delivered: u64,
}

impl Tally {
    pub fn print(&self, name: &str) {
        println!(
            "faults[{name}]: runs={} faults_injected={} answered_503={} events_delivered={} events_lost={}",
            self.runs, self.faults, self.unavailable, self.delivered, self.lost
        );
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
