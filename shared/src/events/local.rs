//! The in-process bus of the local server: it prints every event and hands
//! it to local subscribers (the `/dev/events` stream, the local patient
//! notifier), and the relay that feeds it from the embedded store. Local
//! only (feature `local`).

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::broadcast;

use super::{BusEntry, EventBus, SOURCE};

/// An event as a local subscriber receives it: EventBridge's envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub detail_type: String,
    pub detail: Value,
}

impl Delivered {
    pub fn envelope(&self) -> Value {
        serde_json::json!({"source": SOURCE, "detail-type": self.detail_type, "detail": self.detail})
    }
}

pub struct LocalBus {
    tx: broadcast::Sender<Delivered>,
    print: bool,
}

impl LocalBus {
    /// `print`: also write each event to stdout, one JSON line each.
    pub fn new(print: bool) -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self { tx, print }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Delivered> {
        self.tx.subscribe()
    }
}

#[async_trait]
impl EventBus for LocalBus {
    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, String> {
        Ok(entries
            .iter()
            .map(|e| match serde_json::from_str::<Value>(&e.detail) {
                Ok(detail) => {
                    let delivered = Delivered {
                        detail_type: e.detail_type.clone(),
                        detail,
                    };
                    if self.print {
                        println!("event {}", delivered.envelope());
                    }
                    // No subscriber is fine: the event was still published.
                    let _ = self.tx.send(delivered);
                    None
                }
                Err(_) => Some("MalformedDetail".to_owned()),
            })
            .collect())
    }
}

/// How the local relay paces itself.
#[derive(Debug, Clone, Copy)]
pub struct LocalRelay {
    pub policy: super::relay::RelayPolicy,
    /// The pause after a round that left records for later.
    pub pause: std::time::Duration,
    /// Rounds in which the bus refuses the same record before it is
    /// dead-lettered (a bus that is down is waited for, however long).
    pub poison_after: u32,
}

impl Default for LocalRelay {
    fn default() -> Self {
        Self {
            policy: super::relay::RelayPolicy::default(),
            pause: std::time::Duration::from_secs(1),
            poison_after: 5,
        }
    }
}

/// The local server's relay: the embedded store's change feed (new outbox
/// items) to the bus, with the same `relay` as the Lambda, every delivered
/// item marked relayed. Acknowledges up to the first failure, so an event
/// the bus refused is retried, in order, and a restart resumes from the
/// persisted checkpoint; but a record that is malformed, or that the bus
/// refuses round after round while it takes others, is dead-lettered (its
/// item kept, marked, and listed by `embedcare outbox dead-letters`; a log
/// line) instead of blocking every later event forever.
pub async fn run_embedded_relay(
    store: crate::store::embedded::EmbeddedStore,
    bus: std::sync::Arc<dyn EventBus>,
) {
    run_embedded_relay_with(store, bus, LocalRelay::default()).await;
}

/// [`run_embedded_relay`], paced by `pace`.
pub async fn run_embedded_relay_with(
    store: crate::store::embedded::EmbeddedStore,
    bus: std::sync::Arc<dyn EventBus>,
    pace: LocalRelay,
) {
    use std::time::Duration;

    use super::relay::{Failure, StreamRecord, created_at, dead_letter, relay, settle};
    use crate::clock::{Clock, SystemClock};

    let changed = store.changed();
    // The record the bus keeps refusing, and in how many rounds.
    let mut refused: Option<(u64, u32)> = None;
    loop {
        let batch = match store.pending_changes(100).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(error = %e, "change feed unreadable");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::select! {
                () = changed.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        let records: Vec<StreamRecord> = batch
            .iter()
            .map(|(seq, item)| {
                let mut image = item.attrs.clone();
                image.insert(crate::store::PK.into(), item.key.pk.clone().into());
                image.insert(crate::store::SK.into(), item.key.sk.clone().into());
                StreamRecord {
                    id: seq.to_string(),
                    event_name: "INSERT".into(),
                    new_image: Some(image),
                }
            })
            .collect();
        let relayed = relay(&records, bus.as_ref(), pace.policy).await;
        let now = SystemClock.now_ms();
        settle(&store, &relayed, now).await;
        super::relay::measure(&records, &relayed, now);
        let first_failed = relayed.failed.first().and_then(|id| id.parse::<u64>().ok());
        let mut done_upto = match first_failed {
            None => batch.last().map(|(seq, _)| *seq),
            Some(first) => first.checked_sub(1),
        };
        if let (Some(seq), Some(Failure::Rejected(reason))) = (first_failed, &relayed.failure) {
            let rounds = match refused {
                Some((s, n)) if s == seq => n + 1,
                _ => 1,
            };
            refused = Some((seq, rounds));
            if rounds >= pace.poison_after {
                let item = batch.iter().find(|(s, _)| *s == seq).map(|(_, i)| i);
                let why = format!("refused by the bus {rounds} times: {reason}");
                let at = item.and_then(|i| created_at(&i.attrs));
                dead_letter(
                    &store,
                    &seq.to_string(),
                    item.map(|i| &i.key),
                    at,
                    &why,
                    now,
                )
                .await;
                done_upto = Some(seq);
                refused = None;
            }
        }
        let saved = match done_upto.filter(|s| *s > 0) {
            Some(seq) => store.acknowledge_changes(seq).await,
            None => Ok(()),
        };
        if let Err(e) = saved {
            tracing::error!(error = %e, "checkpoint not saved");
        }
        if !relayed.failed.is_empty() && done_upto != batch.last().map(|(s, _)| *s) {
            tokio::time::sleep(pace.pause).await;
        }
    }
}
