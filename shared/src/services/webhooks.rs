//! A franchise's webhook endpoints: create (the secret shown once), read,
//! list, change, delete, rotate the secret (the old one signs beside the
//! new one for 24 h); the deliveries log; a redelivery. The URL rules are
//! `domain::net`'s, checked at creation and at every change, with the host
//! name resolved (a name that resolves to an internal address is refused).
//!
//! Secrets are stored sealed (AES-256-GCM, a key derived from the
//! deployment secret, bound to the tenant and the endpoint): signing needs
//! them back, so a hash would not do.

use super::retry::{always, retry_lost_races};
use super::subscriptions::{self, MAX_ENDPOINTS};
use crate::app::App;
use crate::crypto::webhook_secret;
use crate::delivery::queue::Work;
use crate::delivery::resolver::{Unreachable, check_url};
use crate::domain::net::WebhookUrl;
use crate::domain::subscription::{
    EndpointStatus, ROTATION_OVERLAP_MS, SealedSecret, TypePattern, WebhookDelivery,
    WebhookDeliveryStatus, WebhookEndpoint, patterns, picks,
};
use crate::domain::{EndpointId, EventId, TenantKey};
use crate::error::{Error, Result};
use crate::events::Published;
use crate::store::{Cond, Index, Key, Query, Write, items, keys};

pub const NOT_FOUND: &str = "Webhook endpoint not found";
/// The longest description kept.
const MAX_DESCRIPTION: usize = 500;
/// How long a delivery's log entry stays.
const DELIVERY_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// Secrets an endpoint keeps at most (the live one and two rotated out).
const MAX_SECRETS: usize = 3;

/// What the bound of a sealed secret is: its tenant and endpoint.
fn aad(tenant: &TenantKey, id: &EndpointId) -> Vec<u8> {
    format!("{tenant}/{id}").into_bytes()
}

/// A URL the rules allow, whose host leads to public addresses only.
pub async fn checked_url(app: &App, raw: &str) -> Result<WebhookUrl> {
    let url = WebhookUrl::parse(raw, app.config.webhook_allow_loopback).map_err(Error::Invalid)?;
    check_url(app.resolver.as_ref(), &url)
        .await
        .map_err(|e| match e {
            Unreachable::NoSuchHost => Error::invalid("url: its host does not resolve"),
            Unreachable::Refused(why) => Error::invalid(format!("url: its host resolves to {why}")),
        })?;
    Ok(url)
}

fn description(raw: Option<&str>) -> Result<Option<String>> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => Err(Error::invalid(format!(
            "description is at most {MAX_DESCRIPTION} characters"
        ))),
        other => Ok(other.map(str::to_owned)),
    }
}

/// Event type patterns, or a `400` that says which is wrong.
pub fn type_patterns(raw: &[String]) -> Result<Vec<TypePattern>> {
    patterns(raw).map_err(Error::Invalid)
}

/// A new signing secret, and its sealed form for `id`.
fn new_secret(app: &App, tenant: &TenantKey, id: &EndpointId) -> Result<(String, SealedSecret)> {
    let secret = webhook_secret()?;
    let sealed = app
        .webhook_secrets
        .seal(secret.as_bytes(), &aad(tenant, id))?;
    Ok((
        secret,
        SealedSecret {
            sealed,
            created_at: app.now_ms(),
            expires_at: None,
        },
    ))
}

fn item(e: &WebhookEndpoint) -> Result<crate::store::Item> {
    items::item_of(
        keys::webhook_endpoint_key(&e.tenant_key, &e.endpoint_id),
        e,
        "webhookEndpoint",
    )
}

pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub event_types: &'a [String],
    pub description: Option<&'a str>,
}

/// Creates an endpoint; returns it and its secret (shown once).
pub async fn create_endpoint(
    app: &App,
    tenant: &TenantKey,
    new: NewEndpoint<'_>,
) -> Result<(WebhookEndpoint, String)> {
    let url = checked_url(app, new.url).await?;
    let event_types = type_patterns(new.event_types)?;
    let description = description(new.description)?;
    if subscriptions::of(app, tenant).await?.endpoints.len() >= MAX_ENDPOINTS {
        return Err(Error::conflict(format!(
            "A franchise has at most {MAX_ENDPOINTS} webhook endpoints"
        )));
    }
    let endpoint_id = EndpointId::generate();
    let (secret, sealed) = new_secret(app, tenant, &endpoint_id)?;
    let now = app.now_ms();
    let endpoint = WebhookEndpoint {
        tenant_key: tenant.clone(),
        endpoint_id,
        url: url.url,
        event_types,
        description,
        status: EndpointStatus::Enabled,
        disabled_reason: None,
        secrets: vec![sealed],
        failing_since: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    app.store.write(items::put_new(item(&endpoint)?)).await?;
    Ok((endpoint, secret))
}

pub async fn endpoint(app: &App, tenant: &TenantKey, id: &EndpointId) -> Result<WebhookEndpoint> {
    super::get(app, &keys::webhook_endpoint_key(tenant, id), NOT_FOUND).await
}

/// Every endpoint of the franchise, oldest first.
pub async fn list_endpoints(app: &App, tenant: &TenantKey) -> Result<Vec<WebhookEndpoint>> {
    let mut all = subscriptions::of(app, tenant).await?.endpoints;
    all.sort_by_key(|e| (e.created_at, e.endpoint_id.clone()));
    Ok(all)
}

/// A change asked for by the vendor (`None`: unchanged).
#[derive(Debug, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `Some(None)` removes it.
    pub description: Option<Option<String>>,
    pub status: Option<EndpointStatus>,
}

