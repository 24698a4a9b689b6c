//! The EventBridge adapter of the bus port.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::{BusEntry, EventBus, SOURCE};

pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    /// One `PutEvents` call. EventBridge answers 200 even when some entries
    /// fail (`FailedEntryCount`), so every entry's result is read.
    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, String> {
        let request: Vec<PutEventsRequestEntry> = entries
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .source(SOURCE)
                    .detail_type(&e.detail_type)
                    .detail(&e.detail)
                    .event_bus_name(&self.bus_name)
                    .build()
            })
            .collect();
        let out = self
            .client
            .put_events()
            .set_entries(Some(request))
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        let results = out.entries.unwrap_or_default();
        Ok((0..entries.len())
            .map(|i| match results.get(i) {
                Some(r) if r.error_code.is_none() && r.event_id.is_some() => None,
                Some(r) => Some(r.error_code.clone().unwrap_or_else(|| "NoEventId".into())),
                None => Some("NoResultEntry".into()),
            })
            .collect())
    }
}
