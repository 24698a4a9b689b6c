//! The local server's work queue: messages become visible by the app's
//! clock (so tests move time instead of sleeping), kept in the embedded
//! store (a restart loses none) or in memory (tests on another store).
//! One consumer takes the due messages (`due`) and settles each one
//! (`settle`: done, or visible again later) — what SQS does in AWS.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::queue::{Work, WorkQueue};
use crate::clock::Clock;
#[cfg(feature = "embedded")]
use crate::store::embedded::EmbeddedStore;

type Entries = BTreeMap<(u64, String), Vec<u8>>;

enum Backend {
    Memory(Mutex<Entries>),
    #[cfg(feature = "embedded")]
    Embedded(EmbeddedStore),
}

/// A message taken from the queue: settle it with [`LocalQueue::settle`].
#[derive(Debug, Clone)]
pub struct Taken {
    pub work: Work,
    at: u64,
    id: String,
}

impl Taken {
    /// The message's id (unique in the queue).
    pub fn id(&self) -> &str {
        &self.id
    }
}

pub struct LocalQueue {
    backend: Backend,
    clock: Arc<dyn Clock>,
    /// Woken when a message is sent.
    pub sent: Arc<tokio::sync::Notify>,
}

impl LocalQueue {
    /// A queue held in memory.
    pub fn in_memory(clock: Arc<dyn Clock>) -> Self {
        Self::with(Backend::Memory(Mutex::default()), clock)
    }

    /// A queue kept in the embedded store's database.
    #[cfg(feature = "embedded")]
    pub fn durable(store: EmbeddedStore, clock: Arc<dyn Clock>) -> Self {
        Self::with(Backend::Embedded(store), clock)
    }

    fn with(backend: Backend, clock: Arc<dyn Clock>) -> Self {
        Self {
            backend,
            clock,
            sent: Arc::new(tokio::sync::Notify::new()),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.clock.now_ms()).unwrap_or(0)
    }

    /// Up to `limit` messages visible now, the earliest first. A message
    /// whose body no longer reads as work is dropped (and logged).
    pub async fn due(&self, limit: usize) -> Result<Vec<Taken>, String> {
        let now = self.now();
        let raw: Vec<(u64, String, Vec<u8>)> = match &self.backend {
            Backend::Memory(m) => lock(m)
                .range(..=(now, "\u{10ffff}".to_owned()))
                .take(limit)
                .map(|((at, id), body)| (*at, id.clone(), body.clone()))
                .collect(),
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s.work_due(now, limit).await.map_err(|e| e.to_string())?,
        };
        let mut out = Vec::new();
        for (at, id, body) in raw {
            match serde_json::from_slice::<Work>(&body) {
                Ok(work) => out.push(Taken { work, at, id }),
                Err(_) => {
                    tracing::error!(message = %id, "unreadable work message dropped");
                    self.remove(at, &id, None).await?;
                }
            }
        }
        Ok(out)
    }

    /// How long until the next message becomes visible (`None`: empty).
    pub async fn next_in_ms(&self) -> Result<Option<i64>, String> {
        let first = match &self.backend {
            Backend::Memory(m) => lock(m).keys().next().map(|(at, _)| *at),
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s.work_next().await.map_err(|e| e.to_string())?,
        };
        Ok(first.map(|at| (at.saturating_sub(self.now())) as i64))
    }

    /// Done with a message (`later: None`), or hand it back after `later` ms.
    pub async fn settle(&self, taken: &Taken, later: Option<i64>) -> Result<(), String> {
        let again = later.map(|ms| self.now() + u64::try_from(ms.max(0)).unwrap_or(0));
        self.remove(taken.at, &taken.id, again).await
    }

    async fn remove(&self, at: u64, id: &str, again: Option<u64>) -> Result<(), String> {
        match &self.backend {
            Backend::Memory(m) => {
                let mut m = lock(m);
                if let Some(body) = m.remove(&(at, id.to_owned()))
                    && let Some(again) = again
                {
                    m.insert((again, id.to_owned()), body);
                }
                Ok(())
            }
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s
                .work_settle(at, id.to_owned(), again)
                .await
                .map_err(|e| e.to_string()),
        }
    }
}

fn lock(m: &Mutex<Entries>) -> std::sync::MutexGuard<'_, Entries> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl WorkQueue for LocalQueue {
    async fn send(&self, work: &[(Work, u32)]) -> Result<(), String> {
        let now = self.now();
        let mut entries = Vec::with_capacity(work.len());
        for (w, delay_s) in work {
            let body = serde_json::to_vec(w).map_err(|e| e.to_string())?;
            let id = uuid::Uuid::new_v4().to_string();
            entries.push((now + u64::from(*delay_s) * 1000, id, body));
        }
        match &self.backend {
            Backend::Memory(m) => {
                let mut m = lock(m);
                for (at, id, body) in entries {
                    m.insert((at, id), body);
                }
            }
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s.work_push(entries).await.map_err(|e| e.to_string())?,
        }
        self.sent.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::TenantKey;
    use crate::domain::subscription::QueueName;

    fn flush(n: i64) -> Work {
        Work::Flush {
            tenant_key: TenantKey::parse("demo").unwrap(),
            queue_name: QueueName::parse("q").unwrap(),
            connection_id: format!("c{n}"),
            requested_at: n,
        }
    }

    async fn visible_by_the_clock(q: LocalQueue, clock: ManualClock) {
        q.send(&[(flush(1), 30), (flush(2), 0)]).await.unwrap();
        let due = q.due(10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].work, flush(2));
        q.settle(&due[0], Some(60_000)).await.unwrap();
        assert!(q.due(10).await.unwrap().is_empty());
        assert_eq!(q.next_in_ms().await.unwrap(), Some(30_000));
        clock.advance_ms(30_000);
        let due = q.due(10).await.unwrap();
        assert_eq!(
            due.iter().map(|t| t.work.clone()).collect::<Vec<_>>(),
            [flush(1)]
        );
        q.settle(&due[0], None).await.unwrap();
        clock.advance_ms(30_000);
        let due = q.due(10).await.unwrap();
        assert_eq!(due.len(), 1, "handed back after 60 s");
        q.settle(&due[0], None).await.unwrap();
        assert_eq!(q.next_in_ms().await.unwrap(), None);
    }

    #[tokio::test]
    async fn in_memory() {
        let clock = ManualClock::new(1_000_000);
        visible_by_the_clock(LocalQueue::in_memory(Arc::new(clock.clone())), clock).await;
    }

    #[cfg(feature = "embedded")]
    #[tokio::test]
    async fn durable() {
        let clock = ManualClock::new(1_000_000);
        let store = EmbeddedStore::in_memory(Arc::new(clock.clone())).unwrap();
        visible_by_the_clock(LocalQueue::durable(store, Arc::new(clock.clone())), clock).await;
    }
}
