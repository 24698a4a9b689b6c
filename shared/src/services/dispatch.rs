//! The one fan-out of outbox events to vendors outside AWS, and the work it
//! leaves: every bus event reaches the dispatcher (in AWS: a rule on every
//! `source: embedcare` event → an SQS queue → the `event-dispatcher`
//! function; locally: the in-process relay, through [`FanOut`]). For each
//! event it finds the franchise's subscriptions (one Query), writes one
//! delivery item per (endpoint, event) and one queue item per (queue,
//! event), each only if it is not there yet — at least once in, one record
//! out — then sends the first webhook attempts to the work queue and
//! pushes the queued events to connected clients.
//!
//! The work it leaves is `work.rs`'s.

use std::sync::Arc;

use async_trait::async_trait;

use super::subscriptions;
use super::webhooks::{attempt_of, delivery_item, new_delivery};
use crate::app::{App, AppState};
use crate::delivery::sender::WebhookSender;
use crate::domain::subscription::{
    EndpointStatus, QUEUE_RETENTION_MS, QueuedEvent, WebhookDelivery, WebhookDeliveryStatus, picks,
};
use crate::error::{Error, Result};
use crate::events::{BusEntry, EventBus, Published};
use crate::notify::Notifier;
use crate::store::{items, keys};

/// What handling the work needs beyond the app: the webhook sender and
/// the notifier (the e-mail to a franchise whose endpoint we disabled).
pub struct Dispatcher {
    pub app: AppState,
    pub sender: Arc<dyn WebhookSender>,
    pub notifier: Arc<dyn Notifier>,
}

/// Fans one published event out to the franchise's subscriptions.
pub async fn fan_out(app: &App, event: &Published) -> Result<()> {
    let subs = subscriptions::of(app, &event.tenant).await?;
    let now = app.now_ms();
    let mut work = Vec::new();
    for e in subs
        .endpoints
        .iter()
        .filter(|e| e.status == EndpointStatus::Enabled && picks(&e.event_types, &event.type_name))
    {
        let d = new_delivery(&e.endpoint_id, event, 1, now);
        match app.store.write(items::put_new(delivery_item(&d)?)).await {
            Ok(()) => work.push((attempt_of(&d), 0)),
            Err(err) if err.is_condition_failure() => {
                // Seen before: attempt it again only if it never was (the
                // first attempt's message may be what was lost).
                let key = super::webhooks::delivery_key(&d);
                if let Some(old) = super::find::<WebhookDelivery>(app, &key).await?
                    && old.status == WebhookDeliveryStatus::Pending
                    && old.attempts == 0
                {
                    work.push((attempt_of(&old), 0));
                }
            }
            Err(err) => return Err(err.into()),
        }
    }
    if !work.is_empty() {
        app.work.send(&work).await.map_err(Error::Unavailable)?;
    }
    for q in subs
        .queues
        .iter()
        .filter(|q| picks(&q.event_types, &event.type_name))
    {
        let key = keys::queued_event_key(&event.tenant, &q.queue_id, event.at, &event.id);
        let queued = QueuedEvent {
            tenant_key: event.tenant.clone(),
            queue_id: q.queue_id.clone(),
            event_id: event.id.clone(),
            event_type: event.type_name.clone(),
            event_at: event.at,
            event_ts: crate::clock::iso_ms(event.at),
            payload: event.detail.clone(),
            receipt_id: None,
            sent_at: None,
        };
        let item = items::with_ttl(
            items::item_of(key.clone(), &queued, "queuedEvent")?,
            now + QUEUE_RETENTION_MS,
        );
        let fresh = match app.store.write(items::put_new(item)).await {
            Ok(()) => queued,
            Err(err) if err.is_condition_failure() => {
                // Queued before; send it if it never was.
                match super::find::<QueuedEvent>(app, &key).await? {
                    Some(old) if old.receipt_id.is_none() => old,
                    _ => continue,
                }
            }
            Err(err) => return Err(err.into()),
        };
        if let Some(claim) = subs
            .claim_of(&q.queue_name)
            .filter(|c| c.queue_id == q.queue_id)
        {
            let s = super::stream::Stream {
                tenant: event.tenant.clone(),
                queue: q.clone(),
                connection_id: claim.connection_id.clone(),
            };
            if super::stream::send_event(app, &s, &key, &fresh)
                .await?
                .is_err()
            {
                super::stream::disconnect(app, &s).await?;
            }
        }
    }
    Ok(())
}

/// Fans out an EventBridge envelope (`{detail-type, detail, …}`, what the
/// rule puts on the events queue).
pub async fn fan_out_envelope(app: &App, envelope: &serde_json::Value) -> Result<()> {
    let detail_type = envelope["detail-type"].as_str().unwrap_or_default();
    let event = Published::parse(detail_type, envelope["detail"].clone())
        .map_err(|why| Error::invalid(format!("not an embedcare event: {why}")))?;
    fan_out(app, &event).await
}

/// The local server's bus: every event is fanned out before it is
/// published in process, so that an event the dispatcher could not take
/// is not acknowledged to the relay (which puts it again, in order).
pub struct FanOut {
    pub app: AppState,
    pub bus: Arc<dyn EventBus>,
}

#[async_trait]
impl EventBus for FanOut {
    async fn put(&self, entries: &[BusEntry]) -> std::result::Result<Vec<Option<String>>, String> {
        let mut fanned = Vec::with_capacity(entries.len());
        let mut outcomes = vec![None; entries.len()];
        for (i, e) in entries.iter().enumerate() {
            let detail = serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null);
            match Published::parse(&e.detail_type, detail) {
                Ok(event) => match fan_out(&self.app, &event).await {
                    Ok(()) => fanned.push((i, e.clone())),
                    Err(err) => {
                        tracing::warn!(error = %err, "fan-out failed; the relay will put it again");
                        outcomes[i] = Some("FanOutFailed".to_owned());
                    }
                },
                // Not an event for vendors: published all the same.
                Err(_) => fanned.push((i, e.clone())),
            }
        }
        let published: Vec<BusEntry> = fanned.iter().map(|(_, e)| e.clone()).collect();
        let results = self.bus.put(&published).await?;
        for ((i, _), r) in fanned.iter().zip(results) {
            outcomes[*i] = r;
        }
        Ok(outcomes)
    }
}