pub async fn update_endpoint(
    app: &App,
    tenant: &TenantKey,
    id: &EndpointId,
    change: &EndpointChange,
) -> Result<WebhookEndpoint> {
    let url = match &change.url {
        Some(raw) => Some(checked_url(app, raw).await?.url),
        None => None,
    };
    let event_types = change
        .event_types
        .as_deref()
        .map(type_patterns)
        .transpose()?;
    let description = change
        .description
        .as_ref()
        .map(|d| description(d.as_deref()))
        .transpose()?;
    retry_lost_races("The webhook endpoint changed meanwhile", always, || async {
        let mut e = endpoint(app, tenant, id).await?;
        let expected = e.version;
        if let Some(u) = &url {
            e.url.clone_from(u);
        }
        if let Some(t) = &event_types {
            e.event_types.clone_from(t);
        }
        if let Some(d) = &description {
            e.description.clone_from(d);
        }
        match change.status {
            Some(EndpointStatus::Enabled) => {
                e.status = EndpointStatus::Enabled;
                e.disabled_reason = None;
                e.failing_since = None;
            }
            Some(EndpointStatus::Disabled) if e.status == EndpointStatus::Enabled => {
                e.status = EndpointStatus::Disabled;
                e.disabled_reason = Some("vendor".into());
            }
            _ => {}
        }
        e.version += 1;
        e.updated_at = app.now_ms();
        save(app, &e, expected).await?;
        Ok(e)
    })
    .await
}

/// Writes the whole endpoint at the version it was read at.
pub async fn save(app: &App, e: &WebhookEndpoint, expected: u64) -> Result<()> {
    Ok(app
        .store
        .write(Write::Put {
            item: item(e)?,
            cond: Some(items::at_version(expected)),
        })
        .await?)
}

pub async fn delete_endpoint(app: &App, tenant: &TenantKey, id: &EndpointId) -> Result<()> {
    let key = keys::webhook_endpoint_key(tenant, id);
    match app
        .store
        .write(Write::Delete {
            key,
            cond: Some(Cond::Exists),
        })
        .await
    {
        Err(e) if e.is_condition_failure() => Err(Error::not_found(NOT_FOUND)),
        other => Ok(other?),
    }
}

/// A new secret; the ones before it keep signing for 24 h more (at most
/// until they would have expired anyway). Returns the new secret (shown once).
pub async fn rotate_secret(
    app: &App,
    tenant: &TenantKey,
    id: &EndpointId,
) -> Result<(WebhookEndpoint, String)> {
    retry_lost_races("The webhook endpoint changed meanwhile", always, || async {
        let mut e = endpoint(app, tenant, id).await?;
        let expected = e.version;
        let now = app.now_ms();
        let (secret, sealed) = new_secret(app, tenant, id)?;
        let until = now + ROTATION_OVERLAP_MS;
        let mut kept: Vec<SealedSecret> = e
            .signing_secrets(now)
            .cloned()
            .map(|mut s| {
                s.expires_at = Some(s.expires_at.map_or(until, |t| t.min(until)));
                s
            })
            .collect();
        kept.truncate(MAX_SECRETS - 1);
        e.secrets = std::iter::once(sealed).chain(kept).collect();
        e.version += 1;
        e.updated_at = now;
        save(app, &e, expected).await?;
        Ok((e, secret.clone()))
    })
    .await
}

/// The secrets that sign a delivery now, in the clear. One that does not
/// open (another deployment secret) is skipped, and logged.
pub fn signing_secrets(app: &App, e: &WebhookEndpoint) -> Vec<String> {
    let bound = aad(&e.tenant_key, &e.endpoint_id);
    e.signing_secrets(app.now_ms())
        .filter_map(|s| match app.webhook_secrets.open(&s.sealed, &bound) {
            Some(bytes) => String::from_utf8(bytes).ok(),
            None => {
                tracing::error!(endpoint = %e.endpoint_id, "a webhook secret does not open");
                None
            }
        })
        .collect()
}

// ---- deliveries -------------------------------------------------------------

pub fn delivery_key(d: &WebhookDelivery) -> Key {
    keys::delivery_key(&d.tenant_key, &d.endpoint_id, d.event_at, &d.event_id)
}

