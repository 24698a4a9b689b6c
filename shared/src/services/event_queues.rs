//! A franchise's event queues: what the subscription stream delivers. A
//! queue collects the events its types pick from the moment it exists;
//! they wait (7 days) until a client acknowledges them.

use super::retry::conflict;
use super::subscriptions::{self, MAX_QUEUES};
use super::webhooks::type_patterns;
use crate::app::App;
use crate::domain::TenantKey;
use crate::domain::subscription::{EventQueue, QueueName};
use crate::error::{Error, Result};
use crate::store::{Cond, Write, items, keys};

/// A queue name, or a `400`.
pub fn queue_name(raw: &str) -> Result<QueueName> {
    QueueName::parse(raw.trim())
        .ok_or_else(|| Error::invalid("queueName is 1 to 64 letters, digits, '-' or '_'"))
}

pub async fn create_queue(
    app: &App,
    tenant: &TenantKey,
    name: &str,
    event_types: &[String],
) -> Result<EventQueue> {
    let queue_name = queue_name(name)?;
    let event_types = type_patterns(event_types)?;
    if subscriptions::of(app, tenant).await?.queues.len() >= MAX_QUEUES {
        return Err(Error::conflict(format!(
            "A franchise has at most {MAX_QUEUES} event queues"
        )));
    }
    let queue = EventQueue {
        tenant_key: tenant.clone(),
        queue_id: uuid::Uuid::new_v4().simple().to_string(),
        queue_name,
        event_types,
        created_at: app.now_ms(),
        version: 1,
    };
    let key = keys::event_queue_key(tenant, &queue.queue_name);
    let write = items::put_new(items::item_of(key, &queue, "eventQueue")?);
    conflict(
        app.store.write(write).await.map_err(Into::into),
        format!("An event queue {} already exists", queue.queue_name),
    )?;
    Ok(queue)
}

pub use super::subscriptions::{QUEUE_NOT_FOUND as NOT_FOUND, queue};

/// Every queue, by name, and whether a client is connected to it.
pub async fn list_queues(app: &App, tenant: &TenantKey) -> Result<Vec<(EventQueue, bool)>> {
    let subs = subscriptions::of(app, tenant).await?;
    let mut out: Vec<(EventQueue, bool)> = subs
        .queues
        .iter()
        .map(|q| (q.clone(), subs.claim_of(&q.queue_name).is_some()))
        .collect();
    out.sort_by(|a, b| a.0.queue_name.cmp(&b.0.queue_name));
    Ok(out)
}

/// Whether a client is connected to the queue now.
pub async fn is_connected(app: &App, tenant: &TenantKey, queue: &EventQueue) -> Result<bool> {
    let claim = app
        .store
        .get(&keys::queue_claim_key(tenant, &queue.queue_name))
        .await?;
    Ok(claim.is_some())
}

/// Deletes a queue and what waits in it (its events expire with their
/// ttl; a queue created again under the name starts empty). Its client, if
/// one is connected, is disconnected.
pub async fn delete_queue(app: &App, tenant: &TenantKey, name: &str) -> Result<()> {
    let q = queue(app, tenant, name).await?;
    let deleted = app
        .store
        .write(Write::Delete {
            key: keys::event_queue_key(tenant, &q.queue_name),
            cond: Some(Cond::AttrEq("queueId".into(), q.queue_id.clone().into())),
        })
        .await;
    match deleted {
        Err(e) if e.is_condition_failure() => return Err(Error::not_found(NOT_FOUND)),
        other => other?,
    }
    super::stream::release_deleted(app, tenant, &q).await
}
