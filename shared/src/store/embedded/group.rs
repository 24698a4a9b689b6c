//! Group commit: one writer thread takes every write request queued while
//! the previous commit was flushing, runs each in turn in ONE redb write
//! transaction, commits it once (durably: `Durability::Immediate`, redb's
//! default, fsyncs), and only then answers every request of the batch.
//!
//! Each request keeps its own semantics. It runs against the state that
//! includes the earlier requests of its batch (a redb write transaction reads
//! its own writes), and it checks every condition and computes every new item
//! before it writes anything (`write.rs`), so a request that is refused — a
//! condition that does not hold, an invalid update — leaves nothing and gets
//! its own error while the others go on. A request that fails *while* writing
//! (an I/O error of redb) leaves the transaction in an unknown state: the
//! whole batch is aborted and every request of it fails, as every request
//! fails when the commit itself fails. No request is answered with success
//! before the commit that holds it has returned.
//!
//! Throughput is then bound by the disk's flush rate, not one flush per
//! request: under load, one fsync carries every request that arrived during
//! the previous one.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use redb::WriteTransaction;
use tokio::sync::oneshot;

use super::{Inner, unavailable};
use crate::store::{StoreError, StoreResult};

/// Most requests in one transaction (the rest wait for the next commit).
const MAX_BATCH: usize = 1024;

/// What a request's part of a batch did, when it did not fail.
pub(super) struct Done<T> {
    pub(super) value: T,
    /// True when it added to the change feed.
    pub(super) fed: bool,
}

/// Why a request's part of a batch stopped.
pub(super) enum Fault {
    /// Refused before writing anything: the request's own error, the batch
    /// goes on.
    Refused(StoreError),
    /// Failed while writing: the transaction is unusable, the batch fails.
    Broken(StoreError),
}

/// The outcome of a request's part of a batch.
pub(super) type Step<T> = Result<Done<T>, Fault>;

/// A queued request, type-erased.
trait Job: Send {
    /// Runs the request in the batch's transaction: `Ok(fed)`, or `Err` when
    /// the transaction is unusable.
    fn run(&mut self, txn: &WriteTransaction, now_s: i64) -> Result<bool, StoreError>;
    /// Answers the request once the batch is settled (`Err`: the message of
    /// the failure that undid the whole batch).
    fn answer(self: Box<Self>, batch: &Result<(), String>);
}

struct Pending<T, F> {
    work: Option<F>,
    outcome: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&WriteTransaction, i64) -> Step<T> + Send,
{
    fn run(&mut self, txn: &WriteTransaction, now_s: i64) -> Result<bool, StoreError> {
        let Some(work) = self.work.take() else {
            return Ok(false);
        };
        match work(txn, now_s) {
            Ok(done) => {
                self.outcome = Some(Ok(done.value));
                Ok(done.fed)
            }
            Err(Fault::Refused(e)) => {
                self.outcome = Some(Err(e));
                Ok(false)
            }
            Err(Fault::Broken(e)) => Err(e),
        }
    }

    fn answer(self: Box<Self>, batch: &Result<(), String>) {
        let out = match (batch, self.outcome) {
            (Ok(()), Some(outcome)) => outcome,
            (Ok(()), None) => Err(unavailable("a write was left out of its batch")),
            (Err(msg), _) => Err(StoreError::Unavailable(msg.clone())),
        };
        // The caller may have gone away; its write stands (or not) all the same.
        let _ = self.reply.send(out);
    }
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Box<dyn Job>>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Durable commits of batches, since the store was opened.
    commits: AtomicU64,
}

/// The writer thread and its queue. Dropping it lets the thread finish the
/// queued requests, then joins it (so the database is closed when the last
/// handle of the store is dropped).
pub(super) struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub(super) fn start(inner: Arc<Inner>) -> StoreResult<Self> {
        let shared = Arc::new(Shared::default());
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("embedded-store-writer".into())
            .spawn(move || writer_loop(&inner, &s))
            .map_err(unavailable)?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues `work` for the next batch; its answer, after that batch's
    /// commit.
    pub(super) async fn submit<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction, i64) -> Step<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .jobs
            .push(Box::new(Pending {
                work: Some(work),
                outcome: None,
                reply,
            }));
        self.shared.ready.notify_one();
        answer
            .await
            .map_err(|_| unavailable("the writer stopped before answering"))?
    }

    /// Durable commits of batches of requests since the store was opened.
    pub(super) fn commits(&self) -> u64 {
        self.shared.commits.load(Ordering::Relaxed)
    }

    /// Requests waiting for the next batch.
    #[cfg(test)]
    pub(super) fn queued(&self) -> usize {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .jobs
            .len()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.shared.ready.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn writer_loop(inner: &Inner, shared: &Shared) {
    loop {
        let batch = {
            let mut q = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            while q.jobs.is_empty() && !q.closed {
                q = shared.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
            if q.jobs.is_empty() {
                return;
            }
            let n = q.jobs.len().min(MAX_BATCH);
            q.jobs.drain(..n).collect::<Vec<_>>()
        };
        // A panic in a request drops its batch (every request of it gets an
        // error: its answer channel closes) and leaves the writer running.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| run_batch(inner, shared, batch)));
    }
}

fn run_batch(inner: &Inner, shared: &Shared, mut jobs: Vec<Box<dyn Job>>) {
    let outcome = (|| {
        let txn = inner
            .db
            .begin_write()
            .map_err(|e| format!("embedded store: {e}"))?;
        let now_s = inner.clock.now_s();
        let mut fed = false;
        for job in &mut jobs {
            match job.run(&txn, now_s) {
                Ok(f) => fed |= f,
                Err(e) => {
                    let _ = txn.abort();
                    return Err(match e {
                        StoreError::Unavailable(m) => m,
                        e => e.to_string(),
                    });
                }
            }
        }
        txn.commit().map_err(|e| format!("embedded store: {e}"))?;
        shared.commits.fetch_add(1, Ordering::Relaxed);
        Ok(fed)
    })();
    if outcome == Ok(true) {
        inner.changed.notify_waiters();
        inner.changed.notify_one();
    }
    let batch = outcome.map(|_| ());
    for job in jobs {
        job.answer(&batch);
    }
}