pub fn delivery_item(d: &WebhookDelivery) -> Result<crate::store::Item> {
    let item = items::item_of(delivery_key(d), d, "webhookDelivery")?;
    Ok(items::with_ttl(item, d.event_at + DELIVERY_TTL_MS))
}

/// A delivery of `event` to `endpoint` that has not been tried yet.
pub fn new_delivery(
    endpoint: &EndpointId,
    event: &Published,
    generation: u32,
    now: i64,
) -> WebhookDelivery {
    WebhookDelivery {
        tenant_key: event.tenant.clone(),
        endpoint_id: endpoint.clone(),
        event_id: event.id.clone(),
        event_type: event.type_name.clone(),
        event_at: event.at,
        status: WebhookDeliveryStatus::Pending,
        attempts: 0,
        generation,
        first_attempt_at: None,
        last_attempt_at: None,
        next_attempt_at: None,
        response_code: None,
        duration_ms: None,
        error: None,
        created_at: now,
        updated_at: now,
        body: event.body(),
    }
}

/// The message of a delivery's next attempt.
pub fn attempt_of(d: &WebhookDelivery) -> Work {
    Work::Webhook {
        tenant_key: d.tenant_key.clone(),
        endpoint_id: d.endpoint_id.clone(),
        event_id: d.event_id.clone(),
        event_at: d.event_at,
        generation: d.generation,
    }
}

/// A page of an endpoint's deliveries, the newest event first.
pub async fn deliveries(
    app: &App,
    tenant: &TenantKey,
    id: &EndpointId,
    limit: usize,
    cursor: Option<&str>,
) -> Result<super::lists::Listing<WebhookDelivery>> {
    endpoint(app, tenant, id).await?;
    let mut q = Query::partition(Index::Table, keys::deliveries(tenant, id));
    q.forward = false;
    q.limit = limit.clamp(1, 100);
    if let Some(sealed) = cursor {
        let opened = app.cursors.open(sealed, tenant, &q);
        q.start_after = Some(opened.ok_or_else(|| Error::invalid(super::lists::BAD_CURSOR))?);
    }
    let page = app.store.query(&q).await?;
    let items = page
        .items
        .iter()
        .map(items::entity_of)
        .collect::<Result<_>>()?;
    let next = page.next.map(|c| app.cursors.seal(&c, tenant, &q));
    Ok(super::lists::Listing { items, next })
}

/// Delivers an event of the last 30 days again: to `only`, or to every
/// enabled endpoint whose types pick it. Each gets a new delivery
/// generation (the attempts of an older one stop) and a first attempt now.
pub async fn redeliver(
    app: &App,
    tenant: &TenantKey,
    event_id: &EventId,
    only: Option<&EndpointId>,
) -> Result<Vec<WebhookDelivery>> {
    let event = super::event_list::published(app, tenant, event_id)
        .await?
        .ok_or_else(|| Error::not_found("Event not found"))?;
    let endpoints: Vec<WebhookEndpoint> = match only {
        Some(id) => vec![endpoint(app, tenant, id).await?],
        None => subscriptions::of(app, tenant)
            .await?
            .endpoints
            .into_iter()
            .filter(|e| {
                e.status == EndpointStatus::Enabled && picks(&e.event_types, &event.type_name)
            })
            .collect(),
    };
    if let Some(e) = endpoints
        .iter()
        .find(|e| e.status != EndpointStatus::Enabled)
    {
        return Err(Error::conflict(format!(
            "Webhook endpoint {} is disabled: enable it first",
            e.endpoint_id
        )));
    }
    let mut out = Vec::new();
    for e in &endpoints {
        let d = retry_lost_races("The delivery changed meanwhile", always, || async {
            let now = app.now_ms();
            let fresh = new_delivery(&e.endpoint_id, &event, 1, now);
            let key = delivery_key(&fresh);
            let (d, cond) = match super::find::<WebhookDelivery>(app, &key).await? {
                None => (fresh, Cond::NotExists),
                Some(old) => {
                    let cond = Cond::AttrEq("generation".into(), old.generation.into());
                    let mut d = new_delivery(&e.endpoint_id, &event, old.generation + 1, now);
                    d.attempts = old.attempts;
                    d.created_at = old.created_at;
                    if !old.body.is_empty() {
                        d.body = old.body;
                    }
                    (d, cond)
                }
            };
            app.store
                .write(Write::Put {
                    item: delivery_item(&d)?,
                    cond: Some(cond),
                })
                .await?;
            Ok(d)
        })
        .await?;
        out.push(d);
    }
    let work: Vec<(Work, u32)> = out.iter().map(|d| (attempt_of(d), 0)).collect();
    if !work.is_empty() {
        app.work.send(&work).await.map_err(Error::Unavailable)?;
    }
    Ok(out)
}
