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

/// The local server's relay: the embedded store's change feed (new outbox
/// items) to the bus, with the same `relay` as the Lambda. Acknowledges up
/// to the first failure, so an event the bus refused is retried, in order,
/// until it is delivered; a restart resumes from the persisted checkpoint.
pub async fn run_embedded_relay(
    store: crate::store::embedded::EmbeddedStore,
    bus: std::sync::Arc<dyn EventBus>,
) {
    use std::time::Duration;

    use super::relay::{RelayPolicy, StreamRecord, relay};

    let changed = store.changed();
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
        let failed = relay(&records, bus.as_ref(), RelayPolicy::default()).await;
        let done_upto = match failed.first() {
            None => batch.last().map(|(seq, _)| *seq),
            Some(first) => first.parse::<u64>().ok().and_then(|s| s.checked_sub(1)),
        };
        let saved = match done_upto.filter(|s| *s > 0) {
            Some(seq) => store.acknowledge_changes(seq).await,
            None => Ok(()),
        };
        if let Err(e) = saved {
            tracing::error!(error = %e, "checkpoint not saved");
        }
        if !failed.is_empty() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
