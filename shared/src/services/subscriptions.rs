//! A franchise's subscriptions, read at once: its webhook endpoints, its
//! event queues and their connections' claims share one small partition
//! (`keys::subscriptions`), so one Query (one page: at most
//! [`MAX_ENDPOINTS`] + [`MAX_QUEUES`] × 2 items) gives the dispatcher
//! everything an event of that franchise goes to.

use crate::app::App;
use crate::domain::TenantKey;
use crate::domain::subscription::{EventQueue, QueueClaim, QueueName, WebhookEndpoint};
use crate::error::{Error, Result};
use crate::store::keys::{self, CLAIM_PREFIX, ENDPOINT_PREFIX, QUEUE_PREFIX};
use crate::store::{Index, Query, items};

/// The most webhook endpoints, and event queues, a franchise may have.
pub const MAX_ENDPOINTS: usize = 20;
pub const MAX_QUEUES: usize = 20;

#[derive(Debug, Default)]
pub struct Subscriptions {
    pub endpoints: Vec<WebhookEndpoint>,
    pub queues: Vec<EventQueue>,
    /// The live connection of each claimed queue.
    pub claims: Vec<(QueueName, QueueClaim)>,
}

impl Subscriptions {
    pub fn claim_of(&self, queue: &QueueName) -> Option<&QueueClaim> {
        self.claims.iter().find(|(q, _)| q == queue).map(|(_, c)| c)
    }
}

pub const QUEUE_NOT_FOUND: &str = "Event queue not found";

/// A queue by name (`404` for a name that cannot be one).
pub async fn queue(app: &App, tenant: &TenantKey, name: &str) -> Result<EventQueue> {
    let name = QueueName::parse(name).ok_or_else(|| Error::not_found(QUEUE_NOT_FOUND))?;
    super::get(app, &keys::event_queue_key(tenant, &name), QUEUE_NOT_FOUND).await
}

/// Every subscription of `tenant`.
pub async fn of(app: &App, tenant: &TenantKey) -> Result<Subscriptions> {
    let mut q = Query::partition(Index::Table, keys::subscriptions(tenant));
    q.limit = 1000;
    let mut out = Subscriptions::default();
    loop {
        let page = app.store.query(&q).await?;
        for item in &page.items {
            let sk = item.key.sk.as_str();
            if sk.starts_with(ENDPOINT_PREFIX) {
                out.endpoints.push(items::entity_of(item)?);
            } else if sk.starts_with(QUEUE_PREFIX) {
                out.queues.push(items::entity_of(item)?);
            } else if let Some(name) = sk.strip_prefix(CLAIM_PREFIX).and_then(QueueName::parse) {
                out.claims.push((name, items::entity_of(item)?));
            }
        }
        match page.next {
            Some(next) => q.start_after = Some(next),
            None => return Ok(out),
        }
    }
}
