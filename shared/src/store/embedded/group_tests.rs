//! Group commit (`group.rs`): requests queued behind a held writer make one
//! batch, one commit; each keeps its own outcome.

use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use redb::StorageBackend;
use serde_json::json;

use super::group::{Done, Fault};
use super::*;
use crate::clock::ManualClock;
use crate::store::MAX_ITEM_BYTES;

fn attrs(v: Value) -> Attrs {
    match v {
        Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(1_767_225_600_000))
}

fn put(pk: &str, a: Value, cond: Option<Cond>) -> Write {
    Write::Put {
        item: Item::new(Key::new(pk, "S"), attrs(a)),
        cond,
    }
}

/// A test item's partition key: not one of the product's (those are built
/// in `store/keys.rs` only).
fn pk(i: usize) -> String {
    format!("P#{i}")
}

type Task<T> = tokio::task::JoinHandle<StoreResult<T>>;

/// Holds the writer inside a request until the returned sender is used (or
/// dropped), so that the requests sent meanwhile queue up for one batch.
async fn hold(s: &EmbeddedStore) -> (mpsc::Sender<()>, Task<()>) {
    let (open, wait) = mpsc::channel::<()>();
    let (started, running) = tokio::sync::oneshot::channel();
    let writer = Arc::clone(&s.writer);
    let task = tokio::spawn(async move {
        writer
            .submit(move |_, _| {
                let _ = started.send(());
                let _ = wait.recv();
                Ok(Done {
                    value: (),
                    fed: false,
                })
            })
            .await
    });
    running.await.expect("the writer runs the held request");
    (open, task)
}

/// Waits until `n` requests are queued behind the held one (up to a minute:
/// a guard against a hang, not a latency budget).
async fn queued(s: &EmbeddedStore, n: usize) {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while s.writer.queued() < n {
        assert!(
            std::time::Instant::now() < give_up,
            "{} of {n} requests queued",
            s.writer.queued()
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(s.writer.queued(), n);
}

fn spawn_write(s: &EmbeddedStore, w: Write) -> Task<()> {
    let s = s.clone();
    tokio::spawn(async move { s.write(w).await })
}

fn spawn_transact(s: &EmbeddedStore, ws: Vec<Write>) -> Task<()> {
    let s = s.clone();
    tokio::spawn(async move { s.transact(ws).await })
}

fn spawn_add(s: &EmbeddedStore, key: Key, amount: i64, cond: Option<Cond>) -> Task<Item> {
    let s = s.clone();
    tokio::spawn(async move { s.add(&key, &[("v", amount)], cond).await })
}

async fn outcome<T>(t: Task<T>) -> StoreResult<T> {
    t.await.expect("task")
}

#[tokio::test]
async fn concurrent_writes_share_one_durable_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("embedcare.redb");
    let n = 50;
    {
        let s = EmbeddedStore::open(&path, clock()).expect("open");
        let before = s.commits();
        let (open, held) = hold(&s).await;
        let tasks: Vec<_> = (0..n)
            .map(|i| spawn_write(&s, put(&pk(i), json!({"i": i}), None)))
            .collect();
        queued(&s, n).await;
        drop(open);
        outcome(held).await.expect("held request");
        for t in tasks {
            outcome(t).await.expect("write");
        }
        // The held request's commit, then one for all the others.
        assert_eq!(s.commits() - before, 2);
    }
    // Acknowledged means on disk: all there after reopening.
    let s = EmbeddedStore::open(&path, clock()).expect("reopen");
    for i in 0..n {
        let got = s.get(&Key::new(pk(i), "S")).await.expect("get");
        assert_eq!(got.map(|g| g.attrs), Some(attrs(json!({"i": i}))));
    }
}

#[tokio::test]
async fn each_request_of_a_batch_keeps_its_own_outcome() {
    let s = EmbeddedStore::in_memory(clock()).expect("store");
    s.write(put("C", json!({"v": "text"}), None))
        .await
        .expect("put");
    s.write(put("E", json!({"v": 1}), None)).await.expect("put");
    let half = json!({"half": "x".repeat(MAX_ITEM_BYTES / 2)});
    s.write(put("G", half.clone(), None)).await.expect("put");
    let before = s.commits();
    let changed = s.changed();

    let (open, held) = hold(&s).await;
    let absent = Some(Cond::NotExists);
    let first = spawn_write(&s, put("A", json!({"first": true}), absent.clone()));
    // Sees the first put of its batch: refused.
    let second = spawn_write(&s, put("A", json!({"second": true}), absent.clone()));
    // A transaction whose second write is invalid (not a number): none of it.
    let invalid = spawn_transact(
        &s,
        vec![
            put("B", json!({}), None),
            Write::Update {
                key: Key::new("C", "S"),
                set: Attrs::new(),
                remove: vec![],
                add: vec![("v".into(), 1)],
                cond: None,
            },
        ],
    );
    // A transaction whose check fails: none of it.
    let cancelled = spawn_transact(
        &s,
        vec![
            put("B2", json!({}), None),
            Write::Check {
                key: Key::new("nope", "S"),
                cond: Cond::Exists,
            },
        ],
    );
    // A transaction whose update grows the item past the limit: none of it.
    let big = spawn_transact(
        &s,
        vec![
            put("B3", json!({}), None),
            Write::Update {
                key: Key::new("G", "S"),
                set: attrs(json!({"more": "x".repeat(MAX_ITEM_BYTES / 2)})),
                remove: vec![],
                add: vec![],
                cond: None,
            },
        ],
    );
    let add_once = spawn_add(
        &s,
        Key::new("E", "S"),
        1,
        Some(Cond::AttrEq("v".into(), json!(1))),
    );
    // Sees the addition before it: refused.
    let add_twice = spawn_add(
        &s,
        Key::new("E", "S"),
        1,
        Some(Cond::AttrEq("v".into(), json!(1))),
    );
    let outbox = spawn_write(&s, put("O", json!({"type": "outbox"}), None));
    let update = spawn_write(
        &s,
        Write::Update {
            key: Key::new("A", "S"),
            set: attrs(json!({"x": 1})),
            remove: vec![],
            add: vec![],
            cond: Some(Cond::AttrNotExists("second".into())),
        },
    );
    queued(&s, 9).await;
    drop(open);
    outcome(held).await.expect("held");

    outcome(first).await.expect("first put");
    let e = outcome(second).await;
    assert!(matches!(e, Err(StoreError::ConditionFailed)), "{e:?}");
    let e = outcome(invalid).await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
    let e = outcome(cancelled).await;
    assert!(
        matches!(&e, Err(StoreError::TransactionCancelled { failed }) if failed == &[1]),
        "{e:?}"
    );
    let e = outcome(big).await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
    let added = outcome(add_once).await.expect("add");
    assert_eq!(added.attrs, attrs(json!({"v": 2})));
    let e = outcome(add_twice).await;
    assert!(matches!(e, Err(StoreError::ConditionFailed)), "{e:?}");
    outcome(outbox).await.expect("outbox put");
    outcome(update).await.expect("update");
    assert_eq!(s.commits() - before, 2);

    let read = |pk: &'static str| {
        let s = s.clone();
        async move {
            s.get(&Key::new(pk, "S"))
                .await
                .expect("get")
                .map(|i| i.attrs)
        }
    };
    assert_eq!(read("A").await, Some(attrs(json!({"first": true, "x": 1}))));
    assert_eq!(read("B").await, None);
    assert_eq!(read("B2").await, None);
    assert_eq!(read("B3").await, None);
    assert_eq!(read("C").await, Some(attrs(json!({"v": "text"}))));
    assert_eq!(read("E").await, Some(attrs(json!({"v": 2}))));
    assert_eq!(read("G").await, Some(attrs(half)));
    let pending = s.pending_changes(10).await.expect("changes");
    let keys: Vec<&str> = pending.iter().map(|(_, i)| i.key.pk.as_str()).collect();
    assert_eq!(keys, ["O"]);
    // The batch that fed the change feed woke its reader.
    let woken = tokio::select! {
        biased;
        () = changed.notified() => true,
        () = std::future::ready(()) => false,
    };
    assert!(woken);
}

