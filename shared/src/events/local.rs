//! The in-process bus of the local server: it prints every event and hands
//! it to local subscribers (the `/dev/events` stream, the local patient
//! notifier).

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