#[tokio::test]
async fn a_request_failing_while_writing_fails_its_whole_batch() {
    let s = EmbeddedStore::in_memory(clock()).expect("store");
    let (open, held) = hold(&s).await;
    let x = spawn_write(&s, put("X", json!({}), None));
    let writer = Arc::clone(&s.writer);
    let broken: Task<()> = tokio::spawn(async move {
        writer
            .submit(|txn, _| {
                // Something written, then an I/O-like failure.
                let mut t = txn
                    .open_table(ITEMS)
                    .map_err(unavailable)
                    .map_err(Fault::Broken)?;
                t.insert(("W", "S"), b"{}".as_slice())
                    .map_err(unavailable)
                    .map_err(Fault::Broken)?;
                Err(Fault::Broken(unavailable("disk on fire")))
            })
            .await
    });
    let y = spawn_write(&s, put("Y", json!({}), None));
    queued(&s, 3).await;
    drop(open);
    outcome(held).await.expect("held");
    for t in [x, broken, y] {
        let e = outcome(t).await;
        assert!(
            matches!(&e, Err(StoreError::Unavailable(m)) if m.contains("disk on fire")),
            "{e:?}"
        );
    }
    for pk in ["X", "W", "Y"] {
        assert!(s.get(&Key::new(pk, "S")).await.expect("get").is_none());
    }
    // The writer goes on.
    s.write(put("Z", json!({}), None)).await.expect("put");
}

/// An in-memory backend whose fsync fails once `fail` is set.
#[derive(Debug)]
struct FailingSync {
    data: redb::backends::InMemoryBackend,
    fail: Arc<AtomicBool>,
}

impl StorageBackend for FailingSync {
    fn len(&self) -> Result<u64, io::Error> {
        self.data.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.data.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.data.set_len(len)
    }
    fn sync_data(&self) -> Result<(), io::Error> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(io::Error::other("fsync failed"));
        }
        self.data.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.data.write(offset, data)
    }
}

#[tokio::test]
async fn a_failed_commit_fails_every_request_of_its_batch() {
    let fail = Arc::new(AtomicBool::new(false));
    let db = Database::builder()
        .create_with_backend(FailingSync {
            data: InMemoryBackend::new(),
            fail: Arc::clone(&fail),
        })
        .expect("db");
    let s = EmbeddedStore::with_database(db, clock()).expect("store");
    s.write(put("K0", json!({}), None)).await.expect("put");

    let (open, held) = hold(&s).await;
    let a = spawn_write(&s, put("A", json!({}), None));
    let writer = Arc::clone(&s.writer);
    let flip: Task<()> = tokio::spawn(async move {
        writer
            .submit(move |_, _| {
                fail.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(Done {
                    value: (),
                    fed: false,
                })
            })
            .await
    });
    let b = spawn_transact(&s, vec![put("B", json!({}), None)]);
    queued(&s, 3).await;
    drop(open);
    outcome(held).await.expect("held");
    for t in [a, flip, b] {
        let e = outcome(t).await;
        assert!(matches!(e, Err(StoreError::Unavailable(_))), "{e:?}");
    }
}
